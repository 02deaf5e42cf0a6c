//! `source.toolkit.fluxcd.io`: where artifacts come from.

pub mod v1;
pub mod v1beta2;

/// The API group of every source kind.
pub const GROUP: &str = "source.toolkit.fluxcd.io";

pub(crate) fn crd_definitions() -> Vec<crate::crds::KindDefinition> {
    use kube::CustomResourceExt;
    let kind = |versions| crate::crds::KindDefinition {
        versions,
        storage: "v1",
        status_observed_generation_default: true,
    };
    vec![
        kind(vec![
            v1::GitRepository::crd(),
            v1beta2::GitRepository::crd(),
        ]),
        kind(vec![v1::HelmRepository::crd()]),
        kind(vec![v1::HelmChart::crd()]),
        kind(vec![v1::Bucket::crd()]),
        kind(vec![v1::OCIRepository::crd()]),
    ]
}
