//! `ferroflux build helmrelease` and `diff helmrelease` against the real
//! controllers (the stack of processes): a chart in Git released by
//! helm-controller, then the build compared with the live objects, the diff
//! empty right after the release and showing exactly the changed fields
//! after a values change, Secret values masked, and plain output in a pipe
//! (colours only on a terminal, checked through `script`'s pseudo-terminal).

use std::collections::BTreeSet;
use std::time::Duration;

use ferroflux_cli::kinds;
use ferroflux_cli::stack::{Stack, StackError, StackOptions};
use ferroflux_cli::tree::ObjRef;
use ferroflux_ssa::{ObjMeta, Resolver};
use ferroflux_testsupport::git::{GitRepo, GitServer};
use ferroflux_testsupport::wait::eventually;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use crate::cluster::{Run, ferroflux};

const LIMIT: Duration = Duration::from_secs(90);
const OLD_PASSWORD: &str = "hunter2-before";
const NEW_PASSWORD: &str = "hunter2-after";

/// The chart: a ConfigMap post-rendered by the HelmRelease, a Secret, a
/// Service and a Deployment, and an optional ConfigMap.
fn write_chart(repo: &GitRepo) {
    let files = [
        (
            "charts/web/Chart.yaml",
            "apiVersion: v2\nname: web\nversion: 1.0.0\n",
        ),
        (
            "charts/web/values.yaml",
            "greeting: hello\nreplicas: 1\nextra: true\npassword: none\n",
        ),
        (
            "charts/web/templates/settings.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  colour: blue\n",
        ),
        (
            "charts/web/templates/extra.yaml",
            "{{- if .Values.extra }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-extra\ndata:\n  k: v\n{{- end }}\n",
        ),
        (
            "charts/web/templates/secret.yaml",
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-creds\ntype: Opaque\ndata:\n  password: {{ .Values.password | b64enc }}\n  user: {{ \"admin\" | b64enc }}\n",
        ),
        (
            "charts/web/templates/service.yaml",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  selector:\n    app: web\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n",
        ),
        (
            "charts/web/templates/deployment.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  replicas: {{ .Values.replicas }}\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n        ports:\n        - containerPort: 8080\n",
        ),
    ];
    for (path, text) in files {
        repo.write(path, text).unwrap();
    }
    repo.commit("chart").unwrap();
}

async fn apply(client: &kube::Client, obj: Value) {
    let resolver = Resolver::new(client.clone());
    let meta = ObjMeta::of(&obj).unwrap();
    let r = resolver
        .resolve(&meta.api_version(), &meta.kind)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{} is served", meta.kind));
    let api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &meta.namespace, &r.resource);
    api.patch(
        &meta.name,
        &PatchParams::apply("cli-test").force(),
        &Patch::Apply(&obj),
    )
    .await
    .unwrap_or_else(|e| panic!("applying {meta}: {e}"));
}

fn values_config_map(greeting: &str, password: &str, extra: bool) -> Value {
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "web-values", "namespace": "flux-system"},
        "data": {"values.yaml": format!("greeting: {greeting}\npassword: {password}\nextra: {extra}\n")},
    })
}

fn helm_release() -> Value {
    json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
        "metadata": {"name": "web", "namespace": "flux-system"},
        "spec": {
            "interval": "1h",
            "targetNamespace": "default",
            "chart": {"spec": {
                "chart": "./charts/web",
                "sourceRef": {"kind": "GitRepository", "name": "app"},
                "interval": "1h"
            }},
            "valuesFrom": [{"kind": "ConfigMap", "name": "web-values"}],
            "values": {"replicas": 2},
            "commonMetadata": {"labels": {"team": "blue"}},
            "postRenderers": [{"kustomize": {"patches": [{
                "target": {"kind": "ConfigMap", "name": "default-web-settings"},
                "patch": "- op: add\n  path: /metadata/annotations\n  value:\n    patched-by: post-renderer\n"
            }]}}]
        }
    })
}

