//! The `ferroflux` binary as a user runs it.

mod demo;
mod kustomize_build;
