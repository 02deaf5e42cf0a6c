//! `ferroflux reconcile`: ask a controller to reconcile an object now (the
//! `reconcile.fluxcd.io/requestedAt` annotation), follow it until the
//! controller has handled that very request, and report the outcome.

use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::{Patch, PatchParams};
use kube::runtime::watcher::watch_object;
use serde_json::{Value, json};

use crate::connect::{Cluster, ConnectArgs};
use crate::kinds::{self, FluxKind, Shape};
use crate::table::Log;

/// The annotation that requests a reconcile.
pub const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";
/// HelmRelease: force a one-off install/upgrade.
pub const FORCE_AT: &str = "reconcile.fluxcd.io/forceAt";
/// HelmRelease: reset the failure counts.
pub const RESET_AT: &str = "reconcile.fluxcd.io/resetAt";

/// `ferroflux reconcile ...`.
#[derive(clap::Args, Debug)]
pub struct ReconcileArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(subcommand)]
    what: ReconcileWhat,
}

#[derive(clap::Args, Debug)]
struct Name {
    /// The object's name.
    #[arg(value_parser = crate::kinds::parse_name)]
    name: String,
}

#[derive(clap::Args, Debug)]
struct NameWithSource {
    /// The object's name.
    #[arg(value_parser = crate::kinds::parse_name)]
    name: String,
    /// Reconcile the source first.
    #[arg(long)]
    with_source: bool,
}

#[derive(clap::Args, Debug)]
struct HelmReleaseArgs {
    /// The object's name.
    #[arg(value_parser = crate::kinds::parse_name)]
    name: String,
    /// Reconcile the source first.
    #[arg(long)]
    with_source: bool,
    /// Force a one-off install or upgrade.
    #[arg(long)]
    force: bool,
    /// Reset the release's failure counts.
    #[arg(long)]
    reset: bool,
}

#[derive(clap::Subcommand, Debug)]
enum ReconcileWhat {
    /// A source.
    #[command(alias = "sources")]
    Source {
        #[command(subcommand)]
        what: SourceTarget,
    },
    /// A Kustomization.
    #[command(aliases = ["ks", "kustomizations"])]
    Kustomization(NameWithSource),
    /// A HelmRelease.
    #[command(aliases = ["hr", "helmreleases"])]
    Helmrelease(HelmReleaseArgs),
    /// A Receiver.
    #[command(alias = "receivers")]
    Receiver(Name),
}

#[derive(clap::Subcommand, Debug)]
enum SourceTarget {
    /// A GitRepository.
    Git(Name),
    /// An OCIRepository.
    Oci(Name),
    /// A HelmRepository.
    Helm(Name),
    /// A HelmChart.
    Chart(NameWithSource),
    /// A Bucket.
    Bucket(Name),
}

/// Runs `reconcile`.
pub async fn run(args: &ReconcileArgs) -> anyhow::Result<()> {
    let cluster = args.connect.connect().await?;
    let log = Log::default();
    let deadline = Instant::now() + cluster.timeout;
    let (kind, name, with_source, extra): (FluxKind, &str, bool, Vec<&str>) = match &args.what {
        ReconcileWhat::Source { what } => match what {
            SourceTarget::Git(n) => (kinds::GIT_REPOSITORY, &n.name, false, vec![]),
            SourceTarget::Oci(n) => (kinds::OCI_REPOSITORY, &n.name, false, vec![]),
            SourceTarget::Helm(n) => (kinds::HELM_REPOSITORY, &n.name, false, vec![]),
            SourceTarget::Chart(n) => (kinds::HELM_CHART, &n.name, n.with_source, vec![]),
            SourceTarget::Bucket(n) => (kinds::BUCKET, &n.name, false, vec![]),
        },
        ReconcileWhat::Kustomization(n) => (kinds::KUSTOMIZATION, &n.name, n.with_source, vec![]),
        ReconcileWhat::Helmrelease(a) => {
            let mut extra = vec![];
            if a.force {
                extra.push(FORCE_AT);
            }
            if a.reset {
                extra.push(RESET_AT);
            }
            (kinds::HELM_RELEASE, &a.name, a.with_source, extra)
        }
        ReconcileWhat::Receiver(n) => (kinds::RECEIVER, &n.name, false, vec![]),
    };
    let namespace = cluster.namespace.clone();
    let obj = cluster.get_object(&kind, name).await?;
    if obj["spec"]["suspend"] == true {
        anyhow::bail!("resource is suspended");
    }
    if with_source {
        let (source_kind, source_name, source_ns) = source_of(&kind, &obj)?;
        reconcile_one(
            &cluster,
            &log,
            &source_kind,
            &source_name,
            &source_ns,
            &[],
            deadline,
        )
        .await?;
    }
    reconcile_one(&cluster, &log, &kind, name, &namespace, &extra, deadline).await
}

