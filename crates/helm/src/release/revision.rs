//! The record a new revision starts as, built the way Helm v4's install,
//! upgrade and rollback actions build it; the caller then applies the
//! manifest, runs the hooks and sets the final status and description.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::chart::Chart;
use super::serde_go::GoTime;
use super::storage::Record;
use super::types::{Hook, Info, Release, Status};

/// How a revision's manifest is applied (Helm v4's `--server-side`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyMethod {
    /// Client-side apply (three-way merge patches): `csa`.
    ClientSide,
    /// Server-side apply: `ssa` (Helm v4's default for installs).
    ServerSide,
}

impl ApplyMethod {
    /// As stored in `apply_method`.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplyMethod::ClientSide => "csa",
            ApplyMethod::ServerSide => "ssa",
        }
    }

    /// Helm's `auto` for upgrades and rollbacks: server-side only when the
    /// revision it starts from was applied server-side.
    pub fn auto(from: &Release) -> Self {
        if from.apply_method == "ssa" {
            ApplyMethod::ServerSide
        } else {
            ApplyMethod::ClientSide
        }
    }
}

/// What rendering a chart produced, for a new revision.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rendered {
    /// The chart as stored in the record.
    pub chart: Chart,
    /// The user-supplied values.
    pub config: Map<String, Value>,
    /// The manifest, hooks excluded.
    pub manifest: String,
    /// The hooks.
    pub hooks: Vec<Hook>,
    /// Rendered `NOTES.txt` (empty when the chart has none).
    pub notes: String,
}

/// Revision 1 of `name` as Helm's install creates it: status `unknown`
/// until the install moves it on, first and last deployed `now`.
pub fn install(
    name: &str,
    namespace: &str,
    rendered: Rendered,
    labels: BTreeMap<String, String>,
    apply: ApplyMethod,
    now: GoTime,
) -> Record {
    let release = Release {
        name: name.to_owned(),
        namespace: namespace.to_owned(),
        chart: Some(rendered.chart),
        config: rendered.config,
        info: Some(Info {
            first_deployed: Some(now.clone()),
            last_deployed: Some(now),
            status: Some(Status::Unknown),
            notes: rendered.notes,
            ..Info::default()
        }),
        version: 1,
        manifest: rendered.manifest,
        hooks: rendered.hooks,
        apply_method: apply.as_str().to_owned(),
        ..Release::default()
    };
    Record { release, labels }
}

/// The next revision as Helm's upgrade creates it: numbered after `last`
/// (the highest revision, whatever its status), in `current`'s namespace
/// (the deployed revision, else `last`) with its first-deployed time,
/// `pending-upgrade` "Preparing upgrade", and `last`'s own labels merged
/// with `labels` (a value `"null"` removes a label, as in Helm).
pub fn upgrade(
    last: &Record,
    current: &Release,
    rendered: Rendered,
    labels: &BTreeMap<String, String>,
    apply: ApplyMethod,
    now: GoTime,
) -> Record {
    let mut merged = last.custom_labels();
    merged.extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    merged.retain(|_, v| v != "null");
    let release = Release {
        name: last.release.name.clone(),
        namespace: current.namespace.clone(),
        chart: Some(rendered.chart),
        config: rendered.config,
        info: Some(Info {
            first_deployed: current.info.as_ref().and_then(|i| i.first_deployed.clone()),
            last_deployed: Some(now),
            status: Some(Status::PendingUpgrade),
            description: "Preparing upgrade".to_owned(),
            notes: rendered.notes,
            ..Info::default()
        }),
        version: last.release.version + 1,
        manifest: rendered.manifest,
        hooks: rendered.hooks,
        apply_method: apply.as_str().to_owned(),
        ..Release::default()
    };
    Record {
        release,
        labels: merged,
    }
}

/// The revision Helm's rollback creates from `current` (the highest
/// revision) back to `target`: `target`'s chart, values, manifest, hooks,
/// notes and labels, `current`'s namespace and first-deployed time,
/// `pending-rollback` "Rollback to N", numbered after `current`.
pub fn rollback(current: &Release, target: &Record, apply: ApplyMethod, now: GoTime) -> Record {
    let previous = &target.release;
    let release = Release {
        name: current.name.clone(),
        namespace: current.namespace.clone(),
        chart: previous.chart.clone(),
        config: previous.config.clone(),
        info: Some(Info {
            first_deployed: current.info.as_ref().and_then(|i| i.first_deployed.clone()),
            last_deployed: Some(now),
            status: Some(Status::PendingRollback),
            notes: previous
                .info
                .as_ref()
                .map(|i| i.notes.clone())
                .unwrap_or_default(),
            description: format!("Rollback to {}", previous.version),
            ..Info::default()
        }),
        version: current.version + 1,
        manifest: previous.manifest.clone(),
        hooks: previous.hooks.clone(),
        apply_method: apply.as_str().to_owned(),
        ..Release::default()
    };
    Record {
        release,
        labels: target.custom_labels(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upgrade_merges_labels_and_numbers_after_the_last() {
        let mut last = Record::new(Release {
            name: "web".into(),
            namespace: "apps".into(),
            version: 4,
            info: Some(Info {
                first_deployed: Some(GoTime::from_unix(10, 0)),
                status: Some(Status::Failed),
                ..Info::default()
            }),
            apply_method: "ssa".into(),
            ..Release::default()
        });
        last.labels = BTreeMap::from([
            ("team".into(), "a".into()),
            ("gone".into(), "x".into()),
            ("status".into(), "failed".into()),
        ]);
        let wanted = BTreeMap::from([
            ("gone".to_owned(), "null".to_owned()),
            ("tier".to_owned(), "1".to_owned()),
        ]);
        let next = upgrade(
            &last,
            &last.release,
            Rendered::default(),
            &wanted,
            ApplyMethod::auto(&last.release),
            GoTime::from_unix(20, 0),
        );
        assert_eq!(next.release.version, 5);
        assert_eq!(next.release.apply_method, "ssa");
        assert_eq!(next.release.status(), Some(&Status::PendingUpgrade));
        let info = next.release.info.as_ref().unwrap();
        assert_eq!(info.first_deployed, Some(GoTime::from_unix(10, 0)));
        assert_eq!(info.last_deployed, Some(GoTime::from_unix(20, 0)));
        assert_eq!(
            next.labels,
            BTreeMap::from([
                ("team".to_owned(), "a".to_owned()),
                ("tier".to_owned(), "1".to_owned())
            ])
        );
        let back = rollback(
            &next.release,
            &last,
            ApplyMethod::ClientSide,
            GoTime::from_unix(30, 0),
        );
        assert_eq!(back.release.version, 6);
        assert_eq!(
            back.release.info.as_ref().unwrap().description,
            "Rollback to 4"
        );
        assert_eq!(back.release.apply_method, "csa");
    }
}
