//! `ferroflux tree kustomization|helmrelease NAME`: what an object manages,
//! as a tree. A Kustomization's inventory, with the Kustomizations and
//! HelmReleases in it expanded; a HelmRelease's objects are those of the
//! manifest in its latest Helm release record.

use std::collections::HashMap;
use std::io::Write;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::core::GroupVersionKind;
use serde::Serialize;
use serde_json::Value;

use crate::connect::{Cluster, ConnectArgs};
use crate::get::{Output, print_document};
use crate::kinds::{self, FluxKind};

/// `ferroflux tree ...`.
#[derive(clap::Args, Debug)]
pub struct TreeArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// List Flux objects only.
    #[arg(long, global = true)]
    compact: bool,
    /// Print the tree as `json` or `yaml`.
    #[arg(short = 'o', long, global = true, value_enum)]
    output: Option<Output>,
    #[command(subcommand)]
    what: TreeWhat,
}

#[derive(clap::Subcommand, Debug)]
enum TreeWhat {
    /// The objects a Kustomization applied.
    #[command(aliases = ["ks", "kustomizations"])]
    Kustomization {
        /// The Kustomization's name.
        #[arg(value_parser = crate::kinds::parse_name)]
        name: String,
    },
    /// The objects a HelmRelease installed.
    #[command(aliases = ["hr", "helmreleases"])]
    Helmrelease {
        /// The HelmRelease's name.
        #[arg(value_parser = crate::kinds::parse_name)]
        name: String,
    },
}

/// An object's identity, serialised as flux's tree output names the fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjRef {
    /// Empty for cluster-scoped objects.
    #[serde(rename = "Namespace")]
    pub namespace: String,
    /// The name.
    #[serde(rename = "Name")]
    pub name: String,
    /// Group and kind.
    #[serde(rename = "GroupKind")]
    pub group_kind: GroupKind,
}

/// A group and a kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupKind {
    /// `apps`, "" for the core group.
    #[serde(rename = "Group")]
    pub group: String,
    /// `Deployment`.
    #[serde(rename = "Kind")]
    pub kind: String,
}

/// A node of the tree.
#[derive(Debug, Serialize)]
pub struct Node {
    /// The object.
    pub resource: ObjRef,
    /// What it manages.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<Node>,
}

impl ObjRef {
    /// Parses an inventory entry id, `<namespace>_<name>_<group>_<kind>`
    /// (a `:` in a name is written `__`).
    pub fn parse_inventory_id(id: &str) -> Option<ObjRef> {
        // Namespace first, kind and group from the end: the name between
        // them is the only field that may hold a (transcoded) colon.
        let (namespace, rest) = id.split_once('_')?;
        let (rest, kind) = rest.rsplit_once('_')?;
        let (name, group) = rest.rsplit_once('_')?;
        let name = name.replace("__", ":");
        if name.is_empty() || kind.is_empty() || name.contains('_') {
            return None;
        }
        Some(ObjRef {
            namespace: namespace.to_string(),
            name,
            group_kind: GroupKind {
                group: group.to_string(),
                kind: kind.to_string(),
            },
        })
    }

    fn text(&self) -> String {
        if self.namespace.is_empty() {
            format!("{}/{}", self.group_kind.kind, self.name)
        } else {
            format!("{}/{}/{}", self.group_kind.kind, self.namespace, self.name)
        }
    }

    fn is(&self, kind: &FluxKind) -> bool {
        self.group_kind.group == kind.group && self.group_kind.kind == kind.kind
    }
}

impl Node {
    fn new(resource: ObjRef) -> Self {
        Node {
            resource,
            resources: Vec::new(),
        }
    }

    /// The tree as text, with flux's box-drawing branches.
    pub fn print(&self) -> String {
        let mut out = self.resource.text();
        out.push('\n');
        print_items(&self.resources, &mut Vec::new(), &mut out);
        out
    }
}

fn print_items(items: &[Node], spaces: &mut Vec<bool>, out: &mut String) {
    for (i, item) in items.iter().enumerate() {
        let last = i + 1 == items.len();
        for &space in spaces.iter() {
            out.push_str(if space { "    " } else { "│   " });
        }
        out.push_str(if last { "└── " } else { "├── " });
        out.push_str(&item.resource.text());
        out.push('\n');
        if !item.resources.is_empty() {
            spaces.push(last);
            print_items(&item.resources, spaces, out);
            spaces.pop();
        }
    }
}

/// How deep nested Kustomizations are followed: a loop of Kustomizations
/// listing each other must not recurse forever.
const MAX_DEPTH: usize = 32;

