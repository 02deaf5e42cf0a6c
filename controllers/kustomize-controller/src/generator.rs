//! What Flux's kustomize-controller does with a source artifact around `kustomize build`
//! (fluxcd/pkg `kustomize/kustomize_generator.go` and the controller's `build`):
//!
//! 1. resolve `spec.path` inside the artifact;
//! 2. when that directory has no kustomization file, generate one listing the
//!    Kubernetes manifests found below it;
//! 3. merge the Kustomization's overlay fields (`targetNamespace`, `namePrefix`,
//!    `nameSuffix`, `patches`, `components`, `images`, `buildMetadata`) into that
//!    kustomization, as Flux does;
//! 4. run the kustomize build and check that every object has an apiVersion, a kind and
//!    a name.
//!
//! Flux writes the merged kustomization into the tree and builds from disk; here it is
//! handed to the engine in memory, standing in for the directory's kustomization file,
//! so the artifact is never written and building the same directory twice gives the
//! same result.
//!
//! `spec.commonMetadata` is not part of the build: Flux sets those labels and
//! annotations on the objects' own metadata (never on selectors or templates) just
//! before applying, after post-build substitution. [`set_common_metadata`] does that.

use std::path::{Component, Path, PathBuf};

use ferroflux_api::kustomize::common::{CommonMetadata, Image, Patch, Selector};
use ferroflux_api::kustomize::v1::{BuildMetadataOption, KustomizationSpec};
use ferroflux_kustomize::{BuildError, BuildOptions, LoadRestrictor, Reorder};
use serde_json::Value;
use serde_yaml::{Mapping, Value as Yaml};

/// The file names kustomize recognises, in the order Flux looks for them.
const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Why generating or building the manifests failed. Paths are shown relative to the
/// artifact root with a leading `/`, as the kustomize build shows them.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// `spec.path` does not exist in the artifact.
    #[error("kustomization path not found: '{path}': {source}")]
    PathNotFound {
        /// `spec.path` as written.
        path: String,
        /// Why it could not be found.
        source: std::io::Error,
    },
    /// `spec.path` climbs out of the artifact with `..`, or leads out through a link.
    #[error("kustomization path '{path}' is outside the source artifact")]
    PathOutsideRoot {
        /// `spec.path` as written.
        path: String,
    },
    /// `spec.path` names a file.
    #[error("kustomization path '{path}' is not a directory")]
    NotADirectory {
        /// `spec.path` as written.
        path: String,
    },
    /// A file or directory of the artifact could not be read.
    #[error("reading '{path}': {source}")]
    Read {
        /// The file or directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A manifest picked up for a generated kustomization is not Kubernetes YAML.
    #[error("failed to decode Kubernetes YAML from '{path}': {message}")]
    Decode {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// The existing kustomization file is not valid YAML or not a mapping.
    #[error("{path}: {message}")]
    Kustomization {
        /// The kustomization file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// A `spec.components` entry is remote or absolute.
    #[error("spec.components: component path '{path}' must be local and relative")]
    ComponentPath {
        /// The entry.
        path: String,
    },
    /// The kustomize build failed.
    #[error("kustomize build failed: {0}")]
    Build(#[from] BuildError),
    /// A built object lacks an apiVersion, a kind or a name.
    #[error("failed to decode Kubernetes apiVersion, kind and name from: {object}")]
    InvalidObject {
        /// The object, as (possibly shortened) JSON.
        object: String,
    },
}

/// Builds the manifests of a Kustomization from the artifact extracted at `root`, as
/// Flux's kustomize-controller does before substitution and apply.
///
/// The kustomization of `spec.path`, with the overlay merged in, is built in memory
/// (see the module documentation). Output is in kustomize's input order unless the
/// kustomization sets `sortOptions`, because Flux builds without `--reorder`.
/// `spec.commonMetadata` is not applied here; see [`set_common_metadata`].
pub fn build(root: &Path, spec: &KustomizationSpec) -> Result<Vec<Value>, GenerateError> {
    let root = std::fs::canonicalize(root).map_err(|source| GenerateError::Read {
        path: root.display().to_string(),
        source,
    })?;
    let dir = resolve_path(&root, spec.path.as_deref().unwrap_or("./"))?;
    let (kfile, existing, mut kust) = load_or_generate(&root, &dir)?;
    apply_spec(&mut kust, spec, &root, &dir, existing)?;

    let origin = show(&root, &kfile);
    let doc = ferroflux_kustomize::yaml_to_json(Yaml::Mapping(kust));
    let kustomization = ferroflux_kustomize::kustomization_from_value(doc, &origin)?;
    let options = BuildOptions {
        reorder: Reorder::None,
        load_restrictor: LoadRestrictor::None,
    };
    let objects = ferroflux_kustomize::build_kustomization(&root, &kfile, kustomization, &options)?;
    for obj in &objects {
        check_object(obj)?;
    }
    Ok(objects)
}

/// The kustomization kustomize-controller generates for directory `dir` of the tree at
/// `root` when `dir` has no kustomization file (step 2 of the module documentation):
/// the file it stands for and its content, or `None` when `dir` has its own file.
/// Nothing is written. `ferroflux kustomize build` uses it so that a directory builds
/// on the command line as it does in the controller.
pub fn generated_kustomization(
    root: &Path,
    dir: &Path,
) -> Result<Option<(PathBuf, Value)>, GenerateError> {
    let canonical = |p: &Path| {
        std::fs::canonicalize(p).map_err(|source| GenerateError::Read {
            path: p.display().to_string(),
            source,
        })
    };
    let root = canonical(root)?;
    let dir = canonical(dir)?;
    if !dir.starts_with(&root) {
        return Err(GenerateError::PathOutsideRoot {
            path: dir.display().to_string(),
        });
    }
    if find_kustomization(&dir).is_some() {
        return Ok(None);
    }
    let (file, _, map) = load_or_generate(&root, &dir)?;
    Ok(Some((
        file,
        ferroflux_kustomize::yaml_to_json(Yaml::Mapping(map)),
    )))
}

/// Sets `spec.commonMetadata` on every object's own labels and annotations, replacing
/// entries with the same key (Flux's `SetCommonMetadata`, run after substitution and
/// just before apply). Selectors and pod templates are left alone.
pub fn set_common_metadata(objects: &mut [Value], meta: &CommonMetadata) {
    for obj in objects {
        let Value::Object(obj) = obj else { continue };
        let metadata = obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Default::default()));
        let Value::Object(metadata) = metadata else {
            continue;
        };
        for (field, entries) in [("labels", &meta.labels), ("annotations", &meta.annotations)] {
            if entries.is_empty() {
                continue;
            }
            let slot = metadata
                .entry(field)
                .or_insert_with(|| Value::Object(Default::default()));
            if !slot.is_object() {
                *slot = Value::Object(Default::default());
            }
            if let Value::Object(map) = slot {
                for (k, v) in entries {
                    map.insert(k.clone(), Value::String(v.clone()));
                }
            }
        }
    }
}

/// `path` relative to `root`, with a leading `/`.
pub(crate) fn show(root: &Path, path: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(rel) => format!("/{}", rel.display()),
        Err(_) => path.display().to_string(),
    }
}

