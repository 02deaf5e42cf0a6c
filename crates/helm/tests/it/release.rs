//! Release records: encode, decode, and interoperate with the Helm SDK against testenv.
//!
//! The Helm v4 SDK (`helm-python-sdk`, Go's Helm 4 engine through its C ABI)
//! is the other client: it installs, upgrades and rolls back releases in
//! testenv while these tests read and write the same Secrets with
//! `ferroflux_helm::release`. Each test drives the SDK from one or two short
//! Python processes (`release_peer.py`); without the SDK the tests skip
//! outside CI and fail under CI.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ferroflux_helm::release::codec::{self, Limits};
use ferroflux_helm::release::revision::{self, ApplyMethod, Rendered};
use ferroflux_helm::release::storage::{self, Driver, Record, Stamp};
use ferroflux_helm::release::{Chart, File, GoTime, History, Info, Metadata, Release, Status};
use ferroflux_testenv::TestEnv;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use kube::Api;
use kube::api::{ListParams, PostParams};
use serde_json::{Map, Value, json};
use tokio::io::AsyncWriteExt;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The SDK's Python, or `None` (after saying why) when it is not installed
/// outside CI.
fn python() -> Option<PathBuf> {
    let python = workspace().join("target/peers/venv/bin/python");
    if python.exists() {
        return Some(python);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but {} is missing: hack/install-peers should have created it",
        python.display()
    );
    eprintln!(
        "SKIPPED: release interop needs the Helm SDK: run hack/install-peers (the test command does) to create {}",
        python.display()
    );
    None
}

/// Runs `spec` with the SDK in one process; one result per step.
async fn run_peer(python: &Path, spec: &Value) -> Vec<Value> {
    let mut child = tokio::process::Command::new(python)
        .arg(workspace().join("crates/helm/tests/it/release_peer.py"))
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
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "release_peer.py output is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// Runs `steps` with the SDK in one process; one result per step.
async fn sdk(python: &Path, env: &TestEnv, ns: &str, steps: Value) -> Vec<Value> {
    sdk_with_driver(python, env, ns, "secret", steps).await
}

/// [`sdk`] with Helm's storage driver `driver` (`secret`, `configmap`).
async fn sdk_with_driver(
    python: &Path,
    env: &TestEnv,
    ns: &str,
    driver: &str,
    steps: Value,
) -> Vec<Value> {
    let spec = json!({
        "kubeconfig": env.kubeconfig_path(),
        "namespace": ns,
        "driver": driver,
        "steps": steps,
    });
    run_peer(python, &spec).await
}

/// A step's result, failing the test with the SDK's error otherwise.
fn ok<'a>(results: &'a [Value], i: usize, what: &str) -> &'a Value {
    let r = &results[i];
    match r.get("ok") {
        Some(v) => v,
        None => panic!("SDK step {i} ({what}) failed: {}", r["error"]),
    }
}

async fn setup(ns: &str) -> (TestEnv, kube::Client) {
    let env = TestEnv::start().await.expect("testenv starts");
    let client = env.client().await.expect("client");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns}})).expect("namespace"),
        )
        .await
        .expect("namespace created");
    (env, client)
}

/// The release Secrets in `ns`, as the Kubernetes JSON the API serves.
async fn record_objects(client: &kube::Client, ns: &str) -> Vec<Value> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let list = secrets
        .list(&ListParams::default().labels(&storage::owner_selector()))
        .await
        .expect("secrets listed");
    list.items
        .into_iter()
        .map(|s| serde_json::to_value(s).expect("secret as JSON"))
        .collect()
}

async fn history(client: &kube::Client, ns: &str, name: &str) -> History {
    let objects = record_objects(client, ns).await;
    let history = History::from_objects(name, Driver::Secret, &objects, Limits::default());
    assert!(
        history.skipped().is_empty(),
        "records that did not decode: {:?}",
        history.skipped()
    );
    history
}

/// The release JSON exactly as the writer stored it in the Secret.
fn stored_json(object: &Value) -> Vec<u8> {
    let outer = object["data"]["release"].as_str().expect("data.release");
    let inner = STANDARD.decode(outer).expect("Secret data is base64");
    codec::decode_json(
        std::str::from_utf8(&inner).expect("text"),
        Limits::default(),
    )
    .expect("data.release decodes")
}

async fn create_record(client: &kube::Client, ns: &str, record: &Record) {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let object = record
        .to_object(Driver::Secret, Stamp::created_now())
        .expect("record encodes");
    secrets
        .create(
            &PostParams::default(),
            &serde_json::from_value(object).expect("a Secret"),
        )
        .await
        .expect("record created");
}

