//! kubectl as a real client of the test server.

use std::path::{Path, PathBuf};

use ferroflux_testenv::TestEnv;

struct Kubectl<'a> {
    env: &'a TestEnv,
}

struct Output {
    ok: bool,
    stdout: String,
    stderr: String,
}

impl Kubectl<'_> {
    async fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, None).await
    }

    async fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        use tokio::io::AsyncWriteExt;
        let mut cmd = tokio::process::Command::new("kubectl");
        cmd.arg("--kubeconfig")
            .arg(self.env.kubeconfig_path())
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            // Keep kubectl's discovery cache out of the user's home.
            .env(
                "KUBECACHEDIR",
                self.env.kubeconfig_path().with_file_name("kubecache"),
            );
        let mut child = cmd
            .spawn()
            .expect("kubectl is installed (.ci/run installs it)");
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().unwrap();
            pipe.write_all(input.as_bytes()).await.unwrap();
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().await.unwrap();
        Output {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    async fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args).await;
        assert!(
            out.ok,
            "kubectl {args:?} failed:\n{}\n{}",
            out.stdout, out.stderr
        );
        out.stdout
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const NAMESPACES: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: flux-system\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: tenant-alpha\n";

#[tokio::test]
async fn kubectl_applies_crds_and_seed_manifests_and_lists_them() {
    let env = TestEnv::start().await.unwrap();
    let k = Kubectl { env: &env };
    let crds = repo_root().join("crds");
    let out = k.ok(&["apply", "-f", crds.to_str().unwrap()]).await;
    assert!(out.contains("customresourcedefinition.apiextensions.k8s.io/gitrepositories.source.toolkit.fluxcd.io created"), "{out}");
    let out = k
        .run_with_stdin(&["apply", "-f", "-"], Some(NAMESPACES))
        .await;
    assert!(out.ok, "{}", out.stderr);
    let seeds = repo_root().join("../shared/seed-manifests");
    let out = k.ok(&["apply", "-f", seeds.to_str().unwrap()]).await;
    for line in [
        "kustomization.kustomize.toolkit.fluxcd.io/property-backend created",
        "gitrepository.source.toolkit.fluxcd.io/tenant-alpha-config created",
        "kustomization.kustomize.toolkit.fluxcd.io/tenant-alpha-apps created",
        "gitrepository.source.toolkit.fluxcd.io/secure-config created",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
    // A second apply changes nothing.
    let again = k.ok(&["apply", "-f", seeds.to_str().unwrap()]).await;
    assert_eq!(again.matches("unchanged").count(), 4, "{again}");

    // Printer columns come from the CRD (server-side table).
    let table = k.ok(&["get", "gitrepositories", "-A"]).await;
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAMESPACE", "NAME", "URL", "AGE", "READY", "STATUS"]
    );
    assert!(table.contains("tenant-alpha   tenant-alpha-config   https://github.com/proptechusa/tenant-alpha-infrastructure"), "{table}");
    let short = k
        .ok(&["get", "ks", "-n", "flux-system", "-o", "name"])
        .await;
    assert_eq!(
        short.trim(),
        "kustomization.kustomize.toolkit.fluxcd.io/property-backend"
    );
    // The v1beta2-only field was accepted; what is stored is served as v1.
    let yaml = k
        .ok(&[
            "get",
            "kustomization.v1.kustomize.toolkit.fluxcd.io",
            "property-backend",
            "-n",
            "flux-system",
            "-o",
            "jsonpath={.apiVersion} {.spec.path}",
        ])
        .await;
    assert_eq!(
        yaml,
        "kustomize.toolkit.fluxcd.io/v1 ./clusters/production/property-backend"
    );
}

