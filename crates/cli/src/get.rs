//! `ferroflux get`: the status of Flux objects, in `flux get`'s columns,
//! optionally watched, filtered by condition, or printed as YAML/JSON.

use std::io::Write;

use futures::StreamExt;
use kube::api::ListParams;
use kube::runtime::watcher;
use serde_json::Value;

use crate::connect::{Cluster, ConnectArgs};
use crate::kinds::{self, FluxKind, Shape};
use crate::table::{Log, write_table};

/// `ferroflux get ...`.
#[derive(clap::Args, Debug)]
pub struct GetArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// List the objects across all namespaces.
    #[arg(short = 'A', long, global = true)]
    all_namespaces: bool,
    /// Skip the header.
    #[arg(long, global = true)]
    no_header: bool,
    /// After listing, watch for changes (until `--timeout`).
    #[arg(short = 'w', long, global = true)]
    watch: bool,
    /// Only objects whose condition has this status: `ready=false`, `ready!=true`.
    #[arg(long, global = true)]
    status_selector: Option<String>,
    /// Only objects matching this label selector.
    #[arg(short = 'l', long, global = true)]
    label_selector: Option<String>,
    /// Print the objects themselves instead of a table.
    #[arg(short = 'o', long, global = true, value_enum)]
    output: Option<Output>,
    #[command(subcommand)]
    what: GetWhat,
}

/// `-o`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// YAML.
    Yaml,
    /// JSON.
    Json,
}

#[derive(clap::Args, Debug)]
struct Named {
    /// Only the object with this name.
    #[arg(value_parser = crate::kinds::parse_name)]
    name: Option<String>,
}

#[derive(clap::Args, Debug)]
struct NamedWithSource {
    /// Only the object with this name.
    #[arg(value_parser = crate::kinds::parse_name)]
    name: Option<String>,
    /// Show the source of each object in a SOURCE column.
    #[arg(long)]
    show_source: bool,
}

#[derive(clap::Subcommand, Debug)]
enum GetWhat {
    /// Every Flux object.
    All(Named),
    /// Sources.
    #[command(alias = "source")]
    Sources {
        #[command(subcommand)]
        what: SourceWhat,
    },
    /// Kustomizations.
    #[command(aliases = ["ks", "kustomization"])]
    Kustomizations(NamedWithSource),
    /// HelmReleases.
    #[command(aliases = ["hr", "helmrelease"])]
    Helmreleases(NamedWithSource),
    /// Alerts.
    #[command(alias = "alert")]
    Alerts(Named),
    /// Alert providers.
    #[command(name = "alert-providers", alias = "alert-provider")]
    AlertProviders(Named),
    /// Receivers.
    #[command(alias = "receiver")]
    Receivers(Named),
}

#[derive(clap::Subcommand, Debug)]
enum SourceWhat {
    /// Every source.
    All(Named),
    /// GitRepositories.
    Git(Named),
    /// OCIRepositories.
    Oci(Named),
    /// HelmRepositories.
    Helm(Named),
    /// HelmCharts.
    Chart(Named),
    /// Buckets.
    Bucket(Named),
}

/// What the subcommand asked for.
struct Request {
    kinds: Vec<FluxKind>,
    name: Option<String>,
    all: bool,
    show_source: bool,
}

impl GetWhat {
    fn request(&self) -> Request {
        let one = |k: FluxKind, n: &Named| Request {
            kinds: vec![k],
            name: n.name.clone(),
            all: false,
            show_source: false,
        };
        let with_source = |k: FluxKind, n: &NamedWithSource| Request {
            kinds: vec![k],
            name: n.name.clone(),
            all: false,
            show_source: n.show_source,
        };
        match self {
            GetWhat::All(n) => Request {
                kinds: kinds::ALL.to_vec(),
                name: n.name.clone(),
                all: true,
                show_source: false,
            },
            GetWhat::Sources { what } => match what {
                SourceWhat::All(n) => Request {
                    kinds: kinds::SOURCES.to_vec(),
                    name: n.name.clone(),
                    all: true,
                    show_source: false,
                },
                SourceWhat::Git(n) => one(kinds::GIT_REPOSITORY, n),
                SourceWhat::Oci(n) => one(kinds::OCI_REPOSITORY, n),
                SourceWhat::Helm(n) => one(kinds::HELM_REPOSITORY, n),
                SourceWhat::Chart(n) => one(kinds::HELM_CHART, n),
                SourceWhat::Bucket(n) => one(kinds::BUCKET, n),
            },
            GetWhat::Kustomizations(n) => with_source(kinds::KUSTOMIZATION, n),
            GetWhat::Helmreleases(n) => with_source(kinds::HELM_RELEASE, n),
            GetWhat::Alerts(n) => one(kinds::ALERT, n),
            GetWhat::AlertProviders(n) => one(kinds::PROVIDER, n),
            GetWhat::Receivers(n) => one(kinds::RECEIVER, n),
        }
    }
}

/// A parsed `--status-selector`.
#[derive(Debug)]
struct StatusSelector {
    cond_type: String,
    cond_status: String,
    negated: bool,
}

