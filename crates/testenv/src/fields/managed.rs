//! `metadata.managedFields`: entries, how kube-apiserver identifies a manager, the order
//! it writes entries in, and the cap on Update entries.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::FieldsError;
use super::path::write_json_string;
use super::set::FieldSet;

/// The operation that made a managedFields entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Server-side apply.
    Apply,
    /// Create, update (PUT) or a non-apply patch.
    Update,
}

impl Operation {
    /// `"Apply"` or `"Update"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Apply => "Apply",
            Operation::Update => "Update",
        }
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of `metadata.managedFields`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManagedFieldsEntry {
    pub manager: String,
    pub operation: Operation,
    pub api_version: String,
    /// RFC 3339 time of the manager's last change; empty when unknown (not written).
    pub time: String,
    /// `""` or `"status"`.
    pub subresource: String,
    pub fields: FieldSet,
}

impl ManagedFieldsEntry {
    /// The key kube-apiserver keeps this entry under: manager, operation, subresource
    /// and, for Update entries only, apiVersion (an applier has one entry whatever
    /// version it applies with; an updater one per version).
    pub(crate) fn identifier(&self) -> String {
        identifier(
            &self.manager,
            self.operation,
            &self.api_version,
            &self.subresource,
        )
    }
}

/// The manager identifier as kube-apiserver builds it: the JSON of a
/// ManagedFieldsEntry without fields and time (and without apiVersion for Apply).
pub(crate) fn identifier(
    manager: &str,
    operation: Operation,
    api_version: &str,
    subresource: &str,
) -> String {
    let mut out = String::from("{");
    let mut first = true;
    let mut field = |out: &mut String, name: &str, value: &str| {
        if value.is_empty() {
            return;
        }
        if !first {
            out.push(',');
        }
        first = false;
        write_json_string(out, name);
        out.push(':');
        write_json_string(out, value);
    };
    field(&mut out, "manager", manager);
    field(&mut out, "operation", operation.as_str());
    if operation == Operation::Update {
        field(&mut out, "apiVersion", api_version);
    }
    field(&mut out, "subresource", subresource);
    out.push('}');
    out
}

/// Reads `metadata.managedFields` (a JSON array, or null/absent for none). The checks
/// are kube-apiserver's: operation `Apply` or `Update`, a non-empty apiVersion,
/// fieldsType `FieldsV1`.
pub fn decode_managed_fields(
    metadata_managed_fields: &Value,
) -> Result<Vec<ManagedFieldsEntry>, FieldsError> {
    let items = match metadata_managed_fields {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => {
            return Err(FieldsError::ManagedFields(
                "managedFields must be a list".to_string(),
            ));
        }
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let bad = |why: String| FieldsError::ManagedFields(why);
        let Value::Object(entry) = item else {
            return Err(bad(format!("managed fields entry {i} must be an object")));
        };
        let text = |key: &str| -> Result<String, FieldsError> {
            match entry.get(key) {
                None | Some(Value::Null) => Ok(String::new()),
                Some(Value::String(s)) => Ok(s.clone()),
                Some(_) => Err(bad(format!(
                    "{key} of managed fields entry {i} must be a string"
                ))),
            }
        };
        let operation = match text("operation")?.as_str() {
            "Apply" => Operation::Apply,
            "Update" => Operation::Update,
            _ => return Err(bad("operation must be `Apply` or `Update`".to_string())),
        };
        let api_version = text("apiVersion")?;
        if api_version.is_empty() {
            return Err(bad("apiVersion must not be empty".to_string()));
        }
        match text("fieldsType")?.as_str() {
            "FieldsV1" => {}
            "" => {
                return Err(bad(format!(
                    "missing fieldsType in managed fields entry {i}"
                )));
            }
            other => {
                return Err(bad(format!(
                    "invalid fieldsType {other:?} in managed fields entry {i}"
                )));
            }
        }
        let fields = match entry.get("fieldsV1") {
            None | Some(Value::Null) => FieldSet::new(),
            Some(v) => FieldSet::from_fields_v1(v)?,
        };
        out.push(ManagedFieldsEntry {
            manager: text("manager")?,
            operation,
            api_version,
            time: text("time")?,
            subresource: text("subresource")?,
            fields,
        });
    }
    Ok(out)
}

/// Writes `metadata.managedFields` in kube-apiserver's order (see [`sort_entries`]),
/// each entry with fieldsType `FieldsV1`.
pub fn encode_managed_fields(entries: &[ManagedFieldsEntry]) -> Value {
    let mut sorted = entries.to_vec();
    sort_entries(&mut sorted);
    Value::Array(
        sorted
            .iter()
            .map(|e| {
                let mut m = Map::new();
                if !e.manager.is_empty() {
                    m.insert("manager".into(), Value::String(e.manager.clone()));
                }
                m.insert(
                    "operation".into(),
                    Value::String(e.operation.as_str().into()),
                );
                m.insert("apiVersion".into(), Value::String(e.api_version.clone()));
                if !e.time.is_empty() {
                    m.insert("time".into(), Value::String(e.time.clone()));
                }
                m.insert("fieldsType".into(), Value::String("FieldsV1".into()));
                m.insert("fieldsV1".into(), e.fields.to_fields_v1());
                if !e.subresource.is_empty() {
                    m.insert("subresource".into(), Value::String(e.subresource.clone()));
                }
                Value::Object(m)
            })
            .collect(),
    )
}

