//! Integration tests: the real `sops`'s fixtures under ../shared/conformance/sops.

mod fixtures;
mod hostile;
mod roundtrip;
mod support;
