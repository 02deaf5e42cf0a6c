//! A release's manifest: the chart rendered with its values (as Helm's
//! install or upgrade renders it), then post-rendered as Flux does:
//! `spec.postRenderers` (kustomize patches and images), `commonMetadata`,
//! and the labels naming the HelmRelease on every object.

use std::collections::BTreeMap;

use ferroflux_api::helm::v2::HelmRelease;
use ferroflux_helm::manifest::Hook as RenderedHook;
use ferroflux_helm::release::{self, Chart as StoredChart};
use ferroflux_helm::{TemplateOptions, template};
use kube::ResourceExt;
use serde_json::{Map, Value, json};

use crate::chart::{LoadedChart, NAME_LABEL, NAMESPACE_LABEL};

/// What the cluster tells templates through `.Capabilities`.
#[derive(Debug, Clone, Default)]
pub struct Capabilities {
    /// The API server's version (`None`: Helm's default).
    pub kube_version: Option<String>,
    /// `group/version` and `group/version/Kind` the cluster serves.
    pub api_versions: Vec<String>,
}

/// How a render runs beyond the chart and values.
#[derive(Clone, Default)]
pub struct RenderOptions {
    /// `.Capabilities` of the target cluster.
    pub caps: Capabilities,
    /// Skip `values.schema.json` (`disableSchemaValidation`).
    pub skip_schema_validation: bool,
    /// `lookup` against the target cluster (`None`: offline, empty maps).
    pub lookup: Option<ferroflux_helm::render::LiveLookup>,
}

/// A rendered, post-rendered release.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// What the release record stores.
    pub stored: release::Rendered,
    /// The objects of the manifest (hooks excluded), post-rendered.
    pub objects: Vec<Value>,
    /// The chart's CRD files (`crds/`), parsed.
    pub crds: Vec<Value>,
}

/// Renders `chart` with `values` for `hr` as Helm would for an install
/// (`is_upgrade` false) or an upgrade, then post-renders it. `Err` is the
/// message (Helm's words where it has them).
pub fn render(
    hr: &HelmRelease,
    chart: &LoadedChart,
    values: &Map<String, Value>,
    release_name: &str,
    namespace: &str,
    is_upgrade: bool,
    options: &RenderOptions,
) -> Result<Manifest, String> {
    let caps = &options.caps;
    let opts = TemplateOptions {
        release_name: release_name.to_string(),
        namespace: namespace.to_string(),
        kube_version: caps.kube_version.clone(),
        api_versions: caps.api_versions.clone(),
        is_upgrade,
        include_crds: false,
        skip_schema_validation: options.skip_schema_validation,
        lookup: options.lookup.clone(),
        ..TemplateOptions::default()
    };
    let rendered = template(&chart.chart, values, &opts).map_err(|e| e.to_string())?;
    let mut objects = Vec::new();
    let mut sources = Vec::new();
    for m in &rendered.manifests {
        if m.kind.is_empty() {
            continue;
        }
        let v: Value = serde_yaml::from_str(&m.content)
            .map_err(|e| format!("{}: YAML parse error: {e}", m.name))?;
        if v.is_null() {
            continue;
        }
        objects.push(v);
        sources.push(m.name.clone());
    }
    let objects = post_render(hr, objects)?;
    // A post-renderer may add or drop objects: name each by the template
    // it came from when that is still known.
    let manifest = manifest_text(&objects, &sources);
    let hooks = rendered.hooks.iter().map(stored_hook).collect();
    let mut crds = Vec::new();
    for f in chart.chart.crds() {
        let text = String::from_utf8_lossy(&f.data);
        for doc in ferroflux_helm::manifest::split_manifests(&text) {
            let v: Value = serde_yaml::from_str(&doc)
                .map_err(|e| format!("{}: YAML parse error: {e}", f.name))?;
            if v.is_object() {
                crds.push(v);
            }
        }
    }
    Ok(Manifest {
        stored: release::Rendered {
            chart: StoredChart::from_loaded(&chart.chart),
            config: values.clone(),
            manifest,
            hooks,
            notes: rendered.notes.clone(),
        },
        objects,
        crds,
    })
}

