//! The axum server behind `--events-addr`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::CONTENT_LENGTH;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::StreamExt;
use tokio::sync::mpsc;

use super::event::FluxEvent;
use super::limiter::{Admission, Refusal};
use crate::budget::{Account, ByteBudget, Reservation};
use crate::stats::Stats;

/// Largest webhook body the receiver accepts: 3 MiB; larger ones get 413.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Default of `--max-event-bytes`: 1 MiB. Flux's event API caps the
/// message at 39,000 characters (at most 156 KB of UTF-8, 234 KB were every
/// character JSON-escaped), and the rest of an event is names and a few
/// metadata entries, so no real controller event comes near it.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 1 << 20;

/// Bytes counted per byte of event body while an event is read and
/// matched (see [`Intake::receive`]).
pub const EVENT_COST_FACTOR: u64 = 2;

/// An accepted event on its way to Alert matching, with the bytes it holds
/// in the shared budget (given back once it is matched).
pub struct Accepted {
    /// The event.
    pub event: FluxEvent,
    /// Its share of `--total-queue-bytes` (twice its body, see
    /// [`EVENT_COST_FACTOR`]).
    pub bytes: Reservation,
}

/// What the intake handler needs: the admission rules, the queue that
/// feeds Alert matching and the byte limits.
pub struct Intake {
    admission: Admission,
    queue: mpsc::Sender<Accepted>,
    stats: Arc<Stats>,
    budget: Arc<ByteBudget>,
    max_event_bytes: usize,
    /// Whether the last event was refused for want of bytes (to log the
    /// start and end of such an episode, not each event).
    refusing: AtomicBool,
}

impl Intake {
    /// An intake feeding `queue`, holding event bodies within `budget` and
    /// refusing bodies over `max_event_bytes` with 413.
    pub fn new(
        admission: Admission,
        queue: mpsc::Sender<Accepted>,
        stats: Arc<Stats>,
        budget: Arc<ByteBudget>,
        max_event_bytes: usize,
    ) -> Self {
        Self {
            admission,
            queue,
            stats,
            budget,
            max_event_bytes,
            refusing: AtomicBool::new(false),
        }
    }

    fn too_large(&self, bytes: u64) -> (StatusCode, String) {
        self.stats.inc(&self.stats.events_too_large);
        let message = format!(
            "event body of {bytes} bytes or more is over the limit of {} bytes (--max-event-bytes)",
            self.max_event_bytes
        );
        tracing::warn!(
            bytes,
            limit = self.max_event_bytes,
            "refusing event: {message}"
        );
        (StatusCode::PAYLOAD_TOO_LARGE, message)
    }

    fn no_room(&self, bytes: u64) -> (StatusCode, String) {
        self.stats.inc(&self.stats.events_dropped);
        if !self.refusing.swap(true, Ordering::SeqCst) {
            tracing::warn!(
                bytes,
                held = self.budget.used(),
                total_queue_bytes = self.budget.limit(),
                "queues hold --total-queue-bytes, refusing events with 503 until they drain"
            );
        }
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "event queues are full (--total-queue-bytes), try again later".to_string(),
        )
    }

    /// Reads a POSTed body within `--max-event-bytes` and the byte budget,
    /// then handles it: the status code and a short message.
    pub async fn receive(&self, request: Request) -> (StatusCode, String) {
        let max = self.max_event_bytes;
        let declared = request
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let mut stream = request.into_body().into_data_stream();
        if let Some(n) = declared
            && n > max as u64
        {
            if n <= DRAIN_LIMIT {
                drain(&mut stream, DRAIN_LIMIT).await;
            }
            return self.too_large(n);
        }
        let first = declared.unwrap_or(0);
        let Some(mut bytes) = self.budget.reserve(first, &self.stats, Account::Intake) else {
            drain(&mut stream, DRAIN_LIMIT).await;
            return self.no_room(first);
        };
        // `first` is at most `max`.
        let mut body = Vec::with_capacity(usize::try_from(first).unwrap_or(0));
        while let Some(chunk) = stream.next().await {
            let chunk = match chunk {
                Ok(c) => c,
                Err(e) => {
                    self.stats.inc(&self.stats.events_invalid);
                    return (StatusCode::BAD_REQUEST, format!("reading the event: {e}"));
                }
            };
            let len = body.len() + chunk.len();
            if len > max {
                drop((body, bytes));
                drain(&mut stream, DRAIN_LIMIT.saturating_sub(len as u64)).await;
                return self.too_large(len as u64);
            }
            let len = len as u64;
            if len > bytes.bytes() && !bytes.grow(len - bytes.bytes()) {
                drop((body, bytes));
                drain(&mut stream, DRAIN_LIMIT.saturating_sub(len)).await;
                return self.no_room(len);
            }
            body.extend_from_slice(&chunk);
        }
        // Until it is matched, an event costs about twice its body: the body
        // and the parsed event while it is read, then the event and the
        // notification rendered from it (the lane then counts its own copy).
        let held = (body.len() as u64).saturating_mul(EVENT_COST_FACTOR);
        if held > bytes.bytes() && !bytes.grow(held - bytes.bytes()) {
            return self.no_room(held);
        }
        bytes.shrink_to(held);
        self.handle(&body, bytes)
    }

    /// Handles one POSTed body holding `bytes`: the status code and a short
    /// message.
    pub fn handle(&self, body: &[u8], bytes: Reservation) -> (StatusCode, String) {
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
        match self.queue.try_send(Accepted { event, bytes }) {
            Ok(()) => {
                if self.refusing.swap(false, Ordering::SeqCst) {
                    tracing::info!("event queues have room again, accepting events");
                }
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

/// A refused body up to this size is read to its end (and thrown away)
/// before the answer, so that the sender reads the 413 or 503 instead of a
/// connection reset; a longer one is cut off.
pub const DRAIN_LIMIT: u64 = 16 << 20;

/// Reads and discards up to `limit` more bytes of `stream`.
async fn drain<S, E>(stream: &mut S, limit: u64)
where
    S: futures::Stream<Item = Result<axum::body::Bytes, E>> + Unpin,
{
    let mut read = 0u64;
    while read <= limit {
        match stream.next().await {
            Some(Ok(chunk)) => read += chunk.len() as u64,
            _ => return,
        }
    }
}

/// The intake's routes: `POST /` (and, as Flux serves every path, `POST /*`).
pub fn router(intake: Arc<Intake>) -> Router {
    Router::new()
        .route("/", post(receive))
        .route("/{*path}", post(receive))
        .with_state(intake)
}

async fn receive(State(intake): State<Arc<Intake>>, request: Request) -> Response {
    intake.receive(request).await.into_response()
}
