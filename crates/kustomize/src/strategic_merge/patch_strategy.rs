//! The patch strategies of the built-in Kubernetes kinds.
//!
//! Sources: the `patchStrategy`/`patchMergeKey` struct tags of `k8s.io/api` (core,
//! apps, batch, policy, admissionregistration, ...) and `k8s.io/apimachinery`
//! (`ObjectMeta`), and for kustomize the OpenAPI document it embeds (Kubernetes
//! v1.21.2), which adds `x-kubernetes-list-map-keys` and lacks strategies added since.
//! Only fields on the way to a strategy are listed: everything else has none, so its
//! maps merge and its lists are replaced. Lists absent here are atomic on purpose, e.g.
//! `tolerations`, `envFrom`, `args`, `volumeClaimTemplates`, Role `rules`, binding
//! `subjects`, Ingress `rules`/`tls`, NetworkPolicy `ingress`/`egress`, label selector
//! `matchExpressions`, Namespace `spec.finalizers`.

use std::borrow::Cow;

use super::Flavor;
use super::schema::{FieldDef, PatchSchema, TypeSchema};

/// A type with no strategies below it, for elements of merged lists: naming it (rather
/// than leaving the schema unknown) tells kustomize's walker not to guess a schema from
/// an element's own `apiVersion`/`kind` (owner references have both).
static OPAQUE: TypeSchema = TypeSchema { fields: &[] };

static OBJECT_META: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::merge_primitives("finalizers"),
        FieldDef::merge_by("ownerReferences", "uid", &OPAQUE),
    ],
};

static META_ONLY: TypeSchema = TypeSchema {
    fields: &[FieldDef::nested("metadata", &OBJECT_META)],
};

static CONDITIONS_BY_TYPE: TypeSchema = TypeSchema {
    fields: &[FieldDef::merge_by("conditions", "type", &OPAQUE)],
};

static TYPE_KEY: [Cow<'static, str>; 1] = [Cow::Borrowed("type")];

/// Status whose conditions also carry `x-kubernetes-list-map-keys: [type]`.
static CONDITIONS_BY_TYPE_LIST_MAP: TypeSchema = TypeSchema {
    fields: &[FieldDef::merge_by("conditions", "type", &OPAQUE).list_map_keys(&TYPE_KEY)],
};

/// Status conditions whose strategy Kubernetes added after v1.21.
static NEWER_CONDITIONS_BY_TYPE: TypeSchema = TypeSchema {
    fields: &[FieldDef::merge_by("conditions", "type", &OPAQUE).after_kustomize_schema()],
};

// ---- Pods -------------------------------------------------------------------------

static CONTAINER_PORT_KEYS: [Cow<'static, str>; 2] =
    [Cow::Borrowed("containerPort"), Cow::Borrowed("protocol")];

static CONTAINER: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::merge_by("ports", "containerPort", &OPAQUE).list_map_keys(&CONTAINER_PORT_KEYS),
        FieldDef::merge_by("env", "name", &OPAQUE),
        FieldDef::merge_by("volumeMounts", "mountPath", &OPAQUE),
        FieldDef::merge_by("volumeDevices", "devicePath", &OPAQUE),
    ],
};

static EPHEMERAL_CONTAINER: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::merge_by("ports", "containerPort", &OPAQUE).after_kustomize_schema(),
        FieldDef::merge_by("env", "name", &OPAQUE),
        FieldDef::merge_by("volumeMounts", "mountPath", &OPAQUE),
        FieldDef::merge_by("volumeDevices", "devicePath", &OPAQUE),
    ],
};

static PVC_TEMPLATE: TypeSchema = TypeSchema {
    fields: &[FieldDef::nested("metadata", &OBJECT_META)],
};

static EPHEMERAL_VOLUME: TypeSchema = TypeSchema {
    fields: &[FieldDef::nested("volumeClaimTemplate", &PVC_TEMPLATE)],
};

static VOLUME: TypeSchema = TypeSchema {
    fields: &[FieldDef::nested("ephemeral", &EPHEMERAL_VOLUME)],
};

