//! Webhooks in, reconcile requests out.

use ferroflux_api::meta::RECONCILE_REQUEST_ANNOTATION;
use ferroflux_api::notification::v1::Receiver;
use ferroflux_api::source::v1::GitRepository;
use hmac::{Hmac, Mac};
use kube::{Api, ResourceExt};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::{Env, wait_ready};

fn sign(token: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(token.as_bytes()).expect("key");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn git_repository(env: &Env, ns: &str, name: &str, labels: serde_json::Value) {
    env.create::<GitRepository>(
        ns,
        json!({
            "metadata": {"name": name, "labels": labels},
            "spec": {"url": format!("https://github.com/example/{name}"), "interval": "10m"}
        }),
    )
    .await;
}

async fn requested_at(env: &Env, ns: &str, name: &str) -> Option<String> {
    let api: Api<GitRepository> = Api::namespaced(env.client.clone(), ns);
    let obj = api.get(name).await.expect("GitRepository");
    obj.annotations().get(RECONCILE_REQUEST_ANNOTATION).cloned()
}

async fn receiver(env: &Env, ns: &str, name: &str, token: &str, spec: serde_json::Value) -> String {
    env.secret(ns, &format!("{name}-token"), &[("token", token)])
        .await;
    let mut spec = spec;
    spec["secretRef"] = json!({"name": format!("{name}-token")});
    env.create::<Receiver>(ns, json!({"metadata": {"name": name}, "spec": spec}))
        .await;
    let r: Receiver = wait_ready(&env.client, ns, name, "True").await;
    let path = r.status.and_then(|s| s.webhook_path).expect("webhookPath");
    // Flux's path: sha256 of token + name + namespace, hex.
    let expected = format!(
        "/hook/{}",
        hex::encode(Sha256::digest(format!("{token}{name}{ns}").as_bytes()))
    );
    assert_eq!(path, expected);
    path
}

async fn call(env: &Env, path: &str, headers: &[(&str, String)], body: &[u8]) -> u16 {
    let mut req = env
        .http
        .post(format!("http://{}{path}", env.controller.receiver_addr))
        .body(body.to_vec());
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    req.send()
        .await
        .expect("receiver answers")
        .status()
        .as_u16()
}

#[tokio::test]
async fn github_push_annotates_the_right_repository_and_nothing_else() {
    let ns = "flux-system";
    let env = Env::start(&[ns]).await;
    git_repository(&env, ns, "podinfo", json!({})).await;
    git_repository(&env, ns, "other", json!({})).await;
    let token = "gh-webhook-t0ken";
    let path = receiver(&env, ns, "github", token, json!({
        "type": "github", "events": ["push"],
        "resources": [{"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "name": "podinfo"}]
    }))
    .await;
    let r: Receiver = Api::namespaced(env.client.clone(), ns)
        .get("github")
        .await
        .expect("receiver");
    let ready = ferroflux_api::conditions::get(
        ferroflux_api::conditions::ObjectWithConditions::conditions(&r),
        "Ready",
    )
    .expect("Ready");
    assert_eq!(
        ready.message,
        format!("Receiver initialized for path: {path}")
    );

    let body = br#"{"ref":"refs/heads/main","after":"731f7ea","repository":{"full_name":"example/podinfo"}}"#;
    let push = |sig: String| {
        vec![
            ("x-github-event", "push".to_string()),
            ("x-hub-signature-256", sig),
            ("content-type", "application/json".to_string()),
        ]
    };

    // Rejected: wrong signature, a replayed signature over a changed body,
    // no signature, an unknown path, an event the Receiver does not take.
    assert_eq!(
        call(&env, &path, &push(sign("wrong-token", body)), body).await,
        401
    );
    let tampered = br#"{"ref":"refs/heads/evil","after":"731f7ea","repository":{"full_name":"example/podinfo"}}"#;
    assert_eq!(
        call(&env, &path, &push(sign(token, body)), tampered).await,
        401
    );
    assert_eq!(
        call(&env, &path, &[("x-github-event", "push".to_string())], body).await,
        401
    );
    let unknown = format!("/hook/{}", hex::encode(Sha256::digest(b"guess")));
    assert_eq!(
        call(&env, &unknown, &push(sign(token, body)), body).await,
        404
    );
    let issues = vec![
        ("x-github-event", "issues".to_string()),
        ("x-hub-signature-256", sign(token, body)),
    ];
    assert_eq!(call(&env, &path, &issues, body).await, 400);
    // A ping is answered and reconciles nothing.
    let ping = vec![
        ("x-github-event", "ping".to_string()),
        ("x-hub-signature-256", sign(token, b"{}")),
    ];
    assert_eq!(call(&env, &path, &ping, b"{}").await, 200);
    assert_eq!(requested_at(&env, ns, "podinfo").await, None);
    assert_eq!(requested_at(&env, ns, "other").await, None);

    // Accepted: a signed push.
    assert_eq!(call(&env, &path, &push(sign(token, body)), body).await, 200);
    let value = requested_at(&env, ns, "podinfo")
        .await
        .expect("podinfo annotated");
    assert!(
        value.parse::<k8s_openapi::jiff::Timestamp>().is_ok(),
        "{value}"
    );
    assert_eq!(
        requested_at(&env, ns, "other").await,
        None,
        "only the listed repository"
    );
}

#[tokio::test]
async fn gitlab_and_generic_hmac_receivers() {
    let ns = "apps";
    let env = Env::start(&[ns]).await;
    git_repository(&env, ns, "frontend", json!({"app": "web"})).await;
    git_repository(&env, ns, "backend", json!({"app": "web"})).await;
    git_repository(&env, ns, "unrelated", json!({"app": "db"})).await;
    let gitlab = receiver(
        &env,
        ns,
        "gitlab",
        "gl-t0ken",
        json!({
            "type": "gitlab", "events": ["Push Hook"],
            "resources": [{"kind": "GitRepository", "name": "*", "matchLabels": {"app": "web"}}]
        }),
    )
    .await;
    let hook = |t: &str, e: &str| {
        vec![
            ("x-gitlab-token", t.to_string()),
            ("x-gitlab-event", e.to_string()),
        ]
    };
    assert_eq!(
        call(&env, &gitlab, &hook("gl-t0kex", "Push Hook"), b"{}").await,
        401
    );
    assert_eq!(call(&env, &gitlab, &[], b"{}").await, 401);
    assert_eq!(
        call(&env, &gitlab, &hook("gl-t0ken", "Tag Push Hook"), b"{}").await,
        400
    );
    for name in ["frontend", "backend", "unrelated"] {
        assert_eq!(requested_at(&env, ns, name).await, None);
    }
    assert_eq!(
        call(&env, &gitlab, &hook("gl-t0ken", "Push Hook"), b"{}").await,
        200
    );
    assert!(requested_at(&env, ns, "frontend").await.is_some());
    assert!(requested_at(&env, ns, "backend").await.is_some());
    assert_eq!(requested_at(&env, ns, "unrelated").await, None);

    let hmac_path = receiver(
        &env,
        ns,
        "hmac",
        "hm-t0ken",
        json!({
            "type": "generic-hmac",
            "resources": [{"kind": "GitRepository", "name": "unrelated"}]
        }),
    )
    .await;
    let body = b"deploy please";
    assert_eq!(
        call(
            &env,
            &hmac_path,
            &[("x-signature", sign("nope", body))],
            body
        )
        .await,
        401
    );
    assert_eq!(requested_at(&env, ns, "unrelated").await, None);
    assert_eq!(
        call(
            &env,
            &hmac_path,
            &[("x-signature", sign("hm-t0ken", body))],
            body
        )
        .await,
        200
    );
    assert!(requested_at(&env, ns, "unrelated").await.is_some());
}

#[tokio::test]
async fn missing_token_is_reported_and_serves_nothing() {
    let ns = "flux-system";
    let env = Env::start(&[ns]).await;
    env.create::<Receiver>(
        ns,
        json!({
            "metadata": {"name": "orphan"},
            "spec": {"type": "generic", "secretRef": {"name": "absent"},
                     "resources": [{"kind": "GitRepository", "name": "x"}]}
        }),
    )
    .await;
    let r: Receiver = wait_ready(&env.client, ns, "orphan", "False").await;
    let conds = ferroflux_api::conditions::ObjectWithConditions::conditions(&r);
    assert_eq!(
        ferroflux_api::conditions::get(conds, "Ready").map(|c| c.reason.as_str()),
        Some("TokenNotFound")
    );
    assert!(ferroflux_api::conditions::is_true(conds, "Reconciling"));
    assert!(r.status.and_then(|s| s.webhook_path).is_none());
}

fn sign_sha1(token: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, token.as_bytes());
    hex::encode(ring::hmac::sign(&key, body).as_ref())
}

/// Bitbucket Server, Harbor and Nexus: forged or missing credentials are
/// refused with 401 and annotate nothing; the genuine call annotates.
#[tokio::test]
async fn bitbucket_harbor_and_nexus_authenticate_calls() {
    let ns = "flux-system";
    let env = Env::start(&[ns]).await;
    for name in ["bb", "harbor", "nexus"] {
        git_repository(&env, ns, name, json!({})).await;
    }
    let target = |name: &str| json!([{"kind": "GitRepository", "name": name}]);

    // Bitbucket Server: `X-Hub-Signature: sha256=<HMAC>`, event in `X-Event-Key`.
    let bb = receiver(
        &env,
        ns,
        "bitbucket",
        "bb-t0ken",
        json!({
            "type": "bitbucket", "events": ["repo:refs_changed"], "resources": target("bb")
        }),
    )
    .await;
    let body = br#"{"eventKey":"repo:refs_changed","changes":[{"ref":{"id":"refs/heads/main"}}]}"#;
    let hook = |sig: String, event: &str| {
        vec![("x-hub-signature", sig), ("x-event-key", event.to_string())]
    };
    assert_eq!(
        call(
            &env,
            &bb,
            &hook(sign("forged", body), "repo:refs_changed"),
            body
        )
        .await,
        401
    );
    assert_eq!(
        call(
            &env,
            &bb,
            &[("x-event-key", "repo:refs_changed".to_string())],
            body
        )
        .await,
        401
    );
    assert_eq!(
        call(&env, &bb, &hook(sign("bb-t0ken", body), "pr:opened"), body).await,
        400
    );
    assert_eq!(requested_at(&env, ns, "bb").await, None);
    assert_eq!(
        call(
            &env,
            &bb,
            &hook(sign("bb-t0ken", body), "repo:refs_changed"),
            body
        )
        .await,
        200
    );
    assert!(requested_at(&env, ns, "bb").await.is_some());

    // Harbor: the Authorization header is the token itself.
    let harbor = receiver(
        &env,
        ns,
        "harbor",
        "h4rbor-t0ken",
        json!({
            "type": "harbor", "resources": target("harbor")
        }),
    )
    .await;
    let body =
        br#"{"type":"PUSH_ARTIFACT","event_data":{"repository":{"repo_full_name":"library/app"}}}"#;
    for bad in ["h4rbor-t0kem", "Bearer h4rbor-t0ken", ""] {
        assert_eq!(
            call(&env, &harbor, &[("authorization", bad.to_string())], body).await,
            401,
            "{bad:?}"
        );
    }
    assert_eq!(call(&env, &harbor, &[], body).await, 401);
    assert_eq!(requested_at(&env, ns, "harbor").await, None);
    assert_eq!(
        call(
            &env,
            &harbor,
            &[("authorization", "h4rbor-t0ken".to_string())],
            body
        )
        .await,
        200
    );
    assert!(requested_at(&env, ns, "harbor").await.is_some());

    // Nexus: `X-Nexus-Webhook-Signature` is the hex HMAC-SHA1 of the body.
    let nexus = receiver(
        &env,
        ns,
        "nexus",
        "n3xus-t0ken",
        json!({
            "type": "nexus", "resources": target("nexus")
        }),
    )
    .await;
    let body = br#"{"timestamp":"2024-05-01T10:00:00.000+0000","nodeId":"n","initiator":"admin","repositoryName":"docker-hosted","action":"CREATED","component":{"name":"app","version":"1.2.3"}}"#;
    let sig = |t: &str, b: &[u8]| vec![("x-nexus-webhook-signature", sign_sha1(t, b))];
    assert_eq!(call(&env, &nexus, &sig("forged", body), body).await, 401);
    assert_eq!(call(&env, &nexus, &[], body).await, 401);
    // A signature over another body does not carry over.
    assert_eq!(
        call(&env, &nexus, &sig("n3xus-t0ken", b"{}"), body).await,
        401
    );
    assert_eq!(requested_at(&env, ns, "nexus").await, None);
    assert_eq!(
        call(&env, &nexus, &sig("n3xus-t0ken", body), body).await,
        200
    );
    assert!(requested_at(&env, ns, "nexus").await.is_some());
}

/// Docker Hub, Quay and ACR cannot sign their calls: as in Flux, knowing
/// the secret path is the authentication, and the body must be the
/// service's payload.
#[tokio::test]
async fn dockerhub_quay_and_acr_check_the_payload() {
    let ns = "apps";
    let env = Env::start(&[ns]).await;
    for (name, kind, body) in [
        (
            "dockerhub",
            "dockerhub",
            &br#"{"push_data":{"tag":"1.2.3","pusher":"ci"},"repository":{"repo_url":"https://hub.docker.com/r/org/app","repo_name":"org/app"}}"#[..],
        ),
        (
            "quay",
            "quay",
            &br#"{"repository":"org/app","docker_url":"quay.io/org/app","updated_tags":["1.2.3"]}"#[..],
        ),
        (
            "acr",
            "acr",
            &br#"{"id":"1","action":"push","target":{"repository":"app","tag":"1.2.3","digest":"sha256:abc"}}"#[..],
        ),
    ] {
        git_repository(&env, ns, name, json!({})).await;
        let path = receiver(&env, ns, name, &format!("{name}-t0ken"), json!({
            "type": kind, "resources": [{"kind": "GitRepository", "name": name}]
        }))
        .await;
        let guess = format!("/hook/{}", hex::encode(Sha256::digest(name.as_bytes())));
        assert_eq!(call(&env, &guess, &[], body).await, 404, "{name}");
        assert_eq!(call(&env, &path, &[], b"<html>").await, 400, "{name}");
        assert_eq!(requested_at(&env, ns, name).await, None, "{name}");
        assert_eq!(call(&env, &path, &[], body).await, 200, "{name}");
        assert!(requested_at(&env, ns, name).await.is_some(), "{name}");
    }
}

#[tokio::test]
async fn unimplemented_receiver_types_are_refused_not_opened() {
    let ns = "flux-system";
    let env = Env::start(&[ns]).await;
    env.secret(ns, "gcr-token", &[("token", "t")]).await;
    env.create::<Receiver>(
        ns,
        json!({
            "metadata": {"name": "gcr"},
            "spec": {"type": "gcr", "secretRef": {"name": "gcr-token"},
                     "resources": [{"kind": "GitRepository", "name": "x"}]}
        }),
    )
    .await;
    let r: Receiver = wait_ready(&env.client, ns, "gcr", "False").await;
    let conds = ferroflux_api::conditions::ObjectWithConditions::conditions(&r);
    assert_eq!(
        ferroflux_api::conditions::get(conds, "Ready").map(|c| c.reason.as_str()),
        Some("UnsupportedReceiver")
    );
    assert!(r.status.and_then(|s| s.webhook_path).is_none());
}