/// The manifest text Helm stores: each document under its `# Source:` line.
fn manifest_text(objects: &[Value], sources: &[String]) -> String {
    let mut out = String::new();
    for (n, o) in objects.iter().enumerate() {
        let yaml = serde_yaml::to_string(o).unwrap_or_default();
        out.push_str("---\n");
        if let Some(s) = sources.get(n) {
            out.push_str("# Source: ");
            out.push_str(s);
            out.push('\n');
        }
        out.push_str(&yaml);
        if !yaml.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

fn stored_hook(h: &RenderedHook) -> release::Hook {
    release::Hook {
        name: h.name.clone(),
        kind: h.kind.clone(),
        path: h.path.clone(),
        manifest: h.manifest.clone(),
        events: h.events.clone(),
        weight: h.weight,
        delete_policies: h.delete_policies.clone(),
        ..release::Hook::default()
    }
}

/// `spec.postRenderers`, then `commonMetadata`, then the labels naming the
/// HelmRelease, over the rendered objects.
pub fn post_render(hr: &HelmRelease, mut objects: Vec<Value>) -> Result<Vec<Value>, String> {
    for (n, pr) in hr.spec.post_renderers.iter().enumerate() {
        let Some(k) = &pr.kustomize else { continue };
        if k.patches.is_empty() && k.images.is_empty() {
            continue;
        }
        let origin = format!("spec.postRenderers[{n}].kustomize");
        let doc = json!({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "patches": k.patches,
            "images": k.images,
        });
        let kust = ferroflux_kustomize::kustomization_from_value(doc, &origin)
            .map_err(|e| format!("post-renderer {origin}: {e}"))?;
        objects = ferroflux_kustomize::build_objects(objects, kust, &Default::default())
            .map_err(|e| format!("post-renderer {origin}: {e}"))?;
    }
    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    let mut annotations: BTreeMap<String, String> = BTreeMap::new();
    if let Some(cm) = &hr.spec.common_metadata {
        labels.extend(cm.labels.clone());
        annotations.extend(cm.annotations.clone());
    }
    labels.insert(NAME_LABEL.into(), hr.name_any());
    labels.insert(NAMESPACE_LABEL.into(), hr.namespace().unwrap_or_default());
    for o in &mut objects {
        set_metadata(o, "labels", &labels);
        if !annotations.is_empty() {
            set_metadata(o, "annotations", &annotations);
        }
    }
    Ok(objects)
}

fn set_metadata(obj: &mut Value, field: &str, entries: &BTreeMap<String, String>) {
    let Some(o) = obj.as_object_mut() else { return };
    let meta = o.entry("metadata").or_insert_with(|| json!({}));
    let Some(meta) = meta.as_object_mut() else {
        return;
    };
    let map = meta.entry(field).or_insert_with(|| json!({}));
    if !map.is_object() {
        *map = json!({});
    }
    if let Some(m) = map.as_object_mut() {
        for (k, v) in entries {
            m.insert(k.clone(), Value::String(v.clone()));
        }
    }
}

/// `sha256:<hex>` of the post-renderers (empty when there are none), to see
/// whether they changed since the last release (Flux's digest rule).
pub fn post_renderers_digest(hr: &HelmRelease) -> Option<String> {
    if hr.spec.post_renderers.is_empty() {
        return None;
    }
    let v = serde_json::to_value(&hr.spec.post_renderers).ok()?;
    Some(crate::values::digest_value(&v))
}

/// `sha256:<hex>` of `spec.commonMetadata` (`None` when unset).
pub fn common_metadata_digest(hr: &HelmRelease) -> Option<String> {
    let cm = hr.spec.common_metadata.as_ref()?;
    let v = serde_json::to_value(cm).ok()?;
    Some(crate::values::digest_value(&v))
}
