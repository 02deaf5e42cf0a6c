//! Tampering, wrong keys and hostile input: each a clear error, never a panic, never a
//! message carrying plaintext or key material.

use ferroflux_sops::{Error, Format, KeyRing, Options, decrypt};

use crate::support::*;

/// Plaintexts of the fixtures used below; no error message may contain any of them.
const SECRETS: &[&str] = &[
    "t00m4nys3cr3tzupdated",
    "c4r1b0u",
    "secretuser1",
    "AGE-SECRET-KEY",
    "PRIVATE KEY",
];

fn assert_no_leak(err: &Error) {
    let msg = format!("{err} {err:?}");
    for s in SECRETS {
        assert!(!msg.contains(s), "error leaks {s:?}: {msg}");
    }
    // The Flux fixtures' plaintext is "value": only the fixed wording may contain it.
    let scrubbed = msg
        .replace("encrypted value", "")
        .replace("plain value", "")
        .replace("plain non-string value", "")
        .replace("decrypted value", "");
    assert!(
        !scrubbed.contains("value\n") && !scrubbed.contains("=value"),
        "{msg}"
    );
}

fn age_yaml() -> Option<String> {
    text(&format!("{FLUX}/algorithms/age.yaml"))
}

fn yaml_err(input: &str, keys: &KeyRing) -> Error {
    let err = decrypt(input.as_bytes(), Format::Yaml, keys, &Options::default()).unwrap_err();
    assert_no_leak(&err);
    err
}

#[test]
fn tampered_value_is_refused() {
    let (Some(doc), Some(keys)) = (age_yaml(), flux_keys()) else {
        return;
    };
    let tampered = doc.replace("data:mHeXsmQ=", "data:mHeXsmU=");
    assert_ne!(doc, tampered);
    let err = yaml_err(&tampered, &keys);
    assert!(
        matches!(err, Error::Authentication { ref path } if path == "stringData:key:"),
        "{err}"
    );
}

#[test]
fn moved_value_is_refused() {
    // The key path is bound in: the same ciphertext under another key fails.
    let (Some(doc), Some(keys)) = (age_yaml(), flux_keys()) else {
        return;
    };
    let moved = doc.replace("stringData:\n  key:", "stringData:\n  other:");
    let err = yaml_err(&moved, &keys);
    assert!(
        matches!(err, Error::Authentication { ref path } if path == "stringData:other:"),
        "{err}"
    );
}

#[test]
fn tampered_plain_value_fails_the_mac() {
    let (Some(doc), Some(keys)) = (age_yaml(), flux_keys()) else {
        return;
    };
    // encrypted_regex leaves metadata.name plain, but the MAC covers it.
    let err = yaml_err(&doc.replace("name: age", "name: agf"), &keys);
    assert!(matches!(err, Error::MacMismatch), "{err}");
    // Adding a plain value changes the MAC too.
    let err = yaml_err(
        &doc.replace("kind: Secret\n", "kind: Secret\nextra: x\n"),
        &keys,
    );
    assert!(matches!(err, Error::MacMismatch), "{err}");
}

