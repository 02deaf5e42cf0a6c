//! Artifact client: download a source artifact, verify its digest, extract it safely.
//!
//! source-controller serves every artifact as a `tar.gz` over plain HTTP and publishes its
//! `status.artifact.url` and `status.artifact.digest`. kustomize-controller and
//! helm-controller consume those artifacts here. An artifact is untrusted input: whoever
//! controls the Git repository, Helm chart or bucket behind it controls its bytes, so
//! this module treats every byte as hostile:
//!
//! - [`ArtifactClient::fetch`] streams the body with a hard size cap, a timeout and
//!   bounded retries, and verifies the digest over exactly the bytes it returns — nothing
//!   is extracted from an archive that failed verification.
//! - [`extract`] unpacks into a private staging directory next to the destination,
//!   refusing anything that could write outside it (absolute paths, `..`, links that
//!   leave the root, writes through symlinks, devices), capping the unpacked size and
//!   entry count, and renames the result into place only when every entry was accepted.
//!   On any error the destination is left exactly as it was.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ferroflux_runtime::artifact::ArtifactError> {
//! use ferroflux_runtime::artifact::{ArtifactClient, FetchOptions, Limits};
//!
//! let client = ArtifactClient::new(FetchOptions::default())?;
//! let summary = client
//!     .fetch_and_extract(
//!         "http://source-controller.flux-system.svc/gitrepository/ns/name/abc.tar.gz",
//!         "sha256:0000000000000000000000000000000000000000000000000000000000000000",
//!         std::path::Path::new("/tmp/work/source"),
//!         &Limits::default(),
//!     )
//!     .await?;
//! println!("extracted {} files", summary.files);
//! # Ok(())
//! # }
//! ```

mod digest;
mod extract;
mod fetch;

use std::io;
use std::path::{Path, PathBuf};

pub use digest::{Digest, DigestAlgorithm};
pub use extract::{ExtractSummary, Limits, extract};
pub use fetch::{ArtifactClient, FetchOptions};