/// Sets (or, with no entries, removes) `metadata.managedFields` of an object.
pub fn set_managed_fields(object: &mut Value, entries: &[ManagedFieldsEntry]) {
    let Some(obj) = object.as_object_mut() else {
        return;
    };
    if entries.is_empty() {
        if let Some(Value::Object(meta)) = obj.get_mut("metadata") {
            meta.remove("managedFields");
        }
        return;
    }
    let meta = obj
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    if let Some(meta) = meta.as_object_mut() {
        meta.insert("managedFields".into(), encode_managed_fields(entries));
    }
}

/// kube-apiserver's order: Apply entries before Update entries, then by time (whole
/// seconds, no time first), manager, apiVersion, subresource.
pub fn sort_entries(entries: &mut [ManagedFieldsEntry]) {
    entries.sort_by(|p, q| {
        p.operation
            .as_str()
            .cmp(q.operation.as_str())
            .then_with(|| unix_seconds(&p.time).cmp(&unix_seconds(&q.time)))
            .then_with(|| p.manager.cmp(&q.manager))
            .then_with(|| p.api_version.cmp(&q.api_version))
            .then_with(|| p.subresource.cmp(&q.subresource))
    });
}

/// Seconds since the epoch of an RFC 3339 time; 0 for none or an unreadable one.
pub(crate) fn unix_seconds(t: &str) -> i64 {
    ferroflux_gocompat::time::parse_rfc3339(t).unwrap_or(0)
}

/// Managers by identifier, as kube-apiserver holds them while it works.
#[derive(Debug, Clone, Default)]
pub(crate) struct Managers {
    pub map: BTreeMap<String, ManagedFieldsEntry>,
}

