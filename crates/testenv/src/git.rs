//! A real Git server for tests and the demo: repositories made with the git
//! CLI under one directory, served over HTTP by `git http-backend` (as CGI,
//! one process per request) behind a small axum server, with optional basic
//! auth. GitRepository URLs must be http(s) or ssh, so this is how a local
//! repository is offered to source-controller.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;

/// A failed git command or server start.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct GitError(String);

/// Runs git in `dir` with an isolated configuration and a fixed identity;
/// returns its trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Ferroflux")
        .env("GIT_AUTHOR_EMAIL", "ferroflux@example.invalid")
        .env("GIT_COMMITTER_NAME", "Ferroflux")
        .env("GIT_COMMITTER_EMAIL", "ferroflux@example.invalid")
        .output()
        .map_err(|e| GitError(format!("running git {args:?}: {e} (is git installed?)")))?;
    if !out.status.success() {
        return Err(GitError(format!(
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A work tree whose branch `main` is pushed to a bare repository served by
/// a [`GitServer`].
pub struct GitRepo {
    work: PathBuf,
    name: String,
}

impl GitRepo {
    /// Creates `<server root>/<name>.git` and a work tree for it at
    /// `<server root>/<name>.work`.
    pub fn create(server_root: &Path, name: &str) -> Result<Self, GitError> {
        let bare = server_root.join(format!("{name}.git"));
        let work = server_root.join(format!("{name}.work"));
        for d in [&bare, &work] {
            std::fs::create_dir_all(d)
                .map_err(|e| GitError(format!("creating {}: {e}", d.display())))?;
        }
        git(
            &bare,
            &["init", "--quiet", "--bare", "--initial-branch=main"],
        )?;
        git(&work, &["init", "--quiet", "--initial-branch=main"])?;
        let bare_str = bare.to_string_lossy().to_string();
        git(&work, &["remote", "add", "origin", &bare_str])?;
        Ok(Self {
            work,
            name: name.to_string(),
        })
    }

    /// The repository's name on the server.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The work tree.
    pub fn work_dir(&self) -> &Path {
        &self.work
    }

    /// Writes a file (creating directories) in the work tree.
    pub fn write(&self, path: &str, content: &str) -> Result<(), GitError> {
        let p = self.work.join(path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| GitError(format!("creating {}: {e}", parent.display())))?;
        }
        std::fs::write(&p, content).map_err(|e| GitError(format!("writing {}: {e}", p.display())))
    }

    /// Removes a file or directory from the work tree.
    pub fn remove(&self, path: &str) -> Result<(), GitError> {
        let p = self.work.join(path);
        let r = if p.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        r.map_err(|e| GitError(format!("removing {}: {e}", p.display())))
    }

    /// Commits everything and pushes `main`; returns the commit's hash.
    pub fn commit(&self, message: &str) -> Result<String, GitError> {
        git(&self.work, &["add", "--all"])?;
        git(
            &self.work,
            &["commit", "--quiet", "--allow-empty", "-m", message],
        )?;
        git(&self.work, &["push", "--quiet", "origin", "main"])?;
        git(&self.work, &["rev-parse", "HEAD"])
    }
}

/// `git http-backend` over HTTP for every `<name>.git` under a directory;
/// stopped on drop.
pub struct GitServer {
    addr: SocketAddr,
    root: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Clone)]
struct ServerState {
    root: PathBuf,
    basic_auth: Option<String>,
}

impl GitServer {
    /// Serves the repositories under `root` on a free loopback port; with
    /// `basic_auth` (user, password) every request must carry them. Runs on
    /// its own thread and runtime, so it works under any test runtime.
    pub fn start(root: &Path, basic_auth: Option<(&str, &str)>) -> Result<Self, GitError> {
        Self::start_on(root, basic_auth, "127.0.0.1:0")
    }

    /// [`GitServer::start`] on a given address.
    pub fn start_on(
        root: &Path,
        basic_auth: Option<(&str, &str)>,
        addr: &str,
    ) -> Result<Self, GitError> {
        use base64::Engine as _;
        let listener = std::net::TcpListener::bind(addr)
            .map_err(|e| GitError(format!("binding {addr}: {e}")))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| GitError(format!("listener: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| GitError(format!("listener: {e}")))?;
        let state = ServerState {
            root: root.to_path_buf(),
            basic_auth: basic_auth.map(|(u, p)| {
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
                )
            }),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                    return;
                };
                let app = axum::Router::new().fallback(
                    move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                        let state = state.clone();
                        async move { handle(state, method, uri, headers, body).await }
                    },
                );
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        Ok(Self {
            addr,
            root: root.to_path_buf(),
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The clone URL of repository `name` (`http://127.0.0.1:<port>/<name>.git`).
    pub fn url(&self, name: &str) -> String {
        format!("http://{}/{name}.git", self.addr)
    }

    /// The address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The directory served.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl Drop for GitServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn handle(
    state: ServerState,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(expected) = &state.basic_auth {
        let given = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if given != expected {
            let mut r = plain(StatusCode::UNAUTHORIZED, "authentication required");
            if let Ok(v) = "Basic realm=\"git\"".parse() {
                r.headers_mut().insert("www-authenticate", v);
            }
            return r;
        }
    }
    tokio::task::spawn_blocking(move || http_backend(&state.root, &method, &uri, &headers, &body))
        .await
        .unwrap_or_else(|_| {
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "git http-backend task failed",
            )
        })
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut r = Response::new(Body::from(text));
    *r.status_mut() = status;
    r
}

/// Runs `git http-backend` over the repositories under `root` for one
/// request and turns its CGI output into a response (for servers that add
/// their own authentication, TLS or logging in front).
pub fn http_backend(
    root: &Path,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    use std::io::Write;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let child = Command::new("git")
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", method.as_str())
        .env("PATH_INFO", uri.path())
        .env("QUERY_STRING", uri.query().unwrap_or(""))
        .env("CONTENT_TYPE", header("content-type"))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("HTTP_CONTENT_ENCODING", header("content-encoding"))
        .env("HTTP_GIT_PROTOCOL", header("git-protocol"))
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else {
        return plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "cannot run git http-backend",
        );
    };
    let writer = child.stdin.take().map(|mut stdin| {
        let input = body.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        })
    });
    let Ok(output) = child.wait_with_output() else {
        return plain(StatusCode::INTERNAL_SERVER_ERROR, "git http-backend failed");
    };
    if let Some(w) = writer {
        let _ = w.join();
    }
    let out = output.stdout;
    let split = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| out.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let Some((end, sep)) = split else {
        return plain(StatusCode::BAD_GATEWAY, "bad CGI output");
    };
    let mut response = Response::new(Body::from(out[end + sep..].to_vec()));
    for line in String::from_utf8_lossy(&out[..end]).lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value
                .split_whitespace()
                .next()
                .and_then(|c| c.parse::<u16>().ok());
            if let Some(code) = code.and_then(|c| StatusCode::from_u16(c).ok()) {
                *response.status_mut() = code;
            }
        } else if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::from_bytes(name.trim().as_bytes()),
            axum::http::HeaderValue::from_str(value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}
