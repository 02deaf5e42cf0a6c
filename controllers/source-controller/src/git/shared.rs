//! Ref listings shared by the sources that follow the same remote with the
//! same credentials.
//!
//! A thousand GitRepositories on one URL would otherwise list the remote's
//! refs a thousand times per interval, one after the other behind the cache's
//! lock. Here one caller (the leader) lists, callers with the same key that
//! arrive while it does wait for its result, and the result stays usable for
//! callers that accept a listing started at or after a given time (their
//! freshness bound, see [`super::GitSource::probe_shared`]). Only the listing
//! is shared: every caller still resolves its own reference and makes its
//! own checkout.
//!
//! The key is a digest of everything that decides what the remote answers:
//! URL, every credential, the SSH program and the ref prefixes listed. A
//! source whose credentials differ (or who has none) never sees another's
//! listing, so a tenant without access cannot learn refs through the cache.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use gix::protocol::handshake::Ref;
use sha2::{Digest, Sha256};

use super::GitSource;
use super::error::{GitError, sanitize_url};

/// Listings older than this are never reused, whatever a caller accepts,
/// and are dropped from the table.
pub(crate) const MAX_AGE: Duration = Duration::from_secs(10);

/// What a key identifies: a digest, so the table holds no credential.
pub(crate) type Key = [u8; 32];

/// One listing of a remote's refs.
#[derive(Debug)]
pub(crate) struct Listing {
    /// The refs under the key's prefixes.
    pub(crate) refs: Vec<Ref>,
    /// True if the leader also received a pack into the cache with it.
    pub(crate) fetched: bool,
}

type Outcome = Result<Arc<Listing>, GitError>;

/// A listing under way or done.
struct Flight {
    started: SystemTime,
    outcome: Mutex<Option<Outcome>>,
    done: Condvar,
}

impl Flight {
    fn failed(&self) -> bool {
        self.outcome
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .as_ref()
            .is_some_and(Result::is_err)
    }

    fn finished(&self) -> bool {
        self.outcome
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .is_some()
    }

    fn finish(&self, outcome: Outcome) {
        let mut slot = self
            .outcome
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if slot.is_none() {
            *slot = Some(outcome);
        }
        self.done.notify_all();
    }
}

/// Ends a flight even if the leader panics, so no waiter hangs.
struct Leading<'a> {
    flight: &'a Flight,
    url: String,
}

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        self.flight.finish(Err(GitError::GitOperationFailed {
            url: self.url.clone(),
            message: "the shared ref listing ended unexpectedly".to_string(),
        }));
    }
}

fn flights() -> &'static Mutex<HashMap<Key, Arc<Flight>>> {
    static FLIGHTS: OnceLock<Mutex<HashMap<Key, Arc<Flight>>>> = OnceLock::new();
    FLIGHTS.get_or_init(Default::default)
}

/// The key of `source`'s listing of `prefixes`.
pub(crate) fn key(source: &GitSource, prefixes: &[String]) -> Key {
    let mut hasher = Sha256::new();
    // Length-prefixed fields: no two different inputs hash the same text.
    let mut field = |bytes: Option<&[u8]>| match bytes {
        Some(b) => {
            hasher.update([1]);
            hasher.update((b.len() as u64).to_le_bytes());
            hasher.update(b);
        }
        None => hasher.update([0]),
    };
    let auth = &source.auth;
    field(Some(source.url.as_bytes()));
    field(auth.username.as_deref().map(str::as_bytes));
    field(auth.password.as_deref().map(str::as_bytes));
    field(auth.bearer_token.as_deref().map(str::as_bytes));
    field(auth.ca_cert.as_deref());
    field(auth.client_cert.as_ref().map(|(c, _)| c.as_slice()));
    field(auth.client_cert.as_ref().map(|(_, k)| k.as_slice()));
    field(auth.ssh.as_ref().map(|s| s.identity.as_slice()));
    field(auth.ssh.as_ref().map(|s| s.known_hosts.as_slice()));
    field(
        auth.ssh
            .as_ref()
            .and_then(|s| s.passphrase.as_deref())
            .map(str::as_bytes),
    );
    field(
        source
            .ssh_program
            .as_deref()
            .map(|p| p.as_os_str().as_encoded_bytes()),
    );
    field(Some(&(prefixes.len() as u64).to_le_bytes()));
    for prefix in prefixes {
        field(Some(prefix.as_bytes()));
    }
    hasher.finalize().into()
}

