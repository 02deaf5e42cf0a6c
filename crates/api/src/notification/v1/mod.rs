//! `notification.toolkit.fluxcd.io/v1`: Receiver (and the object references
//! Alert shares).

mod receiver;
mod reference;

pub use receiver::*;
pub use reference::*;
