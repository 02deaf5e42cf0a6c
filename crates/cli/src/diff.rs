//! `ferroflux diff kustomization NAME --path DIR`: what applying the local
//! tree would change, as `flux diff kustomization` shows it. The tree is
//! built as kustomize-controller builds it (`build kustomization`), each
//! object is applied to the cluster as a server-side dry-run with the
//! controller's field manager, and the result is compared with what is
//! live: created, drifted (a unified diff of the YAML), or deleted by
//! prune. Secret values are masked. Exit code 1 when anything differs.

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::PathBuf;

use kube::api::{Api, ApiResource, DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::Scope;
use serde_json::Value;

use crate::build_kustomization::{self, BuildKustomizationArgs};
use crate::connect::{Cluster, ConnectArgs};
use crate::kinds;
use crate::tree::ObjRef;

/// The field manager kustomize-controller applies with: the dry-run must
/// take ownership as the controller would, or fields it owns look changed.
const FIELD_MANAGER: &str = "kustomize-controller";

/// What Secret values are replaced with.
const MASK: &str = "*****";

/// Flags of `ferroflux diff kustomization`.
#[derive(clap::Args, Debug)]
pub struct DiffKustomizationArgs {
    /// The Kustomization's name.
    name: String,
    /// The local directory to build (stands for the Kustomization's `spec.path`).
    #[arg(long)]
    path: PathBuf,
    /// A file holding the Flux Kustomization (YAML) instead of the cluster's.
    #[arg(long)]
    kustomization_file: Option<PathBuf>,
    /// A Secret manifest holding decryption keys (`*.agekey`, `*.asc`). May be repeated.
    #[arg(long)]
    decryption_secret: Vec<PathBuf>,
    /// An age or armoured OpenPGP key file. May be repeated.
    #[arg(long)]
    decryption_key: Vec<PathBuf>,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// The verdict of `diff`.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing would change.
    Same,
    /// Something would.
    Changed,
}

/// One object's difference, named `Kind/namespace/name`.
#[derive(Debug)]
pub enum Change {
    /// Not on the cluster: would be created.
    Created(String),
    /// On the cluster and different: the unified diff of live and merged YAML.
    Drifted(String, String),
    /// On the cluster and no longer wanted: would be deleted.
    Deleted(String),
}

/// Runs `diff`, writing the differences to `out`.
pub async fn run(args: &DiffKustomizationArgs, out: &mut dyn Write) -> anyhow::Result<Verdict> {
    let build = BuildKustomizationArgs {
        name: args.name.clone(),
        path: args.path.clone(),
        kustomization_file: args.kustomization_file.clone(),
        dry_run: false,
        decryption_secret: args.decryption_secret.clone(),
        decryption_key: args.decryption_key.clone(),
        connect: args.connect.clone(),
    };
    let mut yaml = Vec::new();
    build_kustomization::run(&build, &mut yaml).await?;
    let objects = parse_documents(&yaml)?;
    let cluster = args.connect.connect().await?;
    let deadline = cluster.timeout;
    let changes = tokio::time::timeout(deadline, compare(&cluster, &args.name, objects))
        .await
        .map_err(|_| {
            anyhow::anyhow!("timed out after {deadline:?} comparing with the cluster")
        })??;
    write_changes(out, &changes)
}

/// Writes `changes` as `flux diff` shows them (unified diffs coloured only
/// when stdout is a terminal) and says whether there were any.
pub fn write_changes(out: &mut dyn Write, changes: &[Change]) -> anyhow::Result<Verdict> {
    let colour = crate::term::Style::stdout();
    for change in changes {
        match change {
            Change::Created(id) => writeln!(out, "{} {id} created", colour.action("►"))?,
            Change::Deleted(id) => writeln!(out, "{} {id} deleted", colour.action("►"))?,
            Change::Drifted(id, diff) => {
                writeln!(out, "{} {id} drifted", colour.action("►"))?;
                writeln!(out)?;
                out.write_all(colour.diff(diff).as_bytes())?;
                writeln!(out)?;
            }
        }
    }
    Ok(if changes.is_empty() {
        Verdict::Same
    } else {
        Verdict::Changed
    })
}

fn parse_documents(yaml: &[u8]) -> anyhow::Result<Vec<Value>> {
    let text = std::str::from_utf8(yaml)?;
    let mut docs = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let v: Value = serde::Deserialize::deserialize(doc)?;
        if v.is_object() {
            docs.push(v);
        }
    }
    Ok(docs)
}

