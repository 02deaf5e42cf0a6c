//! Round trips through a small test-only encryptor following SOPS's rules, for the rules
//! no shared fixture exercises (encrypted_suffix, unencrypted_regex, mac_only_encrypted,
//! typed values). The fixtures remain the authority on the format itself.

use aes_gcm::AesGcm;
use aes_gcm::aead::consts::U32;
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use age::secrecy::ExposeSecret;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ferroflux_sops::{Error, Format, KeyRing, Options, decrypt};
use serde_yaml::{Mapping, Value};
use sha2::{Digest, Sha512};

const LASTMODIFIED: &str = "2026-01-02T03:04:05Z";

fn enc(key: &[u8; 32], rng: &mut fastrand::Rng, plain: &[u8], kind: &str, aad: &str) -> String {
    let iv: Vec<u8> = (0..32).map(|_| rng.u8(..)).collect();
    let cipher = AesGcm::<Aes256, U32>::new(GenericArray::from_slice(key));
    let mut out = cipher
        .encrypt(
            GenericArray::from_slice(&iv),
            Payload {
                msg: plain,
                aad: aad.as_bytes(),
            },
        )
        .unwrap();
    let tag = out.split_off(out.len() - 16);
    format!(
        "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{kind}]",
        STANDARD.encode(out),
        STANDARD.encode(iv),
        STANDARD.encode(tag)
    )
}

struct Enc<'a> {
    key: [u8; 32],
    rng: fastrand::Rng,
    hash: Sha512,
    rule: (&'a str, &'a str),
    mac_only_encrypted: bool,
}

impl Enc<'_> {
    fn encrypted(&self, path: &[String]) -> bool {
        let (name, arg) = self.rule;
        match name {
            "unencrypted_suffix" => !path.iter().any(|p| p.ends_with(arg)),
            "encrypted_suffix" => path.iter().any(|p| p.ends_with(arg)),
            "unencrypted_regex" => !path
                .iter()
                .any(|p| regex::Regex::new(arg).unwrap().is_match(p)),
            "encrypted_regex" => path
                .iter()
                .any(|p| regex::Regex::new(arg).unwrap().is_match(p)),
            _ => true,
        }
    }

    fn walk(&mut self, v: &mut Value, path: &mut Vec<String>) {
        match v {
            Value::Mapping(m) => {
                for (k, child) in m.iter_mut() {
                    path.push(k.as_str().unwrap().to_string());
                    self.walk(child, path);
                    path.pop();
                }
            }
            Value::Sequence(items) => items.iter_mut().for_each(|c| self.walk(c, path)),
            Value::Null => {}
            leaf => {
                let (bytes, kind) = match &*leaf {
                    Value::String(s) => (s.clone(), "str"),
                    Value::Bool(b) => (if *b { "True" } else { "False" }.to_string(), "bool"),
                    Value::Number(n) if n.is_i64() => (n.to_string(), "int"),
                    Value::Number(n) => (n.as_f64().unwrap().to_string(), "float"),
                    _ => unreachable!(),
                };
                let encrypted = self.encrypted(path);
                if !self.mac_only_encrypted || encrypted {
                    self.hash.update(bytes.as_bytes());
                }
                if encrypted {
                    // sops stores bools as Go's FormatBool text inside the ciphertext.
                    let text = if kind == "bool" {
                        bytes.to_lowercase()
                    } else {
                        bytes
                    };
                    let aad = format!("{}:", path.join(":"));
                    *leaf =
                        Value::String(enc(&self.key, &mut self.rng, text.as_bytes(), kind, &aad));
                }
            }
        }
    }
}

