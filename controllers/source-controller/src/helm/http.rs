//! The HTTP side of a chart repository: one client per repository (basic
//! auth, TLS, timeout), `index.yaml` and chart URLs resolved as Helm does,
//! and downloads streamed to disk under a size limit while their SHA-256 is
//! computed.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use ferroflux_runtime::secrets::{BasicAuth, TlsMaterial};
use reqwest::{StatusCode, Url};
use sha2::{Digest, Sha256};

use super::HelmError;
use crate::git::sanitize_url;

/// What a download wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downloaded {
    /// Bytes written.
    pub size: u64,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
}

/// A chart repository reached over HTTP(S).
#[derive(Clone)]
pub struct RepoClient {
    http: reqwest::Client,
    base: Url,
    auth: Option<BasicAuth>,
    pass_credentials: bool,
}

impl std::fmt::Debug for RepoClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepoClient")
            .field("base", &self.base.as_str())
            .field("auth", &self.auth)
            .field("pass_credentials", &self.pass_credentials)
            .finish()
    }
}

/// The repository URL as Helm uses it: `http`/`https` only, no
/// credentials in it, and a path ending in `/` so that relative chart URLs
/// resolve below it.
pub fn normalize_url(raw: &str) -> Result<Url, HelmError> {
    if raw.starts_with("oci://") {
        return Err(HelmError::InvalidUrl(
            "'oci' URL scheme cannot be used with 'default' HelmRepository type".to_string(),
        ));
    }
    let mut url = Url::parse(raw)
        .map_err(|e| HelmError::InvalidUrl(format!("'{}': {e}", sanitize_url(raw))))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(HelmError::InvalidUrl(format!(
            "scheme \"{}\" not supported",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(HelmError::InvalidUrl(format!(
            "'{}' has no host",
            sanitize_url(raw)
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(HelmError::InvalidUrl(
            "credentials in the URL are not allowed: use spec.secretRef".to_string(),
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url.set_fragment(None);
    Ok(url)
}

impl RepoClient {
    /// A client for the repository at `url` (see [`normalize_url`]).
    pub fn new(
        url: &str,
        auth: Option<BasicAuth>,
        tls: Option<&TlsMaterial>,
        pass_credentials: bool,
        timeout: Duration,
    ) -> Result<Self, HelmError> {
        let base = normalize_url(url)?;
        ferroflux_runtime::tls::install_crypto_provider();
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!(
                "ferroflux-source-controller/",
                env!("CARGO_PKG_VERSION")
            ));
        if let Some(tls) = tls {
            let certs = tls
                .certificates()
                .map_err(|e| HelmError::Authentication(e.to_string()))?;
            if !certs.is_empty() {
                builder = builder.tls_certs_merge(certs);
            }
            if let Some(identity) = tls
                .identity()
                .map_err(|e| HelmError::Authentication(e.to_string()))?
            {
                builder = builder.identity(identity);
            }
        }
        let http = builder
            .build()
            .map_err(|e| HelmError::Fetch(format!("building the HTTP client: {}", chain(&e))))?;
        Ok(Self {
            http,
            base,
            auth,
            pass_credentials,
        })
    }

    /// The repository URL (normalized, ending in `/`).
    pub fn base(&self) -> &Url {
        &self.base
    }

    /// Where the index is: `<url>/index.yaml`.
    pub fn index_url(&self) -> Url {
        // The base ends in '/', so the join appends.
        self.base
            .join("index.yaml")
            .unwrap_or_else(|_| self.base.clone())
    }

    /// A chart URL of the index resolved against the repository URL (an
    /// absolute URL stays as it is; a relative one lands below the
    /// repository's path, keeping its query as Helm does).
    pub fn resolve_chart_url(&self, reference: &str) -> Result<Url, HelmError> {
        let resolved = match Url::parse(reference) {
            Ok(abs) => abs,
            Err(_) => {
                let mut joined = self.base.join(reference).map_err(|e| {
                    HelmError::Chart(format!("invalid chart URL '{reference}': {e}"))
                })?;
                if joined.query().is_none() {
                    joined.set_query(self.base.query());
                }
                joined
            }
        };
        if !matches!(resolved.scheme(), "http" | "https") {
            return Err(HelmError::Chart(format!(
                "chart URL '{}' has unsupported scheme \"{}\"",
                sanitize_url(resolved.as_str()),
                resolved.scheme()
            )));
        }
        Ok(resolved)
    }

    /// Whether the repository credentials go to `url`: always to the
    /// repository's own scheme, host and port, elsewhere only with
    /// `passCredentials`.
    fn sends_credentials_to(&self, url: &Url) -> bool {
        self.pass_credentials
            || (url.scheme() == self.base.scheme()
                && url.host_str() == self.base.host_str()
                && url.port_or_known_default() == self.base.port_or_known_default())
    }

    /// Downloads `url` into the new file `dest`, refusing more than `max`
    /// bytes (`what` names the download in errors). On error `dest` may
    /// hold a partial file: the caller's work directory is thrown away.
    pub async fn download(
        &self,
        url: &Url,
        what: &str,
        dest: &Path,
        max: u64,
    ) -> Result<Downloaded, HelmError> {
        let shown = sanitize_url(url.as_str());
        let mut request = self.http.get(url.clone());
        if let Some(auth) = self
            .auth
            .as_ref()
            .filter(|_| self.sends_credentials_to(url))
        {
            request = request.basic_auth(&auth.username, Some(&auth.password));
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| HelmError::Fetch(format!("failed to fetch {shown}: {}", chain(&e))))?;
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(HelmError::Authentication(format!(
                "failed to fetch {shown}: {status}"
            )));
        }
        if !status.is_success() {
            return Err(HelmError::Fetch(format!(
                "failed to fetch {shown}: {status}"
            )));
        }
        let too_large = || HelmError::TooLarge {
            what: what.to_string(),
            limit: max,
        };
        if response.content_length().is_some_and(|len| len > max) {
            return Err(too_large());
        }
        let mut file = std::fs::File::create(dest)
            .map_err(|e| HelmError::Io(format!("creating {}: {e}", dest.display())))?;
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        loop {
            let chunk = response
                .chunk()
                .await
                .map_err(|e| HelmError::Fetch(format!("failed to fetch {shown}: {}", chain(&e))))?;
            let Some(chunk) = chunk else { break };
            size += chunk.len() as u64;
            if size > max {
                return Err(too_large());
            }
            hasher.update(&chunk);
            // Chunks are small (tens of KiB): a blocking write is brief.
            file.write_all(&chunk)
                .map_err(|e| HelmError::Io(format!("writing {}: {e}", dest.display())))?;
        }
        file.flush()
            .map_err(|e| HelmError::Io(format!("writing {}: {e}", dest.display())))?;
        Ok(Downloaded {
            size,
            sha256: hex::encode(hasher.finalize()),
        })
    }
}

/// An error and its causes in one line, without the request URL (which the
/// caller adds, sanitized).
fn chain(e: &reqwest::Error) -> String {
    use std::error::Error;
    let mut out = match e.url() {
        Some(_) => {
            let mut plain = String::new();
            let kind = if e.is_timeout() {
                "timeout"
            } else if e.is_connect() {
                "connection failed"
            } else if e.is_body() || e.is_decode() {
                "reading the body"
            } else {
                "request failed"
            };
            plain.push_str(kind);
            plain
        }
        None => e.to_string(),
    };
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_resolve_as_helm_does() {
        let c = RepoClient::new(
            "https://charts.example.com/stable",
            None,
            None,
            false,
            Duration::from_secs(1),
        )
        .unwrap();
        assert_eq!(c.base().as_str(), "https://charts.example.com/stable/");
        assert_eq!(
            c.index_url().as_str(),
            "https://charts.example.com/stable/index.yaml"
        );
        assert_eq!(
            c.resolve_chart_url("podinfo-6.0.3.tgz").unwrap().as_str(),
            "https://charts.example.com/stable/podinfo-6.0.3.tgz"
        );
        assert_eq!(
            c.resolve_chart_url("https://cdn.example.org/p.tgz")
                .unwrap()
                .as_str(),
            "https://cdn.example.org/p.tgz"
        );
        assert!(c.resolve_chart_url("file:///etc/passwd").is_err());
        assert!(c.sends_credentials_to(&Url::parse("https://charts.example.com/x.tgz").unwrap()));
        assert!(!c.sends_credentials_to(&Url::parse("https://cdn.example.org/x.tgz").unwrap()));
        assert!(!c.sends_credentials_to(&Url::parse("http://charts.example.com/x.tgz").unwrap()));
    }

    #[test]
    fn bad_urls_are_refused() {
        for (url, needle) in [
            ("oci://ghcr.io/x", "'oci' URL scheme"),
            ("ftp://x/y", "scheme \"ftp\""),
            ("https://user:pw@x.example/", "credentials in the URL"),
            ("not a url", "invalid Helm repository URL"),
        ] {
            let e = normalize_url(url).unwrap_err();
            assert!(e.to_string().contains(needle), "{url}: {e}");
            assert!(!e.to_string().contains("pw@"), "{e}");
            assert!(e.is_stalling());
        }
    }
}
