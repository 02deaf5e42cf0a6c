//! `ferroflux events`: the Kubernetes events of Flux objects, oldest
//! first, as `flux events` shows them; `--for Kind/name` adds the events
//! of the object's source, `--watch` follows new ones.

use std::io::Write;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams};
use kube::runtime::watcher;
use serde_json::Value;

use crate::connect::{Cluster, ConnectArgs};
use crate::kinds::{self, FluxKind, Shape};
use crate::table::{Log, write_table};

/// `ferroflux events`.
#[derive(clap::Args, Debug)]
pub struct EventsArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// Events of every namespace.
    #[arg(short = 'A', long)]
    all_namespaces: bool,
    /// Keep printing new events (until `--timeout`).
    #[arg(short = 'w', long)]
    watch: bool,
    /// Only events of this object and its source: `Kind/name` (or every object of `Kind`).
    #[arg(long = "for")]
    for_selector: Option<String>,
    /// Only events of these types: Normal, Warning.
    #[arg(long, value_delimiter = ',')]
    types: Vec<String>,
}

/// Which objects' events are shown.
#[derive(Debug, Default)]
struct Filter {
    /// `(kind, name, namespace)`: name or namespace `None` means any.
    objects: Vec<(String, Option<String>, Option<String>)>,
    types: Vec<String>,
}

impl Filter {
    fn accepts(&self, e: &Event) -> bool {
        let kind = e.involved_object.kind.as_deref().unwrap_or("");
        if kinds::by_kind(kind).is_none() {
            return false;
        }
        if !self.types.is_empty()
            && !self.types.iter().any(|t| {
                e.type_
                    .as_deref()
                    .is_some_and(|et| et.eq_ignore_ascii_case(t))
            })
        {
            return false;
        }
        if self.objects.is_empty() {
            return true;
        }
        let name = e.involved_object.name.as_deref();
        let ns = e
            .involved_object
            .namespace
            .as_deref()
            .or(e.metadata.namespace.as_deref());
        self.objects.iter().any(|(k, n, s)| {
            k.eq_ignore_ascii_case(kind)
                && n.as_deref().is_none_or(|n| Some(n) == name)
                && s.as_deref().is_none_or(|s| Some(s) == ns)
        })
    }

    /// Namespaces to read besides the command's own (a source elsewhere).
    fn other_namespaces(&self, own: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (_, _, ns) in &self.objects {
            if let Some(ns) = ns
                && ns != own
                && !out.contains(ns)
            {
                out.push(ns.clone());
            }
        }
        out
    }
}

