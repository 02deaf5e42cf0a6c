//! Downloading artifacts: streaming, size-capped, timed out, retried, digest-verified.

use std::time::Duration;

use reqwest::{StatusCode, Url};

use super::ArtifactError;
use super::digest::{Digest, Hasher};

/// How [`ArtifactClient`] downloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchOptions {
    /// Largest artifact (compressed, as sent on the wire) that will be accepted. The
    /// download is aborted as soon as the declared `Content-Length` or the bytes received
    /// exceed it. Default 512 MiB: the body is held in memory while it is verified, so
    /// this bounds memory per concurrent download.
    pub max_download_bytes: u64,
    /// Time allowed for one attempt, from connecting until the last body byte. Default
    /// 5 minutes.
    pub timeout: Duration,
    /// Time allowed for establishing a connection. Default 30 seconds.
    pub connect_timeout: Duration,
    /// Retries after the first attempt on transport errors and on HTTP 5xx, 408 and 429.
    /// Default 5 (so at most 6 attempts).
    pub max_retries: u32,
    /// Delay before the first retry; doubled for each further retry. Default 500 ms.
    pub initial_backoff: Duration,
    /// Upper bound for the delay between retries. Default 10 seconds.
    pub max_backoff: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            max_download_bytes: 512 * 1024 * 1024,
            timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(30),
            max_retries: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
        }
    }
}

impl FetchOptions {
    /// The delay before retry number `retry` (1-based): exponential, capped.
    fn backoff(&self, retry: u32) -> Duration {
        crate::backoff::Backoff::new(self.initial_backoff, self.max_backoff)
            .delay(retry.saturating_sub(1))
    }
}

/// Downloads artifacts from source-controller (or any HTTP server) and verifies them.
///
/// Cheap to clone: the underlying connection pool is shared.
#[derive(Debug, Clone)]
pub struct ArtifactClient {
    http: reqwest::Client,
    options: FetchOptions,
}

/// Outcome of one attempt that did not succeed: either worth retrying or final.
enum AttemptError {
    Retry(ArtifactError),
    Fatal(ArtifactError),
}

