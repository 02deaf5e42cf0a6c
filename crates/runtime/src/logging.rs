//! Logging setup: JSON lines in production, readable lines for humans.

use tracing_subscriber::EnvFilter;

use crate::flags::LogEncoding;

/// Installs the global tracing subscriber; `RUST_LOG` overrides `level`.
pub fn init(level: &str, encoding: LogEncoding) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests) is not an error worth failing on.
    let _ = match encoding {
        LogEncoding::Json => builder.json().flatten_event(true).try_init(),
        LogEncoding::Console => builder.try_init(),
    };
}
