//! The command-line flags every controller shares (Flux's names and defaults).

use std::time::Duration;

use clap::{ArgAction, Args, ValueEnum};

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogEncoding {
    /// One JSON object per line (production).
    Json,
    /// Human-readable lines.
    Console,
}

/// Flags shared by all four controllers.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Log verbosity: trace, debug, info, error.
    #[arg(long, default_value = "info")]
    pub log_level: String,
    /// Log format.
    #[arg(long, value_enum, default_value = "json")]
    pub log_encoding: LogEncoding,
    /// Objects reconciled at the same time.
    #[arg(long, default_value_t = 4)]
    pub concurrent: u16,
    /// How long to wait before retrying an object whose dependencies are not ready.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub requeue_dependency: Duration,
    /// Watch every namespace; when false, only the one the controller runs
    /// in. Given bare (`--watch-all-namespaces`), as Flux's manifests do, it means true.
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub watch_all_namespaces: bool,
    /// The namespace the controller runs in (watched alone when
    /// `--watch-all-namespaces=false`).
    #[arg(long, env = "RUNTIME_NAMESPACE", default_value = "flux-system")]
    pub runtime_namespace: String,
    /// Reconcile only objects matching this label selector (sharding).
    #[arg(long, default_value = "")]
    pub watch_label_selector: String,
    /// Where to POST events (notification-controller's event intake).
    #[arg(long)]
    pub events_addr: Option<String>,
    /// Address of the Prometheus metrics endpoint.
    #[arg(long, default_value = ":8080")]
    pub metrics_addr: String,
    /// Address of the `/healthz` and `/readyz` endpoints.
    #[arg(long, default_value = ":9440")]
    pub health_addr: String,
    /// Run only while holding a Lease, so that replicas do not reconcile twice.
    #[arg(long, default_value_t = false)]
    pub enable_leader_election: bool,
    /// How long a leader's Lease lasts without renewal.
    #[arg(long, default_value = "35s", value_parser = parse_duration)]
    pub leader_election_lease_duration: Duration,
    /// How often the leader renews its Lease.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub leader_election_retry_period: Duration,
}

impl CommonArgs {
    /// The namespace to watch, or `None` for all.
    pub fn watch_namespace(&self) -> Option<&str> {
        (!self.watch_all_namespaces).then_some(self.runtime_namespace.as_str())
    }
}

/// Parses a Go-style duration (`30s`, `1m30s`, `500ms`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    s.parse::<ferroflux_api::Duration>()
        .map(|d| d.as_std())
        .map_err(|e| e.to_string())
}

/// An address flag in Go's `:8080` form as a socket address (`0.0.0.0:8080`).
pub fn bind_addr(flag: &str) -> Result<std::net::SocketAddr, String> {
    let full = if flag.starts_with(':') {
        format!("0.0.0.0{flag}")
    } else {
        flag.to_string()
    };
    full.parse()
        .map_err(|e| format!("invalid address {flag:?}: {e}"))
}

/// A flag of Flux's command line that Ferroflux accepts without acting on
/// it, and why that is safe; logged once at start-up when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    /// The flag as given (`--kube-api-qps=50`).
    pub flag: String,
    /// Why ignoring it is safe.
    pub why: &'static str,
}

fn given<T: std::fmt::Debug>(
    out: &mut Vec<Ignored>,
    name: &str,
    value: &Option<T>,
    why: &'static str,
) {
    if let Some(v) = value {
        let shown = format!("{v:?}");
        let shown = shown.trim_matches('"');
        out.push(Ignored {
            flag: format!("--{name}={shown}"),
            why,
        });
    }
}

/// Logs each ignored flag at start-up, one line each.
pub fn log_ignored(controller: &str, ignored: &[Ignored]) {
    for i in ignored {
        tracing::info!(controller, flag = %i.flag, reason = i.why, "Flux flag accepted and ignored");
    }
}

