//! Errors of the Git client, each variant mapping to a Flux condition reason.

use std::fmt;

/// The condition reason of a commit over the size limits (no Flux
/// equivalent: Flux has no limit on Git checkouts).
pub const SIZE_LIMIT_EXCEEDED: &str = "SizeLimitExceeded";

/// What went wrong while talking to a Git remote or writing a checkout.
///
/// Every message names the (sanitised) URL and the cause, and never contains
/// credentials: URLs lose their userinfo and known secret values are masked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GitError {
    /// The URL cannot be parsed or uses an unsupported scheme (Flux: `URLInvalid`, stalls).
    #[error("invalid URL '{url}': {message}")]
    InvalidUrl { url: String, message: String },
    /// Credentials were refused, missing, or the Secret's data is unusable
    /// (Flux: `AuthenticationFailed`).
    #[error("authentication to '{url}' failed: {message}")]
    AuthenticationFailed { url: String, message: String },
    /// The reference in `spec.ref` is malformed, e.g. an unparsable SemVer range or
    /// an invalid commit SHA. Cannot heal without a spec change (stalls).
    #[error("invalid reference: {message}")]
    InvalidRef { message: String },
    /// The branch, tag, ref name, SemVer match or commit does not exist on the remote.
    #[error("unable to clone '{url}': {message}")]
    NotFound { url: String, message: String },
    /// Network, protocol, timeout or any other failure talking to the remote
    /// (Flux: `GitOperationFailed`).
    #[error("unable to clone '{url}': {message}")]
    GitOperationFailed { url: String, message: String },
    /// A local file-system failure in the cache or the checkout directory
    /// (Flux: `StorageOperationFailed`).
    #[error("storage operation on '{path}' failed: {message}")]
    Storage { path: String, message: String },
    /// The commit's files are over a size limit (`--git-max-size`,
    /// `--git-file-max-size`); found from the object headers before anything
    /// is written.
    #[error("{message}")]
    TooLarge { message: String },
}

impl GitError {
    /// The Flux condition reason this error maps to.
    pub fn reason(&self) -> &'static str {
        match self {
            GitError::InvalidUrl { .. } => "URLInvalid",
            GitError::AuthenticationFailed { .. } => "AuthenticationFailed",
            GitError::InvalidRef { .. }
            | GitError::NotFound { .. }
            | GitError::GitOperationFailed { .. } => "GitOperationFailed",
            GitError::Storage { .. } => "StorageOperationFailed",
            GitError::TooLarge { .. } => SIZE_LIMIT_EXCEEDED,
        }
    }

    /// True when retrying cannot help until the spec (or Secret) changes.
    pub fn is_stalling(&self) -> bool {
        matches!(
            self,
            GitError::InvalidUrl { .. } | GitError::InvalidRef { .. }
        )
    }

    pub(crate) fn storage(path: &std::path::Path, err: impl fmt::Display) -> GitError {
        GitError::Storage {
            path: path.display().to_string(),
            message: err.to_string(),
        }
    }
}

/// Removes credentials from text before it reaches an error, log or status.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    /// (raw text, replacement) pairs, longest first.
    replacements: Vec<(String, String)>,
}

impl Redactor {
    /// Masks `raw_url` (replaced by `sanitised_url`) and each secret value.
    pub(crate) fn new<'a>(
        raw_url: &str,
        sanitised_url: &str,
        secrets: impl IntoIterator<Item = &'a str>,
    ) -> Redactor {
        let mut replacements = Vec::new();
        if raw_url != sanitised_url {
            replacements.push((raw_url.to_string(), sanitised_url.to_string()));
        }
        for secret in secrets {
            if !secret.is_empty() {
                replacements.push((secret.to_string(), "***".to_string()));
            }
        }
        replacements.sort_by_key(|(raw, _)| std::cmp::Reverse(raw.len()));
        Redactor { replacements }
    }

    pub(crate) fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (raw, replacement) in &self.replacements {
            if out.contains(raw.as_str()) {
                out = out.replace(raw.as_str(), replacement);
            }
        }
        out
    }
}

/// Strips userinfo (user, password, token) from a URL so it can be shown.
pub fn sanitize_url(url: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        if let Some(at) = authority.rfind('@') {
            return format!(
                "{}{}{}",
                &url[..scheme_end + 3],
                &authority[at + 1..],
                &rest[authority_end..]
            );
        }
    }
    url.to_string()
}

/// Renders a gix error chain as one line: each distinct cause once, outermost first.
pub(crate) fn chain(err: &gix::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.iter_errors() {
        let text = cause.to_string();
        let text = text.trim();
        if text.is_empty() || parts.iter().any(|p| p.contains(text)) {
            continue;
        }
        parts.push(text.to_string());
    }
    if parts.is_empty() {
        err.to_string()
    } else {
        parts.join(": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_strips_userinfo() {
        assert_eq!(
            sanitize_url("https://user:pa55@example.com:8443/org/repo.git"),
            "https://example.com:8443/org/repo.git"
        );
        assert_eq!(
            sanitize_url("ssh://git@example.com/repo"),
            "ssh://example.com/repo"
        );
        assert_eq!(sanitize_url("/tmp/repo"), "/tmp/repo");
        assert_eq!(
            sanitize_url("https://example.com/a@b"),
            "https://example.com/a@b"
        );
    }

    #[test]
    fn redactor_masks_url_and_secrets() {
        let r = Redactor::new("https://u:hunter2@h/r", "https://h/r", ["hunter2", ""]);
        assert_eq!(
            r.redact("failed for https://u:hunter2@h/r with hunter2"),
            "failed for https://h/r with ***"
        );
    }
}
