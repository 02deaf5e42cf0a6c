//! Git commit statuses (`github`, `gitlab`, `gitea`), as Flux sets them:
//! the Provider's address is the repository URL, the commit is the one in
//! the event's `revision` metadata, the state follows the severity, the
//! status is named `<kind>/<name>/<first part of the Provider UID>` and
//! described by the event reason split into lower-case words.
//!
//! Flux lists a commit's statuses before setting one, to skip duplicates;
//! Ferroflux sets the status every time (the services keep the latest
//! status per name, so a repeat changes nothing a reader sees).

use ferroflux_api::notification::v1beta3::ProviderType;
use reqwest::Url;
use serde::{Deserialize, Serialize};

use crate::intake::{FluxEvent, Severity};

/// The reason Flux controllers give to "reconciliation in progress" events.
pub const PROGRESSING_REASON: &str = "Progressing";

/// Why a commit status cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommitStatusError {
    /// The event carries no revision.
    #[error("missing revision metadata")]
    NoRevision,
    /// The revision holds no commit hash.
    #[error("failed to extract commit hash from '{0}' revision")]
    BadRevision(String),
    /// The address is not `<host>/<owner>/<repo>`.
    #[error("invalid repository id: '{0}'")]
    BadRepository(String),
    /// No token (or password) in the Secret.
    #[error("{0} token cannot be empty: set the 'token' key of the secret")]
    NoToken(&'static str),
    /// The severity has no state.
    #[error("can't convert severity {0} to a commit state")]
    NoState(&'static str),
}

/// Whether `t` is one of the commit-status types implemented here.
pub fn is_git(t: ProviderType) -> bool {
    matches!(
        t,
        ProviderType::Github | ProviderType::Gitlab | ProviderType::Gitea
    )
}

/// The repository URL as `https://host/path` when given in an SSH form
/// (`ssh://git@host/org/repo`, `git@host:org/repo.git`), as Flux's
/// `parseGitAddress` does; other forms are returned unchanged.
pub fn https_repository_url(raw: &str) -> String {
    let raw = raw.trim();
    if let Some(rest) = raw.strip_prefix("ssh://") {
        let rest = rest.split_once('@').map_or(rest, |(_, r)| r);
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        // The SSH port means nothing over HTTPS.
        let host = host.split(':').next().unwrap_or(host);
        return format!("https://{host}/{path}");
    }
    if !raw.contains("://")
        && let Some((user_host, path)) = raw.split_once(':')
    {
        let host = user_host.split_once('@').map_or(user_host, |(_, h)| h);
        if !host.is_empty() && !path.starts_with('/') {
            return format!("https://{host}/{path}");
        }
    }
    raw.to_string()
}

/// The repository id: the address path without slashes around it and
/// without `.git`.
pub fn repository_id(address: &Url) -> String {
    let path = address.path().trim_start_matches('/').trim_end_matches('/');
    path.strip_suffix(".git").unwrap_or(path).to_string()
}

/// `scheme://host[:port]` of the address.
fn host_base(address: &Url) -> String {
    let mut base = format!(
        "{}://{}",
        address.scheme(),
        address.host_str().unwrap_or_default()
    );
    if let Some(port) = address.port() {
        base.push_str(&format!(":{port}"));
    }
    base
}

/// The commit hash of a Flux revision: `main@sha1:<hash>`, `sha256:<hash>`,
/// the legacy `main/<hash>`, or a bare hash (40 or 64 hex digits).
pub fn commit_sha(revision: &str) -> Result<String, CommitStatusError> {
    let rev = revision.trim();
    let hash = match rev.rsplit_once(':') {
        Some((_, h)) => h,
        None => rev.rsplit_once('/').map_or(rev, |(_, h)| h),
    };
    if matches!(hash.len(), 40 | 64) && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hash.to_ascii_lowercase())
    } else {
        Err(CommitStatusError::BadRevision(revision.to_string()))
    }
}