/// Where a kind is served, asked once per kind.
struct Resolver<'a> {
    client: &'a kube::Client,
    cache: HashMap<(String, String), Option<(ApiResource, bool)>>,
}

impl Resolver<'_> {
    async fn resolve(&mut self, api_version: &str, kind: &str) -> Option<(ApiResource, bool)> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(v) = self.cache.get(&key) {
            return v.clone();
        }
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let found = kube::discovery::pinned_kind(self.client, &gvk)
            .await
            .ok()
            .map(|(ar, caps)| (ar, caps.scope == Scope::Namespaced));
        self.cache.insert(key, found.clone());
        found
    }
}

async fn compare(
    cluster: &Cluster,
    name: &str,
    objects: Vec<Value>,
) -> anyhow::Result<Vec<Change>> {
    let (mut changes, built) = dry_run(cluster, objects, FIELD_MANAGER).await?;
    // Prune: what the inventory holds and the tree no longer does.
    let ks = cluster.get_object(&kinds::KUSTOMIZATION, name).await?;
    if ks["spec"]["prune"] == true {
        for entry in ks["status"]["inventory"]["entries"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let Some(r) = ObjRef::parse_inventory_id(kinds::str_at(&entry["id"])) else {
                continue;
            };
            let key = (
                r.namespace.clone(),
                r.name.clone(),
                r.group_kind.group.clone(),
                r.group_kind.kind.clone(),
            );
            if !built.contains(&key) {
                changes.push(Change::Deleted(id(
                    &r.group_kind.kind,
                    &r.namespace,
                    &r.name,
                )));
            }
        }
    }
    Ok(changes)
}

/// `(namespace, name, group, kind)` of an object, the namespace as the
/// cluster scopes it.
pub type ObjectKey = (String, String, String, String);

/// Dry-runs each object with server-side apply as `field_manager` (forced,
/// as the controllers apply) and compares the result with what is live.
/// Returns the created and drifted objects, and the keys of all objects.
pub async fn dry_run(
    cluster: &Cluster,
    objects: Vec<Value>,
    field_manager: &str,
) -> anyhow::Result<(Vec<Change>, BTreeSet<ObjectKey>)> {
    let mut resolver = Resolver {
        client: &cluster.client,
        cache: HashMap::new(),
    };
    let mut changes = Vec::new();
    let mut built: BTreeSet<(String, String, String, String)> = BTreeSet::new();
    for obj in objects {
        let api_version = kinds::str_at(&obj["apiVersion"]).to_string();
        let kind = kinds::str_at(&obj["kind"]).to_string();
        let obj_name = kinds::str_at(&obj["metadata"]["name"]).to_string();
        let mut namespace = kinds::str_at(&obj["metadata"]["namespace"]).to_string();
        let group = api_version
            .split_once('/')
            .map(|(g, _)| g.to_string())
            .unwrap_or_default();
        let Some((ar, namespaced)) = resolver.resolve(&api_version, &kind).await else {
            // A kind the cluster does not serve yet (its CRD comes in the
            // same tree): it would be created.
            changes.push(Change::Created(id(&kind, &namespace, &obj_name)));
            built.insert((namespace, obj_name, group, kind));
            continue;
        };
        if !namespaced {
            namespace.clear();
        } else if namespace.is_empty() {
            namespace = "default".to_string();
        }
        built.insert((namespace.clone(), obj_name.clone(), group, kind.clone()));
        let api: Api<DynamicObject> = if namespaced {
            Api::namespaced_with(cluster.client.clone(), &namespace, &ar)
        } else {
            Api::all_with(cluster.client.clone(), &ar)
        };
        let live = api
            .get_opt(&obj_name)
            .await
            .map_err(|e| cluster.explain(e))?;
        let Some(live) = live else {
            changes.push(Change::Created(id(&kind, &namespace, &obj_name)));
            continue;
        };
        let params = PatchParams::apply(field_manager).force().dry_run();
        let merged = api
            .patch(&obj_name, &params, &Patch::Apply(&obj))
            .await
            .map_err(|e| match e {
                kube::Error::Api(e) => anyhow::anyhow!(
                    "{} dry-run failed: {}",
                    id(&kind, &namespace, &obj_name),
                    e.message
                ),
                e => cluster.explain(e),
            })?;
        let mut before = normalise(serde_json::to_value(live)?);
        let mut after = normalise(serde_json::to_value(merged)?);
        if kind == "Secret" && ar.group.is_empty() {
            mask_secrets(&mut before, &mut after);
        }
        if before != after {
            let diff = unified_diff(&before, &after)?;
            changes.push(Change::Drifted(id(&kind, &namespace, &obj_name), diff));
        }
    }
    Ok((changes, built))
}

