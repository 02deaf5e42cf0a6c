//! Decryption of whole documents: metadata, data key, values, MAC.

use regex::Regex;
use sha2::{Digest, Sha512};

use crate::Format;
use crate::cipher::{Plain, decrypt_value, is_enc};
use crate::error::Error;
use crate::flat::{self, Entry, FlatDoc};
use crate::keys::KeyRing;
use crate::metadata::Metadata;
use crate::tree::Value;

/// SOPS's fixed prefix for MACs computed over encrypted values only.
const MAC_ONLY_ENCRYPTED_INIT: [u8; 32] = [
    0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0x0b,
    0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69,
];

/// Documents of one YAML stream that may each carry their own `sops` block: each needs
/// its own private-key operation to recover its data key, so a stream of many would
/// cost CPU out of proportion to its size.
pub const MAX_SEPARATELY_ENCRYPTED_DOCUMENTS: usize = 256;

/// Limits and escape hatches for [`decrypt`].
#[derive(Clone, Debug)]
pub struct Options {
    /// Accept a document without a MAC (SOPS's `--ignore-mac` for files that never had
    /// one). A MAC that is present is always verified.
    pub allow_missing_mac: bool,
    /// Refuse inputs larger than this many bytes.
    pub max_input_bytes: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            allow_missing_mac: false,
            max_input_bytes: 8 << 20,
        }
    }
}

/// Whether `input` carries SOPS metadata in `format` (parsing only, nothing decrypted).
pub fn is_encrypted(input: &[u8], format: Format) -> bool {
    match format {
        Format::Yaml => parse_yaml_stream(input)
            .ok()
            .is_some_and(|docs| docs.iter().any(|d| d.get("sops").is_some())),
        Format::Json | Format::Binary => parse_tree(input, format)
            .ok()
            .is_some_and(|t| t.get("sops").is_some()),
        Format::Dotenv | Format::Ini => parse_flat(input, format)
            .ok()
            .is_some_and(|d| !d.metadata.is_empty()),
    }
}

/// Decrypts a SOPS document and returns it in the same format without its `sops` block:
/// YAML/JSON re-serialised with key order kept (comments are not kept), dotenv/INI as
/// SOPS writes them, binary as the original bytes. The MAC is verified before returning.
///
/// A YAML stream of several documents is decrypted as `sops` wrote it when every
/// document carries the same `sops` block (one data key, one MAC over all documents in
/// order, so none can be dropped, added or reordered); otherwise each document with its
/// own `sops` block is decrypted and verified on its own and plain documents are kept as
/// they are, as Flux decrypts each resource of such a file.
pub fn decrypt(
    input: &[u8],
    format: Format,
    keys: &KeyRing,
    opts: &Options,
) -> Result<Vec<u8>, Error> {
    match format {
        Format::Yaml => {
            check_size(input, opts)?;
            let docs = parse_yaml_stream(input)?;
            let docs = if docs.len() == 1 {
                let tree = docs.into_iter().next().unwrap_or(Value::Null);
                vec![decrypt_parsed(tree, format, keys, opts)?]
            } else {
                decrypt_yaml_stream(docs, keys, opts)?
            };
            let mut out = Vec::with_capacity(docs.len());
            for doc in &docs {
                out.push(serde_yaml::to_string(doc).map_err(|_| serialize_err(format))?);
            }
            Ok(out.join("---\n").into_bytes())
        }
        Format::Json => {
            let tree = decrypt_tree(input, format, keys, opts)?;
            serde_json::to_vec_pretty(&tree).map_err(|_| serialize_err(format))
        }
        Format::Binary => {
            let tree = decrypt_tree(input, format, keys, opts)?;
            match tree.get("data") {
                Some(Value::Str(s)) => Ok(s.clone().into_bytes()),
                Some(Value::Bytes(b)) => Ok(b.clone()),
                _ => Err(Error::Parse {
                    format: format.name(),
                    reason: "no string 'data' key".into(),
                }),
            }
        }
        Format::Dotenv | Format::Ini => {
            check_size(input, opts)?;
            let doc = parse_flat(input, format)?;
            if doc.metadata.is_empty() {
                return Err(Error::MetadataNotFound);
            }
            let meta: Metadata = serde_json::from_value(flat::unflatten(&doc.metadata)?)
                .map_err(|e| Error::Metadata(e.to_string()))?;
            let mut walker = Walker::new(&meta, keys, opts)?;
            let mut sections = doc.sections;
            for (name, entries) in &mut sections {
                let base: Vec<String> = name.iter().cloned().collect();
                for entry in entries.iter_mut() {
                    walker.flat_entry(entry, &base)?;
                }
            }
            walker.finish()?;
            Ok(if format == Format::Dotenv {
                flat::emit_dotenv(&sections)
            } else {
                flat::emit_ini(&sections)
            })
        }
    }
}

