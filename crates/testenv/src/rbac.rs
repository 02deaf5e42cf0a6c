//! RBAC authorization, decided the way kube-apiserver's RBAC authorizer decides.
//!
//! Pure functions over the RBAC objects held by the in-memory API server (as Kubernetes JSON),
//! indexed by [`RbacObjects::new`]: no I/O. The server rebuilds the index whenever an RBAC
//! object changes, so a test that creates a Role and then immediately issues a request sees
//! the new permissions; a decision looks only at the bindings naming the user or its groups.
//!
//! Behaviour mirrored from kube-apiserver:
//! - Members of `system:masters` are allowed everything (kube-apiserver's privileged-group
//!   authorizer runs before RBAC).
//! - ClusterRoleBindings are consulted for every request; RoleBindings only when the request
//!   has a namespace, and only the RoleBindings of that namespace. A cluster-wide request
//!   (`namespace == ""`: a cluster-scoped resource, or a list/watch across all namespaces) is
//!   therefore only granted by ClusterRoleBindings.
//! - A binding whose role cannot be resolved grants nothing; the resolution error is collected
//!   and, if the request ends up denied, becomes the reason (`RBAC: role.rbac.authorization.k8s.io
//!   "x" not found`) that kube-apiserver appends to the 403 message.
//! - Rule matching: `*` in verbs / apiGroups / resources; a request for a subresource is
//!   matched against `resource/subresource`, which a rule grants by naming it exactly, by `*`,
//!   or by `*/subresource`. (`deployments/*` is NOT a wildcard: it only matches a subresource
//!   literally called `*`.) A rule with resourceNames only matches a request whose name is in
//!   the list, so it never grants list/watch/create (requests without a name).
//! - ClusterRoles with an `aggregationRule` have the rules kube-controller-manager's
//!   clusterrole-aggregation controller would give them: the union (deduplicated, in
//!   selector order, then by role name) of the rules of every other ClusterRole matching one
//!   of the selectors. This is computed at evaluation time and is transitive (an aggregated
//!   role selected by another aggregated role contributes its aggregated rules), which is the
//!   controller's steady state.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ferroflux_gocompat::quote;
use serde_json::{Map, Value};

/// The group whose members kube-apiserver allows everything, before RBAC is consulted.
pub const SYSTEM_MASTERS: &str = "system:masters";
/// The group every authenticated user carries.
pub const SYSTEM_AUTHENTICATED: &str = "system:authenticated";
/// The group every service account carries.
pub const SYSTEM_SERVICE_ACCOUNTS: &str = "system:serviceaccounts";

/// Who is asking (after impersonation).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserInfo {
    pub name: String,
    pub groups: Vec<String>,
}

/// What they ask (kube-apiserver's authorizer attributes for a resource request).
#[derive(Debug, Clone, Copy)]
pub struct Attributes<'a> {
    pub user: &'a UserInfo,
    pub verb: &'a str,
    pub api_group: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    /// `""` = cluster-scoped, or all namespaces.
    pub namespace: &'a str,
    /// `""` when none (list, watch, create, deletecollection).
    pub name: &'a str,
}

/// The RBAC objects currently in the store, as Kubernetes JSON, indexed so that a decision
/// looks only at the bindings naming the user (or one of its groups) and finds roles by name:
/// bindings by subject (ClusterRoleBindings, and RoleBindings per namespace), Roles by
/// namespace and name, ClusterRoles by name. Build it once per state of the RBAC objects and
/// share it between requests.
#[derive(Debug, Default)]
pub struct RbacObjects {
    roles: Vec<Arc<Value>>,
    cluster_roles: Vec<Arc<Value>>,
    role_bindings: Vec<Arc<Value>>,
    cluster_role_bindings: Vec<Arc<Value>>,
    /// (namespace, name) to the first such Role.
    roles_by_key: HashMap<(String, String), usize>,
    /// Name to the first such ClusterRole.
    cluster_roles_by_name: HashMap<String, usize>,
    cluster_binding_subjects: SubjectIndex,
    /// By the RoleBindings' namespace.
    binding_subjects: HashMap<String, SubjectIndex>,
    /// Bindings looked at by decisions so far (for tests of the index).
    examined: AtomicUsize,
}

/// Bindings (positions, ascending) by the user names and groups their subjects name.
#[derive(Debug, Default)]
struct SubjectIndex {
    users: HashMap<String, Vec<usize>>,
    groups: HashMap<String, Vec<usize>>,
}

impl SubjectIndex {
    fn add(&mut self, i: usize, binding: &Value, binding_namespace: &str) {
        let Some(subjects) = binding.get("subjects").and_then(Value::as_array) else {
            return;
        };
        for subject in subjects {
            let name = str_field(subject, "name");
            let (map, key) = match str_field(subject, "kind") {
                "User" => (&mut self.users, name.to_string()),
                "Group" => (&mut self.groups, name.to_string()),
                "ServiceAccount" => {
                    // As `applies_to`: no namespace means the binding's own; none at all, nobody.
                    let ns = match str_field(subject, "namespace") {
                        "" => binding_namespace,
                        ns => ns,
                    };
                    if ns.is_empty() {
                        continue;
                    }
                    (&mut self.users, service_account_username(ns, name))
                }
                _ => continue,
            };
            let list = map.entry(key).or_default();
            if list.last() != Some(&i) {
                list.push(i);
            }
        }
    }

    /// The bindings that may apply to `user`, in their original order.
    fn candidates(&self, user: &UserInfo) -> Vec<usize> {
        let mut found: Vec<usize> = self.users.get(&user.name).cloned().unwrap_or_default();
        for group in &user.groups {
            if let Some(list) = self.groups.get(group) {
                found.extend_from_slice(list);
            }
        }
        found.sort_unstable();
        found.dedup();
        found
    }
}

impl RbacObjects {
    /// Indexes the RBAC objects (each list in the store's order).
    pub fn new(
        roles: Vec<Arc<Value>>,
        role_bindings: Vec<Arc<Value>>,
        cluster_roles: Vec<Arc<Value>>,
        cluster_role_bindings: Vec<Arc<Value>>,
    ) -> Self {
        let mut roles_by_key = HashMap::new();
        for (i, r) in roles.iter().enumerate() {
            let key = (
                metadata_str(r, "namespace").to_string(),
                metadata_str(r, "name").to_string(),
            );
            roles_by_key.entry(key).or_insert(i);
        }
        let mut cluster_roles_by_name = HashMap::new();
        for (i, r) in cluster_roles.iter().enumerate() {
            cluster_roles_by_name
                .entry(metadata_str(r, "name").to_string())
                .or_insert(i);
        }
        let mut cluster_binding_subjects = SubjectIndex::default();
        for (i, b) in cluster_role_bindings.iter().enumerate() {
            cluster_binding_subjects.add(i, b, "");
        }
        let mut binding_subjects: HashMap<String, SubjectIndex> = HashMap::new();
        for (i, b) in role_bindings.iter().enumerate() {
            let ns = metadata_str(b, "namespace");
            if ns.is_empty() {
                // Only requests in a namespace consult RoleBindings, those of that namespace.
                continue;
            }
            binding_subjects
                .entry(ns.to_string())
                .or_default()
                .add(i, b, ns);
        }
        Self {
            roles,
            cluster_roles,
            role_bindings,
            cluster_role_bindings,
            roles_by_key,
            cluster_roles_by_name,
            cluster_binding_subjects,
            binding_subjects,
            examined: AtomicUsize::new(0),
        }
    }

    /// How many bindings decisions and rule resolutions on these objects have looked at.
    pub fn bindings_examined(&self) -> usize {
        self.examined.load(Ordering::Relaxed)
    }
}

/// The outcome of an authorization check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// `reason` is what kube-apiserver appends to the 403 message: empty, or
    /// `RBAC: <resolution errors>` when some applicable binding's role could not be resolved.
    Deny {
        reason: String,
    },
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow)
    }
}

/// Decides a resource request.
pub fn authorize(attrs: &Attributes, rbac: &RbacObjects) -> Decision {
    if is_privileged(attrs.user) {
        return Decision::Allow;
    }
    let combined = if attrs.subresource.is_empty() {
        attrs.resource.to_string()
    } else {
        format!("{}/{}", attrs.resource, attrs.subresource)
    };
    let request = Request::Resource {
        verb: attrs.verb,
        api_group: attrs.api_group,
        combined_resource: &combined,
        subresource: attrs.subresource,
        name: attrs.name,
    };
    decide(attrs.user, attrs.namespace, &request, rbac)
}

/// Decides a non-resource request (`/healthz`, `/metrics`, `/version`, ...). Only
/// ClusterRoleBindings can grant these, as in kube-apiserver.
pub fn authorize_non_resource(
    user: &UserInfo,
    verb: &str,
    path: &str,
    rbac: &RbacObjects,
) -> Decision {
    if is_privileged(user) {
        return Decision::Allow;
    }
    decide(user, "", &Request::NonResource { verb, path }, rbac)
}

