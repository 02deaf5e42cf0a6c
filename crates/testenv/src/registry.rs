//! The resource types the server serves: the built-in kinds, plus every kind
//! a CustomResourceDefinition declares while that CRD exists.

use std::sync::{Arc, RwLock};

use serde_json::Value;

/// One served resource type (all its versions).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    /// API group, `""` for the core group.
    pub group: String,
    /// Served versions, storage (preferred) version first.
    pub versions: Vec<String>,
    /// Plural resource name, e.g. `deployments`.
    pub plural: String,
    /// Singular name, e.g. `deployment`.
    pub singular: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Short names, e.g. `deploy`.
    pub short_names: Vec<String>,
    /// Categories, e.g. `all`.
    pub categories: Vec<String>,
    /// Verbs the resource supports.
    pub verbs: Vec<&'static str>,
    /// Whether `/status` is a subresource (main-resource writes leave status alone).
    pub has_status: bool,
    /// Whether objects are only ever created and never stored (access reviews).
    pub virtual_only: bool,
    /// For custom resources: the CRD's per-version schema and printer columns.
    pub custom: Option<Arc<CustomInfo>>,
}

/// What the server keeps from a CRD to serve its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomInfo {
    /// `(version name, openAPIV3Schema)` for every served version.
    pub schemas: Vec<(String, Value)>,
    /// `(version name, additionalPrinterColumns)` for every served version.
    pub columns: Vec<(String, Value)>,
}

impl ResourceType {
    /// The storage version (objects are kept in it).
    pub fn storage_version(&self) -> &str {
        self.versions.first().map(String::as_str).unwrap_or("v1")
    }

    /// `group/version` or `version` for the core group.
    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{version}", self.group)
        }
    }

    /// The CRD schema of `version`, if this is a custom resource.
    pub fn schema(&self, version: &str) -> Option<&Value> {
        let custom = self.custom.as_ref()?;
        custom
            .schemas
            .iter()
            .find(|(v, _)| v == version)
            .map(|(_, s)| s)
    }
}

const ALL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

struct Builtin {
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    short: &'static [&'static str],
    status: bool,
    all: bool,
}

#[allow(clippy::too_many_arguments)] // a table row constructor: one argument per column
const fn b(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
    short: &'static [&'static str],
    status: bool,
    all: bool,
) -> Builtin {
    Builtin {
        group,
        version,
        plural,
        kind,
        namespaced,
        short,
        status,
        all,
    }
}

