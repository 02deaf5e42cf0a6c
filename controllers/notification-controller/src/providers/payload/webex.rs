//! Webex messages, as Flux sends them: a Markdown text to a room through
//! the Messages API (<https://developer.webex.com/docs/api/v1/messages/create-a-message>)
//! with the bot token as a Bearer credential.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::object_title;
use crate::intake::{FluxEvent, Severity};

/// A Webex message.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct WebexPayload {
    /// The room (the Provider's `channel`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub room_id: String,
    /// The message.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub markdown: String,
}

/// Builds the message for `event` to `room`: an emoji and the object in
/// bold, the message, then one quoted line per metadata entry.
pub fn build(event: &FluxEvent, room: Option<&str>) -> WebexPayload {
    let emoji = if event.severity == Severity::Error {
        "💣"
    } else {
        "✅"
    };
    let mut markdown = format!("{emoji} **{}**\n{}\n", object_title(event), event.message);
    for (k, v) in &event.metadata {
        let _ = writeln!(markdown, ">**{k}**: {v}");
    }
    WebexPayload {
        room_id: room.unwrap_or_default().to_string(),
        markdown,
    }
}