/// The source of a Kustomization, HelmRelease or HelmChart, as flux
/// `--with-source` reconciles it.
fn source_of(kind: &FluxKind, obj: &Value) -> anyhow::Result<(FluxKind, String, String)> {
    let own_ns = kinds::str_at(&obj["metadata"]["namespace"]).to_string();
    let spec = &obj["spec"];
    let (r, name_override) = match kind.shape {
        Shape::HelmRelease if spec["chartRef"].is_object() => (&spec["chartRef"], None),
        // helm-controller makes a HelmChart named <namespace>-<name> in
        // the namespace of the chart's source.
        Shape::HelmRelease => (
            &spec["chart"]["spec"]["sourceRef"],
            Some(format!(
                "{own_ns}-{}",
                kinds::str_at(&obj["metadata"]["name"])
            )),
        ),
        _ => (&spec["sourceRef"], None),
    };
    let ref_kind = kinds::str_at(&r["kind"]);
    let ns = match kinds::str_at(&r["namespace"]) {
        "" => own_ns,
        ns => ns.to_string(),
    };
    if let Some(name) = name_override {
        return Ok((kinds::HELM_CHART, name, ns));
    }
    let source = kinds::by_kind(ref_kind)
        .filter(|k| k.shape == Shape::Source)
        .ok_or_else(|| anyhow::anyhow!("cannot reconcile source of kind {ref_kind}"))?;
    Ok((source, kinds::str_at(&r["name"]).to_string(), ns))
}

/// Annotates one object and waits until its controller handled the request.
async fn reconcile_one(
    cluster: &Cluster,
    log: &Log,
    kind: &FluxKind,
    name: &str,
    namespace: &str,
    extra_annotations: &[&str],
    deadline: Instant,
) -> anyhow::Result<()> {
    let obj = cluster.get_object_in(kind, name, namespace).await?;
    if obj["spec"]["suspend"] == true {
        anyhow::bail!("resource is suspended");
    }
    log.action(&format!(
        "annotating {} {name} in {namespace} namespace",
        kind.kind
    ));
    let token = request(cluster, kind, name, namespace, extra_annotations, json!({})).await?;
    log.success(&format!("{} annotated", kind.kind));
    log.waiting(&format!("waiting for {} reconciliation", kind.kind));
    let obj = wait_handled(cluster, kind, name, namespace, &token, deadline).await?;
    outcome(kind, &obj)?;
    log.success(&kind.success_message(&obj));
    Ok(())
}

/// Sets `requestedAt` (and `extra_annotations`) to now, merged with
/// `spec_patch`, in one patch; returns the token written.
pub async fn request(
    cluster: &Cluster,
    kind: &FluxKind,
    name: &str,
    namespace: &str,
    extra_annotations: &[&str],
    spec_patch: Value,
) -> anyhow::Result<String> {
    let token = now_rfc3339();
    let mut annotations = serde_json::Map::new();
    for a in std::iter::once(&REQUESTED_AT).chain(extra_annotations) {
        annotations.insert(a.to_string(), Value::String(token.clone()));
    }
    let mut patch = json!({"metadata": {"annotations": annotations}});
    if !spec_patch.as_object().is_none_or(|m| m.is_empty()) {
        patch["spec"] = spec_patch;
    }
    let api = kind.api(&cluster.client, Some(namespace));
    match api
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(token),
        Err(kube::Error::Api(e)) if e.code == 404 => {
            Err(kind.not_found(name, Some(namespace)).into())
        }
        Err(e) => Err(cluster.explain(e)),
    }
}

/// RFC 3339 with nanoseconds, as flux writes the annotation.
fn now_rfc3339() -> String {
    k8s_openapi::jiff::Timestamp::now().to_string()
}

/// Whether the controller finished handling request `token`: it recorded
/// the token, and its conditions describe the current generation and are
/// no longer in progress.
pub fn handled(obj: &Value, token: &str) -> bool {
    if obj["status"]["lastHandledReconcileAt"] != token {
        return false;
    }
    settled(obj)
}

/// The conditions describe the current generation and are not in progress.
pub fn settled(obj: &Value) -> bool {
    let Some(ready) = kinds::condition(obj, "Ready") else {
        return false;
    };
    let generation = &obj["metadata"]["generation"];
    let current = |c: &Value| {
        c["observedGeneration"].is_null()
            || generation.is_null()
            || &c["observedGeneration"] == generation
    };
    if !current(ready) {
        return false;
    }
    if kinds::condition(obj, "Stalled").is_some_and(|c| c["status"] == "True") {
        return true;
    }
    !kinds::condition(obj, "Reconciling").is_some_and(|c| c["status"] == "True")
        && ready["status"] != "Unknown"
}

