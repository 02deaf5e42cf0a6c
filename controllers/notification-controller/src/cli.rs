//! Command-line flags (named as Flux's notification-controller names them).

use std::time::Duration;

use clap::Parser;

use crate::app::Options;
use crate::delivery::{DeliveryOptions, RetryPolicy};
use crate::intake::Limits;

/// Flags of the `notification-controller` binary.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "notification-controller",
    version,
    about = "Ferroflux notification-controller"
)]
pub struct Args {
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
    /// Notifications waiting per Provider before new ones are dropped.
    #[arg(long, default_value_t = 1000)]
    pub provider_queue_size: usize,
    /// Deliveries in flight per Provider.
    #[arg(long, default_value_t = 4)]
    pub provider_concurrency: usize,
    /// Log level (error, warn, info, debug, trace) or a tracing filter.
    #[arg(long, default_value = "info")]
    pub log_level: String,
    /// Log encoding: json or console.
    #[arg(long, default_value = "json")]
    pub log_encoding: String,
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
            limits: Limits {
                dedup_window: self.rate_limit_interval,
                object_burst: self.object_event_burst,
                object_refill_per_sec: self.object_events_per_second,
            },
            delivery: DeliveryOptions {
                lane_capacity: self.provider_queue_size,
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
        assert_eq!(Args::parse_from(["nc"]).events_addr, ":9090");
    }
}
