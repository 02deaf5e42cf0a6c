//! `ferroflux events`: Flux objects' events oldest first, in flux's
//! columns; `--for` adds the object's source; other kinds are left out.

use ferroflux_cli::kinds;
use k8s_openapi::api::core::v1::Event;
use kube::api::{Api, PostParams};
use serde_json::json;

use crate::cluster::{Cluster, ready};

/// Creates an event of `(kind, name)` with `(type, reason, message)`,
/// last seen `ago_secs` ago.
async fn event(
    c: &Cluster,
    ns: &str,
    (kind, name): (&str, &str),
    (kind_type, reason, message): (&str, &str, &str),
    ago_secs: i64,
    count: i32,
) {
    let now = k8s_openapi::jiff::Timestamp::now();
    let at = now - k8s_openapi::jiff::SignedDuration::from_secs(ago_secs);
    let first = at - k8s_openapi::jiff::SignedDuration::from_secs(600);
    let api: Api<Event> = Api::namespaced(c.client.clone(), ns);
    let e: Event = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": format!("{name}."), "namespace": ns},
        "involvedObject": {"kind": kind, "name": name, "namespace": ns,
                           "apiVersion": "kustomize.toolkit.fluxcd.io/v1"},
        "type": kind_type,
        "reason": reason,
        "message": message,
        "count": count,
        "firstTimestamp": if count > 1 { first.to_string() } else { at.to_string() },
        "lastTimestamp": at.to_string(),
        "source": {"component": "kustomize-controller"},
        "reportingComponent": "kustomize-controller",
    }))
    .unwrap();
    api.create(&PostParams::default(), &e)
        .await
        .expect("event created");
}

