//! `ferroflux create`: each kind's `--export` is the object `flux create
//! --export` prints and applies back unchanged; without `--export` the
//! object is applied and followed until the controllers report it Ready
//! (against the real controller processes); bad flags get one clear line.

use ferroflux_cli::kinds;
use ferroflux_cli::stack::{Stack, StackError, StackOptions};
use ferroflux_ssa::{Action, ApplyOptions, Manager, Resolver};
use ferroflux_testsupport::git::{GitRepo, GitServer};
use serde_json::{Value, json};
use std::sync::Arc;

use crate::cluster::{Cluster, Run, ferroflux};

/// Parses `--export` output: one `---` document.
fn exported(run: &Run) -> Value {
    run.assert_ok();
    let Some(doc) = run.stdout.strip_prefix("---\n") else {
        panic!("no leading ---: {}", run.stdout);
    };
    assert!(!doc.lines().any(|l| l == "---"), "{}", run.stdout);
    serde_yaml::from_str(doc).unwrap()
}

/// Whether every field of `want` is in `have` with the same value.
fn contains(have: &Value, want: &Value) -> bool {
    match (have, want) {
        (Value::Object(h), Value::Object(w)) => w
            .iter()
            .all(|(k, v)| h.get(k).is_some_and(|hv| contains(hv, v))),
        _ => have == want,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_kind_exports_yaml_that_applies_back_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let values = dir.path().join("values.yaml");
    std::fs::write(&values, "replicaCount: 2\nimage:\n  tag: v1\n").unwrap();
    let more = dir.path().join("more.yaml");
    std::fs::write(&more, "image:\n  pullPolicy: Always\n").unwrap();
    let values_flag = format!("--values={},{}", values.display(), more.display());
    let cases: Vec<(Vec<&str>, Value)> = vec![
        (
            vec![
                "create",
                "source",
                "git",
                "podinfo",
                "--url=https://github.com/stefanprodan/podinfo",
                "--branch=master",
                "--ignore-paths=.cosign,tmp/",
                "--secret-ref=creds",
                "--label=team=ops",
            ],
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                   "metadata": {"name": "podinfo", "namespace": "flux-system", "labels": {"team": "ops"}},
                   "spec": {"interval": "1m0s", "url": "https://github.com/stefanprodan/podinfo",
                            "ref": {"branch": "master"}, "ignore": ".cosign\ntmp/",
                            "secretRef": {"name": "creds"}}}),
        ),
        (
            vec![
                "create",
                "source",
                "git",
                "pinned",
                "--url=ssh://git@example.com/org/repo",
                "--commit=c88a2f41",
                "--branch=main",
                "--interval=5m",
                "--fetch-timeout=90s",
            ],
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                   "metadata": {"name": "pinned", "namespace": "flux-system"},
                   "spec": {"interval": "5m0s", "url": "ssh://git@example.com/org/repo",
                            "ref": {"commit": "c88a2f41", "branch": "main"}, "timeout": "1m30s"}}),
        ),
        (
            vec![
                "create",
                "source",
                "oci",
                "manifests",
                "--url=oci://ghcr.io/stefanprodan/manifests/podinfo",
                "--tag-semver=6.x",
                "--interval=10m",
                "--layer-selector=application/vnd.cncf.helm.chart.content.v1.tar+gzip:copy",
            ],
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository",
                   "metadata": {"name": "manifests", "namespace": "flux-system"},
                   "spec": {"interval": "10m0s", "url": "oci://ghcr.io/stefanprodan/manifests/podinfo",
                            "ref": {"semver": "6.x"},
                            "layerSelector": {"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "operation": "copy"}}}),
        ),
        (
            vec![
                "create",
                "source",
                "helm",
                "charts",
                "--url=oci://ghcr.io/stefanprodan/charts",
                "--secret-ref=creds",
                "--interval=5m",
            ],
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmRepository",
                   "metadata": {"name": "charts", "namespace": "flux-system"},
                   "spec": {"interval": "5m0s", "url": "oci://ghcr.io/stefanprodan/charts",
                            "type": "oci", "secretRef": {"name": "creds"}}}),
        ),
        (
            vec![
                "create",
                "source",
                "bucket",
                "bucket",
                "--bucket-name=podinfo",
                "--endpoint=minio.minio.svc.cluster.local:9000",
                "--insecure",
                "--secret-ref=minio",
            ],
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "Bucket",
                   "metadata": {"name": "bucket", "namespace": "flux-system"},
                   "spec": {"interval": "1m0s", "bucketName": "podinfo", "provider": "generic",
                            "endpoint": "minio.minio.svc.cluster.local:9000", "insecure": true,
                            "secretRef": {"name": "minio"}}}),
        ),
        (
            vec![
                "create",
                "source",
                "chart",
                "podinfo",
                "--source=helmrepository/charts",
                "--chart=podinfo",
                "--chart-version=6.x",
                "--interval=10m",
            ],
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "HelmChart",
                   "metadata": {"name": "podinfo", "namespace": "flux-system"},
                   "spec": {"interval": "10m0s", "chart": "podinfo", "version": "6.x",
                            "reconcileStrategy": "ChartVersion",
                            "sourceRef": {"kind": "HelmRepository", "name": "charts"}}}),
        ),
        (
            vec![
                "create",
                "kustomization",
                "apps",
                "--source=GitRepository/podinfo.flux-system",
                "--path=./kustomize",
                "--prune",
                "--wait",
                "--target-namespace=apps",
                "--depends-on=infra,ops/base",
                "--service-account=deployer",
                "--decryption-provider=sops",
                "--decryption-secret=sops-age",
            ],
            json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                   "metadata": {"name": "apps", "namespace": "flux-system"},
                   "spec": {"interval": "1m0s", "path": "./kustomize", "prune": true, "wait": true,
                            "timeout": "2m0s", "targetNamespace": "apps",
                            "sourceRef": {"kind": "GitRepository", "name": "podinfo", "namespace": "flux-system"},
                            "dependsOn": [{"name": "infra"}, {"name": "base", "namespace": "ops"}],
                            "serviceAccountName": "deployer",
                            "decryption": {"provider": "sops", "secretRef": {"name": "sops-age"}}}}),
        ),
        (
            vec![
                "create",
                "ks",
                "checked",
                "--source=podinfo",
                "--path=./deploy",
                "--health-check=Deployment/podinfo.apps",
                "--health-check-timeout=3m",
            ],
            json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                   "metadata": {"name": "checked", "namespace": "flux-system"},
                   "spec": {"interval": "1m0s", "path": "./deploy", "prune": false, "timeout": "3m0s",
                            "sourceRef": {"kind": "GitRepository", "name": "podinfo"},
                            "healthChecks": [{"kind": "Deployment", "name": "podinfo", "namespace": "apps"}]}}),
        ),
        (
            vec![
                "create",
                "helmrelease",
                "podinfo",
                "--source=HelmRepository/podinfo",
                "--chart=podinfo",
                "--chart-version=>=6.0.0",
                "--target-namespace=apps",
                "--create-target-namespace",
                "--crds=CreateReplace",
                &values_flag,
                "--values-from=ConfigMap/overrides",
            ],
            json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                   "metadata": {"name": "podinfo", "namespace": "flux-system"},
                   "spec": {"interval": "1m0s", "targetNamespace": "apps",
                            "chart": {"spec": {"chart": "podinfo", "version": ">=6.0.0",
                                               "reconcileStrategy": "ChartVersion",
                                               "sourceRef": {"kind": "HelmRepository", "name": "podinfo"}}},
                            "install": {"createNamespace": true, "crds": "CreateReplace"},
                            "upgrade": {"crds": "CreateReplace"},
                            "values": {"replicaCount": 2, "image": {"tag": "v1", "pullPolicy": "Always"}},
                            "valuesFrom": [{"kind": "ConfigMap", "name": "overrides"}]}}),
        ),
        (
            vec![
                "create",
                "hr",
                "fromoci",
                "--chart-ref=OCIRepository/podinfo",
            ],
            json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
                   "metadata": {"name": "fromoci", "namespace": "flux-system"},
                   "spec": {"interval": "1m0s", "chartRef": {"kind": "OCIRepository", "name": "podinfo"}}}),
        ),
        (
            vec![
                "create",
                "alert-provider",
                "slack",
                "--type=slack",
                "--channel=general",
                "--secret-ref=slack-url",
            ],
            json!({"apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Provider",
                   "metadata": {"name": "slack", "namespace": "flux-system"},
                   "spec": {"type": "slack", "channel": "general", "secretRef": {"name": "slack-url"}}}),
        ),
        (
            vec![
                "create",
                "alert",
                "on-call",
                "--provider-ref=slack",
                "--event-severity=error",
                "--event-source=GitRepository/*,kustomization/apps",
            ],
            json!({"apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Alert",
                   "metadata": {"name": "on-call", "namespace": "flux-system"},
                   "spec": {"providerRef": {"name": "slack"}, "eventSeverity": "error",
                            "eventSources": [{"kind": "GitRepository", "name": "*"},
                                             {"kind": "Kustomization", "name": "apps"}]}}),
        ),
        (
            vec![
                "create",
                "receiver",
                "github",
                "--type=github",
                "--event=ping,push",
                "--secret-ref=hook-token",
                "--resource=GitRepository/podinfo",
            ],
            json!({"apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver",
                   "metadata": {"name": "github", "namespace": "flux-system"},
                   "spec": {"type": "github", "events": ["ping", "push"],
                            "secretRef": {"name": "hook-token"},
                            "resources": [{"kind": "GitRepository", "name": "podinfo"}]}}),
        ),
    ];

    let c = Cluster::start().await;
    let manager = Manager::new(
        c.client.clone(),
        Arc::new(Resolver::new(c.client.clone())),
        "export-test",
    );
    let mut exports = Vec::new();
    for (args, want) in &cases {
        let mut args = args.clone();
        args.push("--export");
        let run = c.ferroflux(&args).await;
        let got = exported(&run);
        assert_eq!(&got, want, "{args:?}:\n{}", run.stdout);
        assert!(run.stderr.is_empty(), "{args:?}: {}", run.stderr);
        exports.push(got);
    }
    // Applied, then applied again: the server keeps every field as exported
    // and the second apply changes nothing.
    let cs = manager
        .apply_all_staged(exports.clone(), &ApplyOptions::default())
        .await
        .expect("the exports apply");
    assert_eq!(cs.count(Action::Created), exports.len(), "{cs}");
    let cs = manager
        .apply_all_staged(exports.clone(), &ApplyOptions::default())
        .await
        .unwrap();
    assert_eq!(cs.count(Action::Unchanged), exports.len(), "{cs}");
    for e in &exports {
        let kind = kinds::by_kind(e["kind"].as_str().unwrap()).unwrap();
        let name = e["metadata"]["name"].as_str().unwrap();
        let live = c.get(&kind, "flux-system", name).await;
        assert!(contains(&live["spec"], &e["spec"]), "{name}: {live:#}");
    }

    // Without --export and no controller running: applied, then the wait
    // ends at --timeout naming what it waited for. The object is the export.
    let run = c
        .ferroflux(&[
            "create",
            "source",
            "git",
            "fresh",
            "--url=https://example.com/repo.git",
            "--tag=v1.0.0",
            "--timeout=2s",
        ])
        .await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines,
        [
            "✚ generating GitRepository source",
            "► applying GitRepository source",
            "✔ GitRepository source created",
            "◎ waiting for GitRepository source reconciliation",
            "Error: timed out after 2s waiting for the reconciliation of GitRepository flux-system/fresh",
        ],
        "{}",
        run.stderr
    );
    let live = c.get(&kinds::GIT_REPOSITORY, "flux-system", "fresh").await;
    let want = json!({"interval": "1m0s", "url": "https://example.com/repo.git", "ref": {"tag": "v1.0.0"}});
    assert!(contains(&live["spec"], &want), "{live:#}");
    assert_eq!(live["spec"]["ref"], want["ref"]);
    // Again with another ref: updated, and the old ref is gone (the same field manager).
    let run = c
        .ferroflux(&[
            "create",
            "source",
            "git",
            "fresh",
            "--url=https://example.com/repo.git",
            "--branch=main",
            "--timeout=1s",
        ])
        .await;
    assert!(
        run.stderr.contains("✔ GitRepository source updated\n"),
        "{}",
        run.stderr
    );
    let live = c.get(&kinds::GIT_REPOSITORY, "flux-system", "fresh").await;
    assert_eq!(live["spec"]["ref"], json!({"branch": "main"}));
}

