//! `notification.toolkit.fluxcd.io/v1beta3`: Alert and Provider.

mod alert;
mod provider;

pub use alert::*;
pub use provider::*;
