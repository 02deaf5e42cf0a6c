//! Fixtures Ferroflux's tests share, one module per fixture: Git servers
//! over HTTP(S) and `git://` ([`git`]), a recording HTTP sink for events and chat messages
//! ([`sink`]), throw-away TLS certificates made in-process with rcgen
//! ([`tls`]) and polling helpers ([`wait`]).
//!
//! A dev-dependency only. The OCI registry, S3 server and Helm repository
//! fixtures of the coming sources go here too, each in a module of its own.
//! Fixtures panic on set-up failures: they run in tests, where a panic with
//! a clear message is the report.

pub mod git;
pub mod helm_repo;
pub mod oci_registry;
pub mod s3;
pub mod sink;
pub mod tls;
pub mod wait;
