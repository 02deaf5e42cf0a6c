//! Integration tests of source-controller (one binary): the artifact HTTP
//! server on a real socket, the Git client against real Git servers, and
//! the GitRepository reconciler against the test API server.

mod bucket;
mod generator;
#[path = "../git/mod.rs"]
mod git;
mod helm;
mod helm_sources;
mod oci;
mod reconciler;
mod server;
mod support;