/// Runs `events`.
pub async fn run(args: &EventsArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    for t in &args.types {
        if !t.eq_ignore_ascii_case("Normal") && !t.eq_ignore_ascii_case("Warning") {
            anyhow::bail!("type '{t}' not supported. Supported types are Normal, Warning");
        }
    }
    let cluster = args.connect.connect().await?;
    let mut filter = Filter {
        types: args.types.clone(),
        ..Default::default()
    };
    if let Some(sel) = &args.for_selector {
        let (kind_name, name) = match sel.split_once('/') {
            Some((k, n)) => (k, Some(n)),
            None => (sel.as_str(), None),
        };
        if kind_name.is_empty() || name == Some("") {
            anyhow::bail!("--for selector must be of format <kind>[/<name>]");
        }
        if let Some(name) = name {
            kinds::parse_name(name).map_err(|e| anyhow::anyhow!("--for: {e}"))?;
        }
        let kind = kinds::by_kind(kind_name)
            .ok_or_else(|| kinds::LookupError::UnknownKind(kind_name.to_string()))?;
        let own_ns = (!args.all_namespaces).then(|| cluster.namespace.clone());
        filter
            .objects
            .push((kind.kind.to_string(), name.map(str::to_string), own_ns));
        if let Some(name) = name {
            let obj = cluster.get_object(&kind, name).await?;
            filter.objects.extend(references(&kind, &obj));
        }
    }
    let namespace = (!args.all_namespaces).then_some(cluster.namespace.as_str());
    let extra = match namespace {
        Some(ns) => filter.other_namespaces(ns),
        None => Vec::new(),
    };
    let show_namespace = namespace.is_none() || !extra.is_empty();
    if args.watch {
        return tokio::time::timeout(
            cluster.timeout,
            watch(&cluster, namespace, &filter, show_namespace, out),
        )
        .await
        .unwrap_or(Ok(()));
    }
    let mut events = Vec::new();
    for ns in namespace
        .map(str::to_string)
        .into_iter()
        .chain(extra)
        .map(Some)
        .chain(namespace.is_none().then_some(None))
    {
        let api: Api<Event> = match &ns {
            Some(ns) => Api::namespaced(cluster.client.clone(), ns),
            None => Api::all(cluster.client.clone()),
        };
        let list = tokio::time::timeout(cluster.timeout, api.list(&ListParams::default()))
            .await
            .map_err(|_| anyhow::anyhow!("timed out after {:?} listing events", cluster.timeout))?
            .map_err(|e| cluster.explain(e))?;
        events.extend(list.items.into_iter().filter(|e| filter.accepts(e)));
    }
    if events.is_empty() {
        let log = Log::default();
        match namespace {
            None => log.failure("No events found."),
            Some(ns) => log.failure(&format!("No events found in {ns} namespace.")),
        }
        return Ok(());
    }
    // Kubernetes' timestamps have whole seconds; the event time's
    // microseconds break ties, so events of one second keep their order.
    events.sort_by_key(|e| (event_time(e), e.event_time.as_ref().map(|t| t.0)));
    let now = Timestamp::now();
    let rows: Vec<Vec<String>> = events.iter().map(|e| row(e, show_namespace, now)).collect();
    write_table(out, &headers(show_namespace), &rows)?;
    Ok(())
}

async fn watch(
    cluster: &Cluster,
    namespace: Option<&str>,
    filter: &Filter,
    show_namespace: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    // A source in another namespace means watching every namespace.
    let api: Api<Event> = match namespace {
        Some(ns) if filter.other_namespaces(ns).is_empty() => {
            Api::namespaced(cluster.client.clone(), ns)
        }
        _ => Api::all(cluster.client.clone()),
    };
    let mut stream = watcher(api, watcher::Config::default()).boxed();
    let mut header = true;
    while let Some(event) = stream.next().await {
        let e = match event {
            Ok(watcher::Event::Apply(e) | watcher::Event::InitApply(e)) => e,
            Ok(_) => continue,
            Err(
                watcher::Error::InitialListFailed(e)
                | watcher::Error::WatchStartFailed(e)
                | watcher::Error::WatchFailed(e),
            ) => return Err(cluster.explain(e)),
            Err(e) => return Err(e.into()),
        };
        let in_scope = namespace.is_none()
            || e.metadata.namespace.as_deref() == namespace
            || !filter.objects.is_empty();
        if !in_scope || !filter.accepts(&e) {
            continue;
        }
        let h = if header {
            header = false;
            headers(show_namespace)
        } else {
            Vec::new()
        };
        write_table(out, &h, &[row(&e, show_namespace, Timestamp::now())])?;
        out.flush()?;
    }
    Ok(())
}

/// The objects whose events `--for Kind/name` adds: its source (and for a
/// HelmRelease its HelmChart), an Alert's Provider.
fn references(kind: &FluxKind, obj: &Value) -> Vec<(String, Option<String>, Option<String>)> {
    let own_ns = kinds::str_at(&obj["metadata"]["namespace"]).to_string();
    let spec = &obj["spec"];
    let one = |r: &Value, default_kind: Option<&str>| {
        let k = default_kind
            .unwrap_or(kinds::str_at(&r["kind"]))
            .to_string();
        let n = kinds::str_at(&r["name"]).to_string();
        let ns = match kinds::str_at(&r["namespace"]) {
            "" => own_ns.clone(),
            ns => ns.to_string(),
        };
        (k, Some(n), Some(ns))
    };
    match kind.shape {
        Shape::Kustomization => vec![one(&spec["sourceRef"], None)],
        Shape::Source if kind.kind == kinds::HELM_CHART.kind => vec![one(&spec["sourceRef"], None)],
        Shape::HelmRelease if spec["chartRef"].is_object() => vec![one(&spec["chartRef"], None)],
        Shape::HelmRelease => {
            let source = one(&spec["chart"]["spec"]["sourceRef"], None);
            let chart = (
                kinds::HELM_CHART.kind.to_string(),
                Some(format!(
                    "{own_ns}-{}",
                    kinds::str_at(&obj["metadata"]["name"])
                )),
                source.2.clone(),
            );
            vec![source, chart]
        }
        Shape::Alert => vec![(
            kinds::PROVIDER.kind.to_string(),
            Some(kinds::str_at(&spec["providerRef"]["name"]).to_string()),
            Some(own_ns),
        )],
        _ => Vec::new(),
    }
}

