//! `ferroflux uninstall`: removes what `install` put in the cluster, in
//! Flux's order: the controllers and their RBAC, then the finalizers of
//! every Flux object (no controller is left to remove them), then the CRDs
//! (which deletes the objects), then the namespace.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::json;

use crate::connect::{Cluster, ConnectArgs};
use crate::install_manifests::{self as manifests, PART_OF, PART_OF_LABEL, RenderOptions};
use crate::table::Log;

/// Flags of `ferroflux uninstall`, as `flux uninstall`'s.
#[derive(clap::Args, Debug)]
pub struct UninstallArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Keep the namespace.
    #[arg(long)]
    keep_namespace: bool,
    /// Only print what would be deleted (server-side dry-run).
    #[arg(long)]
    dry_run: bool,
    /// Do not ask for confirmation.
    #[arg(short = 's', long)]
    silent: bool,
}

/// The kinds of the controllers' objects, namespaced first, in Flux's order.
const COMPONENT_KINDS: &[(&str, &str, &str, bool)] = &[
    ("apps", "v1", "Deployment", true),
    ("", "v1", "Service", true),
    ("networking.k8s.io", "v1", "NetworkPolicy", true),
    ("", "v1", "ServiceAccount", true),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding", true),
    ("rbac.authorization.k8s.io", "v1", "Role", true),
    ("", "v1", "Secret", true),
    ("rbac.authorization.k8s.io", "v1", "ClusterRole", false),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        false,
    ),
];

fn resource(group: &str, version: &str, kind: &str) -> ApiResource {
    let gvk = kube::core::GroupVersionKind::gvk(group, version, kind);
    ApiResource::from_gvk(&gvk)
}

/// Runs `uninstall`.
pub async fn run(args: &UninstallArgs) -> anyhow::Result<()> {
    let cluster = args.connect.connect().await?;
    if !args.dry_run && !args.silent {
        confirm()?;
    }
    let log = Log::default();
    let suffix = if args.dry_run { " (dry run)" } else { "" };
    let mut failed = 0usize;
    let ns = cluster.namespace.clone();
    log.action(&format!("deleting components in {ns} namespace"));
    failed += delete_components(&cluster, &log, args.dry_run, suffix).await?;
    log.action("deleting toolkit.fluxcd.io finalizers in all namespaces");
    let crds = flux_crds(&cluster).await?;
    failed += remove_finalizers(&cluster, &log, &crds, args.dry_run, suffix).await?;
    log.action("deleting toolkit.fluxcd.io custom resource definitions");
    let api: Api<CustomResourceDefinition> = Api::all(cluster.client.clone());
    let params = delete_params(args.dry_run);
    for crd in &crds {
        let name = crd.metadata.name.clone().unwrap_or_default();
        match api.delete(&name, &params).await {
            Ok(_) => log.success(&format!("CustomResourceDefinition/{name} deleted{suffix}")),
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => {
                failed += 1;
                log.failure(&format!(
                    "CustomResourceDefinition/{name} deletion failed: {}",
                    cluster.explain(e)
                ));
            }
        }
    }
    if !args.keep_namespace {
        let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(cluster.client.clone());
        match api.delete(&ns, &params).await {
            Ok(_) => log.success(&format!("Namespace/{ns} deleted{suffix}")),
            Err(kube::Error::Api(e)) if e.code == 404 => {}
            Err(e) => {
                failed += 1;
                log.failure(&format!(
                    "Namespace/{ns} deletion failed: {}",
                    cluster.explain(e)
                ));
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("uninstall failed: {failed} object(s) could not be deleted");
    }
    log.success("uninstall finished");
    Ok(())
}

/// Asks on the terminal; without one there is nobody to ask.
fn confirm() -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!(
            "uninstall deletes Ferroflux, its CRDs and every Flux object: pass --silent to confirm"
        );
    }
    eprint!(
        "? Are you sure you want to delete Ferroflux and its custom resource definitions [y/N] "
    );
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    if !matches!(line.trim(), "y" | "Y" | "yes") {
        anyhow::bail!("aborting");
    }
    Ok(())
}

fn delete_params(dry_run: bool) -> DeleteParams {
    DeleteParams {
        dry_run,
        ..DeleteParams::default()
    }
}

