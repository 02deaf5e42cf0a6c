use std::collections::BTreeMap;

use ferroflux_ssa::{Action, ApplyOptions, DeleteOptions, Inventory};
use serde_json::json;

use crate::{get, setup, writes_so_far};

fn cm(name: &str, labels: serde_json::Value, annotations: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "default", "labels": labels, "annotations": annotations},
        "data": {"k": "v"}})
}

fn owner() -> BTreeMap<String, String> {
    BTreeMap::from([(
        "kustomize.toolkit.fluxcd.io/name".to_string(),
        "apps".to_string(),
    )])
}

#[tokio::test]
async fn objects_that_left_the_set_are_deleted_unless_kept() {
    let (env, m) = setup().await;
    let owned = json!({"kustomize.toolkit.fluxcd.io/name": "apps"});
    let first = vec![
        cm("stays", owned.clone(), json!({})),
        cm("goes", owned.clone(), json!({})),
        cm(
            "kept",
            owned.clone(),
            json!({"kustomize.toolkit.fluxcd.io/prune": "disabled"}),
        ),
        cm(
            "adopted",
            json!({"kustomize.toolkit.fluxcd.io/name": "someone-else"}),
            json!({}),
        ),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "scratch", "labels": owned}}),
    ];
    let cs = m
        .apply_all_staged(first, &ApplyOptions::default())
        .await
        .unwrap();
    let old = Inventory::from_change_set(&cs);
    assert_eq!(old.objects.len(), 5);

    let cs = m
        .apply_all_staged(
            vec![cm(
                "stays",
                json!({"kustomize.toolkit.fluxcd.io/name": "apps"}),
                json!({}),
            )],
            &ApplyOptions::default(),
        )
        .await
        .unwrap();
    let new = Inventory::from_change_set(&cs);
    let stale = old.stale(&new);
    assert_eq!(stale.len(), 4);
    let opts = DeleteOptions {
        owner_labels: owner(),
        concurrency: 4,
    };
    let pruned = m.delete_all(&stale, &opts).await.unwrap();
    let lines: Vec<String> = pruned
        .entries
        .iter()
        .map(|e| format!("{} {}", e.object, e.action))
        .collect();
    // Resources go before the namespace; kept and foreign objects are skipped.
    assert_eq!(
        lines,
        [
            "ConfigMap/default/kept skipped",
            "ConfigMap/default/goes deleted",
            "ConfigMap/default/adopted skipped",
            "Namespace/scratch deleted",
        ]
    );
    assert!(
        get(&env, "v1", "ConfigMap", "default", "goes")
            .await
            .is_none()
    );
    assert!(
        get(&env, "v1", "ConfigMap", "default", "kept")
            .await
            .is_some()
    );
    assert!(
        get(&env, "v1", "ConfigMap", "default", "adopted")
            .await
            .is_some()
    );
    assert!(
        get(&env, "v1", "ConfigMap", "default", "stays")
            .await
            .is_some()
    );

    // Pruning again finds nothing to delete and writes nothing.
    let before = writes_so_far(&env);
    let again = m.delete_all(&stale, &opts).await.unwrap();
    assert_eq!(again.count(Action::Deleted), 0, "{again}");
    assert_eq!(writes_so_far(&env), before);
}
