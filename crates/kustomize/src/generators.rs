//! `configMapGenerator` and `secretGenerator`, and kustomize's content hash.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::error::BuildError;
use crate::kustomization::{Generator, GeneratorOptions};
use crate::loader::Loader;
use crate::resource::{Resource, str_at};

/// ConfigMap or Secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GenKind {
    /// `configMapGenerator`.
    ConfigMap,
    /// `secretGenerator`.
    Secret,
}

impl GenKind {
    /// The kustomization field of this generator.
    pub(crate) fn field(self) -> &'static str {
        match self {
            GenKind::ConfigMap => "configMapGenerator",
            GenKind::Secret => "secretGenerator",
        }
    }
}

/// One generated key: text or bytes.
enum Data {
    Text(String),
    Bytes(Vec<u8>),
}

fn strip_quotes(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

fn parse_env(text: &str, origin: &str) -> Result<Vec<(String, String)>, BuildError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = if i == 0 {
            line.trim_start_matches('\u{feff}')
        } else {
            line
        };
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // A bare key takes its value from the process environment: not here.
        if let Some((k, v)) = line.split_once('=') {
            if k.contains(char::is_whitespace) {
                return Err(BuildError::Invalid {
                    path: origin.into(),
                    field: "envs".into(),
                    message: format!("invalid key '{k}' on line {}", i + 1),
                });
            }
            out.push((k.to_string(), v.to_string()));
        }
    }
    Ok(out)
}

/// Generates one object from `spec` of the kustomization in `dir`.
pub(crate) fn generate(
    loader: &Loader,
    dir: &Path,
    origin: &str,
    kind: GenKind,
    spec: &Generator,
    global: Option<&GeneratorOptions>,
) -> Result<Resource, BuildError> {
    let field = match kind {
        GenKind::ConfigMap => "configMapGenerator",
        GenKind::Secret => "secretGenerator",
    };
    let name = spec.name.clone().unwrap_or_default();
    let mut data: BTreeMap<String, Data> = BTreeMap::new();
    let mut put = |k: String, d: Data| -> Result<(), BuildError> {
        if data.contains_key(&k) {
            return Err(BuildError::Invalid {
                path: origin.into(),
                field: format!("{field}[{name}]"),
                message: format!("cannot add key '{k}', another key by that name already exists"),
            });
        }
        data.insert(k, d);
        Ok(())
    };
    let mut envs = spec.envs.clone();
    envs.extend(spec.env.clone());
    for env in &envs {
        let (_, bytes) = loader.read(dir, env)?;
        let text = String::from_utf8_lossy(&bytes);
        for (k, v) in parse_env(&text, origin)? {
            put(k, Data::Text(v))?;
        }
    }
    for lit in &spec.literals {
        let Some((k, v)) = lit.split_once('=') else {
            return Err(BuildError::Invalid {
                path: origin.into(),
                field: format!("{field}[{name}].literals"),
                message: format!("invalid literal '{lit}', expected key=value"),
            });
        };
        put(k.to_string(), Data::Text(strip_quotes(v).to_string()))?;
    }
    for f in &spec.files {
        let (key, rel) = match f.split_once('=') {
            Some((k, p)) => (k.to_string(), p),
            None => (f.rsplit('/').next().unwrap_or(f).to_string(), f.as_str()),
        };
        let (_, bytes) = loader.read(dir, rel)?;
        match String::from_utf8(bytes) {
            Ok(s) => put(key, Data::Text(s))?,
            Err(e) => put(key, Data::Bytes(e.into_bytes()))?,
        }
    }
    let mut meta = Map::new();
    meta.insert("name".into(), Value::String(name.clone()));
    if let Some(ns) = &spec.namespace {
        meta.insert("namespace".into(), Value::String(ns.clone()));
    }
    let mut opts = global.cloned().unwrap_or_default();
    if let Some(o) = &spec.options {
        opts.labels.extend(o.labels.clone());
        opts.annotations.extend(o.annotations.clone());
        if o.disable_name_suffix_hash.is_some() {
            opts.disable_name_suffix_hash = o.disable_name_suffix_hash;
        }
        if o.immutable.is_some() {
            opts.immutable = o.immutable;
        }
    }
    let to_map = |m: &BTreeMap<String, String>| {
        Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    };
    if !opts.labels.is_empty() {
        meta.insert("labels".into(), to_map(&opts.labels));
    }
    if !opts.annotations.is_empty() {
        meta.insert("annotations".into(), to_map(&opts.annotations));
    }
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), json!("v1"));
    obj.insert(
        "kind".into(),
        json!(if kind == GenKind::ConfigMap {
            "ConfigMap"
        } else {
            "Secret"
        }),
    );
    obj.insert("metadata".into(), Value::Object(meta));
    match kind {
        GenKind::ConfigMap => {
            let mut text = Map::new();
            let mut bin = Map::new();
            for (k, d) in data {
                match d {
                    Data::Text(s) => text.insert(k, Value::String(s)),
                    Data::Bytes(b) => bin.insert(k, Value::String(encode_base64(&b))),
                };
            }
            if !text.is_empty() {
                obj.insert("data".into(), Value::Object(text));
            }
            if !bin.is_empty() {
                obj.insert("binaryData".into(), Value::Object(bin));
            }
        }
        GenKind::Secret => {
            obj.insert(
                "type".into(),
                json!(spec.type_.as_deref().unwrap_or("Opaque")),
            );
            let enc: Map<String, Value> = data
                .into_iter()
                .map(|(k, d)| {
                    let bytes = match d {
                        Data::Text(s) => s.into_bytes(),
                        Data::Bytes(b) => b,
                    };
                    (k, Value::String(encode_base64(&bytes)))
                })
                .collect();
            if !enc.is_empty() {
                obj.insert("data".into(), Value::Object(enc));
            }
        }
    }
    if opts.immutable == Some(true) {
        obj.insert("immutable".into(), Value::Bool(true));
    }
    let mut r = Resource::new(Value::Object(obj));
    r.needs_hash = opts.disable_name_suffix_hash != Some(true);
    r.behavior = Some(spec.behavior.clone().unwrap_or_else(|| "create".into()));
    Ok(r)
}

