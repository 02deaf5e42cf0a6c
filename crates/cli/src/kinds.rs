//! The Flux kinds the CLI works on, and what it reads from each object
//! (revision, suspension, readiness) as Flux's CLI reads them. Objects are
//! handled as JSON (`DynamicObject`) so one code path serves every kind and
//! every field a controller fills in.

use kube::api::{Api, ApiResource, DynamicObject};
use serde_json::Value;

/// How a kind's row is summarised in `get`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A source: revision from `status.artifact.revision`.
    Source,
    /// A Kustomization: revision from `status.lastAppliedRevision`.
    Kustomization,
    /// A HelmRelease: the chart version of the latest release, else the last attempted revision.
    HelmRelease,
    /// An Alert: no revision.
    Alert,
    /// A Provider: no revision, no suspension column.
    Provider,
    /// A Receiver: no revision.
    Receiver,
}

/// One Flux kind.
#[derive(Debug, Clone, Copy)]
pub struct FluxKind {
    /// `GitRepository`.
    pub kind: &'static str,
    /// `source.toolkit.fluxcd.io`.
    pub group: &'static str,
    /// The served version the CLI reads.
    pub version: &'static str,
    /// `gitrepositories`.
    pub plural: &'static str,
    /// How `get` summarises it.
    pub shape: Shape,
    /// Whether a controller reconciles it on request (`reconcile`, `resume` waits).
    pub reconcilable: bool,
}

const fn k(
    kind: &'static str,
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    shape: Shape,
    reconcilable: bool,
) -> FluxKind {
    FluxKind {
        kind,
        group,
        version,
        plural,
        shape,
        reconcilable,
    }
}

const SOURCE: &str = "source.toolkit.fluxcd.io";
const NOTIFICATION: &str = "notification.toolkit.fluxcd.io";

/// `GitRepository`.
pub const GIT_REPOSITORY: FluxKind = k(
    "GitRepository",
    SOURCE,
    "v1",
    "gitrepositories",
    Shape::Source,
    true,
);
/// `OCIRepository`.
pub const OCI_REPOSITORY: FluxKind = k(
    "OCIRepository",
    SOURCE,
    "v1",
    "ocirepositories",
    Shape::Source,
    true,
);
/// `HelmRepository`.
pub const HELM_REPOSITORY: FluxKind = k(
    "HelmRepository",
    SOURCE,
    "v1",
    "helmrepositories",
    Shape::Source,
    true,
);
/// `HelmChart`.
pub const HELM_CHART: FluxKind = k("HelmChart", SOURCE, "v1", "helmcharts", Shape::Source, true);
/// `Bucket`.
pub const BUCKET: FluxKind = k("Bucket", SOURCE, "v1", "buckets", Shape::Source, true);
/// `Kustomization`.
pub const KUSTOMIZATION: FluxKind = k(
    "Kustomization",
    "kustomize.toolkit.fluxcd.io",
    "v1",
    "kustomizations",
    Shape::Kustomization,
    true,
);
/// `HelmRelease`.
pub const HELM_RELEASE: FluxKind = k(
    "HelmRelease",
    "helm.toolkit.fluxcd.io",
    "v2",
    "helmreleases",
    Shape::HelmRelease,
    true,
);
/// `Alert`.
pub const ALERT: FluxKind = k(
    "Alert",
    NOTIFICATION,
    "v1beta3",
    "alerts",
    Shape::Alert,
    false,
);
/// `Provider`.
pub const PROVIDER: FluxKind = k(
    "Provider",
    NOTIFICATION,
    "v1beta3",
    "providers",
    Shape::Provider,
    false,
);
/// `Receiver`.
pub const RECEIVER: FluxKind = k(
    "Receiver",
    NOTIFICATION,
    "v1",
    "receivers",
    Shape::Receiver,
    true,
);

/// Every kind, in the order `flux get sources all` and `flux get all` list them.
pub const ALL: &[FluxKind] = &[
    OCI_REPOSITORY,
    BUCKET,
    GIT_REPOSITORY,
    HELM_REPOSITORY,
    HELM_CHART,
    HELM_RELEASE,
    KUSTOMIZATION,
    RECEIVER,
    PROVIDER,
    ALERT,
];

/// The sources, in `flux get sources all`'s order.
pub const SOURCES: &[FluxKind] = &[
    OCI_REPOSITORY,
    BUCKET,
    GIT_REPOSITORY,
    HELM_REPOSITORY,
    HELM_CHART,
];

/// The kind named `name` (any case), e.g. in `--for Kustomization/apps`.
pub fn by_kind(name: &str) -> Option<FluxKind> {
    ALL.iter()
        .copied()
        .find(|k| k.kind.eq_ignore_ascii_case(name))
}

/// A Flux object, or a kind, that the user named but that is not there.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// No such object.
    #[error("{kind} object '{name}' not found in {} namespace", scope(.namespace.as_deref()))]
    NotFound {
        /// The kind.
        kind: &'static str,
        /// The name.
        name: String,
        /// The namespace looked in (`None`: every namespace).
        namespace: Option<String>,
    },
    /// A kind this CLI does not know.
    #[error("'{0}' is not a recognized Flux kind")]
    UnknownKind(String),
}