#[tokio::test]
async fn kubectl_server_side_apply_patch_and_delete() {
    let env = TestEnv::start().await.unwrap();
    let k = Kubectl { env: &env };
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n  namespace: default\ndata:\n  a: \"1\"\n";
    let out = k
        .run_with_stdin(&["apply", "--server-side", "-f", "-"], Some(cm))
        .await;
    assert!(
        out.ok && out.stdout.contains("configmap/demo serverside-applied"),
        "{}{}",
        out.stdout,
        out.stderr
    );
    let managers = k
        .ok(&[
            "get",
            "cm",
            "demo",
            "-o",
            "jsonpath={.metadata.managedFields[*].manager}:{.metadata.managedFields[*].operation}",
            "--show-managed-fields",
        ])
        .await;
    assert_eq!(managers, "kubectl:Apply");

    k.ok(&["patch", "cm", "demo", "-p", r#"{"data":{"b":"2"}}"#])
        .await;
    k.ok(&[
        "patch",
        "cm",
        "demo",
        "--type=json",
        "-p",
        r#"[{"op":"remove","path":"/data/a"}]"#,
    ])
    .await;
    let data = k.ok(&["get", "cm", "demo", "-o", "jsonpath={.data}"]).await;
    assert_eq!(data, r#"{"b":"2"}"#);
    let bad = k
        .run(&[
            "patch",
            "cm",
            "demo",
            "--type=json",
            "-p",
            r#"[{"op":"remove","path":"/data/zzz"}]"#,
        ])
        .await;
    assert!(!bad.ok);

    let out = k.ok(&["delete", "cm", "demo"]).await;
    assert!(out.contains("configmap \"demo\" deleted"), "{out}");
    let gone = k.run(&["get", "cm", "demo"]).await;
    assert!(!gone.ok);
    assert!(
        gone.stderr
            .contains("Error from server (NotFound): configmaps \"demo\" not found"),
        "{}",
        gone.stderr
    );
}

#[tokio::test]
async fn kubectl_typed_commands_and_auth_can_i() {
    let env = TestEnv::start().await.unwrap();
    let k = Kubectl { env: &env };
    // These send protobuf bodies.
    k.ok(&["create", "namespace", "team-a"]).await;
    k.ok(&["create", "namespace", "team-b"]).await;
    k.ok(&["create", "serviceaccount", "deployer", "-n", "team-a"])
        .await;
    k.ok(&[
        "create",
        "configmap",
        "settings",
        "-n",
        "team-a",
        "--from-literal=mode=fast",
    ])
    .await;
    assert_eq!(
        k.ok(&[
            "get",
            "cm",
            "settings",
            "-n",
            "team-a",
            "-o",
            "jsonpath={.data.mode}"
        ])
        .await,
        "fast"
    );
    k.ok(&[
        "create",
        "role",
        "deployer",
        "-n",
        "team-a",
        "--verb=get,list,create,update,patch,delete",
        "--resource=configmaps,deployments.apps",
    ])
    .await;
    k.ok(&[
        "create",
        "rolebinding",
        "deployer",
        "-n",
        "team-a",
        "--role=deployer",
        "--serviceaccount=team-a:deployer",
    ])
    .await;

    let sa = "--as=system:serviceaccount:team-a:deployer";
    let can = |verb: &'static str, what: &'static str, ns: &'static str| {
        let k = &k;
        async move {
            let out = k.run(&["auth", "can-i", verb, what, "-n", ns, sa]).await;
            out.stdout.trim().to_string()
        }
    };
    assert_eq!(can("create", "deployments.apps", "team-a").await, "yes");
    assert_eq!(can("delete", "configmaps", "team-a").await, "yes");
    assert_eq!(can("create", "deployments.apps", "team-b").await, "no");
    assert_eq!(can("get", "secrets", "team-a").await, "no");
    let cluster = k.run(&["auth", "can-i", "list", "namespaces", sa]).await;
    assert_eq!(cluster.stdout.trim(), "no");

    // The impersonated service account really is held to that.
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: by-sa\n";
    let ok = k
        .run_with_stdin(&["apply", "-n", "team-a", sa, "-f", "-"], Some(cm))
        .await;
    assert!(ok.ok, "{}", ok.stderr);
    let denied = k
        .run_with_stdin(&["apply", "-n", "team-b", sa, "-f", "-"], Some(cm))
        .await;
    assert!(!denied.ok);
    assert!(
        denied
            .stderr
            .contains("is forbidden: User \"system:serviceaccount:team-a:deployer\""),
        "{}",
        denied.stderr
    );
}

#[tokio::test]
async fn install_manifests_apply_to_the_test_server() {
    let env = TestEnv::start().await.unwrap();
    let k = Kubectl { env: &env };
    let rendered = k
        .ok(&[
            "kustomize",
            repo_root().join("config/default").to_str().unwrap(),
        ])
        .await;
    let out = k
        .run_with_stdin(&["apply", "--server-side", "-f", "-"], Some(&rendered))
        .await;
    assert!(out.ok, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("namespace/flux-system serverside-applied"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("deployment.apps/source-controller serverside-applied"),
        "{}",
        out.stdout
    );
    let sa = k
        .ok(&[
            "get",
            "deployment",
            "source-controller",
            "-n",
            "flux-system",
            "-o",
            "jsonpath={.spec.template.spec.serviceAccountName}",
        ])
        .await;
    assert_eq!(sa, "source-controller");
    // Applying again changes nothing.
    let again = k
        .run_with_stdin(&["apply", "--server-side", "-f", "-"], Some(&rendered))
        .await;
    assert!(again.ok, "{}", again.stderr);
}
