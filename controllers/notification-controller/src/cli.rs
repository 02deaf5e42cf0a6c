//! Command-line flags (named as Flux's notification-controller names them).

use std::time::Duration;

use clap::{ArgAction, Parser};
pub use ferroflux_runtime::flags::LogEncoding;

use crate::app::Options;
use crate::delivery::{DeliveryOptions, RetryPolicy};
use crate::intake::Limits;

/// Flags of the `notification-controller` binary.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "notification-controller",
    version,
    about = "Ferroflux notification-controller",
    // A flag given twice takes its last value, as with Flux's (pflag)
    // command line, where patches append arguments.
    args_override_self = true
)]
pub struct Args {
    /// Flags of Flux's shared runtime (accepted; see `--help`).
    #[command(flatten)]
    pub flux_runtime: ferroflux_runtime::flags::FluxRuntimeArgs,
    /// Flux notification-controller flags without a Ferroflux meaning.
    #[command(flatten)]
    pub flux: ferroflux_runtime::flags::NotificationFluxArgs,
    /// The address the event endpoint binds to.
    #[arg(long, default_value = ":9090")]
    pub events_addr: String,
    /// The address the webhook receiver endpoint binds to (Flux spells it
    /// `--receiverAddr`; both are accepted).
    #[arg(long, alias = "receiverAddr", default_value = ":9292")]
    pub receiver_addr: String,
    /// Forbid Alerts and Receivers to refer to objects in other namespaces.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", default_value = "false")]
    pub no_cross_namespace_refs: bool,
    /// Identical events within this interval are delivered once (Go duration).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub rate_limit_interval: Duration,
    /// Events one involved object may send in a burst (0: unlimited).
    #[arg(long, default_value_t = 30)]
    pub object_event_burst: u32,
    /// Events per second an involved object regains after a burst.
    #[arg(long, default_value_t = 1.0)]
    pub object_events_per_second: f64,
    /// Notifications waiting per Provider before new ones are dropped (see
    /// --provider-queue-bytes for what is dropped first).
    #[arg(long, default_value_t = 1000)]
    pub provider_queue_size: usize,
    /// Bytes of notifications one Provider may hold, queued and in flight
    /// (a number of bytes, or with a KiB/MiB/GiB suffix). When its lane is
    /// full, a notification about an object with fewer waiting pushes out
    /// the oldest of the object with the most waiting; otherwise the new one
    /// is dropped and counted in ferroflux_notification_dropped_total.
    #[arg(long, default_value = "8MiB", value_parser = parse_bytes)]
    pub provider_queue_bytes: u64,
    /// Bytes held at once by intake (event bodies read or waiting for Alert
    /// matching) and every Provider's queue together. Intake answers 503
    /// and notifications are dropped while it is reached.
    #[arg(long, default_value = "32MiB", value_parser = parse_bytes)]
    pub total_queue_bytes: u64,
    /// Largest event body accepted; larger ones get 413. Flux's events stay
    /// far below (their message is at most 39,000 characters).
    #[arg(long, default_value = "1MiB", value_parser = parse_bytes)]
    pub max_event_bytes: u64,
    /// Deliveries in flight per Provider.
    #[arg(long, default_value_t = 4)]
    pub provider_concurrency: usize,
    /// Log level (error, warn, info, debug, trace) or a tracing filter.
    #[arg(long, default_value = "info")]
    pub log_level: String,
    /// Log encoding: json or console.
    #[arg(long, value_enum, default_value = "json")]
    pub log_encoding: LogEncoding,
    /// Watch every namespace (given bare, as Flux's manifests do, it means
    /// true). With `false`, Alerts, Providers and Receivers are watched only
    /// in `--runtime-namespace`.
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub watch_all_namespaces: bool,
    /// The namespace the controller runs in (where its leader-election Lease is).
    #[arg(long, env = "RUNTIME_NAMESPACE", default_value = "flux-system")]
    pub runtime_namespace: String,
    /// Address of the Prometheus metrics endpoint.
    #[arg(long, default_value = ":8080")]
    pub metrics_addr: String,
    /// Address of the `/healthz` and `/readyz` endpoints.
    #[arg(long, default_value = ":9440")]
    pub health_addr: String,
    /// Start only while holding a Lease, so that replicas do not deliver twice.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", default_value = "false")]
    pub enable_leader_election: bool,
    /// How long a leader's Lease lasts without renewal.
    #[arg(long, default_value = "35s", value_parser = parse_duration)]
    pub leader_election_lease_duration: Duration,
    /// How often the leader renews its Lease.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub leader_election_retry_period: Duration,
}

