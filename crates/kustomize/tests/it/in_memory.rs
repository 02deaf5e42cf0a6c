//! The in-memory API: a typed kustomization built over a tree without being
//! written into it, or over objects with no file system at all.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use ferroflux_kustomize::{
    BuildOptions, build, build_kustomization, build_objects, parse_kustomization, to_yaml,
};
use serde_json::{Value, json};

const DEPLOY: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
spec:
  selector:
    matchLabels:
      app: app
  template:
    metadata:
      labels:
        app: app
    spec:
      containers:
      - name: app
        image: nginx:1.0
";

const KUSTOMIZATION: &str = "resources:
- deploy.yaml
namePrefix: dev-
commonLabels:
  team: a
images:
- name: nginx
  newTag: \"1.1\"
patches:
- patch: |
    - op: add
      path: /spec/replicas
      value: 2
  target:
    kind: Deployment
";

/// A tree holding `app/deploy.yaml`, removed on drop.
struct Tree(PathBuf);

impl Tree {
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tree() -> Tree {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "ferroflux-kustomize-in-memory-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(dir.join("app")).expect("mkdir");
    std::fs::write(dir.join("app/deploy.yaml"), DEPLOY).expect("write");
    Tree(dir)
}

#[test]
fn a_kustomization_in_memory_builds_as_the_same_file_would() {
    let root = tree();
    let file = root.path().join("app/kustomization.yaml");
    let kust = parse_kustomization(KUSTOMIZATION, "/app/kustomization.yaml").expect("parse");
    let options = BuildOptions::default();
    let in_memory = build_kustomization(root.path(), &file, kust, &options).expect("in memory");
    assert!(!file.exists(), "nothing is written into the tree");

    std::fs::write(&file, KUSTOMIZATION).expect("write");
    let from_file = build(root.path(), &root.path().join("app"), &options).expect("from file");
    assert_eq!(to_yaml(&in_memory), to_yaml(&from_file));
    assert_eq!(in_memory[0]["metadata"]["name"], "dev-app");
    assert_eq!(in_memory[0]["spec"]["replicas"], 2);
}

#[test]
fn errors_name_the_file_the_kustomization_stands_for() {
    let root = tree();
    let file = root.path().join("app/kustomization.yaml");
    let kust = parse_kustomization("resources:\n- missing.yaml\n", "/app/kustomization.yaml")
        .expect("parse");
    let err = build_kustomization(root.path(), &file, kust, &BuildOptions::default())
        .expect_err("a missing resource");
    assert!(err.to_string().contains("/app/kustomization.yaml"), "{err}");
}

#[test]
fn objects_are_transformed_without_files() {
    let deploy: Value = serde_yaml::from_str(DEPLOY).expect("yaml");
    let text = KUSTOMIZATION.replace("resources:\n- deploy.yaml\n", "");
    let kust = parse_kustomization(&text, "post-renderer").expect("parse");
    let out = build_objects(vec![deploy], kust, &BuildOptions::default()).expect("build");
    assert_eq!(out.len(), 1);
    let d = &out[0];
    assert_eq!(d["metadata"]["name"], "dev-app");
    assert_eq!(d["metadata"]["labels"], json!({"team": "a"}));
    assert_eq!(d["spec"]["selector"]["matchLabels"]["team"], "a");
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.1"
    );
    assert_eq!(d["spec"]["replicas"], 2);
}

#[test]
fn objects_alone_may_not_name_files() {
    for text in [
        "resources:\n- deploy.yaml\n",
        "patches:\n- path: patch.yaml\n",
        "configMapGenerator:\n- name: c\n  files:\n  - a.txt\n",
    ] {
        let kust = parse_kustomization(text, "post-renderer").expect("parse");
        let err =
            build_objects(vec![], kust, &BuildOptions::default()).expect_err("a file in memory");
        assert!(err.to_string().contains("no files"), "{text}: {err}");
    }
    let kust = parse_kustomization("namePrefix: x-\n", "post-renderer").expect("parse");
    let twice = vec![
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
    ];
    assert!(build_objects(twice, kust, &BuildOptions::default()).is_err());
}
