//! `ferroflux completion SHELL`: scripts the shells accept, offering the verbs.

use std::io::Write;
use std::process::{Command, Stdio};

fn completion(shell: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(["completion", shell])
        .output()
        .expect("ferroflux runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn completion_scripts_parse_and_offer_the_verbs() {
    let bash = completion("bash");
    for verb in ["get", "reconcile", "suspend", "resume", "events", "tree"] {
        assert!(bash.contains(verb), "bash completion lacks {verb}");
    }
    assert!(bash.contains("complete -F _ferroflux"), "{bash}");
    // bash itself checks the script's syntax.
    let mut check = Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash runs");
    check
        .stdin
        .take()
        .unwrap()
        .write_all(bash.as_bytes())
        .unwrap();
    let out = check.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    assert!(completion("zsh").starts_with("#compdef ferroflux"));
    assert!(completion("fish").contains("complete -c ferroflux"));
    let bad = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(["completion", "cmd.exe"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}
