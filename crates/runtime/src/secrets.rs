//! Reading a Secret and turning its keys into credentials the way Flux's
//! `pkg/runtime/secrets` does: basic auth, bearer token, TLS material
//! (`ca.crt`, `tls.crt`, `tls.key`, and the legacy `caFile`, `certFile`,
//! `keyFile`), proxy settings and docker config JSON.
//!
//! Every error names the Secret key at fault and never the value: Secrets
//! must not reach logs, events, status or error messages. The `Debug` of
//! every type here hides secret values too.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use reqwest::Url;

/// A Secret's `data`, already base64-decoded by the API client.
pub type SecretData = BTreeMap<String, Vec<u8>>;

/// Why a Secret could not be read or used. Messages name keys, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// The Secret could not be read from the API.
    #[error("failed to get secret '{namespace}/{name}': {message}")]
    Get {
        /// The Secret's namespace.
        namespace: String,
        /// The Secret's name.
        name: String,
        /// What the API said (its status message, which holds no data).
        message: String,
    },
    /// A key that must be present is missing or empty.
    #[error("secret has no '{0}' key")]
    MissingKey(String),
    /// A key that must hold text is not UTF-8.
    #[error("secret key '{0}' is not valid UTF-8")]
    NotUtf8(String),
    /// Two keys that only make sense together are not both set.
    #[error("'{0}' and '{1}' must be set together")]
    Incomplete(&'static str, &'static str),
    /// Keys that exclude each other are both set.
    #[error("{0}")]
    Conflict(&'static str),
    /// The CA bundle does not parse as PEM certificates.
    #[error("'ca.crt' is not a PEM certificate bundle")]
    InvalidCa,
    /// The CA bundle parses but holds no certificate.
    #[error("'ca.crt' holds no PEM certificate")]
    EmptyCa,
    /// The client certificate and key do not parse as a PEM identity.
    #[error("'tls.crt' and 'tls.key' are not a PEM certificate and private key")]
    InvalidIdentity,
    /// The proxy settings are unusable.
    #[error("invalid proxy URL: {0}")]
    InvalidProxy(String),
    /// The docker config JSON is unusable.
    #[error("invalid docker config in '{key}': {reason}")]
    InvalidDockerConfig {
        /// The key holding the config.
        key: &'static str,
        /// What is wrong, without the content.
        reason: String,
    },
}

/// Reads Secret `name` in `namespace` as decoded data.
pub async fn read(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<SecretData, SecretError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = api.get(name).await.map_err(|e| SecretError::Get {
        namespace: namespace.to_string(),
        name: name.to_string(),
        message: short(&e),
    })?;
    let mut data: SecretData = secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect();
    // The API server folds `stringData` into `data` on write; a server that
    // hands it back anyway (a test double) is read the same way.
    for (k, v) in secret.string_data.unwrap_or_default() {
        data.insert(k, v.into_bytes());
    }
    Ok(data)
}

/// A kube error in one line (API errors carry a verbose body).
pub fn short(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => s.message.clone(),
        other => other.to_string(),
    }
}

/// The bytes of `key`, or `None` when it is missing or empty (Flux treats
/// an empty key as unset).
pub fn bytes<'a>(data: &'a SecretData, key: &str) -> Option<&'a [u8]> {
    data.get(key).map(Vec::as_slice).filter(|b| !b.is_empty())
}

/// The text of `key`, or `None` when it is missing or empty; an error when
/// it is not UTF-8.
pub fn text(data: &SecretData, key: &str) -> Result<Option<String>, SecretError> {
    match bytes(data, key) {
        None => Ok(None),
        Some(b) => String::from_utf8(b.to_vec())
            .map(Some)
            .map_err(|_| SecretError::NotUtf8(key.to_string())),
    }
}

/// The first of `keys` that is set (a key and its legacy spelling).
fn first<'a>(data: &'a SecretData, keys: &[&str]) -> Option<&'a [u8]> {
    keys.iter().find_map(|k| bytes(data, k))
}

