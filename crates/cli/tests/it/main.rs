//! The `ferroflux` binary as a user runs it.

mod artifact;
mod build_kustomization;
mod check;
mod cluster;
mod completion;
mod create;
mod create_helmrelease;
mod demo;
mod diff;
mod events;
mod get;
mod helm_conformance;
mod helm_template;
mod helmrelease;
mod install;
mod install_uninstall;
mod kustomize_build;
mod packaging;
mod reconcile;
mod tree;
mod ui;
