//! One test binary for crates/helm (links once).

mod release;
mod render;
