//! De-duplication and per-object rate limiting of incoming events.
//!
//! Flux rate-limits events on a key made of the involved object, the message
//! and the revision metadata, allowing one event per key per
//! `--rate-limit-interval` (5 minutes by default): identical events within
//! the window are answered `429 Too Many Requests` and not forwarded.
//! Ferroflux does the same and, on top, caps how many distinct events one
//! object may send in a burst, so that a controller stuck in a loop of ever
//! changing messages cannot flood the chat services.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::event::{FluxEvent, META_ORIGIN_REVISION_KEY, META_REVISION_KEY, META_TOKEN_KEY};

/// Why an event was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// An identical event was accepted within the de-duplication window.
    Duplicate,
    /// The involved object sent more events than its burst allows.
    RateLimited,
}

/// Limits of [`Admission`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Identical events within this window are dropped (Flux's
    /// `--rate-limit-interval`); zero disables de-duplication.
    pub dedup_window: Duration,
    /// Events one involved object may send at once; zero disables the limit.
    pub object_burst: u32,
    /// Events per second one involved object regains after a burst.
    pub object_refill_per_sec: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            dedup_window: Duration::from_secs(300),
            object_burst: 30,
            object_refill_per_sec: 1.0,
        }
    }
}

/// The de-duplication key of an event, as Flux computes it: SHA-256 over the
/// involved object, the message and the revision/token metadata.
pub fn dedup_key(event: &FluxEvent) -> [u8; 32] {
    // Hashed piece by piece, so a large message is never copied.
    let o = &event.involved_object;
    let mut hash = Sha256::new();
    let mut first = true;
    let mut part = |pieces: &[&str]| {
        if !first {
            hash.update(b"/");
        }
        first = false;
        for p in pieces {
            hash.update(p.as_bytes());
        }
    };
    part(&["event"]);
    part(&["name=", &o.name]);
    part(&["namespace=", &o.namespace]);
    part(&["kind=", &o.kind]);
    part(&["message=", &event.message]);
    for (label, key) in [
        ("originRevision", META_ORIGIN_REVISION_KEY),
        ("revision", META_REVISION_KEY),
        ("token", META_TOKEN_KEY),
    ] {
        if let Some(value) = event.object_meta(key) {
            part(&[label, "=", value]);
        }
    }
    hash.finalize().into()
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

struct State {
    seen: HashMap<[u8; 32], Instant>,
    buckets: HashMap<String, Bucket>,
    last_sweep: Instant,
}

/// Decides which events go on: de-duplication first, then the per-object
/// token bucket. Memory is bounded by sweeping entries that no longer matter.
pub struct Admission {
    limits: Limits,
    state: Mutex<State>,
}

impl Admission {
    /// An admission with the given limits.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            state: Mutex::new(State {
                seen: HashMap::new(),
                buckets: HashMap::new(),
                last_sweep: Instant::now(),
            }),
        }
    }

    /// Admits `event` at `now`, or says why not. An event refused by the
    /// rate limit is not remembered as seen, so it may be sent again later.
    pub fn admit(&self, event: &FluxEvent, now: Instant) -> Result<(), Refusal> {
        let key = dedup_key(event);
        // A poisoned lock only means another request panicked mid-update;
        // the maps are still usable.
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.sweep(&mut state, now);
        let window = self.limits.dedup_window;
        if !window.is_zero()
            && let Some(at) = state.seen.get(&key)
            && now.saturating_duration_since(*at) < window
        {
            return Err(Refusal::Duplicate);
        }
        if self.limits.object_burst > 0 {
            let burst = f64::from(self.limits.object_burst);
            let rate = self.limits.object_refill_per_sec.max(0.0);
            let bucket = state.buckets.entry(object_key(event)).or_insert(Bucket {
                tokens: burst,
                updated: now,
            });
            let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
            bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
            bucket.updated = now;
            if bucket.tokens < 1.0 {
                return Err(Refusal::RateLimited);
            }
            bucket.tokens -= 1.0;
        }
        if !window.is_zero() {
            state.seen.insert(key, now);
        }
        Ok(())
    }

    /// Drops entries whose window has passed and buckets that are full
    /// again; runs at most once per window (or per minute).
    fn sweep(&self, state: &mut State, now: Instant) {
        let every = if self.limits.dedup_window.is_zero() {
            Duration::from_secs(60)
        } else {
            self.limits.dedup_window.min(Duration::from_secs(60))
        };
        if now.saturating_duration_since(state.last_sweep) < every {
            return;
        }
        state.last_sweep = now;
        let window = self.limits.dedup_window;
        state
            .seen
            .retain(|_, at| now.saturating_duration_since(*at) < window);
        let burst = f64::from(self.limits.object_burst);
        let rate = self.limits.object_refill_per_sec;
        state.buckets.retain(|_, b| {
            b.tokens + now.saturating_duration_since(b.updated).as_secs_f64() * rate < burst
        });
    }
}

