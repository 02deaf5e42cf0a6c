//! SOPS decryption of a Kustomization's build (`spec.decryption`, provider `sops`), as
//! Flux's kustomize-controller does it:
//!
//! - keys come from the entries of the decryption Secret, by name: `*.agekey` (age
//!   identities), `*.asc` (OpenPGP secret keys); Vault and cloud KMS credentials are
//!   recognised and reported as not supported here (never a network call, never a hang);
//! - before the build, the files the kustomizations under `spec.path` read are decrypted
//!   in place in the build's private copy of the artifact: `secretGenerator` and
//!   `configMapGenerator` `envs`/`files` (dotenv, INI, JSON, YAML, binary, by file name as
//!   Flux picks the format), patch files, and Secret manifests listed as resources;
//! - after the build, a Secret that still carries SOPS metadata is refused (see below),
//!   as is any other object carrying it.
//!
//! Where Flux differs: Flux decrypts Secret manifests after the build and skips the
//! MAC check there, because kustomize's transformers (a `namePrefix`, labels) change the
//! values the MAC covers. Here a Secret manifest is decrypted from its file, before any
//! transformer runs, so its MAC is always verified. Every MAC is checked before any
//! decrypted byte is used, and no message here holds a key or a decrypted value.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use ferroflux_api::kustomize::v1::{Kustomization, KustomizationSpec};
use ferroflux_sops::{Format, KeyRing};
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, ResourceExt};
use serde_json::Value;
use serde_yaml::Value as Yaml;

use crate::generator::{find_kustomization, is_local_relative, resolve_path, scan_manifests, show};

/// The largest file decrypted (Flux's `MaxEncryptedFileSize`, 5 MiB).
pub const MAX_ENCRYPTED_FILE_SIZE: u64 = 5 << 20;

/// Kustomization files visited at most in one build: a bound on hostile trees.
const MAX_KUSTOMIZATIONS: usize = 10_000;