fn headers(show_namespace: bool) -> Vec<&'static str> {
    let mut h = Vec::new();
    if show_namespace {
        h.push("Namespace");
    }
    h.extend(["Last seen", "Type", "Reason", "Object", "Message"]);
    h
}

fn row(e: &Event, show_namespace: bool, now: Timestamp) -> Vec<String> {
    let mut row = Vec::new();
    if show_namespace {
        row.push(e.metadata.namespace.clone().unwrap_or_default());
    }
    row.push(last_seen(e, now));
    row.push(e.type_.clone().unwrap_or_default());
    row.push(e.reason.clone().unwrap_or_default());
    row.push(format!(
        "{}/{}",
        e.involved_object.kind.as_deref().unwrap_or(""),
        e.involved_object.name.as_deref().unwrap_or("")
    ));
    row.push(e.message.clone().unwrap_or_default());
    row
}

/// When the event last happened (series, else last timestamp, else event time).
fn event_time(e: &Event) -> Option<Timestamp> {
    e.series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref())
        .map(|t| t.0)
        .or(e.last_timestamp.as_ref().map(|t| t.0))
        .or(e.event_time.as_ref().map(|t| t.0))
}

/// The LAST SEEN column, as kubectl and flux word it.
fn last_seen(e: &Event, now: Timestamp) -> String {
    let since = |t: Option<Timestamp>| match t {
        Some(t) => human_duration(now.duration_since(t).as_secs()),
        None => "<unknown>".to_string(),
    };
    let first = since(
        e.event_time
            .as_ref()
            .map(|t| t.0)
            .or(e.first_timestamp.as_ref().map(|t| t.0)),
    );
    if let Some(series) = &e.series {
        return format!(
            "{} (x{} over {first})",
            since(series.last_observed_time.as_ref().map(|t| t.0)),
            series.count.unwrap_or(0)
        );
    }
    match e.count {
        Some(n) if n > 1 => format!(
            "{} (x{n} over {first})",
            since(e.last_timestamp.as_ref().map(|t| t.0))
        ),
        _ => first,
    }
}

/// A duration in whole seconds as Kubernetes' `HumanDuration` prints it
/// (`45s`, `3m20s`, `2h5m`, `3d4h`): two units while that is short.
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{}d", hours / 24),
            h => format!("{}d{h}h", hours / 24),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        return match (hours / 24) % 365 {
            0 => format!("{}y", hours / 24 / 365),
            d => format!("{}y{d}d", hours / 24 / 365),
        };
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_kubectl_prints_them() {
        assert_eq!(human_duration(-5), "<invalid>");
        assert_eq!(human_duration(-1), "0s");
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(119), "119s");
        assert_eq!(human_duration(200), "3m20s");
        assert_eq!(human_duration(300), "5m");
        assert_eq!(human_duration(3600), "60m");
        assert_eq!(human_duration(3 * 3600 + 5 * 60), "3h5m");
        assert_eq!(human_duration(30 * 3600), "30h");
        assert_eq!(human_duration(3 * 86400 + 4 * 3600), "3d4h");
        assert_eq!(human_duration(100 * 86400), "100d");
        assert_eq!(human_duration(3 * 365 * 86400 + 86400), "3y1d");
        assert_eq!(human_duration(9 * 365 * 86400), "9y");
    }
}
