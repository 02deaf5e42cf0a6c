//! What kube-apiserver does to a built-in kind's object before storing it:
//! decode it into its Go type (a wrong type or undecodable base64 fails the
//! request with 400 and Go's wording; unknown fields are dropped with a
//! warning, or refused under `fieldValidation=Strict`), then validate it
//! (required fields, enumerations; 422 with the field paths).
//!
//! The schemas are the OpenAPI definitions `k8s-openapi` carries for every
//! built-in type, generated once on first use.

use std::collections::HashMap;
use std::sync::OnceLock;

use base64::Engine;
use k8s_openapi::api;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiext;
use k8s_openapi::schemars::JsonSchema;
use k8s_openapi::schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

/// The OpenAPI definitions of every built-in kind and what they reference.
pub struct Schemas {
    /// Definition name (`io.k8s.api.apps.v1.Deployment`) to its schema;
    /// references point at `#/components/schemas/<name>`.
    pub defs: Map<String, Value>,
    /// `(group, version, kind)` to the kind's definition name.
    pub kinds: HashMap<(String, String, String), String>,
}

impl Schemas {
    /// The definition name of a built-in kind, if it has one.
    pub fn kind(&self, group: &str, version: &str, kind: &str) -> Option<&str> {
        self.kinds
            .get(&(group.to_string(), version.to_string(), kind.to_string()))
            .map(String::as_str)
    }

    /// Follows `$ref` (alone or as the single member of an `allOf`).
    pub fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let mut s = schema;
        for _ in 0..8 {
            let target = s
                .get("$ref")
                .or_else(|| {
                    s.get("allOf")
                        .and_then(|a| a.get(0))
                        .and_then(|a| a.get("$ref"))
                })
                .and_then(Value::as_str);
            match target.and_then(|r| self.defs.get(def_name(r))) {
                Some(next) => s = next,
                None => break,
            }
        }
        s
    }
}

/// The definition name a `$ref` points at.
pub fn def_name(reference: &str) -> &str {
    reference.rsplit('/').next().unwrap_or(reference)
}

/// The built-in schemas, generated on first use.
pub fn schemas() -> &'static Schemas {
    static SCHEMAS: OnceLock<Schemas> = OnceLock::new();
    SCHEMAS.get_or_init(generate)
}

