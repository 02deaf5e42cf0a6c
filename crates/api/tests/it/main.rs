//! Integration tests of the API types and the generated CRDs (one test binary).

mod artifact_generator;
mod config;
mod crds;
mod flux_object;
mod helm;
mod kustomize;
mod notification;
mod seed_manifests;
mod source;
mod support;
