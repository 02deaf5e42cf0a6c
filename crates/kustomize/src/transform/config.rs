//! Field specs and `configurations` (kustomize's transformer configurations): extra
//! fields the built-in transformers act on, typically in custom resources.

use serde::Deserialize;
use serde_json::Value;

use crate::resource::Resource;

/// A field of resources of some group/version/kind (all when unset), as a `/` path.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FieldSpec {
    /// API group.
    pub group: Option<String>,
    /// API version.
    pub version: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// Path, segments separated by `/`.
    pub path: String,
    /// Create the field when missing.
    pub create: bool,
}

impl FieldSpec {
    /// Whether the spec applies to resource `r`.
    pub(crate) fn applies(&self, r: &Resource) -> bool {
        let id = r.id();
        self.group.as_deref().is_none_or(|g| g == id.group)
            && self.version.as_deref().is_none_or(|v| v == id.version)
            && self.kind.as_deref().is_none_or(|k| k == id.kind)
    }
}

/// A `nameReference` entry: fields that name a resource of `kind`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct NameRef {
    /// The referred kind.
    pub kind: String,
    /// The referred group.
    pub group: Option<String>,
    /// The referring fields.
    pub field_specs: Vec<FieldSpec>,
}

/// A `configurations` file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Config {
    /// Extra label fields (`commonLabels`).
    pub common_labels: Vec<FieldSpec>,
    /// Extra fields for the `labels` entries of kustomizations.
    pub labels: Vec<FieldSpec>,
    /// Extra pod template label fields (`commonLabels`, and `labels` with templates).
    pub template_labels: Vec<FieldSpec>,
    /// Extra volume claim template label fields (`commonLabels`).
    pub volume_claim_template_labels: Vec<FieldSpec>,
    /// Extra replica count fields.
    pub replicas: Vec<FieldSpec>,
    /// Extra annotation fields.
    pub common_annotations: Vec<FieldSpec>,
    /// Extra name references.
    pub name_reference: Vec<NameRef>,
    /// Extra image fields.
    pub images: Vec<FieldSpec>,
    /// Fields where `$(VAR)` is replaced (all string fields are, here).
    pub var_reference: Vec<FieldSpec>,
    /// Name prefix fields (only `metadata/name` is supported).
    pub name_prefix: Vec<FieldSpec>,
    /// Name suffix fields (only `metadata/name` is supported).
    pub name_suffix: Vec<FieldSpec>,
    /// Namespace fields (the built-in ones are used).
    pub namespace: Vec<FieldSpec>,
    /// Every other section, refused by name.
    #[serde(flatten)]
    pub other: std::collections::BTreeMap<String, Value>,
}

impl Config {
    /// Adds `other`'s specs to these.
    pub(crate) fn extend(&mut self, other: Config) {
        self.common_labels.extend(other.common_labels);
        self.common_annotations.extend(other.common_annotations);
        self.name_reference.extend(other.name_reference);
        self.images.extend(other.images);
        self.labels.extend(other.labels);
        self.replicas.extend(other.replicas);
        self.template_labels.extend(other.template_labels);
        let vct = other.volume_claim_template_labels;
        self.volume_claim_template_labels.extend(vct);
    }
}

/// Adds `pairs` at each field spec that applies.
pub(crate) fn add_at_specs(
    resources: &mut [Resource],
    specs: &[FieldSpec],
    pairs: &std::collections::BTreeMap<String, String>,
) {
    for spec in specs {
        for r in resources.iter_mut() {
            if spec.applies(r) {
                super::add_pairs(&mut r.value, &spec.path, spec.create, pairs);
            }
        }
    }
}

/// Name references declared by a `crds` file (Go OpenAPI definitions: type name →
/// `Schema`): properties with `x-kubernetes-object-ref-kind` name a resource of that
/// kind through their `name` field.
pub(crate) fn crd_name_refs(doc: &Value) -> Vec<NameRef> {
    let mut out = Vec::new();
    let Some(types) = doc.as_object() else {
        return out;
    };
    for (type_name, def) in types {
        let schema = def.get("Schema").unwrap_or(def);
        let props = schema.get("properties");
        if props.and_then(|p| p.get("kind")).is_none()
            || props.and_then(|p| p.get("apiVersion")).is_none()
        {
            continue;
        }
        let kind = type_name.rsplit('.').next().unwrap_or(type_name);
        walk_crd(doc, schema, kind, "", 0, &mut out);
    }
    out
}

fn walk_crd(
    doc: &Value,
    schema: &Value,
    kind: &str,
    path: &str,
    depth: usize,
    out: &mut Vec<NameRef>,
) {
    if depth > 16 {
        return;
    }
    let resolve = |s: &Value| -> Option<Value> {
        let r = s.get("$ref").and_then(Value::as_str)?;
        let def = doc.get(r)?;
        Some(def.get("Schema").unwrap_or(def).clone())
    };
    let props = schema.get("properties").and_then(Value::as_object);
    for (name, prop) in props.into_iter().flatten() {
        if name == "metadata" || name == "status" {
            continue;
        }
        let here = if path.is_empty() {
            name.clone()
        } else {
            format!("{path}/{name}")
        };
        if let Some(ref_kind) = prop
            .get("x-kubernetes-object-ref-kind")
            .and_then(Value::as_str)
        {
            out.push(NameRef {
                kind: ref_kind.to_string(),
                group: None,
                field_specs: vec![FieldSpec {
                    kind: Some(kind.to_string()),
                    path: format!("{here}/name"),
                    ..Default::default()
                }],
            });
            continue;
        }
        let next = prop.get("items").unwrap_or(prop);
        let next = resolve(next).unwrap_or_else(|| next.clone());
        walk_crd(doc, &next, kind, &here, depth + 1, out);
    }
}
