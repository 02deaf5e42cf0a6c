//! How the lists and maps of one resource type merge: from the built-in table or from a
//! CRD's `openAPIV3Schema`.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

use super::builtin_table::TABLE;
use super::path::PathElement;

/// How the list or map at one path merges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListType {
    /// Nothing declared: a list there is atomic, a map merges key by key.
    Default,
    /// Replaced as a whole and owned as one field: `x-kubernetes-list-type: atomic` for
    /// a list, `x-kubernetes-map-type: atomic` for a map (e.g. label selectors).
    Atomic,
    /// `x-kubernetes-list-type: set`: scalar items, each owned on its own (`v:<json>`).
    Set,
    /// `x-kubernetes-list-type: map`: items identified by these key fields (`k:{...}`).
    Map { keys: Vec<String> },
}

/// The schema facts the engine needs, asked by path from the object root (for example
/// `spec.template.spec.containers` is `[Field("spec"), Field("template"),
/// Field("spec"), Field("containers")]`; list items appear as `Key`/`Value` elements).
pub trait ListTypes {
    /// How the list or map at `path` merges.
    fn at(&self, path: &[PathElement]) -> ListType;

    /// The default of a key field of the keyed list at `list`, used when an item omits
    /// it (e.g. `protocol` of container ports defaults to `"TCP"`).
    fn key_default(&self, _list: &[PathElement], _key: &str) -> Option<Value> {
        None
    }

    /// Whether `name` is a declared field of the map at `map` (a struct member), as
    /// opposed to a free-form entry (`additionalProperties`,
    /// `x-kubernetes-preserve-unknown-fields`). Free-form entries are owned themselves
    /// even when they hold a map.
    fn is_field(&self, _map: &[PathElement], _name: &str) -> bool {
        true
    }
}

/// No schema at all: every list atomic, every map granular.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSchema;

impl ListTypes for NoSchema {
    fn at(&self, _path: &[PathElement]) -> ListType {
        ListType::Default
    }
}

// ---------------------------------------------------------------------------------------
// Built-in kinds.

#[derive(Debug)]
enum Desc {
    Named(String),
    List {
        kind: ListType,
        defaults: Vec<(String, Value)>,
        elem: Option<String>,
    },
    AtomicMap,
    Entries(Option<String>),
}

#[derive(Debug, Default)]
struct TypeDef {
    atomic: bool,
    fields: HashMap<String, Desc>,
}

#[derive(Debug, Default)]
struct Table {
    roots: HashMap<(String, String), String>,
    types: HashMap<String, TypeDef>,
}

fn table() -> &'static Table {
    static PARSED: OnceLock<Table> = OnceLock::new();
    PARSED.get_or_init(|| parse_table(TABLE))
}

fn parse_desc(text: &str) -> Desc {
    let mut parts = text.split_whitespace();
    let head = parts.next().unwrap_or_default();
    let elem = parts.next().map(str::to_string);
    if head == "[set]" {
        Desc::List {
            kind: ListType::Set,
            defaults: Vec::new(),
            elem,
        }
    } else if let Some(keys) = head.strip_prefix("[map:").and_then(|k| k.strip_suffix(']')) {
        let mut names = Vec::new();
        let mut defaults = Vec::new();
        for key in keys.split(',') {
            match key.split_once('=') {
                Some((name, default)) => {
                    names.push(name.to_string());
                    if let Ok(v) = serde_json::from_str(default) {
                        defaults.push((name.to_string(), v));
                    }
                }
                None => names.push(key.to_string()),
            }
        }
        Desc::List {
            kind: ListType::Map { keys: names },
            defaults,
            elem,
        }
    } else if head == "{atomic}" {
        Desc::AtomicMap
    } else if head == "{entries}" {
        Desc::Entries(elem)
    } else {
        Desc::Named(head.to_string())
    }
}

fn parse_table(text: &str) -> Table {
    let mut table = Table::default();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("root ") {
            let parts: Vec<&str> = rest.split_whitespace().collect();
            if let [group, kind, ty] = parts[..] {
                let group = if group == "\"\"" { "" } else { group };
                table
                    .roots
                    .insert((group.to_string(), kind.to_string()), ty.to_string());
            }
        } else if let Some(rest) = line.strip_prefix("type ") {
            let mut parts = rest.split_whitespace();
            let name = parts.next().unwrap_or_default().to_string();
            let atomic = parts.next() == Some("atomic");
            table.types.insert(
                name.clone(),
                TypeDef {
                    atomic,
                    fields: HashMap::new(),
                },
            );
            current = Some(name);
        } else if let Some(name) = &current {
            let line = line.trim();
            if let Some((field, desc)) = line.split_once(' ')
                && let Some(def) = table.types.get_mut(name)
            {
                def.fields
                    .insert(field.to_string(), parse_desc(desc.trim()));
            }
        }
    }
    table
}

