//! SOPS's per-value cipher: `ENC[AES256_GCM,data:<b64>,iv:<b64>,tag:<b64>,type:<t>]`,
//! AES-256-GCM with a 32-byte nonce and the key path as additional data.

use aes_gcm::AesGcm;
use aes_gcm::aead::consts::U32;
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::error::Error;

type SopsGcm = AesGcm<Aes256, U32>;

/// A decrypted leaf, typed as the `type:` field says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Plain {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Bytes(Vec<u8>),
    Comment(String),
}

/// Whether a string looks like a SOPS-encrypted value.
pub(crate) fn is_enc(s: &str) -> bool {
    s.starts_with("ENC[AES256_GCM,")
}

struct Parts<'a> {
    data: &'a str,
    iv: &'a str,
    tag: &'a str,
    kind: &'a str,
}

fn split(s: &str) -> Option<Parts<'_>> {
    let inner = s.strip_prefix("ENC[AES256_GCM,")?.strip_suffix(']')?;
    let mut it = inner.split(',');
    let data = it.next()?.strip_prefix("data:")?;
    let iv = it.next()?.strip_prefix("iv:")?;
    let tag = it.next()?.strip_prefix("tag:")?;
    let kind = it.next()?.strip_prefix("type:")?;
    if it.next().is_some() {
        return None;
    }
    Some(Parts {
        data,
        iv,
        tag,
        kind,
    })
}

/// Decrypts one `ENC[...]` value with the data key, binding `aad` (the key path, or the
/// `lastmodified` timestamp for the MAC). `path` only names the value in errors.
pub(crate) fn decrypt_value(
    enc: &str,
    key: &[u8; 32],
    aad: &str,
    path: &str,
) -> Result<Plain, Error> {
    let malformed = |reason| Error::MalformedValue {
        path: path.to_string(),
        reason,
    };
    let parts = split(enc).ok_or_else(|| {
        malformed("not of the form ENC[AES256_GCM,data:...,iv:...,tag:...,type:...]")
    })?;
    let data = STANDARD
        .decode(parts.data)
        .map_err(|_| malformed("data is not valid base64"))?;
    let iv = STANDARD
        .decode(parts.iv)
        .map_err(|_| malformed("iv is not valid base64"))?;
    let tag = STANDARD
        .decode(parts.tag)
        .map_err(|_| malformed("tag is not valid base64"))?;
    if iv.len() != 32 {
        return Err(malformed("iv is not 32 bytes"));
    }
    if tag.len() != 16 {
        return Err(malformed("tag is not 16 bytes"));
    }
    let kind = match parts.kind {
        "str" | "int" | "float" | "bool" | "bytes" | "comment" => parts.kind,
        _ => return Err(malformed("unknown value type")),
    };
    let mut msg = data;
    msg.extend_from_slice(&tag);
    let cipher = SopsGcm::new(GenericArray::from_slice(key));
    let plain = cipher
        .decrypt(
            GenericArray::from_slice(&iv),
            Payload {
                msg: &msg,
                aad: aad.as_bytes(),
            },
        )
        .map_err(|_| Error::Authentication {
            path: path.to_string(),
        })?;
    let bad = |kind| Error::BadType {
        path: path.to_string(),
        kind,
    };
    let text = || String::from_utf8(plain.clone()).map_err(|_| bad("UTF-8 string"));
    Ok(match kind {
        "str" => Plain::Str(text()?),
        "comment" => Plain::Comment(text()?),
        "bytes" => Plain::Bytes(plain.clone()),
        "int" => Plain::Int(text()?.parse().map_err(|_| bad("integer"))?),
        "float" => Plain::Float(text()?.parse().map_err(|_| bad("float"))?),
        _ => Plain::Bool(parse_go_bool(&text()?).ok_or_else(|| bad("boolean"))?),
    })
}

/// Go's `strconv.ParseBool`, which SOPS uses for `type:bool`.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}
