//! Telegram messages, as Flux sends them: the Bot API's `sendMessage`
//! (<https://core.telegram.org/bots/api#sendmessage>) with MarkdownV2 text.

use serde::{Deserialize, Serialize};

use crate::intake::{FluxEvent, Severity};

/// The Bot API's default address; the Provider's `address` replaces it
/// (a self-hosted Bot API server, or a test sink).
pub const DEFAULT_API: &str = "https://api.telegram.org";

/// A `sendMessage` request.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TelegramPayload {
    /// The chat (the Provider's `channel` before any `:`).
    pub chat_id: String,
    /// The forum topic (after the `:` in `channel`), if any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message_thread_id: String,
    /// The message.
    pub text: String,
    /// Always `MarkdownV2`.
    pub parse_mode: String,
}

/// Escapes the characters MarkdownV2 reserves (Flux's set).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.-_[]()~>`#+=|{}!*".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Builds the message for `event` to `channel` (`chat` or `chat:thread`).
pub fn build(event: &FluxEvent, channel: &str) -> TelegramPayload {
    let emoji = if event.severity == Severity::Error {
        "🚨"
    } else {
        "💫"
    };
    let o = &event.involved_object;
    let heading = format!(
        "{emoji} {}/{}/{}",
        o.kind.to_lowercase(),
        o.name,
        o.namespace
    );
    let metadata: String = event
        .metadata
        .iter()
        .map(|(k, v)| format!("\\- *{}*: {}\n", escape(k), escape(v)))
        .collect();
    let (chat_id, thread) = channel.split_once(':').unwrap_or((channel, ""));
    TelegramPayload {
        chat_id: chat_id.to_string(),
        message_thread_id: thread.to_string(),
        text: format!(
            "*{}*\n{}\n{metadata}",
            escape(&heading),
            escape(&event.message)
        ),
        parse_mode: "MarkdownV2".to_string(),
    }
}
