//! The state of a release, from the release storage compared with what the
//! HelmRelease last recorded and now asks for (Flux's release states), and
//! the action each state calls for.

use ferroflux_api::helm::v2::{HelmRelease, ReleaseAction, Snapshot};
use ferroflux_helm::release::{History, Record, Status};

use crate::chart::LoadedChart;
use crate::snapshot;

/// How the release stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Not in storage (or uninstalled): install.
    Absent(String),
    /// In storage but not as this object recorded it (made or changed by
    /// someone else): upgrade, taking it over.
    Unmanaged(String),
    /// Left `pending-*` by an action that never finished: unlock.
    Locked(String),
    /// Deployed, but the chart or values differ from the spec: upgrade.
    OutOfSync(String),
    /// Deployed and current, but tests have not run: test.
    Untested,
    /// The latest revision failed (or its tests did): remediate or retry.
    Failed(String),
    /// Deployed and current.
    InSync,
}

/// The latest snapshot of `hr`'s history.
pub fn latest(hr: &HelmRelease) -> Option<&Snapshot> {
    hr.status.as_ref().and_then(|s| s.latest_snapshot())
}

/// Whether tests ran for the latest snapshot.
fn tested(s: &Snapshot) -> bool {
    s.test_hooks.is_some()
}

/// Determines the state. `values_digest` is the digest of the composed
/// values; `chart` the chart to release.
pub fn determine(
    hr: &HelmRelease,
    history: &History,
    chart: &LoadedChart,
    values_digest: &str,
    digests_changed: bool,
) -> State {
    let Some(last) = history.latest() else {
        return State::Absent("no release in storage for object".into());
    };
    let status = last.release.status().cloned().unwrap_or(Status::Unknown);
    if status.is_pending() {
        return State::Locked(format!("release with status '{}'", status.as_str()));
    }
    let Some(cur) = latest(hr) else {
        if status == Status::Uninstalled {
            return State::Absent("found uninstalled release in storage".into());
        }
        return State::Unmanaged("found existing release in storage".into());
    };
    if let Some(why) = not_observed(cur, last) {
        return State::Unmanaged(why);
    }
    match status {
        Status::Failed => State::Failed(String::new()),
        Status::Uninstalled => State::Absent("found uninstalled release in storage".into()),
        Status::Deployed => {
            let name = last.release.chart_name().unwrap_or_default();
            let version = last.release.chart_version().unwrap_or_default();
            if name != chart.chart.metadata.name || version != chart.chart.metadata.version {
                return State::OutOfSync("release chart differs from the desired chart".into());
            }
            if crate::values::digest(&last.release.config) != values_digest {
                return State::OutOfSync("release config values changed".into());
            }
            if digests_changed {
                return State::OutOfSync("post-renderers or common metadata changed".into());
            }
            let test = hr.test();
            if test.enable {
                if !tested(cur) {
                    return State::Untested;
                }
                let ignore = active_remediation_ignores_tests(hr, test.ignore_failures);
                if !ignore && cur.has_test_in_phase("Failed") {
                    return State::Failed("release has test in failed phase".into());
                }
            }
            State::InSync
        }
        other => State::Unmanaged(format!(
            "release in storage has unexpected status '{}'",
            other.as_str()
        )),
    }
}

/// Why the latest record is not the revision this object recorded last.
fn not_observed(cur: &Snapshot, last: &Record) -> Option<String> {
    let r = &last.release;
    if cur.name != r.name || cur.namespace != r.namespace || cur.version != r.version {
        return Some(format!(
            "release {} is not the one last observed ({})",
            snapshot::full_name(last),
            format_args!("{}/{}.v{}", cur.namespace, cur.name, cur.version)
        ));
    }
    if cur.digest != snapshot::observation_digest(last) {
        return Some("release digest differs from the last observation".into());
    }
    None
}

fn active_remediation_ignores_tests(hr: &HelmRelease, default: bool) -> bool {
    match hr.last_attempted_release_action() {
        Some(ReleaseAction::Install) => hr
            .install()
            .remediation()
            .must_ignore_test_failures(default),
        Some(ReleaseAction::Upgrade) => hr
            .upgrade()
            .remediation()
            .must_ignore_test_failures(default),
        _ => default,
    }
}

/// The failures counted against the action last attempted.
pub fn failure_count(hr: &HelmRelease) -> i64 {
    let s = hr.status.clone().unwrap_or_default();
    match hr.last_attempted_release_action() {
        Some(ReleaseAction::Install) => s.install_failures,
        Some(ReleaseAction::Upgrade) => s.upgrade_failures,
        _ => 0,
    }
}

/// Whether the remediation of the last attempted action has run out of retries.
pub fn retries_exhausted(hr: &HelmRelease) -> bool {
    let count = failure_count(hr);
    match hr.last_attempted_release_action() {
        Some(ReleaseAction::Install) => hr.install().remediation().retries_exhausted(count),
        Some(ReleaseAction::Upgrade) => hr.upgrade().remediation().retries_exhausted(count),
        _ => false,
    }
}

/// The retry interval when the last attempted action's strategy is
/// `RetryOnFailure` (or `default_retry` says so for releases naming none).
pub fn active_retry(hr: &HelmRelease) -> Option<std::time::Duration> {
    use ferroflux_api::helm::v2::ActionStrategyName;
    match hr.last_attempted_release_action() {
        Some(ReleaseAction::Install) => hr
            .install()
            .strategy
            .filter(|s| s.name == ActionStrategyName::RetryOnFailure)
            .map(|s| s.retry_interval()),
        Some(ReleaseAction::Upgrade) => hr
            .upgrade()
            .strategy
            .filter(|s| s.name == ActionStrategyName::RetryOnFailure)
            .map(|s| s.retry_interval()),
        _ => None,
    }
}
