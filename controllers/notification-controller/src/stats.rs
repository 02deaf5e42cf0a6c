//! Counters of what the controller did, for tests, benchmarks and logs.

use std::sync::atomic::{AtomicU64, Ordering};

/// Running totals since start.
#[derive(Debug, Default)]
pub struct Stats {
    /// Events accepted by intake (answered 202).
    pub events_accepted: AtomicU64,
    /// Events refused as malformed (400).
    pub events_invalid: AtomicU64,
    /// Events refused as duplicates or over the per-object limit (429).
    pub events_rate_limited: AtomicU64,
    /// Events refused because the matching queue was full (503).
    pub events_dropped: AtomicU64,
    /// Accepted events whose Alert matching has finished.
    pub events_processed: AtomicU64,
    /// Notifications queued for delivery.
    pub notifications_queued: AtomicU64,
    /// Notifications that could not be queued (the Provider's lane was full).
    pub notifications_dropped: AtomicU64,
    /// Notifications delivered.
    pub notifications_delivered: AtomicU64,
    /// Notifications given up on after their retries.
    pub notifications_failed: AtomicU64,
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
    /// See [`Stats::events_dropped`].
    pub events_dropped: u64,
    /// See [`Stats::events_processed`].
    pub events_processed: u64,
    /// See [`Stats::notifications_queued`].
    pub notifications_queued: u64,
    /// See [`Stats::notifications_dropped`].
    pub notifications_dropped: u64,
    /// See [`Stats::notifications_delivered`].
    pub notifications_delivered: u64,
    /// See [`Stats::notifications_failed`].
    pub notifications_failed: u64,
}

impl Snapshot {
    /// Whether every accepted event has been matched and every queued
    /// notification has been delivered or given up on.
    pub fn is_settled(&self) -> bool {
        self.events_processed == self.events_accepted
            && self.notifications_delivered + self.notifications_failed == self.notifications_queued
    }
}

impl Stats {
    /// Adds one to `counter`.
    pub fn inc(&self, counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::SeqCst);
    }

    /// The current totals.
    pub fn snapshot(&self) -> Snapshot {
        let get = |c: &AtomicU64| c.load(Ordering::SeqCst);
        Snapshot {
            events_accepted: get(&self.events_accepted),
            events_invalid: get(&self.events_invalid),
            events_rate_limited: get(&self.events_rate_limited),
            events_dropped: get(&self.events_dropped),
            events_processed: get(&self.events_processed),
            notifications_queued: get(&self.notifications_queued),
            notifications_dropped: get(&self.notifications_dropped),
            notifications_delivered: get(&self.notifications_delivered),
            notifications_failed: get(&self.notifications_failed),
        }
    }
}