#[tokio::test(flavor = "multi_thread")]
async fn events_of_flux_objects_oldest_first() {
    let c = Cluster::start().await;
    c.create(
        &kinds::KUSTOMIZATION,
        "flux-system",
        "apps",
        json!({"interval": "10m", "path": "./", "prune": true,
               "sourceRef": {"kind": "GitRepository", "name": "podinfo"}}),
        json!({"conditions": ready("True", "ReconciliationSucceeded", "ok")}),
    )
    .await;
    event(
        &c,
        "flux-system",
        ("Kustomization", "apps"),
        (
            "Normal",
            "ReconciliationSucceeded",
            "Reconciliation finished in 1s",
        ),
        900,
        1,
    )
    .await;
    event(
        &c,
        "flux-system",
        ("GitRepository", "podinfo"),
        ("Normal", "NewArtifact", "stored artifact for commit 'x'"),
        1200,
        1,
    )
    .await;
    event(
        &c,
        "flux-system",
        ("Kustomization", "infra"),
        ("Warning", "BuildFailed", "kustomization path not found"),
        700,
        3,
    )
    .await;
    event(
        &c,
        "flux-system",
        ("Deployment", "web"),
        ("Normal", "ScalingReplicaSet", "not a Flux object"),
        1,
        1,
    )
    .await;

    let run = c.ferroflux(&["events"]).await;
    run.assert_ok();
    let rows: Vec<Vec<&str>> = run
        .stdout
        .lines()
        .map(|l| l.split('\t').map(str::trim).collect())
        .collect();
    assert_eq!(
        rows[0],
        ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    );
    let objects: Vec<&str> = rows[1..].iter().map(|r| r[3]).collect();
    assert_eq!(
        objects,
        [
            "GitRepository/podinfo",
            "Kustomization/apps",
            "Kustomization/infra"
        ],
        "{}",
        run.stdout
    );
    // Whole minutes: stable while the test runs.
    assert_eq!(rows[1][0], "20m");
    assert_eq!(rows[2][0], "15m");
    assert_eq!(rows[3][0], "11m (x3 over 21m)");
    assert_eq!(
        rows[3][1..],
        [
            "Warning",
            "BuildFailed",
            "Kustomization/infra",
            "kustomization path not found"
        ]
    );

    // --for adds the source's events, not other objects'.
    let run = c
        .ferroflux(&["events", "--for", "Kustomization/apps"])
        .await;
    run.assert_ok();
    assert!(
        run.stdout.contains("GitRepository/podinfo"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("Kustomization/apps"), "{}", run.stdout);
    assert!(!run.stdout.contains("infra"), "{}", run.stdout);

    let run = c
        .ferroflux(&["events", "--types", "Warning", "--for", "kustomization"])
        .await;
    run.assert_ok();
    assert_eq!(run.stdout.lines().count(), 2, "{}", run.stdout);
    assert!(run.stdout.contains("Kustomization/infra"));

    let run = c.ferroflux(&["events", "-A"]).await;
    run.assert_ok();
    assert!(run.stdout.starts_with("NAMESPACE"), "{}", run.stdout);

    let run = c.ferroflux(&["events", "-n", "apps"]).await;
    run.assert_ok();
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, "✗ No events found in apps namespace.\n");

    // Two events of one second: the event time's microseconds order them.
    let api: Api<Event> = Api::namespaced(c.client.clone(), "flux-system");
    for (name, micros) in [("a-later", "900000"), ("b-earlier", "100000")] {
        let e: Event = serde_json::from_value(json!({
            "metadata": {"name": name, "namespace": "flux-system"},
            "involvedObject": {"kind": "Receiver", "name": "hook", "namespace": "flux-system"},
            "type": "Normal", "reason": "Tie", "message": name, "count": 1,
            "firstTimestamp": "2026-01-01T00:00:00Z",
            "lastTimestamp": "2026-01-01T00:00:00Z",
            "eventTime": format!("2026-01-01T00:00:00.{micros}Z"),
        }))
        .unwrap();
        api.create(&PostParams::default(), &e).await.unwrap();
    }
    let run = c.ferroflux(&["events", "--for", "Receiver"]).await;
    run.assert_ok();
    let messages: Vec<&str> = run
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.rsplit('\t').next())
        .collect();
    assert_eq!(messages, ["b-earlier", "a-later"], "{}", run.stdout);

    let run = c.ferroflux(&["events", "--for", "Deployment/web"]).await;
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.stderr,
        "Error: 'Deployment' is not a recognized Flux kind\n"
    );
    let run = c
        .ferroflux(&["events", "--for", "Kustomization/nope"])
        .await;
    assert_eq!(run.code, Some(1));
    assert_eq!(
        run.stderr,
        "Error: Kustomization object 'nope' not found in \"flux-system\" namespace\n"
    );
    let run = c.ferroflux(&["events", "--types", "Error"]).await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("Supported types are Normal, Warning"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn events_watch_prints_new_events() {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let c = Cluster::start().await;
    event(
        &c,
        "flux-system",
        ("Kustomization", "apps"),
        ("Normal", "ReconciliationSucceeded", "first"),
        30,
        1,
    )
    .await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(["events", "--watch", "--timeout", "2m"])
        .env("KUBECONFIG", c.env.kubeconfig_path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let header = lines.next_line().await.unwrap().unwrap();
    assert!(header.starts_with("LAST SEEN"), "{header}");
    let first = lines.next_line().await.unwrap().unwrap();
    assert!(first.ends_with("first"), "{first}");
    event(
        &c,
        "flux-system",
        ("Deployment", "web"),
        ("Normal", "Scaled", "not flux"),
        0,
        1,
    )
    .await;
    event(
        &c,
        "flux-system",
        ("Kustomization", "apps"),
        ("Warning", "HealthCheckFailed", "second"),
        0,
        1,
    )
    .await;
    let second = lines.next_line().await.unwrap().unwrap();
    assert!(
        second.contains("Warning") && second.ends_with("second"),
        "{second}"
    );
    child.kill().await.unwrap();
}
