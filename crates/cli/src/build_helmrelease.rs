//! `ferroflux build helmrelease NAME`: the objects helm-controller would
//! apply for a HelmRelease, rendered through helm-controller's own code
//! path so the two cannot drift: the chart from the source artifact the
//! HelmRelease points at ([`helm_controller::chart`], downloaded and digest
//! checked like the controller) or a local `--chart`, the values composed
//! from the cluster ([`helm_controller::values::compose`]), Helm's render
//! with the cluster's `.Capabilities` and live `lookup`, then the
//! post-renderers, `commonMetadata`, Flux's labels
//! ([`helm_controller::render::render`]), namespaces defaulted and Helm's
//! ownership metadata ([`helm_controller::objects`]). CRDs from the chart's
//! `crds/` come first when the HelmRelease's CRD policy would apply them;
//! hooks are not part of the release's objects and are left out.
//!
//! `lookup` runs with the user's credentials (the controller uses the
//! HelmRelease's service account), so a chart that looks up what only one
//! of the two may read can render differently.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use ferroflux_api::helm::v2::{CrdsPolicy, HelmRelease};
use ferroflux_helm::chart::{LoadLimits, load_archive, load_dir};
use ferroflux_helm::release::{History, Status};
use ferroflux_runtime::artifact::{ArtifactClient, FetchOptions};
use ferroflux_ssa::{ObjMeta, Resolver};
use helm_controller::chart::{self, LoadedChart};
use helm_controller::render::{self, RenderOptions};
use helm_controller::{objects, reconciler, values};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use serde_json::{Map, Value};

use crate::connect::{Cluster, ConnectArgs};

