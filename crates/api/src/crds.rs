//! The CustomResourceDefinitions of every kind, as written to `crds/`.
//!
//! Each CRD is derived from the Rust types (kube-derive + schemars), merged
//! across served versions (storage version first) and then adjusted where the
//! derived schema differs from what Flux publishes: no `nullable` markers
//! (Flux's CRDs have none, so explicit nulls are pruned as Flux users expect)
//! and `status` defaulting to `{"observedGeneration": -1}` where Flux does so.

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::core::crd::merge_crds;
use serde_json::{Value, json};

use crate::{helm, kustomize, notification, source, source_extensions};

/// Why the CRDs could not be produced or written.
#[derive(Debug, thiserror::Error)]
pub enum CrdError {
    /// Versions of one kind could not be merged into one CRD.
    #[error("merging versions of {kind}: {source}")]
    Merge {
        /// The kind whose versions disagree.
        kind: String,
        /// What kube reported.
        source: kube::core::crd::MergeError,
    },
    /// A CRD could not be converted to or from JSON/YAML.
    #[error("encoding CRD {name}: {message}")]
    Encode {
        /// The CRD's name.
        name: String,
        /// What went wrong.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file at fault.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// How one kind's CRD is assembled.
pub(crate) struct KindDefinition {
    /// One single-version CRD per served version.
    pub versions: Vec<CustomResourceDefinition>,
    /// The version objects are stored in.
    pub storage: &'static str,
    /// Whether Flux defaults `status` to `{"observedGeneration": -1}`.
    pub status_observed_generation_default: bool,
}

fn definitions() -> Vec<KindDefinition> {
    let mut all = source::crd_definitions();
    all.extend(kustomize::crd_definitions());
    all.extend(helm::crd_definitions());
    all.extend(notification::crd_definitions());
    all.extend(source_extensions::crd_definitions());
    all
}

/// Every CRD, one per kind, in a stable order.
pub fn all() -> Result<Vec<CustomResourceDefinition>, CrdError> {
    definitions().into_iter().map(assemble).collect()
}

fn assemble(def: KindDefinition) -> Result<CustomResourceDefinition, CrdError> {
    let kind = def
        .versions
        .first()
        .map(|c| c.spec.names.kind.clone())
        .unwrap_or_default();
    // Served versions are listed storage first, then newest to oldest, as
    // given; kube's merge does not keep that order.
    let order: Vec<String> = def
        .versions
        .iter()
        .flat_map(|c| c.spec.versions.iter().map(|v| v.name.clone()))
        .collect();
    let merged = merge_crds(def.versions, def.storage).map_err(|source| CrdError::Merge {
        kind: kind.clone(),
        source,
    })?;
    let name = merged.metadata.name.clone().unwrap_or_default();
    let encode_err = |e: serde_json::Error| CrdError::Encode {
        name: name.clone(),
        message: e.to_string(),
    };
    let mut value = serde_json::to_value(&merged).map_err(encode_err)?;
    if let Some(names) = value
        .pointer_mut("/spec/names")
        .and_then(Value::as_object_mut)
    {
        names.insert("listKind".into(), json!(format!("{kind}List")));
    }
    if let Some(versions) = value
        .pointer_mut("/spec/versions")
        .and_then(Value::as_array_mut)
    {
        versions.sort_by_key(|v| {
            let name = v["name"].as_str().unwrap_or_default();
            (
                name != def.storage,
                order.iter().position(|o| o == name).unwrap_or(usize::MAX),
            )
        });
        for version in versions {
            if let Some(schema) = version.pointer_mut("/schema/openAPIV3Schema") {
                strip_nullable(schema);
                add_type_meta(schema);
                if def.status_observed_generation_default
                    && let Some(status) = schema.pointer_mut("/properties/status")
                    && let Some(obj) = status.as_object_mut()
                {
                    obj.insert("default".into(), json!({"observedGeneration": -1}));
                }
            }
        }
    }
    serde_json::from_value(value).map_err(encode_err)
}

/// kube-derive leaves out the object envelope; Flux's CRDs (like every
/// controller-gen CRD) describe it, and clients such as `kubectl explain` show it.
fn add_type_meta(schema: &mut Value) {
    let Some(root) = schema.as_object_mut() else {
        return;
    };
    root.remove("title");
    root.remove("required");
    let props = root.entry("properties").or_insert_with(|| json!({}));
    if let Some(props) = props.as_object_mut() {
        props.insert(
            "apiVersion".into(),
            json!({
                "description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values.",
                "type": "string"
            }),
        );
        props.insert(
            "kind".into(),
            json!({
                "description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. In CamelCase.",
                "type": "string"
            }),
        );
        props.insert("metadata".into(), json!({"type": "object"}));
    }
}

fn strip_nullable(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            map.remove("nullable");
            for (key, child) in map.iter_mut() {
                // `default` and `enum` hold data, not schemas.
                if key != "default" && key != "enum" && key != "example" {
                    strip_nullable(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nullable),
        _ => {}
    }
}

/// The file a CRD is written to: `<group>_<plural>.yaml`, as Flux names them.
pub fn file_name(crd: &CustomResourceDefinition) -> String {
    format!("{}_{}.yaml", crd.spec.group, crd.spec.names.plural)
}

const HEADER: &str = "# Generated by `cargo run -p ferroflux-api --bin crdgen`. Do not edit.\n";

/// The kustomization listing the CRDs. Named `Kustomization` (a name
/// kustomize accepts) rather than `kustomization.yaml` so that
/// `kubectl apply -f crds/`, which reads only `.yaml`/`.yml`/`.json` files,
/// sees nothing but CRDs.
pub const KUSTOMIZATION_FILE: &str = "Kustomization";

/// Every file of `crds/`: one YAML document per CRD plus [`KUSTOMIZATION_FILE`]
/// listing them, keyed by file name.
pub fn render_all() -> Result<BTreeMap<String, String>, CrdError> {
    let mut files = BTreeMap::new();
    let mut names = Vec::new();
    for crd in all()? {
        let name = file_name(&crd);
        let yaml = serde_yaml::to_string(&crd).map_err(|e| CrdError::Encode {
            name: name.clone(),
            message: e.to_string(),
        })?;
        files.insert(name.clone(), format!("{HEADER}---\n{yaml}"));
        names.push(name);
    }
    let mut kustomization = String::from(HEADER);
    kustomization
        .push_str("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n");
    for name in &names {
        kustomization.push_str(&format!("- {name}\n"));
    }
    files.insert(KUSTOMIZATION_FILE.to_string(), kustomization);
    Ok(files)
}

/// Writes every file of [`render_all`] into `dir` and deletes stale `.yaml`
/// files (and a stale kustomization) there. Returns the names of files that changed.
pub fn write_dir(dir: &Path) -> Result<Vec<String>, CrdError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| CrdError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let files = render_all()?;
    let mut changed = Vec::new();
    for stale in differences(dir, &files)? {
        let path = dir.join(&stale);
        match files.get(&stale) {
            Some(content) => std::fs::write(&path, content).map_err(io(&path))?,
            None => std::fs::remove_file(&path).map_err(io(&path))?,
        }
        changed.push(stale);
    }
    Ok(changed)
}

/// The names of files in `dir` that differ from `expected` (changed, missing
/// or not generated).
pub fn differences(
    dir: &Path,
    expected: &BTreeMap<String, String>,
) -> Result<Vec<String>, CrdError> {
    let mut out = Vec::new();
    for (name, content) in expected {
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(existing) if &existing == content => {}
            Ok(_) => out.push(name.clone()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => out.push(name.clone()),
            Err(source) => {
                return Err(CrdError::Io {
                    path: path.display().to_string(),
                    source,
                });
            }
        }
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(source) => {
            return Err(CrdError::Io {
                path: dir.display().to_string(),
                source,
            });
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let generated_kind =
            name.ends_with(".yaml") || name.ends_with(".yml") || name == KUSTOMIZATION_FILE;
        if generated_kind && !expected.contains_key(&name) {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

/// Paths in a CRD schema that break Kubernetes' structural-schema rules:
/// every node must have a `type` (unless it is int-or-string or preserves
/// unknown fields), no `$ref`, and `anyOf`/`allOf`/`oneOf`/`not` may not
/// carry types, defaults, or other structure of their own.
pub fn structural_violations(schema: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk_structural(schema, "", false, &mut out);
    out
}

fn walk_structural(node: &Value, path: &str, in_junctor: bool, out: &mut Vec<String>) {
    let Some(map) = node.as_object() else {
        out.push(format!("{path}: schema is not an object"));
        return;
    };
    let here = if path.is_empty() { "<root>" } else { path };
    if map.contains_key("$ref") {
        out.push(format!("{here}: $ref is not allowed"));
    }
    let int_or_string = map.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    let preserve = map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if in_junctor {
        for forbidden in [
            "type",
            "default",
            "additionalProperties",
            "nullable",
            "description",
        ] {
            if map.contains_key(forbidden) {
                out.push(format!(
                    "{here}: `{forbidden}` inside anyOf/allOf/oneOf/not"
                ));
            }
        }
    } else if !map.contains_key("type") && !int_or_string && !preserve {
        out.push(format!("{here}: missing type"));
    }
    if map.contains_key("properties") && map.contains_key("additionalProperties") {
        out.push(format!("{here}: both properties and additionalProperties"));
    }
    if map.get("type").and_then(Value::as_str) == Some("array") && !map.contains_key("items") {
        out.push(format!("{here}: array without items"));
    }
    if let Some(props) = map.get("properties").and_then(Value::as_object) {
        for (name, child) in props {
            walk_structural(child, &format!("{path}.{name}"), in_junctor, out);
        }
    }
    if let Some(items) = map.get("items") {
        walk_structural(items, &format!("{path}[]"), in_junctor, out);
    }
    if let Some(extra) = map.get("additionalProperties")
        && extra.is_object()
    {
        walk_structural(extra, &format!("{path}.*"), in_junctor, out);
    }
    for junctor in ["anyOf", "allOf", "oneOf"] {
        if let Some(list) = map.get(junctor).and_then(Value::as_array) {
            for (i, child) in list.iter().enumerate() {
                walk_structural(child, &format!("{path}({junctor}[{i}])"), true, out);
            }
        }
    }
    if let Some(not) = map.get("not") {
        walk_structural(not, &format!("{path}(not)"), true, out);
    }
}

/// Paths in a schema marked `x-kubernetes-preserve-unknown-fields: true`.
pub fn preserve_unknown_field_paths(schema: &Value) -> Vec<String> {
    fn walk(node: &Value, path: &str, out: &mut Vec<String>) {
        let Some(map) = node.as_object() else { return };
        if map.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
            out.push(if path.is_empty() {
                "<root>".into()
            } else {
                path.to_string()
            });
        }
        if let Some(props) = map.get("properties").and_then(Value::as_object) {
            for (name, child) in props {
                walk(child, &format!("{path}.{name}"), out);
            }
        }
        if let Some(items) = map.get("items") {
            walk(items, &format!("{path}[]"), out);
        }
        if let Some(extra) = map.get("additionalProperties") {
            walk(extra, &format!("{path}.*"), out);
        }
    }
    let mut out = Vec::new();
    walk(schema, "", &mut out);
    out
}
