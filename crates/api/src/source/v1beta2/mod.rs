//! `source.toolkit.fluxcd.io/v1beta2`: deprecated, served so that older
//! manifests apply unchanged; stored as v1.
//!
//! Each kind's spec has the fields Flux's v1beta2 had. Except for
//! GitRepository (whose v1beta2 status was written first), the status is the
//! storage version's: controllers write status through v1, and with
//! conversion `None` a narrower old status schema would only prune what
//! they wrote when read through the old version.

mod bucket;
mod git_repository;
mod helm_chart;
mod helm_repository;
mod oci_repository;

pub use bucket::*;
pub use git_repository::*;
pub use helm_chart::*;
pub use helm_repository::*;
pub use oci_repository::*;