/// The built-in kinds, as kube-apiserver serves them.
const BUILTINS: &[Builtin] = &[
    b(
        "",
        "v1",
        "namespaces",
        "Namespace",
        false,
        &["ns"],
        true,
        false,
    ),
    b(
        "",
        "v1",
        "configmaps",
        "ConfigMap",
        true,
        &["cm"],
        false,
        false,
    ),
    b("", "v1", "secrets", "Secret", true, &[], false, false),
    b(
        "",
        "v1",
        "serviceaccounts",
        "ServiceAccount",
        true,
        &["sa"],
        false,
        false,
    ),
    b("", "v1", "services", "Service", true, &["svc"], true, true),
    b(
        "",
        "v1",
        "endpoints",
        "Endpoints",
        true,
        &["ep"],
        false,
        false,
    ),
    b("", "v1", "events", "Event", true, &["ev"], false, false),
    b("", "v1", "pods", "Pod", true, &["po"], true, true),
    b(
        "",
        "v1",
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        true,
        &["pvc"],
        true,
        false,
    ),
    b(
        "",
        "v1",
        "persistentvolumes",
        "PersistentVolume",
        false,
        &["pv"],
        true,
        false,
    ),
    b("", "v1", "nodes", "Node", false, &["no"], true, false),
    b(
        "",
        "v1",
        "replicationcontrollers",
        "ReplicationController",
        true,
        &["rc"],
        true,
        true,
    ),
    b(
        "",
        "v1",
        "resourcequotas",
        "ResourceQuota",
        true,
        &["quota"],
        true,
        false,
    ),
    b(
        "",
        "v1",
        "limitranges",
        "LimitRange",
        true,
        &["limits"],
        false,
        false,
    ),
    b(
        "apps",
        "v1",
        "deployments",
        "Deployment",
        true,
        &["deploy"],
        true,
        true,
    ),
    b(
        "apps",
        "v1",
        "statefulsets",
        "StatefulSet",
        true,
        &["sts"],
        true,
        true,
    ),
    b(
        "apps",
        "v1",
        "daemonsets",
        "DaemonSet",
        true,
        &["ds"],
        true,
        true,
    ),
    b(
        "apps",
        "v1",
        "replicasets",
        "ReplicaSet",
        true,
        &["rs"],
        true,
        true,
    ),
    b(
        "apps",
        "v1",
        "controllerrevisions",
        "ControllerRevision",
        true,
        &[],
        false,
        false,
    ),
    b("batch", "v1", "jobs", "Job", true, &[], true, true),
    b(
        "batch",
        "v1",
        "cronjobs",
        "CronJob",
        true,
        &["cj"],
        true,
        true,
    ),
    b(
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        true,
        &["hpa"],
        true,
        true,
    ),
    b(
        "policy",
        "v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        true,
        &["pdb"],
        true,
        false,
    ),
    b(
        "networking.k8s.io",
        "v1",
        "ingresses",
        "Ingress",
        true,
        &["ing"],
        true,
        false,
    ),
    b(
        "networking.k8s.io",
        "v1",
        "ingressclasses",
        "IngressClass",
        false,
        &[],
        false,
        false,
    ),
    b(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "NetworkPolicy",
        true,
        &["netpol"],
        false,
        false,
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "roles",
        "Role",
        true,
        &[],
        false,
        false,
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        "RoleBinding",
        true,
        &[],
        false,
        false,
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        "ClusterRole",
        false,
        &[],
        false,
        false,
    ),
    b(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
        false,
        &[],
        false,
        false,
    ),
    b(
        "coordination.k8s.io",
        "v1",
        "leases",
        "Lease",
        true,
        &[],
        false,
        false,
    ),
    b(
        "events.k8s.io",
        "v1",
        "events",
        "Event",
        true,
        &["ev"],
        false,
        false,
    ),
    b(
        "storage.k8s.io",
        "v1",
        "storageclasses",
        "StorageClass",
        false,
        &["sc"],
        false,
        false,
    ),
    b(
        "scheduling.k8s.io",
        "v1",
        "priorityclasses",
        "PriorityClass",
        false,
        &["pc"],
        false,
        false,
    ),
    b(
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        false,
        &[],
        false,
        false,
    ),
    b(
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        false,
        &[],
        false,
        false,
    ),
    b(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        false,
        &["crd", "crds"],
        true,
        false,
    ),
];

/// Access reviews are create-only and never stored.
const REVIEWS: &[(&str, &str)] = &[
    ("selfsubjectaccessreviews", "SelfSubjectAccessReview"),
    ("subjectaccessreviews", "SubjectAccessReview"),
    ("selfsubjectrulesreviews", "SelfSubjectRulesReview"),
];

fn builtin_types() -> Vec<ResourceType> {
    let mut out: Vec<ResourceType> = BUILTINS
        .iter()
        .map(|b| ResourceType {
            group: b.group.into(),
            versions: vec![b.version.into()],
            plural: b.plural.into(),
            singular: b.kind.to_lowercase(),
            kind: b.kind.into(),
            namespaced: b.namespaced,
            short_names: b.short.iter().map(|s| s.to_string()).collect(),
            categories: if b.all {
                vec!["all".into()]
            } else {
                Vec::new()
            },
            verbs: ALL_VERBS.to_vec(),
            has_status: b.status,
            virtual_only: false,
            custom: None,
        })
        .collect();
    for (plural, kind) in REVIEWS {
        out.push(ResourceType {
            group: "authorization.k8s.io".into(),
            versions: vec!["v1".into()],
            plural: plural.to_string(),
            singular: kind.to_lowercase(),
            kind: kind.to_string(),
            namespaced: *plural == "localsubjectaccessreviews",
            short_names: Vec::new(),
            categories: Vec::new(),
            verbs: vec!["create"],
            has_status: false,
            virtual_only: true,
            custom: None,
        });
    }
    out
}