/// Why decryption failed. Messages name files, objects, Secret entries and key
/// recipients, never a key or a decrypted value.
#[derive(Debug, thiserror::Error)]
pub enum DecryptionError {
    /// The decryption Secret does not exist.
    #[error("decryption secret '{0}' not found")]
    SecretNotFound(String),
    /// The decryption Secret could not be read.
    #[error("cannot read decryption secret '{name}': {message}")]
    SecretRead {
        /// `namespace/name`.
        name: String,
        /// The API error.
        message: String,
    },
    /// An entry of the decryption Secret is not a usable key.
    #[error("decryption secret '{secret}' entry '{entry}': {source}")]
    SecretEntry {
        /// `namespace/name`.
        secret: String,
        /// The entry's name.
        entry: String,
        /// What is wrong with it.
        source: ferroflux_sops::Error,
    },
    /// A key file given to the command line is not usable.
    #[error("key file '{path}': {message}")]
    KeyFile {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// A file the build reads is SOPS-encrypted and could not be decrypted.
    #[error("failed to decrypt '{path}': {source}")]
    File {
        /// The file, relative to the artifact root with a leading `/`.
        path: String,
        /// Why (no plaintext).
        source: ferroflux_sops::Error,
    },
    /// A file the build reads cannot be decrypted safely (a link or a path that leaves
    /// the artifact, not a regular file, too large, unreadable).
    #[error("cannot decrypt '{path}': {message}")]
    Unsafe {
        /// The file as referenced.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A kustomization file on the way could not be read.
    #[error("reading kustomization '{path}' for decryption: {message}")]
    Kustomization {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A Secret data entry is a SOPS document that could not be decrypted.
    #[error("failed to decrypt {id} data entry '{key}': {source}")]
    Entry {
        /// `Secret/namespace/name`.
        id: String,
        /// The data key.
        key: String,
        /// Why (no plaintext).
        source: ferroflux_sops::Error,
    },
    /// An object of the build still holds SOPS metadata.
    #[error("{id} is SOPS-encrypted and could not be decrypted before the build: {why}")]
    EncryptedObject {
        /// `Kind/namespace/name`.
        id: String,
        /// Why it was left encrypted.
        why: &'static str,
    },
}

/// What decrypts a build: the keys and the limits.
#[derive(Debug)]
pub struct Decryptor {
    keys: KeyRing,
    opts: ferroflux_sops::Options,
}

impl Decryptor {
    /// A decryptor using `keys`, MACs required, files up to [`MAX_ENCRYPTED_FILE_SIZE`].
    pub fn new(keys: KeyRing) -> Decryptor {
        Decryptor {
            keys,
            opts: ferroflux_sops::Options {
                allow_missing_mac: false,
                max_input_bytes: MAX_ENCRYPTED_FILE_SIZE as usize,
            },
        }
    }

    /// Reads the keys of a decryption Secret's entries (already base64-decoded), as
    /// Flux names them. `secret` (`namespace/name`) is for messages only.
    pub fn from_secret_data(
        secret: &str,
        data: &BTreeMap<String, Vec<u8>>,
    ) -> Result<Decryptor, DecryptionError> {
        let mut keys = KeyRing::new();
        for (entry, value) in data {
            keys.add_flux_secret_entry(entry, value).map_err(|source| {
                DecryptionError::SecretEntry {
                    secret: secret.to_string(),
                    entry: entry.clone(),
                    source,
                }
            })?;
        }
        Ok(Decryptor::new(keys))
    }

    /// Reads the keys of a Kustomization's `spec.decryption` through `client` (the
    /// controller's own identity, as Flux). `None` when the Kustomization asks for no
    /// decryption. Without a `secretRef` the key ring is empty: Flux would fall back to
    /// the controller's global KMS identity, which is not supported here, so
    /// decrypting anything then fails saying which master keys the file names.
    pub async fn for_kustomization(
        client: &kube::Client,
        ks: &Kustomization,
    ) -> Result<Option<Decryptor>, DecryptionError> {
        let Some(dec) = &ks.spec.decryption else {
            return Ok(None);
        };
        // `provider` has one value (`sops`): the API refuses any other.
        let Some(secret_ref) = &dec.secret_ref else {
            return Ok(Some(Decryptor::new(KeyRing::new())));
        };
        let ns = ks.namespace().unwrap_or_default();
        let shown = format!("{ns}/{}", secret_ref.name);
        let api: Api<Secret> = Api::namespaced(client.clone(), &ns);
        let secret = api
            .get_opt(&secret_ref.name)
            .await
            .map_err(|e| DecryptionError::SecretRead {
                name: shown.clone(),
                message: e.to_string(),
            })?
            .ok_or_else(|| DecryptionError::SecretNotFound(shown.clone()))?;
        let mut data: BTreeMap<String, Vec<u8>> = secret
            .data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect();
        for (k, v) in secret.string_data.unwrap_or_default() {
            data.insert(k, v.into_bytes());
        }
        Decryptor::from_secret_data(&shown, &data).map(Some)
    }

    /// Adds a key file given on the command line: age identities, or an armoured
    /// OpenPGP key (told apart by content).
    pub fn add_key_file(&mut self, path: &Path) -> Result<(), DecryptionError> {
        let err = |message: String| DecryptionError::KeyFile {
            path: path.display().to_string(),
            message,
        };
        let meta = std::fs::metadata(path).map_err(|e| err(e.to_string()))?;
        if meta.len() > MAX_ENCRYPTED_FILE_SIZE {
            return Err(err("larger than 5 MiB: not a key file".into()));
        }
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let added = if text.contains("-----BEGIN PGP") {
            self.keys.add_pgp_armored(&text)
        } else {
            self.keys.add_age_identities(&text)
        };
        added.map(|_| ()).map_err(|e| err(e.to_string()))
    }

    /// Decrypts, in place, the SOPS-encrypted files that building `spec.path` under
    /// `root` reads (see the module documentation). `root` must be the build's private
    /// copy: decrypted files are written there.
    pub fn decrypt_sources(
        &self,
        root: &Path,
        spec: &KustomizationSpec,
    ) -> Result<(), DecryptionError> {
        let root = std::fs::canonicalize(root).map_err(|e| DecryptionError::Unsafe {
            path: root.display().to_string(),
            message: e.to_string(),
        })?;
        // A path or a tree the build cannot read is the build's to report, as a
        // build failure.
        let Ok(dir) = resolve_path(&root, spec.path.as_deref().unwrap_or("./")) else {
            return Ok(());
        };
        let mut walk = Walk {
            root: &root,
            dec: self,
            visited: BTreeSet::new(),
            decrypted: BTreeSet::new(),
            queue: Vec::new(),
        };
        if find_kustomization(&dir).is_some() {
            walk.queue.push(dir.clone());
        } else {
            // The generated kustomization lists these, as the generator will.
            let Ok(listed) = scan_manifests(&root, &dir) else {
                return Ok(());
            };
            for rel in listed {
                walk.resource(&dir, &rel)?;
            }
        }
        for c in &spec.components {
            if is_local_relative(c) {
                walk.resource(&dir, c)?;
            }
        }
        walk.run()
    }

    /// Finishes the built objects: a Secret data entry that is itself a SOPS document
    /// (a `secretGenerator` file kustomize took in whole, or a manifest holding one) is
    /// decrypted, as Flux does; then any object that still holds SOPS metadata (a
    /// top-level `sops` mapping) is refused, naming it, since it could not be decrypted
    /// with its MAC verified (its file was not found before the build, or it is not a
    /// Secret).
    pub fn finish_objects(&self, objects: &mut [Value]) -> Result<(), DecryptionError> {
        for o in objects.iter_mut() {
            if o.get("kind").and_then(Value::as_str) == Some("Secret") {
                self.decrypt_data_entries(o)?;
            }
        }
        for o in objects.iter() {
            if !o.get("sops").is_some_and(Value::is_object) {
                continue;
            }
            let why = if o.get("kind").and_then(Value::as_str) == Some("Secret") {
                "only whole files are decrypted (a Secret manifest listed as a resource, \
                 a generator source or a patch), where the MAC can be verified; this one \
                 came from elsewhere (a remote base, or a file whose encrypted documents \
                 are not all Secrets)"
            } else {
                "only Secrets are decrypted"
            };
            return Err(DecryptionError::EncryptedObject {
                id: crate::render::object_id(o),
                why,
            });
        }
        Ok(())
    }

    fn decrypt_data_entries(&self, secret: &mut Value) -> Result<(), DecryptionError> {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD;
        let id = crate::render::object_id(secret);
        let Some(Value::Object(data)) = secret.get_mut("data") else {
            return Ok(());
        };
        for (key, value) in data.iter_mut() {
            let Some(text) = value.as_str() else { continue };
            // Not base64: the apply reports it.
            let Ok(bytes) = b64.decode(text) else {
                continue;
            };
            let Some(format) = entry_format(&bytes, key) else {
                continue;
            };
            let plain = ferroflux_sops::decrypt(&bytes, format, &self.keys, &self.opts).map_err(
                |source| DecryptionError::Entry {
                    id: id.clone(),
                    key: key.clone(),
                    source,
                },
            )?;
            *value = Value::String(b64.encode(plain));
        }
        Ok(())
    }

    fn decrypt_file(
        &self,
        root: &Path,
        path: &Path,
        format: Format,
        secret_only: bool,
    ) -> Result<bool, DecryptionError> {
        let shown = show(root, path);
        let unsafe_err = |message: &str| DecryptionError::Unsafe {
            path: shown.clone(),
            message: message.to_string(),
        };
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            // Missing files are the build's to report.
            Err(_) => return Ok(false),
        };
        let real = if meta.file_type().is_symlink() {
            let real = std::fs::canonicalize(path)
                .map_err(|_| unsafe_err("the link points to nothing"))?;
            if !real.starts_with(root) {
                return Err(unsafe_err("the link points outside the source artifact"));
            }
            real
        } else {
            path.to_path_buf()
        };
        let meta = std::fs::metadata(&real).map_err(|e| unsafe_err(&e.to_string()))?;
        if meta.is_dir() {
            return Ok(false);
        }
        if !meta.is_file() {
            return Err(unsafe_err("not a regular file"));
        }
        // Only files that look like SOPS documents are limited: plain files of any
        // size are the build's business.
        let bytes = read_bounded(&real).map_err(|e| unsafe_err(&e))?;
        let Some(bytes) = bytes else {
            if looks_encrypted(&real) {
                return Err(unsafe_err(&format!(
                    "larger than the limit of {MAX_ENCRYPTED_FILE_SIZE} bytes for encrypted files"
                )));
            }
            return Ok(false);
        };
        // Every SOPS format keeps its metadata under `sops` (a key, a section, a
        // prefix); without it there is nothing to decrypt, and no need to parse.
        if !bytes.windows(4).any(|w| w == b"sops") {
            return Ok(false);
        }
        if secret_only && !is_secret_manifest(&bytes) {
            return Ok(false);
        }
        if !ferroflux_sops::is_encrypted(&bytes, format) {
            return Ok(false);
        }
        let plain =
            ferroflux_sops::decrypt(&bytes, format, &self.keys, &self.opts).map_err(|source| {
                DecryptionError::File {
                    path: shown.clone(),
                    source,
                }
            })?;
        std::fs::write(&real, plain).map_err(|e| unsafe_err(&format!("writing: {e}")))?;
        Ok(true)
    }
}

/// A walk over the kustomizations a build reads.
struct Walk<'a> {
    root: &'a Path,
    dec: &'a Decryptor,
    visited: BTreeSet<PathBuf>,
    decrypted: BTreeSet<PathBuf>,
    queue: Vec<PathBuf>,
}

impl Walk<'_> {
    fn run(&mut self) -> Result<(), DecryptionError> {
        // An explicit queue, not recursion: hostile trees may nest deeply.
        while let Some(dir) = self.queue.pop() {
            if !self.visited.insert(dir.clone()) {
                continue;
            }
            if self.visited.len() > MAX_KUSTOMIZATIONS {
                return Err(DecryptionError::Kustomization {
                    path: show(self.root, &dir),
                    message: format!("more than {MAX_KUSTOMIZATIONS} kustomizations"),
                });
            }
            self.kustomization(&dir)?;
        }
        Ok(())
    }

