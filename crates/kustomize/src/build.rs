//! The build: a kustomization directory in, resources out.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::BuildError;
use crate::generators::{self, GenKind};
use crate::kustomization::{Generator, Kustomization};
use crate::loader::{LoadRestrictor, Loader, is_remote};
use crate::openapi::OpenApi;
use crate::order::{self, Reorder};
use crate::plugins;
use crate::resource::{Origin, Resource, str_at};
use crate::transform;
use crate::transformers;
use crate::yaml::parse_yaml_docs;

/// Options of a build, as `kustomize build`'s flags.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Output order when the kustomization has no `sortOptions` (`--reorder`).
    pub reorder: Reorder,
    /// Which files kustomizations may read (`--load-restrictor`).
    pub load_restrictor: LoadRestrictor,
}

/// Fields kustomize has that this engine does not implement; a kustomization that sets
/// one of them is refused, naming the field.
const UNSUPPORTED: &[&str] = &[
    "helmCharts",
    "helmGlobals",
    "helmChartInflationGenerator",
    "validators",
];

/// Builds the kustomization in `dir` (a path under `fs_root`; absolute paths in
/// kustomizations are read relative to `fs_root`, and nothing outside it is read) and
/// returns its resources in output order.
pub fn build(fs_root: &Path, dir: &Path, options: &BuildOptions) -> Result<Vec<Value>, BuildError> {
    let (loader, dir) = open(fs_root, dir, options)?;
    let (origin, kust) = load_kustomization(&loader, &dir)?;
    run(&loader, &dir, &origin, kust, Vec::new(), options)
}

/// Builds `kust` as if it were the kustomization file `file` (a path under `fs_root`,
/// which need not exist): its resources, patches and components are read relative to
/// the file's directory, and messages name the file. This is how a caller that owns the
/// kustomization (Flux's overlay of `spec.patches`, `spec.images`, ...) builds it
/// without writing it into the tree.
pub fn build_kustomization(
    fs_root: &Path,
    file: &Path,
    kust: Kustomization,
    options: &BuildOptions,
) -> Result<Vec<Value>, BuildError> {
    let dir = file.parent().unwrap_or(fs_root);
    let (loader, dir) = open(fs_root, dir, options)?;
    let name = file.file_name().unwrap_or_default();
    let origin = loader.show(&dir.join(name));
    run(&loader, &dir, &origin, kust, Vec::new(), options)
}

/// Builds `kust` over `objects`, with no file system: the objects are its resources
/// (before the kustomization's own `resources`, which, like every other field that
/// names a file, is refused). For transforming manifests made elsewhere, such as a
/// rendered Helm chart (a post-renderer's patches, images and labels).
pub fn build_objects(
    objects: Vec<Value>,
    kust: Kustomization,
    options: &BuildOptions,
) -> Result<Vec<Value>, BuildError> {
    let root = PathBuf::from("/");
    let loader = Loader {
        root: root.clone(),
        restrictor: options.load_restrictor,
        files: false,
    };
    let origin = "kustomization";
    let mut acc = Vec::with_capacity(objects.len());
    for doc in objects {
        for item in expand_list(doc) {
            if !item.is_object() {
                return Err(BuildError::Invalid {
                    path: origin.into(),
                    field: "-".into(),
                    message: "a resource must be a map".into(),
                });
            }
            add(&mut acc, Resource::new(item))?;
        }
    }
    run(&loader, &root, origin, kust, acc, options)
}

/// The loader of a build under `fs_root`, and `dir` resolved by it.
fn open(
    fs_root: &Path,
    dir: &Path,
    options: &BuildOptions,
) -> Result<(Loader, PathBuf), BuildError> {
    let root = std::fs::canonicalize(fs_root).map_err(|source| BuildError::Read {
        path: fs_root.display().to_string(),
        source,
    })?;
    let rel = dir.strip_prefix(fs_root).unwrap_or(dir);
    let loader = Loader {
        root,
        restrictor: options.load_restrictor,
        files: true,
    };
    let dir = loader.resolve(&loader.root.clone(), &format!("/{}", rel.display()))?;
    Ok((loader, dir))
}