fn generate() -> Schemas {
    let mut generator = SchemaSettings::openapi3().into_generator();
    let mut kinds = HashMap::new();
    macro_rules! kinds {
        ($(($group:literal, $version:literal, $kind:literal, $ty:ty)),* $(,)?) => {
            $(
                let _ = generator.subschema_for::<$ty>();
                kinds.insert(
                    ($group.to_string(), $version.to_string(), $kind.to_string()),
                    <$ty as JsonSchema>::schema_name().into_owned(),
                );
            )*
        };
    }
    kinds!(
        ("", "v1", "Namespace", api::core::v1::Namespace),
        ("", "v1", "ConfigMap", api::core::v1::ConfigMap),
        ("", "v1", "Secret", api::core::v1::Secret),
        ("", "v1", "ServiceAccount", api::core::v1::ServiceAccount),
        ("", "v1", "Service", api::core::v1::Service),
        ("", "v1", "Endpoints", api::core::v1::Endpoints),
        ("", "v1", "Event", api::core::v1::Event),
        ("", "v1", "Pod", api::core::v1::Pod),
        (
            "",
            "v1",
            "PersistentVolumeClaim",
            api::core::v1::PersistentVolumeClaim
        ),
        (
            "",
            "v1",
            "PersistentVolume",
            api::core::v1::PersistentVolume
        ),
        ("", "v1", "Node", api::core::v1::Node),
        (
            "",
            "v1",
            "ReplicationController",
            api::core::v1::ReplicationController
        ),
        ("", "v1", "ResourceQuota", api::core::v1::ResourceQuota),
        ("", "v1", "LimitRange", api::core::v1::LimitRange),
        ("apps", "v1", "Deployment", api::apps::v1::Deployment),
        ("apps", "v1", "StatefulSet", api::apps::v1::StatefulSet),
        ("apps", "v1", "DaemonSet", api::apps::v1::DaemonSet),
        ("apps", "v1", "ReplicaSet", api::apps::v1::ReplicaSet),
        (
            "apps",
            "v1",
            "ControllerRevision",
            api::apps::v1::ControllerRevision
        ),
        ("batch", "v1", "Job", api::batch::v1::Job),
        ("batch", "v1", "CronJob", api::batch::v1::CronJob),
        (
            "autoscaling",
            "v2",
            "HorizontalPodAutoscaler",
            api::autoscaling::v2::HorizontalPodAutoscaler
        ),
        (
            "policy",
            "v1",
            "PodDisruptionBudget",
            api::policy::v1::PodDisruptionBudget
        ),
        (
            "networking.k8s.io",
            "v1",
            "Ingress",
            api::networking::v1::Ingress
        ),
        (
            "networking.k8s.io",
            "v1",
            "IngressClass",
            api::networking::v1::IngressClass
        ),
        (
            "networking.k8s.io",
            "v1",
            "NetworkPolicy",
            api::networking::v1::NetworkPolicy
        ),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "Role",
            api::rbac::v1::Role
        ),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
            api::rbac::v1::RoleBinding
        ),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            api::rbac::v1::ClusterRole
        ),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRoleBinding",
            api::rbac::v1::ClusterRoleBinding
        ),
        (
            "coordination.k8s.io",
            "v1",
            "Lease",
            api::coordination::v1::Lease
        ),
        ("events.k8s.io", "v1", "Event", api::events::v1::Event),
        (
            "storage.k8s.io",
            "v1",
            "StorageClass",
            api::storage::v1::StorageClass
        ),
        (
            "scheduling.k8s.io",
            "v1",
            "PriorityClass",
            api::scheduling::v1::PriorityClass
        ),
        (
            "admissionregistration.k8s.io",
            "v1",
            "ValidatingWebhookConfiguration",
            api::admissionregistration::v1::ValidatingWebhookConfiguration
        ),
        (
            "admissionregistration.k8s.io",
            "v1",
            "MutatingWebhookConfiguration",
            api::admissionregistration::v1::MutatingWebhookConfiguration
        ),
        (
            "apiextensions.k8s.io",
            "v1",
            "CustomResourceDefinition",
            apiext::CustomResourceDefinition
        ),
    );
    let mut defs = generator.take_definitions(true);
    // A CRD schema's free JSON values (defaults, enums, examples) take any
    // JSON type; the v2 definition calls them objects.
    if let Some(Value::Object(json)) =
        defs.get_mut("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSON")
    {
        json.remove("type");
    }
    for ((group, version, kind), name) in &kinds {
        if let Some(Value::Object(def)) = defs.get_mut(name) {
            def.insert(
                "x-kubernetes-group-version-kind".into(),
                serde_json::json!([{"group": group, "version": version, "kind": kind}]),
            );
        }
    }
    for (def, field, values) in ENUMS {
        if let Some(prop) = defs
            .get_mut(*def)
            .and_then(|d| d.get_mut("properties"))
            .and_then(|p| p.get_mut(*field))
            .and_then(Value::as_object_mut)
        {
            let target = if prop.get("type").and_then(Value::as_str) == Some("array") {
                prop.get_mut("items").and_then(Value::as_object_mut)
            } else {
                Some(prop)
            };
            if let Some(t) = target {
                t.insert("enum".into(), serde_json::json!(values));
            }
        }
    }
    Schemas { defs, kinds }
}

