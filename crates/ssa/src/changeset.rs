//! What an apply or prune did, object by object, in words people read in
//! events and `ferroflux diff`.

use std::fmt;

use crate::object::ObjMeta;

/// What happened to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// It did not exist and was created.
    Created,
    /// It existed and differed, and was updated.
    Configured,
    /// It existed and already matched.
    Unchanged,
    /// It was deleted (pruned).
    Deleted,
    /// It was left alone on purpose (an annotation said so).
    Skipped,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Created => "created",
            Self::Configured => "configured",
            Self::Unchanged => "unchanged",
            Self::Deleted => "deleted",
            Self::Skipped => "skipped",
        })
    }
}

/// One object and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSetEntry {
    /// The object.
    pub object: ObjMeta,
    /// What happened.
    pub action: Action,
}

/// Everything an apply (or prune) did, in the order it was done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// One entry per object.
    pub entries: Vec<ChangeSetEntry>,
}

impl ChangeSet {
    /// Adds an entry.
    pub fn push(&mut self, object: ObjMeta, action: Action) {
        self.entries.push(ChangeSetEntry { object, action });
    }

    /// Appends another change set's entries.
    pub fn extend(&mut self, other: ChangeSet) {
        self.entries.extend(other.entries);
    }

    /// Whether anything was created, configured or deleted.
    pub fn has_changes(&self) -> bool {
        self.entries.iter().any(|e| {
            matches!(
                e.action,
                Action::Created | Action::Configured | Action::Deleted
            )
        })
    }

    /// How many entries have `action`.
    pub fn count(&self, action: Action) -> usize {
        self.entries.iter().filter(|e| e.action == action).count()
    }

    /// The entry for `object`, if any.
    pub fn action_of(&self, object: &ObjMeta) -> Option<Action> {
        self.entries
            .iter()
            .find(|e| e.object.same_object(object))
            .map(|e| e.action)
    }

    /// Only what changed, one `Kind/namespace/name action` per line (the form
    /// Flux puts in its events); empty when nothing changed.
    pub fn changes_summary(&self) -> String {
        self.entries
            .iter()
            .filter(|e| {
                matches!(
                    e.action,
                    Action::Created | Action::Configured | Action::Deleted
                )
            })
            .map(|e| format!("{} {}", e.object, e.action))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Every entry, one `Kind/namespace/name action` per line.
impl fmt::Display for ChangeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.entries.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{} {}", e.object, e.action)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(kind: &str, ns: &str, name: &str) -> ObjMeta {
        ObjMeta {
            group: String::new(),
            kind: kind.into(),
            namespace: ns.into(),
            name: name.into(),
            version: "v1".into(),
        }
    }

    #[test]
    fn summary_lists_only_changes() {
        let mut cs = ChangeSet::default();
        cs.push(m("ConfigMap", "a", "one"), Action::Unchanged);
        assert!(!cs.has_changes());
        assert_eq!(cs.changes_summary(), "");
        cs.push(m("ConfigMap", "a", "two"), Action::Created);
        cs.push(m("Namespace", "", "a"), Action::Configured);
        cs.push(m("Secret", "a", "old"), Action::Deleted);
        cs.push(m("Secret", "a", "kept"), Action::Skipped);
        assert!(cs.has_changes());
        assert_eq!(
            cs.changes_summary(),
            "ConfigMap/a/two created\nNamespace/a configured\nSecret/a/old deleted"
        );
        assert_eq!(cs.to_string().lines().count(), 5);
        assert_eq!(cs.count(Action::Unchanged), 1);
        assert_eq!(
            cs.action_of(&m("Secret", "a", "old")),
            Some(Action::Deleted)
        );
    }
}
