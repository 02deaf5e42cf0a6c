//! Helm's engine: every template of a chart and its (processed) subcharts in
//! one template set, each rendered with its chart's built-in objects.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use ferroflux_gotemplate::{Limits, Lookup, Templates, Value};

use crate::chart::Chart;
use crate::objects::{KubeVersion, Objects};
use crate::values::{Values, map_to_template};

/// `.Release`.
#[derive(Debug, Clone)]
pub struct ReleaseInfo {
    /// Release name.
    pub name: String,
    /// Namespace.
    pub namespace: String,
    /// Revision (1 for `helm template`).
    pub revision: i64,
    /// Install (not upgrade).
    pub is_install: bool,
    /// Upgrade.
    pub is_upgrade: bool,
}

/// Helm's `lookup apiVersion kind namespace name` against a cluster: the object as
/// the API server returns it (JSON), a list object (`{"apiVersion": "v1", "kind":
/// "SecretList", "items": [...]}`) when `name` is empty, and `null` (or `{}`) when
/// there is no such object or kind, which templates see as an empty map, as Helm
/// answers a NotFound. `Err(message)` fails the render as Helm does:
/// `error calling lookup: MESSAGE`.
///
/// Called synchronously on the rendering thread, once per `lookup` call; a client
/// backed by an async runtime blocks on it there (render inside `spawn_blocking`).
/// The callback decides what may be read and bounds what it returns.
pub type LookupFn =
    dyn Fn(&str, &str, &str, &str) -> Result<serde_json::Value, String> + Send + Sync;

/// A [`LookupFn`] shared by the options that carry it.
#[derive(Clone)]
pub struct LiveLookup(pub Arc<LookupFn>);

impl LiveLookup {
    /// Wraps a lookup callback.
    pub fn new(
        f: impl Fn(&str, &str, &str, &str) -> Result<serde_json::Value, String> + Send + Sync + 'static,
    ) -> LiveLookup {
        LiveLookup(Arc::new(f))
    }

    /// The hook gotemplate calls: the object converted as Kubernetes' unstructured
    /// decoder gives it to Helm (integers `int64`, other numbers `float64`).
    fn hook(&self) -> Lookup {
        let f = self.0.clone();
        Lookup(Rc::new(move |api, kind, ns, name| {
            f(api, kind, ns, name).map(|j| match j {
                serde_json::Value::Null => Value::map(BTreeMap::new()),
                j => unstructured(&j),
            })
        }))
    }
}

impl std::fmt::Debug for LiveLookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiveLookup")
    }
}

/// JSON as `unstructured.Unstructured` holds it: whole numbers are `int64`.
fn unstructured(j: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match j {
        J::Null => Value::Nil,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Int64(i),
            None => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        J::String(s) => Value::str(s),
        J::Array(a) => Value::list(a.iter().map(unstructured).collect()),
        J::Object(o) => Value::map(
            o.iter()
                .map(|(k, v)| (k.clone(), unstructured(v)))
                .collect(),
        ),
    }
}

/// What the engine needs beside the chart and values.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// `.Release`.
    pub release: ReleaseInfo,
    /// `.Capabilities.KubeVersion`.
    pub kube_version: KubeVersion,
    /// API versions added to Helm's defaults.
    pub api_versions: Vec<String>,
    /// Template limits (recursion, iterations, output, time).
    pub limits: Limits,
    /// `missingkey=error` (Helm's `--strict` lint mode).
    pub strict: bool,
    /// `lookup` against a cluster; `None` finds nothing (an empty map), as
    /// `helm template` and client-only dry runs.
    pub lookup: Option<LiveLookup>,
}

struct Renderable {
    text: String,
    ctx: Value,
    base_path: String,
}

fn full_path(parent: Option<&str>, name: &str) -> String {
    match parent {
        None => name.to_string(),
        Some(p) => format!("{p}/charts/{name}"),
    }
}

