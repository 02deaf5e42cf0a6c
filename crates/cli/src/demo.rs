//! `ferroflux demo`: the whole of Ferroflux on this machine in one command.
//! It starts the embedded control plane and the controllers as separate
//! processes, serves an example app from a local Git repository, applies
//! the Flux objects that deliver it, installs an example chart from a Helm
//! repository it serves itself, shows progress, pushes a change through a
//! GitHub-style webhook, and prints where everything stands.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferroflux_api::conditions::{self, ObjectWithConditions};
use ferroflux_api::helm::v2::HelmRelease;
use ferroflux_api::kustomize::v1::Kustomization;
use ferroflux_api::notification::v1::Receiver;
use ferroflux_api::notification::v1beta3::{Alert, Provider};
use ferroflux_api::source::v1::{GitRepository, HelmChart, HelmRepository};
use ferroflux_testenv::git::{GitRepo, GitServer};
use kube::ResourceExt;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::ApiResource;
use serde_json::Value;

use crate::demo_app;
use crate::demo_chart;
use crate::stack::{Stack, StackOptions};

/// How the demo runs.
#[derive(Debug, Clone, Default)]
pub struct DemoOptions {
    /// Keep running after the summary until Ctrl-C.
    pub watch: bool,
    /// Where state goes (default: a temporary directory removed at the end).
    pub work_dir: Option<PathBuf>,
    /// How long to wait for everything to become ready.
    pub timeout: Option<Duration>,
}

/// Why the demo stopped early.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The stack could not be started or used.
    #[error(transparent)]
    Stack(#[from] crate::stack::StackError),
    /// Something did not become ready in time.
    #[error("{0}")]
    Timeout(String),
    /// Anything else, with what was being done.
    #[error("{0}")]
    Other(String),
}

fn other(what: &str) -> impl Fn(&dyn std::fmt::Display) -> DemoError + '_ {
    move |e| DemoError::Other(format!("{what}: {e}"))
}

/// Notifications the demo's chat sink received.
type Inbox = Arc<Mutex<Vec<Value>>>;

async fn start_sink() -> Result<(String, Inbox), DemoError> {
    let inbox: Inbox = Arc::default();
    let got = inbox.clone();
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let got = got.clone();
        async move {
            if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                got.lock().unwrap_or_else(|e| e.into_inner()).push(v);
            }
            axum::http::StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| other("starting the chat sink")(&e))?;
    let addr = listener.local_addr().map_err(|e| other("chat sink")(&e))?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((format!("http://{addr}/chat"), inbox))
}

/// Runs the demo; returns when done (or, with `watch`, at Ctrl-C).
pub async fn run(options: DemoOptions) -> Result<(), DemoError> {
    let temp = match &options.work_dir {
        Some(_) => None,
        None => Some(tempfile::tempdir().map_err(|e| other("creating a work directory")(&e))?),
    };
    let work_dir = options
        .work_dir
        .clone()
        .or_else(|| temp.as_ref().map(|t| t.path().to_path_buf()))
        .unwrap_or_default();
    std::fs::create_dir_all(&work_dir).map_err(|e| other("creating the work directory")(&e))?;
    let started = Instant::now();
    println!(
        "▶ starting the control plane and controllers (work dir {})",
        work_dir.display()
    );
    let stack = Stack::start(StackOptions::beside_current_exe(&work_dir)).await?;
    let result = tokio::select! {
        r = drive(&stack, &work_dir, &options, started) => r,
        _ = tokio::signal::ctrl_c() => {
            println!("\n■ interrupted");
            Ok(())
        }
    };
    println!("■ stopping the controllers and the control plane");
    stack.shutdown().await;
    drop(temp);
    result
}

