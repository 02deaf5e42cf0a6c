//! From an accepted event to queued notifications: find the matching
//! Alerts, resolve each one's Provider, build the notification and hand it
//! to the Provider's delivery lane.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use ferroflux_api::notification::v1beta3::{Alert, Provider, ProviderType};
use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};
use tokio::sync::{Semaphore, mpsc};

use super::labels::{LabelCache, Labels};
use super::matching::{Decision, MessageFilters, evaluate, labels_match};
use super::metadata;
use crate::delivery::{Delivery, Job, ObjectKey, Outcome, ProviderIdentity, StatusReporter};
use crate::intake::{Accepted, FluxEvent};
use crate::providers::{commit_status, redact, render, secrets};

/// Metadata key (under the object's group) marking an event as a commit
/// status update, and its value.
const COMMIT_STATUS_KEY: &str = "commit_status";
const COMMIT_STATUS_UPDATE: &str = "update";
use crate::stats::{DropReason, Stats};

/// Compiled message filters per Alert, rebuilt when the Alert changes.
#[derive(Default)]
pub struct FilterCache {
    cache: Mutex<HashMap<ObjectKey, (String, Arc<MessageFilters>)>>,
}

impl FilterCache {
    /// The filters of `alert`.
    pub fn get(&self, alert: &Alert) -> Arc<MessageFilters> {
        let key = key_of(alert);
        let version = alert.resource_version().unwrap_or_default();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((v, f)) = cache.get(&key)
            && *v == version
        {
            return f.clone();
        }
        let filters = Arc::new(MessageFilters::compile(&alert.spec));
        cache.insert(key, (version, filters.clone()));
        filters
    }
}

fn key_of<K: ResourceExt>(obj: &K) -> ObjectKey {
    ObjectKey {
        namespace: obj.namespace().unwrap_or_default(),
        name: obj.name_any(),
    }
}

/// Matches events to Alerts and queues their notifications.
pub struct Dispatcher {
    /// Client for Secrets and labels.
    pub client: kube::Client,
    /// Every Alert, as watched.
    pub alerts: Store<Alert>,
    /// Every Provider, as watched.
    pub providers: Store<Provider>,
    /// Involved-object labels, for `matchLabels`.
    pub labels: LabelCache,
    /// Compiled inclusion/exclusion lists.
    pub filters: FilterCache,
    /// The delivery lanes.
    pub delivery: Delivery,
    /// Status writer for failures found before delivery.
    pub reporter: Arc<StatusReporter>,
    /// `--no-cross-namespace-refs`.
    pub no_cross_namespace_refs: bool,
    /// Counters.
    pub stats: Arc<Stats>,
    /// Events matched at the same time.
    pub concurrency: usize,
}

impl Dispatcher {
    /// Processes events from `rx` until it closes, several at a time.
    pub async fn run(self: Arc<Self>, mut rx: mpsc::Receiver<Accepted>) {
        let slots = Arc::new(Semaphore::new(self.concurrency.max(1)));
        while let Some(Accepted { event, bytes }) = rx.recv().await {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            let me = self.clone();
            tokio::spawn(async move {
                me.process(event).await;
                // The event's bytes are free once matched (its notifications
                // hold their own).
                drop(bytes);
                me.stats.inc(&me.stats.events_processed);
                drop(permit);
            });
        }
    }

    /// The Alerts `event` matches, in a stable order.
    pub async fn matching_alerts(&self, event: &FluxEvent) -> Vec<Arc<Alert>> {
        let mut alerts = self.alerts.state();
        alerts.sort_by_key(|a| key_of(a.as_ref()));
        let mut labels: Option<Option<Labels>> = None;
        let mut matched = Vec::new();
        for alert in alerts {
            if alert.spec.suspend {
                continue;
            }
            let namespace = alert.namespace().unwrap_or_default();
            let selected = match evaluate(event, &namespace, &alert.spec) {
                Decision::Drop => false,
                Decision::Match => true,
                Decision::IfLabels(sets) => {
                    // Read the object's labels once per event, and only if
                    // some Alert needs them.
                    if labels.is_none() {
                        labels = Some(match self.labels.labels(&event.involved_object).await {
                            Ok(l) => Some(l),
                            Err(e) => {
                                tracing::warn!(alert = %key_of(alert.as_ref()), "{e}");
                                None
                            }
                        });
                    }
                    match labels.as_ref().and_then(Option::as_ref) {
                        Some(l) => sets.iter().any(|s| labels_match(s, l)),
                        None => false,
                    }
                }
            };
            if selected && self.filters.get(&alert).allows(&event.message) {
                matched.push(alert);
            }
        }
        matched
    }

