//! Turning a notification into the HTTP request a Provider type sends:
//! where, which headers, which body. Pure, so every payload is testable
//! without a network.

use hmac::{Hmac, Mac};
use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, Url};
use sha2::Sha256;

use ferroflux_api::notification::v1beta3::ProviderType;

use super::commit_status;
use super::config::{ConfigError, ProviderConfig};
use super::payload::{googlechat, matrix, msteams, slack, telegram, webex};
use crate::intake::FluxEvent;

/// Header naming the controller that emitted the event (`generic` types).
pub const COMPONENT_HEADER: &str = "gotk-component";
/// Header carrying the HMAC of the body (`generic-hmac`).
pub const SIGNATURE_HEADER: &str = "x-signature";

/// How a response says the notification was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseCheck {
    /// Any 2xx status.
    Status,
    /// Slack's Web API: 200 with `{"ok": true}` (it answers 200 to errors).
    SlackApi,
}

/// A request ready to send.
#[derive(Clone)]
pub struct Rendered {
    /// POST, or PUT (Matrix).
    pub method: Method,
    /// Where to send.
    pub url: Url,
    /// Headers besides `Content-Type: application/json`.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The JSON body.
    pub body: Vec<u8>,
    /// How to read the response.
    pub check: ResponseCheck,
}

impl std::fmt::Debug for Rendered {
    // Header values may be credentials; the URL may embed a token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rendered")
            .field("method", &self.method)
            .field("url", &super::redact::display_url(&self.url, true))
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("body_len", &self.body.len())
            .field("check", &self.check)
            .finish()
    }
}

/// Why a request could not be built.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The Provider settings are unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A header from the Secret is not a valid HTTP header.
    #[error("invalid header {0:?} in secret")]
    Header(String),
    /// The payload could not be encoded.
    #[error("encoding payload: {0}")]
    Encode(#[from] serde_json::Error),
    /// A commit status cannot be built for this event.
    #[error(transparent)]
    CommitStatus(#[from] commit_status::CommitStatusError),
}

/// The `X-Signature` value for `body`: `sha256=<hex HMAC-SHA256 with key>`.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Discord's Slack-compatible endpoint: the webhook URL with `/slack`
/// appended, unless it already ends so.
pub fn discord_slack_url(url: &Url) -> Url {
    let mut out = url.clone();
    if !url.path().ends_with("/slack") {
        let path = format!("{}/slack", url.path().trim_end_matches('/'));
        out.set_path(&path);
    }
    out
}

fn header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), RenderError> {
    let n = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| RenderError::Header(name.to_string()))?;
    let v = HeaderValue::from_str(value).map_err(|_| RenderError::Header(name.to_string()))?;
    Ok((n, v))
}

