//! Integration tests of ferroflux-kustomize: strategic merge compared live with
//! `kubectl` (kustomize v5 built in, and `kubectl patch --local`).

mod apiserver_vs_kubectl;
mod generated;
mod kustomize_vs_kubectl;
mod peer;
