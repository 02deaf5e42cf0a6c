//! CustomResourceDefinitions: a CRD makes its kind served (discovery, CRUD,
//! status subresource, defaults, pruning, validation); deleting it stops that.

use ferroflux_api::source::v1::GitRepository;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::Discovery;
use serde_json::json;

use crate::{code, env_with_namespaces, status};

async fn install(client: &kube::Client) -> CustomResourceDefinition {
    let crd = ferroflux_api::crds::all()
        .unwrap()
        .into_iter()
        .find(|c| c.spec.names.kind == "GitRepository")
        .unwrap();
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    api.create(&PostParams::default(), &crd).await.unwrap()
}

#[tokio::test]
async fn crd_is_established_and_discoverable() {
    let (_env, client) = env_with_namespaces(&[]).await;
    let created = install(&client).await;
    let conditions = created.status.unwrap().conditions.unwrap();
    assert!(
        conditions
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True")
    );
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    let (ar, caps) = discovery
        .resolve_gvk(&GroupVersionKind::gvk(
            "source.toolkit.fluxcd.io",
            "v1",
            "GitRepository",
        ))
        .expect("GitRepository is discoverable");
    assert_eq!(ar.plural, "gitrepositories");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    assert!(
        discovery
            .resolve_gvk(&GroupVersionKind::gvk("apps", "v1", "Deployment"))
            .is_some()
    );

    // Deleting the CRD stops serving the kind and removes its objects.
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.delete(GitRepository::crd_name(), &DeleteParams::default())
        .await
        .unwrap();
    let discovery = Discovery::new(client.clone()).run().await.unwrap();
    assert!(
        discovery
            .resolve_gvk(&GroupVersionKind::gvk(
                "source.toolkit.fluxcd.io",
                "v1",
                "GitRepository"
            ))
            .is_none()
    );
    let api: Api<GitRepository> = Api::namespaced(client, "default");
    assert_eq!(code(api.list(&Default::default()).await), 404);
}

#[tokio::test]
async fn custom_resources_get_defaults_pruning_and_validation() {
    let (_env, client) = env_with_namespaces(&["flux-system"]).await;
    install(&client).await;
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "source.toolkit.fluxcd.io",
        "v1",
        "GitRepository",
    ));
    let dynamic: Api<DynamicObject> = Api::namespaced_with(client.clone(), "flux-system", &ar);
    let obj: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "podinfo"},
        "spec": {"url": "https://example.com/podinfo", "interval": "1m", "notAField": true, "ref": {"branch": "main"}},
        "status": {"observedGeneration": 5}
    }))
    .unwrap();
    let created = dynamic.create(&PostParams::default(), &obj).await.unwrap();
    assert_eq!(
        created.data["spec"]["timeout"], "60s",
        "schema default applied"
    );
    assert!(
        created.data["spec"].get("notAField").is_none(),
        "unknown field pruned"
    );
    // Status sent on create is dropped; what remains is the schema's default
    // (Flux's `observedGeneration: -1`), as kube-apiserver shows it.
    assert_eq!(created.data["status"], json!({"observedGeneration": -1}));

    let bad: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "bad"},
        "spec": {"url": "ftp://example.com/x", "interval": "5x"}
    }))
    .unwrap();
    let s = status(dynamic.create(&PostParams::default(), &bad).await);
    assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"));
    assert!(
        s.message
            .starts_with("GitRepository.source.toolkit.fluxcd.io \"bad\" is invalid"),
        "{}",
        s.message
    );
    assert!(s.message.contains("spec.interval"), "{}", s.message);
    assert!(s.message.contains("spec.url"), "{}", s.message);

    // The typed API reads what the server stored.
    let typed: Api<GitRepository> = Api::namespaced(client, "flux-system");
    let repo = typed.get("podinfo").await.unwrap();
    assert_eq!(repo.spec.timeout.as_ref().unwrap().as_str(), "60s");

    // Status subresource: only status changes, generation stays; the main
    // resource cannot write status.
    let st = typed
        .patch_status(
            "podinfo",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded", "message": "ok", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}})),
        )
        .await
        .unwrap();
    assert_eq!(st.status.as_ref().unwrap().observed_generation, Some(1));
    assert_eq!(st.metadata.generation, Some(1));
    let main = typed
        .patch(
            "podinfo",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"observedGeneration": 9}, "spec": {"interval": "2m"}})),
        )
        .await
        .unwrap();
    assert_eq!(main.status.as_ref().unwrap().observed_generation, Some(1));
    assert_eq!(main.metadata.generation, Some(2));
    assert_eq!(main.spec.interval.as_str(), "2m");
}

#[tokio::test]
async fn strategic_merge_is_refused_for_custom_resources() {
    let (_env, client) = env_with_namespaces(&["flux-system"]).await;
    install(&client).await;
    let typed: Api<GitRepository> = Api::namespaced(client, "flux-system");
    let repo: GitRepository = serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "r"}, "spec": {"url": "https://x/y", "interval": "1m"}
    }))
    .unwrap();
    typed.create(&PostParams::default(), &repo).await.unwrap();
    let s = status(
        typed
            .patch(
                "r",
                &PatchParams::default(),
                &Patch::Strategic(json!({"spec": {"interval": "2m"}})),
            )
            .await,
    );
    assert_eq!((s.code, s.reason.as_str()), (415, "UnsupportedMediaType"));
}
