//! A small client for the S3 API, what a Bucket needs and no more: list a
//! bucket (ListObjectsV2, paged, with a prefix), look at and download
//! objects, SigV4-signed with static keys (or anonymous). Addressing and
//! endpoints follow minio-go, the client Flux uses. Everything a server
//! sends is bounded: page sizes, object counts, object sizes. No Kubernetes
//! types here.

pub mod endpoint;
pub mod list;
pub mod sign;

use std::path::Path;
use std::time::{Duration, SystemTime};

use reqwest::{Method, StatusCode, Url};
use tokio::io::AsyncWriteExt;

pub use endpoint::{Endpoint, Style};
pub use list::Object;
pub use sign::Credentials;

/// Largest listing page or error body read (a page of 1,000 keys of 1 KiB
/// each is about 1.3 MiB).
const MAX_PAGE_BYTES: usize = 8 << 20;
/// Largest error body kept for a message.
const MAX_ERROR_BYTES: usize = 64 << 10;

/// Why an S3 operation failed. Messages never hold credentials.
#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    /// `spec.endpoint` is not an endpoint.
    #[error("invalid endpoint '{endpoint}': {reason}")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong.
        reason: String,
    },
    /// A plain-HTTP endpoint without `spec.insecure`.
    #[error("endpoint '{0}' is plain HTTP, which needs spec.insecure: true")]
    InsecureDisallowed(String),
    /// The TLS or proxy settings could not be used.
    #[error("{0}")]
    Client(String),
    /// The server refused the credentials (or their absence).
    #[error("{operation}: access denied ({code}): {message}")]
    Denied {
        /// What was attempted.
        operation: String,
        /// S3's error code (`InvalidAccessKeyId`, `SignatureDoesNotMatch`, ...).
        code: String,
        /// S3's message, with any credential removed.
        message: String,
    },
    /// The bucket does not exist.
    #[error("bucket '{0}' not found")]
    NoSuchBucket(String),
    /// The object does not exist.
    #[error("object '{0}' not found")]
    NoSuchKey(String),
    /// Any other error answer.
    #[error("{operation}: server answered {status} {code}: {message}")]
    Server {
        /// What was attempted.
        operation: String,
        /// The HTTP status.
        status: u16,
        /// S3's error code, if any.
        code: String,
        /// S3's message, with any credential removed.
        message: String,
    },
    /// The server could not be reached or the exchange broke off.
    #[error("{operation}: {message}")]
    Transport {
        /// What was attempted.
        operation: String,
        /// The error and its causes.
        message: String,
    },
    /// An answer that is not what S3 sends.
    #[error("{operation}: {message}")]
    Malformed {
        /// What was attempted.
        operation: String,
        /// What is wrong.
        message: String,
    },
    /// More than the limit: objects, bytes of one object, or bytes of all.
    #[error("{0}")]
    TooLarge(String),
    /// A local file could not be written.
    #[error("writing {path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        message: String,
    },
}

impl S3Error {
    /// Whether the server refused the credentials.
    pub fn is_denied(&self) -> bool {
        matches!(self, S3Error::Denied { .. })
    }
}

/// How to reach a bucket.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// `spec.endpoint`.
    pub endpoint: String,
    /// `spec.bucketName`.
    pub bucket: String,
    /// `spec.insecure`: plain HTTP allowed (and the default without a scheme).
    pub insecure: bool,
    /// `spec.region`.
    pub region: Option<String>,
    /// Static keys; `None`: anonymous requests.
    pub credentials: Option<Credentials>,
    /// CA bundle and client certificate.
    pub tls: Option<ferroflux_runtime::secrets::TlsMaterial>,
    /// Proxy for every request.
    pub proxy: Option<Url>,
    /// Time limit of one request.
    pub timeout: Duration,
}

/// A client for one bucket.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    endpoint: Endpoint,
    bucket: String,
    credentials: Option<Credentials>,
}

