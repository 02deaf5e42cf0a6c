//! `spec.include` of a GitRepository: other GitRepositories' artifacts
//! copied into the checkout before it is archived.

use std::path::{Path, PathBuf};

use ferroflux_api::conditions::reasons;
use ferroflux_api::meta::Artifact;
use ferroflux_api::source::v1::{GitRepository, GitRepositoryInclude};
use kube::{Api, ResourceExt};

use crate::reconcile::{SourceStep, StepFailure, failed};
use crate::storage::Storage;

/// The condition (and reason) of an include that could not be added.
pub const INCLUDE_UNAVAILABLE: &str = "IncludeUnavailable";

/// A failure to add an include: the reason, also under the
/// [`INCLUDE_UNAVAILABLE`] condition.
fn unavailable(reason: &str, message: impl Into<String>) -> StepFailure {
    StepFailure {
        condition: Some(INCLUDE_UNAVAILABLE),
        ..failed(reason, message)
    }
}

/// Copies each include's artifact into `dest` at its `toPath`; returns the
/// included artifacts.
pub async fn add_includes(
    client: &kube::Client,
    storage: &Storage,
    obj: &GitRepository,
    dest: &Path,
    work: &Path,
) -> SourceStep<Vec<Artifact>> {
    let ns = obj.namespace().unwrap_or_default();
    let api: Api<GitRepository> = Api::namespaced(client.clone(), &ns);
    let mut included = Vec::new();
    for include in &obj.spec.include {
        let name = &include.git_repository_ref.name;
        let other = api
            .get_opt(name)
            .await
            .map_err(|e| {
                unavailable(
                    INCLUDE_UNAVAILABLE,
                    format!("could not get GitRepository '{ns}/{name}': {e}"),
                )
            })?
            .ok_or_else(|| {
                unavailable(
                    INCLUDE_UNAVAILABLE,
                    format!("GitRepository '{ns}/{name}' not found"),
                )
            })?;
        let artifact = other
            .status
            .as_ref()
            .and_then(|s| s.artifact.clone())
            .ok_or_else(|| {
                unavailable(
                    INCLUDE_UNAVAILABLE,
                    format!("GitRepository '{ns}/{name}' has no artifact yet"),
                )
            })?;
        let archive = storage
            .local_path(&artifact)
            .map_err(|e| unavailable(INCLUDE_UNAVAILABLE, e.to_string()))?;
        copy_include(&archive, include, dest, work)
            .map_err(|e| unavailable(reasons::STORAGE_OPERATION_FAILED, e))?;
        included.push(artifact);
    }
    Ok(included)
}

/// Extracts an included artifact (in a directory under `work`) and copies
/// its `fromPath` to `toPath` in `dest`.
fn copy_include(
    archive: &Path,
    include: &GitRepositoryInclude,
    dest: &Path,
    work: &Path,
) -> Result<(), String> {
    let staging = tempfile::Builder::new()
        .prefix("include-")
        .tempdir_in(work)
        .map_err(|e| format!("creating a temporary directory: {e}"))?;
    let unpacked = staging.path().join("content");
    let file =
        std::fs::File::open(archive).map_err(|e| format!("opening {}: {e}", archive.display()))?;
    ferroflux_runtime::artifact::extract(
        std::io::BufReader::new(file),
        &unpacked,
        &ferroflux_runtime::artifact::Limits::default(),
    )
    .map_err(|e| e.to_string())?;
    let from = safe_join(&unpacked, include.from_path.as_deref().unwrap_or(""))?;
    let to = safe_join(dest, include.to_path())?;
    if to.exists() {
        std::fs::remove_dir_all(&to).map_err(|e| format!("replacing {}: {e}", to.display()))?;
    }
    copy_tree(&from, &to)
}

/// `base` joined with a user-given relative path that must stay inside it.
fn safe_join(base: &Path, rel: &str) -> Result<PathBuf, String> {
    let mut out = base.to_path_buf();
    for part in Path::new(rel).components() {
        match part {
            std::path::Component::Normal(p) => out.push(p),
            std::path::Component::CurDir => {}
            _ => {
                return Err(format!(
                    "path '{rel}' must be relative and stay inside the artifact"
                ));
            }
        }
    }
    Ok(out)
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), String> {
    let meta =
        std::fs::symlink_metadata(from).map_err(|e| format!("reading {}: {e}", from.display()))?;
    if meta.is_dir() {
        std::fs::create_dir_all(to).map_err(|e| format!("creating {}: {e}", to.display()))?;
        for entry in
            std::fs::read_dir(from).map_err(|e| format!("listing {}: {e}", from.display()))?
        {
            let entry = entry.map_err(|e| e.to_string())?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else if meta.is_file() {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("creating {}: {e}", parent.display()))?;
        }
        std::fs::copy(from, to)
            .map(|_| ())
            .map_err(|e| format!("copying {}: {e}", from.display()))
    } else {
        // Symlinks from an artifact were already checked to stay inside it;
        // copying them as links could point outside their new place.
        Ok(())
    }
}
