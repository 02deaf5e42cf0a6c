//! The release manifest: rendered templates split into documents, each parsed
//! for its head (`apiVersion`, `kind`, `metadata.name`, annotations), hooks
//! separated, and the rest sorted in Helm's install order.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value as J;

/// Helm's `InstallOrder` of kinds; unknown kinds go last, alphabetically.
pub const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// The hook events Helm knows (`helm.sh/hook` values).
pub const HOOK_EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
];

/// One non-hook document of the release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The template it came from (`chart/templates/x.yaml`).
    pub name: String,
    /// The document, trimmed.
    pub content: String,
    /// `kind` (empty for a comment-only document).
    pub kind: String,
    /// `metadata.name`.
    pub object_name: String,
    /// `helm.sh/resource-policy: keep`: left in place on uninstall.
    pub keep: bool,
}

/// A hook document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    /// `metadata.name`.
    pub name: String,
    /// `kind`.
    pub kind: String,
    /// The template it came from.
    pub path: String,
    /// The document, trimmed.
    pub manifest: String,
    /// Events (`pre-install`, `test`, ...), in annotation order.
    pub events: Vec<String>,
    /// `helm.sh/hook-weight` (0 when absent or not a number).
    pub weight: i64,
    /// `helm.sh/hook-delete-policy` values.
    pub delete_policies: Vec<String>,
}

static SEP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|\s*\n)---\s*").expect("separator regex"));

/// Helm's `SplitManifests`: documents split on `---` lines (by regular
/// expression, not a YAML parser), blank ones dropped. Leading whitespace goes;
/// the separator takes a document's trailing whitespace, except the last one's,
/// which Helm keeps.
pub fn split_manifests(text: &str) -> Vec<String> {
    SEP.split(text.trim_start())
        .filter(|d| !d.trim().is_empty())
        .map(str::to_string)
        .collect()
}

struct Head {
    kind: String,
    name: String,
    annotations: Option<BTreeMap<String, String>>,
}

fn head(doc: &str) -> Result<Head, String> {
    let v = crate::yaml::document(doc)?;
    let obj = match v {
        J::Null => {
            return Ok(Head {
                kind: String::new(),
                name: String::new(),
                annotations: None,
            });
        }
        J::Object(o) => o,
        other => {
            return Err(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type util.SimpleHead",
                crate::yaml::json_kind(&other)
            ));
        }
    };
    let field = |k: &str, v: Option<&J>, what: &str| -> Result<String, String> {
        match v {
            None | Some(J::Null) => Ok(String::new()),
            Some(J::String(s)) => Ok(s.clone()),
            Some(other) => Err(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field SimpleHead{what}{k} of type string",
                crate::yaml::json_kind(other)
            )),
        }
    };
    field("apiVersion", obj.get("apiVersion"), ".")?;
    let kind = field("kind", obj.get("kind"), ".")?;
    let mut name = String::new();
    let mut annotations = None;
    match obj.get("metadata") {
        None | Some(J::Null) => {}
        Some(J::Object(md)) => {
            name = field("name", md.get("name"), ".metadata.")?;
            match md.get("annotations") {
                None | Some(J::Null) => {}
                Some(J::Object(a)) => {
                    let mut m = BTreeMap::new();
                    for (k, v) in a {
                        m.insert(k.clone(), field(k, Some(v), ".metadata.annotations.")?);
                    }
                    annotations = Some(m);
                }
                Some(other) => {
                    return Err(format!(
                        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field .metadata.annotations of type map[string]string",
                        crate::yaml::json_kind(other)
                    ));
                }
            }
        }
        Some(other) => {
            return Err(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field SimpleHead.metadata of type struct",
                crate::yaml::json_kind(other)
            ));
        }
    }
    Ok(Head {
        kind,
        name,
        annotations,
    })
}

fn rank(kind: &str) -> Option<usize> {
    INSTALL_ORDER.iter().position(|k| *k == kind)
}

/// Helm's `lessByKind`: known kinds by install order, unknown ones after them
/// alphabetically.
fn less(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (rank(a), rank(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Less,
        (None, Some(_)) => Greater,
        (None, None) => a.cmp(b),
    }
}

/// Helm's `SortManifests`: templates in path order, their documents in order,
/// partials and empty files skipped; hooks apart; both sorted stably by kind.
pub fn sort_manifests(
    files: &BTreeMap<String, String>,
) -> Result<(Vec<Hook>, Vec<Manifest>), String> {
    let mut hooks = vec![];
    let mut generic = vec![];
    for (path, content) in files {
        let base = path.rsplit('/').next().unwrap_or(path);
        if base.starts_with('_') || content.trim().is_empty() {
            continue;
        }
        for doc in split_manifests(content) {
            let h = head(&doc).map_err(|e| format!("YAML parse error on {path}: {e}"))?;
            let ann = h.annotations.unwrap_or_default();
            let Some(hook_types) = ann.get("helm.sh/hook") else {
                generic.push(Manifest {
                    name: path.clone(),
                    content: doc,
                    kind: h.kind,
                    object_name: h.name,
                    keep: ann.get("helm.sh/resource-policy").map(|p| p.trim()) == Some("keep"),
                });
                continue;
            };
            let events: Vec<String> = hook_types
                .split(',')
                .map(|t| t.trim().to_lowercase())
                .collect();
            if events.iter().any(|e| !HOOK_EVENTS.contains(&e.as_str())) {
                // Helm skips a document with an unknown hook
                continue;
            }
            let delete_policies = ann
                .get("helm.sh/hook-delete-policy")
                .map(|p| {
                    p.split(',')
                        .map(|x| x.trim().to_string())
                        .filter(|x| !x.is_empty())
                        .collect()
                })
                .unwrap_or_default();
            hooks.push(Hook {
                name: h.name,
                kind: h.kind,
                path: path.clone(),
                manifest: doc,
                events,
                weight: ann
                    .get("helm.sh/hook-weight")
                    .and_then(|w| w.parse().ok())
                    .unwrap_or(0),
                delete_policies,
            });
        }
    }
    hooks.sort_by(|a, b| less(&a.kind, &b.kind));
    generic.sort_by(|a, b| less(&a.kind, &b.kind));
    Ok((hooks, generic))
}

/// The release manifest text: each document as `---\n# Source: NAME\nDOC\n`.
pub fn manifest_text(crds: &[(String, String)], manifests: &[Manifest]) -> String {
    let mut out = String::new();
    for (name, data) in crds {
        out.push_str(&format!("---\n# Source: {name}\n{data}\n"));
    }
    for m in manifests {
        out.push_str(&format!("---\n# Source: {}\n{}\n", m.name, m.content));
    }
    out
}