impl Managers {
    pub fn new(entries: &[ManagedFieldsEntry]) -> Self {
        let mut map = BTreeMap::new();
        for e in entries {
            map.insert(e.identifier(), e.clone());
        }
        Managers { map }
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn drop_empty(&mut self) {
        self.map.retain(|_, e| !e.fields.is_empty());
    }

    pub fn into_entries(self) -> Vec<ManagedFieldsEntry> {
        let mut out: Vec<ManagedFieldsEntry> = self.map.into_values().collect();
        sort_entries(&mut out);
        out
    }

    /// At most `max` Update entries: the oldest are folded, per apiVersion, into an
    /// `ancient-changes` entry (kube-apiserver keeps 10).
    pub fn cap_update_managers(&mut self, max: usize) {
        let mut updaters: Vec<String> = self
            .map
            .iter()
            .filter(|(_, e)| e.operation == Operation::Update)
            .map(|(id, _)| id.clone())
            .collect();
        if updaters.len() <= max {
            return;
        }
        updaters.sort_by(|a, b| {
            let ta = unix_seconds(&self.map[a].time);
            let tb = unix_seconds(&self.map[b].time);
            ta.cmp(&tb).then_with(|| a.cmp(b))
        });
        let mut first_of_version: BTreeMap<String, String> = BTreeMap::new();
        let mut length = updaters.len();
        for id in updaters {
            if length <= max {
                break;
            }
            let Some(entry) = self.map.get(&id).cloned() else {
                continue;
            };
            let bucket = identifier("ancient-changes", Operation::Update, &entry.api_version, "");
            if id == bucket {
                first_of_version
                    .entry(entry.api_version.clone())
                    .or_insert(id);
                continue;
            }
            match first_of_version.get(&entry.api_version) {
                Some(first) => {
                    if !self.map.contains_key(&bucket)
                        && let Some(moved) = self.map.remove(first)
                    {
                        self.map.insert(bucket.clone(), moved);
                    }
                    let fields = match self.map.get(&bucket) {
                        Some(b) => entry.fields.union(&b.fields),
                        None => entry.fields.clone(),
                    };
                    self.map.insert(
                        bucket,
                        ManagedFieldsEntry {
                            manager: "ancient-changes".into(),
                            operation: Operation::Update,
                            api_version: entry.api_version.clone(),
                            time: entry.time.clone(),
                            subresource: String::new(),
                            fields,
                        },
                    );
                    self.map.remove(&id);
                    length -= 1;
                }
                None => {
                    first_of_version.insert(entry.api_version.clone(), id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kubectl_deployment_managed_fields() -> Value {
        json!([
            {
                "apiVersion": "apps/v1",
                "fieldsType": "FieldsV1",
                "fieldsV1": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {
                        "f:replicas": {},
                        "f:selector": {},
                        "f:template": {
                            "f:metadata": {"f:labels": {"f:app": {}}},
                            "f:spec": {"f:containers": {"k:{\"name\":\"nginx\"}": {
                                ".": {}, "f:image": {}, "f:name": {},
                                "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                                    ".": {}, "f:containerPort": {}
                                }}
                            }}}
                        }
                    }
                },
                "manager": "kubectl",
                "operation": "Apply",
                "time": "2024-05-01T10:00:00Z"
            },
            {
                "apiVersion": "apps/v1",
                "fieldsType": "FieldsV1",
                "fieldsV1": {
                    "f:metadata": {"f:annotations": {".": {}, "f:deployment.kubernetes.io/revision": {}}},
                    "f:status": {"f:availableReplicas": {}, "f:conditions": {
                        ".": {},
                        "k:{\"type\":\"Available\"}": {".": {}, "f:status": {}, "f:type": {}}
                    }}
                },
                "manager": "kube-controller-manager",
                "operation": "Update",
                "subresource": "status",
                "time": "2024-05-01T10:00:05Z"
            }
        ])
    }

    #[test]
    fn round_trip_of_real_looking_managed_fields() {
        let v = kubectl_deployment_managed_fields();
        let entries = decode_managed_fields(&v).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].manager, "kubectl");
        assert_eq!(entries[0].operation, Operation::Apply);
        assert_eq!(entries[1].subresource, "status");
        assert!(entries[0].fields.has(&[
            super::super::PathElement::field("spec"),
            super::super::PathElement::field("replicas"),
        ]));
        assert_eq!(encode_managed_fields(&entries), v);
    }

    #[test]
    fn decoding_checks_like_kube() {
        let bad_op = json!([{"manager": "m", "operation": "Patch", "apiVersion": "v1", "fieldsType": "FieldsV1"}]);
        assert!(
            decode_managed_fields(&bad_op)
                .unwrap_err()
                .to_string()
                .contains("operation must be")
        );
        let no_version = json!([{"manager": "m", "operation": "Update", "fieldsType": "FieldsV1"}]);
        assert!(decode_managed_fields(&no_version).is_err());
        let no_type = json!([{"manager": "m", "operation": "Update", "apiVersion": "v1"}]);
        assert!(
            decode_managed_fields(&no_type)
                .unwrap_err()
                .to_string()
                .contains("missing fieldsType")
        );
        assert!(decode_managed_fields(&Value::Null).unwrap().is_empty());
        let no_fields = json!([{"manager": "m", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1"}]);
        assert!(
            decode_managed_fields(&no_fields).unwrap()[0]
                .fields
                .is_empty()
        );
    }

    #[test]
    fn identifiers_leave_apiversion_out_for_appliers() {
        assert_eq!(
            identifier("kubectl", Operation::Apply, "apps/v1", ""),
            r#"{"manager":"kubectl","operation":"Apply"}"#
        );
        assert_eq!(
            identifier("k", Operation::Update, "v1", "status"),
            r#"{"manager":"k","operation":"Update","apiVersion":"v1","subresource":"status"}"#
        );
    }

    fn entry(manager: &str, op: Operation, time: &str) -> ManagedFieldsEntry {
        ManagedFieldsEntry {
            manager: manager.into(),
            operation: op,
            api_version: "v1".into(),
            time: time.into(),
            subresource: String::new(),
            fields: FieldSet::from_paths([vec![super::super::PathElement::field(manager)]]),
        }
    }

    #[test]
    fn entries_sort_apply_first_then_time_then_manager() {
        let mut v = vec![
            entry("z", Operation::Update, "2024-01-01T00:00:00Z"),
            entry("b", Operation::Apply, "2024-01-02T00:00:00Z"),
            entry("a", Operation::Update, "2024-01-01T00:00:00Z"),
            entry("c", Operation::Apply, "2024-01-01T00:00:00+01:00"),
            entry("y", Operation::Update, ""),
        ];
        sort_entries(&mut v);
        let names: Vec<&str> = v.iter().map(|e| e.manager.as_str()).collect();
        assert_eq!(names, vec!["c", "b", "y", "a", "z"]);
    }

    #[test]
    fn rfc3339_seconds() {
        assert_eq!(unix_seconds("1970-01-01T00:00:00Z"), 0);
        assert_eq!(unix_seconds("2024-05-01T10:00:05Z"), 1_714_557_605);
        assert_eq!(unix_seconds("2024-05-01T12:00:05.123+02:00"), 1_714_557_605);
        assert_eq!(unix_seconds("garbage"), 0);
    }

    #[test]
    fn update_managers_are_capped_into_ancient_changes() {
        let entries: Vec<ManagedFieldsEntry> = (0..12)
            .map(|i| {
                entry(
                    &format!("m{i:02}"),
                    Operation::Update,
                    &format!("2024-01-01T00:00:{i:02}Z"),
                )
            })
            .collect();
        let mut managers = Managers::new(&entries);
        managers.cap_update_managers(10);
        let out = managers.into_entries();
        assert_eq!(out.len(), 10);
        let ancient = out.iter().find(|e| e.manager == "ancient-changes").unwrap();
        assert_eq!(ancient.fields.path_strings(), vec![".m00", ".m01", ".m02"]);
        assert!(
            !out.iter()
                .any(|e| ["m00", "m01", "m02"].contains(&e.manager.as_str()))
        );
    }
}
