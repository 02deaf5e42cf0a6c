//! Fetching against a real HTTP server on loopback.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ferroflux_runtime::artifact::{
    ArtifactClient, ArtifactError, Digest, DigestAlgorithm, FetchOptions, Limits,
};
use futures::StreamExt as _;

use crate::support::{RawTar, Scratch};

#[derive(Clone)]
struct AppState {
    artifact: Arc<Vec<u8>>,
    flaky_hits: Arc<AtomicUsize>,
    unavailable_hits: Arc<AtomicUsize>,
    missing_hits: Arc<AtomicUsize>,
    chunks_sent: Arc<AtomicUsize>,
}

/// Chunks the endless route would send if nobody hung up: 1 GiB.
const ENDLESS_CHUNKS: usize = 16 * 1024;
const CHUNK: usize = 64 * 1024;

fn artifact() -> Vec<u8> {
    let mut t = RawTar::new();
    t.file(
        "deploy/kustomization.yaml",
        0o644,
        b"resources:\n- app.yaml\n",
    )
    .file("deploy/app.yaml", 0o644, b"kind: ConfigMap\n");
    t.gz()
}

async fn start() -> (SocketAddr, AppState) {
    let state = AppState {
        artifact: Arc::new(artifact()),
        flaky_hits: Arc::default(),
        unavailable_hits: Arc::default(),
        missing_hits: Arc::default(),
        chunks_sent: Arc::default(),
    };
    let app = Router::new()
        .route(
            "/artifact.tar.gz",
            get(|State(s): State<AppState>| async move { s.artifact.as_ref().clone() }),
        )
        .route(
            "/flaky.tar.gz",
            get(|State(s): State<AppState>| async move {
                if s.flaky_hits.fetch_add(1, Ordering::SeqCst) < 2 {
                    StatusCode::SERVICE_UNAVAILABLE.into_response()
                } else {
                    s.artifact.as_ref().clone().into_response()
                }
            }),
        )
        .route(
            "/unavailable.tar.gz",
            get(|State(s): State<AppState>| async move {
                s.unavailable_hits.fetch_add(1, Ordering::SeqCst);
                StatusCode::SERVICE_UNAVAILABLE
            }),
        )
        .route(
            "/big-declared.tar.gz",
            // A plain body: axum sends Content-Length.
            get(|| async { vec![0u8; 2 << 20] }),
        )
        .route(
            "/endless.tar.gz",
            // Chunked, no Content-Length: only counting bytes can stop it.
            get(|State(s): State<AppState>| async move {
                let sent = Arc::clone(&s.chunks_sent);
                let stream = futures::stream::iter(0..ENDLESS_CHUNKS).map(move |_| {
                    sent.fetch_add(1, Ordering::SeqCst);
                    Ok::<_, std::io::Error>(vec![0u8; CHUNK])
                });
                Response::new(Body::from_stream(stream))
            }),
        )
        .route(
            "/slow.tar.gz",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(10)).await;
                "too late"
            }),
        )
        .fallback(|State(s): State<AppState>| async move {
            s.missing_hits.fetch_add(1, Ordering::SeqCst);
            StatusCode::NOT_FOUND
        })
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, state)
}

fn client(options: FetchOptions) -> ArtifactClient {
    ArtifactClient::new(FetchOptions {
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(40),
        ..options
    })
    .unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    Digest::compute(DigestAlgorithm::Sha256, bytes).to_string()
}

#[tokio::test]
async fn correct_digest_is_returned() {
    let (addr, state) = start().await;
    let url = format!("http://{addr}/artifact.tar.gz");
    let bytes = client(FetchOptions::default())
        .fetch(&url, &sha256(&state.artifact))
        .await
        .unwrap();
    assert_eq!(&bytes, state.artifact.as_ref());

    // sha512 works too.
    let d512 = Digest::compute(DigestAlgorithm::Sha512, &state.artifact).to_string();
    let bytes = client(FetchOptions::default())
        .fetch(&url, &d512)
        .await
        .unwrap();
    assert_eq!(&bytes, state.artifact.as_ref());
}

