//! `ferroflux create secret git|helm|tls|oci`: the Secrets Flux's sources
//! read credentials from, from flags named as `flux create secret`'s.
//! Values never appear in messages; files are read with a size bound.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Map, Value, json};

use crate::connect::ConnectArgs;
use crate::create::{export_yaml, offline_namespace};
use crate::install::FIELD_MANAGER;
use crate::table::Log;

/// The most a certificate or key file may hold.
const MAX_FILE: u64 = 1 << 20;

/// `create secret ...`.
#[derive(clap::Args, Debug)]
pub struct SecretArgs {
    #[command(subcommand)]
    what: SecretWhat,
}

#[derive(clap::Subcommand, Debug)]
enum SecretWhat {
    /// Credentials of a Git repository over HTTP(S): basic auth or a bearer token.
    Git(GitSecretArgs),
    /// Basic auth of a Helm repository.
    Helm(HelmSecretArgs),
    /// A TLS client certificate and/or CA certificate.
    Tls(TlsSecretArgs),
    /// Credentials of an OCI registry (`kubernetes.io/dockerconfigjson`).
    Oci(OciSecretArgs),
}

#[derive(clap::Args, Debug)]
struct GitSecretArgs {
    /// The Secret's name.
    #[arg(value_parser = crate::create::parse_object_name)]
    name: String,
    /// The Git repository's address.
    #[arg(long)]
    url: Option<String>,
    /// Basic auth user name.
    #[arg(short = 'u', long)]
    username: Option<String>,
    /// Basic auth password.
    #[arg(short = 'p', long)]
    password: Option<String>,
    /// Bearer token.
    #[arg(long)]
    bearer_token: Option<String>,
    /// A CA certificate file (PEM) for the server.
    #[arg(long)]
    ca_crt_file: Option<PathBuf>,
    /// Not supported: SSH keys.
    #[arg(long, hide = true)]
    private_key_file: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct HelmSecretArgs {
    /// The Secret's name.
    #[arg(value_parser = crate::create::parse_object_name)]
    name: String,
    /// Basic auth user name.
    #[arg(short = 'u', long)]
    username: Option<String>,
    /// Basic auth password.
    #[arg(short = 'p', long)]
    password: Option<String>,
}

#[derive(clap::Args, Debug)]
struct TlsSecretArgs {
    /// The Secret's name.
    #[arg(value_parser = crate::create::parse_object_name)]
    name: String,
    /// The client certificate (PEM).
    #[arg(long)]
    tls_crt_file: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long)]
    tls_key_file: Option<PathBuf>,
    /// The CA certificate (PEM).
    #[arg(long)]
    ca_crt_file: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct OciSecretArgs {
    /// The Secret's name.
    #[arg(value_parser = crate::create::parse_object_name)]
    name: String,
    /// The registry's host, e.g. `ghcr.io`.
    #[arg(long)]
    url: Option<String>,
    /// User name.
    #[arg(short = 'u', long)]
    username: Option<String>,
    /// Password or token.
    #[arg(short = 'p', long)]
    password: Option<String>,
}

/// Reads a PEM file named by `flag`, bounded, without echoing its content.
fn read_pem(flag: &str, path: &Path) -> anyhow::Result<String> {
    let shown = path.display();
    let file = std::fs::File::open(path)
        .map_err(|e| anyhow::anyhow!("failed to read {flag} {shown}: {e}"))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| anyhow::anyhow!("failed to read {flag} {shown}: {e}"))?;
    if bytes.len() as u64 > MAX_FILE {
        anyhow::bail!("failed to read {flag} {shown}: larger than 1 MiB");
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("{flag} {shown} is not a PEM file (not text)"))?;
    if !text.contains("-----BEGIN ") {
        anyhow::bail!("{flag} {shown} is not a PEM file (no BEGIN line)");
    }
    Ok(text)
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

