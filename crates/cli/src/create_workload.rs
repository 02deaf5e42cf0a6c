//! `ferroflux create kustomization|helmrelease`: the specs of what applies
//! to the cluster, from flags named as `flux create`'s.

use std::io::Read;
use std::path::PathBuf;

use serde_json::{Map, Value, json};

use crate::create::{
    CommonFlags, Draft, GoDuration, local_ref, parse_depends_on, parse_duration, parse_ref, set,
};
use crate::kinds;

/// The most a values file may hold.
const MAX_VALUES_FILE: u64 = 4 << 20;

/// `create kustomization NAME ...`.
#[derive(clap::Args, Debug)]
pub struct KustomizationArgs {
    /// The object's name.
    #[arg(value_parser = crate::create::parse_object_name)]
    pub name: String,
    /// The source: `[<kind>/]<name>[.<namespace>]`, kind GitRepository (default),
    /// OCIRepository or Bucket.
    #[arg(long)]
    source: Option<String>,
    /// Path to the directory with the manifests, starting with `./`.
    #[arg(long, default_value = "./")]
    path: String,
    /// Delete what left the source (garbage collection).
    #[arg(long)]
    prune: bool,
    /// Wait for every applied object to become ready.
    #[arg(long)]
    wait: bool,
    /// Workloads to wait for: `<kind>/<name>.<namespace>`.
    #[arg(long, value_delimiter = ',')]
    health_check: Vec<String>,
    /// How long health checks may take.
    #[arg(long, default_value = "2m", value_parser = parse_duration)]
    health_check_timeout: GoDuration,
    /// Kustomizations that must be ready first: `<name>` or `<namespace>/<name>`.
    #[arg(long, value_delimiter = ',')]
    depends_on: Vec<String>,
    /// The service account to impersonate.
    #[arg(long)]
    service_account: Option<String>,
    /// Decryption provider: sops.
    #[arg(long)]
    decryption_provider: Option<String>,
    /// The Secret with the decryption keys.
    #[arg(long)]
    decryption_secret: Option<String>,
    /// Namespace of every namespaced object applied.
    #[arg(long)]
    target_namespace: Option<String>,
    /// A Secret with a kubeconfig for a remote cluster.
    #[arg(long)]
    kubeconfig_secret_ref: Option<String>,
    /// How soon a failed reconcile is retried.
    #[arg(long, value_parser = parse_duration)]
    retry_interval: Option<GoDuration>,
}

/// `create helmrelease NAME ...`.
#[derive(clap::Args, Debug)]
pub struct HelmReleaseArgs {
    /// The object's name.
    #[arg(value_parser = crate::create::parse_object_name)]
    pub name: String,
    /// The Helm release's name (default: `[<target-namespace>-]<name>`).
    #[arg(long)]
    release_name: Option<String>,
    /// The chart's source: `<kind>/<name>[.<namespace>]`, kind HelmRepository,
    /// GitRepository or Bucket.
    #[arg(long)]
    source: Option<String>,
    /// The chart's name, or its path in a Git or Bucket source.
    #[arg(long)]
    chart: Option<String>,
    /// The chart's version or a SemVer range.
    #[arg(long)]
    chart_version: Option<String>,
    /// A chart reference instead of `--chart`: `<kind>/<name>[.<namespace>]`,
    /// kind OCIRepository or HelmChart.
    #[arg(long)]
    chart_ref: Option<String>,
    /// HelmReleases that must be ready first: `<name>` or `<namespace>/<name>`.
    #[arg(long, value_delimiter = ',')]
    depends_on: Vec<String>,
    /// Namespace to install into (default: the HelmRelease's).
    #[arg(long)]
    target_namespace: Option<String>,
    /// Namespace of the release records (default: the target namespace).
    #[arg(long)]
    storage_namespace: Option<String>,
    /// Create the target namespace if it does not exist.
    #[arg(long)]
    create_target_namespace: bool,
    /// The service account to impersonate.
    #[arg(long)]
    service_account: Option<String>,
    /// When the chart is rebuilt: ChartVersion or Revision.
    #[arg(long, default_value = "ChartVersion")]
    reconcile_strategy: String,
    /// How often the chart is checked for new versions.
    #[arg(long, value_parser = parse_duration)]
    chart_interval: Option<GoDuration>,
    /// Local values files, merged in order.
    #[arg(long, value_delimiter = ',')]
    values: Vec<PathBuf>,
    /// Values from the cluster: `<kind>/<name>`, kind Secret or ConfigMap.
    #[arg(long, value_delimiter = ',')]
    values_from: Vec<String>,
    /// CRDs policy on install and upgrade: Skip, Create or CreateReplace.
    #[arg(long)]
    crds: Option<String>,
    /// A Secret with a kubeconfig for a remote cluster.
    #[arg(long)]
    kubeconfig_secret_ref: Option<String>,
}

