//! Where a release's chart comes from: the HelmChart made from
//! `spec.chart` (`<namespace>-<name>` in the source's namespace, owned by
//! the HelmRelease) or the object `spec.chartRef` names (an OCIRepository
//! or a HelmChart), its artifact downloaded (digest checked) and loaded.

use std::collections::BTreeMap;

use ferroflux_api::helm::v2::{ChartRefKind, ChartSourceKind, HelmRelease};
use ferroflux_api::source::{AnySource, Source, kinds};
use ferroflux_helm::chart::{Chart, LoadLimits, load_archive};
use ferroflux_runtime::artifact::ArtifactClient;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

/// The field manager of what this controller writes itself (HelmCharts).
pub const FIELD_MANAGER: &str = "helm-controller";
/// The field manager of a release's objects (Flux's).
pub const RELEASE_FIELD_MANAGER: &str = "helm-controller";
/// Label naming the HelmRelease that owns an object.
pub const NAME_LABEL: &str = "helm.toolkit.fluxcd.io/name";
/// Label naming that HelmRelease's namespace.
pub const NAMESPACE_LABEL: &str = "helm.toolkit.fluxcd.io/namespace";

/// Why there is no chart to release.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// The source object does not exist (yet).
    #[error("{0}")]
    NotFound(String),
    /// The source has no usable artifact yet.
    #[error("{0}")]
    NotReady(String),
    /// The source is still at work on its latest generation (not observed
    /// yet, or no verdict yet): a wait, not a failure of the release.
    #[error("{0}")]
    Pending(String),
    /// The spec refers to something that cannot be used.
    #[error("{0}")]
    Invalid(String),
    /// Reading or writing the source failed.
    #[error("{0}")]
    Api(String),
    /// The artifact could not be downloaded or loaded.
    #[error("{0}")]
    Artifact(String),
}

/// A chart ready to render.
#[derive(Debug, Clone)]
pub struct LoadedChart {
    /// The chart (its version already carries the OCI digest suffix when
    /// it came from an OCIRepository).
    pub chart: Chart,
    /// `Kind/namespace/name` of the source object.
    pub source: String,
    /// The artifact's revision.
    pub revision: String,
    /// The artifact's digest.
    pub digest: String,
    /// The OCI manifest digest (`sha256:...`) for charts from an OCIRepository.
    pub oci_digest: Option<String>,
}

/// The source object a HelmRelease's chart comes from: kind, namespace, name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRef {
    /// `HelmChart`, `OCIRepository` or `ExternalArtifact`.
    pub kind: &'static str,
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
}

impl SourceRef {
    /// `Kind/namespace/name`.
    pub fn display(&self) -> String {
        format!("{}/{}/{}", self.kind, self.namespace, self.name)
    }
}

/// The object holding the chart of `hr`.
pub fn source_ref(hr: &HelmRelease) -> Result<SourceRef, ChartError> {
    let own_ns = hr.namespace().unwrap_or_default();
    if let Some(r) = &hr.spec.chart_ref {
        let kind = match r.kind {
            ChartRefKind::OciRepository => "OCIRepository",
            ChartRefKind::HelmChart => "HelmChart",
            ChartRefKind::ExternalArtifact => "ExternalArtifact",
        };
        let namespace = r
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or(own_ns);
        return Ok(SourceRef {
            kind,
            namespace,
            name: r.name.clone(),
        });
    }
    match &hr.spec.chart {
        Some(t) => Ok(SourceRef {
            kind: "HelmChart",
            namespace: t.namespace_or(&own_ns).to_string(),
            name: hr.helm_chart_name(),
        }),
        None => Err(ChartError::Invalid(
            "one of spec.chart or spec.chartRef must be set".into(),
        )),
    }
}

