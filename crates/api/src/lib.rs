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
pub mod deprecation;
pub mod duration;
pub mod event;
pub mod helm;
pub mod kustomize;
pub mod meta;
pub mod notification;
pub mod source;
pub mod source_extensions;

pub use duration::Duration;

/// Implements [`conditions::FluxObject`] for a kind: `$interval` says how its
/// spec holds the interval (`required` for `spec.interval`, `optional` for
/// `Option<Duration>`, `none` for kinds that are not polled); a trailing
/// `retry` says the spec has an optional `retryInterval`.
#[macro_export]
macro_rules! impl_flux_object {
    ($kind:ty, $interval:ident) => {
        $crate::impl_flux_object!($kind, $interval, {});
    };
    ($kind:ty, $interval:ident, retry) => {
        $crate::impl_flux_object!($kind, $interval, {
            fn retry_interval(&self) -> Option<std::time::Duration> {
                self.spec.retry_interval.as_ref().map(|d| d.as_std())
            }
        });
    };
    ($kind:ty, $interval:ident, { $($extra:tt)* }) => {
        impl $crate::conditions::FluxObject for $kind {
            fn interval(&self) -> Option<std::time::Duration> {
                $crate::impl_flux_object!(@interval self, $interval)
            }

            $($extra)*

            fn suspended(&self) -> bool {
                self.spec.suspend
            }

            fn observed_generation(&self) -> Option<i64> {
                self.status.as_ref().and_then(|s| s.observed_generation)
            }

            fn set_observed_generation(&mut self, generation: Option<i64>) {
                self.status.get_or_insert_with(Default::default).observed_generation = generation;
            }

            fn last_handled_reconcile_at(&self) -> Option<&str> {
                self.status.as_ref().and_then(|s| s.last_handled_reconcile_at.as_deref())
            }

            fn set_last_handled_reconcile_at(&mut self, value: Option<String>) {
                self.status.get_or_insert_with(Default::default).last_handled_reconcile_at = value;
            }
        }
    };
    (@interval $self:ident, required) => { Some($self.spec.interval.as_std()) };
    (@interval $self:ident, optional) => { $self.spec.interval.as_ref().map(|d| d.as_std()) };
    (@interval $self:ident, none) => { None };
}

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
