//! A whole Ferroflux installation on one machine, as separate processes:
//! the test API server (`testenv serve`) and source-, kustomize-, helm- and
//! notification-controller, each started from the binaries next to this
//! one, with their own ports, storage and log files under a work
//! directory. `ferroflux demo` and the end-to-end tests run on it.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use tokio::process::{Child, Command};

/// What went wrong starting or driving the stack.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// A binary is not where it should be.
    #[error(
        "{0} not found; build the binaries first, with the same profile and target directory: cargo build --bins (add --release for release builds)"
    )]
    MissingBinary(PathBuf),
    /// A process could not be started or did not come up.
    #[error("{component}: {message}")]
    Process {
        /// Which process.
        component: &'static str,
        /// What happened.
        message: String,
    },
    /// Talking to the API server failed.
    #[error("kubernetes API: {0}")]
    Kube(String),
    /// A file or directory could not be used.
    #[error("{0}")]
    Io(String),
}

/// The processes of the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    /// The test API server (`testenv serve`).
    ApiServer,
    /// source-controller.
    SourceController,
    /// kustomize-controller.
    KustomizeController,
    /// helm-controller.
    HelmController,
    /// notification-controller.
    NotificationController,
}

impl Component {
    /// The binary's file name.
    pub fn binary(self) -> &'static str {
        match self {
            Self::ApiServer => "testenv",
            Self::SourceController => "source-controller",
            Self::KustomizeController => "kustomize-controller",
            Self::HelmController => "helm-controller",
            Self::NotificationController => "notification-controller",
        }
    }

    /// The four controllers.
    pub const CONTROLLERS: [Component; 4] = [
        Component::SourceController,
        Component::KustomizeController,
        Component::HelmController,
        Component::NotificationController,
    ];
}

/// How the stack is started.
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Where the binaries are (default: next to the running executable).
    pub bin_dir: PathBuf,
    /// Where state (artifacts, caches, logs, kubeconfig) goes.
    pub work_dir: PathBuf,
    /// Make workloads report rolled out after this long (testenv's simulation).
    pub simulate_workloads: Option<Duration>,
    /// How long to wait for each process to come up.
    pub startup_timeout: Duration,
    /// Flags added to a component's command line (after the stack's own).
    pub extra_args: BTreeMap<Component, Vec<String>>,
    /// Environment variables set for a component's process.
    pub extra_env: BTreeMap<Component, Vec<(String, String)>>,
}

impl StackOptions {
    /// Binaries next to the running executable (or its parent, for test
    /// executables in `target/<profile>/deps`), state under `work_dir`.
    pub fn beside_current_exe(work_dir: &Path) -> Self {
        let exe = std::env::current_exe().unwrap_or_default();
        let mut dir = exe.parent().map(Path::to_path_buf).unwrap_or_default();
        if dir.ends_with("deps") || dir.ends_with("examples") {
            dir.pop();
        }
        Self {
            bin_dir: dir,
            work_dir: work_dir.to_path_buf(),
            simulate_workloads: Some(Duration::from_millis(500)),
            startup_timeout: Duration::from_secs(30),
            extra_args: BTreeMap::new(),
            extra_env: BTreeMap::new(),
        }
    }
}

/// Ports every process listens on (fixed for the stack's lifetime, so a
/// restarted controller comes back at the same addresses).
#[derive(Debug, Clone)]
pub struct Ports {
    /// The API server.
    pub api: u16,
    /// source-controller's artifact server.
    pub artifacts: u16,
    /// notification-controller's event intake.
    pub events: u16,
    /// notification-controller's webhook receiver.
    pub receiver: u16,
    /// Metrics per controller.
    pub metrics: BTreeMap<Component, u16>,
    /// Health probes per controller.
    pub health: BTreeMap<Component, u16>,
}

/// The running stack; every process is killed when it is dropped.
pub struct Stack {
    options: StackOptions,
    /// The ports in use.
    pub ports: Ports,
    children: BTreeMap<Component, Child>,
}

/// Free loopback ports, held open until all are chosen so that no two of
/// them are the same; the processes bind them right after they are released.
struct PortPicker(Vec<TcpListener>);

impl PortPicker {
    fn pick(&mut self) -> Result<u16, StackError> {
        let err = |e: std::io::Error| StackError::Io(format!("finding a free port: {e}"));
        let l = TcpListener::bind("127.0.0.1:0").map_err(err)?;
        let port = l.local_addr().map_err(err)?.port();
        self.0.push(l);
        Ok(port)
    }
}

