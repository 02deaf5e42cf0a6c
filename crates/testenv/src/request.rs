//! Turning an HTTP request into what the API server acts on: who asks
//! (authentication, impersonation), which resource, which verb.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use axum::http::{HeaderMap, Method};
use percent_encoding::percent_decode_str;

use crate::errors::ApiError;
use crate::registry::{Registry, ResourceType};

/// The user a request acts as.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// User name, e.g. `admin` or `system:serviceaccount:ns:name`.
    pub name: String,
    /// Groups, e.g. `system:masters`.
    pub groups: Vec<String>,
}

impl User {
    /// Whether RBAC is bypassed (the `system:masters` group, as in kube-apiserver).
    pub fn is_master(&self) -> bool {
        self.groups.iter().any(|g| g == "system:masters")
    }
}

/// The admin user the kubeconfig authenticates as.
pub fn admin() -> User {
    User {
        name: "admin".into(),
        groups: vec!["system:masters".into(), "system:authenticated".into()],
    }
}

/// Resolves the caller from the bearer token and any impersonation headers.
///
/// A request without credentials is the admin, as on kube-apiserver's old
/// loopback "insecure port": client-go (kubectl) never sends a bearer token
/// over plain HTTP, and the server only listens on 127.0.0.1. A request that
/// does carry a token must carry the right one.
pub fn authenticate(headers: &HeaderMap, admin_token: &str) -> Result<User, ApiError> {
    if let Some(auth) = headers.get("authorization") {
        let token = auth
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(ApiError::unauthorized)?;
        if !constant_time_eq(token.trim().as_bytes(), admin_token.as_bytes()) {
            return Err(ApiError::unauthorized());
        }
    }
    let caller = admin();
    let Some(as_user) = headers
        .get("impersonate-user")
        .and_then(|v| v.to_str().ok())
    else {
        if headers.contains_key("impersonate-group") {
            return Err(ApiError::bad_request(
                "requested impersonation of groups without impersonating a user",
            ));
        }
        return Ok(caller);
    };
    let mut groups: Vec<String> = headers
        .get_all("impersonate-group")
        .iter()
        .filter_map(|v| v.to_str().ok().map(String::from))
        .collect();
    if let Some(rest) = as_user.strip_prefix("system:serviceaccount:") {
        let ns = rest.split(':').next().unwrap_or_default();
        for g in [
            "system:serviceaccounts".to_string(),
            format!("system:serviceaccounts:{ns}"),
        ] {
            if !groups.contains(&g) {
                groups.push(g);
            }
        }
    }
    if !groups.iter().any(|g| g == "system:authenticated") {
        groups.push("system:authenticated".into());
    }
    Ok(User {
        name: as_user.to_string(),
        groups,
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What a request path names.
#[derive(Debug, Clone)]
pub enum Target {
    /// `/version`
    Version,
    /// `/api`
    CoreVersions,
    /// `/apis`
    Groups,
    /// `/apis/<group>`
    Group(String),
    /// `/api/v1` or `/apis/<group>/<version>`
    ResourceList(String, String),
    /// A resource, collection or subresource.
    Resource(ResourcePath),
}

/// A request for objects of one resource type.
#[derive(Debug, Clone)]
pub struct ResourcePath {
    /// The served type.
    pub rt: Arc<ResourceType>,
    /// The version asked for.
    pub version: String,
    /// The namespace in the path, if any.
    pub namespace: Option<String>,
    /// The object name, if any.
    pub name: Option<String>,
    /// The subresource (`status`, ...), if any.
    pub subresource: Option<String>,
}

/// Parses a URL path against the registry.
pub fn parse_path(path: &str, registry: &Registry) -> Result<Target, ApiError> {
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(percent_decode)
        .collect::<Result<_, _>>()?;
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let (group, version, rest) = match segs.as_slice() {
        ["version"] => return Ok(Target::Version),
        ["api"] => return Ok(Target::CoreVersions),
        ["apis"] => return Ok(Target::Groups),
        ["apis", g] => return Ok(Target::Group(g.to_string())),
        ["api", v] => return Ok(Target::ResourceList(String::new(), v.to_string())),
        ["apis", g, v] => return Ok(Target::ResourceList(g.to_string(), v.to_string())),
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Err(ApiError::path_not_found()),
    };
    let lookup = |plural: &str| registry.lookup(group, version, plural);
    // `namespaces/<ns>/<resource>/...` is a namespaced request unless the
    // resource after the namespace is not a namespaced type (then it is a
    // subresource of the Namespace object itself, e.g. `namespaces/x/status`).
    if let ["namespaces", ns, plural, tail @ ..] = rest
        && let Some(rt) = lookup(plural).filter(|rt| rt.namespaced)
    {
        let (name, sub) = match tail {
            [] => (None, None),
            [name] => (Some(name.to_string()), None),
            [name, sub] => (Some(name.to_string()), Some(sub.to_string())),
            _ => return Err(ApiError::path_not_found()),
        };
        return Ok(Target::Resource(ResourcePath {
            rt,
            version: version.into(),
            namespace: Some(ns.to_string()),
            name,
            subresource: sub,
        }));
    }
    let (plural, name, sub) = match rest {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(name.to_string()), None),
        [plural, name, sub] => (*plural, Some(name.to_string()), Some(sub.to_string())),
        _ => return Err(ApiError::path_not_found()),
    };
    let rt = lookup(plural).ok_or_else(ApiError::path_not_found)?;
    // A namespaced type addressed without a namespace may only be listed/watched across namespaces.
    if rt.namespaced && name.is_some() {
        return Err(ApiError::path_not_found());
    }
    Ok(Target::Resource(ResourcePath {
        rt,
        version: version.into(),
        namespace: None,
        name,
        subresource: sub,
    }))
}

/// One decoded path segment. A `%` not followed by two hex digits is a bad
/// request, as in Go's `url.PathUnescape` (the decoder would keep it literally).
fn percent_decode(s: &str) -> Result<String, ApiError> {
    let well_formed = s.split('%').skip(1).all(|after| {
        after
            .as_bytes()
            .get(..2)
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if !well_formed {
        return Err(ApiError::bad_request(format!(
            "invalid escape in path segment {s:?}"
        )));
    }
    percent_decode_str(s)
        .decode_utf8()
        .map(Cow::into_owned)
        .map_err(|_| ApiError::bad_request(format!("path segment {s:?} is not UTF-8")))
}

/// The Kubernetes verb of a resource request.
pub fn verb(method: &Method, path: &ResourcePath, query: &Query) -> Result<&'static str, ApiError> {
    let collection = path.name.is_none();
    Ok(match *method {
        Method::GET if query.flag("watch") => "watch",
        Method::GET if collection => "list",
        Method::GET => "get",
        Method::POST if collection => "create",
        Method::PUT if !collection => "update",
        Method::PATCH if !collection => "patch",
        Method::DELETE if collection => "deletecollection",
        Method::DELETE => "delete",
        _ => {
            return Err(ApiError::method_not_allowed(format!(
                "the server does not allow this method on the requested resource ({method})"
            )));
        }
    })
}

/// Query parameters.
#[derive(Debug, Clone, Default)]
pub struct Query(HashMap<String, String>);

impl Query {
    /// Parses a query string.
    pub fn parse(q: Option<&str>) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(q.unwrap_or(""))
            .map_err(|e| ApiError::bad_request(format!("invalid query: {e}")))?;
        Ok(Self(pairs.into_iter().collect()))
    }

    /// A parameter's value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// A boolean parameter (`1`, `true`).
    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("1" | "true" | "True"))
    }

    /// Whether `dryRun=All` was asked.
    pub fn dry_run(&self) -> bool {
        self.get("dryRun") == Some("All")
    }
}
