//! GitRepository: an artifact made from one revision of a Git repository.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::{Duration, TIMEOUT_PATTERN};
use crate::meta::{Artifact, LocalObjectReference};

/// Which repository to clone, which revision to follow, and how to
/// authenticate and verify it.
// kube's `printcolumn(...)` entries repeat `type_ = "string"` by design.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "GitRepository",
    plural = "gitrepositories",
    namespaced,
    status = "GitRepositoryStatus",
    derive = "PartialEq",
    shortname = "gitrepo",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    doc = "A Git repository whose checked-out revision is stored as an artifact.",
    printcolumn(name = "URL", type_ = "string", json_path = ".spec.url"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].status"#
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].message"#
    )
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "message": "spec.serviceAccountName needs provider 'azure' or 'aws'",
    "rule": "!has(self.serviceAccountName) || (has(self.provider) && (self.provider == 'azure' || self.provider == 'aws'))"
}]))]
pub struct GitRepositorySpec {
    /// Repository address: `http://`, `https://` or `ssh://`.
    #[schemars(regex(pattern = "^(http|https|ssh)://.*$"))]
    pub url: String,
    /// Secret with credentials. HTTP/S: `username` and `password` (basic
    /// auth) or `bearerToken`. SSH: `identity` (private key) and `known_hosts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Where credentials come from: `generic` (from `secretRef`, the
    /// behaviour when unset), `aws`, `azure` or `github`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<GitProvider>,
    /// ServiceAccount whose workload identity authenticates to the
    /// repository. Only for the `azure` and `aws` providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// How often the remote is checked for a new revision (with some jitter).
    pub interval: Duration,
    /// Time limit of Git operations such as clone; 60s by default.
    #[serde(default = "default_timeout", skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = TIMEOUT_PATTERN))]
    pub timeout: Option<Duration>,
    /// Revision to check out and follow; the `master` branch when unset.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<GitRepositoryRef>,
    /// Check the OpenPGP or SSH signature of the commit and/or tag.
    #[serde(default, rename = "verify", skip_serializing_if = "Option::is_none")]
    pub verification: Option<GitRepositoryVerification>,
    /// Secret with the proxy (`address`, optional `username`, `password`)
    /// used to reach the Git server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
    /// Exclusion patterns in `.sourceignore` (gitignore) syntax, replacing
    /// the built-in defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
    /// Stop reconciling this GitRepository while true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
    /// Also clone every submodule (with its default settings).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recurse_submodules: bool,
    /// Other GitRepositories (same namespace) whose artifact contents are
    /// copied into this one's artifact.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<GitRepositoryInclude>,
    /// Directories to check out; when set, the artifact holds only these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sparse_checkout: Vec<String>,
}

fn default_timeout() -> Option<Duration> {
    "60s".parse().ok()
}

impl GitRepositorySpec {
    /// The credentials provider, `generic` when unset.
    pub fn provider(&self) -> GitProvider {
        self.provider.unwrap_or_default()
    }
}

/// Where Git credentials come from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum GitProvider {
    /// From the Secret named by `secretRef`.
    #[default]
    Generic,
    /// AWS CodeCommit, with the pod's (or ServiceAccount's) IAM identity.
    Aws,
    /// Azure DevOps, with a managed or workload identity.
    Azure,
    /// GitHub, as a GitHub App whose keys are in `secretRef`.
    Github,
}

/// Another GitRepository whose artifact (or a directory of it) is copied
/// into this one's artifact.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryInclude {
    /// The GitRepository to copy from.
    #[serde(rename = "repository")]
    pub git_repository_ref: LocalObjectReference,
    /// Directory of the included artifact to copy; its root when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_path: Option<String>,
    /// Destination directory in this artifact; the included repository's
    /// name when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_path: Option<String>,
}

impl GitRepositoryInclude {
    /// The destination path, falling back to the included repository's name.
    pub fn to_path(&self) -> &str {
        match self.to_path.as_deref() {
            Some(p) if !p.is_empty() => p,
            _ => &self.git_repository_ref.name,
        }
    }
}

/// The revision to check out. When several fields are set, `commit` wins,
/// then `name`, then `semver`, then `tag`, then `branch`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryRef {
    /// Branch to follow; `master` when no other field is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Tag to check out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// SemVer range; the highest matching tag is checked out.
    #[serde(default, rename = "semver", skip_serializing_if = "Option::is_none")]
    pub semver: Option<String>,
    /// Full Git reference name, e.g. `refs/heads/main`, `refs/tags/v1.0.0`
    /// or `refs/pull/7/head`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Commit SHA to check out. Together with `branch`, only that branch is
    /// (shallow) cloned and must contain the commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// Which signatures to check and the keys to trust.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryVerification {
    /// What to verify: `HEAD` (the checked-out commit, the default; `head`
    /// is accepted too), `Tag` (the tag object) or `TagAndHEAD` (both).
    #[serde(
        default = "default_verification_mode",
        skip_serializing_if = "Option::is_none"
    )]
    pub mode: Option<GitVerificationMode>,
    /// Secret with the trusted public keys: OpenPGP keys under keys ending in
    /// `.asc`, SSH keys under keys ending in `.sshpub`.
    pub secret_ref: LocalObjectReference,
}

fn default_verification_mode() -> Option<GitVerificationMode> {
    Some(GitVerificationMode::Head)
}

impl GitRepositoryVerification {
    /// The mode to apply, `HEAD` when unset.
    pub fn mode(&self) -> GitVerificationMode {
        self.mode.unwrap_or(GitVerificationMode::Head)
    }
}

/// Which Git objects must carry a trusted signature.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum GitVerificationMode {
    /// The checked-out commit (older spelling of `HEAD`).
    #[serde(rename = "head")]
    LegacyHead,
    /// The checked-out commit.
    #[serde(rename = "HEAD")]
    Head,
    /// The annotated tag that was checked out.
    Tag,
    /// The annotated tag and the commit it points to.
    TagAndHEAD,
}

impl GitVerificationMode {
    /// Whether the commit HEAD points to must be verified.
    pub fn verify_head(self) -> bool {
        matches!(self, Self::Head | Self::LegacyHead | Self::TagAndHEAD)
    }

    /// Whether the tag object must be verified.
    pub fn verify_tag(self) -> bool {
        matches!(self, Self::Tag | Self::TagAndHEAD)
    }
}

/// What the controller last observed and produced for a GitRepository.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryStatus {
    /// Generation of the spec the status was written for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Current conditions (`Ready`, `Reconciling`, `Stalled`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "crate::meta::conditions_schema")]
    pub conditions: Vec<Condition>,
    /// The archive produced by the last successful reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// Artifacts of the `include` entries copied into the current artifact.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub included_artifacts: Vec<Artifact>,
    /// Exclusion patterns used for the current artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_ignore: Option<String>,
    /// `recurseSubmodules` as used for the current artifact.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub observed_recurse_submodules: bool,
    /// `include` as used for the current artifact.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observed_include: Vec<GitRepositoryInclude>,
    /// `sparseCheckout` as used for the current artifact.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observed_sparse_checkout: Vec<String>,
    /// Verification mode applied to the current artifact's revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub source_verification_mode: Option<GitVerificationMode>,
    /// Last `reconcile.fluxcd.io/requestedAt` value acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

crate::impl_object_with_conditions!(GitRepository);
crate::impl_flux_object!(GitRepository, required);
