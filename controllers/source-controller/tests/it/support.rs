//! Shared helpers: a running artifact server over a temporary storage, and a
//! raw HTTP/1.1 client that sends request targets byte for byte.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use source_controller::storage::server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Content of a file planted next to (outside) the storage root; no response
/// may ever contain it.
pub const SECRET: &str = "TOP-SECRET-do-not-serve-7f3a9c";

/// A temporary directory holding `storage/` (served) and `secret.txt`
/// (outside), with a server running on 127.0.0.1.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Fixture {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("storage")).unwrap();
        std::fs::write(dir.path().join("secret.txt"), SECRET).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let root = dir.path().join("storage");
        tokio::spawn(async move {
            let _ = server::serve_listener(listener, root, async {
                let _ = rx.await;
            })
            .await;
        });
        Self {
            dir,
            addr,
            shutdown: Some(tx),
        }
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("storage")
    }

    pub fn secret_path(&self) -> PathBuf {
        self.dir.path().join("secret.txt")
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.addr, path)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A parsed raw response.
pub struct RawResponse {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

/// Sends `<method> <target> HTTP/1.1` with the target exactly as given (no
/// client-side normalisation of `..` or percent escapes) and reads the whole
/// response.
pub async fn raw_request(addr: SocketAddr, method: &str, target: &str) -> RawResponse {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request =
        format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let body = raw.get(split + 4..).unwrap_or_default().to_vec();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    RawResponse { status, head, body }
}

/// A small source tree to archive.
pub fn source_tree(dir: &Path) {
    std::fs::create_dir_all(dir.join("deploy")).unwrap();
    std::fs::write(dir.join("deploy/app.yaml"), "kind: ConfigMap\n").unwrap();
    std::fs::write(dir.join("logo.png"), "png").unwrap();
}

pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}
