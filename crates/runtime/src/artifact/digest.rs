//! Artifact digests in Flux's `<algorithm>:<hex>` form (`sha256:…`, as in
//! `status.artifact.digest`).

use std::fmt;

use sha2::Digest as _;

use super::ArtifactError;

/// A hash algorithm an artifact digest may name.
///
/// Flux writes `sha256` today; `sha384` and `sha512` cost nothing extra with the `sha2`
/// crate and are accepted so that artifacts produced by other tooling still verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// SHA-256 (Flux's default).
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DigestAlgorithm {
    /// The name used in digest strings (`sha256`, …).
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sha384 => "sha384",
            DigestAlgorithm::Sha512 => "sha512",
        }
    }

    /// Length of the hex-encoded hash, used to reject truncated digests up front.
    fn hex_len(self) -> usize {
        match self {
            DigestAlgorithm::Sha256 => 64,
            DigestAlgorithm::Sha384 => 96,
            DigestAlgorithm::Sha512 => 128,
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(DigestAlgorithm::Sha256),
            "sha384" => Some(DigestAlgorithm::Sha384),
            "sha512" => Some(DigestAlgorithm::Sha512),
            _ => None,
        }
    }
}

impl fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A parsed, validated digest: algorithm plus lower-case hex.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Digest {
    algorithm: DigestAlgorithm,
    hex: String,
}

impl Digest {
    /// Parses `<algorithm>:<hex>`.
    ///
    /// Parsing happens before any download so that a malformed or unsupported digest
    /// fails fast, without fetching bytes that could never be verified. Upper-case hex is
    /// accepted and normalised, since the value is a hash, not a case-sensitive name.
    pub fn parse(s: &str) -> Result<Self, ArtifactError> {
        let invalid = |reason: &str| ArtifactError::InvalidDigest {
            digest: s.to_string(),
            reason: reason.to_string(),
        };
        let (algorithm, hex) = s
            .split_once(':')
            .ok_or_else(|| invalid("expected <algorithm>:<hex>"))?;
        if algorithm.is_empty() {
            return Err(invalid("missing algorithm"));
        }
        let algorithm =
            DigestAlgorithm::from_name(&algorithm.to_ascii_lowercase()).ok_or_else(|| {
                ArtifactError::UnsupportedDigestAlgorithm {
                    algorithm: algorithm.to_string(),
                }
            })?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid("hash is not hexadecimal"));
        }
        if hex.len() != algorithm.hex_len() {
            return Err(invalid(&format!(
                "{} hash must be {} hex characters, got {}",
                algorithm,
                algorithm.hex_len(),
                hex.len()
            )));
        }
        Ok(Digest {
            algorithm,
            hex: hex.to_ascii_lowercase(),
        })
    }

    /// Computes the digest of `bytes` with `algorithm`.
    pub fn compute(algorithm: DigestAlgorithm, bytes: &[u8]) -> Self {
        let mut hasher = Hasher::new(algorithm);
        hasher.update(bytes);
        hasher.finish()
    }

    /// The algorithm.
    pub fn algorithm(&self) -> DigestAlgorithm {
        self.algorithm
    }

    /// The hash as lower-case hex.
    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm, self.hex)
    }
}

impl std::str::FromStr for Digest {
    type Err = ArtifactError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Digest::parse(s)
    }
}

/// Incremental hasher, so the download can be hashed chunk by chunk as it streams in
/// instead of in a second pass over the whole buffer.
pub(crate) enum Hasher {
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl Hasher {
    pub(crate) fn new(algorithm: DigestAlgorithm) -> Self {
        match algorithm {
            DigestAlgorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            DigestAlgorithm::Sha384 => Hasher::Sha384(sha2::Sha384::new()),
            DigestAlgorithm::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha384(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    pub(crate) fn finish(self) -> Digest {
        let (algorithm, hex) = match self {
            Hasher::Sha256(h) => (DigestAlgorithm::Sha256, hex::encode(h.finalize())),
            Hasher::Sha384(h) => (DigestAlgorithm::Sha384, hex::encode(h.finalize())),
            Hasher::Sha512(h) => (DigestAlgorithm::Sha512, hex::encode(h.finalize())),
        };
        Digest { algorithm, hex }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn computes_known_sha256() {
        let d = Digest::compute(DigestAlgorithm::Sha256, b"");
        assert_eq!(d.to_string(), format!("sha256:{EMPTY_SHA256}"));
    }

    #[test]
    fn parses_and_normalises_case() {
        let d = Digest::parse(&format!("sha256:{}", EMPTY_SHA256.to_uppercase())).unwrap();
        assert_eq!(d, Digest::compute(DigestAlgorithm::Sha256, b""));
        assert_eq!(d.hex(), EMPTY_SHA256);
    }

    #[test]
    fn sha384_and_sha512_roundtrip() {
        for alg in [DigestAlgorithm::Sha384, DigestAlgorithm::Sha512] {
            let d = Digest::compute(alg, b"ferroflux");
            assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
        }
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "sha256",
            ":abcd",
            "sha256:xyz",
            "sha256:abcd",
            &format!("sha256:{EMPTY_SHA256}00"),
        ] {
            assert!(
                matches!(Digest::parse(bad), Err(ArtifactError::InvalidDigest { .. })),
                "{bad:?} should be invalid"
            );
        }
    }

    #[test]
    fn rejects_unsupported_algorithm() {
        let err = Digest::parse("md5:d41d8cd98f00b204e9800998ecf8427e").unwrap_err();
        assert!(matches!(
            err,
            ArtifactError::UnsupportedDigestAlgorithm { ref algorithm } if algorithm == "md5"
        ));
        assert!(err.to_string().contains("unsupported digest algorithm"));
    }
}
