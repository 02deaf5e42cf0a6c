//! What every Ferroflux controller shares: the reconcile loop over
//! kube-runtime ([`controller`]), how a reconcile ends and what that does
//! to conditions, requeue and events ([`verdict`]), exponential backoff
//! ([`backoff`]), events to Kubernetes and to
//! notification-controller ([`events`]), metrics and health probes
//! ([`metrics`]), leader election ([`leader`]), the common flags and logging
//! ([`flags`], [`logging`]), and the artifact client every consumer of
//! source artifacts uses ([`artifact`]), and the vetting of kubeconfigs
//! tenants hand in ([`kubeconfig`]), and Secrets turned into credentials
//! ([`secrets`]).

pub mod artifact;
pub mod backoff;
pub mod controller;
pub mod deprecation;
pub mod events;
pub mod flags;
pub mod interval;
pub mod kubeconfig;
pub mod leader;
pub mod logging;
pub mod metrics;
pub mod scratch;
pub mod secrets;
pub mod tls;
pub mod triggers;
pub mod verdict;
