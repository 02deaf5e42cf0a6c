//! Tests of the `helm.toolkit.fluxcd.io` types.

use std::time::Duration as StdDuration;

use ferroflux_api::conditions::ObjectWithConditions;
use ferroflux_api::crds;
use ferroflux_api::helm::v2::*;
use ferroflux_api::meta::ValuesReferenceKind;
use serde_json::{Value, json};

use crate::support::{fixture_files, read_fixture, rejection, roundtrip};

fn parse(rel: &str) -> HelmRelease {
    roundtrip::<HelmRelease>(&read_fixture(rel))
}

/// A minimal valid HelmRelease with `extra` (YAML lines indented under
/// `spec:`) added to the spec.
fn minimal(extra: &str) -> String {
    format!(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\n  namespace: team\nspec:\n  interval: 5m\n{extra}"
    )
}

const CHART: &str = "  chart:\n    spec:\n      chart: app\n      sourceRef:\n        kind: HelmRepository\n        name: repo\n";

/// The HelmRelease schema (storage version) as JSON.
fn schema() -> Value {
    let crd = crds::all()
        .expect("CRDs generate")
        .into_iter()
        .find(|c| c.spec.names.kind == "HelmRelease")
        .expect("HelmRelease CRD");
    let version = &crd.spec.versions[0];
    assert_eq!(version.name, "v2");
    serde_json::to_value(
        version
            .schema
            .as_ref()
            .and_then(|s| s.open_api_v3_schema.as_ref()),
    )
    .unwrap()
}

/// The schema node at a dotted path of property names (`[]` steps into items).
fn node<'a>(schema: &'a Value, path: &str) -> &'a Value {
    path.split('.')
        .fold(schema, |n, step| match step.strip_suffix("[]") {
            Some(name) => &n["properties"][name]["items"],
            None => &n["properties"][step],
        })
}

/// Every `(path, default)` in a schema.
fn defaults(node: &Value, path: &str, out: &mut Vec<(String, Value)>) {
    if let Some(d) = node.get("default") {
        out.push((path.to_string(), d.clone()));
    }
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        for (k, v) in props {
            defaults(v, &format!("{path}.{k}"), out);
        }
    }
    if let Some(items) = node.get("items") {
        defaults(items, &format!("{path}[]"), out);
    }
}

#[test]
fn every_fixture_round_trips_and_is_valid() {
    let files = fixture_files("helm");
    assert!(
        files.len() >= 21,
        "expected the full fixture set, found {}",
        files.len()
    );
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let hr = roundtrip::<HelmRelease>(&text);
        assert_eq!(
            hr.metadata.name.as_deref().map(str::is_empty),
            Some(false),
            "{}",
            file.display()
        );
        hr.spec
            .validate()
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }
}

