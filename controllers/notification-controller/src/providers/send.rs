//! Sending a rendered request once and judging the response. Retries and
//! time limits are the delivery queue's business.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};

use super::config::TlsMaterial;
use super::render::{Rendered, ResponseCheck};

/// How much of an error response body is kept for the message.
const BODY_EXCERPT: usize = 512;

/// Why a send failed. Messages may quote the service's response; callers
/// mask secrets before showing them.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// No HTTP exchange happened (connection refused, reset, timed out...).
    #[error("failed to execute request: {0}")]
    Transport(String),
    /// The service answered with a non-success status.
    #[error("request failed with status code {code}: {body}")]
    Status {
        /// HTTP status.
        code: u16,
        /// Start of the response body.
        body: String,
        /// `Retry-After`, when the service sent one.
        retry_after: Option<Duration>,
    },
    /// The service answered 2xx but said it did not accept the message.
    #[error("{0}")]
    Rejected(String),
    /// An HTTP client could not be built (e.g. a bad proxy).
    #[error("building HTTP client: {0}")]
    Client(String),
}

impl SendError {
    /// Whether trying again may help: transport errors, 429 and 5xx (but
    /// not 501), as Flux's retrying client decides.
    pub fn retryable(&self) -> bool {
        match self {
            Self::Transport(_) => true,
            Self::Status { code, .. } => *code == 429 || (*code >= 500 && *code != 501),
            Self::Rejected(_) | Self::Client(_) => false,
        }
    }

    /// How long the service asked us to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// HTTP clients: one shared, plus one per proxy and TLS material (reqwest
/// binds both to clients). Connection pools are reused across deliveries.
pub struct HttpClients {
    default: reqwest::Client,
    custom: Mutex<HashMap<(String, String), reqwest::Client>>,
}

impl HttpClients {
    /// Builds the shared client.
    pub fn new() -> Result<Self, SendError> {
        Ok(Self {
            default: builder()
                .build()
                .map_err(|e| SendError::Client(chain(&e.without_url())))?,
            custom: Mutex::new(HashMap::new()),
        })
    }

    /// The client to use with `proxy` and `tls` (a CA bundle that replaces
    /// the system roots, as Go's `RootCAs` does, and a client certificate).
    pub fn client(
        &self,
        proxy: Option<&Url>,
        tls: Option<&TlsMaterial>,
    ) -> Result<reqwest::Client, SendError> {
        if proxy.is_none() && tls.is_none() {
            return Ok(self.default.clone());
        }
        let key = (
            proxy.map(Url::to_string).unwrap_or_default(),
            tls.map(TlsMaterial::fingerprint).unwrap_or_default(),
        );
        let mut map = self.custom.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = map.get(&key) {
            return Ok(c.clone());
        }
        let mut b = builder();
        if let Some(proxy) = proxy {
            let p = reqwest::Proxy::all(proxy.clone()).map_err(|e| {
                SendError::Client(format!("invalid proxy: {}", chain(&e.without_url())))
            })?;
            b = b.proxy(p);
        }
        if let Some(tls) = tls {
            let certs = tls
                .certificates()
                .map_err(|e| SendError::Client(e.to_string()))?;
            if !certs.is_empty() {
                b = b.tls_certs_only(certs);
            }
            if let Some(identity) = tls
                .identity()
                .map_err(|e| SendError::Client(e.to_string()))?
            {
                b = b.identity(identity);
            }
        }
        let c = b
            .build()
            .map_err(|e| SendError::Client(chain(&e.without_url())))?;
        map.insert(key, c.clone());
        Ok(c)
    }
}

fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .user_agent(concat!(
            "ferroflux-notification-controller/",
            env!("CARGO_PKG_VERSION")
        ))
        .connect_timeout(Duration::from_secs(10))
        // Redirects could carry the body (and its signature) elsewhere.
        .redirect(reqwest::redirect::Policy::none())
}

/// Sends `req` once.
pub async fn send(client: &reqwest::Client, req: &Rendered) -> Result<(), SendError> {
    let mut builder = client
        .request(req.method.clone(), req.url.clone())
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (k, v) in &req.headers {
        builder = builder.header(k, v);
    }
    let response = builder
        .body(req.body.clone())
        .send()
        .await
        .map_err(|e| SendError::Transport(chain(&e.without_url())))?;
    let status = response.status();
    if !status.is_success() {
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = excerpt(response).await;
        return Err(SendError::Status {
            code: status.as_u16(),
            body,
            retry_after,
        });
    }
    if req.check == ResponseCheck::SlackApi {
        let bytes = response
            .bytes()
            .await
            .map_err(|e| SendError::Transport(chain(&e.without_url())))?;
        #[derive(serde::Deserialize)]
        struct SlackResponse {
            ok: bool,
            #[serde(default)]
            error: String,
        }
        let parsed: SlackResponse = serde_json::from_slice(&bytes)
            .map_err(|e| SendError::Rejected(format!("unable to unmarshal response body: {e}")))?;
        if !parsed.ok {
            return Err(SendError::Rejected(format!(
                "Slack responded with error: {}",
                parsed.error
            )));
        }
    }
    Ok(())
}

async fn excerpt(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < BODY_EXCERPT {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(BODY_EXCERPT);
    String::from_utf8_lossy(&body).trim().to_string()
}
