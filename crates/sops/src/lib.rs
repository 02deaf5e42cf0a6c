//! Decryption of documents encrypted by [SOPS](https://getsops.io), as Flux's
//! kustomize-controller needs it.
//!
//! Supports the YAML, JSON, dotenv, INI and binary formats as `sops` writes them, data keys
//! held by age identities (X25519 and post-quantum ML-KEM-768+X25519) or OpenPGP secret
//! keys, per-value AES-256-GCM with the value's key path as additional data, SOPS's
//! partial-encryption rules, and MAC verification before anything is returned. Cloud KMS, Vault and Shamir key groups answer
//! with a clear "not supported" error; nothing here touches the network or the filesystem.
//!
//! Error messages never contain key material or decrypted values: only key paths (which
//! SOPS keeps in clear text), recipients and fingerprints (which are public).

mod age_pq;
mod cipher;
mod decrypt;
mod error;
mod flat;
mod keys;
mod metadata;
mod tree;

pub use decrypt::{
    MAX_SEPARATELY_ENCRYPTED_DOCUMENTS, Options, decrypt, decrypt_tree, is_encrypted,
};
pub use error::Error;
pub use keys::KeyRing;
pub use tree::Value;

/// The file formats SOPS encrypts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A YAML document (one document per file).
    Yaml,
    /// A JSON document.
    Json,
    /// A dotenv file (`KEY=value` lines).
    Dotenv,
    /// An INI file.
    Ini,
    /// Any other file: SOPS stores it as JSON `{"data": ..., "sops": ...}`.
    Binary,
}

impl Format {
    /// The format SOPS picks for a file name, by extension (anything unknown is binary).
    pub fn from_path(path: &str) -> Format {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Format::Yaml
        } else if lower.ends_with(".json") {
            Format::Json
        } else if lower.ends_with(".env") {
            Format::Dotenv
        } else if lower.ends_with(".ini") {
            Format::Ini
        } else {
            Format::Binary
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Yaml => "YAML",
            Format::Json => "JSON",
            Format::Dotenv => "dotenv",
            Format::Ini => "INI",
            Format::Binary => "binary",
        }
    }
}
