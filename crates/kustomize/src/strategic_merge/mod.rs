//! Kubernetes strategic merge patch, in the two flavors Ferroflux needs.
//!
//! A strategic merge patch is a JSON merge patch (RFC 7386: maps merge key by key,
//! `null` deletes a key) in which lists can merge too: a field's *patch strategy*
//! (the `patchStrategy`/`patchMergeKey` tags of the Kubernetes types) says whether its
//! list is replaced whole (the default) or merged element by element, matched on a
//! merge key (`containers` by `name`, `volumeMounts` by `mountPath`, ...) or, for lists
//! of strings such as `finalizers`, as an ordered set. [`lookup`] gives the strategies
//! of the built-in kinds; for other kinds (custom resources) pass `None`: maps merge,
//! lists are replaced, and the `$patch` directives on maps still work.
//!
//! Directives (keys that steer the merge and never appear in the output):
//! - `$patch: replace` on a map replaces it instead of merging; as a list element
//!   (`- $patch: replace`) it replaces the whole list with the patch's elements.
//! - `$patch: delete` on a map removes it (at the top: the whole object); as an element
//!   with a merge key (`- {name: sidecar, $patch: delete}`) it removes that element;
//!   alone as an element (kustomize) it removes the whole list.
//! - `$patch: merge`: the default, accepted anywhere.
//! - `$deleteFromPrimitiveList/<field>: [values]` removes values from a merged list of
//!   primitives; `$setElementOrder/<field>: [...]` orders a merged list;
//!   `$retainKeys: [fields]` drops the map's other fields.
//!
//! Any other `$patch` value is an error naming the path.
//!
//! # Flavors
//!
//! [`Flavor::ApiServer`] reproduces the API server (`kubectl patch --type strategic`,
//! `k8s.io/apimachinery/pkg/util/strategicpatch`) against current Kubernetes types.
//! [`Flavor::Kustomize`] reproduces kustomize's patches (`kubectl kustomize`, Flux's
//! kustomize-controller), which use their own walker and Kubernetes v1.21's schema. They
//! differ in ways a build's output shows:
//!
//! | | API server | kustomize |
//! |---|---|---|
//! | new list elements | interleaved: patch order, original order kept around them | patch's elements first, in its order, then the original's others |
//! | element match | merge key only | all `x-kubernetes-list-map-keys` (ports: `containerPort` *and* `protocol`) |
//! | `$patch: delete` on a map | leaves `{}` | removes the field |
//! | `{name: x, $patch: replace}` element | replaces the whole list with the patch's other elements | ignored: the original element stays |
//! | `patchStrategy: replace` maps (PDB `selector`) | replaced | merged |
//! | a map patched onto a list or scalar | the patch's value wins | error |
//! | kinds and fields | current Kubernetes | only those in v1.21 (no strategies for `autoscaling/v2`, `schedulingGates`, ...) |
//!
//! Where both Kubernetes and kustomize misbehave, this code does better, in both flavors:
//! - kustomize copies `$retainKeys`, `$setElementOrder/…` and `$deleteFromPrimitiveList/…`
//!   into its output; here they act as the API server makes them act;
//! - kustomize copies an unknown `$patch` on a newly added map, and a `- $patch: replace`
//!   marker of a newly added list, into the output; here the first is an error and the
//!   second is carried out;
//! - kustomize copies replaced (atomic) lists verbatim, directives included; here
//!   `$patch: delete` elements and markers are dropped and other directives removed;
//! - the API server rejects `$patch: merge`, drops a newly added map that carries
//!   `$patch: replace`, and keeps `null`s and directives inside newly added values and
//!   replaced lists; here `merge` is accepted, `replace` keeps the map, and `null`s in
//!   added values vanish (the typed API server drops them on decoding anyway).

mod apiserver;
mod directives;
mod error;
mod kustomize;
mod ordering;
mod patch_strategy;
mod schema;

use serde_json::Value;

pub use error::StrategicMergeError;
pub use patch_strategy::lookup;
pub use schema::{FieldSchema, PatchMeta, PatchSchema, PatchStrategy};

/// Whose strategic merge to reproduce; see the module docs for the differences.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flavor {
    /// The Kubernetes API server and `kubectl patch --type strategic`.
    ApiServer,
    /// Kustomize (`kubectl kustomize`, `kustomize build`, Flux's kustomize-controller).
    Kustomize,
}

/// Applies the strategic merge `patch` to `original`, both JSON objects, and returns the
/// merged object; neither input is changed.
///
/// `schema` gives the patch strategies of `original`'s kind, normally
/// [`lookup`]`(apiVersion, kind, flavor)`; `None` merges maps and replaces lists. With
/// [`Flavor::Kustomize`], as in kustomize, a map that has a built-in `apiVersion` and
/// `kind` and no schema from its parent is merged with that kind's schema.
///
/// With [`Flavor::Kustomize`], a `$patch: delete` at the top of the patch deletes the
/// whole object: the result is [`Value::Null`]. (The API server leaves `{}`.)
///
/// ```
/// use ferroflux_kustomize::strategic_merge::{Flavor, lookup, strategic_merge};
/// use serde_json::json;
///
/// let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
///     "spec": {"template": {"spec": {"containers": [
///         {"name": "app", "image": "app:1"}, {"name": "sidecar", "image": "sidecar:1"}]}}}});
/// let patch = json!({"spec": {"template": {"spec": {"containers": [
///     {"name": "app", "image": "app:2"}, {"name": "sidecar", "$patch": "delete"}]}}}});
/// let schema = lookup("apps/v1", "Deployment", Flavor::Kustomize);
/// let merged = strategic_merge(&deployment, &patch, schema, Flavor::Kustomize)?;
/// assert_eq!(merged["spec"]["template"]["spec"]["containers"],
///     json!([{"name": "app", "image": "app:2"}]));
/// # Ok::<(), ferroflux_kustomize::strategic_merge::StrategicMergeError>(())
/// ```
pub fn strategic_merge(
    original: &Value,
    patch: &Value,
    schema: Option<&dyn PatchSchema>,
    flavor: Flavor,
) -> Result<Value, StrategicMergeError> {
    let Value::Object(original) = original else {
        return Err(StrategicMergeError::NotAnObject { which: "original" });
    };
    let Value::Object(patch) = patch else {
        return Err(StrategicMergeError::NotAnObject { which: "patch" });
    };
    match flavor {
        Flavor::ApiServer => apiserver::merge(original.clone(), patch, schema).map(Value::Object),
        Flavor::Kustomize => {
            kustomize::merge(original.clone(), patch, schema).map(|v| v.unwrap_or(Value::Null))
        }
    }
}

/// [`strategic_merge`] with the built-in schema of `original`'s `apiVersion` and
/// `kind` (none when it has no built-in kind).
pub fn strategic_merge_builtin(
    original: &Value,
    patch: &Value,
    flavor: Flavor,
) -> Result<Value, StrategicMergeError> {
    let type_meta = |field: &str| original.get(field).and_then(Value::as_str).unwrap_or("");
    let schema = lookup(type_meta("apiVersion"), type_meta("kind"), flavor);
    strategic_merge(original, patch, schema, flavor)
}

#[cfg(test)]
mod tests;
