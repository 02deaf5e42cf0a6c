//! The artifact HTTP server: serves the files of the storage root, read-only.
//!
//! The request path is checked before it touches the file system, on its raw
//! (still percent-encoded) form: every segment must decode to a plain name of
//! `[A-Za-z0-9._-]` not starting with `.`. That refuses `..` and `.` in any
//! encoding, encoded slashes and backslashes, NUL, empty segments (`//`, a
//! trailing `/`) and hidden files (temporary files among them). The resolved
//! file is then canonicalised and must still lie below the canonical root,
//! which defeats symlinks planted inside the storage. Anything refused, or
//! missing, or not a regular file, is a bare 404 that tells nothing.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use percent_encoding::percent_decode_str;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpListener;

/// Size of the chunks a file body is streamed in.
const CHUNK: usize = 64 * 1024;

/// Failure to run the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Binding or serving failed.
    #[error("artifact server on {addr}: {source}")]
    Io {
        /// The address served.
        addr: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

/// The router serving the files below `root` at `/<relative path>`.
pub fn router(root: PathBuf) -> Router {
    Router::new()
        .fallback(serve_file)
        .with_state(Arc::new(root))
}

/// Binds `addr` and serves the files below `root` until the task ends.
pub async fn serve(addr: SocketAddr, root: PathBuf) -> Result<(), ServerError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Io {
            addr: addr.to_string(),
            source,
        })?;
    serve_listener(listener, root, std::future::pending()).await
}

/// Serves the files below `root` on an already bound listener until
/// `shutdown` completes (then finishes in-flight requests).
pub async fn serve_listener(
    listener: TcpListener,
    root: PathBuf,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    axum::serve(listener, router(root))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| ServerError::Io { addr, source })
}

async fn serve_file(
    State(root): State<Arc<PathBuf>>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        let mut resp = StatusCode::METHOD_NOT_ALLOWED.into_response();
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return resp;
    }
    let Some(segments) = request_segments(uri.path()) else {
        tracing::debug!(path = uri.path(), "refused artifact path");
        return not_found();
    };
    let Some((file, len, name)) = open_inside(&root, &segments).await else {
        return not_found();
    };

    let etag = etag_for(&name, len);
    if let Some(inm) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        && inm.split(',').any(|t| t.trim() == etag || t.trim() == "*")
    {
        return Response::builder()
            .status(StatusCode::NOT_MODIFIED)
            .header(header::ETAG, &etag)
            .body(Body::empty())
            .unwrap_or_else(|_| not_found());
    }

    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        file_body(file.take(len))
    };
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, content_type(&name))
        .header(header::CONTENT_LENGTH, len)
        .header(header::ETAG, &etag)
        .body(body)
        .unwrap_or_else(|_| not_found())
}

fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

/// The decoded segments of a request path, or `None` if the path is not a
/// plain relative file path (see the module docs).
pub fn request_segments(raw_path: &str) -> Option<Vec<String>> {
    let rest = raw_path.strip_prefix('/')?;
    if rest.is_empty() {
        return None;
    }
    rest.split('/')
        .map(|raw| {
            // A malformed escape stays a literal `%`, which the check below
            // refuses like any other character outside a plain name.
            let decoded = percent_decode_str(raw).decode_utf8().ok()?.into_owned();
            let plain = !decoded.is_empty()
                && !decoded.starts_with('.')
                && decoded
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'+'));
            plain.then_some(decoded)
        })
        .collect()
}

