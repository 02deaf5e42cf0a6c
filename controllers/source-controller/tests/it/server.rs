//! The artifact server over real sockets: hostile request targets never
//! reach outside the storage root, artifacts are served with their headers.

use std::io::Read;
use std::os::unix::fs::symlink;

use sha2::{Digest, Sha256};
use source_controller::ignore::IgnoreRules;
use source_controller::storage::Storage;

use crate::support::{Fixture, SECRET, http_client, raw_request, source_tree};

/// Plants links inside the storage that lead outside, plus a hidden file.
fn plant_traps(fx: &Fixture) {
    let ns_dir = fx.root().join("gitrepository/ns");
    std::fs::create_dir_all(ns_dir.join("name")).unwrap();
    symlink(fx.secret_path(), ns_dir.join("leak.tar.gz")).unwrap();
    symlink("../../../../secret.txt", ns_dir.join("name/relleak.tar.gz")).unwrap();
    symlink(fx.dir.path(), ns_dir.join("leakdir")).unwrap();
    std::fs::write(ns_dir.join("name/.tmp-1-2-3"), SECRET).unwrap();
    // The traps are live: following the links does reach the secret, so
    // only the server's checks keep it out of responses.
    for trap in ["leak.tar.gz", "name/relleak.tar.gz", "leakdir/secret.txt"] {
        assert_eq!(std::fs::read_to_string(ns_dir.join(trap)).unwrap(), SECRET);
    }
}

#[tokio::test]
async fn hostile_targets_never_leak_outside_files() {
    let fx = Fixture::start().await;
    plant_traps(&fx);
    let secret_abs = fx.secret_path().display().to_string();
    let targets = [
        "/../secret.txt".to_owned(),
        "/../etc/passwd".to_owned(),
        "/../../../../../../etc/passwd".to_owned(),
        "/gitrepository/../../secret.txt".to_owned(),
        "/gitrepository/%2e%2e/%2e%2e/secret.txt".to_owned(),
        "/gitrepository/%2E%2E/%2E%2E/secret.txt".to_owned(),
        "/gitrepository/.%2e/.%2e/secret.txt".to_owned(),
        "/gitrepository/%2e%2e/%2e%2e/etc/passwd".to_owned(),
        "/gitrepository%2f..%2f..%2fsecret.txt".to_owned(),
        "/gitrepository%2f..%2f..%2fetc/passwd".to_owned(),
        "/..%2fsecret.txt".to_owned(),
        "/%252e%252e/secret.txt".to_owned(),
        "/%c0%ae%c0%ae/secret.txt".to_owned(),
        "//etc/passwd".to_owned(),
        format!("/{secret_abs}"),
        "/gitrepository//ns/leak.tar.gz".to_owned(),
        "/gitrepository/ns/name/..%5c..%5cx".to_owned(),
        "/gitrepository/ns/name/..%5c..%5c..%5c..%5csecret.txt".to_owned(),
        "/gitrepository/ns/name/..\\..\\..\\..\\secret.txt".to_owned(),
        "/gitrepository/ns/name/x%00.tar.gz".to_owned(),
        "/gitrepository/ns/leak.tar.gz".to_owned(),
        "/gitrepository/ns/name/relleak.tar.gz".to_owned(),
        "/gitrepository/ns/leakdir/secret.txt".to_owned(),
        "/gitrepository/ns/name/.tmp-1-2-3".to_owned(),
        "/gitrepository/ns/name/%2etmp-1-2-3".to_owned(),
        "/gitrepository/ns/name/".to_owned(),
        "/gitrepository/ns/name".to_owned(),
        "/".to_owned(),
        "http://localhost/../secret.txt".to_owned(),
        "*".to_owned(),
    ];
    for target in &targets {
        for method in ["GET", "HEAD"] {
            let resp = raw_request(fx.addr, method, target).await;
            assert!(
                resp.status == 404 || resp.status == 400,
                "{method} {target}: status {} ({})",
                resp.status,
                resp.head
            );
            let body = String::from_utf8_lossy(&resp.body);
            assert!(
                !body.contains(SECRET),
                "{method} {target} leaked the secret"
            );
            assert!(
                !body.contains("root:"),
                "{method} {target} leaked /etc/passwd"
            );
        }
    }
}