    fn kustomization(&mut self, dir: &Path) -> Result<(), DecryptionError> {
        let Some(file) = find_kustomization(dir) else {
            return Ok(());
        };
        let shown = show(self.root, &file);
        let bad = |message: String| DecryptionError::Kustomization {
            path: shown.clone(),
            message,
        };
        let real = std::fs::canonicalize(&file).map_err(|e| bad(e.to_string()))?;
        if !real.starts_with(self.root) {
            return Err(bad("the file links outside the source artifact".into()));
        }
        let text = std::fs::read_to_string(&real).map_err(|e| bad(e.to_string()))?;
        // The build reports malformed kustomizations; only the first document counts.
        let Some(first) = serde_yaml::Deserializer::from_str(&text).next() else {
            return Ok(());
        };
        let Ok(Yaml::Mapping(kust)) = <Yaml as serde::Deserialize>::deserialize(first) else {
            return Ok(());
        };
        let strings = |field: &str| -> Vec<String> {
            match kust.get(field) {
                Some(Yaml::Sequence(s)) => s
                    .iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect(),
                Some(Yaml::String(s)) => vec![s.clone()],
                _ => Vec::new(),
            }
        };
        for field in ["resources", "bases", "components"] {
            for entry in strings(field) {
                if is_local_relative(&entry) {
                    self.resource(dir, &entry)?;
                }
            }
        }
        for field in ["secretGenerator", "configMapGenerator"] {
            let Some(Yaml::Sequence(gens)) = kust.get(field) else {
                continue;
            };
            for g in gens {
                let list = |k: &str| -> Vec<String> {
                    match g.get(k) {
                        Some(Yaml::Sequence(s)) => s
                            .iter()
                            .filter_map(|v| v.as_str().map(String::from))
                            .collect(),
                        Some(Yaml::String(s)) => vec![s.clone()],
                        _ => Vec::new(),
                    }
                };
                for env in list("envs").into_iter().chain(list("env")) {
                    // As Flux: an env file of no known format is dotenv.
                    let format = match Format::from_path(&env) {
                        Format::Binary => Format::Dotenv,
                        f => f,
                    };
                    self.file(dir, &env, format, false)?;
                }
                for src in list("files") {
                    // `key=path`; the format follows the key, as Flux (and sops) name it.
                    let (key, path) = src.split_once('=').unwrap_or((&src, &src));
                    self.file(dir, path, Format::from_path(key), false)?;
                }
            }
        }
        let mut patch_paths = Vec::new();
        for field in ["patches", "patchesJson6902"] {
            if let Some(Yaml::Sequence(ps)) = kust.get(field) {
                patch_paths.extend(
                    ps.iter()
                        .filter_map(|p| p.get("path").and_then(Yaml::as_str).map(String::from)),
                );
            }
        }
        // Entries of patchesStrategicMerge are paths or inline patches.
        patch_paths.extend(
            strings("patchesStrategicMerge")
                .into_iter()
                .filter(|p| !p.contains('\n')),
        );
        for p in patch_paths {
            self.file(dir, &p, Format::from_path(&p), false)?;
        }
        Ok(())
    }

