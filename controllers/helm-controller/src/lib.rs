//! Ferroflux's helm-controller: releases the chart of each HelmRelease as
//! Helm v4 would (its release records in the cluster, readable by `helm`),
//! installing, upgrading, testing, remediating and uninstalling as Flux's
//! helm-controller does, as the HelmRelease's service account.

#![warn(missing_docs)]

pub mod actions;
pub mod app;
pub mod chart;
pub mod drift;
pub mod gate;
pub mod hooks;
pub mod lookup;
pub mod objects;
pub mod reconciler;
pub mod render;
pub mod snapshot;
pub mod state;
pub mod storage;
pub mod values;
pub mod waits;
pub mod watches;

pub use app::{Config, Running, StartError, start};