/// Resolves `spec.path` inside `root` (canonical). An absolute path is read from the
/// artifact root, as Flux's secure join does; `..` that would leave the root is refused
/// (Flux silently stops at the root instead, which hides the mistake).
pub(crate) fn resolve_path(root: &Path, path: &str) -> Result<PathBuf, GenerateError> {
    let mut rel = PathBuf::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(part) => rel.push(part),
            Component::ParentDir => {
                if !rel.pop() {
                    return Err(GenerateError::PathOutsideRoot { path: path.into() });
                }
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    let dir = root.join(rel);
    let meta = std::fs::metadata(&dir).map_err(|source| GenerateError::PathNotFound {
        path: path.into(),
        source,
    })?;
    let real = std::fs::canonicalize(&dir).map_err(|source| GenerateError::PathNotFound {
        path: path.into(),
        source,
    })?;
    if !real.starts_with(root) {
        return Err(GenerateError::PathOutsideRoot { path: path.into() });
    }
    if !meta.is_dir() {
        return Err(GenerateError::NotADirectory { path: path.into() });
    }
    Ok(real)
}

/// The kustomization file of `dir` as Flux picks it: the first recognised name that
/// is not a directory.
pub(crate) fn find_kustomization(dir: &Path) -> Option<PathBuf> {
    KUSTOMIZATION_FILES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.exists() && !p.is_dir())
}

