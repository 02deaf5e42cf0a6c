//! The API versions Flux served before the storage versions, and how an
//! object written through one of them is reconciled.
//!
//! Every CRD keeps conversion `None`: the API server stores what a client
//! wrote and hands it out under any served version, pruned to that
//! version's schema; a write through one version (a controller adding its
//! finalizer through the storage version, say) prunes what that version's
//! schema lacks. Controllers read the storage version. Most old fields have
//! the same name and meaning there, and the ones that only ever meant
//! something to Flux's own implementation (`gitImplementation`,
//! `validation`, `accessFrom`) are let go. The few that change what is
//! built (the inline patch lists of Kustomization and of HelmRelease
//! post-renderers, the single `valuesFile` of HelmChart and HelmRelease
//! charts) are kept in the storage version's schema too, marked deprecated,
//! and the controllers fold them into their replacements before a
//! reconcile ([`fold_legacy_fields`]), as Flux's migration notes say to
//! rewrite them. The storage version's status is used by every version:
//! controllers write it.
//!
//! Which version an object was written through is not kept by the API
//! server, but each writer's `metadata.managedFields` entry records the
//! `apiVersion` it used ([`written_through`]).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;
use serde_json::{Value, json};

/// One kind's storage version and the older versions still served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindVersions {
    /// API group.
    pub group: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Lower-case plural resource name.
    pub plural: &'static str,
    /// The storage version controllers read and write.
    pub storage: &'static str,
    /// Older versions, deprecated, newest first.
    pub deprecated: &'static [&'static str],
    /// Whether some old version has fields that must be folded into their
    /// replacements before a reconcile (see [`fold_legacy_fields`]).
    pub has_legacy_fields: bool,
}

const SOURCE: &str = "source.toolkit.fluxcd.io";
const KUSTOMIZE: &str = "kustomize.toolkit.fluxcd.io";
const HELM: &str = "helm.toolkit.fluxcd.io";
const NOTIFICATION: &str = "notification.toolkit.fluxcd.io";
const BETAS: &[&str] = &["v1beta2", "v1beta1"];

/// Every kind that has deprecated versions.
pub const KINDS: &[KindVersions] = &[
    kind(
        SOURCE,
        "GitRepository",
        "gitrepositories",
        "v1",
        BETAS,
        false,
    ),
    kind(
        SOURCE,
        "HelmRepository",
        "helmrepositories",
        "v1",
        BETAS,
        false,
    ),
    kind(SOURCE, "HelmChart", "helmcharts", "v1", BETAS, true),
    kind(SOURCE, "Bucket", "buckets", "v1", BETAS, false),
    kind(
        SOURCE,
        "OCIRepository",
        "ocirepositories",
        "v1",
        &["v1beta2"],
        false,
    ),
    kind(
        KUSTOMIZE,
        "Kustomization",
        "kustomizations",
        "v1",
        BETAS,
        true,
    ),
    kind(
        HELM,
        "HelmRelease",
        "helmreleases",
        "v2",
        &["v2beta2", "v2beta1"],
        true,
    ),
    kind(NOTIFICATION, "Alert", "alerts", "v1beta3", BETAS, false),
    kind(
        NOTIFICATION,
        "Provider",
        "providers",
        "v1beta3",
        BETAS,
        false,
    ),
    kind(NOTIFICATION, "Receiver", "receivers", "v1", BETAS, false),
];

const fn kind(
    group: &'static str,
    kind: &'static str,
    plural: &'static str,
    storage: &'static str,
    deprecated: &'static [&'static str],
    has_legacy_fields: bool,
) -> KindVersions {
    KindVersions {
        group,
        kind,
        plural,
        storage,
        deprecated,
        has_legacy_fields,
    }
}

/// The versions of `group`'s `kind`, if it has deprecated ones.
pub fn kind_versions(group: &str, kind: &str) -> Option<&'static KindVersions> {
    KINDS.iter().find(|k| k.group == group && k.kind == kind)
}

/// A write of an object through a deprecated version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeprecatedWrite {
    /// The kind's versions.
    pub kind: &'static KindVersions,
    /// The deprecated version used (`v1beta2`).
    pub version: &'static str,
    /// The field manager that used it.
    pub manager: String,
}

impl DeprecatedWrite {
    /// `group/version` of the deprecated version.
    pub fn api_version(&self) -> String {
        format!("{}/{}", self.kind.group, self.version)
    }