#[test]
fn tampered_mac_is_refused() {
    let (Some(doc), Some(keys)) = (age_yaml(), flux_keys()) else {
        return;
    };
    let err = yaml_err(
        &doc.replace(
            "mac: ENC[AES256_GCM,data:vmrF",
            "mac: ENC[AES256_GCM,data:vmrG",
        ),
        &keys,
    );
    assert!(matches!(err, Error::MacMismatch), "{err}");
    // Changing lastmodified (the MAC's additional data) is detected as well.
    let err = yaml_err(
        &doc.replace("2024-11-12T13:33:42Z", "2024-11-12T13:33:43Z"),
        &keys,
    );
    assert!(matches!(err, Error::MacMismatch), "{err}");
    // Removing the MAC is not a way around it.
    let no_mac: String = doc
        .lines()
        .filter(|l| !l.trim_start().starts_with("mac:"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(matches!(yaml_err(&no_mac, &keys), Error::MacMissing));
}

#[test]
fn wrong_keys_are_refused() {
    let Some(doc) = age_yaml() else { return };
    let mut keys = KeyRing::new();
    keys.add_age_identities(&text(&format!("{FLUX}/keys/age-global.txt")).unwrap())
        .unwrap();
    keys.add_pgp_armored(&text("sops/pgp/sops_functional_tests_key.asc").unwrap())
        .unwrap();
    let err = yaml_err(&doc, &keys);
    assert!(
        err.to_string()
            .contains("none of the given age identities matches"),
        "{err}"
    );
    // A PGP-encrypted file with another PGP key.
    let pgp = text(&format!("{FLUX}/algorithms/pgp.yaml")).unwrap();
    let err = yaml_err(&pgp, &keys);
    assert!(
        err.to_string()
            .contains("pgp key 35C1A64CD7FC0AB6EB66756B2445463C3234ECE1"),
        "{err}"
    );
}

#[test]
fn getsops_tampering_does_not_leak() {
    let (Some(doc), Some(keys)) = (text("sops/example.yaml"), sops_keys()) else {
        return;
    };
    // Swap two encrypted values: each fails authentication under the other's path.
    let a = "ENC[AES256_GCM,data:tQ1l,iv:o9MiMveNYO7T82yDab+4pAt17DO6B4wl8yGy3oFbDb8=,tag:0RjvUUtSQwaUc9SF3RSTZQ==,type:str]";
    assert!(doc.contains(a));
    let err = yaml_err(&doc.replacen(a, "ENC[AES256_GCM,data:tQ1l,iv:o9MiMveNYO7T82yDab+4pAt17DO6B4wl8yGy3oFbDb8=,tag:0RjvUUtSQwaUc9SF3RSTZQ==,type:int]", 1), &keys);
    assert!(
        matches!(
            err,
            Error::Authentication { .. } | Error::BadType { .. } | Error::MacMismatch
        ),
        "{err}"
    );
    // A plain list entry edited: MAC mismatch, and the message names no value.
    let err = yaml_err(
        &doc.replace("remain in clear text", "remain in clear text!"),
        &keys,
    );
    assert!(matches!(err, Error::MacMismatch), "{err}");
}

#[test]
fn malformed_enc_strings_are_clear_errors() {
    let (Some(doc), Some(keys)) = (age_yaml(), flux_keys()) else {
        return;
    };
    let good = "ENC[AES256_GCM,data:mHeXsmQ=,iv:vUMpILz3xchORqkzDFvgwENY7EqIHHGJdEF6C8xqbFE=,tag:IroV7hykADvD0IUaq6kikA==,type:str]";
    assert!(doc.contains(good));
    let cases = [
        ("ENC[AES256_GCM,data:mHeXsmQ=]", "not of the form"),
        (
            "ENC[AES256_GCM,data:!!!,iv:vUMpILz3xchORqkzDFvgwENY7EqIHHGJdEF6C8xqbFE=,tag:IroV7hykADvD0IUaq6kikA==,type:str]",
            "data is not valid base64",
        ),
        (
            "ENC[AES256_GCM,data:mHeXsmQ=,iv:AAAA,tag:IroV7hykADvD0IUaq6kikA==,type:str]",
            "iv is not 32 bytes",
        ),
        (
            "ENC[AES256_GCM,data:mHeXsmQ=,iv:vUMpILz3xchORqkzDFvgwENY7EqIHHGJdEF6C8xqbFE=,tag:%%,type:str]",
            "tag is not valid base64",
        ),
        (
            "ENC[AES256_GCM,data:mHeXsmQ=,iv:vUMpILz3xchORqkzDFvgwENY7EqIHHGJdEF6C8xqbFE=,tag:IroV7hykADvD0IUaq6kikA==,type:exe]",
            "unknown value type",
        ),
        (
            "ENC[AES256_GCM,data:mHeXsmQ=,iv:vUMpILz3xchORqkzDFvgwENY7EqIHHGJdEF6C8xqbFE=,tag:IroV7hykADvD0IUaq6kikA==,type:str,x:y]",
            "not of the form",
        ),
        (
            "plaintext-here",
            "plain value where an encrypted value is expected",
        ),
    ];
    for (bad, want) in cases {
        let err = yaml_err(&doc.replace(good, bad), &keys);
        let msg = err.to_string();
        assert!(
            msg.contains(want) && msg.contains("stringData:key:"),
            "{bad}: {msg}"
        );
        assert!(!msg.contains("plaintext-here"), "{msg}");
    }
}

#[test]
fn wrong_key_types_are_refused() {
    let Some(pgp) = text(&format!("{FLUX}/keys/pgp.asc")) else {
        return;
    };
    let age = text(&format!("{FLUX}/keys/age.txt")).unwrap();
    let mut keys = KeyRing::new();
    let err = keys.add_age_identities(&pgp).unwrap_err();
    assert!(
        matches!(err, Error::InvalidKey { kind: "age", .. }),
        "{err}"
    );
    assert_no_leak(&err);
    let err = keys.add_pgp_armored(&age).unwrap_err();
    assert!(
        matches!(err, Error::InvalidKey { kind: "pgp", .. }),
        "{err}"
    );
    assert_no_leak(&err);
    // A public key alone holds no secret key.
    let public = text("sops/pgp/sops_functional_tests_key.asc").unwrap();
    let public_only = &public[public.find("-----BEGIN PGP PUBLIC KEY BLOCK-----").unwrap()..];
    assert!(
        keys.add_pgp_armored(public_only)
            .unwrap_err()
            .to_string()
            .contains("no secret key")
    );
    assert!(keys.is_empty());
}

#[test]
fn huge_and_deep_documents_are_bounded() {
    let keys = KeyRing::new();
    let big = vec![b'a'; Options::default().max_input_bytes + 1];
    for f in [
        Format::Yaml,
        Format::Json,
        Format::Dotenv,
        Format::Ini,
        Format::Binary,
    ] {
        let err = decrypt(&big, f, &keys, &Options::default()).unwrap_err();
        assert!(matches!(err, Error::TooLarge { .. }), "{f:?}: {err}");
    }
    let deep_yaml = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let err = decrypt(
        deep_yaml.as_bytes(),
        Format::Yaml,
        &keys,
        &Options::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Parse { .. }), "{err}");
    let err = decrypt(
        deep_yaml.as_bytes(),
        Format::Json,
        &keys,
        &Options::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Parse { .. }), "{err}");
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n";
    let err = decrypt(bomb.as_bytes(), Format::Yaml, &keys, &Options::default()).unwrap_err();
    assert!(matches!(err, Error::Parse { .. }), "{err}");
    let err = decrypt(b"\xff\xfe", Format::Yaml, &keys, &Options::default()).unwrap_err();
    assert!(matches!(err, Error::Parse { .. }), "{err}");
    let err = decrypt(b"a: b\n", Format::Yaml, &keys, &Options::default()).unwrap_err();
    assert!(matches!(err, Error::MetadataNotFound), "{err}");
    let err = decrypt(
        b"sops_mac__list_99999999__map_x=1\n",
        Format::Dotenv,
        &keys,
        &Options::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::Metadata(_)), "{err}");
}

