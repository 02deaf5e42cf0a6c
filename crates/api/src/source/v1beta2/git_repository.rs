//! GitRepository as it was in v1beta2 (deprecated; stored as v1).
//!
//! Differences from v1: `gitImplementation` and `accessFrom` exist, only
//! `verify.mode: head` is known (and must be given), `provider`,
//! `serviceAccountName`, `proxySecretRef` and `sparseCheckout` do not exist,
//! and the status still carries `url` and `contentConfigChecksum`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::{Duration, TIMEOUT_PATTERN};
use crate::meta::{AccessFrom, Artifact, LocalObjectReference};
use crate::source::v1::{GitRepositoryInclude, GitRepositoryRef};

/// Which repository to clone, which revision to follow, and how to
/// authenticate and verify it (v1beta2 field set).
// kube's `printcolumn(...)` entries repeat `type_ = "string"` by design.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1beta2",
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
    deprecated = "v1beta2 GitRepository is deprecated, upgrade to v1",
    doc = "A Git repository whose checked-out revision is stored as an artifact (deprecated version).",
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
pub struct GitRepositorySpec {
    /// Repository address: `http://`, `https://` or `ssh://`.
    #[schemars(regex(pattern = "^(http|https|ssh)://.*$"))]
    pub url: String,
    /// Secret with credentials. HTTP/S: `username` and `password` (basic
    /// auth) or `bearerToken`. SSH: `identity` (private key) and `known_hosts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// How often the remote is checked for a new revision.
    pub interval: Duration,
    /// Time limit of Git operations such as clone; 60s by default.
    #[serde(default = "default_timeout", skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = TIMEOUT_PATTERN))]
    pub timeout: Option<Duration>,
    /// Revision to check out and follow; the `master` branch when unset.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<GitRepositoryRef>,
    /// Check the signature of the checked-out commit.
    #[serde(default, rename = "verify", skip_serializing_if = "Option::is_none")]
    pub verification: Option<GitRepositoryVerification>,
    /// Exclusion patterns in `.sourceignore` (gitignore) syntax, replacing
    /// the built-in defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
    /// Stop reconciling this GitRepository while true.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
    /// Git client library. Deprecated and ignored: there is only one
    /// implementation; `go-git` by default.
    #[serde(default)]
    pub git_implementation: GitImplementation,
    /// Also clone every submodule (with its default settings).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recurse_submodules: bool,
    /// Other GitRepositories (same namespace) whose artifact contents are
    /// copied into this one's artifact.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<GitRepositoryInclude>,
    /// Namespaces allowed to refer to this object across namespaces.
    /// Provisional: accepted but not enforced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_from: Option<AccessFrom>,
}

fn default_timeout() -> Option<Duration> {
    "60s".parse().ok()
}

/// Git client libraries v1beta2 could choose from.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum GitImplementation {
    /// The pure-Go client.
    #[default]
    #[serde(rename = "go-git")]
    GoGit,
    /// The libgit2 bindings.
    #[serde(rename = "libgit2")]
    Libgit2,
}

/// Which signatures to check and the keys to trust (v1beta2).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryVerification {
    /// What to verify; only `head` (the checked-out commit) exists.
    pub mode: GitVerificationMode,
    /// Secret with the trusted OpenPGP public keys.
    pub secret_ref: LocalObjectReference,
}

/// Which Git objects must carry a trusted signature (v1beta2).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum GitVerificationMode {
    /// The checked-out commit.
    #[serde(rename = "head")]
    Head,
}

/// What the controller last observed and produced (v1beta2 field set).
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
    /// Download address of the latest artifact; prefer `artifact.url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The archive produced by the last successful reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// Artifacts of the `include` entries copied into the current artifact.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub included_artifacts: Vec<Artifact>,
    /// Deprecated: `<algo>:<checksum>` over the content settings (ignore,
    /// submodules, includes) of the observed generation; replaced by the
    /// `observed*` fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_config_checksum: Option<String>,
    /// Exclusion patterns used for the current artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_ignore: Option<String>,
    /// `recurseSubmodules` as used for the current artifact.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub observed_recurse_submodules: bool,
    /// `include` as used for the current artifact.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub observed_include: Vec<GitRepositoryInclude>,
    /// Last `reconcile.fluxcd.io/requestedAt` value acted upon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

crate::impl_object_with_conditions!(GitRepository);
crate::impl_flux_object!(GitRepository, required);
