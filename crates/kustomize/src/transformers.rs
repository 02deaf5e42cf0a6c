//! The built-in transformers, in one place: what a kustomization's fields
//! (`patches`, `namespace`, `commonLabels`, `images`, ...) and the built-in
//! plugin configurations of its `transformers` list do to the accumulated
//! resources. Both are read into a [`Transformer`] and run by [`apply`].

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::error::BuildError;
use crate::kustomization::{
    FieldSpec, Image, Kustomization, LabelSet, Patch, PatchOptions, Replacement, Replica, Target,
};
use crate::loader::Loader;
use crate::openapi::OpenApi;
use crate::patch;
use crate::resource::{Resource, str_at};
use crate::transform;
use crate::yaml::parse_yaml_docs;

/// One built-in transformer with its configuration.
#[derive(Debug, Clone)]
pub(crate) enum Transformer {
    /// `patches` and `patchesJson6902` entries; PatchTransformer and
    /// PatchJson6902Transformer.
    Patch(Patch),
    /// One `patchesStrategicMerge` entry: a file, or an inline document.
    StrategicMerge(Value),
    /// `namespace`; NamespaceTransformer.
    Namespace(String),
    /// `namePrefix`/`nameSuffix` (no field specs: every resource);
    /// PrefixSuffixTransformer (the resources its field specs select).
    PrefixSuffix {
        prefix: String,
        suffix: String,
        specs: Vec<FieldSpec>,
    },
    /// `commonLabels`: resources, selectors and templates.
    CommonLabels(BTreeMap<String, String>),
    /// One `labels` entry.
    Labels(LabelSet),
    /// `commonAnnotations`.
    CommonAnnotations(BTreeMap<String, String>),
    /// LabelTransformer and AnnotationsTransformer: pairs set at field specs.
    AtFieldSpecs {
        pairs: BTreeMap<String, String>,
        specs: Vec<FieldSpec>,
    },
    /// `replicas`.
    Replicas(Vec<Replica>),
    /// `images`.
    Images(Vec<Image>),
    /// `replacements`; ReplacementTransformer. Entries with a `path` are read
    /// when applied.
    Replacements(Vec<Replacement>),
}

/// What a transformer may consult: the kustomization it belongs to (files
/// are read relative to `dir`, messages name `origin`) and the transformer
/// configurations and schema in force.
pub(crate) struct Context<'a> {
    pub(crate) loader: &'a Loader,
    pub(crate) dir: &'a Path,
    pub(crate) origin: &'a str,
    pub(crate) config: &'a transform::config::Config,
    pub(crate) openapi: Option<&'a OpenApi>,
}

/// The transformers a kustomization's own fields ask for, in kustomize's order
/// (its `transformers` plugins run after these).
pub(crate) fn of_fields(kust: &Kustomization) -> Vec<Transformer> {
    let mut out: Vec<Transformer> = Vec::new();
    out.extend(
        kust.patches_strategic_merge
            .iter()
            .cloned()
            .map(Transformer::StrategicMerge),
    );
    out.extend(kust.patches.iter().cloned().map(Transformer::Patch));
    if let Some(ns) = &kust.namespace {
        out.push(Transformer::Namespace(ns.clone()));
    }
    out.push(Transformer::PrefixSuffix {
        prefix: kust.name_prefix.clone().unwrap_or_default(),
        suffix: kust.name_suffix.clone().unwrap_or_default(),
        specs: Vec::new(),
    });
    out.push(Transformer::CommonLabels(kust.common_labels.clone()));
    out.extend(kust.labels.iter().cloned().map(Transformer::Labels));
    out.push(Transformer::CommonAnnotations(
        kust.common_annotations.clone(),
    ));
    out.extend(
        kust.patches_json6902
            .iter()
            .cloned()
            .map(Transformer::Patch),
    );
    out.push(Transformer::Replicas(kust.replicas.clone()));
    out.push(Transformer::Images(kust.images.clone()));
    out.push(Transformer::Replacements(kust.replacements.clone()));
    out
}

