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
}
