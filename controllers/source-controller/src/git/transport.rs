//! Connecting to a remote (HTTP(S), SSH, git://, file://) with the right
//! credentials, listing its refs, and turning gix errors into `GitError`s.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use gix::credentials::helper::Action;
use gix::credentials::protocol::Outcome;
use gix::protocol::handshake::Ref;
use gix::protocol::transport::client::blocking_io::{Transport, connect, http, ssh};

use super::GitSource;
use super::auth::{DEFAULT_SSH_USER, SshSession};
use super::error::{GitError, Redactor, chain, sanitize_url};

/// Sent as the Git protocol `agent` capability.
const AGENT: &str = "ferroflux-source-controller";

/// The function gix calls when an HTTP server asks for credentials.
pub(crate) type Authenticate =
    Box<dyn FnMut(Action) -> gix::Result<Option<Outcome>> + Send + Sync + 'static>;

/// Everything needed to open connections to one remote.
pub(crate) struct Remote {
    pub(crate) url: gix::Url,
    /// The URL without userinfo, for messages.
    pub(crate) display: String,
    redactor: Redactor,
    basic: Option<(String, String)>,
    bearer: bool,
    http: Option<http::Options>,
    ssh: Option<SshSession>,
    timeout: Duration,
    /// `--git-file-max-size`: also the cache's allocation limit per object.
    file_max_size: u64,
    /// Set by the watchdog when the operation's time is up.
    pub(crate) interrupt: Arc<AtomicBool>,
}

impl Remote {
    pub(crate) fn new(source: &GitSource, interrupt: Arc<AtomicBool>) -> Result<Remote, GitError> {
        let display = sanitize_url(&source.url);
        let url_only = Redactor::new(&source.url, &display, []);
        let invalid = |message: String| GitError::InvalidUrl {
            url: display.clone(),
            message: url_only.redact(&message),
        };
        let mut url = gix::url::parse(gix::bstr::BStr::new(source.url.as_bytes()))
            .map_err(|e| invalid(format!("cannot parse URL: {e}")))?;
        let mut auth = source.auth.clone();
        let (mut http_options, mut ssh_session, mut url_password) = (None, None, None);
        match url.scheme {
            gix::url::Scheme::Http | gix::url::Scheme::Https => {
                // Credentials in the URL are used when the Secret has none (as Flux),
                // but never sent in the URL itself.
                let user = url.set_user(None);
                let password = url.set_password(None);
                url_password = password.clone();
                if auth.username.is_none() && auth.bearer_token.is_none() {
                    auth.username = user;
                    if auth.password.is_none() {
                        auth.password = password;
                    }
                }
                auth.validate(&source.url)?;
                http_options = Some(auth.http_options(&source.url, source.timeout)?);
            }
            gix::url::Scheme::Ssh => {
                auth.validate(&source.url)?;
                if url.user().is_none() {
                    url.set_user(Some(DEFAULT_SSH_USER.to_string()));
                }
                if let Some(ssh) = &auth.ssh {
                    ssh_session = Some(SshSession::new(
                        ssh,
                        source.ssh_program.as_deref(),
                        source.timeout,
                    )?);
                }
            }
            gix::url::Scheme::Git | gix::url::Scheme::File => {}
            other => return Err(invalid(format!("unsupported scheme '{other}'"))),
        }
        let mut secrets = auth.secret_values();
        if let Some(p) = url_password.as_deref() {
            secrets.push(p);
        }
        let redactor = Redactor::new(&source.url, &display, secrets);
        Ok(Remote {
            url,
            display,
            redactor,
            basic: auth.basic(),
            bearer: auth.bearer_token.is_some(),
            http: http_options,
            ssh: ssh_session,
            timeout: source.timeout,
            file_max_size: source.limits.file_max_size,
            interrupt,
        })
    }

    /// Opens a new transport; HTTP options are applied by the caller.
    pub(crate) fn connect(&self) -> Result<Box<dyn Transport + Send>, GitError> {
        let mut options = connect::Options {
            version: gix::protocol::transport::Protocol::V2,
            ..Default::default()
        };
        if let Some(session) = &self.ssh {
            options.ssh = ssh::connect::Options {
                command: Some(session.command.clone()),
                disallow_shell: false,
                kind: Some(ssh::ProgramKind::Ssh),
            };
        }
        connect::connect(self.url.clone(), options).map_err(|e| self.error(e))
    }

