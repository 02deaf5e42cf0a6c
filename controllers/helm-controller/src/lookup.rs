//! Helm's `lookup` against the target cluster, with the release's own
//! (possibly impersonated) client: a tenant's chart reads only what its
//! service account may read. Called from the rendering thread, it blocks on
//! the runtime for each call; lists are bounded.

use std::sync::Arc;

use ferroflux_helm::render::LiveLookup;
use ferroflux_ssa::Resolver;
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::{Value, json};

/// Most items a `lookup` list returns (Helm has no bound; a chart listing
/// every Secret of a big cluster would otherwise hold them all in memory).
pub const MAX_LIST_ITEMS: u32 = 500;

/// A `lookup` through `client`; must be called off the async runtime
/// (inside `spawn_blocking`).
pub fn live(client: kube::Client, resolver: Arc<Resolver>) -> LiveLookup {
    let handle = tokio::runtime::Handle::current();
    LiveLookup::new(move |api_version, kind, namespace, name| {
        let (client, resolver) = (client.clone(), resolver.clone());
        handle.block_on(lookup(client, resolver, api_version, kind, namespace, name))
    })
}

async fn lookup(
    client: kube::Client,
    resolver: Arc<Resolver>,
    api_version: &str,
    kind: &str,
    namespace: &str,
    name: &str,
) -> Result<Value, String> {
    let Some(resolved) = resolver
        .resolve(api_version, kind)
        .await
        .map_err(|e| e.to_string())?
    else {
        // An unknown kind is "not found" to Helm: an empty map.
        return Ok(Value::Null);
    };
    let api: Api<DynamicObject> = if resolved.namespaced && !namespace.is_empty() {
        Api::namespaced_with(client, namespace, &resolved.resource)
    } else {
        Api::all_with(client, &resolved.resource)
    };
    if name.is_empty() {
        let list = api
            .list(&ListParams::default().limit(MAX_LIST_ITEMS))
            .await
            .map_err(|e| e.to_string())?;
        let items: Vec<Value> = list
            .items
            .into_iter()
            .filter_map(|o| serde_json::to_value(o).ok())
            .collect();
        return Ok(json!({
            "apiVersion": api_version,
            "kind": format!("{kind}List"),
            "items": items,
        }));
    }
    match api.get_opt(name).await {
        Ok(Some(o)) => serde_json::to_value(o).map_err(|e| e.to_string()),
        Ok(None) => Ok(Value::Null),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(Value::Null),
        Err(e) => Err(e.to_string()),
    }
}
