//! The inventory: which objects a Kustomization applied, in Flux's format
//! (`status.inventory.entries[].{id,v}`), and what left it between revisions.

use ferroflux_api::kustomize::common::{ResourceInventory, ResourceRef};

use crate::changeset::{Action, ChangeSet};
use crate::object::ObjMeta;

/// The objects of an applied set, in apply order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// The objects.
    pub objects: Vec<ObjMeta>,
}

impl Inventory {
    /// The objects a change set applied (skipped ones included: they belong to
    /// the set even though they were not written; deleted ones excluded).
    pub fn from_change_set(cs: &ChangeSet) -> Self {
        let mut objects: Vec<ObjMeta> = Vec::new();
        for e in &cs.entries {
            if e.action != Action::Deleted && !objects.iter().any(|o| o.same_object(&e.object)) {
                objects.push(e.object.clone());
            }
        }
        Self { objects }
    }

    /// Reads a status inventory; entries that do not parse are dropped (and
    /// so never pruned), since guessing what they name could delete the
    /// wrong object.
    pub fn from_status(inv: Option<&ResourceInventory>) -> Self {
        let objects = inv
            .map(|inv| {
                inv.entries
                    .iter()
                    .filter_map(|e| ObjMeta::from_id(&e.id, &e.version))
                    .collect()
            })
            .unwrap_or_default();
        Self { objects }
    }

    /// The status form.
    pub fn to_status(&self) -> ResourceInventory {
        ResourceInventory {
            entries: self
                .objects
                .iter()
                .map(|o| ResourceRef {
                    id: o.id(),
                    version: o.version.clone(),
                })
                .collect(),
        }
    }

    /// Objects in `self` (the old inventory) that are not in `new`.
    pub fn stale(&self, new: &Inventory) -> Vec<ObjMeta> {
        self.objects
            .iter()
            .filter(|o| !new.objects.iter().any(|n| n.same_object(o)))
            .cloned()
            .collect()
    }

    /// Whether the inventory names no object.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(group: &str, kind: &str, ns: &str, name: &str, v: &str) -> ObjMeta {
        ObjMeta {
            group: group.into(),
            kind: kind.into(),
            namespace: ns.into(),
            name: name.into(),
            version: v.into(),
        }
    }

    #[test]
    fn status_round_trip_in_flux_format() {
        let mut cs = ChangeSet::default();
        cs.push(m("", "Namespace", "", "a", "v1"), Action::Created);
        cs.push(m("apps", "Deployment", "a", "web", "v1"), Action::Unchanged);
        cs.push(m("", "ConfigMap", "a", "kept", "v1"), Action::Skipped);
        cs.push(m("", "ConfigMap", "a", "gone", "v1"), Action::Deleted);
        let inv = Inventory::from_change_set(&cs);
        let status = inv.to_status();
        let json = serde_json::to_value(&status).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"entries": [
                {"id": "_a__Namespace", "v": "v1"},
                {"id": "a_web_apps_Deployment", "v": "v1"},
                {"id": "a_kept__ConfigMap", "v": "v1"},
            ]})
        );
        assert_eq!(Inventory::from_status(Some(&status)), inv);
    }

    #[test]
    fn stale_ignores_version_changes() {
        let old = Inventory {
            objects: vec![
                m(
                    "autoscaling",
                    "HorizontalPodAutoscaler",
                    "a",
                    "h",
                    "v2beta2",
                ),
                m("", "ConfigMap", "a", "gone", "v1"),
            ],
        };
        let new = Inventory {
            objects: vec![m("autoscaling", "HorizontalPodAutoscaler", "a", "h", "v2")],
        };
        assert_eq!(old.stale(&new), vec![m("", "ConfigMap", "a", "gone", "v1")]);
        assert!(new.stale(&old).is_empty());
    }

    #[test]
    fn unparsable_entries_are_dropped() {
        let status = ResourceInventory {
            entries: vec![
                ResourceRef {
                    id: "garbage".into(),
                    version: "v1".into(),
                },
                ResourceRef {
                    id: "a_x__ConfigMap".into(),
                    version: "v1".into(),
                },
            ],
        };
        let inv = Inventory::from_status(Some(&status));
        assert_eq!(inv.objects, vec![m("", "ConfigMap", "a", "x", "v1")]);
    }
}
