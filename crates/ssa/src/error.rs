//! What can go wrong applying, pruning or waiting; every message names the
//! object at fault.

/// An apply-engine failure.
#[derive(Debug, thiserror::Error)]
pub enum SsaError {
    /// A manifest is not a valid object.
    #[error("{subject}: {message}")]
    Invalid {
        /// `Kind/namespace/name` as far as known.
        subject: String,
        /// What is wrong.
        message: String,
    },
    /// The cluster serves no such kind (and no CRD in the set defines it).
    #[error("{subject}: no matches for kind \"{kind}\" in version \"{api_version}\"")]
    UnknownKind {
        /// The object.
        subject: String,
        /// Its kind.
        kind: String,
        /// Its apiVersion.
        api_version: String,
    },
    /// The API server refused a request about an object.
    #[error("{subject} {operation} failed ({reason}): {message}")]
    Api {
        /// The object.
        subject: String,
        /// `dry-run`, `apply`, `get`, `delete`.
        operation: &'static str,
        /// The API's reason (`Forbidden`, `Invalid`, ...).
        reason: String,
        /// The API's message.
        message: String,
        /// The HTTP status code (0 when the request did not get an answer).
        code: u16,
    },
    /// Discovery of the served kinds failed.
    #[error("discovering {group_version}: {message}")]
    Discovery {
        /// The group/version being looked up.
        group_version: String,
        /// What failed.
        message: String,
    },
    /// Objects did not become ready in time.
    #[error("timeout waiting for: [{0}]")]
    Timeout(String),
    /// An object reports that it failed.
    #[error("{0}")]
    Unhealthy(String),
}

impl SsaError {
    pub(crate) fn api(subject: &impl ToString, operation: &'static str, err: kube::Error) -> Self {
        match err {
            kube::Error::Api(status) => Self::Api {
                subject: subject.to_string(),
                operation,
                reason: if status.reason.is_empty() {
                    "Unknown".to_string()
                } else {
                    status.reason.clone()
                },
                message: status.message.clone(),
                code: status.code,
            },
            other => Self::Api {
                subject: subject.to_string(),
                operation,
                reason: "Unknown".to_string(),
                message: other.to_string(),
                code: 0,
            },
        }
    }

    /// The API reason (`Forbidden`, ...) when the failure came from the API server.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Api { reason, .. } => Some(reason),
            _ => None,
        }
    }

    /// Whether the API server refused the request for lack of permission.
    pub fn is_forbidden(&self) -> bool {
        matches!(self, Self::Api { code: 403, .. })
    }

    /// Whether the failure says an immutable field was changed (a case that
    /// `force` handles by recreating the object).
    pub fn is_immutable(&self) -> bool {
        match self {
            Self::Api {
                code: 422, message, ..
            } => {
                let m = message.to_ascii_lowercase();
                m.contains("field is immutable")
                    || m.contains("cannot change roleref")
                    || m.contains("updates to statefulset spec for fields other than")
                    || m.contains("may not change once set")
            }
            _ => false,
        }
    }
}
