//! The controller's Prometheus metrics, on the shared runtime registry
//! (served on `--metrics-addr` with the runtime's own metrics).
//!
//! | Metric | Labels | Meaning |
//! |---|---|---|
//! | `ferroflux_notification_events_total` | `outcome`: `accepted`, `invalid`, `duplicate`, `rate_limited`, `dropped`, `too_large` | events POSTed to intake, by how intake answered (202, 400, 429, 429, 503, 413) |
//! | `ferroflux_notification_deliveries_total` | `provider_type`, `outcome`: `delivered`, `failed`, `dropped` | notifications delivered, given up on after their retries, or dropped because the Provider's lane was full |
//! | `ferroflux_notification_delivery_retries_total` | `provider_type` | delivery attempts retried after a retryable error |
//! | `ferroflux_notification_dropped_total` | `reason`: `provider_queue_full`, `total_queue_full`, `displaced`, `provider_deleted`, `provider_changed` | notifications dropped, by why (the same drops as `deliveries_total{outcome="dropped"}`) |
//! | `ferroflux_notification_queued_bytes` | `queue`: `intake`, `delivery` | bytes held now: event bodies read or waiting for Alert matching; notifications queued or in flight (together at most `--total-queue-bytes`) |
//!
//! Labels come from closed sets (outcomes, Provider `spec.type`), never
//! object names or addresses, so the number of series stays bounded.
//! The values are [`Stats`]'s: the counters the controller keeps anyway.

use std::sync::Arc;

use ferroflux_runtime::metrics::Metrics;
use ferroflux_runtime::metrics::prometheus_client::collector::Collector;
use ferroflux_runtime::metrics::prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use ferroflux_runtime::metrics::prometheus_client::metrics::MetricType;
use ferroflux_runtime::metrics::prometheus_client::metrics::counter::ConstCounter;
use ferroflux_runtime::metrics::prometheus_client::metrics::gauge::ConstGauge;

use crate::stats::{DropReason, Stats};

/// Name of the intake counter (the encoder appends `_total`).
pub const EVENTS: &str = "ferroflux_notification_events";
/// Name of the per-type delivery counter (the encoder appends `_total`).
pub const DELIVERIES: &str = "ferroflux_notification_deliveries";
/// Name of the per-type retry counter (the encoder appends `_total`).
pub const RETRIES: &str = "ferroflux_notification_delivery_retries";
/// Name of the per-reason drop counter (the encoder appends `_total`).
pub const DROPPED: &str = "ferroflux_notification_dropped";
/// Name of the gauge of bytes held by intake and the delivery queues.
pub const QUEUED_BYTES: &str = "ferroflux_notification_queued_bytes";

/// Registers the controller's metrics, read from `stats`, on `metrics`.
/// Call it once per process (a name registered twice is rendered twice).
pub fn register(metrics: &Metrics, stats: &Arc<Stats>) {
    metrics.register_collector(EventsCollector(stats.clone()));
    metrics.register(
        DELIVERIES,
        "Notifications delivered, failed after their retries, or dropped (lane full), per Provider type",
        stats.deliveries.clone(),
    );
    metrics.register(
        RETRIES,
        "Notification delivery attempts retried after a retryable error, per Provider type",
        stats.retries.clone(),
    );
    metrics.register_collector(QueuesCollector(stats.clone()));
}

/// Reads the drop counters and queued-byte gauges of [`Stats`] at each
/// scrape, rendering every reason (zeros included).
#[derive(Debug)]
struct QueuesCollector(Arc<Stats>);

impl Collector for QueuesCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut family = encoder.encode_descriptor(
            DROPPED,
            "Notifications dropped, by reason (provider_queue_full, total_queue_full, displaced, provider_deleted, provider_changed)",
            None,
            MetricType::Counter,
        )?;
        for reason in DropReason::ALL {
            ConstCounter::new(self.0.dropped_for(reason))
                .encode(family.encode_family(&[("reason", reason.as_str())])?)?;
        }
        let s = self.0.snapshot();
        let mut family = encoder.encode_descriptor(
            QUEUED_BYTES,
            "Bytes held now: event bodies read or waiting for Alert matching (intake), notifications queued or in flight (delivery)",
            None,
            MetricType::Gauge,
        )?;
        for (queue, value) in [("intake", s.intake_bytes), ("delivery", s.delivery_bytes)] {
            ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX))
                .encode(family.encode_family(&[("queue", queue)])?)?;
        }
        Ok(())
    }
}

/// Reads the intake counters of [`Stats`] at each scrape.
#[derive(Debug)]
struct EventsCollector(Arc<Stats>);

impl Collector for EventsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = self.0.snapshot();
        let mut family = encoder.encode_descriptor(
            EVENTS,
            "Events received by intake, by outcome (accepted, invalid, duplicate, rate_limited, dropped, too_large)",
            None,
            MetricType::Counter,
        )?;
        for (outcome, value) in [
            ("accepted", s.events_accepted),
            ("invalid", s.events_invalid),
            ("duplicate", s.events_duplicate),
            ("rate_limited", s.events_rate_limited),
            ("dropped", s.events_dropped),
            ("too_large", s.events_too_large),
        ] {
            ConstCounter::new(value).encode(family.encode_family(&[("outcome", outcome)])?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use ferroflux_api::notification::v1beta3::ProviderType;

    use super::*;
    use crate::stats::DeliveryOutcome;

    #[test]
    fn stats_are_rendered_with_bounded_labels() {
        let metrics = Metrics::new();
        let stats = Arc::new(Stats::default());
        register(&metrics, &stats);
        stats.inc(&stats.events_accepted);
        stats.inc(&stats.events_accepted);
        stats.inc(&stats.events_duplicate);
        stats.delivery(ProviderType::Slack, DeliveryOutcome::Delivered);
        stats.delivery(ProviderType::GenericHmac, DeliveryOutcome::Failed);
        stats.retry(ProviderType::GenericHmac);
        stats.drop_notification(ProviderType::Slack, DropReason::Displaced, true);
        stats.inc(&stats.events_too_large);
        let text = metrics.render();
        for line in [
            "# TYPE ferroflux_notification_events counter",
            "ferroflux_notification_events_total{outcome=\"accepted\"} 2",
            "ferroflux_notification_events_total{outcome=\"invalid\"} 0",
            "ferroflux_notification_events_total{outcome=\"duplicate\"} 1",
            "ferroflux_notification_events_total{outcome=\"rate_limited\"} 0",
            "ferroflux_notification_events_total{outcome=\"dropped\"} 0",
            "ferroflux_notification_deliveries_total{provider_type=\"slack\",outcome=\"delivered\"} 1",
            "ferroflux_notification_deliveries_total{provider_type=\"generic-hmac\",outcome=\"failed\"} 1",
            "ferroflux_notification_delivery_retries_total{provider_type=\"generic-hmac\"} 1",
            "ferroflux_notification_events_total{outcome=\"too_large\"} 1",
            "ferroflux_notification_deliveries_total{provider_type=\"slack\",outcome=\"dropped\"} 1",
            "ferroflux_notification_dropped_total{reason=\"displaced\"} 1",
            "ferroflux_notification_dropped_total{reason=\"provider_deleted\"} 0",
            "# TYPE ferroflux_notification_queued_bytes gauge",
            "ferroflux_notification_queued_bytes{queue=\"intake\"} 0",
            "ferroflux_notification_queued_bytes{queue=\"delivery\"} 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
    }
}