/// Decrypts a YAML, JSON or binary SOPS document into its tree (the `sops` key removed).
pub fn decrypt_tree(
    input: &[u8],
    format: Format,
    keys: &KeyRing,
    opts: &Options,
) -> Result<Value, Error> {
    if matches!(format, Format::Dotenv | Format::Ini) {
        return Err(Error::Unsupported(format!(
            "a tree of a {} document (use decrypt)",
            format.name()
        )));
    }
    check_size(input, opts)?;
    let tree = parse_tree(input, format)?;
    decrypt_parsed(tree, format, keys, opts)
}

/// A document's entries without its `sops` block, and that block.
type Split = (Vec<(String, Value)>, Option<Value>);

fn split_metadata(tree: Value, format: Format) -> Result<Split, Error> {
    let Value::Map(items) = tree else {
        return Err(Error::Parse {
            format: format.name(),
            reason: "the document is not a mapping".into(),
        });
    };
    let mut meta_value = None;
    let mut data = Vec::with_capacity(items.len());
    for (k, v) in items {
        if k == "sops" {
            meta_value = Some(v);
        } else {
            data.push((k, v));
        }
    }
    Ok((data, meta_value))
}

fn parse_metadata(meta_value: &Value) -> Result<Metadata, Error> {
    // The metadata is small and plain: round-trip it through JSON into its typed form.
    let meta_json = serde_json::to_value(meta_value).map_err(|e| Error::Metadata(e.to_string()))?;
    serde_json::from_value(meta_json).map_err(|e| Error::Metadata(e.to_string()))
}

fn walk_entries(walker: &mut Walker<'_>, data: &mut [(String, Value)]) -> Result<(), Error> {
    let mut path = Vec::new();
    for (k, v) in data.iter_mut() {
        path.push(k.clone());
        walker.value(v, &mut path)?;
        path.pop();
    }
    Ok(())
}

fn decrypt_parsed(
    tree: Value,
    format: Format,
    keys: &KeyRing,
    opts: &Options,
) -> Result<Value, Error> {
    let (mut data, meta_value) = split_metadata(tree, format)?;
    let meta = parse_metadata(&meta_value.ok_or(Error::MetadataNotFound)?)?;
    let mut walker = Walker::new(&meta, keys, opts)?;
    walk_entries(&mut walker, &mut data)?;
    walker.finish()?;
    Ok(Value::Map(data))
}

