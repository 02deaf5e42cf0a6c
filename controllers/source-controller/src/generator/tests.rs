//! The copy operations on real directories: source-watcher's documented
//! examples, the strategies, and hostile paths.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use ferroflux_api::source_extensions::v1beta1::{CopyOperation, CopyStrategy};

use super::{BuildError, Builder, Limits};

fn op(from: &str, to: &str) -> CopyOperation {
    CopyOperation {
        from: from.to_string(),
        to: to.to_string(),
        ..Default::default()
    }
}

fn with(mut o: CopyOperation, strategy: CopyStrategy) -> CopyOperation {
    o.strategy = Some(strategy);
    o
}

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, content).unwrap();
}

/// Every file under `dir` with its content, paths relative to `dir`.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let meta = fs::symlink_metadata(e.path()).unwrap();
            assert!(!meta.file_type().is_symlink(), "a symlink in staging");
            if meta.is_dir() {
                walk(root, &e.path(), out);
            } else {
                let rel = e.path().strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

struct Fixture {
    dir: tempfile::TempDir,
    sources: BTreeMap<String, PathBuf>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        for (rel, content) in [
            ("config.yaml", "kind: Config\n"),
            ("README.md", "read me\n"),
            ("configs/a.yaml", "a: 1\n"),
            ("configs/b.yaml", "b: 1\n"),
            ("configs/notes.md", "notes\n"),
            ("configs/sub/c.yaml", "c: 1\n"),
            ("configs/testdata/t.yaml", "t: 1\n"),
            (
                "chart/values.yaml",
                "image:\n  repository: podinfo\n  tag: 6.0.0\nreplicas: 1\n",
            ),
            ("prod/values.yaml", "image:\n  tag: 6.7.0\n"),
        ] {
            write(&src, rel, content);
        }
        let sources = BTreeMap::from([("source".to_string(), src)]);
        Self { dir, sources }
    }

    fn src(&self) -> &Path {
        &self.sources["source"]
    }

    fn build(&self, ops: &[CopyOperation]) -> Result<BTreeMap<String, String>, BuildError> {
        self.build_limited(ops, Limits::default())
    }

    fn build_limited(
        &self,
        ops: &[CopyOperation],
        limits: Limits,
    ) -> Result<BTreeMap<String, String>, BuildError> {
        let staging = tempfile::tempdir_in(self.dir.path()).unwrap();
        let work = tempfile::tempdir_in(self.dir.path()).unwrap();
        Builder::new(&self.sources, staging.path(), work.path(), limits).apply_all(ops)?;
        Ok(tree(staging.path()))
    }
}

fn keys(t: &BTreeMap<String, String>) -> Vec<&str> {
    t.keys().map(String::as_str).collect()
}

#[test]
fn files_go_to_a_path_or_into_a_directory() {
    let f = Fixture::new();
    let t = f
        .build(&[
            op("@source/config.yaml", "@artifact/apps/app.yaml"),
            op("@source/config.yaml", "@artifact/dir/"),
            // An existing directory takes the file in, as cp does.
            op("@source/README.md", "@artifact/dir"),
        ])
        .unwrap();
    assert_eq!(
        keys(&t),
        ["apps/app.yaml", "dir/README.md", "dir/config.yaml"]
    );
    assert_eq!(t["apps/app.yaml"], "kind: Config\n");
}

#[test]
fn directories_are_copied_as_subdirectories_and_the_root_as_contents() {
    let f = Fixture::new();
    let t = f
        .build(&[op("@source/configs/", "@artifact/apps/")])
        .unwrap();
    assert_eq!(
        keys(&t),
        [
            "apps/configs/a.yaml",
            "apps/configs/b.yaml",
            "apps/configs/notes.md",
            "apps/configs/sub/c.yaml",
            "apps/configs/testdata/t.yaml"
        ]
    );
    let t = f.build(&[op("@source/", "@artifact/")]).unwrap();
    assert!(t.contains_key("config.yaml") && t.contains_key("configs/sub/c.yaml"));
    assert_eq!(t.len(), 9);
}

#[test]
fn globs_place_matches_below_their_literal_prefix() {
    let f = Fixture::new();
    // `dir/**` copies the contents of dir, recursively.
    let t = f
        .build(&[op("@source/configs/**", "@artifact/apps/")])
        .unwrap();
    assert_eq!(
        keys(&t),
        [
            "apps/a.yaml",
            "apps/b.yaml",
            "apps/notes.md",
            "apps/sub/c.yaml",
            "apps/testdata/t.yaml"
        ]
    );
    // `*` stays in one directory.
    let t = f
        .build(&[op("@source/configs/*.yaml", "@artifact/apps/")])
        .unwrap();
    assert_eq!(keys(&t), ["apps/a.yaml", "apps/b.yaml"]);
    let t = f.build(&[op("@source/*.yaml", "@artifact/")]).unwrap();
    assert_eq!(keys(&t), ["config.yaml"]);
    let t = f
        .build(&[op("@source/configs/**/*.yaml", "@artifact/x/")])
        .unwrap();
    assert_eq!(
        keys(&t),
        ["x/a.yaml", "x/b.yaml", "x/sub/c.yaml", "x/testdata/t.yaml"]
    );
}

