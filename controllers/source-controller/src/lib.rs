//! Ferroflux source-controller: turns sources into tar.gz artifacts kept in
//! a local storage directory and served over HTTP.

pub mod app;
pub mod generator;
pub mod git;
pub mod helm;
pub mod ignore;
pub mod kinds;
pub mod reconcile;
pub mod s3;
pub mod storage;

pub use app::{Config, Running, StartError, start};
