//! One test binary for crates/helm (links once).

mod conformance;
mod release;
mod render;
