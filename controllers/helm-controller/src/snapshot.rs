//! What `status.history` records of each release revision (Flux's
//! snapshots): enough to tell later whether the release in storage is still
//! the one this controller made, and what it was made of.

use std::collections::BTreeMap;

use ferroflux_api::helm::v2::{ReleaseAction, Snapshot, TestHookStatus};
use ferroflux_helm::release::{GoTime, Record};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::json;

use crate::hooks::HookResult;
use crate::values;

/// The snapshot format version.
pub const SNAPSHOT_API_VERSION: &str = "v2";
/// Snapshots kept in `status.history`.
pub const MAX_SNAPSHOTS: usize = 5;

fn time(t: Option<&GoTime>) -> Time {
    let ts = t
        .and_then(|t| t.as_str().parse::<Timestamp>().ok())
        .unwrap_or(Timestamp::UNIX_EPOCH);
    Time(ts)
}

/// `sha256:<hex>` over what identifies a revision's content and state: a
/// record changed by another client (a new status, another manifest or
/// values) no longer matches its snapshot.
pub fn observation_digest(record: &Record) -> String {
    let r = &record.release;
    let info = r.info.clone().unwrap_or_default();
    let hooks: Vec<_> = r
        .hooks
        .iter()
        .filter(|h| !h.events.iter().any(|e| e == "test"))
        .map(|h| json!([h.name, h.kind, h.path, h.manifest, h.events]))
        .collect();
    let observed = json!({
        "name": r.name,
        "namespace": r.namespace,
        "version": r.version,
        "status": info.status.as_ref().map(|s| s.as_str().to_string()),
        "firstDeployed": info.first_deployed.as_ref().map(|t| t.as_str().to_string()),
        "lastDeployed": info.last_deployed.as_ref().map(|t| t.as_str().to_string()),
        "chart": r.chart_name(),
        "chartVersion": r.chart_version(),
        "config": values::canonical(&serde_json::Value::Object(r.config.clone())),
        "manifest": r.manifest,
        "hooks": hooks,
    });
    values::digest_value(&observed)
}

/// The snapshot of `record`, made by `action`.
pub fn of(record: &Record, action: Option<ReleaseAction>, oci_digest: Option<&str>) -> Snapshot {
    let r = &record.release;
    let info = r.info.clone().unwrap_or_default();
    let meta = r.chart.as_ref().and_then(|c| c.metadata.as_ref());
    Snapshot {
        api_version: Some(SNAPSHOT_API_VERSION.into()),
        digest: observation_digest(record),
        name: r.name.clone(),
        namespace: r.namespace.clone(),
        version: r.version,
        status: info
            .status
            .as_ref()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        action,
        chart_name: meta.map(|m| m.name.clone()).unwrap_or_default(),
        chart_version: meta.map(|m| m.version.clone()).unwrap_or_default(),
        app_version: meta
            .map(|m| m.app_version.clone())
            .filter(|v| !v.is_empty()),
        config_digest: values::digest(&r.config),
        first_deployed: time(info.first_deployed.as_ref()),
        last_deployed: time(info.last_deployed.as_ref()),
        deleted: info
            .deleted
            .as_ref()
            .filter(|d| !d.is_zero())
            .map(|d| time(Some(d))),
        test_hooks: None,
        oci_digest: oci_digest.map(String::from),
    }
}

/// Records `snap` as the newest entry of `history` (replacing the entry of
/// the same revision, keeping its test results unless `snap` has some),
/// keeping [`MAX_SNAPSHOTS`].
pub fn record(history: &mut Vec<Snapshot>, mut snap: Snapshot) {
    if let Some(pos) = history.iter().position(|s| {
        s.name == snap.name && s.namespace == snap.namespace && s.version == snap.version
    }) {
        let old = history.remove(pos);
        if snap.test_hooks.is_none() {
            snap.test_hooks = old.test_hooks;
        }
        if snap.action.is_none() {
            snap.action = old.action;
        }
        if snap.oci_digest.is_none() {
            snap.oci_digest = old.oci_digest;
        }
    }
    history.insert(0, snap);
    history.sort_by_key(|s| std::cmp::Reverse(s.version));
    history.truncate(MAX_SNAPSHOTS);
}

/// The test results of a test run, as a snapshot records them.
pub fn test_hooks(record: &Record, results: &[HookResult]) -> BTreeMap<String, TestHookStatus> {
    let mut out = BTreeMap::new();
    for h in &record.release.hooks {
        if !h.events.iter().any(|e| e == "test") || !results.iter().any(|r| r.name == h.name) {
            continue;
        }
        out.insert(
            h.name.clone(),
            TestHookStatus {
                last_started: h.last_run.started_at.as_ref().map(|t| time(Some(t))),
                last_completed: h.last_run.completed_at.as_ref().map(|t| time(Some(t))),
                phase: Some(h.last_run.phase.clone()).filter(|p| !p.is_empty()),
            },
        );
    }
    out
}

/// `namespace/name.vN`, as Flux names a revision in messages.
pub fn full_name(record: &Record) -> String {
    format!(
        "{}/{}.v{}",
        record.release.namespace, record.release.name, record.release.version
    )
}

/// `chart@version` of a record.
pub fn chart_of(record: &Record) -> String {
    format!(
        "{}@{}",
        record.release.chart_name().unwrap_or_default(),
        record.release.chart_version().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferroflux_helm::release::{Info, Release, Status};

    fn rec(version: i64, status: Status) -> Record {
        Record::new(Release {
            name: "web".into(),
            namespace: "apps".into(),
            version,
            info: Some(Info {
                status: Some(status),
                first_deployed: Some(GoTime::from_unix(1_700_000_000, 0)),
                ..Info::default()
            }),
            ..Release::default()
        })
    }

    #[test]
    fn a_changed_status_changes_the_digest() {
        let a = rec(1, Status::Deployed);
        let b = rec(1, Status::Failed);
        assert_ne!(observation_digest(&a), observation_digest(&b));
        assert_eq!(observation_digest(&a), observation_digest(&a.clone()));
        let s = of(&a, Some(ReleaseAction::Install), None);
        assert_eq!(s.status, "deployed");
        assert_eq!(s.first_deployed.0.as_second(), 1_700_000_000);
    }

    #[test]
    fn history_keeps_the_newest_first_and_is_bounded() {
        let mut h = Vec::new();
        for v in 1..=7 {
            record(&mut h, of(&rec(v, Status::Deployed), None, None));
        }
        assert_eq!(h.len(), MAX_SNAPSHOTS);
        assert_eq!(h[0].version, 7);
        record(
            &mut h,
            of(
                &rec(7, Status::Superseded),
                Some(ReleaseAction::Upgrade),
                None,
            ),
        );
        assert_eq!(h.len(), MAX_SNAPSHOTS);
        assert_eq!(h[0].status, "superseded");
    }
}