/// Encrypts `plain` for a fresh age identity under one rule; returns the document and keys.
fn encrypt(
    plain: &str,
    rule: (&str, &str),
    mac_only_encrypted: bool,
    seed: u64,
) -> (String, KeyRing) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut key = [0u8; 32];
    key.iter_mut().for_each(|b| *b = rng.u8(..));
    let identity = age::x25519::Identity::generate();
    let envelope = age::encrypt_and_armor(&identity.to_public(), &key).unwrap();
    let mut e = Enc {
        key,
        rng,
        hash: Sha512::new(),
        rule,
        mac_only_encrypted,
    };
    if mac_only_encrypted {
        e.hash.update([
            0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47,
            0xbe, 0x0b, 0x0b, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81,
            0x76, 0xf2, 0x7d, 0x69,
        ]);
    }
    let mut doc: Value = serde_yaml::from_str(plain).unwrap();
    e.walk(&mut doc, &mut Vec::new());
    let mac_hex = hex::encode_upper(e.hash.clone().finalize());
    let mac = enc(&e.key, &mut e.rng, mac_hex.as_bytes(), "str", LASTMODIFIED);
    let mut sops = Mapping::new();
    let mut age_entry = Mapping::new();
    age_entry.insert("recipient".into(), identity.to_public().to_string().into());
    age_entry.insert("enc".into(), envelope.into());
    sops.insert(
        "age".into(),
        Value::Sequence(vec![Value::Mapping(age_entry)]),
    );
    sops.insert("lastmodified".into(), LASTMODIFIED.into());
    sops.insert("mac".into(), mac.into());
    if !rule.0.is_empty() {
        sops.insert(rule.0.into(), rule.1.into());
    }
    if mac_only_encrypted {
        sops.insert("mac_only_encrypted".into(), true.into());
    }
    sops.insert("version".into(), "3.9.0".into());
    doc.as_mapping_mut()
        .unwrap()
        .insert("sops".into(), Value::Mapping(sops));
    let mut keys = KeyRing::new();
    keys.add_age_identities(identity.to_string().expose_secret())
        .unwrap();
    (serde_yaml::to_string(&doc).unwrap(), keys)
}

const PLAIN: &str = "\
name: demo
data:
  token: s3cr3t-token
  count: 42
  ratio: 0.25
  enabled: true
  list: [one, two]
  empty_value: null
pub_info: visible
note_enc: hidden-note
note_unencrypted: plain-note
";

#[test]
fn every_rule_round_trips() {
    let rules = [
        ("", ""),
        ("unencrypted_suffix", "_unencrypted"),
        ("encrypted_suffix", "_enc"),
        ("unencrypted_regex", "^pub"),
        ("encrypted_regex", "^(data|stringData)$"),
    ];
    let expected: Value = serde_yaml::from_str(PLAIN).unwrap();
    for (i, rule) in rules.into_iter().enumerate() {
        for mac_only in [false, true] {
            let (doc, keys) = encrypt(PLAIN, rule, mac_only, i as u64);
            assert!(
                doc.contains("ENC[AES256_GCM"),
                "{rule:?}: nothing encrypted"
            );
            let out = decrypt(doc.as_bytes(), Format::Yaml, &keys, &Options::default())
                .unwrap_or_else(|e| panic!("{rule:?} mac_only={mac_only}: {e}"));
            let out: Value = serde_yaml::from_slice(&out).unwrap();
            assert_eq!(out, expected, "{rule:?} mac_only={mac_only}");
        }
    }
}

#[test]
fn mac_only_encrypted_ignores_plain_values() {
    // With mac_only_encrypted, a plain value is outside the MAC (SOPS's semantics); without
    // it, changing the same value is a MAC mismatch.
    let rule = ("encrypted_regex", "^data$");
    let (doc, keys) = encrypt(PLAIN, rule, true, 7);
    let edited = doc.replace("pub_info: visible", "pub_info: changed");
    assert_ne!(doc, edited);
    decrypt(edited.as_bytes(), Format::Yaml, &keys, &Options::default()).unwrap();
    let (doc, keys) = encrypt(PLAIN, rule, false, 7);
    let edited = doc.replace("pub_info: visible", "pub_info: changed");
    let err = decrypt(edited.as_bytes(), Format::Yaml, &keys, &Options::default()).unwrap_err();
    assert!(matches!(err, Error::MacMismatch), "{err}");
}

#[test]
fn list_items_share_their_list_path() {
    // SOPS binds list items to the list's path without an index: swapping two encrypted
    // items of one list still authenticates, but the MAC (document order) catches it.
    let (doc, keys) = encrypt("list: [alpha, beta]\n", ("", ""), false, 9);
    let lines: Vec<&str> = doc.lines().collect();
    let items: Vec<usize> = (0..lines.len())
        .filter(|i| lines[*i].starts_with("- ENC["))
        .collect();
    assert_eq!(items.len(), 2, "{doc}");
    let mut swapped: Vec<&str> = lines.clone();
    swapped.swap(items[0], items[1]);
    let swapped = swapped.join("\n");
    let err = decrypt(swapped.as_bytes(), Format::Yaml, &keys, &Options::default()).unwrap_err();
    assert!(matches!(err, Error::MacMismatch), "{err}");
}
