//! The `ferroflux` binary as a user runs it.

mod artifact;
mod demo;
mod helm_template;
mod install;
mod kustomize_build;
mod packaging;
