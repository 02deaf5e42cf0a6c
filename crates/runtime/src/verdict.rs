//! How a reconcile ended, and the one place that turns that into
//! conditions, a requeue and events.
//!
//! A reconciler's steps return a [`Verdict`]: ready, waiting on something
//! else, or failed (stalled or not). [`record`] writes it into the
//! object's `Ready`/`Reconciling`/`Stalled` conditions and says when to run
//! again; [`conclude`] does the same and publishes the event that goes with
//! it. An error event is published only when its message is new (not the
//! message `Ready=False` already carries), so an object failing the same way
//! at every retry does not flood the event sinks.

use std::collections::BTreeMap;
use std::time::Duration;

use ferroflux_api::conditions::{self, FluxObject, Status, reasons};
use kube::Resource;

use crate::controller::{Outcome, ReconcileError};
use crate::events::{Recorder, Severity};

/// How a reconcile ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Everything is as the spec says.
    Ready(Ready),
    /// Waiting on something outside the object (a source, a dependency):
    /// `Ready=False`, no error event, looked at again after a while.
    Waiting(Waiting),
    /// Failed.
    Failed(Failure),
}

/// What a step of a reconcile returns: its value, or the verdict that ends
/// the reconcile early (so steps chain with `?`).
pub type Step<T> = Result<T, Verdict>;

/// Success: `Ready=True` with this reason and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    /// The `Ready` condition's reason.
    pub reason: String,
    /// The `Ready` condition's message.
    pub message: String,
    /// When to reconcile again.
    pub requeue: Outcome,
    /// An event to publish (the reconciler knows when something new
    /// happened: a new artifact, a new revision applied). Boxed: it is
    /// rare, and keeps verdicts small enough to return as errors.
    pub announce: Option<Box<Announcement>>,
}

/// An informational event that goes with a [`Ready`] verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// The event's reason.
    pub reason: String,
    /// The event's message.
    pub message: String,
    /// The event's metadata (`revision`, ...).
    pub metadata: BTreeMap<String, String>,
}

/// Waiting on something else: `Ready=False` without an error event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    /// The `Ready` condition's reason.
    pub reason: String,
    /// The `Ready` condition's message.
    pub message: String,
    /// When to look again (a watch may wake the object sooner).
    pub after: Duration,
    /// The work is under way (a source about to publish its artifact,
    /// health checks running): `Reconciling=True` and `Ready=Unknown`
    /// instead of `Ready=False`.
    pub reconciling: bool,
}

/// A failure, with the reason Flux reports for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The `Ready` condition's (and the event's) reason.
    pub reason: String,
    /// What went wrong (never a secret).
    pub message: String,
    /// Cannot heal without a change to the spec: `Stalled=True`.
    pub stalled: bool,
    /// When to try again.
    pub retry: Retry,
    /// Also set `Reconciling=True` (`ProgressingWithRetry`): the failure is
    /// expected to heal by itself and the controller keeps trying.
    pub retrying: bool,
    /// The revision the failure happened at, for the event's metadata.
    pub revision: Option<String>,
}

/// When a failed object is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// With the runtime's exponential backoff (an error of the reconcile).
    Backoff,
    /// After this long (e.g. `spec.retryInterval`), as an error.
    After(Duration),
    /// At the object's interval, not as an error (stalled on something
    /// outside the spec, such as a Secret, that may change unseen).
    Interval,
    /// Only when the object changes (stalled on its spec).
    OnChange,
}

impl Verdict {
    /// Ready, reconciled again at the interval, no event.
    pub fn ready(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Ready(Ready {
            reason: reason.into(),
            message: message.into(),
            requeue: Outcome::Interval,
            announce: None,
        })
    }

    /// Waiting on something else; looked at again after `after`.
    pub fn waiting(reason: impl Into<String>, message: impl Into<String>, after: Duration) -> Self {
        Self::Waiting(Waiting {
            reason: reason.into(),
            message: message.into(),
            after,
            reconciling: false,
        })
    }

    /// A wait on work under way: `Reconciling=True` and `Ready=Unknown`
    /// with this reason and message, no event; looked at again after
    /// `after` unless a watch wakes the object first.
    pub fn progressing(
        reason: impl Into<String>,
        message: impl Into<String>,
        after: Duration,
    ) -> Self {
        Self::Waiting(Waiting {
            reason: reason.into(),
            message: message.into(),
            after,
            reconciling: true,
        })
    }

    /// Whether this verdict is a wait.
    pub fn is_waiting(&self) -> bool {
        matches!(self, Self::Waiting(_))
    }

    /// A failure that may heal by itself, retried with backoff.
    pub fn failed(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Failed(Failure {
            reason: reason.into(),
            message: message.into(),
            stalled: false,
            retry: Retry::Backoff,
            retrying: false,
            revision: None,
        })
    }