async fn drive(
    stack: &Stack,
    work_dir: &std::path::Path,
    options: &DemoOptions,
    started: Instant,
) -> Result<(), DemoError> {
    let timeout = options.timeout.unwrap_or(Duration::from_secs(180));
    let client = stack.client().await?;
    for c in crate::stack::Component::CONTROLLERS {
        println!(
            "  ✓ {} running (pid {})",
            c.binary(),
            stack.pid(c).unwrap_or_default()
        );
    }

    let git_root = work_dir.join("git");
    std::fs::create_dir_all(&git_root).map_err(|e| other("creating the Git directory")(&e))?;
    let git =
        GitServer::start(&git_root, None).map_err(|e| other("starting the Git server")(&e))?;
    let repo = GitRepo::create(&git_root, "demo-app")
        .map_err(|e| other("creating the example repository")(&e))?;
    for (path, content) in demo_app::FILES {
        repo.write(path, content)
            .map_err(|e| other("writing the example")(&e))?;
    }
    let first = repo
        .commit("example app: base, staging, production")
        .map_err(|e| other("committing")(&e))?;
    println!(
        "▶ example app committed to {} ({})",
        git.url("demo-app"),
        &first[..12.min(first.len())]
    );

    let (sink_url, inbox) = start_sink().await?;
    let token = format!("demo-{}", std::process::id());
    let objects = demo_app::FLUX_OBJECTS
        .replace("GIT_URL", &git.url("demo-app"))
        .replace("SINK_URL", &sink_url)
        .replace("TOKEN", &token);
    apply_yaml(&client, &objects).await?;
    let chart_files = demo_chart::repository_files().map_err(|e| other("the example chart")(&e))?;
    let helm_url = demo_chart::serve(chart_files)
        .await
        .map_err(|e| other("the Helm repository")(&e))?;
    println!(
        "▶ example chart {} {} packaged and served by the Helm repository at {helm_url}",
        demo_chart::CHART,
        demo_chart::VERSION
    );
    apply_yaml(
        &client,
        &demo_chart::FLUX_OBJECTS.replace("HELM_REPO_URL", &helm_url),
    )
    .await?;
    println!(
        "▶ applied GitRepository, 2 Kustomizations, HelmRepository, HelmRelease, Provider, Alert, Receiver; waiting for them"
    );

    wait_all_ready(&client, timeout).await?;
    let applied_at = started.elapsed();
    println!(
        "  ✓ everything is ready after {:.1}s",
        applied_at.as_secs_f64()
    );

    // A change, delivered the way a Git host would announce it.
    let (path, content) = demo_app::CHANGE;
    repo.write(path, content)
        .map_err(|e| other("writing the change")(&e))?;
    let second = repo
        .commit("change the greeting")
        .map_err(|e| other("committing")(&e))?;
    let pushed = Instant::now();
    let receivers: Api<Receiver> = Api::namespaced(client.clone(), "flux-system");
    let hook = receivers
        .get("github")
        .await
        .map_err(|e| other("reading the Receiver")(&e))?
        .status
        .and_then(|s| s.webhook_path)
        .ok_or_else(|| DemoError::Other("the Receiver has no webhook path".into()))?;
    let body = serde_json::json!({"ref": "refs/heads/main", "after": second}).to_string();
    let status = post_github_push(stack.ports.receiver, &hook, &token, &body).await?;
    println!(
        "▶ pushed {} and sent a GitHub push webhook (HTTP {status})",
        &second[..12]
    );
    wait_revision(&client, &second, timeout).await?;
    let delivered = pushed.elapsed();
    println!(
        "  ✓ the new commit is applied to staging and production {:.2}s after the webhook",
        delivered.as_secs_f64()
    );
    // Give the last notifications a moment to arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;

    print_table(&client).await?;
    print_account(&client, &inbox, applied_at, delivered).await?;
    if options.watch {
        println!(
            "\nRunning. KUBECONFIG={} ; press Ctrl-C to stop.",
            stack.kubeconfig().display()
        );
        std::future::pending::<()>().await;
    }
    drop(git);
    Ok(())
}

