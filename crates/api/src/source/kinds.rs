//! The one table of source kinds: how each is reached through the API.
//! Consumers (kustomize-controller's source references and watches,
//! notification-controller's Receivers and Alerts) look kinds up here
//! instead of keeping tables of their own.

use kube::core::{ApiResource, GroupVersionKind};

/// The storage version of every source kind.
const API_VERSION: &str = "source.toolkit.fluxcd.io/v1";

/// One source kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceKindInfo {
    /// The kind as written in manifests (`GitRepository`).
    pub kind: &'static str,
    /// Its REST resource name (`gitrepositories`).
    pub plural: &'static str,
    /// `group/version` a reference without `apiVersion` means (the storage
    /// version).
    pub api_version: &'static str,
    /// Whether Ferroflux installs its CRD (`crds/`), so a controller may
    /// watch it.
    pub served: bool,
}

/// `GitRepository`.
pub const GIT_REPOSITORY: SourceKindInfo = SourceKindInfo {
    kind: "GitRepository",
    plural: "gitrepositories",
    api_version: API_VERSION,
    served: true,
};

/// `OCIRepository`.
pub const OCI_REPOSITORY: SourceKindInfo = SourceKindInfo {
    kind: "OCIRepository",
    plural: "ocirepositories",
    api_version: API_VERSION,
    served: true,
};

/// `Bucket`.
pub const BUCKET: SourceKindInfo = SourceKindInfo {
    kind: "Bucket",
    plural: "buckets",
    api_version: API_VERSION,
    served: true,
};

/// `HelmRepository`.
pub const HELM_REPOSITORY: SourceKindInfo = SourceKindInfo {
    kind: "HelmRepository",
    plural: "helmrepositories",
    api_version: API_VERSION,
    served: true,
};

/// `HelmChart`.
pub const HELM_CHART: SourceKindInfo = SourceKindInfo {
    kind: "HelmChart",
    plural: "helmcharts",
    api_version: API_VERSION,
    served: true,
};

/// `ExternalArtifact`.
pub const EXTERNAL_ARTIFACT: SourceKindInfo = SourceKindInfo {
    kind: "ExternalArtifact",
    plural: "externalartifacts",
    api_version: API_VERSION,
    served: true,
};

/// Every source kind, in the order Flux documents them.
pub const SOURCE_KINDS: &[SourceKindInfo] = &[
    GIT_REPOSITORY,
    OCI_REPOSITORY,
    BUCKET,
    HELM_REPOSITORY,
    HELM_CHART,
    EXTERNAL_ARTIFACT,
];

/// The source kind named `kind`, if it is one.
pub fn source_kind(kind: &str) -> Option<&'static SourceKindInfo> {
    SOURCE_KINDS.iter().find(|k| k.kind == kind)
}

impl SourceKindInfo {
    /// The kind's API group.
    pub fn group(&self) -> &'static str {
        split(self.api_version).0
    }

    /// The API resource at `api_version` (`group/version`), or at the
    /// default version when it is `None` or empty.
    pub fn api_resource(&self, api_version: Option<&str>) -> ApiResource {
        let (group, version) = split(
            api_version
                .filter(|v| !v.is_empty())
                .unwrap_or(self.api_version),
        );
        let gvk = GroupVersionKind::gvk(group, version, self.kind);
        ApiResource::from_gvk_with_plural(&gvk, self.plural)
    }
}

/// `group/version` (or a core `version`) split into its parts.
fn split(api_version: &str) -> (&str, &str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_served_kind_has_a_crd() {
        let crds = crate::crds::all().unwrap();
        for k in SOURCE_KINDS.iter().filter(|k| k.served) {
            assert_eq!(k.group(), super::super::GROUP);
            let plural = format!("{}.{}", k.plural, k.group());
            assert!(
                crds.iter()
                    .any(|c| c.metadata.name.as_deref() == Some(plural.as_str())),
                "{plural} has no CRD"
            );
        }
        assert!(source_kind("Kustomization").is_none());
        // Every kind a Kustomization may build from is in the table.
        for k in crate::kustomize::v1::SourceKind::ALL {
            assert_eq!(source_kind(k.as_str()), Some(k.info()));
        }
    }

    #[test]
    fn resources_at_default_and_given_versions() {
        let git = source_kind("GitRepository").unwrap();
        let r = git.api_resource(None);
        assert_eq!(
            (r.api_version.as_str(), r.plural.as_str()),
            ("source.toolkit.fluxcd.io/v1", "gitrepositories")
        );
        let r = git.api_resource(Some("source.toolkit.fluxcd.io/v1beta2"));
        assert_eq!(
            (r.group.as_str(), r.version.as_str()),
            (super::super::GROUP, "v1beta2")
        );
        assert_eq!(git.api_resource(Some("")), git.api_resource(None));
    }
}