/// A listing for `key` started at or after `not_before`: one already done or
/// under way, or else one made now by `list` (this caller leading, the
/// second value true). A failed listing is shared only with the callers that
/// waited for it. Waiting is bounded by `timeout`.
pub(crate) fn share(
    key: Key,
    url: &str,
    not_before: SystemTime,
    timeout: Duration,
    list: impl FnOnce() -> Result<Listing, GitError>,
) -> Result<(Arc<Listing>, bool), GitError> {
    let now = SystemTime::now();
    let oldest = now.checked_sub(MAX_AGE).unwrap_or(SystemTime::UNIX_EPOCH);
    let not_before = not_before.max(oldest);
    let (flight, leading) = {
        let mut table = flights()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match table.get(&key) {
            Some(f) if f.started >= not_before && !f.failed() => (f.clone(), false),
            _ => {
                // The table holds only what may still be reused or awaited.
                table.retain(|_, f| f.started >= oldest || !f.finished());
                let f = Arc::new(Flight {
                    started: now,
                    outcome: Mutex::new(None),
                    done: Condvar::new(),
                });
                table.insert(key, f.clone());
                (f, true)
            }
        }
    };
    if leading {
        let guard = Leading {
            flight: &flight,
            url: sanitize_url(url),
        };
        let outcome = list().map(Arc::new);
        flight.finish(outcome.clone());
        drop(guard);
        return outcome.map(|listing| (listing, true));
    }
    let slot = flight
        .outcome
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let (slot, _) = flight
        .done
        .wait_timeout_while(slot, timeout, |outcome| outcome.is_none())
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    match slot.as_ref() {
        Some(outcome) => outcome.clone().map(|listing| (listing, false)),
        None => Err(GitError::GitOperationFailed {
            url: sanitize_url(url),
            message: format!("timed out after {timeout:?} waiting for the shared ref listing"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::git::{Auth, Reference};

    fn source(url: &str, password: Option<&str>) -> GitSource {
        let mut s = GitSource::new(url, Reference::Branch("main".into()));
        s.auth = Auth {
            username: password.map(|_| "u".to_string()),
            password: password.map(str::to_string),
            ..Auth::default()
        };
        s
    }

    fn empty() -> Result<Listing, GitError> {
        Ok(Listing {
            refs: Vec::new(),
            fetched: false,
        })
    }

    #[test]
    fn keys_differ_by_url_credentials_and_prefixes() {
        let p = vec!["refs/heads/main".to_string()];
        let a = key(&source("https://h/r.git", Some("one")), &p);
        assert_eq!(a, key(&source("https://h/r.git", Some("one")), &p));
        assert_ne!(a, key(&source("https://h/r.git", Some("two")), &p));
        assert_ne!(a, key(&source("https://h/r.git", None), &p));
        assert_ne!(a, key(&source("https://h/other.git", Some("one")), &p));
        assert_ne!(
            a,
            key(
                &source("https://h/r.git", Some("one")),
                &["refs/heads/dev".to_string()]
            )
        );
        // Fields do not run into each other.
        let mut x = source("https://h/r.git", None);
        x.auth.username = Some("ab".into());
        x.auth.password = Some("c".into());
        let mut y = x.clone();
        y.auth.username = Some("a".into());
        y.auth.password = Some("bc".into());
        assert_ne!(key(&x, &p), key(&y, &p));
    }

    #[test]
    fn concurrent_callers_share_one_listing_and_later_ones_respect_their_bound() {
        let k = key(&source("https://share.test/a.git", None), &[]);
        let calls = AtomicUsize::new(0);
        let before = SystemTime::now();
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    share(k, "u", before, Duration::from_secs(10), || {
                        calls.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(100));
                        empty()
                    })
                    .expect("listing")
                });
            }
        });
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Accepting the listing's age: reused without a call.
        let (_, led) = share(k, "u", before, Duration::from_secs(1), || {
            calls.fetch_add(1, Ordering::SeqCst);
            empty()
        })
        .expect("reuse");
        assert!(!led);
        // Asking for one started from now on: listed again.
        let (_, led) = share(k, "u", SystemTime::now(), Duration::from_secs(1), || {
            calls.fetch_add(1, Ordering::SeqCst);
            empty()
        })
        .expect("fresh");
        assert!(led);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_failed_listing_is_not_reused() {
        let k = key(&source("https://share.test/fail.git", None), &[]);
        let before = SystemTime::now();
        let failed = share(k, "u", before, Duration::from_secs(1), || {
            Err(GitError::GitOperationFailed {
                url: "u".into(),
                message: "refused".into(),
            })
        });
        assert!(failed.is_err());
        let (_, led) = share(k, "u", before, Duration::from_secs(1), empty).expect("again");
        assert!(led, "a failure must not be served from the table");
    }

    #[test]
    fn a_panicking_leader_releases_its_waiters() {
        let k = key(&source("https://share.test/panic.git", None), &[]);
        let before = SystemTime::now();
        std::thread::scope(|s| {
            let leader = s.spawn(|| {
                share(k, "u", before, Duration::from_secs(10), || {
                    std::thread::sleep(Duration::from_millis(200));
                    panic!("leader dies")
                })
            });
            std::thread::sleep(Duration::from_millis(50));
            let waiter = s.spawn(|| share(k, "u", before, Duration::from_secs(10), empty));
            assert!(leader.join().is_err());
            let got = waiter.join().expect("waiter returns");
            // Either it joined the dying flight (an error) or led its own.
            if let Ok((_, led)) = got {
                assert!(led);
            }
        });
    }
}