/// Everything that can go wrong while fetching, verifying or extracting an artifact.
///
/// Variants are precise so that controllers can pick a condition reason (a digest
/// mismatch or an unsafe archive will not heal by retrying; a 503 might) and so that the
/// message names the URL, digest or archive entry at fault. URLs in messages have any
/// user-info credentials replaced, because messages end up in status and events.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArtifactError {
    /// The expected digest string is malformed (not `<algorithm>:<hex>`, or the hex has
    /// the wrong length or non-hex characters).
    #[error("invalid artifact digest {digest:?}: {reason}")]
    InvalidDigest {
        /// The digest string as given.
        digest: String,
        /// What is wrong with it.
        reason: String,
    },

    /// The digest names an algorithm this client cannot compute.
    #[error(
        "unsupported digest algorithm {algorithm:?} in artifact digest (supported: sha256, sha384, sha512)"
    )]
    UnsupportedDigestAlgorithm {
        /// The algorithm part of the digest string.
        algorithm: String,
    },

    /// The artifact URL cannot be parsed or uses a scheme other than http/https.
    #[error("invalid artifact URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL (credentials redacted).
        url: String,
        /// Why it was rejected.
        reason: String,
    },

    /// The HTTP client could not be constructed (TLS setup failed).
    #[error("cannot build HTTP client for artifacts: {0}")]
    Client(#[source] reqwest::Error),

    /// The request failed at the transport level (connect, TLS, timeout, connection
    /// reset) on every attempt.
    #[error("fetching artifact from {url} failed after {attempts} attempt(s): {detail}")]
    Transport {
        /// The URL (credentials redacted).
        url: String,
        /// How many attempts were made, including the first.
        attempts: u32,
        /// The error and its causes, flattened into one line for status messages.
        detail: String,
        /// The last underlying error.
        #[source]
        source: reqwest::Error,
    },

    /// The server answered with a non-success status: at once for statuses that will not
    /// change on retry (such as 404), or after the last retry for 5xx/408/429.
    #[error("fetching artifact from {url} failed after {attempts} attempt(s): HTTP {status}")]
    HttpStatus {
        /// The URL (credentials redacted).
        url: String,
        /// The HTTP status code of the last response.
        status: u16,
        /// How many attempts were made, including the first.
        attempts: u32,
    },

    /// The response body (or its declared `Content-Length`) exceeds the download limit.
    /// The download was aborted as soon as that was known.
    #[error("artifact at {url} exceeds the download size limit of {limit} bytes")]
    TooLarge {
        /// The URL (credentials redacted).
        url: String,
        /// The configured limit in bytes.
        limit: u64,
    },

    /// The downloaded bytes do not hash to the expected digest.
    #[error("artifact at {url} failed digest verification: expected {expected}, got {actual}")]
    DigestMismatch {
        /// The URL (credentials redacted).
        url: String,
        /// The digest the caller expected (normalised to lower-case hex).
        expected: String,
        /// The digest of the bytes actually received.
        actual: String,
    },

    /// An archive entry's path is not allowed: absolute, contains `..`, contains a NUL
    /// byte, would be written through a symlink or a file, or repeats an earlier entry.
    #[error("archive entry {entry:?} is refused: {reason}")]
    UnsafePath {
        /// The entry path as stored in the archive.
        entry: String,
        /// Why it was refused.
        reason: String,
    },

    /// A symlink or hardlink entry points somewhere it must not.
    #[error("archive entry {entry:?} is a link to {target:?}, which is refused: {reason}")]
    UnsafeLink {
        /// The entry path as stored in the archive.
        entry: String,
        /// The link target as stored in the archive.
        target: String,
        /// Why it was refused.
        reason: String,
    },

    /// An archive entry has a type that is never extracted (device, fifo, sparse file,
    /// unknown type).
    #[error("archive entry {entry:?} has unsupported type {kind}")]
    UnsupportedEntryType {
        /// The entry path as stored in the archive.
        entry: String,
        /// A human name for the entry type.
        kind: String,
    },

    /// Extracting would exceed [`Limits::max_unpacked_bytes`] (or the archive stream's
    /// overall cap derived from it).
    #[error("archive entry {entry:?} exceeds the unpacked size limit of {limit} bytes")]
    UnpackedSizeLimit {
        /// The entry being processed when the limit was hit.
        entry: String,
        /// The configured limit in bytes.
        limit: u64,
    },

    /// Extracting would exceed [`Limits::max_entries`].
    #[error("archive entry {entry:?} exceeds the limit of {limit} entries")]
    EntryCountLimit {
        /// The entry being processed when the limit was hit.
        entry: String,
        /// The configured limit.
        limit: u64,
    },

    /// The gzip or tar stream is malformed or truncated.
    #[error("archive is corrupt at entry {entry:?}: {source}")]
    CorruptArchive {
        /// The entry being read (or a placeholder before the first entry).
        entry: String,
        /// The decoder's error.
        #[source]
        source: io::Error,
    },

    /// The destination cannot receive the archive: it exists and is not an empty
    /// directory, or it is a symlink.
    #[error("cannot extract into {path}: {reason}")]
    InvalidDestination {
        /// The destination path.
        path: PathBuf,
        /// Why it was rejected.
        reason: String,
    },

    /// A filesystem operation failed while extracting.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done, e.g. "create file".
        op: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },

    /// The blocking extraction task panicked or was cancelled.
    #[error("artifact extraction task failed: {0}")]
    Task(String),
}

impl ArtifactError {
    /// Builds an [`ArtifactError::Io`]; a helper because nearly every filesystem call
    /// needs one and the path must always be named.
    pub(crate) fn io(op: &'static str, path: &Path, source: io::Error) -> Self {
        ArtifactError::Io {
            op,
            path: path.to_path_buf(),
            source,
        }
    }
}

impl ArtifactClient {
    /// Downloads the artifact at `url`, verifies it against `digest`, and extracts it into
    /// `dest` under `limits`.
    ///
    /// The archive is extracted only after its digest has been verified. Extraction runs
    /// on tokio's blocking pool because it is synchronous filesystem work that must not
    /// stall the reconcile loop's executor threads.
    pub async fn fetch_and_extract(
        &self,
        url: &str,
        digest: &str,
        dest: &Path,
        limits: &Limits,
    ) -> Result<ExtractSummary, ArtifactError> {
        let bytes = self.fetch(url, digest).await?;
        let dest = dest.to_path_buf();
        let limits = limits.clone();
        tokio::task::spawn_blocking(move || extract(bytes.as_slice(), &dest, &limits))
            .await
            .map_err(|e| ArtifactError::Task(e.to_string()))?
    }
}
