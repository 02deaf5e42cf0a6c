//! `ferroflux suspend` and `ferroflux resume`: set `spec.suspend`, one
//! object, several, or `--all` in the namespace. Resume also requests a
//! reconcile and (by default for one object) waits until it is handled.

use std::time::Instant;

use kube::api::{ListParams, Patch, PatchParams};
use serde_json::json;

use crate::connect::{Cluster, ConnectArgs};
use crate::kinds::{self, FluxKind};
use crate::reconcile;
use crate::table::Log;

/// `ferroflux suspend ...`.
#[derive(clap::Args, Debug)]
pub struct SuspendArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Suspend every object of the kind in the namespace.
    #[arg(long, global = true)]
    all: bool,
    #[command(subcommand)]
    what: Target,
}

/// `ferroflux resume ...`.
#[derive(clap::Args, Debug)]
pub struct ResumeArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Resume every object of the kind in the namespace.
    #[arg(long, global = true)]
    all: bool,
    /// Wait for each object's reconcile (the default for exactly one name).
    #[arg(long, global = true, num_args = 0..=1, default_missing_value = "true")]
    wait: Option<bool>,
    #[command(subcommand)]
    what: Target,
}

#[derive(clap::Args, Debug)]
struct Names {
    /// The objects' names.
    #[arg(value_parser = crate::kinds::parse_name)]
    names: Vec<String>,
}

#[derive(clap::Subcommand, Debug)]
enum Target {
    /// Sources.
    #[command(alias = "sources")]
    Source {
        #[command(subcommand)]
        what: SourceTarget,
    },
    /// Kustomizations.
    #[command(aliases = ["ks", "kustomizations"])]
    Kustomization(Names),
    /// HelmReleases.
    #[command(aliases = ["hr", "helmreleases"])]
    Helmrelease(Names),
    /// Alerts.
    #[command(alias = "alerts")]
    Alert(Names),
    /// Alert providers.
    #[command(name = "alert-provider", alias = "alert-providers")]
    AlertProvider(Names),
    /// Receivers.
    #[command(alias = "receivers")]
    Receiver(Names),
}

#[derive(clap::Subcommand, Debug)]
enum SourceTarget {
    /// GitRepositories.
    Git(Names),
    /// OCIRepositories.
    Oci(Names),
    /// HelmRepositories.
    Helm(Names),
    /// HelmCharts.
    Chart(Names),
    /// Buckets.
    Bucket(Names),
}

impl Target {
    fn resolve(&self) -> (FluxKind, &[String]) {
        match self {
            Target::Source { what } => match what {
                SourceTarget::Git(n) => (kinds::GIT_REPOSITORY, &n.names),
                SourceTarget::Oci(n) => (kinds::OCI_REPOSITORY, &n.names),
                SourceTarget::Helm(n) => (kinds::HELM_REPOSITORY, &n.names),
                SourceTarget::Chart(n) => (kinds::HELM_CHART, &n.names),
                SourceTarget::Bucket(n) => (kinds::BUCKET, &n.names),
            },
            Target::Kustomization(n) => (kinds::KUSTOMIZATION, &n.names),
            Target::Helmrelease(n) => (kinds::HELM_RELEASE, &n.names),
            Target::Alert(n) => (kinds::ALERT, &n.names),
            Target::AlertProvider(n) => (kinds::PROVIDER, &n.names),
            Target::Receiver(n) => (kinds::RECEIVER, &n.names),
        }
    }
}

/// The names the command acts on: those given, or with `--all` every
/// object of the kind in the namespace.
async fn names(
    cluster: &Cluster,
    kind: &FluxKind,
    given: &[String],
    all: bool,
) -> anyhow::Result<Vec<String>> {
    match (given.is_empty(), all) {
        (true, false) => anyhow::bail!("{} name is required", kind.human()),
        (false, true) => anyhow::bail!("specify either names or --all, not both"),
        (false, false) => {
            let mut seen = Vec::new();
            for n in given {
                if !seen.contains(n) {
                    seen.push(n.clone());
                }
            }
            Ok(seen)
        }
        (true, true) => {
            let api = kind.api(&cluster.client, Some(&cluster.namespace));
            let list = api
                .list(&ListParams::default())
                .await
                .map_err(|e| cluster.explain(e))?;
            Ok(list
                .items
                .into_iter()
                .filter_map(|o| o.metadata.name)
                .collect())
        }
    }
}