/// The build of the top kustomization `kust` (of `dir`, named `origin`) over the
/// resources `acc` already holds.
fn run(
    loader: &Loader,
    dir: &Path,
    origin: &str,
    kust: Kustomization,
    mut acc: Vec<Resource>,
    options: &BuildOptions,
) -> Result<Vec<Value>, BuildError> {
    let mut stack = Walk::default();
    accumulate(loader, dir, origin, &kust, &mut acc, &mut stack)?;
    let mut resources = acc;

    // Content hashes, then every reference to a renamed resource.
    for r in &mut resources {
        if r.needs_hash {
            let hash = generators::content_hash(&r.value);
            let name = format!("{}-{hash}", r.name());
            r.set_name(name);
        }
    }
    transform::name_reference::apply(&mut resources, &stack.config.name_reference)?;
    transform::vars::apply(&mut resources, &stack.vars, &loader.show(dir))?;

    // Sort options are reported against the directory, as kustomize does.
    let shown_dir = loader.show(dir);
    let (mut first, mut last): (Vec<String>, Vec<String>) = (
        order::ORDER_FIRST.iter().map(|s| s.to_string()).collect(),
        order::ORDER_LAST.iter().map(|s| s.to_string()).collect(),
    );
    let mut reorder = options.reorder.clone();
    if let Some(so) = &kust.sort_options {
        match so.order.as_deref() {
            Some("legacy") => {
                reorder = Reorder::Legacy;
                if let Some(l) = &so.legacy_sort_options {
                    first = l.order_first.clone();
                    last = l.order_last.clone();
                }
            }
            Some("fifo") => {
                if so.legacy_sort_options.is_some() {
                    return Err(BuildError::other(
                        &shown_dir,
                        "the field 'sortOptions.legacySortOptions' is set but the selected \
                         sort order is 'fifo', not 'legacy'",
                    ));
                }
                reorder = Reorder::None;
            }
            _ => {
                return Err(BuildError::other(
                    &shown_dir,
                    "the field 'sortOptions.order' must be one of [fifo, legacy]",
                ));
            }
        }
    }
    if reorder == Reorder::Legacy {
        order::legacy_sort(&mut resources, &first, &last);
    }
    // Local configuration (`config.kubernetes.io/local-config: "true"`) is not output.
    let local = |v: &Value| {
        str_at(
            v,
            &[
                "metadata",
                "annotations",
                "config.kubernetes.io/local-config",
            ],
        ) == "true"
    };
    Ok(resources
        .into_iter()
        .map(|r| r.value)
        .filter(|v| !local(v))
        .collect())
}

/// Reads and checks the kustomization of `dir`.
fn load_kustomization(loader: &Loader, dir: &Path) -> Result<(String, Kustomization), BuildError> {
    let file = loader.kustomization_file(dir)?;
    let origin = loader.show(&file);
    let text = std::fs::read_to_string(&file).map_err(|source| BuildError::Read {
        path: origin.clone(),
        source,
    })?;
    let kust = parse_kustomization(&text, &origin)?;
    Ok((origin, kust))
}

/// Reads a kustomization file's text as `kustomize build` does (only its first
/// document; field names case-insensitive; unknown and unsupported fields refused,
/// naming them). `origin` names the file in errors.
pub fn parse_kustomization(text: &str, origin: &str) -> Result<Kustomization, BuildError> {
    let docs = match parse_yaml_docs(text, origin) {
        Err(BuildError::Invalid { .. }) if text.contains('\n') => {
            // kustomize accepts a top-level line repeated verbatim (a header written twice).
            let mut seen = std::collections::HashSet::new();
            let deduped: Vec<&str> = text
                .lines()
                .filter(|l| {
                    l.starts_with(' ') || l.starts_with('-') || !l.contains(": ") || seen.insert(*l)
                })
                .collect();
            parse_yaml_docs(&deduped.join("\n"), origin)?
        }
        other => other?,
    };
    let doc = docs.into_iter().next().unwrap_or(Value::Object(Map::new()));
    kustomization_from_value(doc, origin)
}

