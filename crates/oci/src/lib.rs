//! Ferroflux's OCI side: a small client of the OCI distribution API
//! ([`client`]: manifests, blobs, tag lists, pushes; basic and bearer-token
//! auth; TLS with a CA and a client certificate) and Flux's OCI artifact
//! format ([`artifact`]: what `flux push artifact` writes).
//!
//! Everything read from a registry is untrusted: manifests and tag lists
//! are read up to a size limit, blobs are streamed to disk up to a size
//! limit (refused from their declared size before a byte is read when they
//! say they are too large) and every manifest and blob is checked against
//! its digest before it is used.

pub mod artifact;
pub mod client;
pub mod error;
pub mod manifest;
pub mod reference;

pub use client::{Client, ClientOptions, Credentials, Limits};
pub use error::OciError;
pub use manifest::{Descriptor, Manifest};
pub use reference::{Reference, Repository};
