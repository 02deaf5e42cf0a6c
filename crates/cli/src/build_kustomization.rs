//! `ferroflux build kustomization NAME --path DIR`: what kustomize-controller would
//! apply for a Kustomization, built from a local directory (as `flux build
//! kustomization`), through the controller's own render path
//! ([`kustomize_controller::render::render`]): SOPS sources decrypted, the kustomize
//! build with the Kustomization's overlay, encrypted objects refused, `postBuild`
//! substitution, `commonMetadata`.
//!
//! The Kustomization comes from `--kustomization-file`, or else from the cluster;
//! `--dry-run` never contacts the cluster (then `substituteFrom` is not read). Keys come
//! from `--decryption-secret` (a Secret manifest whose entries are read as the
//! controller reads its decryption Secret) and `--decryption-key` (age identities or an
//! armoured OpenPGP key); without them, and outside `--dry-run`, the Kustomization's own
//! decryption Secret is read from the cluster. Decryption works on a private copy of
//! the tree, removed afterwards: the local files are never written.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use ferroflux_api::kustomize::v1::Kustomization;
use kube::Api;
use kustomize_controller::decryption::Decryptor;
use serde_json::Value;

use crate::connect::ConnectArgs;

/// The largest manifest file read for a Kustomization or a decryption Secret.
const MAX_MANIFEST_BYTES: u64 = 5 << 20;

/// Flags of `ferroflux build kustomization`.
#[derive(clap::Args, Debug)]
pub struct BuildKustomizationArgs {
    /// The Kustomization's name.
    pub name: String,
    /// The local directory to build (stands for the Kustomization's `spec.path`).
    #[arg(long)]
    pub path: PathBuf,
    /// A file holding the Flux Kustomization (YAML; the document named NAME is used).
    #[arg(long)]
    pub kustomization_file: Option<PathBuf>,
    /// Do not contact the cluster (`substituteFrom` and the decryption Secret are not
    /// read from it).
    #[arg(long)]
    pub dry_run: bool,
    /// A Secret manifest (YAML) holding decryption keys as the controller reads them
    /// (`*.agekey`, `*.asc`). May be repeated.
    #[arg(long)]
    pub decryption_secret: Vec<PathBuf>,
    /// A key file: age identities or an ASCII-armoured OpenPGP secret key. May be
    /// repeated.
    #[arg(long)]
    pub decryption_key: Vec<PathBuf>,
    /// How to reach the cluster (not used with `--dry-run`).
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// Builds and writes the objects as multi-document YAML to `out`.
pub async fn run(args: &BuildKustomizationArgs, out: &mut impl Write) -> anyhow::Result<()> {
    let dir = std::fs::canonicalize(&args.path)
        .with_context(|| format!("--path {}", args.path.display()))?;
    if !dir.is_dir() {
        bail!("--path {} is not a directory", args.path.display());
    }
    let cluster = if args.dry_run {
        None
    } else {
        Some(args.connect.connect().await?)
    };
    let mut ks = match (&args.kustomization_file, &cluster) {
        (Some(file), _) => from_file(file, &args.name)?,
        (None, Some(c)) => {
            let api: Api<Kustomization> = Api::namespaced(c.client.clone(), &c.namespace);
            api.get_opt(&args.name)
                .await
                .map_err(|e| anyhow!("reading Kustomization {}/{}: {e}", c.namespace, args.name))?
                .ok_or_else(|| anyhow!("Kustomization {}/{} not found", c.namespace, args.name))?
        }
        (None, None) => default_kustomization(&args.name)?,
    };
    if ks.metadata.namespace.is_none() {
        ks.metadata.namespace = Some(
            cluster
                .as_ref()
                .map(|c| c.namespace.clone())
                .unwrap_or_else(|| crate::connect::DEFAULT_NAMESPACE.to_string()),
        );
    }

    let vars = match &cluster {
        Some(c) => kustomize_controller::vars::gather(&c.client, &ks)
            .await
            .map_err(|e| anyhow!("{e}"))?,
        None => ks
            .spec
            .post_build
            .as_ref()
            .map(|p| p.substitute.clone())
            .unwrap_or_default(),
    };

    let mut decryptor = keys_from_flags(args)?;
    if decryptor.is_none()
        && let Some(c) = &cluster
    {
        decryptor = Decryptor::for_kustomization(&c.client, &ks).await?;
    }

    // The tree is the Git work tree holding --path (so `../base` resolves as it does
    // in the artifact), or --path alone.
    let root = git_root(&dir).unwrap_or_else(|| dir.clone());
    let rel = dir.strip_prefix(&root).unwrap_or(Path::new(""));
    ks.spec.path = Some(format!("./{}", rel.display()));

    let spec = ks.spec.clone();
    let objects = match &decryptor {
        Some(d) => {
            let copy = tempfile::tempdir().context("creating a temporary directory")?;
            copy_tree(&root, copy.path())?;
            kustomize_controller::render::render(copy.path(), &spec, &vars, Some(d))?
        }
        None => kustomize_controller::render::render(&root, &spec, &vars, None)?,
    };
    let yaml = ferroflux_kustomize::to_yaml(&objects);
    // A closed pipe (`| head`) is not an error worth reporting.
    let _ = out.write_all(yaml.as_bytes());
    Ok(())
}

/// The decryptor made of `--decryption-secret` and `--decryption-key`, if any.
fn keys_from_flags(args: &BuildKustomizationArgs) -> anyhow::Result<Option<Decryptor>> {
    if args.decryption_secret.is_empty() && args.decryption_key.is_empty() {
        return Ok(None);
    }
    let mut data: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for file in &args.decryption_secret {
        let shown = file.display().to_string();
        for doc in read_documents(file)? {
            if doc.get("kind").and_then(Value::as_str) != Some("Secret") {
                continue;
            }
            data.extend(secret_entries(&doc).with_context(|| shown.clone())?);
        }
    }
    let secrets = args
        .decryption_secret
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let mut d = Decryptor::from_secret_data(&secrets, &data)?;
    for key in &args.decryption_key {
        d.add_key_file(key)?;
    }
    Ok(Some(d))
}

/// A Secret manifest's entries: `data` (base64) and `stringData`.
fn secret_entries(doc: &Value) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    use base64::Engine as _;
    let mut out = BTreeMap::new();
    if let Some(data) = doc.get("data").and_then(Value::as_object) {
        for (k, v) in data {
            let text = v.as_str().unwrap_or_default();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| anyhow!("Secret entry '{k}' is not base64"))?;
            out.insert(k.clone(), bytes);
        }
    }
    if let Some(data) = doc.get("stringData").and_then(Value::as_object) {
        for (k, v) in data {
            out.insert(
                k.clone(),
                v.as_str().unwrap_or_default().as_bytes().to_vec(),
            );
        }
    }
    Ok(out)
}