    /// Matches `event` and queues a notification per matching Alert.
    pub async fn process(&self, event: FluxEvent) {
        let alerts = self.matching_alerts(&event).await;
        if alerts.is_empty() {
            tracing::debug!(object = %event.involved_object.display(), "discarding event, no alerts found for the involved object");
            return;
        }
        for alert in alerts {
            self.dispatch(&event, &alert).await;
        }
    }

    async fn dispatch(&self, event: &FluxEvent, alert: &Alert) {
        let alert_key = key_of(alert);
        let subject = event.involved_object.display();
        if self.no_cross_namespace_refs && event.involved_object.namespace != alert_key.namespace {
            tracing::warn!(alert = %alert_key, "alert can't process event from {subject}, cross-namespace references have been blocked");
            return;
        }
        let provider_key = ObjectKey {
            namespace: alert_key.namespace.clone(),
            name: alert.spec.provider_ref.name.clone(),
        };
        let reference = ObjectRef::new(&provider_key.name).within(&provider_key.namespace);
        let Some(provider) = self.providers.get(&reference) else {
            tracing::warn!(alert = %alert_key, "failed to read provider {provider_key}: not found");
            return;
        };
        if provider.spec.suspend {
            return;
        }
        let provider_type = provider.spec.provider_type;
        // As Flux: commit-status updates are for Git and generic Providers only.
        if event.object_meta(COMMIT_STATUS_KEY) == Some(COMMIT_STATUS_UPDATE)
            && !provider_type.is_commit_status()
            && !matches!(
                provider_type,
                ProviderType::Generic | ProviderType::GenericHmac
            )
        {
            return;
        }
        let (merged, conflicts) = metadata::combine(event, &alert.spec);
        if !conflicts.is_empty() {
            tracing::info!(alert = %alert_key, ?conflicts, "metadata key conflicts detected (see the Alert API docs on event metadata)");
        }
        let mut notification = event.clone();
        notification.metadata = merged;
        if let Some(why) = commit_status::skip_reason(provider_type, &notification) {
            tracing::debug!(alert = %alert_key, provider = %provider_key, "not sending {subject} as a commit status: {why}");
            return;
        }

        let config = match secrets::load(&self.client, &provider).await {
            Ok(c) => c,
            Err(e) => {
                let message = format!(
                    "failed to initialize notifier for provider '{}': {e}",
                    provider_key.name
                );
                tracing::error!(alert = %alert_key, "{message}");
                self.reporter
                    .record(&provider_key, &alert_key, &Outcome::Failed(message))
                    .await;
                return;
            }
        };
        let request = match render::render(&config, &notification) {
            Ok(r) => r,
            Err(e) => {
                let message = redact::mask(
                    &format!(
                        "failed to initialize notifier for provider '{}': {e}",
                        provider_key.name
                    ),
                    &config.secret_values(),
                );
                tracing::error!(alert = %alert_key, "{message}");
                self.reporter
                    .record(&provider_key, &alert_key, &Outcome::Failed(message))
                    .await;
                return;
            }
        };
        let job = Job {
            provider: provider_key.clone(),
            provider_type,
            alert: alert_key.clone(),
            subject,
            target: redact::display_url(&request.url, config.address_is_secret),
            request,
            proxy: config.proxy.clone(),
            tls: config.tls.clone(),
            timeout: config.timeout,
            secrets: config.secret_values(),
            identity: ProviderIdentity::of(&provider),
        };
        drop(notification);
        if let Err(dropped) = self.delivery.submit(job) {
            let message = format!(
                "dropping notification for {}: {dropped}",
                event.involved_object.display()
            );
            match dropped.reason {
                // Rendered for a Provider that is gone or changed: nothing
                // to report on it.
                DropReason::ProviderDeleted | DropReason::ProviderChanged => {
                    tracing::debug!(alert = %alert_key, "{message}");
                }
                // A full queue is reported once per episode (the lane logs
                // it), not once per notification: a flood must not turn
                // into a flood of status writes.
                _ if dropped.first => {
                    self.reporter
                        .record(&provider_key, &alert_key, &Outcome::Failed(message))
                        .await;
                }
                _ => tracing::debug!(alert = %alert_key, "{message}"),
            }
        }
    }
}