/// HTTP basic credentials (`username`, `password`).
#[derive(Clone, PartialEq, Eq)]
pub struct BasicAuth {
    /// `username`.
    pub username: String,
    /// `password` (empty when the key is not set).
    pub password: String,
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Basic credentials from `username` and `password`; `None` when neither
/// is set. A password without a username is an error (there is nobody to
/// authenticate as).
pub fn basic_auth(data: &SecretData) -> Result<Option<BasicAuth>, SecretError> {
    match (text(data, "username")?, text(data, "password")?) {
        (None, None) => Ok(None),
        (None, Some(_)) => Err(SecretError::MissingKey("username".to_string())),
        (Some(username), password) => Ok(Some(BasicAuth {
            username,
            password: password.unwrap_or_default(),
        })),
    }
}

/// The `bearerToken` key, if set.
pub fn bearer_token(data: &SecretData) -> Result<Option<String>, SecretError> {
    text(data, "bearerToken")
}

/// PEM TLS material: a CA bundle to trust and a client certificate with
/// its key. `Debug` shows which parts are present, never the key.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct TlsMaterial {
    /// `ca.crt` (legacy `caFile`).
    pub ca: Option<Vec<u8>>,
    /// `tls.crt` (legacy `certFile`).
    pub cert: Option<Vec<u8>>,
    /// `tls.key` (legacy `keyFile`).
    pub key: Option<Vec<u8>>,
}

impl fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("ca", &self.ca.is_some())
            .field("cert", &self.cert.is_some())
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl TlsMaterial {
    /// Picks the TLS keys of a Secret (the current name wins over the
    /// legacy one); `None` when none is set. A certificate without its key
    /// (or a key without its certificate) is an error. The PEM is not parsed
    /// here: [`TlsMaterial::check`] does that.
    pub fn from_secret(data: &SecretData) -> Result<Option<Self>, SecretError> {
        let material = Self {
            ca: first(data, &["ca.crt", "caFile"]).map(<[u8]>::to_vec),
            cert: first(data, &["tls.crt", "certFile"]).map(<[u8]>::to_vec),
            key: first(data, &["tls.key", "keyFile"]).map(<[u8]>::to_vec),
        };
        if material.cert.is_some() != material.key.is_some() {
            return Err(SecretError::Incomplete("tls.crt", "tls.key"));
        }
        if material.ca.is_none() && material.cert.is_none() {
            return Ok(None);
        }
        Ok(Some(material))
    }

    /// Parses every part, so a bad Secret is reported where it is read
    /// rather than at the first connection.
    pub fn check(&self) -> Result<(), SecretError> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        // reqwest accepts any base64 between PEM markers; rustls parses the
        // certificates and loads the key, so junk is caught here.
        if let Some(ca) = &self.ca {
            let certs = CertificateDer::pem_slice_iter(ca)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| SecretError::InvalidCa)?;
            if certs.is_empty() {
                return Err(SecretError::EmptyCa);
            }
            let mut roots = rustls::RootCertStore::empty();
            for cert in certs {
                roots.add(cert).map_err(|_| SecretError::InvalidCa)?;
            }
        }
        if let (Some(cert), Some(key)) = (&self.cert, &self.key) {
            let chain = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|_| SecretError::InvalidIdentity)?;
            if chain.is_empty() {
                return Err(SecretError::InvalidIdentity);
            }
            let key =
                PrivateKeyDer::from_pem_slice(key).map_err(|_| SecretError::InvalidIdentity)?;
            let provider = rustls::crypto::ring::default_provider();
            rustls::sign::CertifiedKey::from_der(chain, key, &provider)
                .map_err(|_| SecretError::InvalidIdentity)?;
        }
        self.certificates()?;
        self.identity()?;
        Ok(())
    }

    /// The CA certificates (empty when there is no CA).
    pub fn certificates(&self) -> Result<Vec<reqwest::Certificate>, SecretError> {
        let Some(ca) = &self.ca else {
            return Ok(Vec::new());
        };
        let certs =
            reqwest::Certificate::from_pem_bundle(ca).map_err(|_| SecretError::InvalidCa)?;
        if certs.is_empty() {
            return Err(SecretError::EmptyCa);
        }
        Ok(certs)
    }

    /// The client identity, if there is a certificate and key.
    pub fn identity(&self) -> Result<Option<reqwest::Identity>, SecretError> {
        let (Some(cert), Some(key)) = (&self.cert, &self.key) else {
            return Ok(None);
        };
        // reqwest wants the certificate chain and the key in one PEM buffer.
        let mut pem = cert.clone();
        pem.push(b'\n');
        pem.extend_from_slice(key);
        reqwest::Identity::from_pem(&pem)
            .map(Some)
            .map_err(|_| SecretError::InvalidIdentity)
    }

    /// A digest identifying the material (to cache HTTP clients by it
    /// without keeping the key as a map key).
    pub fn fingerprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for part in [&self.ca, &self.cert, &self.key] {
            let bytes = part.as_deref().unwrap_or_default();
            h.update((bytes.len() as u64).to_be_bytes());
            h.update(bytes);
        }
        hex::encode(h.finalize())
    }
}