fn read_documents(file: &Path) -> anyhow::Result<Vec<Value>> {
    let shown = file.display().to_string();
    let meta = std::fs::metadata(file).with_context(|| shown.clone())?;
    if meta.len() > MAX_MANIFEST_BYTES {
        bail!("{shown}: larger than {MAX_MANIFEST_BYTES} bytes");
    }
    let text = std::fs::read_to_string(file).with_context(|| shown.clone())?;
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(&text) {
        let v: Value =
            serde::Deserialize::deserialize(doc).map_err(|e| anyhow!("{shown}: not YAML: {e}"))?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    Ok(docs)
}

/// The Kustomization named `name` in `file`.
fn from_file(file: &Path, name: &str) -> anyhow::Result<Kustomization> {
    let shown = file.display().to_string();
    let doc = read_documents(file)?
        .into_iter()
        .find(|d| {
            d.get("kind").and_then(Value::as_str) == Some("Kustomization")
                && d.get("apiVersion")
                    .and_then(Value::as_str)
                    .is_some_and(|v| v.starts_with("kustomize.toolkit.fluxcd.io/"))
                && d.pointer("/metadata/name").and_then(Value::as_str) == Some(name)
        })
        .ok_or_else(|| anyhow!("{shown}: no Flux Kustomization named '{name}'"))?;
    serde_json::from_value(doc).map_err(|e| anyhow!("{shown}: invalid Kustomization: {e}"))
}

/// A Kustomization with nothing but its name (`--dry-run` without a file).
fn default_kustomization(name: &str) -> anyhow::Result<Kustomization> {
    Ok(serde_json::from_value(serde_json::json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name},
        "spec": {"interval": "10m", "prune": true,
                 "sourceRef": {"kind": "GitRepository", "name": name}},
    }))?)
}

/// The nearest directory at or above `dir` holding `.git`.
fn git_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// Copies the tree at `from` into `to` (without `.git`), keeping links as links: the
/// decryptor refuses those that lead outside, as it does in an artifact.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    let mut stack = vec![(from.to_path_buf(), to.to_path_buf())];
    while let Some((src, dst)) = stack.pop() {
        std::fs::create_dir_all(&dst).with_context(|| dst.display().to_string())?;
        for entry in std::fs::read_dir(&src).with_context(|| src.display().to_string())? {
            let entry = entry?;
            if entry.file_name() == ".git" {
                continue;
            }
            let kind = entry.file_type()?;
            let target = dst.join(entry.file_name());
            if kind.is_dir() {
                stack.push((entry.path(), target));
            } else if kind.is_symlink() {
                let link = std::fs::read_link(entry.path())?;
                #[cfg(unix)]
                std::os::unix::fs::symlink(&link, &target)
                    .with_context(|| target.display().to_string())?;
            } else if kind.is_file() {
                std::fs::copy(entry.path(), &target)
                    .with_context(|| entry.path().display().to_string())?;
                // Sources may be read-only; the copy is decrypted in place.
                let mut perm = std::fs::metadata(&target)?.permissions();
                #[allow(clippy::permissions_set_readonly_false)]
                perm.set_readonly(false);
                std::fs::set_permissions(&target, perm)?;
            }
        }
    }
    Ok(())
}
