//! What `helm template` (a client-only dry-run install) does with a loaded
//! chart: dependencies, values, schema, the `kubeVersion` check, rendering,
//! notes, hooks and the release manifest.

use std::collections::BTreeMap;

use ferroflux_gocompat::semver::{Constraints, Version};
use ferroflux_gotemplate::Limits;

use crate::chart::{Chart, LoadError};
use crate::manifest::{Hook, Manifest, manifest_text, sort_manifests};
use crate::objects::{DEFAULT_KUBE_VERSION, KubeVersion};
use crate::render::{EngineOptions, LiveLookup, ReleaseInfo, render};
use crate::values::{self, Values};

/// Options of a render, as `helm template` takes them.
#[derive(Debug, Clone)]
pub struct TemplateOptions {
    /// Release name.
    pub release_name: String,
    /// Namespace.
    pub namespace: String,
    /// `--kube-version` (Helm's default when `None`).
    pub kube_version: Option<String>,
    /// `--api-versions`, added to Helm's defaults.
    pub api_versions: Vec<String>,
    /// `--is-upgrade`.
    pub is_upgrade: bool,
    /// `--include-crds`: CRDs from `crds/` at the head of the manifest.
    pub include_crds: bool,
    /// Template limits.
    pub limits: Limits,
    /// `--skip-schema-validation`: `values.schema.json` files are not checked.
    pub skip_schema_validation: bool,
    /// `lookup` against a cluster (helm-controller's); `None` renders offline,
    /// every lookup an empty map, as `helm template`.
    pub lookup: Option<LiveLookup>,
}

impl Default for TemplateOptions {
    fn default() -> TemplateOptions {
        TemplateOptions {
            release_name: "release-name".into(),
            namespace: "default".into(),
            kube_version: None,
            api_versions: vec![],
            is_upgrade: false,
            include_crds: false,
            limits: Limits::default(),
            skip_schema_validation: false,
            lookup: None,
        }
    }
}

/// A rendered release.
#[derive(Debug, Clone)]
pub struct Rendered {
    /// Every non-partial template's output, keyed as Helm keys them (NOTES.txt included).
    pub templates: BTreeMap<String, String>,
    /// The top-level chart's rendered NOTES.txt.
    pub notes: String,
    /// Hook documents, sorted by kind.
    pub hooks: Vec<Hook>,
    /// Other documents, in install order.
    pub manifests: Vec<Manifest>,
    /// CRD files (`crds/` of every chart): source path and contents.
    pub crds: Vec<(String, String)>,
    /// The release manifest (CRDs first when asked for).
    pub manifest: String,
    /// The values the templates saw.
    pub values: Values,
}

/// Why rendering failed; the message is Helm's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The chart could not be loaded.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Dependencies or values could not be processed.
    #[error("{0}")]
    Values(String),
    /// Values do not satisfy a `values.schema.json`.
    #[error("{0}")]
    Schema(String),
    /// The chart's `kubeVersion` excludes the Kubernetes version.
    #[error("{0}")]
    KubeVersion(String),
    /// A template failed to parse or execute.
    #[error("{0}")]
    Render(String),
    /// A rendered document is not a Kubernetes object.
    #[error("{0}")]
    Manifest(String),
}

fn crds(c: &Chart, parent: Option<&str>, out: &mut Vec<(String, String)>) {
    let me = match parent {
        None => c.name().to_string(),
        Some(p) => format!("{p}/charts/{}", c.name()),
    };
    for f in c.crds() {
        out.push((
            format!("{me}/{}", f.name),
            String::from_utf8_lossy(&f.data).into_owned(),
        ));
    }
    for d in &c.dependencies {
        crds(d, Some(&me), out);
    }
}

/// Renders `chart` with `user` values as `helm template` does.
pub fn template(chart: &Chart, user: &Values, opts: &TemplateOptions) -> Result<Rendered, Error> {
    values::check_dependencies(chart).map_err(Error::Values)?;
    let mut chart = chart.clone();
    values::process_dependencies(&mut chart, user).map_err(Error::Values)?;
    let vals = values::coalesce_values(&chart, user).map_err(Error::Values)?;
    if !opts.skip_schema_validation {
        values::validate_schemas(&chart, &vals).map_err(Error::Schema)?;
    }
    let kube = KubeVersion::parse(opts.kube_version.as_deref().unwrap_or(DEFAULT_KUBE_VERSION))
        .map_err(Error::KubeVersion)?;
    let req = &chart.metadata.kube_version;
    if !req.is_empty() {
        let ok = match (Constraints::parse(req), Version::parse(&kube.normalized)) {
            (Ok(c), Ok(v)) => c.check(&v),
            _ => false,
        };
        if !ok {
            return Err(Error::KubeVersion(format!(
                "chart requires kubeVersion: {req} which is incompatible with Kubernetes {}",
                kube.normalized
            )));
        }
    }
    let engine = EngineOptions {
        release: ReleaseInfo {
            name: opts.release_name.clone(),
            namespace: opts.namespace.clone(),
            revision: 1,
            is_install: !opts.is_upgrade,
            is_upgrade: opts.is_upgrade,
        },
        kube_version: kube,
        api_versions: opts.api_versions.clone(),
        limits: opts.limits,
        strict: false,
        lookup: opts.lookup.clone(),
    };
    let templates = render(&chart, &vals, &engine).map_err(Error::Render)?;
    let notes_key = format!("{}/templates/NOTES.txt", chart.name());
    let mut notes = String::new();
    let mut files = BTreeMap::new();
    for (k, v) in &templates {
        if k.ends_with("NOTES.txt") {
            if *k == notes_key {
                notes = v.clone();
            }
            continue;
        }
        files.insert(k.clone(), v.clone());
    }
    let (hooks, manifests) = sort_manifests(&files).map_err(Error::Manifest)?;
    let mut crd_files = vec![];
    if opts.include_crds {
        crds(&chart, None, &mut crd_files);
    }
    let manifest = manifest_text(&crd_files, &manifests);
    Ok(Rendered {
        templates,
        notes,
        hooks,
        manifests,
        crds: crd_files,
        manifest,
        values: vals,
    })
}
