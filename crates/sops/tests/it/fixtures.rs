//! Every fixture a test key opens decrypts to its known plaintext, with the MAC verified.

use ferroflux_sops::{Error, Format, KeyRing, Options, decrypt, decrypt_tree, is_encrypted};

use crate::support::*;

fn flux_secret(rel: &str, field: &str, key: &str, expected: &str) {
    let Some(keys) = flux_keys() else { return };
    let out = open(&format!("{FLUX}/{rel}"), &keys)
        .unwrap()
        .unwrap_or_else(|e| panic!("{rel}: {e}"));
    let doc = yaml(&out);
    assert_eq!(doc[field][key].as_str(), Some(expected), "{rel}: {doc:?}");
    assert!(
        doc.get("sops").is_none(),
        "{rel}: sops block must be removed"
    );
}

#[test]
fn flux_age_secret() {
    flux_secret("algorithms/age.yaml", "stringData", "key", "value");
}

#[test]
fn flux_pgp_secrets() {
    flux_secret("algorithms/pgp.yaml", "stringData", "key", "value");
}

/// Flux's `inside` Secret holds a base64 SOPS binary document as a data value; the
/// controller decrypts such values, and the inner document is an ordinary binary file.
#[test]
fn flux_inside_secret_value() {
    use base64::Engine as _;
    let Some(keys) = flux_keys() else { return };
    let doc = yaml(&read(&format!("{FLUX}/inside/secret.yaml")).unwrap());
    let inner = base64::engine::general_purpose::STANDARD
        .decode(doc["data"]["key"].as_str().unwrap())
        .unwrap();
    assert!(is_encrypted(&inner, Format::Binary));
    let out = decrypt(&inner, Format::Binary, &keys, &Options::default()).unwrap();
    assert_eq!(out, b"value");
}

#[test]
fn flux_patches_keep_plain_metadata() {
    flux_secret("patches/merge1.yaml", "stringData", "key", "merge1");
    flux_secret("patches/merge2.yaml", "stringData", "merge2", "merge2");
    // encrypted_regex leaves metadata.name plain; it is still in the output, in order.
    let Some(keys) = flux_keys() else { return };
    let out = open(&format!("{FLUX}/patches/merge1.yaml"), &keys)
        .unwrap()
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    let order: Vec<usize> = ["apiVersion:", "kind:", "metadata:", "stringData:"]
        .iter()
        .map(|k| {
            text.find(k)
                .unwrap_or_else(|| panic!("{k} missing in {text}"))
        })
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "key order not kept: {text}"
    );
}

#[test]
fn flux_global_key() {
    let Some(id) = text(&format!("{FLUX}/keys/age-global.txt")) else {
        return;
    };
    let mut keys = KeyRing::new();
    keys.add_age_identities(&id).unwrap();
    let out = open(&format!("{FLUX}/global/secret.yaml"), &keys)
        .unwrap()
        .unwrap();
    assert_eq!(
        yaml(&out)["stringData"]["key"].as_str(),
        Some("global-value")
    );
    // Flux's per-Kustomization key does not open the global file.
    let err = open(&format!("{FLUX}/global/secret.yaml"), &flux_keys().unwrap())
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, Error::NoDataKey(_)), "{err}");
}

#[test]
fn flux_dotenv_files() {
    let Some(keys) = flux_keys() else { return };
    for rel in ["envs/env.env", "component/env.env", "remote/env.env"] {
        let out = open(&format!("{FLUX}/{rel}"), &keys).unwrap().unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "key=value\n", "{rel}");
    }
}

#[test]
fn flux_binary_file() {
    let Some(keys) = flux_keys() else { return };
    let out = open(&format!("{FLUX}/files/file.txt"), &keys)
        .unwrap()
        .unwrap();
    assert_eq!(out, b"value");
}

#[test]
fn flux_age_post_quantum_secret() {
    flux_secret("algorithms/age-pq.yaml", "stringData", "key", "value");
}

#[test]
fn vault_and_cloud_kms_are_refused_without_network() {
    let Some(keys) = flux_keys() else { return };
    // Flux's vault.yaml needs a Vault server and is kept plain in the fixture tree; build
    // a document naming Vault and cloud KMS keys at unroutable addresses instead.
    let doc = "key: ENC[AES256_GCM,data:mHeXsmQ=,iv:vUMpILz3xchORqkzDFvgwENY7EqIHHGJdEF6C8xqbFE=,tag:IroV7hykADvD0IUaq6kikA==,type:str]
sops:
  hc_vault:
    - vault_address: http://192.0.2.1:8200
      engine_path: sops
      key_name: firstkey
      enc: vault:v1:AAAA
  kms:
    - arn: arn:aws:kms:us-east-1:000000000000:key/x
      enc: AAAA
  gcp_kms:
    - resource_id: projects/p/locations/global/keyRings/r/cryptoKeys/k
      enc: AAAA
  azure_kv:
    - vault_url: https://x.vault.azure.net
      name: k
      version: v
      enc: AAAA
  lastmodified: '2024-11-12T13:33:42Z'
  mac: ENC[AES256_GCM,data:AAAA,iv:vUMpILz3xchORqkzDFvgwENY7EqIHHGJdEF6C8xqbFE=,tag:IroV7hykADvD0IUaq6kikA==,type:str]
";
    let err = decrypt(doc.as_bytes(), Format::Yaml, &keys, &Options::default()).unwrap_err();
    let msg = err.to_string();
    for name in ["HashiCorp Vault", "AWS KMS", "GCP KMS", "Azure Key Vault"] {
        assert!(
            msg.contains(&format!("{name} master key: not supported here")),
            "{msg}"
        );
    }
}

