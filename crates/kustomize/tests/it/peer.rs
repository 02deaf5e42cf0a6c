//! The real peers: `kubectl kustomize` (kustomize's patches) and
//! `kubectl patch --local --type strategic` (the API server's strategic merge), run on
//! temporary files.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

/// One comparison: a base object and a strategic merge patch, both in YAML.
pub struct Case {
    pub name: &'static str,
    pub base: &'static str,
    pub patch: &'static str,
}

pub fn yaml(text: &str) -> Value {
    match serde_yaml::from_str(text) {
        Ok(v) => v,
        Err(e) => panic!("bad YAML in a test case: {e}\n{text}"),
    }
}

fn kubectl() -> Command {
    Command::new(std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".to_owned()))
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ferroflux-kustomize-it-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("write temp file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What `kubectl kustomize` makes of the base patched by the patch: `Ok(None)` when the
/// patch deletes the object, `Err` with kubectl's message when it fails.
pub fn kustomize(base: &str, patch: &str) -> Result<Option<Value>, String> {
    let dir = TempDir::new();
    dir.write("base.yaml", base);
    dir.write("patch.yaml", patch);
    dir.write(
        "kustomization.yaml",
        "resources: [base.yaml]\npatches:\n- path: patch.yaml\n",
    );
    let out = kubectl()
        .arg("kustomize")
        .arg(&dir.0)
        .output()
        .map_err(|e| format!("cannot run kubectl: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim().is_empty() {
        return Ok(None);
    }
    Ok(Some(yaml(&text)))
}

/// What `kubectl patch --local --type strategic` makes of the base patched by the patch.
pub fn patch_local(base: &str, patch: &str) -> Result<Value, String> {
    let dir = TempDir::new();
    let file = dir.write("base.json", &yaml(base).to_string());
    let out = kubectl()
        .args([
            "patch",
            "--local",
            "--type",
            "strategic",
            "-o",
            "json",
            "-f",
        ])
        .arg(file)
        .arg("-p")
        .arg(yaml(patch).to_string())
        .output()
        .map_err(|e| format!("cannot run kubectl: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("kubectl printed bad JSON: {e}"))
}

/// Fails the test at once, and clearly, when kubectl cannot run: every comparison
/// needs it (it is installed wherever the tests run, CI included).
fn require_kubectl() {
    let ran = kubectl().args(["version", "--client"]).output();
    match ran {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "`kubectl version --client` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!("kubectl is needed for these tests (set KUBECTL to its path): {e}"),
    }
}

/// Runs `ours` and `peer` on every case and fails listing every disagreement.
pub fn compare(
    cases: &[Case],
    ours: impl Fn(&Value, &Value) -> Result<Option<Value>, String>,
    peer: impl Fn(&str, &str) -> Result<Option<Value>, String>,
) {
    require_kubectl();
    let mut failures = Vec::new();
    for case in cases {
        let mine = ours(&yaml(case.base), &yaml(case.patch));
        let theirs = peer(case.base, case.patch);
        let agree = match (&mine, &theirs) {
            (Ok(a), Ok(b)) => a == b,
            (Err(_), Err(_)) => true,
            _ => false,
        };
        // For eyeballing both outputs while writing cases.
        if std::env::var_os("SMP_DUMP").is_some() {
            eprintln!(
                "{}:\n  ours:    {}\n  kubectl: {}",
                case.name,
                show(&mine),
                show(&theirs)
            );
        }
        if !agree {
            failures.push(format!(
                "case `{}`:\n  ours:    {}\n  kubectl: {}",
                case.name,
                show(&mine),
                show(&theirs)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases disagree with kubectl:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn show(result: &Result<Option<Value>, String>) -> String {
    match result {
        Ok(Some(v)) => v.to_string(),
        Ok(None) => "(object deleted)".to_owned(),
        Err(e) => format!("error: {}", e.trim()),
    }
}
