//! The harness: a [`Stack`] (testenv + the four controllers as separate
//! processes), a Git server, `kubectl` as the client that applies YAML, an
//! HTTP sink that captures what the `generic` Provider POSTs, and signed
//! GitHub webhooks. Waits poll the API server until a condition holds; the
//! deadline only turns "never" into a readable failure, it measures nothing.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ferroflux_cli::stack::{Component, Stack, StackError, StackOptions};
use ferroflux_testsupport::git::{GitRepo, GitServer};
use hmac::{Hmac, Mac};
use kube::api::{Api, ApiResource, DynamicObject};
use serde_json::Value;
use sha2::Sha256;

/// How long a wait may take before the test fails with what it saw.
pub const DEADLINE: Duration = Duration::from_secs(90);

/// The running end-to-end environment; every process stops on drop.
pub struct E2e {
    pub stack: Stack,
    pub client: kube::Client,
    pub git: GitServer,
    pub sink: Sink,
    _dirs: Vec<tempfile::TempDir>,
}

impl E2e {
    /// Starts the stack from the binaries next to this executable.
    pub async fn start() -> Self {
        Self::start_with(|o| o).await
    }

    /// Starts the stack with options adjusted by `adjust`. Stacks of
    /// parallel tests start one at a time (each start is CPU-heavy).
    pub async fn start_with(adjust: impl Fn(StackOptions) -> StackOptions) -> Self {
        static STARTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _one_at_a_time = STARTING.lock().await;
        let git_dir = tempfile::tempdir().expect("a temporary directory");
        let git = GitServer::start(git_dir.path(), None).expect("the Git server");
        let sink = Sink::start().await;
        let work = tempfile::Builder::new()
            .prefix("ferroflux-e2e-")
            .tempdir()
            .expect("a temporary directory");
        let stack = match Stack::start(adjust(StackOptions::beside_current_exe(work.path()))).await
        {
            Ok(s) => s,
            Err(e @ StackError::MissingBinary(_)) => panic!(
                "{e}\nThe end-to-end tests run the controller binaries of this target \
                 directory; build them first with the same profile and CARGO_TARGET_DIR:\n  \
                 cargo build --bins -p ferroflux-testenv -p source-controller \
                 -p kustomize-controller -p helm-controller -p notification-controller"
            ),
            Err(e) => panic!("starting the stack: {e}\n{}", logs_of(work.path())),
        };
        let client = stack.client().await.expect("a client of the stack");
        Self {
            stack,
            client,
            git,
            sink,
            _dirs: vec![work, git_dir],
        }
    }

    /// A new repository on the Git server.
    pub fn repo(&self, name: &str) -> GitRepo {
        GitRepo::create(self.git.root(), name).expect("a Git repository")
    }

