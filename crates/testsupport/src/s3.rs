//! An S3 server for tests: moto's `moto_server` from the peer venv
//! (`target/peers/venv`, made by `hack/install-peers`) on a loopback port,
//! written to by an independent client, boto3 (`peers/s3_writer.py`), never
//! by Ferroflux's own S3 client. With authentication on, moto checks SigV4
//! signatures against the keys of an IAM user the fixture creates. Every
//! request the server answers is recorded, so tests can count downloads.
//! The server is killed when the fixture is dropped.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// The workspace root (two levels above this crate).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The venv's Python, or `None` outside CI when it is missing (the caller
/// skips); under CI (`CI` set) a missing peer is a failure.
pub fn peer_python() -> Option<PathBuf> {
    let root = workspace_root();
    let python = root.join("target/peers/venv/bin/python");
    let moto = root.join("target/peers/venv/bin/moto_server");
    if python.exists() && moto.exists() {
        return Some(python);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but {} is missing: hack/install-peers should have made it",
        moto.display()
    );
    eprintln!("skipping: moto_server is not installed (run hack/install-peers)");
    None
}

/// One request the server answered.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET`, `HEAD`, `PUT`, ...
    pub method: String,
    /// The raw request target (path and query).
    pub url: String,
    /// The `User-Agent` header.
    pub user_agent: String,
}

/// A running moto server.
pub struct S3Server {
    child: Child,
    addr: SocketAddr,
    dir: tempfile::TempDir,
    python: PathBuf,
    /// The CA bundle clients trust, when the server speaks HTTPS.
    ca_file: Option<PathBuf>,
    /// Access key of the fixture's IAM user (`None` without authentication).
    pub access_key: Option<String>,
    /// Its secret key.
    pub secret_key: Option<String>,
}

impl S3Server {
    /// Starts moto with SigV4 authentication on a free port; `None` when
    /// the peer is missing outside CI.
    pub fn start() -> Option<Self> {
        Self::start_on(free_port(), true)
    }

    /// Starts moto with authentication over HTTPS, presenting the server
    /// certificate of `certs` (clients trust `certs.ca_pem`).
    pub fn start_tls(certs: &crate::tls::TestCerts) -> Option<Self> {
        Self::start_with(free_port(), true, Some(certs))
    }

    /// Starts moto on `addr`'s port, authenticating requests or not.
    pub fn start_on(addr: SocketAddr, authenticate: bool) -> Option<Self> {
        Self::start_with(addr, authenticate, None)
    }

