//! kustomize-controller against the test API server, with source-controller
//! running in the same process and a real Git server (`git http-backend`).

mod decryption;
mod errors;
mod features;
mod hardening;
mod identities;
mod lifecycle;
mod ordering;
mod races;
mod support;
mod tenancy;
mod waits;
