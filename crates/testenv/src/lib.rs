//! A Kubernetes-compatible API server for hermetic tests.
//!
//! No kube-apiserver, etcd or container runtime can run on the machines this
//! project is built and tested on, yet every controller must be tested
//! against the Kubernetes API as it really behaves. This crate is that API
//! server: an in-memory store behind the real REST paths, verbs, status
//! codes, watch semantics, server-side apply, RBAC with impersonation and CRD
//! handling. Tests start it in-process with [`TestEnv::start`]; the `testenv`
//! binary serves it for multi-process tests and the demo.

mod admit;
mod alloc;
mod apply;
mod authz;
pub mod builtin_schema;
mod defaults;
pub mod discovery;
pub mod errors;
pub mod fields;
pub mod git;
mod immutable;
mod lifecycle;
mod managed;
mod objects;
pub mod openapi;
mod printers;
pub mod protobuf;
pub mod rbac;
mod read;
pub mod registry;
mod request;
pub mod schema;
pub mod selectors;
pub mod server;
pub mod store;
mod strategic;
mod table;
pub mod workloads;
mod write;

mod env;

pub use env::{Options, TestEnv, TestEnvError};