/// Splits a CamelCase word as Flux's `splitCamelcase` (runs of lower,
/// upper, digit and other characters; `PDFLoader` is `PDF`, `Loader`).
pub fn split_camel_case(src: &str) -> Vec<String> {
    fn class(c: char) -> u8 {
        if c.is_lowercase() {
            1
        } else if c.is_uppercase() {
            2
        } else if c.is_numeric() {
            3
        } else {
            4
        }
    }
    let mut runs: Vec<Vec<char>> = Vec::new();
    let mut last = 0;
    for c in src.chars() {
        let k = class(c);
        match runs.last_mut() {
            Some(run) if k == last => run.push(c),
            _ => runs.push(vec![c]),
        }
        last = k;
    }
    for i in 0..runs.len().saturating_sub(1) {
        let upper_then_lower = runs[i].first().is_some_and(|c| c.is_uppercase())
            && runs[i + 1].first().is_some_and(|c| c.is_lowercase());
        if upper_then_lower && let Some(c) = runs[i].pop() {
            runs[i + 1].insert(0, c);
        }
    }
    runs.into_iter()
        .filter(|r| !r.is_empty())
        .map(|r| r.into_iter().collect())
        .collect()
}

/// The status description: the reason in lower-case words
/// (`ReconciliationSucceeded` → `reconciliation succeeded`).
pub fn description(event: &FluxEvent) -> String {
    split_camel_case(&event.reason).join(" ").to_lowercase()
}

/// Flux's default status name: `<kind>/<name>/<first UID part>`, lower-case,
/// so several clusters can report on the same commit.
pub fn default_name(event: &FluxEvent, provider_uid: &str) -> String {
    let uid = provider_uid.split('-').next().unwrap_or_default();
    format!(
        "{}/{}/{uid}",
        event.involved_object.kind, event.involved_object.name
    )
    .to_lowercase()
}

/// Why an event is not sent to a commit-status Provider (not an error): it
/// has no revision, or (GitHub, GitLab) it only says work is in progress.
pub fn skip_reason(t: ProviderType, event: &FluxEvent) -> Option<&'static str> {
    if !is_git(t) {
        return None;
    }
    if !event.metadata.contains_key("revision") {
        return Some("the event has no revision");
    }
    if t != ProviderType::Gitea && event.reason == PROGRESSING_REASON {
        return Some("progressing events are not commit statuses");
    }
    None
}

/// A GitHub commit status (`POST /repos/{owner}/{repo}/statuses/{sha}`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GitHubStatus {
    /// `success`, `failure` (also `pending`, `error`).
    pub state: String,
    /// Short description.
    pub description: String,
    /// The status name.
    pub context: String,
}

/// A GitLab commit status (`POST /api/v4/projects/{id}/statuses/{sha}`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GitLabStatus {
    /// `success`, `failed` (also `pending`, `running`, `canceled`).
    pub state: String,
    /// The status name.
    pub name: String,
    /// Short description.
    pub description: String,
}

/// A Gitea commit status (`POST /api/v1/repos/{owner}/{repo}/statuses/{sha}`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GiteaStatus {
    /// `pending`, `success`, `failure` (also `error`, `warning`).
    pub state: String,
    /// Link to details (Flux sends none).
    pub target_url: String,
    /// Short description.
    pub description: String,
    /// The status name.
    pub context: String,
}

/// What to send: where, the credential header, and the body.
pub struct StatusRequest {
    /// The API endpoint.
    pub url: Url,
    /// Authorization header name and value.
    pub auth: (&'static str, String),
    /// Extra `Accept` header value, if the API wants one.
    pub accept: Option<&'static str>,
    /// JSON body.
    pub body: Vec<u8>,
}

fn owner_repo(id: &str) -> Result<(&str, &str), CommitStatusError> {
    match id.split('/').collect::<Vec<_>>()[..] {
        [owner, repo] if !owner.is_empty() && !repo.is_empty() => Ok((owner, repo)),
        _ => Err(CommitStatusError::BadRepository(id.to_string())),
    }
}

/// Percent-encodes everything but unreserved characters (GitLab wants the
/// project path as one segment: `group%2Fproject`).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn parse(url: String) -> Result<Url, CommitStatusError> {
    Url::parse(&url).map_err(|_| CommitStatusError::BadRepository(url))
}

