//! Recording who changed what on create, update (PUT) and non-apply patches.

use serde_json::{Map, Value};

use super::FieldsError;
use super::compare::compare;
use super::list_types::ListTypes;
use super::managed::{ManagedFieldsEntry, Managers, Operation, decode_managed_fields, identifier};
use super::path::PathElement;
use super::set::FieldSet;

/// kube-apiserver keeps at most this many Update entries.
pub(crate) const MAX_UPDATE_MANAGERS: usize = 10;

/// Fields no manager ever owns: identity and server-set metadata.
pub(crate) fn stripped_fields() -> FieldSet {
    let f = PathElement::field;
    let mut set =
        FieldSet::from_paths([vec![f("apiVersion")], vec![f("kind")], vec![f("metadata")]]);
    for name in [
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    ] {
        set.insert(&[f("metadata"), f(name)]);
    }
    set
}

/// The object without `metadata.managedFields`; null becomes an empty object.
pub(crate) fn without_managed_fields(v: &Value) -> Value {
    let mut v = match v {
        Value::Null => Value::Object(Map::new()),
        other => other.clone(),
    };
    if let Some(Value::Object(meta)) = v.get_mut("metadata") {
        meta.remove("managedFields");
    }
    v
}

fn has_uid(v: &Value) -> bool {
    v.pointer("/metadata/uid")
        .and_then(Value::as_str)
        .is_some_and(|uid| !uid.is_empty())
}

/// Records the change `old` → `new` made by `manager` with an Update operation, as
/// kube-apiserver does: every field the change added or modified goes to the manager
/// (leaving the other managers), removed fields leave everyone, emptied entries go.
#[allow(clippy::too_many_arguments)]
pub(crate) fn record_update(
    managers: &mut Managers,
    old: &Value,
    new: &Value,
    manager: &str,
    api_version: &str,
    subresource: &str,
    types: &dyn ListTypes,
    now: &str,
) -> Result<(), FieldsError> {
    let cmp = compare(old, new, types)?;
    let changed = cmp.changed();
    for entry in managers.map.values_mut() {
        entry.fields = entry.fields.difference(&changed).difference(&cmp.removed);
    }
    managers.drop_empty();

    let mine = changed.difference(&stripped_fields());
    if mine.is_empty() {
        return Ok(());
    }
    let manager = if manager.is_empty() {
        "unknown"
    } else {
        manager
    };
    let id = identifier(manager, Operation::Update, api_version, subresource);
    let entry = managers
        .map
        .entry(id)
        .or_insert_with(|| ManagedFieldsEntry {
            manager: manager.to_string(),
            operation: Operation::Update,
            api_version: api_version.to_string(),
            time: String::new(),
            subresource: subresource.to_string(),
            fields: FieldSet::new(),
        });
    entry.fields = mine.union(&entry.fields);
    entry.api_version = api_version.to_string();
    entry.time = now.to_string();
    Ok(())
}

/// The managedFields after a create, update (PUT) or non-apply patch by `manager`
/// (kube-apiserver's field manager `Update`):
///
/// - `old` is the stored object (`Value::Null` or `{}` for a create), `new` the object
///   about to be stored; `managed` the entries of the stored object (or of the request,
///   when the client set `metadata.managedFields` itself: that choice is the caller's).
/// - The manager gets (or extends) its Update entry (one per manager, apiVersion and
///   subresource) with every field it added or changed, stamped `now`; those fields leave
///   every other entry, applied or not (no conflicts for updates); removed fields leave
///   every entry; entries left empty are dropped. At most 10 Update entries are kept, the
///   oldest folded into `ancient-changes`.
/// - As in kube-apiserver, an existing object (one with a `metadata.uid`) that has no
///   managedFields is not tracked: the result stays empty.
/// - If the objects cannot be compared (an associative list item without its keys),
///   `managed` is returned unchanged, as kube-apiserver keeps the old entries then.
/// - Status subresource: the caller passes objects as the registry leaves them (for the
///   main resource of a kind with a status subresource, `new.status` = `old.status`;
///   for `/status`, everything but `status` from `old`) and `subresource = "status"` for
///   `/status` requests, which the entry then records.
#[allow(clippy::too_many_arguments)]
pub fn update(
    old: &Value,
    new: &Value,
    manager: &str,
    api_version: &str,
    subresource: &str,
    managed: &[ManagedFieldsEntry],
    types: &dyn ListTypes,
    now: &str,
) -> Vec<ManagedFieldsEntry> {
    let old = without_managed_fields(old);
    let new = without_managed_fields(new);
    let mut managers = Managers::new(managed);
    if managers.is_empty() && has_uid(&old) {
        return managed.to_vec();
    }
    match record_update(
        &mut managers,
        &old,
        &new,
        manager,
        api_version,
        subresource,
        types,
        now,
    ) {
        Ok(()) => {
            managers.cap_update_managers(MAX_UPDATE_MANAGERS);
            managers.into_entries()
        }
        Err(_) => managed.to_vec(),
    }
}

/// The entries an Update starts from, chosen as kube-apiserver chooses them: for a
/// subresource request always the stored object's; otherwise the request's own
/// `metadata.managedFields` when it sets some that decode, none at all when it sets `[]`
/// or `[{}]` (a reset), and the stored object's when it sets none or bad ones.
pub fn managed_fields_for_update(
    live: &Value,
    new: &Value,
    subresource: &str,
) -> Vec<ManagedFieldsEntry> {
    let of = |v: &Value| {
        v.pointer("/metadata/managedFields")
            .cloned()
            .unwrap_or(Value::Null)
    };
    let stored = || decode_managed_fields(&of(live)).unwrap_or_default();
    if !subresource.is_empty() {
        return stored();
    }
    let requested = of(new);
    let is_reset = match &requested {
        Value::Array(items) => {
            items.is_empty()
                || (items.len() == 1 && items[0].as_object().is_some_and(|m| m.is_empty()))
        }
        _ => false,
    };
    if is_reset {
        return Vec::new();
    }
    match decode_managed_fields(&requested) {
        Ok(entries) if !entries.is_empty() => entries,
        _ => stored(),
    }
}
