//! Sub-types shared by several source kinds: OCI registry authentication
//! providers and signature verification of OCI artifacts.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::meta::LocalObjectReference;

/// Who supplies credentials for an OCI registry.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum OCIProvider {
    /// Static credentials from a Secret, or anonymous access.
    #[default]
    Generic,
    /// Amazon ECR, with the pod's AWS identity.
    Aws,
    /// Azure Container Registry, with the pod's Azure identity.
    Azure,
    /// Google Artifact Registry, with the pod's GCP identity.
    Gcp,
}

/// The signing technology an OCI artifact is checked against.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum VerificationProvider {
    /// Sigstore cosign, with public keys or keyless (OIDC identities).
    #[default]
    Cosign,
    /// Notary Project notation, with certificates and a trust policy.
    Notation,
}

/// Signature check of a Helm chart pulled from an OCI registry.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("required" = ["provider"]))]
pub struct HelmChartVerification {
    /// Signing technology to verify with; `cosign` unless set.
    #[serde(default)]
    pub provider: VerificationProvider,
    /// Secret holding the trusted public keys (cosign) or the certificates
    /// and trust policy (notation). Without it, cosign verifies keyless.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Keyless cosign only: the signer's certificate must match at least one
    /// of these issuer/subject pairs.
    #[serde(
        default,
        rename = "matchOIDCIdentity",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub match_oidc_identity: Vec<OIDCIdentityMatch>,
}

/// Signature check of an artifact pulled by an OCIRepository.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("required" = ["provider"]))]
pub struct OCIRepositoryVerification {
    /// Signing technology to verify with; `cosign` unless set.
    #[serde(default)]
    pub provider: VerificationProvider,
    /// Secret holding the trusted public keys (cosign) or the certificates
    /// and trust policy (notation). Without it, cosign verifies keyless.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Keyless cosign only: the signer's certificate must match at least one
    /// of these issuer/subject pairs.
    #[serde(
        default,
        rename = "matchOIDCIdentity",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub match_oidc_identity: Vec<OIDCIdentityMatch>,
    /// Secret with a Sigstore `trusted_root.json` key, for verifying against
    /// a self-hosted Sigstore (own Fulcio CA and Rekor log) instead of the
    /// public one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_root_secret_ref: Option<LocalObjectReference>,
}

/// An accepted keyless signer: both regular expressions (Go syntax) must
/// match the Fulcio certificate.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct OIDCIdentityMatch {
    /// Regular expression the certificate's OIDC issuer must match.
    pub issuer: String,
    /// Regular expression the certificate's identity subject must match.
    pub subject: String,
}