#[test]
fn excludes_match_names_anywhere_and_paths_from_root_or_prefix() {
    let f = Fixture::new();
    let mut o = op("@source/configs/**", "@artifact/apps/");
    o.exclude = vec!["*.md".into(), "**/testdata/**".into(), "sub/**".into()];
    let t = f.build(&[o]).unwrap();
    assert_eq!(keys(&t), ["apps/a.yaml", "apps/b.yaml"]);
    // On a directory copy too, and from the source root.
    let mut o = op("@source/configs", "@artifact/");
    o.exclude = vec!["configs/sub/**".into(), "notes.md".into()];
    let t = f.build(&[o]).unwrap();
    assert_eq!(
        keys(&t),
        [
            "configs/a.yaml",
            "configs/b.yaml",
            "configs/testdata/t.yaml"
        ]
    );
    // Everything excluded is an error, naming the pattern.
    let mut o = op("@source/*.md", "@artifact/");
    o.exclude = vec!["*.md".into()];
    let err = f.build(&[o]).unwrap_err().to_string();
    assert!(err.contains("were excluded"), "{err}");
}

#[test]
fn later_operations_overwrite_or_merge() {
    let f = Fixture::new();
    let t = f
        .build(&[
            op("@source/chart/", "@artifact/"),
            with(
                op("@source/prod/values.yaml", "@artifact/chart/values.yaml"),
                CopyStrategy::Merge,
            ),
        ])
        .unwrap();
    let merged: serde_yaml::Value = serde_yaml::from_str(&t["chart/values.yaml"]).unwrap();
    let want: serde_yaml::Value =
        serde_yaml::from_str("image: {repository: podinfo, tag: 6.7.0}\nreplicas: 1").unwrap();
    assert_eq!(merged, want);
    let t = f
        .build(&[
            op("@source/chart/", "@artifact/"),
            op("@source/prod/values.yaml", "@artifact/chart/values.yaml"),
        ])
        .unwrap();
    assert_eq!(t["chart/values.yaml"], "image:\n  tag: 6.7.0\n");
    // Merge into nothing is a copy; merging a non-YAML file fails naming it.
    let t = f
        .build(&[with(
            op("@source/prod/values.yaml", "@artifact/v.yaml"),
            CopyStrategy::Merge,
        )])
        .unwrap();
    assert_eq!(t["v.yaml"], "image:\n  tag: 6.7.0\n");
    write(f.src(), "bad.yaml", "- a list\n");
    let err = f
        .build(&[
            op("@source/config.yaml", "@artifact/c.yaml"),
            with(
                op("@source/bad.yaml", "@artifact/c.yaml"),
                CopyStrategy::Merge,
            ),
        ])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("bad.yaml") && err.contains("not a YAML mapping"),
        "{err}"
    );
}