/// The message kube-apiserver puts in a 403 Status for a denied resource request, e.g.
/// `configmaps is forbidden: User "system:serviceaccount:team-a:deployer" cannot list resource
/// "configmaps" in API group "" in the namespace "team-b"`.
///
/// The prefix is the group-qualified resource (without the subresource), followed by the
/// quoted name when the request has one: `deployments.apps "web" is forbidden: ...`.
/// A non-empty `decision_reason` is appended after `": "`.
pub fn forbidden_message(attrs: &Attributes, decision_reason: &str) -> String {
    let mut resource = attrs.resource.to_string();
    if !attrs.subresource.is_empty() {
        resource.push('/');
        resource.push_str(attrs.subresource);
    }
    let detail = if attrs.namespace.is_empty() {
        format!(
            "User {} cannot {} resource {} in API group {} at the cluster scope",
            quote(&attrs.user.name),
            attrs.verb,
            quote(&resource),
            quote(attrs.api_group),
        )
    } else {
        format!(
            "User {} cannot {} resource {} in API group {} in the namespace {}",
            quote(&attrs.user.name),
            attrs.verb,
            quote(&resource),
            quote(attrs.api_group),
            quote(attrs.namespace),
        )
    };
    status_message(
        attrs.resource,
        attrs.api_group,
        attrs.name,
        &sanitize(&detail),
        decision_reason,
    )
}

/// The message kube-apiserver puts in a 403 Status for a denied non-resource request, e.g.
/// `forbidden: User "alice" cannot get path "/metrics"`.
pub fn forbidden_non_resource_message(
    user: &UserInfo,
    verb: &str,
    path: &str,
    decision_reason: &str,
) -> String {
    let detail = format!(
        "User {} cannot {} path {}",
        quote(&user.name),
        verb,
        quote(path)
    );
    status_message("", "", "", &sanitize(&detail), decision_reason)
}

/// The user a service account token authenticates as: `system:serviceaccount:<ns>:<name>`,
/// in groups `system:serviceaccounts`, `system:serviceaccounts:<ns>` and
/// `system:authenticated`.
pub fn service_account_user(namespace: &str, name: &str) -> UserInfo {
    UserInfo {
        name: service_account_username(namespace, name),
        groups: vec![
            SYSTEM_SERVICE_ACCOUNTS.to_string(),
            format!("{SYSTEM_SERVICE_ACCOUNTS}:{namespace}"),
            SYSTEM_AUTHENTICATED.to_string(),
        ],
    }
}

/// `system:serviceaccount:<ns>:<name>`.
pub fn service_account_username(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// Rules that apply to a user in a namespace (`""`: cluster-wide rules only), in the order
/// kube-apiserver visits them: ClusterRoleBindings first, then the namespace's RoleBindings.
/// Like kube-apiserver's RBAC rule resolver this knows nothing of `system:masters`.
pub fn rules_for(user: &UserInfo, namespace: &str, rbac: &RbacObjects) -> Vec<Value> {
    resolve_rules(user, namespace, rbac).0
}

/// [`rules_for`], plus the resolution error (as SelfSubjectRulesReview's `evaluationError`
/// would carry it) when some applicable binding's role could not be resolved; the rules are
/// then incomplete.
pub fn resolve_rules(
    user: &UserInfo,
    namespace: &str,
    rbac: &RbacObjects,
) -> (Vec<Value>, Option<String>) {
    let mut rules = Vec::new();
    let errors = visit_rules(user, namespace, rbac, &mut |rule| {
        rules.push(rule.clone());
        false
    })
    .errors;
    let error = (!errors.is_empty()).then(|| aggregate_errors(&errors));
    (rules, error)
}

// ---------------------------------------------------------------------------------------------
// Decision

fn is_privileged(user: &UserInfo) -> bool {
    user.groups.iter().any(|g| g == SYSTEM_MASTERS)
}

enum Request<'r> {
    Resource {
        verb: &'r str,
        api_group: &'r str,
        combined_resource: &'r str,
        subresource: &'r str,
        name: &'r str,
    },
    NonResource {
        verb: &'r str,
        path: &'r str,
    },
}

fn decide(user: &UserInfo, namespace: &str, request: &Request, rbac: &RbacObjects) -> Decision {
    let outcome = visit_rules(user, namespace, rbac, &mut |rule| {
        rule_allows(request, &PolicyRule::parse(rule))
    });
    if outcome.stopped {
        Decision::Allow
    } else if outcome.errors.is_empty() {
        Decision::Deny {
            reason: String::new(),
        }
    } else {
        Decision::Deny {
            reason: format!("RBAC: {}", aggregate_errors(&outcome.errors)),
        }
    }
}

/// The string fields of a PolicyRule; absent or null lists are empty.
#[derive(Debug, PartialEq, Eq)]
struct PolicyRule<'v> {
    verbs: Vec<&'v str>,
    api_groups: Vec<&'v str>,
    resources: Vec<&'v str>,
    resource_names: Vec<&'v str>,
    non_resource_urls: Vec<&'v str>,
}

impl<'v> PolicyRule<'v> {
    fn parse(rule: &'v Value) -> Self {
        PolicyRule {
            verbs: strings(rule.get("verbs")),
            api_groups: strings(rule.get("apiGroups")),
            resources: strings(rule.get("resources")),
            resource_names: strings(rule.get("resourceNames")),
            non_resource_urls: strings(rule.get("nonResourceURLs")),
        }
    }
}

fn strings(v: Option<&Value>) -> Vec<&str> {
    v.and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn rule_allows(request: &Request, rule: &PolicyRule) -> bool {
    match *request {
        Request::Resource {
            verb,
            api_group,
            combined_resource,
            subresource,
            name,
        } => {
            verb_matches(rule, verb)
                && api_group_matches(rule, api_group)
                && resource_matches(rule, combined_resource, subresource)
                && resource_name_matches(rule, name)
        }
        Request::NonResource { verb, path } => {
            verb_matches(rule, verb) && non_resource_url_matches(rule, path)
        }
    }
}

fn verb_matches(rule: &PolicyRule, verb: &str) -> bool {
    rule.verbs.iter().any(|v| *v == "*" || *v == verb)
}

fn api_group_matches(rule: &PolicyRule, group: &str) -> bool {
    rule.api_groups.iter().any(|g| *g == "*" || *g == group)
}

fn resource_matches(rule: &PolicyRule, combined: &str, subresource: &str) -> bool {
    rule.resources.iter().any(|r| {
        *r == "*"
            || *r == combined
            || (!subresource.is_empty() && r.strip_prefix("*/") == Some(subresource))
    })
}

fn resource_name_matches(rule: &PolicyRule, name: &str) -> bool {
    rule.resource_names.is_empty() || rule.resource_names.contains(&name)
}

fn non_resource_url_matches(rule: &PolicyRule, path: &str) -> bool {
    rule.non_resource_urls.iter().any(|u| {
        *u == "*" || *u == path || (u.ends_with('*') && path.starts_with(u.trim_end_matches('*')))
    })
}

// ---------------------------------------------------------------------------------------------
// Rule resolution

struct VisitOutcome {
    /// The visitor asked to stop (a rule allowed the request).
    stopped: bool,
    /// Role resolution errors of applicable bindings visited before stopping.
    errors: Vec<String>,
}

/// Visits every rule granted to `user` in `namespace`: ClusterRoleBindings first, then (when
/// `namespace` is not empty) the RoleBindings of `namespace`. `visit` returns true to stop.
fn visit_rules(
    user: &UserInfo,
    namespace: &str,
    rbac: &RbacObjects,
    visit: &mut dyn FnMut(&Value) -> bool,
) -> VisitOutcome {
    let mut errors = Vec::new();
    let cluster = rbac.cluster_binding_subjects.candidates(user);
    let namespaced = match rbac.binding_subjects.get(namespace) {
        Some(index) if !namespace.is_empty() => index.candidates(user),
        _ => Vec::new(),
    };
    rbac.examined
        .fetch_add(cluster.len() + namespaced.len(), Ordering::Relaxed);
    let bindings = cluster
        .into_iter()
        .map(|i| (&*rbac.cluster_role_bindings[i], ""))
        .chain(
            namespaced
                .into_iter()
                .map(|i| (&*rbac.role_bindings[i], namespace)),
        );
    for (binding, binding_namespace) in bindings {
        if !applies_to(user, binding.get("subjects"), binding_namespace) {
            continue;
        }
        match role_ref_rules(rbac, binding.get("roleRef"), binding_namespace) {
            Ok(rules) => {
                for rule in rules {
                    if visit(rule) {
                        return VisitOutcome {
                            stopped: true,
                            errors,
                        };
                    }
                }
            }
            Err(e) => errors.push(e),
        }
    }
    VisitOutcome {
        stopped: false,
        errors,
    }
}

fn applies_to(user: &UserInfo, subjects: Option<&Value>, binding_namespace: &str) -> bool {
    let Some(subjects) = subjects.and_then(Value::as_array) else {
        return false;
    };
    subjects.iter().any(|subject| {
        let name = str_field(subject, "name");
        match str_field(subject, "kind") {
            "User" => user.name == name,
            "Group" => user.groups.iter().any(|g| g == name),
            "ServiceAccount" => {
                // A ServiceAccount subject without a namespace means the binding's own
                // namespace; in a ClusterRoleBinding it matches nobody.
                let ns = match str_field(subject, "namespace") {
                    "" => binding_namespace,
                    ns => ns,
                };
                !ns.is_empty() && user.name == service_account_username(ns, name)
            }
            _ => false,
        }
    })
}

fn role_ref_rules<'a>(
    rbac: &'a RbacObjects,
    role_ref: Option<&Value>,
    binding_namespace: &str,
) -> Result<Vec<&'a Value>, String> {
    let kind = role_ref.map(|r| str_field(r, "kind")).unwrap_or_default();
    let name = role_ref.map(|r| str_field(r, "name")).unwrap_or_default();
    match kind {
        "Role" => (!binding_namespace.is_empty())
            .then(|| {
                rbac.roles_by_key
                    .get(&(binding_namespace.to_string(), name.to_string()))
            })
            .flatten()
            .map(|&i| rules_of(&rbac.roles[i]))
            .ok_or_else(|| not_found("role", name)),
        "ClusterRole" => find_cluster_role(rbac, name)
            .map(|role| effective_cluster_role_rules(rbac, role, &mut Vec::new()))
            .ok_or_else(|| not_found("clusterrole", name)),
        other => Err(format!("unsupported role reference kind: {}", quote(other))),
    }
}

