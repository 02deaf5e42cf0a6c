//! `notification.toolkit.fluxcd.io/v1beta1`: deprecated, served so that older
//! manifests apply unchanged. Alert and Provider are stored as v1beta3,
//! Receiver as v1; each shares its storage version's status, which the
//! controller writes.

mod alert;
mod provider;
mod receiver;

pub use alert::*;
pub use provider::*;
pub use receiver::*;