/// Base64 as kustomize writes generated data: lines of 70 characters when longer.
fn encode_base64(bytes: &[u8]) -> String {
    let enc = B64.encode(bytes);
    if enc.len() <= 70 {
        return enc;
    }
    let mut out = String::with_capacity(enc.len() + enc.len() / 70 + 1);
    for chunk in enc.as_bytes().chunks(70) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// Kustomize's content hash of a ConfigMap or Secret: SHA-256 of a canonical JSON
/// encoding, its first ten hex digits with `0 1 3 a e` mapped to `g h k m t`.
pub(crate) fn content_hash(value: &Value) -> String {
    let kind = str_at(value, &["kind"]);
    let mut m = Map::new();
    m.insert("kind".into(), Value::String(kind.into()));
    // kustomize's encoding carries an empty name (its hasher reads a field that is
    // never set), so the hash depends on the contents only.
    m.insert("name".into(), Value::String(String::new()));
    // Without data, kustomize's encoding has an empty string there.
    m.insert(
        "data".into(),
        value.get("data").cloned().unwrap_or(json!("")),
    );
    if let Some(Value::Bool(b)) = value.get("immutable") {
        m.insert("immutable".into(), Value::Bool(*b));
    }
    if kind == "Secret" {
        m.insert(
            "type".into(),
            value.get("type").cloned().unwrap_or(json!("")),
        );
    } else if let Some(Value::Object(b)) = value.get("binaryData")
        && !b.is_empty()
    {
        m.insert("binaryData".into(), Value::Object(b.clone()));
    }
    // Go's `json.Marshal` of the map, byte for byte, or the hash differs.
    let enc = ferroflux_gocompat::json::to_string(&Value::Object(m));
    let digest = Sha256::digest(enc.as_bytes());
    let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    hex.chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

/// Merges a `behavior: merge` generated object into the existing one.
pub(crate) fn merge_into(existing: &mut Value, new: &Value) {
    for field in ["data", "binaryData"] {
        if let Some(Value::Object(n)) = new.get(field) {
            let e = existing
                .as_object_mut()
                .map(|o| o.entry(field).or_insert_with(|| Value::Object(Map::new())));
            if let Some(Value::Object(e)) = e {
                e.extend(n.clone());
            }
        }
    }
    for field in ["labels", "annotations"] {
        if let Some(Value::Object(n)) = new.get("metadata").and_then(|m| m.get(field)) {
            let meta = existing.get_mut("metadata").and_then(Value::as_object_mut);
            if let Some(meta) = meta
                && let Value::Object(e) = meta
                    .entry(field)
                    .or_insert_with(|| Value::Object(Map::new()))
            {
                e.extend(n.clone());
            }
        }
    }
    if let Some(b) = new.get("immutable") {
        existing["immutable"] = b.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_of_simple_configmap() {
        // Known values of the ConfigMap hash (kubectl's and kustomize's hash tests).
        let cm = json!({"kind": "ConfigMap", "metadata": {"name": ""}, "data": {}});
        assert_eq!(content_hash(&cm), "42745tchd9");
        let cm = json!({"kind": "ConfigMap", "metadata": {"name": ""},
            "data": {"two": "2", "one": "", "three": "3"}});
        assert_eq!(content_hash(&cm), "f5h7t85m9b");
    }

    #[test]
    fn env_files() {
        let env = parse_env("# c\nA=1\n\nB=x=y\n", "f").unwrap_or_default();
        assert_eq!(
            env,
            vec![("A".into(), "1".into()), ("B".into(), "x=y".into())]
        );
    }
}
