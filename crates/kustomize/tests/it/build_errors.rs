//! Build errors on hostile or broken input: each a clear error naming the culprit,
//! never a panic.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use ferroflux_kustomize::{BuildOptions, LoadRestrictor, build, to_yaml};

/// A fresh tree of files under the temp dir, removed on drop.
struct Tree(PathBuf);

impl Tree {
    fn new(files: &[(&str, &str)]) -> Tree {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ferroflux-kustomize-build-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        for (path, text) in files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap_or(&dir)).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
        Tree(dir)
    }
    fn build(&self, dir: &str, restrictor: LoadRestrictor) -> Result<String, String> {
        let options = BuildOptions {
            load_restrictor: restrictor,
            ..Default::default()
        };
        build(&self.0, &self.0.join(dir), &options)
            .map(|d| to_yaml(&d))
            .map_err(|e| e.to_string())
    }
    fn root(&self) -> &Path {
        &self.0
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n";

#[test]
fn file_outside_the_kustomization_root_is_refused_unless_unrestricted() {
    let t = Tree::new(&[
        (
            "app/kustomization.yaml",
            "resources:\n- ../shared/cm.yaml\n",
        ),
        ("shared/cm.yaml", CM),
    ]);
    let err = t
        .build("app", LoadRestrictor::RootOnly)
        .expect_err("must fail");
    assert!(
        err.contains("security; file '/shared/cm.yaml' is not in or below '/app'"),
        "{err}"
    );
    let out = t.build("app", LoadRestrictor::None).expect("builds");
    assert!(out.contains("name: cm"), "{out}");
}

#[test]
fn nothing_outside_the_file_system_root_is_read() {
    let t = Tree::new(&[(
        "kustomization.yaml",
        "resources:\n- ../../../../etc/passwd\n",
    )]);
    let err = t.build(".", LoadRestrictor::None).expect_err("must fail");
    assert!(err.contains("security"), "{err}");
}

#[cfg(unix)]
#[test]
fn symlink_escape_is_refused() {
    let t = Tree::new(&[
        ("app/kustomization.yaml", "resources:\n- link.yaml\n"),
        ("cm.yaml", CM),
    ]);
    std::os::unix::fs::symlink(t.root().join("cm.yaml"), t.root().join("app/link.yaml"))
        .expect("symlink");
    let err = t
        .build("app", LoadRestrictor::RootOnly)
        .expect_err("must fail");
    assert!(err.contains("security"), "{err}");
}

#[test]
fn cycles_between_bases_are_an_error() {
    let t = Tree::new(&[
        ("a/kustomization.yaml", "resources:\n- ../b\n"),
        ("b/kustomization.yaml", "resources:\n- ../a\n"),
    ]);
    let err = t
        .build("a", LoadRestrictor::RootOnly)
        .expect_err("must fail");
    assert!(err.contains("cycle"), "{err}");
}

#[test]
fn remote_resources_and_missing_kustomizations_are_named() {
    let t = Tree::new(&[(
        "kustomization.yaml",
        "resources:\n- https://github.com/kubernetes-sigs/kustomize//examples/helloWorld\n",
    )]);
    let err = t
        .build(".", LoadRestrictor::RootOnly)
        .expect_err("must fail");
    assert!(
        err.contains("remote resource") && err.contains("resources"),
        "{err}"
    );
    let t = Tree::new(&[("x/cm.yaml", CM)]);
    let err = t
        .build("x", LoadRestrictor::RootOnly)
        .expect_err("must fail");
    assert!(err.contains("'/x'"), "{err}");
}

#[test]
fn malformed_yaml_and_unsupported_fields_are_errors() {
    let t = Tree::new(&[
        ("kustomization.yaml", "resources:\n- cm.yaml\n"),
        ("cm.yaml", "a: [b\n"),
    ]);
    let err = t
        .build(".", LoadRestrictor::RootOnly)
        .expect_err("must fail");
    assert!(err.contains("/cm.yaml"), "{err}");
    let t = Tree::new(&[("kustomization.yaml", "helmCharts:\n- name: x\n")]);
    let err = t
        .build(".", LoadRestrictor::RootOnly)
        .expect_err("must fail");
    assert!(err.contains("helmCharts"), "{err}");
}

#[test]
fn alias_bombs_do_not_explode() {
    let mut bomb = String::from("a: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
    for i in 1..12 {
        let prev = if i == 1 {
            "a".to_string()
        } else {
            format!("a{}", i - 1)
        };
        bomb.push_str(&format!("a{i}: &a{i} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
    }
    let t = Tree::new(&[
        ("kustomization.yaml", "resources:\n- bomb.yaml\n"),
        ("bomb.yaml", &bomb),
    ]);
    assert!(t.build(".", LoadRestrictor::RootOnly).is_err());
}

#[test]
fn generators_prefix_and_references() {
    let t = Tree::new(&[
        (
            "kustomization.yaml",
            "namePrefix: p-\nresources:\n- deploy.yaml\nconfigMapGenerator:\n- name: cfg\n  literals:\n  - a=b\n",
        ),
        (
            "deploy.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        envFrom:\n        - configMapRef:\n            name: cfg\n",
        ),
    ]);
    let out = t.build(".", LoadRestrictor::RootOnly).expect("builds");
    let name = out
        .lines()
        .find(|l| l.contains("name: p-cfg-"))
        .expect("hashed name");
    assert_eq!(out.matches(name.trim()).count(), 2, "{out}");
    assert!(
        out.find("kind: ConfigMap") < out.find("kind: Deployment"),
        "legacy order: {out}"
    );
}