async fn set_suspend(
    cluster: &Cluster,
    kind: &FluxKind,
    name: &str,
    value: bool,
) -> anyhow::Result<()> {
    let api = kind.api(&cluster.client, Some(&cluster.namespace));
    let patch = json!({"spec": {"suspend": value}});
    match api
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => {
            Err(kind.not_found(name, Some(&cluster.namespace)).into())
        }
        Err(e) => Err(cluster.explain(e)),
    }
}

/// Runs `suspend`.
pub async fn suspend(args: &SuspendArgs) -> anyhow::Result<()> {
    let cluster = args.connect.connect().await?;
    let log = Log::default();
    let (kind, given) = args.what.resolve();
    let names = names(&cluster, &kind, given, args.all).await?;
    if names.is_empty() {
        log.failure(&format!(
            "no {} objects found in {} namespace",
            kind.kind, cluster.namespace
        ));
        return Ok(());
    }
    let mut failed = 0;
    for name in &names {
        log.action(&format!(
            "suspending {} {name} in {} namespace",
            kind.human(),
            cluster.namespace
        ));
        match set_suspend(&cluster, &kind, name, true).await {
            Ok(()) => log.success(&format!("{} suspended", kind.human())),
            Err(e) => {
                failed += 1;
                log.failure(&format!("{e:#}"));
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("failed suspending {failed} {}(s)", kind.kind);
    }
    Ok(())
}

/// Runs `resume`.
pub async fn resume(args: &ResumeArgs) -> anyhow::Result<()> {
    let cluster = args.connect.connect().await?;
    let log = Log::default();
    let deadline = Instant::now() + cluster.timeout;
    let (kind, given) = args.what.resolve();
    let names = names(&cluster, &kind, given, args.all).await?;
    if names.is_empty() {
        log.failure(&format!(
            "no {} objects found in {} namespace",
            kind.kind, cluster.namespace
        ));
        return Ok(());
    }
    let wait = args.wait.unwrap_or(given.len() == 1) && kind.reconcilable;
    let mut failed = 0;
    let mut resumed = Vec::new();
    for name in &names {
        log.action(&format!(
            "resuming {} {name} in {} namespace",
            kind.human(),
            cluster.namespace
        ));
        // One patch: unsuspended and asked to reconcile, so the wait below
        // ends on the reconcile that follows this resume and no other.
        match reconcile::request(
            &cluster,
            &kind,
            name,
            &cluster.namespace,
            &[],
            json!({"suspend": false}),
        )
        .await
        {
            Ok(token) => {
                log.success(&format!("{} resumed", kind.human()));
                resumed.push((name, token));
            }
            Err(e) => {
                failed += 1;
                log.failure(&format!("{e:#}"));
            }
        }
    }
    if wait {
        for (name, token) in &resumed {
            log.waiting(&format!("waiting for {} reconciliation", kind.kind));
            let result = reconcile::wait_for(
                &cluster,
                &kind,
                name,
                &cluster.namespace,
                deadline,
                "waiting for the reconciliation",
                |o| reconcile::handled(o, token),
            )
            .await
            .and_then(|obj| reconcile::outcome(&kind, &obj).map(|()| obj));
            match result {
                Ok(obj) => {
                    log.success(&format!("{} {name} reconciliation completed", kind.kind));
                    log.success(&kind.success_message(&obj));
                }
                Err(e) => {
                    failed += 1;
                    log.failure(&format!(
                        "{} {name} reconciliation failed: {e:#}",
                        kind.kind
                    ));
                }
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("reconciliation failed for {failed} {}(s)", kind.kind);
    }
    Ok(())
}
