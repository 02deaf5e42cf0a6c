//! The Receiver reconciler: reads the token, computes the webhook path,
//! serves it and publishes it in `status.webhookPath` with
//! `Ready=True` ("Receiver initialized for path: ...").

use std::sync::Arc;
use std::time::Duration;

use ferroflux_api::conditions::reasons;
use ferroflux_api::notification::v1::Receiver;
use kube::ResourceExt;
use kube::runtime::controller::Action;

use super::path::{PathIndex, webhook_path};
use super::verify::is_supported;
use crate::delivery::ObjectKey;
use crate::providers::secrets;
use ferroflux_runtime::controller::Outcome;
use ferroflux_runtime::verdict::{Retry, Verdict};

use crate::reconcile::{ReconcileError, conclude};

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

enum Evaluation {
    Ready(String),
    Unsupported(String),
    NoToken(String),
}

async fn evaluate(receiver: &Receiver, ctx: &ReceiverContext) -> Evaluation {
    let spec = &receiver.spec;
    let type_name = serde_json::to_value(spec.receiver_type)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    if !is_supported(spec.receiver_type) {
        return Evaluation::Unsupported(format!(
            "receiver type {type_name} is not supported by this version of notification-controller"
        ));
    }
    // Ignoring a CEL filter would reconcile more than asked: refuse instead.
    if spec.resource_filter.is_some() || spec.resources.iter().any(|r| r.filter.is_some()) {
        return Evaluation::Unsupported(
            "CEL resource filters are not supported by this version of notification-controller"
                .to_string(),
        );
    }
    let Some(secret_ref) = &spec.secret_ref else {
        return Evaluation::NoToken("spec.secretRef is required".to_string());
    };
    let namespace = receiver.namespace().unwrap_or_default();
    match secrets::read(&ctx.client, &namespace, &secret_ref.name).await {
        Err(e) => Evaluation::NoToken(e.to_string()),
        Ok(data) => match data
            .get("token")
            .map(|t| String::from_utf8_lossy(t).to_string())
        {
            Some(token) if !token.is_empty() => {
                Evaluation::Ready(webhook_path(&token, &receiver.name_any(), &namespace))
            }
            _ => Evaluation::NoToken(format!(
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
    let (verdict, path) = match evaluate(&obj, &ctx).await {
        Evaluation::Ready(path) => {
            // Served before it is published, so anyone who reads the path
            // can use it at once.
            ctx.index.insert(key.clone(), path.clone());
            let message = format!("Receiver initialized for path: {path}");
            let verdict = Verdict::ready(reasons::SUCCEEDED, message)
                .requeue(Outcome::After(obj.spec.interval()));
            (verdict, Some(path))
        }
        Evaluation::Unsupported(message) => {
            ctx.index.remove(&key);
            (Verdict::stalled(UNSUPPORTED, message), None)
        }
        Evaluation::NoToken(message) => {
            ctx.index.remove(&key);
            // The Secret may appear without the Receiver changing.
            let verdict = Verdict::failed(TOKEN_NOT_FOUND, message)
                .retrying()
                .retry(Retry::After(TOKEN_RECHECK));
            (verdict, None)
        }
    };
    obj.status.get_or_insert_with(Default::default).webhook_path = path;
    conclude(&ctx.client, &*receiver, obj, verdict).await
}

/// How often a Receiver without its token looks for it again.
const TOKEN_RECHECK: Duration = Duration::from_secs(30);
