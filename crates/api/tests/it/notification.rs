//! Tests of the `notification.toolkit.fluxcd.io` types.

use std::time::Duration as StdDuration;

use ferroflux_api::crds;
use ferroflux_api::notification::v1::{ObjectKind, Receiver, ReceiverType};
use ferroflux_api::notification::v1beta3::{Alert, EventSeverity, Provider, ProviderType};
use serde_json::{Value, json};

use crate::support::{fixture_files, read_fixture, rejection, roundtrip};

const MINIMAL_RECEIVER: &str = r#"
apiVersion: notification.toolkit.fluxcd.io/v1
kind: Receiver
metadata: {name: hook, namespace: default}
spec:
  type: github
  secretRef: {name: token}
  resources:
    - {kind: GitRepository, name: repo}
"#;

const MINIMAL_ALERT: &str = r#"
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Alert
metadata: {name: alert, namespace: default}
spec:
  providerRef: {name: chat}
  eventSources:
    - {kind: Kustomization, name: '*'}
"#;

const MINIMAL_PROVIDER: &str = r#"
apiVersion: notification.toolkit.fluxcd.io/v1beta3
kind: Provider
metadata: {name: chat, namespace: default}
spec:
  type: slack
"#;

fn fixture<T>(rel: &str) -> T
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    roundtrip(&read_fixture(&format!("notification/{rel}")))
}

fn with_spec(base: &str, field: &str, value: Value) -> String {
    let mut doc: Value = serde_yaml::from_str(base).unwrap();
    doc["spec"][field] = value;
    serde_yaml::to_string(&doc).unwrap()
}

