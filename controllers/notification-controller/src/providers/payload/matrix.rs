//! Matrix messages, as Flux sends them: an `m.text` room message PUT to
//! `<homeserver>/_matrix/client/r0/rooms/<room>/send/m.room.message/<txnId>`
//! (client-server API), with the access token as a Bearer credential. The
//! transaction id is the hex SHA-1 of the event JSON, so a retried delivery
//! of the same event is the same transaction and the homeserver posts it once.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::object_title;
use crate::intake::{FluxEvent, Severity};

/// An `m.room.message` event content.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MatrixPayload {
    /// The text.
    pub body: String,
    /// Always `m.text`.
    pub msgtype: String,
}

/// Builds the message for `event`: an emoji and the object, the message,
/// then one `- key: value` line per metadata entry.
pub fn build(event: &FluxEvent) -> MatrixPayload {
    let emoji = if event.severity == Severity::Error {
        "🚨"
    } else {
        "💫"
    };
    let mut metadata = String::new();
    for (k, v) in &event.metadata {
        let _ = writeln!(metadata, "- {k}: {v}");
    }
    MatrixPayload {
        body: format!(
            "{emoji} {}\n{}\n{metadata}",
            object_title(event),
            event.message
        ),
        msgtype: "m.text".to_string(),
    }
}

/// The transaction id of `event`: hex SHA-1 of its JSON, as Flux computes it.
pub fn transaction_id(event: &FluxEvent) -> String {
    let json = serde_json::to_vec(event).unwrap_or_default();
    hex::encode(ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &json).as_ref())
}
