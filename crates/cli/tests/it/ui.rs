//! `ferroflux ui` in a real browser: the stack of processes (testenv and the
//! controllers) with a Git source, a Kustomization that applies and one that
//! fails, the dashboard started twice (read-only, and with
//! `--allow-actions`), and headless Chromium driven by playwright-core
//! through `ui_browser.mjs`. A commit is pushed while the page is open.
//! Plus the HTTP surface without a browser: Secrets never read, actions
//! refused without the flag, foreign `Host` headers refused.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use ferroflux_cli::kinds;
use ferroflux_cli::stack::{Stack, StackError, StackOptions};
use ferroflux_testsupport::git::{GitRepo, GitServer};
use ferroflux_testsupport::wait::eventually;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

const LIMIT: Duration = Duration::from_secs(90);

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The browser peers, or why they are missing.
fn browser_peers() -> Result<(PathBuf, PathBuf), String> {
    let chromium = PathBuf::from("/usr/bin/chromium");
    let playwright = workspace().join("target/peers/node/node_modules/playwright-core");
    if !chromium.exists() {
        return Err(format!("{} is missing", chromium.display()));
    }
    if !playwright.join("package.json").exists() {
        return Err(format!("{} is missing", playwright.display()));
    }
    let node = std::process::Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        return Err("node is missing".into());
    }
    Ok((chromium, playwright))
}

fn config_map(value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata:\n  greeting: {value}\n"
    )
}

async fn apply(client: &kube::Client, kind: &kinds::FluxKind, name: &str, spec: Value) {
    let api = kind.api(client, Some("flux-system"));
    let obj = json!({
        "apiVersion": format!("{}/{}", kind.group, kind.version),
        "kind": kind.kind,
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": spec,
    });
    api.patch(
        name,
        &PatchParams::apply("ui-test").force(),
        &Patch::Apply(&obj),
    )
    .await
    .unwrap_or_else(|e| panic!("applying {} {name}: {e}", kind.kind));
}

async fn get(client: &kube::Client, kind: &kinds::FluxKind, name: &str) -> Value {
    let api = kind.api(client, Some("flux-system"));
    serde_json::to_value(api.get(name).await.expect("the object")).unwrap()
}

/// The Ready condition once it has the given status.
async fn ready_is(
    client: &kube::Client,
    kind: &kinds::FluxKind,
    name: &str,
    status: &str,
) -> Value {
    let api = kind.api(client, Some("flux-system"));
    eventually(
        &format!("{} {name} Ready={status}", kind.kind),
        LIMIT,
        async || {
            let v = serde_json::to_value(api.get_opt(name).await.ok()??).ok()?;
            let c = kinds::condition(&v, "Ready")?.clone();
            (c["status"] == status).then_some(c)
        },
    )
    .await
}

/// A running `ferroflux ui` and the URL it serves.
struct Ui {
    _child: Child,
    url: String,
}

async fn start_ui(kubeconfig: &Path, extra: &[&str]) -> Ui {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(["ui", "--addr", "127.0.0.1:0"])
        .args(extra)
        .env("KUBECONFIG", kubeconfig)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("ferroflux ui starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(LIMIT, async {
        while let Ok(Some(l)) = lines.next_line().await {
            if let Some(u) = l.strip_prefix("serving the dashboard on ") {
                return u.trim().to_string();
            }
        }
        panic!("ferroflux ui exited before serving");
    })
    .await
    .expect("ferroflux ui serves");
    // Keep reading so that the pipe never fills.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ui { _child: child, url }
}

