//! Built-in plugin configurations in `generators` and `transformers` (kustomize's
//! `apiVersion: builtin` kinds); other plugins are refused by name.

use std::path::Path;

use serde_json::Value;

use crate::build::{Walk, apply_patch, build_dir, parse_yaml_docs};
use crate::error::BuildError;
use crate::kustomization::{Patch, PatchOptions, Target};
use crate::loader::{Loader, is_remote};
use crate::openapi::OpenApi;
use crate::resource::{Resource, str_at};
use crate::transform;

/// The plugin configurations of a `generators` or `transformers` list: inline YAML,
/// files, or kustomization directories whose resources are configurations.
pub(crate) fn plugin_configs(
    loader: &Loader,
    dir: &Path,
    origin: &str,
    entries: &[String],
    stack: &mut Walk,
) -> Result<Vec<Value>, BuildError> {
    let mut out = Vec::new();
    for entry in entries {
        if entry.contains('\n') {
            out.extend(parse_yaml_docs(entry, origin)?);
            continue;
        }
        if is_remote(entry) {
            return Err(BuildError::Remote {
                path: origin.into(),
                field: "transformers".into(),
                url: entry.clone(),
            });
        }
        let path = loader.resolve(dir, entry)?;
        if path.is_dir() {
            let (sub, _) = build_dir(loader, &path, stack, false)?;
            out.extend(sub.into_iter().map(|r| r.value));
        } else {
            let (full, bytes) = loader.read(dir, entry)?;
            out.extend(parse_yaml_docs(
                &String::from_utf8_lossy(&bytes),
                &loader.show(&full),
            )?);
        }
    }
    Ok(out)
}

/// The error for a plugin this engine does not have.
pub(crate) fn unknown_plugin(origin: &str, kind: &str, config: &Value) -> BuildError {
    let api = str_at(config, &["apiVersion"]);
    if api == "builtin" {
        BuildError::other(
            origin,
            format!("unable to load builtin {kind}.builtin.[noGrp]: not supported"),
        )
    } else {
        BuildError::Unsupported {
            path: origin.into(),
            field: format!("plugin {api}/{kind}"),
        }
    }
}

/// Runs one built-in transformer configuration.
pub(crate) fn run_transformer(
    loader: &Loader,
    dir: &Path,
    origin: &str,
    config: &Value,
    acc: &mut Vec<Resource>,
    openapi: Option<&OpenApi>,
) -> Result<(), BuildError> {
    let invalid = |e: serde_json::Error| BuildError::Invalid {
        path: origin.into(),
        field: "transformers".into(),
        message: e.to_string(),
    };
    let target = |c: &Value| -> Result<Option<Target>, BuildError> {
        c.get("target")
            .cloned()
            .map(serde_json::from_value)
            .transpose()
            .map_err(invalid)
    };
    let text = |c: &Value, f: &str| c.get(f).and_then(Value::as_str).map(str::to_string);
    match str_at(config, &["kind"]) {
        "PatchTransformer" => {
            let p = Patch {
                path: text(config, "path"),
                patch: text(config, "patch"),
                target: target(config)?,
                options: config
                    .get("options")
                    .cloned()
                    .map(serde_json::from_value)
                    .transpose()
                    .map_err(invalid)?
                    .unwrap_or_default(),
            };
            apply_patch(loader, dir, origin, &p, acc, openapi)
        }
        "PatchJson6902Transformer" => {
            let inline = match config.get("jsonOp") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(other) => Some(other.to_string()),
                None => None,
            };
            let p = Patch {
                path: text(config, "path"),
                patch: inline,
                target: target(config)?,
                options: PatchOptions::default(),
            };
            apply_patch(loader, dir, origin, &p, acc, openapi)
        }
        "PrefixSuffixTransformer" => {
            let specs: Vec<transform::config::FieldSpec> = config
                .get("fieldSpecs")
                .cloned()
                .map(serde_json::from_value)
                .transpose()
                .map_err(invalid)?
                .unwrap_or_default();
            if specs.iter().any(|s| s.path != "metadata/name") {
                return Err(BuildError::Unsupported {
                    path: origin.into(),
                    field: "PrefixSuffixTransformer.fieldSpecs (other than metadata/name)".into(),
                });
            }
            let (prefix, suffix) = (str_at(config, &["prefix"]), str_at(config, &["suffix"]));
            let mut selected: Vec<Resource> = Vec::new();
            let mut rest = Vec::new();
            let mut order = Vec::new();
            for r in acc.drain(..) {
                let hit = specs.is_empty() || specs.iter().any(|s| s.applies(&r));
                order.push(hit);
                if hit { selected.push(r) } else { rest.push(r) }
            }
            transform::prefix_suffix::apply(&mut selected, prefix, suffix);
            let (mut sel, mut other) = (selected.into_iter(), rest.into_iter());
            for hit in order {
                let next = if hit { sel.next() } else { other.next() };
                acc.extend(next);
            }
            Ok(())
        }
        kind @ ("AnnotationsTransformer" | "LabelTransformer") => {
            let field = if kind == "LabelTransformer" {
                "labels"
            } else {
                "annotations"
            };
            let pairs: std::collections::BTreeMap<String, String> = config
                .get(field)
                .cloned()
                .map(serde_json::from_value)
                .transpose()
                .map_err(invalid)?
                .unwrap_or_default();
            let specs: Vec<transform::config::FieldSpec> = config
                .get("fieldSpecs")
                .cloned()
                .map(serde_json::from_value)
                .transpose()
                .map_err(invalid)?
                .unwrap_or_default();
            transform::config::add_at_specs(acc, &specs, &pairs);
            Ok(())
        }
        "NamespaceTransformer" => {
            let ns = str_at(config, &["metadata", "namespace"]);
            if !ns.is_empty() {
                transform::namespace::apply(acc, ns);
            }
            Ok(())
        }
        "ReplacementTransformer" => {
            let list = config
                .get("replacements")
                .cloned()
                .unwrap_or(Value::Array(vec![]));
            let replacements: Vec<transform::replacements::Replacement> =
                serde_json::from_value(list).map_err(invalid)?;
            let mut resolved = Vec::new();
            for r in replacements {
                match &r.path {
                    Some(path) => resolved.extend(read_replacements(loader, dir, path)?),
                    None => resolved.push(r),
                }
            }
            transform::replacements::apply(acc, &resolved, origin)
        }
        other => Err(unknown_plugin(origin, other, config)),
    }
}

/// Reads a file of replacements (one per document, or lists of them).
pub(crate) fn read_replacements(
    loader: &Loader,
    dir: &Path,
    path: &str,
) -> Result<Vec<transform::replacements::Replacement>, BuildError> {
    let (full, bytes) = loader.read(dir, path)?;
    let shown = loader.show(&full);
    let mut out = Vec::new();
    for doc in parse_yaml_docs(&String::from_utf8_lossy(&bytes), &shown)? {
        let items = match doc {
            Value::Array(items) => items,
            other => vec![other],
        };
        for item in items {
            out.push(
                serde_json::from_value(item).map_err(|e| BuildError::Invalid {
                    path: shown.clone(),
                    field: "replacements".into(),
                    message: e.to_string(),
                })?,
            );
        }
    }
    Ok(out)
}
