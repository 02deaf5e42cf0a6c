//! helm-controller against the test API server, with source-controller in
//! the same process and a Helm repository packaged by the Helm SDK.

mod external_artifact;
mod features;
mod identities;
mod lifecycle;
mod sources;
mod support;