/// `Kind/namespace/name`, or `Kind/name` for cluster-scoped objects.
pub fn id(kind: &str, namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        format!("{kind}/{name}")
    } else {
        format!("{kind}/{namespace}/{name}")
    }
}

/// The object without what the server owns (status, bookkeeping metadata).
fn normalise(mut v: Value) -> Value {
    if let Some(map) = v.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for k in [
                "managedFields",
                "resourceVersion",
                "generation",
                "uid",
                "creationTimestamp",
            ] {
                meta.remove(k);
            }
        }
    }
    v
}

/// Replaces Secret values with a mask; a value that changes gets a
/// different mask on each side, so the diff shows which key changed and
/// nothing of its value.
fn mask_secrets(before: &mut Value, after: &mut Value) {
    for field in ["data", "stringData"] {
        let old = before[field].as_object().cloned().unwrap_or_default();
        let new = after[field].as_object().cloned().unwrap_or_default();
        if let Some(map) = before.get_mut(field).and_then(Value::as_object_mut) {
            for (k, v) in map.iter_mut() {
                *v = Value::String(if new.get(k).is_some_and(|n| n != v) {
                    format!("{MASK} (before)")
                } else {
                    MASK.to_string()
                });
            }
        }
        if let Some(map) = after.get_mut(field).and_then(Value::as_object_mut) {
            for (k, v) in map.iter_mut() {
                *v = Value::String(if old.get(k).is_some_and(|o| o != v) {
                    format!("{MASK} (after)")
                } else {
                    MASK.to_string()
                });
            }
        }
    }
}

fn unified_diff(before: &Value, after: &Value) -> anyhow::Result<String> {
    let a = serde_yaml::to_string(before)?;
    let b = serde_yaml::to_string(after)?;
    Ok(similar::TextDiff::from_lines(&a, &b)
        .unified_diff()
        .context_radius(3)
        .header("live", "merged")
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_values_are_masked_and_changes_still_show() {
        let mut before = json!({"kind": "Secret", "data": {"a": "c2VjcmV0", "b": "c2FtZQ=="}});
        let mut after =
            json!({"kind": "Secret", "data": {"a": "bmV3", "b": "c2FtZQ==", "c": "eA=="}});
        mask_secrets(&mut before, &mut after);
        assert_eq!(before["data"], json!({"a": "***** (before)", "b": "*****"}));
        assert_eq!(
            after["data"],
            json!({"a": "***** (after)", "b": "*****", "c": "*****"})
        );
        let diff = unified_diff(&before, &after).unwrap();
        for secret in ["c2VjcmV0", "bmV3", "c2FtZQ", "eA=="] {
            assert!(!diff.contains(secret), "{diff}");
        }
        assert!(diff.contains("-  a: '***** (before)'"), "{diff}");
    }
}
