//! Reading a Provider's Secrets and resolving its settings.

use ferroflux_api::notification::v1beta3::Provider;
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::Api;

use std::sync::Arc;

use super::config::{ConfigError, ProviderConfig, SecretData, TlsMaterial, resolve};

/// Reads Secret `name` in `namespace` as decoded data.
pub async fn read(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<SecretData, ConfigError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = api.get(name).await.map_err(|e| {
        ConfigError::Secret(format!(
            "failed to get secret '{namespace}/{name}': {}",
            short(&e)
        ))
    })?;
    Ok(secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect())
}

/// A kube error in one line (API errors carry a verbose body).
pub fn short(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

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
        config.tls = Some(Arc::new(TlsMaterial::from_secret(&data)?));
    }
    config.provider_uid = provider.uid().unwrap_or_default();
    Ok(config)
}
