//! Authenticating webhook calls, per Receiver type, as Flux documents:
//!
//! - `generic`: the secret path is the only check;
//! - `generic-hmac`: `X-Signature: <sha256|sha512>=<hex HMAC of the body>`;
//! - `github`: `X-Hub-Signature-256: sha256=<hex HMAC of the body>`, the
//!   event from `X-GitHub-Event` (a `ping` is answered without reconciling);
//! - `gitlab`: `X-Gitlab-Token` equal to the token, the event from
//!   `X-Gitlab-Event`;
//! - `bitbucket` (Bitbucket Server / Data Center): `X-Hub-Signature:
//!   sha256=<hex HMAC of the body>` (checked as GitHub's, which Flux reuses),
//!   the event from `X-Event-Key`;
//! - `harbor`: the `Authorization` header equal to the token;
//! - `nexus`: `X-Nexus-Webhook-Signature: <hex HMAC-SHA1 of the body>`, and a
//!   body that decodes as Nexus' payload;
//! - `dockerhub`, `quay`, `acr`: as in Flux, the secret path is the only
//!   check (these services cannot sign their calls); the body must decode
//!   as the service's payload.
//!
//! `gcr` (Google OIDC tokens), `cdevents` (CDEvents schema validation) and
//! `generic-oidc` are not implemented: such Receivers are refused with
//! `UnsupportedReceiver` rather than left open.
//!
//! Every comparison of secret material is constant-time.

use axum::http::HeaderMap;
use ferroflux_api::notification::v1::ReceiverType;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

/// What to do with an authenticated call.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Reconcile the Receiver's resources.
    Proceed,
    /// A GitHub `ping`: answer, reconcile nothing.
    Ping,
}

/// Why a call is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Bad or missing credentials (401).
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but an event type the Receiver does not act on (400).
    #[error("{0}")]
    EventNotAllowed(String),
    /// The body is not the service's payload (400).
    #[error("{0}")]
    BadPayload(String),
    /// A type this version does not implement.
    #[error("receiver type {0} is not supported by this version of notification-controller")]
    Unsupported(String),
}

/// Whether this version implements `t`.
pub fn is_supported(t: ReceiverType) -> bool {
    matches!(
        t,
        ReceiverType::Generic
            | ReceiverType::GenericHmac
            | ReceiverType::Github
            | ReceiverType::Gitlab
            | ReceiverType::Bitbucket
            | ReceiverType::Harbor
            | ReceiverType::Dockerhub
            | ReceiverType::Quay
            | ReceiverType::Nexus
            | ReceiverType::Acr
    )
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// Checks `value` (`<algorithm>=<hex>`) as an HMAC of `body` keyed with
/// `token`.
pub fn verify_hmac(value: &str, token: &[u8], body: &[u8]) -> Result<(), String> {
    let (algorithm, hex_mac) = value
        .split_once('=')
        .ok_or_else(|| "invalid signature value: want <algorithm>=<hex>".to_string())?;
    let expected =
        hex::decode(hex_mac).map_err(|_| "invalid signature value: not hex".to_string())?;
    let ok = match algorithm {
        "sha256" => <Hmac<Sha256> as Mac>::new_from_slice(token).map(|mut m| {
            m.update(body);
            m.verify_slice(&expected).is_ok()
        }),
        "sha512" => <Hmac<Sha512> as Mac>::new_from_slice(token).map(|mut m| {
            m.update(body);
            m.verify_slice(&expected).is_ok()
        }),
        "sha1" => Ok(verify_hmac_sha1(token, body, &expected)),
        other => return Err(format!("unsupported signature algorithm {other:?}")),
    };
    match ok {
        Ok(true) => Ok(()),
        _ => Err("signature does not match the payload".to_string()),
    }
}

/// Whether `expected` is the HMAC-SHA1 of `body` keyed with `token`
/// (constant-time).
pub fn verify_hmac_sha1(token: &[u8], body: &[u8], expected: &[u8]) -> bool {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, token);
    ring::hmac::verify(&key, body, expected).is_ok()
}