/// Flags every Flux controller takes from Flux's shared runtime
/// (`fluxcd/pkg`: client, rate limiter, leader election, watch, feature
/// gates, token cache, interval jitter) that [`CommonArgs`] does not have.
/// Each is accepted so that Flux's manifests and patches start the
/// controller; the ones with a Ferroflux meaning are mapped, the rest are
/// listed by [`FluxRuntimeArgs::ignored`].
#[derive(Debug, Clone, Default, Args)]
pub struct FluxRuntimeArgs {
    /// Flux: queries per second to the API server. kube-rs does not throttle
    /// on the client side; accepted and ignored.
    #[arg(long)]
    pub kube_api_qps: Option<f32>,
    /// Flux: request burst to the API server; accepted and ignored.
    #[arg(long)]
    pub kube_api_burst: Option<i32>,
    /// First delay after a failed reconcile (Flux's default 750ms); doubles
    /// per consecutive failure.
    #[arg(long, value_parser = parse_duration)]
    pub min_retry_delay: Option<Duration>,
    /// Longest delay after failed reconciles (Flux's default 15m).
    #[arg(long, value_parser = parse_duration)]
    pub max_retry_delay: Option<Duration>,
    /// Flux: how long a leader keeps trying to renew; the Lease's duration
    /// and renew period decide here. Accepted and ignored.
    #[arg(long, value_parser = parse_duration)]
    pub leader_election_renew_deadline: Option<Duration>,
    /// Flux: release the Lease on exit; Ferroflux always does. Accepted.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    pub leader_election_release_on_cancel: Option<bool>,
    /// Flux: ConfigMaps and Secrets with this label trigger reconciles of
    /// the objects that use them. Ferroflux's kustomize- and helm-controller
    /// watch those labelled `reconcile.fluxcd.io/watch: Enabled` (Flux's
    /// default); another selector is accepted and ignored.
    #[arg(long)]
    pub watch_configs_label_selector: Option<String>,
    /// Flux: feature gates (`Name=true,Other=false`); accepted and logged,
    /// none changes what Ferroflux does.
    #[arg(long)]
    pub feature_gates: Option<String>,
    /// Flux: size of the cache of cloud tokens (workload identity, which
    /// Ferroflux does not support); accepted and ignored.
    #[arg(long)]
    pub token_cache_max_size: Option<i64>,
    /// Flux: longest life of a cached cloud token; accepted and ignored.
    #[arg(long, value_parser = parse_duration)]
    pub token_cache_max_duration: Option<Duration>,
    /// Percentage of the interval added or taken away at random (Flux's
    /// default 5).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..100))]
    pub interval_jitter_percentage: Option<u8>,
}

impl FluxRuntimeArgs {
    /// The jitter fraction, when `--interval-jitter-percentage` is given.
    pub fn jitter(&self) -> Option<f64> {
        self.interval_jitter_percentage
            .map(|p| f64::from(p) / 100.0)
    }

    /// Sets the loop's backoff and jitter from the flags that were given.
    pub fn adjust_loop(&self, config: &mut crate::controller::LoopConfig) {
        if let Some(d) = self.min_retry_delay {
            config.backoff_base = d;
        }
        if let Some(d) = self.max_retry_delay {
            config.backoff_max = d;
        }
        if let Some(j) = self.jitter() {
            config.jitter = j;
        }
    }

    /// [`Self::ignored`], plus the loop flags ([`Self::adjust_loop`]) for a
    /// controller that has no such loop to adjust.
    pub fn ignored_without_loop(&self, why: &'static str) -> Vec<Ignored> {
        let mut out = self.ignored();
        given(&mut out, "min-retry-delay", &self.min_retry_delay, why);
        given(&mut out, "max-retry-delay", &self.max_retry_delay, why);
        given(
            &mut out,
            "interval-jitter-percentage",
            &self.interval_jitter_percentage,
            why,
        );
        out
    }

    /// The flags given that are accepted without effect.
    pub fn ignored(&self) -> Vec<Ignored> {
        let mut out = Vec::new();
        let throttle = "the Kubernetes client does not throttle requests";
        given(&mut out, "kube-api-qps", &self.kube_api_qps, throttle);
        given(&mut out, "kube-api-burst", &self.kube_api_burst, throttle);
        given(
            &mut out,
            "leader-election-renew-deadline",
            &self.leader_election_renew_deadline,
            "the Lease is renewed every retry period and lost after its duration",
        );
        given(
            &mut out,
            "leader-election-release-on-cancel",
            &self.leader_election_release_on_cancel,
            "the Lease is always released on exit",
        );
        given(
            &mut out,
            "watch-configs-label-selector",
            &self.watch_configs_label_selector,
            "only ConfigMaps and Secrets labelled reconcile.fluxcd.io/watch=Enabled trigger reconciles; others are picked up at the next interval",
        );
        given(
            &mut out,
            "feature-gates",
            &self.feature_gates,
            "no Flux feature gate changes what Ferroflux does",
        );
        let tokens = "workload identity (cloud tokens) is not supported";
        given(
            &mut out,
            "token-cache-max-size",
            &self.token_cache_max_size,
            tokens,
        );
        given(
            &mut out,
            "token-cache-max-duration",
            &self.token_cache_max_duration,
            tokens,
        );
        out
    }
}