fn not_found(resource: &str, name: &str) -> String {
    format!(
        "{resource}.rbac.authorization.k8s.io {} not found",
        quote(name)
    )
}

fn find_cluster_role<'a>(rbac: &'a RbacObjects, name: &str) -> Option<&'a Value> {
    rbac.cluster_roles_by_name
        .get(name)
        .map(|&i| &*rbac.cluster_roles[i])
}

fn rules_of(role: &Value) -> Vec<&Value> {
    role.get("rules")
        .and_then(Value::as_array)
        .map(|rules| rules.iter().collect())
        .unwrap_or_default()
}

/// The rules a ClusterRole has once the aggregation controller has settled: its own rules
/// without an aggregationRule, otherwise the deduplicated union of the (effective) rules of
/// every other ClusterRole matched by a selector, selector by selector, roles sorted by
/// name. `visiting` breaks aggregation cycles: a role met again uses its stored rules.
fn effective_cluster_role_rules<'a>(
    rbac: &'a RbacObjects,
    role: &'a Value,
    visiting: &mut Vec<&'a str>,
) -> Vec<&'a Value> {
    let name = metadata_str(role, "name");
    let aggregation = match role.get("aggregationRule") {
        Some(a) if !a.is_null() && !visiting.contains(&name) => a,
        _ => return rules_of(role),
    };
    let selectors: Vec<&Value> = aggregation
        .get("clusterRoleSelectors")
        .and_then(Value::as_array)
        .map(|s| s.iter().collect())
        .unwrap_or_default();
    visiting.push(name);
    let mut rules: Vec<&'a Value> = Vec::new();
    let mut failed = false;
    'selectors: for selector in selectors {
        let mut matched: Vec<&'a Value> = Vec::new();
        for candidate in &rbac.cluster_roles {
            let candidate: &'a Value = candidate;
            let labels = candidate
                .get("metadata")
                .and_then(|m| m.get("labels"))
                .and_then(Value::as_object);
            match selector_matches(selector, labels) {
                Ok(true) => matched.push(candidate),
                Ok(false) => {}
                Err(()) => {
                    failed = true;
                    break 'selectors;
                }
            }
        }
        matched.sort_by_key(|r| metadata_str(r, "name"));
        for other in matched {
            if metadata_str(other, "name") == name {
                continue;
            }
            for rule in effective_cluster_role_rules(rbac, other, visiting) {
                let parsed = PolicyRule::parse(rule);
                if !rules.iter().any(|r| PolicyRule::parse(r) == parsed) {
                    rules.push(rule);
                }
            }
        }
    }
    visiting.pop();
    if failed {
        // The controller gives up on an invalid selector and leaves the stored rules alone.
        return rules_of(role);
    }
    rules
}

/// Evaluates a metav1.LabelSelector against labels. A null selector matches nothing, an empty
/// one everything. `Err` for an invalid selector.
fn selector_matches(selector: &Value, labels: Option<&Map<String, Value>>) -> Result<bool, ()> {
    if !selector.is_object() {
        return Ok(false);
    }
    let label = |key: &str| labels.and_then(|l| l.get(key)).and_then(Value::as_str);
    let mut ok = true;
    if let Some(match_labels) = selector.get("matchLabels").and_then(Value::as_object) {
        for (key, value) in match_labels {
            let value = value.as_str().ok_or(())?;
            ok &= label(key) == Some(value);
        }
    }
    if let Some(exprs) = selector.get("matchExpressions").and_then(Value::as_array) {
        for expr in exprs {
            let key = str_field(expr, "key");
            let values = strings(expr.get("values"));
            let current = label(key);
            ok &= match str_field(expr, "operator") {
                "In" if !values.is_empty() => current.is_some_and(|v| values.contains(&v)),
                "NotIn" if !values.is_empty() => current.is_none_or(|v| !values.contains(&v)),
                "Exists" if values.is_empty() => current.is_some(),
                "DoesNotExist" if values.is_empty() => current.is_none(),
                _ => return Err(()),
            };
        }
    }
    Ok(ok)
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn str_field<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn metadata_str<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get("metadata")
        .map(|m| str_field(m, key))
        .unwrap_or_default()
}

/// Joins resolution errors as apimachinery's error aggregate prints them: one distinct
/// message alone, several as `[a, b]`, duplicates dropped.
fn aggregate_errors(errors: &[String]) -> String {
    let mut seen = HashSet::new();
    let distinct: Vec<&str> = errors
        .iter()
        .filter(|e| seen.insert(e.as_str()))
        .map(String::as_str)
        .collect();
    match distinct.as_slice() {
        [one] => one.to_string(),
        many => format!("[{}]", many.join(", ")),
    }
}

/// Wraps an authorizer message the way apimachinery's `NewForbidden` does.
fn status_message(resource: &str, group: &str, name: &str, detail: &str, reason: &str) -> String {
    let detail = if reason.is_empty() {
        detail.to_string()
    } else {
        format!("{detail}: {reason}")
    };
    if resource.is_empty() && group.is_empty() {
        return format!("forbidden: {detail}");
    }
    let qualified = if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    };
    if name.is_empty() {
        format!("{qualified} is forbidden: {detail}")
    } else {
        format!("{qualified} {} is forbidden: {detail}", quote(name))
    }
}