    fn start_with(
        addr: SocketAddr,
        authenticate: bool,
        tls: Option<&crate::tls::TestCerts>,
    ) -> Option<Self> {
        let python = peer_python()?;
        let bin = python.with_file_name("moto_server");
        let dir = tempfile::tempdir().expect("a temporary directory for moto");
        let mut cmd = Command::new(&bin);
        cmd.args(["-H", "127.0.0.1", "-p", &addr.port().to_string()])
            .current_dir(dir.path())
            .env("MOTO_ENABLE_RECORDING", "true")
            .env("MOTO_RECORDER_FILEPATH", dir.path().join("recording.jsonl"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut ca_file = None;
        if let Some(certs) = tls {
            let write = |name: &str, pem: &[u8]| {
                let path = dir.path().join(name);
                std::fs::write(&path, pem).expect("writing TLS material for moto");
                path
            };
            let cert = write("server.crt", &certs.server_cert_pem);
            let key = write("server.key", &certs.server_key_pem);
            ca_file = Some(write("ca.crt", &certs.ca_pem));
            cmd.arg("-c").arg(cert).arg("-k").arg(key);
        }
        if authenticate {
            // The setup's three IAM calls go unauthenticated; every later
            // request must be signed with the user's keys.
            cmd.env("INITIAL_NO_AUTH_ACTION_COUNT", "3");
        }
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let mut server = Self {
            child,
            addr,
            dir,
            python,
            ca_file,
            access_key: None,
            secret_key: None,
        };
        server.wait_listening();
        if authenticate {
            let out = server.run(&[json!({"op": "setup"})]);
            let keys = out.first().expect("setup prints the keys");
            server.access_key = keys["access_key"].as_str().map(str::to_string);
            server.secret_key = keys["secret_key"].as_str().map(str::to_string);
        }
        Some(server)
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("moto_server exited at start: {status}");
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `host:port` (what a Bucket's `spec.endpoint` holds; with `insecure`
    /// unless the server was started with TLS).
    pub fn endpoint(&self) -> String {
        self.addr.to_string()
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Runs boto3 operations (see `peers/s3_writer.py`); returns what they
    /// print, one JSON value each.
    pub fn run(&self, ops: &[Value]) -> Vec<Value> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/s3_writer.py");
        let mut cmd = Command::new(&self.python);
        let scheme = if self.ca_file.is_some() {
            "https"
        } else {
            "http"
        };
        cmd.arg(&script)
            .arg(format!("{scheme}://{}", self.addr))
            .arg(Value::Array(ops.to_vec()).to_string());
        if let (Some(a), Some(s)) = (&self.access_key, &self.secret_key) {
            cmd.env("S3_ACCESS_KEY", a).env("S3_SECRET_KEY", s);
        }
        if let Some(ca) = &self.ca_file {
            cmd.env("S3_CA_BUNDLE", ca);
        }
        let out = cmd.output().expect("running the boto3 writer");
        assert!(
            out.status.success(),
            "boto3 writer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("the writer prints JSON"))
            .collect()
    }

    /// Creates `bucket` and puts `objects` (key, content) into it.
    pub fn create_bucket(&self, bucket: &str, objects: &[(&str, &[u8])]) {
        let mut ops = vec![json!({"op": "create_bucket", "bucket": bucket})];
        ops.extend(objects.iter().map(|(k, v)| put_op(bucket, k, v)));
        self.run(&ops);
    }

    /// Puts objects into `bucket`.
    pub fn put(&self, bucket: &str, objects: &[(&str, &[u8])]) {
        let ops: Vec<Value> = objects.iter().map(|(k, v)| put_op(bucket, k, v)).collect();
        self.run(&ops);
    }

    /// Puts an object of `size` zero bytes.
    pub fn put_sized(&self, bucket: &str, key: &str, size: u64) {
        self.run(&[json!({"op": "put_sized", "bucket": bucket, "key": key, "size": size})]);
    }

    /// Deletes an object.
    pub fn delete(&self, bucket: &str, key: &str) {
        self.run(&[json!({"op": "delete", "bucket": bucket, "key": key})]);
    }

    /// The `(key, ETag)` pairs boto3 lists, ETags with their quotes.
    pub fn list(&self, bucket: &str) -> Vec<(String, String)> {
        let out = self.run(&[json!({"op": "list", "bucket": bucket})]);
        out.first()
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|o| {
                        (
                            o["key"].as_str().unwrap_or_default().to_string(),
                            o["etag"].as_str().unwrap_or_default().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every request answered so far, oldest first.
    pub fn requests(&self) -> Vec<Recorded> {
        let text =
            std::fs::read_to_string(self.dir.path().join("recording.jsonl")).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .map(|v| {
                let headers = &v["headers"];
                let user_agent = headers
                    .as_object()
                    .and_then(|h| {
                        h.iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
                            .and_then(|(_, v)| v.as_str())
                    })
                    .unwrap_or_default()
                    .to_string();
                let raw = v["url"].as_str().unwrap_or_default();
                // moto records the full URL; keep the request target.
                let target = match raw.split_once("://") {
                    Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
                    None => raw,
                };
                Recorded {
                    method: v["method"].as_str().unwrap_or_default().to_string(),
                    url: target.to_string(),
                    user_agent,
                }
            })
            .collect()
    }
}

fn put_op(bucket: &str, key: &str, content: &[u8]) -> Value {
    json!({
        "op": "put", "bucket": bucket, "key": key,
        "b64": base64::engine::general_purpose::STANDARD.encode(content),
    })
}

/// A loopback address with a port nothing listens on (just now).
pub fn free_port() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    l.local_addr().expect("its address")
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
