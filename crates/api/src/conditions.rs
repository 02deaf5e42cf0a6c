//! Status conditions as Flux uses them (`Ready`, `Reconciling`, `Stalled`, ...).
//!
//! Every kind keeps a list of `metav1.Condition`. The helpers here set one
//! condition at a time and keep `lastTransitionTime` unchanged unless the
//! condition's status actually flips, as Kubernetes' API conventions ask.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

/// The object's overall health: True when the last reconcile succeeded.
pub const READY: &str = "Ready";
/// True while a reconcile is in progress ("abnormal-true" polarity).
pub const RECONCILING: &str = "Reconciling";
/// True when reconciling cannot succeed without a spec change ("abnormal-true").
pub const STALLED: &str = "Stalled";
/// True when the applied workloads pass health checks.
pub const HEALTHY: &str = "Healthy";
/// True when the source's artifact is in storage.
pub const ARTIFACT_IN_STORAGE: &str = "ArtifactInStorage";
/// True when an artifact failed to be fetched ("abnormal-true").
pub const FETCH_FAILED: &str = "FetchFailed";
/// True when the source's signature was verified.
pub const SOURCE_VERIFIED: &str = "SourceVerified";
/// True when an artifact is outdated and a new one is being produced ("abnormal-true").
pub const ARTIFACT_OUTDATED: &str = "ArtifactOutdated";
/// True when storage operations failed ("abnormal-true").
pub const STORAGE_OPERATION_FAILED: &str = "StorageOperationFailed";
/// True when a Helm release was installed or upgraded.
pub const RELEASED: &str = "Released";
/// True when a Helm release was rolled back or uninstalled after a failure.
pub const REMEDIATED: &str = "Remediated";
/// True when Helm tests passed.
pub const TEST_SUCCESS: &str = "TestSuccess";

/// Well-known condition reasons (Flux's `meta` package).
pub mod reasons {
    /// The reconcile succeeded.
    pub const SUCCEEDED: &str = "Succeeded";
    /// The reconcile failed.
    pub const FAILED: &str = "Failed";
    /// A reconcile is in progress.
    pub const PROGRESSING: &str = "Progressing";
    /// A reconcile is in progress after an earlier failure.
    pub const PROGRESSING_WITH_RETRY: &str = "ProgressingWithRetry";
    /// The object is suspended.
    pub const SUSPENDED: &str = "Suspended";
    /// A dependency is not ready.
    pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
    /// A path in the spec is invalid.
    pub const INVALID_PATH: &str = "InvalidPath";
    /// A URL in the spec is invalid.
    pub const INVALID_URL: &str = "InvalidURL";
    /// Insecure connections are disallowed.
    pub const INSECURE_CONNECTIONS_DISALLOWED: &str = "InsecureConnectionsDisallowed";
    /// The connection type is not supported.
    pub const UNSUPPORTED_CONNECTION_TYPE: &str = "UnsupportedConnectionType";
    /// Pruning failed.
    pub const PRUNE_FAILED: &str = "PruneFailed";
    /// An artifact could not be fetched or produced.
    pub const ARTIFACT_FAILED: &str = "ArtifactFailed";
    /// A build failed.
    pub const BUILD_FAILED: &str = "BuildFailed";
    /// Health checks failed.
    pub const HEALTH_CHECK_FAILED: &str = "HealthCheckFailed";
    /// Health checks were canceled.
    pub const HEALTH_CHECK_CANCELED: &str = "HealthCheckCanceled";
    /// The reconcile succeeded (kustomize/helm flavour).
    pub const RECONCILIATION_SUCCEEDED: &str = "ReconciliationSucceeded";
    /// The reconcile failed (kustomize/helm flavour).
    pub const RECONCILIATION_FAILED: &str = "ReconciliationFailed";
    /// A CEL expression is invalid.
    pub const INVALID_CEL_EXPRESSION: &str = "InvalidCELExpression";
    /// A feature gate is disabled.
    pub const FEATURE_GATE_DISABLED: &str = "FeatureGateDisabled";
    /// A Git operation failed.
    pub const GIT_OPERATION_FAILED: &str = "GitOperationFailed";
    /// A Git operation succeeded.
    pub const GIT_OPERATION_SUCCEEDED: &str = "GitOperationSucceeded";
    /// Authentication to the source failed.
    pub const AUTHENTICATION_FAILED: &str = "AuthenticationFailed";
    /// A storage operation failed.
    pub const STORAGE_OPERATION_FAILED: &str = "StorageOperationFailed";
    /// A new revision was found upstream.
    pub const NEW_REVISION: &str = "NewRevision";
    /// The referenced source is not found or has no artifact.
    pub const ARTIFACT_NOT_READY: &str = "ArtifactNotReady";
    /// Access to a referenced object was denied.
    pub const ACCESS_DENIED: &str = "AccessDenied";
}

