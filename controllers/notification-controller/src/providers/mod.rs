//! Providers: where notifications go. Settings come from the Provider spec
//! and its Secrets ([`config`]), each type renders its own payload
//! ([`render`], [`payload`]), [`send`] posts it, [`redact`] keeps secrets
//! out of messages and [`reconciler`] keeps the Provider's status.
//!
//! Types: `generic`, `generic-hmac`, `slack`, `discord`, `msteams`,
//! `googlechat`, `rocket`, `webex`, `telegram`, `matrix`, and the commit
//! statuses `github`, `gitlab`, `gitea` ([`commit_status`]).

pub mod commit_status;
pub mod config;
pub mod payload;
pub mod reconciler;
pub mod redact;
pub mod render;
pub mod secrets;
pub mod send;

pub use config::{ConfigError, ProviderConfig, SecretData, resolve};
pub use render::{Rendered, render};