/// A proxy from a proxy Secret (`address`, optional `username` and
/// `password`), as Flux's `proxySecretRef`.
#[derive(Clone, PartialEq, Eq)]
pub struct ProxySettings {
    /// The proxy URL, carrying the credentials when there are any.
    pub url: Url,
}

impl fmt::Debug for ProxySettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.url.clone();
        if shown.password().is_some() {
            let _ = shown.set_password(Some("redacted"));
        }
        f.debug_struct("ProxySettings")
            .field("url", &shown.as_str())
            .finish()
    }
}

impl ProxySettings {
    /// Reads `address` (required), `username` and `password`.
    pub fn from_secret(data: &SecretData) -> Result<Self, SecretError> {
        let address = text(data, "address")?
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .ok_or_else(|| SecretError::MissingKey("address".to_string()))?;
        let mut url = parse_proxy(&address)?;
        if let Some(user) = text(data, "username")?.filter(|u| !u.trim().is_empty()) {
            let password = text(data, "password")?;
            if url.set_username(user.trim()).is_err()
                || url
                    .set_password(password.as_deref().map(str::trim))
                    .is_err()
            {
                return Err(SecretError::InvalidProxy(
                    "cannot carry credentials".to_string(),
                ));
            }
        }
        Ok(Self { url })
    }
}

/// Parses a proxy URL: http, https, socks5 or socks5h. The error names the
/// problem, not the URL (it may hold credentials).
pub fn parse_proxy(raw: &str) -> Result<Url, SecretError> {
    let url = Url::parse(raw).map_err(|e| SecretError::InvalidProxy(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https" | "socks5" | "socks5h") {
        return Err(SecretError::InvalidProxy(format!(
            "unsupported scheme {:?}",
            url.scheme()
        )));
    }
    Ok(url)
}

/// Credentials for one registry from a docker config.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct RegistryAuth {
    /// User name (from `username` or the decoded `auth`).
    pub username: Option<String>,
    /// Password (from `password` or the decoded `auth`).
    pub password: Option<String>,
    /// OAuth2 refresh token (`identitytoken`).
    pub identity_token: Option<String>,
    /// Bearer token for the registry (`registrytoken`).
    pub registry_token: Option<String>,
}

impl fmt::Debug for RegistryAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hide = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("RegistryAuth")
            .field("username", &self.username)
            .field("password", &hide(&self.password))
            .field("identity_token", &hide(&self.identity_token))
            .field("registry_token", &hide(&self.registry_token))
            .finish()
    }
}

