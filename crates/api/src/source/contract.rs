//! What every source kind offers the controllers that consume it: an
//! artifact, its revision, and readiness. Consumers read sources through
//! [`Source`], typed ([`super::v1::GitRepository`], ...) or, when the kind is
//! only known at run time, as an [`AnySource`].

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta};
use serde::{Deserialize, Deserializer};

use crate::conditions::{self, READY};
use crate::meta::Artifact;

/// The contract between source-controller (or any producer of artifacts)
/// and the controllers that build from sources.
pub trait Source {
    /// The artifact the source advertises in `status.artifact`, if any.
    fn artifact(&self) -> Option<&Artifact>;

    /// The source's status conditions.
    fn source_conditions(&self) -> &[Condition];

    /// The revision of the current artifact (`main@sha1:<hex>`, ...).
    fn revision(&self) -> Option<&str> {
        self.artifact().map(|a| a.revision.as_str())
    }

    /// Whether the source's `Ready` condition is `True` (as Flux's
    /// `conditions.IsReady`; the artifact may be older than the spec).
    fn is_ready(&self) -> bool {
        conditions::is_true(self.source_conditions(), READY)
    }
}

/// Implements [`Source`] for a kind whose status struct has `artifact:
/// Option<Artifact>` and `conditions: Vec<Condition>`.
macro_rules! impl_source {
    ($($kind:ty),* $(,)?) => {$(
        impl Source for $kind {
            fn artifact(&self) -> Option<&Artifact> {
                self.status.as_ref().and_then(|s| s.artifact.as_ref())
            }

            fn source_conditions(&self) -> &[Condition] {
                self.status.as_ref().map(|s| s.conditions.as_slice()).unwrap_or(&[])
            }
        }
    )*};
}

impl_source!(
    super::v1::GitRepository,
    super::v1beta2::GitRepository,
    super::v1::OCIRepository,
    super::v1::Bucket,
    super::v1::HelmChart,
    super::v1::HelmRepository,
    super::v1::ExternalArtifact,
);

/// A source of any kind, read from the API as a dynamic object: the parts
/// of its status every source kind shares. Unreadable parts count as
/// absent, so a malformed status reads as "no artifact yet", not an error.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
pub struct AnySource {
    /// The object's metadata.
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The shared part of its status.
    #[serde(default, deserialize_with = "lenient")]
    pub status: Option<AnySourceStatus>,
}

/// The status fields every source kind has.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AnySourceStatus {
    /// `status.observedGeneration`.
    #[serde(default, deserialize_with = "lenient")]
    pub observed_generation: Option<i64>,
    /// `status.conditions`.
    #[serde(default, deserialize_with = "lenient_vec")]
    pub conditions: Vec<Condition>,
    /// `status.artifact`.
    #[serde(default, deserialize_with = "lenient")]
    pub artifact: Option<Artifact>,
}

fn lenient<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(
    d: D,
) -> Result<Option<T>, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(value).ok())
}

fn lenient_vec<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    Ok(lenient::<D, Vec<T>>(d)?.unwrap_or_default())
}

impl AnySource {
    /// Reads the source parts of a dynamic object.
    pub fn from_dynamic(obj: &kube::core::DynamicObject) -> AnySource {
        let status = obj
            .data
            .get("status")
            .and_then(|s| serde_json::from_value(s.clone()).ok());
        AnySource {
            metadata: obj.metadata.clone(),
            status,
        }
    }
}

impl Source for AnySource {
    fn artifact(&self) -> Option<&Artifact> {
        self.status.as_ref().and_then(|s| s.artifact.as_ref())
    }

    fn source_conditions(&self) -> &[Condition] {
        self.status
            .as_ref()
            .map(|s| s.conditions.as_slice())
            .unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn artifact() -> serde_json::Value {
        json!({"path": "p", "url": "http://s/p.tar.gz", "revision": "main@sha1:abc",
               "digest": "sha256:00", "lastUpdateTime": "2026-01-01T00:00:00Z",
               "metadata": {"org.opencontainers.image.revision": "v1@sha1:def"}})
    }

    #[test]
    fn typed_kinds_share_the_contract() {
        let repo: super::super::v1::GitRepository = serde_json::from_value(json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "r"}, "spec": {"url": "https://h/r", "interval": "1m"},
            "status": {"artifact": artifact(), "conditions": [{"type": "Ready", "status": "True",
                "reason": "Succeeded", "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
        }))
        .unwrap();
        assert_eq!(repo.revision(), Some("main@sha1:abc"));
        assert!(repo.is_ready());
        let empty: super::super::v1::Bucket = serde_json::from_value(json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "Bucket",
            "metadata": {"name": "b"}, "spec": {"bucketName": "b", "endpoint": "e", "interval": "1m"}
        }))
        .unwrap();
        assert!(empty.artifact().is_none() && !empty.is_ready());
    }

    #[test]
    fn any_source_reads_what_it_can() {
        let obj: kube::core::DynamicObject = serde_json::from_value(json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "ExternalArtifact",
            "metadata": {"name": "x"}, "status": {"artifact": artifact(), "conditions": "junk"}
        }))
        .unwrap();
        let s = AnySource::from_dynamic(&obj);
        assert_eq!(s.revision(), Some("main@sha1:abc"));
        assert_eq!(
            s.artifact().and_then(Artifact::origin_revision),
            Some("v1@sha1:def")
        );
        assert!(!s.is_ready());
        // An artifact missing required fields is no artifact.
        let obj: kube::core::DynamicObject = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "X", "metadata": {"name": "x"},
            "status": {"artifact": {"url": "u"}}
        }))
        .unwrap();
        assert!(AnySource::from_dynamic(&obj).artifact().is_none());
        let obj: kube::core::DynamicObject = serde_json::from_value(
            json!({"apiVersion": "v1", "kind": "X", "metadata": {"name": "x"}, "status": 7}),
        )
        .unwrap();
        assert_eq!(AnySource::from_dynamic(&obj).status, None);
    }
}
