//! The shared Helm conformance suite (`../shared/conformance/helm`) through
//! its own runner (`run.py`) against `ferroflux helm template`, as the suite's
//! README describes: every case's templates, release manifest and notes
//! compared with Helm v4's. The suite is read in place, never copied.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_shared_conformance_runner_passes_through_the_cli() {
    let root = workspace();
    // run.py needs PyYAML, which the peers' virtual environment has.
    let python = root.join("target/peers/venv/bin/python");
    let suite = root.join("../shared/conformance/helm");
    if !python.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but {} is missing: hack/install-peers creates it",
            python.display()
        );
        eprintln!("SKIPPED: {} is missing", python.display());
        return;
    }
    let bin = env!("CARGO_BIN_EXE_ferroflux");
    let cmd = format!(
        "{bin} helm template {{release}} {{chart}} -f {{values}} -n {{namespace}} \
         --kube-version {{kube_version}} --api-versions {{api_versions}} \
         --is-upgrade={{is_upgrade}} --render-dir {{out}}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let report = dir.path().join("results.json");
    let out = Command::new(&python)
        .arg(suite.join("run.py"))
        .arg("--cases")
        .arg(&suite)
        .arg("--cmd")
        .arg(&cmd)
        .arg("--require-manifest")
        .args(["--jobs", "2", "--timeout", "120"])
        .arg("--json")
        .arg(&report)
        .output()
        .expect("run.py runs");
    let text = std::fs::read_to_string(&report).unwrap_or_else(|e| {
        panic!(
            "run.py wrote no results ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let results: Vec<serde_json::Value> = serde_json::from_str(&text).expect("results are JSON");
    let failed: Vec<String> = results
        .iter()
        .filter(|r| r["passed"] != true)
        .map(|r| format!("{}: {}", r["case"], r["reason"]))
        .collect();
    for f in &failed {
        eprintln!("FAIL {f}");
    }
    let passed = results.len() - failed.len();
    eprintln!("{passed} of {} cases pass through the CLI", results.len());
    assert!(
        results.len() >= 100,
        "the suite has {} cases",
        results.len()
    );
    // The issue asks for 97%; all pass today, and a regression shows here.
    assert!(
        passed * 100 >= results.len() * 97,
        "{passed} of {} pass: {failed:#?}",
        results.len()
    );
    assert!(
        failed.is_empty(),
        "cases that passed before now fail: {failed:#?}"
    );
}
