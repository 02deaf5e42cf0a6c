//! How often and how patiently a delivery is retried.

use std::time::Duration;

/// Retries with exponential backoff, as Flux's retrying HTTP client does
/// (4 retries, waits from 2s doubling up to 30s). The Provider's `timeout`
/// bounds the whole delivery, retries included.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Wait before the first retry.
    pub wait_min: Duration,
    /// Longest wait between attempts.
    pub wait_max: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            wait_min: Duration::from_secs(2),
            wait_max: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `attempt` (0-based); a service's
    /// `Retry-After` is honoured up to `wait_max`.
    pub fn wait(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exponential =
            ferroflux_runtime::backoff::Backoff::new(self.wait_min, self.wait_max).delay(attempt);
        retry_after.unwrap_or(exponential).min(self.wait_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        let waits: Vec<_> = (0..5).map(|a| p.wait(a, None).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 30]);
        assert_eq!(
            p.wait(0, Some(Duration::from_secs(7))),
            Duration::from_secs(7)
        );
        assert_eq!(
            p.wait(0, Some(Duration::from_secs(700))),
            Duration::from_secs(30)
        );
        assert_eq!(p.wait(100, None), Duration::from_secs(30));
    }
}
