//! A resource of the build and its identity.

use serde_json::Value;

/// Group, version, kind, namespace and name of a resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResId {
    /// API group (empty for the core group).
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Namespace (empty when none).
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl ResId {
    /// The id of a resource value.
    pub fn of(value: &Value) -> Self {
        let api = str_at(value, &["apiVersion"]);
        let (group, version) = match api.split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api.to_string()),
        };
        ResId {
            group,
            version,
            kind: str_at(value, &["kind"]).to_string(),
            namespace: str_at(value, &["metadata", "namespace"]).to_string(),
            name: str_at(value, &["metadata", "name"]).to_string(),
        }
    }
}

impl std::fmt::Display for ResId {
    /// As kustomize prints ids: `Kind.version.group/name.namespace`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let grp = if self.group.is_empty() {
            "[noGrp]"
        } else {
            &self.group
        };
        let ns = if self.namespace.is_empty() {
            "[noNs]"
        } else {
            &self.namespace
        };
        write!(
            f,
            "{}.{}.{}/{}.{}",
            self.kind, self.version, grp, self.name, ns
        )
    }
}

/// A resource in the build: its value and what the build remembers about it.
#[derive(Debug, Clone)]
pub(crate) struct Resource {
    pub(crate) value: Value,
    /// Every name it had, first the original one.
    pub(crate) names: Vec<String>,
    /// Its original namespace.
    pub(crate) orig_ns: String,
    /// A generated object that gets a content-hash suffix at the end.
    pub(crate) needs_hash: bool,
    /// Generator behavior (`create`, `merge`, `replace`) for generated objects.
    pub(crate) behavior: Option<String>,
    /// Where it came from (for `buildMetadata: [originAnnotations]`).
    pub(crate) origin: Option<Origin>,
    /// Identifies this resource through renames (each load makes a new one).
    pub(crate) uid: usize,
}

static NEXT_UID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Where a resource came from.
#[derive(Debug, Clone)]
pub(crate) enum Origin {
    /// Read from this file.
    File(std::path::PathBuf),
    /// Made by a generator (its kind) configured in this kustomization file.
    Generator(std::path::PathBuf, &'static str),
}

impl Resource {
    pub(crate) fn new(mut value: Value) -> Self {
        // Labels and annotations are strings; kustomize quotes `true` and `8080`.
        for field in ["labels", "annotations"] {
            let map = value.get_mut("metadata").and_then(|m| m.get_mut(field));
            if let Some(Value::Object(m)) = map {
                for v in m.values_mut() {
                    if let Value::Bool(_) | Value::Number(_) = v {
                        *v = Value::String(v.to_string());
                    }
                }
            }
        }
        let id = ResId::of(&value);
        Resource {
            value,
            names: vec![id.name],
            orig_ns: id.namespace,
            needs_hash: false,
            behavior: None,
            origin: None,
            uid: NEXT_UID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        }
    }
    pub(crate) fn id(&self) -> ResId {
        ResId::of(&self.value)
    }
    pub(crate) fn kind(&self) -> &str {
        str_at(&self.value, &["kind"])
    }
    pub(crate) fn name(&self) -> &str {
        str_at(&self.value, &["metadata", "name"])
    }
    pub(crate) fn set_name(&mut self, name: String) {
        if let Some(m) = self
            .value
            .get_mut("metadata")
            .and_then(Value::as_object_mut)
        {
            m.insert("name".into(), Value::String(name.clone()));
        }
        if self.names.last() != Some(&name) {
            self.names.push(name);
        }
    }
    /// Whether it ever had `name`.
    pub(crate) fn had_name(&self, name: &str) -> bool {
        self.names.iter().any(|n| n == name)
    }
}

/// The string at `path` in `value`, or "".
pub(crate) fn str_at<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    let mut v = value;
    for p in path {
        match v.get(p) {
            Some(x) => v = x,
            None => return "",
        }
    }
    v.as_str().unwrap_or("")
}

/// Kinds that are not namespaced.
pub(crate) fn is_cluster_scoped(kind: &str) -> bool {
    matches!(
        kind,
        "Namespace"
            | "ClusterRole"
            | "ClusterRoleBinding"
            | "CustomResourceDefinition"
            | "PersistentVolume"
            | "StorageClass"
            | "PriorityClass"
            | "APIService"
            | "MutatingWebhookConfiguration"
            | "ValidatingWebhookConfiguration"
            | "ValidatingAdmissionPolicy"
            | "ValidatingAdmissionPolicyBinding"
            | "PodSecurityPolicy"
            | "Node"
            | "CSIDriver"
            | "CSINode"
            | "VolumeAttachment"
            | "IngressClass"
            | "RuntimeClass"
            | "ComponentStatus"
            | "CertificateSigningRequest"
            | "TokenReview"
            | "SelfSubjectAccessReview"
            | "SubjectAccessReview"
    )
}