    /// HTTP transport options (timeouts, TLS, bearer header), if HTTP(S).
    pub(crate) fn http_options(&self) -> Option<http::Options> {
        self.http.clone()
    }

    /// Answers HTTP authentication challenges with the basic credentials, if any.
    pub(crate) fn authenticate(&self) -> Authenticate {
        let basic = self.basic.clone();
        Box::new(move |action| match action {
            Action::Get(ctx) => Ok(basic.clone().map(|(username, password)| Outcome {
                identity: gix::sec::identity::Account {
                    username,
                    password,
                    oauth_refresh_token: None,
                },
                next: ctx.into(),
            })),
            Action::Store(_) | Action::Erase(_) => Ok(None),
        })
    }

    /// Lists the remote's refs under `prefixes` (one handshake + `ls-refs`).
    pub(crate) fn list_refs(&self, prefixes: &[String]) -> Result<Vec<Ref>, GitError> {
        let mut transport = self.connect()?;
        if let Some(http) = &self.http {
            transport.configure(http).map_err(|e| self.error(e))?;
        }
        let mut transport = gix::protocol::SendFlushOnDrop::new(transport, false);
        let mut progress = gix::progress::Discard;
        let mut handshake = gix::protocol::handshake(
            &mut transport.inner,
            gix::protocol::transport::Service::UploadPack,
            self.authenticate(),
            Vec::new(),
            &mut progress,
        )
        .map_err(|e| self.error(e))?;
        if let Some(refs) = handshake.refs.take() {
            return Ok(refs);
        }
        let mut ref_prefixes = gix::protocol::ls_refs::RefPrefixes::new();
        ref_prefixes.extend(prefixes.iter().map(|p| p.as_str().into()));
        gix::protocol::LsRefsCommand::new(
            Some(ref_prefixes),
            &handshake.capabilities,
            ("agent", Some(AGENT.to_string())),
        )
        .invoke_blocking(&mut transport.inner, &mut progress, false)
        .map_err(|e| self.error(e))
    }

    pub(crate) fn timed_out(&self) -> bool {
        self.interrupt.load(Ordering::SeqCst)
    }

    /// Classifies a gix error and renders it without secrets.
    pub(crate) fn error(&self, err: impl Into<gix::Error>) -> GitError {
        let err: gix::Error = err.into();
        let url = self.display.clone();
        if self.timed_out() {
            return GitError::GitOperationFailed {
                url,
                message: format!("operation timed out after {:?}", self.timeout),
            };
        }
        let mut message = chain(&err);
        let ssh_stderr = self
            .ssh
            .as_ref()
            .map(SshSession::stderr)
            .unwrap_or_default();
        if !ssh_stderr.is_empty() {
            message = format!("{message}: ssh: {ssh_stderr}");
        }
        let message = self.redactor.redact(&message);
        let lower = ssh_stderr.to_ascii_lowercase();
        let ssh_auth_failure = lower.contains("permission denied")
            || lower.contains("host key verification failed")
            || lower.contains("no matching host key");
        if err.is_unauthenticated() && self.basic.is_none() && self.http.is_some() {
            let message = if self.bearer {
                "the remote rejected the bearer token"
            } else {
                "the remote requires authentication, but no credentials were provided"
            };
            GitError::AuthenticationFailed {
                url,
                message: message.to_string(),
            }
        } else if err.is_unauthenticated() || err.is_permission_denied() || ssh_auth_failure {
            GitError::AuthenticationFailed { url, message }
        } else if err.is_resource_exhausted() {
            // The cache's allocation limit (the per-file limit) stopped gix
            // while it indexed the received pack: a pack names no paths.
            let what = if message.contains("Entry too large") {
                "a file of the commit is"
            } else {
                "the pack's index would be"
            };
            GitError::TooLarge {
                message: format!(
                    "{what} over the limit of {} bytes per file (--git-file-max-size); refused while fetching from '{url}', before anything was written",
                    self.file_max_size
                ),
            }
        } else {
            GitError::GitOperationFailed { url, message }
        }
    }
}
