//! What an ArtifactGenerator does to files, with no Kubernetes types: the
//! copy operations from unpacked sources into an artifact's staging
//! directory ([`copy`]), and the YAML merge of the `Merge` strategy
//! ([`merge`]), and the artifacts a `pathPattern` expands to ([`pattern`]).

pub mod copy;
pub mod merge;
pub mod pattern;

pub use copy::{BuildError, Builder, Limits};

#[cfg(test)]
mod tests;
