//! A Provider's effective settings: its spec, overridden by the keys of its
//! Secrets as Flux documents (`address`, `token`, `headers`, `username`,
//! `password`, the deprecated `proxy`; `proxySecretRef` with `address`,
//! `username`, `password`; `certSecretRef` with `ca.crt`, `tls.crt`,
//! `tls.key`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use ferroflux_api::notification::v1beta3::{ProviderSpec, ProviderType};
use reqwest::Url;

/// Secret data as read from the API (`data`, already base64-decoded).
pub type SecretData = ferroflux_runtime::secrets::SecretData;

/// TLS material from `certSecretRef` (PEM): a CA bundle that replaces the
/// system roots, and a client certificate with its key.
pub use ferroflux_runtime::secrets::TlsMaterial;

/// Why a Provider cannot deliver. Messages never contain secret values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// The type is not implemented yet.
    #[error("provider type {0} is not supported by this version of notification-controller")]
    Unsupported(String),
    /// Neither `spec.address` nor the Secret's `address` is set.
    #[error("no address: set spec.address or the 'address' key of the secret")]
    NoAddress,
    /// The address is not an HTTP/S URL.
    #[error("invalid address{origin}: {reason}")]
    InvalidAddress {
        /// Where the address came from (empty for the spec).
        origin: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// The proxy is not an HTTP/S URL.
    #[error("invalid proxy URL: {0}")]
    InvalidProxy(String),
    /// The Secret's `headers` key is not a YAML map of strings.
    #[error("failed to read headers from secret: {0}")]
    InvalidHeaders(String),
    /// A key the type needs is missing from the Secret.
    #[error("{0}")]
    Missing(String),
    /// A Secret could not be read.
    #[error("{0}")]
    Secret(String),
    /// The `certSecretRef` Secret does not hold usable TLS material.
    #[error("invalid TLS material in the secret referenced by spec.certSecretRef: {0}")]
    InvalidTls(String),
    /// A field this version does not implement is set.
    #[error("{0} is not supported by this version of notification-controller")]
    NotImplemented(&'static str),
}

/// Reads the TLS material of a `certSecretRef` Secret, checking that it
/// parses (so a bad Secret shows on the Provider, not at delivery).
pub fn cert_secret_tls(data: &SecretData) -> Result<TlsMaterial, ConfigError> {
    let invalid =
        |e: ferroflux_runtime::secrets::SecretError| ConfigError::InvalidTls(e.to_string());
    let material = TlsMaterial::from_secret(data)
        .map_err(invalid)?
        .ok_or_else(|| {
            ConfigError::InvalidTls("none of 'ca.crt', 'tls.crt' and 'tls.key' is set".to_string())
        })?;
    material.check().map_err(invalid)?;
    Ok(material)
}

/// What a notifier needs to send.
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    /// The kind of service.
    pub provider_type: ProviderType,
    /// Where to send.
    pub address: Url,
    /// Whether the address came from the Secret (then it is treated as
    /// secret: only its scheme and host appear in messages).
    pub address_is_secret: bool,
    /// API token (`token` key).
    pub token: Option<String>,
    /// Extra HTTP headers (`headers` key).
    pub headers: BTreeMap<String, String>,
    /// Name to post as.
    pub username: Option<String>,
    /// Password (`password` key), for types that use basic auth.
    pub password: Option<String>,
    /// Destination channel.
    pub channel: Option<String>,
    /// HTTP/S proxy.
    pub proxy: Option<Url>,
    /// Time limit of one delivery, retries included.
    pub timeout: Duration,
    /// TLS material from `certSecretRef`.
    pub tls: Option<Arc<TlsMaterial>>,
    /// The Provider's UID (commit-status types name their status with it).
    pub provider_uid: String,
}

impl std::fmt::Debug for ProviderConfig {
    // Secrets stay out of debug output (and so out of logs).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("provider_type", &self.provider_type)
            .field(
                "address",
                &crate::providers::redact::display_url(&self.address, self.address_is_secret),
            )
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("username", &self.username)
            .field("channel", &self.channel)
            .field(
                "proxy",
                &self
                    .proxy
                    .as_ref()
                    .map(|p| crate::providers::redact::display_url(p, false)),
            )
            .field("timeout", &self.timeout)
            .field("tls", &self.tls)
            .finish()
    }
}

impl ProviderConfig {
    /// The values that must never appear in messages: token, password,
    /// secret address and proxy credentials.
    pub fn secret_values(&self) -> Vec<String> {
        let mut out = Vec::new();
        out.extend(self.token.clone());
        out.extend(self.password.clone());
        if self.address_is_secret {
            out.push(self.address.to_string());
            out.push(self.address.path().to_string());
        }
        if let Some(p) = &self.proxy
            && let Some(pw) = p.password()
        {
            out.push(pw.to_string());
        }
        out.retain(|s| s.len() >= 4 && s != "/");
        out
    }
}

