//! Kubeconfigs that come from tenants (`spec.kubeConfig.secretRef` of a
//! Kustomization or a HelmRelease), vetted before they become a client.
//!
//! Such a kubeconfig is written by whoever may create the Secret, yet it
//! is used inside the controller's process. Left alone it could run a
//! command there (`exec`, an `auth-provider`'s `cmd-path`), or make the
//! controller read a file from its own disk (`tokenFile`,
//! `client-certificate`, `client-key`, `certificate-authority`) and send
//! it to a server the kubeconfig names (CVE-2022-24817 in Flux). As Flux
//! does, both are refused unless the operator opts in
//! ([`Policy::allow_exec`]: `--insecure-kubeconfig-exec`;
//! [`Policy::allow_tls_files`]: `--insecure-kubeconfig-tls`).
//!
//! Every value that becomes an HTTP header or a URL (token, username and
//! password, impersonation, server, proxy) is checked as well, so a bad
//! value is an error naming its field instead of a panic deep inside the
//! HTTP stack. Errors name fields and never quote their values.

use std::fmt;

use kube::config::{AuthInfo, Cluster, KubeConfigOptions, Kubeconfig};
use reqwest::header::HeaderValue;

/// What a tenant's kubeconfig may do beyond plain data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// Allow `exec` credential plugins, `auth-provider` commands
    /// (`cmd-path`) and `tokenFile` (`--insecure-kubeconfig-exec`).
    pub allow_exec: bool,
    /// Allow TLS files from the controller's disk (`certificate-authority`,
    /// `client-certificate`, `client-key`) and `insecure-skip-tls-verify`
    /// (`--insecure-kubeconfig-tls`).
    pub allow_tls_files: bool,
}

/// The flag that allows the exec-like fields.
pub const EXEC_FLAG: &str = "--insecure-kubeconfig-exec";
/// The flag that allows TLS files and skipping TLS verification.
pub const TLS_FLAG: &str = "--insecure-kubeconfig-tls";

/// Why a kubeconfig was not turned into a client. Messages name the field
/// at fault (`users[0].user.exec`) and never contain its value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KubeconfigError {
    /// Not YAML of a kubeconfig.
    #[error("not a valid kubeconfig{0}")]
    Parse(String),
    /// A field the policy does not allow.
    #[error(
        "{field}: {what} is not allowed in a kubeconfig from a Secret (the controller allows it only with {flag})"
    )]
    Refused {
        /// Where, e.g. `users[0].user.exec`.
        field: String,
        /// What it would do, e.g. `running a command`.
        what: &'static str,
        /// The flag that allows it.
        flag: &'static str,
    },
    /// A value that cannot be used (e.g. a token with a newline).
    #[error("{field}: {problem}")]
    Invalid {
        /// Where, e.g. `users[0].user.token`.
        field: String,
        /// What is wrong with it (never the value).
        problem: String,
    },
    /// The vetted kubeconfig still could not be made into a client.
    #[error("the kubeconfig cannot be used: {0}")]
    Unusable(String),
}

