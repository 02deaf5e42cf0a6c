use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn cm(data: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "cm", "namespace": "default"},
        "data": data,
    })
}

fn sub_one(obj: Value, pairs: &[(&str, &str)], strict: bool) -> Result<Value, SubstituteError> {
    let mut out = substitute(vec![obj], &vars(pairs), strict)?;
    Ok(out.remove(0))
}

#[test]
fn strict_error_names_the_variable_and_object() {
    let err = sub_one(cm(json!({"k": "${nope}"})), &[("x", "1")], true).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("ConfigMap/default/cm"), "{msg}");
    assert!(msg.contains("\"nope\""), "{msg}");
}

#[test]
fn numbers_and_booleans_are_reparsed() {
    let obj = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "namespace": "ns"},
        "spec": {"replicas": "${n}", "paused": "${b}", "note": "${q}${n}${q}"},
    });
    let out = sub_one(obj, &[("n", "3"), ("b", "true"), ("q", "\"")], false).unwrap();
    assert_eq!(out["spec"]["replicas"], json!(3));
    assert_eq!(out["spec"]["paused"], json!(true));
    assert_eq!(out["spec"]["note"], json!("3"));
}

#[test]
fn broken_yaml_after_substitution_names_the_object() {
    let err = sub_one(cm(json!({"k": "${v}"})), &[("v", "a: b")], false).unwrap_err();
    assert!(matches!(err, SubstituteError::Parse { .. }), "{err:?}");
    assert!(err.to_string().contains("ConfigMap/default/cm"), "{err}");
}

#[test]
fn disabled_objects_are_skipped() {
    for field in ["labels", "annotations"] {
        let mut obj = cm(json!({"k": "${v}"}));
        obj["metadata"][field] = json!({SUBSTITUTE_KEY: "disabled"});
        let out = sub_one(obj.clone(), &[("v", "1")], true).unwrap();
        assert_eq!(out, obj);
    }
    let mut obj = cm(json!({"k": "${v}"}));
    obj["metadata"]["labels"] = json!({SUBSTITUTE_KEY: "enabled"});
    // Substituted (ConfigMap data stays a string, see keep_string_fields).
    assert_eq!(
        sub_one(obj, &[("v", "1")], false).unwrap()["data"]["k"],
        json!("1")
    );
}

#[test]
fn var_names_are_validated() {
    for good in ["a", "_", "A_1", "_x9", "cluster_name"] {
        assert!(validate_var_name(good).is_ok(), "{good}");
    }
    for bad in ["", "1a", "a-b", "a.b", "ñ", "a b", "${a}"] {
        let err = validate_var_name(bad).unwrap_err();
        assert!(err.to_string().contains(&format!("'{bad}'")), "{err}");
    }
    let err = substitute(
        vec![cm(json!({}))],
        &vars(&[("ok", "1"), ("bad-key", "2")]),
        false,
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("'bad-key' var name is invalid"),
        "{err}"
    );
}

#[test]
fn newlines_are_removed_from_values() {
    let out = sub_one(cm(json!({"k": "${v}"})), &[("v", "a\nb\n")], false).unwrap();
    assert_eq!(out["data"]["k"], json!("ab"));
}

#[test]
fn objects_without_dollar_are_untouched_and_order_is_kept() {
    let a = cm(json!({"k": "plain"}));
    let mut b = cm(json!({"k": "${v}"}));
    b["metadata"]["name"] = json!("b");
    let out = substitute(vec![a.clone(), b], &vars(&[("v", "x")]), false).unwrap();
    assert_eq!(out[0], a);
    assert_eq!(out[1]["metadata"]["name"], json!("b"));
    assert_eq!(out[1]["data"]["k"], json!("x"));
}

#[test]
fn substitution_reaches_keys_and_block_scalars() {
    let obj = cm(json!({"${key}": "v", "script": "line1\necho ${v}\n"}));
    let out = sub_one(obj, &[("key", "renamed"), ("v", "hi")], false).unwrap();
    assert_eq!(out["data"]["renamed"], json!("v"));
    assert_eq!(out["data"]["script"], json!("line1\necho hi\n"));
}

#[test]
fn string_only_fields_stay_strings() {
    let obj = json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "labels": {"n": "${z}"}},
        "data": {"n": "${n}", "flag": "${flag}"}
    });
    let deploy = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d", "annotations": {"rev": "${n}"}},
        "spec": {"replicas": "${n}", "template": {"spec": {"containers": [
            {"name": "c", "args": ["${n}"], "env": [{"name": "N", "value": "${n}"}]}
        ]}}}
    });
    let vars = BTreeMap::from([
        ("n".to_string(), "7".to_string()),
        ("z".to_string(), "007".to_string()),
        ("flag".to_string(), "true".to_string()),
    ]);
    let out = substitute(vec![obj, deploy], &vars, false).unwrap();
    assert_eq!(out[0]["data"], json!({"n": "7", "flag": "true"}));
    assert_eq!(out[0]["metadata"]["labels"]["n"], "007");
    // Outside string-only fields the substituted text is typed, as in Flux.
    assert_eq!(out[1]["spec"]["replicas"], 7);
    assert_eq!(out[1]["metadata"]["annotations"]["rev"], "7");
    let c = &out[1]["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["args"][0], "7");
    assert_eq!(c["env"][0]["value"], "7");
}

#[test]
fn a_fault_in_a_secret_never_quotes_its_text() {
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db", "namespace": "default"},
        "stringData": {"password": "hunter2${oops"},
    });
    let err = sub_one(secret, &[("x", "1")], false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("Secret/default/db"), "{err}");
    assert!(err.contains("variable substitution failed"), "{err}");
    assert!(!err.contains("hunter2") && !err.contains("oops"), "{err}");
    // Elsewhere the text near the fault helps find it.
    let err = sub_one(cm(json!({"k": "plain${oops"})), &[("x", "1")], false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("oops"), "{err}");
}
