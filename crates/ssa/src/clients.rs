//! The clients applied objects are read and written through: the
//! controller's own, or one impersonating the object's service account
//! (`spec.serviceAccountName` or `--default-service-account`), optionally
//! on a remote cluster named by `spec.kubeConfig`. Kustomizations and
//! HelmReleases share it: the rules are Flux's for both.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::Resolver;
use ferroflux_api::meta::KubeConfigReference;
use ferroflux_runtime::kubeconfig::{self, KubeconfigError, Policy};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use sha2::{Digest, Sha256};

/// Why no client could be made; messages never contain secret data.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The kubeconfig Secret could not be read (it may appear later).
    #[error("{0}")]
    KubeConfig(String),
    /// The kubeconfig in the Secret is refused or unusable: it will not
    /// work until the Secret changes.
    #[error("kubeconfig in Secret '{secret}': {source}")]
    Refused {
        /// `namespace/name` of the Secret.
        secret: String,
        /// What is wrong, naming the field.
        source: KubeconfigError,
    },
    /// The spec asks for something this controller does not do, or names
    /// something that cannot be used.
    #[error("{0}")]
    Unsupported(String),
}

impl ClientError {
    /// Will this fail the same way until the spec or the Secret changes?
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Refused { .. } | Self::Unsupported(_))
    }
}

/// Most clients kept at once; past it the cache starts over.
pub const MAX_CACHED_TARGETS: usize = 256;

/// A client and the discovery cache of the cluster it talks to.
#[derive(Clone)]
pub struct Target {
    /// Reads and writes of applied objects go through this client.
    pub client: kube::Client,
    /// Discovery of that cluster.
    pub resolver: Arc<Resolver>,
    /// Who the client acts as, for messages (`None`: the controller itself).
    pub user: Option<String>,
}

/// Builds and caches [`Target`]s.
pub struct Clients {
    base_config: kube::Config,
    local: Target,
    default_service_account: Option<String>,
    kubeconfig_policy: Policy,
    cache: Mutex<HashMap<String, Target>>,
    resolvers: Mutex<HashMap<String, Arc<Resolver>>>,
}

impl Clients {
    /// Clients derived from the controller's own `config` and `client`;
    /// `default_service_account` is impersonated when an object names none.
    pub fn new(
        base_config: kube::Config,
        client: kube::Client,
        default_service_account: Option<String>,
    ) -> Self {
        Self {
            base_config,
            local: Target {
                resolver: Arc::new(Resolver::new(client.clone())),
                client,
                user: None,
            },
            default_service_account: default_service_account.filter(|s| !s.is_empty()),
            kubeconfig_policy: Policy::default(),
            cache: Mutex::new(HashMap::new()),
            resolvers: Mutex::new(HashMap::new()),
        }
    }

    /// What kubeconfigs from `spec.kubeConfig.secretRef` may do beyond
    /// plain data (`--insecure-kubeconfig-exec`, `--insecure-kubeconfig-tls`).
    pub fn with_kubeconfig_policy(mut self, policy: Policy) -> Self {
        self.kubeconfig_policy = policy;
        self
    }

    /// The controller's own client (sources, dependencies, its own objects).
    pub fn local(&self) -> &Target {
        &self.local
    }

    /// The service account an object naming `service_account_name` is
    /// applied as, if any.
    pub fn service_account(&self, service_account_name: Option<&str>) -> Option<String> {
        service_account_name
            .filter(|s| !s.is_empty())
            .map(String::from)
            .or_else(|| self.default_service_account.clone())
    }