/// Reads the kustomization of `dir`, or generates one. Returns the file it is (or
/// stands for, when generated), whether it exists, and the content to edit.
fn load_or_generate(root: &Path, dir: &Path) -> Result<(PathBuf, bool, Mapping), GenerateError> {
    if let Some(file) = find_kustomization(dir) {
        let shown = show(root, &file);
        let invalid = |message: String| GenerateError::Kustomization {
            path: shown.clone(),
            message,
        };
        // Through a link the file must not reach anything outside the artifact.
        let real = std::fs::canonicalize(&file).map_err(|source| GenerateError::Read {
            path: shown.clone(),
            source,
        })?;
        if !real.starts_with(root) {
            return Err(invalid("the file links outside the source artifact".into()));
        }
        let bytes = std::fs::read(&real).map_err(|source| GenerateError::Read {
            path: shown.clone(),
            source,
        })?;
        let text =
            String::from_utf8(bytes).map_err(|_| invalid("the file is not UTF-8 text".into()))?;
        // Flux reads only the first document of a kustomization file.
        let first = serde_yaml::Deserializer::from_str(&text).next();
        let doc = match first {
            None => Yaml::Null,
            Some(d) => serde::Deserialize::deserialize(d).map_err(|e| invalid(e.to_string()))?,
        };
        let map = match doc {
            Yaml::Null => Mapping::new(),
            Yaml::Mapping(m) => m,
            _ => return Err(invalid("the kustomization is not a YAML mapping".into())),
        };
        // kustomize refuses a directory with more than one kustomization file; the
        // engine would say so reading the directory, but here it is handed the file.
        let files = KUSTOMIZATION_FILES
            .iter()
            .filter(|n| dir.join(n).is_file())
            .count();
        if files > 1 {
            return Err(GenerateError::Build(BuildError::KustomizationFile {
                dir: show(root, dir),
                message: "Found multiple kustomization files".into(),
            }));
        }
        return Ok((file, true, map));
    }

    let file = dir.join(KUSTOMIZATION_FILES[0]);
    // Something that is not a readable file (a dangling link, a directory) stands where
    // the generated kustomization would be; Flux would fail writing it.
    if std::fs::symlink_metadata(&file).is_ok() {
        return Err(GenerateError::Kustomization {
            path: show(root, &file),
            message: "exists but is not a readable kustomization file".into(),
        });
    }
    let resources = scan_manifests(root, dir)?;
    let mut map = Mapping::new();
    map.insert(
        "apiVersion".into(),
        "kustomize.config.k8s.io/v1beta1".into(),
    );
    map.insert("kind".into(), "Kustomization".into());
    if resources.is_empty() {
        // As Flux: an empty kustomization is a kustomize error, a namespace is not.
        map.insert("namespace".into(), "_placeholder".into());
    } else {
        let list = resources.into_iter().map(Yaml::String).collect();
        map.insert("resources".into(), Yaml::Sequence(list));
    }
    Ok((file, false, map))
}

/// Lists the resources of a generated kustomization, as Flux's `scanManifests`: every
/// `.yaml`/`.yml` file below `base` (depth first, in name order), except that a
/// directory with its own kustomization file is listed itself and not entered. Every
/// listed file must be Kubernetes YAML: Flux fails on any other YAML file (a CI
/// configuration, `.sops.yaml`) rather than skip it, and so does this.
pub(crate) fn scan_manifests(root: &Path, base: &Path) -> Result<Vec<String>, GenerateError> {
    let mut out = Vec::new();
    // An explicit stack instead of recursion: artifact trees are untrusted and may
    // nest arbitrarily deep.
    let mut stack = sorted_entries(root, base)?;
    stack.reverse();
    while let Some((path, file_type)) = stack.pop() {
        let rel = match path.strip_prefix(base) {
            Ok(r) => format!("./{}", r.display()),
            Err(_) => continue,
        };
        if file_type.is_dir() {
            if find_kustomization(&path).is_some() {
                out.push(rel);
            } else {
                let mut children = sorted_entries(root, &path)?;
                children.reverse();
                stack.extend(children);
            }
            continue;
        }
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        if !name.is_some_and(|n| n.ends_with(".yaml") || n.ends_with(".yml")) {
            continue;
        }
        check_manifest(root, &path)?;
        out.push(rel);
    }
    Ok(out)
}

fn sorted_entries(
    root: &Path,
    dir: &Path,
) -> Result<Vec<(PathBuf, std::fs::FileType)>, GenerateError> {
    let read_err = |source| GenerateError::Read {
        path: show(root, dir),
        source,
    };
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let file_type = entry.file_type().map_err(read_err)?;
        entries.push((entry.path(), file_type));
    }
    entries.sort_by(|a, b| a.0.file_name().cmp(&b.0.file_name()));
    Ok(entries)
}