    /// `group/version` of the storage version.
    pub fn storage_api_version(&self) -> String {
        format!("{}/{}", self.kind.group, self.kind.storage)
    }

    /// The warning shown in the object's events and the controller's log.
    pub fn message(&self) -> String {
        format!(
            "{kind} was written as {old} (by {manager}), which is deprecated: it is reconciled \
             as {new}; update the manifest to apiVersion {new}",
            kind = self.kind.kind,
            old = self.api_version(),
            manager = self.manager,
            new = self.storage_api_version(),
        )
    }
}

/// The deprecated version through which the spec of a `group` `kind` was
/// last written, read from the object's `managedFields` (status writes
/// are not counted: controllers write status in the storage version).
pub fn written_through(
    group: &str,
    kind: &str,
    managed_fields: &[ManagedFieldsEntry],
) -> Option<DeprecatedWrite> {
    let versions = kind_versions(group, kind)?;
    managed_fields
        .iter()
        .filter(|e| e.subresource.as_deref().unwrap_or_default().is_empty())
        .find_map(|e| {
            let (g, v) = e.api_version.as_deref()?.split_once('/')?;
            let version = versions.deprecated.iter().find(|d| **d == v)?;
            (g == group).then(|| DeprecatedWrite {
                kind: versions,
                version,
                manager: e.manager.clone().unwrap_or_default(),
            })
        })
}

