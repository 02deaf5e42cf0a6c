//! Helm's release records: the `sh.helm.release.v1.<name>.v<revision>` Secret,
//! its labels, and `data.release` (base64 of gzip of the release JSON).
//!
//! - [`types`] and [`chart`]: Helm v4's release JSON, losslessly;
//! - [`codec`]: `data.release` encoding and bounded decoding;
//! - [`storage`]: the Secret (or ConfigMap) holding one revision;
//! - [`history`]: a release's revisions, as Helm's storage queries them;
//! - [`revision`]: a new revision as Helm's install, upgrade and rollback start it.
//!
//! Objects are `serde_json::Value`s in the Kubernetes JSON form, so this
//! module needs no cluster client: callers read and write them.

pub mod chart;
pub mod codec;
pub mod from_loaded;
pub mod history;
pub mod revision;
mod serde_go;
pub mod storage;
pub mod types;

pub use chart::{Chart, Dependency, File, Lock, Maintainer, Metadata};
pub use codec::{CodecError, DEFAULT_MAX_DECOMPRESSED, Limits};
pub use history::{History, Skipped};
pub use revision::{ApplyMethod, Rendered};
pub use serde_go::{GO_ZERO_TIME, GoTime};
pub use storage::{Driver, NameError, Record, Stamp, StorageError, validate_release_name};
pub use types::{Hook, HookExecution, Info, Release, Status};
