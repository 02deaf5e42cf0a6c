//! Events through Alerts to chat-format sinks, and the filters that drop.

use std::collections::BTreeMap;

use ferroflux_api::notification::v1beta3::{Alert, Provider};
use ferroflux_api::source::v1::GitRepository;
use serde::Deserialize;
use serde_json::json;

use crate::sink::Sink;
use crate::{Env, event, wait_ready};

/// Slack's message payload with attachments, as Slack documents it
/// (api.slack.com/reference/messaging/attachments); unknown fields refused.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SlackMessage {
    channel: String,
    username: String,
    icon_url: String,
    icon_emoji: String,
    #[serde(default)]
    text: String,
    attachments: Vec<SlackAttachment>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SlackAttachment {
    fallback: String,
    color: String,
    author_name: String,
    text: String,
    mrkdwn_in: Vec<String>,
    fields: Vec<SlackField>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct SlackField {
    title: String,
    value: String,
    short: bool,
}

/// A Teams workflow message carrying an Adaptive Card
/// (learn.microsoft.com: "Send Adaptive Cards using an Incoming Webhook").
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct TeamsMessage {
    #[serde(rename = "type")]
    type_: String,
    attachments: Vec<TeamsAttachment>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct TeamsAttachment {
    content_type: String,
    content: AdaptiveCard,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct AdaptiveCard {
    #[serde(rename = "$schema")]
    schema: String,
    #[serde(rename = "type")]
    type_: String,
    version: String,
    body: Vec<serde_json::Value>,
    msteams: serde_json::Value,
}

async fn slack_and_teams(env: &Env, ns: &str, slack: &Sink, teams: &Sink) {
    env.secret(
        ns,
        "slack-url",
        &[(
            "address",
            format!("{}/services/T000/B000/XXXX", slack.url).as_str(),
        )],
    )
    .await;
    env.create::<Provider>(
        ns,
        json!({
            "metadata": {"name": "slack"},
            "spec": {"type": "slack", "channel": "general", "secretRef": {"name": "slack-url"}}
        }),
    )
    .await;
    env.create::<Provider>(ns, json!({
        "metadata": {"name": "teams"},
        "spec": {"type": "msteams", "address": format!("{}/workflows/abc/triggers/manual", teams.url)}
    }))
    .await;
    env.create::<Alert>(ns, json!({
        "metadata": {"name": "to-slack"},
        "spec": {"providerRef": {"name": "slack"}, "eventSources": [{"kind": "GitRepository", "name": "*"}],
                 "eventMetadata": {"env": "test", "summary": "cluster addons"}}
    }))
    .await;
    env.create::<Alert>(ns, json!({
        "metadata": {"name": "to-teams"},
        "spec": {"providerRef": {"name": "teams"}, "eventSources": [{"kind": "GitRepository", "name": "podinfo"}]}
    }))
    .await;
    for name in ["to-slack", "to-teams"] {
        wait_ready::<Alert>(&env.client, ns, name, "True").await;
    }
}

#[tokio::test]
async fn failure_and_success_reach_slack_and_teams_in_their_shapes() {
    let ns = "flux-system";
    let env = Env::start(&[ns]).await;
    let (slack, teams) = (Sink::start().await, Sink::start().await);
    slack_and_teams(&env, ns, &slack, &teams).await;
    wait_ready::<Provider>(&env.client, ns, "slack", "True").await;

    let failure = event(
        "GitRepository",
        ns,
        "podinfo",
        "error",
        "failed to checkout and determine revision: unable to clone",
    );
    let success = event(
        "GitRepository",
        ns,
        "podinfo",
        "info",
        "stored artifact for commit 'Merge pull request #1'",
    );
    assert_eq!(env.post_event(&failure).await.0, 202);
    assert_eq!(env.post_event(&success).await.0, 202);
    env.settle().await;

    let got = slack.wait_for(2).await;
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|c| c.path == "/services/T000/B000/XXXX"));
    assert!(
        got.iter()
            .all(|c| c.header("content-type").as_deref() == Some("application/json"))
    );
    let mut by_color = BTreeMap::new();
    for c in &got {
        let m: SlackMessage = serde_json::from_slice(&c.body).expect("Slack message shape");
        assert_eq!(m.channel, "general");
        assert_eq!(m.username, "source-controller");
        assert_eq!(m.attachments.len(), 1);
        let a = m.attachments.into_iter().next().expect("attachment");
        assert_eq!(a.author_name, "gitrepository/podinfo.flux-system");
        assert_eq!(a.mrkdwn_in, ["text"]);
        let fields: BTreeMap<_, _> = a
            .fields
            .iter()
            .map(|f| (f.title.as_str(), f.value.as_str()))
            .collect();
        assert_eq!(fields.get("env"), Some(&"test"));
        assert_eq!(fields.get("summary"), Some(&"cluster addons"));
        assert_eq!(
            fields.get("revision"),
            Some(&"main@sha1:731f7eaddfb6af01cb2173e18f0f75b0ba780ef1")
        );
        assert!(a.fields.iter().all(|f| !f.short));
        by_color.insert(a.color.clone(), a);
    }
    assert!(by_color["danger"].text.starts_with("failed to checkout"));
    assert!(
        by_color["danger"]
            .fallback
            .starts_with("gitrepository/podinfo.flux-system: failed")
    );
    assert!(by_color["good"].text.starts_with("stored artifact"));

    let got = teams.wait_for(2).await;
    assert_eq!(got.len(), 2);
    let mut errors = 0;
    for c in &got {
        assert_eq!(c.path, "/workflows/abc/triggers/manual");
        let m: TeamsMessage = serde_json::from_slice(&c.body).expect("Teams message shape");
        assert_eq!(m.type_, "message");
        let a = &m.attachments[0];
        assert_eq!(a.content_type, "application/vnd.microsoft.card.adaptive");
        assert_eq!(a.content.type_, "AdaptiveCard");
        assert_eq!(
            a.content.schema,
            "http://adaptivecards.io/schemas/adaptive-card.json"
        );
        assert_eq!(a.content.version, "1.4");
        assert_eq!(a.content.msteams["width"], "Full");
        let container = &a.content.body[0];
        assert_eq!(container["type"], "Container");
        let items = container["items"].as_array().expect("items");
        assert_eq!(items[0]["type"], "TextBlock");
        assert_eq!(items[0]["text"], "gitrepository/podinfo.flux-system");
        assert_eq!(items[1]["type"], "TextBlock");
        assert_eq!(items[2]["type"], "FactSet");
        assert_eq!(items[2]["facts"][0]["title"], "revision");
        if items[1]["color"] == "attention" {
            errors += 1;
            assert!(
                items[1]["text"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("failed to checkout")
            );
        }
    }
    assert_eq!(errors, 1, "exactly the failure is shown in red");
}

#[tokio::test]
async fn severity_exclusion_wildcard_and_labels_drop_what_they_should() {
    let ns = "flux-system";
    let env = Env::start(&[ns, "other"]).await;
    let sink = Sink::start().await;
    let provider = |name: &str, path: &str| json!({"metadata": {"name": name}, "spec": {"type": "generic", "address": format!("{}/{path}", sink.url)}});
    for (name, path) in [
        ("severity", "severity"),
        ("exclusion", "exclusion"),
        ("wildcard", "wildcard"),
        ("labels", "labels"),
        ("suspended", "suspended"),
    ] {
        env.create::<Provider>(ns, provider(name, path)).await;
    }
    let alerts = [
        json!({"metadata": {"name": "severity"}, "spec": {"providerRef": {"name": "severity"}, "eventSeverity": "error",
               "eventSources": [{"kind": "Bucket", "name": "*"}]}}),
        json!({"metadata": {"name": "exclusion"}, "spec": {"providerRef": {"name": "exclusion"},
               "eventSources": [{"kind": "Kustomization", "name": "*"}], "exclusionList": ["waiting.*socket"]}}),
        json!({"metadata": {"name": "wildcard"}, "spec": {"providerRef": {"name": "wildcard"},
               "eventSources": [{"kind": "HelmRelease", "name": "*"}]}}),
        json!({"metadata": {"name": "labels"}, "spec": {"providerRef": {"name": "labels"},
               "eventSources": [{"kind": "GitRepository", "name": "*", "matchLabels": {"team": "a"}}]}}),
        json!({"metadata": {"name": "suspended"}, "spec": {"providerRef": {"name": "suspended"}, "suspend": true,
               "eventSources": [{"kind": "HelmRelease", "name": "*"}]}}),
    ];
    for a in alerts {
        let name = a["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        env.create::<Alert>(ns, a).await;
        wait_ready::<Alert>(&env.client, ns, &name, "True").await;
    }
    for (name, labels) in [
        ("labeled", json!({"team": "a"})),
        ("unlabeled", json!({"team": "b"})),
    ] {
        env.create::<GitRepository>(
            ns,
            json!({
                "metadata": {"name": name, "labels": labels},
                "spec": {"url": "https://github.com/stefanprodan/podinfo", "interval": "5m"}
            }),
        )
        .await;
    }

    let events = [
        // severity: info dropped, error delivered.
        event("Bucket", ns, "b", "info", "bucket synced"),
        event("Bucket", ns, "b", "error", "bucket unreachable"),
        // exclusion: the transient clone error dropped.
        event(
            "Kustomization",
            ns,
            "k",
            "error",
            "unable to clone: Error waiting on socket",
        ),
        event(
            "Kustomization",
            ns,
            "k",
            "error",
            "apply failed: invalid Service",
        ),
        // wildcard: any HelmRelease of the namespace, not another namespace or kind.
        event("HelmRelease", ns, "one", "info", "release one upgraded"),
        event("HelmRelease", ns, "two", "info", "release two upgraded"),
        event(
            "HelmRelease",
            "other",
            "three",
            "info",
            "release three upgraded",
        ),
        event("HelmChart", ns, "one", "info", "chart pulled"),
        // labels: only the object carrying team=a.
        event(
            "GitRepository",
            ns,
            "labeled",
            "info",
            "labeled stored artifact",
        ),
        event(
            "GitRepository",
            ns,
            "unlabeled",
            "info",
            "unlabeled stored artifact",
        ),
    ];
    for e in &events {
        assert_eq!(env.post_event(e).await.0, 202);
    }
    env.settle().await;

    let mut got: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in sink.received() {
        let body = c.json();
        got.entry(c.path.trim_start_matches('/').to_string())
            .or_default()
            .push(body["message"].as_str().unwrap_or_default().to_string());
        assert_eq!(
            c.header("gotk-component").as_deref(),
            Some("source-controller")
        );
    }
    for list in got.values_mut() {
        list.sort();
    }
    let expect = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(got.get("severity"), Some(&expect(&["bucket unreachable"])));
    assert_eq!(
        got.get("exclusion"),
        Some(&expect(&["apply failed: invalid Service"]))
    );
    assert_eq!(
        got.get("wildcard"),
        Some(&expect(&["release one upgraded", "release two upgraded"]))
    );
    assert_eq!(
        got.get("labels"),
        Some(&expect(&["labeled stored artifact"]))
    );
    assert_eq!(got.get("suspended"), None);
    assert_eq!(got.len(), 4, "{got:?}");
}

#[tokio::test]
async fn generic_hmac_signs_and_forwards_the_merged_event() {
    use hmac::{Hmac, Mac};
    let ns = "apps";
    let env = Env::start(&[ns]).await;
    let sink = Sink::start().await;
    env.secret(
        ns,
        "hmac",
        &[("token", "s3cr3t-t0ken"), ("headers", "X-Team: platform\n")],
    )
    .await;
    env.create::<Provider>(ns, json!({
        "metadata": {"name": "hmac"},
        "spec": {"type": "generic-hmac", "address": format!("{}/flux", sink.url), "secretRef": {"name": "hmac"}}
    }))
    .await;
    env.create::<Alert>(ns, json!({
        "metadata": {"name": "hmac"},
        "spec": {"providerRef": {"name": "hmac"}, "eventSources": [{"kind": "Kustomization", "name": "web"}],
                 "eventMetadata": {"cluster": "c1"}}
    }))
    .await;
    wait_ready::<Alert>(&env.client, ns, "hmac", "True").await;
    let mut e = event("Kustomization", ns, "web", "info", "applied");
    e["metadata"]["kustomize.toolkit.fluxcd.io/digest"] = json!("sha256:dropped");
    e["metadata"]["event.toolkit.fluxcd.io/owner"] = json!("team-a");
    assert_eq!(env.post_event(&e).await.0, 202);
    let got = sink.wait_for(1).await;
    let c = &got[0];
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(b"s3cr3t-t0ken").expect("key");
    mac.update(&c.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(c.header("x-signature"), Some(expected));
    assert_eq!(c.header("x-team").as_deref(), Some("platform"));
    let body = c.json();
    assert_eq!(body["involvedObject"]["name"], "web");
    assert_eq!(
        body["reportingInstance"],
        "source-controller-7c7b47f5f-8bhrp"
    );
    assert_eq!(
        body["metadata"],
        json!({"cluster": "c1", "owner": "team-a", "revision": "main@sha1:731f7eaddfb6af01cb2173e18f0f75b0ba780ef1"})
    );
}
