//! `ferroflux install`: renders the install manifests with the choices
//! `flux install` offers, applies them server-side and waits until every
//! controller's Deployment has rolled out; `--export` prints them instead.

use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use clap::ArgAction;
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::runtime::watcher;
use serde_json::Value;

use crate::connect::{Cluster, ConnectArgs};
use crate::install_manifests::{self as manifests, RenderOptions};
use crate::table::Log;

/// The field manager of everything `install` and `create` write.
pub const FIELD_MANAGER: &str = "ferroflux";

/// Flags of `ferroflux install`, named as `flux install`'s.
#[derive(clap::Args, Debug)]
pub struct InstallArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Write the install manifests to stdout and exit.
    #[arg(long)]
    export: bool,
    /// Image tag of the controllers (default: the manifests' tag).
    #[arg(short = 'v', long)]
    version: Option<String>,
    /// The controllers to install.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "source-controller,kustomize-controller,helm-controller,notification-controller"
    )]
    components: Vec<String>,
    /// Flux's extra components (Ferroflux has none; any value is refused).
    #[arg(long, value_delimiter = ',')]
    components_extra: Vec<String>,
    /// Image repository of the controllers.
    #[arg(long, default_value = "ghcr.io/ferroflux")]
    registry: String,
    /// `user:password` of the registry; generates the `--image-pull-secret` Secret.
    #[arg(long)]
    registry_creds: Option<String>,
    /// A Secret the controllers pull their images with.
    #[arg(long)]
    image_pull_secret: Option<String>,
    /// Controllers watch every namespace; `=false`: only their own.
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    watch_all_namespaces: bool,
    /// The controllers' log level: debug, info or error.
    #[arg(long, default_value = "info")]
    log_level: String,
    /// Install the network policies that deny traffic from outside the namespace.
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    network_policy: bool,
    /// The cluster's DNS domain.
    #[arg(long, default_value = "cluster.local")]
    cluster_domain: String,
    /// Taint keys the controllers tolerate.
    #[arg(long, value_delimiter = ',')]
    toleration_keys: Vec<String>,
    /// Take over fields another field manager owns (server-side apply conflicts).
    #[arg(long)]
    force: bool,
    /// Flux's manifests directory (refused: the manifests are built into ferroflux).
    #[arg(long, hide = true)]
    manifests: Option<std::path::PathBuf>,
}

/// Runs `install`.
pub async fn run(args: &InstallArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    if args.manifests.is_some() {
        anyhow::bail!(
            "--manifests is not supported: the install manifests are built into ferroflux"
        );
    }
    let mut opts = RenderOptions {
        namespace: String::new(),
        components: args.components.clone(),
        components_extra: args.components_extra.clone(),
        registry: args.registry.clone(),
        version: args.version.clone(),
        network_policy: args.network_policy,
        watch_all_namespaces: args.watch_all_namespaces,
        log_level: args.log_level.clone(),
        cluster_domain: args.cluster_domain.clone(),
        toleration_keys: args.toleration_keys.clone(),
        image_pull_secret: args.image_pull_secret.clone(),
        registry_creds: args.registry_creds.clone(),
    };
    if args.export {
        opts.namespace = crate::create::offline_namespace(&args.connect);
        let docs = manifests::render(&opts)?;
        // A closed pipe (`| head`) is not an error worth reporting.
        let _ = out.write_all(manifests::to_yaml(&docs).as_bytes());
        return Ok(());
    }
    let cluster = args.connect.connect().await?;
    opts.namespace = cluster.namespace.clone();
    let deadline = Instant::now() + cluster.timeout;
    let log = Log::default();
    log.generate("generating manifests");
    let docs = manifests::render(&opts)?;
    log.success("manifests build completed");
    log.action(&format!(
        "installing components in {} namespace",
        cluster.namespace
    ));
    let mut applier = Applier::new(&cluster, args.force);
    for doc in &docs {
        let (id, action) = applier.apply(doc).await?;
        eprintln!("{id} {action}");
    }
    log.waiting("verifying installation");
    wait_rolled_out(&cluster, &opts.components, deadline).await?;
    for c in &opts.components {
        log.success(&format!("{c}: deployment ready"));
    }
    log.success("install finished");
    Ok(())
}

/// Server-side apply of arbitrary objects, kinds found by discovery.
pub struct Applier<'a> {
    cluster: &'a Cluster,
    force: bool,
    resources: HashMap<(String, String), (ApiResource, bool)>,
}

impl<'a> Applier<'a> {
    /// An applier writing as [`FIELD_MANAGER`]; `force` takes over conflicting fields.
    pub fn new(cluster: &'a Cluster, force: bool) -> Self {
        Self {
            cluster,
            force,
            resources: HashMap::new(),
        }
    }

