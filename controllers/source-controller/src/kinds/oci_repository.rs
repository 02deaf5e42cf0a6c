//! OCIRepository: resolve `spec.ref` (digest, else SemVer range over the
//! tags, else tag; `latest` by default) to a manifest, and when its digest
//! (or what shapes the artifact) changed, download the selected layer only,
//! check it, unpack it safely and hand the files to the shared artifact
//! reconcile (or, for `copy`, store the layer as it is). Revisions as
//! Flux: `<tag>@sha256:<hex>`, and `sha256:<hex>` for a digest reference.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use ferroflux_api::conditions::reasons;
use ferroflux_api::meta::Artifact;
use ferroflux_api::source::v1::{OCILayerOperation, OCIProvider, OCIRepository};
use ferroflux_gocompat::semver::{Constraints, Version};
use ferroflux_oci::{
    Client, ClientOptions, Credentials, Manifest, OciError, Reference, Repository,
};
use ferroflux_runtime::events::Recorder;
use ferroflux_runtime::secrets::{self, DockerConfig, ProxySettings, TlsMaterial};
use k8s_openapi::api::core::v1::ServiceAccount;
use kube::{Api, ResourceExt};

use crate::ignore::IgnoreRules;
use crate::reconcile::{
    ArtifactReconciler, ArtifactSource, Fetched, SourceStep, StepFailure, failed, stalled,
};
use crate::storage::Storage;

/// Reason: the manifest or layer could not be pulled (Flux's
/// `OCIArtifactPullFailed`).
pub const OCI_PULL_FAILED: &str = "OCIArtifactPullFailed";
/// Reason: the layer could not be selected or unpacked (Flux's
/// `OCIArtifactLayerOperationFailed`).
pub const OCI_LAYER_OPERATION_FAILED: &str = "OCIArtifactLayerOperationFailed";
/// Reason: `spec.url` (or a reference) is not valid (Flux's `URLInvalid`).
pub const URL_INVALID: &str = "URLInvalid";
/// Reason: the spec asks for something this controller does not do.
pub const VERIFICATION_ERROR: &str = "VerificationError";

/// The OCIRepository reconciler: the shared artifact reconcile over OCI.
pub type OCIRepositoryReconciler = ArtifactReconciler<OCIRepositories>;

/// OCIRepository as an [`ArtifactSource`].
pub struct OCIRepositories {
    client: kube::Client,
    max_size: u64,
}

impl OCIRepositories {
    /// OCIRepositories read with `client`; layers (compressed, and their
    /// unpacked files) limited to `max_size` bytes.
    pub fn new(client: kube::Client, max_size: u64) -> Self {
        Self { client, max_size }
    }
}

/// An OCIRepository reconciler storing artifacts in `storage`, layers and
/// artifacts limited to `max_size` bytes.
pub fn reconciler(
    client: kube::Client,
    storage: Storage,
    recorder: Recorder,
    max_size: u64,
) -> OCIRepositoryReconciler {
    ArtifactReconciler::new(OCIRepositories::new(client, max_size), storage, recorder)
        .with_max_size(max_size)
}

/// What a reconcile reads besides the object: a registry client set up
/// with the object's credentials, TLS and proxy.
pub struct Inputs {
    client: Client,
    url: String,
    timeout: Duration,
}

/// The manifest the reference resolved to.
pub struct Resolved {
    revision: String,
    digest: String,
    manifest: Manifest,
}

/// What an OCIRepository records once its artifact is stored.
pub struct Observed {
    metadata: BTreeMap<String, String>,
    /// For `copy`: the name the layer is stored under as it is.
    copy_name: Option<String>,
}

fn pull_failure(url: &str, e: OciError) -> StepFailure {
    let message = format!("failed to pull artifact from '{url}': {e}");
    match e {
        OciError::Authentication { .. } => failed(reasons::AUTHENTICATION_FAILED, message),
        OciError::InvalidReference { .. } => stalled(URL_INVALID, message),
        _ => failed(OCI_PULL_FAILED, message),
    }
}