fn check_name(flag: &str, value: &Option<String>) -> anyhow::Result<()> {
    if let Some(v) = value {
        kinds::parse_namespace(v)
            .map_err(|_| anyhow::anyhow!("invalid {flag} '{v}': not a valid name"))?;
    }
    Ok(())
}

fn source_ref(kind: String, name: String, namespace: Option<String>) -> Value {
    let mut r = json!({"kind": kind, "name": name});
    if let Some(ns) = namespace {
        r["namespace"] = ns.into();
    }
    r
}

impl KustomizationArgs {
    /// The spec the flags describe.
    pub fn draft(&self, common: &CommonFlags) -> anyhow::Result<Draft> {
        if self.path.is_empty() {
            anyhow::bail!("path is required");
        }
        if !self.path.starts_with("./") {
            anyhow::bail!("path must begin with ./");
        }
        if self.path.split('/').any(|p| p == "..") {
            anyhow::bail!("invalid --path '{}': must not leave the source", self.path);
        }
        let Some(source) = &self.source else {
            anyhow::bail!("source is required");
        };
        let (kind, name, ns) = parse_ref(
            "--source",
            source,
            Some("GitRepository"),
            &["GitRepository", "OCIRepository", "Bucket"],
        )?;
        for (flag, v) in [
            ("--service-account", &self.service_account),
            ("--decryption-secret", &self.decryption_secret),
            ("--target-namespace", &self.target_namespace),
            ("--kubeconfig-secret-ref", &self.kubeconfig_secret_ref),
        ] {
            check_name(flag, v)?;
        }
        let mut spec = json!({
            "interval": common.interval.go(),
            "path": self.path,
            "prune": self.prune,
            "sourceRef": source_ref(kind, name, ns),
        });
        set(
            &mut spec,
            "targetNamespace",
            self.target_namespace.clone().unwrap_or_default(),
        );
        set(&mut spec, "dependsOn", parse_depends_on(&self.depends_on)?);
        if let Some(s) = &self.kubeconfig_secret_ref {
            spec["kubeConfig"] = json!({"secretRef": {"name": s}});
        }
        if !self.health_check.is_empty() && !self.wait {
            let checks = self
                .health_check
                .iter()
                .map(|w| health_check(w))
                .collect::<anyhow::Result<Vec<Value>>>()?;
            spec["healthChecks"] = checks.into();
            spec["timeout"] = self.health_check_timeout.go().into();
        }
        if self.wait {
            spec["wait"] = true.into();
            spec["timeout"] = self.health_check_timeout.go().into();
        }
        set(
            &mut spec,
            "serviceAccountName",
            self.service_account.clone().unwrap_or_default(),
        );
        match (&self.decryption_provider, &self.decryption_secret) {
            (Some(p), secret) => {
                if p != "sops" {
                    anyhow::bail!("invalid --decryption-provider '{p}': must be sops");
                }
                spec["decryption"] = json!({"provider": p});
                set(&mut spec["decryption"], "secretRef", local_ref(secret));
            }
            (None, Some(_)) => {
                anyhow::bail!("--decryption-secret needs --decryption-provider sops")
            }
            (None, None) => {}
        }
        if let Some(r) = &self.retry_interval
            && !r.0.is_zero()
        {
            spec["retryInterval"] = r.go().into();
        }
        Ok(Draft {
            kind: kinds::KUSTOMIZATION,
            noun: "Kustomization",
            spec,
        })
    }
}

