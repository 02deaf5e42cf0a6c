//! Google Chat, Rocket.Chat, Webex and Telegram Providers: events through an Alert arrive at
//! local sinks in the shape each service documents.

use ferroflux_api::notification::v1beta3::{Alert, Provider};
use serde::Deserialize;
use serde_json::json;

use crate::sink::Sink;
use crate::{Env, event, wait_ready};

/// Google Chat's card message (developers.google.com/workspace/chat, cards v1).
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct ChatMessage {
    cards: Vec<ChatCard>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct ChatCard {
    header: ChatHeader,
    sections: Vec<ChatSection>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct ChatHeader {
    title: String,
    subtitle: String,
    image_url: Option<String>,
    image_style: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ChatSection {
    header: String,
    widgets: Vec<ChatWidget>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ChatWidget {
    text_paragraph: Option<serde_json::Value>,
    key_value: Option<ChatKeyValue>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[allow(dead_code)]
struct ChatKeyValue {
    top_label: String,
    content: String,
    content_multiline: bool,
    bottom_label: Option<String>,
    icon: Option<String>,
}

/// Rocket.Chat's incoming-webhook message with Slack-style attachments.
#[derive(Deserialize, Debug)]
#[allow(dead_code)]
struct RocketMessage {
    channel: String,
    username: String,
    attachments: Vec<RocketAttachment>,
}

#[derive(Deserialize, Debug)]
#[allow(dead_code)]
struct RocketAttachment {
    color: String,
    author_name: String,
    text: String,
    fields: Vec<serde_json::Value>,
}

/// Webex's create-a-message body (developer.webex.com, Messages API).
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WebexMessage {
    room_id: String,
    markdown: String,
}

/// The Bot API's `sendMessage` parameters (core.telegram.org/bots/api).
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct TelegramMessage {
    chat_id: String,
    message_thread_id: Option<String>,
    text: String,
    parse_mode: String,
}

#[tokio::test]
async fn googlechat_rocket_webex_and_telegram_receive_their_shapes() {
    let ns = "flux-system";
    let env = Env::start(&[ns]).await;
    let chat = Sink::start().await;
    let rocket = Sink::start().await;
    let webex = Sink::start().await;
    let telegram = Sink::start().await;
    env.secret(ns, "telegram-token", &[("token", "123:abc")])
        .await;
    env.secret(ns, "webex-token", &[("token", "bot-token")])
        .await;
    for (name, spec) in [
        (
            "chat",
            json!({"type": "googlechat", "address": format!("{}/v1/spaces/S/messages", chat.url)}),
        ),
        (
            "rocket",
            json!({"type": "rocket", "address": format!("{}/hooks/abc", rocket.url), "channel": "ops", "username": "flux"}),
        ),
        (
            "webex",
            json!({"type": "webex", "address": format!("{}/v1/messages", webex.url), "channel": "room-1", "secretRef": {"name": "webex-token"}}),
        ),
        (
            "telegram",
            json!({"type": "telegram", "address": telegram.url, "channel": "@ops", "secretRef": {"name": "telegram-token"}}),
        ),
    ] {
        env.create::<Provider>(ns, json!({"metadata": {"name": name}, "spec": spec}))
            .await;
        env.create::<Alert>(
            ns,
            json!({"metadata": {"name": name},
                   "spec": {"providerRef": {"name": name}, "eventSources": [{"kind": "GitRepository", "name": "*"}]}}),
        )
        .await;
        wait_ready::<Alert>(&env.client, ns, name, "True").await;
    }
    let (code, _) = env
        .post_event(&event(
            "GitRepository",
            ns,
            "podinfo",
            "error",
            "clone failed",
        ))
        .await;
    assert_eq!(code, 202);

    let got = chat.wait_for(1).await;
    assert_eq!(got[0].path, "/v1/spaces/S/messages");
    let m: ChatMessage = serde_json::from_slice(&got[0].body).expect("Google Chat shape");
    let card = &m.cards[0];
    assert_eq!(card.header.title, "gitrepository/podinfo.flux-system");
    assert_eq!(card.header.subtitle, "source-controller");
    let text = card.sections[0].widgets[0]
        .text_paragraph
        .as_ref()
        .and_then(|t| t["text"].as_str())
        .unwrap_or_default();
    assert_eq!(text, "<font color=\"#ff0000\">clone failed</font>");
    assert!(card.sections[1].widgets.iter().any(|w| {
        w.key_value
            .as_ref()
            .is_some_and(|kv| kv.top_label == "revision")
    }));

    let got = rocket.wait_for(1).await;
    assert_eq!(got[0].path, "/hooks/abc");
    let m: RocketMessage = serde_json::from_slice(&got[0].body).expect("Rocket.Chat shape");
    assert_eq!((m.channel.as_str(), m.username.as_str()), ("ops", "flux"));
    let a = &m.attachments[0];
    assert_eq!(a.color, "#FF0000");
    assert_eq!(a.author_name, "gitrepository/podinfo.flux-system");
    assert_eq!(a.text, "clone failed");

    let got = webex.wait_for(1).await;
    assert_eq!(got[0].path, "/v1/messages");
    assert_eq!(
        got[0].header("authorization").as_deref(),
        Some("Bearer bot-token")
    );
    let m: WebexMessage = serde_json::from_slice(&got[0].body).expect("Webex shape");
    assert_eq!(m.room_id, "room-1");
    assert!(
        m.markdown
            .starts_with("💣 **gitrepository/podinfo.flux-system**\nclone failed\n"),
        "{}",
        m.markdown
    );

    let got = telegram.wait_for(1).await;
    assert_eq!(got[0].path, "/bot123:abc/sendMessage");
    let m: TelegramMessage = serde_json::from_slice(&got[0].body).expect("Telegram shape");
    assert_eq!(m.chat_id, "@ops");
    assert_eq!(m.message_thread_id, None);
    assert_eq!(m.parse_mode, "MarkdownV2");
    assert!(
        m.text
            .starts_with("*🚨 gitrepository/podinfo/flux\\-system*\nclone failed\n"),
        "{}",
        m.text
    );
}
