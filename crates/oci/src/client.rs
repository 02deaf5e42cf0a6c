//! A client of the OCI distribution API for one repository: manifests,
//! blobs, tag lists and pushes, with the registry's basic or bearer-token
//! authentication, plain HTTP (`insecure`) or TLS with an extra CA and a
//! client certificate.
//!
//! Hand-written on reqwest rather than on `oci-client`: that crate has no
//! client certificates (Flux's `certSecretRef` mutual TLS) and reads
//! manifests and tag lists whole, while everything here is read up to a
//! limit.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use futures::StreamExt;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, LOCATION, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode};
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt;

use crate::error::{OciError, chain};
use crate::manifest::{
    DOCKER_LIST, DOCKER_MANIFEST, Descriptor, Manifest, OCI_INDEX, OCI_MANIFEST,
};
use crate::reference::{Reference, Repository};

/// Registry credentials. `Debug` never shows the secret parts.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// User name and password (or identity token), sent as basic auth or
    /// exchanged for a bearer token.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// A bearer token used as it is.
    Bearer(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Credentials::Bearer(_) => f.write_str("Bearer(<redacted>)"),
        }
    }
}

/// Size limits on what is read from a registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest manifest (and token answer, error body), 4 MiB by default
    /// (registries themselves refuse manifests over 4 MiB).
    pub manifest_bytes: u64,
    /// Largest tag list page, 16 MiB by default.
    pub tag_page_bytes: u64,
    /// Most tags read from a repository, 100,000 by default.
    pub tags: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            manifest_bytes: 4 << 20,
            tag_page_bytes: 16 << 20,
            tags: 100_000,
        }
    }
}

/// How to reach a registry.
#[derive(Default)]
pub struct ClientOptions {
    /// Plain HTTP instead of HTTPS.
    pub insecure: bool,
    /// Extra CA certificates to trust.
    pub ca_certificates: Vec<reqwest::Certificate>,
    /// A client certificate and key for mutual TLS.
    pub identity: Option<reqwest::Identity>,
    /// Credentials; anonymous when `None`.
    pub credentials: Option<Credentials>,
    /// A proxy for every request.
    pub proxy: Option<reqwest::Proxy>,
    /// Time limit of one request (with its body); 60 s when `None`.
    pub timeout: Option<Duration>,
    /// Ask for push rights when authenticating (for pushes).
    pub push: bool,
    /// Size limits.
    pub limits: Limits,
}

/// A client of one repository.
pub struct Client {
    http: reqwest::Client,
    base: String,
    repo: Repository,
    credentials: Option<Credentials>,
    authorization: tokio::sync::Mutex<Option<String>>,
    push: bool,
    insecure: bool,
    limits: Limits,
    timeout: Duration,
}

/// A request that can be sent again after an authentication challenge.
struct Req {
    method: Method,
    url: String,
    headers: HeaderMap,
    body: Option<Bytes>,
}

