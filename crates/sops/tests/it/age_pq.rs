//! age's post-quantum (ML-KEM-768+X25519) identities: Flux's `age-pq` fixture, written by
//! the real `sops`, opens with its key; wrong keys, tampered stanzas and malformed key
//! files each give a clear error without key material; the X25519 path is unchanged.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use ferroflux_sops::{Error, Format, KeyRing, Options, decrypt};

use crate::support::*;

const ARMOR_BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----";
const ARMOR_END: &str = "-----END AGE ENCRYPTED FILE-----";

fn pq_yaml() -> Option<String> {
    text(&format!("{FLUX}/algorithms/age-pq.yaml"))
}

fn ring(identities: &str) -> KeyRing {
    let mut keys = KeyRing::new();
    keys.add_age_identities(identities).unwrap();
    keys
}

fn open_yaml(doc: &str, keys: &KeyRing) -> Result<Vec<u8>, Error> {
    decrypt(doc.as_bytes(), Format::Yaml, keys, &Options::default())
}

/// The error, checked to carry no key material and no plaintext.
fn yaml_err(doc: &str, keys: &KeyRing) -> String {
    let err = open_yaml(doc, keys).unwrap_err();
    let msg = format!("{err} {err:?}");
    assert!(matches!(err, Error::NoDataKey(_)), "{msg}");
    assert!(!msg.contains("AGE-SECRET-KEY"), "{msg}");
    assert!(!msg.contains("=value") && !msg.contains(": value"), "{msg}");
    msg
}

fn assert_value(out: &[u8]) {
    assert_eq!(yaml(out)["stringData"]["key"].as_str(), Some("value"));
}

/// A fresh post-quantum identity: 32 random bytes, Bech32 with age's prefix.
fn random_pq_identity() -> String {
    let mut rng = fastrand::Rng::new();
    let seed: Vec<u8> = (0..32).map(|_| rng.u8(..)).collect();
    let hrp = bech32::Hrp::parse("AGE-SECRET-KEY-PQ-").unwrap();
    bech32::encode_upper::<bech32::Bech32>(hrp, &seed).unwrap()
}

/// The document's age envelope, decoded from its armour to the binary age file.
fn envelope(doc: &str) -> Vec<u8> {
    let v = yaml(doc.as_bytes());
    let enc = v["sops"]["age"][0]["enc"].as_str().unwrap();
    let b64: String = enc
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != ARMOR_BEGIN && *l != ARMOR_END)
        .collect();
    STANDARD.decode(b64).unwrap()
}

/// The document with its age envelope replaced by `file`, armoured as age does.
fn with_envelope(doc: &str, file: &[u8]) -> String {
    let b64 = STANDARD.encode(file);
    let mut armor = format!("{ARMOR_BEGIN}\n");
    for chunk in b64.as_bytes().chunks(64) {
        armor.push_str(std::str::from_utf8(chunk).unwrap());
        armor.push('\n');
    }
    armor.push_str(ARMOR_END);
    armor.push('\n');
    let mut v = yaml(doc.as_bytes());
    v["sops"]["age"][0]["enc"] = armor.into();
    serde_yaml::to_string(&v).unwrap()
}

/// The age header's lines (it is text up to the MAC line) and the binary payload.
fn split_header(file: &[u8]) -> (Vec<String>, Vec<u8>) {
    let mac_at = file
        .windows(4)
        .position(|w| w == b"\n---")
        .expect("age header has a MAC line")
        + 1;
    let mac_end = mac_at + file[mac_at..].iter().position(|&b| b == b'\n').unwrap() + 1;
    let header = std::str::from_utf8(&file[..mac_end]).unwrap();
    let lines = header.lines().map(str::to_string).collect();
    (lines, file[mac_end..].to_vec())
}

fn join_header(lines: &[String], payload: &[u8]) -> Vec<u8> {
    let mut out = lines.join("\n").into_bytes();
    out.push(b'\n');
    out.extend_from_slice(payload);
    out
}

/// A change to a stanza's argument line and decoded body.
type StanzaEdit = dyn Fn(&mut String, &mut Vec<u8>);