async fn ready_at(
    client: &kube::Client,
    kind: &kinds::FluxKind,
    name: &str,
    generation: bool,
) -> Value {
    let api = kind.api(client, Some("flux-system"));
    eventually(
        &format!("{} {name} to be ready", kind.kind),
        LIMIT,
        async || {
            let o = api.get_opt(name).await.ok()??;
            let v = serde_json::to_value(o).ok()?;
            let at_generation =
                !generation || v["status"]["observedGeneration"] == v["metadata"]["generation"];
            (kinds::condition(&v, "Ready")?["status"] == "True" && at_generation).then_some(v)
        },
    )
    .await
}

fn documents(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|d| <Value as serde::Deserialize>::deserialize(d).expect("YAML document"))
        .filter(Value::is_object)
        .collect()
}

/// Whether `live` holds everything `want` says (what the server adds —
/// defaults, status, bookkeeping metadata — is ignored).
fn holds(live: &Value, want: &Value, at: &str, mismatches: &mut Vec<String>) {
    match (live, want) {
        (Value::Object(l), Value::Object(w)) => {
            for (k, wv) in w {
                match l.get(k) {
                    Some(lv) => holds(lv, wv, &format!("{at}.{k}"), mismatches),
                    None => mismatches.push(format!("{at}.{k}: missing on the cluster")),
                }
            }
        }
        (Value::Array(l), Value::Array(w)) if l.len() == w.len() => {
            for (n, (lv, wv)) in l.iter().zip(w).enumerate() {
                holds(lv, wv, &format!("{at}[{n}]"), mismatches);
            }
        }
        (l, w) if l == w => {}
        (l, w) => mismatches.push(format!("{at}: built {w}, live {l}")),
    }
}

async fn live(client: &kube::Client, obj: &Value) -> Option<Value> {
    let meta = ObjMeta::of(obj).unwrap();
    let r = Resolver::new(client.clone())
        .resolve(&meta.api_version(), &meta.kind)
        .await
        .unwrap()?;
    let api: Api<DynamicObject> = if r.namespaced {
        Api::namespaced_with(client.clone(), &meta.namespace, &r.resource)
    } else {
        Api::all_with(client.clone(), &r.resource)
    };
    api.get_opt(&meta.name)
        .await
        .unwrap()
        .map(|o| serde_json::to_value(o).unwrap())
}

/// `build helmrelease` equals what helm-controller applied: the same
/// objects as the HelmRelease's inventory, each held by its live object.
async fn assert_build_is_live(client: &kube::Client, kubeconfig: &std::path::Path) -> Vec<Value> {
    assert_release_is_live(client, kubeconfig, "web").await
}

async fn assert_release_is_live(
    client: &kube::Client,
    kubeconfig: &std::path::Path,
    name: &str,
) -> Vec<Value> {
    let run = ferroflux(kubeconfig, &["build", "helmrelease", name]).await;
    run.assert_ok();
    assert_plain(&run);
    let built = documents(&run.stdout);
    let hr = ready_at(client, &kinds::HELM_RELEASE, name, true).await;
    let inventory: BTreeSet<(String, String, String)> = hr["status"]["inventory"]["entries"]
        .as_array()
        .expect("an inventory")
        .iter()
        .filter_map(|e| ObjRef::parse_inventory_id(kinds::str_at(&e["id"])))
        .map(|r| (r.group_kind.kind, r.namespace, r.name))
        .collect();
    let names: BTreeSet<(String, String, String)> = built
        .iter()
        .map(|o| {
            let m = ObjMeta::of(o).unwrap();
            (m.kind, m.namespace, m.name)
        })
        .collect();
    assert_eq!(
        names, inventory,
        "built objects vs inventory:\n{}",
        run.stdout
    );
    let mut mismatches = Vec::new();
    for obj in &built {
        let id = ObjMeta::of(obj).unwrap().to_string();
        let Some(l) = live(client, obj).await else {
            mismatches.push(format!("{id}: not on the cluster"));
            continue;
        };
        holds(&l, obj, &id, &mut mismatches);
    }
    assert!(
        mismatches.is_empty(),
        "build differs from the live objects:\n{}",
        mismatches.join("\n")
    );
    built
}

fn assert_plain(run: &Run) {
    assert!(
        !run.stdout.contains('\x1b') && !run.stderr.contains('\x1b'),
        "escape codes in piped output:\n{:?}\n{:?}",
        run.stdout,
        run.stderr
    );
}

