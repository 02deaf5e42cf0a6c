//! Helm chart repositories over HTTP(S): downloading `index.yaml` and chart
//! archives with size limits ([`http`]), reading an index in bounded memory
//! ([`index`]), checking and repackaging chart archives ([`chart`]),
//! charts built from GitRepository and Bucket sources ([`local`]) and
//! charts in OCI registries ([`oci`]).
//! No Kubernetes types here: the kinds in `crate::kinds` turn these into
//! HelmRepository and HelmChart artifacts.

pub mod chart;
pub mod http;
pub mod index;
pub mod local;
pub mod oci;

use crate::git::SIZE_LIMIT_EXCEEDED;

/// Largest `index.yaml` accepted by default (Flux's `--helm-index-max-size`
/// default: 50 MiB).
pub const DEFAULT_MAX_INDEX_SIZE: u64 = 50 << 20;

/// Largest chart archive accepted by default (Flux's
/// `--helm-chart-max-size` default: 10 MiB).
pub const DEFAULT_MAX_CHART_SIZE: u64 = 10 << 20;

/// Largest total size of a chart's files once unpacked (a decompression
/// bomb stops here).
pub const DEFAULT_MAX_CHART_UNPACKED_SIZE: u64 = 100 << 20;

/// Reason of a failure to read or validate an index (Flux's).
pub const INDEXATION_FAILED: &str = "IndexationFailed";

/// Reason of an invalid repository URL (Flux's).
pub const URL_INVALID: &str = "URLInvalid";

/// Reason of a chart reference that matches nothing in the index (Flux's).
pub const INVALID_CHART_REFERENCE: &str = "InvalidChartReference";

/// Reason of a chart that could not be downloaded or read (Flux's).
pub const CHART_PULL_ERROR: &str = "ChartPullError";

/// Reason of a chart that could not be packaged with its values (Flux's).
pub const CHART_PACKAGE_ERROR: &str = "ChartPackageError";

/// Reason of a chart dependency that could not be added (Flux's).
pub const DEPENDENCY_BUILD_ERROR: &str = "DependencyBuildError";

/// Why a Helm repository operation failed. Messages hold URLs without
/// credentials and never a Secret value.
#[derive(Debug, thiserror::Error)]
pub enum HelmError {
    /// The repository or chart URL is not usable.
    #[error("invalid Helm repository URL: {0}")]
    InvalidUrl(String),
    /// The credentials or TLS material could not be used, or the server
    /// refused them.
    #[error("{0}")]
    Authentication(String),
    /// The server could not be reached or answered an error.
    #[error("{0}")]
    Fetch(String),
    /// A download was over its size limit.
    #[error("{what} exceeds the maximum size of {limit} bytes")]
    TooLarge {
        /// What was downloaded (`index`, `chart 'podinfo-6.0.3'`).
        what: String,
        /// The limit.
        limit: u64,
    },
    /// The index is not a valid Helm repository index.
    #[error("failed to load Helm repository index: {0}")]
    Index(String),
    /// The index has no chart version matching the reference.
    #[error("invalid chart reference: {0}")]
    Reference(String),
    /// The chart archive is unsafe or invalid.
    #[error("{0}")]
    Chart(String),
    /// The chart could not be packaged with its values files.
    #[error("{0}")]
    Package(String),
    /// A dependency of a chart built from a source could not be added.
    #[error("dependency build error: {0}")]
    Dependency(String),
    /// A local file operation failed.
    #[error("{0}")]
    Io(String),
}

impl HelmError {
    /// The condition reason Flux gives this failure.
    pub fn reason(&self) -> &'static str {
        match self {
            HelmError::InvalidUrl(_) => URL_INVALID,
            HelmError::Authentication(_) => {
                ferroflux_api::conditions::reasons::AUTHENTICATION_FAILED
            }
            HelmError::Fetch(_) => ferroflux_api::conditions::reasons::FAILED,
            HelmError::TooLarge { .. } => SIZE_LIMIT_EXCEEDED,
            HelmError::Index(_) => INDEXATION_FAILED,
            HelmError::Reference(_) => INVALID_CHART_REFERENCE,
            HelmError::Chart(_) => CHART_PULL_ERROR,
            HelmError::Package(_) => CHART_PACKAGE_ERROR,
            HelmError::Dependency(_) => DEPENDENCY_BUILD_ERROR,
            HelmError::Io(_) => ferroflux_api::conditions::reasons::STORAGE_OPERATION_FAILED,
        }
    }

    /// Whether only a spec change can fix it (`Stalled`).
    pub fn is_stalling(&self) -> bool {
        matches!(self, HelmError::InvalidUrl(_) | HelmError::Reference(_))
    }
}
