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
fn a_symlink_loop_is_a_cycle_named_once() {
    // `self -> .` makes `self/self/...` the same directory under ever longer
    // names; the message must stay short and name the link once.
    let t = Tree::new(&[
        ("loop/kustomization.yaml", "resources:\n- cm.yaml\n- self\n"),
        ("loop/cm.yaml", CM),
    ]);
    std::os::unix::fs::symlink(".", t.0.join("loop/self")).expect("symlink");
    let err = t
        .build("loop", LoadRestrictor::RootOnly)
        .expect_err("must fail");
    assert!(err.contains("cycle") && err.contains("loop/self"), "{err}");
    assert!(!err.contains("self/self"), "{err}");
    assert!(err.len() < 200, "{} bytes: {err}", err.len());
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
    let t = Tree::new(&[("kustomization.yaml", "resources: []\nnamePrefx: a-\n")]);
    let err = t
        .build(".", LoadRestrictor::RootOnly)
        .expect_err("must fail");
    assert!(err.contains("unknown field \"namePrefx\""), "{err}");
    assert!(err.contains("kustomization.yaml"), "{err}");
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

/// Peak resident memory of this process (`VmHWM`), in KiB; `None` off Linux.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A 50 MiB resource file (about 1,000 ConfigMaps of ~52 KiB in one file) builds or
/// fails with an error, never panics, and the process's peak RSS grows by less than
/// 20× the file size. The bound is generous on purpose: the engine holds each
/// document as a parsed value (several times its text) plus the output; tests run in
/// parallel threads of one process, so the measure also includes their allocations.
#[test]
fn a_50_mib_yaml_file_builds_in_bounded_memory() {
    use std::io::Write;
    const SIZE: u64 = 50 << 20;
    let t = Tree::new(&[("kustomization.yaml", "resources:\n- big.yaml\n")]);
    let path = t.root().join("big.yaml");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    let mut written = 0u64;
    let mut i = 0u64;
    let pad = "x".repeat(120);
    while written < SIZE {
        let mut doc =
            format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n");
        for k in 0..400 {
            doc.push_str(&format!("  key{k}: {pad}-{i}-{k}\n"));
        }
        out.write_all(doc.as_bytes()).expect("write");
        written += doc.len() as u64;
        i += 1;
    }
    out.flush().expect("flush");
    drop(out);

    let before = peak_rss_kib();
    let result = t.build(".", LoadRestrictor::RootOnly);
    let after = peak_rss_kib();
    match &result {
        Ok(yaml) => assert_eq!(yaml.matches("kind: ConfigMap").count() as u64, i),
        Err(e) => assert!(e.contains("big.yaml"), "error must name the file: {e}"),
    }
    drop(result);
    if let (Some(before), Some(after)) = (before, after) {
        let grown = after.saturating_sub(before) * 1024;
        assert!(
            grown < 20 * SIZE,
            "peak RSS grew by {} MiB building a {} MiB file",
            grown >> 20,
            SIZE >> 20
        );
        eprintln!(
            "50 MiB file ({i} ConfigMaps): peak RSS {} -> {} MiB",
            before >> 10,
            after >> 10
        );
    }
}

/// One document of 50 MiB (a ConfigMap with one huge value): built or refused with
/// an error, never a panic, in bounded memory.
#[test]
fn a_single_50_mib_document_is_handled() {
    const SIZE: usize = 50 << 20;
    let mut text = String::with_capacity(SIZE + 100);
    text.push_str("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: huge\ndata:\n  blob: ");
    text.push_str(&"y".repeat(SIZE));
    text.push('\n');
    let t = Tree::new(&[
        ("kustomization.yaml", "resources:\n- huge.yaml\n"),
        ("huge.yaml", &text),
    ]);
    drop(text);
    let before = peak_rss_kib();
    let result = t.build(".", LoadRestrictor::RootOnly);
    let after = peak_rss_kib();
    match &result {
        Ok(yaml) => assert!(yaml.contains("name: huge"), "output lost the document"),
        Err(e) => assert!(e.contains("huge.yaml"), "error must name the file: {e}"),
    }
    drop(result);
    if let (Some(before), Some(after)) = (before, after) {
        let grown = after.saturating_sub(before) as usize * 1024;
        assert!(
            grown < 20 * SIZE,
            "peak RSS grew by {} MiB building a 50 MiB document",
            grown >> 20
        );
    }
}

/// A billion-laughs document: nine lists, each nine references to the previous one.
fn alias_bomb(prefix: &str) -> String {
    let mut bomb =
        format!("{prefix}a0: &a0 [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n");
    for i in 1..12 {
        let p = format!("a{}", i - 1);
        bomb.push_str(&format!(
            "{prefix}a{i}: &a{i} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
        ));
    }
    bomb
}

#[test]
fn alias_bombs_are_errors_naming_the_file_wherever_they_are() {
    // In a resource file: the error names it.
    let t = Tree::new(&[
        ("kustomization.yaml", "resources:\n- bomb.yaml\n"),
        ("bomb.yaml", &alias_bomb("")),
    ]);
    let err = t
        .build(".", LoadRestrictor::RootOnly)
        .expect_err("must fail");
    assert!(err.contains("bomb.yaml"), "{err}");
    // In the kustomization itself.
    let t = Tree::new(&[("kustomization.yaml", &alias_bomb(""))]);
    let err = t
        .build(".", LoadRestrictor::RootOnly)
        .expect_err("must fail");
    assert!(err.contains("kustomization"), "{err}");
    // In a patch file.
    let t = Tree::new(&[
        (
            "kustomization.yaml",
            "resources:\n- cm.yaml\npatches:\n- path: patch.yaml\n",
        ),
        ("cm.yaml", CM),
        (
            "patch.yaml",
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n{}",
                alias_bomb("")
            ),
        ),
    ]);
    assert!(t.build(".", LoadRestrictor::RootOnly).is_err());
}

