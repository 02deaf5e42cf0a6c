//! `source.extensions.fluxcd.io`: Flux 2.7's source-watcher kinds.
//! ArtifactGenerator composes (or splits) the artifacts of other sources
//! into ExternalArtifacts.

pub mod v1beta1;

/// The API group of this module's kinds.
pub const GROUP: &str = "source.extensions.fluxcd.io";

pub(crate) fn crd_definitions() -> Vec<crate::crds::KindDefinition> {
    use kube::CustomResourceExt;
    vec![crate::crds::KindDefinition {
        versions: vec![v1beta1::ArtifactGenerator::crd()],
        storage: "v1beta1",
        status_observed_generation_default: false,
    }]
}