/// Decrypts the documents of a YAML stream (see [`decrypt`]).
fn decrypt_yaml_stream(
    docs: Vec<Value>,
    keys: &KeyRing,
    opts: &Options,
) -> Result<Vec<Value>, Error> {
    let mut split = Vec::with_capacity(docs.len());
    for doc in docs {
        split.push(split_metadata(doc, Format::Yaml)?);
    }
    let first = split.first().and_then(|(_, m)| m.as_ref());
    let Some(first) = first.or_else(|| split.iter().find_map(|(_, m)| m.as_ref())) else {
        return Err(Error::MetadataNotFound);
    };
    if split.iter().all(|(_, m)| m.as_ref() == Some(first)) {
        // One sops tree, as sops writes a stream: one walker, so one MAC over every
        // document in order.
        let meta = parse_metadata(first)?;
        let mut walker = Walker::new(&meta, keys, opts)?;
        for (n, (data, _)) in split.iter_mut().enumerate() {
            walk_entries(&mut walker, data).map_err(|e| in_document(e, n))?;
        }
        walker.finish()?;
        return Ok(split.into_iter().map(|(d, _)| Value::Map(d)).collect());
    }
    let separate = split.iter().filter(|(_, m)| m.is_some()).count();
    if separate > MAX_SEPARATELY_ENCRYPTED_DOCUMENTS {
        return Err(Error::Unsupported(format!(
            "a YAML stream of {separate} separately encrypted documents (at most \
             {MAX_SEPARATELY_ENCRYPTED_DOCUMENTS}: each needs its own key decryption)"
        )));
    }
    let mut out = Vec::with_capacity(split.len());
    for (n, (mut data, meta)) in split.into_iter().enumerate() {
        if let Some(meta) = meta {
            let meta = parse_metadata(&meta).map_err(|e| in_document(e, n))?;
            let mut walker = Walker::new(&meta, keys, opts).map_err(|e| in_document(e, n))?;
            walk_entries(&mut walker, &mut data).map_err(|e| in_document(e, n))?;
            walker.finish().map_err(|e| in_document(e, n))?;
        }
        out.push(Value::Map(data));
    }
    Ok(out)
}

/// Names the document (1-based) of a stream an error is about.
fn in_document(err: Error, n: usize) -> Error {
    let at = |path: String| format!("document {}: {path}", n + 1);
    match err {
        Error::Authentication { path } => Error::Authentication { path: at(path) },
        Error::MalformedValue { path, reason } => Error::MalformedValue {
            path: at(path),
            reason,
        },
        Error::BadType { path, kind } => Error::BadType {
            path: at(path),
            kind,
        },
        Error::Metadata(m) => Error::Metadata(at(m)),
        Error::NoDataKey(mut why) => {
            why.insert(0, format!("document {}", n + 1));
            Error::NoDataKey(why)
        }
        other => other,
    }
}

fn serialize_err(format: Format) -> Error {
    Error::Parse {
        format: format.name(),
        reason: "cannot serialise the decrypted document".into(),
    }
}

fn check_size(input: &[u8], opts: &Options) -> Result<(), Error> {
    if input.len() > opts.max_input_bytes {
        return Err(Error::TooLarge {
            size: input.len(),
            limit: opts.max_input_bytes,
        });
    }
    Ok(())
}

fn utf8(input: &[u8], format: Format) -> Result<&str, Error> {
    std::str::from_utf8(input).map_err(|e| Error::Parse {
        format: format.name(),
        reason: format!("not UTF-8 (at byte {})", e.valid_up_to()),
    })
}

fn parse_tree(input: &[u8], format: Format) -> Result<Value, Error> {
    let text = utf8(input, format)?;
    // Parser messages give positions and structure; they quote no scalar content for our
    // catch-all Value type, so they are safe to pass on.
    match format {
        Format::Yaml => serde_yaml::from_str(text).map_err(|e| Error::Parse {
            format: format.name(),
            reason: e.to_string(),
        }),
        _ => serde_json::from_str(text).map_err(|e| Error::Parse {
            format: format.name(),
            reason: e.to_string(),
        }),
    }
}

/// The documents of a YAML stream; empty documents (a trailing `---`) are dropped.
fn parse_yaml_stream(input: &[u8]) -> Result<Vec<Value>, Error> {
    let text = utf8(input, Format::Yaml)?;
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let v = <Value as serde::Deserialize>::deserialize(doc).map_err(|e| Error::Parse {
            format: Format::Yaml.name(),
            reason: e.to_string(),
        })?;
        if !matches!(v, Value::Null) {
            docs.push(v);
        }
    }
    if docs.is_empty() {
        return Err(Error::Parse {
            format: Format::Yaml.name(),
            reason: "the document is empty".into(),
        });
    }
    Ok(docs)
}

fn parse_flat(input: &[u8], format: Format) -> Result<FlatDoc, Error> {
    let text = utf8(input, format)?;
    if format == Format::Dotenv {
        flat::parse_dotenv(text)
    } else {
        flat::parse_ini(text)
    }
}