async fn replace_record(client: &kube::Client, ns: &str, record: &Record) {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let object = record
        .to_object(Driver::Secret, Stamp::modified_now())
        .expect("record encodes");
    // Helm's driver replaces records without a resourceVersion; so does this.
    secrets
        .replace(
            &record.object_name(),
            &PostParams::default(),
            &serde_json::from_value(object).expect("a Secret"),
        )
        .await
        .expect("record replaced");
}

async fn config_map_data(client: &kube::Client, ns: &str, name: &str) -> Value {
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let cm = cms.get(name).await.expect("ConfigMap exists");
    serde_json::to_value(cm.data).expect("data")
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
    std::fs::write(path, text).expect("file written");
}

const CM_TEMPLATE: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ include \"demo.name\" . }}\ndata:\n  greeting: {{ .Values.greeting | quote }}\n";

/// A chart using what a release record stores: metadata with maintainers,
/// keywords, annotations and a dependency, a lock, a subchart, a schema, a
/// hook with every policy, helpers, notes and a plain file.
fn write_full_chart(root: &Path) {
    write(
        root,
        "Chart.yaml",
        "apiVersion: v2\nname: demo\nversion: 0.1.0\nappVersion: \"1.0\"\ndescription: release records <&> interop\n\
         type: application\nkeywords: [records, interop]\nhome: https://example.com/demo\n\
         sources: [https://example.com/src]\nmaintainers:\n  - name: Ferroflux\n    email: dev@example.com\n    url: https://example.com\n\
         annotations:\n  example.com/purpose: release-records\nkubeVersion: \">=1.20.0-0\"\n\
         dependencies:\n  - name: sub\n    version: 0.1.0\n    repository: file://charts/sub\n    condition: sub.enabled\n    tags: [extra]\n",
    );
    write(
        root,
        "Chart.lock",
        "dependencies:\n- name: sub\n  repository: file://charts/sub\n  version: 0.1.0\n\
         digest: sha256:4a3b2c1d0e0f00112233445566778899aabbccddeeff00112233445566778899\ngenerated: \"2026-01-02T03:04:05.000000006Z\"\n",
    );
    write(
        root,
        "values.yaml",
        "greeting: hello\nsub:\n  enabled: true\n  size: 2\n",
    );
    write(
        root,
        "values.schema.json",
        "{\"type\": \"object\", \"properties\": {\"greeting\": {\"type\": \"string\"}}}\n",
    );
    write(root, "README.md", "# demo\n");
    write(
        root,
        "templates/_helpers.tpl",
        "{{- define \"demo.name\" -}}{{ .Release.Name }}-cm{{- end -}}\n",
    );
    write(root, "templates/cm.yaml", CM_TEMPLATE);
    write(
        root,
        "templates/hook.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-hook\n  annotations:\n\
         \x20   helm.sh/hook: post-install,post-upgrade\n    helm.sh/hook-weight: \"-5\"\n\
         \x20   helm.sh/hook-delete-policy: before-hook-creation\n    helm.sh/hook-output-log-policy: hook-failed\n\
         data:\n  at: {{ .Release.Revision | quote }}\n",
    );
    write(
        root,
        "templates/NOTES.txt",
        "{{ .Release.Name }} says {{ .Values.greeting }}\n",
    );
    write(
        root,
        "charts/sub/Chart.yaml",
        "apiVersion: v2\nname: sub\nversion: 0.1.0\n",
    );
    write(root, "charts/sub/values.yaml", "size: 1\n");
    write(
        root,
        "charts/sub/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-sub\ndata:\n  size: {{ .Values.size | quote }}\n",
    );
}

/// Fields of the release JSON this version does not know, by path: the
/// SDK's records must have none, or our types miss a field Helm writes.
fn unknown_fields(r: &Release) -> Vec<String> {
    let mut found = Vec::new();
    let mut note = |at: &str, extra: &Map<String, Value>| {
        found.extend(extra.keys().map(|k| format!("{at}.{k}")));
    };
    note("release", &r.extra);
    if let Some(info) = &r.info {
        note("info", &info.extra);
    }
    if let Some(chart) = &r.chart {
        note("chart", &chart.extra);
        if let Some(md) = &chart.metadata {
            note("chart.metadata", &md.extra);
            for m in &md.maintainers {
                note("chart.metadata.maintainers[]", &m.extra);
            }
            for d in &md.dependencies {
                note("chart.metadata.dependencies[]", &d.extra);
            }
        }
        if let Some(lock) = &chart.lock {
            note("chart.lock", &lock.extra);
            for d in lock.dependencies.iter().flatten() {
                note("chart.lock.dependencies[]", &d.extra);
            }
        }
        for f in chart
            .templates
            .iter()
            .flatten()
            .chain(chart.files.iter().flatten())
        {
            note("chart.templates/files[]", &f.extra);
        }
    }
    for h in &r.hooks {
        note("hooks[]", &h.extra);
        note("hooks[].last_run", &h.last_run.extra);
    }
    found
}