/// Opens the regular file at `root/segments...` if, with every symlink
/// resolved, it is below the (resolved) root. Returns the file, its length
/// and its name.
async fn open_inside(root: &Path, segments: &[String]) -> Option<(tokio::fs::File, u64, String)> {
    let canonical_root = tokio::fs::canonicalize(root).await.ok()?;
    let joined = segments.iter().fold(root.to_path_buf(), |p, s| p.join(s));
    let resolved = tokio::fs::canonicalize(&joined).await.ok()?;
    if !resolved.starts_with(&canonical_root) || resolved == canonical_root {
        tracing::debug!(path = %joined.display(), "refused artifact outside storage");
        return None;
    }
    // Open the resolved path, then check what was opened (not the name).
    let file = tokio::fs::File::open(&resolved).await.ok()?;
    let meta = file.metadata().await.ok()?;
    if !meta.is_file() {
        return None;
    }
    let name = segments.last()?.clone();
    Some((file, meta.len(), name))
}

/// The ETag of a file: the sha256 hex its name carries (artifact files are
/// named by digest), else one derived from its length.
fn etag_for(name: &str, len: u64) -> String {
    let stem = name.split('.').next().unwrap_or(name);
    let tail = stem.get(stem.len().saturating_sub(64)..).unwrap_or("");
    if tail.len() == 64 && tail.bytes().all(|b| b.is_ascii_hexdigit()) {
        format!("\"{tail}\"")
    } else {
        format!("W/\"{name}-{len:x}\"")
    }
}

fn content_type(name: &str) -> &'static str {
    if name.ends_with(".tar.gz") || name.ends_with(".tgz") || name.ends_with(".gz") {
        "application/gzip"
    } else if name.ends_with(".yaml") || name.ends_with(".yml") {
        "application/yaml"
    } else if name.ends_with(".json") {
        "application/json"
    } else {
        "application/octet-stream"
    }
}

/// Streams a reader as a response body without loading it into memory.
fn file_body<R: AsyncRead + Unpin + Send + 'static>(reader: R) -> Body {
    let stream = futures::stream::try_unfold(reader, |mut reader| async move {
        let mut buf = BytesMut::with_capacity(CHUNK);
        let n = reader.read_buf(&mut buf).await?;
        Ok::<_, std::io::Error>((n > 0).then(|| (buf.freeze(), reader)))
    });
    Body::from_stream(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_are_accepted() {
        assert_eq!(
            request_segments("/gitrepository/flux-system/podinfo/abc.tar.gz"),
            Some(vec![
                "gitrepository".into(),
                "flux-system".into(),
                "podinfo".into(),
                "abc.tar.gz".into()
            ])
        );
        assert_eq!(request_segments("/a%2Db"), Some(vec!["a-b".into()]));
    }

    #[test]
    fn hostile_paths_are_refused() {
        for p in [
            "",
            "/",
            "relative",
            "/../etc/passwd",
            "/a/../b",
            "/a/./b",
            "/%2e%2e/etc/passwd",
            "/%2E%2E/etc/passwd",
            "/.%2e/x",
            "/a%2f..%2f..%2fetc/passwd",
            "/a%2F..%2Fx",
            "//etc/passwd",
            "/a//b",
            "/a/b/",
            "/a\\..\\b",
            "/a/..%5c..%5cx",
            "/a%00b",
            "/etc/passwd%00.tar.gz",
            "/a%zz",
            "/a%2",
            "/%c0%ae%c0%ae/x",
            "/.hidden",
            "/ns/.tmp-123",
            "/a b",
            "/a%20b",
        ] {
            assert_eq!(request_segments(p), None, "{p:?}");
        }
    }

    #[test]
    fn etags_and_types() {
        let hex = "a".repeat(64);
        assert_eq!(etag_for(&format!("{hex}.tar.gz"), 5), format!("\"{hex}\""));
        assert_eq!(
            etag_for(&format!("index-{hex}.yaml"), 5),
            format!("\"{hex}\"")
        );
        assert_eq!(etag_for("short.tar.gz", 16), "W/\"short.tar.gz-10\"");
        assert_eq!(content_type("x.tar.gz"), "application/gzip");
        assert_eq!(content_type("index.yaml"), "application/yaml");
        assert_eq!(content_type("x.bin"), "application/octet-stream");
    }
}
