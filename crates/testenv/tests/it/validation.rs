//! Built-in kinds are decoded, pruned, defaulted and validated as
//! kube-apiserver does, with kubectl as the client (its field validation,
//! `kubectl explain` over OpenAPI v3, its tables) and kube's typed client.

use ferroflux_testenv::TestEnv;
use k8s_openapi::api::apps::v1::Deployment;
use kube::Api;
use kube::api::{DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::run_kubectl as kubectl;

fn deployment(name: &str, extra_spec: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: default\nspec:\n{extra_spec}  selector:\n    matchLabels: {{app: {name}}}\n  template:\n    metadata:\n      labels: {{app: {name}}}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n"
    )
}

fn dynamic(v: Value) -> DynamicObject {
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
async fn kubectl_apply_warns_about_and_prunes_unknown_fields_or_refuses_them_strictly() {
    let env = TestEnv::start().await.unwrap();
    let manifest = deployment("web", "  foo: bar\n");
    // kubectl's default, --validate=strict: the server refuses it.
    let strict = kubectl(&env, &["apply", "-f", "-"], Some(&manifest)).await;
    assert!(!strict.ok, "{}", strict.stdout);
    assert!(
        strict
            .stderr
            .contains("strict decoding error: unknown field \"spec.foo\""),
        "{}",
        strict.stderr
    );
    let warn = kubectl(
        &env,
        &["apply", "--validate=warn", "-f", "-"],
        Some(&manifest),
    )
    .await;
    assert!(warn.ok, "{}", warn.stderr);
    assert!(
        warn.stderr.contains("Warning: unknown field \"spec.foo\""),
        "{}",
        warn.stderr
    );
    let stored = kubectl(&env, &["get", "deploy", "web", "-o", "json"], None).await;
    let stored: Value = serde_json::from_str(&stored.stdout).unwrap();
    assert!(stored["spec"].get("foo").is_none(), "pruned: {stored}");
    // Defaults a real cluster fills.
    assert_eq!(stored["spec"]["replicas"], 1);
    assert_eq!(stored["spec"]["strategy"]["type"], "RollingUpdate");
    assert_eq!(stored["spec"]["progressDeadlineSeconds"], 600);
    let container = &stored["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(container["imagePullPolicy"], "IfNotPresent");
    assert_eq!(container["terminationMessagePath"], "/dev/termination-log");
    // The same through server-side apply: warned, pruned, never owned.
    let ssa = kubectl(
        &env,
        &["apply", "--server-side", "--validate=warn", "-f", "-"],
        Some(&deployment("ssa", "  bogus: 1\n")),
    )
    .await;
    assert!(ssa.ok, "{}", ssa.stderr);
    assert!(
        ssa.stderr.contains("unknown field \"spec.bogus\""),
        "{}",
        ssa.stderr
    );
    let owned = kubectl(
        &env,
        &[
            "get",
            "deploy",
            "ssa",
            "-o",
            "jsonpath={.metadata.managedFields[0].fieldsV1}",
        ],
        None,
    )
    .await;
    assert!(
        owned.ok && !owned.stdout.contains("bogus"),
        "{}",
        owned.stdout
    );
    let ignored = kubectl(
        &env,
        &["apply", "--validate=false", "-f", "-"],
        Some(&deployment("quiet", "  foo: bar\n")),
    )
    .await;
    assert!(
        ignored.ok && !ignored.stderr.contains("unknown field"),
        "{}",
        ignored.stderr
    );
}

#[tokio::test]
async fn wrong_types_and_missing_fields_are_refused_with_the_field_path() {
    let env = TestEnv::start().await.unwrap();
    let bad = kubectl(
        &env,
        &["apply", "-f", "-"],
        Some(&deployment("web", "  replicas: many\n")),
    )
    .await;
    assert!(!bad.ok);
    assert!(
        bad.stderr.contains(
            "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"
        ),
        "{}",
        bad.stderr
    );
    let client = env.client().await.unwrap();
    let api: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &kube::api::ApiResource::erase::<Deployment>(&()),
    );
    // Required fields and enumerations: 422 naming each field.
    let obj: Value = serde_yaml::from_str(&deployment("web", "")).unwrap();
    let mut missing = obj.clone();
    missing["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!("Sometimes");
    missing["spec"].as_object_mut().unwrap().remove("selector");
    let err = match api.create(&PostParams::default(), &dynamic(missing)).await {
        Err(kube::Error::Api(s)) => s,
        other => panic!("expected 422, got {other:?}"),
    };
    assert_eq!(err.code, 422, "{err:?}");
    let details = serde_json::to_value(&err.details).unwrap();
    let fields: Vec<&str> = details["causes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["field"].as_str())
        .collect();
    assert!(fields.contains(&"spec.selector"), "{details}");
    assert!(
        fields.contains(&"spec.template.spec.containers[0].imagePullPolicy"),
        "{details}"
    );
    // A patch that breaks the type of a stored object is refused too.
    api.create(&PostParams::default(), &dynamic(obj))
        .await
        .unwrap();
    let patched = api
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"paused": "yes"}})),
        )
        .await;
    assert!(
        matches!(&patched, Err(kube::Error::Api(s)) if s.code == 400 && s.message.contains("spec.paused")),
        "{patched:?}"
    );
    // A Secret with a `sops:` block and data that is not base64.
    let secrets: Api<DynamicObject> = Api::namespaced_with(
        client,
        "default",
        &kube::api::ApiResource::erase::<k8s_openapi::api::core::v1::Secret>(&()),
    );
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "data": {"k": "aGk="}, "sops": {"mac": "ENC[...]"}});
    let stored = secrets
        .create(&PostParams::default(), &dynamic(secret.clone()))
        .await
        .unwrap();
    let stored = serde_json::to_value(stored).unwrap();
    assert!(stored.get("sops").is_none(), "{stored}");
    assert_eq!(stored["type"], "Opaque");
    let mut bad = secret.clone();
    bad["metadata"]["name"] = json!("t");
    bad["data"]["k"] = json!("ENC[AES256_GCM,data:x]");
    let refused = secrets.create(&PostParams::default(), &dynamic(bad)).await;
    assert!(
        matches!(&refused, Err(kube::Error::Api(s)) if s.code == 400 && s.message.contains("illegal base64 data")),
        "{refused:?}"
    );
}

