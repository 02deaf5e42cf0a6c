//! The `ferroflux` command's library: the local stack of processes that
//! `ferroflux demo` and the end-to-end tests run, and the demo itself.

#![warn(missing_docs)]

pub mod artifact;
pub mod build_helmrelease;
pub mod build_kustomization;
pub mod check;
pub mod connect;
pub mod create;
pub mod create_notification;
pub mod create_secret;
pub mod create_source;
pub mod create_tenant;
pub mod create_workload;
pub mod demo;
mod demo_app;
mod demo_chart;
pub mod diff;
pub mod diff_helmrelease;
pub mod events;
pub mod get;
pub mod helm_template;
pub mod install;
pub mod install_manifests;
pub mod kinds;
pub mod kustomize_build;
pub mod reconcile;
pub mod stack;
pub mod suspend;
pub mod table;
pub mod term;
pub mod tree;
pub mod ui;
pub mod uninstall;