/// Runs `ferroflux args` on a pseudo-terminal (util-linux `script`),
/// returning everything it printed.
async fn on_terminal(kubeconfig: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut command = env!("CARGO_BIN_EXE_ferroflux").to_string();
    for a in args {
        command.push(' ');
        command.push_str(a);
    }
    let mut cmd = tokio::process::Command::new("script");
    cmd.args(["-qefc", &command, "/dev/null"])
        .env("KUBECONFIG", kubeconfig)
        .env("TERM", "xterm")
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().await.expect("script (util-linux) runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn build_and_diff_helmrelease_match_what_helm_controller_applies() {
    let work = tempfile::tempdir().unwrap();
    let git_dir = tempfile::tempdir().unwrap();
    let stack = match Stack::start(StackOptions::beside_current_exe(work.path())).await {
        Ok(s) => s,
        Err(e @ StackError::MissingBinary(_)) => panic!(
            "{e}\nbuild the controllers first: cargo build --bins -p ferroflux-testenv \
             -p source-controller -p kustomize-controller -p helm-controller -p notification-controller"
        ),
        Err(e) => panic!("starting the stack: {e}"),
    };
    let kubeconfig = stack.kubeconfig();
    let client = stack.client().await.unwrap();
    let git = GitServer::start(git_dir.path(), None).unwrap();
    let repo = GitRepo::create(git.root(), "app").unwrap();
    write_chart(&repo);
    apply(
        &client,
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "app", "namespace": "flux-system"},
            "spec": {"url": git.url("app"), "interval": "1h", "ref": {"branch": "main"}}
        }),
    )
    .await;
    apply(&client, values_config_map("hello", OLD_PASSWORD, true)).await;
    apply(&client, helm_release()).await;
    ready_at(&client, &kinds::HELM_RELEASE, "web", true).await;

    // The build is what helm-controller applied, with every layer on it.
    let built = assert_build_is_live(&client, &kubeconfig).await;
    let kinds_in_order: Vec<&str> = built.iter().map(|o| o["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds_in_order,
        ["ConfigMap", "ConfigMap", "Secret", "Service", "Deployment"],
        "objects in apply order"
    );
    let settings = built
        .iter()
        .find(|o| o["metadata"]["name"] == "default-web-settings")
        .expect("the settings ConfigMap");
    assert_eq!(settings["data"]["greeting"], "hello", "valuesFrom");
    assert_eq!(
        settings["metadata"]["annotations"]["patched-by"],
        "post-renderer"
    );
    assert_eq!(
        settings["metadata"]["annotations"]["meta.helm.sh/release-name"],
        "default-web"
    );
    assert_eq!(
        settings["metadata"]["annotations"]["meta.helm.sh/release-namespace"],
        "default"
    );
    assert_eq!(
        settings["metadata"]["labels"]["team"], "blue",
        "commonMetadata"
    );
    assert_eq!(
        settings["metadata"]["labels"]["helm.toolkit.fluxcd.io/name"],
        "web"
    );
    assert_eq!(
        settings["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "Helm"
    );
    let deployment = built.iter().find(|o| o["kind"] == "Deployment").unwrap();
    assert_eq!(
        deployment["spec"]["replicas"], 2,
        "spec.values over the chart's"
    );

    // Right after the release: nothing to show, exit code 0.
    let run = ferroflux(&kubeconfig, &["diff", "helmrelease", "web"]).await;
    run.assert_ok();
    assert_eq!(run.stdout, "", "no differences right after the release");
    assert_plain(&run);

    // A values change: exactly that field of that object, exit code 1.
    apply(&client, values_config_map("bonjour", OLD_PASSWORD, true)).await;
    let run = ferroflux(&kubeconfig, &["diff", "hr", "web"]).await;
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    assert_plain(&run);
    let headers: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with('►')).collect();
    assert_eq!(
        headers,
        ["► ConfigMap/default/default-web-settings drifted"],
        "{}",
        run.stdout
    );
    let changed: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| {
            (l.starts_with('-') || l.starts_with('+'))
                && !l.starts_with("---")
                && !l.starts_with("+++")
        })
        .collect();
    assert_eq!(
        changed,
        ["-  greeting: hello", "+  greeting: bonjour"],
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("identified at least one change"),
        "{}",
        run.stderr
    );

    // A secret value changed and an object left the chart: the Secret shows
    // which key changed and no value; the object the release had is deleted.
    apply(&client, values_config_map("bonjour", NEW_PASSWORD, false)).await;
    let run = ferroflux(&kubeconfig, &["diff", "hr", "web"]).await;
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    let headers: BTreeSet<&str> = run.stdout.lines().filter(|l| l.starts_with('►')).collect();
    assert_eq!(
        headers,
        BTreeSet::from([
            "► ConfigMap/default/default-web-settings drifted",
            "► Secret/default/default-web-creds drifted",
            "► ConfigMap/default/default-web-extra deleted",
        ]),
        "{}",
        run.stdout
    );
    for secret in [OLD_PASSWORD, NEW_PASSWORD] {
        for shown in [secret.to_string(), base64(secret)] {
            assert!(
                !run.stdout.contains(&shown),
                "a Secret value in the diff:\n{}",
                run.stdout
            );
            assert!(
                !run.stderr.contains(&shown),
                "a Secret value on stderr:\n{}",
                run.stderr
            );
        }
    }
    assert!(
        run.stdout.contains("-  password: '***** (before)'"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("+  password: '***** (after)'"),
        "{}",
        run.stdout
    );

    // On a terminal the diff is coloured, unless NO_COLOR says otherwise.
    let shown = on_terminal(&kubeconfig, &["diff", "hr", "web"], &[]).await;
    assert!(
        shown.contains("\x1b[32m+  greeting: bonjour\x1b[0m"),
        "{shown:?}"
    );
    let shown = on_terminal(&kubeconfig, &["diff", "hr", "web"], &[("NO_COLOR", "1")]).await;
    assert!(shown.contains("+  greeting: bonjour"), "{shown:?}");
    assert!(!shown.contains("\x1b["), "NO_COLOR: {shown:?}");

    // helm-controller releases the change. On a terminal the wait shows
    // progress (a status line, cleared at the end) and the marks are
    // coloured; in a pipe the same verb prints only its plain lines.
    let shown = on_terminal(&kubeconfig, &["reconcile", "hr", "web"], &[]).await;
    assert!(
        shown.contains("\r\x1b[2K\u{25ce} waiting for the reconciliation ("),
        "progress on a terminal: {shown:?}"
    );
    assert!(shown.contains("\x1b[32m\u{2714}\x1b[0m"), "{shown:?}");
    // A terminal that cannot erase a line gets neither progress nor colour.
    let shown = on_terminal(
        &kubeconfig,
        &["reconcile", "hr", "web"],
        &[("TERM", "dumb")],
    )
    .await;
    assert!(shown.contains("\u{2714} applied revision"), "{shown:?}");
    assert!(!shown.contains('\x1b'), "TERM=dumb: {shown:?}");
    let run = ferroflux(&kubeconfig, &["reconcile", "hr", "web"]).await;
    run.assert_ok();
    assert_plain(&run);
    assert!(
        run.stderr
            .contains("\u{25ce} waiting for HelmRelease reconciliation\n"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains('\r'),
        "no progress in a pipe: {:?}",
        run.stderr
    );
    // The build is live again and the diff empty.
    let built = assert_build_is_live(&client, &kubeconfig).await;
    assert!(
        built
            .iter()
            .all(|o| o["metadata"]["name"] != "default-web-extra")
    );
    let run = ferroflux(&kubeconfig, &["diff", "hr", "web"]).await;
    run.assert_ok();
    assert_eq!(run.stdout, "");

    // A local chart stands for the source; an unknown release names its namespace.
    let chart_dir = repo.work_dir().join("charts/web");
    let run = ferroflux(
        &kubeconfig,
        &["build", "hr", "web", "--chart", chart_dir.to_str().unwrap()],
    )
    .await;
    run.assert_ok();
    assert_eq!(
        documents(&run.stdout),
        built,
        "--chart renders the same chart the same way"
    );
    let run = ferroflux(&kubeconfig, &["diff", "hr", "nope"]).await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("HelmRelease 'nope' not found in flux-system namespace"),
        "{}",
        run.stderr
    );
    drop(stack);
}

