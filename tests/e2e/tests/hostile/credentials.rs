//! Hostile inputs: credentials in logs, events and status (the class of
//! Flux's advisories where a Git password in a URL or a notification
//! webhook address showed up in messages). Failures are provoked on purpose
//! (wrong passwords, unreachable secret addresses), then every controller
//! log, every Kubernetes Event and every Flux object's status is searched
//! for the secret values.

use ferroflux_cli::stack::Component;
use ferroflux_testsupport::git::{GitRepo, GitServer};

use super::{git_repository, wait_failed};
use crate::support::{E2e, Kind};

const PASSWORD: &str = "hunter2-S3CRET-git";
const URL_PASSWORD: &str = "in-url-S3CRET-pass";
const BEARER: &str = "bearer-S3CRET-token";
const HOOK_SECRET: &str = "hook-S3CRET-path";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_never_reach_logs_events_or_status() {
    let e2e = E2e::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let git = GitServer::start(dir.path(), Some(("git", "right-password"))).expect("git server");
    let repo = GitRepo::create(git.root(), "private").expect("repo");
    repo.write("app/config.yaml", &crate::support::config_map("c", "x"))
        .expect("write");
    repo.commit("first").expect("commit");
    let url = git.url("private");
    let with_userinfo = url.replacen("http://", &format!("http://git:{URL_PASSWORD}@"), 1);
    // A closed port: deliveries fail at once with a connection error that
    // would quote the address if anything did.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_port = dead.local_addr().expect("addr").port();
    drop(dead);
    e2e.apply(&format!(
        r#"apiVersion: v1
kind: Secret
metadata:
  name: basic
  namespace: flux-system
stringData:
  username: git
  password: {PASSWORD}
---
apiVersion: v1
kind: Secret
metadata:
  name: bearer
  namespace: flux-system
stringData:
  bearerToken: {BEARER}
---
apiVersion: v1
kind: Secret
metadata:
  name: hook
  namespace: flux-system
stringData:
  address: http://127.0.0.1:{dead_port}/services/{HOOK_SECRET}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata:
  name: secret-hook
  namespace: flux-system
spec:
  type: slack
  secretRef:
    name: hook
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata:
  name: to-secret-hook
  namespace: flux-system
spec:
  providerRef:
    name: secret-hook
  eventSeverity: info
  eventSources:
  - kind: GitRepository
    name: '*'
"#
    ))
    .await;
    let with_secret = |name: &str, url: &str, secret: &str| {
        format!(
            "{}  secretRef:\n    name: {secret}\n",
            git_repository(name, url)
        )
    };
    e2e.apply(&with_secret("basic", &url, "basic")).await;
    e2e.apply(&with_secret("bearer", &url, "bearer")).await;
    e2e.apply(&git_repository("userinfo", &with_userinfo)).await;
    for name in ["basic", "bearer", "userinfo"] {
        let (_, message) = wait_failed(&e2e, Kind::GitRepository, "flux-system", name).await;
        assert!(!message.is_empty());
    }
    // Wait until a delivery to the secret address has failed and been logged.
    let log = e2e.stack.log_file(Component::NotificationController);
    e2e.wait("a failed delivery to the secret address", || async {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("failed to send notification") {
            Ok(())
        } else {
            Err(text)
        }
    })
    .await;

    let mut haystack = String::new();
    for entry in std::fs::read_dir(e2e.stack.work_dir().join("logs"))
        .expect("logs")
        .flatten()
    {
        haystack.push_str(&std::fs::read_to_string(entry.path()).unwrap_or_default());
    }
    let (_, events, _) = e2e
        .kubectl(&["get", "events", "-A", "-o", "json"], None)
        .await;
    haystack.push_str(&events);
    for kind in ["gitrepositories", "providers", "alerts"] {
        // Status only: the spec holds what the user wrote (a URL with a
        // password in it is the user's own text).
        let (_, objects, _) = e2e.kubectl(&["get", kind, "-A", "-o", "json"], None).await;
        let list: serde_json::Value = serde_json::from_str(&objects).unwrap_or_default();
        for item in list["items"].as_array().into_iter().flatten() {
            haystack.push_str(&item["metadata"]["name"].to_string());
            haystack.push_str(&item["status"].to_string());
        }
    }
    assert!(
        haystack.contains("basic") && haystack.contains("secret-hook"),
        "the search covers the objects' messages"
    );
    for secret in [PASSWORD, URL_PASSWORD, BEARER, HOOK_SECRET] {
        let at = haystack.find(secret);
        assert!(
            at.is_none(),
            "{secret} leaked: ...{}...",
            at.map(|i| &haystack[i.saturating_sub(200)..(i + 60).min(haystack.len())])
                .unwrap_or_default()
        );
    }
}
