//! Real Git peers for the tests: repositories built with the git CLI, served
//! by `git daemon`, by `git http-backend` behind a small axum server (with
//! optional basic/bearer auth and a request log), and over file://.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;

/// Runs git with an isolated configuration and fixed identity; returns stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "Test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A work repository and the bare repository `repos/repo.git` it is pushed to.
pub struct Fixture {
    pub root: tempfile::TempDir,
    pub work: PathBuf,
    pub repos: PathBuf,
    pub bare: PathBuf,
}

/// Commits of the fixture, by role.
pub struct Commits {
    pub first: String,
    pub master: String,
    pub feature: String,
    pub pr: String,
    pub v1_0_0: String,
    pub v1_2_0: String,
    pub v2_rc: String,
}

impl Fixture {
    /// master: c1 (v1.0.0, lightweight) -> c2 (v1.2.0, annotated) -> c3 (v2.0.0-rc.1, annotated; `latest`, `v0.9`)
    /// feature/x: c2 -> f1; refs/pull/1/head: c3 -> p1 (on no branch).
    pub fn new() -> (Fixture, Commits) {
        let root = tempfile::tempdir().expect("tempdir");
        let work = root.path().join("work");
        let repos = root.path().join("repos");
        let bare = repos.join("repo.git");
        std::fs::create_dir_all(&work).expect("mkdir");
        std::fs::create_dir_all(&repos).expect("mkdir");
        git(&work, &["init", "-q", "-b", "master"]);
        let f = Fixture {
            root,
            work,
            repos,
            bare,
        };
        let first = f.commit("one");
        git(&f.work, &["tag", "v1.0.0"]);
        let second = f.commit("two");
        git(&f.work, &["tag", "-a", "v1.2.0", "-m", "release 1.2.0"]);
        git(&f.work, &["checkout", "-q", "-b", "feature/x"]);
        let feature = f.commit("feature");
        git(&f.work, &["checkout", "-q", "master"]);
        let third = f.commit("three");
        git(&f.work, &["tag", "-a", "v2.0.0-rc.1", "-m", "rc"]);
        git(&f.work, &["tag", "latest"]);
        git(&f.work, &["tag", "v0.9"]);
        git(&f.work, &["checkout", "-q", "--detach"]);
        let pr = f.commit("pull request");
        git(&f.work, &["update-ref", "refs/pull/1/head", &pr]);
        git(&f.work, &["checkout", "-q", "master"]);
        git(
            f.root.path(),
            &["init", "-q", "--bare", "-b", "master", path_str(&f.bare)],
        );
        git(&f.work, &["push", "-q", path_str(&f.bare), "refs/*:refs/*"]);
        // Let `git daemon` and `git http-backend` serve it.
        git(&f.bare, &["config", "http.receivepack", "false"]);
        let commits = Commits {
            first: first.clone(),
            master: third.clone(),
            feature,
            pr,
            v1_0_0: first,
            v1_2_0: second,
            v2_rc: third,
        };
        (f, commits)
    }

    /// Writes `version.txt` = `content` (and a nested file, a symlink) and commits.
    pub fn commit(&self, content: &str) -> String {
        std::fs::write(self.work.join("version.txt"), content).expect("write");
        std::fs::create_dir_all(self.work.join("dir")).expect("mkdir");
        std::fs::write(self.work.join("dir/nested.yaml"), format!("v: {content}\n"))
            .expect("write");
        let link = self.work.join("link");
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink("version.txt", &link).expect("symlink");
        }
        git(&self.work, &["add", "-A"]);
        git(&self.work, &["commit", "-q", "-m", content]);
        git(&self.work, &["rev-parse", "HEAD"])
    }

    /// Commits on master and pushes it; returns the new commit.
    pub fn push_new_commit(&self, content: &str) -> String {
        git(&self.work, &["checkout", "-q", "master"]);
        let id = self.commit(content);
        git(&self.work, &["push", "-q", path_str(&self.bare), "master"]);
        id
    }

    pub fn file_url(&self) -> String {
        format!("file://{}", self.bare.display())
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.root.path().join(name)
    }
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

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
    pub port: u16,
}

impl Daemon {
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
                path_str(repos),
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
    None,
    Basic(String, String),
    Bearer(String),
}

/// One request the HTTP server saw.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    /// For protocol v2 POSTs: `ls-refs` or `fetch`.
    pub command: Option<String>,
    pub status: u16,
}

/// `git http-backend` behind axum, as CGI per request; stopped on drop.
pub struct HttpServer {
    pub addr: SocketAddr,
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

    pub fn url(&self, repo: &str) -> String {
        format!("http://{}/{repo}", self.addr)
    }

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
            ferroflux_testenv::git::http_backend(&state.repos, &method, &uri, &headers, &body)
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

/// A throw-away CA and certificates signed by it (rcgen, in-process).
pub use ferroflux_testsupport::tls::TestCerts;
use ferroflux_testsupport::tls::TlsListener;