#[test]
fn malformed_kustomizations_and_patches_are_errors_naming_the_file() {
    for (bad, file) in [
        ("resources: [a\n", "kustomization"),
        ("resources:\n- a\n\t- b\n", "kustomization"),
        ("namePrefix: \"unterminated\n", "kustomization"),
    ] {
        let t = Tree::new(&[("kustomization.yaml", bad)]);
        let err = t
            .build(".", LoadRestrictor::RootOnly)
            .expect_err("must fail");
        assert!(err.contains(file), "{bad:?}: {err}");
    }
    let t = Tree::new(&[
        (
            "kustomization.yaml",
            "resources:\n- cm.yaml\npatches:\n- path: patch.yaml\n",
        ),
        ("cm.yaml", CM),
        ("patch.yaml", "kind: ConfigMap\nmetadata: {name: cm\n"),
    ]);
    let err = t
        .build(".", LoadRestrictor::RootOnly)
        .expect_err("must fail");
    assert!(err.contains("patch.yaml"), "{err}");
    // Bytes that are not UTF-8.
    let t = Tree::new(&[("kustomization.yaml", "resources:\n- bin.yaml\n")]);
    std::fs::write(t.root().join("bin.yaml"), [0xff, 0xfe, 0x00, 0x80]).expect("write");
    let err = t
        .build(".", LoadRestrictor::RootOnly)
        .expect_err("must fail");
    assert!(err.contains("bin.yaml"), "{err}");
}

#[test]
fn flux_kustomizations_are_resources_but_kustomize_ones_are_not() {
    let flux = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  path: ./apps\n";
    let t = Tree::new(&[
        ("kustomization.yaml", "resources:\n- sync.yaml\n"),
        ("sync.yaml", flux),
    ]);
    let out = t.build(".", LoadRestrictor::RootOnly).expect("builds");
    assert!(out.contains("kustomize.toolkit.fluxcd.io/v1"), "{out}");
    let own = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n";
    let t = Tree::new(&[
        ("kustomization.yaml", "resources:\n- k.yaml\n"),
        ("k.yaml", own),
    ]);
    let err = t
        .build(".", LoadRestrictor::RootOnly)
        .expect_err("must fail");
    assert!(err.contains("is a kustomization file"), "{err}");
}
