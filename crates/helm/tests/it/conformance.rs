//! Every case of `../shared/conformance/helm` (real charts in `cases/`, feature
//! charts in `features/`; read in place, never copied) rendered in-process as
//! `helm template` renders it, and compared with Helm v4's outputs as its
//! `run.py` compares them: NOTES byte for byte, everything else document by
//! document as parsed YAML (types matter, layout does not), `_manifest.yaml` in
//! order, error cases by Helm's message.
//!
//! The same cases through the CLI (`crates/cli/src/helm_template.rs`), from the
//! suite's directory: `python3 run.py --cases . --cmd 'ferroflux helm template
//! {release} {chart} -f {values} -n {namespace} --kube-version {kube_version}
//! --api-versions {api_versions} --is-upgrade={is_upgrade} --render-dir {out}'`
//! (with `--require-manifest`, debug binary of 2026-12-06: 110 passed, 0 failed;
//! the 93 of an earlier run predate the fixes that brought this test to 110).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferroflux_helm::chart::{LoadLimits, load_dir};
use ferroflux_helm::manifest::split_manifests;
use ferroflux_helm::{TemplateOptions, template};

/// Cases that pass (110 of 110): all of them.
/// The test fails if one of these regresses.
const MUST_PASS: &[&str] = &[
    "alertmanager__defaults",
    "alertmanager__ingress-monitor-config",
    "bitnami-nginx__global-overrides",
    "bitnami-nginx__ingress-metrics-autoscaling",
    "bitnami-nginx__tls-existing-secret",
    "bitnami-redis__no-auth-existing-config",
    "bitnami-redis__replication-sentinel-metrics",
    "bitnami-redis__standalone-password",
    "err-compare-float-int",
    "err-fail",
    "err-invalid-yaml-output",
    "err-kubeversion-constraint",
    "err-missing-dependency",
    "err-nil-pointer",
    "err-parse-error",
    "err-required",
    "err-required-empty-string",
    "err-schema-validation",
    "err-stray-file-in-charts",
    "err-text-template-output",
    "external-secrets__defaults",
    "external-secrets__monitoring-bitwarden",
    "external-secrets__namespaced-no-webhook",
    "grafana__defaults",
    "grafana__ingress-datasources-dashboards",
    "grafana__sidecars-autoscaling",
    "helm-capabilities",
    "helm-capabilities-apiversions-dump",
    "helm-capabilities-kube-suffix",
    "helm-chart-load-error",
    "helm-chart-object",
    "helm-crds-dir",
    "helm-dependency-alias",
    "helm-dependency-condition",
    "helm-dependency-tags",
    "helm-env-removed",
    "helm-files",
    "helm-helmignore",
    "helm-hooks-and-tests",
    "helm-import-values",
    "helm-library-chart",
    "helm-lookup-offline",
    "helm-manifest-order",
    "helm-notes",
    "helm-packaged-subchart",
    "helm-release-object",
    "helm-release-upgrade",
    "helm-schema-ok",
    "helm-subchart-values-globals",
    "helm-subcharts-nested-globals",
    "helm-template-name-basepath",
    "helm-testchart-object-order__defaults",
    "helm-testchart-subchart__defaults",
    "helm-testchart-subchart__extra-values",
    "helm-testchart-subchart__tags-and-globals",
    "helm-testchart-subpop__defaults",
    "helm-testchart-subpop__toggles",
    "helm-tpl",
    "helm-underscore-partials",
    "helm-values-coalesce",
    "helm-values-numbers",
    "helm-values-yaml11",
    "ingress-nginx__daemonset-metrics-hpa",
    "ingress-nginx__defaults",
    "ingress-nginx__deployment-autoscaling-default-backend",
    "kube-state-metrics__defaults",
    "kube-state-metrics__monitor-rbac-proxy-vpa",
    "kube-state-metrics__namespaces-custom-resource-state",
    "metrics-server__defaults",
    "metrics-server__resizer-monitor-pdb",
    "podinfo__defaults",
    "podinfo__ingress-hpa-redis",
    "podinfo__tls-certificate-faults",
    "prometheus-node-exporter__defaults",
    "prometheus-node-exporter__monitor-proxy-tls",
    "sprig-default-empty",
    "sprig-dicts",
    "sprig-encoding-hashes",
    "sprig-lists",
    "sprig-math",
    "sprig-merge-semantics",
    "sprig-random-runs",
    "sprig-regex",
    "sprig-semver",
    "sprig-strings",
    "sprig-tojson-fromjson",
    "sprig-totoml",
    "sprig-toyaml-fromyaml",
    "sprig-types",
    "sprig-until-seq",
    "tmpl-block-override",
    "tmpl-builtin-text-funcs",
    "tmpl-comments",
    "tmpl-compare-mixed-numbers",
    "tmpl-define-template-include",
    "tmpl-if-truthiness",
    "tmpl-include-context",
    "tmpl-index-slice-len",
    "tmpl-missing-values",
    "tmpl-nindent-toyaml-pattern",
    "tmpl-pipelines",
    "tmpl-printf-verbs",
    "tmpl-range-else-break-continue",
    "tmpl-range-map-sorted",
    "tmpl-variables-scoping",
    "tmpl-whitespace-trim",
    "tmpl-with-else",
    "traefik__daemonset-gateway",
    "traefik__dashboard-metrics-hpa",
    "traefik__defaults",
];

fn suite() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/helm")
}

fn docs(text: &str) -> Result<Vec<serde_yaml::Value>, String> {
    let mut out = vec![];
    for d in split_manifests(text.trim_start()) {
        let v: serde_yaml::Value = serde_yaml::from_str(&d).map_err(|e| e.to_string())?;
        if !v.is_null() {
            out.push(v);
        }
    }
    Ok(out)
}