/// Checks a manifest as kustomize's resource factory does: every non-empty document
/// is a mapping with a kind, and with a `metadata.name` unless it is a `...List`.
fn check_manifest(root: &Path, path: &Path) -> Result<(), GenerateError> {
    let shown = show(root, path);
    let decode = |message: String| GenerateError::Decode {
        path: shown.clone(),
        message,
    };
    // The artifact extractor refuses links that leave the root; this guards against
    // a tree that did not come through it.
    let real = std::fs::canonicalize(path).map_err(|source| GenerateError::Read {
        path: shown.clone(),
        source,
    })?;
    if !real.starts_with(root) {
        return Err(decode("the file links outside the source artifact".into()));
    }
    let text = std::fs::read_to_string(&real).map_err(|source| GenerateError::Read {
        path: shown.clone(),
        source,
    })?;
    for (i, doc) in serde_yaml::Deserializer::from_str(&text).enumerate() {
        let n = i + 1;
        let doc: Yaml = serde::Deserialize::deserialize(doc).map_err(|e| decode(e.to_string()))?;
        let map = match doc {
            Yaml::Null => continue,
            Yaml::Mapping(m) if m.is_empty() => continue,
            Yaml::Mapping(m) => m,
            _ => return Err(decode(format!("document {n} is not a YAML mapping"))),
        };
        let kind = map.get("kind").and_then(Yaml::as_str).unwrap_or("");
        if kind.is_empty() {
            return Err(decode(format!("missing kind in document {n}")));
        }
        if kind.ends_with("List") {
            continue;
        }
        let name = map
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Yaml::as_str)
            .unwrap_or("");
        if name.is_empty() {
            return Err(decode(format!(
                "missing metadata.name in document {n} (kind {kind})"
            )));
        }
    }
    Ok(())
}

/// Removes every spelling of `field` (kustomize reads field names case-insensitively)
/// and returns its value, preferring the exact spelling.
fn take_field(map: &mut Mapping, field: &str) -> Option<Yaml> {
    let keys: Vec<Yaml> = map
        .keys()
        .filter(|k| k.as_str().is_some_and(|s| s.eq_ignore_ascii_case(field)))
        .cloned()
        .collect();
    let mut found = None;
    for k in keys {
        let exact = k.as_str() == Some(field);
        if let Some(v) = map.remove(&k)
            && (exact || found.is_none())
        {
            found = Some(v);
        }
    }
    found
}

fn take_list(map: &mut Mapping, field: &str) -> Vec<Yaml> {
    match take_field(map, field) {
        Some(Yaml::Sequence(s)) => s,
        _ => Vec::new(),
    }
}