    /// The target for an object in `ns` with `spec.serviceAccountName`
    /// `service_account_name` and `spec.kubeConfig` `kube_config`: its
    /// cluster, acting as its service account.
    pub async fn for_object(
        &self,
        ns: &str,
        service_account_name: Option<&str>,
        kube_config: Option<&KubeConfigReference>,
    ) -> Result<Target, ClientError> {
        let ns = ns.to_string();
        let sa = self.service_account(service_account_name);
        if let Some(sa) = &sa
            && !valid_name(sa)
        {
            let field = if service_account_name.is_some_and(|s| !s.is_empty()) {
                "spec.serviceAccountName"
            } else {
                "--default-service-account"
            };
            return Err(ClientError::Unsupported(format!(
                "{field} {sa:?} is not a valid service account name"
            )));
        }
        let user = sa.map(|sa| format!("system:serviceaccount:{ns}:{sa}"));
        let (config, cluster_key) = match kube_config {
            None => (self.base_config.clone(), String::from("local")),
            Some(kc) => {
                if kc.config_map_ref.is_some() {
                    return Err(ClientError::Unsupported(
                        "spec.kubeConfig.configMapRef (workload identity) is not supported; use spec.kubeConfig.secretRef".into(),
                    ));
                }
                let Some(secret_ref) = &kc.secret_ref else {
                    return Err(ClientError::Unsupported(
                        "spec.kubeConfig has no secretRef".into(),
                    ));
                };
                let yaml = self
                    .kubeconfig_from_secret(&ns, &secret_ref.name, secret_ref.key.as_deref())
                    .await?;
                let key = hex::encode(Sha256::digest(yaml.as_bytes()));
                let secret = format!("{ns}/{}", secret_ref.name);
                let config = kubeconfig::load(&yaml, &self.kubeconfig_policy)
                    .await
                    .map_err(|source| ClientError::Refused {
                        secret: secret.clone(),
                        source,
                    })?;
                (config, key)
            }
        };
        if cluster_key == "local" && user.is_none() {
            return Ok(self.local.clone());
        }
        let cache_key = format!("{cluster_key}|{}", user.as_deref().unwrap_or(""));
        if let Some(t) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&cache_key)
        {
            return Ok(t.clone());
        }
        if cluster_key == "local"
            && let Some(u) = &user
        {
            // The controller's own connections, with the impersonation
            // headers added per request: a client of its own per service
            // account would hold a connection pool and TLS set-up each
            // (about 0.3 MiB per tenant at a thousand tenants).
            let target = Target {
                client: impersonating(&self.local.client, u)?,
                resolver: self.local.resolver.clone(),
                user: user.clone(),
            };
            self.remember(cache_key, target.clone());
            return Ok(target);
        }
        let mut config = config;
        if let Some(u) = &user {
            config.auth_info.impersonate = Some(u.clone());
            config.auth_info.impersonate_groups = None;
        }
        let client = kubeconfig::client(config)
            .await
            .map_err(|source| match kube_config {
                Some(kc) => ClientError::Refused {
                    secret: format!(
                        "{ns}/{}",
                        kc.secret_ref
                            .as_ref()
                            .map(|r| r.name.as_str())
                            .unwrap_or("")
                    ),
                    source,
                },
                None => ClientError::KubeConfig(format!("building a client: {source}")),
            })?;
        let resolver = if cluster_key == "local" {
            self.local.resolver.clone()
        } else {
            self.resolvers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(cluster_key.clone())
                .or_insert_with(|| Arc::new(Resolver::new(client.clone())))
                .clone()
        };
        let target = Target {
            client,
            resolver,
            user,
        };
        self.remember(cache_key, target.clone());
        Ok(target)
    }

    /// Keeps `target` for `key`. The cache is bounded: every kubeconfig
    /// Secret's content and every service account makes a key, and a
    /// Secret rotated often (or many tenants over time) would otherwise
    /// grow it without end. Past the bound it starts over (clients are
    /// made again on demand), with the discovery caches of remote clusters.
    fn remember(&self, key: String, target: Target) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= MAX_CACHED_TARGETS && !cache.contains_key(&key) {
            cache.clear();
            self.resolvers
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clear();
        }
        cache.insert(key, target);
    }

    /// How many clients are kept (for tests and metrics).
    pub fn cached_targets(&self) -> usize {
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    async fn kubeconfig_from_secret(
        &self,
        ns: &str,
        name: &str,
        key: Option<&str>,
    ) -> Result<String, ClientError> {
        let secrets: Api<Secret> = Api::namespaced(self.local.client.clone(), ns);
        let secret = secrets
            .get_opt(name)
            .await
            .map_err(|e| ClientError::KubeConfig(format!("reading Secret '{ns}/{name}': {e}")))?
            .ok_or_else(|| ClientError::KubeConfig(format!("Secret '{ns}/{name}' not found")))?;
        let data = secret.data.unwrap_or_default();
        let keys: Vec<&str> = match key {
            Some(k) => vec![k],
            None => vec!["value", "value.yaml"],
        };
        for k in &keys {
            if let Some(v) = data.get(*k) {
                return String::from_utf8(v.0.clone()).map_err(|_| {
                    ClientError::KubeConfig(format!(
                        "Secret '{ns}/{name}' key '{k}' is not UTF-8 text"
                    ))
                });
            }
        }
        Err(ClientError::KubeConfig(format!(
            "Secret '{ns}/{name}' has no key {}",
            keys.iter()
                .map(|k| format!("'{k}'"))
                .collect::<Vec<_>>()
                .join(" or ")
        )))
    }
}

/// A client sending every request of `base` (its connections, TLS and
/// credentials) as `user`: `Impersonate-User` set, any other impersonation
/// header removed, as kube's own impersonation does.
fn impersonating(base: &kube::Client, user: &str) -> Result<kube::Client, ClientError> {
    let value = http::HeaderValue::from_str(user)
        .map_err(|_| ClientError::Unsupported(format!("{user:?} cannot be impersonated")))?;
    let base = base.clone();
    let namespace = base.default_namespace().to_string();
    let service = tower::service_fn(move |mut request: http::Request<kube::client::Body>| {
        let (base, value) = (base.clone(), value.clone());
        async move {
            let headers = request.headers_mut();
            for name in headers
                .keys()
                .filter(|n| n.as_str().starts_with("impersonate-"))
                .cloned()
                .collect::<Vec<_>>()
            {
                headers.remove(name);
            }
            headers.insert("impersonate-user", value);
            base.send(request).await
        }
    });
    Ok(kube::Client::new(service, namespace))
}

/// A Kubernetes object name (DNS-1123 subdomain): what can be put in an
/// impersonation header as `system:serviceaccount:<ns>:<name>`.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_client_cache_is_bounded() {
        let config = kube::Config::new("http://127.0.0.1:9".parse().expect("url"));
        let client = kube::Client::try_from(config.clone()).expect("client");
        let clients = Clients::new(config, client, None);
        for n in 0..(MAX_CACHED_TARGETS + 10) {
            let sa = format!("tenant-{n}");
            let t = clients
                .for_object("apps", Some(&sa), None)
                .await
                .expect("an impersonating client");
            assert_eq!(
                t.user.as_deref(),
                Some(format!("system:serviceaccount:apps:{sa}").as_str())
            );
            assert!(clients.cached_targets() <= MAX_CACHED_TARGETS);
        }
        // The same service account again is served from the cache.
        let before = clients.cached_targets();
        clients
            .for_object("apps", Some("tenant-0"), None)
            .await
            .expect("client");
        clients
            .for_object("apps", Some("tenant-0"), None)
            .await
            .expect("client");
        assert!(clients.cached_targets() <= before + 1);
        // No service account: the controller's own client, not cached.
        let own = clients.for_object("apps", None, None).await.expect("own");
        assert!(own.user.is_none());
    }
}
