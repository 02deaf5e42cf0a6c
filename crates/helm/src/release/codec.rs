//! `data.release`: the release JSON, gzipped (best compression), in standard
//! base64, as Helm's storage drivers write it. Decoding is bounded: a record
//! is untrusted input (anyone who can write a Secret in the namespace can
//! plant one), so the decompressed size is capped and every layer that fails
//! says which layer it was.

use std::io::{self, Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use serde::Serialize;

use super::types::Release;

/// Decompressed size a record may have unless the caller says otherwise:
/// well above any real chart (Kubernetes caps the stored, compressed object at
/// 1 MiB), well below what would hurt a controller.
pub const DEFAULT_MAX_DECOMPRESSED: usize = 32 << 20;

/// Gzip's magic bytes; Helm 2-era records without them are plain JSON.
const GZIP_MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];

/// Why a release record could not be decoded or encoded.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// `data.release` is not standard base64.
    #[error("release data is not valid base64: {0}")]
    Base64(#[source] base64::DecodeError),
    /// The gzip stream is corrupt or truncated.
    #[error("release data is not a valid gzip stream: {0}")]
    Gzip(#[source] io::Error),
    /// Decompressing would exceed the limit.
    #[error("release data decompresses to more than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The decompressed bytes are not a release JSON document.
    #[error("release data is not a valid release JSON document: {0}")]
    Json(#[source] serde_json::Error),
    /// Writing the JSON or the gzip stream failed (not expected in memory).
    #[error("encoding the release: {0}")]
    Encode(#[source] io::Error),
}

/// Limits applied while decoding.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most bytes the release JSON may decompress to.
    pub max_decompressed: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_decompressed: DEFAULT_MAX_DECOMPRESSED,
        }
    }
}

/// The release as Go's `json.Marshal` writes it: struct fields in Helm's
/// order, map keys sorted, `<` `>` `&` U+2028 U+2029 escaped, floats in Go's
/// notation.
pub fn to_json(release: &Release) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    release
        .serialize(&mut ser)
        .map_err(|e| CodecError::Encode(io::Error::other(e)))?;
    Ok(out)
}

/// Parses release JSON (not compressed, not base64).
pub fn from_json(json: &[u8]) -> Result<Release, CodecError> {
    serde_json::from_slice(json).map_err(CodecError::Json)
}

/// `data.release` for `release`: base64 of gzip (best compression) of its JSON.
pub fn encode(release: &Release) -> Result<String, CodecError> {
    let json = to_json(release)?;
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(&json).map_err(CodecError::Encode)?;
    let compressed = gz.finish().map_err(CodecError::Encode)?;
    Ok(STANDARD.encode(compressed))
}

/// The release JSON inside `data.release`, decompressed within `limits`.
/// Data without gzip's magic bytes is taken as plain JSON, as Helm does.
pub fn decode_json(data: &str, limits: Limits) -> Result<Vec<u8>, CodecError> {
    // Go's base64 decoder skips line breaks anywhere in its input.
    let text: Vec<u8> = data
        .bytes()
        .filter(|b| !matches!(b, b'\r' | b'\n'))
        .collect();
    let raw = STANDARD.decode(&text).map_err(CodecError::Base64)?;
    if !raw.starts_with(&GZIP_MAGIC) {
        if raw.len() > limits.max_decompressed {
            return Err(CodecError::TooLarge {
                limit: limits.max_decompressed,
            });
        }
        return Ok(raw);
    }
    let cap = u64::try_from(limits.max_decompressed)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut json = Vec::new();
    // Go's gzip reader reads every member of a multi-member stream; so does
    // this, or a record would decode differently here than in Helm.
    MultiGzDecoder::new(raw.as_slice())
        .take(cap)
        .read_to_end(&mut json)
        .map_err(CodecError::Gzip)?;
    if json.len() > limits.max_decompressed {
        return Err(CodecError::TooLarge {
            limit: limits.max_decompressed,
        });
    }
    Ok(json)
}