/// A small seeded mutation run over fixtures of each flat and tree format: no input may
/// panic or leak, and an accepted mutation must still yield the fixture's secret value.
#[test]
fn seeded_mutations_never_panic() {
    let Some(keys) = flux_keys() else { return };
    let cases = [
        (format!("{FLUX}/algorithms/age.yaml"), Format::Yaml),
        (format!("{FLUX}/envs/env.env"), Format::Dotenv),
        (format!("{FLUX}/files/file.txt"), Format::Binary),
    ];
    let mut rng = fastrand::Rng::with_seed(0x5095);
    for (rel, format) in cases {
        let orig = read(&rel).unwrap();
        decrypt(&orig, format, &keys, &Options::default()).unwrap();
        for _ in 0..150 {
            let mut m = orig.clone();
            for _ in 0..rng.usize(1..4) {
                let i = rng.usize(..m.len());
                match rng.u8(..3) {
                    0 => m[i] = rng.u8(..),
                    1 => {
                        m.remove(i);
                    }
                    _ => m.insert(i, *b"=:[]{},ENC\n -#".get(rng.usize(..14)).unwrap()),
                }
            }
            match decrypt(&m, format, &keys, &Options::default()) {
                // Key names are not covered by SOPS's MAC (only values are), so a mutated
                // key may pass, as with sops itself; the secret value must be intact.
                Ok(out) => {
                    let out = String::from_utf8_lossy(&out);
                    assert!(
                        out.contains("value") && !out.contains("ENC["),
                        "{rel}: an accepted mutation changed the plaintext: {out}"
                    );
                }
                Err(e) => assert_no_leak(&e),
            }
        }
    }
}
