//! One artifact from a Git URL, as the reconciler makes it (`hack/bench/source-git`):
//! shallow fetch + checkout, ignore rules, deterministic tar.gz into storage.
//! Prints the wall time in seconds and the digest.

use std::time::Instant;

use source_controller::git::{GitSource, Reference};
use source_controller::ignore::IgnoreRules;
use source_controller::storage::Storage;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(work)) = (args.next(), args.next()) else {
        return Err("usage: artifact_bench URL WORK_DIR".into());
    };
    let work = std::path::PathBuf::from(work);
    let started = Instant::now();
    let source = GitSource::new(&url, Reference::Branch("master".into()));
    let checkout = work.join("checkout");
    let resolved = source.checkout(&work.join("cache"), &checkout)?;
    let checked_out = started.elapsed().as_secs_f64();
    let rules = IgnoreRules::load(&checkout, None)?;
    let storage = Storage::new(work.join("storage"), "localhost")?;
    let artifact = storage.archive(
        "GitRepository",
        "bench",
        "repo",
        &resolved.revision,
        &checkout,
        &rules,
    )?;
    eprintln!(
        "checkout {checked_out:.3}s, archive {:.3}s",
        started.elapsed().as_secs_f64() - checked_out
    );
    println!(
        "{:.3} {}",
        started.elapsed().as_secs_f64(),
        artifact.digest.unwrap_or_default()
    );
    Ok(())
}
