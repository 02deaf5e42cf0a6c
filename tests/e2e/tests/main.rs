//! End-to-end tests: testenv and source-, kustomize-, helm- and
//! notification-controller as separate processes (`ferroflux_cli::stack`),
//! a Git server (`git http-backend`), a Helm repository, `kubectl` applying
//! the YAML, signed GitHub webhooks and a sink for notifications.
//!
//! The binaries must be built first, in the same target directory and
//! profile as this test: `cargo build --bins` (see the README).

mod artifact_generator;
mod bucket;
mod flow;
mod flux_flags;
mod helm;
mod hostile;
mod oci;
mod restarts;
mod seeds;
mod sops;
mod support;
mod vintage;