/// Whether this milestone can deliver to `t`.
pub fn is_supported(t: ProviderType) -> bool {
    matches!(
        t,
        ProviderType::Generic
            | ProviderType::GenericHmac
            | ProviderType::Slack
            | ProviderType::Msteams
            | ProviderType::Discord
            | ProviderType::Googlechat
            | ProviderType::Rocket
            | ProviderType::Webex
            | ProviderType::Telegram
            | ProviderType::Matrix
            | ProviderType::Github
            | ProviderType::Gitlab
            | ProviderType::Gitea
    )
}

fn text(data: Option<&SecretData>, key: &str) -> Option<String> {
    data.and_then(|d| d.get(key))
        .map(|v| String::from_utf8_lossy(v).trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Works out the effective settings of a Provider from its spec, its
/// `secretRef` data and its `proxySecretRef` data.
pub fn resolve(
    spec: &ProviderSpec,
    secret: Option<&SecretData>,
    proxy_secret: Option<&SecretData>,
) -> Result<ProviderConfig, ConfigError> {
    let type_name = serde_json::to_value(spec.provider_type)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    if !is_supported(spec.provider_type) {
        return Err(ConfigError::Unsupported(type_name));
    }
    let git = crate::providers::commit_status::is_git(spec.provider_type);
    if git
        && spec
            .commit_status_expr
            .as_deref()
            .is_some_and(|e| !e.trim().is_empty())
    {
        return Err(ConfigError::NotImplemented("spec.commitStatusExpr (CEL)"));
    }
    let (raw_address, address_is_secret) = match text(secret, "address") {
        Some(a) => (a, true),
        None => match spec
            .address
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
        {
            Some(a) => (a.to_string(), false),
            None if spec.provider_type == ProviderType::Telegram => (
                crate::providers::payload::telegram::DEFAULT_API.to_string(),
                false,
            ),
            None => return Err(ConfigError::NoAddress),
        },
    };
    let origin = if address_is_secret { " in secret" } else { "" };
    // Commit-status types take a repository URL, SSH forms included.
    let raw_address = if git {
        crate::providers::commit_status::https_repository_url(&raw_address)
    } else {
        raw_address
    };
    let address = Url::parse(&raw_address).map_err(|e| ConfigError::InvalidAddress {
        origin,
        reason: e.to_string(),
    })?;
    if !matches!(address.scheme(), "http" | "https") || address.host_str().is_none() {
        return Err(ConfigError::InvalidAddress {
            origin,
            reason: "must be an http:// or https:// URL with a host".to_string(),
        });
    }

    let headers = match secret.and_then(|d| d.get("headers")) {
        Some(raw) => serde_yaml::from_slice::<BTreeMap<String, String>>(raw).map_err(|e| {
            // serde_yaml quotes offending values, which may be secret:
            // say where, not what.
            ConfigError::InvalidHeaders(match e.location() {
                Some(l) => format!(
                    "not a YAML map of strings (line {}, column {})",
                    l.line(),
                    l.column()
                ),
                None => "not a YAML map of strings".to_string(),
            })
        })?,
        None => BTreeMap::new(),
    };

    let proxy = match proxy_secret {
        Some(data) => {
            use ferroflux_runtime::secrets::{ProxySettings, SecretError};
            match ProxySettings::from_secret(data) {
                Ok(settings) => Some(settings.url),
                Err(SecretError::MissingKey(_)) => {
                    return Err(ConfigError::Missing(
                        "proxy secret has no 'address' key".to_string(),
                    ));
                }
                Err(SecretError::InvalidProxy(reason)) => {
                    return Err(ConfigError::InvalidProxy(reason));
                }
                Err(other) => return Err(ConfigError::InvalidProxy(other.to_string())),
            }
        }
        None => match text(secret, "proxy").or_else(|| spec.proxy.clone()) {
            Some(p) if !p.trim().is_empty() => Some(parse_proxy(p.trim())?),
            _ => None,
        },
    };

    let token = text(secret, "token");
    if spec.provider_type == ProviderType::GenericHmac && token.is_none() {
        return Err(ConfigError::Missing(
            "generic-hmac needs a 'token' key in the secret referenced by spec.secretRef"
                .to_string(),
        ));
    }

    Ok(ProviderConfig {
        provider_type: spec.provider_type,
        address,
        address_is_secret,
        token,
        headers,
        username: text(secret, "username")
            .or_else(|| spec.username.clone().filter(|u| !u.is_empty())),
        password: text(secret, "password"),
        channel: spec.channel.clone().filter(|c| !c.is_empty()),
        proxy,
        timeout: spec.timeout(),
        tls: None,
        provider_uid: String::new(),
    })
}

fn parse_proxy(raw: &str) -> Result<Url, ConfigError> {
    ferroflux_runtime::secrets::parse_proxy(raw).map_err(|e| match e {
        ferroflux_runtime::secrets::SecretError::InvalidProxy(reason) => {
            ConfigError::InvalidProxy(reason)
        }
        other => ConfigError::InvalidProxy(other.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> ProviderSpec {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn data(pairs: &[(&str, &str)]) -> SecretData {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn secret_keys_override_the_spec() {
        let s = spec(
            "type: slack\naddress: https://spec.example.com/\nusername: spec-user\nchannel: general\ntimeout: 5s\n",
        );
        let secret = data(&[
            ("address", " https://hooks.slack.com/services/T/B/X \n"),
            ("token", "xoxb-1"),
            ("username", "bot"),
            (
                "headers",
                "Authorization: my-api-token\nX-Forwarded-Proto: https\n",
            ),
        ]);
        let c = resolve(&s, Some(&secret), None).unwrap();
        assert_eq!(c.address.as_str(), "https://hooks.slack.com/services/T/B/X");
        assert!(c.address_is_secret);
        assert_eq!(c.token.as_deref(), Some("xoxb-1"));
        assert_eq!(c.username.as_deref(), Some("bot"));
        assert_eq!(c.channel.as_deref(), Some("general"));
        assert_eq!(c.headers["X-Forwarded-Proto"], "https");
        assert_eq!(c.timeout, Duration::from_secs(5));
        let debug = format!("{c:?}");
        assert!(
            !debug.contains("xoxb-1") && !debug.contains("/services/T"),
            "{debug}"
        );
        assert!(c.secret_values().contains(&"xoxb-1".to_string()));
    }

    #[test]
    fn spec_only_and_defaults() {
        let c = resolve(
            &spec("type: generic\naddress: http://127.0.0.1:9/hook\n"),
            None,
            None,
        )
        .unwrap();
        assert!(!c.address_is_secret);
        assert_eq!(c.timeout, Duration::from_secs(15));
        assert!(c.proxy.is_none());
    }

    #[test]
    fn refusals() {
        assert_eq!(
            resolve(&spec("type: slack\n"), None, None),
            Err(ConfigError::NoAddress)
        );
        assert!(matches!(
            resolve(&spec("type: generic\naddress: ftp://x/\n"), None, None),
            Err(ConfigError::InvalidAddress { .. })
        ));
        assert!(matches!(
            resolve(
                &spec("type: generic-hmac\naddress: http://x/\n"),
                None,
                None
            ),
            Err(ConfigError::Missing(_))
        ));
        assert!(matches!(
            resolve(&spec("type: sentry\naddress: http://x/\n"), None, None),
            Err(ConfigError::Unsupported(t)) if t == "sentry"
        ));
        assert_eq!(
            resolve(
                &spec("type: github\naddress: https://github.com/o/r\ncommitStatusExpr: \"'x'\"\n"),
                None,
                None
            ),
            Err(ConfigError::NotImplemented("spec.commitStatusExpr (CEL)"))
        );
        let bad_headers = data(&[("headers", "my-s3cret-token")]);
        let err = resolve(
            &spec("type: generic\naddress: http://x/\n"),
            Some(&bad_headers),
            None,
        )
        .unwrap_err();
        assert!(matches!(err, ConfigError::InvalidHeaders(_)));
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    #[test]
    fn tls_material_keys_and_checks() {
        let err = cert_secret_tls(&data(&[("ca.crt", "s3cret junk")])).unwrap_err();
        assert!(matches!(err, ConfigError::InvalidTls(_)));
        assert!(!err.to_string().contains("s3cret"), "{err}");
        assert!(matches!(
            cert_secret_tls(&data(&[("tls.crt", "x")])),
            Err(ConfigError::InvalidTls(m)) if m.contains("together")
        ));
        assert!(matches!(
            cert_secret_tls(&data(&[("other", "x")])),
            Err(ConfigError::InvalidTls(_))
        ));
        let a = TlsMaterial {
            ca: Some(b"a".to_vec()),
            ..TlsMaterial::default()
        };
        let b = TlsMaterial {
            cert: Some(b"a".to_vec()),
            ..TlsMaterial::default()
        };
        assert_ne!(a.fingerprint(), b.fingerprint());
        let debug = format!(
            "{:?}",
            TlsMaterial {
                key: Some(b"k3y".to_vec()),
                ..a
            }
        );
        assert!(!debug.contains("k3y"), "{debug}");
    }

    #[test]
    fn proxy_secret_wins_and_carries_credentials() {
        let s = spec("type: generic\naddress: http://x/\nproxy: http://spec-proxy:3128\n");
        let proxy = data(&[
            ("address", "http://proxy:8080"),
            ("username", "u"),
            ("password", "p4ss"),
        ]);
        let c = resolve(&s, None, Some(&proxy)).unwrap();
        assert_eq!(
            c.proxy.as_ref().unwrap().as_str(),
            "http://u:p4ss@proxy:8080/"
        );
        assert!(c.secret_values().contains(&"p4ss".to_string()));
        let c = resolve(&s, None, None).unwrap();
        assert_eq!(c.proxy.as_ref().unwrap().host_str(), Some("spec-proxy"));
    }
}
