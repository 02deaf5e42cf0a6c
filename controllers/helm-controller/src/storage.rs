//! Helm's release storage on the cluster: the `sh.helm.release.v1.*`
//! Secrets of a namespace, read and written as Helm v4's Secret driver does
//! (so `helm list`, `helm history` and Helm's own upgrades see our releases,
//! and we see theirs). The encoding lives in `ferroflux_helm::release`.

use ferroflux_helm::release::{self, Driver, History, Limits, Record, Stamp};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use serde_json::Value;

/// Why the storage could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The API server refused or failed.
    #[error("{action} release storage in namespace '{namespace}': {source}")]
    Api {
        /// What was done.
        action: &'static str,
        /// The storage namespace.
        namespace: String,
        /// The error.
        source: kube::Error,
    },
    /// A record could not be encoded.
    #[error("encoding release record: {0}")]
    Encode(#[from] release::StorageError),
    /// A record is not a Secret (cannot happen with our own encoding).
    #[error("release record is not a Secret: {0}")]
    Shape(#[from] serde_json::Error),
}

/// The release records of one namespace, through a client that may
/// impersonate the tenant (Helm's storage is written as the tenant too).
#[derive(Clone)]
pub struct Storage {
    api: Api<Secret>,
    namespace: String,
    limits: Limits,
}

impl Storage {
    /// The storage in `namespace` through `client`.
    pub fn new(client: kube::Client, namespace: &str) -> Self {
        Storage {
            api: Api::namespaced(client, namespace),
            namespace: namespace.to_string(),
            limits: Limits::default(),
        }
    }

    /// The storage namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    fn err(&self, action: &'static str, source: kube::Error) -> StorageError {
        StorageError::Api {
            action,
            namespace: self.namespace.clone(),
            source,
        }
    }

    /// Every revision of `release` (records that fail to decode are set
    /// aside in the history's `skipped`).
    pub async fn history(&self, release: &str) -> Result<History, StorageError> {
        let params = ListParams::default().labels(&release::storage::history_selector(release));
        let list = self
            .api
            .list(&params)
            .await
            .map_err(|e| self.err("listing", e))?;
        let objects: Vec<Value> = list
            .items
            .iter()
            .filter_map(|s| serde_json::to_value(s).ok())
            .collect();
        Ok(History::from_objects(
            release,
            Driver::Secret,
            objects.iter(),
            self.limits,
        ))
    }

    /// The record's object as it is written here: in the storage
    /// namespace, which differs from the release's own namespace when the
    /// HelmRelease has a `targetNamespace` (Helm's driver writes where its
    /// client is namespaced, whatever the release's namespace).
    fn secret(&self, record: &Record, stamp: Stamp) -> Result<Secret, StorageError> {
        let object = record.to_object(Driver::Secret, stamp)?;
        let mut secret: Secret = serde_json::from_value(object)?;
        secret.metadata.namespace = Some(self.namespace.clone());
        Ok(secret)
    }

    /// Creates the object of a new revision (`createdAt` label, as Helm).
    pub async fn create(&self, record: &Record) -> Result<(), StorageError> {
        let secret = self.secret(record, Stamp::created_now())?;
        self.api
            .create(&PostParams::default(), &secret)
            .await
            .map_err(|e| self.err("creating a record in", e))?;
        Ok(())
    }

    /// Replaces the object of an existing revision (`modifiedAt` label,
    /// as Helm's driver: labels are recomputed, the release's own kept).
    pub async fn update(&self, record: &Record) -> Result<(), StorageError> {
        let secret = self.secret(record, Stamp::modified_now())?;
        let name = record.object_name();
        self.api
            .replace(&name, &PostParams::default(), &secret)
            .await
            .map_err(|e| self.err("updating a record in", e))?;
        Ok(())
    }

    /// Deletes revision `version` of `release` (gone already is fine).
    pub async fn delete(&self, release: &str, version: i64) -> Result<(), StorageError> {
        let name = release::storage::object_name(release, version);
        match self.api.delete(&name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(self.err("deleting a record in", e)),
        }
    }

    /// Deletes the oldest revisions beyond `max_history` (0: keep all),
    /// as Helm does after each new revision; never the deployed one.
    pub async fn prune(&self, release: &str, max_history: i64) -> Result<(), StorageError> {
        if max_history <= 0 {
            return Ok(());
        }
        let history = self.history(release).await?;
        let max = usize::try_from(max_history).unwrap_or(usize::MAX);
        for version in history.versions_to_prune(max) {
            self.delete(release, version).await?;
        }
        Ok(())
    }
}
