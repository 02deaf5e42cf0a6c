//! `ferroflux diff helmrelease NAME`: what helm-controller's next release
//! would change on the cluster. The release is rendered as `build
//! helmrelease` renders it, each object dry-run applied with
//! helm-controller's field manager through the same machinery as `diff
//! kustomization` ([`crate::diff::dry_run`]): created, drifted (a unified
//! diff of the YAML, Secret values masked), and deleted (in the release's
//! last revision, no longer in the chart, unless Helm keeps it). Exit code
//! 1 when anything differs.

use std::collections::BTreeSet;
use std::io::Write;

use crate::build_helmrelease::{self, BuildHelmReleaseArgs, Rendered};
use crate::diff::{self, Change, ObjectKey, Verdict};
use helm_controller::chart::RELEASE_FIELD_MANAGER;
use helm_controller::objects;

/// Flags of `ferroflux diff helmrelease` (those of `build helmrelease`).
pub type DiffHelmReleaseArgs = BuildHelmReleaseArgs;

/// Runs `diff helmrelease`, writing the differences to `out`.
pub async fn run(args: &DiffHelmReleaseArgs, out: &mut dyn Write) -> anyhow::Result<Verdict> {
    let cluster = args.connect.connect().await?;
    let changes = build_helmrelease::with_deadline(&cluster, async {
        let rendered = build_helmrelease::render_release(&cluster, args).await?;
        let wanted = rendered.objects.clone();
        let (mut changes, built) = diff::dry_run(&cluster, wanted, RELEASE_FIELD_MANAGER).await?;
        changes.extend(left_over(&rendered, &built));
        Ok(changes)
    })
    .await?;
    diff::write_changes(out, &changes)
}

/// What the last revision had and the new render lacks (Helm deletes it on
/// upgrade), except objects marked `helm.sh/resource-policy: keep`.
fn left_over(rendered: &Rendered, built: &BTreeSet<ObjectKey>) -> Vec<Change> {
    let Some(previous) = &rendered.previous else {
        return Vec::new();
    };
    let kept = objects::kept(previous);
    let mut out = Vec::new();
    for meta in objects::metas(previous) {
        if kept.iter().any(|k| k.same_object(&meta)) {
            continue;
        }
        let key = (
            meta.namespace.clone(),
            meta.name.clone(),
            meta.group.clone(),
            meta.kind.clone(),
        );
        if !built.contains(&key) {
            out.push(Change::Deleted(diff::id(
                &meta.kind,
                &meta.namespace,
                &meta.name,
            )));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn what_left_the_chart_is_deleted_unless_helm_keeps_it() {
        let hr = serde_json::from_value(json!({
            "apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease",
            "metadata": {"name": "web", "namespace": "apps"},
            "spec": {"interval": "1h", "chartRef": {"kind": "OCIRepository", "name": "web"}}
        }))
        .unwrap();
        let cm = |name: &str, keep: bool| {
            let mut o = json!({"apiVersion": "v1", "kind": "ConfigMap",
                               "metadata": {"name": name, "namespace": "apps"}});
            if keep {
                o["metadata"]["annotations"] = json!({"helm.sh/resource-policy": "keep"});
            }
            o
        };
        let rendered = Rendered {
            hr,
            release_name: "web".into(),
            release_namespace: "apps".into(),
            objects: vec![cm("still", false)],
            previous: Some(vec![
                cm("still", false),
                cm("gone", false),
                cm("kept", true),
                json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                       "metadata": {"name": "reader"}}),
            ]),
        };
        let built = BTreeSet::from([(
            "apps".to_string(),
            "still".to_string(),
            String::new(),
            "ConfigMap".to_string(),
        )]);
        let ids: Vec<String> = left_over(&rendered, &built)
            .into_iter()
            .map(|c| match c {
                Change::Deleted(id) => id,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(ids, ["ConfigMap/apps/gone", "ClusterRole/reader"]);
        let fresh = Rendered {
            previous: None,
            ..rendered
        };
        assert!(left_over(&fresh, &BTreeSet::new()).is_empty());
    }
}
