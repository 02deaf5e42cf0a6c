//! `ferroflux push artifact` and `ferroflux pull artifact`: a directory (or
//! file) as a Flux OCI artifact in a registry, and back. The format is
//! Flux's (see [`ferroflux_oci::artifact`]), so `flux pull artifact`,
//! `oras` and OCIRepositories read what this pushes.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use ferroflux_oci::artifact::{self, Metadata};
use ferroflux_oci::{Client, ClientOptions, Credentials, Reference, Repository};

/// Largest layer `pull` downloads and unpacks (as source-controller's
/// default artifact limit).
pub const PULL_LIMIT: u64 = 1 << 30;

/// What `push artifact` needs.
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// `oci://host/repo:tag`.
    pub url: String,
    /// The directory or file to pack.
    pub path: PathBuf,
    /// `org.opencontainers.image.source`.
    pub source: String,
    /// `org.opencontainers.image.revision`.
    pub revision: String,
    /// `user:password` for the registry.
    pub creds: Option<String>,
    /// Plain HTTP.
    pub insecure: bool,
    /// `org.opencontainers.image.created`; now when `None`.
    pub created: Option<String>,
}

/// What `pull artifact` needs.
#[derive(Debug, Clone)]
pub struct PullOptions {
    /// `oci://host/repo:tag` or `oci://host/repo@sha256:<hex>`.
    pub url: String,
    /// Where the files go (created; must be empty if it exists).
    pub output: PathBuf,
    /// `user:password` for the registry.
    pub creds: Option<String>,
    /// Plain HTTP.
    pub insecure: bool,
}

fn credentials(creds: Option<&str>) -> anyhow::Result<Option<Credentials>> {
    let Some(creds) = creds else {
        return Ok(None);
    };
    let Some((username, password)) = creds.split_once(':') else {
        bail!("--creds must be 'username:password'");
    };
    Ok(Some(Credentials::Basic {
        username: username.to_string(),
        password: password.to_string(),
    }))
}

fn client(
    repo: Repository,
    creds: Option<&str>,
    insecure: bool,
    push: bool,
) -> anyhow::Result<Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(Client::new(
        repo,
        ClientOptions {
            insecure,
            credentials: credentials(creds)?,
            push,
            ..Default::default()
        },
    )?)
}

/// Packs `options.path` and pushes it; returns `oci://host/repo@sha256:<hex>`.
pub async fn push(options: &PushOptions) -> anyhow::Result<String> {
    let (repo, reference) = Repository::parse_with_reference(&options.url)?;
    let tag = match reference {
        Some(Reference::Tag(t)) => t,
        Some(Reference::Digest(_)) => bail!("push needs a tag (oci://REPO:TAG), not a digest"),
        None => "latest".to_string(),
    };
    let path = options.path.clone();
    let layer = tokio::task::spawn_blocking(move || artifact::pack(&path))
        .await
        .context("packing task")?
        .with_context(|| format!("packing {}", options.path.display()))?;
    let meta = Metadata {
        source: Some(options.source.clone()),
        revision: Some(options.revision.clone()),
        created: Some(options.created.clone().unwrap_or_else(|| {
            k8s_openapi::jiff::Timestamp::now()
                .strftime("%Y-%m-%dT%H:%M:%SZ")
                .to_string()
        })),
    };
    let c = client(
        repo.clone(),
        options.creds.as_deref(),
        options.insecure,
        true,
    )?;
    let digest = artifact::push(&c, &tag, layer, &meta).await?;
    Ok(format!("oci://{repo}@{digest}"))
}

/// What [`pull`] fetched.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The manifest's digest.
    pub digest: String,
    /// `org.opencontainers.image.source`, if set.
    pub source: Option<String>,
    /// `org.opencontainers.image.revision`, if set.
    pub revision: Option<String>,
}

/// Pulls the artifact's content layer and unpacks it into `options.output`
/// with the same checks as source-controller (no `..`, no links out, size
/// limits, digest checked before unpacking).
pub async fn pull(options: &PullOptions) -> anyhow::Result<Pulled> {
    let (repo, reference) = Repository::parse_with_reference(&options.url)?;
    let reference = reference.unwrap_or(Reference::Tag("latest".to_string()));
    let c = client(repo, options.creds.as_deref(), options.insecure, false)?;
    let scratch = tempfile::tempdir().context("creating a temporary directory")?;
    let blob = scratch.path().join("layer.tgz");
    let (manifest, digest, _) = artifact::pull(&c, &reference, &blob, PULL_LIMIT).await?;
    let output = options.output.clone();
    tokio::task::spawn_blocking(move || unpack(&blob, &output))
        .await
        .context("unpacking task")??;
    Ok(Pulled {
        digest,
        source: manifest.annotations.get(artifact::SOURCE).cloned(),
        revision: manifest.annotations.get(artifact::REVISION).cloned(),
    })
}

fn unpack(blob: &Path, output: &Path) -> anyhow::Result<()> {
    let file = std::fs::File::open(blob).with_context(|| format!("opening {}", blob.display()))?;
    let limits = ferroflux_runtime::artifact::Limits {
        max_unpacked_bytes: PULL_LIMIT,
        ..Default::default()
    };
    ferroflux_runtime::artifact::extract(std::io::BufReader::new(file), output, &limits)
        .with_context(|| format!("unpacking into {}", output.display()))?;
    Ok(())
}
