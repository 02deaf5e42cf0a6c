//! Size limits on a checkout (`--git-max-size`, `--git-file-max-size`): a
//! commit over them is refused before anything is written, with a message
//! giving the limit and, where the objects say it, the file.

use std::path::Path;

use source_controller::git::{CheckoutLimits, GitError, GitSource, SIZE_LIMIT_EXCEEDED};

use super::fixtures::Fixture;
use super::{branch, source};

const MIB: u64 = 1024 * 1024;

/// A repository whose master has `files` (path, apparent size; sparse).
fn repo_with(files: &[(&str, u64)]) -> (Fixture, String) {
    let (fx, _) = Fixture::new();
    for (path, size) in files {
        let p = fx.work.join(path);
        std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
        std::fs::File::create(&p)
            .and_then(|f| f.set_len(*size))
            .expect("a sparse file");
    }
    let commit = fx.push_new_commit("big files");
    (fx, commit)
}

fn limited(url: &str, max_size: u64, file_max_size: u64) -> GitSource {
    let mut s = source(url, branch("master"));
    s.limits = CheckoutLimits {
        max_size,
        file_max_size,
    };
    s
}

fn too_large(result: Result<impl std::fmt::Debug, GitError>, dest: &Path) -> String {
    let err = result.expect_err("over the limit");
    assert!(matches!(err, GitError::TooLarge { .. }), "{err}");
    assert_eq!(err.reason(), SIZE_LIMIT_EXCEEDED);
    assert!(!err.is_stalling(), "a new commit can heal it: {err}");
    assert!(!dest.exists(), "nothing written before the refusal");
    let message = err.to_string();
    assert!(message.len() < 400, "a short message: {message}");
    message
}

#[test]
fn a_file_over_the_limit_is_refused_while_fetching() {
    // 64 MiB of zeros: a few kilobytes pushed.
    let (fx, commit) = repo_with(&[("blobs/huge.bin", 64 * MIB)]);
    let s = limited(&fx.file_url(), 32 * MIB, 4 * MIB);
    let dest = fx.path("out");
    let message = too_large(s.checkout(&fx.path("cache"), &dest), &dest);
    assert!(
        message.contains(&(4 * MIB).to_string())
            && message.contains("--git-file-max-size")
            && message.contains(&commit),
        "{message}"
    );
}

#[test]
fn files_over_the_total_are_refused_naming_the_largest() {
    let (fx, _) = repo_with(&[("a/one.bin", MIB), ("b/two.bin", 2 * MIB), ("c.bin", MIB)]);
    let s = limited(&fx.file_url(), 3 * MIB, 2 * MIB);
    let dest = fx.path("out");
    let message = too_large(s.checkout(&fx.path("cache"), &dest), &dest);
    assert!(
        message.contains("--git-max-size")
            && message.contains(&(3 * MIB).to_string())
            && message.contains("'b/two.bin'"),
        "{message}"
    );
}

#[test]
fn a_cached_file_over_a_lowered_limit_is_named_with_its_size() {
    let (fx, _) = repo_with(&[("deploy/big.bin", 3 * MIB)]);
    let cache = fx.path("cache");
    // Exactly at the limits: accepted.
    let s = limited(&fx.file_url(), 3 * MIB + 64, 3 * MIB);
    s.checkout(&cache, &fx.path("first")).expect("at the limit");
    let written = std::fs::metadata(fx.path("first/deploy/big.bin")).expect("checked out");
    assert_eq!(written.len(), 3 * MIB);
    // The objects are cached now; a lower limit reads their headers.
    let s = limited(&fx.file_url(), 3 * MIB + 64, MIB);
    let dest = fx.path("second");
    let message = too_large(s.checkout(&cache, &dest), &dest);
    assert!(
        message.contains("'deploy/big.bin'")
            && message.contains(&(3 * MIB).to_string())
            && message.contains(&MIB.to_string())
            && message.contains("--git-file-max-size"),
        "{message}"
    );
    // The default limits still take it.
    let s = source(&fx.file_url(), branch("master"));
    s.checkout(&cache, &fx.path("third"))
        .expect("default limits");
    assert!(fx.path("third/deploy/big.bin").exists());
}
