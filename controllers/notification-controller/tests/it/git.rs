//! Matrix and the Git commit-status Providers (GitHub Enterprise, GitLab,
//! Gitea): local servers stand in for the services' APIs and check each
//! request against the shape the service documents.

use ferroflux_api::notification::v1beta3::{Alert, Provider};
use kube::ResourceExt;
use serde::Deserialize;
use serde_json::json;

use crate::sink::Sink;
use crate::{Env, event, wait_ready};

const SHA: &str = "731f7eaddfb6af01cb2173e18f0f75b0ba780ef1";

/// Matrix `m.room.message` content (spec.matrix.org, client-server API).
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct MatrixMessage {
    body: String,
    msgtype: String,
}

/// GitHub's create-a-commit-status body (docs.github.com, REST commits/statuses).
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct GitHubStatus {
    state: String,
    description: Option<String>,
    context: Option<String>,
    #[allow(dead_code)]
    target_url: Option<String>,
}

/// GitLab's set-the-pipeline-status-of-a-commit body (docs.gitlab.com, Commits API).
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct GitLabStatus {
    state: String,
    name: Option<String>,
    description: Option<String>,
}

/// Gitea's CreateStatusOption (gitea swagger, repoCreateStatus).
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct GiteaStatus {
    state: String,
    target_url: String,
    description: String,
    context: String,
}

async fn provider_and_alert(env: &Env, ns: &str, name: &str, spec: serde_json::Value) -> Provider {
    let p = env
        .create::<Provider>(ns, json!({"metadata": {"name": name}, "spec": spec}))
        .await;
    env.create::<Alert>(
        ns,
        json!({"metadata": {"name": name},
               "spec": {"providerRef": {"name": name}, "eventSources": [{"kind": "Kustomization", "name": "*"}]}}),
    )
    .await;
    wait_ready::<Alert>(&env.client, ns, name, "True").await;
    p
}

#[tokio::test]
async fn matrix_puts_a_room_message_with_a_stable_transaction() {
    let ns = "flux-system";
    let env = Env::start(&[ns]).await;
    let matrix = Sink::start().await;
    env.secret(ns, "matrix-token", &[("token", "syt_access")])
        .await;
    provider_and_alert(
        &env,
        ns,
        "matrix",
        json!({"type": "matrix", "address": matrix.url, "channel": "!room:example.org",
               "secretRef": {"name": "matrix-token"}}),
    )
    .await;
    let (code, _) = env
        .post_event(&event("Kustomization", ns, "apps", "error", "apply failed"))
        .await;
    assert_eq!(code, 202);
    let got = matrix.wait_for(1).await;
    let req = &got[0];
    assert_eq!(req.method, "PUT");
    let prefix = "/_matrix/client/r0/rooms/!room:example.org/send/m.room.message/";
    let txn = req
        .path
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("unexpected path {}", req.path));
    assert!(
        txn.len() == 40 && txn.bytes().all(|b| b.is_ascii_hexdigit()),
        "SHA-1 transaction id: {txn}"
    );
    assert_eq!(
        req.header("authorization").as_deref(),
        Some("Bearer syt_access")
    );
    let m: MatrixMessage = serde_json::from_slice(&req.body).expect("Matrix shape");
    assert_eq!(m.msgtype, "m.text");
    assert_eq!(
        m.body,
        format!("🚨 kustomization/apps.{ns}\napply failed\n- revision: main@sha1:{SHA}\n")
    );
}

