//! Writing conditions and status fields through the status subresource.

use std::fmt::Debug;

use ferroflux_api::conditions::{self, ObjectWithConditions};
use kube::api::{Api, Patch, PatchParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// Condition reason for a notification that could not be sent.
pub const NOTIFICATION_DISPATCH_FAILED: &str = "NotificationDispatchFailed";
/// Condition reason for a configuration that cannot work.
pub const INVALID_CONFIG: &str = "InvalidConfig";

/// Field manager of every status write.
pub const FIELD_MANAGER: &str = "notification-controller";

/// Records `original`'s generation and handled reconcile request on `obj`,
/// then writes `obj`'s status if it differs from `original`'s (the runtime's
/// minimal JSON patch; nothing is written when nothing changed).
pub async fn finish<K>(client: &kube::Client, original: &K, obj: &mut K) -> Result<(), kube::Error>
where
    K: ferroflux_runtime::controller::Kind,
{
    obj.set_observed_generation(original.meta().generation);
    if let Some(requested) = crate::reconcile::requested_at(original) {
        obj.set_last_handled_reconcile_at(Some(requested));
    }
    let api: Api<K> = Api::namespaced(client.clone(), &original.namespace().unwrap_or_default());
    ferroflux_runtime::controller::write_status_if_changed(&api, original, obj)
        .await
        .map(|_| ())
}

/// Merge-patches `status` (a JSON object) into `name`'s status subresource.
pub async fn patch<K>(api: &Api<K>, name: &str, status: Value) -> Result<(), kube::Error>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let params = PatchParams::apply(FIELD_MANAGER);
    api.patch_status(name, &params, &Patch::Merge(json!({ "status": status })))
        .await
        .map(|_| ())
}

/// Whether the object's `Ready` condition records a delivery failure at its
/// current generation (reconcilers keep such a condition until a delivery
/// succeeds or the spec changes).
pub fn has_dispatch_failure<K: ObjectWithConditions + Resource>(obj: &K) -> bool {
    conditions::get(obj.conditions(), conditions::READY).is_some_and(|c| {
        c.status == "False"
            && c.reason == NOTIFICATION_DISPATCH_FAILED
            && c.observed_generation == obj.meta().generation
    })
}

/// Re-reads `name`, applies `update` to its conditions and writes them back
/// if anything changed. Used for delivery outcomes, which happen outside
/// any reconcile.
pub async fn update_conditions<K>(
    api: &Api<K>,
    name: &str,
    update: impl FnOnce(&mut K) -> bool,
) -> Result<(), kube::Error>
where
    K: Resource + ObjectWithConditions + Clone + DeserializeOwned + Serialize + Debug,
{
    let mut obj = api.get(name).await?;
    if !update(&mut obj) {
        return Ok(());
    }
    let conds = serde_json::to_value(obj.conditions()).unwrap_or(Value::Null);
    patch(api, &obj.name_any(), json!({ "conditions": conds })).await
}
