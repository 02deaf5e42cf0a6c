//! A Helm chart repository for tests: charts packaged and indexed by the
//! Helm SDK (`helm-python-sdk` in `target/peers/venv`: `helm package`,
//! `helm repo index`), served by a plain static file server (axum, with
//! optional basic auth and TLS) that logs what it was asked.

use std::net::{SocketAddr, TcpListener};
use std::path::{Component, Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;

use crate::git::ServerAuth;
use crate::tls::{TestCerts, TlsListener};

/// One chart version to package.
#[derive(Clone, Debug)]
pub struct ChartSpec {
    /// Chart name.
    pub name: String,
    /// Chart version.
    pub version: String,
    /// Extra files (path inside the chart → content); `values.yaml` here
    /// replaces the default one.
    pub files: Vec<(String, String)>,
}

impl ChartSpec {
    /// A small chart `name` at `version`: a ConfigMap template and
    /// `values.yaml` with `replicas: 1`.
    pub fn new(name: &str, version: &str) -> ChartSpec {
        ChartSpec {
            name: name.to_string(),
            version: version.to_string(),
            files: Vec::new(),
        }
    }

    /// Adds (or replaces) a file of the chart.
    pub fn file(mut self, path: &str, content: &str) -> ChartSpec {
        self.files.push((path.to_string(), content.to_string()));
        self
    }
}

const SDK_SCRIPT: &str = r#"
import json, os, sys, tempfile
import helm_python as helm

out, spec = sys.argv[1], json.loads(sys.argv[2])
for chart in spec:
    work = tempfile.mkdtemp()
    root = os.path.join(work, chart["name"])
    os.makedirs(os.path.join(root, "templates"))
    files = {
        "Chart.yaml": "apiVersion: v2\nname: %s\nversion: %s\n" % (chart["name"], chart["version"]),
        "values.yaml": "replicas: 1\n",
        "templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  replicas: {{ .Values.replicas | quote }}\n",
    }
    files.update(dict(chart["files"]))
    for path, text in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
    helm.package(root, destination=out)
helm.repo_index_generate(out)
"#;

/// The Helm SDK's Python, or `None` (outside CI) when the peer is not
/// installed. Under CI a missing peer is a failure: the test command
/// installs it (`hack/install-peers`).
pub fn sdk_python() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join("target/peers/venv/bin/python");
    if python.exists() {
        return Some(python);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but {} is missing: hack/install-peers should have created it",
        python.display()
    );
    eprintln!(
        "skipping: the Helm SDK peer is missing ({}); run hack/install-peers",
        python.display()
    );
    None
}

/// Packages `charts` into `dir` (`<name>-<version>.tgz`) with the Helm SDK
/// and (re)writes `dir/index.yaml` over every archive in `dir`, as `helm
/// package` and `helm repo index` do. Chart URLs in the index are relative.
pub fn package_and_index(python: &Path, dir: &Path, charts: &[ChartSpec]) {
    let spec: Vec<serde_json::Value> = charts
        .iter()
        .map(|c| {
            serde_json::json!({
                "name": c.name,
                "version": c.version,
                "files": c.files,
            })
        })
        .collect();
    let out = Command::new(python)
        .args(["-c", SDK_SCRIPT])
        .arg(dir)
        .arg(serde_json::Value::Array(spec).to_string())
        .output()
        .expect("run the Helm SDK");
    assert!(
        out.status.success(),
        "helm package / repo index failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One request the server answered.
#[derive(Clone, Debug)]
pub struct Request {
    /// The request path.
    pub path: String,
    /// The status answered.
    pub status: u16,
    /// Whether it carried an `Authorization` header.
    pub authorized: bool,
}

/// A static file server over a directory; stopped on drop.
pub struct StaticServer {
    /// Where it listens (127.0.0.1).
    pub addr: SocketAddr,
    scheme: &'static str,
    log: Arc<Mutex<Vec<Request>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[derive(Clone)]
struct State {
    root: PathBuf,
    auth: ServerAuth,
    log: Arc<Mutex<Vec<Request>>>,
}

impl StaticServer {
    /// Serves the files under `root` over plain HTTP.
    pub fn start(root: &Path, auth: ServerAuth) -> StaticServer {
        StaticServer::start_with(root, auth, None)
    }

    /// Serves them over HTTPS with `tls` (a client certificate signed by
    /// the CA is demanded when `require_client_cert`).
    pub fn start_tls(
        root: &Path,
        auth: ServerAuth,
        tls: &TestCerts,
        require_client_cert: bool,
    ) -> StaticServer {
        StaticServer::start_with(root, auth, Some(tls.server_config(require_client_cert)))
    }

    /// Serves over plain HTTP on 127.0.0.1:`port` (a server that comes up
    /// where a client already failed to connect).
    pub fn start_on(port: u16, root: &Path, auth: ServerAuth) -> StaticServer {
        StaticServer::bind_and_start(port, root, auth, None)
    }

    fn start_with(
        root: &Path,
        auth: ServerAuth,
        tls: Option<rustls::ServerConfig>,
    ) -> StaticServer {
        StaticServer::bind_and_start(0, root, auth, tls)
    }

    fn bind_and_start(
        port: u16,
        root: &Path,
        auth: ServerAuth,
        tls: Option<rustls::ServerConfig>,
    ) -> StaticServer {
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let state = State {
            root: root.to_path_buf(),
            auth,
            log: log.clone(),
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap| {
                    let state = state.clone();
                    async move { serve(&state, &uri, &headers).await }
                });
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
                        let _ = axum::serve(TlsListener::new(listener, config), app)
                            .with_graceful_shutdown(shutdown)
                            .await;
                    }
                }
            });
        });
        StaticServer {
            addr,
            scheme,
            log,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// The server's base URL (`http://127.0.0.1:<port>/`).
    pub fn url(&self) -> String {
        format!("{}://{}/", self.scheme, self.addr)
    }

    /// Requests answered so far.
    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().expect("log").clone()
    }
}

