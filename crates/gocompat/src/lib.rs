//! What Go's standard library does to text, for code that must produce or
//! accept exactly what a Go program would: Kubernetes' messages, kustomize's
//! hashes, Flux's ignore files and substitutions, Go templates.
//!
//! - [`quote`]: `strconv.Quote` (`%q`);
//! - [`json`]: `encoding/json` strings (HTML-safe escapes) and generic values
//!   (sorted keys, Go's float formatting);
//! - [`glob`]: `path.Match` patterns;
//! - [`path`]: `path.Clean`, `Base`, `Dir`, `Ext`, `IsAbs`;
//! - [`time`]: `time.RFC3339` timestamps;
//! - [`semver`]: Masterminds/semver v3 versions and constraints (Helm's).
//!
//! Pure: no I/O, no global state beyond lazily built tables.

#![warn(missing_docs)]

pub mod glob;
pub mod json;
pub mod path;
mod quote;
pub mod semver;
pub mod time;

pub use quote::quote;