    /// The API of `doc`'s kind in its namespace.
    pub async fn api_for(&mut self, doc: &Value) -> anyhow::Result<(Api<DynamicObject>, String)> {
        let api_version = doc["apiVersion"].as_str().unwrap_or("");
        let kind = doc["kind"].as_str().unwrap_or("");
        let key = (api_version.to_string(), kind.to_string());
        if !self.resources.contains_key(&key) {
            let (group, version) = match api_version.split_once('/') {
                Some((g, v)) => (g, v),
                None => ("", api_version),
            };
            let gvk = GroupVersionKind::gvk(group, version, kind);
            let (ar, caps) = kube::discovery::pinned_kind(&self.cluster.client, &gvk)
                .await
                .map_err(|e| match e {
                    kube::Error::Api(_) | kube::Error::Discovery(_) => {
                        anyhow::anyhow!("the server does not serve {api_version} {kind}")
                    }
                    other => self.cluster.explain(other),
                })?;
            let namespaced = caps.scope == kube::discovery::Scope::Namespaced;
            self.resources.insert(key.clone(), (ar, namespaced));
        }
        let (ar, namespaced) = &self.resources[&key];
        let name = doc["metadata"]["name"].as_str().unwrap_or("");
        let ns = doc["metadata"]["namespace"].as_str().unwrap_or("");
        Ok(if *namespaced {
            (
                Api::namespaced_with(self.cluster.client.clone(), ns, ar),
                format!("{kind}/{ns}/{name}"),
            )
        } else {
            (
                Api::all_with(self.cluster.client.clone(), ar),
                format!("{kind}/{name}"),
            )
        })
    }

    /// Applies one object; returns its `Kind/namespace/name` and what
    /// happened (`created`, `configured`, `unchanged`).
    pub async fn apply(&mut self, doc: &Value) -> anyhow::Result<(String, &'static str)> {
        let (api, id) = self.api_for(doc).await?;
        let name = doc["metadata"]["name"].as_str().unwrap_or("");
        let before = api
            .get_opt(name)
            .await
            .map_err(|e| self.cluster.explain(e))?
            .and_then(|o| o.metadata.resource_version);
        let mut params = PatchParams::apply(FIELD_MANAGER);
        params.force = self.force;
        let after = match api.patch(name, &params, &Patch::Apply(doc)).await {
            Ok(o) => o.metadata.resource_version,
            Err(kube::Error::Api(e)) if e.code == 409 => anyhow::bail!(
                "{id}: {} (pass --force to take these fields over)",
                e.message
            ),
            Err(kube::Error::Api(e)) => anyhow::bail!("{id}: {}", e.message),
            Err(e) => return Err(self.cluster.explain(e)),
        };
        let action = match before {
            None => "created",
            Some(rv) if Some(&rv) != after.as_ref() => "configured",
            Some(_) => "unchanged",
        };
        Ok((id, action))
    }
}

/// Waits on a watch until the Deployment of each of `components` has rolled
/// out; on a terminal a status line names those still rolling out.
async fn wait_rolled_out(
    cluster: &Cluster,
    components: &[String],
    deadline: Instant,
) -> anyhow::Result<()> {
    let api: Api<Deployment> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let mut stream = watcher(api, watcher::Config::default()).boxed();
    let mut seen: BTreeMap<String, Result<(), String>> = components
        .iter()
        .map(|c| (c.clone(), Err("deployment not found".to_string())))
        .collect();
    let pending = |seen: &BTreeMap<String, Result<(), String>>| -> Vec<String> {
        seen.iter()
            .filter_map(|(n, r)| r.as_ref().err().map(|why| format!("{n}: {why}")))
            .collect()
    };
    let terminal = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    let sleep = tokio::time::sleep_until(deadline.into());
    tokio::pin!(sleep);
    let mut listed = false;
    let result = loop {
        if listed && pending(&seen).is_empty() {
            break Ok(());
        }
        tokio::select! {
            event = stream.next() => match event {
                None => break Err(anyhow::anyhow!("the watch of Deployments in {} ended", cluster.namespace)),
                Some(Ok(watcher::Event::Apply(d) | watcher::Event::InitApply(d))) => {
                    let name = d.metadata.name.clone().unwrap_or_default();
                    if let Some(slot) = seen.get_mut(&name) {
                        *slot = crate::check::rollout(&d);
                    }
                }
                Some(Ok(watcher::Event::Delete(d))) => {
                    let name = d.metadata.name.clone().unwrap_or_default();
                    if let Some(slot) = seen.get_mut(&name) {
                        *slot = Err("deployment deleted".into());
                    }
                }
                Some(Ok(watcher::Event::Init)) => {}
                Some(Ok(watcher::Event::InitDone)) => listed = true,
                Some(Err(watcher::Error::InitialListFailed(e) | watcher::Error::WatchStartFailed(e))) => {
                    break Err(cluster.explain(e));
                }
                // A broken watch is resumed by the watcher itself.
                Some(Err(_)) => {}
            },
            _ = tick.tick(), if terminal => {
                let line: String = format!(
                    "◎ waiting for rollouts ({}s) {}",
                    started.elapsed().as_secs(),
                    pending(&seen).join(", ")
                )
                .chars()
                .take(120)
                .collect();
                eprint!("\r\x1b[2K{line}");
            }
            _ = &mut sleep => {
                break Err(anyhow::anyhow!(
                    "timed out after {:?} waiting for the controllers' Deployments to roll out: {}",
                    cluster.timeout,
                    pending(&seen).join("; ")
                ));
            }
        }
    };
    if terminal {
        eprint!("\r\x1b[2K");
    }
    result
}