static TOPOLOGY_SPREAD_KEYS: [Cow<'static, str>; 2] = [
    Cow::Borrowed("topologyKey"),
    Cow::Borrowed("whenUnsatisfiable"),
];

static POD_SPEC: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::merge_by("volumes", "name", &VOLUME).retain_keys(),
        FieldDef::merge_by("initContainers", "name", &CONTAINER),
        FieldDef::merge_by("containers", "name", &CONTAINER),
        FieldDef::merge_by("ephemeralContainers", "name", &EPHEMERAL_CONTAINER),
        FieldDef::merge_by("imagePullSecrets", "name", &OPAQUE),
        FieldDef::merge_by("hostAliases", "ip", &OPAQUE),
        FieldDef::merge_by("topologySpreadConstraints", "topologyKey", &OPAQUE)
            .list_map_keys(&TOPOLOGY_SPREAD_KEYS),
        FieldDef::merge_by("schedulingGates", "name", &OPAQUE).after_kustomize_schema(),
        FieldDef::merge_by("resourceClaims", "name", &OPAQUE)
            .retain_keys()
            .after_kustomize_schema(),
    ],
};

static POD_STATUS: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::merge_by("conditions", "type", &OPAQUE),
        FieldDef::merge_by("podIPs", "ip", &OPAQUE),
        FieldDef::merge_by("hostIPs", "ip", &OPAQUE).after_kustomize_schema(),
        FieldDef::merge_by("resourceClaimStatuses", "name", &OPAQUE)
            .retain_keys()
            .after_kustomize_schema(),
    ],
};

static POD_TEMPLATE_SPEC: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::nested("metadata", &OBJECT_META),
        FieldDef::nested("spec", &POD_SPEC),
    ],
};

static POD: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::nested("metadata", &OBJECT_META),
        FieldDef::nested("spec", &POD_SPEC),
        FieldDef::nested("status", &POD_STATUS),
    ],
};

static POD_TEMPLATE: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::nested("metadata", &OBJECT_META),
        FieldDef::nested("template", &POD_TEMPLATE_SPEC),
    ],
};

// ---- Workloads --------------------------------------------------------------------

static TEMPLATE_SPEC: TypeSchema = TypeSchema {
    fields: &[FieldDef::nested("template", &POD_TEMPLATE_SPEC)],
};

static DEPLOYMENT_SPEC: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::nested("template", &POD_TEMPLATE_SPEC),
        FieldDef::plain("strategy").retain_keys(),
    ],
};

static DEPLOYMENT: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::nested("metadata", &OBJECT_META),
        FieldDef::nested("spec", &DEPLOYMENT_SPEC),
        FieldDef::nested("status", &CONDITIONS_BY_TYPE),
    ],
};

/// StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job: a pod template and
/// status conditions.
static TEMPLATED_WORKLOAD: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::nested("metadata", &OBJECT_META),
        FieldDef::nested("spec", &TEMPLATE_SPEC),
        FieldDef::nested("status", &CONDITIONS_BY_TYPE),
    ],
};

static JOB_TEMPLATE: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::nested("metadata", &OBJECT_META),
        FieldDef::nested("spec", &TEMPLATE_SPEC),
    ],
};

static CRON_JOB_SPEC: TypeSchema = TypeSchema {
    fields: &[FieldDef::nested("jobTemplate", &JOB_TEMPLATE)],
};

static CRON_JOB: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::nested("metadata", &OBJECT_META),
        FieldDef::nested("spec", &CRON_JOB_SPEC),
    ],
};

// ---- Core kinds -------------------------------------------------------------------

static SERVICE_PORT_KEYS: [Cow<'static, str>; 2] =
    [Cow::Borrowed("port"), Cow::Borrowed("protocol")];

static SERVICE_SPEC: TypeSchema = TypeSchema {
    fields: &[FieldDef::merge_by("ports", "port", &OPAQUE).list_map_keys(&SERVICE_PORT_KEYS)],
};

static SERVICE: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::nested("metadata", &OBJECT_META),
        FieldDef::nested("spec", &SERVICE_SPEC),
        FieldDef::nested("status", &CONDITIONS_BY_TYPE_LIST_MAP),
    ],
};

