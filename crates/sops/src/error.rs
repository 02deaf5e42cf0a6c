use thiserror::Error;

/// Why a document could not be decrypted. No variant carries key material or plaintext.
#[derive(Debug, Error)]
pub enum Error {
    /// The input exceeds [`crate::Options::max_input_bytes`].
    #[error("sops document is {size} bytes, more than the limit of {limit}")]
    TooLarge {
        /// Input size.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The input is not a well-formed document of its format.
    #[error("cannot parse sops {format} document: {reason}")]
    Parse {
        /// Format name.
        format: &'static str,
        /// What is wrong (positions and structure only).
        reason: String,
    },
    /// The document has no `sops` metadata block.
    #[error("sops metadata not found: the document is not encrypted with sops")]
    MetadataNotFound,
    /// The `sops` metadata block is malformed.
    #[error("invalid sops metadata: {0}")]
    Metadata(String),
    /// A feature of the document this decryptor does not implement.
    #[error("not supported: {0}")]
    Unsupported(String),
    /// A key file handed to the key ring is unusable.
    #[error("invalid {kind} key: {reason}")]
    InvalidKey {
        /// `age` or `pgp`.
        kind: &'static str,
        /// What is wrong (never the key itself).
        reason: String,
    },
    /// None of the document's master keys could be opened with the given keys.
    #[error("cannot recover the sops data key: {}", .0.join("; "))]
    NoDataKey(Vec<String>),
    /// A value is not a well-formed `ENC[AES256_GCM,...]` string.
    #[error("malformed encrypted value at '{path}': {reason}")]
    MalformedValue {
        /// The value's key path as SOPS builds it (`a:b:`).
        path: String,
        /// What is malformed.
        reason: &'static str,
    },
    /// A value failed authentication: tampered ciphertext or wrong data key.
    #[error(
        "encrypted value at '{path}' failed authentication (tampered, moved or encrypted with another data key)"
    )]
    Authentication {
        /// The value's key path as SOPS builds it.
        path: String,
    },
    /// A decrypted value does not parse as the type it is tagged with.
    #[error("decrypted value at '{path}' is not a valid {kind}")]
    BadType {
        /// The value's key path.
        path: String,
        /// The tagged type.
        kind: &'static str,
    },
    /// The document carries no MAC and missing MACs are not allowed.
    #[error("sops document has no MAC; refusing it (its integrity cannot be checked)")]
    MacMissing,
    /// The recomputed MAC differs from the stored one.
    #[error("sops MAC mismatch: the document was modified after it was encrypted")]
    MacMismatch,
}