/// A byte size: digits, optionally followed by `KiB`, `MiB` or `GiB` (or
/// `K`/`Ki`, `M`/`Mi`, `G`/`Gi`, all powers of 1024).
pub fn parse_bytes(raw: &str) -> Result<u64, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (digits, unit) = raw.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("invalid size {raw:?}: expected bytes such as 1048576 or 1MiB"))?;
    let shift = match unit.trim() {
        "" | "B" => 0,
        "K" | "Ki" | "KiB" => 10,
        "M" | "Mi" | "MiB" => 20,
        "G" | "Gi" | "GiB" => 30,
        other => {
            return Err(format!(
                "invalid size {raw:?}: unknown unit {other:?} (use KiB, MiB or GiB)"
            ));
        }
    };
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("invalid size {raw:?}: too large"))
}

fn parse_duration(raw: &str) -> Result<Duration, String> {
    raw.parse::<ferroflux_api::Duration>()
        .map(|d| d.as_std())
        .map_err(|e| format!("invalid duration {raw:?}: {e}"))
}

impl Args {
    /// The controller options these flags ask for.
    pub fn options(&self) -> Options {
        Options {
            events_addr: self.events_addr.clone(),
            receiver_addr: self.receiver_addr.clone(),
            no_cross_namespace_refs: self.no_cross_namespace_refs,
            watch_namespace: (!self.watch_all_namespaces).then(|| self.runtime_namespace.clone()),
            limits: Limits {
                dedup_window: self.rate_limit_interval,
                object_burst: self.object_event_burst,
                object_refill_per_sec: self.object_events_per_second,
                ..Limits::default()
            },
            max_event_bytes: usize::try_from(self.max_event_bytes).unwrap_or(usize::MAX),
            total_queue_bytes: self.total_queue_bytes,
            delivery: DeliveryOptions {
                lane_capacity: self.provider_queue_size,
                lane_bytes: self.provider_queue_bytes,
                lane_concurrency: self.provider_concurrency,
                retry: RetryPolicy::default(),
                ..DeliveryOptions::default()
            },
            ..Options::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flux_flag_spellings() {
        let a = Args::parse_from([
            "nc",
            "--receiverAddr=:9999",
            "--no-cross-namespace-refs=true",
            "--rate-limit-interval=1m30s",
        ]);
        assert_eq!(a.receiver_addr, ":9999");
        assert!(a.no_cross_namespace_refs);
        assert_eq!(a.options().limits.dedup_window, Duration::from_secs(90));
        let a = Args::parse_from(["nc", "--no-cross-namespace-refs"]);
        assert!(a.no_cross_namespace_refs);
        let d = Args::parse_from(["nc"]);
        assert_eq!(d.events_addr, ":9090");
        assert_eq!(d.metrics_addr, ":8080");
        assert_eq!(d.health_addr, ":9440");
        assert!(!d.enable_leader_election);
        assert_eq!(d.log_encoding, LogEncoding::Json);
    }

    #[test]
    fn byte_limits_parse_with_units() {
        let d = Args::parse_from(["nc"]);
        let o = d.options();
        assert_eq!(o.max_event_bytes, 1 << 20);
        assert_eq!(o.total_queue_bytes, 32 << 20);
        assert_eq!(o.delivery.lane_bytes, 8 << 20);
        assert_eq!(o.delivery.lane_capacity, 1000);
        let a = Args::parse_from([
            "nc",
            "--max-event-bytes=4MiB",
            "--provider-queue-bytes=512KiB",
            "--total-queue-bytes=1073741824",
        ]);
        let o = a.options();
        assert_eq!(o.max_event_bytes, 4 << 20);
        assert_eq!(o.delivery.lane_bytes, 512 << 10);
        assert_eq!(o.total_queue_bytes, 1 << 30);
        assert_eq!(parse_bytes("2G"), Ok(2 << 30));
        assert!(parse_bytes("1MB").is_err());
        assert!(parse_bytes("MiB").is_err());
        assert!(parse_bytes("99999999999999GiB").is_err());
        assert!(Args::try_parse_from(["nc", "--total-queue-bytes=lots"]).is_err());
    }

    #[test]
    fn flux_deployment_args_parse() {
        let a = Args::parse_from([
            "nc",
            "--watch-all-namespaces",
            "--log-level=info",
            "--log-encoding=json",
            "--enable-leader-election",
        ]);
        assert!(a.watch_all_namespaces);
        assert!(a.enable_leader_election);
        let a = Args::parse_from([
            "nc",
            "--watch-all-namespaces=false",
            "--log-encoding=console",
        ]);
        assert!(!a.watch_all_namespaces);
        assert_eq!(a.options().watch_namespace.as_deref(), Some("flux-system"));
        assert_eq!(a.log_encoding, LogEncoding::Console);
        let a = Args::parse_from([
            "nc",
            "--watch-all-namespaces=false",
            "--runtime-namespace=gitops",
        ]);
        assert_eq!(a.options().watch_namespace.as_deref(), Some("gitops"));
        let a = Args::parse_from(["nc", "--watch-all-namespaces"]);
        assert_eq!(a.options().watch_namespace, None);
        assert!(Args::try_parse_from(["nc", "--log-encoding=xml"]).is_err());
    }
}
