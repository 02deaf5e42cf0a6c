//! `kustomize.toolkit.fluxcd.io/v1beta1`: deprecated (Flux 2.0 still served
//! it), served so that older manifests apply unchanged; objects are stored
//! as v1 and their status is v1's (controllers write it through v1).

mod kustomization;

pub use kustomization::*;