/// The request `config`'s type sends for `event`.
pub fn render(config: &ProviderConfig, event: &FluxEvent) -> Result<Rendered, RenderError> {
    let mut headers = Vec::new();
    let mut check = ResponseCheck::Status;
    let mut method = Method::POST;
    let mut url = config.address.clone();
    let body = match config.provider_type {
        ProviderType::Generic | ProviderType::GenericHmac => {
            let body = serde_json::to_vec(event)?;
            headers.push(header(COMPONENT_HEADER, &event.reporting_controller)?);
            for (k, v) in &config.headers {
                headers.push(header(k, v)?);
            }
            if config.provider_type == ProviderType::GenericHmac {
                let key = config.token.as_deref().ok_or_else(|| {
                    ConfigError::Missing(
                        "generic-hmac needs a 'token' key in the secret".to_string(),
                    )
                })?;
                headers.push(header(SIGNATURE_HEADER, &signature(key.as_bytes(), &body))?);
            }
            body
        }
        ProviderType::Slack => {
            let payload = slack::build(
                event,
                config.username.as_deref(),
                config.channel.as_deref(),
                true,
            );
            if let Some(token) = &config.token {
                headers.push(header("authorization", &format!("Bearer {token}"))?);
            }
            if url.path().ends_with("/api/chat.postMessage") {
                check = ResponseCheck::SlackApi;
            }
            serde_json::to_vec(&payload)?
        }
        ProviderType::Discord => {
            url = discord_slack_url(&url);
            serde_json::to_vec(&slack::build(
                event,
                config.username.as_deref(),
                None,
                false,
            ))?
        }
        ProviderType::Msteams => {
            if url.host_str().is_some_and(msteams::is_legacy_connector) {
                serde_json::to_vec(&msteams::message_card(event))?
            } else {
                serde_json::to_vec(&msteams::adaptive_card(event))?
            }
        }
        ProviderType::Googlechat => serde_json::to_vec(&googlechat::build(event))?,
        ProviderType::Rocket => {
            // Flux's Rocket.Chat payload: Slack's shape, its own colours, no
            // fallback, and no default username.
            let mut payload = slack::build(
                event,
                Some(config.username.as_deref().unwrap_or_default()),
                config.channel.as_deref(),
                false,
            );
            for a in &mut payload.attachments {
                a.color = if event.severity == crate::intake::Severity::Error {
                    "#FF0000"
                } else {
                    "#0076D7"
                }
                .to_string();
            }
            serde_json::to_vec(&payload)?
        }
        ProviderType::Webex => {
            if let Some(token) = &config.token {
                headers.push(header("authorization", &format!("Bearer {token}"))?);
            }
            serde_json::to_vec(&webex::build(event, config.channel.as_deref()))?
        }
        ProviderType::Telegram => {
            let token = config
                .token
                .as_deref()
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    ConfigError::Missing("telegram needs a 'token' key in the secret".to_string())
                })?;
            let channel = config
                .channel
                .as_deref()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| ConfigError::Missing("telegram needs a channel".to_string()))?;
            // `<address>/bot<token>/sendMessage`; the token is a secret value,
            // masked wherever the URL could show up.
            let path = format!(
                "{}/bot{token}/sendMessage",
                url.path().trim_end_matches('/')
            );
            url.set_path(&path);
            serde_json::to_vec(&telegram::build(event, channel))?
        }
        ProviderType::Matrix => {
            let token = config
                .token
                .as_deref()
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    ConfigError::Missing("matrix needs a 'token' key in the secret".to_string())
                })?;
            let room = config
                .channel
                .as_deref()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| {
                    ConfigError::Missing("matrix needs a room id in spec.channel".to_string())
                })?;
            method = Method::PUT;
            headers.push(header("authorization", &format!("Bearer {token}"))?);
            // The room id is one path segment, whatever it contains.
            if let Ok(mut segments) = url.path_segments_mut() {
                segments.pop_if_empty().extend([
                    "_matrix",
                    "client",
                    "r0",
                    "rooms",
                    room,
                    "send",
                    "m.room.message",
                    &matrix::transaction_id(event),
                ]);
            }
            serde_json::to_vec(&matrix::build(event))?
        }
        ProviderType::Github | ProviderType::Gitlab | ProviderType::Gitea => {
            // GitHub, GitLab and Gitea take the password when no token is set.
            let token = config.token.as_deref().or(config.password.as_deref());
            let r = commit_status::build(
                config.provider_type,
                &config.address,
                token,
                &config.provider_uid,
                event,
            )?;
            url = r.url;
            headers.push(header(r.auth.0, &r.auth.1)?);
            if let Some(accept) = r.accept {
                headers.push(header("accept", accept)?);
            }
            r.body
        }
        other => {
            let name = serde_json::to_value(other)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            return Err(ConfigError::Unsupported(name).into());
        }
    };
    Ok(Rendered {
        method,
        url,
        headers,
        body,
        check,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::config::{SecretData, resolve};
    use crate::providers::payload::googlechat::GoogleChatPayload;
    use crate::providers::payload::msteams::{AdaptiveCardMessage, CardElement, MessageCard};
    use crate::providers::payload::slack::SlackPayload;

    fn event(severity: &str) -> FluxEvent {
        serde_json::from_value(serde_json::json!({
            "involvedObject": {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "namespace": "apps", "name": "webapp"},
            "severity": severity, "timestamp": "2022-10-28T07:26:19Z",
            "message": "validation error\nsecond line", "reason": "ValidationFailed",
            "reportingController": "kustomize-controller",
            "metadata": {"revision": "main@sha1:731f", "summary": "prod impacted", "cluster": "c1"}
        }))
        .unwrap()
    }

    fn config(yaml: &str, secret: &[(&str, &str)]) -> ProviderConfig {
        let data: SecretData = secret
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect();
        resolve(&serde_yaml::from_str(yaml).unwrap(), Some(&data), None).unwrap()
    }

    #[test]
    fn generic_forwards_the_event_with_component_and_headers() {
        let c = config(
            "type: generic\naddress: http://h/x\n",
            &[("headers", "Authorization: t0k\n")],
        );
        let r = render(&c, &event("info")).unwrap();
        let back: FluxEvent = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(back, event("info"));
        assert!(
            r.headers
                .iter()
                .any(|(k, v)| k == "gotk-component" && v == "kustomize-controller")
        );
        assert!(
            r.headers
                .iter()
                .any(|(k, v)| k == "authorization" && v == "t0k")
        );
        assert!(!r.headers.iter().any(|(k, _)| k == "x-signature"));
    }

    #[test]
    fn generic_hmac_signs_the_exact_body() {
        let c = config(
            "type: generic-hmac\naddress: http://h/x\n",
            &[("token", "s3cret")],
        );
        let r = render(&c, &event("info")).unwrap();
        let sig = r
            .headers
            .iter()
            .find(|(k, _)| k == "x-signature")
            .unwrap()
            .1
            .to_str()
            .unwrap();
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"s3cret").unwrap();
        mac.update(&r.body);
        assert_eq!(
            sig,
            format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
        );
    }

    #[test]
    fn slack_attachment_shape() {
        let c = config(
            "type: slack\naddress: https://slack.com/api/chat.postMessage\nchannel: general\n",
            &[("token", "xoxb-1")],
        );
        let r = render(&c, &event("error")).unwrap();
        assert_eq!(r.check, ResponseCheck::SlackApi);
        assert!(
            r.headers
                .iter()
                .any(|(k, v)| k == "authorization" && v == "Bearer xoxb-1")
        );
        let p: SlackPayload = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(p.channel, "general");
        assert_eq!(p.username, "kustomize-controller");
        let a = &p.attachments[0];
        assert_eq!(a.color, "danger");
        assert_eq!(a.author_name, "kustomization/webapp.apps");
        assert_eq!(a.fallback, "kustomization/webapp.apps: validation error");
        assert_eq!(a.mrkdwn_in, ["text"]);
        assert_eq!(a.fields.len(), 3);
        let c = config(
            "type: slack\n",
            &[("address", "https://hooks.slack.com/services/T/B/X")],
        );
        let r = render(&c, &event("info")).unwrap();
        assert_eq!(r.check, ResponseCheck::Status);
        let p: SlackPayload = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(p.attachments[0].color, "good");
        assert_eq!(p.channel, "");
    }

    #[test]
    fn googlechat_card_shape() {
        let c = config(
            "type: googlechat\naddress: https://chat.googleapis.com/v1/spaces/S/messages?key=k\n",
            &[],
        );
        let r = render(&c, &event("error")).unwrap();
        assert_eq!(r.url, c.address);
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        // Flux writes absent optional fields as null.
        assert!(v["cards"][0]["header"]["imageUrl"].is_null());
        assert!(v["cards"][0]["sections"][0]["widgets"][0]["keyValue"].is_null());
        let p: GoogleChatPayload = serde_json::from_value(v).unwrap();
        let card = &p.cards[0];
        assert_eq!(card.header.title, "kustomization/webapp.apps");
        assert_eq!(card.header.subtitle, "kustomize-controller");
        let text = card.sections[0].widgets[0].text_paragraph.as_ref().unwrap();
        assert_eq!(
            text.text,
            "<font color=\"#ff0000\">validation error\nsecond line</font>"
        );
        let kv: Vec<_> = card.sections[1]
            .widgets
            .iter()
            .filter_map(|w| w.key_value.as_ref())
            .collect();
        assert_eq!(kv.len(), 3);
        assert!(
            kv.iter()
                .all(|k| !k.content_multiline && !k.top_label.is_empty())
        );
        let r = render(&c, &event("info")).unwrap();
        let p: GoogleChatPayload = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            p.cards[0].sections[0].widgets[0]
                .text_paragraph
                .as_ref()
                .unwrap()
                .text,
            "validation error\nsecond line"
        );
    }

    #[test]
    fn rocket_is_slack_shaped_with_its_colours() {
        let c = config(
            "type: rocket\naddress: https://rocket.example.com/hooks/abc\nchannel: ops\n",
            &[],
        );
        let r = render(&c, &event("error")).unwrap();
        let p: SlackPayload = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(p.channel, "ops");
        assert_eq!(p.username, "");
        let a = &p.attachments[0];
        assert_eq!(a.color, "#FF0000");
        assert_eq!(a.author_name, "kustomization/webapp.apps");
        assert_eq!(a.fallback, "");
        assert_eq!(a.fields.len(), 3);
        let c = config(
            "type: rocket\naddress: https://rocket.example.com/hooks/abc\nusername: flux\n",
            &[],
        );
        let p: SlackPayload =
            serde_json::from_slice(&render(&c, &event("info")).unwrap().body).unwrap();
        assert_eq!(p.attachments[0].color, "#0076D7");
        assert_eq!(p.username, "flux");
    }

    #[test]
    fn webex_markdown_to_a_room_with_the_token() {
        let c = config(
            "type: webex\naddress: https://webexapis.com/v1/messages\nchannel: room-1\n",
            &[("token", "bot-token")],
        );
        let r = render(&c, &event("error")).unwrap();
        assert!(
            r.headers
                .iter()
                .any(|(k, v)| k == "authorization" && v == "Bearer bot-token")
        );
        let p: webex::WebexPayload = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(p.room_id, "room-1");
        assert_eq!(
            p.markdown,
            "💣 **kustomization/webapp.apps**\nvalidation error\nsecond line\n\
             >**cluster**: c1\n>**revision**: main@sha1:731f\n>**summary**: prod impacted\n"
        );
        let c = config(
            "type: webex\naddress: https://webexapis.com/v1/messages\n",
            &[],
        );
        let r = render(&c, &event("info")).unwrap();
        assert!(r.headers.is_empty());
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert!(v.get("roomId").is_none());
        assert!(v["markdown"].as_str().unwrap().starts_with("✅ "));
    }

    #[test]
    fn telegram_send_message_with_markdown_v2() {
        let c = config(
            "type: telegram\nchannel: \"-100123:42\"\n",
            &[("token", "123:abc")],
        );
        let r = render(&c, &event("error")).unwrap();
        assert_eq!(
            r.url.as_str(),
            "https://api.telegram.org/bot123:abc/sendMessage"
        );
        let p: telegram::TelegramPayload = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(p.chat_id, "-100123");
        assert_eq!(p.message_thread_id, "42");
        assert_eq!(p.parse_mode, "MarkdownV2");
        assert_eq!(
            p.text,
            "*🚨 kustomization/webapp/apps*\nvalidation error\nsecond line\n\
             \\- *cluster*: c1\n\\- *revision*: main@sha1:731f\n\\- *summary*: prod impacted\n"
        );
        assert!(c.secret_values().contains(&"123:abc".to_string()));
        let c = config(
            "type: telegram\naddress: http://127.0.0.1:1/base/\nchannel: \"@ops\"\n",
            &[("token", "t0ken")],
        );
        let r = render(&c, &event("info")).unwrap();
        assert_eq!(
            r.url.as_str(),
            "http://127.0.0.1:1/base/bott0ken/sendMessage"
        );
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert!(v.get("message_thread_id").is_none());
        assert_eq!(telegram::escape("a.b-c_(d)!"), "a\\.b\\-c\\_\\(d\\)\\!");
        assert!(render(&config("type: telegram\nchannel: x\n", &[]), &event("info")).is_err());
        assert!(
            render(
                &config("type: telegram\n", &[("token", "t0ken")]),
                &event("info")
            )
            .is_err()
        );
    }

    #[test]
    fn matrix_puts_to_the_room_with_a_sha1_transaction() {
        let c = config(
            "type: matrix\naddress: https://matrix.example.org/\nchannel: \"!abc:example.org\"\n",
            &[("token", "syt")],
        );
        let r = render(&c, &event("error")).unwrap();
        assert_eq!(r.method, Method::PUT);
        let txn = matrix::transaction_id(&event("error"));
        assert_eq!(txn.len(), 40);
        assert_ne!(txn, matrix::transaction_id(&event("info")));
        assert_eq!(
            r.url.as_str(),
            format!(
                "https://matrix.example.org/_matrix/client/r0/rooms/!abc:example.org/send/m.room.message/{txn}"
            )
        );
        assert!(
            r.headers
                .iter()
                .any(|(k, v)| k == "authorization" && v == "Bearer syt")
        );
        let p: matrix::MatrixPayload = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(p.msgtype, "m.text");
        assert_eq!(
            p.body,
            "🚨 kustomization/webapp.apps\nvalidation error\nsecond line\n\
             - cluster: c1\n- revision: main@sha1:731f\n- summary: prod impacted\n"
        );
        // A room id with a slash or a hash stays one path segment.
        let c = config(
            "type: matrix\naddress: https://m.example.org\nchannel: \"#a/b\"\n",
            &[("token", "syt")],
        );
        let r = render(&c, &event("info")).unwrap();
        assert!(r.url.path().contains("/rooms/%23a%2Fb/send/"), "{}", r.url);
        assert!(
            render(
                &config(
                    "type: matrix\naddress: https://m.example.org\nchannel: r\n",
                    &[]
                ),
                &event("info")
            )
            .is_err()
        );
    }

    #[test]
    fn discord_uses_the_slack_endpoint() {
        let c = config(
            "type: discord\naddress: https://discord.com/api/webhooks/1/abc\nusername: flux\n",
            &[],
        );
        let r = render(&c, &event("info")).unwrap();
        assert_eq!(
            r.url.as_str(),
            "https://discord.com/api/webhooks/1/abc/slack"
        );
        let p: SlackPayload = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(p.username, "flux");
        assert_eq!(p.attachments[0].fallback, "");
        let u = Url::parse("https://discord.com/api/webhooks/1/abc/slack?wait=true").unwrap();
        assert_eq!(discord_slack_url(&u), u);
    }

    #[test]
    fn msteams_adaptive_card_and_legacy_connector() {
        let c = config(
            "type: msteams\naddress: https://prod.logic.azure.com/workflows/x\n",
            &[],
        );
        let r = render(&c, &event("error")).unwrap();
        let m: AdaptiveCardMessage = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(m.type_, "message");
        let card = &m.attachments[0].content;
        assert_eq!(
            m.attachments[0].content_type,
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(card.version, "1.4");
        let CardElement::Container { items } = &card.body[0] else {
            panic!("container")
        };
        assert!(
            matches!(&items[0], CardElement::TextBlock { text, .. } if text == "kustomization/webapp.apps")
        );
        assert!(matches!(&items[1], CardElement::TextBlock { color, .. } if color == "attention"));
        let CardElement::FactSet { facts } = &items[2] else {
            panic!("facts")
        };
        let titles: Vec<_> = facts.iter().map(|f| f.title.as_str()).collect();
        assert_eq!(titles, ["summary", "cluster", "revision"]);

        let c = config(
            "type: msteams\naddress: https://x.webhook.office.com/webhookb2/y\n",
            &[],
        );
        let r = render(&c, &event("error")).unwrap();
        let m: MessageCard = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(m.type_, "MessageCard");
        assert_eq!(m.theme_color, "FF0000");
        assert_eq!(m.sections[0].activity_subtitle, "kustomization/webapp.apps");
    }
}