#[test]
fn flux_decryptor_key_files_load() {
    let Some(age) = text("flux-kustomize-controller/internal/decryptor/testdata/age.txt") else {
        return;
    };
    let pgp = text("flux-kustomize-controller/internal/decryptor/testdata/pgp.asc").unwrap();
    let mut keys = KeyRing::new();
    assert_eq!(keys.add_age_identities(&age).unwrap(), 1);
    assert_eq!(keys.add_pgp_armored(&pgp).unwrap(), 1);
    assert_eq!(
        keys.pgp_fingerprints(),
        vec!["35C1A64CD7FC0AB6EB66756B2445463C3234ECE1".to_string()]
    );
}

#[test]
fn getsops_example_yaml() {
    let Some(keys) = sops_keys() else { return };
    let tree = decrypt_tree(
        &read("sops/example.yaml").unwrap(),
        Format::Yaml,
        &keys,
        &Options::default(),
    )
    .unwrap();
    let doc = tree.to_yaml_value();
    assert_eq!(
        doc["myapp1"].as_str(),
        Some("t00m4nys3cr3tzupdated"),
        "{doc:?}"
    );
    assert_eq!(doc["app2"]["db"]["user"].as_str(), Some("eve"));
    assert_eq!(doc["app2"]["db"]["password"].as_str(), Some("c4r1b0u"));
    assert!(
        doc["app2"]["key"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN RSA PRIVATE KEY-----\n")
    );
    // type:float, and the MAC (verified) saw Go's rendering of it.
    assert_eq!(doc["number"].as_f64(), Some(1234568000.0));
    assert_eq!(doc["somebooleans"][0].as_bool(), Some(true));
    assert_eq!(doc["somebooleans"][1].as_bool(), Some(false));
    assert_eq!(doc["an_array"][1].as_str(), Some("secretuser2"));
    assert_eq!(
        doc["this"]["is"]["a"]["nested"]["value"].as_str(),
        Some("with something secret in it")
    );
    // _unencrypted values are taken as they are (and covered by the MAC).
    assert_eq!(
        doc["somelist_unencrypted"][1].as_str(),
        Some("remain in clear text")
    );
    assert_eq!(
        doc["nested_unencrypted"]["this"]["is"]["all"].as_str(),
        Some("going to remain in clear text")
    );
    assert!(doc.get("sops").is_none());
}

#[test]
fn getsops_example_json_keeps_order() {
    let Some(keys) = sops_keys() else { return };
    let out = String::from_utf8(open("sops/example.json", &keys).unwrap().unwrap()).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["firstName"], "John");
    assert_eq!(doc["age"], 25.4);
    assert_eq!(doc["address"]["postalCode"], "10021-3100");
    assert_eq!(doc["phoneNumbers"][1]["number"], "646 555-4567");
    assert_eq!(doc["anEmptyValue"], "", "empty values stay empty");
    assert!(doc.get("sops").is_none());
    let pos = |k: &str| out.find(&format!("\"{k}\"")).unwrap();
    assert!(
        pos("firstName") < pos("lastName")
            && pos("lastName") < pos("age")
            && pos("age") < pos("address"),
        "{out}"
    );
}

#[test]
fn getsops_example_ini_and_binary() {
    let Some(keys) = sops_keys() else { return };
    let ini = String::from_utf8(open("sops/example.ini", &keys).unwrap().unwrap()).unwrap();
    assert!(ini.starts_with("[name]\n; An example file for use with sops!\nfirstName = John\nlastName = Smith\nage = 25.4\n"), "{ini}");
    assert!(
        ini.contains("[phoneNumbers]\nhome = 212 555-1234\noffice = 646 555-4567\n"),
        "{ini}"
    );
    assert!(
        ini.contains("[not private]\nnotsecret_unencrypted = hi there!\n"),
        "{ini}"
    );
    assert!(!ini.contains("ENC[") && !ini.contains("[sops]"), "{ini}");
    let txt = String::from_utf8(open("sops/example.txt", &keys).unwrap().unwrap()).unwrap();
    assert!(txt.starts_with("Welcome to SOPS!\n"), "{txt}");
}

