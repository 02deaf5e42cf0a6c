//! Ferroflux notification-controller: Flux events in, chat messages and
//! webhooks out (Alerts, Providers); Git-hosting webhooks in, reconcile
//! requests out (Receivers).
//!
//! ```text
//! POST / (Flux event) ─► intake ─► queue ─► alerts::Dispatcher ─► delivery lanes ─► Slack/Teams/...
//! POST /hook/<digest> ─► receivers ─► annotate reconcile.fluxcd.io/requestedAt
//! ```
//!
//! [`app::start`] runs everything; `main.rs` only parses flags.

pub mod alerts;
pub mod app;
pub mod budget;
pub mod cli;
pub mod delivery;
pub mod intake;
pub mod kinds;
pub mod metrics;
pub mod providers;
pub mod receivers;
pub mod reconcile;
pub mod stats;
pub mod status;

pub use app::{Options, Running, start};
pub use intake::FluxEvent;