/// Fields whose values kube-apiserver's validation restricts to a set (the
/// OpenAPI v2 definitions `k8s-openapi` is generated from do not list them).
/// Sorted, as the server lists them in its message.
const ENUMS: &[(&str, &str, &[&str])] = &[
    (
        "io.k8s.api.core.v1.Container",
        "imagePullPolicy",
        &["Always", "IfNotPresent", "Never"],
    ),
    (
        "io.k8s.api.core.v1.Container",
        "terminationMessagePolicy",
        &["FallbackToLogsOnError", "File"],
    ),
    (
        "io.k8s.api.core.v1.ContainerPort",
        "protocol",
        &["SCTP", "TCP", "UDP"],
    ),
    (
        "io.k8s.api.core.v1.ServicePort",
        "protocol",
        &["SCTP", "TCP", "UDP"],
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "restartPolicy",
        &["Always", "Never", "OnFailure"],
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "dnsPolicy",
        &["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"],
    ),
    (
        "io.k8s.api.core.v1.ServiceSpec",
        "type",
        &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
    ),
    (
        "io.k8s.api.core.v1.ServiceSpec",
        "sessionAffinity",
        &["ClientIP", "None"],
    ),
    (
        "io.k8s.api.core.v1.ServiceSpec",
        "externalTrafficPolicy",
        &["Cluster", "Local"],
    ),
    (
        "io.k8s.api.core.v1.ServiceSpec",
        "internalTrafficPolicy",
        &["Cluster", "Local"],
    ),
    (
        "io.k8s.api.core.v1.PersistentVolumeClaimSpec",
        "accessModes",
        &[
            "ReadOnlyMany",
            "ReadWriteMany",
            "ReadWriteOnce",
            "ReadWriteOncePod",
        ],
    ),
    (
        "io.k8s.api.apps.v1.DeploymentStrategy",
        "type",
        &["Recreate", "RollingUpdate"],
    ),
    (
        "io.k8s.api.apps.v1.StatefulSetSpec",
        "podManagementPolicy",
        &["OrderedReady", "Parallel"],
    ),
    (
        "io.k8s.api.apps.v1.StatefulSetUpdateStrategy",
        "type",
        &["OnDelete", "RollingUpdate"],
    ),
    (
        "io.k8s.api.apps.v1.DaemonSetUpdateStrategy",
        "type",
        &["OnDelete", "RollingUpdate"],
    ),
    (
        "io.k8s.api.batch.v1.CronJobSpec",
        "concurrencyPolicy",
        &["Allow", "Forbid", "Replace"],
    ),
];

/// How the request asked unknown fields to be handled (`?fieldValidation=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    /// Drop them silently.
    Ignore,
    /// Drop them with a warning each (the server's default).
    Warn,
    /// Refuse the request.
    Strict,
}

impl FieldValidation {
    /// Parses the query parameter; kube-apiserver refuses other values.
    pub fn parse(value: Option<&str>) -> Result<Self, String> {
        match value.unwrap_or("") {
            "" | "Warn" => Ok(Self::Warn),
            "Ignore" => Ok(Self::Ignore),
            "Strict" => Ok(Self::Strict),
            other => Err(format!(
                "fieldValidation: Unsupported value: \"{other}\": supported values: \"Ignore\", \"Strict\", \"Warn\""
            )),
        }
    }
}

/// What decoding an object into its Go type found.
#[derive(Debug, Default, PartialEq)]
pub struct Decoded {
    /// The paths of unknown fields, dropped from the object (`spec.foo`,
    /// `spec.containers[0].bar`).
    pub unknown: Vec<String>,
    /// The first value Go's decoder would have refused, in its wording.
    pub error: Option<String>,
}

/// Decodes `obj` against the definition `def` as kube-apiserver's decoder
/// does: drops unknown fields and nulls, records the first type error.
pub fn decode(obj: &mut Value, def: &str) -> Decoded {
    let s = schemas();
    let mut out = Decoded::default();
    if let Some(schema) = s.defs.get(def) {
        let short = short_name(def);
        walk(s, obj, schema, &At::ROOT, &short, &mut out);
    }
    out
}

/// `v1.DeploymentSpec` from `io.k8s.api.apps.v1.DeploymentSpec`.
fn go_type(def: &str) -> String {
    let mut parts = def.rsplit('.');
    let name = parts.next().unwrap_or(def);
    match parts.next() {
        Some(pkg) => format!("{pkg}.{name}"),
        None => name.to_string(),
    }
}

fn short_name(def: &str) -> String {
    def.rsplit('.').next().unwrap_or(def).to_string()
}

/// Go's name for a JSON value in an unmarshal error.
fn json_kind(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(n) if n.is_f64() => format!("number {n}"),
        Value::Number(_) => "number".into(),
        Value::String(_) => "string".into(),
        Value::Array(_) => "array".into(),
        Value::Object(_) => "object".into(),
    }
}