impl Client {
    /// A client of `repo`.
    pub fn new(repo: Repository, options: ClientOptions) -> Result<Client, OciError> {
        let timeout = options.timeout.unwrap_or(Duration::from_secs(60));
        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("ferroflux/", env!("CARGO_PKG_VERSION")));
        for cert in options.ca_certificates {
            builder = builder.add_root_certificate(cert);
        }
        if let Some(identity) = options.identity {
            builder = builder.identity(identity);
        }
        if let Some(proxy) = options.proxy {
            builder = builder.proxy(proxy);
        }
        let http = builder.build().map_err(|e| OciError::Client(chain(&e)))?;
        let scheme = if options.insecure { "http" } else { "https" };
        Ok(Client {
            http,
            base: format!("{scheme}://{}", repo.registry),
            repo,
            credentials: options.credentials,
            authorization: tokio::sync::Mutex::new(None),
            push: options.push,
            insecure: options.insecure,
            limits: options.limits,
            timeout,
        })
    }

    /// The repository this client reads and writes.
    pub fn repository(&self) -> &Repository {
        &self.repo
    }

    fn url(&self, rest: &str) -> String {
        format!("{}/v2/{}/{rest}", self.base, self.repo.path)
    }

    fn transport(&self, operation: &str, e: &reqwest::Error) -> OciError {
        if e.is_timeout() {
            return OciError::Timeout {
                operation: operation.to_string(),
                repository: self.repo.to_string(),
                seconds: self.timeout.as_secs(),
            };
        }
        // reqwest's message carries the URL, which holds no credentials here
        // (they travel in headers); the chain says why.
        OciError::Transport {
            operation: operation.to_string(),
            repository: self.repo.to_string(),
            detail: chain(e),
        }
    }

    /// Sends `req`, answering one authentication challenge.
    async fn send(&self, operation: &str, req: Req) -> Result<Response, OciError> {
        let mut answered = false;
        loop {
            let mut builder = self
                .http
                .request(req.method.clone(), &req.url)
                .headers(req.headers.clone());
            if let Some(auth) = self.authorization.lock().await.clone() {
                builder = builder.header(AUTHORIZATION, auth);
            }
            if let Some(body) = &req.body {
                builder = builder.body(body.clone());
            }
            let resp = builder
                .send()
                .await
                .map_err(|e| self.transport(operation, &e))?;
            if resp.status() != StatusCode::UNAUTHORIZED || answered {
                return Ok(resp);
            }
            answered = true;
            let challenge = resp
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            let header = self.answer(operation, &challenge).await?;
            *self.authorization.lock().await = Some(header);
        }
    }

    /// The `Authorization` header answering `challenge`.
    async fn answer(&self, operation: &str, challenge: &str) -> Result<String, OciError> {
        let auth_failed = |detail: String| OciError::Authentication {
            registry: self.repo.registry.clone(),
            detail,
        };
        let (scheme, params) = challenge.split_once(' ').unwrap_or((challenge, ""));
        match (scheme.to_ascii_lowercase().as_str(), &self.credentials) {
            ("basic", Some(Credentials::Basic { username, password })) => Ok(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
            ("basic", _) => Err(auth_failed(
                "the registry asks for a user name and password and none were given".to_string(),
            )),
            ("bearer", Some(Credentials::Bearer(token))) => Ok(format!("Bearer {token}")),
            ("bearer", creds) => {
                let params = challenge_params(params);
                let get = |k: &str| {
                    params
                        .iter()
                        .find(|(name, _)| name.eq_ignore_ascii_case(k))
                        .map(|(_, v)| v.as_str())
                };
                let realm = get("realm")
                    .ok_or_else(|| auth_failed("bearer challenge without a realm".to_string()))?;
                let mut realm_url = reqwest::Url::parse(realm).map_err(|_| {
                    auth_failed("bearer challenge with an invalid realm".to_string())
                })?;
                if realm_url.scheme() != "https" && !(self.insecure && realm_url.scheme() == "http")
                {
                    return Err(auth_failed(format!(
                        "token realm {} is not HTTPS",
                        realm_url.host_str().unwrap_or_default()
                    )));
                }
                let actions = if self.push { "pull,push" } else { "pull" };
                let scope = format!("repository:{}:{actions}", self.repo.path);
                {
                    let mut query = realm_url.query_pairs_mut();
                    query.append_pair("scope", &scope);
                    if let Some(service) = get("service") {
                        query.append_pair("service", service);
                    }
                }
                let mut request = self.http.get(realm_url);
                if let Some(Credentials::Basic { username, password }) = creds {
                    request = request.basic_auth(username, Some(password));
                }
                let resp = request
                    .send()
                    .await
                    .map_err(|e| self.transport(operation, &e))?;
                let status = resp.status();
                if !status.is_success() {
                    return Err(auth_failed(format!(
                        "token service answered HTTP {}",
                        status.as_u16()
                    )));
                }
                let body = read_limited(resp, self.limits.manifest_bytes, "token answer").await?;
                #[derive(serde::Deserialize)]
                struct TokenAnswer {
                    token: Option<String>,
                    access_token: Option<String>,
                }
                let answer: TokenAnswer =
                    serde_json::from_slice(&body).map_err(|_| OciError::Invalid {
                        what: "token answer".to_string(),
                        reason: "not the JSON of a token".to_string(),
                    })?;
                let token = answer
                    .token
                    .or(answer.access_token)
                    .filter(|t| !t.is_empty())
                    .ok_or_else(|| auth_failed("token service gave no token".to_string()))?;
                Ok(format!("Bearer {token}"))
            }
            (other, _) => Err(auth_failed(format!(
                "unsupported authentication scheme {other:?}"
            ))),
        }
    }

    /// Maps a non-success answer to an error.
    async fn check(
        &self,
        operation: &str,
        what: &str,
        resp: Response,
    ) -> Result<Response, OciError> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let codes = error_codes(resp, self.limits.manifest_bytes).await;
        Err(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => OciError::Authentication {
                registry: self.repo.registry.clone(),
                detail: format!("HTTP {}{codes}", status.as_u16()),
            },
            StatusCode::NOT_FOUND => OciError::NotFound {
                what: what.to_string(),
                repository: self.repo.to_string(),
            },
            _ => OciError::Status {
                operation: operation.to_string(),
                repository: self.repo.to_string(),
                status: status.as_u16(),
                detail: codes,
            },
        })
    }

    /// Fetches the manifest `reference` points at, checked against its
    /// digest: the reference's own when it is a digest, and the registry's
    /// `Docker-Content-Digest`. Returns the manifest and its digest.
    pub async fn manifest(&self, reference: &Reference) -> Result<(Manifest, String), OciError> {
        let op = "pulling manifest from";
        let what = match reference {
            Reference::Tag(t) => format!("tag {t:?}"),
            Reference::Digest(d) => format!("manifest {d}"),
        };
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            [OCI_MANIFEST, DOCKER_MANIFEST, OCI_INDEX, DOCKER_LIST]
                .join(", ")
                .parse()
                .map_err(|_| OciError::Client("accept header".to_string()))?,
        );
        let resp = self
            .send(
                op,
                Req {
                    method: Method::GET,
                    url: self.url(&format!("manifests/{reference}")),
                    headers,
                    body: None,
                },
            )
            .await?;
        let resp = self.check(op, &what, resp).await?;
        let announced = resp
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = read_limited(
            resp,
            self.limits.manifest_bytes,
            &format!("manifest of {what}"),
        )
        .await?;
        let digest = sha256_digest(&body);
        if let Reference::Digest(expected) = reference
            && *expected != digest
        {
            return Err(OciError::DigestMismatch {
                what: format!("manifest of {what}"),
                expected: expected.clone(),
                actual: digest,
            });
        }
        if let Some(expected) = announced.filter(|d| d.starts_with("sha256:"))
            && expected != digest
        {
            return Err(OciError::DigestMismatch {
                what: format!("manifest of {what}"),
                expected,
                actual: digest,
            });
        }
        let manifest = parse_manifest(&body, &what)?;
        Ok((manifest, digest))
    }

    /// Every tag of the repository (up to the limit), following the
    /// registry's pagination.
    pub async fn tags(&self) -> Result<Vec<String>, OciError> {
        let op = "listing tags of";
        let mut tags = Vec::new();
        let mut url = self.url("tags/list?n=1000");
        loop {
            let resp = self
                .send(
                    op,
                    Req {
                        method: Method::GET,
                        url: url.clone(),
                        headers: HeaderMap::new(),
                        body: None,
                    },
                )
                .await?;
            let resp = self.check(op, "tag list", resp).await?;
            let next = resp
                .headers()
                .get(reqwest::header::LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(next_link);
            let body = read_limited(resp, self.limits.tag_page_bytes, "tag list").await?;
            #[derive(serde::Deserialize)]
            struct TagList {
                #[serde(default)]
                tags: Option<Vec<String>>,
            }
            let page: TagList = serde_json::from_slice(&body).map_err(|e| OciError::Invalid {
                what: "tag list".to_string(),
                reason: format!("line {}, column {}", e.line(), e.column()),
            })?;
            tags.extend(page.tags.unwrap_or_default());
            if tags.len() > self.limits.tags {
                return Err(OciError::TooLarge {
                    what: format!("tag list of {} ({} tags or more)", self.repo, tags.len()),
                    limit: self.limits.tags as u64,
                });
            }
            match next {
                // Only paths on the same registry are followed.
                Some(link) if link.starts_with("/v2/") => url = format!("{}{link}", self.base),
                _ => return Ok(tags),
            }
        }
    }

    /// Downloads the blob `desc` to `path`: refused at once when its
    /// declared size is over `limit`, stopped as soon as more bytes arrive
    /// than declared, and checked against its digest (the file is removed
    /// on any failure).
    pub async fn blob_to_file(
        &self,
        desc: &Descriptor,
        path: &Path,
        limit: u64,
    ) -> Result<(), OciError> {
        let result = self.blob_to_file_inner(desc, path, limit).await;
        if result.is_err() {
            let _ = tokio::fs::remove_file(path).await;
        }
        result
    }

    async fn blob_to_file_inner(
        &self,
        desc: &Descriptor,
        path: &Path,
        limit: u64,
    ) -> Result<(), OciError> {
        let op = "pulling blob from";
        let what = format!("layer {}", desc.digest);
        Reference::parse_digest(&desc.digest)?;
        if desc.size > limit {
            return Err(OciError::TooLarge { what, limit });
        }
        let resp = self
            .send(
                op,
                Req {
                    method: Method::GET,
                    url: self.url(&format!("blobs/{}", desc.digest)),
                    headers: HeaderMap::new(),
                    body: None,
                },
            )
            .await?;
        let resp = self
            .check(op, &format!("blob {}", desc.digest), resp)
            .await?;
        if resp.content_length().is_some_and(|n| n > limit) {
            return Err(OciError::TooLarge { what, limit });
        }
        let mut file = tokio::fs::File::create(path)
            .await
            .map_err(|e| OciError::io("creating", path, e))?;
        let mut hasher = Sha256::new();
        let mut written: u64 = 0;
        let mut stream = resp.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| self.transport(op, &e))?;
            written += chunk.len() as u64;
            if written > limit {
                return Err(OciError::TooLarge { what, limit });
            }
            if written > desc.size {
                return Err(OciError::Invalid {
                    what,
                    reason: format!("more bytes than the {} its descriptor declares", desc.size),
                });
            }
            hasher.update(&chunk);
            file.write_all(&chunk)
                .await
                .map_err(|e| OciError::io("writing", path, e))?;
        }
        file.flush()
            .await
            .map_err(|e| OciError::io("writing", path, e))?;
        let actual = format!("sha256:{}", hex::encode(hasher.finalize()));
        if actual != desc.digest {
            return Err(OciError::DigestMismatch {
                what,
                expected: desc.digest.clone(),
                actual,
            });
        }
        if written != desc.size {
            return Err(OciError::Invalid {
                what,
                reason: format!(
                    "{written} bytes instead of the {} its descriptor declares",
                    desc.size
                ),
            });
        }
        Ok(())
    }

    /// Uploads `data` as a blob (skipped when the registry has it) and
    /// returns its descriptor.
    pub async fn push_blob(&self, media_type: &str, data: Bytes) -> Result<Descriptor, OciError> {
        let op = "pushing blob to";
        let digest = sha256_digest(&data);
        let desc = Descriptor {
            media_type: media_type.to_string(),
            digest: digest.clone(),
            size: data.len() as u64,
            annotations: Default::default(),
        };
        let head = self
            .send(
                op,
                Req {
                    method: Method::HEAD,
                    url: self.url(&format!("blobs/{digest}")),
                    headers: HeaderMap::new(),
                    body: None,
                },
            )
            .await?;
        if head.status().is_success() {
            return Ok(desc);
        }
        let resp = self
            .send(
                op,
                Req {
                    method: Method::POST,
                    url: self.url("blobs/uploads/"),
                    headers: HeaderMap::new(),
                    body: Some(Bytes::new()),
                },
            )
            .await?;
        let resp = self.check(op, "upload session", resp).await?;
        let location = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| OciError::Invalid {
                what: "upload answer".to_string(),
                reason: "no Location header".to_string(),
            })?
            .to_string();
        let mut upload = if location.starts_with("http://") || location.starts_with("https://") {
            location
        } else {
            format!("{}{location}", self.base)
        };
        upload.push(if upload.contains('?') { '&' } else { '?' });
        upload.push_str("digest=");
        upload.push_str(&digest);
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            reqwest::header::HeaderValue::from_static("application/octet-stream"),
        );
        let resp = self
            .send(
                op,
                Req {
                    method: Method::PUT,
                    url: upload,
                    headers,
                    body: Some(data),
                },
            )
            .await?;
        self.check(op, "upload session", resp).await?;
        Ok(desc)
    }

    /// Uploads `manifest` under `tag`; returns the manifest's digest.
    pub async fn push_manifest(&self, tag: &str, manifest: &Manifest) -> Result<String, OciError> {
        let op = "pushing manifest to";
        Reference::parse_tag(tag)?;
        let body = serde_json::to_vec(manifest).map_err(|e| OciError::Invalid {
            what: "manifest".to_string(),
            reason: e.to_string(),
        })?;
        let digest = sha256_digest(&body);
        let mut headers = HeaderMap::new();
        headers.insert(
            CONTENT_TYPE,
            reqwest::header::HeaderValue::from_static(OCI_MANIFEST),
        );
        let resp = self
            .send(
                op,
                Req {
                    method: Method::PUT,
                    url: self.url(&format!("manifests/{tag}")),
                    headers,
                    body: Some(Bytes::from(body)),
                },
            )
            .await?;
        self.check(op, &format!("tag {tag:?}"), resp).await?;
        Ok(digest)
    }
}

