//! `ferroflux helm template [NAME] CHART`: what `helm template` prints, from a
//! chart directory or `.tgz`, with Helm's value flags, without the helm binary.
//!
//! The conformance runner of `../shared/conformance/helm` drives it with the
//! hidden `--render-dir` flag, which writes each template's output (named by
//! Helm's key), `_manifest.yaml` and `_notes.txt`:
//!
//! ```text
//! python3 run.py --cases . --cmd 'ferroflux helm template {release} {chart} -f {values} \
//!   -n {namespace} --kube-version {kube_version} --api-versions {api_versions} \
//!   --is-upgrade={is_upgrade} --render-dir {out}'
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ferroflux_helm::chart::{LoadLimits, load_archive, load_dir};
use ferroflux_helm::manifest::split_manifests;
use ferroflux_helm::{TemplateOptions, template};

/// The flags of `helm template`.
#[derive(clap::Args, Debug, Clone)]
pub struct TemplateArgs {
    /// Release name, or the chart when it is the only argument.
    #[arg(value_name = "NAME")]
    pub first: String,
    /// The chart: a directory or a `.tgz` file.
    #[arg(value_name = "CHART")]
    pub second: Option<String>,
    /// Values files (later ones win).
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<PathBuf>,
    /// Values as `a.b=c,d[0]=e` (numbers become int64).
    #[arg(long = "set")]
    pub set: Vec<String>,
    /// Values as `a.b=c`, every value a string.
    #[arg(long = "set-string")]
    pub set_string: Vec<String>,
    /// Values as `a.b=JSON` or a JSON object.
    #[arg(long = "set-json")]
    pub set_json: Vec<String>,
    /// Namespace.
    #[arg(short = 'n', long = "namespace", default_value = "default")]
    pub namespace: String,
    /// Kubernetes version for `.Capabilities.KubeVersion`.
    #[arg(long = "kube-version")]
    pub kube_version: Option<String>,
    /// API versions added to `.Capabilities.APIVersions` (comma-separated or repeated).
    #[arg(short = 'a', long = "api-versions", value_delimiter = ',')]
    pub api_versions: Vec<String>,
    /// Include the CRDs of `crds/` in the output.
    #[arg(long = "include-crds")]
    pub include_crds: bool,
    /// Set `.Release.IsUpgrade` (and clear `.Release.IsInstall`).
    #[arg(long = "is-upgrade", num_args = 0..=1, default_missing_value = "true",
          default_value = "false", action = clap::ArgAction::Set)]
    pub is_upgrade: bool,
    /// Write each document to a file under this directory instead of printing.
    #[arg(long = "output-dir")]
    pub output_dir: Option<PathBuf>,
    /// Only print the manifests from these templates (`templates/x.yaml`, globs allowed).
    #[arg(short = 's', long = "show-only")]
    pub show_only: Vec<String>,
    /// Write every template's output, `_manifest.yaml` and `_notes.txt` under
    /// this directory (for the conformance runner).
    #[arg(long = "render-dir", hide = true)]
    pub render_dir: Option<PathBuf>,
}

/// Runs `helm template`, writing what Helm prints to `out`.
pub fn run(args: &TemplateArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let (name, chart_ref) = match &args.second {
        Some(c) => (args.first.clone(), c.clone()),
        None => ("release-name".to_string(), args.first.clone()),
    };
    let limits = LoadLimits::default();
    let path = Path::new(&chart_ref);
    let chart = if path.is_dir() {
        load_dir(path, &limits)?
    } else if path.is_file() {
        let meta = std::fs::metadata(path)?;
        if meta.len() > limits.max_archive_bytes {
            bail!(
                "chart archive {chart_ref} is larger than the maximum size {}",
                limits.max_archive_bytes
            );
        }
        let bytes = std::fs::read(path).with_context(|| chart_ref.clone())?;
        load_archive(&bytes, &limits)?
    } else {
        bail!(
            "path {chart_ref:?} not found: only local chart directories and archives are supported"
        );
    };
    let mut files = vec![];
    for f in &args.values {
        let text = std::fs::read_to_string(f)
            .with_context(|| format!("reading values file {}", f.display()))?;
        files.push(text);
    }
    let user =
        ferroflux_helm::strvals::merge_sources(&files, &args.set_json, &args.set, &args.set_string)
            .map_err(anyhow::Error::msg)?;
    let opts = TemplateOptions {
        release_name: name,
        namespace: args.namespace.clone(),
        kube_version: args.kube_version.clone(),
        api_versions: args
            .api_versions
            .iter()
            .filter(|a| !a.is_empty())
            .cloned()
            .collect(),
        is_upgrade: args.is_upgrade,
        include_crds: args.include_crds,
        ..TemplateOptions::default()
    };
    let r = template(&chart, &user, &opts)?;

    if let Some(dir) = &args.render_dir {
        for (k, v) in &r.templates {
            write_new(&dir.join(k), v)?;
        }
        if !args.is_upgrade {
            write_new(&dir.join("_manifest.yaml"), &r.manifest)?;
        }
        if !r.notes.is_empty() {
            write_new(&dir.join("_notes.txt"), &r.notes)?;
        }
        return Ok(());
    }

    if let Some(dir) = &args.output_dir {
        let mut written = std::collections::BTreeSet::new();
        let mut docs: Vec<(&str, &str)> = r
            .crds
            .iter()
            .map(|(n, d)| (n.as_str(), d.as_str()))
            .collect();
        docs.extend(
            r.manifests
                .iter()
                .map(|m| (m.name.as_str(), m.content.as_str())),
        );
        docs.extend(
            r.hooks
                .iter()
                .map(|h| (h.path.as_str(), h.manifest.as_str())),
        );
        for (name, data) in docs {
            let file = dir.join(name);
            let append = !written.insert(name.to_string());
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(append)
                .truncate(!append)
                .open(&file)
                .with_context(|| file.display().to_string())?;
            write!(f, "---\n# Source: {name}\n{data}\n")?;
            writeln!(out, "wrote {}", file.display())?;
        }
        writeln!(out)?;
        return Ok(());
    }

    let mut text = format!("{}\n", r.manifest.trim());
    for h in &r.hooks {
        text.push_str(&format!("---\n# Source: {}\n{}\n", h.path, h.manifest));
    }
    if args.show_only.is_empty() {
        out.write_all(text.as_bytes())?;
        return Ok(());
    }
    let manifests = split_manifests(&text);
    let mut selected = vec![];
    for pat in &args.show_only {
        let pattern = ferroflux_gocompat::glob::Pattern::new(pat)
            .map_err(|e| anyhow::anyhow!("{e}: {pat}"))?;
        let mut missing = true;
        for m in &manifests {
            let Some(rest) = m
                .lines()
                .find_map(|l| l.strip_prefix("# Source: "))
                .and_then(|s| s.split_once('/'))
                .map(|(_, r)| r)
            else {
                continue;
            };
            if pattern.is_match(rest) {
                selected.push(m.clone());
                missing = false;
            }
        }
        if missing {
            bail!("could not find template {pat} in chart");
        }
    }
    for m in selected {
        write!(out, "---\n{m}\n")?;
    }
    Ok(())
}

fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, text).with_context(|| path.display().to_string())
}