/// source-controller's own Flux flags that its `main.rs` does not define.
#[derive(Debug, Clone, Default, Args)]
pub struct SourceFluxArgs {
    /// Flux: artifacts older than this (beyond the retained records) are
    /// removed; Ferroflux keeps exactly `--artifact-retention-records`.
    #[arg(long, value_parser = parse_duration)]
    pub artifact_retention_ttl: Option<Duration>,
    /// Digest algorithm of artifacts; only `sha256` (Flux's default) is
    /// supported, any other value is refused at start-up.
    #[arg(long, value_parser = ["sha256"])]
    pub artifact_digest_algo: Option<String>,
    /// Flux: largest Helm index; Ferroflux parses indexes streaming under
    /// its own budget. Accepted and ignored.
    #[arg(long)]
    pub helm_index_max_size: Option<i64>,
    /// Flux: largest chart archive; accepted and ignored (charts are
    /// bounded by the artifact limits).
    #[arg(long)]
    pub helm_chart_max_size: Option<i64>,
    /// Flux: largest file in a chart; accepted and ignored.
    #[arg(long)]
    pub helm_chart_file_max_size: Option<i64>,
    /// Flux: entries of the in-memory Helm index cache; Ferroflux keeps
    /// its own bounded cache. Accepted and ignored.
    #[arg(long)]
    pub helm_cache_max_size: Option<i64>,
    /// Flux: life of a cached Helm index; accepted and ignored.
    #[arg(long)]
    pub helm_cache_ttl: Option<String>,
    /// Flux: how often the Helm index cache is purged; accepted and ignored.
    #[arg(long)]
    pub helm_cache_purge_interval: Option<String>,
    /// Flux: SSH key exchange algorithms to offer. Not supported: a value
    /// other than empty is refused at start-up, since ignoring a restriction
    /// would weaken it.
    #[arg(long, value_delimiter = ',')]
    pub ssh_kex_algos: Vec<String>,
    /// Flux: SSH host key algorithms to accept; refused like `--ssh-kex-algos`.
    #[arg(long, value_delimiter = ',')]
    pub ssh_hostkey_algos: Vec<String>,
    /// Flux: service account for object-level workload identity, which
    /// Ferroflux does not support; accepted and ignored.
    #[arg(long)]
    pub default_service_account: Option<String>,
}

impl SourceFluxArgs {
    /// Refuses what cannot be honoured.
    pub fn check(&self) -> Result<(), String> {
        for (flag, v) in [
            ("--ssh-kex-algos", &self.ssh_kex_algos),
            ("--ssh-hostkey-algos", &self.ssh_hostkey_algos),
        ] {
            if v.iter().any(|a| !a.is_empty()) {
                return Err(format!(
                    "{flag} is not supported: SSH algorithms cannot be restricted (remove the flag)"
                ));
            }
        }
        Ok(())
    }

    /// The flags given that are accepted without effect.
    pub fn ignored(&self) -> Vec<Ignored> {
        let mut out = Vec::new();
        given(
            &mut out,
            "artifact-retention-ttl",
            &self.artifact_retention_ttl,
            "exactly --artifact-retention-records artifacts are kept per object",
        );
        let helm = "Helm indexes and charts are bounded by Ferroflux's own limits";
        given(
            &mut out,
            "helm-index-max-size",
            &self.helm_index_max_size,
            helm,
        );
        given(
            &mut out,
            "helm-chart-max-size",
            &self.helm_chart_max_size,
            helm,
        );
        given(
            &mut out,
            "helm-chart-file-max-size",
            &self.helm_chart_file_max_size,
            helm,
        );
        let cache = "Helm indexes are cached per revision, bounded";
        given(
            &mut out,
            "helm-cache-max-size",
            &self.helm_cache_max_size,
            cache,
        );
        given(&mut out, "helm-cache-ttl", &self.helm_cache_ttl, cache);
        given(
            &mut out,
            "helm-cache-purge-interval",
            &self.helm_cache_purge_interval,
            cache,
        );
        given(
            &mut out,
            "default-service-account",
            &self.default_service_account,
            "workload identity is not supported",
        );
        out
    }
}