/// Reads a kustomization document already parsed (as [`parse_kustomization`] does
/// with the first document of a file).
pub fn kustomization_from_value(doc: Value, origin: &str) -> Result<Kustomization, BuildError> {
    let doc = canonical_keys(doc);
    let kust: Kustomization = serde_json::from_value(doc).map_err(|e| BuildError::Invalid {
        path: origin.into(),
        field: "-".into(),
        message: e.to_string(),
    })?;
    if kust.kind.as_deref() == Some("Component")
        && kust
            .api_version
            .as_deref()
            .is_some_and(|v| v != "kustomize.config.k8s.io/v1alpha1")
    {
        return Err(BuildError::Invalid {
            path: origin.into(),
            field: "apiVersion".into(),
            message: "apiVersion for Component should be kustomize.config.k8s.io/v1alpha1".into(),
        });
    }
    for field in UNSUPPORTED {
        if kust.other.get(*field).is_some_and(|v| !v.is_null()) {
            return Err(BuildError::Unsupported {
                path: origin.into(),
                field: (*field).into(),
            });
        }
    }
    // Kustomize decodes strictly: a misspelt field is an error, not a no-op.
    const KNOWN_ELSEWHERE: &[&str] = &["metadata", "imageTags"];
    if let Some(field) = kust
        .other
        .keys()
        .find(|k| !KNOWN_ELSEWHERE.contains(&k.as_str()) && !UNSUPPORTED.contains(&k.as_str()))
    {
        return Err(BuildError::Invalid {
            path: origin.into(),
            field: field.clone(),
            message: format!("invalid Kustomization: unknown field \"{field}\""),
        });
    }
    Ok(kust)
}

/// The top-level fields of a kustomization, as spelled canonically.
const FIELDS: &[&str] = &[
    "apiVersion",
    "kind",
    "resources",
    "bases",
    "components",
    "namespace",
    "namePrefix",
    "nameSuffix",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "images",
    "replicas",
    "patches",
    "patchesStrategicMerge",
    "patchesJson6902",
    "configMapGenerator",
    "secretGenerator",
    "generatorOptions",
    "sortOptions",
    "vars",
    "replacements",
    "buildMetadata",
    "generators",
    "transformers",
    "configurations",
    "openapi",
    "crds",
];

/// Kustomize reads field names case-insensitively (as Go's JSON decoding does): map
/// `nameprefix` to `namePrefix` and so on.
fn canonical_keys(doc: Value) -> Value {
    let Value::Object(map) = doc else { return doc };
    let map = map
        .into_iter()
        .map(|(k, v)| {
            let canon = FIELDS.iter().find(|f| f.eq_ignore_ascii_case(&k));
            (canon.map(|c| c.to_string()).unwrap_or(k), v)
        })
        .collect();
    Value::Object(map)
}

/// Builds `dir`; `component` says whether it may be a Component.
fn build_dir(
    loader: &Loader,
    dir: &Path,
    stack: &mut Walk,
    component: bool,
) -> Result<(Vec<Resource>, Kustomization), BuildError> {
    let (origin, kust) = load_kustomization(loader, dir)?;
    let is_component = kust.kind.as_deref() == Some("Component");
    if is_component && !component {
        return Err(BuildError::other(
            &origin,
            format!(
                "expected kind != 'Component' for path '{}'",
                loader.show(dir)
            ),
        ));
    }
    let mut acc = Vec::new();
    accumulate(loader, dir, &origin, &kust, &mut acc, stack)?;
    Ok((acc, kust))
}

/// What the walk over the kustomization tree carries along.
#[derive(Debug, Default)]
struct Walk {
    /// The directories being built, outermost first (to find cycles).
    dirs: Vec<PathBuf>,
    /// Transformer configurations seen so far.
    config: transform::config::Config,
    /// The custom OpenAPI schema in force.
    openapi: Option<std::sync::Arc<OpenApi>>,
    /// Every `vars` entry seen.
    vars: Vec<crate::transform::vars::Var>,
}

/// Adds a resource, refusing a second one with the same id.
fn add(acc: &mut Vec<Resource>, r: Resource) -> Result<(), BuildError> {
    let id = r.id();
    if acc.iter().any(|x| x.id() == id) {
        return Err(BuildError::Conflict { id: id.to_string() });
    }
    acc.push(r);
    Ok(())
}

/// [`add`] with the ids of `acc` kept in `ids`: constant time per resource.
fn add_indexed(
    acc: &mut Vec<Resource>,
    ids: &mut std::collections::HashSet<crate::resource::ResId>,
    r: Resource,
) -> Result<(), BuildError> {
    let id = r.id();
    if !ids.insert(id.clone()) {
        return Err(BuildError::Conflict { id: id.to_string() });
    }
    acc.push(r);
    Ok(())
}

