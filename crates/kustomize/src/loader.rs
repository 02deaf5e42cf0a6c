//! Reading files under the build's root, with kustomize's load restrictions.

use std::path::{Component, Path, PathBuf};

use crate::error::{BuildError, display_path};

/// Which files a kustomization may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoadRestrictor {
    /// Only files in or below the kustomization's own directory (kustomize's default).
    #[default]
    RootOnly,
    /// Any file under the build's file system root.
    None,
}

/// Reads files for one build: paths are resolved relative to a kustomization's
/// directory; absolute paths are relative to the file system root; nothing outside the
/// file system root is ever read.
#[derive(Debug)]
pub(crate) struct Loader {
    pub(crate) root: PathBuf,
    pub(crate) restrictor: LoadRestrictor,
    /// `false` for a build held in memory: every path is refused.
    pub(crate) files: bool,
}

impl Loader {
    /// Shows a path as the build sees it.
    pub(crate) fn show(&self, path: &Path) -> String {
        display_path(&self.root, path)
    }

    /// Resolves `rel` (from a kustomization in `dir`) to a path under the root, lexically.
    pub(crate) fn resolve(&self, dir: &Path, rel: &str) -> Result<PathBuf, BuildError> {
        if !self.files {
            return Err(BuildError::other(
                &self.show(dir),
                format!("'{rel}': a kustomization built in memory has no files to read"),
            ));
        }
        let joined = if let Some(abs) = rel.strip_prefix('/') {
            self.root.join(abs)
        } else {
            dir.join(rel)
        };
        let mut out = PathBuf::new();
        for c in joined.components() {
            match c {
                Component::ParentDir => {
                    out.pop();
                }
                Component::CurDir => {}
                other => out.push(other),
            }
        }
        if !out.starts_with(&self.root) {
            return Err(BuildError::Restricted {
                path: rel.to_string(),
                root: self.show(dir),
            });
        }
        Ok(out)
    }

    /// Checks that `path` (already resolved) may be read by the kustomization in `dir`,
    /// following symbolic links.
    pub(crate) fn check(&self, dir: &Path, path: &Path) -> Result<(), BuildError> {
        let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let real_root = std::fs::canonicalize(&self.root).unwrap_or_else(|_| self.root.clone());
        if !real.starts_with(&real_root) {
            return Err(BuildError::Restricted {
                path: self.show(path),
                root: self.show(&self.root),
            });
        }
        if self.restrictor == LoadRestrictor::RootOnly {
            let real_dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
            if !real.starts_with(&real_dir) {
                return Err(BuildError::Restricted {
                    path: self.show(path),
                    root: self.show(dir),
                });
            }
        }
        Ok(())
    }

    /// Reads the file `rel` for the kustomization in `dir`.
    pub(crate) fn read(&self, dir: &Path, rel: &str) -> Result<(PathBuf, Vec<u8>), BuildError> {
        let path = self.resolve(dir, rel)?;
        self.check(dir, &path)?;
        let bytes = std::fs::read(&path).map_err(|source| BuildError::Read {
            path: self.show(&path),
            source,
        })?;
        Ok((path, bytes))
    }

    /// Finds the kustomization file of `dir`.
    pub(crate) fn kustomization_file(&self, dir: &Path) -> Result<PathBuf, BuildError> {
        let found: Vec<PathBuf> = ["kustomization.yaml", "kustomization.yml", "Kustomization"]
            .iter()
            .map(|n| dir.join(n))
            .filter(|p| p.is_file())
            .collect();
        match found.len() {
            1 => Ok(found.into_iter().next().unwrap_or_default()),
            0 => Err(BuildError::KustomizationFile {
                dir: self.show(dir),
                message: "unable to find one of 'kustomization.yaml', 'kustomization.yml' or \
                          'Kustomization'"
                    .into(),
            }),
            _ => Err(BuildError::KustomizationFile {
                dir: self.show(dir),
                message: "Found multiple kustomization files".into(),
            }),
        }
    }
}

/// Whether a resource entry is a remote URL.
pub(crate) fn is_remote(entry: &str) -> bool {
    entry.contains("://")
        || entry.starts_with("github.com/")
        || entry.starts_with("git@")
        || entry.starts_with("gitlab.com/")
        || entry.starts_with("bitbucket.org/")
}
