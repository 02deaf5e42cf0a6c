//! `notification.toolkit.fluxcd.io`: events in (Alerts to Providers) and webhooks in (Receivers).

pub mod v1;
pub mod v1beta1;
pub mod v1beta2;
pub mod v1beta3;

/// The API group of this module's kinds.
pub const GROUP: &str = "notification.toolkit.fluxcd.io";

pub(crate) fn crd_definitions() -> Vec<crate::crds::KindDefinition> {
    use kube::CustomResourceExt;
    vec![
        crate::crds::KindDefinition {
            versions: vec![
                v1::Receiver::crd(),
                v1beta2::Receiver::crd(),
                v1beta1::Receiver::crd(),
            ],
            storage: "v1",
            status_observed_generation_default: true,
        },
        crate::crds::KindDefinition {
            versions: vec![
                v1beta3::Alert::crd(),
                v1beta2::Alert::crd(),
                v1beta1::Alert::crd(),
            ],
            storage: "v1beta3",
            status_observed_generation_default: false,
        },
        crate::crds::KindDefinition {
            versions: vec![
                v1beta3::Provider::crd(),
                v1beta2::Provider::crd(),
                v1beta1::Provider::crd(),
            ],
            storage: "v1beta3",
            status_observed_generation_default: false,
        },
    ]
}
