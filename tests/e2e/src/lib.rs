//! End-to-end tests of Ferroflux: the testenv API server and source-,
//! kustomize- and notification-controller run as separate processes (from
//! the binaries next to the test executable, see `ferroflux_cli::stack`),
//! driven with `kubectl`, a real Git server and signed GitHub webhooks.
//!
//! The tests are in `tests/` (one binary, `tests/main.rs`); the latency and
//! memory benchmark is `examples/latency.rs`, run by `hack/bench/e2e`.
//! This library is empty on purpose.
