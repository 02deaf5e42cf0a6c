//! get, list and watch.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::broadcast::error::RecvError;

use crate::errors::ApiError;
use crate::registry::ResourceType;
use crate::request::{Query, ResourcePath};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::server::Server;
use crate::store::{Event, EventType, Key, Stored};

/// Sets `apiVersion` and `kind` to what the client asked for (objects are
/// stored in the storage version; versions share one schema-less form here,
/// as CRDs with conversion strategy `None` do).
pub fn present(obj: &Value, rt: &ResourceType, version: &str) -> Value {
    let mut out = obj.clone();
    out["apiVersion"] = json!(rt.api_version(version));
    out["kind"] = json!(rt.kind);
    out
}

/// `GET` of one object (or its status subresource).
pub fn get(server: &Server, path: &ResourcePath) -> Result<Response, ApiError> {
    let rt = &path.rt;
    let name = path.name.as_deref().unwrap_or_default();
    let key = Key::new(
        &rt.group,
        &rt.plural,
        path.namespace.as_deref().unwrap_or(""),
        name,
    );
    let stored = server
        .store
        .get_stored(&key)
        .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))?;
    let mut body = Vec::with_capacity(stored.json.len());
    write_presented(&mut body, &stored, rt, &path.version);
    Ok(([("content-type", "application/json")], Bytes::from(body)).into_response())
}

struct Selectors {
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Selectors {
    fn parse(query: &Query, rt: &ResourceType) -> Result<Self, ApiError> {
        Ok(Self {
            labels: LabelSelector::parse(query.get("labelSelector").unwrap_or(""))
                .map_err(ApiError::bad_request)?,
            fields: FieldSelector::parse(query.get("fieldSelector").unwrap_or(""), &rt.kind)
                .map_err(ApiError::bad_request)?,
        })
    }

    fn matches(&self, obj: &Value) -> bool {
        self.labels.matches(obj) && self.fields.matches(obj)
    }
}

/// `GET` of a collection, with selectors and `limit`/`continue` paging.
pub fn list(server: &Server, path: &ResourcePath, query: &Query) -> Result<Response, ApiError> {
    let rt = &path.rt;
    let sel = Selectors::parse(query, rt)?;
    let (objects, rv) = server
        .store
        .list_stored(&rt.group, &rt.plural, path.namespace.as_deref());
    // A continue token is the list's resourceVersion and the last key returned.
    let after: Option<(String, String)> = match query.get("continue").filter(|c| !c.is_empty()) {
        Some(token) => {
            let raw = URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    ApiError::bad_request("continue key is not valid: illegal base64 data")
                })?;
            let mut parts = raw.splitn(3, '\n');
            let _rv = parts.next();
            let ns = parts.next().unwrap_or("").to_string();
            let name = parts.next().unwrap_or("").to_string();
            Some((ns, name))
        }
        None => None,
    };
    let limit: usize = match query.get("limit") {
        Some(l) if !l.is_empty() => l
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request(format!("invalid limit {l:?}")))?,
        _ => 0,
    };
    // Items are written out one by one as JSON text, not gathered as copies.
    let mut items: Vec<u8> = Vec::new();
    let mut count = 0usize;
    let mut next = None;
    let mut remaining = 0usize;
    for obj in objects.iter().filter(|o| sel.matches(&o.view)) {
        let meta = &obj.view["metadata"];
        let ns = meta["namespace"].as_str().unwrap_or("").to_string();
        let name = meta["name"].as_str().unwrap_or("").to_string();
        if let Some((ans, aname)) = &after
            && (ns.as_str(), name.as_str()) <= (ans.as_str(), aname.as_str())
        {
            continue;
        }
        if limit > 0 && count == limit {
            remaining += 1;
            continue;
        }
        if count > 0 {
            items.push(b',');
        }
        write_presented(&mut items, obj, rt, &path.version);
        count += 1;
        if limit > 0 && count == limit {
            next = Some(format!("{rv}\n{ns}\n{name}"));
        }
    }
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if remaining > 0
        && let Some(token) = next
    {
        metadata["continue"] = json!(URL_SAFE_NO_PAD.encode(token));
        metadata["remainingItemCount"] = json!(remaining);
    }
    let head = json!({
        "kind": format!("{}List", rt.kind),
        "apiVersion": rt.api_version(&path.version),
        "metadata": metadata,
    });
    let mut body = head.to_string().into_bytes();
    body.pop(); // its closing brace
    body.extend_from_slice(b",\"items\":[");
    body.append(&mut items);
    body.extend_from_slice(b"]}");
    Ok(([("content-type", "application/json")], Bytes::from(body)).into_response())
}

/// Writes a stored object as [`present`] would give it: its stored text as is
/// when that is the asked version, else parsed and presented.
fn write_presented(out: &mut Vec<u8>, obj: &Stored, rt: &ResourceType, version: &str) {
    let (api_version, kind) = &*obj.type_meta;
    if *api_version == rt.api_version(version) && *kind == rt.kind {
        out.extend_from_slice(&obj.json);
        return;
    }
    // Writing a Value into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &present(&obj.object(), rt, version));
}