    /// A failure that needs a spec change, tried again only on a change.
    pub fn stalled(reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Failed(Failure {
            reason: reason.into(),
            message: message.into(),
            stalled: true,
            retry: Retry::OnChange,
            retrying: false,
            revision: None,
        })
    }

    /// A ready verdict requeued by `requeue` instead of the interval
    /// (no effect on other verdicts).
    pub fn requeue(mut self, requeue: Outcome) -> Self {
        if let Self::Ready(r) = &mut self {
            r.requeue = requeue;
        }
        self
    }

    /// A ready verdict that publishes `announcement` (no effect on others).
    pub fn announce(mut self, announcement: Announcement) -> Self {
        if let Self::Ready(r) = &mut self {
            r.announce = Some(Box::new(announcement));
        }
        self
    }

    /// A failure retried by `retry` (no effect on other verdicts).
    pub fn retry(mut self, retry: Retry) -> Self {
        if let Self::Failed(f) = &mut self {
            f.retry = retry;
        }
        self
    }

    /// A failure that also says `Reconciling=True` (no effect on others).
    pub fn retrying(mut self) -> Self {
        if let Self::Failed(f) = &mut self {
            f.retrying = true;
        }
        self
    }

    /// A failure at `revision` (no effect on other verdicts).
    pub fn at_revision(mut self, revision: Option<String>) -> Self {
        if let Self::Failed(f) = &mut self {
            f.revision = revision;
        }
        self
    }

    /// The failure, if this is one.
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Self::Failed(f) => Some(f),
            _ => None,
        }
    }

    /// The failure, if this is one, to adjust it.
    pub fn failure_mut(&mut self) -> Option<&mut Failure> {
        match self {
            Self::Failed(f) => Some(f),
            _ => None,
        }
    }

    /// The `Ready` condition's reason this verdict sets.
    pub fn reason(&self) -> &str {
        match self {
            Self::Ready(r) => &r.reason,
            Self::Waiting(w) => &w.reason,
            Self::Failed(f) => &f.reason,
        }
    }

    /// The `Ready` condition's message this verdict sets.
    pub fn message(&self) -> &str {
        match self {
            Self::Ready(r) => &r.message,
            Self::Waiting(w) => &w.message,
            Self::Failed(f) => &f.message,
        }
    }
}

/// An event [`record`] found due, to publish with [`publish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// Info or error.
    pub severity: Severity,
    /// The event's reason.
    pub reason: String,
    /// The event's message.
    pub message: String,
    /// The event's metadata.
    pub metadata: BTreeMap<String, String>,
}

/// What [`record`] leaves to the caller: when to run again and which
/// event to publish.
#[derive(Debug)]
pub struct Recorded {
    /// The reconcile's result for the runtime loop.
    pub result: Result<Outcome, ReconcileError>,
    /// The event to publish, if one is due.
    pub event: Option<Due>,
}

/// Writes `verdict` into `obj`'s conditions and works out the requeue and
/// the event due. The one place where a verdict becomes conditions.
pub fn record<K>(obj: &mut K, verdict: Verdict) -> Recorded
where
    K: Resource + FluxObject,
{
    let generation = obj.meta().generation;
    let now = conditions::now();
    match verdict {
        Verdict::Ready(r) => {
            conditions::mark_ready(obj.conditions_mut(), &r.reason, &r.message, generation, now);
            Recorded {
                result: Ok(r.requeue),
                event: r.announce.map(|a| {
                    let Announcement {
                        reason,
                        message,
                        metadata,
                    } = *a;
                    Due {
                        severity: Severity::Info,
                        reason,
                        message,
                        metadata,
                    }
                }),
            }
        }
        Verdict::Waiting(w) => {
            let conds = obj.conditions_mut();
            if w.reconciling {
                conditions::mark_reconciling(conds, &w.reason, &w.message, generation, now);
                conditions::remove(conds, conditions::STALLED);
            } else {
                conditions::mark_failed(conds, &w.reason, &w.message, generation, now);
            }
            Recorded {
                result: Ok(Outcome::After(w.after)),
                event: None,
            }
        }
        Verdict::Failed(f) => {
            let is_new = conditions::get(obj.conditions(), conditions::READY)
                .filter(|c| c.status == "False")
                .is_none_or(|c| c.message != f.message);
            let conds = obj.conditions_mut();
            if f.stalled {
                conditions::mark_stalled(conds, &f.reason, &f.message, generation, now.clone());
            } else {
                conditions::mark_failed(conds, &f.reason, &f.message, generation, now.clone());
            }
            if f.retrying {
                conditions::set(
                    conds,
                    conditions::RECONCILING,
                    Status::True,
                    reasons::PROGRESSING_WITH_RETRY,
                    &f.message,
                    generation,
                    now,
                );
            }
            let mut metadata = BTreeMap::new();
            if let Some(r) = f.revision.filter(|r| !r.is_empty()) {
                metadata.insert("revision".to_string(), r);
            }
            let event = is_new.then(|| Due {
                severity: Severity::Error,
                reason: f.reason.clone(),
                message: f.message.clone(),
                metadata,
            });
            let result = match f.retry {
                Retry::Backoff => Err(ReconcileError::new(f.message)),
                Retry::After(after) => Err(ReconcileError::retry_after(f.message, after)),
                Retry::Interval => Ok(Outcome::Interval),
                Retry::OnChange => Ok(Outcome::AwaitChange),
            };
            Recorded { result, event }
        }
    }
}

