//! `helm.toolkit.fluxcd.io/v2`: the HelmRelease kind.

mod actions;
mod chart;
mod helm_release;
mod post_renderer;
mod schema;
mod status;

pub use actions::*;
pub use chart::*;
pub use helm_release::*;
pub use post_renderer::*;
pub use status::*;
