//! Local HTTP servers standing in for chat services: they record every
//! request; a gated sink holds its answers until the test opens the gate.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::any;
use tokio::sync::Semaphore;

/// One request a sink received.
#[derive(Debug, Clone)]
pub struct Captured {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Captured {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("sink received JSON")
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

#[derive(Default)]
struct Shared {
    arrived: Mutex<Vec<Captured>>,
    answered: Mutex<usize>,
    gate: Option<Arc<Semaphore>>,
    answer: Mutex<(u16, String)>,
}

/// A recording HTTP server on 127.0.0.1.
#[derive(Clone)]
pub struct Sink {
    pub url: String,
    shared: Arc<Shared>,
}

impl Sink {
    /// A sink answering 200 with `{"ok": true}` at once.
    pub async fn start() -> Sink {
        Self::start_with(None, 200, r#"{"ok":true}"#).await
    }

    /// A sink answering `status` with `reply`.
    pub async fn answering(status: u16, reply: &str) -> Sink {
        Self::start_with(None, status, reply).await
    }

    /// A sink that records requests at once but answers only once the
    /// returned gate gets permits.
    pub async fn gated() -> (Sink, Arc<Semaphore>) {
        let gate = Arc::new(Semaphore::new(0));
        (Self::start_with(Some(gate.clone()), 200, "").await, gate)
    }

    async fn start_with(gate: Option<Arc<Semaphore>>, status: u16, reply: &str) -> Sink {
        let (shared, app) = Self::app(gate, status, reply);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("sink binds");
        let addr = listener.local_addr().expect("sink address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Sink {
            url: format!("http://{addr}"),
            shared,
        }
    }

    /// A sink answering 200 over HTTPS with `config`.
    pub async fn start_tls(config: rustls::ServerConfig) -> Sink {
        let (shared, app) = Self::app(None, 200, r#"{"ok":true}"#);
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("sink binds");
        let addr = tcp.local_addr().expect("sink address");
        let listener = TlsListener {
            tcp,
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        };
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Sink {
            url: format!("https://{addr}"),
            shared,
        }
    }

    fn app(gate: Option<Arc<Semaphore>>, status: u16, reply: &str) -> (Arc<Shared>, Router) {
        let shared = Arc::new(Shared {
            gate,
            answer: Mutex::new((status, reply.to_string())),
            ..Shared::default()
        });
        let app = Router::new()
            .fallback(any(record))
            .with_state(shared.clone());
        (shared, app)
    }

    /// Changes what the sink answers from now on.
    pub fn answer(&self, status: u16, reply: &str) {
        *self.shared.answer.lock().expect("lock") = (status, reply.to_string());
    }

    /// Requests received so far.
    pub fn received(&self) -> Vec<Captured> {
        self.shared.arrived.lock().expect("lock").clone()
    }

    /// Requests answered so far.
    pub fn answered(&self) -> usize {
        *self.shared.answered.lock().expect("lock")
    }

    /// Waits until `n` requests arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Captured> {
        let me = self.clone();
        crate::wait_until(
            &format!("{n} requests at {}", self.url),
            Duration::from_secs(30),
            || {
                let me = me.clone();
                async move { me.received().len() >= n }
            },
        )
        .await;
        self.received()
    }
}

/// TLS in front of a TCP listener; failed handshakes are dropped.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

async fn record(
    State(shared): State<Arc<Shared>>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    shared.arrived.lock().expect("lock").push(Captured {
        method: method.to_string(),
        path: uri.path().to_string(),
        headers,
        body: body.to_vec(),
    });
    if let Some(gate) = &shared.gate
        && let Ok(permit) = gate.acquire().await
    {
        permit.forget();
    }
    *shared.answered.lock().expect("lock") += 1;
    let (status, reply) = shared.answer.lock().expect("lock").clone();
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        reply,
    )
}
