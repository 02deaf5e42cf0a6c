//! Integration tests for ferroflux-runtime, one binary with one module per area.

mod controller;
mod events;
mod extract;
mod fetch;
mod kubeconfig;
mod leader;
mod support;
