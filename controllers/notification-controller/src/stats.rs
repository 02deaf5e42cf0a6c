//! Counters of what the controller did, for tests, benchmarks, logs and
//! Prometheus (see [`crate::metrics`]).

use std::sync::atomic::{AtomicU64, Ordering};

use ferroflux_api::notification::v1beta3::ProviderType;
use ferroflux_runtime::metrics::prometheus_client::encoding::{EncodeLabelSet, LabelSetEncoder};
use ferroflux_runtime::metrics::prometheus_client::metrics::counter::Counter;
use ferroflux_runtime::metrics::prometheus_client::metrics::family::Family;

/// Running totals since start.
#[derive(Debug, Default)]
pub struct Stats {
    /// Events accepted by intake (answered 202).
    pub events_accepted: AtomicU64,
    /// Events refused as malformed (400).
    pub events_invalid: AtomicU64,
    /// Events refused as over the per-object limit (429).
    pub events_rate_limited: AtomicU64,
    /// Events refused as identical to one accepted within the
    /// de-duplication window (429).
    pub events_duplicate: AtomicU64,
    /// Events refused because the matching queue was full, by count or by
    /// `--total-queue-bytes` (503).
    pub events_dropped: AtomicU64,
    /// Events refused as larger than `--max-event-bytes` (413).
    pub events_too_large: AtomicU64,
    /// Accepted events whose Alert matching has finished.
    pub events_processed: AtomicU64,
    /// Notifications queued for delivery.
    pub notifications_queued: AtomicU64,
    /// Notifications dropped: refused by a full lane, or removed from one
    /// (displaced by a fairer newcomer, or their Provider deleted or changed).
    pub notifications_dropped: AtomicU64,
    /// The part of `notifications_dropped` that had been queued (counted in
    /// `notifications_queued`) before it was removed.
    pub notifications_discarded: AtomicU64,
    /// Notifications delivered.
    pub notifications_delivered: AtomicU64,
    /// Notifications given up on after their retries.
    pub notifications_failed: AtomicU64,
    /// Notifications dropped, delivered and failed, per Provider type
    /// (the per-type breakdown of the three counters above).
    pub deliveries: Family<DeliveryLabels, Counter>,
    /// Attempts retried after a retryable error, per Provider type.
    pub retries: Family<ProviderTypeLabel, Counter>,
    /// Notifications dropped, per reason.
    pub drops: Family<DropReasonLabel, Counter>,
    /// Bytes of events read or waiting for Alert matching.
    pub intake_bytes: AtomicU64,
    /// Bytes of notifications queued or in flight, over every Provider.
    pub delivery_bytes: AtomicU64,
}

/// A copy of [`Stats`] at one moment.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Snapshot {
    /// See [`Stats::events_accepted`].
    pub events_accepted: u64,
    /// See [`Stats::events_invalid`].
    pub events_invalid: u64,
    /// See [`Stats::events_rate_limited`].
    pub events_rate_limited: u64,
    /// See [`Stats::events_duplicate`].
    pub events_duplicate: u64,
    /// See [`Stats::events_dropped`].
    pub events_dropped: u64,
    /// See [`Stats::events_too_large`].
    pub events_too_large: u64,
    /// See [`Stats::events_processed`].
    pub events_processed: u64,
    /// See [`Stats::notifications_queued`].
    pub notifications_queued: u64,
    /// See [`Stats::notifications_dropped`].
    pub notifications_dropped: u64,
    /// See [`Stats::notifications_discarded`].
    pub notifications_discarded: u64,
    /// See [`Stats::notifications_delivered`].
    pub notifications_delivered: u64,
    /// See [`Stats::notifications_failed`].
    pub notifications_failed: u64,
    /// See [`Stats::intake_bytes`].
    pub intake_bytes: u64,
    /// See [`Stats::delivery_bytes`].
    pub delivery_bytes: u64,
}

impl Snapshot {
    /// Whether every accepted event has been matched and every queued
    /// notification has been delivered, given up on or discarded.
    pub fn is_settled(&self) -> bool {
        self.events_processed == self.events_accepted
            && self.notifications_delivered
                + self.notifications_failed
                + self.notifications_discarded
                == self.notifications_queued
    }
}

