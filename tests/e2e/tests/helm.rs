//! helm-controller as a process of the stack: HelmReleases from a Helm
//! repository (charts packaged and indexed by the Helm SDK, served by a
//! static file server) installed and upgraded by the real binaries, their
//! events forwarded by notification-controller, and a SIGKILL in the middle
//! of an upgrade that the restarted controller recovers from.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use ferroflux_cli::stack::{Component, StackOptions};
use ferroflux_testsupport::git::ServerAuth;
use ferroflux_testsupport::helm_repo::{ChartSpec, StaticServer, package_and_index, sdk_python};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::support::{E2e, Kind, ready};

/// A chart whose Deployment rolls out again on every chart version (its
/// pod template names the version) and a ConfigMap showing the version.
fn chart(version: &str) -> ChartSpec {
    ChartSpec::new("web", version)
        .file("values.yaml", "greeting: hello\n")
        .file(
            "templates/configmap.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  version: {{ .Chart.Version | quote }}\n",
        )
        .file(
            "templates/deployment.yaml",
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
spec:
  replicas: 1
  selector:
    matchLabels: {app: {{ .Release.Name }}}
  template:
    metadata:
      labels: {app: {{ .Release.Name }}}
      annotations: {chart-version: {{ .Chart.Version | quote }}}
    spec:
      containers:
      - name: web
        image: ghcr.io/stefanprodan/podinfo:6.7.0
"#,
        )
}

/// A Helm repository for one test: its directory and the server over it.
struct HelmRepo {
    python: PathBuf,
    dir: tempfile::TempDir,
    server: StaticServer,
}

impl HelmRepo {
    /// `None` (outside CI) when the Helm SDK peer is missing.
    fn start() -> Option<HelmRepo> {
        let python = sdk_python()?;
        let dir = tempfile::tempdir().expect("a temporary directory");
        let server = StaticServer::start(dir.path(), ServerAuth::None);
        Some(HelmRepo {
            python,
            dir,
            server,
        })
    }

    fn publish(&self, charts: &[ChartSpec]) {
        package_and_index(&self.python, self.dir.path(), charts);
    }
}

fn namespace_and_repo(ns: &str, url: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Namespace
metadata:
  name: {ns}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: HelmRepository
metadata:
  name: charts
  namespace: {ns}
spec:
  interval: 1h
  url: {url}
"#
    )
}

fn helm_release(ns: &str, version: &str, greeting: &str) -> String {
    helm_release_into(ns, "", version, greeting)
}

/// A HelmRelease in `ns` whose release goes to `target` (when not empty;
/// the namespace is created), its records staying in `ns`.
fn helm_release_into(ns: &str, target: &str, version: &str, greeting: &str) -> String {
    let target = if target.is_empty() {
        String::new()
    } else {
        format!("  targetNamespace: {target}\n  install:\n    createNamespace: true\n")
    };
    format!(
        r#"apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: web
  namespace: {ns}
spec:
  interval: 1h
  timeout: 1m
{target}  chart:
    spec:
      chart: web
      version: "{version}"
      interval: 1h
      sourceRef:
        kind: HelmRepository
        name: charts
  values:
    greeting: {greeting}
"#
    )
}

impl E2e {
    /// Waits until HelmRelease `ns/name` is Ready for its generation with
    /// chart `version` as the last release.
    async fn wait_released(&self, ns: &str, name: &str, version: &str) -> Value {
        self.wait(
            &format!("HelmRelease {ns}/{name} Ready at chart {version}"),
            || async {
                match self.get(Kind::HelmRelease, ns, name).await {
                    Some(hr)
                        if ready(&hr)
                            && hr["status"]["history"][0]["chartVersion"] == version
                            && hr["status"]["history"][0]["status"] == "deployed" =>
                    {
                        Ok(hr)
                    }
                    other => Err(format!(
                        "{:#}",
                        other.map(|o| o["status"].clone()).unwrap_or_default()
                    )),
                }
            },
        )
        .await
    }

    /// Helm's release records of `name` in `ns`: (revision, status label).
    async fn release_records(&self, ns: &str, name: &str) -> Vec<(u32, String)> {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), ns);
        let list = secrets
            .list(&ListParams::default().labels(&format!("owner=helm,name={name}")))
            .await
            .expect("listing release Secrets");
        let mut out: Vec<(u32, String)> = list
            .items
            .iter()
            .map(|s| {
                let labels = s.metadata.labels.clone().unwrap_or_default();
                let version = labels
                    .get("version")
                    .and_then(|v| v.parse().ok())
                    .expect("a release Secret has a numeric version label");
                let status = labels.get("status").cloned().unwrap_or_default();
                (version, status)
            })
            .collect();
        out.sort();
        out
    }

    /// Runs `steps` with the Helm SDK against the stack (crates/helm's
    /// release peer script); one result per step.
    async fn helm_sdk(&self, python: &Path, ns: &str, steps: Value) -> Vec<Value> {
        let spec = json!({
            "kubeconfig": self.stack.kubeconfig(),
            "namespace": ns,
            "driver": "secret",
            "steps": steps,
        });
        let script = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../crates/helm/tests/it/release_peer.py");
        let mut child = tokio::process::Command::new(python)
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the SDK's python starts");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(spec.to_string().as_bytes())
            .await
            .expect("spec written");
        drop(stdin);
        let out = child.wait_with_output().await.expect("the SDK runs");
        assert!(
            out.status.success(),
            "release_peer.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("the SDK's output is JSON")
    }
}