/// Rewrites the `mlkem768x25519` stanza of the fixture: `edit` gets its argument line
/// and its body (decoded) and may change both.
fn edit_stanza(doc: &str, edit: impl FnOnce(&mut String, &mut Vec<u8>)) -> String {
    let (mut lines, payload) = split_header(&envelope(doc));
    let at = lines
        .iter()
        .position(|l| l.starts_with("-> mlkem768x25519 "))
        .expect("the fixture has an mlkem768x25519 stanza");
    // The fixture's body is one line (32 bytes are 43 base64 characters).
    let mut body = STANDARD_NO_PAD.decode(&lines[at + 1]).unwrap();
    assert_eq!(body.len(), 32);
    let mut args = lines[at].clone();
    edit(&mut args, &mut body);
    lines[at] = args;
    lines[at + 1] = STANDARD_NO_PAD.encode(&body);
    with_envelope(doc, &join_header(&lines, &payload))
}

#[test]
fn both_key_kinds_in_one_agekey_file_open_both_documents() {
    let (Some(pq_doc), Some(classic_doc), Some(classic), Some(pq)) = (
        pq_yaml(),
        text(&format!("{FLUX}/algorithms/age.yaml")),
        text(&format!("{FLUX}/keys/age.txt")),
        text(&format!("{FLUX}/keys/age-pq.txt")),
    ) else {
        return;
    };
    // One `*.agekey` entry holding both kinds, with comments, as Flux allows.
    let mut keys = KeyRing::new();
    let both = format!("# classic\n{classic}\n# post-quantum\n{pq}\n");
    assert!(
        keys.add_flux_secret_entry("identities.agekey", both.as_bytes())
            .unwrap()
    );
    assert_value(&open_yaml(&pq_doc, &keys).unwrap());
    assert_value(&open_yaml(&classic_doc, &keys).unwrap());
    // Each kind alone opens its own document and names the other kind as missing.
    assert_value(&open_yaml(&pq_doc, &ring(&pq)).unwrap());
    assert_value(&open_yaml(&classic_doc, &ring(&classic)).unwrap());
    let msg = yaml_err(&pq_doc, &ring(&classic));
    assert!(msg.contains("no post-quantum age identity given"), "{msg}");
    let msg = yaml_err(&classic_doc, &ring(&pq));
    assert!(msg.contains("no X25519 age identity given"), "{msg}");
}

#[test]
fn wrong_post_quantum_key_says_no_key_matches() {
    let Some(doc) = pq_yaml() else { return };
    let other = random_pq_identity();
    let msg = yaml_err(&doc, &ring(&other));
    assert!(
        msg.contains("age recipient age1pq1") && msg.contains("none of the given age identities"),
        "{msg}"
    );
}

#[test]
fn tampered_stanza_body_or_encapsulated_key_does_not_open() {
    let (Some(doc), Some(pq)) = (pq_yaml(), text(&format!("{FLUX}/keys/age-pq.txt"))) else {
        return;
    };
    let keys = ring(&pq);
    // The edit helpers round-trip: unchanged, the document still opens.
    assert_value(&open_yaml(&edit_stanza(&doc, |_, _| {}), &keys).unwrap());

    // A flipped bit in the sealed file key fails HPKE's authentication.
    let tampered = edit_stanza(&doc, |_, body| body[7] ^= 0x01);
    let msg = yaml_err(&tampered, &keys);
    assert!(msg.contains("none of the given age identities"), "{msg}");

    // A flipped bit in the encapsulated key (ML-KEM ciphertext, then the X25519 share)
    // yields another shared secret, so the stanza does not open either.
    for at in [100, 1100] {
        let tampered = edit_stanza(&doc, |args, _| {
            let b64 = args.strip_prefix("-> mlkem768x25519 ").unwrap();
            let mut enc = STANDARD_NO_PAD.decode(b64).unwrap();
            assert_eq!(enc.len(), 1120);
            enc[at] ^= 0x80;
            *args = format!("-> mlkem768x25519 {}", STANDARD_NO_PAD.encode(&enc));
        });
        let msg = yaml_err(&tampered, &keys);
        assert!(msg.contains("none of the given age identities"), "{msg}");
    }
}

