//! Master keys that open a document's data key: age identities (X25519 and post-quantum
//! ML-KEM-768+X25519) and OpenPGP secret keys. Everything else a document may name (cloud
//! KMS, Vault) is reported as not supported here, without any network call.

use std::io::{Cursor, Read};

use pgp::composed::{Message, PublicOrSecret, SignedSecretKey};
use pgp::types::{KeyDetails, Password};

use crate::age_pq;
use crate::error::Error;
use crate::metadata::KeyGroup;

/// Data keys are 32 bytes; reading more than this from a key envelope means it is not one.
const MAX_DATA_KEY_READ: u64 = 64;

/// The private keys available for recovering data keys.
#[derive(Default)]
pub struct KeyRing {
    age: Vec<age::x25519::Identity>,
    age_pq: Vec<age_pq::Identity>,
    pgp: Vec<SignedSecretKey>,
    /// Credentials Flux accepts but this decryptor cannot use (KMS, Vault), by kind.
    unusable: Vec<&'static str>,
}

impl std::fmt::Debug for KeyRing {
    // Never print key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("age_identities", &self.age.len())
            .field("age_pq_identities", &self.age_pq.len())
            .field("pgp_keys", &self.pgp.len())
            .field("unusable", &self.unusable)
            .finish()
    }
}

impl KeyRing {
    /// An empty key ring.
    pub fn new() -> KeyRing {
        KeyRing::default()
    }

