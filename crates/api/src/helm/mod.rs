//! `helm.toolkit.fluxcd.io`: Helm releases.

pub mod v2;
pub mod v2beta1;
pub mod v2beta2;

/// The API group of this module's kinds.
pub const GROUP: &str = "helm.toolkit.fluxcd.io";

pub(crate) fn crd_definitions() -> Vec<crate::crds::KindDefinition> {
    use kube::CustomResourceExt;
    vec![crate::crds::KindDefinition {
        versions: vec![
            v2::HelmRelease::crd(),
            v2beta2::HelmRelease::crd(),
            v2beta1::HelmRelease::crd(),
        ],
        storage: "v2",
        status_observed_generation_default: true,
    }]
}
