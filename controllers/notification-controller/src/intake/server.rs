//! The axum server behind `--events-addr`.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokio::sync::mpsc;

use super::event::FluxEvent;
use super::limiter::{Admission, Refusal};
use crate::stats::Stats;

/// Largest event body accepted (as Flux: 3 MiB); larger ones get 413.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// What the intake handler needs: the admission rules and the queue that
/// feeds Alert matching.
pub struct Intake {
    admission: Admission,
    queue: mpsc::Sender<FluxEvent>,
    stats: Arc<Stats>,
}

impl Intake {
    /// An intake feeding `queue`.
    pub fn new(admission: Admission, queue: mpsc::Sender<FluxEvent>, stats: Arc<Stats>) -> Self {
        Self {
            admission,
            queue,
            stats,
        }
    }

    /// Handles one POSTed body: the status code and a short message.
    pub fn handle(&self, body: &[u8]) -> (StatusCode, String) {
        let mut event = match FluxEvent::from_json(body) {
            Ok(event) => event,
            Err(e) => {
                self.stats.inc(&self.stats.events_invalid);
                tracing::debug!(error = %e, "refusing event");
                return (StatusCode::BAD_REQUEST, e.to_string());
            }
        };
        event.clean_metadata();
        let object = event.involved_object.display();
        if let Err(refusal) = self.admission.admit(&event, Instant::now()) {
            let message = match refusal {
                Refusal::Duplicate => {
                    self.stats.inc(&self.stats.events_duplicate);
                    format!(
                        "discarding event for {object}: an identical event was received within the rate-limit interval"
                    )
                }
                Refusal::RateLimited => {
                    self.stats.inc(&self.stats.events_rate_limited);
                    format!("discarding event for {object}: too many events for this object")
                }
            };
            tracing::debug!(object, "{message}");
            return (StatusCode::TOO_MANY_REQUESTS, message);
        }
        event.remove_internal_metadata();
        match self.queue.try_send(event) {
            Ok(()) => {
                self.stats.inc(&self.stats.events_accepted);
                (StatusCode::ACCEPTED, String::new())
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.stats.inc(&self.stats.events_dropped);
                tracing::warn!(object, "event queue is full, discarding event");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "event queue is full, try again later".to_string(),
                )
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                (StatusCode::SERVICE_UNAVAILABLE, "shutting down".to_string())
            }
        }
    }
}

/// The intake's routes: `POST /` (and, as Flux serves every path, `POST /*`).
pub fn router(intake: Arc<Intake>) -> Router {
    Router::new()
        .route("/", post(receive))
        .route("/{*path}", post(receive))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(intake)
}

async fn receive(State(intake): State<Arc<Intake>>, body: Bytes) -> Response {
    intake.handle(&body).into_response()
}
