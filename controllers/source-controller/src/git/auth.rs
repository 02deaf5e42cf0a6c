//! Credentials from a GitRepository's Secret, and how each transport uses them:
//! HTTP(S) basic auth or bearer token, custom CA and client certificates, and
//! SSH identity + known_hosts handed to the system `ssh` through 0600 temp files.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::{GitError, sanitize_url};

/// Username used for SSH when the URL names none (as Flux does).
pub const DEFAULT_SSH_USER: &str = "git";

/// Credentials for one remote. `Debug` never prints secret values.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Auth {
    /// HTTP basic auth user (`username`).
    pub username: Option<String>,
    /// HTTP basic auth password or token (`password`).
    pub password: Option<String>,
    /// `Authorization: Bearer` token (`bearerToken`).
    pub bearer_token: Option<String>,
    /// PEM CA bundle trusted in addition to the system roots (`ca.crt`, legacy `caFile`).
    pub ca_cert: Option<Vec<u8>>,
    /// PEM client certificate and key for mutual TLS (`tls.crt`, `tls.key`).
    pub client_cert: Option<(Vec<u8>, Vec<u8>)>,
    /// SSH credentials (`identity`, `known_hosts`, optional `password`).
    pub ssh: Option<SshAuth>,
}

/// SSH private key, the host keys to trust, and the key's passphrase if any.
#[derive(Clone, PartialEq, Eq)]
pub struct SshAuth {
    pub identity: Vec<u8>,
    pub known_hosts: Vec<u8>,
    pub passphrase: Option<String>,
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Auth")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("bearer_token", &self.bearer_token.as_ref().map(|_| "***"))
            .field("ca_cert", &self.ca_cert.as_ref().map(|c| c.len()))
            .field("client_cert", &self.client_cert.as_ref().map(|_| "***"))
            .field("ssh", &self.ssh)
            .finish()
    }
}

impl fmt::Debug for SshAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshAuth")
            .field("identity", &"***")
            .field("known_hosts_bytes", &self.known_hosts.len())
            .field("passphrase", &self.passphrase.as_ref().map(|_| "***"))
            .finish()
    }
}

fn is_ssh(url: &str) -> bool {
    url.starts_with("ssh://")
}

impl Auth {
    /// Reads credentials from a Secret's (decoded) `data`, the way Flux does for
    /// the scheme of `url`: SSH keys for `ssh://`, otherwise a bearer token if
    /// present, else username/password; CA and client certificates for HTTPS.
    pub fn from_secret_data(url: &str, data: &BTreeMap<String, Vec<u8>>) -> Result<Auth, GitError> {
        use ferroflux_runtime::secrets;
        let fail = |e: secrets::SecretError| GitError::AuthenticationFailed {
            url: sanitize_url(url),
            message: e.to_string(),
        };
        let bytes = |key: &str| secrets::bytes(data, key).map(<[u8]>::to_vec);
        let mut auth = Auth::default();
        if is_ssh(url) {
            if let (Some(identity), known_hosts) = (bytes("identity"), bytes("known_hosts")) {
                auth.ssh = Some(SshAuth {
                    identity,
                    known_hosts: known_hosts.unwrap_or_default(),
                    passphrase: secrets::text(data, "password").map_err(fail)?,
                });
            } else if bytes("known_hosts").is_some() {
                return Err(GitError::AuthenticationFailed {
                    url: sanitize_url(url),
                    message: "invalid 'ssh' auth option: 'identity' is required".into(),
                });
            }
        } else {
            if let Some(token) = secrets::bearer_token(data).map_err(fail)? {
                auth.bearer_token = Some(token);
            } else {
                // Not `secrets::basic_auth`: a password without a username is
                // reported by `validate` when the remote is used, as before.
                auth.username = secrets::text(data, "username").map_err(fail)?;
                auth.password = secrets::text(data, "password").map_err(fail)?;
            }
            if let Some(tls) = secrets::TlsMaterial::from_secret(data).map_err(fail)? {
                auth.ca_cert = tls.ca;
                auth.client_cert = tls.cert.zip(tls.key);
            }
        }
        Ok(auth)
    }

