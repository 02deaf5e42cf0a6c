//! The Kubernetes object holding one revision, as Helm's storage drivers
//! write it: a Secret `sh.helm.release.v1.<name>.v<revision>` of type
//! `helm.sh/release.v1` (or a ConfigMap with `HELM_DRIVER=configmap`),
//! labelled `name`, `owner=helm`, `status`, `version` and `createdAt` (on
//! create) or `modifiedAt` (on update), with `data.release` holding the
//! encoded release. A Secret's `data` is base64 again, as for every Secret.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use regex::Regex;
use serde_json::{Map, Value, json};

use super::codec::{self, CodecError, Limits};
use super::types::{Release, Status};

/// The Secret type Helm 3 and 4 give release records.
pub const SECRET_TYPE: &str = "helm.sh/release.v1";

/// The `owner` label's value on every record.
pub const OWNER: &str = "helm";

/// Labels Helm sets itself; the others on a record are the release's own
/// (`helm install --labels`).
pub const SYSTEM_LABELS: [&str; 6] = [
    "name",
    "owner",
    "status",
    "version",
    "createdAt",
    "modifiedAt",
];

/// Helm's release-name rule (`ValidateReleaseName`): a DNS-1123 subdomain
/// of at most 53 characters, so that every object name Helm derives from it
/// (this record's among them) is valid.
pub fn validate_release_name(name: &str) -> Result<(), NameError> {
    static VALID: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(VALID_NAME).expect("the release name pattern compiles"));
    if name.is_empty() {
        return Err(NameError::Missing);
    }
    if name.len() > MAX_RELEASE_NAME || !VALID.is_match(name) {
        return Err(NameError::Invalid);
    }
    Ok(())
}

const VALID_NAME: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
const MAX_RELEASE_NAME: usize = 53;

/// Why a release name is refused, in Helm's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty.
    #[error("no name provided")]
    Missing,
    /// Too long or not a DNS-1123 subdomain.
    #[error(
        "invalid release name, must match regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the length must not be longer than 53"
    )]
    Invalid,
}

/// The object name of a release revision: `sh.helm.release.v1.<name>.v<version>`.
pub fn object_name(release: &str, version: i64) -> String {
    format!("sh.helm.release.v1.{release}.v{version}")
}

/// The label selector Helm lists a release's records with.
pub fn history_selector(release: &str) -> String {
    format!("name={release},owner={OWNER}")
}

/// The label selector for every release record in a namespace.
pub fn owner_selector() -> String {
    format!("owner={OWNER}")
}

/// Which kind of object holds the records (Helm's `HELM_DRIVER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Driver {
    /// Secrets (Helm's default).
    #[default]
    Secret,
    /// ConfigMaps.
    ConfigMap,
}

impl Driver {
    /// The object kind.
    pub fn kind(self) -> &'static str {
        match self {
            Driver::Secret => "Secret",
            Driver::ConfigMap => "ConfigMap",
        }
    }
}

/// The timestamp label a write carries: Helm's driver sets `createdAt` when
/// it creates a record and `modifiedAt` (replacing all labels) when it
/// updates one. Seconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamp {
    /// A new object.
    Created(i64),
    /// A replaced object.
    Modified(i64),
}

impl Stamp {
    /// `Created` now.
    pub fn created_now() -> Self {
        Stamp::Created(unix_now())
    }

    /// `Modified` now.
    pub fn modified_now() -> Self {
        Stamp::Modified(unix_now())
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Why an object is not a readable release record.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// Not a JSON object with `metadata`.
    #[error("release record is not a Kubernetes object")]
    NotAnObject,
    /// A kind other than the driver's.
    #[error("release record {name:?} is a {found}, expected a {expected}")]
    WrongKind {
        /// The object's name.
        name: String,
        /// Its kind.
        found: String,
        /// The driver's kind.
        expected: &'static str,
    },
    /// No `data.release` string.
    #[error("release record {name:?} has no data.release")]
    MissingData {
        /// The object's name.
        name: String,
    },
    /// A Secret's `data.release` is not base64 of text.
    #[error("release record {name:?}: Secret data.release is not base64 of text")]
    SecretData {
        /// The object's name.
        name: String,
    },
    /// `data.release` itself does not decode.
    #[error("release record {name:?}: {source}")]
    Codec {
        /// The object's name.
        name: String,
        /// What failed.
        #[source]
        source: CodecError,
    },
    /// A label value is not a string.
    #[error("release record {name:?}: label {label:?} is not a string")]
    Label {
        /// The object's name.
        name: String,
        /// The label.
        label: String,
    },
}

/// One stored revision: the release and the labels of the object holding it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Record {
    /// The release.
    pub release: Release,
    /// The object's labels as read (system labels included). When writing,
    /// the system labels are recomputed and the others kept, as Helm keeps a
    /// release's own labels.
    pub labels: BTreeMap<String, String>,
}