/// One HTTP/1.1 request to the dashboard at `url` (raw, so the test picks
/// the `Host` header); the status code and body.
async fn http(url: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    use tokio::io::AsyncReadExt;
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut s = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connects");
    let mut req = format!("{method} {path} HTTP/1.1\r\nconnection: close\r\ncontent-length: 0\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str(&format!("host: {addr}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut resp = Vec::new();
    s.read_to_end(&mut resp).await.unwrap();
    let text = String::from_utf8_lossy(&resp).into_owned();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_in_a_browser_with_the_controllers() {
    let peers = browser_peers();
    if let Err(why) = &peers {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but the browser peers are missing ({why}): hack/install-peers installs them"
        );
        eprintln!(
            "SKIPPED: the dashboard's browser test needs chromium and playwright-core ({why}): run hack/install-peers"
        );
        return;
    }
    let (chromium, playwright) = peers.unwrap();
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
    repo.write("apps/settings.yaml", &config_map("hello"))
        .unwrap();
    repo.commit("first").unwrap();
    apply(
        &client,
        &kinds::GIT_REPOSITORY,
        "app",
        json!({"url": git.url("app"), "interval": "1h", "ref": {"branch": "main"}}),
    )
    .await;
    let ks_spec = |path: &str| {
        json!({"interval": "1h", "path": path, "prune": true,
               "sourceRef": {"kind": "GitRepository", "name": "app"}})
    };
    apply(&client, &kinds::KUSTOMIZATION, "apps", ks_spec("./apps")).await;
    apply(
        &client,
        &kinds::KUSTOMIZATION,
        "broken",
        ks_spec("./missing"),
    )
    .await;
    ready_is(&client, &kinds::KUSTOMIZATION, "apps", "True").await;
    let broken = ready_is(&client, &kinds::KUSTOMIZATION, "broken", "False").await;
    let broken_message = broken["message"].as_str().unwrap_or_default().to_string();
    assert!(!broken_message.is_empty(), "{broken}");

    let ro = start_ui(&kubeconfig, &[]).await;
    let rw = start_ui(&kubeconfig, &["--allow-actions"]).await;

    // The HTTP surface, without a browser.
    let (code, body) = http(
        &ro.url,
        "GET",
        "/api/overview",
        &[("host", "evil.example.com")],
    )
    .await;
    assert_eq!(code, 421, "a foreign Host is refused: {body}");
    let (code, body) = http(&ro.url, "GET", "/api/overview", &[]).await;
    assert_eq!(code, 200, "{body}");
    let overview: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(overview["allowActions"], false);
    let path = "/api/action/reconcile/Kustomization/flux-system/apps";
    let (code, _) = http(&ro.url, "POST", path, &[("x-ferroflux-action", "1")]).await;
    assert_eq!(code, 403, "no actions without the flag");
    let (code, _) = http(&rw.url, "POST", path, &[]).await;
    assert_eq!(code, 403, "no action without the page's header");
    let (code, _) = http(&ro.url, "GET", "/api/object/Secret/flux-system/x", &[]).await;
    assert_eq!(code, 400, "not a Flux kind");
    let (code, _) = http(
        &ro.url,
        "GET",
        "/api/object/Kustomization/flux-system/..%2Fx",
        &[],
    )
    .await;
    assert_eq!(code, 400, "not a name");
    assert!(
        get(&client, &kinds::KUSTOMIZATION, "apps").await["metadata"]["annotations"]
            [ferroflux_cli::reconcile::REQUESTED_AT]
            .is_null()
    );

    // The browser.
    let mut node = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/ui_browser.mjs"))
        .env("PLAYWRIGHT_DIR", &playwright)
        .env("CHROMIUM", &chromium)
        .env("UI_URL", &ro.url)
        .env("UI_ACTIONS_URL", &rw.url)
        .env("BROKEN_MESSAGE", &broken_message)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("node runs");
    let mut stdin = node.stdin.take().unwrap();
    let mut out = BufReader::new(node.stdout.take().unwrap()).lines();
    let mut token = None;
    let mut done = false;
    let session = tokio::time::timeout(Duration::from_secs(240), async {
        while let Ok(Some(line)) = out.next_line().await {
            eprintln!("browser: {line}");
            if line == "PUSH" {
                repo.write("apps/settings.yaml", &config_map("again"))
                    .unwrap();
                let sha = repo.commit("second").unwrap();
                // As a Git host's webhook would: ask for a reconcile now.
                let now = k8s_openapi::jiff::Timestamp::now().to_string();
                kinds::GIT_REPOSITORY
                    .api(&client, Some("flux-system"))
                    .patch(
                        "app",
                        &PatchParams::default(),
                        &Patch::Merge(json!({"metadata": {"annotations": {
                            ferroflux_cli::reconcile::REQUESTED_AT: now}}})),
                    )
                    .await
                    .unwrap();
                stdin
                    .write_all(format!("{sha}\n").as_bytes())
                    .await
                    .unwrap();
                stdin.flush().await.unwrap();
            } else if let Some(t) = line.strip_prefix("RECONCILED ") {
                token = Some(t.to_string());
            } else if line == "DONE" {
                done = true;
            }
        }
    })
    .await;
    let status = node.wait().await.expect("node ends");
    assert!(session.is_ok(), "the browser session timed out");
    assert!(
        status.success() && done,
        "the browser checks failed (see its stderr above)"
    );
    // The Reconcile button set requestedAt on the cluster, as the user.
    let token = token.expect("the page reported the request");
    let ks = get(&client, &kinds::KUSTOMIZATION, "apps").await;
    assert_eq!(
        ks["metadata"]["annotations"][ferroflux_cli::reconcile::REQUESTED_AT],
        token.as_str(),
        "{ks}"
    );
    drop(ro);
    drop(rw);
    drop(stack);
}

/// The kubeconfig of `env`, impersonating the dashboard's ServiceAccount.
fn kubeconfig_as_dashboard(env: &ferroflux_testenv::TestEnv, dir: &Path) -> PathBuf {
    let mut k: Value = serde_yaml::from_str(&env.kubeconfig_yaml()).unwrap();
    for u in k["users"].as_array_mut().expect("users") {
        u["user"]["as"] = json!("system:serviceaccount:flux-system:ferroflux-ui");
        u["user"]["as-groups"] = json!([
            "system:serviceaccounts",
            "system:serviceaccounts:flux-system"
        ]);
    }
    let path = dir.join("dashboard.kubeconfig");
    std::fs::write(&path, serde_yaml::to_string(&k).unwrap()).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn config_dashboard_is_read_only_and_works_as_its_service_account() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let default = std::fs::read_to_string(root.join("default/kustomization.yaml")).unwrap();
    assert!(
        !default.contains("dashboard"),
        "the dashboard stays optional"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(["kustomize", "build"])
        .arg(root.join("dashboard"))
        .output()
        .expect("ferroflux runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let docs: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .split("\n---\n")
        .filter(|d| !d.trim().is_empty())
        .map(|d| serde_yaml::from_str(d).unwrap())
        .collect();
    let find = |kind: &str| {
        docs.iter()
            .find(|d| d["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind}"))
    };
    for rule in find("ClusterRole")["rules"].as_array().unwrap() {
        let verbs: Vec<&str> = rule["verbs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            verbs.iter().all(|v| ["get", "list", "watch"].contains(v)),
            "{rule}"
        );
        let groups: Vec<&str> = rule["apiGroups"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let resources: Vec<&str> = rule["resources"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(!groups.contains(&"*"), "{rule}");
        if groups.contains(&"") {
            assert!(
                !resources.contains(&"secrets") && !resources.contains(&"*"),
                "{rule}"
            );
        }
    }
    let pod = &find("Deployment")["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "ferroflux-ui");
    assert_eq!(
        pod["containers"][0]["args"],
        json!(["ui", "--addr", "0.0.0.0:9080"])
    );
    assert_eq!(find("Service")["spec"]["ports"][0]["targetPort"], "http");

    // Applied to a cluster, the ServiceAccount sees the Flux objects and
    // the health of what they manage, and cannot read a Secret.
    let cluster = crate::cluster::Cluster::start().await;
    let manager = ferroflux_ssa::Manager::new(
        cluster.client.clone(),
        std::sync::Arc::new(ferroflux_ssa::Resolver::new(cluster.client.clone())),
        "ui-test",
    );
    manager
        .apply_all_staged(docs.clone(), &ferroflux_ssa::ApplyOptions::default())
        .await
        .expect("config/dashboard applies");
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(cluster.client.clone(), "apps");
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web", "namespace": "apps"}});
    cms.patch("web", &PatchParams::apply("ui-test"), &Patch::Apply(&cm))
        .await
        .unwrap();
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(cluster.client.clone(), "apps");
    let s = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "token", "namespace": "apps"}, "stringData": {"t": "x"}});
    secrets
        .patch("token", &PatchParams::apply("ui-test"), &Patch::Apply(&s))
        .await
        .unwrap();
    let mut status = json!({
        "conditions": crate::cluster::ready("True", "ReconciliationSucceeded", "Applied revision: main@sha1:1234"),
        "lastAppliedRevision": "main@sha1:1234",
        "observedGeneration": 1,
        "inventory": {"entries": [
            {"id": "apps_web__ConfigMap", "v": "v1"},
            {"id": "apps_token__Secret", "v": "v1"},
        ]},
    });
    cluster
        .create(
            &kinds::KUSTOMIZATION,
            "apps",
            "web",
            json!({"interval": "5m", "path": "./", "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": "repo"}}),
            status.clone(),
        )
        .await;
    let dir = tempfile::tempdir().unwrap();
    let ui = start_ui(&kubeconfig_as_dashboard(&cluster.env, dir.path()), &[]).await;
    let object = eventually("the Kustomization on the dashboard", LIMIT, async || {
        let (code, body) = http(&ui.url, "GET", "/api/object/Kustomization/apps/web", &[]).await;
        (code == 200).then(|| serde_json::from_str::<Value>(&body).unwrap())
    })
    .await;
    assert_eq!(object["row"]["state"], "ready", "{object}");
    let health = |name: &str| {
        object["inventory"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {object}"))["health"]["status"]
            .clone()
    };
    assert_eq!(health("web"), "Current");
    assert_eq!(health("token"), "NotRead");
    // A change shows in the overview (the watch works under the role).
    status["conditions"] =
        crate::cluster::ready("False", "BuildFailed", "kustomization path not found");
    cluster
        .set_status(&kinds::KUSTOMIZATION, "apps", "web", status)
        .await;
    eventually("the failure on the overview", LIMIT, async || {
        let (_, body) = http(&ui.url, "GET", "/api/overview", &[]).await;
        let o: Value = serde_json::from_str(&body).ok()?;
        let row = o["objects"]
            .as_array()?
            .iter()
            .find(|r| r["name"] == "web")?
            .clone();
        (row["state"] == "failing" && row["message"] == "kustomization path not found")
            .then_some(())
    })
    .await;
    // The role never lets it read Secrets.
    let sa = cluster
        .env
        .client_as(
            "system:serviceaccount:flux-system:ferroflux-ui",
            &["system:serviceaccounts"],
        )
        .await
        .unwrap();
    let as_sa: kube::Api<k8s_openapi::api::core::v1::Secret> = kube::Api::namespaced(sa, "apps");
    match as_sa.get("token").await {
        Err(kube::Error::Api(e)) => assert_eq!(e.code, 403),
        other => panic!("the dashboard's account read a Secret: {other:?}"),
    }
}