#[test]
fn malformed_stanza_or_tampered_header_mac_is_refused() {
    let (Some(doc), Some(pq)) = (pq_yaml(), text(&format!("{FLUX}/keys/age-pq.txt"))) else {
        return;
    };
    let keys = ring(&pq);
    let edits: Vec<Box<StanzaEdit>> = vec![
        // An encapsulated key one byte short.
        Box::new(|args, _| {
            let b64 = args.strip_prefix("-> mlkem768x25519 ").unwrap();
            let enc = STANDARD_NO_PAD.decode(b64).unwrap();
            *args = format!("-> mlkem768x25519 {}", STANDARD_NO_PAD.encode(&enc[1..]));
        }),
        // A second argument.
        Box::new(|args, _| args.push_str(" extra")),
        // A body longer than a sealed file key.
        Box::new(|_, body| body.push(0)),
    ];
    for edit in edits {
        let msg = yaml_err(&edit_stanza(&doc, edit), &keys);
        assert!(msg.contains("malformed or tampered envelope"), "{msg}");
    }

    // The header MAC is checked with the file key the stanza gave.
    let (mut lines, payload) = split_header(&envelope(&doc));
    let mac = lines.last_mut().unwrap();
    let mut raw = STANDARD_NO_PAD
        .decode(mac.strip_prefix("--- ").unwrap())
        .unwrap();
    raw[0] ^= 0x01;
    *mac = format!("--- {}", STANDARD_NO_PAD.encode(&raw));
    let msg = yaml_err(&with_envelope(&doc, &join_header(&lines, &payload)), &keys);
    assert!(msg.contains("malformed or tampered envelope"), "{msg}");
}

#[test]
fn malformed_post_quantum_identities_are_refused_without_echo() {
    let Some(pq) = text(&format!("{FLUX}/keys/age-pq.txt")) else {
        return;
    };
    let line = pq
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-PQ-"))
        .unwrap()
        .to_string();
    // A changed character breaks the checksum.
    let last = line.chars().last().unwrap();
    let swapped = if last == 'Q' { 'P' } else { 'Q' };
    let bad_checksum = format!("{}{swapped}", &line[..line.len() - 1]);
    // A valid Bech32 string of the wrong length.
    let hrp = bech32::Hrp::parse("AGE-SECRET-KEY-PQ-").unwrap();
    let short = bech32::encode_upper::<bech32::Bech32>(hrp, &[7u8; 31]).unwrap();
    for (bad, why) in [
        (bad_checksum.as_str(), "Bech32"),
        (short.as_str(), "32 bytes"),
        ("AGE-SECRET-KEY-PQ-1", "Bech32"),
    ] {
        let err = KeyRing::new()
            .add_age_identities(&format!("# comment\n{bad}\n"))
            .unwrap_err();
        let msg = format!("{err} {err:?}");
        assert!(
            matches!(err, Error::InvalidKey { kind: "age", .. }),
            "{msg}"
        );
        assert!(msg.contains("line 2") && msg.contains(why), "{msg}");
        assert!(!msg.contains(bad), "{msg}");
    }
}

#[test]
fn seeded_mutations_of_the_post_quantum_envelope_never_open_or_panic() {
    let (Some(doc), Some(pq)) = (pq_yaml(), text(&format!("{FLUX}/keys/age-pq.txt"))) else {
        return;
    };
    let keys = ring(&pq);
    let orig = envelope(&doc);
    let mut rng = fastrand::Rng::with_seed(0xa9e9);
    for _ in 0..120 {
        let mut m = orig.clone();
        for _ in 0..rng.usize(1..3) {
            let i = rng.usize(..m.len());
            match rng.u8(..3) {
                0 => m[i] ^= 1 << rng.u8(..8),
                1 => {
                    m.remove(i);
                }
                _ => m.insert(i, rng.u8(..)),
            }
        }
        if m == orig {
            continue;
        }
        // The header and payload are all authenticated: no change opens.
        let err = open_yaml(&with_envelope(&doc, &m), &keys).unwrap_err();
        let msg = format!("{err} {err:?}");
        assert!(matches!(err, Error::NoDataKey(_)), "{msg}");
        assert!(!msg.contains("AGE-SECRET-KEY"), "{msg}");
    }
}
