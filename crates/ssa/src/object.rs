//! Identity of an object in a set: group, kind, namespace and name (plus the
//! version it was applied at), as Flux's inventory records it.

use std::fmt;

use serde_json::Value;

use crate::error::SsaError;

/// Who an object is, independent of its content.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjMeta {
    /// API group (`""` for the core group).
    pub group: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Namespace (`""` for cluster-scoped objects).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// API version without the group, e.g. `v1`. Not part of the identity
    /// for comparisons between inventories, but needed to address the object.
    pub version: String,
}

impl ObjMeta {
    /// The identity of a manifest; fails naming what is missing.
    pub fn of(obj: &Value) -> Result<Self, SsaError> {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default();
        let kind = obj["kind"].as_str().unwrap_or_default();
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let namespace = obj["metadata"]["namespace"].as_str().unwrap_or_default();
        let subject = || {
            let kind = if kind.is_empty() { "<no kind>" } else { kind };
            let name = if name.is_empty() { "<no name>" } else { name };
            if namespace.is_empty() {
                format!("{kind}/{name}")
            } else {
                format!("{kind}/{namespace}/{name}")
            }
        };
        for (field, value) in [
            ("apiVersion", api_version),
            ("kind", kind),
            ("metadata.name", name),
        ] {
            if value.is_empty() {
                return Err(SsaError::Invalid {
                    subject: subject(),
                    message: format!("{field} is not set"),
                });
            }
        }
        let (group, version) = split_api_version(api_version);
        Ok(Self {
            group: group.to_string(),
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            version: version.to_string(),
        })
    }

    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Flux's inventory ID: `<namespace>_<name>_<group>_<kind>`.
    pub fn id(&self) -> String {
        format!(
            "{}_{}_{}_{}",
            self.namespace, self.name, self.group, self.kind
        )
    }

    /// Parses an inventory entry (ID and version). Names cannot contain `_`,
    /// but groups and kinds cannot either, so the split is unambiguous.
    pub fn from_id(id: &str, version: &str) -> Option<Self> {
        let mut parts = id.splitn(4, '_');
        let namespace = parts.next()?;
        let name = parts.next()?;
        let group = parts.next()?;
        let kind = parts.next()?;
        if name.is_empty() || kind.is_empty() || kind.contains('_') {
            return None;
        }
        Some(Self {
            group: group.to_string(),
            kind: kind.to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            version: version.to_string(),
        })
    }

    /// Whether two identities name the same object (versions aside).
    pub fn same_object(&self, other: &Self) -> bool {
        self.group == other.group
            && self.kind == other.kind
            && self.namespace == other.namespace
            && self.name == other.name
    }
}

/// `Kind/namespace/name` (or `Kind/name`), as Flux prints objects.
impl fmt::Display for ObjMeta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

/// Splits `apps/v1` into (`apps`, `v1`) and `v1` into (`""`, `v1`).
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.rsplit_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identity_and_id_round_trip() {
        let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "team-a"}});
        let m = ObjMeta::of(&obj).unwrap();
        assert_eq!(m.id(), "team-a_web_apps_Deployment");
        assert_eq!(m.to_string(), "Deployment/team-a/web");
        assert_eq!(m.api_version(), "apps/v1");
        let back = ObjMeta::from_id(&m.id(), "v1").unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn core_and_cluster_scoped() {
        let ns = ObjMeta::of(&json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "team-a"}}))
        .unwrap();
        assert_eq!(ns.id(), "_team-a__Namespace");
        assert_eq!(ns.to_string(), "Namespace/team-a");
        assert_eq!(ns.api_version(), "v1");
        assert_eq!(ObjMeta::from_id("_team-a__Namespace", "v1").unwrap(), ns);
    }

    #[test]
    fn missing_fields_are_named() {
        let e = ObjMeta::of(&json!({"apiVersion": "v1", "metadata": {"name": "x"}}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("kind is not set"), "{e}");
        let e = ObjMeta::of(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("ConfigMap/<no name>") && e.contains("metadata.name"),
            "{e}"
        );
        let e = ObjMeta::of(&json!("not an object"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("apiVersion is not set"), "{e}");
    }

    #[test]
    fn malformed_ids_are_rejected() {
        assert!(ObjMeta::from_id("a_b_c", "v1").is_none());
        assert!(ObjMeta::from_id("ns__apps_Deployment", "v1").is_none());
        assert!(ObjMeta::from_id("ns_n_apps_Deploy_ment", "v1").is_none());
    }
}