    /// A resource or component entry: a directory (another kustomization) or a file
    /// (a Secret manifest that may be encrypted).
    fn resource(&mut self, dir: &Path, entry: &str) -> Result<(), DecryptionError> {
        let Some(path) = self.join(dir, entry)? else {
            return Ok(());
        };
        match std::fs::canonicalize(&path) {
            Ok(real) if real.is_dir() => {
                if !real.starts_with(self.root) {
                    return Err(DecryptionError::Unsafe {
                        path: show(self.root, &path),
                        message: "the directory links outside the source artifact".into(),
                    });
                }
                self.queue.push(real);
                Ok(())
            }
            Ok(_) => {
                let format = Format::from_path(entry);
                if matches!(format, Format::Yaml | Format::Json) {
                    self.file(dir, entry, format, true)?;
                }
                Ok(())
            }
            Err(_) => Ok(()),
        }
    }

    fn file(
        &mut self,
        dir: &Path,
        entry: &str,
        format: Format,
        secret_only: bool,
    ) -> Result<(), DecryptionError> {
        let Some(path) = self.join(dir, entry)? else {
            return Ok(());
        };
        if self.decrypted.contains(&path) {
            return Ok(());
        }
        if self
            .dec
            .decrypt_file(self.root, &path, format, secret_only)?
        {
            self.decrypted.insert(path);
        }
        Ok(())
    }

