//! The container images: every controller, and the `ferroflux` CLI (the
//! dashboard's image), has a Dockerfile whose build and entrypoint name a
//! binary the workspace really builds, and the install manifests run that image.

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The directory the workspace's binaries are built into (next to this test's deps dir).
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let mut dir = exe.parent().unwrap().to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir
}

fn word_after<'a>(text: &'a str, flag: &str) -> Option<&'a str> {
    let at = text.find(flag)? + flag.len();
    text[at..].split_whitespace().next()
}

/// Checks that `dockerfile` (of the package in `dir`) builds a binary of that
/// package, copies and runs it as a non-root user, and that the binary exists;
/// returns the binary's name.
fn check_dockerfile<'a>(name: &str, dir: &Path, dockerfile: &'a str) -> &'a str {
    let package = word_after(dockerfile, " -p ").expect("cargo build -p <package>");
    let bin = word_after(dockerfile, "--bin ").expect("cargo build --bin <name>");
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains(&format!("name = \"{package}\"")),
        "{name}: -p {package} is not this package"
    );
    assert!(
        manifest.contains(&format!("[[bin]]\nname = \"{bin}\"")),
        "{name}: --bin {bin} is not a binary of {package}"
    );
    assert!(
        dockerfile.contains(&format!("ENTRYPOINT [\"/{bin}\"]")),
        "{name}: the entrypoint does not run /{bin}"
    );
    assert!(
        dockerfile.contains(&format!("COPY --from=build /{bin} /{bin}")),
        "{name}: the binary is not copied"
    );
    assert!(
        dockerfile.contains("USER 65532"),
        "{name}: the image must not run as root"
    );
    assert!(
        bin_dir().join(bin).is_file(),
        "{bin} is not built into {}",
        bin_dir().display()
    );
    bin
}

#[test]
fn each_controller_dockerfile_builds_and_runs_a_real_binary() {
    let controllers = repo_root().join("controllers");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&controllers).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.join("Cargo.toml").is_file() {
            continue;
        }
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let dockerfile = std::fs::read_to_string(dir.join("Dockerfile"))
            .unwrap_or_else(|e| panic!("{name} has no Dockerfile: {e}"));
        let bin = check_dockerfile(&name, &dir, &dockerfile);
        let deployment = std::fs::read_to_string(
            repo_root()
                .join("config")
                .join(&name)
                .join("deployment.yaml"),
        )
        .unwrap_or_else(|e| panic!("config/{name}/deployment.yaml: {e}"));
        assert!(
            deployment.contains(&format!("image: ghcr.io/ferroflux/{bin}:")),
            "config/{name} does not run the {bin} image"
        );
        seen.push(name);
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "helm-controller",
            "kustomize-controller",
            "notification-controller",
            "source-controller"
        ]
    );
}

#[test]
fn the_cli_dockerfile_builds_the_ferroflux_binary_the_dashboard_runs() {
    let dir = repo_root().join("crates/cli");
    let dockerfile = std::fs::read_to_string(dir.join("Dockerfile"))
        .unwrap_or_else(|e| panic!("crates/cli has no Dockerfile: {e}"));
    let bin = check_dockerfile("crates/cli", &dir, &dockerfile);
    assert_eq!(bin, "ferroflux");
    assert!(
        dockerfile.contains("x86_64-unknown-linux-musl"),
        "crates/cli: the image must carry a static (musl) binary like the controllers'"
    );
    let deployment =
        std::fs::read_to_string(repo_root().join("config/dashboard/deployment.yaml")).unwrap();
    assert!(
        deployment.contains("image: ghcr.io/ferroflux/ferroflux:"),
        "config/dashboard does not run the ferroflux image"
    );
    assert!(
        deployment.contains("args: [ui,"),
        "config/dashboard does not run `ferroflux ui`"
    );
}