/// `<kind>/<name>.<namespace>` of a workload to wait for.
fn health_check(w: &str) -> anyhow::Result<Value> {
    let Some((kind, rest)) = w.split_once('/') else {
        anyhow::bail!("invalid health check '{w}' must be in the format 'kind/name.namespace'");
    };
    let api_version = match kind {
        "Deployment" | "DaemonSet" | "StatefulSet" => "apps/v1",
        "HelmRelease" => "helm.toolkit.fluxcd.io/v2",
        _ => anyhow::bail!(
            "invalid health check kind '{kind}' can be HelmRelease, Deployment, DaemonSet or StatefulSet"
        ),
    };
    let Some((name, ns)) = rest.split_once('.').filter(|(_, ns)| !ns.contains('.')) else {
        anyhow::bail!("invalid health check '{w}' must be in the format 'kind/name.namespace'");
    };
    if kinds::parse_name(name).is_err() || kinds::parse_namespace(ns).is_err() {
        anyhow::bail!("invalid health check '{w}': not a valid name and namespace");
    }
    let mut check = json!({"kind": kind, "name": name, "namespace": ns});
    // Flux names the API version of HelmReleases only; core kinds are found by kind.
    if kind == "HelmRelease" {
        check["apiVersion"] = api_version.into();
    }
    Ok(check)
}

impl HelmReleaseArgs {
    /// The spec the flags describe.
    pub fn draft(&self, common: &CommonFlags) -> anyhow::Result<Draft> {
        for (flag, v) in [
            ("--target-namespace", &self.target_namespace),
            ("--storage-namespace", &self.storage_namespace),
            ("--service-account", &self.service_account),
            ("--kubeconfig-secret-ref", &self.kubeconfig_secret_ref),
        ] {
            check_name(flag, v)?;
        }
        let mut spec = json!({"interval": common.interval.go()});
        match (&self.chart, &self.chart_ref) {
            (None, None) => anyhow::bail!("chart or chart-ref is required"),
            (Some(_), Some(_)) => {
                anyhow::bail!("cannot use --chart in combination with --chart-ref")
            }
            (Some(chart), None) => {
                let Some(source) = &self.source else {
                    anyhow::bail!("source is required with --chart");
                };
                let (kind, name, ns) = parse_ref(
                    "--source",
                    source,
                    None,
                    &["HelmRepository", "GitRepository", "Bucket"],
                )?;
                if !matches!(
                    self.reconcile_strategy.as_str(),
                    "ChartVersion" | "Revision"
                ) {
                    anyhow::bail!(
                        "'{}' is an invalid reconcile strategy(valid: Revision, ChartVersion)",
                        self.reconcile_strategy
                    );
                }
                let mut chart_spec = json!({
                    "chart": chart,
                    "sourceRef": source_ref(kind, name, ns),
                    "reconcileStrategy": self.reconcile_strategy,
                });
                set(
                    &mut chart_spec,
                    "version",
                    self.chart_version.clone().unwrap_or_default(),
                );
                if let Some(i) = &self.chart_interval {
                    chart_spec["interval"] = i.go().into();
                }
                spec["chart"] = json!({"spec": chart_spec});
            }
            (None, Some(r)) => {
                let (kind, name, ns) =
                    parse_ref("--chart-ref", r, None, &["OCIRepository", "HelmChart"])?;
                spec["chartRef"] = source_ref(kind, name, ns);
            }
        }
        set(
            &mut spec,
            "releaseName",
            self.release_name.clone().unwrap_or_default(),
        );
        set(&mut spec, "dependsOn", parse_depends_on(&self.depends_on)?);
        set(
            &mut spec,
            "targetNamespace",
            self.target_namespace.clone().unwrap_or_default(),
        );
        set(
            &mut spec,
            "storageNamespace",
            self.storage_namespace.clone().unwrap_or_default(),
        );
        set(
            &mut spec,
            "serviceAccountName",
            self.service_account.clone().unwrap_or_default(),
        );
        if self.create_target_namespace {
            spec["install"] = json!({"createNamespace": true});
        }
        if let Some(crds) = &self.crds {
            if !matches!(crds.as_str(), "Skip" | "Create" | "CreateReplace") {
                anyhow::bail!(
                    "invalid --crds '{crds}': must be one of Skip, Create, CreateReplace"
                );
            }
            if !spec["install"].is_object() {
                spec["install"] = json!({});
            }
            spec["install"]["crds"] = crds.clone().into();
            spec["upgrade"] = json!({"crds": crds});
        }
        if let Some(s) = &self.kubeconfig_secret_ref {
            spec["kubeConfig"] = json!({"secretRef": {"name": s}});
        }
        let values_from = self
            .values_from
            .iter()
            .map(|v| {
                let Some((kind, name)) = v.split_once('/') else {
                    anyhow::bail!(
                        "invalid Kubernetes object reference '{v}', must be in format <kind>/<name>"
                    );
                };
                if !matches!(kind, "Secret" | "ConfigMap") {
                    anyhow::bail!(
                        "reference kind '{kind}' is not supported, must be one of: Secret, ConfigMap"
                    );
                }
                kinds::parse_name(name)
                    .map_err(|_| anyhow::anyhow!("invalid --values-from '{v}': not a valid name"))?;
                Ok(json!({"kind": kind, "name": name}))
            })
            .collect::<anyhow::Result<Vec<Value>>>()?;
        set(&mut spec, "valuesFrom", values_from);
        let mut values = Value::Object(Map::new());
        for file in &self.values {
            merge(&mut values, read_values(file)?);
        }
        set(&mut spec, "values", values);
        Ok(Draft {
            kind: kinds::HELM_RELEASE,
            noun: "HelmRelease",
            spec,
        })
    }
}

