//! The JSON the page reads: the overview (every row), one object's page
//! (conditions, inventory with health, events, artifact, history) and the
//! graph. Rows come from the in-memory model; only the health of inventory
//! objects is read live, bounded, and never from a Secret.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::core::GroupVersionKind;
use kube::discovery::Scope;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::model::{Links, Model, ObjKey, Ref, Row, State as RowState, node_id};
use crate::kinds;

/// Most inventory objects whose health one request reads.
pub const MAX_HEALTH_READS: usize = 300;
/// How many of those reads run at once.
const CONCURRENT_READS: usize = 8;
/// How long one read may take.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Group, version and kind of a resolved resource.
type GvkKey = (String, String, String);

/// What every handler shares.
pub struct AppState {
    /// The watched state.
    pub model: Arc<Model>,
    /// The user's client.
    pub client: kube::Client,
    /// Whether `--allow-actions` was given.
    pub allow_actions: bool,
    /// Resolved kinds (`None`: the server does not serve it).
    resources: tokio::sync::Mutex<HashMap<GvkKey, Option<(ApiResource, bool)>>>,
}

impl AppState {
    /// The shared state.
    pub fn new(model: Arc<Model>, client: kube::Client, allow_actions: bool) -> Self {
        AppState {
            model,
            client,
            allow_actions,
            resources: tokio::sync::Mutex::new(HashMap::new()),
        }
    }
}

/// An error answered as JSON `{"error": ...}`.
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({"error": self.1}))).into_response()
    }
}

/// Checks the path's kind, namespace and name.
pub fn parse_key(kind: &str, namespace: &str, name: &str) -> Result<ObjKey, ApiError> {
    let bad = |m: String| ApiError(StatusCode::BAD_REQUEST, m);
    let k = kinds::by_kind(kind).ok_or_else(|| bad(format!("unknown kind {kind:?}")))?;
    kinds::parse_namespace(namespace).map_err(bad)?;
    kinds::parse_name(name).map_err(bad)?;
    Ok(ObjKey {
        kind: k.kind,
        namespace: namespace.to_string(),
        name: name.to_string(),
    })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Overview {
    synced: bool,
    truncated: bool,
    allow_actions: bool,
    objects: Vec<Row>,
}

/// `GET /api/overview`.
pub async fn overview(State(s): State<Arc<AppState>>) -> Response {
    let (synced, truncated) = s.model.sync_state();
    Json(Overview {
        synced,
        truncated,
        allow_actions: s.allow_actions,
        objects: s.model.rows(),
    })
    .into_response()
}

/// The health of one object as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct HealthView {
    /// `Current`, `InProgress`, `Failed`, `Terminating`, `NotFound`,
    /// `Unknown`, `Suspended`, `NotRead`.
    pub status: String,
    /// Why.
    pub message: String,
}

impl HealthView {
    fn new(status: &str, message: impl Into<String>) -> Self {
        HealthView {
            status: status.to_string(),
            message: message.into(),
        }
    }
}

#[derive(Serialize)]
struct InventoryItem {
    #[serde(flatten)]
    obj: Ref,
    id: String,
    flux: bool,
    health: HealthView,
}

/// `GET /api/object/{kind}/{namespace}/{name}`.
pub async fn object(
    State(s): State<Arc<AppState>>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let key = parse_key(&kind, &namespace, &name)?;
    let entry = s.model.get(&key).ok_or_else(|| {
        ApiError(
            StatusCode::NOT_FOUND,
            format!("{} {namespace}/{name} not found", key.kind),
        )
    })?;
    let obj: Value = serde_json::from_str(&entry.raw).unwrap_or(Value::Null);
    let healths = health_of(&s, &entry.links.inventory).await;
    let inventory: Vec<InventoryItem> = entry
        .links
        .inventory
        .iter()
        .zip(healths)
        .map(|(r, (flux, health))| InventoryItem {
            obj: r.clone(),
            id: r.id(),
            flux,
            health,
        })
        .collect();
    let status = &obj["status"];
    Ok(Json(json!({
        "row": entry.row,
        "links": entry.links,
        "sourceId": entry.links.source.as_ref().map(Ref::id),
        "conditions": status["conditions"],
        "artifact": status["artifact"],
        "history": status["history"],
        "inventory": inventory,
        "events": s.model.events_of(key.kind, &key.namespace, &key.name),
        "annotations": obj["metadata"]["annotations"],
        "spec": obj["spec"],
        "allowActions": s.allow_actions,
    }))
    .into_response())
}

