//! Authenticating webhook calls, per Receiver type, as Flux documents:
//!
//! - `generic`: the secret path is the only check;
//! - `generic-hmac`: `X-Signature: <sha256|sha512>=<hex HMAC of the body>`;
//! - `github`: `X-Hub-Signature-256: sha256=<hex HMAC of the body>`, the
//!   event from `X-GitHub-Event` (a `ping` is answered without reconciling);
//! - `gitlab`: `X-Gitlab-Token` equal to the token, the event from
//!   `X-Gitlab-Event`.
//!
//! Every comparison of secret material is constant-time.

use axum::http::HeaderMap;
use ferroflux_api::notification::v1::ReceiverType;
use hmac::{Hmac, Mac};
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
        other => return Err(format!("unsupported signature algorithm {other:?}")),
    };
    match ok {
        Ok(true) => Ok(()),
        _ => Err("signature does not match the payload".to_string()),
    }
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
            let sig = header(headers, "x-hub-signature-256").ok_or_else(|| {
                Rejection::Unauthorized("missing X-Hub-Signature-256 header".to_string())
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
            // Hash both sides so the comparison leaks not even the length.
            let same: bool = Sha256::digest(given.as_bytes())
                .ct_eq(&Sha256::digest(token.as_bytes()))
                .into();
            if given.is_empty() || !same {
                return Err(Rejection::Unauthorized(
                    "the X-Gitlab-Token header value does not match the receiver token".to_string(),
                ));
            }
            let event = header(headers, "x-gitlab-event").unwrap_or_default();
            event_allowed("GitLab", event, events)?;
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

    #[test]
    fn unsupported_types_say_so() {
        assert_eq!(
            verify(ReceiverType::Quay, "t", &[], &HeaderMap::new(), b""),
            Err(Rejection::Unsupported("quay".to_string()))
        );
    }
}
