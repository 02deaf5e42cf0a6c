//! `ferroflux create`: generates a Flux object from flags named as `flux
//! create`'s, then either prints it (`--export`, the YAML `flux create
//! --export` prints: apiVersion, kind, metadata, spec, no status) or applies
//! it server-side and waits until its controller reports it Ready.
//!
//! The kinds live in `create_source` (sources), `create_workload`
//! (Kustomization, HelmRelease), `create_notification` (Alert, Provider,
//! Receiver), `create_secret` (credentials) and `create_tenant`; this module
//! holds what they share.

use std::io::Write;
use std::time::Instant;

use kube::api::{Patch, PatchParams};
use kube::config::Kubeconfig;
use serde_json::{Map, Value, json};

use crate::connect::{ConnectArgs, DEFAULT_NAMESPACE};
use crate::install::FIELD_MANAGER;
use crate::kinds::{self, FluxKind, Shape};
use crate::reconcile;
use crate::table::Log;

/// `ferroflux create ...`.
#[derive(clap::Args, Debug)]
pub struct CreateArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(flatten)]
    common: CommonFlags,
    #[command(subcommand)]
    what: CreateWhat,
}

/// Flags every kind takes.
#[derive(clap::Args, Debug, Clone)]
pub struct CommonFlags {
    /// How often the object is reconciled.
    #[arg(long, global = true, default_value = "1m", value_parser = parse_duration)]
    pub interval: GoDuration,
    /// Print the object as YAML instead of applying it.
    #[arg(long, global = true)]
    pub export: bool,
    /// Labels of the object, `key=value` (several: comma-separated or repeated).
    #[arg(long, global = true, value_delimiter = ',')]
    pub label: Vec<String>,
}

#[derive(clap::Subcommand, Debug)]
enum CreateWhat {
    /// A source: GitRepository, OCIRepository, HelmRepository or Bucket.
    Source(crate::create_source::SourceArgs),
    /// A Kustomization.
    #[command(visible_alias = "ks")]
    Kustomization(crate::create_workload::KustomizationArgs),
    /// A HelmRelease.
    #[command(visible_alias = "hr")]
    Helmrelease(crate::create_workload::HelmReleaseArgs),
    /// An Alert.
    Alert(crate::create_notification::AlertArgs),
    /// A Provider of alerts.
    AlertProvider(crate::create_notification::ProviderArgs),
    /// A Receiver of webhooks.
    Receiver(crate::create_notification::ReceiverArgs),
    /// A Secret with credentials for a source.
    Secret(crate::create_secret::SecretArgs),
    /// A tenant: namespaces, a service account and its role bindings.
    Tenant(crate::create_tenant::TenantArgs),
}

/// A Go duration as a flag takes it, kept in Go's canonical form (`1m0s`).
#[derive(Debug, Clone)]
pub struct GoDuration(pub std::time::Duration);

impl GoDuration {
    /// `1m0s`, as Flux writes durations into objects.
    pub fn go(&self) -> String {
        ferroflux_api::duration::Duration::from_std(self.0).to_string()
    }
}

/// Parses a Go duration flag (`30s`, `1m30s`, `1h`).
pub fn parse_duration(text: &str) -> Result<GoDuration, String> {
    let d: ferroflux_api::duration::Duration = text
        .parse()
        .map_err(|e| format!("invalid duration {text:?}: {e}"))?;
    Ok(GoDuration(d.as_std()))
}

/// An object generated from flags, and how Flux speaks of it.
pub struct Generated {
    /// Its kind.
    pub kind: FluxKind,
    /// How messages name it (`GitRepository source`, `Kustomization`).
    pub noun: &'static str,
    /// The object.
    pub object: Value,
}

/// What a kind's flags produced: the spec, to go under the common metadata.
pub struct Draft {
    /// The kind.
    pub kind: FluxKind,
    /// How messages name it.
    pub noun: &'static str,
    /// The spec.
    pub spec: Value,
}