impl FluxKind {
    /// The resource for the dynamic client.
    pub fn api_resource(&self) -> ApiResource {
        ApiResource {
            group: self.group.to_string(),
            version: self.version.to_string(),
            api_version: format!("{}/{}", self.group, self.version),
            kind: self.kind.to_string(),
            plural: self.plural.to_string(),
        }
    }

    /// The API for this kind in `namespace` (or every namespace).
    pub fn api(&self, client: &kube::Client, namespace: Option<&str>) -> Api<DynamicObject> {
        let ar = self.api_resource();
        match namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
            None => Api::all_with(client.clone(), &ar),
        }
    }

    /// How flux names the kind in its messages (`source git`, `kustomization`).
    pub fn human(&self) -> &'static str {
        match self.kind {
            "GitRepository" => "source git",
            "OCIRepository" => "source oci",
            "HelmRepository" => "source helm",
            "HelmChart" => "source chart",
            "Bucket" => "source bucket",
            "Kustomization" => "kustomization",
            "HelmRelease" => "helmrelease",
            "Alert" => "alert",
            "Provider" => "alert-provider",
            _ => "receiver",
        }
    }

    /// The "not found" error for `name` in `namespace` (`None`: any).
    pub fn not_found(&self, name: &str, namespace: Option<&str>) -> LookupError {
        LookupError::NotFound {
            kind: self.kind,
            name: name.to_string(),
            namespace: namespace.map(str::to_string),
        }
    }

    /// The revision column, as `flux get` prints it.
    pub fn revision(&self, obj: &Value) -> String {
        let status = &obj["status"];
        match self.shape {
            Shape::Source => {
                let rev = str_at(&status["artifact"]["revision"]);
                // A chart's revision is a SemVer: kept whole, as Flux does.
                if self.kind == HELM_CHART.kind {
                    rev.to_string()
                } else {
                    truncate_hex(rev)
                }
            }
            Shape::Kustomization => truncate_hex(str_at(&status["lastAppliedRevision"])),
            Shape::HelmRelease => match status["history"].get(0) {
                Some(latest) => str_at(&latest["chartVersion"]).to_string(),
                None => str_at(&status["lastAttemptedRevision"]).to_string(),
            },
            Shape::Alert | Shape::Provider | Shape::Receiver => String::new(),
        }
    }

    /// The message of success `reconcile` and `resume` print.
    pub fn success_message(&self, obj: &Value) -> String {
        let status = &obj["status"];
        match self.shape {
            Shape::Source => format!(
                "fetched revision {}",
                str_at(&status["artifact"]["revision"])
            ),
            Shape::Kustomization => format!(
                "applied revision {}",
                str_at(&status["lastAppliedRevision"])
            ),
            Shape::HelmRelease => format!("applied revision {}", self.revision(obj)),
            Shape::Receiver => format!("{} reconciliation completed", self.kind),
            Shape::Alert | Shape::Provider => format!("{} is ready", self.kind),
        }
    }

    /// The READY and MESSAGE columns. Alerts and Providers have no status
    /// in Flux, which prints them ready; ours carry one and it is shown.
    pub fn ready(&self, obj: &Value) -> (String, String) {
        if let Some(c) = condition(obj, "Ready") {
            return (
                str_at(&c["status"]).to_string(),
                truncate_hex(str_at(&c["message"])),
            );
        }
        match self.shape {
            Shape::Alert => ("True".into(), "Alert is Ready".into()),
            Shape::Provider => ("True".into(), "Provider is Ready".into()),
            _ => ("False".into(), "waiting to be reconciled".into()),
        }
    }

    /// `--status-selector type=status`: whether the object's condition of
    /// that type has that status (case-insensitive, as Flux compares).
    pub fn status_matches(&self, obj: &Value, cond_type: &str, cond_status: &str) -> bool {
        let found = obj["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .rev()
            .find(|c| str_at(&c["type"]).eq_ignore_ascii_case(cond_type));
        match found {
            Some(c) => str_at(&c["status"]).eq_ignore_ascii_case(cond_status),
            // Flux counts status-less Alerts and Providers as Ready=True.
            None => {
                matches!(self.shape, Shape::Alert | Shape::Provider)
                    && cond_type.eq_ignore_ascii_case("ready")
                    && cond_status.eq_ignore_ascii_case("true")
            }
        }
    }
}

/// A Flux object's name as the command line takes it: a DNS subdomain
/// (what the API server accepts for these kinds), so no name can reach
/// another path of the API.
pub fn parse_name(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text.len() <= 253
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && text
            .split('.')
            .all(|part| !part.is_empty() && !part.starts_with('-') && !part.ends_with('-'));
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!(
            "{text:?} is not a valid name (lowercase letters, digits, '-' and '.')"
        ))
    }
}

