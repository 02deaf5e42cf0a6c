//! The event JSON Flux controllers POST to notification-controller. The type
//! is shared with the emitting side and lives in the API crate.

pub use ferroflux_api::event::*;
