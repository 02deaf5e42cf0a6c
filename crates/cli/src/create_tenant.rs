//! `ferroflux create tenant`: what a tenant's Kustomizations and HelmReleases
//! run as: per namespace, the Namespace, a ServiceAccount and a RoleBinding
//! of it (and of Flux's `gotk:<namespace>:reconciler` user) to a ClusterRole,
//! all labelled `toolkit.fluxcd.io/tenant`, as `flux create tenant` makes them.

use std::io::Write;

use serde_json::{Map, Value, json};

use crate::connect::ConnectArgs;
use crate::create::{export_yaml, parse_object_name};
use crate::install::Applier;
use crate::kinds;
use crate::table::Log;

/// The label naming the tenant.
pub const TENANT_LABEL: &str = "toolkit.fluxcd.io/tenant";

/// `create tenant NAME ...`.
#[derive(clap::Args, Debug)]
pub struct TenantArgs {
    /// The tenant's name.
    #[arg(value_parser = parse_object_name)]
    name: String,
    /// A namespace of the tenant (several: comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    with_namespace: Vec<String>,
    /// The ClusterRole the tenant is bound to in its namespaces.
    #[arg(long, default_value = "cluster-admin")]
    cluster_role: String,
    /// The tenant's service account (default: the tenant's name).
    #[arg(long)]
    with_service_account: Option<String>,
    /// Do not create the namespaces (they must exist).
    #[arg(long)]
    skip_namespace: bool,
}

impl TenantArgs {
    /// The objects, namespace by namespace.
    fn objects(&self, labels: &Map<String, Value>) -> anyhow::Result<Vec<Value>> {
        if self.cluster_role.is_empty() {
            anyhow::bail!("cluster-role is required");
        }
        kinds::parse_name(&self.cluster_role).map_err(|_| {
            anyhow::anyhow!(
                "invalid --cluster-role '{}': not a valid name",
                self.cluster_role
            )
        })?;
        if self.with_namespace.is_empty() {
            anyhow::bail!("with-namespace is required");
        }
        let tenant = &self.name;
        let account = self.with_service_account.clone().unwrap_or(tenant.clone());
        kinds::parse_name(&account)
            .map_err(|_| anyhow::anyhow!("invalid service-account name '{account}'"))?;
        let mut labels = labels.clone();
        labels.insert(TENANT_LABEL.into(), tenant.clone().into());
        let mut out = Vec::new();
        for ns in &self.with_namespace {
            kinds::parse_namespace(ns).map_err(|_| anyhow::anyhow!("invalid namespace '{ns}'"))?;
            if !self.skip_namespace {
                out.push(json!({"apiVersion": "v1", "kind": "Namespace",
                                "metadata": {"name": ns, "labels": labels}}));
            }
            out.push(json!({"apiVersion": "v1", "kind": "ServiceAccount",
                            "metadata": {"name": account, "namespace": ns, "labels": labels}}));
            out.push(json!({
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": format!("{tenant}-reconciler"), "namespace": ns, "labels": labels},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                            "name": self.cluster_role},
                "subjects": [
                    {"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                     "name": format!("gotk:{ns}:reconciler")},
                    {"kind": "ServiceAccount", "name": account, "namespace": ns},
                ],
            }));
        }
        Ok(out)
    }

    /// Prints the objects (`export`) or applies them.
    pub async fn run(
        &self,
        connect: &ConnectArgs,
        labels: &Map<String, Value>,
        export: bool,
        out: &mut dyn Write,
    ) -> anyhow::Result<()> {
        let objects = self.objects(labels)?;
        if export {
            let text: String = objects.iter().map(export_yaml).collect();
            let _ = out.write_all(text.as_bytes());
            return Ok(());
        }
        let cluster = connect.connect().await?;
        let log = Log::default();
        let mut applier = Applier::new(&cluster, true);
        for obj in &objects {
            let what = match obj["kind"].as_str() {
                Some("Namespace") => "namespace",
                Some("ServiceAccount") => "service account",
                _ => "role binding",
            };
            log.action(&format!(
                "applying {what} {}",
                kinds::str_at(&obj["metadata"]["name"])
            ));
            applier.apply(obj).await?;
        }
        log.success("tenant setup completed");
        Ok(())
    }
}