/// Go's type name of a schema in an unmarshal error.
fn go_type_of(schema: &Value) -> String {
    let reference = schema
        .get("$ref")
        .or_else(|| {
            schema
                .get("allOf")
                .and_then(|a| a.get(0))
                .and_then(|a| a.get("$ref"))
        })
        .and_then(Value::as_str);
    if let Some(r) = reference {
        return go_type(def_name(r));
    }
    let format = schema["format"].as_str().unwrap_or("");
    match schema["type"].as_str().unwrap_or("") {
        "string" if format == "byte" => "[]uint8".into(),
        "string" => "string".into(),
        "integer" if format == "int32" => "int32".into(),
        "integer" => "int64".into(),
        "number" => "float64".into(),
        "boolean" => "bool".into(),
        "array" => format!("[]{}", go_type_of(&schema["items"])),
        "object" => match schema.get("additionalProperties") {
            Some(a) if a.is_object() => format!("map[string]{}", go_type_of(a)),
            _ => "map[string]interface {}".into(),
        },
        _ => "interface {}".into(),
    }
}

/// Where a value sits, rendered only when a message needs it (most
/// objects need none, and the walk allocates nothing for them).
#[derive(Clone, Copy)]
struct At<'a> {
    parent: Option<&'a At<'a>>,
    seg: Seg<'a>,
}

#[derive(Clone, Copy)]
enum Seg<'a> {
    Root,
    Field(&'a str),
    Index(usize),
    Key(&'a str),
}

impl<'a> At<'a> {
    const ROOT: At<'static> = At {
        parent: None,
        seg: Seg::Root,
    };

    fn child(&'a self, seg: Seg<'a>) -> At<'a> {
        At {
            parent: Some(self),
            seg,
        }
    }

    /// `spec.containers[0].name`, or with `go` the decoder's
    /// `spec.containers.name` (no indexes or map keys).
    fn render(&self, go: bool) -> String {
        let mut segs = Vec::new();
        let mut at = Some(self);
        while let Some(a) = at {
            segs.push(a.seg);
            at = a.parent;
        }
        let mut out = String::new();
        for seg in segs.into_iter().rev() {
            match seg {
                Seg::Root => {}
                Seg::Field(f) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(f);
                }
                Seg::Index(i) if !go => out.push_str(&format!("[{i}]")),
                Seg::Key(k) if !go => out.push_str(&format!("[{k}]")),
                _ => {}
            }
        }
        out
    }
}

/// Walks one value; `go_struct` is the Go struct holding the field (the
/// decoder names it in its errors).
fn walk(
    s: &Schemas,
    value: &mut Value,
    declared: &Value,
    at: &At,
    go_struct: &str,
    out: &mut Decoded,
) {
    if out.error.is_some() || value.is_null() {
        return;
    }
    let schema = s.resolve(declared);
    let mismatch = |out: &mut Decoded, value: &Value| {
        if out.error.is_none() {
            let go_path = at.render(true);
            let field = if go_path.is_empty() {
                String::from("Go value")
            } else {
                format!("Go struct field {go_struct}.{go_path}")
            };
            out.error = Some(format!(
                "json: cannot unmarshal {} into {field} of type {}",
                json_kind(value),
                go_type_of(declared)
            ));
        }
    };
    if schema["x-kubernetes-int-or-string"] == Value::Bool(true) {
        if !(value.is_string() || value.is_number()) {
            mismatch(out, value);
        }
        return;
    }
    match schema["type"].as_str() {
        Some("string") => match value {
            Value::String(text) if schema["format"] == "byte" => {
                let cleaned: String = text.chars().filter(|c| !matches!(c, '\r' | '\n')).collect();
                if let Err(e) = base64::engine::general_purpose::STANDARD.decode(cleaned) {
                    let at = match e {
                        base64::DecodeError::InvalidByte(at, _)
                        | base64::DecodeError::InvalidLastSymbol(at, _) => at,
                        _ => text.len(),
                    };
                    out.error = Some(format!("illegal base64 data at input byte {at}"));
                }
            }
            Value::String(_) => {}
            other => mismatch(out, other),
        },
        Some("integer") => {
            let ok = match value.as_i64() {
                Some(n) if schema["format"] == "int32" => i32::try_from(n).is_ok(),
                Some(_) => true,
                None => value.as_u64().is_some() && schema["format"] != "int32",
            };
            if !ok {
                mismatch(out, value);
            }
        }
        Some("number") if !value.is_number() => mismatch(out, value),
        Some("boolean") if !value.is_boolean() => mismatch(out, value),
        Some("array") => match value {
            Value::Array(items) => {
                let item_schema = &schema["items"];
                for (i, item) in items.iter_mut().enumerate() {
                    walk(
                        s,
                        item,
                        item_schema,
                        &at.child(Seg::Index(i)),
                        go_struct,
                        out,
                    );
                }
            }
            other => mismatch(out, other),
        },
        Some("object") => match value {
            Value::Object(map) => {
                if let Some(props) = schema["properties"].as_object() {
                    let struct_name = declared_name(declared).unwrap_or(go_struct);
                    map.retain(|key, v| {
                        if !props.contains_key(key) {
                            out.unknown.push(at.child(Seg::Field(key)).render(false));
                            false
                        } else {
                            !v.is_null()
                        }
                    });
                    for (key, v) in map.iter_mut() {
                        if let Some(sub) = props.get(key) {
                            walk(s, v, sub, &at.child(Seg::Field(key)), struct_name, out);
                        }
                    }
                } else if let Some(extra) =
                    schema.get("additionalProperties").filter(|a| a.is_object())
                {
                    for (key, v) in map.iter_mut() {
                        walk(s, v, extra, &at.child(Seg::Key(key)), go_struct, out);
                    }
                }
            }
            other => mismatch(out, other),
        },
        _ => {}
    }
}