/// Constant-time equality of a presented credential and the token: both
/// sides are hashed first, so not even the length leaks.
fn same_secret(given: &str, token: &str) -> bool {
    let same: bool = Sha256::digest(given.as_bytes())
        .ct_eq(&Sha256::digest(token.as_bytes()))
        .into();
    !given.is_empty() && same
}

/// The signature of a GitHub-style call: `X-Hub-Signature-256`, else
/// `X-Hub-Signature` (as go-github's `ValidatePayload`, which Flux uses for
/// GitHub and Bitbucket Server).
fn hub_signature(headers: &HeaderMap) -> Option<&str> {
    header(headers, "x-hub-signature-256")
        .filter(|s| !s.is_empty())
        .or_else(|| header(headers, "x-hub-signature").filter(|s| !s.is_empty()))
}

/// Docker Hub's webhook payload (the fields Flux reads).
#[derive(Deserialize, Default)]
#[serde(default)]
struct DockerHubPayload {
    push_data: DockerHubPushData,
    repository: DockerHubRepository,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DockerHubPushData {
    tag: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DockerHubRepository {
    repo_url: String,
}

/// Quay's repository-push payload (the fields Flux reads).
#[derive(Deserialize, Default)]
#[serde(default)]
struct QuayPayload {
    docker_url: String,
    updated_tags: Vec<String>,
}

/// Nexus' webhook payload (the fields Flux reads).
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct NexusPayload {
    action: String,
    repository_name: String,
}

/// Azure Container Registry's push payload (the fields Flux reads).
#[derive(Deserialize, Default)]
#[serde(default)]
struct AcrPayload {
    action: String,
    target: AcrTarget,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AcrTarget {
    repository: String,
    tag: String,
}

fn decode<'a, T: Deserialize<'a>>(service: &str, body: &'a [u8]) -> Result<T, Rejection> {
    serde_json::from_slice(body)
        .map_err(|e| Rejection::BadPayload(format!("cannot decode {service} webhook payload: {e}")))
}

fn event_allowed(kind: &str, event: &str, events: &[String]) -> Result<(), Rejection> {
    if events.is_empty() || events.iter().any(|e| e.eq_ignore_ascii_case(event)) {
        Ok(())
    } else {
        Err(Rejection::EventNotAllowed(format!(
            "the {kind} event {event:?} is not authorised"
        )))
    }
}

/// Authenticates a call to a Receiver of type `receiver_type` with `token`,
/// filtering on `events`.
pub fn verify(
    receiver_type: ReceiverType,
    token: &str,
    events: &[String],
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Verdict, Rejection> {
    match receiver_type {
        ReceiverType::Generic => Ok(Verdict::Proceed),
        ReceiverType::GenericHmac => {
            let sig = header(headers, "x-signature")
                .ok_or_else(|| Rejection::Unauthorized("missing X-Signature header".to_string()))?;
            verify_hmac(sig, token.as_bytes(), body).map_err(|e| {
                Rejection::Unauthorized(format!("unable to validate HMAC signature: {e}"))
            })?;
            Ok(Verdict::Proceed)
        }
        ReceiverType::Github => {
            let sig = hub_signature(headers).ok_or_else(|| {
                Rejection::Unauthorized(
                    "missing X-Hub-Signature-256 or X-Hub-Signature header".to_string(),
                )
            })?;
            verify_hmac(sig, token.as_bytes(), body).map_err(|e| {
                Rejection::Unauthorized(format!("the GitHub signature header is invalid: {e}"))
            })?;
            let event = header(headers, "x-github-event").unwrap_or_default();
            if event == "ping" {
                return Ok(Verdict::Ping);
            }
            event_allowed("GitHub", event, events)?;
            Ok(Verdict::Proceed)
        }
        ReceiverType::Gitlab => {
            let given = header(headers, "x-gitlab-token").unwrap_or_default();
            if !same_secret(given, token) {
                return Err(Rejection::Unauthorized(
                    "the X-Gitlab-Token header value does not match the receiver token".to_string(),
                ));
            }
            let event = header(headers, "x-gitlab-event").unwrap_or_default();
            event_allowed("GitLab", event, events)?;
            Ok(Verdict::Proceed)
        }
        ReceiverType::Bitbucket => {
            let sig = hub_signature(headers).ok_or_else(|| {
                Rejection::Unauthorized("missing X-Hub-Signature header".to_string())
            })?;
            verify_hmac(sig, token.as_bytes(), body).map_err(|e| {
                Rejection::Unauthorized(format!(
                    "the Bitbucket server signature header is invalid: {e}"
                ))
            })?;
            let event = header(headers, "x-event-key").unwrap_or_default();
            event_allowed("Bitbucket server", event, events)?;
            Ok(Verdict::Proceed)
        }
        ReceiverType::Harbor => {
            let given = header(headers, "authorization").unwrap_or_default();
            if !same_secret(given, token) {
                return Err(Rejection::Unauthorized(
                    "the Harbor Authorization header value does not match the receiver token"
                        .to_string(),
                ));
            }
            Ok(Verdict::Proceed)
        }
        ReceiverType::Nexus => {
            let sig = header(headers, "x-nexus-webhook-signature")
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    Rejection::Unauthorized(
                        "the Nexus signature is missing from header".to_string(),
                    )
                })?;
            let valid = hex::decode(sig)
                .is_ok_and(|expected| verify_hmac_sha1(token.as_bytes(), body, &expected));
            if !valid {
                return Err(Rejection::Unauthorized(
                    "invalid Nexus signature".to_string(),
                ));
            }
            let p: NexusPayload = decode("Nexus", body)?;
            tracing::debug!(action = %p.action, "handling Nexus event from {}", p.repository_name);
            Ok(Verdict::Proceed)
        }
        ReceiverType::Dockerhub => {
            let p: DockerHubPayload = decode("DockerHub", body)?;
            tracing::debug!(
                "handling DockerHub event from {} for tag {}",
                p.repository.repo_url,
                p.push_data.tag
            );
            Ok(Verdict::Proceed)
        }
        ReceiverType::Quay => {
            let p: QuayPayload = decode("Quay", body)?;
            tracing::debug!(tags = ?p.updated_tags, "handling Quay event from {}", p.docker_url);
            Ok(Verdict::Proceed)
        }
        ReceiverType::Acr => {
            let p: AcrPayload = decode("ACR", body)?;
            tracing::debug!(action = %p.action, "handling ACR event from {} for tag {}", p.target.repository, p.target.tag);
            Ok(Verdict::Proceed)
        }
        other => Err(Rejection::Unsupported(
            serde_json::to_value(other)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(token: &str, body: &[u8]) -> String {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(token.as_bytes()).unwrap();
        m.update(body);
        format!("sha256={}", hex::encode(m.finalize().into_bytes()))
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn github_signature_ping_and_events() {
        let body = br#"{"ref":"refs/heads/main"}"#;
        let events = vec!["push".to_string()];
        let good = headers(&[
            ("x-hub-signature-256", &sign("t", body)),
            ("x-github-event", "push"),
        ]);
        assert_eq!(
            verify(ReceiverType::Github, "t", &events, &good, body),
            Ok(Verdict::Proceed)
        );
        // A replay of the signature with another body fails.
        assert!(matches!(
            verify(ReceiverType::Github, "t", &events, &good, b"{}"),
            Err(Rejection::Unauthorized(_))
        ));
        assert!(matches!(
            verify(ReceiverType::Github, "other", &events, &good, body),
            Err(Rejection::Unauthorized(_))
        ));
        assert!(matches!(
            verify(
                ReceiverType::Github,
                "t",
                &events,
                &headers(&[("x-github-event", "push")]),
                body
            ),
            Err(Rejection::Unauthorized(_))
        ));
        let ping = headers(&[
            ("x-hub-signature-256", &sign("t", body)),
            ("x-github-event", "ping"),
        ]);
        assert_eq!(
            verify(ReceiverType::Github, "t", &events, &ping, body),
            Ok(Verdict::Ping)
        );
        let issue = headers(&[
            ("x-hub-signature-256", &sign("t", body)),
            ("x-github-event", "issues"),
        ]);
        assert!(matches!(
            verify(ReceiverType::Github, "t", &events, &issue, body),
            Err(Rejection::EventNotAllowed(_))
        ));
        assert_eq!(
            verify(ReceiverType::Github, "t", &[], &issue, body),
            Ok(Verdict::Proceed)
        );
    }

    #[test]
    fn generic_hmac_algorithms() {
        let body = b"payload";
        let h = headers(&[("x-signature", &sign("k", body))]);
        assert_eq!(
            verify(ReceiverType::GenericHmac, "k", &[], &h, body),
            Ok(Verdict::Proceed)
        );
        let mut m = <Hmac<Sha512> as Mac>::new_from_slice(b"k").unwrap();
        m.update(body);
        let h = headers(&[(
            "x-signature",
            &format!("sha512={}", hex::encode(m.finalize().into_bytes())),
        )]);
        assert_eq!(
            verify(ReceiverType::GenericHmac, "k", &[], &h, body),
            Ok(Verdict::Proceed)
        );
        let h = headers(&[("x-signature", "md5=abcd")]);
        assert!(matches!(
            verify(ReceiverType::GenericHmac, "k", &[], &h, body),
            Err(Rejection::Unauthorized(_))
        ));
        assert!(matches!(
            verify(ReceiverType::GenericHmac, "k", &[], &HeaderMap::new(), body),
            Err(Rejection::Unauthorized(_))
        ));
    }

    #[test]
    fn gitlab_token_and_events() {
        let events = vec!["Push Hook".to_string()];
        let ok = headers(&[("x-gitlab-token", "t0k"), ("x-gitlab-event", "push hook")]);
        assert_eq!(
            verify(ReceiverType::Gitlab, "t0k", &events, &ok, b""),
            Ok(Verdict::Proceed)
        );
        let bad = headers(&[("x-gitlab-token", "t0kx"), ("x-gitlab-event", "Push Hook")]);
        assert!(matches!(
            verify(ReceiverType::Gitlab, "t0k", &events, &bad, b""),
            Err(Rejection::Unauthorized(_))
        ));
        let tag = headers(&[
            ("x-gitlab-token", "t0k"),
            ("x-gitlab-event", "Tag Push Hook"),
        ]);
        assert!(matches!(
            verify(ReceiverType::Gitlab, "t0k", &events, &tag, b""),
            Err(Rejection::EventNotAllowed(_))
        ));
    }

    fn sign_sha1(token: &str, body: &[u8]) -> String {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, token.as_bytes());
        hex::encode(ring::hmac::sign(&key, body).as_ref())
    }

    #[test]
    fn bitbucket_hub_signature_and_event_key() {
        let body = br#"{"eventKey":"repo:refs_changed"}"#;
        let events = vec!["repo:refs_changed".to_string()];
        let good = headers(&[
            ("x-hub-signature", &sign("t", body)),
            ("x-event-key", "repo:refs_changed"),
        ]);
        assert_eq!(
            verify(ReceiverType::Bitbucket, "t", &events, &good, body),
            Ok(Verdict::Proceed)
        );
        assert!(matches!(
            verify(ReceiverType::Bitbucket, "t", &events, &good, b"{}"),
            Err(Rejection::Unauthorized(_))
        ));
        assert!(matches!(
            verify(ReceiverType::Bitbucket, "u", &events, &good, body),
            Err(Rejection::Unauthorized(_))
        ));
        let no_sig = headers(&[("x-event-key", "repo:refs_changed")]);
        assert!(matches!(
            verify(ReceiverType::Bitbucket, "t", &events, &no_sig, body),
            Err(Rejection::Unauthorized(_))
        ));
        let pr = headers(&[
            ("x-hub-signature", &sign("t", body)),
            ("x-event-key", "pr:opened"),
        ]);
        assert!(matches!(
            verify(ReceiverType::Bitbucket, "t", &events, &pr, body),
            Err(Rejection::EventNotAllowed(_))
        ));
        // sha1 signatures, as go-github accepts them.
        let sha1 = headers(&[("x-hub-signature", &format!("sha1={}", sign_sha1("t", body)))]);
        assert_eq!(
            verify(ReceiverType::Bitbucket, "t", &[], &sha1, body),
            Ok(Verdict::Proceed)
        );
    }

    #[test]
    fn harbor_authorization_header() {
        let ok = headers(&[("authorization", "h4rbor")]);
        assert_eq!(
            verify(ReceiverType::Harbor, "h4rbor", &[], &ok, b"{}"),
            Ok(Verdict::Proceed)
        );
        for bad in [
            headers(&[("authorization", "Bearer h4rbor")]),
            headers(&[("authorization", "h4rbo")]),
            HeaderMap::new(),
        ] {
            assert!(matches!(
                verify(ReceiverType::Harbor, "h4rbor", &[], &bad, b"{}"),
                Err(Rejection::Unauthorized(_))
            ));
        }
    }

    #[test]
    fn nexus_hmac_sha1_of_the_body() {
        let body = br#"{"action":"CREATED","repositoryName":"docker-hosted"}"#;
        let ok = headers(&[("x-nexus-webhook-signature", &sign_sha1("n3xus", body))]);
        assert_eq!(
            verify(ReceiverType::Nexus, "n3xus", &[], &ok, body),
            Ok(Verdict::Proceed)
        );
        assert!(matches!(
            verify(ReceiverType::Nexus, "other", &[], &ok, body),
            Err(Rejection::Unauthorized(_))
        ));
        assert!(matches!(
            verify(ReceiverType::Nexus, "n3xus", &[], &HeaderMap::new(), body),
            Err(Rejection::Unauthorized(_))
        ));
        let not_hex = headers(&[("x-nexus-webhook-signature", "zz")]);
        assert!(matches!(
            verify(ReceiverType::Nexus, "n3xus", &[], &not_hex, body),
            Err(Rejection::Unauthorized(_))
        ));
        // Signed, but not Nexus' payload.
        let junk = b"not json";
        let signed = headers(&[("x-nexus-webhook-signature", &sign_sha1("n3xus", junk))]);
        assert!(matches!(
            verify(ReceiverType::Nexus, "n3xus", &[], &signed, junk),
            Err(Rejection::BadPayload(_))
        ));
    }

    #[test]
    fn registries_without_signatures_check_the_payload() {
        let none = HeaderMap::new();
        let dockerhub = br#"{"push_data":{"tag":"1.2.3"},"repository":{"repo_url":"https://hub.docker.com/r/org/app"}}"#;
        assert_eq!(
            verify(ReceiverType::Dockerhub, "t", &[], &none, dockerhub),
            Ok(Verdict::Proceed)
        );
        let quay = br#"{"docker_url":"quay.io/org/app","updated_tags":["1.2.3"]}"#;
        assert_eq!(
            verify(ReceiverType::Quay, "t", &[], &none, quay),
            Ok(Verdict::Proceed)
        );
        let acr = br#"{"action":"push","target":{"repository":"app","tag":"1.2.3"}}"#;
        assert_eq!(
            verify(ReceiverType::Acr, "t", &[], &none, acr),
            Ok(Verdict::Proceed)
        );
        for t in [
            ReceiverType::Dockerhub,
            ReceiverType::Quay,
            ReceiverType::Acr,
        ] {
            assert!(matches!(
                verify(t, "t", &[], &none, b"<html>"),
                Err(Rejection::BadPayload(_))
            ));
        }
        assert!(matches!(
            verify(
                ReceiverType::Quay,
                "t",
                &[],
                &none,
                br#"{"updated_tags":"x"}"#
            ),
            Err(Rejection::BadPayload(_))
        ));
    }

    #[test]
    fn unsupported_types_say_so() {
        assert_eq!(
            verify(ReceiverType::Gcr, "t", &[], &HeaderMap::new(), b""),
            Err(Rejection::Unsupported("gcr".to_string()))
        );
        assert!(!is_supported(ReceiverType::Cdevents));
    }
}