impl Record {
    /// A record of `release` with no labels of its own.
    pub fn new(release: Release) -> Self {
        Record {
            release,
            labels: BTreeMap::new(),
        }
    }

    /// The object name: `sh.helm.release.v1.<name>.v<version>`.
    pub fn object_name(&self) -> String {
        object_name(&self.release.name, self.release.version)
    }

    /// The release's own labels: the object's without Helm's system labels
    /// (what Helm's `Get` returns as the release's labels).
    pub fn custom_labels(&self) -> BTreeMap<String, String> {
        self.labels
            .iter()
            .filter(|(k, _)| !SYSTEM_LABELS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The status the record is listed under: its `status` label, which is
    /// what Helm's storage queries select by, else the release's status.
    pub fn listed_status(&self) -> Option<Status> {
        match self.labels.get("status") {
            Some(s) => Some(Status::from(s.as_str())),
            None => self.release.status().cloned(),
        }
    }

    /// The labels a write of this record carries, as Helm computes them.
    pub fn labels_for_write(&self, stamp: Stamp) -> BTreeMap<String, String> {
        let mut labels = self.custom_labels();
        match stamp {
            Stamp::Created(t) => labels.insert("createdAt".into(), t.to_string()),
            Stamp::Modified(t) => labels.insert("modifiedAt".into(), t.to_string()),
        };
        let status = self
            .release
            .status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default();
        labels.insert("name".into(), self.release.name.clone());
        labels.insert("owner".into(), OWNER.into());
        labels.insert("status".into(), status);
        labels.insert("version".into(), self.release.version.to_string());
        labels
    }

    /// The object to create or replace for this record. It is namespaced in
    /// the release's namespace when the release names one.
    pub fn to_object(&self, driver: Driver, stamp: Stamp) -> Result<Value, StorageError> {
        let encoded = codec::encode(&self.release).map_err(|source| StorageError::Codec {
            name: self.object_name(),
            source,
        })?;
        let mut metadata = Map::new();
        metadata.insert("name".into(), Value::String(self.object_name()));
        if !self.release.namespace.is_empty() {
            metadata.insert(
                "namespace".into(),
                Value::String(self.release.namespace.clone()),
            );
        }
        metadata.insert("labels".into(), json!(self.labels_for_write(stamp)));
        Ok(match driver {
            Driver::Secret => json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": metadata,
                "type": SECRET_TYPE,
                "data": {"release": STANDARD.encode(encoded)},
            }),
            Driver::ConfigMap => json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": metadata,
                "data": {"release": encoded},
            }),
        })
    }

    /// Reads a record from an object in the Kubernetes JSON form (a Secret's
    /// `data` in base64, as the API serves it). A missing `kind` (as in list
    /// items) is taken to be the driver's.
    pub fn from_object(
        driver: Driver,
        object: &Value,
        limits: Limits,
    ) -> Result<Self, StorageError> {
        let metadata = object
            .get("metadata")
            .and_then(Value::as_object)
            .ok_or(StorageError::NotAnObject)?;
        let name = metadata
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if let Some(kind) = object.get("kind").and_then(Value::as_str)
            && kind != driver.kind()
        {
            return Err(StorageError::WrongKind {
                name,
                found: kind.to_owned(),
                expected: driver.kind(),
            });
        }
        let mut labels = BTreeMap::new();
        if let Some(map) = metadata.get("labels").and_then(Value::as_object) {
            for (k, v) in map {
                let v = v.as_str().ok_or_else(|| StorageError::Label {
                    name: name.clone(),
                    label: k.clone(),
                })?;
                labels.insert(k.clone(), v.to_owned());
            }
        }
        let data = object
            .get("data")
            .and_then(|d| d.get("release"))
            .and_then(Value::as_str)
            .ok_or_else(|| StorageError::MissingData { name: name.clone() })?;
        let decoded;
        let data = match driver {
            Driver::Secret => {
                decoded = STANDARD
                    .decode(data.as_bytes())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| StorageError::SecretData { name: name.clone() })?;
                decoded.as_str()
            }
            Driver::ConfigMap => data,
        };
        let release =
            codec::decode(data, limits).map_err(|source| StorageError::Codec { name, source })?;
        Ok(Record { release, labels })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::release::types::Info;

    fn release(version: i64, status: Status) -> Release {
        Release {
            name: "web".into(),
            namespace: "apps".into(),
            version,
            info: Some(Info {
                status: Some(status),
                description: "Install complete".into(),
                ..Info::default()
            }),
            ..Release::default()
        }
    }

    #[test]
    fn secret_shape_is_helms() {
        let mut record = Record::new(release(3, Status::Deployed));
        record.labels.insert("team".into(), "a".into());
        // Stale system labels from a read are replaced, never carried.
        record.labels.insert("status".into(), "failed".into());
        record.labels.insert("createdAt".into(), "1".into());
        let obj = record
            .to_object(Driver::Secret, Stamp::Modified(42))
            .unwrap();
        assert_eq!(obj["kind"], "Secret");
        assert_eq!(obj["type"], "helm.sh/release.v1");
        assert_eq!(obj["metadata"]["name"], "sh.helm.release.v1.web.v3");
        assert_eq!(obj["metadata"]["namespace"], "apps");
        assert_eq!(
            obj["metadata"]["labels"],
            json!({"name": "web", "owner": "helm", "status": "deployed", "version": "3",
                   "modifiedAt": "42", "team": "a"})
        );
        // data.release is base64 (Secret) of base64 (Helm) of gzip.
        let outer = STANDARD
            .decode(obj["data"]["release"].as_str().unwrap())
            .unwrap();
        let inner = STANDARD.decode(&outer).unwrap();
        assert_eq!(&inner[..2], &[0x1f, 0x8b]);

        let back = Record::from_object(Driver::Secret, &obj, Limits::default()).unwrap();
        assert_eq!(back.release, record.release);
        assert_eq!(
            back.custom_labels(),
            BTreeMap::from([("team".into(), "a".into())])
        );
        assert_eq!(back.listed_status(), Some(Status::Deployed));
    }

    #[test]
    fn config_map_shape_is_helms() {
        let record = Record::new(release(1, Status::PendingInstall));
        let obj = record
            .to_object(Driver::ConfigMap, Stamp::Created(7))
            .unwrap();
        assert_eq!(obj["kind"], "ConfigMap");
        assert!(obj.get("type").is_none());
        assert_eq!(obj["metadata"]["labels"]["createdAt"], "7");
        assert_eq!(obj["metadata"]["labels"]["status"], "pending-install");
        // A ConfigMap's data is text: one base64 layer only.
        let inner = STANDARD
            .decode(obj["data"]["release"].as_str().unwrap())
            .unwrap();
        assert_eq!(&inner[..2], &[0x1f, 0x8b]);
        let back = Record::from_object(Driver::ConfigMap, &obj, Limits::default()).unwrap();
        assert_eq!(back.release, record.release);
        let err = Record::from_object(Driver::Secret, &obj, Limits::default()).unwrap_err();
        assert!(matches!(err, StorageError::WrongKind { .. }), "{err}");
    }

    #[test]
    fn release_names_follow_helms_rule() {
        for good in ["a", "web", "a-b", "a.b-c.d", "1abc", &"a".repeat(53)] {
            assert_eq!(validate_release_name(good), Ok(()), "{good}");
        }
        assert_eq!(validate_release_name(""), Err(NameError::Missing));
        for bad in [
            "-a",
            "a-",
            "A",
            "a_b",
            "a..b",
            "a/b",
            "a.",
            ".a",
            "a b",
            "ä",
            &"a".repeat(54),
        ] {
            assert_eq!(validate_release_name(bad), Err(NameError::Invalid), "{bad}");
        }
        assert!(NameError::Invalid.to_string().contains(VALID_NAME));
    }

    #[test]
    fn bad_objects_are_named_errors() {
        let limits = Limits::default();
        let err = Record::from_object(Driver::Secret, &json!([1]), limits).unwrap_err();
        assert!(matches!(err, StorageError::NotAnObject), "{err}");
        let no_data = json!({"metadata": {"name": "sh.helm.release.v1.x.v1"}});
        let err = Record::from_object(Driver::Secret, &no_data, limits).unwrap_err();
        assert_eq!(
            err.to_string(),
            "release record \"sh.helm.release.v1.x.v1\" has no data.release"
        );
        let not_b64 = json!({"metadata": {"name": "x"}, "data": {"release": "%%%"}});
        let err = Record::from_object(Driver::Secret, &not_b64, limits).unwrap_err();
        assert!(matches!(err, StorageError::SecretData { .. }), "{err}");
        let inner_bad = json!({"metadata": {"name": "x"},
                               "data": {"release": STANDARD.encode("%%%")}});
        let err = Record::from_object(Driver::Secret, &inner_bad, limits).unwrap_err();
        assert!(err.to_string().contains("not valid base64"), "{err}");
        let bad_label = json!({"metadata": {"name": "x", "labels": {"a": 1}},
                               "data": {"release": ""}});
        let err = Record::from_object(Driver::Secret, &bad_label, limits).unwrap_err();
        assert!(matches!(err, StorageError::Label { .. }), "{err}");
    }
}