/// The short Go struct name of a referenced definition.
fn declared_name(declared: &Value) -> Option<&str> {
    declared
        .get("$ref")
        .or_else(|| {
            declared
                .get("allOf")
                .and_then(|a| a.get(0))
                .and_then(|a| a.get("$ref"))
        })
        .and_then(Value::as_str)
        .map(|r| def_name(r).rsplit('.').next().unwrap_or(r))
}

/// Validation failures of a decoded object as `(field path, message)`:
/// required fields and enumerations, outside `metadata` and `status` (the
/// server checks those with rules of their own).
pub fn validate(obj: &Value, def: &str) -> Vec<(String, String)> {
    let s = schemas();
    let mut out = Vec::new();
    let Some(schema) = s.defs.get(def) else {
        return out;
    };
    if let Some(map) = obj.as_object() {
        for (key, v) in map {
            if matches!(key.as_str(), "apiVersion" | "kind" | "metadata" | "status") {
                continue;
            }
            if let Some(sub) = schema["properties"].get(key) {
                check(s, v, sub, &At::ROOT.child(Seg::Field(key)), &mut out);
            }
        }
        for r in required(schema) {
            if !matches!(r, "apiVersion" | "kind" | "metadata") && !map.contains_key(r) {
                out.push((r.to_string(), "Required value".into()));
            }
        }
    }
    out
}