/// Runs `work` within the object's timeout.
async fn within<T>(
    inputs: &Inputs,
    what: &str,
    work: impl std::future::Future<Output = Result<T, OciError>>,
) -> Result<T, StepFailure> {
    match tokio::time::timeout(inputs.timeout, work).await {
        Ok(result) => result.map_err(|e| pull_failure(&inputs.url, e)),
        Err(_) => Err(failed(
            OCI_PULL_FAILED,
            format!(
                "failed to {what} '{}': timed out after {}s",
                inputs.url,
                inputs.timeout.as_secs()
            ),
        )),
    }
}

impl OCIRepositories {
    async fn secret(&self, ns: &str, name: &str) -> SourceStep<secrets::SecretData> {
        secrets::read(&self.client, ns, name)
            .await
            .map_err(|e| failed(reasons::AUTHENTICATION_FAILED, e.to_string()))
    }

    /// The credentials for `registry`: from `spec.secretRef`, else from the
    /// image pull secrets of `spec.serviceAccountName`; anonymous when none
    /// names the registry.
    async fn credentials(
        &self,
        obj: &OCIRepository,
        registry: &str,
    ) -> SourceStep<Option<Credentials>> {
        let ns = obj.namespace().unwrap_or_default();
        let mut secret_names = Vec::new();
        if let Some(r) = &obj.spec.secret_ref {
            secret_names.push(r.name.clone());
        } else if let Some(sa) = &obj.spec.service_account_name {
            let sa = Api::<ServiceAccount>::namespaced(self.client.clone(), &ns)
                .get(sa)
                .await
                .map_err(|e| {
                    failed(
                        reasons::AUTHENTICATION_FAILED,
                        format!(
                            "failed to get service account '{ns}/{sa}': {}",
                            secrets::short(&e)
                        ),
                    )
                })?;
            secret_names.extend(
                sa.image_pull_secrets
                    .unwrap_or_default()
                    .into_iter()
                    .map(|r| r.name),
            );
        }
        for name in secret_names {
            let data = self.secret(&ns, &name).await?;
            let config = DockerConfig::from_secret(&data)
                .map_err(|e| stalled(reasons::AUTHENTICATION_FAILED, format!("secret '{ns}/{name}': {e}")))?
                .ok_or_else(|| {
                    stalled(
                        reasons::AUTHENTICATION_FAILED,
                        format!("secret '{ns}/{name}' has no '.dockerconfigjson' (type kubernetes.io/dockerconfigjson)"),
                    )
                })?;
            if let Some(auth) = config.credentials_for(registry) {
                if let Some(token) = &auth.registry_token {
                    return Ok(Some(Credentials::Bearer(token.clone())));
                }
                let password = auth
                    .password
                    .clone()
                    .or_else(|| auth.identity_token.clone());
                if let (Some(username), Some(password)) = (auth.username.clone(), password) {
                    return Ok(Some(Credentials::Basic { username, password }));
                }
            }
        }
        Ok(None)
    }
}

impl ArtifactSource for OCIRepositories {
    type Object = OCIRepository;
    type Inputs = Inputs;
    type Remote = Resolved;
    type Record = Observed;

    const KIND: &'static str = "OCIRepository";

