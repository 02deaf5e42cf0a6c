//! `helm.toolkit.fluxcd.io/v2beta2`: deprecated, served so that older
//! manifests apply unchanged; stored as v2.

mod chart;
mod helm_release;

pub use chart::*;
pub use helm_release::*;
