//! `ferroflux check`: is the installation healthy, as `flux check` asks:
//! the API server answers, each controller's Deployment has rolled out,
//! and every CRD is installed serving the versions Ferroflux serves.

use std::collections::BTreeSet;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams};

use crate::connect::{Cluster, ConnectArgs};
use crate::table::Log;

/// Flags of `ferroflux check`.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Only check the prerequisites (the API server answers).
    #[arg(long)]
    pre: bool,
    /// The controllers whose Deployments must be ready.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "source-controller,kustomize-controller,helm-controller,notification-controller"
    )]
    components: Vec<String>,
}

/// Runs the checks; an error when any failed.
pub async fn run(args: &CheckArgs) -> anyhow::Result<()> {
    let cluster = args.connect.connect().await?;
    let log = Log::default();
    log.action("checking prerequisites");
    let version = tokio::time::timeout(cluster.timeout, cluster.client.apiserver_version())
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "timed out after {:?} waiting for the API server at {}",
                cluster.timeout,
                cluster.server
            )
        })?
        .map_err(|e| cluster.explain(e))?;
    log.success(&format!("Kubernetes {}", version.git_version));
    if args.pre {
        log.success("prerequisites checks passed");
        return Ok(());
    }
    let mut failed = 0;
    log.action("checking controllers");
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    for name in &args.components {
        match deployments
            .get_opt(name)
            .await
            .map_err(|e| cluster.explain(e))?
        {
            None => {
                failed += 1;
                log.failure(&format!(
                    "{name}: deployment not found in {} namespace",
                    cluster.namespace
                ));
            }
            Some(d) => match rollout(&d) {
                Ok(()) => {
                    log.success(&format!("{name}: deployment ready"));
                    for image in images(&d) {
                        log.action(&image);
                    }
                }
                Err(why) => {
                    failed += 1;
                    log.failure(&format!("{name}: deployment not ready: {why}"));
                }
            },
        }
    }
    log.action("checking crds");
    failed += check_crds(&cluster, &log).await?;
    if failed > 0 {
        anyhow::bail!("check failed");
    }
    log.success("all checks passed");
    Ok(())
}

/// Whether a Deployment has rolled out its current generation, or why not.
pub(crate) fn rollout(d: &Deployment) -> Result<(), String> {
    let want = d.spec.replicas.unwrap_or(1);
    let Some(status) = &d.status else {
        return Err("no status yet".into());
    };
    let generation = d.metadata.generation.unwrap_or(0);
    if status.observed_generation.unwrap_or(0) < generation {
        return Err("the current generation is not observed yet".into());
    }
    let updated = status.updated_replicas.unwrap_or(0);
    let available = status.available_replicas.unwrap_or(0);
    if updated < want || available < want {
        return Err(format!(
            "{available}/{want} replicas available, {updated} updated"
        ));
    }
    Ok(())
}

fn images(d: &Deployment) -> Vec<String> {
    d.spec
        .template
        .spec
        .as_ref()
        .map(|p| {
            p.containers
                .iter()
                .filter_map(|c| c.image.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Each of Ferroflux's CRDs installed, serving every version it should.
async fn check_crds(cluster: &Cluster, log: &Log) -> anyhow::Result<usize> {
    let api: Api<CustomResourceDefinition> = Api::all(cluster.client.clone());
    let installed = api
        .list(&ListParams::default())
        .await
        .map_err(|e| cluster.explain(e))?;
    let expected = ferroflux_api::crds::all().map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut failed = 0;
    for want in &expected {
        let name = want.metadata.name.clone().unwrap_or_default();
        let storage = want
            .spec
            .versions
            .iter()
            .find(|v| v.storage)
            .map(|v| v.name.clone())
            .unwrap_or_default();
        let Some(have) = installed
            .items
            .iter()
            .find(|c| c.metadata.name.as_deref() == Some(name.as_str()))
        else {
            failed += 1;
            log.failure(&format!("{name}: not installed"));
            continue;
        };
        let served: BTreeSet<&str> = have
            .spec
            .versions
            .iter()
            .filter(|v| v.served)
            .map(|v| v.name.as_str())
            .collect();
        let missing: Vec<&str> = want
            .spec
            .versions
            .iter()
            .filter(|v| v.served && !served.contains(v.name.as_str()))
            .map(|v| v.name.as_str())
            .collect();
        if missing.is_empty() {
            log.success(&format!("{name}/{storage}"));
        } else {
            failed += 1;
            log.failure(&format!(
                "{name}: does not serve {} (an older install? apply the CRDs again)",
                missing.join(", ")
            ));
        }
    }
    Ok(failed)
}
