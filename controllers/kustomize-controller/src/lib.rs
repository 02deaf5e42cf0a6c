//! Ferroflux's kustomize-controller: builds the kustomize overlay of each
//! Kustomization from its source's artifact and applies it with server-side
//! apply, as the Kustomization's service account, pruning what left it and
//! reporting health.

#![warn(missing_docs)]

pub mod app;
pub mod decryption;
/// The tenant clients, shared with helm-controller (`ferroflux_ssa::clients`).
pub use ferroflux_ssa::clients;
pub mod dependencies;
pub mod generator;
pub mod reconciler;
pub mod render;
pub mod source;
pub mod substitute;
pub mod vars;
pub mod watches;

pub use app::{Config, Running, StartError, start};