fn statuses(history: &Value) -> Vec<(i64, String)> {
    history
        .as_array()
        .expect("history is a list")
        .iter()
        .map(|h| {
            (
                h["revision"].as_i64().expect("revision"),
                h["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect()
}

/// (a) A release the SDK installs and upgrades decodes exactly: every field
/// typed, none unknown, and our encoding is byte for byte the SDK's. Then
/// (b, c) a revision we derive from it is what the SDK lists, shows and
/// upgrades from, and rolls back to.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_records_decode_exactly_and_a_derived_revision_is_helms() {
    let Some(python) = python() else { return };
    let ns = "rel-sdk";
    let (env, client) = setup(ns).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let chart_dir = dir.path().join("demo");
    write_full_chart(&chart_dir);
    let chart_path = chart_dir.to_str().expect("utf-8 path");

    let results = sdk(
        &python,
        &env,
        ns,
        json!([
            {"op": "install", "chart": chart_path, "name": "demo", "labels": {"team": "sdk"},
             "values": {"greeting": "hi <there> & co", "list": [1, 2.5, true, null]}},
            {"op": "upgrade", "chart": chart_path, "name": "demo", "values": {"greeting": "two"}},
        ]),
    )
    .await;
    assert_eq!(ok(&results, 0, "install")["revision"], 1);
    assert_eq!(ok(&results, 1, "upgrade")["revision"], 2);

    let objects = record_objects(&client, ns).await;
    let mut names: Vec<&str> = objects
        .iter()
        .map(|o| o["metadata"]["name"].as_str().expect("name"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["sh.helm.release.v1.demo.v1", "sh.helm.release.v1.demo.v2"]
    );
    for object in &objects {
        assert_eq!(object["type"], storage::SECRET_TYPE);
        let record =
            Record::from_object(Driver::Secret, object, Limits::default()).expect("decodes");
        let stored = stored_json(object);
        let ours = codec::to_json(&record.release).expect("encodes");
        assert!(
            ours == stored,
            "re-encoding differs from the SDK's JSON:\n  sdk:  {}\n  ours: {}",
            String::from_utf8_lossy(&stored),
            String::from_utf8_lossy(&ours)
        );
        assert_eq!(
            unknown_fields(&record.release),
            Vec::<String>::new(),
            "fields the SDK wrote that our types do not know"
        );
        // The labels we would write are the ones Helm wrote.
        let helm_labels: BTreeMap<String, String> =
            serde_json::from_value(object["metadata"]["labels"].clone()).expect("labels");
        let stamp = match (helm_labels.get("modifiedAt"), helm_labels.get("createdAt")) {
            (Some(t), _) => Stamp::Modified(t.parse().expect("unix time")),
            (None, Some(t)) => Stamp::Created(t.parse().expect("unix time")),
            (None, None) => panic!("no timestamp label: {helm_labels:?}"),
        };
        assert_eq!(record.labels_for_write(stamp), helm_labels);
        assert_eq!(
            record.custom_labels(),
            BTreeMap::from([("team".to_owned(), "sdk".to_owned())])
        );
    }

    let h = history(&client, ns, "demo").await;
    assert_eq!(h.records().len(), 2);
    assert_eq!(h.latest().expect("latest").release.version, 2);
    assert_eq!(h.deployed().expect("deployed").release.version, 2);
    assert_eq!(h.next_revision(), 3);
    let v1 = &h.get(1).expect("v1").release;
    let v2 = &h.get(2).expect("v2").release;
    assert_eq!(v1.status(), Some(&Status::Superseded));
    assert_eq!(
        v1.config,
        json!({"greeting": "hi <there> & co", "list": [1, 2.5, true, null]})
            .as_object()
            .cloned()
            .expect("map")
    );
    assert_eq!((v2.name.as_str(), v2.namespace.as_str()), ("demo", ns));
    let info = v2.info.as_ref().expect("info");
    assert_eq!(info.status, Some(Status::Deployed));
    assert_eq!(info.description, "Upgrade complete");
    assert_eq!(info.notes, "demo says two\n");
    assert!(info.deleted.is_none());
    assert_eq!(
        info.first_deployed,
        v1.info.as_ref().expect("v1 info").first_deployed,
        "first_deployed carries over"
    );
    let first = info.first_deployed.as_ref().expect("first_deployed");
    let last = info.last_deployed.as_ref().expect("last_deployed");
    assert!(first.unix_seconds().expect("RFC 3339") <= last.unix_seconds().expect("RFC 3339"));
    assert!(v2.manifest.contains("name: demo-cm") && v2.manifest.contains("greeting: \"two\""));
    assert!(
        v2.manifest.contains("name: demo-sub"),
        "subchart rendered: {}",
        v2.manifest
    );
    assert!(
        !v2.manifest.contains("demo-hook"),
        "hooks are not in the manifest"
    );

    let chart = v2.chart.as_ref().expect("chart");
    let md = chart.metadata.as_ref().expect("metadata");
    assert_eq!(
        (
            md.name.as_str(),
            md.version.as_str(),
            md.app_version.as_str(),
            md.api_version.as_str(),
            md.chart_type.as_str(),
            md.kube_version.as_str(),
        ),
        ("demo", "0.1.0", "1.0", "v2", "application", ">=1.20.0-0")
    );
    assert_eq!(md.description, "release records <&> interop");
    assert_eq!(md.keywords, ["records", "interop"]);
    assert_eq!(md.maintainers[0].email, "dev@example.com");
    assert_eq!(md.annotations["example.com/purpose"], "release-records");
    assert_eq!(md.dependencies[0].name, "sub");
    assert_eq!(md.dependencies[0].condition, "sub.enabled");
    let lock = chart.lock.as_ref().expect("Chart.lock stored");
    assert!(lock.digest.starts_with("sha256:4a3b"));
    assert_eq!(lock.generated.as_str(), "2026-01-02T03:04:05.000000006Z");
    let mut templates: Vec<&str> = chart
        .templates
        .iter()
        .flatten()
        .map(|t| t.name.as_str())
        .collect();
    templates.sort();
    assert_eq!(
        templates,
        [
            "templates/NOTES.txt",
            "templates/_helpers.tpl",
            "templates/cm.yaml",
            "templates/hook.yaml"
        ]
    );
    let cm = chart
        .templates
        .iter()
        .flatten()
        .find(|t| t.name == "templates/cm.yaml")
        .expect("cm template");
    assert_eq!(cm.data.as_deref(), Some(CM_TEMPLATE.as_bytes()));
    assert_eq!(
        chart.schema.as_deref(),
        Some(
            std::fs::read(chart_dir.join("values.schema.json"))
                .expect("schema")
                .as_slice()
        )
    );
    assert!(
        chart
            .files
            .iter()
            .flatten()
            .any(|f| f.name == "README.md" && f.data.as_deref() == Some(&b"# demo\n"[..])),
        "README.md stored in files: {:?}",
        chart.files
    );
    // The chart's defaults as Helm left them after coalescing: the
    // subchart's section gained the `global` it was rendered with.
    let values = chart.values.as_ref().expect("values");
    assert_eq!(values["greeting"], "hello");
    assert_eq!(
        values["sub"],
        json!({"enabled": true, "size": 2, "global": {}})
    );

    assert_eq!(v2.hooks.len(), 1);
    let hook = &v2.hooks[0];
    assert_eq!(
        (hook.name.as_str(), hook.kind.as_str(), hook.path.as_str()),
        ("demo-hook", "ConfigMap", "demo/templates/hook.yaml")
    );
    assert_eq!(hook.events, ["post-install", "post-upgrade"]);
    assert_eq!(hook.weight, -5);
    assert_eq!(hook.delete_policies, ["before-hook-creation"]);
    assert_eq!(hook.output_log_policies, ["hook-failed"]);
    assert_eq!(hook.last_run.phase, "Succeeded");
    assert!(hook.last_run.started_at.is_some() && hook.last_run.completed_at.is_some());
    assert!(hook.manifest.contains("at: \"2\""));

    // Our revision builders start records as the SDK's actions did: with
    // the SDK's times, results and final status, they are its records.
    let rendered = |r: &Release| Rendered {
        chart: r.chart.clone().expect("chart"),
        config: r.config.clone(),
        manifest: r.manifest.clone(),
        hooks: r.hooks.clone(),
        notes: r.info.as_ref().expect("info").notes.clone(),
    };
    let v1_info = v1.info.as_ref().expect("info");
    let mut installed = revision::install(
        "demo",
        ns,
        rendered(v1),
        BTreeMap::from([("team".to_owned(), "sdk".to_owned())]),
        ApplyMethod::ServerSide,
        v1_info.first_deployed.clone().expect("first_deployed"),
    );
    installed
        .release
        .set_status(Status::Superseded, v1_info.description.clone());
    assert_eq!(&installed.release, v1);
    assert_eq!(installed.labels, h.get(1).expect("v1").custom_labels());
    let mut upgraded = revision::upgrade(
        h.get(1).expect("v1"),
        v1,
        rendered(v2),
        &BTreeMap::new(),
        ApplyMethod::auto(v1),
        v2.info
            .as_ref()
            .expect("info")
            .last_deployed
            .clone()
            .expect("last_deployed"),
    );
    upgraded
        .release
        .set_status(Status::Deployed, "Upgrade complete");
    assert_eq!(&upgraded.release, v2);
    assert_eq!(upgraded.labels, h.get(2).expect("v2").custom_labels());

    // (b) Revision 3, derived from revision 2 by us: new values and
    // manifest, revision 2 superseded, as an upgrade would leave them.
    let mut v2_record = h.get(2).expect("v2").clone();
    let mut v3 = v2_record.clone();
    v3.release.version = h.next_revision();
    v3.release.config = json!({"greeting": "from-rust"})
        .as_object()
        .cloned()
        .expect("map");
    v3.release.manifest = v2
        .manifest
        .replace("greeting: \"two\"", "greeting: \"from-rust\"");
    let now = GoTime::now();
    let info = v3.release.info.as_mut().expect("info");
    info.last_deployed = Some(now);
    info.notes = "demo says from-rust\n".into();
    v3.release
        .set_status(Status::Deployed, "Upgraded by ferroflux");
    v2_record.release.supersede();
    replace_record(&client, ns, &v2_record).await;
    create_record(&client, ns, &v3).await;

    // (c) The SDK sees it, upgrades from it, and rolls back to it.
    let results = sdk(
        &python,
        &env,
        ns,
        json!([
            {"op": "list"},
            {"op": "history", "name": "demo"},
            {"op": "get_values", "name": "demo"},
            {"op": "get_values", "name": "demo", "revision": 2},
            {"op": "status", "name": "demo"},
            {"op": "upgrade", "chart": chart_path, "name": "demo", "values": {"greeting": "four"}},
            {"op": "rollback", "name": "demo", "version": 3},
            {"op": "history", "name": "demo"},
            {"op": "get_values", "name": "demo"},
        ]),
    )
    .await;
    let list = ok(&results, 0, "list").as_array().expect("list");
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["revision"], 3);
    assert_eq!(list[0]["status"], "deployed");
    assert_eq!(list[0]["chart_name"], "demo");
    assert_eq!(list[0]["labels"]["team"], "sdk");
    assert_eq!(
        statuses(ok(&results, 1, "history")),
        [
            (1, "superseded".to_owned()),
            (2, "superseded".to_owned()),
            (3, "deployed".to_owned())
        ]
    );
    assert_eq!(
        ok(&results, 2, "get values"),
        &json!({"greeting": "from-rust"})
    );
    assert_eq!(
        ok(&results, 3, "get values --revision 2"),
        &json!({"greeting": "two"})
    );
    assert_eq!(ok(&results, 4, "status")["notes"], "demo says from-rust\n");
    assert_eq!(ok(&results, 5, "upgrade")["revision"], 4);
    ok(&results, 6, "rollback");
    assert_eq!(
        statuses(ok(&results, 7, "history after rollback")),
        [
            (1, "superseded".to_owned()),
            (2, "superseded".to_owned()),
            (3, "superseded".to_owned()),
            (4, "superseded".to_owned()),
            (5, "deployed".to_owned())
        ]
    );
    assert_eq!(
        ok(&results, 8, "get values after rollback"),
        &json!({"greeting": "from-rust"})
    );
    // The rollback applied our revision's manifest.
    assert_eq!(
        config_map_data(&client, ns, "demo-cm").await,
        json!({"greeting": "from-rust"})
    );
    let h = history(&client, ns, "demo").await;
    assert_eq!(h.deployed().expect("deployed").release.version, 5);
    let v5 = &h.get(5).expect("v5").release;
    assert_eq!(v5.info.as_ref().expect("info").description, "Rollback to 3");
    assert_eq!(v5.manifest, v3.release.manifest);
    let v4 = &h.get(4).expect("v4").release;
    let mut rolled_back = revision::rollback(
        v4,
        h.get(3).expect("v3"),
        ApplyMethod::auto(&v3.release),
        v5.info
            .as_ref()
            .expect("info")
            .last_deployed
            .clone()
            .expect("last_deployed"),
    );
    // Helm keeps the "Rollback to N" description when the rollback succeeds.
    rolled_back.release.info.as_mut().expect("info").status = Some(Status::Deployed);
    assert_eq!(&rolled_back.release, v5);
}

/// (b, c) A release we write from scratch, chart included, with no SDK
/// record before it: the SDK lists it, shows its history and values,
/// upgrades it and rolls back to it; and when the SDK supersedes our
/// record, its re-encoding is byte for byte ours.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_written_from_scratch_is_read_upgraded_and_rolled_back_by_the_sdk() {
    let Some(python) = python() else { return };
    let ns = "rel-scratch";
    let (env, client) = setup(ns).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let chart_dir = dir.path().join("scratch");
    let chart_yaml = "apiVersion: v2\nname: scratch\nversion: 1.0.0\nappVersion: \"2.0\"\ndescription: written by ferroflux\n";
    let values_yaml = "greeting: hello\nextra: kept\n";
    let template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  extra: {{ .Values.extra | quote }}\n";
    let notes = "{{ .Release.Name }} is up\n";
    write(&chart_dir, "Chart.yaml", chart_yaml);
    write(&chart_dir, "values.yaml", values_yaml);
    write(&chart_dir, "templates/cm.yaml", template);
    write(&chart_dir, "templates/NOTES.txt", notes);

    let metadata: Metadata = serde_yaml::from_str(chart_yaml).expect("Chart.yaml");
    let values: Map<String, Value> = serde_yaml::from_str(values_yaml).expect("values.yaml");
    let file = |name: &str, text: &str| File {
        name: name.into(),
        data: Some(text.as_bytes().to_vec()),
        ..File::default()
    };
    let now = GoTime::now();
    let manifest = "---\n# Source: scratch/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: scratch-cm\ndata:\n  greeting: \"from-rust\"\n  extra: \"kept\"\n";
    let release = Release {
        name: "scratch".into(),
        namespace: ns.into(),
        version: 1,
        info: Some(Info {
            first_deployed: Some(now.clone()),
            last_deployed: Some(now),
            description: "Install complete".into(),
            status: Some(Status::Deployed),
            notes: "scratch is up\n".into(),
            ..Info::default()
        }),
        chart: Some(Chart {
            metadata: Some(metadata),
            templates: Some(vec![
                file("templates/NOTES.txt", notes),
                file("templates/cm.yaml", template),
            ]),
            values: Some(values),
            ..Chart::default()
        }),
        config: json!({"greeting": "from-rust"})
            .as_object()
            .cloned()
            .expect("map"),
        manifest: manifest.into(),
        ..Release::default()
    };
    let mut record = Record::new(release.clone());
    record.labels.insert("team".into(), "rust".into());

    // The object the manifest describes, owned by the release as Helm marks it.
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(json!({
            "metadata": {
                "name": "scratch-cm",
                "labels": {"app.kubernetes.io/managed-by": "Helm"},
                "annotations": {
                    "meta.helm.sh/release-name": "scratch",
                    "meta.helm.sh/release-namespace": ns,
                },
            },
            "data": {"greeting": "from-rust", "extra": "kept"},
        }))
        .expect("ConfigMap"),
    )
    .await
    .expect("ConfigMap created");
    create_record(&client, ns, &record).await;

    let chart = chart_dir.to_str().expect("utf-8 path");
    let results = sdk(
        &python,
        &env,
        ns,
        json!([
            {"op": "list"},
            {"op": "history", "name": "scratch"},
            {"op": "get_values", "name": "scratch"},
            {"op": "get_values", "name": "scratch", "all": true},
            {"op": "status", "name": "scratch"},
            {"op": "upgrade", "chart": chart, "name": "scratch", "values": {"greeting": "up"}},
            {"op": "rollback", "name": "scratch", "version": 1},
            {"op": "history", "name": "scratch"},
            {"op": "get_values", "name": "scratch"},
        ]),
    )
    .await;
    let list = ok(&results, 0, "list").as_array().expect("list");
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(
        (
            &list[0]["name"],
            &list[0]["revision"],
            &list[0]["status"],
            &list[0]["chart_name"],
            &list[0]["chart_version"],
            &list[0]["app_version"],
            &list[0]["labels"]["team"],
        ),
        (
            &json!("scratch"),
            &json!(1),
            &json!("deployed"),
            &json!("scratch"),
            &json!("1.0.0"),
            &json!("2.0"),
            &json!("rust"),
        )
    );
    assert_eq!(
        statuses(ok(&results, 1, "history")),
        [(1, "deployed".to_owned())]
    );
    assert_eq!(
        ok(&results, 2, "get values"),
        &json!({"greeting": "from-rust"})
    );
    assert_eq!(
        ok(&results, 3, "get values --all"),
        &json!({"greeting": "from-rust", "extra": "kept"})
    );
    assert_eq!(ok(&results, 4, "status")["notes"], "scratch is up\n");
    assert_eq!(ok(&results, 4, "status")["manifest"], manifest);
    assert_eq!(ok(&results, 5, "upgrade")["revision"], 2);
    ok(&results, 6, "rollback");
    assert_eq!(
        statuses(ok(&results, 7, "history after rollback")),
        [
            (1, "superseded".to_owned()),
            (2, "superseded".to_owned()),
            (3, "deployed".to_owned())
        ]
    );
    assert_eq!(
        ok(&results, 8, "get values after rollback"),
        &json!({"greeting": "from-rust"})
    );
    assert_eq!(
        config_map_data(&client, ns, "scratch-cm").await,
        json!({"greeting": "from-rust", "extra": "kept"})
    );

    let objects = record_objects(&client, ns).await;
    let h = History::from_objects("scratch", Driver::Secret, &objects, Limits::default());
    assert!(h.skipped().is_empty(), "{:?}", h.skipped());
    assert_eq!(h.records().len(), 3);
    // Helm decoded our revision 1, superseded it and wrote it back: its
    // JSON is exactly what we write for the same release.
    let mut superseded = release.clone();
    superseded.supersede();
    let v1_object = objects
        .iter()
        .find(|o| o["metadata"]["name"] == "sh.helm.release.v1.scratch.v1")
        .expect("v1");
    assert_eq!(
        String::from_utf8(stored_json(v1_object)).expect("utf-8"),
        String::from_utf8(codec::to_json(&superseded).expect("encodes")).expect("utf-8")
    );
    assert_eq!(h.get(1).expect("v1").custom_labels()["team"], "rust");
    // The rollback copied our chart, values and manifest into revision 3.
    let v3 = &h.get(3).expect("v3").release;
    assert_eq!(v3.chart, release.chart);
    assert_eq!(v3.config, release.config);
    assert_eq!(v3.manifest, release.manifest);
    assert_eq!(v3.info.as_ref().expect("info").description, "Rollback to 1");
    assert_eq!(
        v3.info.as_ref().expect("info").first_deployed,
        release.info.as_ref().expect("info").first_deployed
    );
    assert_eq!(h.deployed().expect("deployed").release.version, 3);

    // With a history limit, Helm prunes what our helper says it prunes:
    // before creating a revision it keeps max_history - 1 of the old ones.
    let prune = h.versions_to_prune(1);
    assert_eq!(prune, [1, 2], "oldest first, never the deployed one");
    let results = sdk(
        &python,
        &env,
        ns,
        json!([{"op": "upgrade", "chart": chart, "name": "scratch",
                "values": {"greeting": "limited"}, "max_history": 2}]),
    )
    .await;
    assert_eq!(ok(&results, 0, "upgrade --history-max 2")["revision"], 4);
    let after = history(&client, ns, "scratch").await;
    let left: Vec<i64> = after.records().iter().map(|r| r.release.version).collect();
    assert_eq!(left, [3, 4]);
}

/// The ConfigMap release records in `ns`, as the Kubernetes JSON the API serves.
async fn config_map_records(client: &kube::Client, ns: &str) -> Vec<Value> {
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let list = cms
        .list(&ListParams::default().labels(&storage::owner_selector()))
        .await
        .expect("config maps listed");
    list.items
        .into_iter()
        .map(|c| serde_json::to_value(c).expect("config map as JSON"))
        .collect()
}

/// Helm's ConfigMap driver (`HELM_DRIVER=configmap`): the SDK's records
/// decode exactly (uninstalled with `deleted` included), and a revision we
/// write in that format is the one the SDK reads and upgrades from.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_map_driver_records_interoperate() {
    let Some(python) = python() else { return };
    let ns = "rel-cm";
    let (env, client) = setup(ns).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let chart_dir = dir.path().join("cmchart");
    write(
        &chart_dir,
        "Chart.yaml",
        "apiVersion: v2\nname: cmchart\nversion: 0.2.0\n",
    );
    write(&chart_dir, "values.yaml", "greeting: hello\n");
    write(
        &chart_dir,
        "templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-data\ndata:\n  greeting: {{ .Values.greeting | quote }}\n",
    );
    let chart_path = chart_dir.to_str().expect("utf-8 path");
    let results = sdk_with_driver(
        &python,
        &env,
        ns,
        "configmap",
        json!([{"op": "install", "chart": chart_path, "name": "kept", "values": {"greeting": "one"}}]),
    )
    .await;
    assert_eq!(ok(&results, 0, "install")["revision"], 1);

    let objects = config_map_records(&client, ns).await;
    assert_eq!(objects.len(), 1);
    assert!(
        record_objects(&client, ns).await.is_empty(),
        "no Secrets with this driver"
    );
    let v1 =
        Record::from_object(Driver::ConfigMap, &objects[0], Limits::default()).expect("decodes");
    let stored = codec::decode_json(
        objects[0]["data"]["release"]
            .as_str()
            .expect("data.release"),
        Limits::default(),
    )
    .expect("data.release decodes");
    assert_eq!(codec::to_json(&v1.release).expect("encodes"), stored);
    assert_eq!(unknown_fields(&v1.release), Vec::<String>::new());

    let mut v2 = v1.clone();
    v2.release.version = 2;
    v2.release.config = json!({"greeting": "from-rust"})
        .as_object()
        .cloned()
        .expect("map");
    v2.release.manifest = v1.release.manifest.replace("\"one\"", "\"from-rust\"");
    v2.release
        .set_status(Status::Deployed, "Upgraded by ferroflux");
    let mut v1 = v1;
    v1.release.supersede();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let replace = v1
        .to_object(Driver::ConfigMap, Stamp::modified_now())
        .expect("encodes");
    cms.replace(
        &v1.object_name(),
        &PostParams::default(),
        &serde_json::from_value(replace).expect("a ConfigMap"),
    )
    .await
    .expect("v1 replaced");
    let create = v2
        .to_object(Driver::ConfigMap, Stamp::created_now())
        .expect("encodes");
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(create).expect("a ConfigMap"),
    )
    .await
    .expect("v2 created");

    let results = sdk_with_driver(
        &python,
        &env,
        ns,
        "configmap",
        json!([
            {"op": "history", "name": "kept"},
            {"op": "get_values", "name": "kept"},
            {"op": "upgrade", "chart": chart_path, "name": "kept", "values": {"greeting": "three"}},
            {"op": "uninstall", "name": "kept", "keep_history": true},
            {"op": "history", "name": "kept"},
        ]),
    )
    .await;
    assert_eq!(
        statuses(ok(&results, 0, "history")),
        [(1, "superseded".to_owned()), (2, "deployed".to_owned())]
    );
    assert_eq!(
        ok(&results, 1, "get values"),
        &json!({"greeting": "from-rust"})
    );
    assert_eq!(ok(&results, 2, "upgrade")["revision"], 3);
    ok(&results, 3, "uninstall --keep-history");
    assert_eq!(
        statuses(ok(&results, 4, "history after uninstall")),
        [
            (1, "superseded".to_owned()),
            (2, "superseded".to_owned()),
            (3, "uninstalled".to_owned())
        ]
    );

    let objects = config_map_records(&client, ns).await;
    for object in &objects {
        let record =
            Record::from_object(Driver::ConfigMap, object, Limits::default()).expect("decodes");
        let stored = codec::decode_json(
            object["data"]["release"].as_str().expect("data.release"),
            Limits::default(),
        )
        .expect("data.release decodes");
        assert_eq!(
            String::from_utf8(codec::to_json(&record.release).expect("encodes")).expect("utf-8"),
            String::from_utf8(stored).expect("utf-8")
        );
        assert_eq!(unknown_fields(&record.release), Vec::<String>::new());
    }
    let h = History::from_objects("kept", Driver::ConfigMap, &objects, Limits::default());
    assert!(h.skipped().is_empty(), "{:?}", h.skipped());
    assert!(
        h.deployed().is_none(),
        "nothing is deployed after uninstall"
    );
    let v3 = &h.latest().expect("v3").release;
    assert_eq!(v3.version, 3);
    assert_eq!(v3.status(), Some(&Status::Uninstalled));
    let info = v3.info.as_ref().expect("info");
    assert!(
        info.deleted
            .as_ref()
            .and_then(GoTime::unix_seconds)
            .is_some(),
        "deleted time recorded: {info:?}"
    );
    assert_eq!(info.description, "Uninstallation complete");
    assert_eq!(h.next_revision(), 4);
}

