//! Authorization of requests: the admin (`system:masters`) may do anything;
//! everyone else (impersonated users and service accounts) is judged by the
//! RBAC objects in the store.

use std::sync::Arc;

use serde_json::Value;

use crate::errors::ApiError;
use crate::rbac::{self, Attributes, Decision, RbacObjects, UserInfo};
use crate::request::{ResourcePath, User};
use crate::server::Server;

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// The RBAC objects of the store, indexed; built again only when an RBAC object changed
/// since the last build (so a new Role or binding counts from the next request on).
fn rbac_objects(server: &Server) -> Arc<RbacObjects> {
    // The version first: a change racing the listing only makes the next call rebuild.
    let version = server.store.group_rv(RBAC_GROUP);
    let mut cache = server.rbac_cache.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((v, objects)) = cache.as_ref()
        && *v == version
    {
        return objects.clone();
    }
    let get = |plural: &str| server.store.list(RBAC_GROUP, plural, None).0;
    let objects = Arc::new(RbacObjects::new(
        get("roles"),
        get("rolebindings"),
        get("clusterroles"),
        get("clusterrolebindings"),
    ));
    *cache = Some((version, objects.clone()));
    objects
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
    let objects = rbac_objects(server);
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
    let objects = rbac_objects(server);
    rbac::rules_for(&user_info(user), namespace, &objects)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Key;
    use serde_json::json;

    fn put(server: &Server, plural: &str, ns: &str, obj: Value) {
        let name = obj["metadata"]["name"].as_str().unwrap().to_string();
        server
            .store
            .txn()
            .put(Key::new(RBAC_GROUP, plural, ns, &name), obj);
    }

    fn sa(ns: &str, name: &str) -> User {
        let info = rbac::service_account_user(ns, name);
        User {
            name: info.name,
            groups: info.groups,
        }
    }

    fn list_in(ns: &str) -> Request<'_> {
        Request {
            verb: "list",
            group: "",
            resource: "configmaps",
            subresource: "",
            namespace: ns,
            name: "",
        }
    }

    /// One RoleBinding per namespace (the benchmark's layout): each service account may list
    /// in its own namespace only, kube's 403 message for the others, and a decision looks at
    /// the bindings naming the account, not at every binding.
    #[test]
    fn many_namespaces_decide_through_the_subject_index() {
        let server = Server::new("admin".into());
        put(
            &server,
            "clusterroles",
            "",
            json!({"metadata": {"name": "reader"}, "rules": [
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}]}),
        );
        let n = 1000;
        for i in 0..n {
            let ns = format!("ns-{i}");
            put(
                &server,
                "rolebindings",
                &ns,
                json!({"metadata": {"namespace": ns, "name": "read"},
                    "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "reader"},
                    "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": ns}]}),
            );
        }
        let before = rbac_objects(&server).bindings_examined();
        for i in [0, 499, 999] {
            let ns = format!("ns-{i}");
            assert_eq!(check(&server, &sa(&ns, "app"), &list_in(&ns)), Ok(()));
            let other = format!("ns-{}", (i + 1) % n);
            let (reason, message) = check(&server, &sa(&ns, "app"), &list_in(&other)).unwrap_err();
            assert_eq!(reason, "");
            assert_eq!(
                message,
                format!(
                    "configmaps is forbidden: User \"system:serviceaccount:{ns}:app\" cannot list resource \"configmaps\" \
                     in API group \"\" in the namespace \"{other}\""
                )
            );
        }
        // Six decisions: the allowed ones look at the one RoleBinding naming the account, all
        // at most at the cluster's own ClusterRoleBindings; none at the other 999 RoleBindings.
        let cluster_bindings = server
            .store
            .list(RBAC_GROUP, "clusterrolebindings", None)
            .0
            .len();
        let examined = rbac_objects(&server).bindings_examined() - before;
        assert!(examined >= 3, "{examined}");
        assert!(examined <= 3 + 6 * cluster_bindings, "{examined}");
        assert!(examined < 20, "{examined}");

        // A new binding counts from the next request on.
        let ns = "ns-7";
        let other = sa("ns-8", "app");
        assert!(check(&server, &other, &list_in(ns)).is_err());
        put(
            &server,
            "rolebindings",
            ns,
            json!({"metadata": {"namespace": ns, "name": "guest"},
                "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": "reader"},
                "subjects": [{"kind": "Group", "name": "system:serviceaccounts:ns-8"}]}),
        );
        assert_eq!(check(&server, &other, &list_in(ns)), Ok(()));
    }
}