    /// Checks the combination of credentials against the URL's scheme.
    pub(crate) fn validate(&self, url: &str) -> Result<(), GitError> {
        let fail = |message: &str| {
            Err(GitError::AuthenticationFailed {
                url: sanitize_url(url),
                message: message.to_string(),
            })
        };
        if is_ssh(url) {
            return match &self.ssh {
                None => fail("invalid 'ssh' auth option: 'identity' is required"),
                Some(ssh) if ssh.known_hosts.is_empty() => {
                    fail("invalid 'ssh' auth option: 'known_hosts' is required")
                }
                Some(_) => Ok(()),
            };
        }
        if self.bearer_token.is_some() && (self.username.is_some() || self.password.is_some()) {
            return fail("basic auth and bearer token cannot be set at the same time");
        }
        if self.username.is_none() && self.password.is_some() {
            return fail("invalid auth option: 'password' requires 'username' to be set");
        }
        Ok(())
    }

    /// All secret strings, for masking them in error messages.
    pub(crate) fn secret_values(&self) -> Vec<&str> {
        let mut out = Vec::new();
        out.extend(self.password.as_deref());
        out.extend(self.bearer_token.as_deref());
        if let Some(ssh) = &self.ssh {
            out.extend(ssh.passphrase.as_deref());
        }
        out
    }

    /// Basic credentials to answer an HTTP authentication challenge with.
    pub(crate) fn basic(&self) -> Option<(String, String)> {
        self.username
            .as_ref()
            .map(|u| (u.clone(), self.password.clone().unwrap_or_default()))
    }

    /// Transport options for the HTTP(S) client: bearer header, TLS trust and
    /// client identity, per-request timeout.
    pub(crate) fn http_options(
        &self,
        url: &str,
        timeout: Duration,
    ) -> Result<gix::protocol::transport::client::blocking_io::http::Options, GitError> {
        use gix::protocol::transport::client::blocking_io::http;
        let fail = |message: String| GitError::AuthenticationFailed {
            url: sanitize_url(url),
            message,
        };
        let tls = ferroflux_runtime::secrets::TlsMaterial {
            ca: self.ca_cert.clone(),
            cert: self.client_cert.as_ref().map(|(cert, _)| cert.clone()),
            key: self.client_cert.as_ref().map(|(_, key)| key.clone()),
        };
        let certs = tls.certificates().map_err(|e| fail(e.to_string()))?;
        let identity = tls.identity().map_err(|e| fail(e.to_string()))?;
        let mut options = http::Options {
            connect_timeout: Some(timeout),
            ..Default::default()
        };
        if let Some(token) = &self.bearer_token {
            options
                .extra_headers
                .push(format!("Authorization: Bearer {token}"));
        }
        let backend = http::reqwest::Options {
            configure_client: Some(Box::new(move |mut builder| {
                builder = builder.timeout(timeout).connect_timeout(timeout);
                if !certs.is_empty() {
                    builder = builder.tls_certs_merge(certs.clone());
                }
                if let Some(identity) = &identity {
                    builder = builder.identity(identity.clone());
                }
                Ok(builder)
            })),
            configure_request: None,
        };
        options.backend = Some(std::sync::Arc::new(std::sync::Mutex::new(backend)));
        Ok(options)
    }
}

/// Files and the command line for one SSH session; the files (mode 0600) are
/// removed when this is dropped.
pub(crate) struct SshSession {
    dir: tempfile::TempDir,
    /// Runs a wrapper script that runs `ssh` with the session's options.
    pub(crate) command: OsString,
}

fn write_private(path: &Path, contents: &[u8], mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)?;
    file.write_all(contents)?;
    if !contents.ends_with(b"\n") {
        file.write_all(b"\n")?;
    }
    file.sync_all()
}

fn quote(path: &Path) -> String {
    format!("'{}'", path.display().to_string().replace('\'', r"'\''"))
}