#[test]
fn getsops_functional_formats() {
    let Some(keys) = sops_keys() else { return };
    let res = "sops/functional-tests/res";
    let y = yaml(
        &open(&format!("{res}/format.enc.yaml"), &keys)
            .unwrap()
            .unwrap(),
    );
    let j = yaml(
        &open(&format!("{res}/format.enc.json"), &keys)
            .unwrap()
            .unwrap(),
    );
    assert_eq!(y, j, "YAML and JSON fixtures hold the same document");
    let env = String::from_utf8(
        open(&format!("{res}/format.enc.env"), &keys)
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert!(!env.contains("ENC[") && !env.contains("sops_"), "{env}");
    for ini in ["format.enc.ini", "format-2.enc.ini"] {
        let out =
            String::from_utf8(open(&format!("{res}/{ini}"), &keys).unwrap().unwrap()).unwrap();
        assert!(!out.contains("ENC[") && !out.contains("[sops]"), "{out}");
    }
    let ini = String::from_utf8(
        open(&format!("{res}/format.enc.ini"), &keys)
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(ini, "[foo]\nbar = baz\n");
}

#[test]
fn getsops_comments_match_plaintext() {
    let Some(keys) = sops_keys() else { return };
    let res = "sops/functional-tests/res";
    let out = yaml(
        &open(&format!("{res}/comments.enc.yaml"), &keys)
            .unwrap()
            .unwrap(),
    );
    let plain = yaml(&read(&format!("{res}/comments.yaml")).unwrap());
    assert_eq!(out, plain);
}

#[test]
fn getsops_multiple_keys_open_with_one() {
    let Some(keys) = sops_keys() else { return };
    let out = yaml(
        &open("sops/functional-tests/res/multiple_keys.yaml", &keys)
            .unwrap()
            .unwrap(),
    );
    assert!(
        out["message"]
            .as_str()
            .is_some_and(|m| !m.starts_with("ENC[")),
        "{out:?}"
    );
}

#[test]
fn no_mac_is_refused_unless_allowed() {
    let Some(keys) = sops_keys() else { return };
    let input = read("sops/functional-tests/res/no_mac.yaml").unwrap();
    let err = decrypt(&input, Format::Yaml, &keys, &Options::default()).unwrap_err();
    assert!(matches!(err, Error::MacMissing), "{err}");
    let opts = Options {
        allow_missing_mac: true,
        ..Options::default()
    };
    let out = yaml(&decrypt(&input, Format::Yaml, &keys, &opts).unwrap());
    assert!(out.as_mapping().is_some_and(|m| !m.is_empty()));
}

#[test]
fn detects_encrypted_documents() {
    let Some(age) = read(&format!("{FLUX}/algorithms/age.yaml")) else {
        return;
    };
    assert!(is_encrypted(&age, Format::Yaml));
    assert!(!is_encrypted(
        &read("sops/functional-tests/res/plainfile.yaml").unwrap(),
        Format::Yaml
    ));
    assert!(is_encrypted(
        &read(&format!("{FLUX}/envs/env.env")).unwrap(),
        Format::Dotenv
    ));
    assert!(is_encrypted(
        &read("sops/functional-tests/res/format.enc.ini").unwrap(),
        Format::Ini
    ));
    assert!(!is_encrypted(b"a=b\n", Format::Dotenv));
}

#[test]
fn missing_keys_name_each_master_key() {
    let Some(input) = read(&format!("{FLUX}/algorithms/age.yaml")) else {
        return;
    };
    let err = decrypt(&input, Format::Yaml, &KeyRing::new(), &Options::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("age recipient age1l44xcng8dqj32nlv6d93"),
        "{msg}"
    );
    assert!(msg.contains("no X25519 age identity given"), "{msg}");
}

/// Keys as kustomize-controller reads them from a decryption Secret, by entry name.
#[test]
fn flux_secret_entries() {
    let Some(age) = read(&format!("{FLUX}/keys/age.txt")) else {
        return;
    };
    let pgp = read(&format!("{FLUX}/keys/pgp.asc")).unwrap();
    let mut keys = KeyRing::new();
    assert!(keys.add_flux_secret_entry("identity.agekey", &age).unwrap());
    assert!(keys.add_flux_secret_entry("pgp.asc", &pgp).unwrap());
    assert!(
        keys.add_flux_secret_entry("sops.vault-token", b"hvs.x")
            .unwrap()
    );
    assert!(!keys.add_flux_secret_entry("README", b"ignored").unwrap());
    for rel in ["algorithms/age.yaml", "algorithms/pgp.yaml"] {
        let out = yaml(&open(&format!("{FLUX}/{rel}"), &keys).unwrap().unwrap());
        assert_eq!(out["stringData"]["key"].as_str(), Some("value"), "{rel}");
    }
    // A file for another key names the unusable Vault token too.
    let err = open(&format!("{FLUX}/global/secret.yaml"), &keys)
        .unwrap()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("HashiCorp Vault token given, but not supported here"),
        "{err}"
    );
    // A malformed entry is an error naming the entry, not its content.
    let err = keys
        .add_flux_secret_entry("bad.agekey", b"AGE-SECRET-KEY-1NOTAKEY")
        .unwrap_err();
    assert!(!err.to_string().contains("NOTAKEY"), "{err}");
    let err = keys.add_flux_secret_entry("bin.asc", b"\xff").unwrap_err();
    assert!(err.to_string().contains("bin.asc"), "{err}");
}
