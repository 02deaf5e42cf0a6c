//! `ferroflux push artifact` / `ferroflux pull artifact` against Debian's
//! `docker-registry` (with basic auth), with `oras-py` reading what we push.

use std::process::Command;

use ferroflux_testsupport::oci_registry::{self, Registry, RegistryOptions};

const PASSWORD: &str = "cli-Pa55-word-31";

fn ferroflux(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn push_then_pull_round_trips_and_oras_reads_it() {
    if !oci_registry::available() {
        return;
    }
    let registry = Registry::start_with(RegistryOptions {
        auth: Some(("flux".into(), PASSWORD.into())),
        tls: None,
    });
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("manifests");
    std::fs::create_dir_all(src.join("apps")).unwrap();
    std::fs::write(src.join("apps/cm.yaml"), "kind: ConfigMap\n").unwrap();
    std::fs::write(
        src.join("kustomization.yaml"),
        "resources: [apps/cm.yaml]\n",
    )
    .unwrap();
    let url = format!("oci://{}/manifests/app:v1", registry.host);
    let creds = format!("flux:{PASSWORD}");
    let out = ferroflux(&[
        "push",
        "artifact",
        &url,
        "--path",
        src.to_str().unwrap(),
        "--source",
        "https://git.example/app.git",
        "--revision",
        "main@sha1:0123456789abcdef0123456789abcdef01234567",
        "--creds",
        &creds,
        "--insecure-registry",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("@sha256:"), "{stdout}");

    // Wrong credentials: a clear error that does not echo the password.
    let out = ferroflux(&[
        "pull",
        "artifact",
        &url,
        "-o",
        work.path().join("x").to_str().unwrap(),
        "--creds",
        "flux:Not-It-42",
        "--insecure-registry",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("authentication") && !stderr.contains("Not-It-42"),
        "{stderr}"
    );

    let dest = work.path().join("pulled");
    let out = ferroflux(&[
        "pull",
        "artifact",
        &url,
        "-o",
        dest.to_str().unwrap(),
        "--creds",
        &creds,
        "--insecure-registry",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("revision main@sha1:0123456789abcdef"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("apps/cm.yaml")).unwrap(),
        "kind: ConfigMap\n"
    );
    assert_eq!(
        std::fs::read_to_string(dest.join("kustomization.yaml")).unwrap(),
        "resources: [apps/cm.yaml]\n"
    );

    // oras-py, an independent client, reads what we push (anonymously:
    // oras-py 0.2 cannot answer a basic challenge).
    let Some(python) = oci_registry::peer_python() else {
        return;
    };
    let open = Registry::start();
    let open_url = format!("oci://{}/manifests/app:v1", open.host);
    let out = ferroflux(&[
        "push",
        "artifact",
        &open_url,
        "--path",
        src.to_str().unwrap(),
        "--source",
        "https://git.example/app.git",
        "--revision",
        "main@sha1:0123456789abcdef0123456789abcdef01234567",
        "--insecure-registry",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let oras_out = work.path().join("oras");
    let manifest = oci_registry::oras(
        &python,
        &[
            "pull",
            &open.host,
            "manifests/app:v1",
            oras_out.to_str().unwrap(),
        ],
    );
    let manifest: serde_json::Value =
        serde_json::from_str(manifest.trim().lines().last().unwrap()).unwrap();
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.cncf.flux.content.v1.tar+gzip"
    );
    assert_eq!(
        manifest["config"]["mediaType"],
        "application/vnd.cncf.flux.config.v1+json"
    );
    assert_eq!(
        manifest["annotations"]["org.opencontainers.image.source"],
        "https://git.example/app.git"
    );
    assert!(
        manifest["annotations"]["org.opencontainers.image.created"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
}