#[tokio::test]
async fn kubectl_explain_reads_the_openapi_v3_documents() {
    let env = TestEnv::start().await.unwrap();
    let out = kubectl(&env, &["explain", "deployment.spec.replicas"], None).await;
    assert!(out.ok, "{}", out.stderr);
    assert!(out.stdout.contains("replicas"), "{}", out.stdout);
    assert!(out.stdout.contains("<integer>"), "{}", out.stdout);
    assert!(
        out.stdout.contains("Number of desired pods"),
        "{}",
        out.stdout
    );
    let nested = kubectl(
        &env,
        &["explain", "pods.spec.containers.imagePullPolicy"],
        None,
    )
    .await;
    assert!(
        nested.ok && nested.stdout.contains("<string>"),
        "{}{}",
        nested.stdout,
        nested.stderr
    );
}

#[tokio::test]
async fn kubectl_get_prints_kube_apiservers_columns() {
    let env = TestEnv::start().await.unwrap();
    let setup = "apiVersion: v1\nkind: Event\nmetadata:\n  name: web.1\n  namespace: default\ninvolvedObject:\n  kind: Deployment\n  name: web\n  namespace: default\nreason: ScalingReplicaSet\nmessage: Scaled up replica set web-1 to 1\ntype: Normal\nsource:\n  component: deployment-controller\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: default\nspec:\n  selector: {app: web}\n  ports:\n  - port: 80\n---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: once\n  namespace: default\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: c\n        image: busybox:1.36\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\ndata: {a: b, c: d}\n";
    let applied = kubectl(&env, &["apply", "-f", "-"], Some(setup)).await;
    assert!(applied.ok, "{}", applied.stderr);
    let applied = kubectl(&env, &["apply", "-f", "-"], Some(&deployment("web", ""))).await;
    assert!(applied.ok, "{}", applied.stderr);
    let header = |out: &str| {
        out.lines()
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let events = kubectl(&env, &["get", "events"], None).await;
    assert!(events.ok, "{}", events.stderr);
    assert_eq!(
        header(&events.stdout),
        "LAST SEEN TYPE REASON OBJECT MESSAGE"
    );
    assert!(
        events.stdout.contains("deployment/web")
            && events.stdout.contains("Scaled up replica set web-1 to 1"),
        "{}",
        events.stdout
    );
    let cases = [
        ("deployments", "NAME READY UP-TO-DATE AVAILABLE AGE"),
        ("services", "NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE"),
        ("jobs", "NAME STATUS COMPLETIONS DURATION AGE"),
        ("configmaps", "NAME DATA AGE"),
        ("namespaces", "NAME STATUS AGE"),
        ("clusterroles", "NAME CREATED AT"),
    ];
    for (resource, want) in cases {
        let out = kubectl(&env, &["get", resource], None).await;
        assert!(out.ok, "{resource}: {}", out.stderr);
        assert_eq!(header(&out.stdout), want, "{resource}:\n{}", out.stdout);
    }
    let svc = kubectl(&env, &["get", "svc", "web", "--no-headers"], None).await;
    assert!(
        svc.stdout.contains("ClusterIP") && svc.stdout.contains("80/TCP"),
        "{}",
        svc.stdout
    );
    let cm = kubectl(&env, &["get", "cm", "settings", "--no-headers"], None).await;
    assert_eq!(
        cm.stdout.split_whitespace().nth(1),
        Some("2"),
        "{}",
        cm.stdout
    );
    let wide = kubectl(&env, &["get", "deploy", "web", "-o", "wide"], None).await;
    assert!(
        wide.stdout.contains("nginx:1.27") && wide.stdout.contains("app=web"),
        "{}",
        wide.stdout
    );
}

#[tokio::test]
async fn kubectl_apply_updates_custom_resources_with_a_merge_patch() {
    let env = TestEnv::start().await.unwrap();
    let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  scope: Namespaced\n  names: {plural: widgets, singular: widget, kind: Widget}\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          spec:\n            type: object\n            properties:\n              size: {type: integer}\n";
    let out = kubectl(&env, &["apply", "-f", "-"], Some(crd)).await;
    assert!(out.ok, "{}", out.stderr);
    let out = kubectl(
        &env,
        &[
            "wait",
            "--for=condition=Established",
            "crd/widgets.example.com",
        ],
        None,
    )
    .await;
    assert!(out.ok, "{}", out.stderr);
    let widget = |size: u32| {
        format!(
            "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n  namespace: default\nspec:\n  size: {size}\n"
        )
    };
    for size in [1, 2] {
        // The second apply patches: the CRD's PATCH operation offers no
        // strategic merge patch, so kubectl sends a merge patch.
        let out = kubectl(&env, &["apply", "-f", "-"], Some(&widget(size))).await;
        assert!(out.ok, "{}", out.stderr);
    }
    let out = kubectl(
        &env,
        &["get", "widget", "w", "-o", "jsonpath={.spec.size}"],
        None,
    )
    .await;
    assert_eq!(out.stdout, "2", "{}", out.stderr);
    // Unknown fields of a custom resource: refused at kubectl's default
    // strict validation, warned about and pruned with --validate=warn.
    let typo = format!("{}  colour: red\n", widget(3));
    let strict = kubectl(&env, &["apply", "-f", "-"], Some(&typo)).await;
    assert!(!strict.ok, "{}", strict.stdout);
    assert!(
        strict
            .stderr
            .contains("Widget in version \"v1\" cannot be handled as a Widget: strict decoding error: unknown field \"spec.colour\""),
        "{}",
        strict.stderr
    );
    let warn = kubectl(&env, &["apply", "--validate=warn", "-f", "-"], Some(&typo)).await;
    assert!(warn.ok, "{}", warn.stderr);
    assert!(
        warn.stderr
            .contains("Warning: unknown field \"spec.colour\""),
        "{}",
        warn.stderr
    );
    let out = kubectl(
        &env,
        &["get", "widget", "w", "-o", "jsonpath={.spec}"],
        None,
    )
    .await;
    assert_eq!(out.stdout, "{\"size\":3}", "{}", out.stderr);
}
