//! One test binary for crates/helm (links once).

mod conformance;
mod differential;
mod lookup;
mod release;
mod render;