fn required(schema: &Value) -> impl Iterator<Item = &str> {
    schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

fn check(s: &Schemas, v: &Value, declared: &Value, at: &At, out: &mut Vec<(String, String)>) {
    let schema = s.resolve(declared);
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(v)
    {
        let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
        out.push((
            at.render(false),
            format!(
                "Unsupported value: {v}: supported values: {}",
                list.join(", ")
            ),
        ));
    }
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check(s, item, &schema["items"], &at.child(Seg::Index(i)), out);
            }
        }
        Value::Object(map) => {
            if let Some(props) = schema["properties"].as_object() {
                for (k, child) in map {
                    if let Some(sub) = props.get(k) {
                        check(s, child, sub, &at.child(Seg::Field(k)), out);
                    }
                }
                for r in required(schema) {
                    if !map.contains_key(r) {
                        out.push((
                            at.child(Seg::Field(r)).render(false),
                            "Required value".into(),
                        ));
                    }
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DEPLOYMENT: &str = "io.k8s.api.apps.v1.Deployment";

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}
                }
            }
        })
    }

    #[test]
    fn every_builtin_kind_has_a_schema() {
        let s = schemas();
        assert_eq!(s.kind("apps", "v1", "Deployment"), Some(DEPLOYMENT));
        for name in s.kinds.values() {
            assert!(s.defs.contains_key(name), "{name}");
        }
        assert!(s.defs[DEPLOYMENT]["x-kubernetes-group-version-kind"].is_array());
    }

    #[test]
    fn a_valid_object_decodes_unchanged() {
        let mut obj = deployment();
        let d = decode(&mut obj, DEPLOYMENT);
        assert_eq!(d, Decoded::default());
        assert_eq!(obj, deployment());
        assert!(validate(&obj, DEPLOYMENT).is_empty());
    }

    #[test]
    fn unknown_fields_are_dropped_and_named_with_indexes() {
        let mut obj = deployment();
        obj["spec"]["foo"] = json!(1);
        obj["spec"]["template"]["spec"]["containers"][0]["bogus"] = json!("x");
        obj["sops"] = json!({"mac": "x"});
        let d = decode(&mut obj, DEPLOYMENT);
        assert_eq!(d.error, None);
        let mut unknown = d.unknown.clone();
        unknown.sort();
        assert_eq!(
            unknown,
            ["sops", "spec.foo", "spec.template.spec.containers[0].bogus"]
        );
        assert_eq!(obj, deployment());
    }

    #[test]
    fn wrong_types_fail_in_gos_wording() {
        let mut obj = deployment();
        obj["spec"]["replicas"] = json!("many");
        assert_eq!(
            decode(&mut obj, DEPLOYMENT).error.as_deref(),
            Some(
                "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
            )
        );
        let mut obj = deployment();
        obj["spec"]["template"]["spec"]["containers"][0]["env"] =
            json!([{"name": "A", "value": 1}]);
        assert_eq!(
            decode(&mut obj, DEPLOYMENT).error.as_deref(),
            Some(
                "json: cannot unmarshal number into Go struct field EnvVar.spec.template.spec.containers.env.value of type string"
            )
        );
        let mut obj = deployment();
        obj["spec"]["replicas"] = json!(1.5);
        assert!(
            decode(&mut obj, DEPLOYMENT)
                .error
                .unwrap()
                .contains("number 1.5")
        );
        let mut obj = deployment();
        obj["spec"]["replicas"] = json!(5_000_000_000_i64);
        assert!(decode(&mut obj, DEPLOYMENT).error.is_some(), "beyond int32");
    }

    #[test]
    fn int_or_string_and_quantities_take_both() {
        let mut obj = deployment();
        obj["spec"]["strategy"] = json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": "25%"}});
        obj["spec"]["template"]["spec"]["containers"][0]["resources"] =
            json!({"limits": {"cpu": 1, "memory": "64Mi"}});
        assert_eq!(decode(&mut obj, DEPLOYMENT), Decoded::default());
        obj["spec"]["strategy"]["rollingUpdate"]["maxSurge"] = json!(true);
        assert!(decode(&mut obj, DEPLOYMENT).error.is_some());
    }

    #[test]
    fn secret_data_must_be_base64() {
        let def = "io.k8s.api.core.v1.Secret";
        let mut ok = json!({"data": {"a": "aGVsbG8="}});
        assert_eq!(decode(&mut ok, def), Decoded::default());
        let mut bad = json!({"data": {"a": "not base64!"}});
        assert_eq!(
            decode(&mut bad, def).error.as_deref(),
            Some("illegal base64 data at input byte 3")
        );
    }

    #[test]
    fn required_fields_and_enums_are_validated_outside_status() {
        let mut obj = deployment();
        obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("Sometimes");
        obj["spec"]["template"]["spec"]["containers"][0]["ports"] = json!([{"name": "http"}]);
        obj["spec"].as_object_mut().unwrap().remove("selector");
        obj["status"] = json!({"conditions": [{"reason": "no type, no status"}]});
        let errs = validate(&obj, DEPLOYMENT);
        assert!(
            errs.contains(&("spec.selector".into(), "Required value".into())),
            "{errs:?}"
        );
        assert!(
            errs.contains(&(
                "spec.template.spec.containers[0].ports[0].containerPort".into(),
                "Required value".into()
            )),
            "{errs:?}"
        );
        assert!(errs.contains(&(
            "spec.template.spec.containers[0].imagePullPolicy".into(),
            "Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\"".into()
        )), "{errs:?}");
        assert_eq!(
            errs.len(),
            3,
            "status is not held to the required lists: {errs:?}"
        );
    }

    #[test]
    fn field_validation_values() {
        assert_eq!(FieldValidation::parse(None), Ok(FieldValidation::Warn));
        assert_eq!(
            FieldValidation::parse(Some("Strict")),
            Ok(FieldValidation::Strict)
        );
        assert_eq!(
            FieldValidation::parse(Some("Ignore")),
            Ok(FieldValidation::Ignore)
        );
        assert!(FieldValidation::parse(Some("strict")).is_err());
    }
}
