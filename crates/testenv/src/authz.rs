//! Authorization of requests: the admin (`system:masters`) may do anything;
//! everyone else (impersonated users and service accounts) is judged by the
//! RBAC objects in the store.

use serde_json::Value;

use crate::errors::ApiError;
use crate::rbac::{self, Attributes, Decision, RbacObjects, UserInfo};
use crate::request::{ResourcePath, User};
use crate::server::Server;

fn rbac_objects(server: &Server) -> [Vec<Value>; 4] {
    let get = |plural: &str| -> Vec<Value> {
        server
            .store
            .list("rbac.authorization.k8s.io", plural, None)
            .0
            .iter()
            .map(|o| (**o).clone())
            .collect()
    };
    [
        get("roles"),
        get("rolebindings"),
        get("clusterroles"),
        get("clusterrolebindings"),
    ]
}

fn user_info(user: &User) -> UserInfo {
    UserInfo {
        name: user.name.clone(),
        groups: user.groups.clone(),
    }
}

/// One request's authorizer attributes.
pub struct Request<'a> {
    /// Verb.
    pub verb: &'a str,
    /// API group.
    pub group: &'a str,
    /// Resource (plural).
    pub resource: &'a str,
    /// Subresource, or `""`.
    pub subresource: &'a str,
    /// Namespace, or `""`.
    pub namespace: &'a str,
    /// Object name, or `""`.
    pub name: &'a str,
}

/// Decides one request. `Err` carries the RBAC reason (what an access
/// review reports, often empty) and the 403 message.
pub fn check(server: &Server, user: &User, req: &Request) -> Result<(), (String, String)> {
    if user.is_master() {
        return Ok(());
    }
    let [roles, role_bindings, cluster_roles, cluster_role_bindings] = rbac_objects(server);
    let info = user_info(user);
    let attrs = Attributes {
        user: &info,
        verb: req.verb,
        api_group: req.group,
        resource: req.resource,
        subresource: req.subresource,
        namespace: req.namespace,
        name: req.name,
    };
    let objects = RbacObjects {
        roles: &roles,
        role_bindings: &role_bindings,
        cluster_roles: &cluster_roles,
        cluster_role_bindings: &cluster_role_bindings,
    };
    match rbac::authorize(&attrs, &objects) {
        Decision::Allow => Ok(()),
        Decision::Deny { reason } => {
            let message = rbac::forbidden_message(&attrs, &reason);
            Err((reason, message))
        }
    }
}

/// Authorizes a resource request, answering 403 as kube-apiserver does.
pub fn authorize_request(
    server: &Server,
    user: &User,
    verb: &str,
    path: &ResourcePath,
) -> Result<(), ApiError> {
    let rt = &path.rt;
    let req = Request {
        verb,
        group: &rt.group,
        resource: &rt.plural,
        subresource: path.subresource.as_deref().unwrap_or(""),
        namespace: path.namespace.as_deref().unwrap_or(""),
        name: path.name.as_deref().unwrap_or(""),
    };
    check(server, user, &req).map_err(|(_, message)| {
        ApiError::forbidden(
            &rt.group,
            &rt.plural,
            path.name.as_deref().unwrap_or(""),
            message,
        )
    })
}

/// The rules that apply to `user` in `namespace` (SelfSubjectRulesReview).
pub fn rules_for(server: &Server, user: &User, namespace: &str) -> Vec<Value> {
    if user.is_master() {
        return vec![serde_json::json!({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})];
    }
    let [roles, role_bindings, cluster_roles, cluster_role_bindings] = rbac_objects(server);
    let objects = RbacObjects {
        roles: &roles,
        role_bindings: &role_bindings,
        cluster_roles: &cluster_roles,
        cluster_role_bindings: &cluster_role_bindings,
    };
    rbac::rules_for(&user_info(user), namespace, &objects)
}
