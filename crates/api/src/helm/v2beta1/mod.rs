//! `helm.toolkit.fluxcd.io/v2beta1`: deprecated (Flux 2.0 served it as the
//! current version), served so that older manifests apply unchanged;
//! stored as v2. Its chart template and post-renderers are v2beta2's.

mod helm_release;

pub use helm_release::*;