/// Our release-name rule answers as Helm's on names at and around its edges.
#[tokio::test]
async fn release_names_are_judged_as_helm_judges_them() {
    let Some(python) = python() else { return };
    let long = "a".repeat(53);
    let too_long = "a".repeat(54);
    let names = [
        "",
        "a",
        "web",
        "a-b",
        "a.b-c.d",
        "1abc",
        "0",
        &long,
        &too_long,
        "-a",
        "a-",
        "A",
        "a_b",
        "a..b",
        "a/b",
        "a.",
        ".a",
        "a b",
        "ä",
        "web\n",
        "x.-y",
        "sh.helm.release.v1",
    ];
    let steps: Vec<Value> = names
        .iter()
        .map(|n| json!({"op": "validate_name", "name": n}))
        .collect();
    let results = run_peer(&python, &json!({"steps": steps})).await;
    for (name, helm) in names.iter().zip(&results) {
        let ours = storage::validate_release_name(name);
        match (&ours, helm.get("error").and_then(Value::as_str)) {
            (Ok(()), None) => {}
            (Err(e), Some(theirs)) => assert!(
                theirs.contains(&e.to_string()),
                "{name:?}: Helm says {theirs}, we say {e}"
            ),
            _ => panic!("{name:?}: Helm {helm}, ours {ours:?}"),
        }
    }
}