impl Stack {
    /// Starts the API server, installs the CRDs and the `flux-system`
    /// namespace, then starts the controllers and waits until each is ready.
    pub async fn start(options: StackOptions) -> Result<Self, StackError> {
        for c in [Component::ApiServer]
            .into_iter()
            .chain(Component::CONTROLLERS)
        {
            let path = options.bin_dir.join(c.binary());
            if !path.is_file() {
                return Err(StackError::MissingBinary(path));
            }
        }
        for d in ["logs", "artifacts", "git-cache"] {
            std::fs::create_dir_all(options.work_dir.join(d)).map_err(|e| {
                StackError::Io(format!(
                    "creating {}: {e}",
                    options.work_dir.join(d).display()
                ))
            })?;
        }
        let mut picker = PortPicker(Vec::new());
        let mut metrics = BTreeMap::new();
        let mut health = BTreeMap::new();
        for c in Component::CONTROLLERS {
            metrics.insert(c, picker.pick()?);
            health.insert(c, picker.pick()?);
        }
        let ports = Ports {
            api: picker.pick()?,
            artifacts: picker.pick()?,
            events: picker.pick()?,
            receiver: picker.pick()?,
            metrics,
            health,
        };
        drop(picker);
        let mut stack = Self {
            options,
            ports,
            children: BTreeMap::new(),
        };
        stack.start_component(Component::ApiServer).await?;
        stack.install().await?;
        for c in Component::CONTROLLERS {
            stack.start_component(c).await?;
        }
        Ok(stack)
    }

    /// The kubeconfig of the API server (admin).
    pub fn kubeconfig(&self) -> PathBuf {
        self.options.work_dir.join("kubeconfig")
    }

    /// The work directory.
    pub fn work_dir(&self) -> &Path {
        &self.options.work_dir
    }

    /// The scratch directory of a controller (`--scratch-path`): one per
    /// controller under the stack's work directory, so that stacks running
    /// side by side never share one. notification- and helm-controller
    /// (which holds charts in memory) make no temporary files and have none.
    pub fn scratch_dir(&self, c: Component) -> PathBuf {
        self.options.work_dir.join("scratch").join(c.binary())
    }

    /// The log file of a process.
    pub fn log_file(&self, c: Component) -> PathBuf {
        self.options
            .work_dir
            .join("logs")
            .join(format!("{}.log", c.binary()))
    }

    /// A client of the API server.
    pub async fn client(&self) -> Result<kube::Client, StackError> {
        let text = std::fs::read_to_string(self.kubeconfig())
            .map_err(|e| StackError::Io(format!("reading {}: {e}", self.kubeconfig().display())))?;
        let kc = kube::config::Kubeconfig::from_yaml(&text)
            .map_err(|e| StackError::Kube(e.to_string()))?;
        let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .map_err(|e| StackError::Kube(e.to_string()))?;
        kube::Client::try_from(config).map_err(|e| StackError::Kube(e.to_string()))
    }

    /// The URL notification-controller's receiver serves webhooks on.
    pub fn receiver_url(&self, webhook_path: &str) -> String {
        format!("http://127.0.0.1:{}{webhook_path}", self.ports.receiver)
    }

    /// The process id of a component, while it runs.
    pub fn pid(&self, c: Component) -> Option<u32> {
        self.children.get(&c).and_then(Child::id)
    }

    /// The metrics text of a controller.
    pub async fn metrics(&self, c: Component) -> Result<String, StackError> {
        let port = self.ports.metrics.get(&c).copied().unwrap_or_default();
        http_get(port, "/metrics").await
    }

    fn args(&self, c: Component) -> Vec<String> {
        let w = &self.options.work_dir;
        let p = &self.ports;
        let local = |port: u16| format!("127.0.0.1:{port}");
        let mut args: Vec<String> = match c {
            Component::ApiServer => {
                let mut a = vec![
                    "serve".into(),
                    "--port".into(),
                    p.api.to_string(),
                    "--kubeconfig-out".into(),
                    w.join("kubeconfig").display().to_string(),
                ];
                if let Some(d) = self.options.simulate_workloads {
                    a.push("--simulate-workloads".into());
                    a.push(d.as_millis().to_string());
                }
                a.extend(
                    self.options
                        .extra_args
                        .get(&c)
                        .into_iter()
                        .flatten()
                        .cloned(),
                );
                return a;
            }
            Component::SourceController => vec![
                "--storage-path".into(),
                w.join("artifacts").display().to_string(),
                "--storage-addr".into(),
                local(p.artifacts),
                "--storage-adv-addr".into(),
                local(p.artifacts),
                "--git-cache-path".into(),
                w.join("git-cache").display().to_string(),
                "--scratch-path".into(),
                self.scratch_dir(c).display().to_string(),
                "--events-addr".into(),
                format!("http://{}", local(p.events)),
            ],
            Component::KustomizeController => vec![
                "--scratch-path".into(),
                self.scratch_dir(c).display().to_string(),
                "--events-addr".into(),
                format!("http://{}", local(p.events)),
            ],
            Component::HelmController => vec![
                "--events-addr".into(),
                format!("http://{}", local(p.events)),
            ],
            Component::NotificationController => vec![
                "--events-addr".into(),
                local(p.events),
                "--receiver-addr".into(),
                local(p.receiver),
            ],
        };
        args.extend([
            "--metrics-addr".into(),
            local(p.metrics.get(&c).copied().unwrap_or_default()),
            "--health-addr".into(),
            local(p.health.get(&c).copied().unwrap_or_default()),
            "--log-encoding".into(),
            "json".into(),
        ]);
        args.extend(
            self.options
                .extra_args
                .get(&c)
                .into_iter()
                .flatten()
                .cloned(),
        );
        args
    }

