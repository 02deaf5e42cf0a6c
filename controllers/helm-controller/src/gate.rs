//! How many releases do work at once (`--concurrent`): rendering, applying
//! and running hooks take a slot; waiting for readiness does not. The
//! reconcile loop itself runs many more releases at once than there are
//! slots, so a release that waits minutes for a rollout never keeps
//! another from starting, as Flux's helm-controller does at its
//! `--concurrent` limit.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};

/// The slots of one controller.
#[derive(Clone)]
pub struct Gate(Arc<Semaphore>);

impl Gate {
    /// `slots` releases at work at once (at least one).
    pub fn new(slots: usize) -> Self {
        Gate(Arc::new(Semaphore::new(slots.max(1))))
    }

    /// Takes a slot, waiting for one.
    pub async fn enter(&self) -> Slot {
        let permit = self.0.clone().acquire_owned().await.ok();
        Slot {
            gate: self.clone(),
            permit: Arc::new(Mutex::new(permit)),
        }
    }

    /// A slot that holds nothing (work outside the gate, such as cleanup).
    pub fn none(&self) -> Slot {
        Slot {
            gate: self.clone(),
            permit: Arc::new(Mutex::new(None)),
        }
    }
}

/// A release's slot; given up when dropped.
#[derive(Clone)]
pub struct Slot {
    gate: Gate,
    permit: Arc<Mutex<Option<OwnedSemaphorePermit>>>,
}

impl Slot {
    /// Runs `wait` with the slot given back, and takes a slot again after.
    pub async fn released_while<T>(&self, wait: impl Future<Output = T>) -> T {
        let held = self.permit.lock().await.take().is_some();
        let out = wait.await;
        if held {
            let permit = self.gate.0.clone().acquire_owned().await.ok();
            *self.permit.lock().await = permit;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_waiting_release_gives_its_slot_to_another() {
        let gate = Gate::new(1);
        let first = gate.enter().await;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let waiter = tokio::spawn({
            let first = first.clone();
            async move { first.released_while(async { rx.await.ok() }).await }
        });
        // With the only slot given back, a second release gets in.
        let second = tokio::time::timeout(std::time::Duration::from_secs(5), gate.enter())
            .await
            .expect("the slot was given back during the wait");
        drop(second);
        tx.send(()).unwrap();
        waiter.await.unwrap();
        // The first holds its slot again: nobody else gets in.
        assert!(
            tokio::time::timeout(std::time::Duration::from_millis(100), gate.enter())
                .await
                .is_err()
        );
        drop(first);
        assert!(
            tokio::time::timeout(std::time::Duration::from_secs(5), gate.enter())
                .await
                .is_ok()
        );
    }
}