/// The set of served resource types; CRDs add and remove entries at run time.
#[derive(Debug, Clone)]
pub struct Registry {
    types: Arc<RwLock<Vec<Arc<ResourceType>>>>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// A registry holding only the built-in kinds.
    pub fn new() -> Self {
        Self {
            types: Arc::new(RwLock::new(
                builtin_types().into_iter().map(Arc::new).collect(),
            )),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Arc<ResourceType>>> {
        self.types.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The type served at `group/version` under `plural`.
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.read()
            .iter()
            .find(|t| {
                t.group == group && t.plural == plural && t.versions.iter().any(|v| v == version)
            })
            .cloned()
    }

    /// The type of `kind` in `group` (any version).
    pub fn by_kind(&self, group: &str, kind: &str) -> Option<Arc<ResourceType>> {
        self.read()
            .iter()
            .find(|t| t.group == group && t.kind == kind)
            .cloned()
    }

    /// The type stored under `group` and `plural`.
    pub fn by_plural(&self, group: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.read()
            .iter()
            .find(|t| t.group == group && t.plural == plural)
            .cloned()
    }

    /// Every served type.
    pub fn all(&self) -> Vec<Arc<ResourceType>> {
        self.read().clone()
    }

    /// Adds or replaces the type a CRD declares.
    pub fn upsert(&self, t: ResourceType) {
        let mut types = self.types.write().unwrap_or_else(|e| e.into_inner());
        types.retain(|x| !(x.group == t.group && x.plural == t.plural));
        types.push(Arc::new(t));
    }

    /// Removes the type stored under `group` and `plural`.
    pub fn remove(&self, group: &str, plural: &str) {
        let mut types = self.types.write().unwrap_or_else(|e| e.into_inner());
        types.retain(|x| !(x.group == group && x.plural == plural));
    }

    /// Every group with its versions, in a stable order (core group excluded).
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for t in self.read().iter().filter(|t| !t.group.is_empty()) {
            match out.iter_mut().find(|(g, _)| *g == t.group) {
                Some((_, versions)) => {
                    for v in &t.versions {
                        if !versions.contains(v) {
                            versions.push(v.clone());
                        }
                    }
                }
                None => out.push((t.group.clone(), t.versions.clone())),
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

/// Builds the served type from a CRD object, or explains what is wrong with it.
pub fn from_crd(crd: &Value) -> Result<ResourceType, String> {
    let spec = &crd["spec"];
    let group = spec["group"].as_str().ok_or("spec.group: Required value")?;
    let names = &spec["names"];
    let plural = names["plural"]
        .as_str()
        .ok_or("spec.names.plural: Required value")?;
    let kind = names["kind"]
        .as_str()
        .ok_or("spec.names.kind: Required value")?;
    let scope = spec["scope"].as_str().ok_or("spec.scope: Required value")?;
    let namespaced = match scope {
        "Namespaced" => true,
        "Cluster" => false,
        other => {
            return Err(format!(
                "spec.scope: Unsupported value: \"{other}\": supported values: \"Cluster\", \"Namespaced\""
            ));
        }
    };
    let versions = spec["versions"]
        .as_array()
        .ok_or("spec.versions: Required value")?;
    if versions.is_empty() {
        return Err(
            "spec.versions: Invalid value: must have exactly one version marked as storage version"
                .into(),
        );
    }
    let storage: Vec<&Value> = versions
        .iter()
        .filter(|v| v["storage"].as_bool() == Some(true))
        .collect();
    if storage.len() != 1 {
        return Err(
            "spec.versions: Invalid value: must have exactly one version marked as storage version"
                .into(),
        );
    }
    let mut served = Vec::new();
    let mut schemas = Vec::new();
    let mut columns = Vec::new();
    let mut has_status = false;
    // Storage version first: objects are kept in it and it is preferred.
    let ordered = storage.iter().copied().chain(
        versions
            .iter()
            .filter(|v| v["storage"].as_bool() != Some(true)),
    );
    for v in ordered {
        let name = v["name"]
            .as_str()
            .ok_or("spec.versions[].name: Required value")?;
        if v["served"].as_bool() != Some(true) {
            continue;
        }
        served.push(name.to_string());
        schemas.push((name.to_string(), v["schema"]["openAPIV3Schema"].clone()));
        columns.push((name.to_string(), v["additionalPrinterColumns"].clone()));
        if v["subresources"]["status"].is_object() {
            has_status = true;
        }
    }
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    Ok(ResourceType {
        group: group.into(),
        versions: served,
        plural: plural.into(),
        singular: names["singular"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| kind.to_lowercase()),
        kind: kind.into(),
        namespaced,
        short_names: strings(&names["shortNames"]),
        categories: strings(&names["categories"]),
        verbs: ALL_VERBS.to_vec(),
        has_status,
        virtual_only: false,
        custom: Some(Arc::new(CustomInfo { schemas, columns })),
    })
}