    /// `entry` relative to `dir`, lexically, refused when it climbs out of the root.
    /// `None` for an absolute path (the build refuses those itself).
    fn join(&self, dir: &Path, entry: &str) -> Result<Option<PathBuf>, DecryptionError> {
        if entry.starts_with('/') {
            return Ok(None);
        }
        let mut path = dir.to_path_buf();
        for c in Path::new(entry).components() {
            match c {
                Component::Normal(p) => path.push(p),
                Component::ParentDir => {
                    path.pop();
                }
                Component::CurDir => {}
                Component::RootDir | Component::Prefix(_) => return Ok(None),
            }
        }
        if !path.starts_with(self.root) {
            return Err(DecryptionError::Unsafe {
                path: entry.to_string(),
                message: "the path leaves the source artifact".into(),
            });
        }
        Ok(Some(path))
    }
}

/// Reads a file of at most [`MAX_ENCRYPTED_FILE_SIZE`] bytes; `None` when larger.
fn read_bounded(path: &Path) -> Result<Option<Vec<u8>>, String> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    f.take(MAX_ENCRYPTED_FILE_SIZE + 1)
        .read_to_end(&mut out)
        .map_err(|e| e.to_string())?;
    Ok((out.len() as u64 <= MAX_ENCRYPTED_FILE_SIZE).then_some(out))
}

/// Whether a file too large to decrypt looks like SOPS output anyway (its markers in
/// the first or last 64 KiB): then refusing it beats applying ciphertext.
fn looks_encrypted(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let mut buf = vec![0u8; 64 << 10];
    let mut seen = Vec::new();
    if let Ok(n) = f.read(&mut buf) {
        seen.extend_from_slice(&buf[..n]);
    }
    if f.seek(SeekFrom::End(-(64 << 10))).is_ok()
        && let Ok(n) = f.read(&mut buf)
    {
        seen.extend_from_slice(&buf[..n]);
    }
    let has = |m: &[u8]| seen.windows(m.len()).any(|w| w == m);
    has(b"ENC[AES256_GCM,") || has(b"sops_mac=") || has(b"[sops]")
}

/// The SOPS format of a Secret data entry, told by the markers sops writes (as Flux
/// tells them), or `None` when it is not a SOPS document. JSON's marker is also the
/// binary envelope's: the entry's key decides, as its file name did for sops.
fn entry_format(bytes: &[u8], key: &str) -> Option<Format> {
    let has = |m: &[u8]| bytes.windows(m.len()).any(|w| w == m);
    if has(b"sops_mac=ENC[") {
        Some(Format::Dotenv)
    } else if has(b"\"mac\": \"ENC[") {
        Some(match Format::from_path(key) {
            Format::Json => Format::Json,
            _ => Format::Binary,
        })
    } else if has(b"[sops]") && has(b"mac") {
        Some(Format::Ini)
    } else if has(b"mac: ENC[") {
        Some(Format::Yaml)
    } else {
        None
    }
}

/// Whether the SOPS-encrypted documents of a manifest file are all Secrets (one
/// document, or a stream: sops's own, or separately encrypted documents with plain
/// ones of any kind beside them, decrypted document by document).
fn is_secret_manifest(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let mut encrypted = 0usize;
    for doc in serde_yaml::Deserializer::from_str(text) {
        let Ok(doc) = <Yaml as serde::Deserialize>::deserialize(doc) else {
            return false;
        };
        if doc.get("sops").is_some_and(Yaml::is_mapping) {
            if doc.get("kind").and_then(Yaml::as_str) != Some("Secret") {
                return false;
            }
            encrypted += 1;
        }
    }
    encrypted > 0
}

#[cfg(test)]
#[path = "decryption_tests.rs"]
mod tests;
