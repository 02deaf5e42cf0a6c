//! `certSecretRef`: a Provider's HTTPS client trusts the CA of the Secret
//! (`ca.crt`) and presents its client certificate (`tls.crt`, `tls.key`).
//! Certificates come from the openssl CLI, made fresh for each run.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use ferroflux_api::conditions::{self, ObjectWithConditions};
use ferroflux_api::notification::v1beta3::{Alert, Provider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::json;

use crate::sink::Sink;
use crate::{Env, event, wait_ready};

/// A throw-away CA, a server certificate for 127.0.0.1 and a client
/// certificate, all signed by the CA.
struct Certs {
    dir: PathBuf,
}

impl Certs {
    fn new() -> Certs {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ferroflux-notif-tls-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("cert dir");
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(&dir)
                .output()
                .expect("openssl runs");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let mut ca = vec!["req", "-x509"];
        ca.extend(ec);
        ca.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=ferroflux notification test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        run(&ca);
        for (name, cn, ext) in [
            (
                "server",
                "/CN=127.0.0.1",
                "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
            ),
            (
                "client",
                "/CN=notification-controller",
                "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
            ),
        ] {
            let key = format!("{name}.key");
            let csr = format!("{name}.csr");
            let crt = format!("{name}.crt");
            let extfile = format!("{name}.ext");
            let mut req = vec!["req"];
            req.extend(ec);
            req.extend(["-keyout", &key, "-out", &csr, "-subj", cn]);
            run(&req);
            std::fs::write(dir.join(&extfile), ext).expect("write ext");
            run(&[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                &crt,
                "-days",
                "2",
                "-extfile",
                &extfile,
            ]);
        }
        Certs { dir }
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).expect("read cert")
    }

    fn server_config(&self, require_client_cert: bool) -> rustls::ServerConfig {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certs = CertificateDer::pem_file_iter(self.dir.join("server.crt"))
            .and_then(|i| i.collect::<Result<Vec<_>, _>>())
            .expect("server certs");
        let key = PrivateKeyDer::from_pem_file(self.dir.join("server.key")).expect("server key");
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("versions");
        let builder = if require_client_cert {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(self.dir.join("ca.crt")).expect("ca") {
                roots.add(c.expect("ca cert")).expect("root");
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .expect("client verifier");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        builder.with_single_cert(certs, key).expect("server config")
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

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
    let certs = Certs::new();
    let tls = Sink::start_tls(certs.server_config(false)).await;
    let mtls = Sink::start_tls(certs.server_config(true)).await;
    let ca = certs.read("ca.crt");
    env.secret(ns, "ca", &[("ca.crt", &ca)]).await;
    env.secret(
        ns,
        "client",
        &[
            ("ca.crt", &ca),
            ("tls.crt", &certs.read("client.crt")),
            ("tls.key", &certs.read("client.key")),
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
