//! Hostile inputs: repositories.
//!
//! - A huge file (a sparse file: a few hundred kilobytes pushed, hundreds of
//!   megabytes checked out) is refused by source-controller from the object
//!   headers, before anything is written: `Ready=False` naming the file and
//!   the limit, no artifact, nothing big on disk, and the process's peak RSS
//!   stays small. (Issue 12: a 2 GB sparse file took source-controller to
//!   2.13 GB RSS and 2 GB of temporary files, and the artifact became Ready.)
//! - A symlink loop gives a short message naming the offending path once.

use std::collections::BTreeMap;
use std::path::Path;

use ferroflux_cli::stack::Component;
use serde_json::Value;

use crate::support::{E2e, Kind, ready_condition};

/// The per-file and total limits given to source-controller here: far below
/// the file, so the test keeps the meaning of the 2 GB case at CI cost.
const FILE_LIMIT: u64 = 16 * 1024 * 1024;
const TOTAL_LIMIT: u64 = 32 * 1024 * 1024;
/// The sparse file's size.
const HUGE: u64 = 300 * 1024 * 1024;
/// source-controller's peak RSS must stay under this.
const RSS_CEILING_KIB: u64 = 64 * 1024;

fn git_repository(name: &str, url: &str) -> String {
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 1h\n  url: {url}\n  ref:\n    branch: main\n"
    )
}

/// Waits until the object's `Ready` is `False` with a message containing
/// `needle`; returns (reason, message) and the object.
async fn wait_not_ready(
    e2e: &E2e,
    kind: Kind,
    name: &str,
    needle: &str,
) -> (String, String, Value) {
    e2e.wait(
        &format!("{kind:?} flux-system/{name} Ready=False mentioning {needle:?}"),
        || async {
            let o = e2e.get(kind, "flux-system", name).await;
            match o.as_ref().and_then(ready_condition) {
                Some((status, reason, message))
                    if status == "False" && message.contains(needle) =>
                {
                    Ok((reason, message, o.unwrap_or_default()))
                }
                _ => Err(format!("{:#}", o.unwrap_or_default()["status"])),
            }
        },
    )
    .await
}

/// A field of `/proc/<pid>/status`, in KiB.
fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("reading /proc/{pid}/status: {e}"));
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// Every regular file under `dir` with its apparent size (symlinks not followed).
fn files_under(dir: &Path) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(meta) = std::fs::symlink_metadata(e.path()) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(e.path());
            } else if meta.is_file() {
                out.insert(e.path().display().to_string(), meta.len());
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_file_is_refused_before_anything_is_written() {
    let e2e = E2e::start_with(|mut o| {
        o.extra_args.insert(
            Component::SourceController,
            vec![
                format!("--git-file-max-size={FILE_LIMIT}"),
                format!("--git-max-size={TOTAL_LIMIT}"),
            ],
        );
        o
    })
    .await;
    let repo = e2e.repo("huge");
    repo.write(
        "deploy/config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n  namespace: default\n",
    )
    .expect("writing");
    let big = repo.work_dir().join("blobs/huge.bin");
    std::fs::create_dir_all(big.parent().expect("a parent")).expect("mkdir");
    std::fs::File::create(&big)
        .and_then(|f| f.set_len(HUGE))
        .expect("a sparse file");
    let commit = repo.commit("a huge sparse file").expect("commit");

    e2e.apply(&git_repository("huge", &e2e.git.url("huge")))
        .await;
    let (reason, message, obj) =
        wait_not_ready(&e2e, Kind::GitRepository, "huge", "--git-file-max-size").await;

    // The message gives the revision and the limit. (The file's path is not
    // known: gix refuses the object while indexing the received pack, which
    // names no paths; a file already in the cache, or a total over
    // --git-max-size, is named: see source-controller's tests/git/limits.rs.)
    assert!(
        message.contains(&commit) && message.contains(&FILE_LIMIT.to_string()),
        "the message should give the revision and the limit: {message}"
    );
    assert!(message.len() < 400, "a short message: {message}");
    assert_eq!(reason, "SizeLimitExceeded", "{message}");
    assert!(
        obj["status"]["artifact"].is_null(),
        "an artifact was recorded: {:#}",
        obj["status"]
    );

    // Nothing stored, and nothing big written anywhere in the stack's work
    // directory (artifacts, scratch space, the Git cache holds the compressed
    // pack only).
    let stored = e2e
        .stack
        .work_dir()
        .join("artifacts/gitrepository/flux-system/huge");
    assert!(
        files_under(&stored).is_empty(),
        "files stored for a refused revision: {:?}",
        files_under(&stored)
    );
    let big_files: Vec<(String, u64)> = files_under(e2e.stack.work_dir())
        .into_iter()
        .filter(|(_, len)| *len > FILE_LIMIT)
        .collect();
    assert!(big_files.is_empty(), "big files written: {big_files:?}");

    // Memory does not grow with the file.
    let pid = e2e
        .stack
        .pid(Component::SourceController)
        .expect("source-controller runs");
    let peak = proc_status_kib(pid, "VmHWM");
    eprintln!("source-controller VmHWM after the refusal: {peak} KiB");
    assert!(
        peak < RSS_CEILING_KIB,
        "source-controller peak RSS {peak} KiB, over {RSS_CEILING_KIB} KiB"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_symlink_loop_gives_a_short_message_naming_the_path_once() {
    let e2e = E2e::start().await;
    let repo = e2e.repo("loop");
    repo.write(
        "app/config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: looped\n  namespace: default\ndata:\n  a: b\n",
    )
    .expect("writing");
    repo.write(
        "app/kustomization.yaml",
        "resources:\n- config.yaml\n- self\n",
    )
    .expect("writing");
    // `self -> .`: `app/self/self/...` is `app` again, under ever longer names.
    std::os::unix::fs::symlink(".", repo.work_dir().join("app/self")).expect("a symlink");
    let commit = repo.commit("a symlink loop").expect("commit");
    e2e.apply(&git_repository("loop", &e2e.git.url("loop")))
        .await;
    e2e.apply(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: loop\n  namespace: flux-system\nspec:\n  interval: 1h\n  path: ./app\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: loop\n",
    )
    .await;
    e2e.wait_artifact("flux-system", "loop", &commit).await;
    let (_, message, _) = wait_not_ready(&e2e, Kind::Kustomization, "loop", "app/self").await;
    assert!(message.len() < 400, "a short message: {message}");
    assert!(
        !message.contains("self/self"),
        "the offending path once: {message}"
    );
}