/// The Flux kind an inventory entry names, if it is one.
fn flux_kind(r: &Ref) -> Option<kinds::FluxKind> {
    kinds::ALL
        .iter()
        .copied()
        .find(|k| k.kind == r.kind && k.group == r.group)
}

/// The health of each object (`true` when it is a Flux object, judged from
/// the model); at most [`MAX_HEALTH_READS`] are read from the cluster.
async fn health_of(s: &AppState, refs: &[Ref]) -> Vec<(bool, HealthView)> {
    let mut reads = 0usize;
    let work: Vec<_> = refs
        .iter()
        .map(|r| {
            let read = flux_kind(r).is_none() && !is_secret(r) && reads < MAX_HEALTH_READS;
            if read {
                reads += 1;
            }
            (r.clone(), read)
        })
        .collect();
    futures::stream::iter(work)
        .map(|(r, read)| async move {
            if let Some(k) = flux_kind(&r) {
                let key = ObjKey {
                    kind: k.kind,
                    namespace: r.namespace.clone(),
                    name: r.name.clone(),
                };
                let h = match s.model.state_of(&key) {
                    Some((state, message)) => HealthView::new(state_name(state), message),
                    None => HealthView::new("NotFound", "not in the cluster"),
                };
                return (true, h);
            }
            if is_secret(&r) {
                return (false, HealthView::new("NotRead", "Secrets are never read"));
            }
            if !read {
                return (
                    false,
                    HealthView::new("Unknown", format!("not read (over {MAX_HEALTH_READS})")),
                );
            }
            (false, read_health(s, &r).await)
        })
        .buffered(CONCURRENT_READS)
        .collect()
        .await
}

/// The health words of a Flux object's state.
fn state_name(state: RowState) -> &'static str {
    match state {
        RowState::Ready => "Current",
        RowState::Failing => "Failed",
        RowState::Progressing => "InProgress",
        RowState::Suspended => "Suspended",
    }
}

fn is_secret(r: &Ref) -> bool {
    r.group.is_empty() && r.kind == "Secret"
}

async fn resource(s: &AppState, r: &Ref) -> Option<(ApiResource, bool)> {
    let key = (r.group.clone(), r.version.clone(), r.kind.clone());
    if let Some(found) = s.resources.lock().await.get(&key) {
        return found.clone();
    }
    let gvk = GroupVersionKind::gvk(&r.group, &r.version, &r.kind);
    let found =
        match tokio::time::timeout(READ_TIMEOUT, kube::discovery::pinned_kind(&s.client, &gvk))
            .await
        {
            Ok(Ok((ar, caps))) => Some((ar, caps.scope == Scope::Namespaced)),
            // A transient failure is not remembered.
            Err(_) | Ok(Err(kube::Error::Service(_) | kube::Error::HyperError(_))) => return None,
            Ok(Err(_)) => None,
        };
    let mut cache = s.resources.lock().await;
    // Bounded: a cluster has few kinds, but inventories come from users.
    if cache.len() >= 1024 {
        cache.clear();
    }
    cache.insert(key, found.clone());
    found
}

async fn read_health(s: &AppState, r: &Ref) -> HealthView {
    if r.version.is_empty() {
        return HealthView::new("Unknown", "the inventory entry has no version");
    }
    let Some((ar, namespaced)) = resource(s, r).await else {
        return HealthView::new(
            "Unknown",
            format!(
                "the server does not serve {}/{} {}",
                r.group, r.version, r.kind
            ),
        );
    };
    // Belt and braces: whatever the entry says, never a Secret.
    if ar.plural == "secrets" && ar.group.is_empty() {
        return HealthView::new("NotRead", "Secrets are never read");
    }
    let api: Api<DynamicObject> = if namespaced {
        Api::namespaced_with(s.client.clone(), &r.namespace, &ar)
    } else {
        Api::all_with(s.client.clone(), &ar)
    };
    match tokio::time::timeout(READ_TIMEOUT, api.get_opt(&r.name)).await {
        Err(_) => HealthView::new("Unknown", "reading it timed out"),
        Ok(Err(e)) => HealthView::new("Unknown", format!("reading it failed: {e}")),
        Ok(Ok(None)) => HealthView::new("NotFound", "not in the cluster"),
        Ok(Ok(Some(o))) => {
            let v = serde_json::to_value(&o).unwrap_or(Value::Null);
            let h = ferroflux_ssa::health::assess(&v);
            HealthView::new(&format!("{:?}", h.status), h.message)
        }
    }
}

