//! Errors of the kustomize build.

use std::path::PathBuf;

use crate::strategic_merge::StrategicMergeError;

/// Why a build failed; every variant names the file (as seen from the build's file
/// system root) and, where there is one, the field at fault.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The directory holds no kustomization file, or more than one.
    #[error("{message} in directory '{dir}'")]
    KustomizationFile {
        /// The directory.
        dir: String,
        /// What is wrong.
        message: String,
    },
    /// A file could not be read.
    #[error("accumulating resources: reading '{path}': {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file is not valid YAML, or not of the expected shape.
    #[error("{path}: {field}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// The field at fault (or `-` for the whole file).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// A path escapes the kustomization's root while loads are restricted.
    #[error("security; file '{path}' is not in or below '{root}'")]
    Restricted {
        /// The offending path.
        path: String,
        /// The root it should be under.
        root: String,
    },
    /// A remote resource, which this engine does not fetch.
    #[error("{path}: {field}: remote resource '{url}' is not supported (no network access)")]
    Remote {
        /// The kustomization file.
        path: String,
        /// The field.
        field: String,
        /// The URL.
        url: String,
    },
    /// A feature this engine does not support.
    #[error("{path}: field '{field}' is not supported")]
    Unsupported {
        /// The kustomization file.
        path: String,
        /// The field.
        field: String,
    },
    /// Two resources with the same id.
    #[error("may not add resource with an already registered id: {id}")]
    Conflict {
        /// The id, as kustomize prints it.
        id: String,
    },
    /// A base is reached again through itself.
    #[error("cycle: '{path}' includes itself")]
    Cycle {
        /// The directory.
        path: String,
    },
    /// A strategic merge patch failed.
    #[error("{path}: patch: {source}")]
    StrategicMerge {
        /// Where the patch came from.
        path: String,
        /// The merge error.
        source: StrategicMergeError,
    },
    /// Any other build error, with its location.
    #[error("{path}: {message}")]
    Other {
        /// The kustomization file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

impl BuildError {
    pub(crate) fn other(path: &str, message: impl Into<String>) -> Self {
        BuildError::Other {
            path: path.to_string(),
            message: message.into(),
        }
    }
}

/// Shows `path` relative to `root` as an absolute path, as the build sees it.
pub(crate) fn display_path(root: &std::path::Path, path: &std::path::Path) -> String {
    match path.strip_prefix(root) {
        Ok(rel) => format!("/{}", rel.display()),
        Err(_) => PathBuf::from(path).display().to_string(),
    }
}
