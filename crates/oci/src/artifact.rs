//! Flux's OCI artifact format (what `flux push artifact` writes and
//! source-controller reads): an OCI image manifest with a config of media
//! type [`CONFIG_MEDIA_TYPE`], one layer of media type
//! [`CONTENT_MEDIA_TYPE`] (a gzip tarball of the files) and the
//! OpenContainers annotations `created`, `source` and `revision`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::client::Client;
use crate::error::OciError;
use crate::manifest::{Descriptor, Manifest, OCI_MANIFEST};
use crate::reference::Reference;

/// The config media type of Flux artifacts.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.flux.config.v1+json";
/// The layer media type of Flux artifacts.
pub const CONTENT_MEDIA_TYPE: &str = "application/vnd.cncf.flux.content.v1.tar+gzip";
/// Annotation: when the artifact was built (RFC 3339).
pub const CREATED: &str = "org.opencontainers.image.created";
/// Annotation: where the files came from (a Git URL).
pub const SOURCE: &str = "org.opencontainers.image.source";
/// Annotation: which revision of the source (`main@sha1:<hex>`).
pub const REVISION: &str = "org.opencontainers.image.revision";

/// Packs `path` (a directory, or a single file) into a gzip tarball that
/// depends only on the files' names, contents and executable bits: entries
/// sorted by name, fixed times, owners and modes. Symbolic links are
/// refused (they would point at something the artifact does not hold).
pub fn pack(path: &Path) -> Result<Vec<u8>, OciError> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| OciError::io("reading", path, e))?;
    let gz = flate2::GzBuilder::new().write(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    if meta.is_file() {
        let name = path.file_name().map(PathBuf::from).ok_or_else(|| {
            OciError::io("reading", path, std::io::ErrorKind::InvalidInput.into())
        })?;
        append_file(&mut tar, path, &name)?;
    } else if meta.is_dir() {
        append_dir(&mut tar, path, Path::new(""))?;
    } else {
        return Err(OciError::io(
            "packing",
            path,
            std::io::Error::other("not a regular file or directory"),
        ));
    }
    let gz = tar
        .into_inner()
        .map_err(|e| OciError::io("packing", path, e))?;
    gz.finish().map_err(|e| OciError::io("packing", path, e))
}

fn append_dir<W: Write>(
    tar: &mut tar::Builder<W>,
    root: &Path,
    rel: &Path,
) -> Result<(), OciError> {
    let dir = root.join(rel);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .map_err(|e| OciError::io("reading", &dir, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| OciError::io("reading", &dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = rel.join(entry.file_name());
        let full = root.join(&name);
        let ft = entry
            .file_type()
            .map_err(|e| OciError::io("reading", &full, e))?;
        if ft.is_dir() {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o755);
            header.set_size(0);
            header.set_mtime(0);
            tar.append_data(&mut header, &name, std::io::empty())
                .map_err(|e| OciError::io("packing", &full, e))?;
            append_dir(tar, root, &name)?;
        } else if ft.is_file() {
            append_file(tar, &full, &name)?;
        } else {
            return Err(OciError::io(
                "packing",
                &full,
                std::io::Error::other("symbolic links and special files cannot be packed"),
            ));
        }
    }
    Ok(())
}

fn append_file<W: Write>(
    tar: &mut tar::Builder<W>,
    full: &Path,
    name: &Path,
) -> Result<(), OciError> {
    use std::os::unix::fs::PermissionsExt;
    let mut file = std::fs::File::open(full).map_err(|e| OciError::io("reading", full, e))?;
    let meta = file
        .metadata()
        .map_err(|e| OciError::io("reading", full, e))?;
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(if meta.permissions().mode() & 0o111 != 0 {
        0o755
    } else {
        0o644
    });
    header.set_size(meta.len());
    header.set_mtime(0);
    tar.append_data(&mut header, name, &mut file)
        .map_err(|e| OciError::io("packing", full, e))
}

/// What [`push`] records about the artifact.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    /// `org.opencontainers.image.source`.
    pub source: Option<String>,
    /// `org.opencontainers.image.revision`.
    pub revision: Option<String>,
    /// `org.opencontainers.image.created` (RFC 3339).
    pub created: Option<String>,
}

/// Pushes the packed `layer` as a Flux artifact tagged `tag`; returns the
/// manifest's digest.
pub async fn push(
    client: &Client,
    tag: &str,
    layer: Vec<u8>,
    meta: &Metadata,
) -> Result<String, OciError> {
    let config = client
        .push_blob(CONFIG_MEDIA_TYPE, Bytes::from_static(b"{}"))
        .await?;
    let layer = client
        .push_blob(CONTENT_MEDIA_TYPE, Bytes::from(layer))
        .await?;
    let mut annotations = BTreeMap::new();
    for (key, value) in [
        (CREATED, &meta.created),
        (SOURCE, &meta.source),
        (REVISION, &meta.revision),
    ] {
        if let Some(v) = value {
            annotations.insert(key.to_string(), v.clone());
        }
    }
    let manifest = Manifest {
        schema_version: 2,
        media_type: Some(OCI_MANIFEST.to_string()),
        artifact_type: None,
        config,
        layers: vec![layer],
        annotations,
    };
    client.push_manifest(tag, &manifest).await
}

/// Pulls the artifact `reference` points at: its manifest, its digest, and
/// its content layer (the first of [`CONTENT_MEDIA_TYPE`], else the first
/// layer) downloaded to `dest` (at most `limit` bytes, digest checked).
pub async fn pull(
    client: &Client,
    reference: &Reference,
    dest: &Path,
    limit: u64,
) -> Result<(Manifest, String, Descriptor), OciError> {
    let (manifest, digest) = client.manifest(reference).await?;
    let layer = manifest
        .select_layer(Some(CONTENT_MEDIA_TYPE))
        .or_else(|| manifest.select_layer(None))
        .cloned()
        .ok_or_else(|| OciError::Invalid {
            what: format!("manifest of {reference}"),
            reason: "it has no layers".to_string(),
        })?;
    client.blob_to_file(&layer, dest, limit).await?;
    Ok((manifest, digest, layer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_is_deterministic_and_refuses_links() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b/c")).unwrap();
        std::fs::write(dir.path().join("a.yaml"), "a: 1\n").unwrap();
        std::fs::write(dir.path().join("b/c/d.yaml"), "d: 1\n").unwrap();
        let first = pack(dir.path()).unwrap();
        // Touch a file: same content, newer time; the tarball must not change.
        std::fs::write(dir.path().join("a.yaml"), "a: 1\n").unwrap();
        assert_eq!(first, pack(dir.path()).unwrap());
        let mut names = Vec::new();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&first[..]));
        for e in archive.entries().unwrap() {
            names.push(e.unwrap().path().unwrap().display().to_string());
        }
        assert_eq!(names, ["a.yaml", "b", "b/c", "b/c/d.yaml"]);
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link")).unwrap();
        assert!(
            pack(dir.path())
                .unwrap_err()
                .to_string()
                .contains("symbolic links")
        );
    }
}