#[derive(Debug, Clone, Copy)]
enum Cursor<'a> {
    Unknown,
    Type(&'a str),
    Desc(&'a Desc),
}

fn step<'a>(table: &'a Table, cursor: Cursor<'a>, pe: &PathElement) -> Cursor<'a> {
    match cursor {
        Cursor::Unknown => Cursor::Unknown,
        Cursor::Type(name) => match (table.types.get(name), pe) {
            (Some(def), PathElement::Field(f)) if !def.atomic => {
                def.fields.get(f).map_or(Cursor::Unknown, Cursor::Desc)
            }
            _ => Cursor::Unknown,
        },
        Cursor::Desc(Desc::Named(name)) => step(table, Cursor::Type(name), pe),
        Cursor::Desc(Desc::List { elem, .. }) => match (pe, elem) {
            (PathElement::Field(_), _) | (_, None) => Cursor::Unknown,
            (_, Some(elem)) => Cursor::Type(elem),
        },
        Cursor::Desc(Desc::Entries(elem)) => match (pe, elem) {
            (PathElement::Field(_), Some(elem)) => Cursor::Type(elem),
            _ => Cursor::Unknown,
        },
        Cursor::Desc(Desc::AtomicMap) => Cursor::Unknown,
    }
}

fn walk<'a>(table: &'a Table, root: Cursor<'a>, path: &[PathElement]) -> Cursor<'a> {
    path.iter().fold(root, |c, pe| step(table, c, pe))
}

fn cursor_list_type(table: &Table, cursor: Cursor<'_>) -> ListType {
    match cursor {
        Cursor::Unknown => ListType::Default,
        Cursor::Type(name) => match table.types.get(name) {
            Some(def) if def.atomic => ListType::Atomic,
            _ => ListType::Default,
        },
        Cursor::Desc(Desc::Named(name)) => cursor_list_type(table, Cursor::Type(name)),
        Cursor::Desc(Desc::List { kind, .. }) => kind.clone(),
        Cursor::Desc(Desc::AtomicMap) => ListType::Atomic,
        Cursor::Desc(Desc::Entries(_)) => ListType::Default,
    }
}

fn cursor_key_default(cursor: Cursor<'_>, key: &str) -> Option<Value> {
    match cursor {
        Cursor::Desc(Desc::List { defaults, .. }) => defaults
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, v)| v.clone()),
        _ => None,
    }
}

fn cursor_is_entries(cursor: Cursor<'_>) -> bool {
    matches!(cursor, Cursor::Desc(Desc::Entries(_)))
}

/// The list types of a built-in kind (see [`builtin_list_types`]).
#[derive(Debug, Clone)]
pub struct BuiltinListTypes {
    root: String,
}

/// The `x-kubernetes-list-type`/`-list-map-keys`/`-map-type` facts of a built-in kind
/// (preferred version), e.g. `builtin_list_types("apps", "Deployment")`. An unknown kind
/// gets only the `metadata` rules every object shares (finalizers a set,
/// ownerReferences keyed by uid); all its other lists are atomic.
pub fn builtin_list_types(group: &str, kind: &str) -> BuiltinListTypes {
    let root = table()
        .roots
        .get(&(group.to_string(), kind.to_string()))
        .cloned()
        .unwrap_or_else(|| "generic".to_string());
    BuiltinListTypes { root }
}

impl BuiltinListTypes {
    /// Whether the kind is in the built-in table.
    pub fn is_known(&self) -> bool {
        self.root != "generic"
    }

    fn cursor(&self, path: &[PathElement]) -> Cursor<'static> {
        let table = table();
        walk(table, Cursor::Type(table_name(table, &self.root)), path)
    }
}

fn table_name<'a>(table: &'a Table, name: &str) -> &'a str {
    table
        .types
        .get_key_value(name)
        .map_or("generic", |(k, _)| k.as_str())
}

impl ListTypes for BuiltinListTypes {
    fn at(&self, path: &[PathElement]) -> ListType {
        cursor_list_type(table(), self.cursor(path))
    }

    fn key_default(&self, list: &[PathElement], key: &str) -> Option<Value> {
        cursor_key_default(self.cursor(list), key)
    }

    fn is_field(&self, map: &[PathElement], _name: &str) -> bool {
        !cursor_is_entries(self.cursor(map))
    }
}

// ---------------------------------------------------------------------------------------
// CRD schemas.

/// The list types of a custom resource, from its `openAPIV3Schema` (see
/// [`schema_list_types`]).
#[derive(Debug, Clone)]
pub struct SchemaListTypes {
    schema: Value,
}

