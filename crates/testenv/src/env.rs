//! [`TestEnv`]: the server started in-process, with a client and a kubeconfig.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use kube::config::{KubeConfigOptions, Kubeconfig};
use tokio::sync::oneshot;

use crate::server::{Server, router};

/// Why the test environment could not start.
#[derive(Debug, thiserror::Error)]
pub enum TestEnvError {
    /// The listener could not be bound.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Writing the kubeconfig failed.
    #[error("writing kubeconfig {path}: {source}")]
    Kubeconfig {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Building a kube client failed.
    #[error("building a client: {0}")]
    Client(String),
}

/// A running API server, stopped when dropped.
pub struct TestEnv {
    addr: SocketAddr,
    token: String,
    dir: PathBuf,
    kubeconfig_path: PathBuf,
    server: Option<Arc<Server>>,
    shutdown: Option<oneshot::Sender<()>>,
    /// A real cluster's kubeconfig text, when `TESTENV_KUBECONFIG` is set.
    external: Option<String>,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// How the server behaves beyond the API itself.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Simulate workloads, one step each this long: Deployments, StatefulSets
    /// and DaemonSets report rolled out, Pods run then succeed or fail, Jobs
    /// run their Pods to completion (see [`crate::workloads`]); `None` leaves
    /// their status alone, as a cluster without controllers would.
    pub simulate_workloads: Option<std::time::Duration>,
    /// How often watches that allow bookmarks get one (default 5s).
    pub bookmark_interval: Option<std::time::Duration>,
}

impl TestEnv {
    /// Starts a server on a free loopback port, or, when the environment
    /// variable `TESTENV_KUBECONFIG` names a kubeconfig, uses that cluster
    /// instead so the same tests run against a real API server.
    pub async fn start() -> Result<Self, TestEnvError> {
        match std::env::var_os("TESTENV_KUBECONFIG") {
            Some(path) if !path.is_empty() => Self::external(PathBuf::from(path)),
            _ => Self::start_with("127.0.0.1:0", Options::default()).await,
        }
    }

    fn external(path: PathBuf) -> Result<Self, TestEnvError> {
        let text = std::fs::read_to_string(&path).map_err(|source| TestEnvError::Kubeconfig {
            path: path.display().to_string(),
            source,
        })?;
        let kubeconfig: Kubeconfig =
            serde_yaml::from_str(&text).map_err(|e| TestEnvError::Client(e.to_string()))?;
        let server_url = kubeconfig
            .clusters
            .first()
            .and_then(|c| c.cluster.as_ref())
            .and_then(|c| c.server.clone())
            .unwrap_or_default();
        let addr = server_url
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .parse()
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)));
        Ok(Self {
            addr,
            token: String::new(),
            dir: std::env::temp_dir().join("ferroflux-testenv-external-unused"),
            kubeconfig_path: path,
            server: None,
            shutdown: None,
            external: Some(text),
        })
    }

    /// Whether this is a real cluster (`TESTENV_KUBECONFIG`) rather than the in-process server.
    pub fn is_external(&self) -> bool {
        self.external.is_some()
    }

    /// Starts a server on `addr` (e.g. `127.0.0.1:6443`).
    pub async fn start_on(addr: &str) -> Result<Self, TestEnvError> {
        Self::start_with(addr, Options::default()).await
    }

    /// Starts a server on `addr` with `options`.
    pub async fn start_with(addr: &str, options: Options) -> Result<Self, TestEnvError> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| TestEnvError::Bind {
                addr: addr.to_string(),
                source,
            })?;
        let local = listener.local_addr().map_err(|source| TestEnvError::Bind {
            addr: addr.to_string(),
            source,
        })?;
        let token = uuid::Uuid::new_v4().simple().to_string();
        let mut server = Server::new(token.clone());
        if let Some(every) = options.bookmark_interval {
            server.bookmark_every = every;
        }
        let server = Arc::new(server);
        if let Some(delay) = options.simulate_workloads {
            let _ = server
                .workloads
                .set(crate::workloads::start(Arc::downgrade(&server), delay));
        }
        let (tx, rx) = oneshot::channel::<()>();
        let app = router(server.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = rx.await;
                })
                .await;
        });
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("ferroflux-testenv-{}-{n}", std::process::id()));
        let kubeconfig_path = dir.join("kubeconfig");
        let env = Self {
            addr: local,
            token,
            dir,
            kubeconfig_path,
            server: Some(server),
            shutdown: Some(tx),
            external: None,
        };
        env.write_kubeconfig(&env.kubeconfig_path)?;
        Ok(env)
    }

    /// The server's base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The admin bearer token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The kubeconfig file (admin user), for kubectl and child processes.
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig_path
    }

    /// The in-process server state, for tests that inspect or drive the
    /// store directly (`None` against a real cluster).
    pub fn server(&self) -> Option<&Arc<Server>> {
        self.server.as_ref()
    }

    /// The kubeconfig text.
    pub fn kubeconfig_yaml(&self) -> String {
        match &self.external {
            Some(text) => text.clone(),
            None => kubeconfig_yaml(&self.url(), &self.token),
        }
    }

    /// Writes the kubeconfig to `path`.
    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), TestEnvError> {
        let err = |source| TestEnvError::Kubeconfig {
            path: path.display().to_string(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
        // Written whole then renamed: whoever waits for the file never
        // reads it half-written.
        let tmp = path.with_extension("partial");
        std::fs::write(&tmp, self.kubeconfig_yaml()).map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)
    }

    /// A client acting as the admin.
    pub async fn client(&self) -> Result<kube::Client, TestEnvError> {
        self.client_impersonating(None, &[]).await
    }

    /// A client impersonating `user` with `groups` (service accounts:
    /// `system:serviceaccount:<ns>:<name>`).
    pub async fn client_as(
        &self,
        user: &str,
        groups: &[&str],
    ) -> Result<kube::Client, TestEnvError> {
        self.client_impersonating(Some(user), groups).await
    }

    async fn client_impersonating(
        &self,
        user: Option<&str>,
        groups: &[&str],
    ) -> Result<kube::Client, TestEnvError> {
        let kubeconfig: Kubeconfig = serde_yaml::from_str(&self.kubeconfig_yaml())
            .map_err(|e| TestEnvError::Client(e.to_string()))?;
        let mut config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .map_err(|e| TestEnvError::Client(e.to_string()))?;
        if let Some(user) = user {
            config.auth_info.impersonate = Some(user.to_string());
            if !groups.is_empty() {
                config.auth_info.impersonate_groups =
                    Some(groups.iter().map(|g| g.to_string()).collect());
            }
        }
        kube::Client::try_from(config).map_err(|e| TestEnvError::Client(e.to_string()))
    }
}

/// A kubeconfig for the admin user of a server at `url`.
pub fn kubeconfig_yaml(url: &str, token: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: testenv\n  cluster:\n    server: {url}\ncontexts:\n- name: testenv\n  context:\n    cluster: testenv\n    user: admin\n    namespace: default\ncurrent-context: testenv\nusers:\n- name: admin\n  user:\n    token: {token}\n"
    )
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if self.external.is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