/// Success, or the failure message flux gives.
pub fn outcome(kind: &FluxKind, obj: &Value) -> anyhow::Result<()> {
    let Some(ready) = kinds::condition(obj, "Ready") else {
        anyhow::bail!("status can't be determined");
    };
    if ready["status"] != "True" {
        anyhow::bail!(
            "{} reconciliation failed: '{}'",
            kind.kind,
            kinds::str_at(&ready["message"])
        );
    }
    Ok(())
}

/// Watches the object until `done` holds or `deadline` passes. On a
/// terminal, a status line shows the time waited and the controller's
/// latest message; in a pipe nothing is printed while waiting.
pub async fn wait_for(
    cluster: &Cluster,
    kind: &FluxKind,
    name: &str,
    namespace: &str,
    deadline: Instant,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    let api = kind.api(&cluster.client, Some(namespace));
    let mut stream = watch_object(api, name).boxed();
    let started = Instant::now();
    let terminal = crate::term::progress_on_stderr();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let mut last: Option<Value> = None;
    let sleep = tokio::time::sleep_until(deadline.into());
    tokio::pin!(sleep);
    let result = loop {
        tokio::select! {
            event = stream.next() => match event {
                None => break Err(anyhow::anyhow!("the watch of {} {namespace}/{name} ended", kind.kind)),
                Some(Ok(Some(obj))) => {
                    let obj = kinds::to_json(kind, &obj);
                    if done(&obj) {
                        break Ok(obj);
                    }
                    last = Some(obj);
                }
                Some(Ok(None)) => break Err(kind.not_found(name, Some(namespace)).into()),
                Some(Err(kube::runtime::watcher::Error::InitialListFailed(e)
                    | kube::runtime::watcher::Error::WatchStartFailed(e))) => break Err(cluster.explain(e)),
                // A broken watch is resumed by the watcher itself.
                Some(Err(_)) => {}
            },
            _ = tick.tick(), if terminal => {
                let message = last
                    .as_ref()
                    .and_then(|o| kinds::condition(o, "Ready"))
                    .map(|c| kinds::str_at(&c["message"]).to_string())
                    .unwrap_or_default();
                let line: String = format!("◎ {what} ({}s) {message}", started.elapsed().as_secs())
                    .chars()
                    .take(120)
                    .collect();
                eprint!("\r\x1b[2K{line}");
            }
            _ = &mut sleep => {
                let message = last
                    .as_ref()
                    .and_then(|o| kinds::condition(o, "Ready"))
                    .map(|c| format!(" (last status: {})", kinds::str_at(&c["message"])))
                    .unwrap_or_default();
                break Err(anyhow::anyhow!(
                    "timed out after {:?} {what} of {} {namespace}/{name}{message}",
                    cluster.timeout,
                    kind.kind
                ));
            }
        }
    };
    if terminal {
        eprint!("\r\x1b[2K");
    }
    result
}

async fn wait_handled(
    cluster: &Cluster,
    kind: &FluxKind,
    name: &str,
    namespace: &str,
    token: &str,
    deadline: Instant,
) -> anyhow::Result<Value> {
    wait_for(
        cluster,
        kind,
        name,
        namespace,
        deadline,
        "waiting for the reconciliation",
        |o| handled(o, token),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_handled_once_recorded_and_settled() {
        let mut obj = json!({
            "metadata": {"generation": 2},
            "status": {
                "lastHandledReconcileAt": "t1",
                "conditions": [
                    {"type": "Ready", "status": "Unknown", "observedGeneration": 2},
                    {"type": "Reconciling", "status": "True", "observedGeneration": 2}
                ]
            }
        });
        assert!(!handled(&obj, "t2"), "another request's token");
        assert!(!handled(&obj, "t1"), "still reconciling");
        obj["status"]["conditions"] =
            json!([{"type": "Ready", "status": "True", "observedGeneration": 1}]);
        assert!(!handled(&obj, "t1"), "Ready of an older generation");
        obj["status"]["conditions"] = json!([{"type": "Ready", "status": "False", "observedGeneration": 2, "message": "boom"}]);
        assert!(handled(&obj, "t1"));
        let e = outcome(&kinds::KUSTOMIZATION, &obj)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "Kustomization reconciliation failed: 'boom'");
    }

    #[test]
    fn a_helm_release_source_is_its_helm_chart() {
        let hr = json!({
            "metadata": {"name": "podinfo", "namespace": "apps"},
            "spec": {"chart": {"spec": {"sourceRef": {"kind": "HelmRepository", "name": "repo", "namespace": "flux-system"}}}}
        });
        let (k, n, ns) = source_of(&kinds::HELM_RELEASE, &hr).unwrap();
        assert_eq!(
            (k.kind, n.as_str(), ns.as_str()),
            ("HelmChart", "apps-podinfo", "flux-system")
        );
        let ks = json!({"metadata": {"name": "a", "namespace": "x"}, "spec": {"sourceRef": {"kind": "Deployment", "name": "d"}}});
        assert!(source_of(&kinds::KUSTOMIZATION, &ks).is_err());
    }
}
