//! A release's revisions as Helm's storage sees them: the objects labelled
//! `name=<release>,owner=helm`, ordered by revision, with the latest, the
//! deployed one, the next revision number and what a history limit prunes.

use serde_json::Value;

use super::codec::Limits;
use super::storage::{Driver, OWNER, Record, StorageError};
use super::types::Status;

/// An object that carried the release's labels but could not be read. Helm
/// skips these silently; a controller should say so.
#[derive(Debug)]
pub struct Skipped {
    /// The object's name.
    pub object: String,
    /// Why.
    pub error: StorageError,
}

/// The revisions of one release, oldest first.
#[derive(Debug, Default)]
pub struct History {
    records: Vec<Record>,
    skipped: Vec<Skipped>,
}

impl History {
    /// The history of `release` among `objects` (for example a list of the
    /// namespace's Secrets with [`super::storage::history_selector`]): those
    /// labelled `name=<release>` and `owner=helm`, decoded within `limits`.
    /// Objects that fail to decode are set aside in [`History::skipped`].
    pub fn from_objects<'a>(
        release: &str,
        driver: Driver,
        objects: impl IntoIterator<Item = &'a Value>,
        limits: Limits,
    ) -> Self {
        let mut history = History::default();
        for object in objects {
            let label = |k: &str| {
                object
                    .pointer(&format!("/metadata/labels/{k}"))
                    .and_then(Value::as_str)
            };
            if label("name") != Some(release) || label("owner") != Some(OWNER) {
                continue;
            }
            match Record::from_object(driver, object, limits) {
                Ok(record) => history.records.push(record),
                Err(error) => history.skipped.push(Skipped {
                    object: object
                        .pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned(),
                    error,
                }),
            }
        }
        history.sort();
        history
    }

    /// A history of already decoded records.
    pub fn from_records(records: Vec<Record>) -> Self {
        let mut history = History {
            records,
            skipped: Vec::new(),
        };
        history.sort();
        history
    }

    fn sort(&mut self) {
        self.records.sort_by_key(|r| r.release.version);
    }

    /// The revisions, oldest first.
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Objects that looked like records of this release but did not decode.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// Whether there are no readable revisions.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The revision numbered `version`.
    pub fn get(&self, version: i64) -> Option<&Record> {
        self.records
            .iter()
            .rev()
            .find(|r| r.release.version == version)
    }

    /// The highest revision, whatever its status (Helm's `Last`).
    pub fn latest(&self) -> Option<&Record> {
        self.records.last()
    }

    /// The highest revision listed as deployed (Helm's `Deployed`).
    pub fn deployed(&self) -> Option<&Record> {
        self.deployed_all().last().copied()
    }

    /// Every revision listed as deployed, oldest first. More than one means
    /// an interrupted upgrade; Helm's rollback supersedes them all.
    pub fn deployed_all(&self) -> Vec<&Record> {
        self.records
            .iter()
            .filter(|r| r.listed_status() == Some(Status::Deployed))
            .collect()
    }

    /// The revision the next install, upgrade or rollback gets: one past the
    /// highest, 1 for a new release.
    pub fn next_revision(&self) -> i64 {
        self.latest().map_or(1, |r| r.release.version + 1)
    }

    /// The revisions Helm's `removeLeastRecent(name, maximum)` deletes so
    /// that at most `maximum` remain: the oldest first, never the deployed
    /// one. Helm calls it with `max_history - 1` before creating a revision.
    pub fn versions_to_prune(&self, maximum: usize) -> Vec<i64> {
        if self.records.len() <= maximum {
            return Vec::new();
        }
        let deployed = self.deployed().map(|r| r.release.version);
        let mut prune = Vec::new();
        for r in &self.records {
            if self.records.len() - prune.len() == maximum {
                break;
            }
            if Some(r.release.version) != deployed {
                prune.push(r.release.version);
            }
        }
        prune
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::storage::Stamp;
    use crate::release::types::{Info, Release};
    use serde_json::json;

    fn object(name: &str, version: i64, status: Status) -> Value {
        let release = Release {
            name: name.into(),
            version,
            info: Some(Info {
                status: Some(status),
                ..Info::default()
            }),
            ..Release::default()
        };
        Record::new(release)
            .to_object(Driver::Secret, Stamp::Modified(1))
            .unwrap()
    }

    #[test]
    fn history_is_sorted_filtered_and_queried_like_helms_storage() {
        let mut foreign = object("web", 9, Status::Deployed);
        foreign["metadata"]["labels"]["owner"] = json!("someone-else");
        let mut broken = object("web", 6, Status::Failed);
        broken["data"]["release"] = json!("!!");
        let objects = [
            object("web", 3, Status::Deployed),
            object("web", 1, Status::Superseded),
            object("other", 7, Status::Deployed),
            foreign,
            broken,
            object("web", 5, Status::Failed),
            object("web", 2, Status::Superseded),
            object("web", 4, Status::Superseded),
        ];
        let h = History::from_objects("web", Driver::Secret, &objects, Limits::default());
        let versions: Vec<i64> = h.records().iter().map(|r| r.release.version).collect();
        assert_eq!(versions, [1, 2, 3, 4, 5]);
        assert_eq!(h.skipped().len(), 1);
        assert_eq!(h.skipped()[0].object, "sh.helm.release.v1.web.v6");
        assert_eq!(h.latest().unwrap().release.version, 5);
        assert_eq!(h.deployed().unwrap().release.version, 3);
        assert_eq!(h.get(2).unwrap().release.version, 2);
        assert!(h.get(6).is_none());
        assert_eq!(h.next_revision(), 6);
        // Oldest first, skipping the deployed one.
        assert_eq!(h.versions_to_prune(2), [1, 2, 4]);
        assert_eq!(h.versions_to_prune(4), [1]);
        assert!(h.versions_to_prune(5).is_empty());
        assert!(h.versions_to_prune(9).is_empty());
        let h = History::from_objects("none", Driver::Secret, &objects, Limits::default());
        assert!(h.is_empty());
        assert_eq!(h.next_revision(), 1);
        assert!(h.deployed().is_none());
    }

    #[test]
    fn supersede_changes_the_listed_status() {
        let h = History::from_objects(
            "web",
            Driver::Secret,
            &[object("web", 1, Status::Deployed)],
            Limits::default(),
        );
        let mut previous = h.latest().unwrap().clone();
        previous.release.supersede();
        let obj = previous
            .to_object(Driver::Secret, Stamp::Modified(2))
            .unwrap();
        assert_eq!(obj["metadata"]["labels"]["status"], "superseded");
        let h = History::from_objects("web", Driver::Secret, &[obj], Limits::default());
        assert!(h.deployed().is_none());
        assert_eq!(
            h.latest().unwrap().release.status(),
            Some(&Status::Superseded)
        );
    }
}
