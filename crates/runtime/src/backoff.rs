//! Exponential backoff: the one formula behind every retry delay (the
//! reconcile loop's error backoff, artifact downloads, notification
//! deliveries), so they cannot drift apart in how they double or cap.

use std::time::Duration;

/// Delays that start at `base` and double per retry, never above `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay before the first retry.
    pub base: Duration,
    /// The longest delay.
    pub max: Duration,
}

impl Backoff {
    /// A backoff from `base` doubling up to `max`.
    pub const fn new(base: Duration, max: Duration) -> Self {
        Self { base, max }
    }

    /// The delay before retry number `retry`, counted from 0:
    /// `base * 2^retry`, capped at `max`. Saturates instead of overflowing,
    /// so any count (a long-failing object) gives `max`.
    pub fn delay(&self, retry: u32) -> Duration {
        // 2^31 times any non-zero base is already past any useful cap.
        let factor = 1u32 << retry.min(31);
        self.base
            .checked_mul(factor)
            .unwrap_or(self.max)
            .min(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap() {
        let b = Backoff::new(Duration::from_secs(2), Duration::from_secs(30));
        let waits: Vec<_> = (0..6).map(|r| b.delay(r).as_secs()).collect();
        assert_eq!(waits, [2, 4, 8, 16, 30, 30]);
        assert_eq!(b.delay(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn saturates_on_huge_bases() {
        let b = Backoff::new(Duration::MAX, Duration::from_secs(300));
        assert_eq!(b.delay(0), Duration::from_secs(300));
        assert_eq!(b.delay(40), Duration::from_secs(300));
    }
}
