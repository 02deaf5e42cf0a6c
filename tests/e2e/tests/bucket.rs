//! A Kustomization from a Bucket: moto's S3 server (written to with boto3)
//! holds the manifests, source-controller makes them an artifact,
//! kustomize-controller applies them; a changed object is applied after a
//! `requestedAt`, and what the bucket no longer holds is pruned.

use ferroflux_testsupport::s3::S3Server;
use kube::api::{Api, ApiResource, DynamicObject};
use serde_json::Value;

use crate::support::{E2e, Kind, ready};

const NAMESPACE: &[u8] = b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: from-bucket\n";

fn config_map(name: &str, greeting: &str) -> Vec<u8> {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: from-bucket\ndata:\n  greeting: \"{greeting}\"\n"
    )
    .into_bytes()
}

fn flux_yaml(endpoint: &str, access_key: &str, secret_key: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Secret
metadata:
  name: bucket-keys
  namespace: flux-system
stringData:
  accesskey: {access_key}
  secretkey: {secret_key}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: Bucket
metadata:
  name: manifests
  namespace: flux-system
spec:
  interval: 1h
  provider: generic
  bucketName: manifests
  endpoint: {endpoint}
  insecure: true
  secretRef:
    name: bucket-keys
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: from-bucket
  namespace: flux-system
spec:
  interval: 1h
  path: ./app
  prune: true
  timeout: 1m
  sourceRef:
    kind: Bucket
    name: manifests
"#
    )
}

async fn bucket(e2e: &E2e) -> Option<Value> {
    let ar = ApiResource {
        group: "source.toolkit.fluxcd.io".into(),
        version: "v1".into(),
        api_version: "source.toolkit.fluxcd.io/v1".into(),
        kind: "Bucket".into(),
        plural: "buckets".into(),
    };
    let api: Api<DynamicObject> = Api::namespaced_with(e2e.client.clone(), "flux-system", &ar);
    api.get_opt("manifests")
        .await
        .expect("reading the Bucket")
        .map(|o| serde_json::to_value(o).expect("JSON"))
}

/// Waits until the Bucket's artifact has a revision other than `not`, then
/// until the Kustomization applied that revision; returns it.
async fn applied_revision(e2e: &E2e, not: Option<&str>) -> String {
    let revision = e2e
        .wait("the Bucket's new artifact", || async {
            let b = bucket(e2e).await;
            match b
                .as_ref()
                .and_then(|b| b["status"]["artifact"]["revision"].as_str())
            {
                Some(r) if ready(b.as_ref().unwrap()) && Some(r) != not => Ok(r.to_string()),
                _ => Err(format!(
                    "{:#}",
                    b.map(|b| b["status"].clone()).unwrap_or_default()
                )),
            }
        })
        .await;
    assert!(revision.starts_with("sha256:"), "{revision}");
    e2e.wait("the Kustomization at the Bucket's revision", || async {
        let k = e2e
            .get(Kind::Kustomization, "flux-system", "from-bucket")
            .await;
        match &k {
            Some(k) if ready(k) && k["status"]["lastAppliedRevision"] == revision.as_str() => {
                Ok(())
            }
            _ => Err(format!(
                "{:#}",
                k.map(|k| k["status"].clone()).unwrap_or_default()
            )),
        }
    })
    .await;
    revision
}

async fn greeting(e2e: &E2e, name: &str) -> Option<String> {
    e2e.get(Kind::ConfigMap, "from-bucket", name)
        .await
        .and_then(|c| c["data"]["greeting"].as_str().map(str::to_string))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kustomization_from_a_bucket_is_applied_and_follows_it() {
    let Some(s3) = S3Server::start() else { return };
    s3.create_bucket(
        "manifests",
        &[
            ("app/namespace.yaml", NAMESPACE),
            ("app/config.yaml", &config_map("config", "hello")),
            ("app/old.yaml", &config_map("old", "bye")),
            ("README.md", b"not applied: outside ./app"),
        ],
    );
    let e2e = E2e::start().await;
    let keys = (
        s3.access_key.clone().unwrap(),
        s3.secret_key.clone().unwrap(),
    );
    e2e.apply(&flux_yaml(&s3.endpoint(), &keys.0, &keys.1))
        .await;
    let first = applied_revision(&e2e, None).await;
    assert_eq!(greeting(&e2e, "config").await.as_deref(), Some("hello"));
    assert_eq!(greeting(&e2e, "old").await.as_deref(), Some("bye"));

    // The bucket changes; a requested reconcile (not the 1h interval)
    // brings the change, and the removed object is pruned.
    s3.put(
        "manifests",
        &[("app/config.yaml", &config_map("config", "hello again"))],
    );
    s3.delete("manifests", "app/old.yaml");
    let (ok, out, err) = e2e
        .kubectl(
            &[
                "annotate",
                "--overwrite",
                "-n",
                "flux-system",
                "bucket/manifests",
                "reconcile.fluxcd.io/requestedAt=now-1",
            ],
            None,
        )
        .await;
    assert!(ok, "kubectl annotate: {out}{err}");
    applied_revision(&e2e, Some(&first)).await;
    assert_eq!(
        greeting(&e2e, "config").await.as_deref(),
        Some("hello again")
    );
    e2e.wait("the removed object pruned", || async {
        match e2e.get(Kind::ConfigMap, "from-bucket", "old").await {
            None => Ok(()),
            Some(_) => Err("still there".to_string()),
        }
    })
    .await;
}
