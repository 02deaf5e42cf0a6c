//! De-duplication and per-object rate limiting of incoming events.
//!
//! Flux rate-limits events on a key made of the involved object, the message
//! and the revision metadata, allowing one event per key per
//! `--rate-limit-interval` (5 minutes by default): identical events within
//! the window are answered `429 Too Many Requests` and not forwarded.
//! Ferroflux does the same and, on top, caps how many distinct events one
//! object may send in a burst, so that a controller stuck in a loop of ever
//! changing messages cannot flood the chat services.
//!
//! Both are memory: one de-duplication key per distinct event for the
//! window, one bucket per object still refilling. Each map is capped at
//! [`Limits::max_tracked`] entries; past it, the oldest keys and the
//! buckets that have waited longest are forgotten, never the newcomer. So
//! a flood of events about many objects costs bounded memory and cannot
//! make intake refuse an event about another object; the price is that a
//! forgotten key or bucket lets an identical event (or a burst) through
//! once more.

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
    /// De-duplication keys, and separately per-object buckets, remembered
    /// at most (about 100 and 200 bytes each).
    pub max_tracked: usize,
}

/// Default of [`Limits::max_tracked`]: 100,000 keys (about 10 MB) and as
/// many buckets (about 20 MB), 20 distinct events a minute per object for
/// 1,000 objects over the default 5-minute window, five times over.
pub const DEFAULT_MAX_TRACKED: usize = 100_000;

impl Default for Limits {
    fn default() -> Self {
        Self {
            dedup_window: Duration::from_secs(300),
            object_burst: 30,
            object_refill_per_sec: 1.0,
            max_tracked: DEFAULT_MAX_TRACKED,
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
        self.cap(&mut state, now);
        Ok(())
    }

    /// Keeps each map within `max_tracked`: first what has expired, then
    /// the oldest keys and the longest-idle buckets, down to 3/4 of the cap
    /// (so the cost, a sort, comes once per quarter of the cap).
    fn cap(&self, state: &mut State, now: Instant) {
        let max = self.limits.max_tracked.max(4);
        if state.seen.len() <= max && state.buckets.len() <= max {
            return;
        }
        self.sweep_now(state, now);
        let keep = max - max / 4;
        if state.seen.len() > max {
            let mut times: Vec<Instant> = state.seen.values().copied().collect();
            let cut = times.len() - keep;
            let (_, nth, _) = times.select_nth_unstable(cut);
            let cutoff = *nth;
            state.seen.retain(|_, at| *at > cutoff);
            tracing::warn!(
                kept = state.seen.len(),
                max_tracked = max,
                "too many distinct events to remember within --rate-limit-interval; forgot the oldest"
            );
        }
        if state.buckets.len() > max {
            let mut times: Vec<Instant> = state.buckets.values().map(|b| b.updated).collect();
            let cut = times.len() - keep;
            let (_, nth, _) = times.select_nth_unstable(cut);
            let cutoff = *nth;
            state.buckets.retain(|_, b| b.updated > cutoff);
            tracing::warn!(
                kept = state.buckets.len(),
                max_tracked = max,
                "too many objects sending events to rate-limit each; forgot the longest idle"
            );
        }
    }

    fn sweep_every(&self) -> Duration {
        if self.limits.dedup_window.is_zero() {
            Duration::from_secs(60)
        } else {
            self.limits.dedup_window.min(Duration::from_secs(60))
        }
    }

    /// Entries remembered now: (de-duplication keys, buckets).
    pub fn tracked(&self) -> (usize, usize) {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        (state.seen.len(), state.buckets.len())
    }

    /// Drops entries whose window has passed and buckets that are full
    /// again; runs at most once per window (or per minute).
    fn sweep(&self, state: &mut State, now: Instant) {
        let every = self.sweep_every();
        if now.saturating_duration_since(state.last_sweep) < every {
            return;
        }
        self.sweep_now(state, now);
    }

    fn sweep_now(&self, state: &mut State, now: Instant) {
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
            max_tracked: DEFAULT_MAX_TRACKED,
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
            max_tracked: DEFAULT_MAX_TRACKED,
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

    #[test]
    fn a_flood_of_objects_is_bounded_and_never_shuts_out_a_new_one() {
        let a = Admission::new(Limits {
            max_tracked: 1000,
            ..Limits::default()
        });
        let t0 = Instant::now();
        // 20,000 distinct objects within one window, each at its limit.
        for i in 0..20_000 {
            let name = format!("flood-{i}");
            let at = t0 + Duration::from_millis(i);
            for m in 0..2 {
                assert_eq!(a.admit(&event(&name, &m.to_string(), None), at), Ok(()));
            }
            let (seen, buckets) = a.tracked();
            assert!(
                seen <= 1000 && buckets <= 1000,
                "{seen} keys, {buckets} buckets"
            );
        }
        let after = t0 + Duration::from_secs(21);
        assert_eq!(a.admit(&event("app", "real", Some("r1")), after), Ok(()));
        // The newest are still remembered: a duplicate of the real event,
        // or of the last flood event, is refused.
        assert_eq!(
            a.admit(&event("app", "real", Some("r1")), after),
            Err(Refusal::Duplicate)
        );
        assert_eq!(
            a.admit(&event("flood-19999", "1", None), after),
            Err(Refusal::Duplicate)
        );
        // The per-object limit still holds.
        let burst = Admission::new(Limits {
            object_burst: 1,
            max_tracked: 100,
            ..Limits::default()
        });
        assert_eq!(burst.admit(&event("noisy", "1", None), t0), Ok(()));
        for i in 0..50 {
            let at = t0 + Duration::from_millis(i);
            assert_eq!(
                burst.admit(&event(&format!("o-{i}"), "1", None), at),
                Ok(())
            );
        }
        assert_eq!(
            burst.admit(&event("noisy", "2", None), t0 + Duration::from_millis(60)),
            Err(Refusal::RateLimited)
        );
    }
}