/// Flags of `ferroflux build helmrelease`.
#[derive(clap::Args, Debug, Clone)]
pub struct BuildHelmReleaseArgs {
    /// The HelmRelease's name.
    pub name: String,
    /// A local chart (a directory or a packaged `.tgz`) instead of the
    /// HelmRelease's source artifact.
    #[arg(long)]
    pub chart: Option<PathBuf>,
    /// How to reach the cluster.
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// A HelmRelease rendered as helm-controller would release it now.
#[derive(Debug)]
pub struct Rendered {
    /// The HelmRelease.
    pub hr: HelmRelease,
    /// The Helm release name.
    pub release_name: String,
    /// The release namespace.
    pub release_namespace: String,
    /// What would be applied, in helm-controller's apply order (CRDs first).
    pub objects: Vec<Value>,
    /// The objects of the revision an upgrade would start from (namespaces
    /// defaulted); `None` when the next action is an install.
    pub previous: Option<Vec<Value>>,
}

/// Renders the HelmRelease `args.name` and writes its objects as
/// multi-document YAML to `out`.
pub async fn run(args: &BuildHelmReleaseArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let cluster = args.connect.connect().await?;
    let rendered = with_deadline(&cluster, render_release(&cluster, args)).await?;
    write_yaml(out, &rendered.objects)
}

/// Runs `f` within the cluster's `--timeout`, saying what timed out.
pub async fn with_deadline<T>(
    cluster: &Cluster,
    f: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    let deadline = cluster.timeout;
    tokio::time::timeout(deadline, f).await.map_err(|_| {
        anyhow!("timed out after {deadline:?} rendering the HelmRelease with the cluster")
    })?
}

/// The objects as `---`-separated YAML documents.
pub fn write_yaml(out: &mut dyn Write, objects: &[Value]) -> anyhow::Result<()> {
    for o in objects {
        out.write_all(b"---\n")?;
        out.write_all(serde_yaml::to_string(o)?.as_bytes())?;
    }
    Ok(())
}

/// Renders the HelmRelease `args.name` in the cluster's namespace.
pub async fn render_release(
    cluster: &Cluster,
    args: &BuildHelmReleaseArgs,
) -> anyhow::Result<Rendered> {
    let client = &cluster.client;
    let ns = &cluster.namespace;
    let api: Api<HelmRelease> = Api::namespaced(client.clone(), ns);
    let hr = api
        .get_opt(&args.name)
        .await
        .map_err(|e| cluster.explain(e))?
        .ok_or_else(|| anyhow!("HelmRelease '{}' not found in {ns} namespace", args.name))?;
    hr.spec
        .validate()
        .map_err(|e| anyhow!("HelmRelease {ns}/{}: {e}", args.name))?;
    if hr.spec.kube_config.is_some() {
        bail!(
            "HelmRelease {ns}/{} targets a remote cluster (spec.kubeConfig): not supported by build",
            args.name
        );
    }
    let limits = LoadLimits::default();
    let loaded = match &args.chart {
        Some(path) => local_chart(path, &limits)?,
        None => {
            let source = chart::source_ref(&hr)?;
            let artifact = chart::artifact(client, &source).await?;
            let fetcher = ArtifactClient::new(FetchOptions::default())
                .context("building the artifact client")?;
            chart::load(&fetcher, &source, &artifact, &limits).await?
        }
    };
    let composed = values::compose(client, &hr)
        .await
        .map_err(|e| anyhow!("values of HelmRelease {ns}/{}: {e}", args.name))?;

    let release_name = reconciler::shorten_release_name(&hr.release_name());
    let release_namespace = hr.release_namespace().to_string();
    let storage_namespace = hr
        .status
        .as_ref()
        .and_then(|s| s.storage_namespace.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| hr.storage_namespace().to_string());
    let history = helm_controller::storage::Storage::new(client.clone(), &storage_namespace)
        .history(&release_name)
        .await
        .map_err(|e| anyhow!("reading the release history of {release_name}: {e}"))?;
    let installed = installed(&history);

    // What the next action renders with: an upgrade of what is installed,
    // else an install (as helm-controller decides from storage).
    let (values, is_upgrade, skip_schema, crds_policy) = match installed {
        Some(current) => {
            let spec = hr.upgrade();
            let mut values = composed;
            if spec.preserve_values {
                let mut base: Map<String, Value> = current.release.config.clone();
                ferroflux_helm::strvals::merge_maps(&mut base, values);
                values = base;
            }
            (
                values,
                true,
                spec.disable_schema_validation,
                spec.crds_policy(),
            )
        }
        None => {
            let spec = hr.install();
            let policy = if spec.skip_crds {
                CrdsPolicy::Skip
            } else {
                spec.crds_policy()
            };
            (composed, false, spec.disable_schema_validation, policy)
        }
    };

    let resolver = Arc::new(Resolver::new(client.clone()));
    let options = RenderOptions {
        caps: reconciler::discover(client).await,
        skip_schema_validation: skip_schema,
        lookup: Some(helm_controller::lookup::live(
            client.clone(),
            resolver.clone(),
        )),
    };
    let manifest = {
        let (hr, name, namespace) = (hr.clone(), release_name.clone(), release_namespace.clone());
        tokio::task::spawn_blocking(move || {
            render::render(
                &hr, &loaded, &values, &name, &namespace, is_upgrade, &options,
            )
        })
        .await
        .context("rendering")?
        .map_err(|e| anyhow!("rendering the chart: {e}"))?
    };

    let mut objects = manifest.objects.clone();
    objects::default_namespaces(&mut objects, &resolver, &release_namespace)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    objects::set_ownership(&mut objects, &release_name, &release_namespace);
    let mut all = crds(client, &manifest.crds, crds_policy).await?;
    all.extend(objects);
    order(&mut all);

    let previous = match installed {
        Some(rec) => {
            let mut objs =
                objects::parse_manifest(&rec.release.manifest).map_err(|e| anyhow!("{e}"))?;
            objects::default_namespaces(&mut objs, &resolver, &release_namespace)
                .await
                .map_err(|e| anyhow!("{e}"))?;
            Some(objs)
        }
        None => None,
    };
    Ok(Rendered {
        hr,
        release_name,
        release_namespace,
        objects: all,
        previous,
    })
}

/// The record an upgrade would start from: the deployed revision, else the
/// latest (as helm-controller's upgrade); `None` when the next action is an
/// install (no release, or an uninstalled one).
fn installed(history: &History) -> Option<&ferroflux_helm::release::Record> {
    let latest = history.latest()?;
    if latest.release.status() == Some(&Status::Uninstalled) {
        return None;
    }
    Some(history.deployed().unwrap_or(latest))
}

/// The chart CRDs `policy` would apply: none (`Skip`), the missing ones
/// (`Create`), or all (`CreateReplace`).
async fn crds(
    client: &kube::Client,
    crds: &[Value],
    policy: CrdsPolicy,
) -> anyhow::Result<Vec<Value>> {
    match policy {
        CrdsPolicy::Skip => Ok(Vec::new()),
        CrdsPolicy::CreateReplace => Ok(crds.to_vec()),
        CrdsPolicy::Create => {
            let api: Api<CustomResourceDefinition> = Api::all(client.clone());
            let mut missing = Vec::new();
            for c in crds {
                let name = c
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if api
                    .get_opt(name)
                    .await
                    .with_context(|| format!("reading CRD {name}"))?
                    .is_none()
                {
                    missing.push(c.clone());
                }
            }
            Ok(missing)
        }
    }
}

/// helm-controller's apply order (ssa's staged order); objects without an
/// identity keep their place at the end.
fn order(objects: &mut [Value]) {
    objects.sort_by(|a, b| match (ObjMeta::of(a), ObjMeta::of(b)) {
        (Ok(a), Ok(b)) => ferroflux_ssa::stage_of(&a)
            .cmp(&ferroflux_ssa::stage_of(&b))
            .then_with(|| ferroflux_ssa::apply_order(&a, &b)),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(_), Err(_)) => std::cmp::Ordering::Equal,
    });
}