async fn apply_yaml(client: &kube::Client, text: &str) -> Result<(), DemoError> {
    let params = PatchParams::apply("ferroflux-demo").force();
    for doc in text.split("\n---\n") {
        let obj: Value =
            serde_yaml::from_str(doc).map_err(|e| other("parsing the Flux objects")(&e))?;
        let api_version = obj["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = obj["kind"].as_str().unwrap_or_default().to_string();
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or("flux-system")
            .to_string();
        let (group, version) = api_version
            .rsplit_once('/')
            .unwrap_or(("", api_version.as_str()));
        let plural = format!("{}s", kind.to_lowercase()).replace("repositorys", "repositories");
        let ar = ApiResource {
            group: group.to_string(),
            version: version.to_string(),
            api_version: api_version.clone(),
            kind: kind.clone(),
            plural,
        };
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &ar);
        api.patch(&name, &params, &Patch::Apply(&obj))
            .await
            .map_err(|e| DemoError::Other(format!("applying {kind}/{ns}/{name}: {e}")))?;
    }
    Ok(())
}

fn ready_of<K: ObjectWithConditions>(obj: &K) -> (String, String) {
    match conditions::get(obj.conditions(), conditions::READY) {
        Some(c) => (c.status.clone(), c.message.clone()),
        None => ("Unknown".into(), "waiting to be reconciled".into()),
    }
}