/// kustomize-controller's own Flux flags that its `main.rs` does not define.
#[derive(Debug, Clone, Default, Args)]
pub struct KustomizeFluxArgs {
    /// Flux: server-side apply operations at once; accepted and ignored.
    #[arg(long)]
    pub concurrent_ssa: Option<u32>,
    /// Forbid remote bases (`resources` that are URLs). Ferroflux's
    /// kustomize never fetches them, so they always fail the build, whatever
    /// this says; `true` (Flux's lockdown) is the behaviour.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    pub no_remote_bases: Option<bool>,
    /// Retries when downloading an artifact fails (Flux's default 9).
    #[arg(long)]
    pub http_retry: Option<u32>,
    /// Flux: service account for decryption with workload identity (KMS),
    /// not supported; accepted and ignored.
    #[arg(long)]
    pub default_decryption_service_account: Option<String>,
    /// Flux: service account for kubeconfigs from workload identity, not
    /// supported; accepted and ignored.
    #[arg(long)]
    pub default_kubeconfig_service_account: Option<String>,
    /// Flux: Secret in the runtime namespace with a fallback SOPS age key.
    /// Not used: a Kustomization whose decryption needs it fails closed.
    #[arg(long)]
    pub sops_age_secret: Option<String>,
    /// Flux: ConfigMap of trusted Vault servers for SOPS. Not used: Vault
    /// decryption fails closed.
    #[arg(long)]
    pub sops_vault_configmap: Option<String>,
    /// Flux: field managers whose changes are overridden; accepted and
    /// ignored (drift is corrected for the fields Ferroflux applies).
    #[arg(long)]
    pub override_manager: Vec<String>,
    /// Flux: kinds applied in a stage before the others; accepted and
    /// ignored (CRDs, Namespaces and cluster roles are applied first).
    #[arg(long)]
    pub custom_apply_stage_kinds: Option<String>,
}

impl KustomizeFluxArgs {
    /// The flags given that are accepted without effect.
    pub fn ignored(&self) -> Vec<Ignored> {
        let mut out = Vec::new();
        given(
            &mut out,
            "concurrent-ssa",
            &self.concurrent_ssa,
            "each Kustomization's objects are applied in stages by one worker",
        );
        given(
            &mut out,
            "no-remote-bases",
            &self.no_remote_bases,
            "remote bases are never fetched (as with --no-remote-bases=true)",
        );
        let identity = "workload identity is not supported";
        given(
            &mut out,
            "default-decryption-service-account",
            &self.default_decryption_service_account,
            identity,
        );
        given(
            &mut out,
            "default-kubeconfig-service-account",
            &self.default_kubeconfig_service_account,
            identity,
        );
        let closed = "decryption that would need it fails closed: nothing is applied";
        given(&mut out, "sops-age-secret", &self.sops_age_secret, closed);
        given(
            &mut out,
            "sops-vault-configmap",
            &self.sops_vault_configmap,
            closed,
        );
        for m in &self.override_manager {
            out.push(Ignored {
                flag: format!("--override-manager={m}"),
                why: "drift in the fields Ferroflux applies is corrected whoever made it",
            });
        }
        given(
            &mut out,
            "custom-apply-stage-kinds",
            &self.custom_apply_stage_kinds,
            "CRDs, Namespaces and cluster-wide objects are applied in a stage first",
        );
        out
    }
}

/// notification-controller's Flux flags that its `Args` does not define.
#[derive(Debug, Clone, Default, Args)]
pub struct NotificationFluxArgs {
    /// Flux: reconciles at once; accepted and ignored (Alerts, Providers
    /// and Receivers are cheap to reconcile).
    #[arg(long)]
    pub concurrent: Option<u16>,
    /// Flux: put the full request path in HTTP metrics; accepted and ignored.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set)]
    pub export_http_path_metrics: Option<bool>,
    /// Flux: sharding by label. Not supported: a selector is refused at
    /// start-up, since ignoring it would deliver every shard's events.
    #[arg(long)]
    pub watch_label_selector: Option<String>,
    /// Flux: service account for Provider workload identity, not
    /// supported; accepted and ignored.
    #[arg(long)]
    pub default_service_account: Option<String>,
}