    /// Starts (or restarts) one process and waits until it is ready.
    pub async fn start_component(&mut self, c: Component) -> Result<(), StackError> {
        // A port released moments ago can still be taken by another socket
        // on this machine; trying again on the same ports is what helps.
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.spawn_and_wait(c).await {
                Err(e) if attempts < 4 && self.log_tail(c).contains("Address already in use") => {
                    tracing::debug!(component = c.binary(), error = %e, "port taken; starting again");
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                other => return other,
            }
        }
    }

    fn log_tail(&self, c: Component) -> String {
        let text = std::fs::read_to_string(self.log_file(c)).unwrap_or_default();
        text.lines().rev().take(3).collect::<Vec<_>>().join("\n")
    }

    async fn spawn_and_wait(&mut self, c: Component) -> Result<(), StackError> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_file(c))
            .map_err(|e| StackError::Io(format!("opening {}: {e}", self.log_file(c).display())))?;
        let log_err = log
            .try_clone()
            .map_err(|e| StackError::Io(format!("log file: {e}")))?;
        let child = Command::new(self.options.bin_dir.join(c.binary()))
            .args(self.args(c))
            .env("KUBECONFIG", self.kubeconfig())
            .env("RUNTIME_NAMESPACE", "flux-system")
            .env("HOSTNAME", c.binary())
            .envs(
                self.options
                    .extra_env
                    .get(&c)
                    .into_iter()
                    .flatten()
                    .cloned(),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err))
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| StackError::Process {
                component: c.binary(),
                message: format!("cannot start: {e}"),
            })?;
        self.children.insert(c, child);
        self.wait_ready(c).await
    }

    async fn wait_ready(&mut self, c: Component) -> Result<(), StackError> {
        let deadline = Instant::now() + self.options.startup_timeout;
        loop {
            let up = match c {
                Component::ApiServer => {
                    // The kubeconfig is written last; it must be whole.
                    let written = std::fs::read_to_string(self.kubeconfig())
                        .ok()
                        .and_then(|t| kube::config::Kubeconfig::from_yaml(&t).ok())
                        .is_some_and(|k| k.current_context.is_some());
                    written && http_get(self.ports.api, "/readyz").await.is_ok()
                }
                _ => http_get(
                    self.ports.health.get(&c).copied().unwrap_or_default(),
                    "/readyz",
                )
                .await
                .is_ok(),
            };
            if up {
                return Ok(());
            }
            if let Some(child) = self.children.get_mut(&c)
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(StackError::Process {
                    component: c.binary(),
                    message: format!("exited with {status}; see {}", self.log_file(c).display()),
                });
            }
            if Instant::now() > deadline {
                return Err(StackError::Process {
                    component: c.binary(),
                    message: format!(
                        "not ready after {:?}; see {}",
                        self.options.startup_timeout,
                        self.log_file(c).display()
                    ),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Kills a process (SIGKILL: a crash, not a shutdown) and waits for it.
    pub async fn kill(&mut self, c: Component) {
        if let Some(mut child) = self.children.remove(&c) {
            let _ = child.kill().await;
        }
    }

    /// Stops every process, controllers first.
    pub async fn shutdown(mut self) {
        for c in Component::CONTROLLERS
            .into_iter()
            .chain([Component::ApiServer])
        {
            self.kill(c).await;
        }
    }

    async fn install(&self) -> Result<(), StackError> {
        let client = self.client().await?;
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        let params = PatchParams::apply("ferroflux").force();
        for crd in ferroflux_api::crds::all().map_err(|e| StackError::Kube(e.to_string()))? {
            let name = crd.metadata.name.clone().unwrap_or_default();
            crds.patch(&name, &params, &Patch::Apply(&crd))
                .await
                .map_err(|e| StackError::Kube(format!("installing CRD {name}: {e}")))?;
        }
        let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client);
        let ns = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux-system"}});
        namespaces
            .patch("flux-system", &params, &Patch::Apply(&ns))
            .await
            .map_err(|e| StackError::Kube(format!("creating namespace flux-system: {e}")))?;
        Ok(())
    }
}

/// A plain HTTP/1.1 GET on loopback; the body on 2xx.
async fn http_get(port: u16, path: &str) -> Result<String, StackError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let io = |e: std::io::Error| StackError::Io(e.to_string());
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(io)?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    stream.write_all(request.as_bytes()).await.map_err(io)?;
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.map_err(io)?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let ok = text
        .split_whitespace()
        .nth(1)
        .is_some_and(|code| code.starts_with('2'));
    if !ok {
        return Err(StackError::Io(format!(
            "GET {path} on port {port}: {}",
            text.lines().next().unwrap_or_default()
        )));
    }
    Ok(text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default())
}
