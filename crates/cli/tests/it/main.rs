//! The `ferroflux` binary as a user runs it.

mod kustomize_build;