/// A chart from a local directory or packaged archive, bounded like the
/// controller's.
fn local_chart(path: &Path, limits: &LoadLimits) -> anyhow::Result<LoadedChart> {
    let meta = std::fs::metadata(path).with_context(|| format!("--chart {}", path.display()))?;
    let chart = if meta.is_dir() {
        load_dir(path, limits).with_context(|| format!("loading chart {}", path.display()))?
    } else {
        if meta.len() > limits.max_archive_bytes {
            bail!(
                "--chart {}: {} bytes is over the {}-byte limit for chart archives",
                path.display(),
                meta.len(),
                limits.max_archive_bytes
            );
        }
        let bytes = std::fs::read(path).with_context(|| format!("--chart {}", path.display()))?;
        load_archive(&bytes, limits).with_context(|| format!("loading chart {}", path.display()))?
    };
    Ok(LoadedChart {
        chart,
        source: format!("local chart {}", path.display()),
        revision: String::new(),
        digest: String::new(),
        oci_digest: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_are_ordered_as_the_staged_apply_orders_them() {
        let mut objs = vec![
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a", "namespace": "x"}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": "x"}}),
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass", "metadata": {"name": "c"}}),
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "d"}}),
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "e", "namespace": "x"}}),
        ];
        order(&mut objs);
        let kinds: Vec<&str> = objs.iter().map(|o| o["kind"].as_str().unwrap()).collect();
        assert_eq!(
            kinds,
            [
                "CustomResourceDefinition",
                "IngressClass",
                "ServiceAccount",
                "ConfigMap",
                "Deployment"
            ]
        );
    }

    #[test]
    fn an_oversized_or_hostile_local_chart_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let bomb = dir.path().join("bomb.tgz");
        std::fs::write(&bomb, vec![0u8; 2048]).unwrap();
        let limits = LoadLimits {
            max_archive_bytes: 1024,
            ..LoadLimits::default()
        };
        let e = local_chart(&bomb, &limits).unwrap_err().to_string();
        assert!(e.contains("bomb.tgz") && e.contains("limit"), "{e}");
        let e = local_chart(&bomb, &LoadLimits::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("loading chart") && e.contains("bomb.tgz"), "{e}");
        let e = local_chart(&dir.path().join("missing"), &limits)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--chart") && e.contains("missing"), "{e}");
    }
}