/// The release in `data.release`, decoded within `limits`.
pub fn decode(data: &str, limits: Limits) -> Result<Release, CodecError> {
    from_json(&decode_json(data, limits)?)
}

/// serde_json's compact output with the three places Go's `encoding/json`
/// differs: HTML-safe string escapes, and its float notation.
struct GoFormatter;

impl serde_json::ser::Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let escape = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..i])?;
            writer.write_all(escape.as_bytes())?;
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn write_f64<W: ?Sized + Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(ferroflux_gocompat::json::float_string(value).as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        gz.write_all(bytes).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn go_escapes_and_floats() {
        let release: Release = serde_json::from_value(json!({
            "name": "r",
            "manifest": "a<b>&c\u{2028}\u{2029}\"\\\n\u{1}\u{8}\u{c}é",
            "config": {"z": 1.5, "big": 1e21, "small": 1e-7, "int": 3, "a": [true, null]},
            "version": 2
        }))
        .unwrap();
        let text = String::from_utf8(to_json(&release).unwrap()).unwrap();
        assert_eq!(
            text,
            r#"{"name":"r","config":{"a":[true,null],"big":1e+21,"int":3,"small":1e-7,"z":1.5},"manifest":"a\u003cb\u003e\u0026c\u2028\u2029\"\\\n\u0001\b\fé","version":2}"#
        );
    }

    #[test]
    fn round_trip_through_data() {
        let release: Release = serde_json::from_value(json!({
            "name": "r", "version": 3, "namespace": "ns",
            "info": {"status": "deployed", "description": "Upgrade complete"}
        }))
        .unwrap();
        let data = encode(&release).unwrap();
        let raw = STANDARD.decode(&data).unwrap();
        assert_eq!(&raw[..3], &GZIP_MAGIC, "gzip inside base64");
        assert_eq!(decode(&data, Limits::default()).unwrap(), release);
    }

    #[test]
    fn line_broken_base64_is_read_as_go_reads_it() {
        let release: Release = serde_json::from_value(json!({"name": "r", "version": 1})).unwrap();
        let data = encode(&release).unwrap();
        let mut wrapped = String::new();
        for (i, c) in data.chars().enumerate() {
            if i > 0 && i % 10 == 0 {
                wrapped.push_str("\r\n");
            }
            wrapped.push(c);
        }
        wrapped.push('\n');
        assert_eq!(decode(&wrapped, Limits::default()).unwrap(), release);
        assert!(matches!(
            decode(&format!("{data} "), Limits::default()),
            Err(CodecError::Base64(_))
        ));
    }

    #[test]
    fn plain_json_records_are_read_as_helm_reads_them() {
        let data = STANDARD.encode(br#"{"name":"old","version":1}"#);
        let r = decode(&data, Limits::default()).unwrap();
        assert_eq!((r.name.as_str(), r.version), ("old", 1));
    }

    #[test]
    fn each_bad_layer_is_named() {
        let limits = Limits::default();
        let err = decode("not base64!", limits).unwrap_err();
        assert!(matches!(err, CodecError::Base64(_)), "{err}");
        assert!(err.to_string().contains("not valid base64"), "{err}");

        let mut truncated = gzip(br#"{"name":"r"}"#);
        truncated.truncate(truncated.len() - 6);
        let err = decode(&STANDARD.encode(&truncated), limits).unwrap_err();
        assert!(matches!(err, CodecError::Gzip(_)), "{err}");

        let mut corrupt = gzip(br#"{"name":"r","manifest":"xxxxxxxxxxxxxxxx"}"#);
        let n = corrupt.len();
        corrupt[12..n - 8].iter_mut().for_each(|b| *b = 0xff);
        let err = decode(&STANDARD.encode(&corrupt), limits).unwrap_err();
        assert!(matches!(err, CodecError::Gzip(_)), "{err}");

        let err = decode(&STANDARD.encode(gzip(b"{\"name\": 5}")), limits).unwrap_err();
        assert!(matches!(err, CodecError::Json(_)), "{err}");
        assert!(
            err.to_string().contains("not a valid release JSON"),
            "{err}"
        );

        let err = decode(&STANDARD.encode(gzip(b"[1,2")), limits).unwrap_err();
        assert!(matches!(err, CodecError::Json(_)), "{err}");
    }

    #[test]
    fn multi_member_streams_are_read_whole_as_go_does() {
        let json = br#"{"name":"r","manifest":"abcdef"}"#;
        let mut two = gzip(&json[..20]);
        two.extend(gzip(&json[20..]));
        let r = decode(&STANDARD.encode(two), Limits::default()).unwrap();
        assert_eq!(r.manifest, "abcdef");
    }

    /// Mutated records (bit flips, truncations, spliced bytes) in the
    /// compressed stream and in the JSON never panic: each decodes or is an
    /// error. A fixed seed keeps it a regression test.
    #[test]
    fn mutated_records_never_panic() {
        let release: Release = serde_json::from_value(json!({
            "name": "web", "version": 2, "namespace": "ns",
            "info": {"status": "deployed", "first_deployed": "2026-01-01T00:00:00Z"},
            "chart": {"metadata": {"name": "web", "version": "1.0.0"},
                      "templates": [{"name": "templates/a.yaml", "data": "YQ=="}],
                      "values": {"a": [1, {"b": null}]}},
            "config": {"x": "y"},
            "hooks": [{"name": "h", "events": ["test"], "last_run": {"phase": "Failed"}}],
            "manifest": "---\nkind: ConfigMap\n"
        }))
        .unwrap();
        let json_text = to_json(&release).unwrap();
        let compressed = STANDARD.decode(encode(&release).unwrap()).unwrap();
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % n as u64) as usize
        };
        let limits = Limits::default();
        let (mut decoded, mut refused) = (0, 0);
        for round in 0..2000 {
            let mut bytes = if round % 2 == 0 {
                compressed.clone()
            } else {
                json_text.clone()
            };
            match next(3) {
                0 => {
                    for _ in 0..=next(4) {
                        let i = next(bytes.len());
                        bytes[i] ^= 1 << next(8);
                    }
                }
                1 => bytes.truncate(next(bytes.len())),
                _ => {
                    let i = next(bytes.len());
                    let pool = b"{}[]\",:0e\xff";
                    let b = pool[next(pool.len())];
                    bytes.insert(i, b);
                }
            }
            let data = if round % 2 == 0 {
                STANDARD.encode(&bytes)
            } else {
                STANDARD.encode(gzip(&bytes))
            };
            match decode(&data, limits) {
                Ok(_) => decoded += 1,
                Err(_) => refused += 1,
            }
        }
        assert!(
            refused > 1000,
            "most mutations are refused ({decoded} decoded)"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!(
            "{{\"name\":\"r\",\"config\":{{\"a\":{}{}}}}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let err = decode(&STANDARD.encode(gzip(deep.as_bytes())), Limits::default()).unwrap_err();
        assert!(matches!(err, CodecError::Json(_)), "{err}");
    }

    #[test]
    fn decompression_bomb_is_refused_within_the_limit() {
        // One gzip member of 1 MiB of spaces is about 1 KiB; 256 of them
        // in a row (one stream, as Go reads it) are 256 MiB.
        let member = gzip(&vec![b' '; 1 << 20]);
        let bomb = STANDARD.encode(member.repeat(256));
        assert!(bomb.len() < 1 << 20, "the bomb fits in a Secret");
        let err = decode(&bomb, Limits::default()).unwrap_err();
        assert!(
            matches!(err, CodecError::TooLarge { limit } if limit == DEFAULT_MAX_DECOMPRESSED),
            "{err}"
        );
        let small = Limits {
            max_decompressed: 10,
        };
        let err = decode(&STANDARD.encode(gzip(br#"{"name":"release"}"#)), small).unwrap_err();
        assert!(err.to_string().contains("more than 10 bytes"), "{err}");
        let err = decode(&STANDARD.encode(br#"{"name":"release"}"#), small).unwrap_err();
        assert!(matches!(err, CodecError::TooLarge { .. }), "{err}");
    }
}
