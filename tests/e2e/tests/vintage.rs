//! Flux objects of every vintage: examples in the shape of Flux's own docs
//! for each API version Flux served since 2.0 (source v1beta1/v1beta2,
//! kustomize v1beta1/v1beta2, helm v2beta1/v2beta2, notification
//! v1beta1/v1beta2), applied with kubectl and read back in their own
//! version; then old GitRepository, HelmRepository and Kustomization objects
//! (the Kustomization with v1beta1's `patchesStrategicMerge`, which v1 does
//! not have) reconciled by the controller binaries as the storage version,
//! each with a deprecation warning in its events and the controller's log.

use ferroflux_testsupport::git::ServerAuth;
use ferroflux_testsupport::helm_repo::StaticServer;
use serde_json::Value;

use crate::support::{E2e, Kind, logs_of, ready};

/// One example per old version and kind, as Flux's docs of that version
/// wrote them (URLs point nowhere reachable: these are only read back).
/// `(apiVersion, kind, plural, name, a spec field and its expected value)`.
const EXAMPLES: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "source.toolkit.fluxcd.io/v1beta1",
        "GitRepository",
        "gitrepositories",
        "podinfo-v1beta1",
        "spec:\n  interval: 1m\n  url: https://github.com/stefanprodan/podinfo\n  ref:\n    branch: master\n  gitImplementation: libgit2\n  ignore: |\n    /*\n    !/deploy\n",
        "/spec/ignore=/*\n!/deploy\n",
    ),
    (
        "source.toolkit.fluxcd.io/v1beta2",
        "GitRepository",
        "gitrepositories",
        "podinfo-v1beta2",
        "spec:\n  interval: 5m0s\n  url: https://github.com/stefanprodan/podinfo\n  ref:\n    branch: master\n  accessFrom:\n    namespaceSelectors:\n    - matchLabels:\n        kubernetes.io/metadata.name: flux-system\n",
        "/spec/ref/branch=master",
    ),
    (
        "source.toolkit.fluxcd.io/v1beta1",
        "HelmRepository",
        "helmrepositories",
        "bitnami-v1beta1",
        "spec:\n  interval: 30m\n  url: https://charts.bitnami.com/bitnami\n  passCredentials: true\n",
        "/spec/passCredentials=true",
    ),
    (
        "source.toolkit.fluxcd.io/v1beta2",
        "HelmRepository",
        "helmrepositories",
        "podinfo-oci-v1beta2",
        "spec:\n  type: oci\n  interval: 5m0s\n  url: oci://ghcr.io/stefanprodan/charts\n",
        "/spec/type=oci",
    ),
    (
        "source.toolkit.fluxcd.io/v1beta1",
        "HelmChart",
        "helmcharts",
        "redis-v1beta1",
        "spec:\n  chart: redis\n  version: '10.5.x'\n  sourceRef:\n    kind: HelmRepository\n    name: bitnami-v1beta1\n  interval: 5m\n  valuesFile: values-prod.yaml\n",
        "/spec/valuesFile=values-prod.yaml",
    ),
    (
        "source.toolkit.fluxcd.io/v1beta2",
        "HelmChart",
        "helmcharts",
        "podinfo-v1beta2",
        "spec:\n  interval: 5m0s\n  chart: podinfo\n  reconcileStrategy: ChartVersion\n  sourceRef:\n    kind: HelmRepository\n    name: podinfo\n  version: '5.*'\n  valuesFiles:\n  - values.yaml\n  - values-production.yaml\n",
        "/spec/valuesFiles/1=values-production.yaml",
    ),
    (
        "source.toolkit.fluxcd.io/v1beta1",
        "Bucket",
        "buckets",
        "podinfo-v1beta1",
        "spec:\n  interval: 1m\n  provider: generic\n  bucketName: podinfo\n  endpoint: minio.minio.svc.cluster.local:9000\n  insecure: true\n  secretRef:\n    name: minio-credentials\n",
        "/spec/bucketName=podinfo",
    ),
    (
        "source.toolkit.fluxcd.io/v1beta2",
        "Bucket",
        "buckets",
        "minio-bucket-v1beta2",
        "spec:\n  interval: 5m0s\n  endpoint: minio.example.com\n  insecure: true\n  secretRef:\n    name: minio-bucket-secret\n  bucketName: example\n  prefix: path/to/prefix\n",
        "/spec/prefix=path/to/prefix",
    ),
    (
        "source.toolkit.fluxcd.io/v1beta2",
        "OCIRepository",
        "ocirepositories",
        "podinfo-v1beta2",
        "spec:\n  interval: 5m0s\n  url: oci://ghcr.io/stefanprodan/manifests/podinfo\n  ref:\n    tag: latest\n  layerSelector:\n    mediaType: application/vnd.cncf.helm.chart.content.v1.tar+gzip\n    operation: copy\n",
        "/spec/layerSelector/operation=copy",
    ),
    (
        "kustomize.toolkit.fluxcd.io/v1beta1",
        "Kustomization",
        "kustomizations",
        "webapp-v1beta1",
        "spec:\n  interval: 5m\n  path: ./deploy/webapp/\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: webapp\n  validation: client\n  healthChecks:\n  - kind: Deployment\n    name: frontend\n    namespace: webapp\n  timeout: 2m\n",
        "/spec/healthChecks/0/name=frontend",
    ),
    (
        "kustomize.toolkit.fluxcd.io/v1beta2",
        "Kustomization",
        "kustomizations",
        "podinfo-v1beta2",
        "spec:\n  interval: 10m\n  targetNamespace: default\n  sourceRef:\n    kind: GitRepository\n    name: podinfo\n  path: ./kustomize\n  prune: true\n  wait: true\n  timeout: 1m\n  patchesJson6902:\n  - target:\n      kind: Deployment\n      name: podinfo\n    patch:\n    - op: replace\n      path: /spec/replicas\n      value: 2\n",
        "/spec/patchesJson6902/0/patch/0/value=2",
    ),
    (
        "helm.toolkit.fluxcd.io/v2beta1",
        "HelmRelease",
        "helmreleases",
        "backend-v2beta1",
        "spec:\n  interval: 5m\n  chart:\n    spec:\n      chart: podinfo\n      version: '>=4.0.0 <5.0.0'\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo\n        namespace: flux-system\n      interval: 1m\n      valuesFile: values-prod.yaml\n  upgrade:\n    remediation:\n      remediateLastFailure: true\n  test:\n    enable: true\n  values:\n    service:\n      grpcService: backend\n    resources:\n      requests:\n        cpu: 100m\n        memory: 64Mi\n  postRenderers:\n  - kustomize:\n      patchesStrategicMerge:\n      - kind: Deployment\n        apiVersion: apps/v1\n        metadata:\n          name: podinfo\n        spec:\n          replicas: 2\n",
        "/spec/upgrade/remediation/remediateLastFailure=true",
    ),
    (
        "helm.toolkit.fluxcd.io/v2beta2",
        "HelmRelease",
        "helmreleases",
        "podinfo-v2beta2",
        "spec:\n  interval: 10m\n  timeout: 5m\n  chart:\n    spec:\n      chart: podinfo\n      version: '6.5.*'\n      sourceRef:\n        kind: HelmRepository\n        name: podinfo\n      interval: 5m\n  releaseName: podinfo\n  install:\n    remediation:\n      retries: 3\n  test:\n    enable: true\n    filters:\n    - name: podinfo-grpc-test\n      exclude: true\n  driftDetection:\n    mode: enabled\n  values:\n    replicaCount: 2\n",
        "/spec/test/filters/0/name=podinfo-grpc-test",
    ),
    (
        "notification.toolkit.fluxcd.io/v1beta1",
        "Provider",
        "providers",
        "slack-v1beta1",
        "spec:\n  type: slack\n  channel: general\n  address: https://slack.com/api/chat.postMessage\n  secretRef:\n    name: slack-url\n",
        "/spec/channel=general",
    ),
    (
        "notification.toolkit.fluxcd.io/v1beta2",
        "Provider",
        "providers",
        "github-v1beta2",
        "spec:\n  type: github\n  address: https://github.com/stefanprodan/podinfo\n  secretRef:\n    name: api-token\n",
        "/spec/type=github",
    ),
    (
        "notification.toolkit.fluxcd.io/v1beta1",
        "Alert",
        "alerts",
        "on-call-v1beta1",
        "spec:\n  providerRef:\n    name: slack-v1beta1\n  eventSeverity: info\n  eventSources:\n  - kind: GitRepository\n    name: '*'\n  - kind: Kustomization\n    name: '*'\n  exclusionList:\n  - \"waiting.*socket\"\n  summary: cluster addons\n",
        "/spec/summary=cluster addons",
    ),
    (
        "notification.toolkit.fluxcd.io/v1beta2",
        "Alert",
        "alerts",
        "on-call-v1beta2",
        "spec:\n  providerRef:\n    name: github-v1beta2\n  eventSeverity: info\n  eventSources:\n  - kind: Kustomization\n    name: '*'\n  inclusionList:\n  - \".*succeeded.*\"\n  eventMetadata:\n    env: production\n",
        "/spec/eventMetadata/env=production",
    ),
    (
        "notification.toolkit.fluxcd.io/v1beta1",
        "Receiver",
        "receivers",
        "github-receiver-v1beta1",
        "spec:\n  type: github\n  events:\n  - ping\n  - push\n  secretRef:\n    name: webhook-token\n  resources:\n  - kind: GitRepository\n    name: webapp\n",
        "/spec/events/1=push",
    ),
    (
        "notification.toolkit.fluxcd.io/v1beta2",
        "Receiver",
        "receivers",
        "gitlab-receiver-v1beta2",
        "spec:\n  type: gitlab\n  interval: 60m\n  events:\n  - Push Hook\n  secretRef:\n    name: webhook-token\n  resources:\n  - kind: GitRepository\n    name: webapp\n    matchLabels:\n      app: webapp\n",
        "/spec/resources/0/matchLabels/app=webapp",
    ),
];