/// Builds the request setting the commit status of `event` for a Provider
/// of type `t` at repository `address`.
pub fn build(
    t: ProviderType,
    address: &Url,
    token: Option<&str>,
    provider_uid: &str,
    event: &FluxEvent,
) -> Result<StatusRequest, CommitStatusError> {
    let revision = event
        .metadata
        .get("revision")
        .ok_or(CommitStatusError::NoRevision)?;
    let sha = commit_sha(revision)?;
    let id = repository_id(address);
    let name = default_name(event, provider_uid);
    let desc = description(event);
    let progressing = event.reason == PROGRESSING_REASON;
    let state = |ok: &'static str, failed: &'static str| match event.severity {
        Severity::Info => Ok(ok),
        Severity::Error => Ok(failed),
        Severity::Trace => Err(CommitStatusError::NoState("trace")),
    };
    let token = |what: &'static str| {
        token
            .filter(|t| !t.is_empty())
            .ok_or(CommitStatusError::NoToken(what))
    };
    match t {
        ProviderType::Gitlab => {
            let token = token("gitlab")?;
            let url = parse(format!(
                "{}/api/v4/projects/{}/statuses/{sha}",
                host_base(address),
                encode_segment(&id)
            ))?;
            let body = GitLabStatus {
                state: state("success", "failed")?.to_string(),
                name,
                description: desc,
            };
            Ok(StatusRequest {
                url,
                auth: ("private-token", token.to_string()),
                accept: None,
                body: serde_json::to_vec(&body).unwrap_or_default(),
            })
        }
        ProviderType::Gitea => {
            let token = token("gitea")?;
            let (owner, repo) = owner_repo(&id)?;
            let url = parse(format!(
                "{}/api/v1/repos/{owner}/{repo}/statuses/{sha}",
                host_base(address)
            ))?;
            let state = if progressing {
                "pending"
            } else {
                state("success", "failure")?
            };
            let body = GiteaStatus {
                state: state.to_string(),
                target_url: String::new(),
                description: desc,
                context: name,
            };
            Ok(StatusRequest {
                url,
                auth: ("authorization", format!("token {token}")),
                accept: None,
                body: serde_json::to_vec(&body).unwrap_or_default(),
            })
        }
        _ => {
            let token = token("github")?;
            let (owner, repo) = owner_repo(&id)?;
            // github.com is served by api.github.com; any other host is
            // GitHub Enterprise, whose API is under /api/v3.
            let api = if address.host_str() == Some("github.com") {
                "https://api.github.com".to_string()
            } else {
                format!("{}/api/v3", host_base(address))
            };
            let url = parse(format!("{api}/repos/{owner}/{repo}/statuses/{sha}"))?;
            let body = GitHubStatus {
                state: state("success", "failure")?.to_string(),
                description: desc,
                context: name,
            };
            Ok(StatusRequest {
                url,
                auth: ("authorization", format!("Bearer {token}")),
                accept: Some("application/vnd.github+json"),
                body: serde_json::to_vec(&body).unwrap_or_default(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "731f7eaddfb6af01cb2173e18f0f75b0ba780ef1";

    fn event(severity: &str, reason: &str, revision: Option<&str>) -> FluxEvent {
        let mut metadata = serde_json::Map::new();
        if let Some(r) = revision {
            metadata.insert("revision".into(), r.into());
        }
        serde_json::from_value(serde_json::json!({
            "involvedObject": {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "namespace": "apps", "name": "WebApp"},
            "severity": severity, "timestamp": "2024-05-01T10:00:00Z",
            "message": "applied", "reason": reason,
            "reportingController": "kustomize-controller",
            "metadata": metadata
        }))
        .unwrap()
    }

    #[test]
    fn revisions_yield_their_commit() {
        for rev in [
            format!("main@sha1:{SHA}"),
            format!("sha1:{SHA}"),
            format!("main/{SHA}"),
            format!("v1.2.3@sha1:{}", SHA.to_uppercase()),
            SHA.to_string(),
        ] {
            assert_eq!(commit_sha(&rev).unwrap(), SHA, "{rev}");
        }
        let sha256 = "a".repeat(64);
        assert_eq!(
            commit_sha(&format!("main@sha256:{sha256}")).unwrap(),
            sha256
        );
        for bad in ["main", "main@sha1:xyz", "1.2.3", "", "sha256:abcd"] {
            assert!(commit_sha(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn camel_case_split_as_flux() {
        assert_eq!(
            split_camel_case("ReconciliationSucceeded"),
            ["Reconciliation", "Succeeded"]
        );
        assert_eq!(split_camel_case("PDFLoader"), ["PDF", "Loader"]);
        assert_eq!(
            split_camel_case("HealthCheckFailed2x"),
            ["Health", "Check", "Failed", "2", "x"]
        );
        assert_eq!(
            description(&event("info", "ReconciliationSucceeded", None)),
            "reconciliation succeeded"
        );
    }

    #[test]
    fn ssh_addresses_become_https() {
        assert_eq!(
            https_repository_url("git@github.com:org/repo.git"),
            "https://github.com/org/repo.git"
        );
        assert_eq!(
            https_repository_url("ssh://git@gitlab.example.com:2222/group/sub/repo"),
            "https://gitlab.example.com/group/sub/repo"
        );
        assert_eq!(
            https_repository_url("https://github.com/org/repo"),
            "https://github.com/org/repo"
        );
        let u = Url::parse("https://github.com/org/repo.git/").unwrap();
        assert_eq!(repository_id(&u), "org/repo");
    }

    #[test]
    fn github_endpoints_and_states() {
        let e = event(
            "info",
            "ReconciliationSucceeded",
            Some(&format!("main@sha1:{SHA}")),
        );
        let uid = "0c9c2e41-d2f9-4f9b-9c41-2e8fb4c2e9b4";
        let u = Url::parse("https://github.com/org/repo").unwrap();
        let r = build(ProviderType::Github, &u, Some("ghp"), uid, &e).unwrap();
        assert_eq!(
            r.url.as_str(),
            format!("https://api.github.com/repos/org/repo/statuses/{SHA}")
        );
        assert_eq!(r.auth, ("authorization", "Bearer ghp".to_string()));
        let s: GitHubStatus = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(s.state, "success");
        assert_eq!(s.context, "kustomization/webapp/0c9c2e41");
        assert_eq!(s.description, "reconciliation succeeded");
        let u = Url::parse("http://127.0.0.1:8080/org/repo.git").unwrap();
        let e = event("error", "HealthCheckFailed", Some(SHA));
        let r = build(ProviderType::Github, &u, Some("ghp"), uid, &e).unwrap();
        assert_eq!(
            r.url.as_str(),
            format!("http://127.0.0.1:8080/api/v3/repos/org/repo/statuses/{SHA}")
        );
        let s: GitHubStatus = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(s.state, "failure");
        assert_eq!(
            build(ProviderType::Github, &u, None, uid, &e).err(),
            Some(CommitStatusError::NoToken("github"))
        );
        let deep = Url::parse("https://github.com/org/team/repo").unwrap();
        assert!(matches!(
            build(ProviderType::Github, &deep, Some("t"), uid, &e),
            Err(CommitStatusError::BadRepository(_))
        ));
        let trace = event("trace", "Applied", Some(SHA));
        assert!(build(ProviderType::Github, &u, Some("t"), uid, &trace).is_err());
    }

    #[test]
    fn gitlab_and_gitea_endpoints() {
        let e = event("error", "ReconciliationFailed", Some(SHA));
        let u = Url::parse("https://gitlab.example.com/group/sub/repo.git").unwrap();
        let r = build(ProviderType::Gitlab, &u, Some("glpat"), "abc-def", &e).unwrap();
        assert_eq!(
            r.url.as_str(),
            format!("https://gitlab.example.com/api/v4/projects/group%2Fsub%2Frepo/statuses/{SHA}")
        );
        assert_eq!(r.auth, ("private-token", "glpat".to_string()));
        let s: GitLabStatus = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            (s.state.as_str(), s.name.as_str()),
            ("failed", "kustomization/webapp/abc")
        );

        let u = Url::parse("https://gitea.example.com:3000/org/repo").unwrap();
        let p = event("info", PROGRESSING_REASON, Some(SHA));
        let r = build(ProviderType::Gitea, &u, Some("gt"), "abc", &p).unwrap();
        assert_eq!(
            r.url.as_str(),
            format!("https://gitea.example.com:3000/api/v1/repos/org/repo/statuses/{SHA}")
        );
        assert_eq!(r.auth, ("authorization", "token gt".to_string()));
        let s: GiteaStatus = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(s.state, "pending");
        assert_eq!(s.target_url, "");
    }

    #[test]
    fn skips_events_without_revision_and_progressing() {
        let no_rev = event("info", "ReconciliationSucceeded", None);
        assert!(skip_reason(ProviderType::Github, &no_rev).is_some());
        assert!(skip_reason(ProviderType::Slack, &no_rev).is_none());
        let p = event("info", PROGRESSING_REASON, Some(SHA));
        assert!(skip_reason(ProviderType::Gitlab, &p).is_some());
        assert!(skip_reason(ProviderType::Gitea, &p).is_none());
        let ok = event("error", "ReconciliationFailed", Some(SHA));
        assert!(skip_reason(ProviderType::Github, &ok).is_none());
    }
}