impl NotificationFluxArgs {
    /// Refuses what cannot be honoured.
    pub fn check(&self) -> Result<(), String> {
        match self.watch_label_selector.as_deref() {
            Some(s) if !s.is_empty() => Err(format!(
                "--watch-label-selector={s} is not supported by notification-controller:                  every shard would deliver every event (remove the flag)"
            )),
            _ => Ok(()),
        }
    }

    /// The flags given that are accepted without effect.
    pub fn ignored(&self) -> Vec<Ignored> {
        let mut out = Vec::new();
        given(
            &mut out,
            "concurrent",
            &self.concurrent,
            "Alerts, Providers and Receivers are reconciled as they change",
        );
        given(
            &mut out,
            "export-http-path-metrics",
            &self.export_http_path_metrics,
            "HTTP metrics are not labelled by path",
        );
        given(
            &mut out,
            "default-service-account",
            &self.default_service_account,
            "workload identity is not supported",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        common: CommonArgs,
    }

    #[test]
    fn flux_defaults_and_overrides() {
        let cli = Cli::parse_from(["x"]);
        assert_eq!(cli.common.concurrent, 4);
        assert_eq!(cli.common.requeue_dependency, Duration::from_secs(30));
        assert_eq!(cli.common.watch_namespace(), None);
        assert_eq!(cli.common.log_encoding, LogEncoding::Json);
        let bare = Cli::parse_from(["x", "--watch-all-namespaces", "--enable-leader-election"]);
        assert_eq!(bare.common.watch_namespace(), None);
        assert!(bare.common.enable_leader_election);
        let cli = Cli::parse_from([
            "x",
            "--watch-all-namespaces=false",
            "--runtime-namespace=flux-system",
            "--log-encoding=console",
            "--requeue-dependency=5s",
        ]);
        assert_eq!(cli.common.watch_namespace(), Some("flux-system"));
        assert_eq!(cli.common.requeue_dependency, Duration::from_secs(5));
        assert!(Cli::try_parse_from(["x", "--requeue-dependency=5 seconds"]).is_err());
    }

    #[test]
    fn go_style_addresses() {
        assert_eq!(bind_addr(":8080").unwrap().to_string(), "0.0.0.0:8080");
        assert_eq!(bind_addr("127.0.0.1:9").unwrap().to_string(), "127.0.0.1:9");
        assert!(bind_addr("nope").is_err());
    }

    #[derive(Parser)]
    #[command(args_override_self = true)]
    struct Kustomize {
        #[command(flatten)]
        common: CommonArgs,
        #[command(flatten)]
        runtime: FluxRuntimeArgs,
        #[command(flatten)]
        flux: KustomizeFluxArgs,
    }

    #[derive(Parser)]
    struct Source {
        #[command(flatten)]
        common: CommonArgs,
        #[command(flatten)]
        runtime: FluxRuntimeArgs,
        #[command(flatten)]
        flux: SourceFluxArgs,
    }

    #[derive(Parser)]
    struct Notification {
        #[command(flatten)]
        runtime: FluxRuntimeArgs,
        #[command(flatten)]
        flux: NotificationFluxArgs,
    }

    #[test]
    fn flux_runtime_flags_map_or_are_listed_as_ignored() {
        let cli = Kustomize::parse_from([
            "x",
            "--kube-api-qps=500",
            "--kube-api-burst=1000",
            "--min-retry-delay=2s",
            "--max-retry-delay=5m",
            "--interval-jitter-percentage=10",
            "--feature-gates=CacheSecretsAndConfigMaps=true",
            "--leader-election-renew-deadline=30s",
            "--leader-election-release-on-cancel",
            "--watch-configs-label-selector=reconcile.fluxcd.io/watch=Enabled",
            "--token-cache-max-size=100",
            // Repeated, as a patch appending args does: the last one wins.
            "--log-level=debug",
            "--log-level=info",
        ]);
        assert_eq!(cli.common.log_level, "info");
        let mut config = crate::controller::LoopConfig::default();
        cli.runtime.adjust_loop(&mut config);
        assert_eq!(config.backoff_base, Duration::from_secs(2));
        assert_eq!(config.backoff_max, Duration::from_secs(300));
        assert!((config.jitter - 0.10).abs() < 1e-9);
        let flags: Vec<String> = cli.runtime.ignored().into_iter().map(|i| i.flag).collect();
        assert_eq!(
            flags,
            [
                "--kube-api-qps=500.0",
                "--kube-api-burst=1000",
                "--leader-election-renew-deadline=30s",
                "--leader-election-release-on-cancel=true",
                "--watch-configs-label-selector=reconcile.fluxcd.io/watch=Enabled",
                "--feature-gates=CacheSecretsAndConfigMaps=true",
                "--token-cache-max-size=100",
            ]
        );
        assert!(Kustomize::try_parse_from(["x", "--interval-jitter-percentage=100"]).is_err());
        // Nothing given, nothing listed, nothing changed.
        let bare = Kustomize::parse_from(["x"]);
        assert!(bare.runtime.ignored().is_empty() && bare.flux.ignored().is_empty());
        let mut untouched = crate::controller::LoopConfig::default();
        bare.runtime.adjust_loop(&mut untouched);
        assert_eq!(
            untouched.backoff_base,
            crate::controller::LoopConfig::default().backoff_base
        );
    }

    #[test]
    fn kustomize_install_and_lockdown_flags() {
        let cli = Kustomize::parse_from([
            "x",
            "--events-addr=http://notification-controller.flux-system.svc.cluster.local./",
            "--watch-all-namespaces=true",
            "--log-level=info",
            "--log-encoding=json",
            "--enable-leader-election",
            "--no-remote-bases=true",
            "--concurrent-ssa=8",
            "--http-retry=3",
            "--sops-age-secret=sops-age",
            "--override-manager=kubectl",
            "--override-manager=helm",
        ]);
        assert!(cli.common.enable_leader_election);
        assert_eq!(cli.flux.no_remote_bases, Some(true));
        assert_eq!(cli.flux.http_retry, Some(3));
        let flags: Vec<String> = cli.flux.ignored().into_iter().map(|i| i.flag).collect();
        assert_eq!(
            flags,
            [
                "--concurrent-ssa=8",
                "--no-remote-bases=true",
                "--sops-age-secret=sops-age",
                "--override-manager=kubectl",
                "--override-manager=helm",
            ]
        );
    }

    #[test]
    fn source_flags_refuse_what_cannot_be_honoured() {
        let cli = Source::parse_from([
            "x",
            "--artifact-retention-ttl=60s",
            "--artifact-digest-algo=sha256",
            "--helm-cache-max-size=10",
            "--helm-cache-ttl=60m",
            "--default-service-account=source",
        ]);
        assert!(cli.flux.check().is_ok());
        assert_eq!(cli.flux.ignored().len(), 4);
        assert!(Source::try_parse_from(["x", "--artifact-digest-algo=blake3"]).is_err());
        let ssh = Source::parse_from(["x", "--ssh-kex-algos=curve25519-sha256"]);
        let err = ssh.flux.check().unwrap_err();
        assert!(err.contains("--ssh-kex-algos"), "{err}");
        assert!(
            Source::parse_from(["x", "--ssh-hostkey-algos="])
                .flux
                .check()
                .is_ok()
        );
        assert_eq!(cli.common.concurrent, 4);
        let _ = cli.runtime;
    }

    #[test]
    fn notification_refuses_sharding_it_cannot_do() {
        let cli = Notification::parse_from(["x", "--concurrent=4", "--min-retry-delay=1s"]);
        assert!(cli.flux.check().is_ok());
        let flags: Vec<String> = cli
            .runtime
            .ignored_without_loop("no loop")
            .into_iter()
            .chain(cli.flux.ignored())
            .map(|i| i.flag)
            .collect();
        assert_eq!(flags, ["--min-retry-delay=1s", "--concurrent=4"]);
        let sharded = Notification::parse_from(["x", "--watch-label-selector=shard=a"]);
        assert!(sharded.flux.check().unwrap_err().contains("shard=a"));
    }
}