impl Client {
    /// A client for `options.bucket`; fails on an unusable endpoint, TLS or
    /// proxy setting.
    pub fn new(options: ClientOptions) -> Result<Self, S3Error> {
        let endpoint = Endpoint::parse(
            &options.endpoint,
            &options.bucket,
            options.insecure,
            options.region.as_deref(),
        )?;
        // The workspace builds reqwest without a crypto provider; an error
        // only means one is installed already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut builder = reqwest::Client::builder()
            .timeout(options.timeout)
            .connect_timeout(options.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!(
                "ferroflux-source-controller/",
                env!("CARGO_PKG_VERSION")
            ));
        if let Some(tls) = &options.tls {
            let certs = tls
                .certificates()
                .map_err(|e| S3Error::Client(e.to_string()))?;
            if !certs.is_empty() {
                builder = builder.tls_certs_merge(certs);
            }
            if let Some(identity) = tls.identity().map_err(|e| S3Error::Client(e.to_string()))? {
                builder = builder.identity(identity);
            }
        }
        if let Some(proxy) = &options.proxy {
            let proxy = reqwest::Proxy::all(proxy.clone())
                .map_err(|e| S3Error::Client(format!("invalid proxy: {e}")))?;
            builder = builder.proxy(proxy);
        }
        let http = builder
            .build()
            .map_err(|e| S3Error::Client(format!("building the HTTP client: {e}")))?;
        Ok(Self {
            http,
            endpoint,
            bucket: options.bucket,
            credentials: options.credentials,
        })
    }

    /// Where requests go.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Sends a signed bodiless request; an error answer becomes an error.
    async fn send(
        &self,
        method: Method,
        url: &str,
        operation: &str,
        key: Option<&str>,
    ) -> Result<reqwest::Response, S3Error> {
        let parsed = Url::parse(url).map_err(|e| S3Error::Malformed {
            operation: operation.to_string(),
            message: format!("bad request URL: {e}"),
        })?;
        let mut request = self.http.request(method.clone(), parsed.clone());
        if let Some(creds) = &self.credentials {
            let headers = sign::headers(
                creds,
                &self.endpoint.region,
                method.as_str(),
                parsed.as_str(),
                SystemTime::now(),
            )
            .map_err(|message| S3Error::Client(self.redact(&message)))?;
            for (name, value) in headers {
                request = request.header(name, value);
            }
        }
        let response = request.send().await.map_err(|e| S3Error::Transport {
            operation: operation.to_string(),
            message: self.redact(&error_chain(&e)),
        })?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(self.error_of(response, operation, key).await)
    }