fn object_key(event: &FluxEvent) -> String {
    let o = &event.involved_object;
    format!("{}/{}/{}/{}", o.api_version, o.kind, o.namespace, o.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, message: &str, revision: Option<&str>) -> FluxEvent {
        let mut metadata = serde_json::Map::new();
        if let Some(r) = revision {
            metadata.insert(
                "source.toolkit.fluxcd.io/revision".into(),
                serde_json::Value::String(r.into()),
            );
        }
        serde_json::from_value(serde_json::json!({
            "involvedObject": {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "namespace": "ns", "name": name},
            "severity": "info", "timestamp": "2024-01-01T00:00:00Z", "message": message,
            "reason": "Succeeded", "reportingController": "source-controller", "metadata": metadata,
        }))
        .unwrap()
    }

    #[test]
    fn identical_events_are_dropped_within_the_window_only() {
        let a = Admission::new(Limits {
            dedup_window: Duration::from_secs(300),
            object_burst: 0,
            object_refill_per_sec: 0.0,
        });
        let t0 = Instant::now();
        assert_eq!(a.admit(&event("a", "m", Some("r1")), t0), Ok(()));
        assert_eq!(
            a.admit(&event("a", "m", Some("r1")), t0 + Duration::from_secs(10)),
            Err(Refusal::Duplicate)
        );
        // A new revision, another object or another message is a new event.
        assert_eq!(a.admit(&event("a", "m", Some("r2")), t0), Ok(()));
        assert_eq!(a.admit(&event("b", "m", Some("r1")), t0), Ok(()));
        assert_eq!(a.admit(&event("a", "n", Some("r1")), t0), Ok(()));
        assert_eq!(
            a.admit(&event("a", "m", Some("r1")), t0 + Duration::from_secs(301)),
            Ok(())
        );
    }

    #[test]
    fn key_matches_flux_components() {
        let e = event("a", "m", Some("r1"));
        let expected: [u8; 32] =
            Sha256::digest(b"event/name=a/namespace=ns/kind=GitRepository/message=m/revision=r1")
                .into();
        assert_eq!(dedup_key(&e), expected);
    }

    #[test]
    fn per_object_burst_refills_over_time() {
        let a = Admission::new(Limits {
            dedup_window: Duration::from_secs(300),
            object_burst: 2,
            object_refill_per_sec: 1.0,
        });
        let t0 = Instant::now();
        assert_eq!(a.admit(&event("a", "1", None), t0), Ok(()));
        assert_eq!(a.admit(&event("a", "2", None), t0), Ok(()));
        assert_eq!(
            a.admit(&event("a", "3", None), t0),
            Err(Refusal::RateLimited)
        );
        // Other objects have their own bucket.
        assert_eq!(a.admit(&event("b", "3", None), t0), Ok(()));
        // A refused event was not remembered, so it passes once refilled.
        assert_eq!(
            a.admit(&event("a", "3", None), t0 + Duration::from_secs(1)),
            Ok(())
        );
    }
}
