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
    // A kustomization that is not valid.
    let t = tempfile::tempdir().unwrap();
    write(
        t.path(),
        "kustomization.yaml",
        "resources: [missing.yaml]\n",
    );
    let out = ferroflux(&["kustomize", "build", t.path().to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("missing.yaml"), "{err}");

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

/// A tree without a kustomization file at its top, as Flux repositories
/// often have: plain manifests, one subdirectory with its own kustomization.
fn plain_tree() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    write(
        r,
        "apps/a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n",
    );
    write(
        r,
        "apps/more/b.yml",
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: b\nspec:\n  ports:\n  - port: 80\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n",
    );
    write(
        r,
        "apps/layered/kustomization.yaml",
        "namePrefix: layered-\nresources: [c.yaml]\n",
    );
    write(
        r,
        "apps/layered/c.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
    );
    // Not YAML by name: ignored, as kustomize-controller ignores them.
    write(r, "apps/README.md", "# not a manifest\n");
    write(r, "apps/notes.txt", "kind: nonsense\n");
    t
}

fn names(docs: &[serde_json::Value]) -> Vec<String> {
    docs.iter()
        .map(|d| {
            format!(
                "{}/{}",
                d["kind"].as_str().unwrap(),
                d["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn a_directory_without_kustomization_builds_as_kustomize_controller_generates_it() {
    let t = plain_tree();
    let dir = t.path().join("apps");
    let out = ferroflux(&[
        "kustomize",
        "build",
        "--reorder",
        "none",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ours = docs(&String::from_utf8(out.stdout).unwrap());
    // Depth first in name order; the subdirectory with a kustomization is
    // built as one resource (its prefix applied), not entered.
    assert_eq!(
        names(&ours),
        [
            "ConfigMap/a",
            "ConfigMap/layered-c",
            "Service/b",
            "ConfigMap/b"
        ]
    );
    // What the controller itself builds from the same directory.
    let spec: ferroflux_api::kustomize::v1::KustomizationSpec =
        serde_json::from_value(serde_json::json!({
            "interval": "1m", "path": "./apps", "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": "x"}
        }))
        .unwrap();
    let controller = kustomize_controller::generator::build(t.path(), &spec).unwrap();
    assert_eq!(ours, controller);

    // Nothing was written into the tree.
    assert!(!dir.join("kustomization.yaml").exists());

    // The default order is kustomize's legacy kind order, as for any build.
    let out = ferroflux(&["kustomize", "build", dir.to_str().unwrap()]);
    assert!(out.status.success());
    let legacy = docs(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(
        names(&legacy),
        [
            "ConfigMap/a",
            "ConfigMap/b",
            "ConfigMap/layered-c",
            "Service/b"
        ]
    );
}

#[test]
fn an_empty_directory_builds_to_nothing() {
    let t = tempfile::tempdir().unwrap();
    let out = ferroflux(&["kustomize", "build", t.path().to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(docs(&String::from_utf8(out.stdout).unwrap()).is_empty());
}

#[test]
fn a_generated_kustomization_refuses_what_the_controller_refuses() {
    // A YAML file that is not a Kubernetes manifest (a CI configuration):
    // the controller fails on it, and so does the command, naming it.
    let t = plain_tree();
    write(t.path(), "apps/ci/pipeline.yaml", "steps:\n- run: make\n");
    let out = ferroflux(&[
        "kustomize",
        "build",
        t.path().join("apps").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/ci/pipeline.yaml") && err.contains("missing kind"),
        "{err}"
    );

    // A link leading out of the directory is not followed.
    let outside = tempfile::tempdir().unwrap();
    write(
        outside.path(),
        "secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: outside\nstringData:\n  token: do-not-print\n",
    );
    let t = plain_tree();
    std::os::unix::fs::symlink(
        outside.path().join("secret.yaml"),
        t.path().join("apps/linked.yaml"),
    )
    .unwrap();
    let out = ferroflux(&[
        "kustomize",
        "build",
        t.path().join("apps").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("do-not-print"), "{all}");
    assert!(
        all.contains("/linked.yaml") && all.contains("outside"),
        "{all}"
    );
}

#[test]
fn help_says_a_kustomization_is_generated() {
    let out = ferroflux(&["kustomize", "build", "--help"]);
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("without a kustomization file"), "{help}");
    assert!(help.contains("kustomize-controller"), "{help}");
}