/// The storage version's schema of a notification kind, as JSON.
fn schema(kind: &str) -> Value {
    let crd = crds::all()
        .expect("CRDs generate")
        .into_iter()
        .find(|c| c.spec.names.kind == kind)
        .unwrap_or_else(|| panic!("a {kind} CRD"));
    serde_json::to_value(
        crd.spec.versions[0]
            .schema
            .as_ref()
            .unwrap()
            .open_api_v3_schema
            .as_ref()
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn every_fixture_round_trips_into_its_kind() {
    let mut counts = std::collections::BTreeMap::new();
    for path in fixture_files("notification") {
        let text = std::fs::read_to_string(&path).unwrap();
        let doc: Value = serde_yaml::from_str(&text).unwrap();
        let kind = doc["kind"].as_str().unwrap_or_default().to_string();
        let api_version = doc["apiVersion"].as_str().unwrap_or_default();
        match (kind.as_str(), api_version) {
            ("Receiver", "notification.toolkit.fluxcd.io/v1") => drop(roundtrip::<Receiver>(&text)),
            ("Alert", "notification.toolkit.fluxcd.io/v1beta3") => drop(roundtrip::<Alert>(&text)),
            ("Provider", "notification.toolkit.fluxcd.io/v1beta3") => {
                drop(roundtrip::<Provider>(&text))
            }
            other => panic!("{}: unexpected {other:?}", path.display()),
        }
        // File names say what they hold.
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            name.starts_with(&kind.to_lowercase()),
            "{name} holds a {kind}"
        );
        *counts.entry(kind).or_insert(0) += 1;
    }
    assert!(counts["Receiver"] >= 21, "{counts:?}");
    assert!(counts["Alert"] >= 13, "{counts:?}");
    assert!(counts["Provider"] >= 45, "{counts:?}");
}

#[test]
fn every_provider_type_has_a_fixture() {
    let mut seen = std::collections::BTreeSet::new();
    for path in fixture_files("notification") {
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("provider-")
        {
            let p: Provider = roundtrip(&std::fs::read_to_string(&path).unwrap());
            seen.insert(
                serde_json::to_value(p.spec.provider_type)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
    }
    let all: Vec<String> = serde_json::from_value(
        schema("Provider")["properties"]["spec"]["properties"]["type"]["enum"].clone(),
    )
    .unwrap();
    let missing: Vec<_> = all.iter().filter(|t| !seen.contains(*t)).collect();
    assert!(
        missing.is_empty(),
        "provider types without a fixture: {missing:?}"
    );
}

#[test]
fn receiver_interval_defaults_to_ten_minutes() {
    let r: Receiver = roundtrip(MINIMAL_RECEIVER);
    assert_eq!(r.spec.interval.as_ref().map(|d| d.as_str()), Some("10m"));
    assert_eq!(r.spec.interval(), StdDuration::from_secs(600));
    assert!(!r.spec.suspend);
    let explicit: Receiver = fixture("receiver-per-resource-filter.yaml");
    assert_eq!(explicit.spec.interval(), StdDuration::from_secs(1800));

    let s = schema("Receiver");
    assert_eq!(
        s["properties"]["spec"]["properties"]["interval"]["default"],
        json!("10m")
    );
    assert_eq!(
        s["properties"]["status"]["default"],
        json!({"observedGeneration": -1})
    );
    assert_eq!(
        s["properties"]["spec"]["required"],
        json!(["resources", "type"])
    );
}

#[test]
fn receiver_fixtures_parse_to_the_right_fields() {
    let gh: Receiver = fixture("receiver-github-example.yaml");
    assert_eq!(gh.spec.receiver_type, ReceiverType::Github);
    assert_eq!(gh.spec.events, ["ping", "push"]);
    assert_eq!(gh.spec.secret_ref.as_ref().unwrap().name, "push-hook-token");
    let res = &gh.spec.resources[0].reference;
    assert_eq!(
        (res.kind, res.name.as_str()),
        (ObjectKind::GitRepository, "fleet-config")
    );
    assert_eq!(
        res.api_version.as_deref(),
        Some("source.toolkit.fluxcd.io/v1")
    );

    let hmac: Receiver = fixture("receiver-generic-hmac.yaml");
    assert_eq!(hmac.spec.receiver_type, ReceiverType::GenericHmac);

    let oidc: Receiver = fixture("receiver-generic-oidc-variables.yaml");
    assert_eq!(oidc.spec.receiver_type, ReceiverType::GenericOidc);
    assert!(oidc.spec.secret_ref.is_none());
    let p = &oidc.spec.oidc_providers;
    assert_eq!(p.len(), 2);
    assert_eq!(p[0].issuer_url, "https://issuer.ci.example.org");
    assert_eq!(p[0].audience(), "ferroflux-hooks");
    assert_eq!(
        p[1].audience(),
        "notification-controller",
        "default audience"
    );
    assert_eq!(p[0].variables[1].name, "allowed");
    assert_eq!(p[0].validations.len(), 3);
    assert_eq!(
        p[0].validations[1].message,
        "project may not trigger deployments"
    );

    let gitlab: Receiver = fixture("receiver-gitlab.yaml");
    assert_eq!(gitlab.spec.events, ["Push Hook", "Tag Push Hook"]);
    assert_eq!(gitlab.spec.resources.len(), 2);

    let acr: Receiver = fixture("receiver-acr.yaml");
    assert_eq!(acr.spec.receiver_type, ReceiverType::Acr);
    assert!(acr.spec.resources[0].reference.api_version.is_none());
    assert_eq!(
        acr.spec.resources[0].reference.kind,
        ObjectKind::ImageRepository
    );

    let cde: Receiver = fixture("receiver-cdevents.yaml");
    assert_eq!(cde.spec.receiver_type, ReceiverType::Cdevents);

    let filtered: Receiver = fixture("receiver-per-resource-filter.yaml");
    assert_eq!(
        filtered.spec.resource_filter.as_deref(),
        Some("req.tag.contains(res.metadata.name)")
    );
    let first = &filtered.spec.resources[0];
    assert!(first.reference.is_wildcard());
    assert_eq!(
        first.reference.match_labels["registry"],
        "artifact-registry"
    );
    assert_eq!(
        first.filter.as_deref(),
        Some("res.metadata.labels['stage'] == 'live'")
    );
    assert_eq!(
        filtered.spec.resources[1].reference.kind,
        ObjectKind::HelmRelease
    );
    assert!(filtered.spec.resources[1].filter.is_none());

    assert!(fixture::<Receiver>("receiver-suspended.yaml").spec.suspend);
    assert!(!fixture::<Receiver>("receiver-resumed.yaml").spec.suspend);

    let status = fixture::<Receiver>("receiver-status.yaml").status.unwrap();
    assert!(
        status
            .webhook_path
            .as_deref()
            .unwrap()
            .starts_with("/hook/")
    );
    assert_eq!(status.conditions[0].reason, "Succeeded");
}

#[test]
fn receiver_schema_matches_flux() {
    let s = schema("Receiver");
    let spec = &s["properties"]["spec"];
    assert_eq!(
        spec["properties"]["type"]["enum"],
        json!([
            "generic",
            "generic-hmac",
            "generic-oidc",
            "github",
            "gitlab",
            "bitbucket",
            "harbor",
            "dockerhub",
            "quay",
            "gcr",
            "nexus",
            "acr",
            "cdevents"
        ])
    );
    let res = &spec["properties"]["resources"]["items"];
    assert_eq!(res["required"], json!(["kind", "name"]));
    assert!(
        res["properties"]["filter"].is_object(),
        "flattened reference plus filter"
    );
    assert_eq!(res["properties"]["name"]["maxLength"], json!(253));
    assert_eq!(
        res["properties"]["kind"]["enum"],
        json!([
            "Bucket",
            "GitRepository",
            "Kustomization",
            "HelmRelease",
            "HelmChart",
            "HelmRepository",
            "ImageRepository",
            "ImagePolicy",
            "ImageUpdateAutomation",
            "OCIRepository",
            "ArtifactGenerator",
            "ExternalArtifact"
        ])
    );
    let oidc = &spec["properties"]["oidcProviders"];
    assert_eq!(oidc["x-kubernetes-list-type"], json!("map"));
    assert_eq!(oidc["x-kubernetes-list-map-keys"], json!(["issuerURL"]));
    assert_eq!(
        oidc["items"]["properties"]["issuerURL"]["pattern"],
        json!("^https?://")
    );
    assert_eq!(
        oidc["items"]["properties"]["validations"]["minItems"],
        json!(1)
    );
    let rules = spec["x-kubernetes-validations"]
        .as_array()
        .expect("CEL rules on the spec");
    assert_eq!(rules.len(), 4);
    assert!(
        rules
            .iter()
            .any(|r| r["rule"] == "self.type == 'generic-oidc' || has(self.secretRef)")
    );
    for r in rules {
        assert!(r["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[test]
fn alert_event_severity_defaults_to_info() {
    let a: Alert = roundtrip(MINIMAL_ALERT);
    assert_eq!(a.spec.event_severity, EventSeverity::Info);
    assert_eq!(
        serde_json::to_value(&a).unwrap()["spec"]["eventSeverity"],
        json!("info")
    );
    let s = schema("Alert");
    let p = &s["properties"]["spec"]["properties"];
    assert_eq!(p["eventSeverity"]["default"], json!("info"));
    assert_eq!(p["eventSeverity"]["enum"], json!(["info", "error"]));
    assert_eq!(p["summary"]["maxLength"], json!(255));
    assert_eq!(
        s["properties"]["spec"]["required"],
        json!(["eventSources", "providerRef"])
    );
    // Ferroflux's own status, without Flux's observedGeneration default.
    assert!(s["properties"]["status"]["properties"]["conditions"].is_object());
    assert!(s["properties"]["status"]["default"].is_null());
}

#[test]
fn alert_fixtures_parse_to_the_right_fields() {
    let a: Alert = fixture("alert-example.yaml");
    assert_eq!(a.spec.provider_ref.name, "chat-bot");
    assert_eq!(a.spec.event_severity, EventSeverity::Error);
    assert_eq!(a.spec.event_metadata["region"], "eu-west-1");
    assert_eq!(a.spec.event_metadata.len(), 4);
    assert_eq!(a.spec.event_sources[0].kind, ObjectKind::OciRepository);
    assert!(a.spec.event_sources[1].is_wildcard());

    let both: Alert = fixture("alert-inclusion-exclusion.yaml");
    assert_eq!(both.spec.inclusion_list, [".*succeeded.*"]);
    assert_eq!(both.spec.exclusion_list, [".*rollback.*", ".*dry-run.*"]);

    let labels: Alert = fixture("alert-select-labels.yaml");
    assert_eq!(
        labels.spec.event_sources[0].match_labels["team"],
        "checkout"
    );
    assert_eq!(
        labels.spec.event_sources[0].namespace.as_deref(),
        Some("apps")
    );

    let summary: Alert = fixture("alert-summary.yaml");
    assert_eq!(
        summary.spec.summary.as_deref(),
        Some("Canary analysis impacted in eu-west-1")
    );

    let status: Alert = fixture("alert-status.yaml");
    assert!(status.spec.suspend);
    assert_eq!(
        status.spec.event_sources[0].kind,
        ObjectKind::ArtifactGenerator
    );
    let st = status.status.unwrap();
    assert_eq!(st.observed_generation, Some(2));
    assert_eq!(st.conditions[0].reason, "ProviderNotFound");
}

#[test]
fn provider_defaults_are_runtime_only() {
    let p: Provider = roundtrip(MINIMAL_PROVIDER);
    assert!(
        p.spec.timeout.is_none(),
        "Flux sets no schema default on timeout"
    );
    assert_eq!(p.spec.timeout(), StdDuration::from_secs(15));
    assert!(!p.spec.suspend);
    let s = schema("Provider");
    let props = s["properties"]["spec"]["properties"].as_object().unwrap();
    for (name, prop) in props {
        assert!(
            prop.get("default").is_none(),
            "Provider spec.{name} has no default in Flux"
        );
    }
    assert!(s["properties"]["status"]["default"].is_null());
    assert_eq!(s["properties"]["spec"]["required"], json!(["type"]));
}

#[test]
fn provider_fixtures_parse_to_the_right_fields() {
    let p: Provider = fixture("provider-example.yaml");
    assert_eq!(p.spec.provider_type, ProviderType::Slack);
    assert_eq!(p.spec.channel.as_deref(), Some("deployments"));
    assert_eq!(
        p.spec.address.as_deref(),
        Some("https://slack.com/api/chat.postMessage")
    );
    assert_eq!(p.spec.secret_ref.unwrap().name, "chat-bot-token");

    let proxy: Provider = fixture("provider-generic-proxy.yaml");
    assert_eq!(
        proxy.spec.proxy.as_deref(),
        Some("http://proxy.corp.example.org:3128")
    );
    assert_eq!(
        proxy.spec.proxy_secret_ref.as_ref().unwrap().name,
        "corp-proxy"
    );
    assert_eq!(proxy.spec.timeout(), StdDuration::from_secs(90));
    assert_eq!(
        proxy.spec.interval.as_ref().map(|d| d.as_str()),
        Some("10m")
    );

    let hmac: Provider = fixture("provider-generic-hmac.yaml");
    assert_eq!(hmac.spec.provider_type, ProviderType::GenericHmac);
    assert_eq!(hmac.spec.timeout(), StdDuration::from_secs(30));

    let incident: Provider = fixture("provider-incidentio.yaml");
    assert_eq!(incident.spec.provider_type, ProviderType::IncidentIo);
    assert_eq!(
        serde_json::to_value(incident.spec.provider_type).unwrap(),
        json!("incident.io")
    );

    let mtls: Provider = fixture("provider-generic-mtls.yaml");
    assert_eq!(mtls.spec.cert_secret_ref.unwrap().name, "hook-client-tls");

    let wi: Provider = fixture("provider-googlepubsub-workload-identity.yaml");
    assert_eq!(
        wi.spec.service_account_name.as_deref(),
        Some("blue-publisher")
    );
    assert!(wi.spec.secret_ref.is_none());

    let expr: Provider = fixture("provider-commit-status-expr.yaml");
    assert!(expr.spec.provider_type.is_commit_status());
    assert!(
        expr.spec
            .commit_status_expr
            .as_deref()
            .unwrap()
            .ends_with(".lowerAscii()")
    );
    assert!(!ProviderType::Githubpullrequestcomment.is_commit_status());

    let discord: Provider = fixture("provider-discord.yaml");
    assert_eq!(discord.spec.username.as_deref(), Some("ferroflux"));

    assert!(fixture::<Provider>("provider-suspended.yaml").spec.suspend);
    let st = fixture::<Provider>("provider-status.yaml").status.unwrap();
    assert_eq!(st.conditions[0].type_, "Ready");
}

#[test]
fn provider_schema_matches_flux() {
    let s = schema("Provider");
    let p = &s["properties"]["spec"]["properties"];
    assert_eq!(p["type"]["enum"].as_array().unwrap().len(), 34);
    assert_eq!(
        p["timeout"]["pattern"],
        json!(r"^([0-9]+(\.[0-9]+)?(ms|s|m))+$"),
        "no hours for timeouts"
    );
    assert_eq!(
        p["interval"]["pattern"],
        json!(r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$")
    );
    assert_eq!(p["proxy"]["pattern"], json!("^(http|https)://.*$"));
    for field in ["channel", "username", "address", "proxy"] {
        assert_eq!(p[field]["maxLength"], json!(2048), "{field}");
    }
    let rules = s["properties"]["spec"]["x-kubernetes-validations"]
        .as_array()
        .expect("CEL rule on the spec");
    assert_eq!(rules.len(), 1);
    assert!(
        rules[0]["rule"]
            .as_str()
            .unwrap()
            .ends_with("!has(self.commitStatusExpr)")
    );
}

#[test]
fn invalid_values_are_rejected_naming_the_value() {
    let err = rejection::<Provider>(&with_spec(MINIMAL_PROVIDER, "type", json!("unknown-chat")));
    assert!(
        err.contains("unknown-chat") && err.contains("slack"),
        "{err}"
    );
    let err = rejection::<Provider>(&with_spec(MINIMAL_PROVIDER, "timeout", json!("5x")));
    assert!(err.contains("\"5x\""), "{err}");
    let err = rejection::<Alert>(&with_spec(MINIMAL_ALERT, "eventSeverity", json!("warning")));
    assert!(err.contains("warning") && err.contains("info"), "{err}");
    let err = rejection::<Alert>(&with_spec(
        MINIMAL_ALERT,
        "eventSources",
        json!([{"kind": "Deployment", "name": "web"}]),
    ));
    assert!(err.contains("Deployment"), "{err}");
    let err = rejection::<Receiver>(&with_spec(MINIMAL_RECEIVER, "interval", json!("5x")));
    assert!(err.contains("\"5x\""), "{err}");
    let err = rejection::<Receiver>(&with_spec(
        MINIMAL_RECEIVER,
        "type",
        json!("bitbucketcloud"),
    ));
    assert!(err.contains("bitbucketcloud"), "{err}");
    let err = rejection::<Receiver>(&with_spec(
        MINIMAL_RECEIVER,
        "resources",
        json!([{"kind": "Secret", "name": "x"}]),
    ));
    assert!(err.contains("Secret"), "{err}");
    let mut no_resources: Value = serde_yaml::from_str(MINIMAL_RECEIVER).unwrap();
    no_resources["spec"]
        .as_object_mut()
        .unwrap()
        .remove("resources");
    let err = rejection::<Receiver>(&serde_yaml::to_string(&no_resources).unwrap());
    assert!(err.contains("resources"), "{err}");
}
