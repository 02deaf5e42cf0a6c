//! Integration tests of source-controller's storage: the artifact HTTP
//! server on a real socket, fed by the real storage.

mod server;
mod support;