/// Reads one built-in transformer plugin configuration (`apiVersion: builtin`).
pub(crate) fn of_plugin(config: &Value, origin: &str) -> Result<Transformer, BuildError> {
    let invalid = |e: serde_json::Error| BuildError::Invalid {
        path: origin.into(),
        field: "transformers".into(),
        message: e.to_string(),
    };
    let field = |f: &str| config.get(f).cloned();
    let target = || -> Result<Option<Target>, BuildError> {
        field("target")
            .map(serde_json::from_value)
            .transpose()
            .map_err(invalid)
    };
    let text = |f: &str| config.get(f).and_then(Value::as_str).map(str::to_string);
    let specs = || -> Result<Vec<FieldSpec>, BuildError> {
        Ok(field("fieldSpecs")
            .map(serde_json::from_value)
            .transpose()
            .map_err(invalid)?
            .unwrap_or_default())
    };
    Ok(match str_at(config, &["kind"]) {
        "PatchTransformer" => Transformer::Patch(Patch {
            path: text("path"),
            patch: text("patch"),
            target: target()?,
            options: field("options")
                .map(serde_json::from_value)
                .transpose()
                .map_err(invalid)?
                .unwrap_or_default(),
        }),
        "PatchJson6902Transformer" => {
            let inline = match config.get("jsonOp") {
                Some(Value::String(s)) => Some(s.clone()),
                Some(other) => Some(other.to_string()),
                None => None,
            };
            Transformer::Patch(Patch {
                path: text("path"),
                patch: inline,
                target: target()?,
                options: PatchOptions::default(),
            })
        }
        "PrefixSuffixTransformer" => {
            let specs = specs()?;
            if specs.iter().any(|s| s.path != "metadata/name") {
                return Err(BuildError::Unsupported {
                    path: origin.into(),
                    field: "PrefixSuffixTransformer.fieldSpecs (other than metadata/name)".into(),
                });
            }
            Transformer::PrefixSuffix {
                prefix: str_at(config, &["prefix"]).to_string(),
                suffix: str_at(config, &["suffix"]).to_string(),
                specs,
            }
        }
        kind @ ("AnnotationsTransformer" | "LabelTransformer") => {
            let pairs_field = if kind == "LabelTransformer" {
                "labels"
            } else {
                "annotations"
            };
            let pairs = field(pairs_field)
                .map(serde_json::from_value)
                .transpose()
                .map_err(invalid)?
                .unwrap_or_default();
            Transformer::AtFieldSpecs {
                pairs,
                specs: specs()?,
            }
        }
        "NamespaceTransformer" => {
            Transformer::Namespace(str_at(config, &["metadata", "namespace"]).to_string())
        }
        "ReplacementTransformer" => {
            let list = field("replacements").unwrap_or(Value::Array(vec![]));
            Transformer::Replacements(serde_json::from_value(list).map_err(invalid)?)
        }
        other => return Err(crate::plugins::unknown_plugin(origin, other, config)),
    })
}