/// Runs a kustomization (or component) in `dir` over the accumulated resources `acc`.
fn accumulate(
    loader: &Loader,
    dir: &Path,
    origin: &str,
    kust: &Kustomization,
    acc: &mut Vec<Resource>,
    stack: &mut Walk,
) -> Result<(), BuildError> {
    // Compared by where they really are: through a symlink (`self -> .`) the
    // same directory comes back under an ever longer name, and the cycle
    // would only end at the kernel's limit on links, with that name in the
    // message.
    let real = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if stack.dirs.contains(&real) {
        return Err(BuildError::Cycle {
            path: loader.show(dir),
        });
    }
    stack.dirs.push(real);
    let result = accumulate_inner(loader, dir, origin, kust, acc, stack);
    stack.dirs.pop();
    result
}

fn accumulate_inner(
    loader: &Loader,
    dir: &Path,
    origin: &str,
    kust: &Kustomization,
    acc: &mut Vec<Resource>,
    stack: &mut Walk,
) -> Result<(), BuildError> {
    for c in &kust.configurations {
        let (full, bytes) = loader.read(dir, c)?;
        let shown = loader.show(&full);
        for doc in parse_yaml_docs(&String::from_utf8_lossy(&bytes), &shown)? {
            let config: transform::config::Config =
                serde_json::from_value(doc).map_err(|e| BuildError::Invalid {
                    path: shown.clone(),
                    field: "configurations".into(),
                    message: e.to_string(),
                })?;
            if let Some(section) = config.other.keys().next() {
                return Err(BuildError::Unsupported {
                    path: shown,
                    field: format!("configurations: {section}"),
                });
            }
            stack.config.extend(config);
        }
    }
    let own_openapi = load_openapi(loader, dir, origin, kust)?;
    if let Some(own) = &own_openapi {
        stack.openapi = own.clone();
    }
    for c in &kust.crds {
        let (full, bytes) = loader.read(dir, c)?;
        let shown = loader.show(&full);
        for doc in parse_yaml_docs(&String::from_utf8_lossy(&bytes), &shown)? {
            let refs = transform::config::crd_name_refs(&doc);
            stack.config.name_reference.extend(refs);
        }
    }
    // resources (and legacy bases); only `add_indexed` changes `acc` in this loop, so
    // the set of ids stays in step with it (a linear scan per resource is quadratic).
    let mut ids: std::collections::HashSet<crate::resource::ResId> =
        acc.iter().map(|r| r.id()).collect();
    for entry in kust.resources.iter().chain(&kust.bases) {
        if is_remote(entry) {
            return Err(BuildError::Remote {
                path: origin.into(),
                field: "resources".into(),
                url: entry.clone(),
            });
        }
        let path = loader.resolve(dir, entry)?;
        if path.is_dir() {
            let (sub, _) = build_dir(loader, &path, stack, false).map_err(|e| match e {
                e @ (BuildError::Cycle { .. } | BuildError::Conflict { .. }) => e,
                e => BuildError::other(origin, format!("accumulating resources: {e}")),
            })?;
            for r in sub {
                add_indexed(acc, &mut ids, r)?;
            }
            continue;
        }
        let (_, bytes) = loader.read(dir, entry).map_err(|e| match e {
            BuildError::Read { .. } => {
                BuildError::other(origin, format!("accumulating resources: {e}"))
            }
            e => e,
        })?;
        let shown = loader.show(&path);
        let text = String::from_utf8(bytes).map_err(|_| BuildError::Invalid {
            path: shown.clone(),
            field: "-".into(),
            message: "not UTF-8".into(),
        })?;
        for doc in parse_yaml_docs(&text, &shown)? {
            for item in expand_list(doc) {
                if !item.is_object() {
                    return Err(BuildError::Invalid {
                        path: shown.clone(),
                        field: "-".into(),
                        message: "a resource must be a map".into(),
                    });
                }
                // Only kustomize's own Kustomization; Flux's
                // (kustomize.toolkit.fluxcd.io) is an ordinary resource.
                let api_version = str_at(&item, &["apiVersion"]);
                if str_at(&item, &["kind"]) == "Kustomization"
                    && (api_version.is_empty()
                        || api_version.starts_with("kustomize.config.k8s.io/"))
                {
                    return Err(BuildError::other(
                        origin,
                        format!(
                            "accumulating resources: '{shown}' is a kustomization file, \
                                 not a resource; must build at directory"
                        ),
                    ));
                }
                let mut r = Resource::new(item);
                r.origin = Some(Origin::File(path.clone()));
                add_indexed(acc, &mut ids, r)?;
            }
        }
    }
    // components
    for entry in &kust.components {
        if is_remote(entry) {
            return Err(BuildError::Remote {
                path: origin.into(),
                field: "components".into(),
                url: entry.clone(),
            });
        }
        let path = loader.resolve(dir, entry)?;
        if !path.is_dir() {
            return Err(BuildError::other(
                origin,
                format!(
                    "accumulating components: must build at directory: '{}'",
                    loader.show(&path)
                ),
            ));
        }
        let (corigin, ckust) = load_kustomization(loader, &path)?;
        if ckust.kind.as_deref() != Some("Component") {
            return Err(BuildError::other(
                origin,
                format!(
                    "accumulating components: accumulateDirectory: \"expected kind 'Component' for path '{}' but got '{}'\"",
                    loader.show(&path),
                    ckust.kind.as_deref().unwrap_or("Kustomization")
                ),
            ));
        }
        accumulate(loader, &path, &corigin, &ckust, acc, stack)?;
    }
    if let Some(own) = own_openapi {
        // This kustomization's schema wins over its bases'.
        stack.openapi = own;
    }
    // generators
    let mut gens: Vec<(GenKind, Generator)> = kust
        .config_map_generator
        .iter()
        .map(|g| (GenKind::ConfigMap, g.clone()))
        .chain(
            kust.secret_generator
                .iter()
                .map(|g| (GenKind::Secret, g.clone())),
        )
        .collect();
    for config in plugin_configs(loader, dir, origin, &kust.generators, stack)? {
        gens.push(plugins::generator(&config, origin)?);
    }
    for (kind, g) in &gens {
        let (kind, g) = (*kind, g);
        let mut r = generators::generate(
            loader,
            dir,
            origin,
            kind,
            g,
            kust.generator_options.as_ref(),
        )?;
        let kind_name = match kind {
            GenKind::ConfigMap => "ConfigMapGenerator",
            GenKind::Secret => "SecretGenerator",
        };
        r.origin = Some(Origin::Generator(
            loader.root.join(origin.trim_start_matches('/')),
            kind_name,
        ));
        match r.behavior.as_deref() {
            Some("create") | None => {
                let id = r.id();
                let norm = |ns: &str| {
                    if ns.is_empty() {
                        "default".to_string()
                    } else {
                        ns.to_string()
                    }
                };
                if acc.iter().any(|x| {
                    let xid = x.id();
                    xid.kind == id.kind
                        && xid.name == id.name
                        && norm(&xid.namespace) == norm(&id.namespace)
                }) {
                    return Err(BuildError::Invalid {
                        path: origin.into(),
                        field: format!("{}[{}]", kind.field(), id.name),
                        message: format!("{id} already exists: behavior must be merge or replace"),
                    });
                }
                add(acc, r)?
            }
            Some(b @ ("merge" | "replace")) => {
                let id = r.id();
                let Some(existing) = acc.iter_mut().find(|x| {
                    x.kind() == id.kind
                        && x.had_name(&id.name)
                        && (id.namespace.is_empty() || x.id().namespace == id.namespace)
                }) else {
                    return Err(BuildError::other(
                        origin,
                        format!("id {id} does not exist; cannot merge or replace"),
                    ));
                };
                if b == "merge" {
                    generators::merge_into(&mut existing.value, &r.value);
                } else {
                    // The base's metadata stays; the contents are the overlay's.
                    if let Some(obj) = existing.value.as_object_mut() {
                        for field in ["data", "binaryData", "stringData", "immutable"] {
                            obj.remove(field);
                        }
                    }
                    generators::merge_into(&mut existing.value, &r.value);
                    existing.origin = r.origin.clone();
                }
                existing.needs_hash = existing.needs_hash && r.needs_hash;
            }
            Some(other) => {
                return Err(BuildError::Invalid {
                    path: origin.into(),
                    field: "behavior".into(),
                    message: format!(
                        "unknown behavior '{other}': behavior must be merge or replace"
                    ),
                });
            }
        }
    }
    // transformers: the kustomization's fields in kustomize's order, then its
    // `transformers` plugins (whose directories are built only now, as kustomize does)
    for t in transformers::of_fields(kust) {
        let cx = context(loader, dir, origin, stack);
        transformers::apply(&t, &cx, acc)?;
    }
    for config in plugin_configs(loader, dir, origin, &kust.transformers, stack)? {
        let t = transformers::of_plugin(&config, origin)?;
        let cx = context(loader, dir, origin, stack);
        transformers::apply(&t, &cx, acc)?;
    }
    transform::name_reference::apply(acc, &stack.config.name_reference)?;
    for meta in &kust.build_metadata {
        match meta.as_str() {
            "originAnnotations" => origin_annotations(acc, dir),
            other => {
                return Err(BuildError::Unsupported {
                    path: origin.into(),
                    field: format!("buildMetadata: {other}"),
                });
            }
        }
    }
    for var in &kust.vars {
        if stack.vars.iter().any(|v| v.name == var.name) {
            return Err(BuildError::Invalid {
                path: origin.into(),
                field: "vars".into(),
                message: format!("var '{}' already encountered", var.name),
            });
        }
        let mut var = var.clone();
        if let [r] = transform::vars::candidates(&var, acc).as_slice() {
            var.bound = Some(r.uid);
        }
        stack.vars.push(var);
    }
    Ok(())
}