static SERVICE_ACCOUNT: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::nested("metadata", &OBJECT_META),
        FieldDef::merge_by("secrets", "name", &OPAQUE),
    ],
};

/// Namespace and PersistentVolumeClaim: only status conditions.
static WITH_STATUS_CONDITIONS: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::nested("metadata", &OBJECT_META),
        FieldDef::nested("status", &CONDITIONS_BY_TYPE),
    ],
};

static NODE_SPEC: TypeSchema = TypeSchema {
    fields: &[FieldDef::merge_primitives("podCIDRs")],
};

static NODE_STATUS: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::merge_by("conditions", "type", &OPAQUE),
        FieldDef::merge_by("addresses", "type", &OPAQUE),
    ],
};

static NODE: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::nested("metadata", &OBJECT_META),
        FieldDef::nested("spec", &NODE_SPEC),
        FieldDef::nested("status", &NODE_STATUS),
    ],
};

static COMPONENT_STATUS: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::nested("metadata", &OBJECT_META),
        FieldDef::merge_by("conditions", "type", &OPAQUE),
    ],
};

// ---- Other groups -----------------------------------------------------------------

static PDB_SPEC: TypeSchema = TypeSchema {
    fields: &[FieldDef::replace("selector")],
};

static POD_DISRUPTION_BUDGET: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::nested("metadata", &OBJECT_META),
        FieldDef::nested("spec", &PDB_SPEC),
        FieldDef::nested("status", &CONDITIONS_BY_TYPE_LIST_MAP),
    ],
};

static WEBHOOK: TypeSchema = TypeSchema {
    fields: &[FieldDef::merge_by("matchConditions", "name", &OPAQUE).after_kustomize_schema()],
};

static WEBHOOK_CONFIGURATION: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::nested("metadata", &OBJECT_META),
        FieldDef::merge_by("webhooks", "name", &WEBHOOK),
    ],
};

static VALIDATING_ADMISSION_POLICY_SPEC: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::merge_by("matchConditions", "name", &OPAQUE).after_kustomize_schema(),
        FieldDef::merge_by("variables", "name", &OPAQUE).after_kustomize_schema(),
    ],
};

static VALIDATING_ADMISSION_POLICY: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::nested("metadata", &OBJECT_META),
        FieldDef::nested("spec", &VALIDATING_ADMISSION_POLICY_SPEC),
        FieldDef::nested("status", &NEWER_CONDITIONS_BY_TYPE),
    ],
};

static CSI_NODE_SPEC: TypeSchema = TypeSchema {
    fields: &[FieldDef::merge_by("drivers", "name", &OPAQUE)],
};

static CSI_NODE: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::nested("metadata", &OBJECT_META),
        FieldDef::nested("spec", &CSI_NODE_SPEC),
    ],
};

static API_SERVICE: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::nested("metadata", &OBJECT_META),
        FieldDef::nested("status", &CONDITIONS_BY_TYPE_LIST_MAP),
    ],
};

/// HorizontalPodAutoscaler v2, CertificateSigningRequest, FlowSchema,
/// PriorityLevelConfiguration, ServiceCIDR: status conditions newer than v1.21.
static WITH_NEWER_STATUS_CONDITIONS: TypeSchema = TypeSchema {
    fields: &[
        FieldDef::nested("metadata", &OBJECT_META),
        FieldDef::nested("status", &NEWER_CONDITIONS_BY_TYPE),
    ],
};

// ---- Kinds ------------------------------------------------------------------------

/// One kind of one API group, with the versions each flavor knows it at.
struct KindEntry {
    group: &'static str,
    kind: &'static str,
    /// Versions a current (v1.32-era) API server serves.
    api_server: &'static [&'static str],
    /// Versions in kustomize's embedded OpenAPI (v1.21.2); kustomize has no schema for
    /// any other version and so replaces every list, `metadata.finalizers` included.
    kustomize: &'static [&'static str],
    schema: &'static TypeSchema,
}

