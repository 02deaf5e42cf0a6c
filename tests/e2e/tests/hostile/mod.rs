//! One test per attack class from Flux's security advisories and from our
//! own hardening work, against the real binaries: a regression in any of
//! them fails CI. Each module names the class it keeps closed.

mod archives;
mod credentials;
mod intervals;
mod kubeconfig;
mod kustomizations;
mod notification;
mod receivers;
mod repositories;
mod scratch;
mod tenancy;

use ferroflux_cli::stack::Component;
use serde_json::Value;

use crate::support::{E2e, Kind, ready, ready_condition};

/// Waits until `kind` `flux-system/name` has Ready=False for its current
/// generation; returns (reason, message).
pub async fn wait_failed(e2e: &E2e, kind: Kind, ns: &str, name: &str) -> (String, String) {
    e2e.wait(&format!("{kind:?} {ns}/{name} Ready=False"), || async {
        let o = e2e.get(kind, ns, name).await;
        match o.as_ref().and_then(|o| Some((o, ready_condition(o)?))) {
            Some((o, (status, reason, message)))
                if status == "False"
                    && o["status"]["observedGeneration"] == o["metadata"]["generation"] =>
            {
                Ok((reason, message))
            }
            _ => Err(format!("{:#}", o.unwrap_or_default()["status"])),
        }
    })
    .await
}

/// Waits until `kind` `ns/name` is Ready for its current generation.
pub async fn wait_ready(e2e: &E2e, kind: Kind, ns: &str, name: &str) -> Value {
    e2e.wait(&format!("{kind:?} {ns}/{name} Ready"), || async {
        match e2e.get(kind, ns, name).await {
            Some(o) if ready(&o) => Ok(o),
            other => Err(format!("{:#}", other.unwrap_or_default()["status"])),
        }
    })
    .await
}

/// A GitRepository `flux-system/name` following `main` of `url`.
pub fn git_repository(name: &str, url: &str) -> String {
    format!(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 1h\n  url: {url}\n  ref:\n    branch: main\n"
    )
}

/// A Kustomization `ns/name` of `path` in GitRepository `flux-system/source`,
/// with `extra` spec lines (indented two spaces) added.
pub fn kustomization(ns: &str, name: &str, source: &str, path: &str, extra: &str) -> String {
    format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: {ns}\nspec:\n  interval: 1h\n  path: {path}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: {source}\n    namespace: flux-system\n{extra}"
    )
}

/// Whether `c` still runs as process `pid` (the one seen before the test's
/// attack): neither exited (a zombie until the stack reaps it) nor replaced.
pub fn alive(e2e: &E2e, c: Component, pid: Option<u32>) -> bool {
    let Some(pid) = pid else { return false };
    if e2e.stack.pid(c) != Some(pid) {
        return false;
    }
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            let state = s.rsplit_once(") ")?.1.chars().next()?;
            Some(state != 'Z' && state != 'X')
        })
        .unwrap_or(false)
}
