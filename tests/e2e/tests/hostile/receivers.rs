//! Hostile inputs: Receiver authentication (the class of Flux's advisories
//! on webhook receivers). Unsigned, mis-signed, wrongly keyed, replayed onto
//! another Receiver, oversized and unknown-path requests are refused and
//! annotate nothing; the one correctly signed request annotates its target.

use super::git_repository;
use crate::support::{E2e, Kind, post};

const TOKEN: &str = "receiver-token-for-hmac";
const GITLAB_TOKEN: &str = "receiver-token-for-gitlab";

fn receiver(name: &str, type_: &str, secret: &str) -> String {
    format!(
        "apiVersion: notification.toolkit.fluxcd.io/v1\nkind: Receiver\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  type: {type_}\n  events: [\"Push Hook\"]\n  secretRef:\n    name: {secret}\n  resources:\n  - apiVersion: source.toolkit.fluxcd.io/v1\n    kind: GitRepository\n    name: target\n"
    )
}

async fn annotated(e2e: &E2e) -> bool {
    e2e.get(Kind::GitRepository, "flux-system", "target")
        .await
        .is_some_and(|g| {
            g["metadata"]["annotations"]["reconcile.fluxcd.io/requestedAt"].is_string()
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_authentic_webhook_annotates() {
    let e2e = E2e::start().await;
    let repo = e2e.repo("target");
    repo.write("README", "x").expect("write");
    repo.commit("first").expect("commit");
    e2e.apply(&format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: hmac\n  namespace: flux-system\nstringData:\n  token: {TOKEN}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: gitlab\n  namespace: flux-system\nstringData:\n  token: {GITLAB_TOKEN}\n---\n{}---\n{}---\n{}",
        receiver("hmac", "generic-hmac", "hmac"),
        receiver("gitlab", "gitlab", "gitlab"),
        git_repository("target", &e2e.git.url("target")),
    ))
    .await;
    let hmac_path = e2e.webhook_path("flux-system", "hmac").await;
    let gitlab_path = e2e.webhook_path("flux-system", "gitlab").await;
    let hmac_url = e2e.stack.receiver_url(&hmac_path);
    let gitlab_url = e2e.stack.receiver_url(&gitlab_path);
    let body = r#"{"ref":"refs/heads/main"}"#;
    let good = E2e::sign(TOKEN, body);
    let json = ("Content-Type", "application/json");

    let refused: Vec<(&str, u16)> = vec![
        ("no signature", post(&hmac_url, &[json], body).await),
        (
            "signature of another body",
            post(
                &hmac_url,
                &[json, ("X-Signature", &E2e::sign(TOKEN, "{}"))],
                body,
            )
            .await,
        ),
        (
            "signature with another key",
            post(
                &hmac_url,
                &[json, ("X-Signature", &E2e::sign(GITLAB_TOKEN, body))],
                body,
            )
            .await,
        ),
        (
            "signature without its algorithm",
            post(
                &hmac_url,
                &[json, ("X-Signature", good.trim_start_matches("sha256="))],
                body,
            )
            .await,
        ),
        (
            "unknown algorithm",
            post(
                &hmac_url,
                &[json, ("X-Signature", &good.replace("sha256=", "md5="))],
                body,
            )
            .await,
        ),
        (
            "gitlab without a token",
            post(&gitlab_url, &[json, ("X-Gitlab-Event", "Push Hook")], body).await,
        ),
        (
            "gitlab with the other Receiver's token",
            post(
                &gitlab_url,
                &[
                    json,
                    ("X-Gitlab-Event", "Push Hook"),
                    ("X-Gitlab-Token", TOKEN),
                ],
                body,
            )
            .await,
        ),
        (
            "gitlab with a prefix of its token",
            post(
                &gitlab_url,
                &[
                    json,
                    ("X-Gitlab-Event", "Push Hook"),
                    ("X-Gitlab-Token", &GITLAB_TOKEN[..GITLAB_TOKEN.len() - 1]),
                ],
                body,
            )
            .await,
        ),
    ];
    for (what, status) in &refused {
        assert_eq!(*status, 401, "{what}: HTTP {status}");
    }
    let unknown = e2e
        .stack
        .receiver_url("/hook/0000000000000000000000000000000000000000000000000000000000000000");
    let status = post(&unknown, &[json, ("X-Signature", &good)], body).await;
    assert_eq!(status, 404, "an unknown webhook path");
    let status = announce_huge_body(&hmac_url, 8 * 1024 * 1024).await;
    assert_eq!(status, 413, "an 8 MiB body");
    assert!(
        !annotated(&e2e).await,
        "a refused request annotated the target"
    );

    // The control: the same request, signed with the right key, acts.
    let status = post(&hmac_url, &[json, ("X-Signature", &good)], body).await;
    assert_eq!(status, 200);
    e2e.wait("the target annotated", || async {
        if annotated(&e2e).await {
            Ok(())
        } else {
            Err("not yet".to_string())
        }
    })
    .await;
}

/// POSTs a body of `len` bytes with a (wrong) signature, writing while
/// reading so that a server that answers 413 before the body is all sent
/// (and closes the connection) is heard rather than seen as a broken pipe.
async fn announce_huge_body(url: &str, len: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = rest.split_once('/').expect("a path");
    let stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "POST /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/json\r\nX-Signature: sha256=00\r\nContent-Length: {len}\r\n\r\n"
    );
    let sending = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0;
        while sent < len {
            let n = chunk.len().min(len - sent);
            writer.write_all(&chunk[..n]).await?;
            sent += n;
        }
        std::io::Result::Ok(())
    });
    let mut buf = vec![0u8; 1024];
    let n = tokio::time::timeout(std::time::Duration::from_secs(60), reader.read(&mut buf))
        .await
        .expect("an answer within a minute")
        .expect("the answer");
    sending.abort();
    let text = String::from_utf8_lossy(&buf[..n]);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"))
}
