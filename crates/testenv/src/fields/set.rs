//! Field sets: the paths a manager owns, as a tree, and their FieldsV1 encoding.
//!
//! A node holds `members` (paths that end here) and `children` (paths that go on). A
//! path can be both a member and a prefix of other members: a keyed list item a
//! manager owns as a whole and some of its fields (`{".":{},"f:image":{}}`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::FieldsError;
use super::path::{PathElement, path_string, write_json_string};

/// A set of field paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    members: BTreeSet<PathElement>,
    // Invariant: no child set is empty.
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// A set of the given paths.
    pub fn from_paths<P: AsRef<[PathElement]>>(paths: impl IntoIterator<Item = P>) -> Self {
        let mut set = Self::new();
        for p in paths {
            set.insert(p.as_ref());
        }
        set
    }

    /// Adds a path (the empty path is ignored, as structured-merge-diff does).
    pub fn insert(&mut self, path: &[PathElement]) {
        match path {
            [] => {}
            [last] => {
                self.members.insert(last.clone());
            }
            [first, rest @ ..] => {
                self.children.entry(first.clone()).or_default().insert(rest);
            }
        }
    }

    /// Whether the path is a member.
    pub fn has(&self, path: &[PathElement]) -> bool {
        match path {
            [] => false,
            [last] => self.members.contains(last),
            [first, rest @ ..] => self.children.get(first).is_some_and(|c| c.has(rest)),
        }
    }

    /// Whether the set has no member at all.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.is_empty()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len() + self.children.values().map(FieldSet::len).sum::<usize>()
    }

    pub(crate) fn has_member(&self, pe: &PathElement) -> bool {
        self.members.contains(pe)
    }

    pub(crate) fn add_member(&mut self, pe: PathElement) {
        self.members.insert(pe);
    }

    pub(crate) fn child(&self, pe: &PathElement) -> Option<&FieldSet> {
        self.children.get(pe)
    }

    pub(crate) fn children(&self) -> impl Iterator<Item = (&PathElement, &FieldSet)> {
        self.children.iter()
    }

    pub(crate) fn set_child(&mut self, pe: PathElement, set: FieldSet) {
        if set.is_empty() {
            self.children.remove(&pe);
        } else {
            self.children.insert(pe, set);
        }
    }

    /// Paths in either set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.members.extend(other.members.iter().cloned());
        for (pe, set) in &other.children {
            let merged = match out.children.get(pe) {
                Some(mine) => mine.union(set),
                None => set.clone(),
            };
            out.children.insert(pe.clone(), merged);
        }
        out
    }

    /// Paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet::new();
        out.members = self.members.intersection(&other.members).cloned().collect();
        for (pe, set) in &self.children {
            if let Some(theirs) = other.children.get(pe) {
                out.set_child(pe.clone(), set.intersection(theirs));
            }
        }
        out
    }

    /// Paths of `self` that are not in `other`. As in structured-merge-diff, removing a
    /// member does not remove the paths below it.
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet::new();
        out.members = self.members.difference(&other.members).cloned().collect();
        for (pe, set) in &self.children {
            match other.children.get(pe) {
                Some(theirs) => out.set_child(pe.clone(), set.difference(theirs)),
                None => out.set_child(pe.clone(), set.clone()),
            }
        }
        out
    }

    /// Every path, in structured-merge-diff's iteration order: at each level the members
    /// first, then the children, each sorted.
    pub fn paths(&self) -> Vec<Vec<PathElement>> {
        let mut out = Vec::new();
        let mut prefix = Vec::new();
        self.collect_paths(&mut prefix, &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Vec<PathElement>, out: &mut Vec<Vec<PathElement>>) {
        for m in &self.members {
            let mut p = prefix.clone();
            p.push(m.clone());
            out.push(p);
        }
        for (pe, set) in &self.children {
            prefix.push(pe.clone());
            set.collect_paths(prefix, out);
            prefix.pop();
        }
    }

    /// Every path printed as kube-apiserver prints paths, in iteration order.
    pub fn path_strings(&self) -> Vec<String> {
        self.paths().iter().map(|p| path_string(p)).collect()
    }

    /// The FieldsV1 object (`{"f:spec":{"f:replicas":{}}}`). Keys are inserted in the
    /// order kube-apiserver writes them.
    pub fn to_fields_v1(&self) -> Value {
        Value::Object(self.fields_v1_map(false))
    }

    fn fields_v1_map(&self, include_self: bool) -> Map<String, Value> {
        let mut map = Map::new();
        if include_self {
            map.insert(".".to_string(), Value::Object(Map::new()));
        }
        for (pe, is_member, child) in self.merged_entries() {
            let inner = match child {
                Some(set) => set.fields_v1_map(is_member),
                None => Map::new(),
            };
            map.insert(pe.to_fields_v1_key(), Value::Object(inner));
        }
        map
    }

    /// Members and children merged in element order: (element, is member, child set).
    fn merged_entries(&self) -> Vec<(&PathElement, bool, Option<&FieldSet>)> {
        let mut out = Vec::with_capacity(self.members.len() + self.children.len());
        let mut members = self.members.iter().peekable();
        let mut children = self.children.iter().peekable();
        loop {
            match (members.peek(), children.peek()) {
                (Some(m), Some((c, _))) => {
                    if *m < *c {
                        out.push((*m, true, None));
                        members.next();
                    } else if *c < *m {
                        let (c, set) = children.next().expect("peeked");
                        out.push((c, false, Some(set)));
                    } else {
                        let (c, set) = children.next().expect("peeked");
                        members.next();
                        out.push((c, true, Some(set)));
                    }
                }
                (Some(m), None) => {
                    out.push((*m, true, None));
                    members.next();
                }
                (None, Some(_)) => {
                    let (c, set) = children.next().expect("peeked");
                    out.push((c, false, Some(set)));
                }
                (None, None) => break,
            }
        }
        out
    }

    /// The FieldsV1 JSON text exactly as kube-apiserver writes it (element order, Go
    /// escaping), whatever `serde_json` map order is compiled in.
    pub fn to_fields_v1_string(&self) -> String {
        let mut out = String::new();
        self.write_fields_v1(&mut out, false);
        out
    }

    fn write_fields_v1(&self, out: &mut String, include_self: bool) {
        out.push('{');
        let mut first = true;
        if include_self {
            out.push_str("\".\":{}");
            first = false;
        }
        for (pe, is_member, child) in self.merged_entries() {
            if !first {
                out.push(',');
            }
            first = false;
            write_json_string(out, &pe.to_fields_v1_key());
            out.push(':');
            match child {
                Some(set) => set.write_fields_v1(out, is_member),
                None => out.push_str("{}"),
            }
        }
        out.push('}');
    }

    /// Reads a FieldsV1 object. Keys of unknown kinds are dropped; `{}` and `{".":{}}`
    /// mark members.
    pub fn from_fields_v1(v: &Value) -> Result<FieldSet, FieldsError> {
        let Value::Object(map) = v else {
            return Err(FieldsError::FieldsV1(
                "fieldsV1 must be a JSON object".to_string(),
            ));
        };
        Ok(Self::read_node(map)?.0.unwrap_or_default())
    }

    /// (children set if any, whether this node is itself a member)
    fn read_node(map: &Map<String, Value>) -> Result<(Option<FieldSet>, bool), FieldsError> {
        let mut children: Option<FieldSet> = None;
        let mut is_member = false;
        for (key, value) in map {
            if key == "." {
                is_member = true;
                continue;
            }
            let Some(pe) = PathElement::from_fields_v1_key(key)? else {
                continue;
            };
            let Value::Object(inner) = value else {
                return Err(FieldsError::FieldsV1(format!(
                    "value of {key:?} must be a JSON object"
                )));
            };
            let (grandchildren, child_is_member) = Self::read_node(inner)?;
            if child_is_member {
                children
                    .get_or_insert_with(FieldSet::new)
                    .add_member(pe.clone());
            }
            if let Some(g) = grandchildren {
                let node = children.get_or_insert_with(FieldSet::new);
                let merged = match node.children.remove(&pe) {
                    Some(existing) => existing.union(&g),
                    None => g,
                };
                node.set_child(pe, merged);
            }
        }
        if children.is_none() {
            is_member = true;
        }
        Ok((children, is_member))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(name: &str) -> PathElement {
        PathElement::field(name)
    }

    #[test]
    fn insert_and_has() {
        let mut s = FieldSet::new();
        s.insert(&[f("spec"), f("replicas")]);
        assert!(s.has(&[f("spec"), f("replicas")]));
        assert!(!s.has(&[f("spec")]));
        assert_eq!(s.len(), 1);
        s.insert(&[]);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn difference_keeps_paths_below_a_removed_member() {
        let a = FieldSet::from_paths([vec![f("a")], vec![f("a"), f("b")]]);
        let b = FieldSet::from_paths([vec![f("a")]]);
        assert_eq!(a.difference(&b).path_strings(), vec![".a.b"]);
        let c = FieldSet::from_paths([vec![f("a"), f("b")]]);
        assert_eq!(a.difference(&c).path_strings(), vec![".a"]);
        assert!(a.difference(&a).is_empty());
    }

    #[test]
    fn union_and_intersection() {
        let a = FieldSet::from_paths([vec![f("a")], vec![f("x"), f("y")]]);
        let b = FieldSet::from_paths([vec![f("b")], vec![f("x"), f("y")], vec![f("x"), f("z")]]);
        assert_eq!(a.union(&b).path_strings(), vec![".a", ".b", ".x.y", ".x.z"]);
        assert_eq!(a.intersection(&b).path_strings(), vec![".x.y"]);
        assert!(a.intersection(&FieldSet::new()).is_empty());
    }

    #[test]
    fn iteration_lists_members_before_children() {
        let s = FieldSet::from_paths([
            vec![
                f("list"),
                PathElement::key([("key", json!("a")), ("id", json!(2))]),
                f("key"),
            ],
            vec![f("value")],
        ]);
        assert_eq!(
            s.path_strings(),
            vec![".value", r#".list[id=2,key="a"].key"#]
        );
    }

    fn deployment_fields() -> Value {
        json!({
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:selector": {},
                "f:template": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {"f:containers": {
                        "k:{\"name\":\"web\"}": {
                            ".": {},
                            "f:image": {},
                            "f:name": {},
                            "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                                ".": {}, "f:containerPort": {}
                            }}
                        }
                    }}
                }
            }
        })
    }

    #[test]
    fn fields_v1_round_trip_of_an_applied_deployment() {
        let v = deployment_fields();
        let set = FieldSet::from_fields_v1(&v).unwrap();
        assert_eq!(
            set.path_strings(),
            vec![
                ".metadata.labels.app",
                ".spec.replicas",
                ".spec.selector",
                ".spec.template.metadata.labels.app",
                r#".spec.template.spec.containers[name="web"]"#,
                r#".spec.template.spec.containers[name="web"].image"#,
                r#".spec.template.spec.containers[name="web"].name"#,
                r#".spec.template.spec.containers[name="web"].ports[containerPort=80,protocol="TCP"]"#,
                r#".spec.template.spec.containers[name="web"].ports[containerPort=80,protocol="TCP"].containerPort"#,
            ]
        );
        assert_eq!(set.to_fields_v1(), v);
        assert_eq!(FieldSet::from_fields_v1(&set.to_fields_v1()).unwrap(), set);
    }

    #[test]
    fn fields_v1_text_is_in_kube_order() {
        let set = FieldSet::from_paths([
            vec![f("list"), PathElement::key([("port", json!(10))])],
            vec![f("list"), PathElement::key([("port", json!(9))])],
            vec![f("list"), PathElement::key([("port", json!(9))]), f("port")],
            vec![f("finalizers"), PathElement::Value(json!("b"))],
            vec![f("finalizers"), PathElement::Value(json!("a"))],
            vec![f("a")],
        ]);
        assert_eq!(
            set.to_fields_v1_string(),
            r#"{"f:a":{},"f:finalizers":{"v:\"a\"":{},"v:\"b\"":{}},"f:list":{"k:{\"port\":9}":{".":{},"f:port":{}},"k:{\"port\":10}":{}}}"#
        );
        let parsed: Value = serde_json::from_str(&set.to_fields_v1_string()).unwrap();
        assert_eq!(FieldSet::from_fields_v1(&parsed).unwrap(), set);
    }

    #[test]
    fn fields_v1_decoding_rules() {
        // A node with only "." or nothing is a member; unknown kinds are dropped.
        let set = FieldSet::from_fields_v1(&json!({
            "f:a": {".": {}},
            "f:b": {},
            "z:future": {"f:x": {}},
        }))
        .unwrap();
        assert_eq!(set.path_strings(), vec![".a", ".b"]);
        assert!(FieldSet::from_fields_v1(&json!({"f:a": 1})).is_err());
        assert!(FieldSet::from_fields_v1(&json!([])).is_err());
        assert!(FieldSet::from_fields_v1(&json!({})).unwrap().is_empty());
    }
}
