//! The accessors the controller runtime uses, for kinds with required,
//! optional and no intervals.

use ferroflux_api::conditions::FluxObject;
use ferroflux_api::notification::v1beta3::Alert;
use ferroflux_api::source::v1::{GitRepository, HelmRepository};
use std::time::Duration;

#[test]
fn intervals_suspend_and_status_bookkeeping() {
    let mut repo: GitRepository = serde_yaml::from_str(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: a, namespace: b}\nspec: {url: 'https://x/y', interval: 1m30s, suspend: true}\n",
    )
    .unwrap();
    assert_eq!(repo.interval(), Some(Duration::from_secs(90)));
    assert!(repo.suspended());
    assert_eq!(repo.observed_generation(), None);
    repo.set_observed_generation(Some(4));
    repo.set_last_handled_reconcile_at(Some("2026-11-26T05:00:00Z".into()));
    let status = repo.status.as_ref().unwrap();
    assert_eq!(status.observed_generation, Some(4));
    assert_eq!(
        repo.last_handled_reconcile_at(),
        Some("2026-11-26T05:00:00Z")
    );

    let helm: HelmRepository = serde_yaml::from_str(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {name: a}\nspec: {url: 'oci://r/c', type: oci}\n",
    )
    .unwrap();
    assert_eq!(
        helm.interval(),
        None,
        "HelmRepository's interval is optional"
    );
    assert!(!helm.suspended());

    let alert: Alert = serde_yaml::from_str(
        "apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Alert\nmetadata: {name: a}\nspec: {providerRef: {name: slack}, eventSources: [{kind: GitRepository, name: '*'}]}\n",
    )
    .unwrap();
    assert_eq!(alert.interval(), None, "Alerts are not polled");
}
