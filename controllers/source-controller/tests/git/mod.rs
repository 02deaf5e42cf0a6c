//! Git client tests against real peers from Debian's git.

mod auth;
mod cache;
mod errors;
pub mod fixtures;
mod limits;
mod refs;
mod ssh;
mod tls;

use std::path::Path;
use std::time::Duration;

use source_controller::git::{GitSource, Reference};

fn source(url: &str, reference: Reference) -> GitSource {
    let mut s = GitSource::new(url, reference);
    s.timeout = Duration::from_secs(30);
    s
}

fn branch(name: &str) -> Reference {
    Reference::Branch(name.to_string())
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}