/// Deletes the controllers' objects: those labelled as part of the
/// installation, and those the default manifests name (an installation
/// applied from `config/` without `ferroflux install` carries no label).
async fn delete_components(
    cluster: &Cluster,
    log: &Log,
    dry_run: bool,
    suffix: &str,
) -> anyhow::Result<usize> {
    let ns = cluster.namespace.as_str();
    let rendered = manifests::render(&RenderOptions {
        namespace: ns.to_string(),
        ..RenderOptions::default()
    })?;
    let selector = format!("{PART_OF_LABEL}={PART_OF}");
    let params = delete_params(dry_run);
    let mut failed = 0;
    for (group, version, kind, namespaced) in COMPONENT_KINDS {
        let ar = resource(group, version, kind);
        let api: Api<DynamicObject> = if *namespaced {
            Api::namespaced_with(cluster.client.clone(), ns, &ar)
        } else {
            Api::all_with(cluster.client.clone(), &ar)
        };
        let mut names: BTreeSet<String> = rendered
            .iter()
            .filter(|d| d["kind"] == *kind)
            .filter_map(|d| d["metadata"]["name"].as_str().map(str::to_string))
            .collect();
        let labelled = match api.list(&ListParams::default().labels(&selector)).await {
            Ok(list) => list.items,
            Err(kube::Error::Api(e)) if e.code == 404 => continue,
            Err(e) => return Err(cluster.explain(e)),
        };
        names.extend(labelled.into_iter().filter_map(|o| o.metadata.name));
        for name in names {
            let id = if *namespaced {
                format!("{kind}/{ns}/{name}")
            } else {
                format!("{kind}/{name}")
            };
            match api.delete(&name, &params).await {
                Ok(_) => log.success(&format!("{id} deleted{suffix}")),
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => {
                    failed += 1;
                    log.failure(&format!("{id} deletion failed: {}", cluster.explain(e)));
                }
            }
        }
    }
    Ok(failed)
}

/// The CRDs of Flux's API groups (ours are the same groups).
async fn flux_crds(cluster: &Cluster) -> anyhow::Result<Vec<CustomResourceDefinition>> {
    let api: Api<CustomResourceDefinition> = Api::all(cluster.client.clone());
    let list = api
        .list(&ListParams::default())
        .await
        .map_err(|e| cluster.explain(e))?;
    Ok(list
        .items
        .into_iter()
        .filter(|c| c.spec.group.ends_with(".fluxcd.io"))
        .collect())
}

/// Clears the finalizers of every object of the CRDs, in all namespaces.
async fn remove_finalizers(
    cluster: &Cluster,
    log: &Log,
    crds: &[CustomResourceDefinition],
    dry_run: bool,
    suffix: &str,
) -> anyhow::Result<usize> {
    let mut failed = 0;
    let params = PatchParams {
        dry_run,
        ..PatchParams::default()
    };
    let patch = json!({"metadata": {"finalizers": null}});
    for crd in crds {
        let Some(version) = crd
            .spec
            .versions
            .iter()
            .find(|v| v.storage)
            .or_else(|| crd.spec.versions.iter().find(|v| v.served))
        else {
            continue;
        };
        let ar = ApiResource {
            group: crd.spec.group.clone(),
            version: version.name.clone(),
            api_version: format!("{}/{}", crd.spec.group, version.name),
            kind: crd.spec.names.kind.clone(),
            plural: crd.spec.names.plural.clone(),
        };
        let all: Api<DynamicObject> = Api::all_with(cluster.client.clone(), &ar);
        let list = match all.list(&ListParams::default()).await {
            Ok(list) => list.items,
            Err(kube::Error::Api(e)) if e.code == 404 => continue,
            Err(e) => return Err(cluster.explain(e)),
        };
        for obj in list {
            if obj.metadata.finalizers.as_ref().is_none_or(Vec::is_empty) {
                continue;
            }
            let name = obj.metadata.name.clone().unwrap_or_default();
            let ns = obj.metadata.namespace.clone().unwrap_or_default();
            let api: Api<DynamicObject> = if ns.is_empty() {
                Api::all_with(cluster.client.clone(), &ar)
            } else {
                Api::namespaced_with(cluster.client.clone(), &ns, &ar)
            };
            let id = format!("{}/{ns}/{name}", ar.kind);
            match api.patch(&name, &params, &Patch::Merge(&patch)).await {
                Ok(_) => log.success(&format!("{id} finalizers deleted{suffix}")),
                Err(kube::Error::Api(e)) if e.code == 404 => {}
                Err(e) => {
                    failed += 1;
                    log.failure(&format!(
                        "{id} removing finalizers failed: {}",
                        cluster.explain(e)
                    ));
                }
            }
        }
    }
    Ok(failed)
}
