//! Receivers (v1): incoming webhooks (GitHub, GitLab, Bitbucket, container
//! registries, generic) that ask Flux objects to reconcile now. [`path`]
//! computes and indexes webhook paths, [`verify`] authenticates calls,
//! [`annotate`] sets `reconcile.fluxcd.io/requestedAt`, [`server`] serves
//! `/hook/...` and [`reconciler`] keeps the Receiver's status.

pub mod annotate;
pub mod path;
pub mod reconciler;
pub mod server;
pub mod verify;

pub use path::{PathIndex, webhook_path};
pub use server::{ReceiverServer, router};