/// A docker config (`kubernetes.io/dockerconfigjson` Secrets' key
/// `.dockerconfigjson`, or the legacy `.dockercfg`): credentials by registry.
#[derive(Clone, PartialEq, Eq, Default, Debug)]
pub struct DockerConfig {
    /// Credentials keyed by registry host (normalised: no scheme, no path).
    pub auths: BTreeMap<String, RegistryAuth>,
}

#[derive(serde::Deserialize)]
struct RawConfig {
    #[serde(default)]
    auths: BTreeMap<String, RawAuth>,
}

#[derive(serde::Deserialize, Default)]
struct RawAuth {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default, rename = "identitytoken")]
    identity_token: Option<String>,
    #[serde(default, rename = "registrytoken")]
    registry_token: Option<String>,
}

impl DockerConfig {
    /// Reads `.dockerconfigjson` (or the legacy `.dockercfg`, a bare map of
    /// registries). `None` when the Secret has neither key.
    pub fn from_secret(data: &SecretData) -> Result<Option<Self>, SecretError> {
        let (key, raw) = if let Some(raw) = bytes(data, ".dockerconfigjson") {
            (".dockerconfigjson", raw)
        } else if let Some(raw) = bytes(data, ".dockercfg") {
            (".dockercfg", raw)
        } else {
            return Ok(None);
        };
        let bad = |reason: String| SecretError::InvalidDockerConfig { key, reason };
        // serde_json quotes offending values, which may be secret: say
        // where, not what.
        let json_error = |e: serde_json::Error| {
            bad(format!(
                "not valid docker config JSON (line {}, column {})",
                e.line(),
                e.column()
            ))
        };
        let auths = if key == ".dockerconfigjson" {
            serde_json::from_slice::<RawConfig>(raw)
                .map_err(json_error)?
                .auths
        } else {
            serde_json::from_slice::<BTreeMap<String, RawAuth>>(raw).map_err(json_error)?
        };
        let mut out = BTreeMap::new();
        for (registry, raw) in auths {
            let mut auth = RegistryAuth {
                username: raw.username.filter(|u| !u.is_empty()),
                password: raw.password.filter(|p| !p.is_empty()),
                identity_token: raw.identity_token.filter(|t| !t.is_empty()),
                registry_token: raw.registry_token.filter(|t| !t.is_empty()),
            };
            if let Some(encoded) = raw.auth.filter(|a| !a.is_empty()) {
                use base64::Engine as _;
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim())
                    .ok()
                    .and_then(|d| String::from_utf8(d).ok())
                    .ok_or_else(|| bad(format!("'auth' of {registry:?} is not base64 text")))?;
                let (user, password) = decoded.split_once(':').ok_or_else(|| {
                    bad(format!("'auth' of {registry:?} is not 'username:password'"))
                })?;
                auth.username = Some(user.to_string());
                auth.password = Some(password.to_string());
            }
            out.insert(registry_host(&registry), auth);
        }
        Ok(Some(Self { auths: out }))
    }

    /// The credentials for `registry` (a host, `host:port`, or a URL), with
    /// Docker Hub's aliases treated as one.
    pub fn credentials_for(&self, registry: &str) -> Option<&RegistryAuth> {
        self.auths.get(&registry_host(registry))
    }
}

