//! The Receiver reconciler: reads the token, computes the webhook path,
//! serves it and publishes it in `status.webhookPath` with
//! `Ready=True` ("Receiver initialized for path: ...").

use std::sync::Arc;
use std::time::Duration;

use ferroflux_api::conditions::{self, ObjectWithConditions, Status, reasons};
use ferroflux_api::notification::v1::Receiver;
use kube::ResourceExt;
use kube::runtime::controller::Action;

use super::path::{PathIndex, webhook_path};
use super::verify::is_supported;
use crate::delivery::ObjectKey;
use crate::providers::secrets;
use crate::reconcile::ReconcileError;
use crate::status;

/// Reason of `Ready=False` when the Secret or its `token` is missing.
pub const TOKEN_NOT_FOUND: &str = "TokenNotFound";
/// Reason of `Ready=False` for what this version does not implement.
pub const UNSUPPORTED: &str = "UnsupportedReceiver";

/// What the Receiver reconciler needs.
pub struct ReceiverContext {
    /// Client for Secrets and status writes.
    pub client: kube::Client,
    /// The served paths.
    pub index: Arc<PathIndex>,
}

enum Outcome {
    Ready(String),
    Unsupported(String),
    NoToken(String),
}

async fn evaluate(receiver: &Receiver, ctx: &ReceiverContext) -> Outcome {
    let spec = &receiver.spec;
    let type_name = serde_json::to_value(spec.receiver_type)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    if !is_supported(spec.receiver_type) {
        return Outcome::Unsupported(format!(
            "receiver type {type_name} is not supported by this version of notification-controller"
        ));
    }
    // Ignoring a CEL filter would reconcile more than asked: refuse instead.
    if spec.resource_filter.is_some() || spec.resources.iter().any(|r| r.filter.is_some()) {
        return Outcome::Unsupported(
            "CEL resource filters are not supported by this version of notification-controller"
                .to_string(),
        );
    }
    let Some(secret_ref) = &spec.secret_ref else {
        return Outcome::NoToken("spec.secretRef is required".to_string());
    };
    let namespace = receiver.namespace().unwrap_or_default();
    match secrets::read(&ctx.client, &namespace, &secret_ref.name).await {
        Err(e) => Outcome::NoToken(e.to_string()),
        Ok(data) => match data
            .get("token")
            .map(|t| String::from_utf8_lossy(t).to_string())
        {
            Some(token) if !token.is_empty() => {
                Outcome::Ready(webhook_path(&token, &receiver.name_any(), &namespace))
            }
            _ => Outcome::NoToken(format!(
                "invalid '{namespace}/{}' secret data: required field 'token'",
                secret_ref.name
            )),
        },
    }
}

/// Reconciles one Receiver.
pub async fn reconcile(
    receiver: Arc<Receiver>,
    ctx: Arc<ReceiverContext>,
) -> Result<Action, ReconcileError> {
    let mut obj = (*receiver).clone();
    let key = ObjectKey {
        namespace: obj.namespace().unwrap_or_default(),
        name: obj.name_any(),
    };
    if obj.spec.suspend {
        // As Flux: a suspended object is left as it is.
        return Ok(Action::await_change());
    }
    let generation = obj.metadata.generation;
    let at = conditions::now();
    let outcome = evaluate(&obj, &ctx).await;
    let path = match &outcome {
        Outcome::Ready(path) => {
            // Served before it is published, so anyone who reads the path
            // can use it at once.
            ctx.index.insert(key.clone(), path.clone());
            let message = format!("Receiver initialized for path: {path}");
            conditions::mark_ready(
                obj.conditions_mut(),
                reasons::SUCCEEDED,
                &message,
                generation,
                at,
            );
            Some(path.clone())
        }
        Outcome::Unsupported(message) => {
            ctx.index.remove(&key);
            conditions::mark_stalled(obj.conditions_mut(), UNSUPPORTED, message, generation, at);
            None
        }
        Outcome::NoToken(message) => {
            ctx.index.remove(&key);
            conditions::mark_failed(
                obj.conditions_mut(),
                TOKEN_NOT_FOUND,
                message,
                generation,
                at.clone(),
            );
            conditions::set(
                obj.conditions_mut(),
                conditions::RECONCILING,
                Status::True,
                reasons::PROGRESSING_WITH_RETRY,
                message,
                generation,
                at,
            );
            None
        }
    };
    obj.status.get_or_insert_with(Default::default).webhook_path = path;
    status::finish(&ctx.client, &*receiver, &mut obj)
        .await
        .map_err(ReconcileError::Status)?;
    Ok(match outcome {
        Outcome::Ready(_) => Action::requeue(obj.spec.interval()),
        Outcome::Unsupported(_) => Action::await_change(),
        Outcome::NoToken(_) => Action::requeue(Duration::from_secs(30)),
    })
}