/// The value of a condition's `status` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// `"True"`
    True,
    /// `"False"`
    False,
    /// `"Unknown"`
    Unknown,
}

impl Status {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::True => "True",
            Status::False => "False",
            Status::Unknown => "Unknown",
        }
    }
}

impl From<bool> for Status {
    fn from(value: bool) -> Self {
        if value { Status::True } else { Status::False }
    }
}

/// Access to the conditions (and generation bookkeeping) of an object's status.
pub trait ObjectWithConditions {
    /// The current conditions.
    fn conditions(&self) -> &[Condition];
    /// The conditions, creating an empty status first if needed.
    fn conditions_mut(&mut self) -> &mut Vec<Condition>;
}

/// What every reconciled kind exposes to the shared controller runtime.
pub trait FluxObject: ObjectWithConditions {
    /// How often the object is reconciled (`None`: only on change).
    fn interval(&self) -> Option<std::time::Duration>;
    /// How soon a failed reconcile is retried, for kinds with a
    /// `spec.retryInterval` (`None`: the runtime's backoff).
    fn retry_interval(&self) -> Option<std::time::Duration> {
        None
    }
    /// Whether `spec.suspend` is set.
    fn suspended(&self) -> bool;
    /// `status.observedGeneration`.
    fn observed_generation(&self) -> Option<i64>;
    /// Sets `status.observedGeneration`.
    fn set_observed_generation(&mut self, generation: Option<i64>);
    /// `status.lastHandledReconcileAt`.
    fn last_handled_reconcile_at(&self) -> Option<&str>;
    /// Sets `status.lastHandledReconcileAt`.
    fn set_last_handled_reconcile_at(&mut self, value: Option<String>);
}