enum Rule {
    None,
    UnencryptedSuffix(String),
    EncryptedSuffix(String),
    UnencryptedRegex(Regex),
    EncryptedRegex(Regex),
}

/// Walks the values in document order, decrypting those SOPS's rules say are encrypted and
/// feeding the MAC hash as SOPS does.
struct Walker<'m> {
    meta: &'m Metadata,
    key: [u8; 32],
    rule: Rule,
    hash: Sha512,
    opts: &'m Options,
}

fn regex(src: &str, name: &str) -> Result<Regex, Error> {
    regex::RegexBuilder::new(src)
        .size_limit(1 << 20)
        .build()
        .map_err(|_| Error::Metadata(format!("{name} is not a valid regular expression")))
}

impl<'m> Walker<'m> {
    fn new(meta: &'m Metadata, keys: &KeyRing, opts: &'m Options) -> Result<Walker<'m>, Error> {
        meta.validate()?;
        let rule = if !meta.unencrypted_suffix.is_empty() {
            Rule::UnencryptedSuffix(meta.unencrypted_suffix.clone())
        } else if !meta.encrypted_suffix.is_empty() {
            Rule::EncryptedSuffix(meta.encrypted_suffix.clone())
        } else if !meta.unencrypted_regex.is_empty() {
            Rule::UnencryptedRegex(regex(&meta.unencrypted_regex, "unencrypted_regex")?)
        } else if !meta.encrypted_regex.is_empty() {
            Rule::EncryptedRegex(regex(&meta.encrypted_regex, "encrypted_regex")?)
        } else {
            Rule::None
        };
        if meta.mac.is_empty() && !opts.allow_missing_mac {
            return Err(Error::MacMissing);
        }
        let key = keys.data_key(meta.group())?;
        let mut hash = Sha512::new();
        if meta.mac_only_encrypted {
            hash.update(MAC_ONLY_ENCRYPTED_INIT);
        }
        Ok(Walker {
            meta,
            key,
            rule,
            hash,
            opts,
        })
    }

    fn encrypted(&self, path: &[String]) -> bool {
        match &self.rule {
            Rule::None => true,
            Rule::UnencryptedSuffix(s) => !path.iter().any(|p| p.ends_with(s.as_str())),
            Rule::EncryptedSuffix(s) => path.iter().any(|p| p.ends_with(s.as_str())),
            Rule::UnencryptedRegex(r) => !path.iter().any(|p| r.is_match(p)),
            Rule::EncryptedRegex(r) => path.iter().any(|p| r.is_match(p)),
        }
    }

    fn mac_input(&mut self, encrypted: bool, bytes: &[u8]) {
        if !self.meta.mac_only_encrypted || encrypted {
            self.hash.update(bytes);
        }
    }

    /// Decrypts (or takes as-is) one leaf; returns its plaintext and whether it was encrypted.
    fn leaf(&mut self, v: &Value, path: &[String]) -> Result<Option<Value>, Error> {
        let encrypted = self.encrypted(path);
        if !encrypted {
            let bytes = match v {
                Value::Str(s) => s.as_bytes().to_vec(),
                Value::Int(i) => i.to_string().into_bytes(),
                Value::Uint(u) => u.to_string().into_bytes(),
                Value::Float(f) => go_float(*f).into_bytes(),
                Value::Bool(b) => {
                    if *b {
                        b"True".to_vec()
                    } else {
                        b"False".to_vec()
                    }
                }
                Value::Bytes(b) => b.clone(),
                _ => return Ok(None),
            };
            self.mac_input(false, &bytes);
            return Ok(None);
        }
        let path_str = format!("{}:", path.join(":"));
        let s = match v {
            Value::Str(s) => s,
            Value::Null => return Ok(None),
            _ => {
                return Err(Error::MalformedValue {
                    path: path_str,
                    reason: "a plain non-string value where an encrypted value is expected",
                });
            }
        };
        if s.is_empty() {
            // SOPS leaves empty strings empty.
            return Ok(None);
        }
        if !is_enc(s) {
            return Err(Error::MalformedValue {
                path: path_str,
                reason: "a plain value where an encrypted value is expected",
            });
        }
        let plain = decrypt_value(s, &self.key, &path_str, &path_str)?;
        let out = match plain {
            Plain::Str(s) => {
                self.mac_input(true, s.as_bytes());
                Value::Str(s)
            }
            Plain::Int(i) => {
                self.mac_input(true, i.to_string().as_bytes());
                Value::Int(i)
            }
            Plain::Float(f) => {
                self.mac_input(true, go_float(f).as_bytes());
                Value::Float(f)
            }
            Plain::Bool(b) => {
                self.mac_input(true, if b { b"True" } else { b"False" });
                Value::Bool(b)
            }
            Plain::Bytes(b) => {
                self.mac_input(true, &b);
                match String::from_utf8(b) {
                    Ok(s) => Value::Str(s),
                    Err(e) => Value::Bytes(e.into_bytes()),
                }
            }
            // Comments never enter the MAC.
            Plain::Comment(c) => Value::Str(c),
        };
        Ok(Some(out))
    }

    fn value(&mut self, v: &mut Value, path: &mut Vec<String>) -> Result<(), Error> {
        match v {
            Value::Map(items) => {
                for (k, child) in items.iter_mut() {
                    path.push(k.clone());
                    self.value(child, path)?;
                    path.pop();
                }
            }
            // List items carry their list's path: SOPS adds no index to the additional data.
            Value::Seq(items) => {
                for child in items.iter_mut() {
                    self.value(child, path)?;
                }
            }
            _ => {
                if let Some(new) = self.leaf(v, path)? {
                    *v = new;
                }
            }
        }
        Ok(())
    }

    fn flat_entry(&mut self, entry: &mut Entry, base: &[String]) -> Result<(), Error> {
        match entry {
            Entry::Pair(k, v) => {
                let mut path = base.to_vec();
                path.push(k.clone());
                if let Some(Value::Str(s)) = self.leaf(&Value::Str(v.clone()), &path)? {
                    *v = s;
                } else if self.encrypted(&path) && !v.is_empty() {
                    return Err(Error::MalformedValue {
                        path: format!("{}:", path.join(":")),
                        reason: "decrypted value is not a string",
                    });
                }
            }
            Entry::Comment(c) => {
                // SOPS keeps a comment that does not decrypt as it is (older files had
                // plain comments); comments never enter the MAC.
                // INI section comments sit on the top-level branch (path ":"), key
                // comments in their section; GCM authenticates whichever is right.
                let mut paths = vec![format!("{}:", base.join(":"))];
                if !base.is_empty() {
                    paths.push(":".to_string());
                }
                if is_enc(c) {
                    for (path, path_str) in [base, &[][..]].iter().zip(paths) {
                        if !self.encrypted(path) {
                            continue;
                        }
                        if let Ok(Plain::Comment(text)) =
                            decrypt_value(c, &self.key, &path_str, &path_str)
                        {
                            *c = text;
                            break;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<(), Error> {
        if self.meta.mac.is_empty() {
            // Only reachable with allow_missing_mac (checked in new).
            debug_assert!(self.opts.allow_missing_mac);
            return Ok(());
        }
        let computed = hex::encode_upper(self.hash.finalize());
        let stored = match decrypt_value(
            &self.meta.mac,
            &self.key,
            &self.meta.lastmodified,
            "sops.mac",
        ) {
            Ok(Plain::Str(s)) => s,
            Ok(_) | Err(Error::BadType { .. }) => {
                return Err(Error::Metadata("mac is not an encrypted string".into()));
            }
            Err(Error::Authentication { .. }) => return Err(Error::MacMismatch),
            Err(e) => return Err(e),
        };
        if stored.as_bytes() != computed.as_bytes() {
            return Err(Error::MacMismatch);
        }
        Ok(())
    }
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`: shortest round-trip digits, no exponent.
fn go_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{f}")
    }
}