/// Runs `t` over the accumulated resources.
pub(crate) fn apply(
    t: &Transformer,
    cx: &Context<'_>,
    acc: &mut Vec<Resource>,
) -> Result<(), BuildError> {
    let config = cx.config;
    match t {
        Transformer::Patch(p) => apply_patch(cx.loader, cx.dir, cx.origin, p, acc, cx.openapi)?,
        Transformer::StrategicMerge(p) => {
            let text = match p {
                Value::String(s) if !s.contains('\n') => {
                    let (_, bytes) = cx.loader.read(cx.dir, s)?;
                    String::from_utf8_lossy(&bytes).into_owned()
                }
                Value::String(s) => s.clone(),
                other => serde_yaml::to_string(other).unwrap_or_default(),
            };
            let parsed = patch::parse(&text, cx.origin)?;
            if matches!(&parsed, patch::ParsedPatch::Strategic(docs) if docs.is_empty()) {
                return Err(BuildError::Invalid {
                    path: cx.origin.into(),
                    field: "patchesStrategicMerge".into(),
                    message: "patch appears to be empty".into(),
                });
            }
            patch::apply(
                acc,
                &parsed,
                None,
                Default::default(),
                cx.origin,
                cx.openapi,
            )?;
        }
        Transformer::Namespace(ns) => {
            if !ns.is_empty() {
                transform::namespace::apply(acc, ns);
            }
        }
        Transformer::PrefixSuffix {
            prefix,
            suffix,
            specs,
        } => {
            if specs.is_empty() {
                transform::prefix_suffix::apply(acc, prefix, suffix);
            } else {
                prefix_suffix_selected(acc, prefix, suffix, specs);
            }
        }
        Transformer::CommonLabels(pairs) => {
            transform::labels::apply(acc, pairs, true, true);
            transform::config::add_at_specs(acc, &config.common_labels, pairs);
            transform::config::add_at_specs(acc, &config.template_labels, pairs);
            transform::config::add_at_specs(acc, &config.volume_claim_template_labels, pairs);
        }
        Transformer::Labels(l) => {
            transform::labels::apply(acc, &l.pairs, l.include_selectors, l.include_templates);
            transform::config::add_at_specs(acc, &l.fields, &l.pairs);
            if l.include_volume_claim_templates {
                let vct = FieldSpec {
                    kind: Some("StatefulSet".into()),
                    path: "spec/volumeClaimTemplates/metadata/labels".into(),
                    create: true,
                    ..Default::default()
                };
                transform::config::add_at_specs(acc, &[vct], &l.pairs);
            }
            transform::config::add_at_specs(acc, &config.labels, &l.pairs);
            if l.include_templates || l.include_selectors {
                transform::config::add_at_specs(acc, &config.template_labels, &l.pairs);
            }
            if l.include_selectors {
                transform::config::add_at_specs(acc, &config.common_labels, &l.pairs);
            }
        }
        Transformer::CommonAnnotations(pairs) => {
            transform::annotations::apply(acc, pairs);
            transform::config::add_at_specs(acc, &config.common_annotations, pairs);
        }
        Transformer::AtFieldSpecs { pairs, specs } => {
            transform::config::add_at_specs(acc, specs, pairs);
        }
        Transformer::Replicas(r) => transform::replicas::apply(acc, r, &config.replicas),
        Transformer::Images(i) => transform::images::apply(acc, i, &config.images),
        Transformer::Replacements(list) => {
            let mut resolved = Vec::new();
            for r in list {
                match &r.path {
                    Some(path) => resolved.extend(read_replacements(cx.loader, cx.dir, path)?),
                    None => resolved.push(r.clone()),
                }
            }
            transform::replacements::apply(acc, &resolved, cx.origin)?;
        }
    }
    Ok(())
}

/// Prefixes and suffixes the names of the resources `specs` select, keeping
/// every resource where it was.
fn prefix_suffix_selected(
    acc: &mut Vec<Resource>,
    prefix: &str,
    suffix: &str,
    specs: &[FieldSpec],
) {
    let mut selected: Vec<Resource> = Vec::new();
    let mut rest = Vec::new();
    let mut order = Vec::new();
    for r in acc.drain(..) {
        let hit = specs.iter().any(|s| s.applies(&r));
        order.push(hit);
        if hit { selected.push(r) } else { rest.push(r) }
    }
    transform::prefix_suffix::apply(&mut selected, prefix, suffix);
    let (mut sel, mut other) = (selected.into_iter(), rest.into_iter());
    for hit in order {
        let next = if hit { sel.next() } else { other.next() };
        acc.extend(next);
    }
}

/// Applies one patch (inline or from a file) to the resources it targets.
pub(crate) fn apply_patch(
    loader: &Loader,
    dir: &Path,
    origin: &str,
    p: &Patch,
    acc: &mut Vec<Resource>,
    openapi: Option<&OpenApi>,
) -> Result<(), BuildError> {
    let (text, from) = match (&p.path, &p.patch) {
        (Some(path), None) => {
            let (full, bytes) = loader.read(dir, path)?;
            (
                String::from_utf8_lossy(&bytes).into_owned(),
                loader.show(&full),
            )
        }
        (None, Some(inline)) => (inline.clone(), origin.to_string()),
        _ => {
            return Err(BuildError::Invalid {
                path: origin.into(),
                field: "patches".into(),
                message: "a patch needs exactly one of 'path' and 'patch'".into(),
            });
        }
    };
    let parsed = patch::parse(&text, &from)?;
    patch::apply(acc, &parsed, p.target.as_ref(), p.options, &from, openapi)
}

/// Reads a file of replacements (one per document, or lists of them).
fn read_replacements(
    loader: &Loader,
    dir: &Path,
    path: &str,
) -> Result<Vec<Replacement>, BuildError> {
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
