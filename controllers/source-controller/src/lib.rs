//! Ferroflux source-controller: turns sources into tar.gz artifacts kept in
//! a local storage directory and served over HTTP.

pub mod ignore;
pub mod storage;