impl ArtifactClient {
    /// Builds a client with its own connection pool.
    ///
    /// Installs rustls' `ring` crypto provider as the process default if none is
    /// installed yet: the workspace builds reqwest without a built-in provider so that
    /// every TLS user in a binary agrees on one, and building a client without a provider
    /// would panic inside reqwest.
    pub fn new(options: FetchOptions) -> Result<Self, ArtifactError> {
        // An error only means another provider is already installed, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.connect_timeout)
            .user_agent(concat!("ferroflux/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ArtifactError::Client)?;
        Ok(ArtifactClient { http, options })
    }

    /// Uses an existing `reqwest::Client` (for custom CAs, proxies, shared pools).
    ///
    /// The caller's client keeps its own timeout settings; `options.timeout` and
    /// `options.connect_timeout` are then not applied.
    pub fn with_http_client(http: reqwest::Client, options: FetchOptions) -> Self {
        ArtifactClient { http, options }
    }

    /// The options this client was built with.
    pub fn options(&self) -> &FetchOptions {
        &self.options
    }

    /// Downloads `url` and returns its bytes once they match `digest`
    /// (`sha256:<hex>`, `sha384:<hex>` or `sha512:<hex>`).
    ///
    /// The digest is parsed before any request is made. Transport errors, timeouts and
    /// HTTP 5xx/408/429 are retried with exponential backoff up to
    /// [`FetchOptions::max_retries`] times; other statuses (such as 404), an oversize
    /// body and a digest mismatch fail at once, because repeating the request would not
    /// change them within this reconcile.
    pub async fn fetch(&self, url: &str, digest: &str) -> Result<Vec<u8>, ArtifactError> {
        let expected = Digest::parse(digest)?;
        let shown = redact_url(url);
        let parsed = Url::parse(url).map_err(|e| ArtifactError::InvalidUrl {
            url: shown.clone(),
            reason: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ArtifactError::InvalidUrl {
                url: shown,
                reason: format!("unsupported scheme {:?}", parsed.scheme()),
            });
        }

        let mut attempt: u32 = 1;
        loop {
            let err = match self.attempt(&parsed, &shown, &expected, attempt).await {
                Ok(bytes) => return Ok(bytes),
                Err(AttemptError::Fatal(err)) => return Err(err),
                Err(AttemptError::Retry(err)) => err,
            };
            if attempt > self.options.max_retries {
                return Err(err);
            }
            let delay = self.options.backoff(attempt);
            tracing::warn!(
                url = %shown,
                attempt,
                delay_ms = delay.as_millis() as u64,
                error = %err,
                "artifact download failed, retrying"
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    /// One GET: status check, streamed body with size cap, digest check.
    async fn attempt(
        &self,
        url: &Url,
        shown: &str,
        expected: &Digest,
        attempt: u32,
    ) -> Result<Vec<u8>, AttemptError> {
        let limit = self.options.max_download_bytes;
        let transport = |source: reqwest::Error| {
            let source = source.without_url();
            AttemptError::Retry(ArtifactError::Transport {
                url: shown.to_string(),
                attempts: attempt,
                detail: error_chain(&source),
                source,
            })
        };
        let too_large = || {
            AttemptError::Fatal(ArtifactError::TooLarge {
                url: shown.to_string(),
                limit,
            })
        };

        let mut response = self.http.get(url.clone()).send().await.map_err(transport)?;
        let status = response.status();
        if !status.is_success() {
            let err = ArtifactError::HttpStatus {
                url: shown.to_string(),
                status: status.as_u16(),
                attempts: attempt,
            };
            return Err(if is_retryable_status(status) {
                AttemptError::Retry(err)
            } else {
                AttemptError::Fatal(err)
            });
        }
        // Refuse before reading a byte when the server says the body is too big.
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(too_large());
        }

        // Pre-allocate from Content-Length but never trust it beyond a modest size: a
        // lying header must not make us reserve memory we will not fill.
        let capacity = response
            .content_length()
            .unwrap_or(0)
            .min(limit)
            .min(8 * 1024 * 1024);
        let mut body = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
        let mut hasher = Hasher::new(expected.algorithm());
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() as u64 + chunk.len() as u64 > limit {
                // Dropping the response closes the connection: stop reading now.
                return Err(too_large());
            }
            hasher.update(&chunk);
            body.extend_from_slice(&chunk);
        }

        let actual = hasher.finish();
        if &actual != expected {
            return Err(AttemptError::Fatal(ArtifactError::DigestMismatch {
                url: shown.to_string(),
                expected: expected.to_string(),
                actual: actual.to_string(),
            }));
        }
        tracing::debug!(url = %shown, bytes = body.len(), digest = %actual, "artifact downloaded");
        Ok(body)
    }
}

/// Statuses that describe a passing condition on the server side.
fn is_retryable_status(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
}

/// Replaces user-info in a URL, because error messages end up in object status and
/// events, where credentials must never appear.
pub(crate) fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            // These only fail for URLs that cannot carry credentials, which these do.
            let _ = parsed.set_username("redacted");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Ok(_) => url.to_string(),
        // Unparseable: we cannot tell where credentials would be, so show nothing of it
        // past the scheme.
        Err(_) if url.contains('@') => "<unparseable URL>".to_string(),
        Err(_) => url.to_string(),
    }
}

/// Flattens an error and its causes into one line; reqwest's own `Display` only says
/// "error sending request", while the cause ("connection refused") is what an operator
/// needs to see in the Ready condition.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = c.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let o = FetchOptions {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            ..FetchOptions::default()
        };
        assert_eq!(o.backoff(1), Duration::from_millis(100));
        assert_eq!(o.backoff(2), Duration::from_millis(200));
        assert_eq!(o.backoff(4), Duration::from_millis(800));
        assert_eq!(o.backoff(5), Duration::from_millis(1000));
        assert_eq!(o.backoff(40), Duration::from_millis(1000));
    }

    #[test]
    fn redacts_credentials() {
        assert_eq!(
            redact_url("http://user:secret@host/a.tar.gz"),
            "http://redacted@host/a.tar.gz"
        );
        assert_eq!(redact_url("http://host/a.tar.gz"), "http://host/a.tar.gz");
        assert!(!redact_url("ht!tp://user:secret@").contains("secret"));
    }

    #[test]
    fn retryable_statuses() {
        assert!(is_retryable_status(StatusCode::SERVICE_UNAVAILABLE));
        assert!(is_retryable_status(StatusCode::TOO_MANY_REQUESTS));
        assert!(!is_retryable_status(StatusCode::NOT_FOUND));
        assert!(!is_retryable_status(StatusCode::FORBIDDEN));
    }

    #[tokio::test]
    async fn bad_digest_fails_before_any_request() {
        let client = ArtifactClient::new(FetchOptions::default()).unwrap();
        // Port 9 (discard) on loopback: if a request were made it would fail differently.
        let err = client
            .fetch("http://127.0.0.1:9/x.tar.gz", "md5:abc")
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            ArtifactError::UnsupportedDigestAlgorithm { .. }
        ));
    }

    #[tokio::test]
    async fn rejects_non_http_scheme() {
        let client = ArtifactClient::new(FetchOptions::default()).unwrap();
        let digest = Digest::compute(super::super::DigestAlgorithm::Sha256, b"").to_string();
        let err = client
            .fetch("file:///etc/passwd", &digest)
            .await
            .unwrap_err();
        assert!(matches!(err, ArtifactError::InvalidUrl { .. }), "{err}");
    }
}
