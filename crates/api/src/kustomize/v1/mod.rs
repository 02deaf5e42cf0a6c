//! `kustomize.toolkit.fluxcd.io/v1`, the storage version of Kustomization.

mod kustomization;

pub use kustomization::*;