impl KubeconfigError {
    fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// Parses `yaml` as a kubeconfig. The error says where parsing failed but
/// never quotes the text (it may hold credentials).
pub fn parse(yaml: &str) -> Result<Kubeconfig, KubeconfigError> {
    Kubeconfig::from_yaml(yaml).map_err(|e| KubeconfigError::Parse(location(&e.to_string())))
}

/// " (at line L column C)" when the parser's message has a position.
fn location(message: &str) -> String {
    let digits_after = |key: &str| -> Option<u64> {
        let at = message.find(key)? + key.len();
        let rest = message[at..].trim_start_matches([' ', ':']);
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        rest[..end].parse().ok()
    };
    match (digits_after("line"), digits_after("column")) {
        (Some(l), Some(c)) => format!(" (at line {l} column {c})"),
        (Some(l), None) => format!(" (at line {l})"),
        _ => String::new(),
    }
}

/// Checks every cluster and user of `kc` against `policy` and checks every
/// value that becomes a header or a URL. The first problem is returned.
pub fn vet(kc: &Kubeconfig, policy: &Policy) -> Result<(), KubeconfigError> {
    for (i, named) in kc.clusters.iter().enumerate() {
        if let Some(cluster) = &named.cluster {
            vet_cluster(&format!("clusters[{i}].cluster"), cluster, policy)?;
        }
    }
    for (i, named) in kc.auth_infos.iter().enumerate() {
        if let Some(user) = &named.auth_info {
            vet_user(&format!("users[{i}].user"), user, policy)?;
        }
    }
    Ok(())
}

fn refused(field: String, what: &'static str, flag: &'static str) -> KubeconfigError {
    KubeconfigError::Refused { field, what, flag }
}

fn vet_cluster(at: &str, c: &Cluster, policy: &Policy) -> Result<(), KubeconfigError> {
    if !policy.allow_tls_files {
        if c.certificate_authority.is_some() {
            return Err(refused(
                format!("{at}.certificate-authority"),
                "reading a file from the controller's disk",
                TLS_FLAG,
            ));
        }
        if c.insecure_skip_tls_verify == Some(true) {
            return Err(refused(
                format!("{at}.insecure-skip-tls-verify"),
                "skipping TLS verification",
                TLS_FLAG,
            ));
        }
    }
    match &c.server {
        Some(server) => check_url(&format!("{at}.server"), server, &["http", "https"])?,
        None => return Err(KubeconfigError::invalid(format!("{at}.server"), "missing")),
    }
    if let Some(proxy) = c.proxy_url.as_deref().filter(|p| !p.is_empty()) {
        check_url(
            &format!("{at}.proxy-url"),
            proxy,
            &["http", "https", "socks5"],
        )?;
    }
    if let Some(name) = &c.tls_server_name {
        check_text(&format!("{at}.tls-server-name"), name)?;
    }
    Ok(())
}

fn vet_user(at: &str, u: &AuthInfo, policy: &Policy) -> Result<(), KubeconfigError> {
    if !policy.allow_exec {
        if u.exec.is_some() {
            return Err(refused(
                format!("{at}.exec"),
                "running a command",
                EXEC_FLAG,
            ));
        }
        if let Some(p) = &u.auth_provider
            && p.config.contains_key("cmd-path")
        {
            return Err(refused(
                format!("{at}.auth-provider.config.cmd-path"),
                "running a command",
                EXEC_FLAG,
            ));
        }
        if u.token_file.is_some() {
            return Err(refused(
                format!("{at}.tokenFile"),
                "reading a file from the controller's disk",
                EXEC_FLAG,
            ));
        }
    }
    if !policy.allow_tls_files {
        if u.client_certificate.is_some() {
            return Err(refused(
                format!("{at}.client-certificate"),
                "reading a file from the controller's disk",
                TLS_FLAG,
            ));
        }
        if u.client_key.is_some() {
            return Err(refused(
                format!("{at}.client-key"),
                "reading a file from the controller's disk",
                TLS_FLAG,
            ));
        }
    }
    let secret = secrets(u);
    if let Some(token) = &secret.token {
        check_bearer(&format!("{at}.token"), token)?;
    }
    if let Some(p) = &u.auth_provider {
        for key in ["id-token", "access-token"] {
            if let Some(token) = p.config.get(key) {
                check_bearer(&format!("{at}.auth-provider.config.{key}"), token)?;
            }
        }
    }
    if let Some(name) = &u.username {
        check_text(&format!("{at}.username"), name)?;
    }
    if let Some(password) = &secret.password {
        check_text(&format!("{at}.password"), password)?;
    }
    check_impersonation(at, u)
}

/// The impersonation headers (`as`, `as-uid`, `as-groups`, `as-user-extra`).
fn check_impersonation(at: &str, u: &AuthInfo) -> Result<(), KubeconfigError> {
    if let Some(v) = &u.impersonate {
        check_header(&format!("{at}.as"), v)?;
    }
    if let Some(v) = &u.impersonate_uid {
        check_header(&format!("{at}.as-uid"), v)?;
    }
    for (i, g) in u.impersonate_groups.iter().flatten().enumerate() {
        check_header(&format!("{at}.as-groups[{i}]"), g)?;
    }
    for (key, values) in u.impersonate_user_extra.iter().flatten() {
        // The key is percent-encoded into the header name; control
        // characters and an empty key make no sense there.
        if key.is_empty() || key.chars().any(char::is_control) {
            return Err(KubeconfigError::invalid(
                format!("{at}.as-user-extra"),
                "a key is empty or contains a control character",
            ));
        }
        for v in values {
            check_header(&format!("{at}.as-user-extra"), v)?;
        }
    }
    Ok(())
}

/// The secret fields of `u` (`token`, `password`) as text. kube keeps them
/// as `secrecy` strings and writes them out only when serialized.
struct Secrets {
    token: Option<String>,
    password: Option<String>,
}

fn secrets(u: &AuthInfo) -> Secrets {
    let v = serde_json::to_value(u).unwrap_or_default();
    let text = |k: &str| v.get(k).and_then(|t| t.as_str()).map(str::to_string);
    Secrets {
        token: text("token"),
        password: text("password"),
    }
}

/// `value` must fit in a header; the message never quotes it.
fn check_header(field: &str, value: &str) -> Result<(), KubeconfigError> {
    if HeaderValue::from_str(value).is_err() {
        return Err(KubeconfigError::invalid(
            field,
            "not a valid HTTP header value (it contains a newline or another control character)",
        ));
    }
    Ok(())
}

/// `token` must fit in `Authorization: Bearer <token>` and not be empty.
fn check_bearer(field: &str, token: &str) -> Result<(), KubeconfigError> {
    if token.trim().is_empty() {
        return Err(KubeconfigError::invalid(field, "empty"));
    }
    check_header(field, &format!("Bearer {token}"))
}

/// Text without control characters (usernames, passwords, server names).
fn check_text(field: &str, value: &str) -> Result<(), KubeconfigError> {
    if value.chars().any(char::is_control) {
        return Err(KubeconfigError::invalid(
            field,
            "contains a newline or another control character",
        ));
    }
    Ok(())
}

/// An absolute URL with one of `schemes` and a host.
fn check_url(field: &str, value: &str, schemes: &[&str]) -> Result<(), KubeconfigError> {
    let bad = |why: String| Err(KubeconfigError::invalid(field, why));
    if value.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return bad("not a valid URL (it contains whitespace or a control character)".into());
    }
    let url = match reqwest::Url::parse(value) {
        Ok(u) => u,
        Err(e) => return bad(format!("not a valid URL: {e}")),
    };
    if !schemes.contains(&url.scheme()) {
        return bad(format!(
            "the URL scheme must be {}",
            OneOf(schemes.iter().map(|s| format!("{s}://")).collect())
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return bad("the URL has no host".into());
    }
    Ok(())
}

struct OneOf(Vec<String>);

impl fmt::Display for OneOf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.split_last() {
            None => Ok(()),
            Some((last, [])) => f.write_str(last),
            Some((last, rest)) => write!(f, "{} or {last}", rest.join(", ")),
        }
    }
}

