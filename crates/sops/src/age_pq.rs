//! age's hybrid post-quantum identity type (`AGE-SECRET-KEY-PQ-1...`, recipients
//! `age1pq1...`), which opens `mlkem768x25519` stanzas as c2sp.org/age specifies them: the
//! file key sealed with HPKE base mode, KEM MLKEM768-X25519 (X-Wing), KDF HKDF-SHA256,
//! AEAD ChaCha20-Poly1305, info `age-encryption.org/mlkem768x25519`, empty aad.
//!
//! The `age` crate (0.12) parses the header, checks its MAC and decrypts the payload; it
//! has no such identity yet, so this one plugs into its [`age::Identity`] trait. HPKE and
//! X-Wing are the `hpke-rs` crate's (with libcrux): only the stanza checks and key
//! encoding live here.

use age_core::format::{FILE_KEY_BYTES, FileKey, Stanza};
use age_core::secrecy::zeroize::Zeroize;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use bech32::primitives::decode::CheckedHrpstring;
use hpke_rs::{Hpke, HpkePrivateKey, Mode};
use hpke_rs_crypto::types::{AeadAlgorithm, KdfAlgorithm, KemAlgorithm};
use hpke_rs_libcrux::HpkeLibcrux;

/// Bech32 human-readable part of an identity, compared in lower case.
const IDENTITY_HRP: &str = "age-secret-key-pq-";
/// The first argument of the stanzas this identity opens.
const STANZA_TAG: &str = "mlkem768x25519";
/// HPKE `info` bound into every stanza.
const HPKE_INFO: &[u8] = b"age-encryption.org/mlkem768x25519";
/// X-Wing's encapsulated key (ML-KEM-768 ciphertext and X25519 share).
const ENCAPSULATED_LEN: usize = 1120;
/// The sealed file key: the key and ChaCha20-Poly1305's 16-byte tag.
const BODY_LEN: usize = FILE_KEY_BYTES + 16;
/// An X-Wing private key is a 32-byte seed.
const SEED_LEN: usize = 32;

/// A post-quantum age identity: the X-Wing private key seed (zeroed on drop).
pub(crate) struct Identity(HpkePrivateKey);

impl Identity {
    /// Parses an `AGE-SECRET-KEY-PQ-1...` string. The error never repeats the input.
    pub(crate) fn parse(s: &str) -> Result<Identity, &'static str> {
        let parsed = CheckedHrpstring::new::<bech32::Bech32>(s)
            .map_err(|_| "not a valid Bech32 string (bad character or checksum)")?;
        if parsed.hrp().to_lowercase() != IDENTITY_HRP {
            return Err("not a post-quantum age identity (wrong Bech32 prefix)");
        }
        let mut seed: Vec<u8> = parsed.byte_iter().collect();
        if seed.len() != SEED_LEN {
            seed.zeroize();
            return Err("a post-quantum age identity holds 32 bytes");
        }
        // Any 32 bytes are a valid X-Wing seed.
        Ok(Identity(HpkePrivateKey::new(seed)))
    }
}

impl age::Identity for Identity {
    fn unwrap_stanza(&self, stanza: &Stanza) -> Option<Result<FileKey, age::DecryptError>> {
        if stanza.tag != STANZA_TAG {
            return None;
        }
        // The spec's checks, before any decryption: exactly one argument holding the
        // canonical base64 of the encapsulated key, and a body of exactly the sealed
        // key's size (a partitioning-oracle mitigation).
        let [encapsulated] = stanza.args.as_slice() else {
            return Some(Err(age::DecryptError::InvalidHeader));
        };
        let encapsulated = match STANDARD_NO_PAD.decode(encapsulated) {
            Ok(bytes) if bytes.len() == ENCAPSULATED_LEN => bytes,
            _ => return Some(Err(age::DecryptError::InvalidHeader)),
        };
        if stanza.body.len() != BODY_LEN {
            return Some(Err(age::DecryptError::InvalidHeader));
        }
        let hpke = match Hpke::<HpkeLibcrux>::try_new(
            Mode::Base,
            KemAlgorithm::XWingDraft06,
            KdfAlgorithm::HkdfSha256,
            AeadAlgorithm::ChaCha20Poly1305,
        ) {
            Ok(h) => h,
            Err(_) => return Some(Err(age::DecryptError::DecryptionFailed)),
        };
        // The stanza names no recipient, so failing to open it only means it is
        // addressed to someone else (or tampered with, which looks the same): not ours.
        let mut plain = hpke
            .open(
                &encapsulated,
                &self.0,
                HPKE_INFO,
                b"",
                &stanza.body,
                None,
                None,
                None,
            )
            .ok()?;
        let key = FileKey::try_init_with_mut(|k| {
            if plain.len() == FILE_KEY_BYTES {
                k.copy_from_slice(&plain);
                Ok(())
            } else {
                Err(age::DecryptError::DecryptionFailed)
            }
        });
        plain.zeroize();
        Some(key)
    }
}
