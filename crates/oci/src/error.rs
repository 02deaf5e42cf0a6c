//! What can go wrong talking to a registry. Messages name the registry,
//! repository and reference at fault, never credentials.

/// An OCI operation's failure.
#[derive(Debug, thiserror::Error)]
pub enum OciError {
    /// The repository URL or the tag/digest is not valid.
    #[error("invalid OCI reference {input:?}: {reason}")]
    InvalidReference {
        /// What was given.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The registry refused the credentials (or asked for some and none
    /// were given).
    #[error("authentication to {registry} failed: {detail}")]
    Authentication {
        /// The registry host.
        registry: String,
        /// What the registry said (status, error code).
        detail: String,
    },
    /// The manifest, tag or blob does not exist.
    #[error("{what} not found in {repository}")]
    NotFound {
        /// What was looked for (`tag "v1"`, `blob sha256:...`).
        what: String,
        /// `host/path` of the repository.
        repository: String,
    },
    /// The registry answered with an unexpected status.
    #[error("{operation} {repository}: HTTP {status}{detail}")]
    Status {
        /// What was being done (`pulling manifest from`).
        operation: String,
        /// `host/path`.
        repository: String,
        /// The HTTP status code.
        status: u16,
        /// The registry's error codes, if it sent any (prefixed by `: `).
        detail: String,
    },
    /// The registry could not be reached, or the connection broke.
    #[error("{operation} {repository}: {detail}")]
    Transport {
        /// What was being done.
        operation: String,
        /// `host/path`.
        repository: String,
        /// The error and its causes on one line.
        detail: String,
    },
    /// Content does not match the digest it was fetched by or announced with.
    #[error("{what} digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// Which content (`manifest of tag "v1"`, `layer sha256:...`).
        what: String,
        /// The digest it should have.
        expected: String,
        /// The digest it has.
        actual: String,
    },
    /// Content over the size limit; refused before or while downloading.
    #[error("{what} exceeds the size limit of {limit} bytes")]
    TooLarge {
        /// Which content.
        what: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// A manifest (or tag list, or token answer) that is not what the API
    /// says it is.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// Which document.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The operation did not finish within its time limit.
    #[error("{operation} {repository}: timed out after {seconds}s")]
    Timeout {
        /// What was being done.
        operation: String,
        /// `host/path`.
        repository: String,
        /// The limit.
        seconds: u64,
    },
    /// A local file could not be read or written.
    #[error("{operation} {path}: {source}")]
    Io {
        /// What was being done.
        operation: String,
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The HTTP client could not be built (bad TLS material, ...).
    #[error("building the HTTP client: {0}")]
    Client(String),
}

impl OciError {
    /// Whether the failure is the registry refusing credentials.
    pub fn is_authentication(&self) -> bool {
        matches!(self, OciError::Authentication { .. })
    }

    pub(crate) fn io(operation: &str, path: &std::path::Path, source: std::io::Error) -> Self {
        OciError::Io {
            operation: operation.to_string(),
            path: path.display().to_string(),
            source,
        }
    }
}

/// An error and its causes on one line (reqwest hides the interesting part
/// in `source()`).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let s_text = s.to_string();
        if !out.contains(&s_text) {
            out.push_str(": ");
            out.push_str(&s_text);
        }
        cur = s.source();
    }
    out
}
