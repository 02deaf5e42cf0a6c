//! A recording HTTP server standing in for chat services, webhooks and
//! notification-controller's event endpoint: it keeps every request and
//! answers what the test says. A gated sink records requests at once but
//! holds its answers until the test lets them go.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::any;
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::tls::TlsListener;

/// One request a sink received.
#[derive(Debug, Clone)]
pub struct Captured {
    /// The HTTP method.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The request headers.
    pub headers: HeaderMap,
    /// The body as received.
    pub body: Vec<u8>,
}

impl Captured {
    /// The body as JSON; panics when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("sink received JSON")
    }

    /// The body as JSON, or as a JSON string when it is not JSON.
    pub fn value(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&self.body).into()))
    }

    /// A header's value, when it is present and text.
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

/// A recording HTTP server on 127.0.0.1; it runs until the test's runtime
/// stops. `url` has no trailing slash; any path is accepted.
#[derive(Clone)]
pub struct Sink {
    /// `http://127.0.0.1:<port>` (or `https://`).
    pub url: String,
    shared: Arc<Shared>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A test that panicked while holding the lock must not hide the
    // requests from the others.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Sink {
    /// A sink answering 200 with `{"ok":true}` at once.
    pub async fn start() -> Sink {
        Self::start_with(None, 200, r#"{"ok":true}"#).await
    }

    /// A sink answering `status` with `reply`.
    pub async fn answering(status: u16, reply: &str) -> Sink {
        Self::start_with(None, status, reply).await
    }

    /// A sink that records requests at once but answers each only once the
    /// returned gate gets a permit for it (or [`Sink::open`] is called).
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

    /// A sink answering 200 over HTTPS with `config` (see
    /// [`crate::tls::TestCerts::server_config`]).
    pub async fn start_tls(config: rustls::ServerConfig) -> Sink {
        let (shared, app) = Self::app(None, 200, r#"{"ok":true}"#);
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("sink binds");
        let addr = tcp.local_addr().expect("sink address");
        let listener = TlsListener::new(tcp, config);
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
        *lock(&self.shared.answer) = (status, reply.to_string());
    }

    /// Lets every held request and every later one through (a gated sink
    /// becomes an ordinary one).
    pub fn open(&self) {
        if let Some(gate) = &self.shared.gate {
            // A closed semaphore fails every acquire: nobody waits any more.
            gate.close();
        }
    }

    /// Requests received so far.
    pub fn received(&self) -> Vec<Captured> {
        lock(&self.shared.arrived).clone()
    }

    /// Requests answered so far.
    pub fn answered(&self) -> usize {
        *lock(&self.shared.answered)
    }

    /// Waits (up to 30 s) until `n` requests arrived; returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Captured> {
        let me = self.clone();
        crate::wait::wait_until(
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

    /// Every body received so far, as JSON (a body that is not JSON as a
    /// JSON string): with a `generic` Provider, Flux's event JSON.
    pub fn events(&self) -> Vec<Value> {
        self.received().iter().map(Captured::value).collect()
    }

    /// Every body received so far that parses as `T` (with `FluxEvent`,
    /// the events a controller POSTed to its `--events-addr`).
    pub fn parsed<T: serde::de::DeserializeOwned>(&self) -> Vec<T> {
        self.received()
            .iter()
            .filter_map(|c| serde_json::from_slice(&c.body).ok())
            .collect()
    }

    /// `involvedObject.name` of every event received so far (`?` when a
    /// body has none).
    pub fn names(&self) -> Vec<String> {
        self.events()
            .iter()
            .map(|e| {
                e["involvedObject"]["name"]
                    .as_str()
                    .unwrap_or("?")
                    .to_string()
            })
            .collect()
    }

    /// Events about `kind` whose revision metadata ends with
    /// `sha1:<commit>` (notification-controller forwards metadata without
    /// the group prefix the controllers send,
    /// `source.toolkit.fluxcd.io/revision` → `revision`, as Flux's does).
    pub fn for_commit(&self, kind: &str, commit: &str) -> Vec<Value> {
        let suffix = format!("sha1:{commit}");
        self.events()
            .into_iter()
            .filter(|e| e["involvedObject"]["kind"] == kind)
            .filter(|e| {
                e["metadata"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .any(|(k, v)| {
                        (k == "revision" || k.ends_with("/revision"))
                            && v.as_str().is_some_and(|r| r.ends_with(&suffix))
                    })
            })
            .collect()
    }

    /// Short text of every event received (for failure messages).
    pub fn summary(&self) -> String {
        self.events()
            .iter()
            .map(|e| {
                format!(
                    "{} {}/{} [{}] {} {}",
                    e["involvedObject"]["kind"].as_str().unwrap_or("?"),
                    e["involvedObject"]["namespace"].as_str().unwrap_or("?"),
                    e["involvedObject"]["name"].as_str().unwrap_or("?"),
                    e["reason"].as_str().unwrap_or("?"),
                    e["message"].as_str().unwrap_or("?").replace('\n', " | "),
                    e["metadata"],
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

async fn record(
    State(shared): State<Arc<Shared>>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    lock(&shared.arrived).push(Captured {
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
    *lock(&shared.answered) += 1;
    let (status, reply) = lock(&shared.answer).clone();
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
        reply,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_answers_and_gates() {
        let sink = Sink::answering(202, "").await;
        let client = reqwest_free_post(&sink.url, r#"{"involvedObject":{"name":"a"}}"#).await;
        assert_eq!(client, 202);
        assert_eq!(sink.names(), ["a"]);

        let (gated, gate) = Sink::gated().await;
        let url = gated.url.clone();
        let held = tokio::spawn(async move { reqwest_free_post(&url, "x").await });
        gated.wait_for(1).await;
        assert_eq!(gated.answered(), 0);
        gate.add_permits(1);
        assert_eq!(held.await.unwrap(), 200);
        gated.open();
        assert_eq!(reqwest_free_post(&gated.url, "y").await, 200);
        assert_eq!(gated.events()[1], Value::String("y".into()));
    }

    /// A minimal HTTP/1.1 POST (this crate has no HTTP client).
    async fn reqwest_free_post(url: &str, body: &str) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let host = url.strip_prefix("http://").unwrap();
        let mut s = tokio::net::TcpStream::connect(host).await.unwrap();
        let req = format!(
            "POST /hook HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out[9..12].parse().unwrap()
    }
}