/// Whether a group is one of Flux's (for `--compact`).
fn is_flux_group(group: &str) -> bool {
    group.contains("toolkit.fluxcd.io")
}

/// Walks the objects a cluster's Flux objects manage.
struct Walker<'a> {
    cluster: &'a Cluster,
    compact: bool,
    scopes: HashMap<(String, String), bool>,
}

impl Walker<'_> {
    async fn kustomization(
        &mut self,
        node: &mut Node,
        obj: &Value,
        depth: usize,
    ) -> anyhow::Result<()> {
        if depth > MAX_DEPTH {
            anyhow::bail!("Kustomizations nest deeper than {MAX_DEPTH} levels");
        }
        let own = &node.resource.clone();
        // A Kustomization applied to another cluster lists objects that
        // are not in this one.
        let remote = obj["spec"]["kubeConfig"].is_object();
        let entries = obj["status"]["inventory"]["entries"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for entry in entries {
            let id = kinds::str_at(&entry["id"]);
            let Some(r) = ObjRef::parse_inventory_id(id) else {
                anyhow::bail!("unreadable inventory entry {id:?} in {}", own.text());
            };
            if self.compact && !is_flux_group(&r.group_kind.group) {
                continue;
            }
            if &r == own {
                continue;
            }
            let mut child = Node::new(r.clone());
            if !remote && r.is(&kinds::KUSTOMIZATION) {
                let nested = self
                    .cluster
                    .get_object_in(&kinds::KUSTOMIZATION, &r.name, &r.namespace)
                    .await?;
                Box::pin(self.kustomization(&mut child, &nested, depth + 1)).await?;
            } else if !remote && r.is(&kinds::HELM_RELEASE) {
                let hr = self
                    .cluster
                    .get_object_in(&kinds::HELM_RELEASE, &r.name, &r.namespace)
                    .await?;
                self.helm_release(&mut child, &hr).await?;
            }
            node.resources.push(child);
        }
        Ok(())
    }

    async fn helm_release(&mut self, node: &mut Node, hr: &Value) -> anyhow::Result<()> {
        if hr["spec"]["kubeConfig"].is_object() {
            return Ok(());
        }
        let storage_ns = kinds::str_at(&hr["status"]["storageNamespace"]);
        let Some(latest) = hr["status"]["history"].get(0) else {
            return Ok(());
        };
        if storage_ns.is_empty() {
            return Ok(());
        }
        let release_ns = kinds::str_at(&latest["namespace"]).to_string();
        let secret_name = format!(
            "sh.helm.release.v1.{}.v{}",
            kinds::str_at(&latest["name"]),
            latest["version"]
        );
        let secrets: Api<Secret> = Api::namespaced(self.cluster.client.clone(), storage_ns);
        let Some(secret) = secrets
            .get_opt(&secret_name)
            .await
            .map_err(|e| self.cluster.explain(e))?
        else {
            // No record (yet): nothing installed to show.
            return Ok(());
        };
        let what = || format!("the Helm storage object {storage_ns}/{secret_name}");
        let data = secret
            .data
            .as_ref()
            .and_then(|d| d.get("release"))
            .ok_or_else(|| anyhow::anyhow!("{} has no release data", what()))?;
        let text = std::str::from_utf8(&data.0)
            .map_err(|_| anyhow::anyhow!("{} is not Helm's encoding", what()))?;
        let release = ferroflux_helm::release::codec::decode(text, Default::default())
            .map_err(|e| anyhow::anyhow!("decoding {}: {e}", what()))?;
        for doc in serde_yaml::Deserializer::from_str(&release.manifest) {
            let Ok(v) = Value::deserialize_from(doc) else {
                anyhow::bail!("{}: its manifest is not YAML", what());
            };
            let kind = kinds::str_at(&v["kind"]);
            let name = kinds::str_at(&v["metadata"]["name"]);
            if kind.is_empty() || name.is_empty() {
                continue;
            }
            let api_version = kinds::str_at(&v["apiVersion"]);
            let (group, version) = match api_version.split_once('/') {
                Some((g, v)) => (g, v),
                None => ("", api_version),
            };
            if self.compact && !is_flux_group(group) {
                continue;
            }
            let mut namespace = kinds::str_at(&v["metadata"]["namespace"]).to_string();
            if namespace.is_empty() && self.namespaced(group, version, kind).await {
                namespace = release_ns.clone();
            }
            node.resources.push(Node::new(ObjRef {
                namespace,
                name: name.to_string(),
                group_kind: GroupKind {
                    group: group.to_string(),
                    kind: kind.to_string(),
                },
            }));
        }
        Ok(())
    }

    /// Whether the API server serves the kind namespaced (asked once per kind;
    /// an unknown kind counts as namespaced, as most are).
    async fn namespaced(&mut self, group: &str, version: &str, kind: &str) -> bool {
        let key = (group.to_string(), kind.to_string());
        if let Some(v) = self.scopes.get(&key) {
            return *v;
        }
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let namespaced = match kube::discovery::pinned_kind(&self.cluster.client, &gvk).await {
            Ok((_, caps)) => caps.scope == kube::discovery::Scope::Namespaced,
            Err(_) => true,
        };
        self.scopes.insert(key, namespaced);
        namespaced
    }
}