/// A registry key as Docker normalises it: no scheme, no path, Docker
/// Hub's aliases folded into `docker.io`.
fn registry_host(registry: &str) -> String {
    let s = registry.trim();
    let s = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .unwrap_or(s);
    let host = s.split('/').next().unwrap_or_default().to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => {
            "docker.io".to_string()
        }
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &[u8])]) -> SecretData {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_vec()))
            .collect()
    }

    const SECRET: &[u8] = b"s3cret-value-42";

    #[test]
    fn missing_and_empty_keys_are_unset() {
        let d = data(&[("username", b""), ("other", b"x")]);
        assert_eq!(text(&d, "username"), Ok(None));
        assert_eq!(text(&d, "absent"), Ok(None));
        assert_eq!(basic_auth(&d), Ok(None));
        assert_eq!(bearer_token(&d), Ok(None));
        assert_eq!(TlsMaterial::from_secret(&d), Ok(None));
        assert_eq!(DockerConfig::from_secret(&d), Ok(None));
        assert_eq!(
            ProxySettings::from_secret(&d),
            Err(SecretError::MissingKey("address".into()))
        );
    }

    #[test]
    fn basic_and_bearer() {
        let d = data(&[("username", b"flux"), ("password", SECRET)]);
        let b = basic_auth(&d).unwrap().unwrap();
        assert_eq!(
            (b.username.as_str(), b.password.as_bytes()),
            ("flux", SECRET)
        );
        assert!(!format!("{b:?}").contains("s3cret"));
        let err = basic_auth(&data(&[("password", SECRET)])).unwrap_err();
        assert_eq!(err, SecretError::MissingKey("username".into()));
        assert_eq!(
            bearer_token(&data(&[("bearerToken", b"t")])),
            Ok(Some("t".into()))
        );
    }

    #[test]
    fn non_utf8_names_the_key_only() {
        let mut bad = SECRET.to_vec();
        bad.push(0xff);
        for key in ["username", "password", "bearerToken"] {
            let mut d = data(&[("username", b"u")]);
            d.insert(key.to_string(), bad.clone());
            let err = if key == "bearerToken" {
                bearer_token(&d).unwrap_err()
            } else {
                basic_auth(&d).unwrap_err()
            };
            let shown = format!("{err} {err:?}");
            assert!(shown.contains(key) && !shown.contains("s3cret"), "{shown}");
        }
        let err = ProxySettings::from_secret(&data(&[("address", &bad)])).unwrap_err();
        assert_eq!(err, SecretError::NotUtf8("address".into()));
    }

    #[test]
    fn tls_keys_legacy_names_and_pairs() {
        let t = TlsMaterial::from_secret(&data(&[("caFile", b"legacy")]))
            .unwrap()
            .unwrap();
        assert_eq!(t.ca.as_deref(), Some(&b"legacy"[..]));
        let t = TlsMaterial::from_secret(&data(&[("ca.crt", b"new"), ("caFile", b"old")]))
            .unwrap()
            .unwrap();
        assert_eq!(t.ca.as_deref(), Some(&b"new"[..]));
        let t = TlsMaterial::from_secret(&data(&[("certFile", b"c"), ("keyFile", SECRET)]))
            .unwrap()
            .unwrap();
        assert!(t.cert.is_some() && t.key.is_some() && t.ca.is_none());
        assert!(!format!("{t:?}").contains("s3cret"));
        // A certificate without its key, and the other way round.
        for d in [data(&[("tls.crt", b"c")]), data(&[("tls.key", SECRET)])] {
            let err = TlsMaterial::from_secret(&d).unwrap_err();
            assert_eq!(
                err.to_string(),
                "'tls.crt' and 'tls.key' must be set together"
            );
        }
    }

    #[test]
    fn bad_pem_is_refused_without_its_content() {
        let junk = TlsMaterial {
            ca: Some(SECRET.to_vec()),
            ..TlsMaterial::default()
        };
        let err = junk.check().unwrap_err();
        assert!(matches!(err, SecretError::InvalidCa | SecretError::EmptyCa));
        assert!(!err.to_string().contains("s3cret"));
        let broken = TlsMaterial {
            ca: Some(
                b"-----BEGIN CERTIFICATE-----\n!!!s3cret!!!\n-----END CERTIFICATE-----\n".to_vec(),
            ),
            ..TlsMaterial::default()
        };
        let err = broken.check().unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
        let identity = TlsMaterial {
            cert: Some(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".to_vec()),
            key: Some(b"-----BEGIN PRIVATE KEY-----\ns3cret\n-----END PRIVATE KEY-----\n".to_vec()),
            ..TlsMaterial::default()
        };
        let err = identity.check().unwrap_err();
        assert_eq!(err, SecretError::InvalidIdentity);
        assert_ne!(junk.fingerprint(), identity.fingerprint());
    }

    #[test]
    fn real_material_passes_and_a_foreign_key_does_not() {
        let certs = ferroflux_testsupport::tls::TestCerts::new();
        let good = TlsMaterial::from_secret(&data(&[
            ("ca.crt", &certs.ca_pem),
            ("tls.crt", &certs.client_cert_pem),
            ("tls.key", &certs.client_key_pem),
        ]))
        .unwrap()
        .unwrap();
        good.check().unwrap();
        assert_eq!(good.certificates().unwrap().len(), 1);
        assert!(good.identity().unwrap().is_some());
        // The client certificate with the server's key: both parse, they
        // do not belong together.
        let mismatched = TlsMaterial {
            key: Some(certs.server_key_pem.clone()),
            ..good
        };
        assert_eq!(mismatched.check(), Err(SecretError::InvalidIdentity));
    }

    #[test]
    fn proxy_carries_credentials_and_hides_them() {
        let p = ProxySettings::from_secret(&data(&[
            ("address", b" http://proxy:3128 "),
            ("username", b"u"),
            ("password", SECRET),
        ]))
        .unwrap();
        assert_eq!(p.url.username(), "u");
        assert_eq!(p.url.password().map(str::as_bytes), Some(SECRET));
        assert!(!format!("{p:?}").contains("s3cret"));
        let err =
            ProxySettings::from_secret(&data(&[("address", b"ftp://s3cret@p/")])).unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
        let err =
            ProxySettings::from_secret(&data(&[("address", b"not a url s3cret")])).unwrap_err();
        assert!(matches!(err, SecretError::InvalidProxy(_)));
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    #[test]
    fn docker_config_json() {
        use base64::Engine as _;
        let auth = base64::engine::general_purpose::STANDARD.encode("robot:s3cret");
        let json = format!(
            r#"{{"auths": {{"https://index.docker.io/v1/": {{"auth": "{auth}"}},
                "ghcr.io": {{"username": "me", "password": "pw"}},
                "registry.local:5000": {{"identitytoken": "tok"}}}}}}"#
        );
        let c = DockerConfig::from_secret(&data(&[(".dockerconfigjson", json.as_bytes())]))
            .unwrap()
            .unwrap();
        let hub = c.credentials_for("docker.io").unwrap();
        assert_eq!(hub.username.as_deref(), Some("robot"));
        assert_eq!(hub.password.as_deref(), Some("s3cret"));
        assert!(!format!("{c:?}").contains("s3cret"));
        assert_eq!(
            c.credentials_for("https://ghcr.io/v2/")
                .unwrap()
                .username
                .as_deref(),
            Some("me")
        );
        assert_eq!(
            c.credentials_for("registry.local:5000")
                .unwrap()
                .identity_token
                .as_deref(),
            Some("tok")
        );
        assert!(c.credentials_for("quay.io").is_none());
        let legacy = DockerConfig::from_secret(&data(&[(
            ".dockercfg",
            br#"{"quay.io": {"username": "q", "password": "p"}}"#,
        )]))
        .unwrap()
        .unwrap();
        assert!(legacy.credentials_for("quay.io").is_some());
    }

    #[test]
    fn bad_docker_config_says_where_not_what() {
        for raw in [
            &br#"{"auths": {"r": {"auth": "s3cret!!not-base64"}}}"#[..],
            br#"{"auths": {"r": {"auth": "czNjcmV0"}}}"#, // "s3cret": no colon
            br#"{"auths": {"r": {"username": 42, "password": "s3cret"}}}"#,
            br#"{"auths": "s3cret"}"#,
            b"\xff s3cret",
        ] {
            let err = DockerConfig::from_secret(&data(&[(".dockerconfigjson", raw)])).unwrap_err();
            assert!(
                matches!(err, SecretError::InvalidDockerConfig { .. }),
                "{err:?}"
            );
            assert!(!format!("{err} {err:?}").contains("s3cret"), "{err}");
        }
    }
}
