//! The `sops` metadata block.

use serde::Deserialize;

use crate::error::Error;

/// An age master key entry.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct AgeEntry {
    pub recipient: String,
    pub enc: String,
}

/// An OpenPGP master key entry.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PgpEntry {
    pub fp: String,
    pub enc: String,
}

/// Any other master key entry (cloud KMS, Vault): only named in errors.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct OtherEntry {
    pub arn: String,
    pub resource_id: String,
    pub vault_url: String,
    pub name: String,
    pub vault_address: String,
    pub engine_path: String,
    pub key_name: String,
}

/// A key group (SOPS writes `key_groups` only when there are several, for Shamir sharing).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct KeyGroup {
    #[serde(deserialize_with = "nullable")]
    pub age: Vec<AgeEntry>,
    #[serde(deserialize_with = "nullable")]
    pub pgp: Vec<PgpEntry>,
    #[serde(deserialize_with = "nullable")]
    pub kms: Vec<OtherEntry>,
    #[serde(deserialize_with = "nullable")]
    pub gcp_kms: Vec<OtherEntry>,
    #[serde(deserialize_with = "nullable")]
    pub azure_kv: Vec<OtherEntry>,
    #[serde(deserialize_with = "nullable")]
    pub hc_vault: Vec<OtherEntry>,
}

/// The parsed `sops` block.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct Metadata {
    #[serde(flatten)]
    pub keys: KeyGroup,
    #[serde(deserialize_with = "nullable")]
    pub key_groups: Vec<KeyGroup>,
    pub shamir_threshold: Option<serde_json::Value>,
    pub lastmodified: String,
    pub mac: String,
    pub unencrypted_suffix: String,
    pub encrypted_suffix: String,
    pub unencrypted_regex: String,
    pub encrypted_regex: String,
    pub unencrypted_comment_regex: String,
    pub encrypted_comment_regex: String,
    pub mac_only_encrypted: bool,
    pub version: String,
}

/// SOPS writes `null` for empty key lists in JSON.
fn nullable<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

impl Metadata {
    /// Checks what this decryptor needs and does not implement.
    pub fn validate(&self) -> Result<(), Error> {
        if self.key_groups.len() > 1 {
            return Err(Error::Unsupported(format!(
                "{} key groups (Shamir secret sharing of the data key)",
                self.key_groups.len()
            )));
        }
        if !self.unencrypted_comment_regex.is_empty() || !self.encrypted_comment_regex.is_empty() {
            return Err(Error::Unsupported(
                "unencrypted_comment_regex/encrypted_comment_regex (encryption decided by comments)"
                    .into(),
            ));
        }
        let rules = [
            !self.unencrypted_suffix.is_empty(),
            !self.encrypted_suffix.is_empty(),
            !self.unencrypted_regex.is_empty(),
            !self.encrypted_regex.is_empty(),
        ];
        if rules.iter().filter(|r| **r).count() > 1 {
            return Err(Error::Metadata(
                "more than one of unencrypted_suffix, encrypted_suffix, unencrypted_regex, encrypted_regex is set".into(),
            ));
        }
        if self.lastmodified.is_empty() {
            return Err(Error::Metadata("lastmodified is missing".into()));
        }
        Ok(())
    }

    /// All master keys of the (single) key group.
    pub fn group(&self) -> &KeyGroup {
        self.key_groups.first().unwrap_or(&self.keys)
    }
}