#[tokio::test]
async fn wrong_digest_is_refused_and_nothing_is_extracted() {
    let (addr, state) = start().await;
    let url = format!("http://{addr}/artifact.tar.gz");
    let wrong = sha256(b"something else");
    let scratch = Scratch::new();
    let err = client(FetchOptions::default())
        .fetch_and_extract(&url, &wrong, &scratch.dest, &Limits::default())
        .await
        .unwrap_err();
    match &err {
        ArtifactError::DigestMismatch {
            url: u,
            expected,
            actual,
        } => {
            assert_eq!(u, &url);
            assert_eq!(expected, &wrong);
            assert_eq!(actual, &sha256(&state.artifact));
        }
        other => panic!("expected DigestMismatch, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains(&url) && msg.contains(&wrong), "{msg}");
    scratch.assert_untouched();
}

#[tokio::test]
async fn fetch_and_extract_populates_destination() {
    let (addr, state) = start().await;
    let url = format!("http://{addr}/artifact.tar.gz");
    let scratch = Scratch::new();
    let summary = client(FetchOptions::default())
        .fetch_and_extract(
            &url,
            &sha256(&state.artifact),
            &scratch.dest,
            &Limits::default(),
        )
        .await
        .unwrap();
    assert_eq!(summary.files, 2);
    assert_eq!(
        std::fs::read_to_string(scratch.dest.join("deploy/app.yaml")).unwrap(),
        "kind: ConfigMap\n"
    );
}

#[tokio::test]
async fn oversize_declared_body_is_refused() {
    let (addr, _) = start().await;
    let url = format!("http://{addr}/big-declared.tar.gz");
    let err = client(FetchOptions {
        max_download_bytes: 1 << 20,
        ..FetchOptions::default()
    })
    .fetch(&url, &sha256(b""))
    .await
    .unwrap_err();
    match &err {
        ArtifactError::TooLarge { url: u, limit } => {
            assert_eq!(u, &url);
            assert_eq!(*limit, 1 << 20);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    let msg = err.to_string();
    assert!(msg.contains(&url) && msg.contains("1048576"), "{msg}");
}

#[tokio::test]
async fn oversize_streamed_body_is_aborted() {
    let (addr, state) = start().await;
    let url = format!("http://{addr}/endless.tar.gz");
    let err = client(FetchOptions {
        max_download_bytes: 1 << 20,
        ..FetchOptions::default()
    })
    .fetch(&url, &sha256(b""))
    .await
    .unwrap_err();
    assert!(
        matches!(err, ArtifactError::TooLarge { limit, .. } if limit == 1 << 20),
        "{err:?}"
    );
    // The client hung up long before the server ran out of data.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let sent = state.chunks_sent.load(Ordering::SeqCst);
    assert!(sent < ENDLESS_CHUNKS / 2, "server produced {sent} chunks");
}

#[tokio::test]
async fn not_found_fails_at_once() {
    let (addr, state) = start().await;
    let url = format!("http://{addr}/nope.tar.gz");
    let err = client(FetchOptions::default())
        .fetch(&url, &sha256(b""))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ArtifactError::HttpStatus {
                status: 404,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains(&url) && msg.contains("404"), "{msg}");
    assert_eq!(
        state.missing_hits.load(Ordering::SeqCst),
        1,
        "4xx is not retried"
    );
}

#[tokio::test]
async fn transient_503_is_retried() {
    let (addr, state) = start().await;
    let url = format!("http://{addr}/flaky.tar.gz");
    let bytes = client(FetchOptions::default())
        .fetch(&url, &sha256(&state.artifact))
        .await
        .unwrap();
    assert_eq!(&bytes, state.artifact.as_ref());
    assert_eq!(state.flaky_hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn retries_are_bounded() {
    let (addr, state) = start().await;
    let url = format!("http://{addr}/unavailable.tar.gz");
    let err = client(FetchOptions {
        max_retries: 2,
        ..FetchOptions::default()
    })
    .fetch(&url, &sha256(b""))
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            ArtifactError::HttpStatus {
                status: 503,
                attempts: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(state.unavailable_hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn connection_refused_is_a_transport_error_after_retries() {
    // Bind then drop a listener to get a loopback port with nobody behind it.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}/artifact.tar.gz");
    let err = client(FetchOptions {
        max_retries: 1,
        ..FetchOptions::default()
    })
    .fetch(&url, &sha256(b""))
    .await
    .unwrap_err();
    match &err {
        ArtifactError::Transport {
            url: u, attempts, ..
        } => {
            assert_eq!(u, &url);
            assert_eq!(*attempts, 2);
        }
        other => panic!("expected Transport, got {other:?}"),
    }
    assert!(err.to_string().contains(&url), "{err}");
}

#[tokio::test]
async fn slow_server_times_out() {
    let (addr, _) = start().await;
    let url = format!("http://{addr}/slow.tar.gz");
    let err = client(FetchOptions {
        timeout: Duration::from_millis(200),
        max_retries: 1,
        ..FetchOptions::default()
    })
    .fetch(&url, &sha256(b""))
    .await
    .unwrap_err();
    match &err {
        ArtifactError::Transport {
            source, attempts, ..
        } => {
            assert!(source.is_timeout(), "{err}");
            assert_eq!(*attempts, 2);
        }
        other => panic!("expected Transport timeout, got {other:?}"),
    }
}

#[tokio::test]
async fn malformed_digest_makes_no_request() {
    let (addr, state) = start().await;
    let url = format!("http://{addr}/nope.tar.gz");
    let c = client(FetchOptions::default());
    let err = c.fetch(&url, "sha256:1234").await.unwrap_err();
    assert!(
        matches!(err, ArtifactError::InvalidDigest { .. }),
        "{err:?}"
    );
    let err = c
        .fetch(&url, "sha1:da39a3ee5e6b4b0d3255bfef95601890afd80709")
        .await
        .unwrap_err();
    assert!(
        matches!(err, ArtifactError::UnsupportedDigestAlgorithm { .. }),
        "{err:?}"
    );
    assert_eq!(state.missing_hits.load(Ordering::SeqCst), 0);
}