/// Runs `create`.
pub async fn run(args: &CreateArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let labels = parse_labels(&args.common.label)?;
    let (name, draft) = match &args.what {
        CreateWhat::Secret(a) => {
            return a.run(&args.connect, &labels, args.common.export, out).await;
        }
        CreateWhat::Tenant(a) => {
            return a.run(&args.connect, &labels, args.common.export, out).await;
        }
        CreateWhat::Source(a) => a.draft(&args.common)?,
        CreateWhat::Kustomization(a) => (a.name.clone(), a.draft(&args.common)?),
        CreateWhat::Helmrelease(a) => (a.name.clone(), a.draft(&args.common)?),
        CreateWhat::Alert(a) => (a.name.clone(), a.draft()?),
        CreateWhat::AlertProvider(a) => (a.name.clone(), a.draft()?),
        CreateWhat::Receiver(a) => (a.name.clone(), a.draft()?),
    };
    if args.common.export {
        let namespace = offline_namespace(&args.connect);
        let generated = generate(&name, &namespace, &labels, draft);
        let _ = out.write_all(export_yaml(&generated.object).as_bytes());
        return Ok(());
    }
    let cluster = args.connect.connect().await?;
    let generated = generate(&name, &cluster.namespace, &labels, draft);
    apply_and_wait(&cluster, &generated).await
}

fn generate(name: &str, namespace: &str, labels: &Map<String, Value>, draft: Draft) -> Generated {
    let mut metadata = json!({"name": name, "namespace": namespace});
    if !labels.is_empty() {
        metadata["labels"] = Value::Object(labels.clone());
    }
    Generated {
        kind: draft.kind,
        noun: draft.noun,
        object: json!({
            "apiVersion": format!("{}/{}", draft.kind.group, draft.kind.version),
            "kind": draft.kind.kind,
            "metadata": metadata,
            "spec": draft.spec,
        }),
    }
}

/// The namespace `-n` (or the environment, or the kubeconfig context when
/// asked) names, without contacting a cluster: `--export` works offline.
pub fn offline_namespace(connect: &ConnectArgs) -> String {
    if let Some(ns) = &connect.namespace {
        return ns.clone();
    }
    if connect.ns_follows_kube_context {
        let config = match &connect.kubeconfig {
            Some(path) => Kubeconfig::read_from(path).ok(),
            None => Kubeconfig::read().ok(),
        };
        let context_ns = config.and_then(|c| {
            let name = connect.context.clone().or(c.current_context.clone())?;
            c.contexts
                .iter()
                .find(|x| x.name == name)?
                .context
                .as_ref()?
                .namespace
                .clone()
        });
        if let Some(ns) = context_ns {
            return ns;
        }
    }
    std::env::var("FLUX_SYSTEM_NAMESPACE")
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string())
}

/// The object as `flux create --export` prints it: a `---` line, then the
/// YAML with keys in alphabetical order.
pub fn export_yaml(object: &Value) -> String {
    format!(
        "---\n{}",
        serde_yaml::to_string(&sorted(object)).unwrap_or_default()
    )
}

fn sorted(v: &Value) -> serde_yaml::Value {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let mut out = serde_yaml::Mapping::new();
            for k in keys {
                out.insert(serde_yaml::Value::String(k.clone()), sorted(&map[k]));
            }
            serde_yaml::Value::Mapping(out)
        }
        Value::Array(items) => serde_yaml::Value::Sequence(items.iter().map(sorted).collect()),
        other => serde_yaml::to_value(other).unwrap_or(serde_yaml::Value::Null),
    }
}

/// `--label key=value` as Kubernetes accepts labels.
fn parse_labels(labels: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut out = Map::new();
    for label in labels {
        let Some((key, value)) = label.split_once('=') else {
            anyhow::bail!("invalid label format '{label}', must be key=value");
        };
        if !valid_label_key(key) {
            anyhow::bail!("invalid label '{key}': not a qualified name");
        }
        let value_ok = value.len() <= 63
            && (value.is_empty()
                || (value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
                    && value.starts_with(|c: char| c.is_ascii_alphanumeric())
                    && value.ends_with(|c: char| c.is_ascii_alphanumeric())));
        if !value_ok {
            anyhow::bail!("invalid label value '{value}'");
        }
        out.insert(key.to_string(), value.into());
    }
    Ok(out)
}

fn valid_label_key(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    name_ok && prefix.is_none_or(|p| kinds::parse_name(p).is_ok())
}

