//! The `ferroflux` command's library: the local stack of processes that
//! `ferroflux demo` and the end-to-end tests run, and the demo itself.

#![warn(missing_docs)]

pub mod artifact;
pub mod demo;
mod demo_app;
pub mod helm_template;
pub mod stack;
