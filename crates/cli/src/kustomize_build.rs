//! `ferroflux kustomize build DIR`: `kustomize build`, except that a
//! directory without a kustomization file builds the way kustomize-controller
//! builds it: with the kustomization the controller generates there (every
//! Kubernetes manifest below it; subdirectories with their own kustomization
//! file as a whole), from the controller's own generator.

use std::path::Path;

use ferroflux_kustomize::BuildOptions;
use kustomize_controller::generator::{self, GenerateError};
use serde_json::Value;

/// Why the build failed.
#[derive(Debug, thiserror::Error)]
pub enum KustomizeBuildError {
    /// Generating the kustomization of a directory without one failed.
    #[error(transparent)]
    Generate(#[from] GenerateError),
    /// The kustomize build failed.
    #[error(transparent)]
    Build(#[from] ferroflux_kustomize::BuildError),
}

/// Builds `dir` (canonical) with `options`: its kustomization file when it
/// has one (as `kustomize build`), else the one kustomize-controller would
/// generate there. Generated resources never reach outside `dir`.
pub fn build(dir: &Path, options: &BuildOptions) -> Result<Vec<Value>, KustomizeBuildError> {
    let fs_root = Path::new("/");
    match generator::generated_kustomization(dir, dir)? {
        None => Ok(ferroflux_kustomize::build(fs_root, dir, options)?),
        Some((file, doc)) => {
            let kust =
                ferroflux_kustomize::kustomization_from_value(doc, &file.display().to_string())?;
            Ok(ferroflux_kustomize::build_kustomization(
                fs_root, &file, kust, options,
            )?)
        }
    }
}
