//! The axum server behind `--receiver-addr`: `/hook/<digest>`.
//!
//! Answers: 404 for a path no ready Receiver serves; 503 when the Receiver
//! is suspended; 401 when the call is not authenticated (Flux answers 400;
//! 401 says what went wrong); 400 for an event type the Receiver does not
//! act on or a body that is not the service's payload; 413 for bodies over
//! 3 MiB; 500 when an object could not be annotated; 200 otherwise. Nothing is annotated unless the call is
//! authenticated.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use ferroflux_api::notification::v1::{RECEIVER_WEBHOOK_PATH, Receiver};
use kube::runtime::reflector::{ObjectRef, Store};

use super::annotate;
use super::path::{PathIndex, ct_eq, webhook_path};
use super::verify::{Rejection, Verdict, verify};
use crate::intake::server::MAX_BODY_BYTES;
use crate::kinds::KindResolver;
use crate::providers::secrets;

/// What the webhook handler needs.
pub struct ReceiverServer {
    /// Client for Secrets and annotations.
    pub client: kube::Client,
    /// Every Receiver, as watched.
    pub receivers: Store<Receiver>,
    /// Served paths.
    pub index: Arc<PathIndex>,
    /// Kind resolution for `resources`.
    pub kinds: Arc<KindResolver>,
    /// `--no-cross-namespace-refs`.
    pub no_cross_namespace_refs: bool,
}

/// The webhook routes.
pub fn router(server: Arc<ReceiverServer>) -> Router {
    Router::new()
        .route("/hook/{digest}", any(handle))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(server)
}

async fn handle(
    State(server): State<Arc<ReceiverServer>>,
    Path(digest): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("{RECEIVER_WEBHOOK_PATH}{digest}");
    let (code, message) = server.handle(&path, &headers, &body).await;
    (code, message).into_response()
}

impl ReceiverServer {
    /// Handles a call to `path`: the status code and a short message.
    pub async fn handle(
        &self,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> (StatusCode, String) {
        let not_found = (StatusCode::NOT_FOUND, "not found".to_string());
        let Some(key) = self.index.find(path) else {
            return not_found;
        };
        let Some(receiver) = self
            .receivers
            .get(&ObjectRef::new(&key.name).within(&key.namespace))
        else {
            return not_found;
        };
        if receiver.spec.suspend {
            tracing::info!(receiver = %key, "receiver is suspended, refusing call");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "receiver is suspended".to_string(),
            );
        }
        let Some(secret_ref) = &receiver.spec.secret_ref else {
            return not_found;
        };
        let token = match secrets::read(&self.client, &key.namespace, &secret_ref.name).await {
            Ok(data) => data
                .get("token")
                .map(|t| String::from_utf8_lossy(t).to_string())
                .unwrap_or_default(),
            Err(e) => {
                tracing::error!(receiver = %key, "{e}");
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "unable to read the receiver token".to_string(),
                );
            }
        };
        // A path made with an older token no longer opens the hook.
        if token.is_empty() || !ct_eq(&webhook_path(&token, &key.name, &key.namespace), path) {
            return not_found;
        }
        match verify(
            receiver.spec.receiver_type,
            &token,
            &receiver.spec.events,
            headers,
            body,
        ) {
            Ok(Verdict::Ping) => {
                tracing::info!(receiver = %key, "handled GitHub ping");
                return (StatusCode::OK, "pong".to_string());
            }
            Ok(Verdict::Proceed) => {}
            Err(Rejection::Unauthorized(message)) => {
                tracing::warn!(receiver = %key, "unable to validate payload: {message}");
                return (StatusCode::UNAUTHORIZED, message);
            }
            Err(e) => {
                tracing::warn!(receiver = %key, "unable to validate payload: {e}");
                return (StatusCode::BAD_REQUEST, e.to_string());
            }
        }
        let (annotated, errors) = annotate::request_all(
            &self.client,
            &self.kinds,
            &receiver,
            self.no_cross_namespace_refs,
        )
        .await;
        for object in &annotated {
            tracing::info!(receiver = %key, "resource '{object}' annotated");
        }
        if errors.is_empty() {
            (StatusCode::OK, String::new())
        } else {
            for e in &errors {
                tracing::error!(receiver = %key, "unable to request reconciliation: {e}");
            }
            (StatusCode::INTERNAL_SERVER_ERROR, errors.join("; "))
        }
    }
}