async fn wait_all_ready(client: &kube::Client, timeout: Duration) -> Result<(), DemoError> {
    let deadline = Instant::now() + timeout;
    let mut reported: BTreeMap<String, String> = BTreeMap::new();
    loop {
        let rows = rows(client).await?;
        let mut all = true;
        for row in &rows {
            let key = format!("{}/{}", row.kind, row.name);
            let line = format!("{} {}", row.ready, row.message);
            if reported.get(&key) != Some(&line) {
                let mark = if row.ready == "True" { "✓" } else { "…" };
                println!("  {mark} {key}: {}", row.message);
                reported.insert(key, line);
            }
            all &= row.ready == "True";
        }
        if all && !rows.is_empty() {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(DemoError::Timeout(format!(
                "not ready after {timeout:?}; see the logs in the work directory"
            )));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

async fn wait_revision(
    client: &kube::Client,
    commit: &str,
    timeout: Duration,
) -> Result<(), DemoError> {
    let deadline = Instant::now() + timeout;
    let ks: Api<Kustomization> = Api::namespaced(client.clone(), "flux-system");
    let suffix = format!("sha1:{commit}");
    loop {
        let list = ks
            .list(&Default::default())
            .await
            .map_err(|e| other("listing Kustomizations")(&e))?;
        let done = !list.items.is_empty()
            && list.items.iter().all(|k| {
                let s = k.status.as_ref();
                s.and_then(|s| s.last_applied_revision.as_deref())
                    .is_some_and(|r| r.ends_with(&suffix))
                    && ready_of(k).0 == "True"
            });
        if done {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(DemoError::Timeout(format!(
                "commit {commit} not applied after {timeout:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One line of the status table.
struct Row {
    kind: &'static str,
    name: String,
    ready: String,
    revision: String,
    message: String,
}

async fn rows(client: &kube::Client) -> Result<Vec<Row>, DemoError> {
    let list_err =
        |what: &'static str| move |e: kube::Error| DemoError::Other(format!("listing {what}: {e}"));
    let mut out = Vec::new();
    let repos: Api<GitRepository> = Api::namespaced(client.clone(), "flux-system");
    for r in repos
        .list(&Default::default())
        .await
        .map_err(list_err("GitRepositories"))?
        .items
    {
        let (ready, message) = ready_of(&r);
        let revision = r
            .status
            .as_ref()
            .and_then(|s| s.artifact.as_ref())
            .map(|a| a.revision.clone())
            .unwrap_or_default();
        out.push(Row {
            kind: "GitRepository",
            name: r.name_any(),
            ready,
            revision,
            message,
        });
    }
    let ks: Api<Kustomization> = Api::namespaced(client.clone(), "flux-system");
    for k in ks
        .list(&Default::default())
        .await
        .map_err(list_err("Kustomizations"))?
        .items
    {
        let (ready, message) = ready_of(&k);
        let revision = k
            .status
            .as_ref()
            .and_then(|s| s.last_applied_revision.clone())
            .unwrap_or_default();
        out.push(Row {
            kind: "Kustomization",
            name: k.name_any(),
            ready,
            revision,
            message,
        });
    }
    let helm_repos: Api<HelmRepository> = Api::namespaced(client.clone(), "flux-system");
    for r in helm_repos
        .list(&Default::default())
        .await
        .map_err(list_err("HelmRepositories"))?
        .items
    {
        let (ready, message) = ready_of(&r);
        let revision = r
            .status
            .as_ref()
            .and_then(|s| s.artifact.as_ref())
            .map(|a| a.revision.clone())
            .unwrap_or_default();
        out.push(Row {
            kind: "HelmRepository",
            name: r.name_any(),
            ready,
            revision,
            message,
        });
    }
    let charts: Api<HelmChart> = Api::namespaced(client.clone(), "flux-system");
    for c in charts
        .list(&Default::default())
        .await
        .map_err(list_err("HelmCharts"))?
        .items
    {
        let (ready, message) = ready_of(&c);
        let revision = c
            .status
            .as_ref()
            .and_then(|s| s.artifact.as_ref())
            .map(|a| a.revision.clone())
            .unwrap_or_default();
        out.push(Row {
            kind: "HelmChart",
            name: c.name_any(),
            ready,
            revision,
            message,
        });
    }
    let releases: Api<HelmRelease> = Api::namespaced(client.clone(), "flux-system");
    for r in releases
        .list(&Default::default())
        .await
        .map_err(list_err("HelmReleases"))?
        .items
    {
        let (ready, message) = ready_of(&r);
        let revision = r
            .status
            .as_ref()
            .and_then(|s| s.history.first())
            .map(|h| format!("{}@{}", h.chart_name, h.chart_version))
            .unwrap_or_default();
        out.push(Row {
            kind: "HelmRelease",
            name: r.name_any(),
            ready,
            revision,
            message,
        });
    }
    let receivers: Api<Receiver> = Api::namespaced(client.clone(), "flux-system");
    for r in receivers
        .list(&Default::default())
        .await
        .map_err(list_err("Receivers"))?
        .items
    {
        let (ready, message) = ready_of(&r);
        out.push(Row {
            kind: "Receiver",
            name: r.name_any(),
            ready,
            revision: String::new(),
            message,
        });
    }
    let providers: Api<Provider> = Api::namespaced(client.clone(), "flux-system");
    for p in providers
        .list(&Default::default())
        .await
        .map_err(list_err("Providers"))?
        .items
    {
        let (ready, message) = ready_of(&p);
        out.push(Row {
            kind: "Provider",
            name: p.name_any(),
            ready,
            revision: String::new(),
            message,
        });
    }
    let alerts: Api<Alert> = Api::namespaced(client.clone(), "flux-system");
    for a in alerts
        .list(&Default::default())
        .await
        .map_err(list_err("Alerts"))?
        .items
    {
        let (ready, message) = ready_of(&a);
        out.push(Row {
            kind: "Alert",
            name: a.name_any(),
            ready,
            revision: String::new(),
            message,
        });
    }
    Ok(out)
}

async fn print_table(client: &kube::Client) -> Result<(), DemoError> {
    let rows = rows(client).await?;
    let short = |r: &str| match (r.split_once("@sha1:"), r.strip_prefix("sha256:")) {
        (Some((branch, sha)), _) => format!("{branch}@sha1:{}", &sha[..sha.len().min(8)]),
        (None, Some(hex)) => format!("sha256:{}", &hex[..hex.len().min(8)]),
        (None, None) => r.to_string(),
    };
    let name_w = rows
        .iter()
        .map(|r| r.kind.len() + 1 + r.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    println!(
        "\n{:<name_w$}  {:<5}  {:<22}  MESSAGE",
        "NAME", "READY", "REVISION"
    );
    for r in &rows {
        let full = format!("{}/{}", r.kind, r.name);
        println!(
            "{:<name_w$}  {:<5}  {:<22}  {}",
            full,
            r.ready,
            short(&r.revision),
            r.message
        );
    }
    Ok(())
}

async fn print_account(
    client: &kube::Client,
    inbox: &Inbox,
    applied_at: Duration,
    delivered: Duration,
) -> Result<(), DemoError> {
    let ks: Api<Kustomization> = Api::namespaced(client.clone(), "flux-system");
    let mut per_ks = Vec::new();
    for k in ks
        .list(&Default::default())
        .await
        .map_err(|e| other("listing Kustomizations")(&e))?
        .items
    {
        let n = k
            .status
            .as_ref()
            .and_then(|s| s.inventory.as_ref())
            .map(|i| i.entries.len())
            .unwrap_or(0);
        per_ks.push(format!("{} ({n} objects)", k.name_any()));
    }
    let releases: Api<HelmRelease> = Api::namespaced(client.clone(), "flux-system");
    let mut per_release = Vec::new();
    for r in releases
        .list(&Default::default())
        .await
        .map_err(|e| other("listing HelmReleases")(&e))?
        .items
    {
        if let Some(h) = r.status.as_ref().and_then(|s| s.history.first()) {
            per_release.push(format!(
                "{} {} as release {}/{} (revision {})",
                h.chart_name, h.chart_version, h.namespace, h.name, h.version
            ));
        }
    }
    let notes = inbox.lock().unwrap_or_else(|e| e.into_inner()).clone();
    println!("\nWhat happened:");
    println!("- source-controller fetched the example repository and served it as an artifact;");
    println!(
        "- kustomize-controller built and applied {} with server-side apply, staging first",
        per_ks.join(" and ")
    );
    println!(
        "  (production depends on it), waiting until every Deployment rolled out ({:.1}s from start);",
        applied_at.as_secs_f64()
    );
    println!(
        "- helm-controller installed chart {} from the demo's own Helm repository;",
        per_release.join(", ")
    );
    println!(
        "- a new commit plus a GitHub push webhook reached both environments in {:.2}s;",
        delivered.as_secs_f64()
    );
    println!(
        "- notification-controller delivered {} notifications to the chat sink; the last ones:",
        notes.len()
    );
    for n in notes
        .iter()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        let obj = format!(
            "{}/{}",
            n["involvedObject"]["kind"].as_str().unwrap_or("?"),
            n["involvedObject"]["name"].as_str().unwrap_or("?")
        );
        let msg = n["message"]
            .as_str()
            .unwrap_or_default()
            .replace('\n', "; ");
        println!(
            "    [{}] {obj}: {msg}",
            n["severity"].as_str().unwrap_or("info")
        );
    }
    Ok(())
}

/// POSTs a GitHub `push` event signed with `token` (X-Hub-Signature-256).
async fn post_github_push(
    port: u16,
    path: &str,
    token: &str,
    body: &str,
) -> Result<u16, DemoError> {
    use hmac::{Hmac, Mac};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(token.as_bytes()).map_err(|e| other("signing")(&e))?;
    mac.update(body.as_bytes());
    let signature = hex::encode(mac.finalize().into_bytes());
    let request = format!(
        "POST {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: sha256={signature}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| other("connecting to the webhook receiver")(&e))?;
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| other("sending the webhook")(&e))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .map_err(|e| other("reading the webhook response")(&e))?;
    let text = String::from_utf8_lossy(&response);
    Ok(text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0))
}
