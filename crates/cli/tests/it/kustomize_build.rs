//! `ferroflux kustomize build`: output, flags and errors, compared with
//! `kubectl kustomize` where it is installed.

use std::path::Path;
use std::process::Command;

fn ferroflux(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(args)
        .output()
        .expect("runs")
}

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn docs(yaml: &str) -> Vec<serde_json::Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .filter(|v: &serde_json::Value| !v.is_null())
        .collect()
}

fn tree() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    write(
        r,
        "base/kustomization.yaml",
        "resources:\n- deploy.yaml\n- svc.yaml\nconfigMapGenerator:\n- name: settings\n  literals: [mode=fast]\n",
    );
    write(
        r,
        "base/deploy.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.25\n        envFrom:\n        - configMapRef: {name: settings}\n",
    );
    write(
        r,
        "base/svc.yaml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: {app: web}\n  ports:\n  - port: 80\n",
    );
    write(
        r,
        "prod/kustomization.yaml",
        "resources:\n- ../base\nnamespace: prod\nnamePrefix: prod-\nimages:\n- name: nginx\n  newTag: '1.27'\n",
    );
    t
}

#[test]
fn builds_an_overlay_like_kustomize() {
    let t = tree();
    let dir = t.path().join("prod");
    let out = ferroflux(&["kustomize", "build", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours = docs(&String::from_utf8(out.stdout).unwrap());
    let kinds: Vec<&str> = ours.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    // Legacy order: ConfigMap, Service, Deployment.
    assert_eq!(kinds, ["ConfigMap", "Service", "Deployment"]);
    let cm_name = ours[0]["metadata"]["name"].as_str().unwrap().to_string();
    assert!(cm_name.starts_with("prod-settings-"), "{cm_name}");
    let deploy = &ours[2];
    assert_eq!(deploy["metadata"]["namespace"], "prod");
    assert_eq!(
        deploy["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.27"
    );
    assert_eq!(
        deploy["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"],
        cm_name.as_str()
    );

    // The same documents as the machine's kubectl, where it has kustomize.
    if let Ok(k) = Command::new("kubectl")
        .args(["kustomize", dir.to_str().unwrap()])
        .output()
        && k.status.success()
    {
        assert_eq!(ours, docs(&String::from_utf8(k.stdout).unwrap()));
    }

    let none = ferroflux(&[
        "kustomize",
        "build",
        "--reorder=none",
        dir.to_str().unwrap(),
    ]);
    let kinds: Vec<String> = docs(&String::from_utf8(none.stdout).unwrap())
        .iter()
        .map(|d| d["kind"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["Deployment", "Service", "ConfigMap"], "input order");
}

#[test]
fn errors_go_to_stderr_with_a_non_zero_exit() {
    let t = tempfile::tempdir().unwrap();
    let out = ferroflux(&["kustomize", "build", t.path().to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("kustomization"), "{err}");

    // A resource outside the kustomization's root is refused by default.
    let t = tree();
    write(
        t.path(),
        "escape/kustomization.yaml",
        "resources:\n- ../base/deploy.yaml\n",
    );
    let out = ferroflux(&[
        "kustomize",
        "build",
        t.path().join("escape").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("deploy.yaml"));
    let allowed = ferroflux(&[
        "kustomize",
        "build",
        "--load-restrictor=LoadRestrictionsNone",
        t.path().join("escape").to_str().unwrap(),
    ]);
    assert!(
        allowed.status.success(),
        "{}",
        String::from_utf8_lossy(&allowed.stderr)
    );
}