    async fn inputs(&self, obj: &OCIRepository) -> SourceStep<Inputs> {
        let ns = obj.namespace().unwrap_or_default();
        let url = obj.spec.url.clone();
        let provider = match obj.spec.provider {
            OCIProvider::Generic => None,
            OCIProvider::Aws => Some("aws"),
            OCIProvider::Azure => Some("azure"),
            OCIProvider::Gcp => Some("gcp"),
        };
        if let Some(provider) = provider {
            // Cloud identities need the provider's metadata services and SDKs;
            // answering at once beats waiting on an endpoint that is not there.
            return Err(stalled(
                reasons::AUTHENTICATION_FAILED,
                format!(
                    "provider '{provider}' is not supported here: use provider 'generic' with spec.secretRef (docker config credentials)"
                ),
            ));
        }
        if obj.spec.verify.is_some() {
            return Err(stalled(
                VERIFICATION_ERROR,
                "signature verification (spec.verify, cosign or notation) is not supported here"
                    .to_string(),
            ));
        }
        let repo = Repository::parse_url(&url).map_err(|e| stalled(URL_INVALID, e.to_string()))?;
        let credentials = self.credentials(obj, &repo.registry).await?;
        let mut options = ClientOptions {
            insecure: obj.spec.insecure,
            credentials,
            timeout: Some(
                obj.spec
                    .timeout
                    .as_ref()
                    .map(|t| t.as_std())
                    .unwrap_or(Duration::from_secs(60)),
            ),
            ..Default::default()
        };
        if let Some(r) = &obj.spec.cert_secret_ref {
            let data = self.secret(&ns, &r.name).await?;
            let tls_error = |e: secrets::SecretError| {
                stalled(
                    reasons::AUTHENTICATION_FAILED,
                    format!("secret '{ns}/{}': {e}", r.name),
                )
            };
            if let Some(tls) = TlsMaterial::from_secret(&data).map_err(tls_error)? {
                tls.check().map_err(tls_error)?;
                options.ca_certificates = tls.certificates().map_err(tls_error)?;
                options.identity = tls.identity().map_err(tls_error)?;
            }
        }
        if let Some(r) = &obj.spec.proxy_secret_ref {
            let data = self.secret(&ns, &r.name).await?;
            let proxy = ProxySettings::from_secret(&data).map_err(|e| {
                stalled(
                    reasons::AUTHENTICATION_FAILED,
                    format!("proxy secret '{ns}/{}': {e}", r.name),
                )
            })?;
            options.proxy = Some(reqwest::Proxy::all(proxy.url).map_err(|_| {
                stalled(
                    reasons::AUTHENTICATION_FAILED,
                    format!("proxy secret '{ns}/{}': invalid proxy", r.name),
                )
            })?);
        }
        let timeout = options.timeout.unwrap_or(Duration::from_secs(60));
        let client = Client::new(repo, options)
            .map_err(|e| stalled(reasons::AUTHENTICATION_FAILED, e.to_string()))?;
        Ok(Inputs {
            client,
            url,
            timeout,
        })
    }

    async fn remote(&self, obj: &OCIRepository, inputs: &Inputs) -> SourceStep<Resolved> {
        let reference = obj.spec.reference.clone().unwrap_or_default();
        if let Some(digest) = reference.digest.as_deref().filter(|d| !d.is_empty()) {
            let r =
                Reference::parse_digest(digest).map_err(|e| stalled(URL_INVALID, e.to_string()))?;
            let (manifest, digest) =
                within(inputs, "pull artifact from", inputs.client.manifest(&r)).await?;
            return Ok(Resolved {
                revision: digest.clone(),
                digest,
                manifest,
            });
        }
        let tag = if let Some(range) = reference.semver.as_deref().filter(|s| !s.is_empty()) {
            let constraints = Constraints::parse(range).map_err(|e| {
                stalled(
                    OCI_PULL_FAILED,
                    format!("invalid semver range '{range}': {e}"),
                )
            })?;
            let filter = match reference.semver_filter.as_deref().filter(|f| !f.is_empty()) {
                Some(f) => Some(regex::Regex::new(f).map_err(|e| {
                    stalled(OCI_PULL_FAILED, format!("invalid semverFilter '{f}': {e}"))
                })?),
                None => None,
            };
            let tags = within(inputs, "list tags of", inputs.client.tags()).await?;
            let versions: Vec<Version> = tags
                .iter()
                .filter(|t| filter.as_ref().is_none_or(|f| f.is_match(t)))
                .filter_map(|t| Version::parse(t).ok())
                .collect();
            constraints
                .latest(&versions)
                .map(|v| v.original().to_string())
                .ok_or_else(|| {
                    failed(
                        OCI_PULL_FAILED,
                        format!(
                            "failed to determine artifact tag for '{}': no match found for semver: {range}",
                            inputs.url
                        ),
                    )
                })?
        } else {
            obj.spec.tag().to_string()
        };
        let r = Reference::parse_tag(&tag).map_err(|e| stalled(URL_INVALID, e.to_string()))?;
        let (manifest, digest) =
            within(inputs, "pull artifact from", inputs.client.manifest(&r)).await?;
        Ok(Resolved {
            revision: format!("{tag}@{digest}"),
            digest,
            manifest,
        })
    }

