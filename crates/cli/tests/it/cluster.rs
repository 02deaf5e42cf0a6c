//! A test API server with Ferroflux's CRDs for the cluster verbs (`get`,
//! `events`, `tree`, ...), and the `ferroflux` binary run against it as a
//! user runs it. Status is written here as a controller would write it, so
//! the output can be checked field by field without waiting for one.

use std::path::Path;
use std::process::Stdio;

use ferroflux_cli::kinds::FluxKind;
use ferroflux_testenv::TestEnv;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

/// What one run of the binary did.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// Panics with the output unless the run succeeded.
    pub fn assert_ok(&self) -> &Self {
        assert!(
            self.ok(),
            "exit {:?}\nstdout:\n{}\nstderr:\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// Runs `ferroflux` with `args` against the kubeconfig at `kubeconfig`.
pub async fn ferroflux(kubeconfig: &Path, args: &[&str]) -> Run {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env_remove("FLUX_SYSTEM_NAMESPACE")
        .env_remove("FLUX_NS_FOLLOWS_KUBE_CONTEXT")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("ferroflux runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The test API server with the CRDs and the `flux-system` namespace.
pub struct Cluster {
    pub env: TestEnv,
    pub client: kube::Client,
}

impl Cluster {
    pub async fn start() -> Self {
        let env = TestEnv::start().await.expect("the test API server");
        let client = env.client().await.expect("a client");
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        let params = PatchParams::apply("cli-test").force();
        for crd in ferroflux_api::crds::all().expect("the CRDs") {
            let name = crd.metadata.name.clone().unwrap_or_default();
            crds.patch(&name, &params, &Patch::Apply(&crd))
                .await
                .expect("CRD installs");
        }
        let c = Self { env, client };
        for ns in ["flux-system", "apps"] {
            c.create_namespace(ns).await;
        }
        c
    }

    pub async fn create_namespace(&self, name: &str) {
        let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(self.client.clone());
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        api.patch(
            name,
            &PatchParams::apply("cli-test").force(),
            &Patch::Apply(&ns),
        )
        .await
        .expect("namespace");
    }

    /// Runs the binary against this server.
    pub async fn ferroflux(&self, args: &[&str]) -> Run {
        ferroflux(self.env.kubeconfig_path(), args).await
    }

    /// Creates a Flux object from its spec, then sets its status as a
    /// controller would.
    pub async fn create(&self, kind: &FluxKind, ns: &str, name: &str, spec: Value, status: Value) {
        let api = kind.api(&self.client, Some(ns));
        let obj: DynamicObject = serde_json::from_value(json!({
            "apiVersion": format!("{}/{}", kind.group, kind.version),
            "kind": kind.kind,
            "metadata": {"name": name, "namespace": ns},
            "spec": spec,
        }))
        .unwrap();
        api.create(&PostParams::default(), &obj)
            .await
            .unwrap_or_else(|e| panic!("creating {} {ns}/{name}: {e}", kind.kind));
        self.set_status(kind, ns, name, status).await;
    }

    /// Replaces the status of an object (merge patch of the subresource).
    pub async fn set_status(&self, kind: &FluxKind, ns: &str, name: &str, status: Value) {
        let api = kind.api(&self.client, Some(ns));
        api.patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": status})),
        )
        .await
        .unwrap_or_else(|e| panic!("status of {} {ns}/{name}: {e}", kind.kind));
    }

    /// Reads a Flux object as JSON.
    #[allow(dead_code)]
    pub async fn get(&self, kind: &FluxKind, ns: &str, name: &str) -> Value {
        let api = kind.api(&self.client, Some(ns));
        serde_json::to_value(api.get(name).await.expect("object")).unwrap()
    }
}

/// A Ready condition with `status` and `message`.
pub fn ready(status: &str, reason: &str, message: &str) -> Value {
    json!([{
        "type": "Ready",
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": "2026-01-01T00:00:00Z",
        "observedGeneration": 1
    }])
}
