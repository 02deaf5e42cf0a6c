//! Polling until something holds, with a deadline and a message that says
//! what was awaited. The checks are async closures (`async || ...`) or
//! closures returning futures (`|| async { ... }`).

use std::time::Duration;

/// How often the helpers poll.
pub const POLL: Duration = Duration::from_millis(25);

/// Polls `check` until it is true; panics naming `what` after `limit`.
pub async fn wait_until(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    eventually(what, limit, async || check().await.then_some(())).await
}

/// Polls `check` until it returns `Some`, and returns that; panics naming
/// `what` after `limit`.
pub async fn eventually<T>(
    what: &str,
    limit: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(POLL).await;
    }
}