fn base64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A gzipped tar holding `entries` (path, content) as given, `..` included.
fn tgz(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut raw = tar::Builder::new(Vec::new());
    for (path, content) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        // Written into the raw name field, so `..` is kept as a hostile
        // archive would carry it.
        let name = &mut header.as_old_mut().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_cksum();
        raw.append(&header, content.as_bytes()).unwrap();
    }
    let tar = raw.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    gz.finish().unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// Hostile or broken sources: the command fails with one line naming what
/// is wrong, reads no local file, prints nothing of what it refused.
#[tokio::test(flavor = "multi_thread")]
async fn build_helmrelease_refuses_hostile_artifacts_and_names_what_is_missing() {
    use crate::cluster::Cluster;
    let cluster = Cluster::start().await;
    let files = tempfile::tempdir().unwrap();
    let server = ferroflux_testsupport::helm_repo::StaticServer::start(
        files.path(),
        ferroflux_testsupport::git::ServerAuth::None,
    );
    let good = tgz(&[
        (
            "web/Chart.yaml",
            "apiVersion: v2\nname: web\nversion: 1.0.0\n",
        ),
        (
            "web/templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  k: {{ .Values.k | quote }}\n",
        ),
    ]);
    let escaping = tgz(&[
        (
            "web/Chart.yaml",
            "apiVersion: v2\nname: web\nversion: 1.0.0\n",
        ),
        ("web/../../escape.yaml", "x: y\n"),
    ]);
    std::fs::write(files.path().join("good.tgz"), &good).unwrap();
    std::fs::write(files.path().join("escaping.tgz"), &escaping).unwrap();
    let artifact = |url: String, digest: String| {
        json!({
            "observedGeneration": 1,
            "artifact": {
                "url": url, "digest": digest, "revision": "1.0.0",
                "path": "helmchart/flux-system/web/web-1.0.0.tgz",
                "lastUpdateTime": "2026-01-01T00:00:00Z", "size": 1
            },
            "conditions": crate::cluster::ready("True", "ChartPullSucceeded", "pulled"),
        })
    };
    let chart_spec = json!({"chart": "web", "sourceRef": {"kind": "HelmRepository", "name": "r"}, "interval": "1h"});
    let hr_spec = |chart: &str, values_from: Value| {
        json!({"interval": "1h", "chartRef": {"kind": "HelmChart", "name": chart},
               "values": {"k": "v"}, "valuesFrom": values_from})
    };
    let cases = [
        (
            "wrong-digest",
            artifact(
                format!("{}/good.tgz", server.url()),
                sha256(b"something else"),
            ),
            vec![
                "failed to download artifact from",
                "good.tgz failed digest verification",
            ],
        ),
        (
            "local-file",
            artifact("file:///etc/passwd".into(), sha256(b"x")),
            vec!["failed to download artifact from file:///etc/passwd"],
        ),
        (
            "escaping",
            artifact(format!("{}/escaping.tgz", server.url()), sha256(&escaping)),
            vec![
                "could not load chart",
                "illegally references parent directory",
            ],
        ),
        (
            "no-artifact",
            json!({"observedGeneration": 1, "conditions": crate::cluster::ready("False", "Failed", "index unreachable")}),
            vec!["HelmChart/flux-system/no-artifact is not ready: index unreachable"],
        ),
    ];
    for (name, status, expected) in &cases {
        cluster
            .create(
                &kinds::HELM_CHART,
                "flux-system",
                name,
                chart_spec.clone(),
                status.clone(),
            )
            .await;
        cluster
            .create(
                &kinds::HELM_RELEASE,
                "flux-system",
                name,
                hr_spec(name, json!([])),
                json!({}),
            )
            .await;
        let run = cluster.ferroflux(&["build", "hr", name]).await;
        assert_eq!(run.code, Some(1), "{name}: {}\n{}", run.stdout, run.stderr);
        assert_eq!(run.stdout, "", "{name}: nothing printed");
        assert_eq!(
            run.stderr.lines().count(),
            1,
            "{name}: one line: {}",
            run.stderr
        );
        for e in expected {
            assert!(
                run.stderr.contains(e),
                "{name}: {e:?} not in {}",
                run.stderr
            );
        }
        assert!(
            !run.stderr.contains("root:"),
            "{name}: a local file was read"
        );
    }

    // The good chart renders; a missing valuesFrom ConfigMap is named.
    cluster
        .create(
            &kinds::HELM_CHART,
            "flux-system",
            "good",
            chart_spec.clone(),
            artifact(format!("{}/good.tgz", server.url()), sha256(&good)),
        )
        .await;
    cluster
        .create(
            &kinds::HELM_RELEASE,
            "flux-system",
            "good",
            hr_spec("good", json!([])),
            json!({}),
        )
        .await;
    let run = cluster.ferroflux(&["build", "hr", "good"]).await;
    run.assert_ok();
    let docs = documents(&run.stdout);
    assert_eq!(docs.len(), 1, "{}", run.stdout);
    assert_eq!(docs[0]["data"]["k"], "v");
    assert_eq!(docs[0]["metadata"]["namespace"], "flux-system");
    cluster
        .create(
            &kinds::HELM_RELEASE,
            "flux-system",
            "novalues",
            hr_spec("good", json!([{"kind": "ConfigMap", "name": "absent"}])),
            json!({}),
        )
        .await;
    let run = cluster.ferroflux(&["build", "hr", "novalues"]).await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("could not find ConfigMap 'flux-system/absent' or key 'values.yaml' in it"),
        "{}",
        run.stderr
    );
    // Never installed: every object would be created.
    let run = cluster.ferroflux(&["diff", "hr", "good"]).await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(run.stdout, "► ConfigMap/flux-system/cm created\n");
}

