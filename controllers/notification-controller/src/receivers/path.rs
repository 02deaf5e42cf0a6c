//! Webhook paths and the index from path to Receiver.

use std::collections::HashMap;
use std::sync::Mutex;

use ferroflux_api::notification::v1::RECEIVER_WEBHOOK_PATH;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::delivery::ObjectKey;

/// The webhook path of a Receiver, as Flux computes it: `/hook/` and the
/// hex SHA-256 of the token, the name and the namespace, concatenated.
pub fn webhook_path(token: &str, name: &str, namespace: &str) -> String {
    let digest = Sha256::digest(format!("{token}{name}{namespace}").as_bytes());
    format!("{RECEIVER_WEBHOOK_PATH}{}", hex::encode(digest))
}

/// Constant-time string equality (the length may leak, the content not).
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Paths of the Receivers that are ready, filled by the Receiver reconciler
/// before it publishes `status.webhookPath`, so a path is served as soon as
/// anyone can read it.
#[derive(Default)]
pub struct PathIndex {
    by_receiver: Mutex<HashMap<ObjectKey, String>>,
}

impl PathIndex {
    /// Serves `path` for `receiver` (replacing its previous path).
    pub fn insert(&self, receiver: ObjectKey, path: String) {
        self.lock().insert(receiver, path);
    }

    /// Stops serving `receiver`'s path.
    pub fn remove(&self, receiver: &ObjectKey) {
        self.lock().remove(receiver);
    }

    /// The Receiver serving `path`. Every entry is compared, in constant
    /// time, so timing says nothing about how close a guess was.
    pub fn find(&self, path: &str) -> Option<ObjectKey> {
        let mut found = None;
        for (key, p) in self.lock().iter() {
            if ct_eq(p, path) {
                found = Some(key.clone());
            }
        }
        found
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ObjectKey, String>> {
        self.by_receiver.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_is_sha256_of_token_name_namespace() {
        // printf '%s' 'tokenreceiverflux-system' | sha256sum
        let expected = hex::encode(Sha256::digest(b"tokenreceiverflux-system"));
        assert_eq!(
            webhook_path("token", "receiver", "flux-system"),
            format!("/hook/{expected}")
        );
    }

    #[test]
    fn index_finds_and_forgets() {
        let index = PathIndex::default();
        let key = ObjectKey {
            namespace: "ns".into(),
            name: "r".into(),
        };
        index.insert(key.clone(), "/hook/abc".into());
        assert_eq!(index.find("/hook/abc"), Some(key.clone()));
        assert_eq!(index.find("/hook/abd"), None);
        index.insert(key.clone(), "/hook/new".into());
        assert_eq!(index.find("/hook/abc"), None);
        index.remove(&key);
        assert_eq!(index.find("/hook/new"), None);
    }
}
