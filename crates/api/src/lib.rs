//! Rust types of Ferroflux's custom resources.
//!
//! Ferroflux speaks Flux's APIs: the same groups, kinds, versions and fields,
//! so manifests written for Flux apply unchanged. Each API group is a module
//! with one sub-module per served version; the storage version of each kind
//! is the one controllers read and write.
//!
//! This crate does no I/O. It also holds the condition helpers every
//! controller uses and the generator of `crds/` ([`crds`]).

pub mod conditions;
pub mod crds;
pub mod duration;
pub mod helm;
pub mod kustomize;
pub mod meta;
pub mod notification;
pub mod source;

pub use duration::Duration;

/// Implements [`conditions::ObjectWithConditions`] for a kind whose status
/// struct has a `conditions: Vec<Condition>` field and implements `Default`.
#[macro_export]
macro_rules! impl_object_with_conditions {
    ($kind:ty) => {
        impl $crate::conditions::ObjectWithConditions for $kind {
            fn conditions(&self) -> &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition] {
                self.status
                    .as_ref()
                    .map(|s| s.conditions.as_slice())
                    .unwrap_or(&[])
            }

            fn conditions_mut(
                &mut self,
            ) -> &mut Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> {
                &mut self.status.get_or_insert_with(Default::default).conditions
            }
        }
    };
}