impl Stats {
    /// Adds one to `counter`.
    pub fn inc(&self, counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::SeqCst);
    }

    /// Counts a notification's end (or its drop) in the totals and in the
    /// per-type breakdown.
    pub fn delivery(&self, provider_type: ProviderType, outcome: DeliveryOutcome) {
        let total = match outcome {
            DeliveryOutcome::Delivered => &self.notifications_delivered,
            DeliveryOutcome::Failed => &self.notifications_failed,
            DeliveryOutcome::Dropped => &self.notifications_dropped,
        };
        // The breakdown first: once the totals say "settled", it is complete.
        self.deliveries
            .get_or_create(&DeliveryLabels {
                provider_type,
                outcome,
            })
            .inc();
        self.inc(total);
    }

    /// Counts a dropped notification: in the totals, per Provider type and
    /// per reason. `was_queued`: it had been counted as queued.
    pub fn drop_notification(
        &self,
        provider_type: ProviderType,
        reason: DropReason,
        was_queued: bool,
    ) {
        self.drops.get_or_create(&DropReasonLabel(reason)).inc();
        if was_queued {
            self.inc(&self.notifications_discarded);
        }
        self.delivery(provider_type, DeliveryOutcome::Dropped);
    }

    /// The number of notifications dropped for `reason` so far.
    pub fn dropped_for(&self, reason: DropReason) -> u64 {
        self.drops.get_or_create(&DropReasonLabel(reason)).get()
    }

    /// Counts one retried delivery attempt.
    pub fn retry(&self, provider_type: ProviderType) {
        self.retries
            .get_or_create(&ProviderTypeLabel(provider_type))
            .inc();
    }

    /// The current totals.
    pub fn snapshot(&self) -> Snapshot {
        let get = |c: &AtomicU64| c.load(Ordering::SeqCst);
        Snapshot {
            events_accepted: get(&self.events_accepted),
            events_invalid: get(&self.events_invalid),
            events_rate_limited: get(&self.events_rate_limited),
            events_duplicate: get(&self.events_duplicate),
            events_dropped: get(&self.events_dropped),
            events_too_large: get(&self.events_too_large),
            events_processed: get(&self.events_processed),
            notifications_queued: get(&self.notifications_queued),
            notifications_dropped: get(&self.notifications_dropped),
            notifications_discarded: get(&self.notifications_discarded),
            notifications_delivered: get(&self.notifications_delivered),
            notifications_failed: get(&self.notifications_failed),
            intake_bytes: get(&self.intake_bytes),
            delivery_bytes: get(&self.delivery_bytes),
        }
    }
}

/// How a notification ended, as counted per Provider type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryOutcome {
    /// The service accepted it.
    Delivered,
    /// Given up on after its retries (or a non-retryable error).
    Failed,
    /// Not delivered: refused by or removed from the Provider's lane (see
    /// [`DropReason`]).
    Dropped,
}

impl DeliveryOutcome {
    /// The `outcome` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Dropped => "dropped",
        }
    }
}

/// Why a notification was dropped (label `reason` of
/// `ferroflux_notification_dropped_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The Provider's lane was at `--provider-queue-size` or
    /// `--provider-queue-bytes` and nothing in it could make room.
    ProviderQueueFull,
    /// Queues together were at `--total-queue-bytes`.
    TotalQueueFull,
    /// Queued, then pushed out of a full lane by a notification about an
    /// object with fewer notifications waiting (see `delivery::lanes`).
    Displaced,
    /// Queued or in flight when its Provider was deleted.
    ProviderDeleted,
    /// Queued or in flight when its Provider's spec changed (or rendered
    /// for a Provider that has changed since).
    ProviderChanged,
}

impl DropReason {
    /// Every reason, for rendering all series.
    pub const ALL: [DropReason; 5] = [
        Self::ProviderQueueFull,
        Self::TotalQueueFull,
        Self::Displaced,
        Self::ProviderDeleted,
        Self::ProviderChanged,
    ];

    /// The `reason` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProviderQueueFull => "provider_queue_full",
            Self::TotalQueueFull => "total_queue_full",
            Self::Displaced => "displaced",
            Self::ProviderDeleted => "provider_deleted",
            Self::ProviderChanged => "provider_changed",
        }
    }
}

/// Label `reason` of the drop counter; a closed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DropReasonLabel(pub DropReason);

impl EncodeLabelSet for DropReasonLabel {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        [("reason", self.0.as_str())].encode(encoder)
    }
}

/// The Provider type as spelled in `spec.type` (`slack`, `generic-hmac`, ...).
pub fn provider_type_name(provider_type: ProviderType) -> String {
    serde_json::to_value(provider_type)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Labels `provider_type`, `outcome` of the per-type delivery counters.
/// Both come from closed sets, so the number of series stays bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeliveryLabels {
    /// The Provider's `spec.type`.
    pub provider_type: ProviderType,
    /// How the notification ended.
    pub outcome: DeliveryOutcome,
}

impl EncodeLabelSet for DeliveryLabels {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        [
            (
                "provider_type",
                provider_type_name(self.provider_type).as_str(),
            ),
            ("outcome", self.outcome.as_str()),
        ]
        .encode(encoder)
    }
}

/// Label `provider_type` alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProviderTypeLabel(pub ProviderType);

impl EncodeLabelSet for ProviderTypeLabel {
    fn encode(&self, encoder: &mut LabelSetEncoder) -> Result<(), std::fmt::Error> {
        [("provider_type", provider_type_name(self.0).as_str())].encode(encoder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deliveries_count_in_totals_and_per_type() {
        let stats = Stats::default();
        stats.delivery(ProviderType::GenericHmac, DeliveryOutcome::Delivered);
        stats.delivery(ProviderType::Slack, DeliveryOutcome::Failed);
        stats.delivery(ProviderType::Slack, DeliveryOutcome::Dropped);
        let s = stats.snapshot();
        assert_eq!(
            (
                s.notifications_delivered,
                s.notifications_failed,
                s.notifications_dropped
            ),
            (1, 1, 1)
        );
        let slack_failed = stats
            .deliveries
            .get_or_create(&DeliveryLabels {
                provider_type: ProviderType::Slack,
                outcome: DeliveryOutcome::Failed,
            })
            .get();
        assert_eq!(slack_failed, 1);
        assert_eq!(
            provider_type_name(ProviderType::GenericHmac),
            "generic-hmac"
        );
    }
}