/// The SDK's `history` of a release as (revision, status, chart version).
fn sdk_history(results: &[Value], i: usize) -> Vec<(i64, String, String)> {
    let history = results[i]
        .get("ok")
        .unwrap_or_else(|| panic!("SDK step {i} failed: {}", results[i]["error"]));
    let mut out: Vec<(i64, String, String)> = history
        .as_array()
        .expect("history is a list")
        .iter()
        .map(|h| {
            (
                h["revision"].as_i64().expect("revision"),
                h["status"].as_str().expect("status").to_string(),
                h["chart_version"]
                    .as_str()
                    .unwrap_or_else(|| panic!("no chart_version in {h}"))
                    .to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helm_release_is_installed_and_upgraded_by_the_binaries() {
    let Some(repo) = HelmRepo::start() else {
        return;
    };
    repo.publish(&[chart("1.0.0"), chart("1.1.0")]);
    let e2e = E2e::start().await;
    let ns = "shop";
    e2e.apply(&format!(
        "{}---\n{}",
        namespace_and_repo(ns, &repo.server.url()),
        alert_to_sink(ns, &e2e.sink.url)
    ))
    .await;
    // The release goes to its own namespace; Helm's records stay with the
    // HelmRelease (the storage namespace).
    let target = "shop-apps";
    e2e.apply(&helm_release_into(ns, target, "1.0.0", "hello"))
        .await;
    let hr = e2e.wait_released(ns, "web", "1.0.0").await;
    // Flux's release name with a target namespace: `<target>-<name>`.
    let release = format!("{target}-web");
    assert_eq!(hr["status"]["history"][0]["name"], release, "{hr:#}");
    assert_eq!(hr["status"]["storageNamespace"], ns, "{hr:#}");
    assert_eq!(hr["status"]["history"][0]["namespace"], target, "{hr:#}");
    assert_eq!(hr["status"]["history"][0]["version"], 1, "{hr:#}");
    assert_eq!(hr["status"]["helmChart"], format!("{ns}/{ns}-web"));
    let cm = e2e
        .get(Kind::ConfigMap, target, &format!("{release}-settings"))
        .await
        .expect("the chart's ConfigMap");
    assert_eq!(cm["data"], json!({"greeting": "hello", "version": "1.0.0"}));
    let deployment = e2e
        .get(Kind::Deployment, target, &release)
        .await
        .expect("the chart's Deployment");
    assert_eq!(
        deployment["spec"]["template"]["metadata"]["annotations"]["chart-version"],
        "1.0.0"
    );

    // A new chart version and new values in one change: one upgrade.
    e2e.apply(&helm_release_into(ns, target, "1.1.0", "bonjour"))
        .await;
    let hr = e2e.wait_released(ns, "web", "1.1.0").await;
    assert_eq!(hr["status"]["history"][0]["version"], 2, "{hr:#}");
    let cm = e2e
        .get(Kind::ConfigMap, target, &format!("{release}-settings"))
        .await
        .unwrap();
    assert_eq!(
        cm["data"],
        json!({"greeting": "bonjour", "version": "1.1.0"})
    );
    assert_eq!(
        e2e.release_records(ns, &release).await,
        vec![(1, "superseded".into()), (2, "deployed".into())]
    );

    // Helm itself reads the release helm-controller wrote.
    let results = e2e
        .helm_sdk(
            &repo.python,
            ns,
            json!([{"op": "history", "name": release}, {"op": "get_values", "name": release}]),
        )
        .await;
    let history: Vec<(i64, String)> = sdk_history(&results, 0)
        .into_iter()
        .map(|(r, s, _)| (r, s))
        .collect();
    assert_eq!(
        history,
        vec![(1, "superseded".into()), (2, "deployed".into())]
    );
    assert_eq!(
        results[1].get("ok"),
        Some(&json!({"greeting": "bonjour"})),
        "{results:?}"
    );

    // helm-controller's events reach the chat sink through notification-controller.
    e2e.wait("the upgrade's event forwarded to the sink", || async {
        let got = e2e.sink.events();
        match got.iter().find(|b| {
            b["involvedObject"]["kind"] == "HelmRelease" && b["reason"] == "UpgradeSucceeded"
        }) {
            Some(_) => Ok(()),
            None => Err(format!("{got:#?}")),
        }
    })
    .await;
}

fn alert_to_sink(ns: &str, sink_url: &str) -> String {
    format!(
        r#"apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata:
  name: sink
  namespace: {ns}
spec:
  type: generic
  address: {sink_url}
---
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata:
  name: releases
  namespace: {ns}
spec:
  providerRef:
    name: sink
  eventSeverity: info
  eventSources:
  - kind: HelmRelease
    name: '*'
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_controller_killed_mid_upgrade_recovers_the_release() {
    let Some(repo) = HelmRepo::start() else {
        return;
    };
    repo.publish(&[chart("1.0.0"), chart("2.0.0")]);
    // Rollouts take long enough for the upgrade to be caught in its wait.
    let mut e2e = E2e::start_with(|o| StackOptions {
        simulate_workloads: Some(Duration::from_secs(3)),
        ..o
    })
    .await;
    let ns = "crash";
    e2e.apply(&namespace_and_repo(ns, &repo.server.url())).await;
    e2e.apply(&helm_release(ns, "1.0.0", "hello")).await;
    e2e.wait_released(ns, "web", "1.0.0").await;

    // The upgrade starts: Helm's record of revision 2 is written
    // `pending-upgrade` before the manifest is applied and waited for.
    e2e.apply(&helm_release(ns, "2.0.0", "bonjour")).await;
    e2e.wait("revision 2 pending-upgrade", || async {
        let records = e2e.release_records(ns, "web").await;
        if records.contains(&(2, "pending-upgrade".to_string())) {
            Ok(())
        } else {
            Err(format!("{records:?}"))
        }
    })
    .await;
    e2e.stack.kill(Component::HelmController).await;
    // Killed in the middle: nobody finishes the upgrade while it is down.
    assert_eq!(
        e2e.release_records(ns, "web").await,
        vec![(1, "deployed".into()), (2, "pending-upgrade".into())],
        "the records right after the kill"
    );

    e2e.start_component(Component::HelmController).await;
    let hr = e2e.wait_released(ns, "web", "2.0.0").await;
    let cm = e2e.get(Kind::ConfigMap, ns, "web-settings").await.unwrap();
    assert_eq!(
        cm["data"],
        json!({"greeting": "bonjour", "version": "2.0.0"})
    );

    // A reconcile asked after convergence changes nothing: the release is
    // settled, not still being worked on.
    let asked = "after-the-crash";
    let (annotated, _, err) = e2e
        .kubectl(
            &[
                "annotate",
                "--overwrite",
                "-n",
                ns,
                "helmrelease/web",
                &format!("reconcile.fluxcd.io/requestedAt={asked}"),
            ],
            None,
        )
        .await;
    assert!(annotated, "kubectl annotate: {err}");
    let settled = e2e
        .wait("the requested reconcile handled", || async {
            match e2e.get(Kind::HelmRelease, ns, "web").await {
                Some(o) if o["status"]["lastHandledReconcileAt"] == asked && ready(&o) => Ok(o),
                other => Err(format!("{:#}", other.unwrap_or_default()["status"])),
            }
        })
        .await;
    assert_eq!(
        settled["status"]["history"][0]["version"], hr["status"]["history"][0]["version"],
        "an idle reconcile after recovery made a new revision"
    );

    // Every revision once, in order, nothing pending, the newest deployed
    // at the new chart: as Helm's records and as Helm itself reads them.
    let records = e2e.release_records(ns, "web").await;
    // As Flux: the stale revision is marked failed, then upgraded again.
    assert_eq!(
        records,
        vec![
            (1, "superseded".into()),
            (2, "failed".into()),
            (3, "deployed".into())
        ],
        "the records after recovery"
    );
    let revisions: Vec<u32> = records.iter().map(|(r, _)| *r).collect();
    let expected: Vec<u32> = (1..=revisions.len() as u32).collect();
    assert_eq!(revisions, expected, "revisions: {records:?}");
    assert!(
        records.iter().all(|(_, s)| !s.starts_with("pending")),
        "a record is left pending: {records:?}"
    );
    let deployed: Vec<_> = records.iter().filter(|(_, s)| s == "deployed").collect();
    assert_eq!(
        deployed,
        vec![records.last().unwrap()],
        "exactly the newest revision is deployed: {records:?}"
    );
    let results = e2e
        .helm_sdk(&repo.python, ns, json!([{"op": "history", "name": "web"}]))
        .await;
    let history = sdk_history(&results, 0);
    let unique: BTreeSet<i64> = history.iter().map(|h| h.0).collect();
    assert_eq!(
        unique.len(),
        history.len(),
        "duplicate revisions: {history:?}"
    );
    let last = history.last().expect("a history");
    assert_eq!(last.1, "deployed", "{history:?}");
    assert_eq!(last.2, "2.0.0", "{history:?}");
    assert!(
        history.iter().all(|h| !h.1.starts_with("pending")),
        "{history:?}"
    );
    // The HelmRelease's own history agrees and names each revision once.
    let snapshots: Vec<i64> = hr["status"]["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|s| s["version"].as_i64().expect("version"))
        .collect();
    let unique: BTreeSet<i64> = snapshots.iter().copied().collect();
    assert_eq!(unique.len(), snapshots.len(), "{snapshots:?}");
    assert_eq!(snapshots[0], last.0, "{snapshots:?} vs {history:?}");
}
