//! Integration tests of the test API server through real clients: kube's
//! typed and dynamic APIs, kube-runtime's watcher and Controller, and kubectl.

mod allocation;
mod apply;
mod crd;
mod crud;
mod hostile;
mod immutable;
mod kubectl;
mod lifecycle;
mod rbac;
mod tables;
mod validation;
mod watch;
mod workloads;

use ferroflux_testenv::TestEnv;
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::PostParams;

/// Starts a server and creates the given namespaces.
pub async fn env_with_namespaces(namespaces: &[&str]) -> (TestEnv, kube::Client) {
    let env = TestEnv::start().await.expect("testenv starts");
    let client = env.client().await.expect("client");
    let api: Api<Namespace> = Api::all(client.clone());
    for ns in namespaces {
        let obj: Namespace =
            serde_json::from_value(serde_json::json!({"metadata": {"name": ns}})).unwrap();
        api.create(&PostParams::default(), &obj)
            .await
            .expect("namespace created");
    }
    (env, client)
}

/// The in-process store's global resourceVersion, or `None` against a real
/// cluster (where other writers move it all the time).
pub fn global_rv(env: &TestEnv) -> Option<u64> {
    env.server().map(|s| s.store.current_rv())
}

/// The error code of a failed kube call.
pub fn code<T: std::fmt::Debug>(r: Result<T, kube::Error>) -> u16 {
    match r {
        Err(kube::Error::Api(s)) => s.code,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// The Status of a failed kube call.
pub fn status<T: std::fmt::Debug>(r: Result<T, kube::Error>) -> kube::core::Status {
    match r {
        Err(kube::Error::Api(s)) => *s,
        other => panic!("expected an API error, got {other:?}"),
    }
}

/// What a kubectl run printed and whether it succeeded.
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs kubectl against `env` with `stdin` piped in (kubectl is a peer that
/// `.ci/run` installs); its discovery cache stays beside the kubeconfig.
pub async fn run_kubectl(env: &TestEnv, args: &[&str], stdin: Option<&str>) -> Run {
    use tokio::io::AsyncWriteExt;
    let mut child = tokio::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(env.kubeconfig_path())
        .args(args)
        .env(
            "KUBECACHEDIR",
            env.kubeconfig_path().with_file_name("kubecache"),
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("kubectl is installed (.ci/run installs it)");
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        pipe.write_all(input.as_bytes()).await.unwrap();
    }
    drop(pipe);
    let out = child.wait_with_output().await.unwrap();
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
