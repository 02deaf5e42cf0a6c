//! Reading a Provider's Secrets and resolving its settings.

use ferroflux_api::notification::v1beta3::Provider;
use kube::ResourceExt;

use std::sync::Arc;

use super::config::{ConfigError, ProviderConfig, SecretData, cert_secret_tls, resolve};

/// Reads Secret `name` in `namespace` as decoded data.
pub async fn read(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<SecretData, ConfigError> {
    ferroflux_runtime::secrets::read(client, namespace, name)
        .await
        .map_err(|e| ConfigError::Secret(e.to_string()))
}

/// A kube error in one line (API errors carry a verbose body).
pub use ferroflux_runtime::secrets::short;

/// The effective settings of `provider`, reading its Secrets.
pub async fn load(
    client: &kube::Client,
    provider: &Provider,
) -> Result<ProviderConfig, ConfigError> {
    let namespace = provider.namespace().unwrap_or_default();
    let secret = match &provider.spec.secret_ref {
        Some(r) => Some(read(client, &namespace, &r.name).await?),
        None => None,
    };
    let proxy = match &provider.spec.proxy_secret_ref {
        Some(r) => Some(read(client, &namespace, &r.name).await?),
        None => None,
    };
    let mut config = resolve(&provider.spec, secret.as_ref(), proxy.as_ref())?;
    if let Some(r) = &provider.spec.cert_secret_ref {
        let data = read(client, &namespace, &r.name).await?;
        config.tls = Some(Arc::new(cert_secret_tls(&data)?));
    }
    config.provider_uid = provider.uid().unwrap_or_default();
    Ok(config)
}
