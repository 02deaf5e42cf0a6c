//! Integration tests: the real `sops`'s fixtures under ../shared/conformance/sops.

mod age_pq;
mod fixtures;
mod hostile;
mod multidoc;
mod roundtrip;
mod support;
