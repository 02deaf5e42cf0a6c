//! Server-side apply: merge, prune what the applier stopped applying, find conflicts,
//! move ownership.

use serde_json::{Map, Value};

use super::FieldsError;
use super::compare::compare;
use super::conflict::{Conflict, Conflicts};
use super::list_types::ListTypes;
use super::managed::{ManagedFieldsEntry, Managers, Operation, identifier, set_managed_fields};
use super::merge::merge;
use super::path::{path_string, values_equal};
use super::set::FieldSet;
use super::update::{record_update, stripped_fields, without_managed_fields};
use super::walk::{ensure_named_fields_are_members, remove_items, to_field_set, validate};

/// Why an apply was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    /// Another manager owns fields the apply would change (HTTP 409, see
    /// [`Conflicts::message`]).
    #[error("{0}")]
    Conflicts(Conflicts),
    /// The applied configuration is not valid for the type: duplicate or key-less items
    /// of keyed lists, `metadata.managedFields` set, not an object (HTTP 400/422).
    #[error(transparent)]
    Invalid(#[from] FieldsError),
}

impl From<Conflicts> for ApplyError {
    fn from(c: Conflicts) -> Self {
        ApplyError::Conflicts(c)
    }
}

impl ApplyError {
    /// The conflicts, if that is why.
    pub fn conflicts(&self) -> Option<&Conflicts> {
        match self {
            ApplyError::Conflicts(c) => Some(c),
            ApplyError::Invalid(_) => None,
        }
    }
}

/// Name kube-apiserver gives the Update entry that takes over an object's fields when
/// it is first applied to without managedFields.
const BEFORE_FIRST_APPLY: &str = "before-first-apply";

