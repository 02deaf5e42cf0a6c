//! An OCI registry for tests: Debian's `docker-registry` (the CNCF
//! distribution registry) on a loopback port with filesystem storage in a
//! temporary directory, optionally with htpasswd basic auth (bcrypt) and
//! TLS from a [`TestCerts`] CA; killed on drop. [`oras`] drives `oras-py`
//! (from the peers' venv) as an independent client.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::tls::TestCerts;

/// The registry binary the peers' installer puts in place.
pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

/// How to start a [`Registry`].
#[derive(Default, Clone)]
pub struct RegistryOptions {
    /// Require this user name and password (htpasswd, bcrypt).
    pub auth: Option<(String, String)>,
    /// Serve HTTPS with this material's server certificate.
    pub tls: Option<TestCerts>,
}

/// A running `docker-registry`; killed on drop.
pub struct Registry {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    /// `127.0.0.1:<port>`.
    pub host: String,
    /// Whether it serves HTTPS.
    pub tls: bool,
}

/// Whether the registry binary is installed: `false` outside CI means the
/// test should skip; under CI (env `CI`) a missing peer panics.
pub fn available() -> bool {
    if Path::new(REGISTRY_BIN).exists() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but {REGISTRY_BIN} is missing: hack/install-peers installs docker-registry"
    );
    eprintln!("SKIPPED: {REGISTRY_BIN} is missing (run hack/install-peers)");
    false
}

/// Starts `docker-registry serve <dir>/config.yml`, its log in `<dir>/registry.log`.
fn spawn(dir: &Path) -> Child {
    let log = std::fs::File::create(dir.join("registry.log")).expect("registry log");
    Command::new(REGISTRY_BIN)
        .arg("serve")
        .arg(dir.join("config.yml"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("starting {REGISTRY_BIN}: {e}"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Registry {
    /// A plain-HTTP registry without auth.
    pub fn start() -> Registry {
        Registry::start_with(RegistryOptions::default())
    }

    /// A registry set up as `options` says.
    pub fn start_with(options: RegistryOptions) -> Registry {
        let dir = tempfile::tempdir().expect("registry directory");
        let port = free_port();
        let storage = dir.path().join("storage");
        std::fs::create_dir_all(&storage).expect("registry storage");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: ferroflux-test-secret\n",
            storage.display()
        );
        if let Some(certs) = &options.tls {
            let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
            std::fs::write(&cert, &certs.server_cert_pem).expect("write server certificate");
            std::fs::write(&key, &certs.server_key_pem).expect("write server key");
            config.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            ));
        }
        if let Some((user, password)) = &options.auth {
            let hash = bcrypt::hash(password, 4).expect("bcrypt hash");
            let htpasswd = dir.path().join("htpasswd");
            std::fs::write(&htpasswd, format!("{user}:{hash}\n")).expect("write htpasswd");
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: ferroflux-test\n    path: {}\n",
                htpasswd.display()
            ));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("write registry config");
        let child = spawn(dir.path());
        let mut registry = Registry {
            child,
            dir,
            port,
            host: format!("127.0.0.1:{port}"),
            tls: options.tls.is_some(),
        };
        registry.wait_ready(port);
        registry
    }

    /// Stops the registry (its content stays): the port refuses connections.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the stopped registry again on the same port with the same
    /// content.
    pub fn resume(&mut self) {
        self.child = spawn(self.dir.path());
        self.wait_ready(self.port);
    }

    fn wait_ready(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "docker-registry exited ({status}): {}",
                    std::fs::read_to_string(self.dir.path().join("registry.log"))
                        .unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("docker-registry did not open port {port}");
    }

    /// `oci://127.0.0.1:<port>/<repo>`.
    pub fn url(&self, repo: &str) -> String {
        format!("oci://{}/{repo}", self.host)
    }

    /// Where the registry keeps its blobs and manifests.
    pub fn storage(&self) -> PathBuf {
        self.dir.path().join("storage")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The peers' Python (with `oras-py`), or `None` to skip outside CI (a
/// missing peer panics under CI).
pub fn peer_python() -> Option<PathBuf> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/peers/venv/bin/python");
    if python.exists() {
        return Some(python);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but {} is missing: hack/install-peers creates it",
        python.display()
    );
    eprintln!(
        "SKIPPED: {} is missing (run hack/install-peers)",
        python.display()
    );
    None
}

/// Runs `oras-py` through `oras_peer.py` with `args` (see the script:
/// `push <host> <repo:tag> <file> <mediaType> <annotations JSON>`,
/// `pull <host> <repo:tag> <outdir>`; anonymous, plain HTTP); panics with
/// its output when it fails.
pub fn oras(python: &Path, args: &[&str]) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/oras_peer.py");
    let out = Command::new(python)
        .arg(script)
        .args(args)
        .output()
        .expect("run the oras peer");
    assert!(
        out.status.success(),
        "oras {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
