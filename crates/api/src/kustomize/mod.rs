//! `kustomize.toolkit.fluxcd.io`: what to apply: Kustomizations built from source artifacts.

pub mod common;
pub mod v1;
pub mod v1beta1;
pub mod v1beta2;

/// The API group of this module's kinds.
pub const GROUP: &str = "kustomize.toolkit.fluxcd.io";

pub(crate) fn crd_definitions() -> Vec<crate::crds::KindDefinition> {
    use kube::CustomResourceExt;
    vec![crate::crds::KindDefinition {
        versions: vec![
            v1::Kustomization::crd(),
            v1beta2::Kustomization::crd(),
            v1beta1::Kustomization::crd(),
        ],
        storage: "v1",
        status_observed_generation_default: true,
    }]
}
