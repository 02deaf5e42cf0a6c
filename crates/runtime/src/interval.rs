//! Bounds on how often an object is reconciled.
//!
//! The API accepts any interval that matches Flux's pattern, including `0s`
//! (a reconcile loop that never sleeps: one object can saturate a core) and
//! values so large that a timer cannot hold them. Every requeue the runtime
//! schedules goes through [`bounded`], and an object whose `spec.interval` or
//! `spec.retryInterval` was moved gets an [`INTERVAL_ADJUSTED`] condition
//! saying what was done, so the user sees why it runs at another pace.

use std::time::Duration;

use ferroflux_api::conditions::{self, FluxObject};

/// The shortest time between two reconciles of one object.
pub const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// The longest time between two reconciles of one object (30 days).
pub const MAX_INTERVAL: Duration = Duration::from_secs(30 * 24 * 3600);

/// The condition set while an interval of the spec is outside the bounds.
pub const INTERVAL_ADJUSTED: &str = "IntervalAdjusted";
/// Reason: an interval was raised to [`MIN_INTERVAL`].
pub const INTERVAL_TOO_SHORT: &str = "IntervalTooShort";
/// Reason: an interval was lowered to [`MAX_INTERVAL`].
pub const INTERVAL_TOO_LONG: &str = "IntervalTooLong";

/// `d` moved into `[MIN_INTERVAL, MAX_INTERVAL]`.
pub fn bounded(d: Duration) -> Duration {
    d.clamp(MIN_INTERVAL, MAX_INTERVAL)
}

/// What was done to the object's intervals, as (reason, message), or `None`
/// when they are within bounds.
pub fn adjustment<K: FluxObject>(obj: &K) -> Option<(&'static str, String)> {
    let fields = [
        ("spec.interval", obj.interval()),
        ("spec.retryInterval", obj.retry_interval()),
    ];
    let mut reason = None;
    let mut notes = Vec::new();
    for (field, value) in fields {
        let Some(value) = value else { continue };
        if value < MIN_INTERVAL {
            reason.get_or_insert(INTERVAL_TOO_SHORT);
            notes.push(format!(
                "{field} {} is below the minimum; {} is used",
                show(value),
                show(MIN_INTERVAL)
            ));
        } else if value > MAX_INTERVAL {
            reason.get_or_insert(INTERVAL_TOO_LONG);
            notes.push(format!(
                "{field} {} is above the maximum; {} is used",
                show(value),
                show(MAX_INTERVAL)
            ));
        }
    }
    reason.map(|r| (r, notes.join("; ")))
}

/// Records [`adjustment`] as the [`INTERVAL_ADJUSTED`] condition, or removes
/// the condition once the intervals are within bounds again.
pub fn record_adjustment<K: FluxObject>(obj: &mut K, generation: Option<i64>) {
    match adjustment(obj) {
        Some((reason, message)) => {
            conditions::set(
                obj.conditions_mut(),
                INTERVAL_ADJUSTED,
                true,
                reason,
                &message,
                generation,
                conditions::now(),
            );
        }
        None => {
            if conditions::get(obj.conditions(), INTERVAL_ADJUSTED).is_some() {
                conditions::remove(obj.conditions_mut(), INTERVAL_ADJUSTED);
            }
        }
    }
}

/// A duration as a person reads it (`0s`, `1s`, `720h`, `87600h`).
fn show(d: Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_millis() > 0 && secs == 0 {
        format!("{}ms", d.subsec_millis())
    } else if secs >= 3600 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferroflux_api::conditions::ObjectWithConditions;
    use ferroflux_api::kustomize::v1::Kustomization;

    fn ks(interval: &str, retry: Option<&str>) -> Kustomization {
        let mut spec = serde_json::json!({
            "interval": interval,
            "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": "r"},
        });
        if let Some(r) = retry {
            spec["retryInterval"] = r.into();
        }
        serde_json::from_value(serde_json::json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": "k", "namespace": "ns"},
            "spec": spec,
        }))
        .unwrap()
    }

    #[test]
    fn bounds_every_requeue() {
        assert_eq!(bounded(Duration::ZERO), MIN_INTERVAL);
        assert_eq!(bounded(Duration::from_millis(10)), MIN_INTERVAL);
        assert_eq!(bounded(Duration::from_secs(60)), Duration::from_secs(60));
        assert_eq!(bounded(ferroflux_api::Duration::SATURATION), MAX_INTERVAL);
    }

    #[test]
    fn names_what_was_adjusted() {
        assert_eq!(adjustment(&ks("5m", None)), None);
        let (reason, message) = adjustment(&ks("0s", None)).unwrap();
        assert_eq!(reason, INTERVAL_TOO_SHORT);
        assert_eq!(message, "spec.interval 0s is below the minimum; 1s is used");
        let (reason, message) = adjustment(&ks("99999999999999999999h", Some("10ms"))).unwrap();
        assert_eq!(reason, INTERVAL_TOO_LONG);
        assert_eq!(
            message,
            "spec.interval 87600h is above the maximum; 720h is used; \
             spec.retryInterval 10ms is below the minimum; 1s is used"
        );
    }

    #[test]
    fn the_condition_comes_and_goes() {
        let mut k = ks("0s", None);
        record_adjustment(&mut k, Some(1));
        let c = conditions::get(k.conditions(), INTERVAL_ADJUSTED).unwrap();
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("True", INTERVAL_TOO_SHORT)
        );
        k.spec.interval = "1m".parse().unwrap();
        record_adjustment(&mut k, Some(2));
        assert!(conditions::get(k.conditions(), INTERVAL_ADJUSTED).is_none());
    }
}