const fn kind(
    group: &'static str,
    kind: &'static str,
    api_server: &'static [&'static str],
    kustomize: &'static [&'static str],
    schema: &'static TypeSchema,
) -> KindEntry {
    KindEntry {
        group,
        kind,
        api_server,
        kustomize,
        schema,
    }
}

const V1: &[&str] = &["v1"];
const V1_V1BETA1: &[&str] = &["v1", "v1beta1"];
const NONE: &[&str] = &[];

static KINDS: &[KindEntry] = &[
    // core
    kind("", "Pod", V1, V1, &POD),
    kind("", "PodTemplate", V1, V1, &POD_TEMPLATE),
    kind("", "ReplicationController", V1, V1, &TEMPLATED_WORKLOAD),
    kind("", "Service", V1, V1, &SERVICE),
    kind("", "ServiceAccount", V1, V1, &SERVICE_ACCOUNT),
    kind("", "Namespace", V1, V1, &WITH_STATUS_CONDITIONS),
    kind("", "PersistentVolumeClaim", V1, V1, &WITH_STATUS_CONDITIONS),
    kind("", "Node", V1, V1, &NODE),
    kind("", "ComponentStatus", V1, V1, &COMPONENT_STATUS),
    kind("", "ConfigMap", V1, V1, &META_ONLY),
    kind("", "Secret", V1, V1, &META_ONLY),
    kind("", "PersistentVolume", V1, V1, &META_ONLY),
    kind("", "Endpoints", V1, V1, &META_ONLY),
    kind("", "Event", V1, V1, &META_ONLY),
    kind("", "LimitRange", V1, V1, &META_ONLY),
    kind("", "ResourceQuota", V1, V1, &META_ONLY),
    kind("", "Binding", V1, V1, &META_ONLY),
    // apps, batch
    kind("apps", "Deployment", V1, V1, &DEPLOYMENT),
    kind("apps", "StatefulSet", V1, V1, &TEMPLATED_WORKLOAD),
    kind("apps", "DaemonSet", V1, V1, &TEMPLATED_WORKLOAD),
    kind("apps", "ReplicaSet", V1, V1, &TEMPLATED_WORKLOAD),
    kind("apps", "ControllerRevision", V1, V1, &META_ONLY),
    kind("batch", "Job", V1, V1, &TEMPLATED_WORKLOAD),
    kind("batch", "CronJob", V1, V1_V1BETA1, &CRON_JOB),
    // autoscaling
    kind(
        "autoscaling",
        "HorizontalPodAutoscaler",
        V1,
        &["v1", "v2beta1", "v2beta2"],
        &META_ONLY,
    ),
    kind(
        "autoscaling",
        "HorizontalPodAutoscaler",
        &["v2"],
        NONE,
        &WITH_NEWER_STATUS_CONDITIONS,
    ),
    // networking, policy, rbac
    kind("networking.k8s.io", "Ingress", V1, V1_V1BETA1, &META_ONLY),
    kind("extensions", "Ingress", NONE, &["v1beta1"], &META_ONLY),
    kind(
        "networking.k8s.io",
        "IngressClass",
        V1,
        V1_V1BETA1,
        &META_ONLY,
    ),
    kind("networking.k8s.io", "NetworkPolicy", V1, V1, &META_ONLY),
    kind("networking.k8s.io", "IPAddress", V1, NONE, &META_ONLY),
    kind(
        "networking.k8s.io",
        "ServiceCIDR",
        V1,
        NONE,
        &WITH_NEWER_STATUS_CONDITIONS,
    ),
    kind(
        "policy",
        "PodDisruptionBudget",
        V1,
        V1_V1BETA1,
        &POD_DISRUPTION_BUDGET,
    ),
    kind("policy", "Eviction", V1, &["v1beta1"], &META_ONLY),
    kind(
        "policy",
        "PodSecurityPolicy",
        NONE,
        &["v1beta1"],
        &META_ONLY,
    ),
    kind(
        "rbac.authorization.k8s.io",
        "Role",
        V1,
        V1_V1BETA1,
        &META_ONLY,
    ),
    kind(
        "rbac.authorization.k8s.io",
        "ClusterRole",
        V1,
        V1_V1BETA1,
        &META_ONLY,
    ),
    kind(
        "rbac.authorization.k8s.io",
        "RoleBinding",
        V1,
        V1_V1BETA1,
        &META_ONLY,
    ),
    kind(
        "rbac.authorization.k8s.io",
        "ClusterRoleBinding",
        V1,
        V1_V1BETA1,
        &META_ONLY,
    ),
    // admission, extension APIs
    kind(
        "admissionregistration.k8s.io",
        "MutatingWebhookConfiguration",
        V1,
        V1_V1BETA1,
        &WEBHOOK_CONFIGURATION,
    ),
    kind(
        "admissionregistration.k8s.io",
        "ValidatingWebhookConfiguration",
        V1,
        V1_V1BETA1,
        &WEBHOOK_CONFIGURATION,
    ),
    kind(
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicy",
        V1,
        NONE,
        &VALIDATING_ADMISSION_POLICY,
    ),
    kind(
        "admissionregistration.k8s.io",
        "ValidatingAdmissionPolicyBinding",
        V1,
        NONE,
        &META_ONLY,
    ),
    kind(
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        V1,
        V1_V1BETA1,
        &META_ONLY,
    ),
    kind(
        "apiregistration.k8s.io",
        "APIService",
        V1,
        V1_V1BETA1,
        &API_SERVICE,
    ),
    // the rest
    kind(
        "certificates.k8s.io",
        "CertificateSigningRequest",
        V1,
        V1_V1BETA1,
        &WITH_NEWER_STATUS_CONDITIONS,
    ),
    kind("coordination.k8s.io", "Lease", V1, V1_V1BETA1, &META_ONLY),
    kind(
        "discovery.k8s.io",
        "EndpointSlice",
        V1,
        V1_V1BETA1,
        &META_ONLY,
    ),
    kind("events.k8s.io", "Event", V1, V1_V1BETA1, &META_ONLY),
    kind(
        "flowcontrol.apiserver.k8s.io",
        "FlowSchema",
        V1,
        &["v1beta1"],
        &WITH_NEWER_STATUS_CONDITIONS,
    ),
    kind(
        "flowcontrol.apiserver.k8s.io",
        "PriorityLevelConfiguration",
        V1,
        &["v1beta1"],
        &WITH_NEWER_STATUS_CONDITIONS,
    ),
    kind("node.k8s.io", "RuntimeClass", V1, V1_V1BETA1, &META_ONLY),
    kind(
        "scheduling.k8s.io",
        "PriorityClass",
        V1,
        V1_V1BETA1,
        &META_ONLY,
    ),
    kind("storage.k8s.io", "StorageClass", V1, V1_V1BETA1, &META_ONLY),
    kind("storage.k8s.io", "CSIDriver", V1, V1_V1BETA1, &META_ONLY),
    kind("storage.k8s.io", "CSINode", V1, V1_V1BETA1, &CSI_NODE),
    kind(
        "storage.k8s.io",
        "VolumeAttachment",
        V1,
        V1_V1BETA1,
        &META_ONLY,
    ),
    kind(
        "storage.k8s.io",
        "CSIStorageCapacity",
        V1,
        &["v1beta1"],
        &META_ONLY,
    ),
];

/// The patch strategies of a built-in kind, as `flavor` knows them, or `None` for a
/// kind (or version) it has no schema for: custom resources, and for kustomize every
/// version newer than its embedded Kubernetes v1.21 OpenAPI (e.g. `autoscaling/v2`).
///
/// `api_version` is `group/version`, or just `version` for the core group (`"v1"`).
pub fn lookup(api_version: &str, kind: &str, flavor: Flavor) -> Option<&'static dyn PatchSchema> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    KINDS
        .iter()
        .find(|k| {
            k.group == group
                && k.kind == kind
                && match flavor {
                    Flavor::ApiServer => k.api_server.contains(&version),
                    Flavor::Kustomize => k.kustomize.contains(&version),
                }
        })
        .map(|k| k.schema as &dyn PatchSchema)
}