/// Merges the Kustomization's overlay fields into the kustomization, in Flux's order.
fn apply_spec(
    kust: &mut Mapping,
    spec: &KustomizationSpec,
    root: &Path,
    dir: &Path,
    existing: bool,
) -> Result<(), GenerateError> {
    let has_resources = kust
        .iter()
        .find(|(k, _)| {
            k.as_str()
                .is_some_and(|k| k.eq_ignore_ascii_case("resources"))
        })
        .is_some_and(|(_, v)| v.as_sequence().is_some_and(|s| !s.is_empty()));
    if existing && !has_resources {
        // As Flux, which does this so that a kustomization made only of generators,
        // bases or components is not rejected as empty. A side effect Flux has too:
        // the objects get `config.kubernetes.io/origin` annotations.
        take_field(kust, "buildMetadata");
        kust.insert(
            "buildMetadata".into(),
            Yaml::Sequence(vec!["originAnnotations".into()]),
        );
    }

    let mut set = |field: &str, value: &Option<String>| {
        if let Some(v) = value {
            take_field(kust, field);
            // Flux drops an empty string (`omitempty`), clearing the field.
            if !v.is_empty() {
                kust.insert(field.into(), v.as_str().into());
            }
        }
    };
    set("namespace", &spec.target_namespace);
    set("namePrefix", &spec.name_prefix);
    set("nameSuffix", &spec.name_suffix);

    if !spec.patches.is_empty() {
        let mut patches = take_list(kust, "patches");
        patches.extend(spec.patches.iter().map(patch_entry));
        kust.insert("patches".into(), Yaml::Sequence(patches));
    }

    let mut components = take_list(kust, "components");
    for c in &spec.components {
        if !is_local_relative(c) {
            return Err(GenerateError::ComponentPath { path: c.clone() });
        }
        if spec.ignore_missing_components && !exists_under(root, dir, c) {
            continue;
        }
        components.push(c.as_str().into());
    }
    if !components.is_empty() {
        kust.insert("components".into(), Yaml::Sequence(components));
    }

    if !spec.images.is_empty() {
        let mut images = take_list(kust, "images");
        for image in &spec.images {
            merge_image(&mut images, image);
        }
        kust.insert("images".into(), Yaml::Sequence(images));
    }

    if !spec.build_metadata.is_empty() {
        take_field(kust, "buildMetadata");
        let list = spec
            .build_metadata
            .iter()
            .map(|b| {
                Yaml::from(match b {
                    BuildMetadataOption::OriginAnnotations => "originAnnotations",
                    BuildMetadataOption::TransformerAnnotations => "transformerAnnotations",
                })
            })
            .collect();
        kust.insert("buildMetadata".into(), Yaml::Sequence(list));
    }
    Ok(())
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

fn patch_entry(p: &Patch) -> Yaml {
    let mut m = Mapping::new();
    m.insert("patch".into(), p.patch.as_str().into());
    if let Some(t) = &p.target {
        m.insert("target".into(), Yaml::Mapping(selector(t)));
    }
    Yaml::Mapping(m)
}

fn selector(t: &Selector) -> Mapping {
    let mut m = Mapping::new();
    let fields = [
        ("group", &t.group),
        ("version", &t.version),
        ("kind", &t.kind),
        ("name", &t.name),
        ("namespace", &t.namespace),
        ("labelSelector", &t.label_selector),
        ("annotationSelector", &t.annotation_selector),
    ];
    for (k, v) in fields {
        if let Some(v) = non_empty(v) {
            m.insert(k.into(), v.into());
        }
    }
    m
}

/// Adds `image` to the kustomization's `images`, or merges it into the entry with the
/// same name as Flux does: a new name replaces the name; a tag or digest replaces both
/// (so a stale digest never outlives a new tag).
fn merge_image(images: &mut Vec<Yaml>, image: &Image) {
    let new_name = non_empty(&image.new_name);
    let version = [
        ("newTag", non_empty(&image.new_tag)),
        ("digest", non_empty(&image.digest)),
    ];
    let existing = images.iter_mut().find_map(|i| match i {
        Yaml::Mapping(m) if m.get("name").and_then(Yaml::as_str) == Some(&image.name) => Some(m),
        _ => None,
    });
    let entry = match existing {
        Some(entry) => entry,
        None => {
            let mut m = Mapping::new();
            m.insert("name".into(), image.name.as_str().into());
            images.push(Yaml::Mapping(m));
            match images.last_mut() {
                Some(Yaml::Mapping(m)) => m,
                _ => return,
            }
        }
    };
    if let Some(n) = new_name {
        entry.insert("newName".into(), n.into());
    }
    if version.iter().any(|(_, v)| v.is_some()) {
        for (k, v) in version {
            entry.remove(k);
            if let Some(v) = v {
                entry.insert(k.into(), v.into());
            }
        }
    }
}

/// Flux's `IsLocalRelativePath`: not a remote reference and not absolute.
pub(crate) fn is_local_relative(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let remote = [
        "git::",
        "gh:",
        "ssh://",
        "https://",
        "http://",
        "git@",
        "github.com:",
        "github.com/",
    ]
    .iter()
    .any(|p| p.len() < lower.len() && lower.starts_with(p));
    let abs = |p: &str| p.starts_with('/');
    !remote && !abs(path) && !abs(lower.strip_prefix("file://").unwrap_or(&lower))
}

/// Whether `rel` (relative to `dir`) exists inside `root`; anything outside counts as
/// missing, as it does for Flux's secure file system.
fn exists_under(root: &Path, dir: &Path, rel: &str) -> bool {
    let mut path = dir.to_path_buf();
    for c in Path::new(rel).components() {
        match c {
            Component::Normal(p) => path.push(p),
            Component::ParentDir => {
                path.pop();
            }
            _ => {}
        }
    }
    std::fs::canonicalize(&path).is_ok_and(|real| real.starts_with(root))
}

/// Flux refuses built objects without apiVersion, kind or name.
fn check_object(obj: &Value) -> Result<(), GenerateError> {
    let has = |p: &str| {
        obj.pointer(p)
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty())
    };
    if has("/apiVersion") && has("/kind") && has("/metadata/name") {
        return Ok(());
    }
    let mut object = obj.to_string();
    if object.len() > 200 {
        let cut = (0..=200)
            .rev()
            .find(|i| object.is_char_boundary(*i))
            .unwrap_or(0);
        object.truncate(cut);
        object.push_str("...");
    }
    Err(GenerateError::InvalidObject { object })
}

#[cfg(test)]
#[path = "generator_tests.rs"]
mod tests;
