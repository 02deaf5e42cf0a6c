//! Slack messages with one attachment, as Flux sends them to Slack (both
//! the `chat.postMessage` API and incoming webhooks) and to Discord's
//! Slack-compatible endpoint. Shape: Slack's message attachments
//! (<https://api.slack.com/reference/messaging/attachments>).

use serde::{Deserialize, Serialize};

use super::object_title;
use crate::intake::{FluxEvent, Severity};

/// A Slack message.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SlackPayload {
    /// Channel to post to; empty lets the webhook decide.
    pub channel: String,
    /// Name to post as.
    pub username: String,
    /// Avatar URL (unused, kept for shape compatibility with Flux).
    pub icon_url: String,
    /// Avatar emoji (unused, kept for shape compatibility with Flux).
    pub icon_emoji: String,
    /// Plain text (unused: the attachment carries the message).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// The message, as attachments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<SlackAttachment>,
}

/// A Slack attachment.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SlackAttachment {
    /// Plain-text summary for clients that cannot show attachments.
    pub fallback: String,
    /// `good` (green) or `danger` (red).
    pub color: String,
    /// The involved object, `kind/name.namespace`.
    pub author_name: String,
    /// The event message.
    pub text: String,
    /// Fields rendered as Markdown (`["text"]`).
    pub mrkdwn_in: Vec<String>,
    /// The notification metadata, one field per key.
    pub fields: Vec<SlackField>,
}

/// One metadata entry.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SlackField {
    /// The key.
    pub title: String,
    /// The value.
    pub value: String,
    /// Whether it may share a line with other fields.
    pub short: bool,
}

/// Builds the message for `event`. `username` defaults to the reporting
/// controller; `fallback` is filled for Slack (Flux leaves it empty for
/// Discord).
pub fn build(
    event: &FluxEvent,
    username: Option<&str>,
    channel: Option<&str>,
    fallback: bool,
) -> SlackPayload {
    let author = object_title(event);
    let color = if event.severity == Severity::Error {
        "danger"
    } else {
        "good"
    };
    let first_line = event.message.split('\n').next().unwrap_or_default();
    SlackPayload {
        channel: channel.unwrap_or_default().to_string(),
        username: username.unwrap_or(&event.reporting_controller).to_string(),
        icon_url: String::new(),
        icon_emoji: String::new(),
        text: String::new(),
        attachments: vec![SlackAttachment {
            fallback: if fallback {
                format!("{author}: {first_line}")
            } else {
                String::new()
            },
            color: color.to_string(),
            author_name: author,
            text: event.message.clone(),
            mrkdwn_in: vec!["text".to_string()],
            fields: event
                .metadata
                .iter()
                .map(|(k, v)| SlackField {
                    title: k.clone(),
                    value: v.clone(),
                    short: false,
                })
                .collect(),
        }],
    }
}
