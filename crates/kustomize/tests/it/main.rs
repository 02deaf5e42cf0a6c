//! Integration tests of ferroflux-kustomize: strategic merge compared live with
//! `kubectl` (kustomize v5 built in, and `kubectl patch --local`), and the kustomize
//! build engine against kustomize's own conformance cases.

mod apiserver_vs_kubectl;
mod build_errors;
mod conformance;
mod differential;
mod generated;
mod in_memory;
mod kustomize_vs_kubectl;
mod peer;
