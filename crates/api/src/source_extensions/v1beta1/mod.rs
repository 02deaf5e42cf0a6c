//! `source.extensions.fluxcd.io/v1beta1`, the only (and storage) version.

mod artifact_generator;

pub use artifact_generator::*;
