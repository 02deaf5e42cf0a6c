//! One test per attack class from Flux's security advisories and from our
//! own hardening work, against the real binaries: a regression in any of
//! them fails CI. Each module names the class it keeps closed.

mod archives;
mod intervals;
mod kubeconfig;
mod notification;
mod repositories;
mod scratch;