/// List types from a CRD version's `openAPIV3Schema`: `x-kubernetes-list-type`
/// (`atomic`, the default for lists; `set`; `map` with `x-kubernetes-list-map-keys`,
/// key defaults from the item schema), `x-kubernetes-map-type: atomic`, free-form
/// entries under `additionalProperties` and `x-kubernetes-preserve-unknown-fields`.
/// `metadata` always follows ObjectMeta, as kube-apiserver does for custom resources.
pub fn schema_list_types(schema: &Value) -> SchemaListTypes {
    SchemaListTypes {
        schema: schema.clone(),
    }
}

#[derive(Debug, Clone, Copy)]
enum Node<'a> {
    /// A schema node.
    Schema(&'a Value),
    /// Below `x-kubernetes-preserve-unknown-fields` (or `additionalProperties: true`):
    /// maps of free-form entries, atomic lists.
    Deduced,
    /// No schema known.
    Unknown,
    /// `metadata`, which follows the built-in ObjectMeta.
    Meta(Cursor<'static>),
}

fn preserves_unknown(s: &Value) -> bool {
    s.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
}

impl SchemaListTypes {
    fn node(&self, path: &[PathElement]) -> Node<'_> {
        let mut node = Node::Schema(&self.schema);
        for (i, pe) in path.iter().enumerate() {
            node = match node {
                Node::Unknown => Node::Unknown,
                Node::Deduced => Node::Deduced,
                Node::Meta(c) => Node::Meta(step(table(), c, pe)),
                Node::Schema(s) => match pe {
                    PathElement::Field(name) if i == 0 && name == "metadata" => {
                        Node::Meta(Cursor::Type(table_name(table(), "meta.v1.ObjectMeta")))
                    }
                    PathElement::Field(name) => {
                        if let Some(p) = s.get("properties").and_then(|p| p.get(name)) {
                            Node::Schema(p)
                        } else {
                            match s.get("additionalProperties") {
                                Some(ap @ Value::Object(_)) => Node::Schema(ap),
                                Some(Value::Bool(true)) => Node::Deduced,
                                _ if preserves_unknown(s) => Node::Deduced,
                                _ => Node::Unknown,
                            }
                        }
                    }
                    _ => match s.get("items") {
                        Some(items @ Value::Object(_)) => Node::Schema(items),
                        _ if preserves_unknown(s) => Node::Deduced,
                        _ => Node::Unknown,
                    },
                },
            };
        }
        node
    }
}

impl ListTypes for SchemaListTypes {
    fn at(&self, path: &[PathElement]) -> ListType {
        match self.node(path) {
            Node::Unknown | Node::Deduced => ListType::Default,
            Node::Meta(c) => cursor_list_type(table(), c),
            Node::Schema(s) => {
                match s.get("x-kubernetes-list-type").and_then(Value::as_str) {
                    Some("set") => return ListType::Set,
                    Some("map") => {
                        let keys = s
                            .get("x-kubernetes-list-map-keys")
                            .and_then(Value::as_array)
                            .map(|ks| {
                                ks.iter()
                                    .filter_map(Value::as_str)
                                    .map(str::to_string)
                                    .collect()
                            })
                            .unwrap_or_default();
                        return ListType::Map { keys };
                    }
                    Some("atomic") => return ListType::Atomic,
                    _ => {}
                }
                if s.get("x-kubernetes-map-type").and_then(Value::as_str) == Some("atomic") {
                    return ListType::Atomic;
                }
                if s.get("type").and_then(Value::as_str) == Some("array") {
                    return ListType::Atomic;
                }
                ListType::Default
            }
        }
    }

    fn key_default(&self, list: &[PathElement], key: &str) -> Option<Value> {
        match self.node(list) {
            Node::Schema(s) => s
                .get("items")
                .and_then(|i| i.get("properties"))
                .and_then(|p| p.get(key))
                .and_then(|k| k.get("default"))
                .cloned(),
            Node::Meta(c) => cursor_key_default(c, key),
            _ => None,
        }
    }

