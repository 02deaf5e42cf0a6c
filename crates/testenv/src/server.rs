//! The HTTP front: authentication, routing, authorization and dispatch.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::errors::ApiError;
use crate::registry::Registry;
use crate::request::{self, Query, Target};
use crate::store::{DEFAULT_HISTORY, Store};
use crate::write::WriteCtx;
use crate::{authz, discovery, read, table, write};

/// The largest request body accepted (kube-apiserver's limit is 3 MiB).
const MAX_BODY: usize = 3 * 1024 * 1024;

/// The server's state, shared by every request.
pub struct Server {
    /// Every object.
    pub store: Store,
    /// Every served resource type.
    pub registry: Registry,
    /// The bearer token of the admin user.
    pub admin_token: String,
    /// The workload simulation, when it is on.
    pub workloads: std::sync::OnceLock<std::sync::Arc<crate::workloads::Simulator>>,
    /// How often a watch that allows bookmarks gets one.
    pub bookmark_every: std::time::Duration,
    /// The indexed RBAC objects, with the store's RBAC group resourceVersion they reflect.
    pub(crate) rbac_cache:
        std::sync::Mutex<Option<(u64, std::sync::Arc<crate::rbac::RbacObjects>)>>,
}

impl Server {
    /// A server with the built-in kinds and the namespaces every cluster has.
    pub fn new(admin_token: String) -> Self {
        let server = Self {
            store: Store::new(DEFAULT_HISTORY),
            registry: Registry::new(),
            admin_token,
            workloads: std::sync::OnceLock::new(),
            bookmark_every: std::time::Duration::from_secs(5),
            rbac_cache: std::sync::Mutex::new(None),
        };
        server.seed();
        server
    }

    fn seed(&self) {
        let mut txn = self.store.txn();
        let now = crate::objects::now();
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let obj = serde_json::json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": ns,
                    "uid": crate::objects::new_uid(),
                    "creationTimestamp": now,
                    "labels": {"kubernetes.io/metadata.name": ns}
                },
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"}
            });
            txn.put(crate::store::Key::new("", "namespaces", "", ns), obj);
        }
        // The bootstrap RBAC every cluster has: anyone authenticated may ask
        // what they may do (`kubectl auth can-i`), and system:masters is admin.
        let rbac = |plural: &str, name: &str, body: Value| {
            let mut obj = body;
            obj["metadata"] = serde_json::json!({
                "name": name,
                "uid": crate::objects::new_uid(),
                "creationTimestamp": now,
                "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}
            });
            (
                crate::store::Key::new("rbac.authorization.k8s.io", plural, "", name),
                obj,
            )
        };
        let defaults = [
            rbac(
                "clusterroles",
                "cluster-admin",
                serde_json::json!({
                    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                    "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}, {"nonResourceURLs": ["*"], "verbs": ["*"]}]
                }),
            ),
            rbac(
                "clusterroles",
                "system:basic-user",
                serde_json::json!({
                    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                    "rules": [{"apiGroups": ["authorization.k8s.io"], "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], "verbs": ["create"]}]
                }),
            ),
            rbac(
                "clusterrolebindings",
                "cluster-admin",
                serde_json::json!({
                    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
                    "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}]
                }),
            ),
            rbac(
                "clusterrolebindings",
                "system:basic-user",
                serde_json::json!({
                    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:basic-user"},
                    "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:authenticated"}]
                }),
            ),
        ];
        for (key, obj) in defaults {
            txn.put(key, obj);
        }
    }
}

/// A JSON response with the given status code.
pub fn json_response(code: u16, body: &Value) -> Response {
    let status = axum::http::StatusCode::from_u16(code).unwrap_or(axum::http::StatusCode::OK);
    (
        status,
        [("content-type", "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The router serving the Kubernetes API.
pub fn router(server: Arc<Server>) -> Router {
    Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(server)
}

async fn handle(
    State(server): State<Arc<Server>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match serve(&server, &method, &uri, &headers, &body) {
        Ok(resp) => resp,
        Err(err) => {
            tracing::debug!(%method, %uri, code = err.code, message = %err.message, "request failed");
            err.into_response()
        }
    }
}

fn serve(
    server: &Arc<Server>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let path = uri.path();
    if matches!(path, "/healthz" | "/livez" | "/readyz") {
        return Ok("ok".into_response());
    }
    let user = request::authenticate(headers, &server.admin_token)?;
    if let Some(answer) = crate::openapi::serve(&server.registry, method, path, headers) {
        return answer;
    }
    let target = request::parse_path(path, &server.registry)?;
    let get_only = |doc: Option<Value>| -> Result<Response, ApiError> {
        if *method != Method::GET {
            return Err(ApiError::method_not_allowed(format!(
                "the server does not allow this method on the requested resource ({method})"
            )));
        }
        doc.map(|d| json_response(200, &d))
            .ok_or_else(ApiError::path_not_found)
    };
    match target {
        Target::Version => get_only(Some(discovery::version())),
        Target::CoreVersions => get_only(Some(discovery::core_versions())),
        Target::Groups => get_only(Some(discovery::groups(&server.registry))),
        Target::Group(g) => get_only(discovery::group(&server.registry, &g)),
        Target::ResourceList(g, v) => get_only(discovery::resource_list(&server.registry, &g, &v)),
        Target::Resource(rpath) => {
            let query = Query::parse(uri.query())?;
            let verb = request::verb(method, &rpath, &query)?;
            if !rpath.rt.verbs.contains(&verb) {
                return Err(ApiError::method_not_allowed(format!(
                    "the server does not allow this method on the requested resource ({method} {})",
                    rpath.rt.plural
                )));
            }
            if let Some(sub) = rpath.subresource.as_deref()
                && !(sub == "status" && rpath.rt.has_status)
            {
                return Err(ApiError::path_not_found());
            }
            authz::authorize_request(server, &user, verb, &rpath)?;
            let ctx = WriteCtx {
                server,
                path: &rpath,
                query: &query,
                headers,
                user: &user,
            };
            let wants_table = headers
                .get("accept")
                .and_then(|a| a.to_str().ok())
                .is_some_and(|a| a.contains("as=Table"));
            match verb {
                "get" if wants_table => table::get(server, &rpath),
                "list" if wants_table => table::list(server, &rpath, &query),
                "get" => read::get(server, &rpath),
                "list" => read::list(server, &rpath, &query),
                "watch" => read::watch(server, &rpath, &query),
                "create" => write::create(&ctx, body),
                "update" => write::update(&ctx, body),
                "patch" => write::patch(&ctx, body),
                "delete" => write::delete(&ctx, body),
                "deletecollection" => write::delete_collection(&ctx),
                _ => Err(ApiError::method_not_allowed(format!(
                    "verb {verb} is not supported"
                ))),
            }
        }
    }
}
