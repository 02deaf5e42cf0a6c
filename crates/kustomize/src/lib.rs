//! Ferroflux's kustomize engine.
//!
//! [`build`] is `kustomize build`: it reads a kustomization tree from disk (under a
//! given root, nothing outside it, no network) and returns the resources it declares;
//! [`to_yaml`] prints them as `kustomize build` does. A caller that holds the top
//! kustomization itself (a typed [`kustomization::Kustomization`]) builds it with
//! [`build_kustomization`] (standing in for a file of the tree) or [`build_objects`]
//! (over objects it already has, with no file system). The [`strategic_merge`] module,
//! pure values in and out, is the Kubernetes strategic merge patch that both the test
//! API server and the build use.

#![warn(missing_docs)]

mod build;
mod error;
mod generators;
pub mod kustomization;
mod loader;
mod openapi;
mod order;
mod patch;
mod plugins;
mod resource;
pub mod strategic_merge;
mod transform;
mod transformers;
mod yaml;

pub use build::{
    BuildOptions, build, build_kustomization, build_objects, kustomization_from_value,
    parse_kustomization,
};
pub use error::BuildError;
pub use loader::LoadRestrictor;
pub use order::Reorder;
pub use resource::ResId;
pub use yaml::{parse_yaml_docs, to_yaml, yaml_to_json};