/// The namespace a reference of `hr` points into, when it is not its own.
pub fn cross_namespace_reference(hr: &HelmRelease) -> Option<String> {
    let own_ns = hr.namespace().unwrap_or_default();
    fn other<'a>(ns: Option<&'a str>, own_ns: &str) -> Option<&'a str> {
        ns.filter(|n| !n.is_empty() && *n != own_ns)
    }
    if let Some(r) = &hr.spec.chart_ref
        && let Some(ns) = other(r.namespace.as_deref(), &own_ns)
    {
        return Some(format!("{}/{ns}/{}", kind_of_ref(r.kind), r.name));
    }
    if let Some(t) = &hr.spec.chart
        && let Some(ns) = other(t.spec.source_ref.namespace.as_deref(), &own_ns)
    {
        return Some(format!(
            "{}/{ns}/{}",
            source_kind_name(t.spec.source_ref.kind),
            t.spec.source_ref.name
        ));
    }
    None
}

fn kind_of_ref(k: ChartRefKind) -> &'static str {
    match k {
        ChartRefKind::OciRepository => "OCIRepository",
        ChartRefKind::HelmChart => "HelmChart",
        ChartRefKind::ExternalArtifact => "ExternalArtifact",
    }
}

fn source_kind_name(k: ChartSourceKind) -> &'static str {
    match k {
        ChartSourceKind::HelmRepository => "HelmRepository",
        ChartSourceKind::GitRepository => "GitRepository",
        ChartSourceKind::Bucket => "Bucket",
    }
}

fn api_for(client: &kube::Client, kind: &str, ns: &str) -> Result<Api<DynamicObject>, ChartError> {
    let info = kinds::source_kind(kind)
        .ok_or_else(|| ChartError::Invalid(format!("unknown source kind {kind}")))?;
    Ok(Api::namespaced_with(
        client.clone(),
        ns,
        &info.api_resource(None),
    ))
}

/// The HelmChart `spec.chart` asks for, as Flux writes it.
pub fn helm_chart_object(hr: &HelmRelease) -> Option<Value> {
    let t = hr.spec.chart.as_ref()?;
    let own_ns = hr.namespace().unwrap_or_default();
    let mut labels: BTreeMap<String, String> = t
        .object_meta
        .as_ref()
        .map(|m| m.labels.clone())
        .unwrap_or_default();
    labels.insert(NAME_LABEL.into(), hr.name_any());
    labels.insert(NAMESPACE_LABEL.into(), own_ns.clone());
    let annotations: BTreeMap<String, String> = t
        .object_meta
        .as_ref()
        .map(|m| m.annotations.clone())
        .unwrap_or_default();
    let s = &t.spec;
    let mut spec = json!({
        "chart": s.chart,
        "version": s.version,
        "sourceRef": {"kind": source_kind_name(s.source_ref.kind), "name": s.source_ref.name},
        "interval": t.interval_or(&hr.spec.interval).to_string(),
        "reconcileStrategy": match s.reconcile_strategy {
            ferroflux_api::helm::v2::ReconcileStrategy::ChartVersion => "ChartVersion",
            ferroflux_api::helm::v2::ReconcileStrategy::Revision => "Revision",
        },
    });
    if let Some(av) = &s.source_ref.api_version {
        spec["sourceRef"]["apiVersion"] = json!(av);
    }
    if !s.values_files.is_empty() {
        spec["valuesFiles"] = json!(s.values_files);
    }
    if s.ignore_missing_values_files {
        spec["ignoreMissingValuesFiles"] = json!(true);
    }
    if let Some(v) = &s.verify {
        spec["verify"] = serde_json::to_value(v).unwrap_or(Value::Null);
    }
    let mut metadata = json!({
        "name": hr.helm_chart_name(),
        "namespace": t.namespace_or(&own_ns),
        "labels": labels,
    });
    if !annotations.is_empty() {
        metadata["annotations"] = json!(annotations);
    }
    Some(json!({
        "apiVersion": kinds::HELM_CHART.api_version,
        "kind": "HelmChart",
        "metadata": metadata,
        "spec": spec,
    }))
}

