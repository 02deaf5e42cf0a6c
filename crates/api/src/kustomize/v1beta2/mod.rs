//! `kustomize.toolkit.fluxcd.io/v1beta2`: deprecated, served so that older
//! manifests apply unchanged; objects are stored as v1.

mod kustomization;

pub use kustomization::*;
