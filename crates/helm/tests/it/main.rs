//! One test binary for crates/helm (links once).

mod conformance;
mod differential;
mod release;
mod render;