#[tokio::test]
async fn commit_statuses_reach_github_gitlab_and_gitea() {
    let ns = "flux-system";
    let env = Env::start(&[ns]).await;
    let github = Sink::answering(201, "{}").await;
    let gitlab = Sink::answering(201, "{}").await;
    let gitea = Sink::answering(201, "{}").await;
    env.secret(ns, "github-token", &[("token", "ghp_t0ken")])
        .await;
    env.secret(ns, "gitlab-token", &[("token", "glpat-t0ken")])
        .await;
    // GitHub, GitLab and Gitea take the password when there is no token.
    env.secret(
        ns,
        "gitea-token",
        &[("username", "flux"), ("password", "gitea-t0ken")],
    )
    .await;
    let uid_part = |p: &Provider| {
        p.uid()
            .unwrap_or_default()
            .split('-')
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let gh = provider_and_alert(
        &env,
        ns,
        "github",
        json!({"type": "github", "address": format!("{}/org/repo", github.url),
               "secretRef": {"name": "github-token"}}),
    )
    .await;
    let gl = provider_and_alert(
        &env,
        ns,
        "gitlab",
        json!({"type": "gitlab", "address": format!("{}/group/sub/repo.git", gitlab.url),
               "secretRef": {"name": "gitlab-token"}}),
    )
    .await;
    let gt = provider_and_alert(
        &env,
        ns,
        "gitea",
        json!({"type": "gitea", "address": format!("{}/org/repo", gitea.url),
               "secretRef": {"name": "gitea-token"}}),
    )
    .await;

    let chat = Sink::start().await;
    provider_and_alert(
        &env,
        ns,
        "chat",
        json!({"type": "slack", "address": chat.url}),
    )
    .await;

    // No revision: nothing to put a status on, and no failure either.
    let mut no_revision = event("Kustomization", ns, "apps", "info", "no revision");
    no_revision["metadata"] = json!({});
    assert_eq!(env.post_event(&no_revision).await.0, 202);
    env.settle().await;
    assert!(
        github.received().is_empty() && gitlab.received().is_empty() && gitea.received().is_empty()
    );

    let mut succeeded = event("Kustomization", ns, "apps", "info", "applied");
    succeeded["reason"] = json!("ReconciliationSucceeded");
    assert_eq!(env.post_event(&succeeded).await.0, 202);

    let got = github.wait_for(1).await;
    assert_eq!(got[0].method, "POST");
    assert_eq!(
        got[0].path,
        format!("/api/v3/repos/org/repo/statuses/{SHA}")
    );
    assert_eq!(
        got[0].header("authorization").as_deref(),
        Some("Bearer ghp_t0ken")
    );
    let s: GitHubStatus = serde_json::from_slice(&got[0].body).expect("GitHub shape");
    assert_eq!(s.state, "success");
    assert_eq!(s.description.as_deref(), Some("reconciliation succeeded"));
    assert_eq!(
        s.context,
        Some(format!("kustomization/apps/{}", uid_part(&gh)))
    );

    let got = gitlab.wait_for(1).await;
    assert_eq!(
        got[0].path,
        format!("/api/v4/projects/group%2Fsub%2Frepo/statuses/{SHA}")
    );
    assert_eq!(
        got[0].header("private-token").as_deref(),
        Some("glpat-t0ken")
    );
    let s: GitLabStatus = serde_json::from_slice(&got[0].body).expect("GitLab shape");
    assert_eq!(s.state, "success");
    assert_eq!(
        s.name,
        Some(format!("kustomization/apps/{}", uid_part(&gl)))
    );
    assert_eq!(s.description.as_deref(), Some("reconciliation succeeded"));

    let got = gitea.wait_for(1).await;
    assert_eq!(
        got[0].path,
        format!("/api/v1/repos/org/repo/statuses/{SHA}")
    );
    assert_eq!(
        got[0].header("authorization").as_deref(),
        Some("token gitea-t0ken")
    );
    let s: GiteaStatus = serde_json::from_slice(&got[0].body).expect("Gitea shape");
    assert_eq!(s.state, "success");
    assert_eq!(s.target_url, "");
    assert_eq!(s.description, "reconciliation succeeded");
    assert_eq!(s.context, format!("kustomization/apps/{}", uid_part(&gt)));

    // A failure is a failed status.
    let failed = event("Kustomization", ns, "apps", "error", "health check failed");
    assert_eq!(env.post_event(&failed).await.0, 202);
    let s: GitHubStatus =
        serde_json::from_slice(&github.wait_for(2).await[1].body).expect("GitHub shape");
    assert_eq!(s.state, "failure");
    assert_eq!(s.description.as_deref(), Some("reconciliation failed"));
    let s: GitLabStatus =
        serde_json::from_slice(&gitlab.wait_for(2).await[1].body).expect("GitLab shape");
    assert_eq!(s.state, "failed");
    let s: GiteaStatus =
        serde_json::from_slice(&gitea.wait_for(2).await[1].body).expect("Gitea shape");
    assert_eq!(s.state, "failure");
    env.settle().await;
    for name in ["github", "gitlab", "gitea"] {
        wait_ready::<Provider>(&env.client, ns, name, "True").await;
    }
    assert_eq!(chat.received().len(), 3, "chat hears every event so far");

    // As Flux: an event marked as a commit-status update goes to Git
    // Providers only, not to chat.
    let mut update = event("Kustomization", ns, "apps", "info", "status update");
    update["metadata"]["kustomize.toolkit.fluxcd.io/commit_status"] = json!("update");
    assert_eq!(env.post_event(&update).await.0, 202);
    github.wait_for(3).await;
    env.settle().await;
    assert_eq!(
        chat.received().len(),
        3,
        "commit-status updates stay out of chat"
    );
}

#[tokio::test]
async fn a_bad_revision_or_repository_fails_visibly() {
    let ns = "flux-system";
    let env = Env::start(&[ns]).await;
    let github = Sink::answering(201, "{}").await;
    env.secret(ns, "github-token", &[("token", "ghp_s3cret")])
        .await;
    provider_and_alert(
        &env,
        ns,
        "github",
        json!({"type": "github", "address": format!("{}/org/team/repo", github.url),
               "secretRef": {"name": "github-token"}}),
    )
    .await;
    assert_eq!(
        env.post_event(&event("Kustomization", ns, "apps", "error", "boom"))
            .await
            .0,
        202
    );
    env.settle().await;
    let p: Provider = wait_ready(&env.client, ns, "github", "False").await;
    let ready = ferroflux_api::conditions::get(
        ferroflux_api::conditions::ObjectWithConditions::conditions(&p),
        "Ready",
    )
    .expect("Ready")
    .clone();
    assert!(
        ready
            .message
            .contains("invalid repository id: 'org/team/repo'"),
        "{}",
        ready.message
    );
    assert!(!ready.message.contains("ghp_s3cret"), "{}", ready.message);
    assert!(github.received().is_empty());
}
