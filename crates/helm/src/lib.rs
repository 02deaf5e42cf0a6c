//! Helm v4 without the helm binary: chart loading, values coalescing,
//! dependencies, rendering in Helm's install order, and Helm's release storage
//! format. Pure: it knows nothing of a cluster; callers fill in
//! `.Capabilities` and `lookup`.

pub mod chart;
pub mod install;
pub mod manifest;
pub mod objects;
pub mod package;
pub mod release;
pub mod render;
mod schema;
pub mod strvals;
pub mod values;
mod yaml;

pub use install::{Error, Rendered, TemplateOptions, template};
