//! Reconcile, suspend and resume from the page, only with `--allow-actions`,
//! done with the user's own credentials so that RBAC decides. The same
//! patches `ferroflux reconcile`/`suspend`/`resume` send.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kube::api::{Patch, PatchParams};
use serde_json::json;

use super::api::{ApiError, AppState, parse_key};
use crate::kinds;

/// The header a page's request must carry: a cross-site form cannot set
/// it, and a cross-site script cannot without a preflight we never grant.
pub const ACTION_HEADER: &str = "x-ferroflux-action";

/// `POST /api/action/{action}/{kind}/{namespace}/{name}`.
pub async fn action(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((action, kind, namespace, name)): Path<(String, String, String, String)>,
) -> Result<Response, ApiError> {
    if !s.allow_actions {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "actions are disabled (start the dashboard with --allow-actions)".into(),
        ));
    }
    if headers.get(ACTION_HEADER).is_none() {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            format!("missing the {ACTION_HEADER} header"),
        ));
    }
    let key = parse_key(&kind, &namespace, &name)?;
    let Some(kind) = kinds::by_kind(key.kind) else {
        return Err(ApiError(StatusCode::BAD_REQUEST, "unknown kind".into()));
    };
    let token = k8s_openapi::jiff::Timestamp::now().to_string();
    let requested = json!({"metadata": {"annotations": {crate::reconcile::REQUESTED_AT: token}}});
    let patch = match action.as_str() {
        "reconcile" if kind.reconcilable => requested,
        "reconcile" => {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!("{} objects are not reconciled on request", kind.kind),
            ));
        }
        "suspend" => json!({"spec": {"suspend": true}}),
        "resume" => {
            let mut p = requested;
            p["spec"] = json!({"suspend": false});
            p
        }
        other => {
            return Err(ApiError(
                StatusCode::BAD_REQUEST,
                format!("unknown action {other:?} (reconcile, suspend, resume)"),
            ));
        }
    };
    let api = kind.api(&s.client, Some(&key.namespace));
    match api
        .patch(&key.name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
    {
        Ok(_) => {
            Ok(Json(json!({"ok": true, "action": action, "requestedAt": token})).into_response())
        }
        Err(kube::Error::Api(e)) => Err(ApiError(
            StatusCode::from_u16(e.code).unwrap_or(StatusCode::BAD_GATEWAY),
            e.message,
        )),
        Err(e) => Err(ApiError(StatusCode::BAD_GATEWAY, e.to_string())),
    }
}