impl StatusSelector {
    fn parse(text: &str) -> anyhow::Result<Self> {
        // "!=" first: it contains "=".
        let (negated, sep) = if text.contains("!=") {
            (true, "!=")
        } else {
            (false, "=")
        };
        match text.split_once(sep) {
            Some((t, s)) if !t.is_empty() => Ok(Self {
                cond_type: t.to_string(),
                cond_status: s.to_string(),
                negated,
            }),
            _ => anyhow::bail!(
                "expected status selector in type=status or type!=status format, but found: {text}"
            ),
        }
    }

    fn matches(&self, kind: &FluxKind, obj: &Value) -> bool {
        kind.status_matches(obj, &self.cond_type, &self.cond_status) != self.negated
    }
}

/// Runs `get`, writing the result to `out`.
pub async fn run(args: &GetArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let request = args.what.request();
    let selector = args
        .status_selector
        .as_deref()
        .map(StatusSelector::parse)
        .transpose()?;
    if args.watch && request.all {
        anyhow::bail!("expected a single resource type, but found all");
    }
    let cluster = args.connect.connect().await?;
    let namespace = (!args.all_namespaces).then_some(cluster.namespace.as_str());
    let mut params = ListParams::default();
    if let Some(l) = &args.label_selector {
        params = params.labels(l);
    }
    if let Some(name) = &request.name {
        params = params.fields(&format!("metadata.name={name}"));
    }
    if args.watch {
        let kind = request.kinds[0];
        return tokio::time::timeout(
            cluster.timeout,
            watch(args, &cluster, kind, &request, selector.as_ref(), out),
        )
        .await
        .unwrap_or(Ok(()));
    }
    let log = Log::default();
    let mut documents = Vec::new();
    for kind in &request.kinds {
        let api = kind.api(&cluster.client, namespace);
        let list = match tokio::time::timeout(cluster.timeout, api.list(&params)).await {
            Err(_) => anyhow::bail!(
                "timed out after {:?} listing {} objects",
                cluster.timeout,
                kind.kind
            ),
            Ok(Ok(list)) => list,
            // A kind whose CRD is not installed is skipped by `get all`.
            Ok(Err(kube::Error::Api(e))) if request.all && e.code == 404 => continue,
            Ok(Err(e)) => {
                let e = cluster.explain(e);
                if request.all && !is_unreachable(&e) {
                    log.failure(&format!("{e:#}"));
                    continue;
                }
                return Err(e);
            }
        };
        let items: Vec<Value> = list
            .items
            .iter()
            .map(|o| kinds::to_json(kind, o))
            // The field selector is a request; the server may ignore it.
            .filter(|o| {
                request
                    .name
                    .as_deref()
                    .is_none_or(|n| o["metadata"]["name"] == n)
            })
            .filter(|o| selector.as_ref().is_none_or(|s| s.matches(kind, o)))
            .collect();
        if args.output.is_some() {
            documents.extend(items);
            continue;
        }
        if list.items.is_empty() {
            if request.all {
                continue;
            }
            if let Some(name) = &request.name {
                return Err(kind.not_found(name, namespace).into());
            }
            anyhow::bail!(
                "no {} objects found in {} namespace",
                kind.kind,
                kinds::scope(namespace)
            );
        }
        if request.all && items.is_empty() {
            continue;
        }
        let header = if args.no_header {
            Vec::new()
        } else {
            headers(kind, args.all_namespaces, request.show_source)
        };
        let rows: Vec<Vec<String>> = items
            .iter()
            .map(|o| {
                row(
                    kind,
                    o,
                    args.all_namespaces,
                    request.all,
                    request.show_source,
                )
            })
            .collect();
        write_table(out, &header, &rows)?;
        if request.all {
            writeln!(out)?;
        }
    }
    if let Some(format) = args.output {
        if let (Some(name), false, [kind]) = (&request.name, request.all, &request.kinds[..])
            && documents.is_empty()
        {
            return Err(kind.not_found(name, namespace).into());
        }
        let doc = if request.name.is_some() && documents.len() == 1 {
            documents.remove(0)
        } else {
            serde_json::json!({"apiVersion": "v1", "kind": "List", "items": documents})
        };
        print_document(out, &doc, format)?;
    }
    Ok(())
}

fn is_unreachable(e: &anyhow::Error) -> bool {
    matches!(
        e.downcast_ref::<crate::connect::ConnectError>(),
        Some(crate::connect::ConnectError::Unreachable { .. })
    )
}

/// Writes one document as YAML or JSON.
pub fn print_document(out: &mut dyn Write, doc: &Value, format: Output) -> anyhow::Result<()> {
    match format {
        Output::Yaml => out.write_all(serde_yaml::to_string(doc)?.as_bytes())?,
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(doc)?)?,
    }
    Ok(())
}