trait FromDeserializer: Sized {
    fn deserialize_from(d: serde_yaml::Deserializer<'_>) -> Result<Self, serde_yaml::Error>;
}

impl FromDeserializer for Value {
    fn deserialize_from(d: serde_yaml::Deserializer<'_>) -> Result<Self, serde_yaml::Error> {
        serde::Deserialize::deserialize(d)
    }
}

/// Runs `tree`.
pub async fn run(args: &TreeArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let cluster = args.connect.connect().await?;
    let (kind, name) = match &args.what {
        TreeWhat::Kustomization { name } => (kinds::KUSTOMIZATION, name),
        TreeWhat::Helmrelease { name } => (kinds::HELM_RELEASE, name),
    };
    let obj = tokio::time::timeout(cluster.timeout, cluster.get_object(&kind, name))
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "timed out after {:?} reading {}",
                cluster.timeout,
                kind.kind
            )
        })??;
    let mut root = Node::new(ObjRef {
        namespace: cluster.namespace.clone(),
        name: name.clone(),
        group_kind: GroupKind {
            group: kind.group.to_string(),
            kind: kind.kind.to_string(),
        },
    });
    let mut walker = Walker {
        cluster: &cluster,
        compact: args.compact,
        scopes: HashMap::new(),
    };
    let walk = async {
        if kind.kind == kinds::HELM_RELEASE.kind {
            walker.helm_release(&mut root, &obj).await
        } else {
            walker.kustomization(&mut root, &obj, 0).await
        }
    };
    tokio::time::timeout(cluster.timeout, walk)
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "timed out after {:?} reading the inventory",
                cluster.timeout
            )
        })??;
    match args.output {
        Some(format) => print_document(out, &serde_json::to_value(&root)?, format)?,
        None => out.write_all(root.print().as_bytes())?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventory_ids_parse_with_colons_and_core_groups() {
        let r = ObjRef::parse_inventory_id("apps_podinfo_apps_Deployment").unwrap();
        assert_eq!(r.text(), "Deployment/apps/podinfo");
        let r = ObjRef::parse_inventory_id(
            "_system__auth-delegator_rbac.authorization.k8s.io_ClusterRoleBinding",
        )
        .unwrap();
        assert_eq!(r.name, "system:auth-delegator");
        assert_eq!(r.text(), "ClusterRoleBinding/system:auth-delegator");
        let r = ObjRef::parse_inventory_id("default_cfg__ConfigMap").unwrap();
        assert_eq!((r.name.as_str(), r.group_kind.group.as_str()), ("cfg", ""));
        assert_eq!(r.text(), "ConfigMap/default/cfg");
        assert!(ObjRef::parse_inventory_id("not-an-id").is_none());
        assert!(ObjRef::parse_inventory_id("a_b_c_d_e").is_none());
    }

    #[test]
    fn trees_print_with_box_drawing() {
        let r = |ns: &str, n: &str, k: &str| ObjRef {
            namespace: ns.into(),
            name: n.into(),
            group_kind: GroupKind {
                group: String::new(),
                kind: k.into(),
            },
        };
        let mut root = Node::new(r("flux-system", "root", "Kustomization"));
        let mut apps = Node::new(r("flux-system", "apps", "Kustomization"));
        apps.resources.push(Node::new(r("apps", "web", "Service")));
        apps.resources
            .push(Node::new(r("apps", "cfg", "ConfigMap")));
        root.resources.push(Node::new(r("", "apps", "Namespace")));
        root.resources.push(apps);
        root.resources.push(Node::new(r("apps", "last", "Secret")));
        assert_eq!(
            root.print(),
            "Kustomization/flux-system/root\n\
             ├── Namespace/apps\n\
             ├── Kustomization/flux-system/apps\n\
             │   ├── Service/apps/web\n\
             │   └── ConfigMap/apps/cfg\n\
             └── Secret/apps/last\n"
        );
    }
}