/// The Secret's `type` (if any) and `stringData` the flags describe.
fn secret_data(what: &SecretWhat) -> anyhow::Result<(Option<&'static str>, Map<String, Value>)> {
    let mut data = Map::new();
    let mut put = |k: &str, v: &str| {
        data.insert(k.to_string(), Value::String(v.to_string()));
    };
    let kind = match what {
        SecretWhat::Git(a) => {
            let Some(url) = non_empty(&a.url) else {
                anyhow::bail!("url is required");
            };
            let scheme = url.split_once("://").map(|(s, _)| s).unwrap_or("");
            match scheme {
                "http" | "https" => {}
                "ssh" => anyhow::bail!(
                    "SSH Secrets are not supported yet: create one with identity and known_hosts \
                     (kubectl create secret generic NAME --from-file=identity=KEY \
                     --from-file=known_hosts=FILE)"
                ),
                _ => anyhow::bail!(
                    "git URL scheme '{scheme}' not supported, can be: ssh, http and https"
                ),
            }
            if a.private_key_file.is_some() {
                anyhow::bail!("--private-key-file needs an ssh:// URL");
            }
            match (
                non_empty(&a.username),
                non_empty(&a.password),
                non_empty(&a.bearer_token),
            ) {
                (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
                    anyhow::bail!("user credentials and bearer token cannot be used together")
                }
                (Some(u), Some(p), None) => {
                    put("username", u);
                    put("password", p);
                }
                (None, None, Some(t)) => put("bearerToken", t),
                (None, None, None) if a.ca_crt_file.is_some() => {}
                _ => anyhow::bail!(
                    "for Git over HTTP/S the username and password, or a bearer token, are required"
                ),
            }
            if let Some(f) = &a.ca_crt_file {
                put("ca.crt", &read_pem("--ca-crt-file", f)?);
            }
            None
        }
        SecretWhat::Helm(a) => {
            let (Some(u), Some(p)) = (non_empty(&a.username), non_empty(&a.password)) else {
                anyhow::bail!("--username and --password are required");
            };
            put("username", u);
            put("password", p);
            Some("kubernetes.io/basic-auth")
        }
        SecretWhat::Tls(a) => {
            match (&a.tls_crt_file, &a.tls_key_file) {
                (Some(c), Some(k)) => {
                    put("tls.crt", &read_pem("--tls-crt-file", c)?);
                    put("tls.key", &read_pem("--tls-key-file", k)?);
                }
                (None, None) => {}
                _ => anyhow::bail!("--tls-crt-file and --tls-key-file go together"),
            }
            if let Some(f) = &a.ca_crt_file {
                put("ca.crt", &read_pem("--ca-crt-file", f)?);
            }
            if data.is_empty() {
                anyhow::bail!("--tls-crt-file and --tls-key-file, or --ca-crt-file, are required");
            }
            Some("kubernetes.io/tls")
        }
        SecretWhat::Oci(a) => {
            let Some(url) = non_empty(&a.url) else {
                anyhow::bail!("--url is required");
            };
            let host = url.strip_prefix("oci://").unwrap_or(url);
            let host = host.split('/').next().unwrap_or("");
            let host_ok = !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
            if !host_ok {
                anyhow::bail!("invalid --url '{url}': expected a registry host such as ghcr.io");
            }
            let (Some(u), Some(p)) = (non_empty(&a.username), non_empty(&a.password)) else {
                anyhow::bail!("--username and --password are required");
            };
            use base64::Engine as _;
            let auth = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            let mut entry = serde_json::Map::new();
            entry.insert("username".into(), u.into());
            entry.insert("password".into(), p.into());
            entry.insert("auth".into(), auth.into());
            let mut auths = serde_json::Map::new();
            auths.insert(host.to_string(), Value::Object(entry));
            let mut config = serde_json::Map::new();
            config.insert("auths".into(), Value::Object(auths));
            let text = serde_json::to_string_pretty(&Value::Object(config))?;
            put(".dockerconfigjson", &text);
            Some("kubernetes.io/dockerconfigjson")
        }
    };
    Ok((kind, data))
}

impl SecretArgs {
    fn name(&self) -> &str {
        match &self.what {
            SecretWhat::Git(a) => &a.name,
            SecretWhat::Helm(a) => &a.name,
            SecretWhat::Tls(a) => &a.name,
            SecretWhat::Oci(a) => &a.name,
        }
    }

    /// Prints the Secret (`export`) or applies it.
    pub async fn run(
        &self,
        connect: &ConnectArgs,
        labels: &Map<String, Value>,
        export: bool,
        out: &mut dyn Write,
    ) -> anyhow::Result<()> {
        let (kind, data) = secret_data(&self.what)?;
        let name = self.name();
        let namespace_now = if export {
            offline_namespace(connect)
        } else {
            String::new()
        };
        let build = |namespace: &str| {
            let mut secret = json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "namespace": namespace},
                "stringData": data,
            });
            if !labels.is_empty() {
                secret["metadata"]["labels"] = Value::Object(labels.clone());
            }
            if let Some(t) = kind {
                secret["type"] = t.into();
            }
            secret
        };
        if export {
            let _ = out.write_all(export_yaml(&build(&namespace_now)).as_bytes());
            return Ok(());
        }
        let cluster = connect.connect().await?;
        let secret = build(&cluster.namespace);
        let ar = kube::api::ApiResource::erase::<k8s_openapi::api::core::v1::Secret>(&());
        let api: Api<DynamicObject> =
            Api::namespaced_with(cluster.client.clone(), &cluster.namespace, &ar);
        let params = PatchParams::apply(FIELD_MANAGER).force();
        match api.patch(name, &params, &Patch::Apply(&secret)).await {
            Ok(_) => {}
            // The server's message may quote the object; say only what failed.
            Err(kube::Error::Api(e)) => anyhow::bail!(
                "Secret {}/{name} was refused ({}: {})",
                cluster.namespace,
                e.code,
                e.reason
            ),
            Err(e) => return Err(cluster.explain(e)),
        }
        Log::default().action(&format!(
            "secret '{name}' created in '{}' namespace",
            cluster.namespace
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_files_are_bounded_and_never_echoed() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.pem");
        std::fs::write(
            &big,
            format!("-----BEGIN CERTIFICATE-----\n{}", "A".repeat(2 << 20)),
        )
        .unwrap();
        let e = read_pem("--ca-crt-file", &big).unwrap_err().to_string();
        assert!(e.ends_with("larger than 1 MiB"), "{e}");
        let not_pem = dir.path().join("key.txt");
        std::fs::write(&not_pem, "s3cret-material").unwrap();
        let e = read_pem("--tls-key-file", &not_pem)
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not a PEM file"), "{e}");
        assert!(!e.contains("s3cret"), "{e}");
        let binary = dir.path().join("bin");
        std::fs::write(&binary, [0xff, 0xfe, 0x00]).unwrap();
        assert!(read_pem("--ca-crt-file", &binary).is_err());
    }

    #[test]
    fn oci_credentials_make_a_docker_config() {
        let what = SecretWhat::Oci(OciSecretArgs {
            name: "ghcr".into(),
            url: Some("oci://ghcr.io/org".into()),
            username: Some("bot".into()),
            password: Some("pw".into()),
        });
        let (t, data) = secret_data(&what).unwrap();
        assert_eq!(t, Some("kubernetes.io/dockerconfigjson"));
        let config: Value =
            serde_json::from_str(data[".dockerconfigjson"].as_str().unwrap()).unwrap();
        assert_eq!(
            config,
            json!({"auths": {"ghcr.io": {"username": "bot", "password": "pw", "auth": "Ym90OnB3"}}})
        );
    }
}