/// Whether `live` already holds everything of `want` (labels, annotations
/// and spec fields), so nothing needs writing.
fn holds(live: &Value, want: &Value) -> bool {
    match (live, want) {
        (Value::Object(l), Value::Object(w)) => w
            .iter()
            .all(|(k, wv)| l.get(k).is_some_and(|lv| holds(lv, wv))),
        (l, w) => l == w,
    }
}

/// Creates or updates the HelmChart of `spec.chart` (only when it differs,
/// so an idle reconcile writes nothing) and deletes the one recorded in
/// `status.helmChart` when it is another. Returns `namespace/name`.
pub async fn ensure_helm_chart(
    client: &kube::Client,
    hr: &HelmRelease,
) -> Result<Option<String>, ChartError> {
    let Some(want) = helm_chart_object(hr) else {
        return Ok(None);
    };
    let ns = want["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let name = want["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let api = api_for(client, "HelmChart", &ns)?;
    let live = api
        .get_opt(&name)
        .await
        .map_err(|e| ChartError::Api(format!("reading HelmChart '{ns}/{name}': {e}")))?;
    let live = live.and_then(|o| serde_json::to_value(o).ok());
    let needed = live.as_ref().is_none_or(|l| {
        !holds(&l["spec"], &want["spec"])
            || !holds(&l["metadata"]["labels"], &want["metadata"]["labels"])
    });
    if needed {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        api.patch(&name, &params, &Patch::Apply(&want))
            .await
            .map_err(|e| {
                ChartError::Api(format!("failed to create HelmChart '{ns}/{name}': {e}"))
            })?;
    }
    let current = format!("{ns}/{name}");
    if let Some(old) = hr.status.as_ref().and_then(|s| s.helm_chart.clone())
        && old != current
        && let Some((old_ns, old_name)) = old.split_once('/')
    {
        delete_helm_chart(client, old_ns, old_name).await?;
    }
    Ok(Some(current))
}

/// Deletes a HelmChart this controller made (gone already is fine).
pub async fn delete_helm_chart(
    client: &kube::Client,
    ns: &str,
    name: &str,
) -> Result<(), ChartError> {
    let api = api_for(client, "HelmChart", ns)?;
    match api.delete(name, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(ChartError::Api(format!(
            "failed to delete HelmChart '{ns}/{name}': {e}"
        ))),
    }
}

/// The artifact of the chart's source, once the source has reconciled
/// its latest generation.
pub async fn artifact(
    client: &kube::Client,
    source: &SourceRef,
) -> Result<ferroflux_api::meta::Artifact, ChartError> {
    let api = api_for(client, source.kind, &source.namespace)?;
    let shown = source.display();
    let obj = match api.get_opt(&source.name).await {
        Ok(Some(o)) => o,
        Ok(None) => {
            return Err(ChartError::NotFound(format!(
                "could not get {shown}: not found"
            )));
        }
        Err(e) => return Err(ChartError::Api(format!("could not get {shown}: {e}"))),
    };
    let any = AnySource::from_dynamic(&obj);
    let observed = any.status.as_ref().and_then(|s| s.observed_generation);
    // An ExternalArtifact's status has no observedGeneration (its
    // producer owns the spec); its artifact is taken as it is.
    let generation_known = source.kind != "ExternalArtifact";
    if generation_known && obj.metadata.generation.is_some() && observed != obj.metadata.generation
    {
        return Err(ChartError::Pending(format!(
            "{shown} is not ready: latest generation of object has not been reconciled"
        )));
    }
    match any.artifact() {
        Some(a) if !a.url.is_empty() => Ok(a.clone()),
        _ => {
            let ready = ferroflux_api::conditions::get(any.source_conditions(), "Ready");
            let why = ready
                .map(|c| c.message.clone())
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| "no artifact".into());
            let message = format!("{shown} is not ready: {why}");
            // Only a source that has said Ready=False has failed; before
            // that its first artifact is on the way.
            if ready.is_some_and(|c| c.status == "False") {
                Err(ChartError::NotReady(message))
            } else {
                Err(ChartError::Pending(message))
            }
        }
    }
}

