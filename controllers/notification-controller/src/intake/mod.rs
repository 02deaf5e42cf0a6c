//! Event intake: the HTTP endpoint Flux controllers POST their events to.
//!
//! Intake only reads (within `--max-event-bytes` and the shared
//! `--total-queue-bytes` budget), parses, de-duplicates and rate-limits; matching Alerts and
//! delivering notifications happen behind a bounded queue, so a request is
//! answered as soon as the event is queued and never waits on a chat service.

pub mod event;
pub mod limiter;
pub mod server;

pub use event::{FluxEvent, InvolvedObject, Severity};
pub use limiter::{Admission, Limits, Refusal};
pub use server::{Accepted, DEFAULT_MAX_EVENT_BYTES, Intake, router};