/// `sha256:<hex>` of `data`.
pub fn sha256_digest(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// Parses a manifest body: an image manifest of schema 2 (an index is
/// refused: artifacts are single manifests).
fn parse_manifest(body: &[u8], what: &str) -> Result<Manifest, OciError> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Head {
        media_type: Option<String>,
        schema_version: Option<u32>,
    }
    let invalid = |reason: String| OciError::Invalid {
        what: format!("manifest of {what}"),
        reason,
    };
    let head: Head = serde_json::from_slice(body).map_err(|e| {
        invalid(format!(
            "not JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    if let Some(mt) = head.media_type.as_deref()
        && (mt == OCI_INDEX || mt == DOCKER_LIST)
    {
        return Err(invalid(format!(
            "{mt} is an image index, not an artifact manifest"
        )));
    }
    if head.schema_version != Some(2) {
        return Err(invalid("schemaVersion is not 2".to_string()));
    }
    serde_json::from_slice(body).map_err(|e| invalid(format!("{e}")))
}

/// Reads a body up to `limit` bytes.
async fn read_limited(resp: Response, limit: u64, what: &str) -> Result<Vec<u8>, OciError> {
    let too_large = || OciError::TooLarge {
        what: what.to_string(),
        limit,
    };
    if resp.content_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut out = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| OciError::Transport {
            operation: format!("reading {what}"),
            repository: String::new(),
            detail: chain(&e),
        })?;
        if out.len() as u64 + chunk.len() as u64 > limit {
            return Err(too_large());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// The error codes of a registry error body (`: MANIFEST_UNKNOWN, ...`),
/// or nothing.
async fn error_codes(resp: Response, limit: u64) -> String {
    #[derive(serde::Deserialize)]
    struct Errors {
        #[serde(default)]
        errors: Vec<Code>,
    }
    #[derive(serde::Deserialize)]
    struct Code {
        code: String,
    }
    let Ok(body) = read_limited(resp, limit.min(64 << 10), "error").await else {
        return String::new();
    };
    let codes: Vec<String> = serde_json::from_slice::<Errors>(&body)
        .map(|e| e.errors.into_iter().map(|c| c.code).take(5).collect())
        .unwrap_or_default();
    let codes: Vec<String> = codes
        .into_iter()
        .filter(|c| c.len() <= 64 && c.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
        .collect();
    if codes.is_empty() {
        String::new()
    } else {
        format!(": {}", codes.join(", "))
    }
}

/// The parameters of a `WWW-Authenticate` challenge: `k="v", k2=v2`.
fn challenge_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key.trim().trim_start_matches(',').trim().to_string();
        let after = after.trim_start();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (quoted[..end].to_string(), &quoted[end + 1..]),
                None => (quoted.to_string(), ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (after[..end].trim().to_string(), &after[end..]),
                None => (after.trim().to_string(), ""),
            }
        };
        out.push((key, value));
        rest = remaining.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

/// The target of a `Link: <...>; rel="next"` header.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params.contains("rel=\"next\"").then(|| {
            target
                .trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string()
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse_with_commas_in_quotes() {
        let p = challenge_params(
            r#"realm="https://auth.example/token",service="registry",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(p[0], ("realm".into(), "https://auth.example/token".into()));
        assert_eq!(p[1], ("service".into(), "registry".into()));
        assert_eq!(p[2], ("scope".into(), "repository:a/b:pull,push".into()));
    }

    #[test]
    fn next_links_are_found() {
        assert_eq!(
            next_link(r#"</v2/a/tags/list?n=2&last=b>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?n=2&last=b")
        );
        assert_eq!(next_link(r#"</x>; rel="prev""#), None);
    }

    #[test]
    fn indexes_and_old_schemas_are_refused() {
        let index = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        assert!(
            parse_manifest(index, "t")
                .unwrap_err()
                .to_string()
                .contains("image index")
        );
        let old =
            br#"{"schemaVersion":1,"config":{"mediaType":"x","digest":"sha256:00","size":1}}"#;
        assert!(parse_manifest(old, "t").is_err());
    }
}