    async fn error_of(
        &self,
        response: reqwest::Response,
        operation: &str,
        key: Option<&str>,
    ) -> S3Error {
        let status = response.status();
        let body = read_limited(response, MAX_ERROR_BYTES)
            .await
            .unwrap_or_default();
        let (code, message) = list::parse_error(&String::from_utf8_lossy(&body))
            .unwrap_or_else(|| (String::new(), String::new()));
        let message = self.redact(&message);
        let denied_code = matches!(
            code.as_str(),
            "AccessDenied"
                | "InvalidAccessKeyId"
                | "SignatureDoesNotMatch"
                | "InvalidToken"
                | "ExpiredToken"
                | "AuthorizationHeaderMalformed"
                | "InvalidSecurity"
                | "AllAccessDisabled"
        );
        if denied_code || status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return S3Error::Denied {
                operation: operation.to_string(),
                code: if code.is_empty() {
                    status.to_string()
                } else {
                    code
                },
                message,
            };
        }
        if code == "NoSuchBucket" {
            return S3Error::NoSuchBucket(self.bucket.clone());
        }
        if let Some(key) = key
            && (code == "NoSuchKey" || (code.is_empty() && status == StatusCode::NOT_FOUND))
        {
            return S3Error::NoSuchKey(key.to_string());
        }
        if key.is_none() && code.is_empty() && status == StatusCode::NOT_FOUND {
            return S3Error::NoSuchBucket(self.bucket.clone());
        }
        S3Error::Server {
            operation: operation.to_string(),
            status: status.as_u16(),
            code,
            message,
        }
    }

    /// Removes the credentials from text a server or library produced.
    fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        if let Some(c) = &self.credentials {
            for secret in [&c.secret_key, &c.access_key] {
                if !secret.is_empty() {
                    out = out.replace(secret.as_str(), "<redacted>");
                }
            }
        }
        out
    }

    /// The ETag of object `key`, `None` when there is no such object.
    pub async fn head(&self, key: &str) -> Result<Option<String>, S3Error> {
        let url = self.endpoint.object_url(&self.bucket, key);
        let operation = format!("looking up object '{key}' in bucket '{}'", self.bucket);
        match self.send(Method::HEAD, &url, &operation, Some(key)).await {
            Ok(r) => Ok(Some(etag_of(&r))),
            Err(S3Error::NoSuchKey(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Object `key` in memory, with its ETag; `None` when there is no such
    /// object; an error when it is over `max` bytes.
    pub async fn get_small(
        &self,
        key: &str,
        max: usize,
    ) -> Result<Option<(Vec<u8>, String)>, S3Error> {
        let url = self.endpoint.object_url(&self.bucket, key);
        let operation = format!("getting object '{key}' from bucket '{}'", self.bucket);
        let response = match self.send(Method::GET, &url, &operation, Some(key)).await {
            Ok(r) => r,
            Err(S3Error::NoSuchKey(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let etag = etag_of(&response);
        match read_limited(response, max).await {
            Ok(body) => Ok(Some((body, etag))),
            Err(ReadError::TooLarge) => Err(S3Error::TooLarge(format!(
                "object '{key}' is over the limit of {max} bytes"
            ))),
            Err(ReadError::Transport(message)) => Err(S3Error::Transport { operation, message }),
        }
    }

    /// Every object whose key starts with `prefix`, in key order; an error
    /// past `max_objects`.
    pub async fn list(
        &self,
        prefix: Option<&str>,
        max_objects: usize,
    ) -> Result<Vec<Object>, S3Error> {
        let operation = format!("listing objects of bucket '{}'", self.bucket);
        let mut objects = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![("list-type", "2".to_string())];
            if let Some(t) = &token {
                query.push(("continuation-token", t.clone()));
            }
            if let Some(p) = prefix.filter(|p| !p.is_empty()) {
                query.push(("prefix", p.to_string()));
            }
            let url = self.endpoint.bucket_url(&self.bucket, &query);
            let response = self.send(Method::GET, &url, &operation, None).await?;
            let body = match read_limited(response, MAX_PAGE_BYTES).await {
                Ok(b) => b,
                Err(ReadError::TooLarge) => {
                    return Err(S3Error::Malformed {
                        operation,
                        message: format!("a listing page over {MAX_PAGE_BYTES} bytes"),
                    });
                }
                Err(ReadError::Transport(message)) => {
                    return Err(S3Error::Transport { operation, message });
                }
            };
            let page = list::parse_page(&String::from_utf8_lossy(&body)).map_err(|message| {
                S3Error::Malformed {
                    operation: operation.clone(),
                    message,
                }
            })?;
            if page.objects.is_empty() && page.next.is_some() {
                return Err(S3Error::Malformed {
                    operation,
                    message: "a truncated listing page with no objects".to_string(),
                });
            }
            objects.extend(page.objects);
            if objects.len() > max_objects {
                return Err(S3Error::TooLarge(format!(
                    "bucket '{}' holds more than {max_objects} objects",
                    self.bucket
                )));
            }
            match page.next {
                Some(next) if Some(&next) == token.as_ref() => {
                    return Err(S3Error::Malformed {
                        operation,
                        message: "the listing repeats its continuation token".to_string(),
                    });
                }
                Some(next) => token = Some(next),
                None => break,
            }
        }
        Ok(objects)
    }

    /// Downloads object `key` to the new file `dest`, refusing more than
    /// `max` bytes (before reading when the server says the size, and as
    /// the bytes arrive); returns the size and the ETag.
    pub async fn download(
        &self,
        key: &str,
        dest: &Path,
        max: u64,
    ) -> Result<(u64, String), S3Error> {
        let url = self.endpoint.object_url(&self.bucket, key);
        let operation = format!("getting object '{key}' from bucket '{}'", self.bucket);
        let mut response = self.send(Method::GET, &url, &operation, Some(key)).await?;
        let too_large =
            || S3Error::TooLarge(format!("object '{key}' is over the limit of {max} bytes"));
        if response.content_length().is_some_and(|n| n > max) {
            return Err(too_large());
        }
        let etag = etag_of(&response);
        let io = |e: std::io::Error| S3Error::Io {
            path: dest.display().to_string(),
            message: e.to_string(),
        };
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dest)
            .await
            .map_err(io)?;
        let mut written: u64 = 0;
        loop {
            let chunk = response.chunk().await.map_err(|e| S3Error::Transport {
                operation: operation.clone(),
                message: self.redact(&error_chain(&e)),
            })?;
            let Some(chunk) = chunk else { break };
            written += chunk.len() as u64;
            if written > max {
                return Err(too_large());
            }
            file.write_all(&chunk).await.map_err(io)?;
        }
        file.flush().await.map_err(io)?;
        Ok((written, etag))
    }
}

/// The unquoted ETag of an answer (empty when there is none).
fn etag_of(response: &reqwest::Response) -> String {
    response
        .headers()
        .get(reqwest::header::ETAG)
        .and_then(|v| v.to_str().ok())
        .map(list::trim_etag)
        .unwrap_or_default()
}

enum ReadError {
    TooLarge,
    Transport(String),
}

async fn read_limited(mut response: reqwest::Response, max: usize) -> Result<Vec<u8>, ReadError> {
    if response.content_length().is_some_and(|n| n > max as u64) {
        return Err(ReadError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| ReadError::Transport(error_chain(&e)))?
    {
        if body.len() + chunk.len() > max {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// An error and its causes on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::header;
    use axum::routing::get;
    use futures::StreamExt;

    /// A server whose objects are bigger than they say: `/b/stream` sends
    /// 3 MiB with no length; `/b/declared` declares 1 GiB and then sends a
    /// chunk and hangs.
    async fn lying_server() -> String {
        let app = axum::Router::new()
            .route(
                "/b/stream",
                get(|| async {
                    let chunks = (0..48).map(|_| Ok::<_, std::io::Error>(vec![0u8; 64 << 10]));
                    Body::from_stream(futures::stream::iter(chunks))
                }),
            )
            .route(
                "/b/declared",
                get(|| async {
                    let first =
                        futures::stream::once(async { Ok::<_, std::io::Error>(vec![0u8; 1024]) });
                    let body = Body::from_stream(first.chain(futures::stream::pending()));
                    ([(header::CONTENT_LENGTH, (1u64 << 30).to_string())], body)
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        addr
    }

    fn client(endpoint: &str) -> Client {
        Client::new(ClientOptions {
            endpoint: endpoint.to_string(),
            bucket: "b".into(),
            insecure: true,
            region: None,
            credentials: None,
            tls: None,
            proxy: None,
            timeout: Duration::from_secs(10),
        })
        .unwrap()
    }

    #[tokio::test]
    async fn downloads_stop_at_the_limit_whatever_the_server_says() {
        let addr = lying_server().await;
        let c = client(&addr);
        let dir = tempfile::tempdir().unwrap();

        let err = c
            .download("stream", &dir.path().join("s"), 1 << 20)
            .await
            .unwrap_err();
        assert!(matches!(err, S3Error::TooLarge(_)), "{err}");
        let written = std::fs::metadata(dir.path().join("s")).unwrap().len();
        assert!(written <= 1 << 20, "{written} bytes written past the limit");

        // A declared size over the limit is refused before the body is read
        // (the body never ends: reading it would hang until the timeout).
        let err = c
            .download("declared", &dir.path().join("d"), 1 << 20)
            .await
            .unwrap_err();
        assert!(matches!(err, S3Error::TooLarge(_)), "{err}");
        assert!(!dir.path().join("d").exists());
    }
}
