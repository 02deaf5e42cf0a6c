//! What an extracted artifact becomes before it is applied, in Flux's order: SOPS
//! sources decrypted, the kustomize build (with Flux's generated kustomization and
//! overlay), encrypted objects refused, `postBuild` substitution, `commonMetadata`.
//! Shared by the reconciler and `ferroflux build kustomization`, so a local build shows
//! exactly what the controller would apply.

use std::collections::BTreeMap;
use std::path::Path;

use ferroflux_api::kustomize::v1::{KustomizationSpec, SubstituteStrategy};
use serde_json::Value;

use crate::decryption::{DecryptionError, Decryptor};

/// Why rendering failed, split by the condition reason it leads to.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// Decryption failed, or the build holds ciphertext (`DecryptionFailed`).
    #[error(transparent)]
    Decryption(#[from] DecryptionError),
    /// An object of the build is SOPS-encrypted while no decryption was asked for
    /// (`DecryptionFailed`).
    #[error(
        "{0} is SOPS-encrypted but spec.decryption is not set; refusing to apply ciphertext (nothing was applied)"
    )]
    NotDecrypted(String),
    /// The kustomize build failed (`BuildFailed`).
    #[error(transparent)]
    Build(#[from] crate::generator::GenerateError),
    /// Post-build substitution failed (`BuildFailed`).
    #[error(transparent)]
    Substitute(#[from] crate::substitute::SubstituteError),
}

impl RenderError {
    /// Whether the failure is about decryption (Flux's `DecryptionFailed` reason).
    pub fn is_decryption(&self) -> bool {
        matches!(
            self,
            RenderError::Decryption(_) | RenderError::NotDecrypted(_)
        )
    }
}

/// Renders the Kustomization `spec` from the artifact extracted at `root` (a private
/// copy: decrypted files are written into it) with the post-build variables `vars`.
/// With `decryptor`, SOPS-encrypted sources are decrypted first; without it, any
/// encrypted object is refused.
pub fn render(
    root: &Path,
    spec: &KustomizationSpec,
    vars: &BTreeMap<String, String>,
    decryptor: Option<&Decryptor>,
) -> Result<Vec<Value>, RenderError> {
    if let Some(d) = decryptor {
        d.decrypt_sources(root, spec)?;
    }
    let mut objects = crate::generator::build(root, spec)?;
    match decryptor {
        Some(d) => d.finish_objects(&mut objects)?,
        None => {
            if let Some(o) = objects
                .iter()
                .find(|o| o.get("sops").is_some_and(Value::is_object))
            {
                return Err(RenderError::NotDecrypted(object_id(o)));
            }
        }
    }
    let always = spec.substitute_strategy() == SubstituteStrategy::Always;
    if spec.post_build.is_some() && (!vars.is_empty() || always) {
        objects = crate::substitute::substitute(objects, vars, false)?;
    }
    if let Some(meta) = &spec.common_metadata {
        crate::generator::set_common_metadata(&mut objects, meta);
    }
    Ok(objects)
}

/// `Kind/namespace/name`, or `Kind/name` for cluster-scoped objects.
pub(crate) fn object_id(o: &Value) -> String {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let meta = &o["metadata"];
    let ns = text(&meta["namespace"]);
    let name = text(&meta["name"]);
    let kind = text(&o["kind"]);
    if ns.is_empty() {
        format!("{kind}/{name}")
    } else {
        format!("{kind}/{ns}/{name}")
    }
}
