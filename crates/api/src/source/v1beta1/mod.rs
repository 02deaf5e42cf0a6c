//! `source.toolkit.fluxcd.io/v1beta1`: deprecated (Flux 2.0 still served
//! it), served so that older manifests apply unchanged; stored as v1.
//!
//! Each kind's spec has the fields Flux's v1beta1 had. The status of every
//! old version is the storage version's: controllers write status through
//! v1, and with conversion `None` a narrower old status schema would only
//! prune what they wrote (`artifact.digest`, say) when read through the old
//! version.

mod bucket;
mod git_repository;
mod helm_chart;
mod helm_repository;

pub use bucket::*;
pub use git_repository::*;
pub use helm_chart::*;
pub use helm_repository::*;