    fn revision(remote: &Resolved) -> &str {
        &remote.revision
    }

    fn spec_unchanged(obj: &OCIRepository) -> bool {
        let Some(status) = obj.status.as_ref() else {
            return false;
        };
        status.observed_ignore == obj.spec.ignore
            && status.observed_layer_selector == obj.spec.layer_selector
    }

    async fn fetch(
        &self,
        obj: &OCIRepository,
        inputs: Inputs,
        remote: Resolved,
        work: &Path,
    ) -> SourceStep<Fetched<Observed>> {
        let media_type = obj
            .spec
            .layer_selector
            .as_ref()
            .and_then(|s| s.media_type.as_deref());
        let layer = remote
            .manifest
            .select_layer(media_type)
            .cloned()
            .ok_or_else(|| {
                failed(
                    OCI_LAYER_OPERATION_FAILED,
                    match media_type {
                        Some(mt) => format!(
                            "failed to find layer with media type '{mt}' in artifact '{}'",
                            remote.revision
                        ),
                        None => format!("artifact '{}' has no layers", remote.revision),
                    },
                )
            })?;
        let blob = work.join("layer.tgz");
        within(
            &inputs,
            "pull layer from",
            inputs.client.blob_to_file(&layer, &blob, self.max_size),
        )
        .await?;
        // Both operations unpack the layer with the safety checks first, so
        // a hostile layer is refused either way; `copy` then stores the
        // layer's bytes as they are (`<manifest digest hex>.tgz`, as Flux).
        let operation = obj.spec.layer_operation();
        let content = work.join("content");
        let limits = ferroflux_runtime::artifact::Limits {
            max_unpacked_bytes: self.max_size,
            ..Default::default()
        };
        let (src, dest) = (blob.clone(), content.clone());
        let extracted = tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(&src).map_err(|e| e.to_string())?;
            ferroflux_runtime::artifact::extract(std::io::BufReader::new(file), &dest, &limits)
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| {
            failed(
                OCI_LAYER_OPERATION_FAILED,
                format!("extract task failed: {e}"),
            )
        })?;
        if let Err(e) = extracted {
            let op = match operation {
                OCILayerOperation::Extract => "extract",
                OCILayerOperation::Copy => "copy",
            };
            return Err(failed(
                OCI_LAYER_OPERATION_FAILED,
                format!(
                    "failed to {op} layer {} of '{}': {e}",
                    layer.digest, remote.revision
                ),
            ));
        }
        let ignore = IgnoreRules::load(&content, obj.spec.ignore.as_deref())
            .map_err(|e| failed(reasons::STORAGE_OPERATION_FAILED, e.to_string()))?;
        let (dir, copy_name) = match operation {
            OCILayerOperation::Extract => {
                let _ = std::fs::remove_file(&blob);
                (content, None)
            }
            OCILayerOperation::Copy => {
                let hex = remote.digest.trim_start_matches("sha256:");
                (blob, Some(format!("{hex}.tgz")))
            }
        };
        Ok(Fetched {
            revision: remote.revision,
            dir,
            ignore,
            record: Observed {
                metadata: remote.manifest.annotations,
                copy_name,
            },
        })
    }

    fn record(obj: &mut OCIRepository, record: Observed) {
        let spec = obj.spec.clone();
        let st = obj.status.get_or_insert_with(Default::default);
        if let Some(artifact) = st.artifact.as_mut() {
            artifact.metadata = record.metadata;
            st.url = Some(artifact.url.clone());
        }
        st.observed_ignore = spec.ignore;
        st.observed_layer_selector = spec.layer_selector;
    }

    fn file_name(record: &Observed) -> Option<String> {
        record.copy_name.clone()
    }

    fn artifact(obj: &OCIRepository) -> Option<&Artifact> {
        obj.status.as_ref().and_then(|s| s.artifact.as_ref())
    }

    fn set_artifact(obj: &mut OCIRepository, artifact: Artifact) {
        obj.status.get_or_insert_with(Default::default).artifact = Some(artifact);
    }
}
