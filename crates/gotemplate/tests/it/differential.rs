//! Differential test against Helm v4's own engine (PyPI `helm-python-sdk`): a generated
//! corpus of template x values cases, each rendered as a one-template chart by the peer
//! and by this crate, compared byte for byte (errors by Helm's message text).
//!
//! The peer runs from the virtual environment `target/peers/venv` (`hack/install-peers`,
//! run by the test command, creates it); without it the test skips with a message.

use super::corpus;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use ferroflux_gotemplate::{Templates, Value};

const NAME: &str = "t/templates/t.yaml";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn data(values: Value) -> Value {
    let m = |pairs: &[(&str, Value)]| {
        Value::map(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.clone()))
                .collect::<BTreeMap<_, _>>(),
        )
    };
    m(&[
        ("Values", values),
        (
            "Release",
            m(&[
                ("Name", Value::str("rel")),
                ("Namespace", Value::str("ns")),
                ("IsInstall", Value::Bool(true)),
                ("IsUpgrade", Value::Bool(false)),
                ("Revision", Value::Int(1)),
                ("Service", Value::str("Helm")),
            ]),
        ),
        (
            "Chart",
            m(&[("Name", Value::str("t")), ("Version", Value::str("0.1.0"))]),
        ),
        (
            "Template",
            m(&[
                ("Name", Value::str(NAME)),
                ("BasePath", Value::str("t/templates")),
            ]),
        ),
    ])
}

fn render(template: &str, values: Value) -> Result<String, String> {
    let mut t = Templates::helm();
    t.parse(NAME, template).map_err(|e| e.helm_message())?;
    t.execute(NAME, &data(values)).map_err(|e| e.helm_message())
}

#[test]
fn differential_against_helm() {
    let root = workspace();
    let python = root.join("target/peers/venv/bin/python");
    if !python.exists() {
        // CI always has the peer (the test command installs it): a missing
        // one there is a failure, not a skip.
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but {} is missing: hack/install-peers should have created it",
            python.display()
        );
        eprintln!(
            "SKIPPED: differential test needs Helm's engine: run hack/install-peers (the test command does) to create {}",
            python.display()
        );
        return;
    }
    let cases = corpus::cases();
    let dir = root.join("target/peers/gotemplate");
    std::fs::create_dir_all(&dir).unwrap();
    let input: Vec<serde_json::Value> = cases
        .iter()
        .map(|(t, v)| serde_json::json!({"template": t, "values": v}))
        .collect();
    let input_text = serde_json::to_string(&input).unwrap();
    let cases_file = dir.join("cases.json");
    let results_file = dir.join("results.json");
    // the peer's answers are cached next to the exact input they answer
    let fresh = std::fs::read_to_string(&cases_file).ok().as_deref() == Some(input_text.as_str())
        && results_file.exists();
    if !fresh {
        std::fs::write(&cases_file, &input_text).unwrap();
        let status = Command::new(&python)
            .arg(root.join("crates/gotemplate/tests/it/helm_peer.py"))
            .arg(&cases_file)
            .arg(&results_file)
            .status()
            .unwrap();
        assert!(status.success(), "helm_peer.py failed");
    }
    let results: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&results_file).unwrap()).unwrap();
    assert_eq!(results.len(), cases.len());
    let mut failures = vec![];
    for ((template, values_text), want) in cases.iter().zip(&results) {
        let values = Value::from_json(&want["values"]);
        // our reading of the values file must be Helm's (YAML 1.1, through JSON)
        if !values_text.trim().is_empty() {
            let ours = ferroflux_gotemplate::yaml::values_from_yaml(values_text)
                .map(|v| v.to_json())
                .map_err(|e| e.to_string());
            if let (Err(o), Some(w)) = (&ours, want["err"].as_str()) {
                // the values file itself is refused: by the same words
                if o == w {
                    continue;
                }
            }
            if want.get("out").is_some() && ours.as_ref() != Ok(&values.to_json()) {
                failures.push(format!(
                    "values: {values_text:?}\n  helm: {}\n  ours: {ours:?}",
                    want["values"]
                ));
                continue;
            }
        }
        let got = render(template, values);
        let ok = match (&got, want.get("out"), want.get("err")) {
            (Ok(g), Some(w), _) => w.as_str() == Some(g.as_str()),
            (Err(g), _, Some(w)) => w.as_str() == Some(g.as_str()),
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "template: {template:?}\n  values: {}\n  helm:   {}\n  ours:   {got:?}",
                want["values"], want
            ));
        }
    }
    let total = cases.len();
    let passed = total - failures.len();
    let rate = passed as f64 * 100.0 / total as f64;
    eprintln!("differential: {passed}/{total} byte-identical ({rate:.1}%)");
    std::fs::write(dir.join("failures.txt"), failures.join("\n")).unwrap();
    // known differences and their reasons: tests/it/KNOWN_DIFFERENCES.md
    assert!(total >= 1000, "corpus too small: {total}");
    assert!(
        rate >= corpus::REQUIRED_PASS_RATE,
        "pass rate {rate:.1}% below {}%; first failures:\n{}",
        corpus::REQUIRED_PASS_RATE,
        failures
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
