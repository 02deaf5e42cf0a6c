//! Delivery outcomes on the Alert and Provider status: a failure sets
//! `Ready=False` (reason `NotificationDispatchFailed`, the masked message);
//! the next success after a failure sets `Ready=True` again.

use std::collections::HashMap;
use std::sync::Mutex;

use ferroflux_api::conditions::{self, ObjectWithConditions, reasons};
use ferroflux_api::notification::v1beta3::{Alert, Provider};
use futures::future::BoxFuture;
use kube::Resource;
use kube::api::Api;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::lanes::{Job, ObjectKey, Outcome, Reporter};
use crate::status::{self, NOTIFICATION_DISPATCH_FAILED};

/// Message of `Ready=True` on a Provider.
pub const PROVIDER_READY_MESSAGE: &str = "Provider is ready";
/// Message of `Ready=True` on an Alert.
pub const ALERT_READY_MESSAGE: &str = "Alert is ready";

/// Writes delivery outcomes to the status of Alerts and Providers, only
/// when the condition actually changes.
pub struct StatusReporter {
    client: kube::Client,
    last: Mutex<HashMap<(&'static str, ObjectKey), Outcome>>,
}

impl StatusReporter {
    /// A reporter writing through `client`.
    pub fn new(client: kube::Client) -> Self {
        Self {
            client,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Records `outcome` for the Provider and Alert of a notification (also
    /// used for failures before a job exists, such as a missing Secret).
    pub async fn record(&self, provider: &ObjectKey, alert: &ObjectKey, outcome: &Outcome) {
        self.write::<Provider>("Provider", provider, outcome, PROVIDER_READY_MESSAGE)
            .await;
        self.write::<Alert>("Alert", alert, outcome, ALERT_READY_MESSAGE)
            .await;
    }

    async fn write<K>(
        &self,
        kind: &'static str,
        key: &ObjectKey,
        outcome: &Outcome,
        ready_message: &str,
    ) where
        K: Resource<DynamicType = (), Scope = kube::core::NamespaceResourceScope>
            + ObjectWithConditions
            + Clone
            + DeserializeOwned
            + Serialize
            + std::fmt::Debug,
    {
        let memo = (kind, key.clone());
        if *outcome == Outcome::Delivered {
            // Successes are the common case: only look at the object when
            // the last outcome we know of was a failure. Failures always
            // re-read it, as a reconcile may have reset the condition since.
            let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            if !matches!(last.get(&memo), Some(Outcome::Failed(_))) {
                return;
            }
        }
        let api: Api<K> = Api::namespaced(self.client.clone(), &key.namespace);
        let result = status::update_conditions(&api, &key.name, |obj| {
            let generation = obj.meta().generation;
            let at = conditions::now();
            match outcome {
                Outcome::Failed(message) => conditions::mark_failed(
                    obj.conditions_mut(),
                    NOTIFICATION_DISPATCH_FAILED,
                    message,
                    generation,
                    at,
                ),
                Outcome::Delivered => {
                    status::has_dispatch_failure(obj)
                        && conditions::mark_ready(
                            obj.conditions_mut(),
                            reasons::SUCCEEDED,
                            ready_message,
                            generation,
                            at,
                        )
                }
            }
        })
        .await;
        match result {
            Ok(()) => {
                self.last
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(memo, outcome.clone());
            }
            Err(e) => tracing::warn!(%kind, object = %key, "could not write delivery status: {e}"),
        }
    }
}

impl Reporter for StatusReporter {
    fn report<'a>(&'a self, job: &'a Job, outcome: &'a Outcome) -> BoxFuture<'a, ()> {
        Box::pin(self.record(&job.provider, &job.alert, outcome))
    }
}
