//! Git repositories served by `git http-backend` over HTTP.
//!
//! The implementation lives in `ferroflux_testenv::git` because the
//! `ferroflux demo` command (not only tests) serves its example repository
//! with it; tests reach it through here with the other fixtures.

pub use ferroflux_testenv::git::*;