#[allow(clippy::too_many_arguments)]
fn collect(
    c: &Chart,
    parent_path: Option<&str>,
    parent_values: &Value,
    release: &Value,
    caps: &Value,
    objects: &Objects,
    out: &mut BTreeMap<String, Renderable>,
) -> Value {
    let is_root = parent_path.is_none();
    let values = if is_root {
        parent_values.clone()
    } else {
        match parent_values {
            Value::Map(m) => match m.borrow().get(c.name()) {
                Some(v @ Value::Map(_)) => v.clone(),
                _ => Value::map(BTreeMap::new()),
            },
            _ => Value::map(BTreeMap::new()),
        }
    };
    let subcharts = Value::map(BTreeMap::new());
    let mut next = BTreeMap::new();
    next.insert("Chart".to_string(), c.metadata.template_value(is_root));
    next.insert("Files".to_string(), objects.files(&c.files));
    next.insert("Release".to_string(), release.clone());
    next.insert("Capabilities".to_string(), caps.clone());
    next.insert("Values".to_string(), values.clone());
    next.insert("Subcharts".to_string(), subcharts.clone());
    let next = Value::map(next);
    let me = full_path(parent_path, c.name());
    for d in &c.dependencies {
        let child = collect(d, Some(&me), &values, release, caps, objects, out);
        if let Value::Map(s) = &subcharts {
            s.borrow_mut().insert(d.name().to_string(), child);
        }
    }
    for t in &c.templates {
        let base = t.name.rsplit('/').next().unwrap_or(&t.name);
        if c.is_library() && !base.starts_with('_') {
            continue;
        }
        out.insert(
            format!("{me}/{}", t.name),
            Renderable {
                text: String::from_utf8_lossy(&t.data).into_owned(),
                ctx: next.clone(),
                base_path: format!("{me}/templates"),
            },
        );
    }
    next
}

/// Helm's parse order: deeper paths first, then reverse lexical order, so a
/// later (shallower) file's `define` wins.
fn parse_order(keys: Vec<&String>) -> Vec<&String> {
    let mut k = keys;
    k.sort_by(|a, b| {
        let (ca, cb) = (a.matches('/').count(), b.matches('/').count());
        cb.cmp(&ca).then_with(|| b.cmp(a))
    });
    k
}

/// Renders every non-partial template of `chart` (already processed for
/// dependencies) with `values` (already coalesced): template key → output.
pub fn render(
    chart: &Chart,
    values: &Values,
    opts: &EngineOptions,
) -> Result<BTreeMap<String, String>, String> {
    let objects = Objects::new();
    let mut rel = BTreeMap::new();
    rel.insert("Name".to_string(), Value::str(&opts.release.name));
    rel.insert("Namespace".to_string(), Value::str(&opts.release.namespace));
    rel.insert(
        "IsUpgrade".to_string(),
        Value::Bool(opts.release.is_upgrade),
    );
    rel.insert(
        "IsInstall".to_string(),
        Value::Bool(opts.release.is_install),
    );
    rel.insert("Revision".to_string(), Value::Int(opts.release.revision));
    rel.insert("Service".to_string(), Value::str("Helm"));
    let release = Value::map(rel);
    let caps = objects.capabilities(&opts.kube_version, &opts.api_versions);
    let mut tpls = BTreeMap::new();
    collect(
        chart,
        None,
        &map_to_template(values),
        &release,
        &caps,
        &objects,
        &mut tpls,
    );

    let mut set = Templates::helm();
    set.limits = opts.limits;
    set.methods = Some(objects.methods());
    set.lookup = opts.lookup.as_ref().map(LiveLookup::hook);
    if opts.strict {
        set.missing_key = ferroflux_gotemplate::MissingKey::Error;
    }
    let order = parse_order(tpls.keys().collect());
    for k in &order {
        set.parse(k, &tpls[*k].text).map_err(|e| e.helm_message())?;
    }
    let mut out = BTreeMap::new();
    for k in order {
        let base = k.rsplit('/').next().unwrap_or(k);
        if base.starts_with('_') {
            continue;
        }
        let r = &tpls[k];
        if let Value::Map(m) = &r.ctx {
            let mut t = BTreeMap::new();
            t.insert("Name".to_string(), Value::str(k));
            t.insert("BasePath".to_string(), Value::str(&r.base_path));
            m.borrow_mut().insert("Template".to_string(), Value::map(t));
        }
        let s = set.execute(k, &r.ctx).map_err(|e| e.helm_message())?;
        out.insert(k.clone(), s);
    }
    Ok(out)
}