/// kube-apiserver escapes `&`, `<` and `>` in the authorizer part of a 403 message.
fn sanitize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // ----- fixtures -----

    #[derive(Default)]
    struct Store {
        roles: Vec<Value>,
        role_bindings: Vec<Value>,
        cluster_roles: Vec<Value>,
        cluster_role_bindings: Vec<Value>,
    }

    impl Store {
        fn objects(&self) -> RbacObjects {
            let arcs = |v: &[Value]| v.iter().cloned().map(Arc::new).collect();
            RbacObjects::new(
                arcs(&self.roles),
                arcs(&self.role_bindings),
                arcs(&self.cluster_roles),
                arcs(&self.cluster_role_bindings),
            )
        }
        fn role(mut self, ns: &str, name: &str, rules: Value) -> Self {
            self.roles.push(json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                "metadata": {"namespace": ns, "name": name}, "rules": rules,
            }));
            self
        }
        fn cluster_role(mut self, name: &str, rules: Value) -> Self {
            self.cluster_roles.push(json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": name}, "rules": rules,
            }));
            self
        }
        fn cluster_role_obj(mut self, obj: Value) -> Self {
            self.cluster_roles.push(obj);
            self
        }
        fn role_binding(
            mut self,
            ns: &str,
            name: &str,
            kind: &str,
            role: &str,
            subjects: Value,
        ) -> Self {
            self.role_bindings.push(json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"namespace": ns, "name": name},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role},
                "subjects": subjects,
            }));
            self
        }
        fn cluster_role_binding(mut self, name: &str, role: &str, subjects: Value) -> Self {
            self.cluster_role_bindings.push(json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": name},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                "subjects": subjects,
            }));
            self
        }
    }

    fn user(name: &str, groups: &[&str]) -> UserInfo {
        UserInfo {
            name: name.to_string(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    fn user_subject(name: &str) -> Value {
        json!([{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": name}])
    }

    fn group_subject(name: &str) -> Value {
        json!([{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": name}])
    }

    fn sa_subject(ns: &str, name: &str) -> Value {
        json!([{"kind": "ServiceAccount", "namespace": ns, "name": name}])
    }

    fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
        json!({"apiGroups": groups, "resources": resources, "verbs": verbs})
    }

    /// A request: `verb group/resource[/sub] [name] in ns`.
    struct Req<'a> {
        verb: &'a str,
        group: &'a str,
        resource: &'a str,
        sub: &'a str,
        ns: &'a str,
        name: &'a str,
    }

    fn req<'a>(verb: &'a str, group: &'a str, resource: &'a str, ns: &'a str) -> Req<'a> {
        Req {
            verb,
            group,
            resource,
            sub: "",
            ns,
            name: "",
        }
    }

    impl<'a> Req<'a> {
        fn named(mut self, name: &'a str) -> Self {
            self.name = name;
            self
        }
        fn sub(mut self, sub: &'a str) -> Self {
            self.sub = sub;
            self
        }
        fn attrs(&self, u: &'a UserInfo) -> Attributes<'a> {
            Attributes {
                user: u,
                verb: self.verb,
                api_group: self.group,
                resource: self.resource,
                subresource: self.sub,
                namespace: self.ns,
                name: self.name,
            }
        }
    }

    fn check(store: &Store, u: &UserInfo, r: Req) -> Decision {
        authorize(&r.attrs(u), &store.objects())
    }

    fn allowed(store: &Store, u: &UserInfo, r: Req) -> bool {
        check(store, u, r).is_allowed()
    }

    fn deny(reason: &str) -> Decision {
        Decision::Deny {
            reason: reason.to_string(),
        }
    }

    fn alice() -> UserInfo {
        user("alice", &["system:authenticated"])
    }

    fn configmap_reader_role(ns: &str) -> Store {
        Store::default()
            .role(
                ns,
                "cm-reader",
                json!([rule(&[""], &["configmaps"], &["get", "list"])]),
            )
            .role_binding(ns, "alice-cm", "Role", "cm-reader", user_subject("alice"))
    }

    // ----- bindings and scope -----

    #[test]
    fn role_grants_in_its_namespace() {
        let s = configmap_reader_role("team-a");
        assert_eq!(
            check(&s, &alice(), req("list", "", "configmaps", "team-a")),
            Decision::Allow
        );
        assert!(allowed(
            &s,
            &alice(),
            req("get", "", "configmaps", "team-a").named("x")
        ));
    }

    #[test]
    fn role_does_not_grant_in_other_namespace() {
        let s = configmap_reader_role("team-a");
        assert_eq!(
            check(&s, &alice(), req("list", "", "configmaps", "team-b")),
            deny("")
        );
    }

    #[test]
    fn role_does_not_grant_unlisted_verb() {
        let s = configmap_reader_role("team-a");
        assert!(!allowed(
            &s,
            &alice(),
            req("delete", "", "configmaps", "team-a").named("x")
        ));
    }

    #[test]
    fn role_binding_does_not_grant_all_namespaces_list() {
        let s = configmap_reader_role("team-a");
        assert!(!allowed(&s, &alice(), req("list", "", "configmaps", "")));
    }

    #[test]
    fn role_binding_uses_role_of_its_own_namespace_only() {
        // A Role of the same name in another namespace is not what the binding refers to.
        let s = Store::default()
            .role(
                "team-b",
                "cm-reader",
                json!([rule(&[""], &["configmaps"], &["list"])]),
            )
            .role_binding(
                "team-a",
                "alice-cm",
                "Role",
                "cm-reader",
                user_subject("alice"),
            );
        assert_eq!(
            check(&s, &alice(), req("list", "", "configmaps", "team-a")),
            deny(r#"RBAC: role.rbac.authorization.k8s.io "cm-reader" not found"#)
        );
    }

    #[test]
    fn role_binding_to_cluster_role_is_limited_to_its_namespace() {
        let s = Store::default()
            .cluster_role(
                "cm-reader",
                json!([rule(&[""], &["configmaps"], &["list"])]),
            )
            .role_binding(
                "team-a",
                "alice-cm",
                "ClusterRole",
                "cm-reader",
                user_subject("alice"),
            );
        assert!(allowed(
            &s,
            &alice(),
            req("list", "", "configmaps", "team-a")
        ));
        assert!(!allowed(
            &s,
            &alice(),
            req("list", "", "configmaps", "team-b")
        ));
        assert!(!allowed(&s, &alice(), req("list", "", "configmaps", "")));
    }

    #[test]
    fn cluster_role_binding_grants_everywhere() {
        let s = Store::default()
            .cluster_role(
                "cm-reader",
                json!([rule(&[""], &["configmaps"], &["list"])]),
            )
            .cluster_role_binding("alice-cm", "cm-reader", user_subject("alice"));
        for ns in ["team-a", "team-b", "kube-system", ""] {
            assert!(
                allowed(&s, &alice(), req("list", "", "configmaps", ns)),
                "ns {ns:?}"
            );
        }
    }

    #[test]
    fn cluster_scoped_resource_needs_cluster_binding() {
        let rules = json!([rule(&[""], &["namespaces", "nodes"], &["get", "list"])]);
        let via_role_binding = Store::default()
            .cluster_role("ns-reader", rules.clone())
            .role_binding(
                "team-a",
                "alice-ns",
                "ClusterRole",
                "ns-reader",
                user_subject("alice"),
            );
        assert!(!allowed(
            &via_role_binding,
            &alice(),
            req("list", "", "namespaces", "")
        ));
        assert!(!allowed(
            &via_role_binding,
            &alice(),
            req("get", "", "nodes", "").named("n1")
        ));

        let via_cluster_binding = Store::default()
            .cluster_role("ns-reader", rules)
            .cluster_role_binding("alice-ns", "ns-reader", user_subject("alice"));
        assert!(allowed(
            &via_cluster_binding,
            &alice(),
            req("list", "", "namespaces", "")
        ));
        assert!(allowed(
            &via_cluster_binding,
            &alice(),
            req("get", "", "nodes", "").named("n1")
        ));
    }

    #[test]
    fn no_bindings_denies_with_empty_reason() {
        let s = Store::default();
        assert_eq!(
            check(&s, &alice(), req("get", "", "pods", "default").named("p")),
            deny("")
        );
    }

    #[test]
    fn system_masters_is_allowed_everything() {
        let admin = user("admin", &["system:masters", "system:authenticated"]);
        let s = Store::default();
        assert_eq!(
            check(
                &s,
                &admin,
                req("delete", "apps", "deployments", "x").named("d")
            ),
            Decision::Allow
        );
        assert_eq!(
            check(&s, &admin, req("create", "", "namespaces", "")),
            Decision::Allow
        );
        assert_eq!(
            authorize_non_resource(&admin, "get", "/metrics", &s.objects()),
            Decision::Allow
        );
    }

    #[test]
    fn system_masters_as_user_name_is_not_privileged() {
        let u = user("system:masters", &[]);
        assert!(!allowed(
            &Store::default(),
            &u,
            req("list", "", "pods", "default")
        ));
    }

    // ----- subjects -----

    #[test]
    fn user_subject_matches_by_name_only() {
        let s = configmap_reader_role("team-a");
        let bob = user("bob", &["alice"]);
        assert!(!allowed(&s, &bob, req("list", "", "configmaps", "team-a")));
    }

    #[test]
    fn group_subject_matches_members() {
        let s = Store::default()
            .role(
                "team-a",
                "cm-reader",
                json!([rule(&[""], &["configmaps"], &["list"])]),
            )
            .role_binding("team-a", "devs", "Role", "cm-reader", group_subject("devs"));
        assert!(allowed(
            &s,
            &user("carol", &["devs"]),
            req("list", "", "configmaps", "team-a")
        ));
        assert!(!allowed(
            &s,
            &user("devs", &[]),
            req("list", "", "configmaps", "team-a")
        ));
    }

    #[test]
    fn namespace_service_accounts_group_subject() {
        let s = Store::default()
            .role(
                "team-a",
                "cm-reader",
                json!([rule(&[""], &["configmaps"], &["list"])]),
            )
            .role_binding(
                "team-a",
                "sas",
                "Role",
                "cm-reader",
                group_subject("system:serviceaccounts:team-a"),
            );
        let in_a = service_account_user("team-a", "anything");
        let in_b = service_account_user("team-b", "anything");
        assert!(allowed(&s, &in_a, req("list", "", "configmaps", "team-a")));
        assert!(!allowed(&s, &in_b, req("list", "", "configmaps", "team-a")));
    }

    #[test]
    fn all_service_accounts_group_subject() {
        let s = Store::default()
            .cluster_role(
                "cm-reader",
                json!([rule(&[""], &["configmaps"], &["list"])]),
            )
            .cluster_role_binding("sas", "cm-reader", group_subject("system:serviceaccounts"));
        assert!(allowed(
            &s,
            &service_account_user("x", "y"),
            req("list", "", "configmaps", "z")
        ));
        assert!(!allowed(&s, &alice(), req("list", "", "configmaps", "z")));
    }

    #[test]
    fn system_authenticated_group_subject() {
        let s = Store::default()
            .cluster_role(
                "cm-reader",
                json!([rule(&[""], &["configmaps"], &["list"])]),
            )
            .cluster_role_binding("authn", "cm-reader", group_subject("system:authenticated"));
        assert!(allowed(&s, &alice(), req("list", "", "configmaps", "a")));
        assert!(allowed(
            &s,
            &service_account_user("x", "y"),
            req("list", "", "configmaps", "a")
        ));
        assert!(!allowed(
            &s,
            &user("system:anonymous", &["system:unauthenticated"]),
            req("list", "", "configmaps", "a")
        ));
    }

    #[test]
    fn service_account_subject_with_namespace() {
        let s = Store::default()
            .cluster_role(
                "cm-reader",
                json!([rule(&[""], &["configmaps"], &["list"])]),
            )
            .role_binding(
                "team-b",
                "deployer",
                "ClusterRole",
                "cm-reader",
                sa_subject("team-a", "deployer"),
            );
        assert!(allowed(
            &s,
            &service_account_user("team-a", "deployer"),
            req("list", "", "configmaps", "team-b")
        ));
        assert!(!allowed(
            &s,
            &service_account_user("team-b", "deployer"),
            req("list", "", "configmaps", "team-b")
        ));
        assert!(!allowed(
            &s,
            &service_account_user("team-a", "other"),
            req("list", "", "configmaps", "team-b")
        ));
    }

    #[test]
    fn service_account_subject_without_namespace_defaults_to_role_binding_namespace() {
        let s = Store::default()
            .cluster_role(
                "cm-reader",
                json!([rule(&[""], &["configmaps"], &["list"])]),
            )
            .role_binding(
                "team-a",
                "d",
                "ClusterRole",
                "cm-reader",
                json!([{"kind": "ServiceAccount", "name": "deployer"}]),
            );
        assert!(allowed(
            &s,
            &service_account_user("team-a", "deployer"),
            req("list", "", "configmaps", "team-a")
        ));
        assert!(!allowed(
            &s,
            &service_account_user("team-b", "deployer"),
            req("list", "", "configmaps", "team-a")
        ));
    }

    #[test]
    fn service_account_subject_without_namespace_matches_nobody_in_cluster_role_binding() {
        let s = Store::default()
            .cluster_role(
                "cm-reader",
                json!([rule(&[""], &["configmaps"], &["list"])]),
            )
            .cluster_role_binding(
                "d",
                "cm-reader",
                json!([{"kind": "ServiceAccount", "name": "deployer"}]),
            );
        assert!(!allowed(
            &s,
            &service_account_user("team-a", "deployer"),
            req("list", "", "configmaps", "team-a")
        ));
        assert!(!allowed(
            &s,
            &service_account_user("", "deployer"),
            req("list", "", "configmaps", "")
        ));
    }

    #[test]
    fn service_account_subject_is_not_a_user_subject() {
        // The plain user "deployer" is not the service account of that name.
        let s = Store::default()
            .cluster_role(
                "cm-reader",
                json!([rule(&[""], &["configmaps"], &["list"])]),
            )
            .cluster_role_binding("d", "cm-reader", sa_subject("team-a", "deployer"));
        assert!(!allowed(
            &s,
            &user("deployer", &[]),
            req("list", "", "configmaps", "team-a")
        ));
        assert!(allowed(
            &s,
            &user("system:serviceaccount:team-a:deployer", &[]),
            req("list", "", "configmaps", "team-a")
        ));
    }

    #[test]
    fn unknown_subject_kind_matches_nobody() {
        let s = Store::default()
            .cluster_role(
                "cm-reader",
                json!([rule(&[""], &["configmaps"], &["list"])]),
            )
            .cluster_role_binding(
                "d",
                "cm-reader",
                json!([{"kind": "Robot", "name": "alice"}]),
            );
        assert!(!allowed(&s, &alice(), req("list", "", "configmaps", "a")));
    }

    #[test]
    fn any_of_several_subjects_applies() {
        let s = Store::default()
            .cluster_role(
                "cm-reader",
                json!([rule(&[""], &["configmaps"], &["list"])]),
            )
            .cluster_role_binding(
                "d",
                "cm-reader",
                json!([{"kind": "User", "name": "bob"}, {"kind": "Group", "name": "ops"}]),
            );
        assert!(allowed(
            &s,
            &user("bob", &[]),
            req("list", "", "configmaps", "a")
        ));
        assert!(allowed(
            &s,
            &user("eve", &["ops"]),
            req("list", "", "configmaps", "a")
        ));
        assert!(!allowed(
            &s,
            &user("eve", &[]),
            req("list", "", "configmaps", "a")
        ));
    }

    #[test]
    fn service_account_user_identity() {
        let u = service_account_user("flux-system", "kustomize-controller");
        assert_eq!(
            u.name,
            "system:serviceaccount:flux-system:kustomize-controller"
        );
        assert_eq!(
            u.groups,
            [
                "system:serviceaccounts",
                "system:serviceaccounts:flux-system",
                "system:authenticated"
            ]
        );
    }

    // ----- rule matching -----

    fn alice_with_cluster_rules(rules: Value) -> Store {
        Store::default()
            .cluster_role("r", rules)
            .cluster_role_binding("b", "r", user_subject("alice"))
    }

    #[test]
    fn wildcard_verbs() {
        let s = alice_with_cluster_rules(json!([rule(&["apps"], &["deployments"], &["*"])]));
        for verb in [
            "get",
            "list",
            "watch",
            "create",
            "update",
            "patch",
            "delete",
            "deletecollection",
            "escalate",
        ] {
            assert!(
                allowed(&s, &alice(), req(verb, "apps", "deployments", "a")),
                "{verb}"
            );
        }
        assert!(!allowed(
            &s,
            &alice(),
            req("get", "apps", "statefulsets", "a")
        ));
    }

    #[test]
    fn wildcard_api_groups() {
        let s = alice_with_cluster_rules(json!([rule(&["*"], &["deployments"], &["get"])]));
        assert!(allowed(
            &s,
            &alice(),
            req("get", "apps", "deployments", "a").named("d")
        ));
        assert!(allowed(
            &s,
            &alice(),
            req("get", "extensions", "deployments", "a").named("d")
        ));
        assert!(allowed(
            &s,
            &alice(),
            req("get", "", "deployments", "a").named("d")
        ));
    }

    #[test]
    fn api_group_must_match() {
        let s = alice_with_cluster_rules(json!([rule(&[""], &["deployments"], &["get"])]));
        assert!(!allowed(
            &s,
            &alice(),
            req("get", "apps", "deployments", "a").named("d")
        ));
    }

    #[test]
    fn wildcard_resources_include_subresources() {
        let s = alice_with_cluster_rules(json!([rule(&[""], &["*"], &["get", "update"])]));
        assert!(allowed(
            &s,
            &alice(),
            req("get", "", "pods", "a").named("p")
        ));
        assert!(allowed(
            &s,
            &alice(),
            req("get", "", "pods", "a").named("p").sub("log")
        ));
        assert!(allowed(
            &s,
            &alice(),
            req("update", "", "configmaps", "a").named("c")
        ));
        assert!(!allowed(
            &s,
            &alice(),
            req("update", "apps", "deployments", "a").named("c")
        ));
    }

    #[test]
    fn full_wildcard_rule_is_cluster_admin() {
        let s = alice_with_cluster_rules(json!([
            rule(&["*"], &["*"], &["*"]),
            {"nonResourceURLs": ["*"], "verbs": ["*"]}
        ]));
        assert!(allowed(&s, &alice(), req("create", "", "namespaces", "")));
        assert!(allowed(
            &s,
            &alice(),
            req("update", "apps", "deployments", "a")
                .named("d")
                .sub("scale")
        ));
        assert!(authorize_non_resource(&alice(), "get", "/healthz", &s.objects()).is_allowed());
    }

    #[test]
    fn subresource_needs_explicit_grant() {
        let s = alice_with_cluster_rules(json!([rule(&["apps"], &["deployments"], &["*"])]));
        assert!(allowed(
            &s,
            &alice(),
            req("update", "apps", "deployments", "a").named("d")
        ));
        assert!(!allowed(
            &s,
            &alice(),
            req("update", "apps", "deployments", "a")
                .named("d")
                .sub("scale")
        ));
        assert!(!allowed(
            &s,
            &alice(),
            req("update", "apps", "deployments", "a")
                .named("d")
                .sub("status")
        ));
    }

    #[test]
    fn exact_subresource_rule_grants_only_that_subresource() {
        let s = alice_with_cluster_rules(json!([rule(
            &["apps"],
            &["deployments/scale"],
            &["get", "update"]
        )]));
        assert!(allowed(
            &s,
            &alice(),
            req("update", "apps", "deployments", "a")
                .named("d")
                .sub("scale")
        ));
        assert!(!allowed(
            &s,
            &alice(),
            req("update", "apps", "deployments", "a").named("d")
        ));
        assert!(!allowed(
            &s,
            &alice(),
            req("update", "apps", "deployments", "a")
                .named("d")
                .sub("status")
        ));
        assert!(!allowed(
            &s,
            &alice(),
            req("update", "apps", "statefulsets", "a")
                .named("d")
                .sub("scale")
        ));
    }

    #[test]
    fn star_slash_subresource_matches_that_subresource_of_any_resource() {
        let s = alice_with_cluster_rules(json!([rule(&["*"], &["*/scale"], &["update"])]));
        assert!(allowed(
            &s,
            &alice(),
            req("update", "apps", "deployments", "a")
                .named("d")
                .sub("scale")
        ));
        assert!(allowed(
            &s,
            &alice(),
            req("update", "apps", "statefulsets", "a")
                .named("s")
                .sub("scale")
        ));
        assert!(!allowed(
            &s,
            &alice(),
            req("update", "apps", "deployments", "a").named("d")
        ));
        assert!(!allowed(
            &s,
            &alice(),
            req("update", "apps", "deployments", "a")
                .named("d")
                .sub("status")
        ));
    }

    #[test]
    fn resource_slash_star_is_not_a_subresource_wildcard() {
        let s = alice_with_cluster_rules(json!([rule(&["apps"], &["deployments/*"], &["update"])]));
        assert!(!allowed(
            &s,
            &alice(),
            req("update", "apps", "deployments", "a")
                .named("d")
                .sub("scale")
        ));
        assert!(!allowed(
            &s,
            &alice(),
            req("update", "apps", "deployments", "a").named("d")
        ));
    }

    #[test]
    fn resource_names_restrict_by_name() {
        let s = alice_with_cluster_rules(json!([{
            "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["db-creds", "tls"],
            "verbs": ["get", "list", "watch", "create", "update", "delete"]
        }]));
        assert!(allowed(
            &s,
            &alice(),
            req("get", "", "secrets", "a").named("db-creds")
        ));
        assert!(allowed(
            &s,
            &alice(),
            req("update", "", "secrets", "a").named("tls")
        ));
        assert!(!allowed(
            &s,
            &alice(),
            req("get", "", "secrets", "a").named("other")
        ));
    }

    #[test]
    fn resource_names_never_grant_unnamed_requests() {
        let s = alice_with_cluster_rules(json!([{
            "apiGroups": [""], "resources": ["secrets"], "resourceNames": ["db-creds"],
            "verbs": ["list", "watch", "create", "deletecollection"]
        }]));
        for verb in ["list", "watch", "create", "deletecollection"] {
            assert!(
                !allowed(&s, &alice(), req(verb, "", "secrets", "a")),
                "{verb}"
            );
        }
        // A named watch (fieldSelector metadata.name=...) is allowed.
        assert!(allowed(
            &s,
            &alice(),
            req("watch", "", "secrets", "a").named("db-creds")
        ));
    }

    #[test]
    fn resource_names_apply_to_subresources() {
        let s = alice_with_cluster_rules(json!([{
            "apiGroups": ["apps"], "resources": ["deployments/scale"], "resourceNames": ["web"],
            "verbs": ["update"]
        }]));
        assert!(allowed(
            &s,
            &alice(),
            req("update", "apps", "deployments", "a")
                .named("web")
                .sub("scale")
        ));
        assert!(!allowed(
            &s,
            &alice(),
            req("update", "apps", "deployments", "a")
                .named("api")
                .sub("scale")
        ));
    }

    #[test]
    fn empty_or_missing_rule_fields_match_nothing() {
        let s = alice_with_cluster_rules(json!([
            {"apiGroups": [""], "resources": ["pods"]},
            {"apiGroups": [""], "verbs": ["get"]},
            {"resources": ["pods"], "verbs": ["get"]},
            null
        ]));
        assert!(!allowed(
            &s,
            &alice(),
            req("get", "", "pods", "a").named("p")
        ));
    }

    #[test]
    fn rules_are_additive_across_bindings() {
        let s = Store::default()
            .role("a", "cm", json!([rule(&[""], &["configmaps"], &["get"])]))
            .role("a", "sec", json!([rule(&[""], &["secrets"], &["get"])]))
            .role_binding("a", "b1", "Role", "cm", user_subject("alice"))
            .role_binding(
                "a",
                "b2",
                "Role",
                "sec",
                group_subject("system:authenticated"),
            );
        assert!(allowed(
            &s,
            &alice(),
            req("get", "", "configmaps", "a").named("x")
        ));
        assert!(allowed(
            &s,
            &alice(),
            req("get", "", "secrets", "a").named("x")
        ));
    }

    // ----- non-resource URLs -----

    #[test]
    fn non_resource_urls_exact_and_prefix() {
        let s = alice_with_cluster_rules(json!([
            {"nonResourceURLs": ["/healthz", "/metrics/*"], "verbs": ["get"]}
        ]));
        let check =
            |verb: &str, path: &str| authorize_non_resource(&alice(), verb, path, &s.objects());
        assert!(check("get", "/healthz").is_allowed());
        assert!(check("get", "/metrics/cadvisor").is_allowed());
        assert!(check("get", "/metrics/").is_allowed());
        assert!(!check("get", "/metrics").is_allowed());
        assert!(!check("get", "/healthz/etcd").is_allowed());
        assert!(!check("post", "/healthz").is_allowed());
    }

    #[test]
    fn non_resource_rule_does_not_grant_resources() {
        let s = alice_with_cluster_rules(json!([{"nonResourceURLs": ["*"], "verbs": ["*"]}]));
        assert!(!allowed(
            &s,
            &alice(),
            req("get", "", "pods", "a").named("p")
        ));
    }

    #[test]
    fn non_resource_urls_cannot_be_granted_by_role_binding() {
        let s = Store::default()
            .cluster_role(
                "health",
                json!([{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]),
            )
            .role_binding("a", "b", "ClusterRole", "health", user_subject("alice"));
        assert!(!authorize_non_resource(&alice(), "get", "/healthz", &s.objects()).is_allowed());
    }

    // ----- unresolvable roles -----

    #[test]
    fn missing_role_grants_nothing_and_is_the_reason() {
        let s = Store::default().role_binding("a", "b", "Role", "ghost", user_subject("alice"));
        assert_eq!(
            check(&s, &alice(), req("list", "", "pods", "a")),
            deny(r#"RBAC: role.rbac.authorization.k8s.io "ghost" not found"#)
        );
    }

    #[test]
    fn missing_cluster_role_grants_nothing_and_is_the_reason() {
        let s = Store::default().cluster_role_binding("b", "ghost", user_subject("alice"));
        assert_eq!(
            check(&s, &alice(), req("list", "", "nodes", "")),
            deny(r#"RBAC: clusterrole.rbac.authorization.k8s.io "ghost" not found"#)
        );
    }

    #[test]
    fn several_missing_roles_are_listed_once_each() {
        let s = Store::default()
            .cluster_role_binding("b1", "ghost", user_subject("alice"))
            .cluster_role_binding("b2", "ghost", group_subject("system:authenticated"))
            .role_binding("a", "b3", "Role", "phantom", user_subject("alice"));
        assert_eq!(
            check(&s, &alice(), req("list", "", "pods", "a")),
            deny(
                r#"RBAC: [clusterrole.rbac.authorization.k8s.io "ghost" not found, role.rbac.authorization.k8s.io "phantom" not found]"#
            )
        );
    }

    #[test]
    fn missing_role_of_binding_not_applying_to_user_is_not_reported() {
        let s = Store::default().role_binding("a", "b", "Role", "ghost", user_subject("bob"));
        assert_eq!(check(&s, &alice(), req("list", "", "pods", "a")), deny(""));
    }

    #[test]
    fn missing_role_in_other_namespace_is_not_reported() {
        let s = Store::default().role_binding("b", "b", "Role", "ghost", user_subject("alice"));
        assert_eq!(check(&s, &alice(), req("list", "", "pods", "a")), deny(""));
    }

    #[test]
    fn missing_role_does_not_block_a_grant_from_another_binding() {
        let s = configmap_reader_role("a").role_binding(
            "a",
            "broken",
            "Role",
            "ghost",
            user_subject("alice"),
        );
        assert_eq!(
            check(&s, &alice(), req("list", "", "configmaps", "a")),
            Decision::Allow
        );
    }

    #[test]
    fn cluster_role_binding_to_a_role_kind_resolves_nothing() {
        let mut s =
            Store::default().role("a", "cm", json!([rule(&[""], &["configmaps"], &["list"])]));
        s.cluster_role_bindings.push(json!({
            "metadata": {"name": "odd"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cm"},
            "subjects": user_subject("alice"),
        }));
        assert_eq!(
            check(&s, &alice(), req("list", "", "configmaps", "a")),
            deny(r#"RBAC: role.rbac.authorization.k8s.io "cm" not found"#)
        );
    }

    #[test]
    fn unsupported_role_ref_kind_is_the_reason() {
        let mut s = Store::default();
        s.cluster_role_bindings.push(json!({
            "metadata": {"name": "odd"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Policy", "name": "x"},
            "subjects": user_subject("alice"),
        }));
        assert_eq!(
            check(&s, &alice(), req("list", "", "pods", "a")),
            deny(r#"RBAC: unsupported role reference kind: "Policy""#)
        );
    }

    // ----- aggregation -----

    fn labelled_cluster_role(name: &str, labels: Value, rules: Value) -> Value {
        json!({"metadata": {"name": name, "labels": labels}, "rules": rules})
    }

    fn aggregated_cluster_role(name: &str, selectors: Value, stored_rules: Value) -> Value {
        json!({
            "metadata": {"name": name},
            "aggregationRule": {"clusterRoleSelectors": selectors},
            "rules": stored_rules,
        })
    }

    #[test]
    fn aggregated_cluster_role_gets_rules_of_matching_roles() {
        let s = Store::default()
            .cluster_role_obj(aggregated_cluster_role(
                "monitoring",
                json!([{"matchLabels": {"rbac.example.com/aggregate-to-monitoring": "true"}}]),
                json!([]),
            ))
            .cluster_role_obj(labelled_cluster_role(
                "monitoring-endpoints",
                json!({"rbac.example.com/aggregate-to-monitoring": "true"}),
                json!([rule(
                    &[""],
                    &["services", "endpoints", "pods"],
                    &["get", "list", "watch"]
                )]),
            ))
            .cluster_role_obj(labelled_cluster_role(
                "unrelated",
                json!({"rbac.example.com/aggregate-to-monitoring": "false"}),
                json!([rule(&[""], &["secrets"], &["get"])]),
            ))
            .role_binding("a", "b", "ClusterRole", "monitoring", user_subject("alice"));
        assert!(allowed(&s, &alice(), req("list", "", "endpoints", "a")));
        assert!(!allowed(
            &s,
            &alice(),
            req("get", "", "secrets", "a").named("s")
        ));
    }

    #[test]
    fn aggregation_replaces_stored_rules() {
        // The controller overwrites `rules`; stale stored rules grant nothing.
        let s = Store::default()
            .cluster_role_obj(aggregated_cluster_role(
                "agg",
                json!([{"matchLabels": {"agg": "yes"}}]),
                json!([rule(&[""], &["secrets"], &["get"])]),
            ))
            .cluster_role_obj(labelled_cluster_role(
                "part",
                json!({"agg": "yes"}),
                json!([rule(&[""], &["pods"], &["get"])]),
            ))
            .cluster_role_binding("b", "agg", user_subject("alice"));
        assert!(allowed(
            &s,
            &alice(),
            req("get", "", "pods", "a").named("p")
        ));
        assert!(!allowed(
            &s,
            &alice(),
            req("get", "", "secrets", "a").named("s")
        ));
    }

    #[test]
    fn aggregated_role_matching_its_own_selector_is_skipped() {
        let s = Store::default()
            .cluster_role_obj(json!({
                "metadata": {"name": "agg", "labels": {"agg": "yes"}},
                "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"agg": "yes"}}]},
                "rules": [rule(&[""], &["secrets"], &["get"])],
            }))
            .cluster_role_obj(labelled_cluster_role(
                "part",
                json!({"agg": "yes"}),
                json!([rule(&[""], &["pods"], &["get"])]),
            ))
            .cluster_role_binding("b", "agg", user_subject("alice"));
        assert!(allowed(
            &s,
            &alice(),
            req("get", "", "pods", "a").named("p")
        ));
        assert!(!allowed(
            &s,
            &alice(),
            req("get", "", "secrets", "a").named("s")
        ));
    }

    #[test]
    fn aggregation_with_match_expressions() {
        let s = Store::default()
            .cluster_role_obj(aggregated_cluster_role(
                "agg",
                json!([{"matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["read", "write"]},
                    {"key": "deprecated", "operator": "DoesNotExist"}
                ]}]),
                json!([]),
            ))
            .cluster_role_obj(labelled_cluster_role(
                "r",
                json!({"tier": "read"}),
                json!([rule(&[""], &["pods"], &["get"])]),
            ))
            .cluster_role_obj(labelled_cluster_role(
                "old",
                json!({"tier": "write", "deprecated": "1"}),
                json!([rule(&[""], &["secrets"], &["get"])]),
            ))
            .cluster_role_obj(labelled_cluster_role(
                "admin",
                json!({"tier": "admin"}),
                json!([rule(&[""], &["nodes"], &["get"])]),
            ))
            .cluster_role_binding("b", "agg", user_subject("alice"));
        assert!(allowed(
            &s,
            &alice(),
            req("get", "", "pods", "a").named("p")
        ));
        assert!(!allowed(
            &s,
            &alice(),
            req("get", "", "secrets", "a").named("s")
        ));
        assert!(!allowed(
            &s,
            &alice(),
            req("get", "", "nodes", "").named("n")
        ));
    }

    #[test]
    fn aggregation_not_in_matches_roles_without_the_label() {
        let s = Store::default()
            .cluster_role_obj(aggregated_cluster_role(
                "agg",
                json!([{"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["admin"]}]}]),
                json!([]),
            ))
            .cluster_role("unlabelled", json!([rule(&[""], &["pods"], &["get"])]))
            .cluster_role_obj(labelled_cluster_role("admin", json!({"tier": "admin"}), json!([rule(&[""], &["nodes"], &["get"])])))
            .cluster_role_binding("b", "agg", user_subject("alice"));
        assert!(allowed(
            &s,
            &alice(),
            req("get", "", "pods", "a").named("p")
        ));
        assert!(!allowed(
            &s,
            &alice(),
            req("get", "", "nodes", "").named("n")
        ));
    }

    #[test]
    fn aggregation_exists_requires_the_label() {
        let s = Store::default()
            .cluster_role_obj(aggregated_cluster_role(
                "agg",
                json!([{"matchExpressions": [{"key": "tier", "operator": "Exists"}]}]),
                json!([]),
            ))
            .cluster_role("unlabelled", json!([rule(&[""], &["pods"], &["get"])]))
            .cluster_role_obj(labelled_cluster_role(
                "any",
                json!({"tier": ""}),
                json!([rule(&[""], &["nodes"], &["get"])]),
            ))
            .cluster_role_binding("b", "agg", user_subject("alice"));
        assert!(!allowed(
            &s,
            &alice(),
            req("get", "", "pods", "a").named("p")
        ));
        assert!(allowed(
            &s,
            &alice(),
            req("get", "", "nodes", "").named("n")
        ));
    }

    #[test]
    fn aggregation_is_transitive() {
        // Like admin ⊇ edit ⊇ view in a real cluster.
        let s = Store::default()
            .cluster_role_obj(aggregated_cluster_role(
                "admin",
                json!([{"matchLabels": {"to-admin": "true"}}]),
                json!([]),
            ))
            .cluster_role_obj(json!({
                "metadata": {"name": "edit", "labels": {"to-admin": "true"}},
                "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"to-edit": "true"}}]},
            }))
            .cluster_role_obj(labelled_cluster_role(
                "edit-part",
                json!({"to-edit": "true"}),
                json!([rule(&["apps"], &["deployments"], &["update"])]),
            ))
            .cluster_role_obj(labelled_cluster_role(
                "admin-part",
                json!({"to-admin": "true"}),
                json!([rule(
                    &["rbac.authorization.k8s.io"],
                    &["roles"],
                    &["create"]
                )]),
            ))
            .role_binding("a", "b", "ClusterRole", "admin", user_subject("alice"));
        assert!(allowed(
            &s,
            &alice(),
            req("update", "apps", "deployments", "a").named("d")
        ));
        assert!(allowed(
            &s,
            &alice(),
            req("create", "rbac.authorization.k8s.io", "roles", "a")
        ));
    }

    #[test]
    fn aggregation_cycle_terminates() {
        let s = Store::default()
            .cluster_role_obj(json!({
                "metadata": {"name": "a", "labels": {"ring": "1"}},
                "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"ring": "1"}}]},
            }))
            .cluster_role_obj(json!({
                "metadata": {"name": "b", "labels": {"ring": "1"}},
                "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"ring": "1"}}]},
            }))
            .cluster_role_obj(labelled_cluster_role(
                "c",
                json!({"ring": "1"}),
                json!([rule(&[""], &["pods"], &["get"])]),
            ))
            .cluster_role_binding("bind", "a", user_subject("alice"));
        assert!(allowed(
            &s,
            &alice(),
            req("get", "", "pods", "x").named("p")
        ));
    }

    #[test]
    fn aggregation_without_selectors_yields_no_rules() {
        let s = Store::default()
            .cluster_role_obj(aggregated_cluster_role(
                "agg",
                json!([]),
                json!([rule(&[""], &["pods"], &["get"])]),
            ))
            .cluster_role_binding("b", "agg", user_subject("alice"));
        assert!(!allowed(
            &s,
            &alice(),
            req("get", "", "pods", "a").named("p")
        ));
    }

    #[test]
    fn empty_selector_aggregates_every_other_cluster_role() {
        let s = Store::default()
            .cluster_role_obj(aggregated_cluster_role("agg", json!([{}]), json!([])))
            .cluster_role("unlabelled", json!([rule(&[""], &["pods"], &["get"])]))
            .cluster_role_binding("b", "agg", user_subject("alice"));
        assert!(allowed(
            &s,
            &alice(),
            req("get", "", "pods", "a").named("p")
        ));
    }

    #[test]
    fn invalid_selector_leaves_stored_rules() {
        let s = Store::default()
            .cluster_role_obj(aggregated_cluster_role(
                "agg",
                json!([{"matchExpressions": [{"key": "k", "operator": "Near", "values": ["v"]}]}]),
                json!([rule(&[""], &["pods"], &["get"])]),
            ))
            .cluster_role_obj(labelled_cluster_role(
                "part",
                json!({"k": "v"}),
                json!([rule(&[""], &["secrets"], &["get"])]),
            ))
            .cluster_role_binding("b", "agg", user_subject("alice"));
        assert!(allowed(
            &s,
            &alice(),
            req("get", "", "pods", "a").named("p")
        ));
        assert!(!allowed(
            &s,
            &alice(),
            req("get", "", "secrets", "a").named("s")
        ));
    }

    #[test]
    fn aggregated_rules_are_deduplicated_and_ordered_by_role_name() {
        let s = Store::default()
            .cluster_role_obj(aggregated_cluster_role(
                "agg",
                json!([{"matchLabels": {"x": "1"}}, {"matchLabels": {"y": "1"}}]),
                json!([]),
            ))
            .cluster_role_obj(labelled_cluster_role(
                "zz",
                json!({"x": "1"}),
                json!([rule(&[""], &["pods"], &["get"])]),
            ))
            .cluster_role_obj(labelled_cluster_role(
                "aa",
                json!({"x": "1", "y": "1"}),
                json!([
                    rule(&[""], &["secrets"], &["get"]),
                    rule(&[""], &["pods"], &["get"])
                ]),
            ))
            .cluster_role_binding("b", "agg", user_subject("alice"));
        assert_eq!(
            rules_for(&alice(), "", &s.objects()),
            vec![
                rule(&[""], &["secrets"], &["get"]),
                rule(&[""], &["pods"], &["get"])
            ]
        );
    }

    // ----- rules_for -----

    #[test]
    fn rules_for_lists_cluster_then_namespace_rules() {
        let s = Store::default()
            .cluster_role("cr", json!([rule(&[""], &["namespaces"], &["get"])]))
            .cluster_role_binding("crb", "cr", user_subject("alice"))
            .role("a", "r", json!([rule(&[""], &["pods"], &["list"])]))
            .role_binding("a", "rb", "Role", "r", user_subject("alice"))
            .role_binding("b", "rb", "ClusterRole", "cr", user_subject("alice"));
        assert_eq!(
            rules_for(&alice(), "a", &s.objects()),
            vec![
                rule(&[""], &["namespaces"], &["get"]),
                rule(&[""], &["pods"], &["list"])
            ]
        );
        assert_eq!(
            rules_for(&alice(), "", &s.objects()),
            vec![rule(&[""], &["namespaces"], &["get"])]
        );
        assert!(rules_for(&user("bob", &[]), "a", &s.objects()).is_empty());
    }

    #[test]
    fn resolve_rules_reports_incompleteness() {
        let s = configmap_reader_role("a").role_binding(
            "a",
            "broken",
            "ClusterRole",
            "ghost",
            user_subject("alice"),
        );
        let (rules, error) = resolve_rules(&alice(), "a", &s.objects());
        assert_eq!(rules, vec![rule(&[""], &["configmaps"], &["get", "list"])]);
        assert_eq!(
            error.as_deref(),
            Some(r#"clusterrole.rbac.authorization.k8s.io "ghost" not found"#)
        );
    }

    // ----- forbidden messages -----

    fn message(u: &UserInfo, r: Req, s: &Store) -> String {
        let attrs = r.attrs(u);
        match authorize(&attrs, &s.objects()) {
            Decision::Allow => panic!("expected a denial"),
            Decision::Deny { reason } => forbidden_message(&attrs, &reason),
        }
    }

    #[test]
    fn message_namespaced_list() {
        assert_eq!(
            message(
                &alice(),
                req("list", "", "configmaps", "team-b"),
                &Store::default()
            ),
            r#"configmaps is forbidden: User "alice" cannot list resource "configmaps" in API group "" in the namespace "team-b""#
        );
    }

    #[test]
    fn message_cluster_scope() {
        assert_eq!(
            message(&alice(), req("list", "", "nodes", ""), &Store::default()),
            r#"nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope"#
        );
    }

    #[test]
    fn message_all_namespaces_list_with_group() {
        assert_eq!(
            message(
                &alice(),
                req("watch", "source.toolkit.fluxcd.io", "gitrepositories", ""),
                &Store::default()
            ),
            r#"gitrepositories.source.toolkit.fluxcd.io is forbidden: User "alice" cannot watch resource "gitrepositories" in API group "source.toolkit.fluxcd.io" at the cluster scope"#
        );
    }

    #[test]
    fn message_named_object() {
        assert_eq!(
            message(
                &alice(),
                req("get", "", "secrets", "x").named("db-creds"),
                &Store::default()
            ),
            r#"secrets "db-creds" is forbidden: User "alice" cannot get resource "secrets" in API group "" in the namespace "x""#
        );
    }

    #[test]
    fn message_named_cluster_scoped_object() {
        assert_eq!(
            message(
                &alice(),
                req("delete", "", "namespaces", "").named("team-a"),
                &Store::default()
            ),
            r#"namespaces "team-a" is forbidden: User "alice" cannot delete resource "namespaces" in API group "" at the cluster scope"#
        );
    }

    #[test]
    fn message_subresource() {
        assert_eq!(
            message(
                &alice(),
                req("update", "apps", "deployments", "prod")
                    .named("web")
                    .sub("scale"),
                &Store::default()
            ),
            r#"deployments.apps "web" is forbidden: User "alice" cannot update resource "deployments/scale" in API group "apps" in the namespace "prod""#
        );
    }

    #[test]
    fn message_status_subresource_of_custom_resource() {
        assert_eq!(
            message(
                &service_account_user("flux-system", "kustomize-controller"),
                req(
                    "patch",
                    "kustomize.toolkit.fluxcd.io",
                    "kustomizations",
                    "flux-system"
                )
                .named("apps")
                .sub("status"),
                &Store::default()
            ),
            r#"kustomizations.kustomize.toolkit.fluxcd.io "apps" is forbidden: User "system:serviceaccount:flux-system:kustomize-controller" cannot patch resource "kustomizations/status" in API group "kustomize.toolkit.fluxcd.io" in the namespace "flux-system""#
        );
    }

    #[test]
    fn message_with_rbac_reason() {
        let s = Store::default().role_binding(
            "default",
            "b",
            "ClusterRole",
            "test-role",
            user_subject("alice"),
        );
        assert_eq!(
            message(&alice(), req("list", "", "pods", "default"), &s),
            r#"pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default": RBAC: clusterrole.rbac.authorization.k8s.io "test-role" not found"#
        );
    }

    #[test]
    fn message_is_html_sanitized_but_reason_is_not() {
        let u = user("<eve&co>", &[]);
        let attrs = req("get", "", "pods", "a").named("p");
        assert_eq!(
            forbidden_message(&attrs.attrs(&u), "x<y"),
            r#"pods "p" is forbidden: User "&lt;eve&amp;co&gt;" cannot get resource "pods" in API group "" in the namespace "a": x<y"#
        );
    }

    #[test]
    fn message_quotes_like_go() {
        let u = user("we\"ird\\name\n", &[]);
        assert_eq!(
            forbidden_message(&req("list", "", "pods", "a").attrs(&u), ""),
            r#"pods is forbidden: User "we\"ird\\name\n" cannot list resource "pods" in API group "" in the namespace "a""#
        );
    }

    #[test]
    fn message_non_resource() {
        let s = Store::default();
        let Decision::Deny { reason } =
            authorize_non_resource(&alice(), "get", "/metrics", &s.objects())
        else {
            panic!("expected a denial");
        };
        assert_eq!(
            forbidden_non_resource_message(&alice(), "get", "/metrics", &reason),
            r#"forbidden: User "alice" cannot get path "/metrics""#
        );
    }

    #[test]
    fn message_non_resource_with_reason() {
        let s = Store::default().cluster_role_binding(
            "b",
            "cluster-admin",
            user_subject("kubernetes-admin"),
        );
        let u = user("kubernetes-admin", &[]);
        let Decision::Deny { reason } = authorize_non_resource(&u, "get", "/livez", &s.objects())
        else {
            panic!("expected a denial");
        };
        assert_eq!(
            forbidden_non_resource_message(&u, "get", "/livez", &reason),
            r#"forbidden: User "kubernetes-admin" cannot get path "/livez": RBAC: clusterrole.rbac.authorization.k8s.io "cluster-admin" not found"#
        );
    }

    #[test]
    fn service_account_of_namespace_a_is_denied_in_namespace_b() {
        let s = Store::default()
            .role(
                "team-a",
                "deployer",
                json!([rule(&["", "apps"], &["configmaps", "deployments"], &["*"])]),
            )
            .role_binding(
                "team-a",
                "deployer",
                "Role",
                "deployer",
                sa_subject("team-a", "deployer"),
            );
        let sa = service_account_user("team-a", "deployer");
        assert!(allowed(&s, &sa, req("list", "", "configmaps", "team-a")));
        assert_eq!(
            check(&s, &sa, req("list", "", "configmaps", "team-b")),
            deny("")
        );
        assert_eq!(
            message(&sa, req("list", "", "configmaps", "team-b"), &s),
            r#"configmaps is forbidden: User "system:serviceaccount:team-a:deployer" cannot list resource "configmaps" in API group "" in the namespace "team-b""#
        );
    }
}
