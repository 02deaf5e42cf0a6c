//! Google Chat card messages, as Flux sends them to an incoming webhook
//! (the `cards` v1 shape:
//! <https://developers.google.com/workspace/chat/api/reference/rest/v1/cards-v1>).
//! Absent optional fields are `null`, as Flux's encoder writes them.

use serde::{Deserialize, Serialize};

use super::object_title;
use crate::intake::{FluxEvent, Severity};

/// A Google Chat message of cards.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct GoogleChatPayload {
    /// One card per message.
    pub cards: Vec<Card>,
}

/// A card: a header and sections.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Card {
    /// The involved object and the reporting controller.
    pub header: CardHeader,
    /// The message, then the metadata.
    pub sections: Vec<CardSection>,
}

/// A card's header.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CardHeader {
    /// `kind/name.namespace`.
    pub title: String,
    /// The reporting controller.
    pub subtitle: String,
    /// Unused (`null`).
    pub image_url: Option<String>,
    /// Unused (`null`).
    pub image_style: Option<String>,
}

/// A section of widgets.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CardSection {
    /// Flux leaves it empty.
    pub header: String,
    /// The widgets.
    pub widgets: Vec<CardWidget>,
}

/// A widget: a text paragraph or a key/value pair.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct CardWidget {
    /// The message.
    pub text_paragraph: Option<TextParagraph>,
    /// A metadata entry.
    pub key_value: Option<KeyValue>,
}

/// A paragraph of (simple HTML) text.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TextParagraph {
    /// The text.
    pub text: String,
}

/// A labelled value.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct KeyValue {
    /// The metadata key.
    pub top_label: String,
    /// The metadata value.
    pub content: String,
    /// Always false.
    pub content_multiline: bool,
    /// Unused (`null`).
    pub bottom_label: Option<String>,
    /// Unused (`null`).
    pub icon: Option<String>,
}

/// Builds the message for `event`: the message (red for errors) in one
/// section, the metadata as key/value widgets in a second.
pub fn build(event: &FluxEvent) -> GoogleChatPayload {
    let text = if event.severity == Severity::Error {
        format!("<font color=\"#ff0000\">{}</font>", event.message)
    } else {
        event.message.clone()
    };
    let mut sections = vec![CardSection {
        header: String::new(),
        widgets: vec![CardWidget {
            text_paragraph: Some(TextParagraph { text }),
            key_value: None,
        }],
    }];
    if !event.metadata.is_empty() {
        sections.push(CardSection {
            header: String::new(),
            widgets: event
                .metadata
                .iter()
                .map(|(k, v)| CardWidget {
                    text_paragraph: None,
                    key_value: Some(KeyValue {
                        top_label: k.clone(),
                        content: v.clone(),
                        content_multiline: false,
                        bottom_label: None,
                        icon: None,
                    }),
                })
                .collect(),
        });
    }
    GoogleChatPayload {
        cards: vec![Card {
            header: CardHeader {
                title: object_title(event),
                subtitle: event.reporting_controller.clone(),
                image_url: None,
                image_style: None,
            },
            sections,
        }],
    }
}