/// A chart from an OCIRepository: helm-controller records its version with
/// the artifact digest (`1.2.0+<12 hex>`), and the build renders the same.
#[tokio::test(flavor = "multi_thread")]
async fn build_helmrelease_of_an_oci_chart_renders_its_digest_version() {
    use ferroflux_testsupport::helm_repo::{ChartSpec, push_oci, sdk_python};
    use ferroflux_testsupport::oci_registry::{Registry, available};
    if !available() {
        return;
    }
    let Some(python) = sdk_python() else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let stack = Stack::start(StackOptions::beside_current_exe(work.path()))
        .await
        .expect("the stack (build the controllers first)");
    let kubeconfig = stack.kubeconfig();
    let client = stack.client().await.unwrap();
    let registry = Registry::start();
    let chart = ChartSpec::new("demo", "1.2.0")
        .file("values.yaml", "greeting: hello\n")
        .file(
            "templates/configmap.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  version: {{ .Chart.Version | quote }}\n",
        );
    push_oci(&python, &registry.url("charts"), &[chart], None);
    apply(
        &client,
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "OCIRepository",
               "metadata": {"name": "demo", "namespace": "flux-system"},
               "spec": {"url": registry.url("charts/demo"), "interval": "1h", "insecure": true,
                        "ref": {"tag": "1.2.0"},
                        "layerSelector": {"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
                                          "operation": "copy"}}}),
    )
    .await;
    apply(
        &client,
        json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
               "metadata": {"name": "oci", "namespace": "flux-system"},
               "spec": {"interval": "1h", "chartRef": {"kind": "OCIRepository", "name": "demo"},
                        "values": {"greeting": "from-oci"}}}),
    )
    .await;
    let hr = ready_at(&client, &kinds::HELM_RELEASE, "oci", true).await;
    let version = hr["status"]["history"][0]["chartVersion"]
        .as_str()
        .expect("a recorded chart version")
        .to_string();
    assert!(version.starts_with("1.2.0+"), "{version}");
    let built = assert_release_is_live(&client, &kubeconfig, "oci").await;
    assert_eq!(built.len(), 1);
    assert_eq!(built[0]["data"]["version"], version.as_str());
    assert_eq!(built[0]["data"]["greeting"], "from-oci");
    let run = ferroflux(&kubeconfig, &["diff", "hr", "oci"]).await;
    run.assert_ok();
    assert_eq!(run.stdout, "");
    drop(stack);
}