/// Server-side apply of `applied` by `manager` (kube-apiserver's field manager `Apply`).
///
/// - `live` is the stored object, `None` to create. `managed` its entries (decoded
///   `metadata.managedFields`).
/// - Returns the object to store, with `metadata.managedFields` set to the returned
///   entries, and the entries (kube-apiserver's order). When nothing in the object
///   changed the returned object is `live` (only managedFields may differ) and the
///   applier's time is not touched.
/// - `applied`'s fields (leaves, atomic lists/maps, keyed/set list items, empty maps and
///   nulls) become the manager's Apply entry, minus apiVersion, kind, metadata.name,
///   namespace, uid, resourceVersion, generation, creationTimestamp, managedFields.
/// - Fields the apply changes (or adds) that another manager owns are conflicts unless
///   `force`; with `force` they move to the applier. Fields applied with the value they
///   already have are shared.
/// - Fields the manager applied last time and not now are removed unless another
///   manager owns them; structs left without fields go with them.
/// - An object with no managedFields first gets a `before-first-apply` Update entry for
///   everything it holds, as in kube-apiserver.
///
/// The caller handles what the registry does around it: the status subresource (for the
/// main resource of a kind with one, pass `applied` without `status`; for `/status`,
/// pass `subresource = "status"` and an `applied` with only apiVersion, kind, metadata
/// identity and `status`), and restoring server-set metadata (uid, creationTimestamp,
/// resourceVersion, generation) on the result.
#[allow(clippy::too_many_arguments)]
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    api_version: &str,
    subresource: &str,
    force: bool,
    managed: &[ManagedFieldsEntry],
    types: &dyn ListTypes,
    now: &str,
) -> Result<(Value, Vec<ManagedFieldsEntry>), ApplyError> {
    if !applied.is_object() {
        return Err(FieldsError::Invalid("applied configuration must be an object".into()).into());
    }
    if applied
        .pointer("/metadata/managedFields")
        .is_some_and(|v| !v.is_null())
    {
        return Err(FieldsError::Invalid("metadata.managedFields must be nil".into()).into());
    }
    let applied = without_managed_fields(applied);
    validate(&applied, types)?;
    let live = match live {
        Some(v) => without_managed_fields(v),
        None => Value::Object(Map::new()),
    };

    let mut managers = Managers::new(managed);
    if managers.is_empty() {
        record_update(
            &mut managers,
            &Value::Object(Map::new()),
            &live,
            BEFORE_FIRST_APPLY,
            api_version,
            subresource,
            types,
            now,
        )?;
    }

    let manager = if manager.is_empty() {
        "unknown"
    } else {
        manager
    };
    let id = identifier(manager, Operation::Apply, api_version, subresource);
    let merged = merge(Some(&live), Some(&applied), types)?.unwrap_or(Value::Null);
    let last = managers.map.get(&id).map(|e| e.fields.clone());
    let previous_time = managers.map.get(&id).map(|e| e.time.clone());
    managers.map.insert(
        id.clone(),
        ManagedFieldsEntry {
            manager: manager.to_string(),
            operation: Operation::Apply,
            api_version: api_version.to_string(),
            time: previous_time.unwrap_or_default(),
            subresource: subresource.to_string(),
            fields: to_field_set(&applied, types),
        },
    );
    let result = match &last {
        Some(last) if !last.is_empty() => prune(&merged, &managers, last, types),
        _ => merged,
    };

    let cmp = compare(&live, &result, types)?;
    let changed = cmp.changed();
    let mut conflicts = Vec::new();
    let mut taken: Vec<(String, FieldSet)> = Vec::new();
    for (other_id, entry) in &managers.map {
        if *other_id == id {
            continue;
        }
        let owned_and_changed = entry.fields.intersection(&changed);
        if owned_and_changed.is_empty() {
            continue;
        }
        for p in owned_and_changed.paths() {
            conflicts.push((
                other_id.clone(),
                Conflict {
                    manager: entry.manager.clone(),
                    operation: entry.operation,
                    api_version: entry.api_version.clone(),
                    subresource: entry.subresource.clone(),
                    path: path_string(&p),
                },
            ));
        }
        taken.push((other_id.clone(), owned_and_changed));
    }
    if !force && !conflicts.is_empty() {
        conflicts.sort_by(|a, b| a.0.cmp(&b.0));
        return Err(Conflicts(conflicts.into_iter().map(|(_, c)| c).collect()).into());
    }
    for (other_id, set) in taken {
        if let Some(e) = managers.map.get_mut(&other_id) {
            e.fields = e.fields.difference(&set);
        }
    }
    for (other_id, entry) in managers.map.iter_mut() {
        if *other_id != id {
            entry.fields = entry.fields.difference(&cmp.removed);
        }
    }
    if let Some(mine) = managers.map.get_mut(&id) {
        mine.fields = mine.fields.difference(&stripped_fields());
    }
    managers.drop_empty();

    let object_changed = !values_equal(&live, &result);
    if object_changed && let Some(mine) = managers.map.get_mut(&id) {
        mine.time = now.to_string();
    }
    let mut object = if object_changed { result } else { live };
    let entries = managers.into_entries();
    set_managed_fields(&mut object, &entries);
    Ok((object, entries))
}

/// Removes from `merged` what the applier applied last time (`last`) and no manager
/// (the applier's new configuration included) owns now, the way structured-merge-diff
/// prunes: named structs emptied by it go too; nothing outside `last` is touched.
fn prune(merged: &Value, managers: &Managers, last: &FieldSet, types: &dyn ListTypes) -> Value {
    let ensure = |s: &FieldSet| ensure_named_fields_are_members(s, types);
    let last = ensure(last);
    let pruned = remove_items(merged, &last, types);

    // Add back what someone owns (or what was never in the way).
    let merged_set = ensure(&to_field_set(merged, types));
    let pruned_set = ensure(&to_field_set(&pruned, types));
    let owned = managers
        .map
        .values()
        .fold(FieldSet::new(), |acc, e| acc.union(&e.fields));
    let owned = ensure(&owned);
    let pruned = remove_items(
        merged,
        &merged_set.difference(&pruned_set.union(&owned)),
        types,
    );

    // Only remove what the applier itself applied last time.
    let pruned_set = ensure(&to_field_set(&pruned, types));
    match remove_items(
        merged,
        &merged_set.difference(&pruned_set).intersection(&last),
        types,
    ) {
        // structured-merge-diff would hand back null for an emptied root.
        Value::Null if merged.is_object() => Value::Object(Map::new()),
        v => v,
    }
}