/// A tar.gz of `files` (path, content), with `extra` raw entries.
fn tarball(files: &[(&str, &str)], symlink: Option<(&str, &str)>) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (path, content) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut h, path, content.as_bytes()).unwrap();
    }
    if let Some((path, target)) = symlink {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        tar.append_link(&mut h, path, target).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

#[test]
fn extract_unpacks_tarballs_and_skips_other_glob_matches() {
    let f = Fixture::new();
    let chart = tarball(
        &[
            ("podinfo/Chart.yaml", "name: podinfo\n"),
            ("podinfo/values.yaml", "a: 1\n"),
        ],
        None,
    );
    fs::write(f.src().join("podinfo-6.7.0.tgz"), &chart).unwrap();
    fs::create_dir_all(f.src().join("releases/x")).unwrap();
    fs::write(
        f.src().join("releases/x/app.tar.gz"),
        tarball(&[("app/app.yaml", "app: 1\n")], None),
    )
    .unwrap();
    let t = f
        .build(&[with(
            op("@source/podinfo-6.7.0.tgz", "@artifact/"),
            CopyStrategy::Extract,
        )])
        .unwrap();
    assert_eq!(keys(&t), ["podinfo/Chart.yaml", "podinfo/values.yaml"]);
    let t = f
        .build(&[with(
            op("@source/**", "@artifact/charts/"),
            CopyStrategy::Extract,
        )])
        .unwrap();
    assert_eq!(
        keys(&t),
        [
            "charts/app/app.yaml",
            "charts/podinfo/Chart.yaml",
            "charts/podinfo/values.yaml"
        ]
    );
    let err = f
        .build(&[with(
            op("@source/config.yaml", "@artifact/"),
            CopyStrategy::Extract,
        )])
        .unwrap_err()
        .to_string();
    assert!(err.contains(".tgz"), "{err}");
    let err = f
        .build(&[with(
            op("@source/configs", "@artifact/"),
            CopyStrategy::Extract,
        )])
        .unwrap_err()
        .to_string();
    assert!(err.contains("directory"), "{err}");
}

#[test]
fn hostile_paths_are_refused() {
    let f = Fixture::new();
    for (from, to, want) in [
        ("@source/../../etc/passwd", "@artifact/p", "contains '..'"),
        ("@source//etc/passwd", "@artifact/p", "absolute"),
        (
            "@source/config.yaml",
            "@artifact/../escape.yaml",
            "leaves the artifact",
        ),
        ("@source/config.yaml", "@artifact//tmp/x", "absolute"),
        ("@source/config.yaml", "@elsewhere/x", "@artifact/"),
        (
            "@other/config.yaml",
            "@artifact/x",
            "alias 'other' not found",
        ),
        ("@source/[", "@artifact/", "invalid glob"),
        ("@source/nothing/*.yaml", "@artifact/", "no files match"),
        ("@source/missing.yaml", "@artifact/", "does not exist"),
    ] {
        let err = f.build(&[op(from, to)]).unwrap_err();
        assert!(
            matches!(err, BuildError::Invalid { .. }) && err.to_string().contains(want),
            "{from} -> {to}: {err}"
        );
    }
    // Nothing was written outside the staging directories.
    assert!(!f.dir.path().join("escape.yaml").exists());
}

#[test]
fn symlinks_resolve_only_to_files_inside_the_source() {
    let f = Fixture::new();
    let outside = f.dir.path().join("secret.txt");
    fs::write(&outside, "secret\n").unwrap();
    std::os::unix::fs::symlink(&outside, f.src().join("leak.txt")).unwrap();
    std::os::unix::fs::symlink("config.yaml", f.src().join("alias.yaml")).unwrap();
    std::os::unix::fs::symlink("configs", f.src().join("linked-dir")).unwrap();
    let err = f
        .build(&[op("@source/leak.txt", "@artifact/")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("outside the source"), "{err}");
    // Nor through a symlinked directory pointing outside.
    std::os::unix::fs::symlink(f.dir.path(), f.src().join("out")).unwrap();
    let err = f
        .build(&[op("@source/out/secret.txt", "@artifact/")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("outside the source"), "{err}");
    let err = f
        .build(&[op("@source/", "@artifact/")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("leak.txt"), "{err}");
    // An inside link to a file is copied as a file; to a directory, refused.
    let t = f.build(&[op("@source/alias.yaml", "@artifact/")]).unwrap();
    assert_eq!(t["alias.yaml"], "kind: Config\n");
    let t = f
        .build(&[op("@source/linked-dir/a.yaml", "@artifact/")])
        .unwrap();
    assert_eq!(t["a.yaml"], "a: 1\n");
    let err = f
        .build(&[op("@source/linked-dir", "@artifact/")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("regular file"), "{err}");
    // A tarball whose link climbs out is refused by the safe extraction.
    fs::write(
        f.src().join("evil.tgz"),
        tarball(
            &[("ok.yaml", "a: 1\n")],
            Some(("up", "../../../etc/passwd")),
        ),
    )
    .unwrap();
    let err = f
        .build(&[with(
            op("@source/evil.tgz", "@artifact/"),
            CopyStrategy::Extract,
        )])
        .unwrap_err()
        .to_string();
    assert!(err.contains("evil.tgz"), "{err}");
}

#[test]
fn artifacts_over_the_limits_are_refused() {
    let f = Fixture::new();
    let small = Limits {
        max_bytes: 20,
        max_files: 100,
    };
    let err = f
        .build_limited(&[op("@source/configs/", "@artifact/")], small)
        .unwrap_err();
    assert!(err.is_too_large(), "{err}");
    assert!(err.to_string().contains("20 bytes"), "{err}");
    let few = Limits {
        max_bytes: 1 << 20,
        max_files: 2,
    };
    let err = f
        .build_limited(&[op("@source/", "@artifact/")], few)
        .unwrap_err();
    assert!(
        err.is_too_large() && err.to_string().contains("more than 2 files"),
        "{err}"
    );
    // A tarball that unpacks past the remaining budget.
    fs::write(
        f.src().join("big.tgz"),
        tarball(&[("big.txt", &"x".repeat(4096))], None),
    )
    .unwrap();
    let budget = Limits {
        max_bytes: 1024,
        max_files: 100,
    };
    let err = f
        .build_limited(
            &[with(
                op("@source/big.tgz", "@artifact/"),
                CopyStrategy::Extract,
            )],
            budget,
        )
        .unwrap_err();
    assert!(err.is_too_large(), "{err}");
}

#[test]
fn a_file_where_a_directory_is_needed_is_an_error() {
    let f = Fixture::new();
    let err = f
        .build(&[
            op("@source/config.yaml", "@artifact/apps"),
            op("@source/configs/a.yaml", "@artifact/apps/x/"),
        ])
        .unwrap_err()
        .to_string();
    assert!(err.contains("is a file"), "{err}");
}