/// `kubectl get <plural>.<version>.<group> -n ns name -o json`.
async fn get_as(e2e: &E2e, api_version: &str, plural: &str, ns: &str, name: &str) -> Value {
    let (group, version) = api_version.split_once('/').expect("group/version");
    let resource = format!("{plural}.{version}.{group}");
    let (ok, out, err) = e2e
        .kubectl(
            &[
                "get",
                &resource,
                "-n",
                ns,
                name,
                "-o",
                "json",
                "--show-managed-fields",
            ],
            None,
        )
        .await;
    assert!(ok, "kubectl get {resource} {ns}/{name}: {out}{err}");
    serde_json::from_str(&out).expect("kubectl's JSON")
}

fn check_field(obj: &Value, expectation: &str, what: &str) {
    let (pointer, expected) = expectation.split_once('=').expect("pointer=value");
    let got = obj.pointer(pointer).unwrap_or(&Value::Null);
    let got = match got {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    assert_eq!(got, expected, "{what}: {pointer} in {obj:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_old_version_applies_reads_back_and_reconciles() {
    let e2e = E2e::start().await;
    let ns = "vintage";
    e2e.apply(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"
    ))
    .await;

    // Every documented example, as written, through its own version.
    for (api_version, kind, plural, name, spec, field) in EXAMPLES {
        let doc = format!(
            "apiVersion: {api_version}\nkind: {kind}\nmetadata:\n  name: {name}\n  namespace: {ns}\n{spec}"
        );
        let out = e2e.apply(&doc).await;
        assert!(out.contains("created"), "{api_version} {kind}: {out}");
        let back = get_as(&e2e, api_version, plural, ns, name).await;
        assert_eq!(back["apiVersion"], *api_version, "{kind} {name}");
        check_field(&back, field, &format!("{api_version} {kind} {name}"));
    }

    // A Git repository with a Deployment, and a static Helm repository index.
    let repo = e2e.repo("vintage-app");
    repo.write(
        "deploy/app.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: vintage\n  namespace: vintage\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: vintage}\n  template:\n    metadata:\n      labels: {app: vintage}\n    spec:\n      containers:\n      - name: app\n        image: ghcr.io/example/vintage:1.0.0\n",
    )
    .expect("writing");
    repo.write(
        "deploy/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- app.yaml\n",
    )
    .expect("writing");
    let commit = repo.commit("vintage app").expect("commit");
    let charts = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(
        charts.path().join("index.yaml"),
        "apiVersion: v1\nentries:\n  vintage:\n  - apiVersion: v2\n    name: vintage\n    version: 1.0.0\n    created: \"2023-01-01T00:00:00Z\"\n    digest: 0000000000000000000000000000000000000000000000000000000000000000\n    urls:\n    - vintage-1.0.0.tgz\ngenerated: \"2023-01-01T00:00:00Z\"\n",
    )
    .expect("writing the index");
    let index = StaticServer::start(charts.path(), ServerAuth::None);

    // Old GitRepository, HelmRepository and Kustomization, reconciled as
    // the storage versions; the Kustomization's v1beta1-only
    // `patchesStrategicMerge` is folded into v1's `patches`.
    e2e.apply(&format!(
        "apiVersion: source.toolkit.fluxcd.io/v1beta1\nkind: GitRepository\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  interval: 10m\n  url: {}\n  ref:\n    branch: main\n  gitImplementation: go-git\n---\napiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: HelmRepository\nmetadata:\n  name: charts\n  namespace: {ns}\nspec:\n  interval: 10m\n  url: {}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1beta1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: {ns}\nspec:\n  interval: 10m\n  path: ./deploy\n  prune: true\n  validation: server\n  sourceRef:\n    kind: GitRepository\n    name: app\n  patchesStrategicMerge:\n  - apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: vintage\n      namespace: vintage\n    spec:\n      replicas: 3\n",
        e2e.git.url("vintage-app"),
        index.url()
    ))
    .await;
    e2e.wait_artifact(ns, "app", &commit).await;
    e2e.wait_applied(ns, "app", &commit).await;
    let d = e2e
        .get(Kind::Deployment, ns, "vintage")
        .await
        .expect("Deployment vintage/vintage");
    assert_eq!(
        d["spec"]["replicas"], 3,
        "the v1beta1 strategic merge patch was applied"
    );
    let helm_repo = e2e
        .wait("HelmRepository vintage/charts Ready", || async {
            let now = get_as(
                &e2e,
                "source.toolkit.fluxcd.io/v1",
                "helmrepositories",
                ns,
                "charts",
            )
            .await;
            if ready(&now) {
                Ok(now)
            } else {
                Err(format!("{:#}", now["status"]))
            }
        })
        .await;
    assert!(
        helm_repo["status"]["artifact"]["digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:")),
        "{helm_repo:#}"
    );
    // The same objects read back through their own old versions show v1's status.
    let git_old = get_as(
        &e2e,
        "source.toolkit.fluxcd.io/v1beta1",
        "gitrepositories",
        ns,
        "app",
    )
    .await;
    assert!(ready(&git_old), "{git_old:#}");

    // A deprecation warning for each: an event on the object and a log line.
    for (kind, name, old) in [
        ("GitRepository", "app", "source.toolkit.fluxcd.io/v1beta1"),
        (
            "HelmRepository",
            "charts",
            "source.toolkit.fluxcd.io/v1beta2",
        ),
        (
            "Kustomization",
            "app",
            "kustomize.toolkit.fluxcd.io/v1beta1",
        ),
    ] {
        let selector = format!(
            "involvedObject.kind={kind},involvedObject.name={name},reason=DeprecatedAPIVersion"
        );
        let message = e2e
            .wait(&format!("a deprecation event on {kind} {name}"), || async {
                let (ok, out, err) = e2e
                    .kubectl(
                        &[
                            "get",
                            "events",
                            "-n",
                            ns,
                            "--field-selector",
                            &selector,
                            "-o",
                            "json",
                        ],
                        None,
                    )
                    .await;
                let list: Value = serde_json::from_str(&out).unwrap_or_default();
                match list["items"].as_array().and_then(|i| i.first()) {
                    Some(e) if ok => Ok(e["message"].as_str().unwrap_or_default().to_string()),
                    _ => Err(format!("{out}{err}")),
                }
            })
            .await;
        assert!(message.contains(old), "{kind}: {message}");
        assert!(message.contains("deprecated"), "{kind}: {message}");
    }
    let logs = logs_of(e2e.stack.work_dir());
    let full_logs: String = std::fs::read_dir(e2e.stack.work_dir().join("logs"))
        .expect("the logs")
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    for old in [
        "source.toolkit.fluxcd.io/v1beta1",
        "kustomize.toolkit.fluxcd.io/v1beta1",
    ] {
        assert!(
            full_logs
                .lines()
                .any(|l| l.contains("is deprecated") && l.contains(old)),
            "no deprecation warning for {old} in the logs:\n{logs}"
        );
    }
}
