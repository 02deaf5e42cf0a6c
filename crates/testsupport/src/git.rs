//! Git servers for tests: `git http-backend` behind a small axum server
//! (with optional basic/bearer auth, HTTPS and a request log), and `git
//! daemon`.
//!
//! The repository helpers and the plain HTTP server the `ferroflux demo`
//! also uses live in `ferroflux_testenv::git` and are re-exported here with
//! the other fixtures.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
pub use ferroflux_testenv::git::*;

use crate::tls::{TestCerts, TlsListener};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("port {port} did not open");
}

/// `git daemon` serving `repos`; killed on drop.
pub struct Daemon {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
}

impl Daemon {
    /// Serves every repository under `repos` (read-only).
    pub fn start(repos: &Path) -> Daemon {
        let port = free_port();
        let child = Command::new("git")
            .args([
                "daemon",
                "--export-all",
                "--reuseaddr",
                "--informative-errors",
                "--listen=127.0.0.1",
                &format!("--port={port}"),
                &format!("--base-path={}", repos.display()),
                repos.to_str().expect("utf-8 path"),
            ])
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("git daemon starts");
        wait_for_port(port);
        Daemon { child, port }
    }

    /// `git://` URL of `repo` (a path under the served directory).
    pub fn url(&self, repo: &str) -> String {
        format!("git://127.0.0.1:{}/{repo}", self.port)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the HTTP server demands.
#[derive(Clone)]
pub enum ServerAuth {
    /// Anyone may fetch.
    None,
    /// HTTP basic auth with this user and password.
    Basic(String, String),
    /// `Authorization: Bearer` with this token.
    Bearer(String),
}

/// One request the HTTP server saw.
#[derive(Clone, Debug)]
pub struct Seen {
    /// The HTTP method.
    pub method: String,
    /// The request path.
    pub path: String,
    /// For protocol v2 POSTs: `ls-refs` or `fetch`.
    pub command: Option<String>,
    /// The status answered.
    pub status: u16,
}

/// `git http-backend` behind axum, as CGI per request; stopped on drop.
pub struct HttpServer {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Every request answered so far.
    pub log: Arc<Mutex<Vec<Seen>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Clone)]
struct State {
    repos: PathBuf,
    auth: ServerAuth,
    log: Arc<Mutex<Vec<Seen>>>,
}

impl HttpServer {
    /// Serves the repositories under `repos` over plain HTTP.
    pub fn start(repos: &Path, auth: ServerAuth) -> HttpServer {
        HttpServer::start_with(repos, auth, None)
    }

    /// Serves HTTPS with `tls`.
    pub fn start_tls(repos: &Path, auth: ServerAuth, tls: &TestCerts) -> HttpServer {
        HttpServer::start_with(repos, auth, Some(tls.server_config(false)))
    }

    fn start_with(repos: &Path, auth: ServerAuth, tls: Option<rustls::ServerConfig>) -> HttpServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let state = State {
            repos: repos.to_path_buf(),
            auth,
            log: log.clone(),
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = axum::Router::new().fallback(
                    move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                        let state = state.clone();
                        async move { handle(state, method, uri, headers, body).await }
                    },
                );
                let shutdown = async move {
                    let _ = stopped.await;
                };
                match tls {
                    None => {
                        let _ = axum::serve(listener, app)
                            .with_graceful_shutdown(shutdown)
                            .await;
                    }
                    Some(config) => {
                        let listener = TlsListener::new(listener, config);
                        let _ = axum::serve(listener, app)
                            .with_graceful_shutdown(shutdown)
                            .await;
                    }
                }
            });
        });
        HttpServer {
            addr,
            log,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://` URL of `repo`.
    pub fn url(&self, repo: &str) -> String {
        format!("http://{}/{repo}", self.addr)
    }

    /// `https://` URL of `repo` (for a server started with TLS).
    pub fn https_url(&self, repo: &str) -> String {
        format!("https://{}/{repo}", self.addr)
    }

    /// Requests seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().expect("log").clone()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn authorized(auth: &ServerAuth, headers: &HeaderMap) -> bool {
    use base64::Engine as _;
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match auth {
        ServerAuth::None => true,
        ServerAuth::Basic(user, password) => {
            let expected =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            given == format!("Basic {expected}")
        }
        ServerAuth::Bearer(token) => given == format!("Bearer {token}"),
    }
}

fn v2_command(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    text.find("command=").map(|at| {
        text[at + "command=".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
            .collect()
    })
}

async fn handle(
    state: State,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut seen = Seen {
        method: method.to_string(),
        path: uri.path().to_string(),
        command: v2_command(&body),
        status: 0,
    };
    let response = if authorized(&state.auth, &headers) {
        tokio::task::spawn_blocking(move || {
            http_backend(&state.repos, &method, &uri, &headers, &body)
        })
        .await
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "cgi panicked"))
    } else {
        let mut r = plain(StatusCode::UNAUTHORIZED, "authentication required");
        if !matches!(state.auth, ServerAuth::Bearer(_)) {
            r.headers_mut().insert(
                "www-authenticate",
                "Basic realm=\"git\"".parse().expect("header"),
            );
        }
        r
    };
    seen.status = response.status().as_u16();
    state.log.lock().expect("log").push(seen);
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut r = Response::new(Body::from(text));
    *r.status_mut() = status;
    r
}