/// The condition of `type_`, if present.
pub fn get<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Whether the condition of `type_` is present with status `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    get(conditions, type_).is_some_and(|c| c.status == "True")
}

/// Whether the condition of `type_` is present with status `False`.
pub fn is_false(conditions: &[Condition], type_: &str) -> bool {
    get(conditions, type_).is_some_and(|c| c.status == "False")
}

/// Whether `Ready` is True and was computed for `generation`.
pub fn is_ready_at(conditions: &[Condition], generation: Option<i64>) -> bool {
    get(conditions, READY).is_some_and(|c| {
        c.status == "True" && (generation.is_none() || c.observed_generation == generation)
    })
}

/// The current time as a Kubernetes timestamp (second precision, as the API server stores it).
pub fn now() -> Time {
    let secs = Timestamp::now().as_second();
    Time(Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH))
}

/// Sets (adds or replaces) the condition of `type_`.
///
/// `lastTransitionTime` is kept when the status does not change, and set to
/// `at` when it does. Returns whether anything observable changed.
pub fn set(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: impl Into<Status>,
    reason: &str,
    message: &str,
    observed_generation: Option<i64>,
    at: Time,
) -> bool {
    let status = status.into().as_str();
    let reason = if reason.is_empty() {
        reasons::PROGRESSING
    } else {
        reason
    };
    if let Some(existing) = conditions.iter_mut().find(|c| c.type_ == type_) {
        let changed = existing.status != status
            || existing.reason != reason
            || existing.message != message
            || existing.observed_generation != observed_generation;
        if existing.status != status {
            existing.last_transition_time = at;
        }
        existing.status = status.to_string();
        existing.reason = reason.to_string();
        existing.message = message.to_string();
        existing.observed_generation = observed_generation;
        return changed;
    }
    conditions.push(Condition {
        type_: type_.to_string(),
        status: status.to_string(),
        reason: reason.to_string(),
        message: message.to_string(),
        observed_generation,
        last_transition_time: at,
    });
    conditions.sort_by(|a, b| order_key(&a.type_).cmp(&order_key(&b.type_)));
    true
}

/// Removes the condition of `type_`; returns whether one was removed.
pub fn remove(conditions: &mut Vec<Condition>, type_: &str) -> bool {
    let before = conditions.len();
    conditions.retain(|c| c.type_ != type_);
    before != conditions.len()
}

/// Flux lists `Ready` first, then the abnormal-true summary conditions, then
/// the rest alphabetically; a stable order keeps status patches minimal.
fn order_key(type_: &str) -> (u8, &str) {
    match type_ {
        READY => (0, type_),
        RECONCILING => (1, type_),
        STALLED => (2, type_),
        _ => (3, type_),
    }
}

/// Marks the object reconciling: `Reconciling=True` and `Ready=Unknown`.
pub fn mark_reconciling(
    conditions: &mut Vec<Condition>,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    at: Time,
) -> bool {
    let a = set(
        conditions,
        RECONCILING,
        Status::True,
        reason,
        message,
        generation,
        at.clone(),
    );
    let b = set(
        conditions,
        READY,
        Status::Unknown,
        reason,
        message,
        generation,
        at,
    );
    a | b
}

/// Marks the object ready: `Ready=True`, clearing `Reconciling` and `Stalled`.
pub fn mark_ready(
    conditions: &mut Vec<Condition>,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    at: Time,
) -> bool {
    let a = set(
        conditions,
        READY,
        Status::True,
        reason,
        message,
        generation,
        at,
    );
    let b = remove(conditions, RECONCILING);
    let c = remove(conditions, STALLED);
    a | b | c
}

/// Marks a failure that may heal by itself: `Ready=False`, clearing `Reconciling`.
pub fn mark_failed(
    conditions: &mut Vec<Condition>,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    at: Time,
) -> bool {
    let a = set(
        conditions,
        READY,
        Status::False,
        reason,
        message,
        generation,
        at,
    );
    let b = remove(conditions, RECONCILING);
    let c = remove(conditions, STALLED);
    a | b | c
}

/// Marks a failure that needs a spec change: `Ready=False` and `Stalled=True`.
pub fn mark_stalled(
    conditions: &mut Vec<Condition>,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    at: Time,
) -> bool {
    let a = set(
        conditions,
        READY,
        Status::False,
        reason,
        message,
        generation,
        at.clone(),
    );
    let b = set(
        conditions,
        STALLED,
        Status::True,
        reason,
        message,
        generation,
        at,
    );
    let c = remove(conditions, RECONCILING);
    a | b | c
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Time {
        Time(Timestamp::from_second(secs).unwrap())
    }

    #[test]
    fn transition_time_changes_only_with_status() {
        let mut conds = Vec::new();
        assert!(set(
            &mut conds,
            READY,
            false,
            "Failed",
            "boom",
            Some(1),
            at(100)
        ));
        // Same status, new message: changed, but the transition time stays.
        assert!(set(
            &mut conds,
            READY,
            false,
            "Failed",
            "boom again",
            Some(2),
            at(200)
        ));
        let c = get(&conds, READY).unwrap();
        assert_eq!(c.last_transition_time, at(100));
        assert_eq!(c.message, "boom again");
        assert_eq!(c.observed_generation, Some(2));
        // Nothing changed at all: reported as unchanged.
        assert!(!set(
            &mut conds,
            READY,
            false,
            "Failed",
            "boom again",
            Some(2),
            at(300)
        ));
        assert_eq!(get(&conds, READY).unwrap().last_transition_time, at(100));
        // Status flips: transition time moves.
        assert!(set(
            &mut conds,
            READY,
            true,
            "Succeeded",
            "ok",
            Some(2),
            at(400)
        ));
        let c = get(&conds, READY).unwrap();
        assert_eq!(c.last_transition_time, at(400));
        assert_eq!(c.status, "True");
        assert_eq!(c.reason, "Succeeded");
    }

    #[test]
    fn summary_helpers_keep_flux_polarity() {
        let mut conds = Vec::new();
        mark_reconciling(&mut conds, reasons::PROGRESSING, "working", Some(3), at(1));
        assert!(is_true(&conds, RECONCILING));
        assert_eq!(get(&conds, READY).unwrap().status, "Unknown");

        mark_stalled(&mut conds, "InvalidSemVer", "bad range", Some(3), at(2));
        assert!(is_true(&conds, STALLED));
        assert!(is_false(&conds, READY));
        assert!(get(&conds, RECONCILING).is_none());

        mark_ready(
            &mut conds,
            reasons::SUCCEEDED,
            "stored artifact",
            Some(3),
            at(3),
        );
        assert!(is_ready_at(&conds, Some(3)));
        assert!(!is_ready_at(&conds, Some(4)));
        assert!(get(&conds, STALLED).is_none());
        assert_eq!(conds.len(), 1);
    }

    #[test]
    fn ready_is_listed_first() {
        let mut conds = Vec::new();
        set(
            &mut conds,
            ARTIFACT_IN_STORAGE,
            true,
            "Succeeded",
            "",
            None,
            at(1),
        );
        set(&mut conds, STALLED, true, "X", "", None, at(1));
        set(&mut conds, READY, false, "X", "", None, at(1));
        let order: Vec<_> = conds.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(order, [READY, STALLED, ARTIFACT_IN_STORAGE]);
    }

    #[test]
    fn empty_reason_is_replaced() {
        // The API server rejects conditions with an empty reason.
        let mut conds = Vec::new();
        set(&mut conds, READY, Status::Unknown, "", "", None, at(1));
        assert_eq!(conds[0].reason, reasons::PROGRESSING);
    }
}