/// The digest of an OCI artifact revision (`<tag>@sha256:<hex>` or
/// `sha256:<hex>`).
pub fn oci_digest(revision: &str) -> Option<String> {
    let d = revision.rsplit_once('@').map_or(revision, |(_, d)| d);
    d.starts_with("sha256:").then(|| d.to_string())
}

/// Downloads (digest checked) and loads the chart of `source`'s artifact.
/// A chart from an OCIRepository gets `+<first 12 hex digits of the digest>`
/// appended to its version, as Flux records it.
pub async fn load(
    artifacts: &ArtifactClient,
    source: &SourceRef,
    artifact: &ferroflux_api::meta::Artifact,
    limits: &LoadLimits,
) -> Result<LoadedChart, ChartError> {
    let digest = artifact.digest.clone().unwrap_or_default();
    let bytes = artifacts.fetch(&artifact.url, &digest).await.map_err(|e| {
        ChartError::Artifact(format!(
            "failed to download artifact from {}: {e}",
            artifact.url
        ))
    })?;
    let limits = *limits;
    let mut chart = tokio::task::spawn_blocking(move || load_archive(&bytes, &limits))
        .await
        .map_err(|e| ChartError::Artifact(format!("loading the chart: {e}")))?
        .map_err(|e| ChartError::Artifact(format!("could not load chart: {e}")))?;
    let oci = (source.kind == "OCIRepository")
        .then(|| oci_digest(&artifact.revision))
        .flatten();
    if let Some(d) = &oci {
        let hex = d.trim_start_matches("sha256:");
        let short = &hex[..hex.len().min(12)];
        if !chart.metadata.version.contains('+') {
            chart.metadata.version = format!("{}+{short}", chart.metadata.version);
        }
    }
    Ok(LoadedChart {
        chart,
        source: source.display(),
        revision: artifact.revision.clone(),
        digest,
        oci_digest: oci,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hr(v: Value) -> HelmRelease {
        serde_json::from_value(v).expect("HelmRelease")
    }

    #[test]
    fn the_helm_chart_is_named_after_the_release_in_the_source_namespace() {
        let r = hr(json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "web", "namespace": "apps"},
            "spec": {"interval": "5m", "chart": {"spec": {
                "chart": "podinfo", "version": "6.x",
                "sourceRef": {"kind": "HelmRepository", "name": "repo", "namespace": "flux-system"}
            }}}
        }));
        let obj = helm_chart_object(&r).expect("object");
        assert_eq!(obj["metadata"]["name"], "apps-web");
        assert_eq!(obj["metadata"]["namespace"], "flux-system");
        assert_eq!(obj["metadata"]["labels"][NAME_LABEL], "web");
        assert_eq!(obj["spec"]["version"], "6.x");
        assert_eq!(obj["spec"]["interval"], "5m");
        assert_eq!(
            obj["spec"]["sourceRef"],
            json!({"kind": "HelmRepository", "name": "repo"})
        );
        let s = source_ref(&r).expect("source");
        assert_eq!(s.display(), "HelmChart/flux-system/apps-web");
        assert_eq!(
            cross_namespace_reference(&r).as_deref(),
            Some("HelmRepository/flux-system/repo")
        );
    }

    #[test]
    fn oci_digests_are_read_from_revisions() {
        assert_eq!(
            oci_digest("1.0.0@sha256:abcd").as_deref(),
            Some("sha256:abcd")
        );
        assert_eq!(oci_digest("sha256:ff").as_deref(), Some("sha256:ff"));
        assert_eq!(oci_digest("main@sha1:ff"), None);
    }

    #[test]
    fn holds_compares_only_what_is_wanted() {
        let live = json!({"a": 1, "b": {"c": 2, "d": 3}});
        assert!(holds(&live, &json!({"b": {"c": 2}})));
        assert!(!holds(&live, &json!({"b": {"c": 3}})));
        assert!(!holds(&live, &json!({"e": 1})));
    }
}
