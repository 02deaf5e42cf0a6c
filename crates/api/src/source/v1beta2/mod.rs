//! `source.toolkit.fluxcd.io/v1beta2`: deprecated, served so that older
//! manifests apply unchanged; stored as v1.

mod git_repository;

pub use git_repository::*;