/// What the transformers of the kustomization in `dir` work with.
fn context<'a>(
    loader: &'a Loader,
    dir: &'a Path,
    origin: &'a str,
    stack: &'a Walk,
) -> transformers::Context<'a> {
    transformers::Context {
        loader,
        dir,
        origin,
        config: &stack.config,
        openapi: stack.openapi.as_deref(),
    }
}

/// The plugin configurations of a `generators` or `transformers` list: inline YAML,
/// files, or kustomization directories whose resources are configurations.
fn plugin_configs(
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

/// Reads the kustomization's `openapi`: `None` without one, `Some(None)` for the
/// built-in schema (`version: v1.21.2`, the only one there is), else the document at
/// `path` (JSON or YAML).
#[allow(clippy::type_complexity)]
fn load_openapi(
    loader: &Loader,
    dir: &Path,
    origin: &str,
    kust: &Kustomization,
) -> Result<Option<Option<std::sync::Arc<OpenApi>>>, BuildError> {
    let Some(spec) = &kust.openapi else {
        return Ok(None);
    };
    let path = spec.get("path").and_then(Value::as_str);
    if path.is_some() && spec.get("version").is_some() {
        return Err(BuildError::Invalid {
            path: origin.into(),
            field: "openapi".into(),
            message: "builtin version and custom schema provided, cannot use both".into(),
        });
    }
    let Some(path) = path else {
        let version = spec
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or("v1.21.2");
        if version != "v1.21.2" {
            return Err(BuildError::Invalid {
                path: origin.into(),
                field: "openapi.version".into(),
                message: format!("unsupported builtin schema version '{version}' (have v1.21.2)"),
            });
        }
        return Ok(Some(None));
    };
    let (full, bytes) = loader.read(dir, path)?;
    let docs = parse_yaml_docs(&String::from_utf8_lossy(&bytes), &loader.show(&full))?;
    Ok(Some(
        docs.first().map(|d| std::sync::Arc::new(OpenApi::parse(d))),
    ))
}

/// `path` relative to the directory `from` (both absolute, lexically normal).
fn relative(from: &Path, path: &Path) -> String {
    let a: Vec<_> = from.components().collect();
    let b: Vec<_> = path.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    for c in &b[common..] {
        out.push(c);
    }
    out.display().to_string()
}

/// Adds the `config.kubernetes.io/origin` annotation, paths relative to `dir`.
fn origin_annotations(acc: &mut [Resource], dir: &Path) {
    for r in acc {
        let text = match &r.origin {
            Some(Origin::File(p)) => format!("path: {}\n", relative(dir, p)),
            Some(Origin::Generator(k, kind)) => format!(
                "configuredIn: {}\nconfiguredBy:\n  apiVersion: builtin\n  kind: {kind}\n",
                relative(dir, k)
            ),
            None => continue,
        };
        let Some(meta) = r.value.get_mut("metadata").and_then(Value::as_object_mut) else {
            continue;
        };
        let annotations = meta
            .entry("annotations")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(a) = annotations {
            a.insert("config.kubernetes.io/origin".into(), Value::String(text));
        }
    }
}

/// A `List` (kind ending in `List` with `items`) becomes its items.
fn expand_list(doc: Value) -> Vec<Value> {
    let kind = str_at(&doc, &["kind"]);
    if kind.ends_with("List")
        && let Some(Value::Array(items)) = doc.get("items")
    {
        return items.clone();
    }
    vec![doc]
}