async fn watch(
    args: &GetArgs,
    cluster: &Cluster,
    kind: FluxKind,
    request: &Request,
    selector: Option<&StatusSelector>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let namespace = (!args.all_namespaces).then_some(cluster.namespace.as_str());
    let api = kind.api(&cluster.client, namespace);
    let mut config = watcher::Config::default();
    if let Some(l) = &args.label_selector {
        config = config.labels(l);
    }
    if let Some(name) = &request.name {
        config = config.fields(&format!("metadata.name={name}"));
    }
    let mut header_done = args.no_header || args.output.is_some();
    let mut stream = watcher(api, config).boxed();
    while let Some(event) = stream.next().await {
        let obj = match event {
            Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => o,
            Ok(watcher::Event::Delete(o)) => o,
            Ok(watcher::Event::Init | watcher::Event::InitDone) => continue,
            Err(watcher::Error::InitialListFailed(kube::Error::Api(e))) if e.code == 404 => {
                anyhow::bail!(
                    "the server does not serve {}/{} {}",
                    kind.group,
                    kind.version,
                    kind.kind
                )
            }
            Err(
                watcher::Error::InitialListFailed(e)
                | watcher::Error::WatchStartFailed(e)
                | watcher::Error::WatchFailed(e),
            ) => return Err(cluster.explain(e)),
            Err(e) => return Err(e.into()),
        };
        let obj = kinds::to_json(&kind, &obj);
        if request
            .name
            .as_deref()
            .is_some_and(|n| obj["metadata"]["name"] != n)
            || selector.is_some_and(|s| !s.matches(&kind, &obj))
        {
            continue;
        }
        if let Some(format) = args.output {
            print_document(out, &obj, format)?;
            if format == Output::Yaml {
                writeln!(out, "---")?;
            }
            out.flush()?;
            continue;
        }
        let header = if header_done {
            Vec::new()
        } else {
            header_done = true;
            headers(&kind, args.all_namespaces, request.show_source)
        };
        let row = row(&kind, &obj, args.all_namespaces, false, request.show_source);
        write_table(out, &header, &[row])?;
        out.flush()?;
    }
    Ok(())
}

/// The header of a kind's table, as flux prints it.
fn headers(kind: &FluxKind, namespace: bool, show_source: bool) -> Vec<&'static str> {
    let mut h = vec![];
    if namespace {
        h.push("Namespace");
    }
    h.push("Name");
    match kind.shape {
        Shape::Source => h.extend(["Revision", "Suspended", "Ready", "Message"]),
        Shape::Kustomization | Shape::HelmRelease => {
            if show_source {
                h.push("Source");
            }
            h.extend(["Revision", "Suspended", "Ready", "Message"]);
        }
        Shape::Alert | Shape::Receiver => h.extend(["Suspended", "Ready", "Message"]),
        Shape::Provider => h.extend(["Ready", "Message"]),
    }
    h
}

/// One object's row.
fn row(
    kind: &FluxKind,
    obj: &Value,
    namespace: bool,
    with_kind: bool,
    show_source: bool,
) -> Vec<String> {
    let mut row = Vec::new();
    let meta = &obj["metadata"];
    if namespace {
        row.push(kinds::str_at(&meta["namespace"]).to_string());
    }
    let name = kinds::str_at(&meta["name"]);
    row.push(if with_kind {
        format!("{}/{name}", kind.kind.to_lowercase())
    } else {
        name.to_string()
    });
    let (ready, message) = kind.ready(obj);
    let suspended = kinds::suspended(obj).to_string();
    match kind.shape {
        Shape::Source => row.extend([kind.revision(obj), suspended, ready, message]),
        Shape::Kustomization | Shape::HelmRelease => {
            if show_source {
                row.push(source_of(kind, obj));
            }
            row.extend([kind.revision(obj), suspended, ready, message]);
        }
        Shape::Alert | Shape::Receiver => row.extend([suspended, ready, message]),
        Shape::Provider => row.extend([ready, message]),
    }
    row
}

/// `Kind/namespace/name` of the source a Kustomization or HelmRelease uses.
fn source_of(kind: &FluxKind, obj: &Value) -> String {
    let spec = &obj["spec"];
    let r = if kind.shape == Shape::HelmRelease && spec["chartRef"].is_object() {
        &spec["chartRef"]
    } else if kind.shape == Shape::HelmRelease {
        &spec["chart"]["spec"]["sourceRef"]
    } else {
        &spec["sourceRef"]
    };
    let ns = match kinds::str_at(&r["namespace"]) {
        "" => kinds::str_at(&obj["metadata"]["namespace"]),
        ns => ns,
    };
    format!(
        "{}/{}/{}",
        kinds::str_at(&r["kind"]),
        ns,
        kinds::str_at(&r["name"])
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_selectors_parse_as_flux_takes_them() {
        let s = StatusSelector::parse("ready!=true").unwrap();
        assert!(s.negated);
        assert_eq!(
            (s.cond_type.as_str(), s.cond_status.as_str()),
            ("ready", "true")
        );
        let s = StatusSelector::parse("Ready=False").unwrap();
        assert!(!s.negated);
        let e = StatusSelector::parse("ready").unwrap_err().to_string();
        assert!(e.contains("type=status"), "{e}");
        assert!(StatusSelector::parse("=true").is_err());
    }
}