/// A local values file: a YAML map, read up to [`MAX_VALUES_FILE`].
fn read_values(path: &PathBuf) -> anyhow::Result<Value> {
    let shown = path.display();
    let file = std::fs::File::open(path)
        .map_err(|e| anyhow::anyhow!("reading values from {shown} failed: {e}"))?;
    let mut text = String::new();
    file.take(MAX_VALUES_FILE + 1)
        .read_to_string(&mut text)
        .map_err(|e| anyhow::anyhow!("reading values from {shown} failed: {e}"))?;
    if text.len() as u64 > MAX_VALUES_FILE {
        anyhow::bail!(
            "reading values from {shown} failed: larger than {} MiB",
            MAX_VALUES_FILE >> 20
        );
    }
    let yaml: serde_yaml::Value = serde_yaml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("unmarshaling values from {shown} failed: {e}"))?;
    let json = serde_json::to_value(&yaml)
        .map_err(|e| anyhow::anyhow!("converting values to JSON from {shown} failed: {e}"))?;
    match json {
        Value::Object(_) => Ok(json),
        Value::Null => Ok(Value::Object(Map::new())),
        _ => anyhow::bail!("unmarshaling values from {shown} failed: not a map of values"),
    }
}

/// Deep merge: maps merge key by key, anything else is replaced.
fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(existing) if existing.is_object() && v.is_object() => merge(existing, v),
                    _ => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (slot, other) => *slot = other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_files_merge_deeply_in_order() {
        let mut v = json!({"a": {"b": 1, "c": [1]}, "d": "x"});
        merge(&mut v, json!({"a": {"c": [2], "e": true}, "d": null}));
        assert_eq!(v, json!({"a": {"b": 1, "c": [2], "e": true}, "d": null}));
    }

    #[test]
    fn hostile_values_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.yaml");
        std::fs::write(
            &big,
            "a: ".to_string() + &"x".repeat((MAX_VALUES_FILE + 10) as usize),
        )
        .unwrap();
        let e = read_values(&big).unwrap_err().to_string();
        assert!(e.contains("larger than 4 MiB"), "{e}");
        let list = dir.path().join("list.yaml");
        std::fs::write(&list, "- a\n- b\n").unwrap();
        assert!(
            read_values(&list)
                .unwrap_err()
                .to_string()
                .contains("not a map")
        );
        let e = read_values(&dir.path().join("missing.yaml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("reading values from "), "{e}");
    }

    #[test]
    fn health_checks_name_a_workload_in_a_namespace() {
        assert_eq!(
            health_check("Deployment/web.apps").unwrap(),
            json!({"kind": "Deployment", "name": "web", "namespace": "apps"})
        );
        assert_eq!(
            health_check("HelmRelease/db.data").unwrap()["apiVersion"],
            "helm.toolkit.fluxcd.io/v2"
        );
        for bad in ["Deployment/web", "Pod/x.y", "web.apps", "Deployment/a.b.c"] {
            assert!(health_check(bad).is_err(), "{bad}");
        }
    }
}