/// Parses, vets and loads `yaml` into a client configuration (the current
/// context), checked again as loaded: what the client will send.
pub async fn load(yaml: &str, policy: &Policy) -> Result<kube::Config, KubeconfigError> {
    let kc = parse(yaml)?;
    vet(&kc, policy)?;
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .map_err(|e| KubeconfigError::Unusable(redact(&e.to_string())))?;
    check_config(&config)?;
    Ok(config)
}

/// Checks what a client made from `config` would put in URLs and headers
/// (call again after changing it, e.g. after setting impersonation).
pub fn check_config(config: &kube::Config) -> Result<(), KubeconfigError> {
    let url = &config.cluster_url;
    if !matches!(url.scheme_str(), Some("http" | "https")) || url.authority().is_none() {
        return Err(KubeconfigError::invalid(
            "server",
            "must be an absolute http:// or https:// URL with a host",
        ));
    }
    if let Some(proxy) = &config.proxy_url
        && (!matches!(proxy.scheme_str(), Some("http" | "https" | "socks5"))
            || proxy.authority().is_none())
    {
        return Err(KubeconfigError::invalid(
            "proxy-url",
            "must be an absolute http://, https:// or socks5:// URL with a host",
        ));
    }
    let u = &config.auth_info;
    if let Some(token) = &secrets(u).token {
        check_bearer("user.token", token)?;
    }
    if let Some(p) = &u.auth_provider {
        for key in ["id-token", "access-token"] {
            if let Some(token) = p.config.get(key) {
                check_bearer(&format!("user.auth-provider.config.{key}"), token)?;
            }
        }
    }
    check_impersonation("user", u)
}

/// A client from a checked `config`. Built on the blocking pool: with
/// `exec` allowed, building runs the plugin. A panic inside the client
/// library (e.g. on what a plugin printed) is an error, not a crash.
pub async fn client(config: kube::Config) -> Result<kube::Client, KubeconfigError> {
    check_config(&config)?;
    match tokio::task::spawn_blocking(move || kube::Client::try_from(config)).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => Err(KubeconfigError::Unusable(redact(&e.to_string()))),
        Err(e) if e.is_panic() => Err(KubeconfigError::Unusable(
            "the client library rejected a credential".into(),
        )),
        Err(e) => Err(KubeconfigError::Unusable(format!(
            "building the client: {e}"
        ))),
    }
}

/// Errors from kube's loading can quote file contents or a plugin's
/// output; keep only the first line, cut short.
fn redact(message: &str) -> String {
    let first = message.lines().next().unwrap_or_default();
    first.chars().take(160).collect()
}
