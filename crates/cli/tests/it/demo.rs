//! `ferroflux demo` as a user runs it: the binary, its child processes, its output.

use std::process::Command;

/// Processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for e in entries.flatten() {
        let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if text.contains(needle) {
            found.push(format!("{}: {text}", e.file_name().to_string_lossy()));
        }
    }
    found
}

#[test]
fn demo_deploys_the_example_and_leaves_nothing_running() {
    let work = tempfile::tempdir().unwrap();
    let work_dir = work.path().join("demo");
    let out = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(["demo", "--timeout", "120", "--work-dir"])
        .arg(&work_dir)
        .output()
        .expect("ferroflux runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");
    for row in [
        "GitRepository/demo-app",
        "Kustomization/apps-staging",
        "Kustomization/apps-production",
        "Receiver/github",
        "Provider/chat",
        "Alert/deployments",
        "HelmRepository/demo-charts",
        "HelmChart/flux-system-greeter",
        "HelmRelease/greeter",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(row))
            .unwrap_or_else(|| panic!("no {row} row in:\n{stdout}"));
        let ready = line[row.len()..].split_whitespace().next();
        assert_eq!(ready, Some("True"), "{line}");
    }
    // helm-controller ran as one of the stack's processes and installed the
    // chart the demo served itself, at the version it packaged.
    assert!(
        stdout.contains("✓ helm-controller running (pid "),
        "{stdout}"
    );
    let release = stdout
        .lines()
        .find(|l| l.starts_with("HelmRelease/greeter"))
        .unwrap();
    assert!(release.contains("greeter@0.1.0"), "{release}");
    assert!(
        stdout.contains("installed chart greeter 0.1.0 as release helm-demo/greeter (revision 1)"),
        "{stdout}"
    );
    // Both environments moved to the pushed commit, announced by webhook.
    let pushed = stdout
        .lines()
        .find_map(|l| l.strip_prefix("▶ pushed "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no push line in:\n{stdout}"))
        .to_string();
    let applied_rows = stdout
        .lines()
        .filter(|l| {
            l.starts_with("Kustomization/") && l.contains(&format!("sha1:{}", &pushed[..8]))
        })
        .count();
    assert_eq!(applied_rows, 2, "{stdout}");
    assert!(stdout.contains("after the webhook"), "{stdout}");
    assert!(
        stdout.contains("ConfigMap/production/settings configured"),
        "{stdout}"
    );
    // Every child process is gone.
    let left = processes_mentioning(&work_dir.display().to_string());
    assert!(left.is_empty(), "orphans: {left:#?}");
}
