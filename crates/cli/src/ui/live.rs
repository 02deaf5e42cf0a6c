//! Server-sent events: every change the watches see, pushed to open pages
//! as one JSON message each, so the page never polls or reloads.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::api::AppState;
use super::model::Change;

/// `GET /api/live`: a stream of [`Change`]s. A page that falls behind gets
/// a `reset` and reloads its data instead of missing changes.
pub async fn live(
    State(s): State<Arc<AppState>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = s.model.subscribe();
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        let change = match rx.recv().await {
            Ok(c) => c,
            Err(RecvError::Lagged(_)) => Change::Reset,
            Err(RecvError::Closed) => return None,
        };
        let data = serde_json::to_string(&change).unwrap_or_else(|_| "{}".into());
        Some((Ok(Event::default().data(data)), rx))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
