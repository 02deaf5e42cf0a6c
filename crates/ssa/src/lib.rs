//! Ferroflux's apply engine: what kustomize-controller (and later
//! helm-controller) does with a set of manifests.
//!
//! - [`Manager::apply_all_staged`]: server-side apply in stages, every object
//!   planned (read + dry-run) before anything is written, nothing written
//!   for objects that have not drifted.
//! - [`Inventory`]: the applied set in Flux's status format, and what left it.
//! - [`Manager::delete_all`]: prune in reverse order.
//! - [`health`] and [`Manager::wait_for_set`]: readiness in the manner of kstatus.
//! - [`HealthWatcher`]: one watch per kind shared by every wait, waking
//!   waiters when an object they wait for changes status.
//! - [`ChangeSet`]: what happened, object by object.
//! - [`clients`]: the clients a tenant's objects are applied with
//!   (impersonation, `spec.kubeConfig`).

#![warn(missing_docs)]

mod apply;
pub mod cel;
mod changeset;
pub mod clients;
mod error;
pub mod health;
mod inventory;
mod manager;
mod object;
mod order;
mod prune;
mod resolve;
mod wait;
mod watch;

pub use apply::{ApplyOptions, FORCE_ANNOTATION, SSA_ANNOTATION, drifted};
pub use changeset::{Action, ChangeSet, ChangeSetEntry};
pub use error::SsaError;
pub use inventory::Inventory;
pub use manager::Manager;
pub use object::{ObjMeta, split_api_version};
pub use order::{Stage, apply_order, stage_of};
pub use prune::{DeleteOptions, PRUNE_ANNOTATION};
pub use resolve::{Resolved, Resolver};
pub use watch::HealthWatcher;