/// A Flux object's name as `flux create` takes it: an RFC 1123 label.
pub fn parse_object_name(text: &str) -> Result<String, String> {
    kinds::parse_namespace(text).map_err(|_| {
        format!(
            "name '{text}' is invalid, it should adhere to standard defined in RFC 1123, \
             the name can only contain alphanumeric characters or '-'"
        )
    })
}

/// A reference `[Kind/]name[.namespace]`, kind matched in any case against
/// `allowed` (`default` when absent, if any).
pub fn parse_ref(
    flag: &str,
    text: &str,
    default: Option<&str>,
    allowed: &[&str],
) -> anyhow::Result<(String, String, Option<String>)> {
    let (kind, rest) = match text.split_once('/') {
        Some((k, r)) => (k, r),
        None => match default {
            Some(d) => (d, text),
            None => anyhow::bail!(
                "invalid {flag} '{text}': must be in the format '<kind>/<name>[.<namespace>]'"
            ),
        },
    };
    let Some(kind) = allowed.iter().find(|a| a.eq_ignore_ascii_case(kind)) else {
        anyhow::bail!(
            "invalid {flag} '{text}': kind '{kind}' is not supported, must be one of: {}",
            allowed.join(", ")
        );
    };
    let (name, ns) = match rest.split_once('.') {
        Some((n, ns)) => (n, Some(ns)),
        None => (rest, None),
    };
    kinds::parse_namespace(name)
        .map_err(|_| anyhow::anyhow!("invalid {flag} '{text}': '{name}' is not a valid name"))?;
    if let Some(ns) = ns {
        kinds::parse_namespace(ns).map_err(|_| {
            anyhow::anyhow!("invalid {flag} '{text}': '{ns}' is not a valid namespace")
        })?;
    }
    Ok((kind.to_string(), name.to_string(), ns.map(str::to_string)))
}

/// `name` or `namespace/name`, as `--depends-on` takes them.
pub fn parse_depends_on(items: &[String]) -> anyhow::Result<Vec<Value>> {
    items
        .iter()
        .map(|d| {
            let (ns, name) = match d.split_once('/') {
                Some((ns, n)) => (Some(ns), n),
                None => (None, d.as_str()),
            };
            kinds::parse_namespace(name).map_err(|_| {
                anyhow::anyhow!("invalid --depends-on '{d}': '{name}' is not a valid name")
            })?;
            let mut r = json!({"name": name});
            if let Some(ns) = ns {
                kinds::parse_namespace(ns).map_err(|_| {
                    anyhow::anyhow!("invalid --depends-on '{d}': '{ns}' is not a valid namespace")
                })?;
                r["namespace"] = ns.into();
            }
            Ok(r)
        })
        .collect()
}

/// Inserts `value` at `key` unless it is empty (as Flux's `omitempty`).
pub fn set(spec: &mut Value, key: &str, value: impl Into<Value>) {
    let value = value.into();
    let empty = match &value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(_) => false,
    };
    if !empty {
        spec[key] = value;
    }
}

/// `{"name": name}` for a non-empty `name`.
pub fn local_ref(name: &Option<String>) -> Value {
    match name {
        Some(n) if !n.is_empty() => json!({"name": n}),
        _ => Value::Null,
    }
}

