//! One module per source kind: how it reads its inputs, asks its remote
//! for a revision and fetches it. Each implements
//! [`crate::reconcile::ArtifactSource`]; the shared
//! [`crate::reconcile::ArtifactReconciler`] does the rest.

pub mod artifact_generator;
pub mod bucket;
pub mod git_include;
pub mod git_repository;
pub mod helm_chart;
pub mod helm_chart_sources;
pub mod helm_loops;
pub mod helm_repository;
pub mod oci_repository;
