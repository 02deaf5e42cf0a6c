//! Hostile inputs: scratch.
//!
//! Temporary files (checkouts, unpacked artifacts) live in one scratch
//! directory per controller (`--scratch-path`; the stack gives each its own
//! under the work directory). What a killed controller left there is gone
//! once it starts again; a graceful stop (SIGTERM) removes the directory; the
//! system temporary directory is never used; and a second process pointed at
//! a directory in use refuses it instead of cleaning it. (Issue 12: two
//! SIGKILLs left 86 MB and 153 MB in the temporary directory, never cleaned.)

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use ferroflux_cli::stack::{Component, StackOptions};

use crate::support::{DEADLINE, E2e};

/// The controllers that make temporary files.
const WITH_SCRATCH: [Component; 2] = [Component::SourceController, Component::KustomizeController];

/// Names in a directory (sorted), or none if it does not exist.
fn names(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

fn mtime(dir: &Path) -> SystemTime {
    std::fs::metadata(dir)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

/// What a controller killed in the middle of its work leaves: a checkout
/// with a sizeable file, an unpacked artifact's staging directory.
fn leave_junk(dir: &Path) {
    let checkout = dir.join("checkout-killed/deploy");
    std::fs::create_dir_all(&checkout).expect("mkdir");
    std::fs::write(checkout.join("app.yaml"), "kind: ConfigMap\n").expect("write");
    std::fs::File::create(checkout.join("big.bin"))
        .and_then(|f| f.set_len(8 * 1024 * 1024))
        .expect("a file");
    std::fs::create_dir_all(dir.join(".tmpKILLED/source/.ferroflux-extract-x")).expect("mkdir");
    std::fs::write(dir.join("stray"), "x").expect("write");
}

/// Each controller with scratch space gets `TMPDIR` pointing at an empty
/// directory of its own, to see whether anything goes there.
fn with_system_tmp(mut o: StackOptions) -> StackOptions {
    for c in WITH_SCRATCH {
        let tmp = o.work_dir.join("system-tmp").join(c.binary());
        std::fs::create_dir_all(&tmp).expect("mkdir");
        o.extra_env
            .entry(c)
            .or_default()
            .push(("TMPDIR".into(), tmp.display().to_string()));
    }
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_files_stay_in_scratch_and_a_killed_runs_junk_is_cleaned() {
    let mut e2e = E2e::start_with(with_system_tmp).await;
    let before: Vec<(Component, PathBuf, SystemTime)> = WITH_SCRATCH
        .iter()
        .map(|&c| {
            let dir = e2e.stack.scratch_dir(c);
            assert_eq!(names(&dir), [".lock"], "{} scratch at start", c.binary());
            let t = mtime(&dir);
            (c, dir, t)
        })
        .collect();
    // The mtimes must be able to move.
    tokio::time::sleep(Duration::from_millis(20)).await;

    // Real work: a checkout and an archive, a download and an extraction.
    let app = e2e.install_app().await;
    e2e.assert_app(&app, "hello", &[]).await;
    for (c, dir, t) in &before {
        // Work directories were made and removed in the scratch directory
        // (which changes its mtime) and nothing is left once work is done.
        assert!(
            mtime(dir) > *t,
            "{} made no temporary directory in its scratch directory {}",
            c.binary(),
            dir.display()
        );
        assert_eq!(names(dir), [".lock"], "{} scratch after work", c.binary());
        let tmp = e2e.stack.work_dir().join("system-tmp").join(c.binary());
        assert!(
            names(&tmp).is_empty(),
            "{} wrote to the system temporary directory: {:?}",
            c.binary(),
            names(&tmp)
        );
    }

    // SIGKILL, with the junk a killed run leaves; after the restart it is gone.
    for c in WITH_SCRATCH {
        e2e.stack.kill(c).await;
        let dir = e2e.stack.scratch_dir(c);
        leave_junk(&dir);
        e2e.start_component(c).await;
        // The restarted controller may already be at work in there; what
        // the killed one left is gone.
        let left: Vec<String> = names(&dir)
            .into_iter()
            .filter(|n| ["checkout-killed", ".tmpKILLED", "stray"].contains(&n.as_str()))
            .collect();
        assert!(
            left.is_empty(),
            "{} scratch after SIGKILL and restart still has {left:?}",
            c.binary()
        );
    }
    // And the restarted controllers still work.
    let mut app = app;
    let commit = e2e.change_app(&mut app, "after restarts", &[]);
    assert_eq!(
        e2e.github_push(&app.hook, crate::support::TOKEN, &app.url)
            .await,
        200
    );
    e2e.wait_applied("flux-system", "app", &commit).await;
    for c in WITH_SCRATCH {
        let dir = e2e.stack.scratch_dir(c);
        e2e.wait(
            &format!("{} scratch empty after work", c.binary()),
            || async {
                let now = names(&dir);
                if now == [".lock"] {
                    Ok(())
                } else {
                    Err(format!("{now:?}"))
                }
            },
        )
        .await;
    }
}

/// Waits until the process is gone or a zombie (it has exited).
async fn wait_exited(pid: u32) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let state = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("State:").map(|v| v.trim().to_string()))
            });
        match state {
            None => return,
            Some(s) if s.starts_with('Z') => return,
            Some(s) if Instant::now() > deadline => panic!("process {pid} still {s}"),
            Some(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_removes_scratch_and_a_directory_in_use_is_refused() {
    let mut e2e = E2e::start().await;
    let options = StackOptions::beside_current_exe(e2e.stack.work_dir());
    for c in WITH_SCRATCH {
        let dir = e2e.stack.scratch_dir(c);
        // A file the running controller is working on.
        std::fs::write(dir.join("in-use"), "busy").expect("write");

        // A second process pointed at the same directory refuses it (before
        // it connects anywhere) and leaves the files alone.
        let out = tokio::process::Command::new(options.bin_dir.join(c.binary()))
            .arg("--scratch-path")
            .arg(&dir)
            .arg("--log-encoding=json")
            .env("KUBECONFIG", e2e.stack.kubeconfig())
            .output()
            .await
            .expect("the binary runs");
        let log = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{} shared a scratch directory: {log}",
            c.binary()
        );
        assert!(log.contains("in use by another process"), "{log}");
        assert_eq!(names(&dir), [".lock", "in-use"], "{} scratch", c.binary());

        // SIGTERM: a graceful stop removes the directory.
        let pid = e2e.stack.pid(c).expect("running");
        let status = tokio::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await
            .expect("kill runs");
        assert!(status.success());
        wait_exited(pid).await;
        assert!(
            !dir.exists(),
            "{} left {:?} after SIGTERM",
            c.binary(),
            names(&dir)
        );
        e2e.start_component(c).await;
        assert_eq!(names(&dir), [".lock"]);
    }
}