fn compare(rel: &str, expected: &str, got: &str) -> Option<String> {
    if rel.ends_with("NOTES.txt") || rel == "_notes.txt" {
        if expected == got {
            return None;
        }
        let line = expected
            .lines()
            .zip(got.lines())
            .position(|(a, b)| a != b)
            .map(|i| i + 1)
            .unwrap_or(0);
        return Some(format!("{rel}: text differs (line {line})"));
    }
    let e = match docs(expected) {
        Ok(e) => e,
        Err(_) => return (expected != got).then(|| format!("{rel}: text differs")),
    };
    let g = match docs(got) {
        Ok(g) => g,
        Err(err) => return Some(format!("{rel}: output is not valid YAML: {err}")),
    };
    for (i, (x, y)) in e.iter().zip(&g).enumerate() {
        if x != y {
            let xs = serde_yaml::to_string(x).unwrap_or_default();
            let ys = serde_yaml::to_string(y).unwrap_or_default();
            let line = xs
                .lines()
                .zip(ys.lines())
                .find(|(a, b)| a != b)
                .map(|(a, b)| format!("expected `{a}`, got `{b}`"))
                .unwrap_or_else(|| "lengths differ".into());
            return Some(format!("{rel}: doc {i}: {line}"));
        }
    }
    (e.len() != g.len()).then(|| format!("{rel}: expected {} documents, got {}", e.len(), g.len()))
}

fn list(dir: &Path, base: &Path, out: &mut Vec<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            list(&p, base, out);
        } else if let Ok(r) = p.strip_prefix(base) {
            out.push(r.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// Runs one case: `Ok(())` when it passes, else the reason.
pub fn run_case(dir: &Path) -> Result<(), String> {
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("case.json")).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let values_text = std::fs::read_to_string(dir.join("values.yaml")).unwrap_or_default();
    let opts = TemplateOptions {
        release_name: meta["release"].as_str().unwrap_or("").into(),
        namespace: meta["namespace"].as_str().unwrap_or("").into(),
        kube_version: meta["kube_version"].as_str().map(String::from),
        api_versions: meta["api_versions"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default(),
        is_upgrade: meta["is_upgrade"].as_bool().unwrap_or(false),
        ..TemplateOptions::default()
    };
    let result = ferroflux_helm::strvals::merge_sources(&[values_text], &[], &[], &[])
        .map_err(|e| format!("values.yaml: {e}"))
        .and_then(|user| {
            let chart =
                load_dir(&dir.join("chart"), &LoadLimits::default()).map_err(|e| e.to_string())?;
            template(&chart, &user, &opts).map_err(|e| e.to_string())
        });
    if let Some(want) = meta["expect_error"].as_str() {
        return match result {
            Ok(_) => Err(format!(
                "expected an error containing {want:?}, got success"
            )),
            Err(e) if e.contains(want) => Ok(()),
            Err(e) => Err(format!("error {e:?} does not contain {want:?}")),
        };
    }
    let rendered = result?;
    let expected = dir.join("expected");
    let mut files = vec![];
    list(&expected, &expected, &mut files);
    let mut got: BTreeMap<String, String> = rendered.templates.clone();
    if !opts.is_upgrade {
        got.insert("_manifest.yaml".into(), rendered.manifest.clone());
    }
    if !rendered.notes.is_empty() {
        got.insert("_notes.txt".into(), rendered.notes.clone());
    }
    for rel in &files {
        if rel == "_error.txt" {
            continue;
        }
        let exp = std::fs::read_to_string(expected.join(rel)).map_err(|e| e.to_string())?;
        let mine = got.remove(rel).unwrap_or_default();
        if let Some(why) = compare(rel, &exp, &mine) {
            return Err(why);
        }
    }
    for (rel, text) in got {
        if rel == "_manifest.yaml" || rel == "_notes.txt" {
            // Helm wrote none: ours must be empty too
            if !text.trim().is_empty() {
                return Err(format!("{rel}: Helm has none, ours is not empty"));
            }
            continue;
        }
        if docs(&text).map(|d| !d.is_empty()).unwrap_or(true) {
            return Err(format!("{rel}: documents Helm did not produce"));
        }
    }
    Ok(())
}

pub fn cases() -> Vec<(String, PathBuf)> {
    let mut out = vec![];
    for group in ["cases", "features"] {
        let Ok(rd) = std::fs::read_dir(suite().join(group)) else {
            continue;
        };
        for e in rd.flatten() {
            if e.path().join("case.json").is_file() {
                out.push((e.file_name().to_string_lossy().into_owned(), e.path()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn conformance_cases() {
    let all = cases();
    if all.is_empty() {
        assert!(
            std::env::var_os("CI").is_none(),
            "the conformance suite is missing at {}",
            suite().display()
        );
        eprintln!("skipping: no conformance suite at {}", suite().display());
        return;
    }
    let mut passed = vec![];
    let mut failed = vec![];
    for (name, dir) in &all {
        let r = std::panic::catch_unwind(|| run_case(dir))
            .unwrap_or_else(|_| Err("panicked".to_string()));
        match r {
            Ok(()) => passed.push(name.clone()),
            Err(why) => {
                eprintln!("FAIL {name}: {why}");
                failed.push(name.clone());
            }
        }
    }
    eprintln!("{} passed, {} failed", passed.len(), failed.len());
    let regressed: Vec<&&str> = MUST_PASS
        .iter()
        .filter(|c| !passed.iter().any(|p| p == **c))
        .collect();
    assert!(
        regressed.is_empty(),
        "cases that passed before fail now: {regressed:?}"
    );
    assert!(
        passed.len() >= MUST_PASS.len(),
        "{} passed, fewer than {}",
        passed.len(),
        MUST_PASS.len()
    );
}
