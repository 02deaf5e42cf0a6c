//! `certSecretRef`: a Provider's HTTPS client trusts the CA of the Secret
//! (`ca.crt`) and presents its client certificate (`tls.crt`, `tls.key`).
//! Certificates are made fresh for each run (rcgen, in-process).

use ferroflux_api::conditions::{self, ObjectWithConditions};
use ferroflux_api::notification::v1beta3::{Alert, Provider};
use ferroflux_testsupport::tls::TestCerts;
use serde_json::json;

use crate::sink::Sink;
use crate::{Env, event, wait_ready};

async fn provider_and_alert(env: &Env, ns: &str, name: &str, spec: serde_json::Value) {
    env.create::<Provider>(ns, json!({"metadata": {"name": name}, "spec": spec}))
        .await;
    env.create::<Alert>(
        ns,
        json!({"metadata": {"name": name},
               "spec": {"providerRef": {"name": name}, "eventSources": [{"kind": "GitRepository", "name": name}]}}),
    )
    .await;
    wait_ready::<Alert>(&env.client, ns, name, "True").await;
}

fn ready_message(p: &Provider) -> String {
    conditions::get(p.conditions(), "Ready")
        .map(|c| format!("{}: {}", c.reason, c.message))
        .unwrap_or_default()
}

#[tokio::test]
async fn cert_secret_ref_trusts_the_ca_and_presents_the_client_certificate() {
    let ns = "flux-system";
    let env = Env::start(&[ns]).await;
    let certs = TestCerts::new();
    let tls = Sink::start_tls(certs.server_config(false)).await;
    let mtls = Sink::start_tls(certs.server_config(true)).await;
    let ca = certs.ca();
    env.secret(ns, "ca", &[("ca.crt", &ca)]).await;
    env.secret(
        ns,
        "client",
        &[
            ("ca.crt", &ca),
            ("tls.crt", &certs.client_cert()),
            ("tls.key", &certs.client_key()),
        ],
    )
    .await;

    // Without the CA the server is not trusted; with it, it is.
    provider_and_alert(
        &env,
        ns,
        "untrusted",
        json!({"type": "generic", "address": format!("{}/hook", tls.url)}),
    )
    .await;
    provider_and_alert(&env, ns, "trusted", json!({"type": "generic", "address": format!("{}/hook", tls.url), "certSecretRef": {"name": "ca"}})).await;
    // A server asking for a client certificate accepts only the one with it.
    provider_and_alert(&env, ns, "no-client-cert", json!({"type": "generic", "address": format!("{}/hook", mtls.url), "certSecretRef": {"name": "ca"}})).await;
    provider_and_alert(&env, ns, "client-cert", json!({"type": "generic", "address": format!("{}/hook", mtls.url), "certSecretRef": {"name": "client"}})).await;

    for name in ["untrusted", "trusted", "no-client-cert", "client-cert"] {
        let (code, _) = env
            .post_event(&event("GitRepository", ns, name, "info", "fetched"))
            .await;
        assert_eq!(code, 202);
    }
    env.settle().await;

    let got = tls.received();
    assert_eq!(
        got.len(),
        1,
        "only the trusting Provider reached the server"
    );
    assert_eq!(got[0].json()["involvedObject"]["name"], "trusted");
    let got = mtls.received();
    assert_eq!(
        got.len(),
        1,
        "only the Provider with a client certificate got through"
    );
    assert_eq!(got[0].json()["involvedObject"]["name"], "client-cert");
    for name in ["untrusted", "no-client-cert"] {
        let p: Provider = wait_ready(&env.client, ns, name, "False").await;
        assert!(
            ready_message(&p).starts_with("NotificationDispatchFailed"),
            "{}",
            ready_message(&p)
        );
    }
    for name in ["trusted", "client-cert"] {
        let p: Provider = wait_ready(&env.client, ns, name, "True").await;
        assert!(
            !ready_message(&p).contains("Failed"),
            "{}",
            ready_message(&p)
        );
    }
}

#[tokio::test]
async fn unusable_tls_material_is_reported_without_its_content() {
    let ns = "flux-system";
    let env = Env::start(&[ns]).await;
    env.secret(ns, "junk", &[("ca.crt", "s3cret-not-a-certificate")])
        .await;
    env.secret(
        ns,
        "half",
        &[(
            "tls.key",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )],
    )
    .await;
    for (name, secret) in [("junk", "junk"), ("half", "half"), ("absent", "absent")] {
        env.create::<Provider>(ns, json!({"metadata": {"name": name},
            "spec": {"type": "generic", "address": "https://127.0.0.1:1/", "certSecretRef": {"name": secret}}}))
            .await;
    }
    let p: Provider = wait_ready(&env.client, ns, "junk", "False").await;
    let m = ready_message(&p);
    assert!(
        m.contains("spec.certSecretRef") && m.contains("ca.crt"),
        "{m}"
    );
    assert!(!m.contains("s3cret"), "{m}");
    let p: Provider = wait_ready(&env.client, ns, "half", "False").await;
    assert!(
        ready_message(&p).contains("'tls.crt' and 'tls.key' must be set together"),
        "{}",
        ready_message(&p)
    );
    let p: Provider = wait_ready(&env.client, ns, "absent", "False").await;
    assert!(
        ready_message(&p).contains("absent"),
        "{}",
        ready_message(&p)
    );
}