/// Publishes an event [`record`] found due.
pub async fn publish<K>(recorder: &Recorder, obj: &K, due: Due)
where
    K: Resource<DynamicType = ()>,
{
    recorder
        .publish(obj, due.severity, &due.reason, &due.message, due.metadata)
        .await;
}

/// [`record`], then publishes the event due through `recorder`.
pub async fn conclude<K>(
    obj: &mut K,
    verdict: Verdict,
    recorder: &Recorder,
) -> Result<Outcome, ReconcileError>
where
    K: Resource<DynamicType = ()> + FluxObject,
{
    let recorded = record(obj, verdict);
    if let Some(due) = recorded.event {
        publish(recorder, &*obj, due).await;
    }
    recorded.result
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferroflux_api::conditions::ObjectWithConditions;
    use ferroflux_api::source::v1::GitRepository;

    fn repo() -> GitRepository {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": "r", "namespace": "ns", "generation": 3},
            "spec": {"url": "https://example.com/r", "interval": "1m"},
        }))
        .unwrap()
    }

    fn status_of<'a>(obj: &'a GitRepository, type_: &str) -> Option<(&'a str, &'a str)> {
        conditions::get(obj.conditions(), type_).map(|c| (c.status.as_str(), c.reason.as_str()))
    }

    #[test]
    fn an_error_event_only_when_the_message_is_new() {
        let mut obj = repo();
        let first = record(&mut obj, Verdict::failed("GitOperationFailed", "no route"));
        assert!(first.event.is_some());
        assert!(first.result.is_err());
        let again = record(&mut obj, Verdict::failed("GitOperationFailed", "no route"));
        assert!(again.event.is_none());
        let other = record(&mut obj, Verdict::failed("GitOperationFailed", "refused"));
        assert_eq!(other.event.unwrap().severity, Severity::Error);
    }

    #[test]
    fn stalled_sets_stalled_and_waits_for_a_change() {
        let mut obj = repo();
        let r = record(&mut obj, Verdict::stalled("InvalidURL", "bad url"));
        assert_eq!(r.result.unwrap(), Outcome::AwaitChange);
        assert_eq!(
            status_of(&obj, conditions::STALLED),
            Some(("True", "InvalidURL"))
        );
        assert_eq!(
            status_of(&obj, conditions::READY),
            Some(("False", "InvalidURL"))
        );
        let r = record(&mut obj, Verdict::ready("Succeeded", "stored"));
        assert_eq!(r.result.unwrap(), Outcome::Interval);
        assert!(r.event.is_none());
        assert_eq!(status_of(&obj, conditions::STALLED), None);
        assert_eq!(
            status_of(&obj, conditions::READY),
            Some(("True", "Succeeded"))
        );
    }

    #[test]
    fn waiting_and_retrying() {
        let mut obj = repo();
        let r = record(
            &mut obj,
            Verdict::waiting("DependencyNotReady", "waiting", Duration::from_secs(5)),
        );
        assert_eq!(r.result.unwrap(), Outcome::After(Duration::from_secs(5)));
        assert!(r.event.is_none());
        let r = record(
            &mut obj,
            Verdict::failed("TokenNotFound", "no token")
                .retrying()
                .retry(Retry::After(Duration::from_secs(30)))
                .at_revision(Some("main@sha1:abc".into())),
        );
        let err = r.result.unwrap_err();
        assert_eq!(err.retry_after, Some(Duration::from_secs(30)));
        assert_eq!(
            status_of(&obj, conditions::RECONCILING),
            Some(("True", reasons::PROGRESSING_WITH_RETRY))
        );
        let event = r.event.unwrap();
        assert_eq!(event.metadata["revision"], "main@sha1:abc");
    }

    #[test]
    fn progressing_is_reconciling_without_an_event() {
        let mut obj = repo();
        let r = record(
            &mut obj,
            Verdict::progressing("Progressing", "waiting for source", Duration::from_secs(9)),
        );
        assert_eq!(r.result.unwrap(), Outcome::After(Duration::from_secs(9)));
        assert!(r.event.is_none());
        assert_eq!(
            status_of(&obj, conditions::RECONCILING),
            Some(("True", "Progressing"))
        );
        assert_eq!(
            status_of(&obj, conditions::READY),
            Some(("Unknown", "Progressing"))
        );
        // A failure after it is new, so it has its event.
        let r = record(&mut obj, Verdict::failed("ArtifactFailed", "gone"));
        assert!(r.event.is_some());
        assert_eq!(status_of(&obj, conditions::RECONCILING), None);
    }
}