/// The watch line of a stored change: its JSON text as stored when the watch
/// asked for the stored version (no copy of the object), else the object
/// presented in the asked version.
fn change_line(type_: &str, e: &Event, rt: &ResourceType, version: &str) -> Bytes {
    let (api_version, kind) = &*e.type_meta;
    if *api_version == rt.api_version(version) && *kind == rt.kind {
        let mut line = Vec::with_capacity(e.json.len() + 40);
        line.extend_from_slice(b"{\"type\":\"");
        line.extend_from_slice(type_.as_bytes());
        line.extend_from_slice(b"\",\"object\":");
        line.extend_from_slice(&e.json);
        line.extend_from_slice(b"}\n");
        return Bytes::from(line);
    }
    event_line(type_, &present(&e.object(), rt, version))
}

fn event_line(type_: &str, object: &Value) -> Bytes {
    let mut line = json!({"type": type_, "object": object}).to_string();
    line.push('\n');
    Bytes::from(line)
}

/// `GET ?watch=1`: a stream of newline-delimited watch events.
pub fn watch(
    server: &Arc<Server>,
    path: &ResourcePath,
    query: &Query,
) -> Result<Response, ApiError> {
    let rt = path.rt.clone();
    let sel = Selectors::parse(query, &rt)?;
    let from = match query.get("resourceVersion") {
        None | Some("") | Some("0") => None,
        Some(v) => Some(
            v.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resource version: {v:?}")))?,
        ),
    };
    let bookmarks = query.flag("allowWatchBookmarks");
    let initial_events = query.flag("sendInitialEvents");
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1800));
    let (replay, mut rx) = match server.store.watch(
        &rt.group,
        &rt.plural,
        if initial_events { None } else { from },
    ) {
        Ok(x) => x,
        Err((requested, oldest)) => {
            // kube-apiserver answers 200 and sends the 410 as an ERROR event.
            let status = ApiError::gone(requested, oldest).to_status();
            let body = Body::from(event_line("ERROR", &status));
            return Ok(([("content-type", "application/json")], body).into_response());
        }
    };
    let namespace = path.namespace.clone();
    let version = path.version.clone();
    let server = server.clone();
    let stream = async_stream::stream! {
        let deadline = tokio::time::Instant::now() + timeout;
        let in_scope = |e: &Event| namespace.as_deref().is_none_or(|ns| e.key.namespace == ns);
        let mut last_rv = 0u64;
        for e in replay.iter().filter(|e| in_scope(e)) {
            if let Some(t) = translate(e, &sel) {
                last_rv = last_rv.max(e.rv);
                yield Ok::<Bytes, std::io::Error>(change_line(t, e, &rt, &version));
            }
        }
        let start_rv = server.store.current_rv();
        if initial_events && bookmarks {
            let mark = json!({
                "kind": rt.kind,
                "apiVersion": rt.api_version(&version),
                "metadata": {"resourceVersion": start_rv.to_string(), "annotations": {"k8s.io/initial-events-end": "true"}}
            });
            yield Ok(event_line("BOOKMARK", &mark));
        }
        let mut ticker = tokio::time::interval(server.bookmark_every);
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(deadline) => break,
                _ = ticker.tick(), if bookmarks => {
                    let mark = json!({
                        "kind": rt.kind,
                        "apiVersion": rt.api_version(&version),
                        "metadata": {"resourceVersion": server.store.current_rv().to_string()}
                    });
                    yield Ok(event_line("BOOKMARK", &mark));
                }
                got = rx.recv() => match got {
                    Ok(e) => {
                        if e.rv <= last_rv || e.key.group != rt.group || e.key.plural != rt.plural || !in_scope(&e) {
                            continue;
                        }
                        if let Some(t) = translate(&e, &sel) {
                            last_rv = e.rv;
                            yield Ok(change_line(t, &e, &rt, &version));
                        }
                    }
                    Err(RecvError::Lagged(_)) => {
                        // The watcher fell too far behind: tell it to relist, as
                        // kube-apiserver does when its watch cache moves on.
                        let status = ApiError::gone(last_rv, server.store.current_rv()).to_status();
                        yield Ok(event_line("ERROR", &status));
                        break;
                    }
                    Err(RecvError::Closed) => break,
                },
            }
        }
    };
    Ok((
        [
            ("content-type", "application/json"),
            ("transfer-encoding", "chunked"),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// The event a selector-filtered watch sees: an object that starts matching
/// is ADDED, one that stops matching is DELETED.
fn translate(e: &Event, sel: &Selectors) -> Option<&'static str> {
    let now = sel.matches(&e.view);
    match e.type_ {
        EventType::Added => now.then_some("ADDED"),
        EventType::Deleted => now.then_some("DELETED"),
        EventType::Modified => {
            let before = e.previous.as_deref().is_some_and(|p| sel.matches(p));
            match (before, now) {
                (true, true) => Some("MODIFIED"),
                (false, true) => Some("ADDED"),
                (true, false) => Some("DELETED"),
                (false, false) => None,
            }
        }
    }
}
