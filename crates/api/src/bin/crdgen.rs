//! Writes `crds/` from the Rust types: `crdgen [--check] [DIR]`.
//!
//! With `--check` nothing is written; the exit status is 1 when `DIR` differs
//! from what would be generated, naming each file that differs.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut check = false;
    let mut dir = None;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--check" => check = true,
            "-h" | "--help" => {
                println!("usage: crdgen [--check] [DIR]   (DIR defaults to the workspace's crds/)");
                return ExitCode::SUCCESS;
            }
            other if other.starts_with('-') => {
                eprintln!("crdgen: unknown flag {other}");
                return ExitCode::from(2);
            }
            other => dir = Some(PathBuf::from(other)),
        }
    }
    let dir = dir.unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../crds"));
    let result = if check {
        ferroflux_api::crds::render_all()
            .and_then(|files| ferroflux_api::crds::differences(&dir, &files))
    } else {
        ferroflux_api::crds::write_dir(&dir)
    };
    match result {
        Ok(changed) if check && !changed.is_empty() => {
            for name in changed {
                eprintln!("crdgen: {} is not current", dir.join(name).display());
            }
            eprintln!(
                "crdgen: run `cargo run -p ferroflux-api --bin crdgen` and commit the result"
            );
            ExitCode::FAILURE
        }
        Ok(changed) => {
            for name in changed {
                println!("wrote {}", dir.join(name).display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("crdgen: {e}");
            ExitCode::FAILURE
        }
    }
}
