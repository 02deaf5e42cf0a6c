//! `source.toolkit.fluxcd.io`: where artifacts come from. Every kind
//! implements [`Source`] (artifact, revision, readiness); [`SOURCE_KINDS`]
//! says how each is reached through the API.

pub mod contract;
pub mod kinds;
pub mod v1;
pub mod v1beta1;
pub mod v1beta2;

pub use contract::{AnySource, Source};
pub use kinds::{SOURCE_KINDS, SourceKindInfo, source_kind};

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
            v1beta1::GitRepository::crd(),
        ]),
        kind(vec![
            v1::HelmRepository::crd(),
            v1beta2::HelmRepository::crd(),
            v1beta1::HelmRepository::crd(),
        ]),
        kind(vec![
            v1::HelmChart::crd(),
            v1beta2::HelmChart::crd(),
            v1beta1::HelmChart::crd(),
        ]),
        kind(vec![
            v1::Bucket::crd(),
            v1beta2::Bucket::crd(),
            v1beta1::Bucket::crd(),
        ]),
        kind(vec![
            v1::OCIRepository::crd(),
            v1beta2::OCIRepository::crd(),
        ]),
        // Flux's ExternalArtifact status has no observedGeneration.
        crate::crds::KindDefinition {
            versions: vec![v1::ExternalArtifact::crd()],
            storage: "v1",
            status_observed_generation_default: false,
        },
    ]
}
