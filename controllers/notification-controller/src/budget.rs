//! Byte accounting of everything the controller holds for later: event
//! bodies read by intake or waiting for Alert matching, and notifications
//! queued or in flight on a Provider's lane.
//!
//! One [`ByteBudget`] (`--total-queue-bytes`) covers all of it; each lane
//! also has its own counter (`--provider-queue-bytes`, see
//! [`crate::delivery`]). Bytes are taken before the data is kept and given
//! back when the [`Reservation`] is dropped, whichever way the data goes
//! (matched, delivered, failed, dropped, or aborted with its Provider), so
//! the counters cannot drift.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::stats::Stats;

/// A limit on bytes held at once, shared by every holder.
#[derive(Debug)]
pub struct ByteBudget {
    limit: u64,
    used: AtomicU64,
}

/// Which gauge of [`Stats`] a reservation shows in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    /// Event bodies in intake and the matching queue ([`Stats::intake_bytes`]).
    Intake,
    /// Notifications on the lanes ([`Stats::delivery_bytes`]).
    Delivery,
}

impl ByteBudget {
    /// A budget of `limit` bytes (0 is taken as 1: nothing fits).
    pub fn new(limit: u64) -> Arc<Self> {
        Arc::new(Self {
            limit: limit.max(1),
            used: AtomicU64::new(0),
        })
    }

    /// Bytes held now.
    pub fn used(&self) -> u64 {
        self.used.load(Ordering::SeqCst)
    }

    /// The limit.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    fn take(&self, bytes: u64) -> bool {
        self.used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                used.checked_add(bytes).filter(|&n| n <= self.limit)
            })
            .is_ok()
    }

    fn give(&self, bytes: u64) {
        let _ = self
            .used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                Some(used.saturating_sub(bytes))
            });
    }

    /// Takes `bytes` for `account`, or `None` if they do not fit.
    pub fn reserve(
        self: &Arc<Self>,
        bytes: u64,
        stats: &Arc<Stats>,
        account: Account,
    ) -> Option<Reservation> {
        self.reserve_with_lane(bytes, stats, account, None, u64::MAX)
            .ok()
    }

    /// Takes `bytes` from this budget and from `lane` (a lane's own counter,
    /// limited to `lane_limit`). `Err(true)`: the lane is full;
    /// `Err(false)`: this budget is.
    pub fn reserve_with_lane(
        self: &Arc<Self>,
        bytes: u64,
        stats: &Arc<Stats>,
        account: Account,
        lane: Option<Arc<AtomicU64>>,
        lane_limit: u64,
    ) -> Result<Reservation, bool> {
        if let Some(lane) = &lane {
            let fits = lane
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                    used.checked_add(bytes).filter(|&n| n <= lane_limit)
                })
                .is_ok();
            if !fits {
                return Err(true);
            }
        }
        if !self.take(bytes) {
            if let Some(lane) = &lane {
                lane.fetch_sub(bytes, Ordering::SeqCst);
            }
            return Err(false);
        }
        gauge(stats, account).fetch_add(bytes, Ordering::SeqCst);
        Ok(Reservation {
            budget: self.clone(),
            lane,
            stats: stats.clone(),
            account,
            bytes,
        })
    }
}

fn gauge(stats: &Stats, account: Account) -> &AtomicU64 {
    match account {
        Account::Intake => &stats.intake_bytes,
        Account::Delivery => &stats.delivery_bytes,
    }
}

/// Bytes held; given back on drop.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<ByteBudget>,
    lane: Option<Arc<AtomicU64>>,
    stats: Arc<Stats>,
    account: Account,
    bytes: u64,
}

impl Reservation {
    /// The bytes held.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Takes `more` bytes on top, if the budget holds them (not for lane
    /// reservations, which are sized once).
    pub fn grow(&mut self, more: u64) -> bool {
        if self.lane.is_some() || !self.budget.take(more) {
            return false;
        }
        gauge(&self.stats, self.account).fetch_add(more, Ordering::SeqCst);
        self.bytes += more;
        true
    }

    /// Gives back all but `bytes`.
    pub fn shrink_to(&mut self, bytes: u64) {
        if bytes >= self.bytes {
            return;
        }
        let extra = self.bytes - bytes;
        self.release(extra);
        self.bytes = bytes;
    }

    fn release(&self, bytes: u64) {
        self.budget.give(bytes);
        if let Some(lane) = &self.lane {
            let _ = lane.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                Some(used.saturating_sub(bytes))
            });
        }
        let _ = gauge(&self.stats, self.account).fetch_update(
            Ordering::SeqCst,
            Ordering::SeqCst,
            |used| Some(used.saturating_sub(bytes)),
        );
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.release(self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_add_up_and_give_back_on_drop() {
        let stats = Arc::new(Stats::default());
        let budget = ByteBudget::new(100);
        let a = budget
            .reserve(60, &stats, Account::Intake)
            .expect("60 of 100 fit");
        assert!(budget.reserve(41, &stats, Account::Delivery).is_none());
        let lane = Arc::new(AtomicU64::new(0));
        let b = budget
            .reserve_with_lane(30, &stats, Account::Delivery, Some(lane.clone()), 50)
            .expect("30 fit the lane and the total");
        assert_eq!((budget.used(), lane.load(Ordering::SeqCst)), (90, 30));
        assert_eq!(stats.snapshot().intake_bytes, 60);
        assert_eq!(stats.snapshot().delivery_bytes, 30);
        // The lane's own limit, then the total's.
        assert_eq!(
            budget
                .reserve_with_lane(21, &stats, Account::Delivery, Some(lane.clone()), 50)
                .err(),
            Some(true)
        );
        assert_eq!(
            budget
                .reserve_with_lane(11, &stats, Account::Delivery, Some(lane.clone()), 50)
                .err(),
            Some(false)
        );
        // A refusal leaves nothing behind.
        assert_eq!((budget.used(), lane.load(Ordering::SeqCst)), (90, 30));
        drop(b);
        assert_eq!((budget.used(), lane.load(Ordering::SeqCst)), (60, 0));
        assert_eq!(stats.snapshot().delivery_bytes, 0);
        drop(a);
        assert_eq!(budget.used(), 0);
        assert_eq!(stats.snapshot().intake_bytes, 0);
    }

    #[test]
    fn intake_reservations_grow_and_shrink() {
        let stats = Arc::new(Stats::default());
        let budget = ByteBudget::new(100);
        let mut r = budget.reserve(10, &stats, Account::Intake).expect("fits");
        assert!(r.grow(80));
        assert!(!r.grow(11), "over the total");
        assert_eq!((r.bytes(), budget.used()), (90, 90));
        r.shrink_to(40);
        assert_eq!((r.bytes(), budget.used()), (40, 40));
        assert_eq!(stats.snapshot().intake_bytes, 40);
        drop(r);
        assert_eq!(budget.used(), 0);
    }
}