/// A namespace as the command line takes it: a DNS label, as flux requires.
pub fn parse_namespace(text: &str) -> Result<String, String> {
    let ok = !text.is_empty()
        && text.len() <= 63
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-');
    if ok {
        Ok(text.to_string())
    } else {
        Err(format!("namespace must be a valid DNS label: {text:?}"))
    }
}

/// `"ns"`, or `any` for every namespace, as Flux names a scope in messages.
pub fn scope(namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) => format!("{ns:?}"),
        None => "any".to_string(),
    }
}

/// `spec.suspend`, as Flux prints it (`True`/`False`).
pub fn suspended(obj: &Value) -> &'static str {
    if obj["spec"]["suspend"].as_bool().unwrap_or(false) {
        "True"
    } else {
        "False"
    }
}

/// The condition of type `t`, if the object has one.
pub fn condition<'a>(obj: &'a Value, t: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == t)
}

/// The object as JSON with its `apiVersion` and `kind` (list items come
/// without them) and without `managedFields` (as kubectl prints objects).
pub fn to_json(kind: &FluxKind, obj: &DynamicObject) -> Value {
    let mut v = serde_json::to_value(obj).unwrap_or(Value::Null);
    if let Some(map) = v.as_object_mut() {
        map.insert(
            "apiVersion".into(),
            Value::String(format!("{}/{}", kind.group, kind.version)),
        );
        map.insert("kind".into(), Value::String(kind.kind.to_string()));
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.remove("managedFields");
        }
    }
    v
}

/// A JSON string's text, or "" for anything else.
pub fn str_at(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// Shortens every run of 40 to 128 lowercase hex digits (SHA-1 to SHA-512)
/// standing alone as a word to its first 8, as Flux shows revisions.
pub fn truncate_hex(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
    while i < bytes.len() {
        let at_word_start = i == 0 || !word(bytes[i - 1]);
        if at_word_start && hex(bytes[i]) {
            let end = i + bytes[i..].iter().take_while(|b| hex(**b)).count();
            let len = end - i;
            let at_word_end = end == bytes.len() || !word(bytes[end]);
            if (40..=128).contains(&len) && at_word_end {
                out.push_str(&text[i..i + 8]);
            } else {
                out.push_str(&text[i..end]);
            }
            i = end;
            continue;
        }
        // Copy one whole character.
        let ch_len = text[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&text[i..i + ch_len]);
        i += ch_len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_runs_of_sha_length_are_shortened() {
        let sha1 = "44157ecd84c0d78b17e4d7b43f2a7bb316372d6c";
        assert_eq!(
            truncate_hex(&format!("main@sha1:{sha1}")),
            "main@sha1:44157ecd"
        );
        assert_eq!(
            truncate_hex(&format!("stored artifact for revision 'main@sha1:{sha1}'")),
            "stored artifact for revision 'main@sha1:44157ecd'"
        );
        let sha256 = "a".repeat(64);
        assert_eq!(truncate_hex(&format!("sha256:{sha256}")), "sha256:aaaaaaaa");
        // Too short, too long, or part of a longer word: left alone.
        assert_eq!(truncate_hex(&"b".repeat(39)), "b".repeat(39));
        assert_eq!(truncate_hex(&"c".repeat(129)), "c".repeat(129));
        let glued = format!("x{sha1}");
        assert_eq!(truncate_hex(&glued), glued);
        assert_eq!(truncate_hex("v1.2.3 ✓ ünïcode"), "v1.2.3 ✓ ünïcode");
        assert_eq!(truncate_hex(""), "");
    }

    #[test]
    fn names_and_namespaces_are_dns_names() {
        assert!(parse_name("podinfo").is_ok());
        assert!(parse_name("apps.v2-x").is_ok());
        for bad in [
            "",
            "../secrets",
            "a/b",
            "Caps",
            "-x",
            "x-",
            "a..b",
            "a?b",
            "ä",
        ] {
            assert!(parse_name(bad).is_err(), "{bad}");
        }
        assert!(parse_name(&"a".repeat(254)).is_err());
        assert!(parse_namespace("flux-system").is_ok());
        for bad in ["", "a.b", "../x", "-a", &"a".repeat(64)] {
            assert!(parse_namespace(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kinds_are_found_by_name_in_any_case() {
        assert_eq!(by_kind("kustomization").unwrap().plural, "kustomizations");
        assert_eq!(
            by_kind("HELMRELEASE").unwrap().group,
            "helm.toolkit.fluxcd.io"
        );
        assert!(by_kind("Deployment").is_none());
    }

    #[test]
    fn helm_release_revision_is_the_latest_chart_version() {
        let hr = serde_json::json!({"status": {
            "history": [{"chartVersion": "6.5.0"}, {"chartVersion": "6.4.0"}],
            "lastAttemptedRevision": "6.6.0"}});
        assert_eq!(HELM_RELEASE.revision(&hr), "6.5.0");
        let fresh = serde_json::json!({"status": {"lastAttemptedRevision": "6.6.0"}});
        assert_eq!(HELM_RELEASE.revision(&fresh), "6.6.0");
    }
}