    fn is_field(&self, map: &[PathElement], name: &str) -> bool {
        match self.node(map) {
            Node::Unknown => true,
            Node::Deduced => false,
            Node::Meta(c) => !cursor_is_entries(c),
            Node::Schema(s) => {
                if s.get("properties").and_then(|p| p.get(name)).is_some() {
                    return true;
                }
                !(s.get("additionalProperties")
                    .is_some_and(|ap| ap != &Value::Bool(false))
                    || preserves_unknown(s))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p(parts: &[&str]) -> Vec<PathElement> {
        parts
            .iter()
            .map(|s| match s.strip_prefix('=') {
                Some(v) => PathElement::key([("name", json!(v))]),
                None => PathElement::field(*s),
            })
            .collect()
    }

    fn keys(k: &[&str]) -> ListType {
        ListType::Map {
            keys: k.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn builtin_pod_template_lists() {
        let t = builtin_list_types("apps", "Deployment");
        assert!(t.is_known());
        let containers = p(&["spec", "template", "spec", "containers"]);
        assert_eq!(t.at(&containers), keys(&["name"]));
        let web = p(&["spec", "template", "spec", "containers", "=web"]);
        let mut ports = web.clone();
        ports.push(PathElement::field("ports"));
        assert_eq!(t.at(&ports), keys(&["containerPort", "protocol"]));
        assert_eq!(t.key_default(&ports, "protocol"), Some(json!("TCP")));
        for (field, key) in [("env", "name"), ("volumeMounts", "mountPath")] {
            let mut path = web.clone();
            path.push(PathElement::field(field));
            assert_eq!(t.at(&path), keys(&[key]), "{field}");
        }
        assert_eq!(
            t.at(&p(&["spec", "template", "spec", "volumes"])),
            keys(&["name"])
        );
        assert_eq!(t.at(&p(&["spec", "selector"])), ListType::Atomic);
        // Unannotated lists are atomic (Default): args, command.
        let mut args = web.clone();
        args.push(PathElement::field("args"));
        assert_eq!(t.at(&args), ListType::Default);
        assert_eq!(t.at(&p(&["status", "conditions"])), keys(&["type"]));
    }

    #[test]
    fn builtin_metadata_and_other_kinds() {
        for (group, kind) in [("", "ConfigMap"), ("example.com", "Unknown")] {
            let t = builtin_list_types(group, kind);
            assert_eq!(t.at(&p(&["metadata", "finalizers"])), ListType::Set);
            assert_eq!(t.at(&p(&["metadata", "ownerReferences"])), keys(&["uid"]));
            assert_eq!(t.at(&p(&["metadata", "labels"])), ListType::Default);
        }
        assert!(!builtin_list_types("example.com", "Unknown").is_known());
        let svc = builtin_list_types("", "Service");
        assert_eq!(svc.at(&p(&["spec", "ports"])), keys(&["port", "protocol"]));
        assert_eq!(svc.at(&p(&["spec", "selector"])), ListType::Atomic);
        let role = builtin_list_types("rbac.authorization.k8s.io", "Role");
        assert_eq!(role.at(&p(&["rules"])), ListType::Default);
        let binding = builtin_list_types("rbac.authorization.k8s.io", "RoleBinding");
        assert_eq!(binding.at(&p(&["roleRef"])), ListType::Atomic);
        let cron = builtin_list_types("batch", "CronJob");
        assert_eq!(
            cron.at(&p(&[
                "spec",
                "jobTemplate",
                "spec",
                "template",
                "spec",
                "containers"
            ])),
            keys(&["name"])
        );
        let node = builtin_list_types("", "Node");
        assert!(!node.is_field(&p(&["status", "capacity"]), "cpu"));
        assert!(node.is_field(&p(&["status"]), "capacity"));
    }

    #[test]
    fn crd_schema_annotations() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "m": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["a", "b"],
                  "items": {"type": "object", "properties": {"b": {"type": "integer", "default": 1},
                                                             "sub": {"type": "array", "x-kubernetes-list-type": "set"}}}},
            "s": {"type": "array", "x-kubernetes-list-type": "set"},
            "plain": {"type": "array", "items": {"type": "string"}},
            "sel": {"type": "object", "x-kubernetes-map-type": "atomic"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
        }}}});
        let t = schema_list_types(&schema);
        assert_eq!(t.at(&p(&["spec", "m"])), keys(&["a", "b"]));
        assert_eq!(t.key_default(&p(&["spec", "m"]), "b"), Some(json!(1)));
        let mut sub = p(&["spec", "m"]);
        sub.push(PathElement::key([("a", json!("x"))]));
        sub.push(PathElement::field("sub"));
        assert_eq!(t.at(&sub), ListType::Set);
        assert_eq!(t.at(&p(&["spec", "s"])), ListType::Set);
        assert_eq!(t.at(&p(&["spec", "plain"])), ListType::Atomic);
        assert_eq!(t.at(&p(&["spec", "sel"])), ListType::Atomic);
        assert!(t.is_field(&p(&["spec"]), "m"));
        assert!(!t.is_field(&p(&["spec", "labels"]), "app"));
        assert!(!t.is_field(&p(&["spec", "free"]), "anything"));
        assert!(!t.is_field(&p(&["spec", "free", "deep"]), "x"));
        assert_eq!(t.at(&p(&["spec", "free", "list"])), ListType::Default);
        assert_eq!(t.at(&p(&["metadata", "finalizers"])), ListType::Set);
    }
}