    /// Adds the identities of an age identity file (`# comment` lines and one
    /// identity per line, as in Flux's `*.agekey` entries): X25519 (`AGE-SECRET-KEY-1...`)
    /// and post-quantum ML-KEM-768+X25519 (`AGE-SECRET-KEY-PQ-1...`) identities, mixed as
    /// Flux allows. Returns how many identities were added.
    pub fn add_age_identities(&mut self, text: &str) -> Result<usize, Error> {
        let mut added = 0;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if line.starts_with("AGE-SECRET-KEY-PQ-") {
                let id = age_pq::Identity::parse(line).map_err(|why| Error::InvalidKey {
                    kind: "age",
                    reason: format!("line {}: {why}", i + 1),
                })?;
                self.age_pq.push(id);
                added += 1;
                continue;
            }
            let id = line
                .parse::<age::x25519::Identity>()
                .map_err(|_| Error::InvalidKey {
                    kind: "age",
                    reason: format!("line {} is not an age X25519 identity", i + 1),
                })?;
            self.age.push(id);
            added += 1;
        }
        if added == 0 {
            return Err(Error::InvalidKey {
                kind: "age",
                reason: "no identity found".into(),
            });
        }
        Ok(added)
    }

    /// Adds the secret keys of an ASCII-armoured OpenPGP key file (public keys in it are
    /// ignored). Returns how many secret keys were added.
    pub fn add_pgp_armored(&mut self, text: &str) -> Result<usize, Error> {
        let invalid = |reason: &str| Error::InvalidKey {
            kind: "pgp",
            reason: reason.to_string(),
        };
        let mut added = 0;
        // Key files often hold several armour blocks (secret and public) back to back.
        for block in armor_blocks(text) {
            let (keys, _) = PublicOrSecret::from_armor_many(Cursor::new(block.as_bytes()))
                .map_err(|_| invalid("not an ASCII-armoured OpenPGP key block"))?;
            for key in keys {
                match key.map_err(|_| invalid("malformed OpenPGP key packet"))? {
                    PublicOrSecret::Secret(k) => {
                        self.pgp.push(k);
                        added += 1;
                    }
                    PublicOrSecret::Public(_) => {}
                }
            }
        }
        if added == 0 {
            return Err(invalid("no secret key found"));
        }
        Ok(added)
    }

    /// Adds one entry of a Flux decryption Secret by its name, as kustomize-controller
    /// reads them: `*.agekey` (age identities), `*.asc` (OpenPGP keys); `sops.vault-token`,
    /// `sops.aws-kms`, `sops.azure-kv` and `sops.gcp-kms.json` are recognised but cannot be
    /// used here (decryption then says so). Other names are ignored, as Flux does. Returns
    /// whether the name was recognised.
    pub fn add_flux_secret_entry(&mut self, name: &str, value: &[u8]) -> Result<bool, Error> {
        let text = |kind| {
            std::str::from_utf8(value).map_err(|_| Error::InvalidKey {
                kind,
                reason: format!("Secret entry '{name}' is not UTF-8"),
            })
        };
        if name.ends_with(".agekey") {
            self.add_age_identities(text("age")?)?;
        } else if name.ends_with(".asc") {
            self.add_pgp_armored(text("pgp")?)?;
        } else {
            let kind = match name {
                "sops.vault-token" => "HashiCorp Vault token",
                "sops.aws-kms" => "AWS KMS credentials",
                "sops.azure-kv" => "Azure Key Vault credentials",
                "sops.gcp-kms.json" => "GCP KMS credentials",
                _ => return Ok(false),
            };
            self.unusable.push(kind);
        }
        Ok(true)
    }

    /// Whether the ring holds no usable or recognised key.
    pub fn is_empty(&self) -> bool {
        self.age.is_empty() && self.pgp.is_empty() && self.age_pq.is_empty()
    }

    /// Recovers the data key from the first master key of `group` these keys open, trying
    /// age before OpenPGP as SOPS does. The error lists why each master key failed.
    pub(crate) fn data_key(&self, group: &KeyGroup) -> Result<[u8; 32], Error> {
        let mut why = Vec::new();
        for entry in &group.age {
            // Each kind of identity only opens its own kind of stanza, so say which kind
            // is missing rather than that none matched.
            let pq = entry.recipient.starts_with("age1pq1");
            let (have, kind) = if pq {
                (!self.age_pq.is_empty(), "post-quantum")
            } else {
                (!self.age.is_empty(), "X25519")
            };
            if !have {
                why.push(format!(
                    "age recipient {}: no {kind} age identity given",
                    short(&entry.recipient)
                ));
                continue;
            }
            match self.open_age(&entry.enc) {
                Ok(k) => return Ok(k),
                Err(reason) => why.push(format!(
                    "age recipient {}: {reason}",
                    short(&entry.recipient)
                )),
            }
        }
        for entry in &group.pgp {
            if self.pgp.is_empty() {
                why.push(format!("pgp key {}: no OpenPGP secret key given", entry.fp));
                continue;
            }
            match self.open_pgp(&entry.enc) {
                Ok(k) => return Ok(k),
                Err(reason) => why.push(format!("pgp key {}: {reason}", entry.fp)),
            }
        }
        let others = [
            ("AWS KMS", &group.kms),
            ("GCP KMS", &group.gcp_kms),
            ("Azure Key Vault", &group.azure_kv),
            ("HashiCorp Vault", &group.hc_vault),
        ];
        for (name, entries) in others {
            for _ in entries.iter() {
                why.push(format!("{name} master key: not supported here"));
            }
        }
        if why.is_empty() {
            why.push("the document names no master key".into());
        }
        for kind in &self.unusable {
            why.push(format!("{kind} given, but not supported here"));
        }
        Err(Error::NoDataKey(why))
    }

    fn open_age(&self, enc: &str) -> Result<[u8; 32], &'static str> {
        let reader = age::armor::ArmoredReader::new(enc.as_bytes());
        let decryptor =
            age::Decryptor::new_buffered(reader).map_err(|_| "malformed age envelope")?;
        if decryptor.is_scrypt() {
            return Err("passphrase-encrypted age envelopes are not supported");
        }
        let ids = self
            .age
            .iter()
            .map(|i| i as &dyn age::Identity)
            .chain(self.age_pq.iter().map(|i| i as &dyn age::Identity));
        let mut out = Vec::new();
        decryptor
            .decrypt(ids)
            .map_err(|e| match e {
                age::DecryptError::NoMatchingKeys => "none of the given age identities matches",
                _ => "age decryption failed (malformed or tampered envelope)",
            })?
            .take(MAX_DATA_KEY_READ)
            .read_to_end(&mut out)
            .map_err(|_| "age decryption failed (malformed or tampered envelope)")?;
        to_key(out)
    }

    fn open_pgp(&self, enc: &str) -> Result<[u8; 32], &'static str> {
        let (msg, _) = Message::from_string(enc).map_err(|_| "malformed OpenPGP message")?;
        let pw = Password::empty();
        let passwords = vec![&pw; self.pgp.len()];
        let keys: Vec<&SignedSecretKey> = self.pgp.iter().collect();
        let msg = msg.decrypt_with_keys(passwords, keys).map_err(|_| {
            "none of the given OpenPGP secret keys opens it (wrong key, or a passphrase-protected key, which is not supported)"
        })?;
        let mut msg = if msg.is_compressed() {
            msg.decompress()
                .map_err(|_| "OpenPGP decompression failed")?
        } else {
            msg
        };
        let mut out = Vec::new();
        (&mut msg)
            .take(MAX_DATA_KEY_READ)
            .read_to_end(&mut out)
            .map_err(|_| "OpenPGP decryption failed (malformed or tampered message)")?;
        // Reading to the end checks the integrity (MDC/AEAD) trailer.
        let mut rest = [0u8; 1];
        if msg
            .read(&mut rest)
            .map_err(|_| "OpenPGP decryption failed (malformed or tampered message)")?
            != 0
        {
            return Err("the OpenPGP message does not hold a 32-byte data key");
        }
        to_key(out)
    }

    /// Fingerprints of the OpenPGP secret keys held (upper-case hex), for diagnostics.
    pub fn pgp_fingerprints(&self) -> Vec<String> {
        self.pgp
            .iter()
            .map(|k| format!("{:X}", k.fingerprint()))
            .collect()
    }
}

fn to_key(bytes: Vec<u8>) -> Result<[u8; 32], &'static str> {
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| "the envelope does not hold a 32-byte data key")
}

/// Recipients are long; the start identifies them well enough in messages.
fn short(recipient: &str) -> String {
    if recipient.chars().count() > 24 {
        format!("{}...", recipient.chars().take(24).collect::<String>())
    } else {
        recipient.to_string()
    }
}

/// Splits text into its `-----BEGIN PGP ...-----` .. `-----END PGP ...-----` blocks.
fn armor_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim_end();
        if trimmed.starts_with("-----BEGIN PGP ") {
            current = Some(String::new());
        }
        if let Some(block) = current.as_mut() {
            block.push_str(trimmed);
            block.push('\n');
        }
        if trimmed.starts_with("-----END PGP ")
            && let Some(block) = current.take()
        {
            blocks.push(block);
        }
    }
    blocks
}