impl SshSession {
    /// Writes the identity and known_hosts to a private temp dir and a wrapper
    /// script that runs `ssh` with that key only, those host keys only, strict
    /// host key checking, no prompts, no config files, and its stderr kept for
    /// error messages.
    pub(crate) fn new(
        ssh: &SshAuth,
        program: Option<&Path>,
        timeout: Duration,
    ) -> Result<SshSession, GitError> {
        let dir = tempfile::Builder::new()
            .prefix("ferroflux-ssh-")
            .tempdir()
            // The controller's scratch directory (made the process default).
            .map_err(|e| GitError::storage(&tempfile::env::temp_dir(), e))?;
        let path = |name: &str| -> PathBuf { dir.path().join(name) };
        let io = |e: std::io::Error| GitError::storage(dir.path(), e);
        write_private(&path("identity"), &ssh.identity, 0o600).map_err(io)?;
        write_private(&path("known_hosts"), &ssh.known_hosts, 0o600).map_err(io)?;
        let mut script = String::from("#!/bin/sh\n");
        if let Some(passphrase) = &ssh.passphrase {
            // ssh reads the key's passphrase from SSH_ASKPASS; the helper prints
            // a 0600 file so the passphrase never appears in a command line.
            write_private(&path("passphrase"), passphrase.as_bytes(), 0o600).map_err(io)?;
            let askpass = format!("#!/bin/sh\nexec cat {}\n", quote(&path("passphrase")));
            write_private(&path("askpass"), askpass.as_bytes(), 0o700).map_err(io)?;
            script.push_str(&format!(
                "SSH_ASKPASS={}\nSSH_ASKPASS_REQUIRE=force\nDISPLAY=none\n\
                 export SSH_ASKPASS SSH_ASKPASS_REQUIRE DISPLAY\n",
                quote(&path("askpass"))
            ));
        }
        let program = program.map(quote).unwrap_or_else(|| "ssh".to_string());
        let secs = timeout.as_secs().max(1);
        script.push_str(&format!(
            "exec {program} -F /dev/null -i {} -o IdentitiesOnly=yes -o IdentityAgent=none \
             -o UserKnownHostsFile={} -o GlobalKnownHostsFile=/dev/null \
             -o StrictHostKeyChecking=yes -o UpdateHostKeys=no -o HashKnownHosts=no \
             -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no \
             -o NumberOfPasswordPrompts=1 -o ConnectTimeout={secs} \
             -o ServerAliveInterval=15 -o ServerAliveCountMax=4 -o LogLevel=ERROR{} \
             \"$@\" 2>>{}\n",
            quote(&path("identity")),
            quote(&path("known_hosts")),
            if ssh.passphrase.is_some() {
                ""
            } else {
                " -o BatchMode=yes"
            },
            quote(&path("stderr")),
        ));
        write_private(&path("ssh"), script.as_bytes(), 0o600).map_err(io)?;
        // Run through `sh` rather than executing the fresh file: a fork in another
        // thread may still hold it open for writing (ETXTBSY).
        Ok(SshSession {
            command: format!("/bin/sh {}", quote(&path("ssh"))).into(),
            dir,
        })
    }

    /// What `ssh` printed on stderr so far (last lines, trimmed).
    pub(crate) fn stderr(&self) -> String {
        let text = std::fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default();
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        lines[lines.len().saturating_sub(3)..].join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn https_basic_and_bearer() {
        let a = Auth::from_secret_data(
            "https://h/r",
            &data(&[("username", "u"), ("password", "p")]),
        )
        .unwrap();
        assert_eq!(a.basic(), Some(("u".into(), "p".into())));
        let a = Auth::from_secret_data(
            "https://h/r",
            &data(&[("bearerToken", "t"), ("caFile", "x")]),
        )
        .unwrap();
        assert_eq!(a.bearer_token.as_deref(), Some("t"));
        assert_eq!(a.ca_cert.as_deref(), Some(&b"x"[..]));
        let a = Auth::from_secret_data("https://h/r", &data(&[("ca.crt", "a"), ("caFile", "b")]))
            .unwrap();
        assert_eq!(a.ca_cert.as_deref(), Some(&b"a"[..]));
        assert!(
            Auth::from_secret_data("https://h/r", &data(&[("password", "p")]))
                .unwrap()
                .validate("https://h/r")
                .is_err()
        );
        assert!(Auth::from_secret_data("https://h/r", &data(&[("tls.crt", "c")])).is_err());
    }

    #[test]
    fn ssh_requires_known_hosts_and_debug_hides_secrets() {
        let a = Auth::from_secret_data(
            "ssh://git@h/r",
            &data(&[("identity", "KEY"), ("password", "sekret")]),
        )
        .unwrap();
        assert!(a.validate("ssh://git@h/r").is_err());
        let dbg = format!("{a:?}");
        assert!(!dbg.contains("KEY") && !dbg.contains("sekret"), "{dbg}");
    }

    #[test]
    fn ssh_session_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let s = SshSession::new(
            &SshAuth {
                identity: b"KEY".to_vec(),
                known_hosts: b"h ssh-ed25519 AAAA".to_vec(),
                passphrase: None,
            },
            None,
            Duration::from_secs(5),
        )
        .unwrap();
        for name in ["identity", "known_hosts"] {
            let mode = std::fs::metadata(s.dir.path().join(name))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        let script = std::fs::read_to_string(s.dir.path().join("ssh")).unwrap();
        assert!(script.contains("StrictHostKeyChecking=yes") && !script.contains("KEY"));
    }
}