#[test]
fn fixtures_keep_their_concrete_settings() {
    let hr = parse("helm/01-helmrepository-chart.yaml");
    let chart = hr.spec.chart.as_ref().unwrap();
    assert_eq!(chart.spec.chart, "guestbook");
    assert_eq!(chart.spec.version, "2.3.*");
    assert_eq!(chart.spec.source_ref.kind, ChartSourceKind::HelmRepository);
    assert_eq!(
        chart.spec.interval.as_ref().unwrap().as_std(),
        StdDuration::from_secs(600)
    );
    assert_eq!(
        hr.spec
            .install
            .as_ref()
            .unwrap()
            .remediation
            .as_ref()
            .unwrap()
            .retries,
        2
    );
    assert_eq!(
        hr.spec
            .upgrade
            .as_ref()
            .unwrap()
            .remediation
            .as_ref()
            .unwrap()
            .retries,
        4
    );
    assert!(hr.test().enable);
    let drift = hr.drift_detection();
    assert_eq!(drift.mode(), DriftDetectionMode::Enabled);
    assert_eq!(drift.ignore[0].paths, ["/spec/replicas"]);
    assert_eq!(
        drift.ignore[0].target.as_ref().unwrap().kind.as_deref(),
        Some("Deployment")
    );
    assert_eq!(hr.timeout(), StdDuration::from_secs(240));
    assert_eq!(hr.release_name(), "guestbook");

    let hr = parse("helm/02-chartref-ocirepository.yaml");
    let r = hr.spec.chart_ref.as_ref().unwrap();
    assert_eq!(
        (r.kind, r.name.as_str()),
        (ChartRefKind::OciRepository, "ledger-chart")
    );
    assert!(hr.spec.chart.is_none());

    let hr = parse("helm/03-chartref-helmchart.yaml");
    assert_eq!(
        hr.spec.chart_ref.as_ref().unwrap().kind,
        ChartRefKind::HelmChart
    );

    let hr = parse("helm/04-gitrepository-chart.yaml");
    let chart = hr.spec.chart.as_ref().unwrap();
    assert_eq!(chart.spec.source_ref.kind, ChartSourceKind::GitRepository);
    assert_eq!(chart.spec.reconcile_strategy, ReconcileStrategy::Revision);
    assert_eq!(chart.spec.values_files.len(), 2);
    assert!(chart.spec.ignore_missing_values_files);
    assert_eq!(chart.namespace_or("shop"), "flux-system");
    assert_eq!(chart.object_meta.as_ref().unwrap().labels["team"], "shop");

    let hr = parse("helm/07-values-from.yaml");
    let from = &hr.spec.values_from;
    assert_eq!(from.len(), 4);
    assert_eq!(from[0].kind, ValuesReferenceKind::ConfigMap);
    assert_eq!(
        from[0].values_key_or_default(),
        "values.yaml",
        "valuesKey defaults to values.yaml"
    );
    assert_eq!(from[1].values_key_or_default(), "values-production.yaml");
    assert_eq!(from[2].kind, ValuesReferenceKind::Secret);
    assert_eq!(
        from[2].target_path.as_deref(),
        Some("server.tls.certificate")
    );
    assert!(from[2].optional && !from[2].literal);
    assert!(from[3].literal);

    let hr = parse("helm/08-post-renderers.yaml");
    let k = hr.spec.post_renderers[0].kustomize.as_ref().unwrap();
    assert_eq!(k.patches.len(), 2);
    assert!(k.patches[0].patch.contains("op: add"));
    assert_eq!(k.images[0].new_tag.as_deref(), Some("2.11.1"));
    assert!(
        k.images[1]
            .digest
            .as_deref()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(
        hr.spec.post_render_strategy,
        Some(PostRenderStrategy::Separate)
    );
    assert_eq!(
        hr.spec.common_metadata.as_ref().unwrap().labels["cost-center"],
        "platform"
    );

    let hr = parse("helm/10-test-filters.yaml");
    let filters = hr.test().filters.unwrap();
    assert_eq!(filters.iter().filter(|f| f.exclude).count(), 1);

    let hr = parse("helm/11-wait-strategy-health-checks.yaml");
    assert_eq!(
        hr.spec.wait_strategy.as_ref().unwrap().name,
        WaitStrategyName::Poller
    );
    assert_eq!(
        hr.spec.health_check_exprs[0].kind.as_deref(),
        Some("Certificate")
    );
    assert!(hr.spec.health_check_exprs[1].kind.is_none());

    let hr = parse("helm/13-kubeconfig-secret-capi.yaml");
    assert_eq!(hr.install().remediation().retries, -1);
    assert!(
        !hr.install().remediation().retries_exhausted(1_000),
        "negative retries never run out"
    );
    let kc = hr.spec.kube_config.as_ref().unwrap();
    assert_eq!(kc.secret_ref.as_ref().unwrap().name, "dev-kubeconfig");

    let hr = parse("helm/14-recommended-settings.yaml");
    let strategy = hr.install().strategy.unwrap();
    assert_eq!(strategy.name, ActionStrategyName::RetryOnFailure);
    assert_eq!(strategy.retry_interval(), StdDuration::from_secs(180));
    assert_eq!(hr.upgrade().crds_policy(), CrdsPolicy::CreateReplace);

    let hr = parse("helm/17-remediation-rollback-uninstall.yaml");
    let up = hr.upgrade().remediation();
    assert_eq!(up.strategy(), RemediationStrategy::Uninstall);
    assert!(
        !up.must_remediate_last_failure(),
        "explicit false wins over retries > 0"
    );
    assert!(hr.install().remediation().must_ignore_test_failures(false));
    assert_eq!(
        hr.uninstall().deletion_propagation(),
        DeletionPropagation::Foreground
    );
    assert!(hr.rollback().cleanup_on_fail);

    let hr = parse("helm/18-suspend.yaml");
    assert!(hr.spec.suspend);

    let hr = parse("helm/20-oci-helmrepository-verify.yaml");
    let verify = hr.spec.chart.unwrap().spec.verify.unwrap();
    assert_eq!(verify.provider, VerificationProvider::Notation);
    assert_eq!(verify.secret_ref.unwrap().name, "notation-trust");

    let hr = parse("helm/21-every-setting.yaml");
    assert_eq!(hr.max_history(), 0);
    assert!(!hr.use_persistent_client());
    assert_eq!(hr.release_name(), "everything-release");
    assert_eq!(hr.release_namespace(), "lab-target");
    assert_eq!(hr.storage_namespace(), "lab-storage");
    assert_eq!(hr.install().crds_policy(), CrdsPolicy::Skip);
    assert!(hr.install().disable_open_api_validation);
    assert_eq!(
        hr.upgrade().server_side_apply_mode(),
        ServerSideApplyMode::Disabled
    );
    assert_eq!(
        hr.upgrade().chart_name_change_strategy(),
        ChartNameChangeStrategy::InPlaceUpdate
    );
    assert_eq!(
        hr.test().filters,
        Some(vec![]),
        "an explicit empty filter list is kept"
    );
    assert_eq!(
        hr.spec.post_render_strategy,
        Some(PostRenderStrategy::NoHooks)
    );
    assert_eq!(
        hr.spec.wait_strategy.unwrap().name,
        WaitStrategyName::Legacy
    );
}

#[test]
fn nested_values_survive_unchanged() {
    for rel in [
        "helm/06-depends-on-ready-expr.yaml",
        "helm/07-values-from.yaml",
        "helm/21-every-setting.yaml",
    ] {
        let text = read_fixture(rel);
        let input: Value = serde_yaml::from_str(&text).unwrap();
        let hr = roundtrip::<HelmRelease>(&text);
        let values = Value::Object(hr.spec.values.clone().expect("values"));
        assert_eq!(values, input["spec"]["values"], "{rel}");
        // And once more through the serializer, as written to the API server.
        let out = serde_json::to_value(&hr).unwrap();
        assert_eq!(out["spec"]["values"], input["spec"]["values"], "{rel}");
    }
    let hr = parse("helm/06-depends-on-ready-expr.yaml");
    let values = Value::Object(hr.spec.values.unwrap());
    assert_eq!(values["app"]["version"], "v3.1.4");
    assert_eq!(values["app"]["features"]["darkMode"], true);
    assert_eq!(values["app"]["ratio"], 0.75);
    assert_eq!(values["app"]["owners"], json!(["alice", "bob"]));
    assert_eq!(
        values["app"]["extraEnv"][1],
        json!({"name": "EMPTY", "value": null})
    );
    assert_eq!(values["app"]["annotations"], json!({}));
    assert_eq!(values["app"]["emptyList"], json!([]));
    let dep = &hr.spec.depends_on[0];
    assert_eq!(dep.name, "web-api");
    assert!(
        dep.ready_expr
            .as_deref()
            .unwrap()
            .contains("dep.spec.values.app.version")
    );

    let hr = parse("helm/21-every-setting.yaml");
    let values = Value::Object(hr.spec.values.unwrap());
    assert_eq!(
        values["lab"]["nested"]["deeper"]["list"],
        json!([1, 2.5, "three", true, null, {"four": 4}])
    );
}

#[test]
fn documented_defaults_are_applied_after_deserialization() {
    let hr: HelmRelease = roundtrip(&minimal(CHART));
    let chart = &hr.spec.chart.as_ref().unwrap().spec;
    assert_eq!(chart.version, "*", "chart version defaults to the latest");
    assert_eq!(chart.reconcile_strategy, ReconcileStrategy::ChartVersion);
    assert_eq!(
        hr.spec
            .chart
            .as_ref()
            .unwrap()
            .interval_or(&hr.spec.interval)
            .as_str(),
        "5m"
    );

    // Defaults Flux applies in code, not in the schema.
    assert_eq!(hr.timeout(), StdDuration::from_secs(300));
    assert_eq!(hr.max_history(), 5);
    assert!(hr.use_persistent_client());
    assert_eq!(hr.drift_detection().mode(), DriftDetectionMode::Disabled);
    assert!(!hr.drift_detection().must_detect_changes());
    assert_eq!(hr.install().crds_policy(), CrdsPolicy::Create);
    assert_eq!(hr.upgrade().crds_policy(), CrdsPolicy::Skip);
    assert_eq!(
        hr.upgrade().server_side_apply_mode(),
        ServerSideApplyMode::Auto
    );
    assert_eq!(
        hr.upgrade().chart_name_change_strategy(),
        ChartNameChangeStrategy::Reinstall
    );
    assert_eq!(
        hr.uninstall().deletion_propagation(),
        DeletionPropagation::Background
    );
    let up = hr.upgrade().remediation();
    assert_eq!(
        up.strategy(),
        RemediationStrategy::Rollback,
        "upgrade remediation rolls back by default"
    );
    assert_eq!(up.retries, 0);
    assert!(!up.must_remediate_last_failure());
    assert!(up.retries_exhausted(1) && !up.retries_exhausted(0));
    assert!(!hr.install().remediation().must_remediate_last_failure());
    assert!(
        hr.install().remediation().must_ignore_test_failures(true),
        "follows test.ignoreFailures"
    );
    assert_eq!(hr.release_name(), "app");
    assert_eq!(hr.release_namespace(), "team");
    assert_eq!(hr.storage_namespace(), "team");
    assert_eq!(hr.helm_chart_name(), "team-app");

    // Upgrade remediation remediates the last failure when retries are set.
    let hr: HelmRelease = roundtrip(&minimal(&format!(
        "{CHART}  upgrade:\n    remediation:\n      retries: 2\n"
    )));
    assert!(hr.upgrade().remediation().must_remediate_last_failure());

    // The retry interval defaults to five minutes.
    let hr: HelmRelease = roundtrip(&minimal(&format!(
        "{CHART}  upgrade:\n    strategy:\n      name: RetryOnFailure\n"
    )));
    assert_eq!(
        hr.upgrade().strategy.unwrap().retry_interval(),
        StdDuration::from_secs(300)
    );

    // Schema defaults of nested objects: an empty `verify` or `uninstall`.
    let text = minimal(
        "  chart:\n    spec:\n      chart: app\n      sourceRef:\n        kind: HelmRepository\n        name: repo\n      verify: {}\n  uninstall: {}\n",
    );
    let hr: HelmRelease = roundtrip(&text);
    let verify = hr
        .spec
        .chart
        .as_ref()
        .unwrap()
        .spec
        .verify
        .as_ref()
        .unwrap();
    assert_eq!(verify.provider, VerificationProvider::Cosign);
    assert_eq!(
        hr.spec.uninstall.as_ref().unwrap().deletion_propagation,
        Some(DeletionPropagation::Background)
    );
    let out = serde_json::to_value(&hr).unwrap();
    assert_eq!(out["spec"]["chart"]["spec"]["version"], "*");
    assert_eq!(
        out["spec"]["chart"]["spec"]["reconcileStrategy"],
        "ChartVersion"
    );
    assert_eq!(out["spec"]["chart"]["spec"]["verify"]["provider"], "cosign");
    assert_eq!(
        out["spec"]["uninstall"]["deletionPropagation"],
        "background"
    );

    // Release name composition with a target namespace.
    let hr: HelmRelease = roundtrip(&minimal(&format!("{CHART}  targetNamespace: prod\n")));
    assert_eq!(hr.release_name(), "prod-app");
    assert_eq!(hr.release_namespace(), "prod");
    assert_eq!(hr.storage_namespace(), "team");
}

#[test]
fn crd_schema_carries_the_same_defaults() {
    let schema = schema();
    let mut found = Vec::new();
    defaults(&schema, "", &mut found);
    let found: Vec<(&str, &Value)> = found.iter().map(|(p, v)| (p.as_str(), v)).collect();
    let expected = [
        (".spec.chart.spec.reconcileStrategy", json!("ChartVersion")),
        (".spec.chart.spec.verify.provider", json!("cosign")),
        (".spec.chart.spec.version", json!("*")),
        (".spec.uninstall.deletionPropagation", json!("background")),
        (".status", json!({"observedGeneration": -1})),
    ];
    let expected: Vec<(&str, &Value)> = expected.iter().map(|(p, v)| (*p, v)).collect();
    assert_eq!(found, expected, "schema defaults are exactly Flux's");
    // Defaults Flux applies only in code stay out of the schema.
    for path in [
        "spec.timeout",
        "spec.maxHistory",
        "spec.persistentClient",
        "spec.driftDetection.mode",
        "spec.upgrade.remediation.strategy",
        "spec.install.crds",
        "spec.upgrade.crds",
        "spec.valuesFrom[].valuesKey",
    ] {
        let n = node(&schema, path);
        assert!(n.is_object(), "{path} exists");
        assert!(n.get("default").is_none(), "{path} has no schema default");
    }
    // The provider is required even though defaulted (as in Flux).
    assert_eq!(
        node(&schema, "spec.chart.spec.verify")["required"],
        json!(["provider"])
    );
}

#[test]
fn crd_schema_has_flux_enums_patterns_and_limits() {
    let schema = schema();
    let enum_of = |path: &str| node(&schema, path)["enum"].clone();
    assert_eq!(
        enum_of("spec.chart.spec.sourceRef.kind"),
        json!(["HelmRepository", "GitRepository", "Bucket"])
    );
    assert_eq!(
        enum_of("spec.chartRef.kind"),
        json!(["OCIRepository", "HelmChart", "ExternalArtifact"])
    );
    assert_eq!(
        enum_of("spec.driftDetection.mode"),
        json!(["enabled", "warn", "disabled"])
    );
    assert_eq!(
        enum_of("spec.upgrade.remediation.strategy"),
        json!(["rollback", "uninstall"])
    );
    assert_eq!(
        enum_of("spec.install.crds"),
        json!(["Skip", "Create", "CreateReplace"])
    );
    assert_eq!(
        enum_of("spec.upgrade.serverSideApply"),
        json!(["enabled", "disabled", "auto"])
    );
    assert_eq!(
        enum_of("spec.postRenderStrategy"),
        json!(["nohooks", "combined", "separate"])
    );
    assert_eq!(
        enum_of("status.lastAttemptedReleaseAction"),
        json!(["install", "upgrade"])
    );
    assert!(
        node(&schema, "status.history[].action")
            .get("enum")
            .is_none()
    );
    for path in [
        "spec.interval",
        "spec.timeout",
        "spec.install.strategy.retryInterval",
        "spec.test.timeout",
    ] {
        assert_eq!(
            node(&schema, path)["pattern"],
            r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$",
            "{path}"
        );
    }
    assert_eq!(
        node(&schema, "status.lastAttemptedReleaseActionDuration"),
        &json!({
            "description": node(&schema, "status.lastAttemptedReleaseActionDuration")["description"],
            "type": "string",
        })
    );
    let release_name = node(&schema, "spec.releaseName");
    assert_eq!(
        (
            release_name["minLength"].as_i64(),
            release_name["maxLength"].as_i64()
        ),
        (Some(1), Some(53))
    );
    assert_eq!(node(&schema, "spec.chart.spec.chart")["maxLength"], 2048);
    // Go `int` fields carry no format, like controller-gen output.
    for path in [
        "spec.maxHistory",
        "spec.install.remediation.retries",
        "status.history[].version",
    ] {
        assert_eq!(node(&schema, path)["type"], "integer", "{path}");
        assert!(node(&schema, path).get("format").is_none(), "{path}");
    }
    assert_eq!(node(&schema, "status.failures")["format"], "int64");
    assert_eq!(node(&schema, "spec")["required"], json!(["interval"]));
    let mut required: Vec<&str> = node(&schema, "status.history[]")["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    required.sort_unstable();
    assert_eq!(
        required,
        [
            "chartName",
            "chartVersion",
            "configDigest",
            "digest",
            "firstDeployed",
            "lastDeployed",
            "name",
            "namespace",
            "status",
            "version"
        ]
    );
    // CEL rules Flux's CRD carries.
    let rules = |path: &str| -> Vec<String> {
        node(&schema, path)["x-kubernetes-validations"]
            .as_array()
            .unwrap_or_else(|| panic!("{path} has CEL rules"))
            .iter()
            .map(|r| r["rule"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(rules("spec")[0].contains("has(self.chartRef)"));
    assert_eq!(rules("spec.kubeConfig").len(), 2);
    assert!(rules("spec.install.strategy")[0].contains("retryInterval"));
    assert!(rules("spec.upgrade.strategy")[0].contains("retryInterval"));
}

#[test]
fn values_schema_preserves_unknown_fields_as_an_object() {
    let schema = schema();
    let values = node(&schema, "spec.values");
    assert_eq!(values["type"], "object");
    assert_eq!(values["x-kubernetes-preserve-unknown-fields"], true);
    let keys: Vec<&String> = values.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "description",
            "type",
            "x-kubernetes-preserve-unknown-fields"
        ]
    );
    // Besides the values, only the deprecated inline post-renderer patches
    // kept for v2beta1/v2beta2 manifests hold arbitrary objects.
    assert_eq!(
        crds::preserve_unknown_field_paths(&schema),
        [
            ".spec.postRenderers[].kustomize.patchesJson6902[].patch[].value",
            ".spec.postRenderers[].kustomize.patchesStrategicMerge[]",
            ".spec.values"
        ]
    );
    assert!(
        crds::structural_violations(&schema).is_empty(),
        "{:?}",
        crds::structural_violations(&schema)
    );

    // Values must be an object, as in Helm.
    let err = rejection::<HelmRelease>(&minimal(&format!("{CHART}  values: [1, 2]\n")));
    assert!(err.contains("map") || err.contains("object"), "{err}");
}

#[test]
fn invalid_values_are_rejected_naming_the_value() {
    let cases = [
        ("  interval: 5x\n", "5x"),
        (
            "  chart:\n    spec:\n      chart: app\n      sourceRef:\n        kind: GitHub\n        name: repo\n",
            "GitHub",
        ),
        ("  driftDetection:\n    mode: sometimes\n", "sometimes"),
        (
            "  upgrade:\n    remediation:\n      strategy: explode\n",
            "explode",
        ),
        (
            "  chartRef:\n    kind: OCIArtifact\n    name: x\n",
            "OCIArtifact",
        ),
        ("  install:\n    crds: Replace\n", "Replace"),
        ("  install:\n    strategy:\n      name: GiveUp\n", "GiveUp"),
        (
            "  uninstall:\n    deletionPropagation: cascade\n",
            "cascade",
        ),
        (
            "  upgrade:\n    serverSideApply: sometimes-maybe\n",
            "sometimes-maybe",
        ),
        ("  postRenderStrategy: hooksonly\n", "hooksonly"),
        ("  waitStrategy:\n    name: patient\n", "patient"),
        ("  timeout: 1d\n", "1d"),
        (
            "  valuesFrom:\n    - kind: Volume\n      name: v\n",
            "Volume",
        ),
        (
            "  chart:\n    spec:\n      chart: app\n      sourceRef:\n        kind: HelmRepository\n        name: repo\n      reconcileStrategy: Always\n",
            "Always",
        ),
    ];
    for (extra, bad) in cases {
        // `interval: 5x` replaces the valid interval of the minimal manifest.
        let text = if extra.starts_with("  interval:") {
            minimal("").replace("  interval: 5m\n", extra) + CHART
        } else {
            minimal(extra)
        };
        let err = rejection::<HelmRelease>(&text);
        assert!(
            err.contains(bad),
            "error for {bad:?} does not name it: {err}"
        );
        if bad == "GitHub" {
            assert!(
                err.contains("HelmRepository") && err.contains("Bucket"),
                "lists the valid kinds: {err}"
            );
        }
    }
    let err = rejection::<HelmRelease>(
        "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: app\nspec:\n  chartRef:\n    kind: HelmChart\n    name: c\n",
    );
    assert!(err.contains("interval"), "{err}");
}

#[test]
fn cross_field_rules_are_checked_by_validate() {
    let both: HelmRelease = roundtrip(&minimal(&format!(
        "{CHART}  chartRef:\n    kind: HelmChart\n    name: c\n"
    )));
    let err = both.spec.validate().unwrap_err().to_string();
    assert!(
        err.contains("spec.chart") && err.contains("spec.chartRef"),
        "{err}"
    );

    let neither: HelmRelease = roundtrip(&minimal(""));
    assert!(
        neither
            .spec
            .validate()
            .unwrap_err()
            .to_string()
            .contains("one of spec.chart or spec.chartRef")
    );

    let kc: HelmRelease = roundtrip(&minimal(&format!(
        "{CHART}  kubeConfig:\n    configMapRef:\n      name: a\n    secretRef:\n      name: b\n"
    )));
    assert!(
        kc.spec
            .validate()
            .unwrap_err()
            .to_string()
            .contains("spec.kubeConfig")
    );
    let kc: HelmRelease = roundtrip(&minimal(&format!("{CHART}  kubeConfig: {{}}\n")));
    assert!(
        kc.spec.validate().is_err(),
        "an empty kubeConfig names no cluster"
    );

    let retry: HelmRelease = roundtrip(&minimal(&format!(
        "{CHART}  install:\n    strategy:\n      name: RemediateOnFailure\n      retryInterval: 1m\n"
    )));
    let err = retry.spec.validate().unwrap_err().to_string();
    assert!(err.contains("spec.install.strategy.retryInterval"), "{err}");
    let retry: HelmRelease = roundtrip(&minimal(&format!(
        "{CHART}  upgrade:\n    strategy:\n      name: RemediateOnFailure\n      retryInterval: 1m\n"
    )));
    assert!(
        retry
            .spec
            .validate()
            .unwrap_err()
            .to_string()
            .contains("spec.upgrade.strategy")
    );
    let ok: HelmRelease = roundtrip(&minimal(&format!(
        "{CHART}  upgrade:\n    strategy:\n      name: RetryOnFailure\n      retryInterval: 1m\n"
    )));
    assert_eq!(ok.spec.validate(), Ok(()));
}

#[test]
fn status_with_history_and_inventory() {
    let hr = parse("helm/19-status-history-inventory.yaml");
    let status = hr.status.as_ref().unwrap();
    assert_eq!(status.observed_generation, Some(3));
    assert_eq!(status.last_attempted_generation, 3);
    assert_eq!(
        hr.last_attempted_release_action(),
        Some(ReleaseAction::Upgrade)
    );
    assert_eq!(
        status
            .last_attempted_release_action_duration
            .as_ref()
            .unwrap()
            .as_std(),
        StdDuration::from_millis(28_500)
    );
    assert_eq!(
        (
            status.failures,
            status.install_failures,
            status.upgrade_failures
        ),
        (1, 0, 1)
    );
    assert_eq!(status.helm_chart_ref(), Some(("shop", "shop-catalog")));
    assert_eq!(status.storage_namespace.as_deref(), Some("shop"));
    assert_eq!(
        status.last_handled_reset_at.as_deref(),
        Some("2025-03-01T07:00:00Z")
    );
    assert!(ferroflux_api::conditions::is_true(hr.conditions(), "Ready"));
    assert!(ferroflux_api::conditions::is_true(
        hr.conditions(),
        "Released"
    ));

    assert_eq!(status.history.len(), 2);
    let latest = status.latest_snapshot().unwrap();
    assert_eq!(latest.version, 2);
    assert_eq!(latest.full_release_name(), "shop/catalog.v2");
    assert_eq!(latest.versioned_chart_name(), "catalog@4.2.0+1a2b3c4d5e6f");
    assert_eq!(latest.action, Some(ReleaseAction::Upgrade));
    assert!(latest.has_test_in_phase("Succeeded"));
    assert!(!latest.has_test_in_phase("Failed"));
    let previous = &status.history[1];
    assert_eq!(
        previous.test_hooks.as_ref().map(|h| h.len()),
        Some(0),
        "an empty hook map is kept"
    );
    assert_eq!(previous.api_version, None);
    assert_eq!(previous.status, "superseded");

    let inventory = status.inventory.as_ref().unwrap();
    assert_eq!(inventory.entries.len(), 3);
    assert_eq!(
        inventory.entries[2].id,
        "shop_catalog_autoscaling_HorizontalPodAutoscaler"
    );
    assert_eq!(inventory.entries[2].version, "v2");

    let mut status = status.clone();
    status.clear_failures();
    assert_eq!(
        (
            status.failures,
            status.install_failures,
            status.upgrade_failures
        ),
        (0, 0, 0)
    );
    let out = serde_json::to_value(&status).unwrap();
    assert!(
        out.get("failures").is_none(),
        "zero counters are omitted: {out}"
    );

    // Every release action keeps its wire name.
    for (action, wire) in [
        (ReleaseAction::Install, "install"),
        (ReleaseAction::Upgrade, "upgrade"),
        (ReleaseAction::Rollback, "rollback"),
        (ReleaseAction::Uninstall, "uninstall"),
        (ReleaseAction::UninstallRemediation, "uninstall-remediation"),
    ] {
        assert_eq!(serde_json::to_value(action).unwrap(), wire);
    }
}

#[test]
fn explicit_false_and_omitted_booleans_are_the_same_object() {
    // Like Flux's `omitempty`, a `false` flag is not written back.
    let explicit: HelmRelease = serde_json::from_value(
        serde_yaml::from_str(&minimal(&format!(
            "{CHART}  suspend: false\n  test:\n    enable: false\n"
        )))
        .unwrap(),
    )
    .unwrap();
    let omitted: HelmRelease = serde_json::from_value(
        serde_yaml::from_str(&minimal(&format!("{CHART}  test: {{}}\n"))).unwrap(),
    )
    .unwrap();
    assert_eq!(explicit, omitted);
    let out = serde_json::to_value(&explicit).unwrap();
    assert!(out["spec"].get("suspend").is_none(), "{out}");
    assert_eq!(out["spec"]["test"], json!({}));
}

#[test]
fn conditions_can_be_set_on_a_fresh_object() {
    let mut hr: HelmRelease = roundtrip(&minimal(CHART));
    assert!(hr.status.is_none());
    assert!(hr.conditions().is_empty());
    hr.conditions_mut()
        .push(k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition {
            type_: "Ready".into(),
            status: "False".into(),
            reason: "InstallFailed".into(),
            message: "install failed".into(),
            observed_generation: None,
            last_transition_time: ferroflux_api::conditions::now(),
        });
    assert!(ferroflux_api::conditions::is_false(
        hr.conditions(),
        "Ready"
    ));
}