/// Applies the object server-side, then waits until its controller has
/// reconciled this generation, printing Flux's progress lines.
async fn apply_and_wait(cluster: &crate::connect::Cluster, g: &Generated) -> anyhow::Result<()> {
    let log = Log::default();
    let deadline = Instant::now() + cluster.timeout;
    let kind = &g.kind;
    let name = g.object["metadata"]["name"].as_str().unwrap_or("");
    let ns = cluster.namespace.as_str();
    log.generate(&format!("generating {}", g.noun));
    log.action(&format!("applying {}", g.noun));
    let api = kind.api(&cluster.client, Some(ns));
    let existed = match api.get_opt(name).await {
        Ok(o) => o.is_some(),
        Err(kube::Error::Api(e)) if e.code == 404 => anyhow::bail!(
            "the server does not serve {}/{} {} (are Ferroflux's CRDs installed?)",
            kind.group,
            kind.version,
            kind.kind
        ),
        Err(e) => return Err(cluster.explain(e)),
    };
    let params = PatchParams::apply(FIELD_MANAGER).force();
    match api.patch(name, &params, &Patch::Apply(&g.object)).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) => {
            anyhow::bail!("{} {ns}/{name} was refused: {}", kind.kind, e.message)
        }
        Err(e) => return Err(cluster.explain(e)),
    }
    log.success(&format!(
        "{} {}",
        g.noun,
        if existed { "updated" } else { "created" }
    ));
    log.waiting(&format!("waiting for {} reconciliation", g.noun));
    let obj = reconcile::wait_for(
        cluster,
        kind,
        name,
        ns,
        deadline,
        "waiting for the reconciliation",
        reconcile::settled,
    )
    .await?;
    reconcile::outcome(kind, &obj)?;
    let status = &obj["status"];
    match kind.shape {
        Shape::Source => {
            log.success(&format!("{} reconciliation completed", g.noun));
            let revision = kinds::str_at(&status["artifact"]["revision"]);
            if revision.is_empty() {
                anyhow::bail!(
                    "{} reconciliation completed but no artifact was found",
                    g.noun
                );
            }
            log.success(&format!("fetched revision: {revision}"));
        }
        Shape::Kustomization | Shape::HelmRelease => {
            log.success(&format!("{} {name} is ready", kind.kind));
            log.success(&kind.success_message(&obj));
        }
        Shape::Receiver => {
            log.success(&format!("{} {name} is ready", kind.kind));
            log.success(&format!(
                "generated webhook URL {}",
                kinds::str_at(&status["webhookPath"])
            ));
        }
        Shape::Alert | Shape::Provider => log.success(&format!("{} {name} is ready", kind.kind)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_sorts_keys_and_starts_a_document() {
        let obj = json!({"spec": {"url": "u", "interval": "1m0s", "ref": {"branch": "main"}},
                         "kind": "GitRepository", "apiVersion": "source.toolkit.fluxcd.io/v1",
                         "metadata": {"namespace": "flux-system", "name": "podinfo"}});
        assert_eq!(
            export_yaml(&obj),
            "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  \
             name: podinfo\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  ref:\n    \
             branch: main\n  url: u\n"
        );
    }

    #[test]
    fn durations_are_written_as_go_writes_them() {
        assert_eq!(parse_duration("1m").unwrap().go(), "1m0s");
        assert_eq!(parse_duration("90s").unwrap().go(), "1m30s");
        assert_eq!(parse_duration("1h").unwrap().go(), "1h0m0s");
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn references_and_labels_are_checked() {
        let all = ["GitRepository", "OCIRepository", "Bucket"];
        assert_eq!(
            parse_ref("--source", "podinfo", Some("GitRepository"), &all).unwrap(),
            ("GitRepository".into(), "podinfo".into(), None)
        );
        assert_eq!(
            parse_ref("--source", "ocirepository/app.infra", None, &all).unwrap(),
            ("OCIRepository".into(), "app".into(), Some("infra".into()))
        );
        let e = parse_ref("--source", "HelmRepository/x", None, &all).unwrap_err();
        assert!(
            e.to_string()
                .contains("kind 'HelmRepository' is not supported"),
            "{e}"
        );
        assert!(parse_ref("--source", "GitRepository/../etc", None, &all).is_err());
        assert!(parse_ref("--source", "x", None, &all).is_err());
        assert!(parse_labels(&["a=b".into(), "example.com/team=ops".into()]).is_ok());
        for bad in ["nokey", "=v", "a=b c", "a=-x", "Bad Key=v"] {
            assert!(parse_labels(&[bad.into()]).is_err(), "{bad}");
        }
        let deps = parse_depends_on(&["a".into(), "ns/b".into()]).unwrap();
        assert_eq!(
            deps,
            vec![
                json!({"name": "a"}),
                json!({"name": "b", "namespace": "ns"})
            ]
        );
        assert!(parse_depends_on(&["a/b/c".into()]).is_err());
        assert!(parse_object_name("podinfo").is_ok());
        assert!(parse_object_name("Pod_info").is_err());
    }
}