#[tokio::test]
async fn bad_flags_get_one_clear_line() {
    let kubeconfig = std::path::Path::new("/nonexistent/kubeconfig");
    let cases: &[(&[&str], &str)] = &[
        (
            &["create", "source", "git", "x", "--branch=main"],
            "url is required",
        ),
        (
            &["create", "source", "git", "x", "--url=https://h/r"],
            "a Git ref is required, use one of the following: --branch, --tag, --commit, --ref-name or --tag-semver",
        ),
        (
            &[
                "create",
                "source",
                "git",
                "x",
                "--url=file:///etc",
                "--branch=m",
            ],
            "git URL scheme 'file' not supported, can be: ssh, http and https",
        ),
        (
            &[
                "create",
                "source",
                "git",
                "x",
                "--url=https://h/r",
                "--branch=m",
                "--password=hunter2",
            ],
            "--password is not supported: create a Secret with the credentials (kubectl create secret generic ...) and pass --secret-ref",
        ),
        (
            &["create", "source", "oci", "x", "--url=oci://r/a"],
            "--tag, --tag-semver or --digest is required",
        ),
        (
            &[
                "create",
                "source",
                "oci",
                "x",
                "--url=https://r/a",
                "--tag=1",
            ],
            "invalid --url 'https://r/a': must start with oci:// and name a registry",
        ),
        (
            &["create", "source", "helm", "x", "--url=ftp://h"],
            "url scheme 'ftp' not supported, can be: http, https and oci",
        ),
        (
            &["create", "source", "bucket", "x", "--endpoint=e"],
            "bucket-name is required",
        ),
        (
            &["create", "source", "chart", "x", "--chart=c"],
            "chart source is required",
        ),
        (
            &[
                "create",
                "source",
                "chart",
                "x",
                "--source=OCIRepository/o",
                "--chart=c",
            ],
            "invalid --source 'OCIRepository/o': kind 'OCIRepository' is not supported, must be one of: HelmRepository, GitRepository, Bucket",
        ),
        (
            &["create", "ks", "x", "--source=podinfo", "--path=deploy"],
            "path must begin with ./",
        ),
        (
            &[
                "create",
                "ks",
                "x",
                "--source=podinfo",
                "--path=./../../etc",
            ],
            "invalid --path './../../etc': must not leave the source",
        ),
        (&["create", "ks", "x", "--path=./"], "source is required"),
        (
            &[
                "create",
                "ks",
                "x",
                "--source=HelmRepository/a",
                "--path=./",
            ],
            "invalid --source 'HelmRepository/a': kind 'HelmRepository' is not supported, must be one of: GitRepository, OCIRepository, Bucket",
        ),
        (
            &["create", "ks", "x", "--source=a", "--health-check=Pod/a.b"],
            "invalid health check kind 'Pod' can be HelmRelease, Deployment, DaemonSet or StatefulSet",
        ),
        (&["create", "hr", "x"], "chart or chart-ref is required"),
        (
            &[
                "create",
                "hr",
                "x",
                "--source=HelmRepository/a",
                "--chart=c",
                "--values=/nonexistent/values.yaml",
            ],
            "reading values from /nonexistent/values.yaml failed: No such file or directory (os error 2)",
        ),
        (
            &["create", "alert", "x", "--event-source=Kustomization/a"],
            "provider ref is required",
        ),
        (
            &[
                "create",
                "alert",
                "x",
                "--provider-ref=p",
                "--event-source=Deployment/a",
            ],
            "invalid event source 'Deployment/a': 'Deployment' is not a recognized Flux kind",
        ),
        (
            &["create", "alert-provider", "x"],
            "Provider type is required",
        ),
        (
            &[
                "create",
                "receiver",
                "x",
                "--type=svn",
                "--secret-ref=s",
                "--resource=GitRepository/a",
            ],
            "invalid --type 'svn'",
        ),
        (
            &[
                "create",
                "source",
                "git",
                "x",
                "--url=https://h/r",
                "--branch=m",
                "--label=a",
            ],
            "invalid label format 'a', must be key=value",
        ),
    ];
    for (args, want) in cases {
        let mut args = args.to_vec();
        args.push("--export");
        let run = ferroflux(kubeconfig, &args).await;
        assert_eq!(run.code, Some(1), "{args:?}: {}", run.stdout);
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        assert_eq!(run.stderr.lines().count(), 1, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.starts_with(&format!("Error: {want}")),
            "{args:?}: {:?} does not start with {want:?}",
            run.stderr
        );
        assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
    }
    // A name that is not an RFC 1123 label: clap's one line (exit 2 as any usage error).
    let run = ferroflux(
        kubeconfig,
        &["create", "source", "git", "Bad_Name", "--export"],
    )
    .await;
    assert_eq!(run.code, Some(2));
    assert!(
        run.stderr.contains("name 'Bad_Name' is invalid"),
        "{}",
        run.stderr
    );
    // No cluster: the server is named.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("kubeconfig");
    std::fs::write(
        &cfg,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n\
         contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user: {}\n",
    )
    .unwrap();
    let run = ferroflux(
        &cfg,
        &[
            "create",
            "source",
            "helm",
            "x",
            "--url=https://charts.example.com",
        ],
    )
    .await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("cannot reach the Kubernetes API server at https://127.0.0.1:1"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn created_git_source_and_kustomization_become_ready() {
    let work = tempfile::tempdir().unwrap();
    let git_dir = tempfile::tempdir().unwrap();
    let stack = match Stack::start(StackOptions::beside_current_exe(work.path())).await {
        Ok(s) => s,
        Err(e @ StackError::MissingBinary(_)) => panic!(
            "{e}\nbuild the controllers first: cargo build --bins -p ferroflux-testenv \
             -p source-controller -p kustomize-controller -p notification-controller"
        ),
        Err(e) => panic!("starting the stack: {e}"),
    };
    let kubeconfig = stack.kubeconfig();
    let client = stack.client().await.unwrap();
    let git = GitServer::start(git_dir.path(), None).unwrap();
    let repo = GitRepo::create(git.root(), "app").unwrap();
    repo.write(
        "deploy/settings.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: created\n  namespace: default\ndata:\n  k: v\n",
    )
    .unwrap();
    let sha = repo.commit("first").unwrap();
    let revision = format!("main@sha1:{sha}");
    let url = git.url("app");

    let run = ferroflux(
        &kubeconfig,
        &[
            "create",
            "source",
            "git",
            "app",
            &format!("--url={url}"),
            "--branch=main",
            "--timeout=90s",
        ],
    )
    .await;
    run.assert_ok();
    assert_eq!(
        run.stderr,
        format!(
            "✚ generating GitRepository source\n► applying GitRepository source\n\
             ✔ GitRepository source created\n◎ waiting for GitRepository source reconciliation\n\
             ✔ GitRepository source reconciliation completed\n✔ fetched revision: {revision}\n"
        )
    );
    let run = ferroflux(
        &kubeconfig,
        &[
            "create",
            "ks",
            "app",
            "--source=app",
            "--path=./deploy",
            "--prune",
            "--timeout=90s",
        ],
    )
    .await;
    run.assert_ok();
    assert_eq!(
        run.stderr,
        format!(
            "✚ generating Kustomization\n► applying Kustomization\n✔ Kustomization created\n\
             ◎ waiting for Kustomization reconciliation\n✔ Kustomization app is ready\n\
             ✔ applied revision {revision}\n"
        )
    );
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client.clone(), "default");
    assert!(
        cms.get_opt("created").await.unwrap().is_some(),
        "applied when create returned"
    );

    // A Kustomization that cannot become Ready: exit 1 with the controller's message.
    let run = ferroflux(
        &kubeconfig,
        &[
            "create",
            "ks",
            "broken",
            "--source=app",
            "--path=./missing",
            "--timeout=90s",
        ],
    )
    .await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let last = run.stderr.lines().last().unwrap_or("");
    assert!(
        last.starts_with("Error: Kustomization reconciliation failed: '")
            && last.contains("missing"),
        "{}",
        run.stderr
    );
    // Its export, applied as kubectl users would, changes nothing.
    let run = ferroflux(
        &kubeconfig,
        &[
            "create",
            "ks",
            "app",
            "--source=app",
            "--path=./deploy",
            "--prune",
            "--export",
        ],
    )
    .await;
    let export = exported(&run);
    let before = kinds::KUSTOMIZATION
        .api(&client, Some("flux-system"))
        .get("app")
        .await
        .unwrap();
    let api = kinds::KUSTOMIZATION.api(&client, Some("flux-system"));
    let after = api
        .patch(
            "app",
            &kube::api::PatchParams::apply("ferroflux"),
            &kube::api::Patch::Apply(&export),
        )
        .await
        .unwrap();
    assert_eq!(before.metadata.generation, after.metadata.generation);
    assert_eq!(
        before.metadata.resource_version,
        after.metadata.resource_version
    );
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_export_and_apply_without_echoing_values() {
    let c = Cluster::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let ca_text = "-----BEGIN CERTIFICATE-----\nMIIBdGVzdA==\n-----END CERTIFICATE-----\n";
    std::fs::write(&ca, ca_text).unwrap();
    let ca_flag = format!("--ca-crt-file={}", ca.display());
    let cases: Vec<(Vec<&str>, Value)> = vec![
        (
            vec![
                "create",
                "secret",
                "git",
                "git-auth",
                "--url=https://example.com/r.git",
                "--username=bot",
                "--password=hunter2",
                &ca_flag,
            ],
            json!({"apiVersion": "v1", "kind": "Secret",
                   "metadata": {"name": "git-auth", "namespace": "flux-system"},
                   "stringData": {"username": "bot", "password": "hunter2", "ca.crt": ca_text}}),
        ),
        (
            vec![
                "create",
                "secret",
                "git",
                "token",
                "--url=https://example.com/r.git",
                "--bearer-token=tok3n",
            ],
            json!({"apiVersion": "v1", "kind": "Secret",
                   "metadata": {"name": "token", "namespace": "flux-system"},
                   "stringData": {"bearerToken": "tok3n"}}),
        ),
        (
            vec![
                "create",
                "secret",
                "helm",
                "charts",
                "--username=bot",
                "--password=hunter2",
            ],
            json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/basic-auth",
                   "metadata": {"name": "charts", "namespace": "flux-system"},
                   "stringData": {"username": "bot", "password": "hunter2"}}),
        ),
        (
            vec!["create", "secret", "tls", "certs", &ca_flag],
            json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                   "metadata": {"name": "certs", "namespace": "flux-system"},
                   "stringData": {"ca.crt": ca_text}}),
        ),
    ];
    for (args, want) in &cases {
        let mut args = args.clone();
        args.push("--export");
        let run = c.ferroflux(&args).await;
        assert_eq!(&exported(&run), want, "{args:?}");
    }
    let run = c
        .ferroflux(&[
            "create",
            "secret",
            "oci",
            "ghcr",
            "--url=ghcr.io",
            "-u",
            "bot",
            "-p",
            "hunter2",
            "--export",
        ])
        .await;
    let secret = exported(&run);
    assert_eq!(secret["type"], "kubernetes.io/dockerconfigjson");
    let config: Value =
        serde_json::from_str(secret["stringData"][".dockerconfigjson"].as_str().unwrap()).unwrap();
    assert_eq!(config["auths"]["ghcr.io"]["password"], "hunter2");

    // Applied: the Secret holds the values, the message names only the Secret.
    let run = c
        .ferroflux(&[
            "create",
            "secret",
            "helm",
            "charts",
            "--username=bot",
            "--password=hunter2",
        ])
        .await;
    run.assert_ok();
    assert_eq!(
        run.stderr,
        "► secret 'charts' created in 'flux-system' namespace\n"
    );
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(c.client.clone(), "flux-system");
    let s = secrets.get("charts").await.unwrap();
    assert_eq!(s.type_.as_deref(), Some("kubernetes.io/basic-auth"));
    let data = s.data.unwrap();
    assert_eq!(data["password"].0, b"hunter2");

    // Bad input: one line, no value in it.
    let bad: &[(&[&str], &str)] = &[
        (
            &[
                "create",
                "secret",
                "git",
                "x",
                "--url=https://h/r",
                "--password=hunter2",
            ],
            "for Git over HTTP/S the username and password, or a bearer token, are required",
        ),
        (
            &[
                "create",
                "secret",
                "git",
                "x",
                "--url=https://h/r",
                "-u",
                "a",
                "-p",
                "hunter2",
                "--bearer-token=hunter2",
            ],
            "user credentials and bearer token cannot be used together",
        ),
        (
            &["create", "secret", "git", "x", "--url=ssh://git@h/r"],
            "SSH Secrets are not supported yet",
        ),
        (
            &[
                "create",
                "secret",
                "tls",
                "x",
                "--tls-crt-file=/etc/hostname",
                "--tls-key-file=/etc/hostname",
            ],
            "--tls-crt-file /etc/hostname is not a PEM file",
        ),
        (
            &["create", "secret", "oci", "x", "--url=ghcr.io", "-u", "bot"],
            "--username and --password are required",
        ),
    ];
    for (args, want) in bad {
        let mut args = args.to_vec();
        args.push("--export");
        let run = c.ferroflux(&args).await;
        assert_eq!(run.code, Some(1), "{args:?}");
        assert!(
            run.stderr.starts_with(&format!("Error: {want}")),
            "{args:?}: {}",
            run.stderr
        );
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tenant_exports_and_applies_its_namespaces_account_and_bindings() {
    let c = Cluster::start().await;
    let run = c
        .ferroflux(&[
            "create",
            "tenant",
            "dev-team",
            "--with-namespace=team-a,team-b",
            "--with-service-account=flux-tenant",
            "--cluster-role=edit",
            "--export",
        ])
        .await;
    run.assert_ok();
    let docs: Vec<Value> = run
        .stdout
        .split("---\n")
        .filter(|d| !d.is_empty())
        .map(|d| serde_yaml::from_str(d).unwrap())
        .collect();
    let shape: Vec<String> = docs
        .iter()
        .map(|d| {
            format!(
                "{}/{}/{}",
                d["kind"].as_str().unwrap(),
                d["metadata"]["namespace"].as_str().unwrap_or(""),
                d["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            "Namespace//team-a",
            "ServiceAccount/team-a/flux-tenant",
            "RoleBinding/team-a/dev-team-reconciler",
            "Namespace//team-b",
            "ServiceAccount/team-b/flux-tenant",
            "RoleBinding/team-b/dev-team-reconciler",
        ]
    );
    assert_eq!(
        docs[2],
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "dev-team-reconciler", "namespace": "team-a",
                            "labels": {"toolkit.fluxcd.io/tenant": "dev-team"}},
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"},
               "subjects": [
                   {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "gotk:team-a:reconciler"},
                   {"kind": "ServiceAccount", "name": "flux-tenant", "namespace": "team-a"}]})
    );

    let run = c
        .ferroflux(&["create", "tenant", "dev-team", "--with-namespace=team-a"])
        .await;
    run.assert_ok();
    assert_eq!(
        run.stderr,
        "► applying namespace team-a\n► applying service account dev-team\n\
         ► applying role binding dev-team-reconciler\n✔ tenant setup completed\n"
    );
    let bindings: kube::Api<k8s_openapi::api::rbac::v1::RoleBinding> =
        kube::Api::namespaced(c.client.clone(), "team-a");
    let rb = bindings.get("dev-team-reconciler").await.unwrap();
    assert_eq!(rb.role_ref.name, "cluster-admin");
    let run = c
        .ferroflux(&["create", "tenant", "dev-team", "--export"])
        .await;
    assert_eq!(run.stderr, "Error: with-namespace is required\n");
    let run = c
        .ferroflux(&[
            "create",
            "tenant",
            "dev-team",
            "--with-namespace=../x",
            "--export",
        ])
        .await;
    assert_eq!(run.stderr, "Error: invalid namespace '../x'\n");
}
