//! Ferroflux's kustomize engine.
//!
//! Pure: values in, values out; nothing here touches a file system, a network or a
//! cluster. So far it holds the Kubernetes strategic merge patch, which both the test
//! API server (`application/strategic-merge-patch+json`) and the kustomize build engine
//! use.

#![warn(missing_docs)]

pub mod strategic_merge;