/// Why an old object's fields could not be folded into the storage version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {field}: {message}")]
pub struct FoldError {
    /// The kind.
    pub kind: String,
    /// The field at fault, as a path (`spec.patchesJson6902[0]`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// Folds the deprecated fields of `old` (an object as JSON, in any served
/// version) into their replacements in `target` (usually a copy of the
/// same object, which keeps nothing of the deprecated fields afterwards),
/// as Flux's migration notes rewrite them:
///
/// - Kustomization: each `patchesStrategicMerge` item becomes a `patches`
///   entry without a target, each `patchesJson6902` item a `patches` entry
///   with its target; they go before and after the existing `patches`,
///   in the order kustomize applied the three lists.
/// - HelmChart: `valuesFile` is put first in `valuesFiles` (v1beta2 merged
///   it before them).
/// - HelmRelease: the same for `chart.spec.valuesFile`, and each
///   post-renderer's legacy patch lists as for Kustomization.
///
/// Returns the fields folded (empty when there were none).
pub fn fold_legacy_fields(
    kind: &str,
    old: &Value,
    target: &mut Value,
) -> Result<Vec<String>, FoldError> {
    let mut folded = Vec::new();
    match kind {
        "Kustomization" => {
            fold_patch_lists(kind, "spec", &old["spec"], &mut target["spec"], &mut folded)?;
        }
        "HelmChart" => {
            fold_values_file(&old["spec"], &mut target["spec"], "spec", &mut folded);
        }
        "HelmRelease" => {
            if let Some(chart) = old["spec"]["chart"]["spec"].as_object()
                && target["spec"]["chart"]["spec"].is_object()
            {
                fold_values_file(
                    &Value::Object(chart.clone()),
                    &mut target["spec"]["chart"]["spec"],
                    "spec.chart.spec",
                    &mut folded,
                );
            }
            if let (Some(old_prs), Some(new_prs)) = (
                old["spec"]["postRenderers"].as_array(),
                target["spec"]["postRenderers"].as_array_mut(),
            ) {
                for (i, (o, n)) in old_prs.iter().zip(new_prs.iter_mut()).enumerate() {
                    if o["kustomize"].is_object() {
                        if !n["kustomize"].is_object() {
                            n["kustomize"] = json!({});
                        }
                        fold_patch_lists(
                            kind,
                            &format!("spec.postRenderers[{i}].kustomize"),
                            &o["kustomize"],
                            &mut n["kustomize"],
                            &mut folded,
                        )?;
                    }
                }
            }
        }
        _ => {}
    }
    Ok(folded)
}

fn fold_values_file(old: &Value, target: &mut Value, at: &str, folded: &mut Vec<String>) {
    let Some(file) = old["valuesFile"].as_str().filter(|f| !f.is_empty()) else {
        return;
    };
    let mut files: Vec<Value> = target["valuesFiles"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !files.iter().any(|f| f.as_str() == Some(file)) {
        files.insert(0, json!(file));
    }
    target["valuesFiles"] = Value::Array(files);
    if let Some(map) = target.as_object_mut() {
        map.remove("valuesFile");
    }
    folded.push(format!("{at}.valuesFile"));
}

fn fold_patch_lists(
    kind: &str,
    at: &str,
    old: &Value,
    target: &mut Value,
    folded: &mut Vec<String>,
) -> Result<(), FoldError> {
    let smp = old["patchesStrategicMerge"].as_array();
    let j6902 = old["patchesJson6902"].as_array();
    if smp.is_none_or(Vec::is_empty) && j6902.is_none_or(Vec::is_empty) {
        return Ok(());
    }
    let fail = |field: String, message: String| FoldError {
        kind: kind.to_string(),
        field,
        message,
    };
    let mut patches = Vec::new();
    for (i, item) in smp.into_iter().flatten().enumerate() {
        if !item.is_object() {
            return Err(fail(
                format!("{at}.patchesStrategicMerge[{i}]"),
                "a strategic merge patch must be an object".into(),
            ));
        }
        let text = serde_yaml::to_string(item)
            .map_err(|e| fail(format!("{at}.patchesStrategicMerge[{i}]"), e.to_string()))?;
        patches.push(json!({ "patch": text }));
    }
    if smp.is_some_and(|l| !l.is_empty()) {
        folded.push(format!("{at}.patchesStrategicMerge"));
    }
    patches.extend(target["patches"].as_array().cloned().unwrap_or_default());
    for (i, item) in j6902.into_iter().flatten().enumerate() {
        let field = format!("{at}.patchesJson6902[{i}]");
        let ops = item["patch"]
            .as_array()
            .ok_or_else(|| fail(field.clone(), "`patch` must be a list of operations".into()))?;
        let text = serde_yaml::to_string(ops).map_err(|e| fail(field.clone(), e.to_string()))?;
        let mut entry = json!({ "patch": text });
        if !item["target"].is_null() {
            entry["target"] = item["target"].clone();
        }
        patches.push(entry);
    }
    if j6902.is_some_and(|l| !l.is_empty()) {
        folded.push(format!("{at}.patchesJson6902"));
    }
    target["patches"] = Value::Array(patches);
    if let Some(map) = target.as_object_mut() {
        map.remove("patchesStrategicMerge");
        map.remove("patchesJson6902");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(manager: &str, api_version: &str, subresource: Option<&str>) -> ManagedFieldsEntry {
        ManagedFieldsEntry {
            manager: Some(manager.into()),
            api_version: Some(api_version.into()),
            operation: Some("Apply".into()),
            subresource: subresource.map(str::to_string),
            ..Default::default()
        }
    }

    #[test]
    fn every_kind_with_old_versions_is_listed_once() {
        let defs = crate::crds::all().unwrap();
        for crd in &defs {
            let served: Vec<&str> = crd.spec.versions.iter().map(|v| v.name.as_str()).collect();
            let storage = crd.spec.versions.iter().find(|v| v.storage).unwrap();
            match kind_versions(&crd.spec.group, &crd.spec.names.kind) {
                Some(k) => {
                    assert_eq!(k.storage, storage.name, "{}", k.kind);
                    assert_eq!(k.plural, crd.spec.names.plural, "{}", k.kind);
                    let mut listed = vec![k.storage];
                    listed.extend(k.deprecated);
                    assert_eq!(listed, served, "{}", k.kind);
                }
                None => assert_eq!(served.len(), 1, "{}", crd.spec.names.kind),
            }
        }
    }

    #[test]
    fn the_spec_writer_decides_not_the_status_writer() {
        let fields = [
            entry(
                "source-controller",
                "source.toolkit.fluxcd.io/v1",
                Some("status"),
            ),
            entry("kubectl", "source.toolkit.fluxcd.io/v1beta2", None),
        ];
        let w = written_through(SOURCE, "HelmRepository", &fields).unwrap();
        assert_eq!(w.version, "v1beta2");
        assert_eq!(w.manager, "kubectl");
        assert!(w.message().contains("source.toolkit.fluxcd.io/v1beta2"));
        assert!(
            w.message()
                .contains("apiVersion source.toolkit.fluxcd.io/v1")
        );
        // Current versions, status-only writes and other groups are not deprecated writes.
        let current = [
            entry("kubectl", "source.toolkit.fluxcd.io/v1", None),
            entry("x", "source.toolkit.fluxcd.io/v1beta1", Some("status")),
            entry("y", "other.example.com/v1beta1", None),
        ];
        assert_eq!(written_through(SOURCE, "HelmRepository", &current), None);
        assert_eq!(written_through(SOURCE, "ExternalArtifact", &fields), None);
    }

    #[test]
    fn kustomization_patch_lists_become_patches_in_kustomize_order() {
        let old = json!({"spec": {
            "patches": [{"patch": "kept"}],
            "patchesStrategicMerge": [{"kind": "Deployment", "metadata": {"name": "a"}}],
            "patchesJson6902": [{
                "target": {"kind": "Service", "name": "b"},
                "patch": [{"op": "add", "path": "/metadata/labels/x", "value": "y"}]
            }]
        }});
        let mut target = json!({"spec": {"patches": [{"patch": "kept"}], "prune": true}});
        let folded = fold_legacy_fields("Kustomization", &old, &mut target).unwrap();
        assert_eq!(
            folded,
            ["spec.patchesStrategicMerge", "spec.patchesJson6902"]
        );
        let patches = target["spec"]["patches"].as_array().unwrap();
        assert_eq!(patches.len(), 3);
        let smp: Value = serde_yaml::from_str(patches[0]["patch"].as_str().unwrap()).unwrap();
        assert_eq!(smp["metadata"]["name"], "a");
        assert!(patches[0].get("target").is_none());
        assert_eq!(patches[1]["patch"], "kept");
        let ops: Value = serde_yaml::from_str(patches[2]["patch"].as_str().unwrap()).unwrap();
        assert_eq!(ops[0]["path"], "/metadata/labels/x");
        assert_eq!(patches[2]["target"]["name"], "b");
        assert_eq!(target["spec"]["prune"], true);
        // Nothing to fold: the object is left alone.
        let mut same = json!({"spec": {"prune": true}});
        assert!(
            fold_legacy_fields("Kustomization", &json!({"spec": {}}), &mut same)
                .unwrap()
                .is_empty()
        );
        assert_eq!(same, json!({"spec": {"prune": true}}));
    }

    #[test]
    fn malformed_legacy_patches_are_named() {
        let old =
            json!({"spec": {"patchesJson6902": [{"target": {"kind": "X"}, "patch": "nope"}]}});
        let err = fold_legacy_fields("Kustomization", &old, &mut json!({"spec": {}})).unwrap_err();
        assert_eq!(err.field, "spec.patchesJson6902[0]");
        let old = json!({"spec": {"patchesStrategicMerge": ["text"]}});
        let err = fold_legacy_fields("Kustomization", &old, &mut json!({"spec": {}})).unwrap_err();
        assert_eq!(err.field, "spec.patchesStrategicMerge[0]");
    }

    #[test]
    fn values_file_goes_first_once() {
        let old = json!({"spec": {"valuesFile": "base.yaml", "valuesFiles": ["prod.yaml"]}});
        let mut target = json!({"spec": {"valuesFiles": ["prod.yaml"]}});
        fold_legacy_fields("HelmChart", &old, &mut target).unwrap();
        assert_eq!(
            target["spec"]["valuesFiles"],
            json!(["base.yaml", "prod.yaml"])
        );
        let old = json!({"spec": {
            "chart": {"spec": {"chart": "c", "valuesFile": "v.yaml"}},
            "postRenderers": [{"kustomize": {"patchesStrategicMerge": [{"kind": "A"}]}}]
        }});
        let mut target = json!({"spec": {
            "chart": {"spec": {"chart": "c"}},
            "postRenderers": [{"kustomize": {"images": [{"name": "i"}]}}]
        }});
        let folded = fold_legacy_fields("HelmRelease", &old, &mut target).unwrap();
        assert_eq!(
            folded,
            [
                "spec.chart.spec.valuesFile",
                "spec.postRenderers[0].kustomize.patchesStrategicMerge"
            ]
        );
        assert_eq!(
            target["spec"]["chart"]["spec"]["valuesFiles"],
            json!(["v.yaml"])
        );
        let pr = &target["spec"]["postRenderers"][0]["kustomize"];
        assert_eq!(pr["images"][0]["name"], "i");
        assert_eq!(pr["patches"].as_array().unwrap().len(), 1);
    }
}