impl Drop for StaticServer {
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
    use base64::Engine;
    let given = headers
        .get(header::AUTHORIZATION)
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

async fn serve(state: &State, uri: &Uri, headers: &HeaderMap) -> Response {
    let path = uri.path().to_string();
    let (status, body) = if !authorized(&state.auth, headers) {
        (StatusCode::UNAUTHORIZED, Vec::new())
    } else {
        let rel = Path::new(path.trim_start_matches('/'));
        let safe = rel.components().all(|c| matches!(c, Component::Normal(_)));
        match safe.then(|| std::fs::read(state.root.join(rel))) {
            Some(Ok(bytes)) => (StatusCode::OK, bytes),
            _ => (StatusCode::NOT_FOUND, Vec::new()),
        }
    };
    state.log.lock().expect("log").push(Request {
        path,
        status: status.as_u16(),
        authorized: headers.contains_key(header::AUTHORIZATION),
    });
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            header::HeaderValue::from_static("Basic realm=\"charts\""),
        );
    }
    response
}

const SDK_PUSH_SCRIPT: &str = r#"
import json, os, sys, tempfile
import helm_python as helm

remote, spec, login = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
tls = len(sys.argv) > 4 and sys.argv[4] == "tls"
out = tempfile.mkdtemp()
client = helm.RegistryClient(plain_http=not tls, credentials_file=os.path.join(out, "registry.json"))
if login:
    client.login(login["host"], username=login["username"], password=login["password"], plain_http=not tls)
for chart in spec:
    work = tempfile.mkdtemp()
    root = os.path.join(work, chart["name"])
    os.makedirs(os.path.join(root, "templates"))
    files = {
        "Chart.yaml": "apiVersion: v2\nname: %s\nversion: %s\n" % (chart["name"], chart["version"]),
        "values.yaml": "replicas: 1\n",
        "templates/configmap.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  replicas: {{ .Values.replicas | quote }}\n",
    }
    files.update(dict(chart["files"]))
    for path, text in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
    archive = helm.package(root, destination=out)
    client.push(archive, remote, plain_http=not tls)
"#;

/// Packages `charts` with the Helm SDK and pushes them with its registry
/// client to `remote` (`oci://host:port/path`, plain HTTP), as `helm
/// package` and `helm push` do; logs in as `login` (user, password) first
/// when given.
pub fn push_oci(python: &Path, remote: &str, charts: &[ChartSpec], login: Option<(&str, &str)>) {
    push_oci_with(python, remote, charts, login, None);
}

/// [`push_oci`] to a registry over HTTPS whose certificate `ca` (PEM)
/// signed (given to Helm's Go TLS stack as `SSL_CERT_FILE`), or over plain
/// HTTP when `ca` is `None`.
pub fn push_oci_with(
    python: &Path,
    remote: &str,
    charts: &[ChartSpec],
    login: Option<(&str, &str)>,
    ca: Option<&str>,
) {
    let spec: Vec<serde_json::Value> = charts
        .iter()
        .map(|c| serde_json::json!({"name": c.name, "version": c.version, "files": c.files}))
        .collect();
    let host = remote
        .trim_start_matches("oci://")
        .split('/')
        .next()
        .unwrap_or_default();
    let login = login.map_or(
        serde_json::Value::Null,
        |(u, p)| serde_json::json!({"host": host, "username": u, "password": p}),
    );
    let ca_dir = tempfile::tempdir().expect("temporary directory");
    let mut command = Command::new(python);
    command
        .args(["-c", SDK_PUSH_SCRIPT, remote])
        .arg(serde_json::Value::Array(spec).to_string())
        .arg(login.to_string())
        .arg(if ca.is_some() { "tls" } else { "plain" });
    if let Some(pem) = ca {
        let file = ca_dir.path().join("ca.crt");
        std::fs::write(&file, pem).expect("write the CA");
        command.env("SSL_CERT_FILE", file);
    }
    let out = command.output().expect("run the Helm SDK");
    assert!(
        out.status.success(),
        "helm package / push failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const SDK_RENDER_SCRIPT: &str = r#"
import json, sys
import helm_python as helm

try:
    with open(sys.argv[1], "rb") as f:
        chart = helm.Chart.load_archive(f.read())
    out = {
        "metadata": chart.metadata,
        "dependencies": chart.dependencies,
        "values": chart.values,
        "rendered": chart.render({}, name="rel", namespace="ns"),
    }
except helm.HelmError as e:
    out = {"error": str(e)}
print(json.dumps(out))
"#;

/// What the Helm SDK makes of the chart archive at `archive`: its
/// `metadata`, the `dependencies` it loaded from `charts/`, its default
/// `values`, and the templates `rendered` with them (release `rel` in
/// namespace `ns`); `Err` with Helm's message when it does not load or
/// render.
pub fn sdk_load_and_render(python: &Path, archive: &Path) -> Result<serde_json::Value, String> {
    let out = Command::new(python)
        .args(["-c", SDK_RENDER_SCRIPT])
        .arg(archive)
        .output()
        .expect("run the Helm SDK");
    assert!(
        out.status.success(),
        "the Helm SDK failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("the render script prints JSON");
    match v.get("error") {
        Some(e) => Err(e.as_str().unwrap_or_default().to_string()),
        None => Ok(v),
    }
}
