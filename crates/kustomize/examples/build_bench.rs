//! `kustomize build DIR` with the engine, for `hack/bench/kustomize`: builds the
//! kustomization in DIR (the file-system root is DIR's top-level tree, given as ROOT)
//! and prints the multi-document YAML to stdout, as `kubectl kustomize DIR` does.
//!
//! Usage: `build_bench ROOT DIR`

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use ferroflux_kustomize::{BuildOptions, build, to_yaml};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [root, dir] = args.as_slice() else {
        eprintln!("usage: build_bench ROOT DIR");
        return ExitCode::from(2);
    };
    let (root, dir) = (PathBuf::from(root), PathBuf::from(dir));
    match build(&root, &dir, &BuildOptions::default()) {
        Ok(docs) => {
            let mut out = std::io::stdout().lock();
            if out.write_all(to_yaml(&docs).as_bytes()).is_err() {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