    /// Runs kubectl against the stack; (success, stdout, stderr).
    pub async fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
        use tokio::io::AsyncWriteExt;
        let mut child = tokio::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(self.stack.kubeconfig())
            .args(args)
            // Keep kubectl's discovery cache out of the user's home.
            .env("KUBECACHEDIR", self.stack.work_dir().join("kubecache"))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("kubectl is installed (Debian kubernetes-client; .ci/run installs it)");
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input
                .write_all(text.as_bytes())
                .await
                .expect("kubectl stdin");
        }
        drop(input);
        let out = child.wait_with_output().await.expect("kubectl runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// `kubectl apply -f -` with `yaml`; panics with kubectl's output on failure.
    pub async fn apply(&self, yaml: &str) -> String {
        let (ok, out, err) = self.kubectl(&["apply", "-f", "-"], Some(yaml)).await;
        assert!(
            ok,
            "kubectl apply failed:\n{out}\n{err}\n--- input:\n{yaml}"
        );
        out
    }

    /// Reads any object as JSON (`None`: not found).
    pub async fn get(&self, kind: Kind, ns: &str, name: &str) -> Option<Value> {
        let ar = kind.resource();
        let api: Api<DynamicObject> = if ns.is_empty() {
            Api::all_with(self.client.clone(), &ar)
        } else {
            Api::namespaced_with(self.client.clone(), ns, &ar)
        };
        match api.get_opt(name).await {
            Ok(o) => o.map(|o| serde_json::to_value(o).expect("JSON")),
            Err(e) => panic!("reading {kind:?} {ns}/{name}: {e}"),
        }
    }

    /// Polls `probe` until it returns `Some`; panics after [`DEADLINE`] with
    /// `what` and the last `describe`d state.
    pub async fn wait<T, F, Fut>(&self, what: &str, mut probe: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, String>>,
    {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let last = match probe().await {
                Ok(v) => return v,
                Err(last) => last,
            };
            if Instant::now() > deadline {
                panic!(
                    "never reached: {what}\nlast seen: {last}\n{}",
                    logs_of(self.stack.work_dir())
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until Kustomization `ns/name` is Ready with `commit` applied.
    pub async fn wait_applied(&self, ns: &str, name: &str, commit: &str) -> Value {
        let suffix = format!("sha1:{commit}");
        self.wait(
            &format!("Kustomization {ns}/{name} Ready at {commit}"),
            || async {
                let k = self.get(Kind::Kustomization, ns, name).await;
                match k {
                    Some(k)
                        if ready(&k)
                            && k["status"]["lastAppliedRevision"]
                                .as_str()
                                .is_some_and(|r| r.ends_with(&suffix)) =>
                    {
                        Ok(k)
                    }
                    other => Err(format!(
                        "{:#}",
                        other.map(|k| k["status"].clone()).unwrap_or_default()
                    )),
                }
            },
        )
        .await
    }

    /// Waits until the GitRepository's artifact is at `commit`.
    pub async fn wait_artifact(&self, ns: &str, name: &str, commit: &str) -> Value {
        let suffix = format!("sha1:{commit}");
        self.wait(
            &format!("GitRepository {ns}/{name} artifact at {commit}"),
            || async {
                match self.get(Kind::GitRepository, ns, name).await {
                    Some(g)
                        if ready(&g)
                            && g["status"]["artifact"]["revision"]
                                .as_str()
                                .is_some_and(|r| r.ends_with(&suffix)) =>
                    {
                        Ok(g)
                    }
                    other => Err(format!(
                        "{:#}",
                        other.map(|g| g["status"].clone()).unwrap_or_default()
                    )),
                }
            },
        )
        .await
    }

    /// Waits for the Receiver's `status.webhookPath`.
    pub async fn webhook_path(&self, ns: &str, name: &str) -> String {
        self.wait(
            &format!("Receiver {ns}/{name} Ready with a webhook path"),
            || async {
                match self.get(Kind::Receiver, ns, name).await {
                    Some(r) if ready(&r) && r["status"]["webhookPath"].is_string() => {
                        Ok(r["status"]["webhookPath"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string())
                    }
                    other => Err(format!(
                        "{:#}",
                        other.map(|r| r["status"].clone()).unwrap_or_default()
                    )),
                }
            },
        )
        .await
    }

    /// `sha256=<hex HMAC-SHA256 of body keyed with token>`, as GitHub signs.
    pub fn sign(token: &str, body: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(token.as_bytes()).expect("any key length");
        mac.update(body.as_bytes());
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    /// POSTs a GitHub `push` webhook for `repo_url` to the Receiver at
    /// `path`, signed with `token`; returns the status code.
    pub async fn github_push(&self, path: &str, token: &str, repo_url: &str) -> u16 {
        let body = serde_json::json!({
            "ref": "refs/heads/main",
            "repository": {"name": "app", "clone_url": repo_url, "html_url": repo_url},
        })
        .to_string();
        self.post_push(path, &body, &Self::sign(token, &body)).await
    }

    /// POSTs `body` as a GitHub `push` event with the signature header
    /// `signature` (none when empty); returns the status code.
    pub async fn post_push(&self, path: &str, body: &str, signature: &str) -> u16 {
        let mut headers = vec![
            ("Content-Type", "application/json"),
            ("X-GitHub-Event", "push"),
            ("X-GitHub-Delivery", "e2e"),
        ];
        if !signature.is_empty() {
            headers.push(("X-Hub-Signature-256", signature));
        }
        post(&self.stack.receiver_url(path), &headers, body).await
    }

    /// Kills a process and starts it again (a crash and a restart).
    pub async fn restart(&mut self, c: Component) {
        self.stack.kill(c).await;
        self.start_component(c).await;
    }

    /// Starts a killed process again.
    pub async fn start_component(&mut self, c: Component) {
        if let Err(e) = self.stack.start_component(c).await {
            panic!(
                "restarting {}: {e}\n{}",
                c.binary(),
                logs_of(self.stack.work_dir())
            );
        }
    }
}

/// Is the object's `Ready` condition `True` for its current generation?
pub fn ready(o: &Value) -> bool {
    let generation = &o["metadata"]["generation"];
    let observed = &o["status"]["observedGeneration"];
    let ready = o["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True");
    ready && (generation.is_null() || generation == observed)
}

/// The `Ready` condition (status, reason, message), if any.
pub fn ready_condition(o: &Value) -> Option<(String, String, String)> {
    o["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Ready")
        .map(|c| {
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (s("status"), s("reason"), s("message"))
        })
}

/// The ids (`<ns>_<name>_<group>_<kind>`) in a Kustomization's inventory.
pub fn inventory(k: &Value) -> Vec<String> {
    let mut ids: Vec<String> = k["status"]["inventory"]["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["id"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

/// The kinds the tests read.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Namespace,
    ConfigMap,
    Service,
    Deployment,
    GitRepository,
    Kustomization,
    Receiver,
    Provider,
    Alert,
    HelmRelease,
}

impl Kind {
    fn resource(self) -> ApiResource {
        let (group, version, kind, plural) = match self {
            Self::Namespace => ("", "v1", "Namespace", "namespaces"),
            Self::ConfigMap => ("", "v1", "ConfigMap", "configmaps"),
            Self::Service => ("", "v1", "Service", "services"),
            Self::Deployment => ("apps", "v1", "Deployment", "deployments"),
            Self::GitRepository => (
                "source.toolkit.fluxcd.io",
                "v1",
                "GitRepository",
                "gitrepositories",
            ),
            Self::Kustomization => (
                "kustomize.toolkit.fluxcd.io",
                "v1",
                "Kustomization",
                "kustomizations",
            ),
            Self::Receiver => (
                "notification.toolkit.fluxcd.io",
                "v1",
                "Receiver",
                "receivers",
            ),
            Self::Provider => (
                "notification.toolkit.fluxcd.io",
                "v1beta3",
                "Provider",
                "providers",
            ),
            Self::Alert => (
                "notification.toolkit.fluxcd.io",
                "v1beta3",
                "Alert",
                "alerts",
            ),
            Self::HelmRelease => (
                "helm.toolkit.fluxcd.io",
                "v2",
                "HelmRelease",
                "helmreleases",
            ),
        };
        let gvk = kube::api::GroupVersionKind::gvk(group, version, kind);
        ApiResource::from_gvk_with_plural(&gvk, plural)
    }
}

/// An HTTP server that keeps every body POSTed to it (what a `generic`
/// Provider sends: Flux's event JSON).
pub use ferroflux_testsupport::sink::Sink;

/// A minimal HTTP/1.1 POST on loopback; returns the status code.
pub async fn post(url: &str, headers: &[(&str, &str)], body: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let mut stream = tokio::net::TcpStream::connect(host)
        .await
        .unwrap_or_else(|e| panic!("connecting to {host}: {e}"));
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream
        .write_all(request.as_bytes())
        .await
        .expect("sending the request");
    let mut buf = Vec::new();
    stream
        .read_to_end(&mut buf)
        .await
        .expect("reading the response");
    let text = String::from_utf8_lossy(&buf);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"))
}

/// The tail of every process's log, for failure messages.
pub fn logs_of(work_dir: &Path) -> String {
    let mut out = String::new();
    let dir: PathBuf = work_dir.join("logs");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return out;
    };
    for e in entries.flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = &lines[lines.len().saturating_sub(15)..];
        out.push_str(&format!(
            "--- {} (last {} lines)\n{}\n",
            e.path().display(),
            tail.len(),
            tail.join("\n")
        ));
    }
    out
}

/// The webhook token of the app's Receiver.
pub const TOKEN: &str = "e2e-webhook-token";

/// The small app in Git: a Namespace, a Deployment, a Service, the ConfigMap
/// `config` (whose `greeting` each commit changes) and a set of extra
/// ConfigMaps that commits add and remove.
pub struct App {
    pub repo: GitRepo,
    pub url: String,
    /// The Receiver's webhook path.
    pub hook: String,
    /// The extra ConfigMaps in the last commit.
    pub extras: Vec<String>,
    /// The last commit.
    pub commit: String,
}

/// `ConfigMap demo/<name>` with `greeting`.
pub fn config_map(name: &str, greeting: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: demo\ndata:\n  greeting: \"{greeting}\"\n"
    )
}

const NAMESPACE: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n";
const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: demo
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: ghcr.io/stefanprodan/podinfo:6.7.0
        ports:
        - containerPort: 9898
"#;
const SERVICE: &str = r#"apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: demo
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 9898
"#;

/// The Flux objects, as a user would write them: the Receiver's token,
/// Provider and Alert first (so they are watched before the first events),
/// then the GitRepository and the Kustomization, both with a 1h interval so
/// only the webhook makes them act on a new commit.
pub fn flux_yaml(repo_url: &str, sink_url: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Secret
metadata:
  name: webhook-token
  namespace: flux-system
stringData:
  token: {TOKEN}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata:
  name: sink
  namespace: flux-system
spec:
  type: generic
  address: {sink_url}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata:
  name: all
  namespace: flux-system
spec:
  providerRef:
    name: sink
  eventSeverity: info
  eventSources:
  - kind: Kustomization
    name: '*'
  - kind: GitRepository
    name: '*'
---
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata:
  name: github
  namespace: flux-system
spec:
  type: github
  events: ["ping", "push"]
  secretRef:
    name: webhook-token
  resources:
  - apiVersion: source.toolkit.fluxcd.io/v1
    kind: GitRepository
    name: app
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: app
  namespace: flux-system
spec:
  interval: 1h
  url: {repo_url}
  ref:
    branch: main
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: app
  namespace: flux-system
spec:
  interval: 1h
  path: ./app
  prune: true
  timeout: 1m
  sourceRef:
    kind: GitRepository
    name: app
"#
    )
}

impl E2e {
    /// Pushes the app's first commit (`config` and the extra ConfigMap
    /// `old`), applies the Flux objects with kubectl and waits until the
    /// commit is applied and the Receiver, Provider and Alert are Ready.
    pub async fn install_app(&self) -> App {
        let repo = self.repo("app");
        let url = self.git.url("app");
        for (path, text) in [
            ("app/namespace.yaml", NAMESPACE.to_string()),
            ("app/deployment.yaml", DEPLOYMENT.to_string()),
            ("app/service.yaml", SERVICE.to_string()),
            ("app/config.yaml", config_map("config", "hello")),
            ("app/old.yaml", config_map("old", "hello")),
        ] {
            repo.write(path, &text).expect("writing to the work tree");
        }
        let commit = repo.commit("app: first").expect("commit");
        let out = self.apply(&flux_yaml(&url, &self.sink.url)).await;
        for line in [
            "provider.notification.toolkit.fluxcd.io/sink created",
            "alert.notification.toolkit.fluxcd.io/all created",
            "receiver.notification.toolkit.fluxcd.io/github created",
            "gitrepository.source.toolkit.fluxcd.io/app created",
            "kustomization.kustomize.toolkit.fluxcd.io/app created",
        ] {
            assert!(
                out.contains(line),
                "kubectl apply did not say {line:?}:\n{out}"
            );
        }
        self.wait_applied("flux-system", "app", &commit).await;
        for (kind, name) in [(Kind::Provider, "sink"), (Kind::Alert, "all")] {
            self.wait(&format!("{kind:?} flux-system/{name} Ready"), || async {
                match self.get(kind, "flux-system", name).await {
                    Some(o) if ready(&o) => Ok(()),
                    other => Err(format!("{:#}", other.unwrap_or_default()["status"])),
                }
            })
            .await;
        }
        let hook = self.webhook_path("flux-system", "github").await;
        App {
            repo,
            url,
            hook,
            extras: vec!["old".to_string()],
            commit,
        }
    }

    /// Commits a change to the app: `config` gets `greeting`, the extra
    /// ConfigMaps become `extras` (new ones added, missing ones removed).
    pub fn change_app(&self, app: &mut App, greeting: &str, extras: &[&str]) -> String {
        app.repo
            .write("app/config.yaml", &config_map("config", greeting))
            .expect("writing");
        for old in &app.extras {
            if !extras.contains(&old.as_str()) {
                app.repo
                    .remove(&format!("app/{old}.yaml"))
                    .expect("removing");
            }
        }
        for new in extras {
            app.repo
                .write(&format!("app/{new}.yaml"), &config_map(new, greeting))
                .expect("writing");
        }
        app.extras = extras.iter().map(|s| s.to_string()).collect();
        app.commit = app.repo.commit(greeting).expect("commit");
        app.commit.clone()
    }

    /// Checks the cluster holds exactly the app of the last commit: every
    /// object with its content, the inventory listing each and nothing else,
    /// and the removed extras pruned.
    pub async fn assert_app(&self, app: &App, greeting: &str, removed: &[&str]) -> Value {
        let k = self.wait_applied("flux-system", "app", &app.commit).await;
        let mut expected = vec![
            "_demo__Namespace".to_string(),
            "demo_web_apps_Deployment".to_string(),
            "demo_web__Service".to_string(),
            "demo_config__ConfigMap".to_string(),
        ];
        expected.extend(app.extras.iter().map(|e| format!("demo_{e}__ConfigMap")));
        expected.sort();
        assert_eq!(inventory(&k), expected, "the Kustomization's inventory");
        let config = self
            .get(Kind::ConfigMap, "demo", "config")
            .await
            .expect("ConfigMap demo/config");
        assert_eq!(
            config["data"]["greeting"], greeting,
            "ConfigMap demo/config"
        );
        for e in &app.extras {
            let cm = self
                .get(Kind::ConfigMap, "demo", e)
                .await
                .unwrap_or_else(|| panic!("ConfigMap demo/{e} was not applied"));
            assert_eq!(cm["data"]["greeting"], greeting, "ConfigMap demo/{e}");
        }
        for r in removed {
            assert!(
                self.get(Kind::ConfigMap, "demo", r).await.is_none(),
                "ConfigMap demo/{r} was removed from Git but not pruned"
            );
        }
        assert!(
            self.get(Kind::Namespace, "", "demo").await.is_some(),
            "Namespace demo"
        );
        assert!(
            self.get(Kind::Deployment, "demo", "web").await.is_some(),
            "Deployment demo/web"
        );
        assert!(
            self.get(Kind::Service, "demo", "web").await.is_some(),
            "Service demo/web"
        );
        k
    }
}
