//! Microsoft Teams messages. Flux sends an Adaptive Card (1.4) wrapped in a
//! `message` to Teams workflow webhooks, and the legacy `MessageCard` to
//! Office 365 connector URLs (hosts ending in `.webhook.office.com`).
//! Shapes: <https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using>
//! and <https://adaptivecards.io/explorer/>.

use serde::{Deserialize, Serialize};

use super::object_title;
use crate::intake::{FluxEvent, Severity};

/// Adaptive Card schema version Teams accepts.
pub const ADAPTIVE_CARD_VERSION: &str = "1.4";

/// A Teams `message` carrying one Adaptive Card.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AdaptiveCardMessage {
    /// Always `message`.
    #[serde(rename = "type")]
    pub type_: String,
    /// The card.
    pub attachments: Vec<AdaptiveCardAttachment>,
}

/// The attachment holding the card.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AdaptiveCardAttachment {
    /// Always `application/vnd.microsoft.card.adaptive`.
    pub content_type: String,
    /// The card itself.
    pub content: AdaptiveCard,
}

/// An Adaptive Card.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct AdaptiveCard {
    /// Schema URL.
    #[serde(rename = "$schema")]
    pub schema: String,
    /// Always `AdaptiveCard`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Card schema version.
    pub version: String,
    /// The elements.
    pub body: Vec<CardElement>,
    /// Teams-specific settings (full width).
    pub msteams: TeamsSettings,
}

/// Teams-specific card settings.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct TeamsSettings {
    /// `Full` to use the whole message width.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub width: String,
}

/// A card element.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "type")]
pub enum CardElement {
    /// A group of elements.
    Container {
        /// The elements.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        items: Vec<CardElement>,
    },
    /// Text.
    TextBlock {
        /// The text.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        text: String,
        /// Font size (`large`).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        size: String,
        /// Font weight (`bolder`).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        weight: String,
        /// Colour (`attention` for errors).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        color: String,
        /// Whether long text wraps.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        wrap: bool,
    },
    /// Key/value pairs.
    FactSet {
        /// The pairs.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        facts: Vec<CardFact>,
    },
}

/// One key/value pair of a fact set.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CardFact {
    /// The key.
    pub title: String,
    /// The value.
    pub value: String,
}

/// A legacy Office 365 connector `MessageCard`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MessageCard {
    /// Always `MessageCard`.
    #[serde(rename = "@type")]
    pub type_: String,
    /// Always `http://schema.org/extensions`.
    #[serde(rename = "@context")]
    pub context: String,
    /// `0076D7`, or `FF0000` for errors.
    pub theme_color: String,
    /// The involved object.
    pub summary: String,
    /// One section with the message and the metadata.
    pub sections: Vec<MessageCardSection>,
}

/// A `MessageCard` section.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct MessageCardSection {
    /// The event message.
    pub activity_title: String,
    /// The involved object.
    pub activity_subtitle: String,
    /// The metadata.
    pub facts: Vec<MessageCardFact>,
}

/// One metadata entry of a `MessageCard`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct MessageCardFact {
    /// The key.
    pub name: String,
    /// The value.
    pub value: String,
}

/// Whether `host` is an Office 365 connector (which wants a `MessageCard`).
pub fn is_legacy_connector(host: &str) -> bool {
    host.ends_with(".webhook.office.com")
}

/// The Adaptive Card message for `event`: title, message (red for errors),
/// then the metadata with `summary` first and the rest by key.
pub fn adaptive_card(event: &FluxEvent) -> AdaptiveCardMessage {
    let mut facts = Vec::with_capacity(event.metadata.len());
    if let Some(summary) = event.metadata.get("summary") {
        facts.push(CardFact {
            title: "summary".to_string(),
            value: summary.clone(),
        });
    }
    // BTreeMap iteration is already sorted by key.
    facts.extend(
        event
            .metadata
            .iter()
            .filter(|(k, _)| *k != "summary")
            .map(|(k, v)| CardFact {
                title: k.clone(),
                value: v.clone(),
            }),
    );
    let message_color = if event.severity == Severity::Error {
        "attention"
    } else {
        ""
    };
    AdaptiveCardMessage {
        type_: "message".to_string(),
        attachments: vec![AdaptiveCardAttachment {
            content_type: "application/vnd.microsoft.card.adaptive".to_string(),
            content: AdaptiveCard {
                schema: "http://adaptivecards.io/schemas/adaptive-card.json".to_string(),
                type_: "AdaptiveCard".to_string(),
                version: ADAPTIVE_CARD_VERSION.to_string(),
                msteams: TeamsSettings {
                    width: "Full".to_string(),
                },
                body: vec![CardElement::Container {
                    items: vec![
                        CardElement::TextBlock {
                            text: object_title(event),
                            size: "large".to_string(),
                            weight: "bolder".to_string(),
                            color: String::new(),
                            wrap: true,
                        },
                        CardElement::TextBlock {
                            text: event.message.clone(),
                            size: String::new(),
                            weight: String::new(),
                            color: message_color.to_string(),
                            wrap: true,
                        },
                        CardElement::FactSet { facts },
                    ],
                }],
            },
        }],
    }
}

/// The legacy `MessageCard` for `event`.
pub fn message_card(event: &FluxEvent) -> MessageCard {
    let title = object_title(event);
    MessageCard {
        type_: "MessageCard".to_string(),
        context: "http://schema.org/extensions".to_string(),
        theme_color: if event.severity == Severity::Error {
            "FF0000"
        } else {
            "0076D7"
        }
        .to_string(),
        summary: title.clone(),
        sections: vec![MessageCardSection {
            activity_title: event.message.clone(),
            activity_subtitle: title,
            facts: event
                .metadata
                .iter()
                .map(|(k, v)| MessageCardFact {
                    name: k.clone(),
                    value: v.clone(),
                })
                .collect(),
        }],
    }
}