#[tokio::test]
async fn artifacts_are_served_with_length_etag_and_type() {
    let fx = Fixture::start().await;
    let storage = Storage::new(fx.root(), fx.addr.to_string()).unwrap();
    let src = tempfile::tempdir().unwrap();
    source_tree(src.path());
    let artifact = storage
        .archive(
            "GitRepository",
            "flux-system",
            "podinfo",
            "main@sha1:0123456789abcdef0123456789abcdef01234567",
            src.path(),
            &IgnoreRules::defaults(),
        )
        .unwrap();
    let digest = artifact.digest.clone().unwrap();
    let hex = digest.strip_prefix("sha256:").unwrap().to_owned();
    let size = artifact.size.unwrap() as u64;
    assert_eq!(artifact.url, fx.url(&artifact.path));

    let client = http_client();
    let resp = client.get(&artifact.url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let headers = resp.headers().clone();
    assert_eq!(headers["content-type"], "application/gzip");
    assert_eq!(headers["content-length"], size.to_string().as_str());
    assert_eq!(headers["etag"], format!("\"{hex}\"").as_str());
    let body = resp.bytes().await.unwrap();
    assert_eq!(body.len() as u64, size);
    assert_eq!(
        format!("sha256:{}", hex::encode(Sha256::digest(&body))),
        digest
    );

    // The artifact unpacks to the tree minus the default exclusions.
    let mut tar = Vec::new();
    flate2::read::GzDecoder::new(&body[..])
        .read_to_end(&mut tar)
        .unwrap();
    let mut archive = tar::Archive::new(&tar[..]);
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(names, ["deploy", "deploy/app.yaml"]);

    // HEAD: same headers, no body.
    let head = client.head(&artifact.url).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-length"], size.to_string().as_str());
    assert_eq!(head.headers()["etag"], format!("\"{hex}\"").as_str());
    assert!(head.bytes().await.unwrap().is_empty());
    let raw_head = raw_request(fx.addr, "HEAD", &format!("/{}", artifact.path)).await;
    assert_eq!(raw_head.status, 200);
    assert_eq!(raw_head.header("content-length"), Some(size.to_string()));
    assert!(raw_head.body.is_empty());

    // Conditional GET with the ETag.
    let cached = client
        .get(&artifact.url)
        .header("if-none-match", format!("\"{hex}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), 304);

    // A query string does not change what is served.
    let with_query = client
        .get(format!("{}?x=1", artifact.url))
        .send()
        .await
        .unwrap();
    assert_eq!(with_query.status(), 200);

    // Other methods are refused, unknown files are 404.
    let post = client.post(&artifact.url).send().await.unwrap();
    assert_eq!(post.status(), 405);
    let missing = client
        .get(fx.url("gitrepository/flux-system/podinfo/nope.tar.gz"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);

    // After the finalizer's remove_all the artifact is gone.
    storage
        .remove_all("GitRepository", "flux-system", "podinfo")
        .unwrap();
    let gone = client.get(&artifact.url).send().await.unwrap();
    assert_eq!(gone.status(), 404);
}

#[tokio::test]
async fn symlinks_inside_storage_to_inside_files_are_served() {
    // Canonicalisation must not break legitimate links within the root.
    let fx = Fixture::start().await;
    let dir = fx.root().join("gitrepository/ns/name");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("real.tar.gz"), "data").unwrap();
    symlink("real.tar.gz", dir.join("latest.tar.gz")).unwrap();
    let resp = raw_request(fx.addr, "GET", "/gitrepository/ns/name/latest.tar.gz").await;
    assert_eq!(resp.status, 200, "{}", resp.head);
    assert_eq!(resp.body, b"data");
}
