//! Conformance: every build case of kustomize's own tests
//! (`/work/shared/conformance/kustomize`, see its README), built with the engine and
//! compared semantically, document by document, in order.

use std::path::{Path, PathBuf};

use ferroflux_kustomize::{BuildOptions, LoadRestrictor, Reorder, build};

/// Where the cases live (overridable with `KUSTOMIZE_CONFORMANCE_DIR`).
fn cases_dir() -> PathBuf {
    std::env::var_os("KUSTOMIZE_CONFORMANCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/kustomize")
        })
        .join("cases")
}

/// At least this many cases must pass (raise it as the engine grows).
const MIN_PASSING: usize = 272;

/// Cases that must pass: the ones the engine targets, one name a line.
const TARGETED: &str = include_str!("conformance_passing.txt");

fn parse_docs(text: &str) -> Result<Vec<serde_yaml::Value>, String> {
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let v = <serde_yaml::Value as serde::Deserialize>::deserialize(doc)
            .map_err(|e| e.to_string())?;
        if !v.is_null() {
            out.push(v);
        }
    }
    Ok(out)
}

/// Runs one case: `Ok(())` when it passes, else the reason.
fn run_case(case: &Path) -> Result<(), String> {
    let read = |f: &str| std::fs::read_to_string(case.join(f));
    let build_dir = read("build-dir").map_err(|e| format!("build-dir: {e}"))?;
    let flags = read("flags").unwrap_or_default();
    let options = BuildOptions {
        reorder: if flags.contains("--reorder=none") {
            Reorder::None
        } else {
            Reorder::Legacy
        },
        load_restrictor: if flags.contains("LoadRestrictionsNone") {
            LoadRestrictor::None
        } else {
            LoadRestrictor::RootOnly
        },
    };
    let root = case.join("input");
    let dir = root.join(build_dir.trim());
    let got = build(&root, &dir, &options);
    if let Ok(expected_error) = read("expected-error") {
        return match got {
            Ok(_) => Err("built, but an error was expected".into()),
            Err(e) => {
                let (msg, want) = (
                    e.to_string().to_lowercase(),
                    expected_error.trim().to_lowercase(),
                );
                if msg.contains(&want) {
                    Ok(())
                } else {
                    Err(format!("error {e:?} lacks {want:?}"))
                }
            }
        };
    }
    let docs = got.map_err(|e| format!("error: {e}"))?;
    if std::env::var("KUSTOMIZE_CASE").is_ok_and(|c| case.ends_with(c)) {
        eprintln!("{}", ferroflux_kustomize::to_yaml(&docs));
    }
    let expected = parse_docs(&read("expected.yaml").map_err(|e| e.to_string())?)?;
    let got: Vec<serde_yaml::Value> = docs
        .iter()
        .map(|d| serde_yaml::to_value(d).map_err(|e| e.to_string()))
        .collect::<Result<_, _>>()?;
    if got.len() != expected.len() {
        return Err(format!(
            "{} documents, expected {}",
            got.len(),
            expected.len()
        ));
    }
    for (i, (g, e)) in got.iter().zip(&expected).enumerate() {
        if g != e {
            let show = |v: &serde_yaml::Value| serde_yaml::to_string(v).unwrap_or_default();
            let (g, e) = (show(g), show(e));
            let line = g
                .lines()
                .zip(e.lines())
                .find(|(a, b)| a != b)
                .map(|(a, b)| format!("got `{a}` expected `{b}`"))
                .unwrap_or_else(|| "lengths differ".into());
            return Err(format!("document {i} differs: {line}"));
        }
    }
    Ok(())
}

#[test]
fn kustomize_conformance() {
    let dir = cases_dir();
    // The cases are laid beside the repository (shared/), on every machine
    // and in CI; a missing directory is a broken setup, not a pass.
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("no conformance cases at {}: {e}", dir.display()));
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut failures = Vec::new();
    for name in &names {
        let case = dir.join(name);
        let outcome =
            std::panic::catch_unwind(|| run_case(&case)).unwrap_or_else(|_| Err("panicked".into()));
        if let Err(reason) = outcome {
            failures.push((name.clone(), reason));
        }
    }
    let passed = names.len() - failures.len();
    eprintln!(
        "kustomize conformance: {passed} of {} cases pass",
        names.len()
    );
    for (name, reason) in &failures {
        let reason: String = reason.chars().take(300).collect();
        eprintln!("FAIL {name}: {reason}");
    }
    let missed: Vec<&str> = TARGETED
        .lines()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        // missing from the data, or failing
        .filter(|t| !names.iter().any(|n| n == t) || failures.iter().any(|(n, _)| n == t))
        .collect();
    assert!(missed.is_empty(), "targeted cases fail: {missed:?}");
    assert!(
        passed >= MIN_PASSING,
        "only {passed} cases pass, at least {MIN_PASSING} must"
    );
}