/// `?namespace=` of the graph.
#[derive(Deserialize)]
pub struct GraphQuery {
    namespace: Option<String>,
}

#[derive(Serialize)]
struct GraphNode {
    id: String,
    kind: String,
    namespace: String,
    name: String,
    flux: bool,
    health: HealthView,
}

#[derive(Serialize)]
struct GraphEdge {
    from: String,
    to: String,
    #[serde(rename = "type")]
    type_: &'static str,
}

/// `GET /api/graph[?namespace=NS]`: sources → Kustomizations/HelmReleases →
/// inventories, plus `dependsOn` edges.
pub async fn graph(
    State(s): State<Arc<AppState>>,
    Query(q): Query<GraphQuery>,
) -> Result<Response, ApiError> {
    let ns = q.namespace.filter(|n| !n.is_empty());
    if let Some(n) = &ns {
        kinds::parse_namespace(n).map_err(|e| ApiError(StatusCode::BAD_REQUEST, e))?;
    }
    let graphed = |r: &Row| {
        !matches!(r.kind, "Alert" | "Provider" | "Receiver")
            && ns.as_deref().is_none_or(|n| r.namespace == n)
    };
    let entries: Vec<(Row, Links)> = s.model.graph_entries(graphed);
    let mut nodes: BTreeMap<String, GraphNode> = BTreeMap::new();
    let mut edges = Vec::new();
    let mut seen_edges = HashSet::new();
    for (row, _) in &entries {
        nodes.insert(
            node_id(row.kind, &row.namespace, &row.name),
            GraphNode {
                id: node_id(row.kind, &row.namespace, &row.name),
                kind: row.kind.to_string(),
                namespace: row.namespace.clone(),
                name: row.name.clone(),
                flux: true,
                health: HealthView::new(state_name(row.state), row.message.clone()),
            },
        );
    }
    let mut unknown: Vec<Ref> = Vec::new();
    let mut add_edge = |from: String, to: String, t: &'static str| {
        if seen_edges.insert((from.clone(), to.clone(), t)) {
            edges.push(GraphEdge { from, to, type_: t });
        }
    };
    for (row, links) in &entries {
        let me = node_id(row.kind, &row.namespace, &row.name);
        if let Some(src) = &links.source
            && nodes.contains_key(&src.id())
        {
            add_edge(src.id(), me.clone(), "source");
        }
        for d in &links.depends_on {
            if nodes.contains_key(&d.id()) {
                add_edge(d.id(), me.clone(), "dependsOn");
            }
        }
        for inv in &links.inventory {
            if !nodes.contains_key(&inv.id()) && !unknown.iter().any(|u| u.id() == inv.id()) {
                unknown.push(inv.clone());
            }
            add_edge(me.clone(), inv.id(), "inventory");
        }
    }
    let healths = health_of(&s, &unknown).await;
    for (r, (flux, health)) in unknown.into_iter().zip(healths) {
        nodes.insert(
            r.id(),
            GraphNode {
                id: r.id(),
                kind: r.kind.clone(),
                namespace: r.namespace.clone(),
                name: r.name.clone(),
                flux,
                health,
            },
        );
    }
    Ok(Json(json!({
        "nodes": nodes.into_values().collect::<Vec<_>>(),
        "edges": edges,
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_from_the_path_are_checked() {
        assert!(parse_key("Kustomization", "apps", "web").is_ok());
        assert!(parse_key("kustomization", "apps", "web").is_ok());
        for (k, n, m) in [
            ("Secret", "apps", "web"),
            ("Kustomization", "../x", "web"),
            ("Kustomization", "apps", "a/b"),
            ("Kustomization", "apps", ""),
        ] {
            let e = parse_key(k, n, m).expect_err("refused");
            assert_eq!(e.0, StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn secrets_are_recognised() {
        let r = |g: &str, k: &str| Ref {
            group: g.into(),
            version: "v1".into(),
            kind: k.into(),
            namespace: "a".into(),
            name: "b".into(),
        };
        assert!(is_secret(&r("", "Secret")));
        assert!(!is_secret(&r("", "ConfigMap")));
        assert!(!is_secret(&r("example.com", "Secret")));
    }
}
