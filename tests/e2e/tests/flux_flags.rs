//! The controllers started with the command lines of Flux's own install
//! (`flux install` / the flux2 manifests) and of its multi-tenancy lockdown
//! patch (`--no-cross-namespace-refs=true`, `--no-remote-bases=true`,
//! `--default-service-account=default`), plus Flux flags Ferroflux accepts
//! without acting on them: every controller starts and becomes ready, says
//! at start-up which flags it ignores, and the lockdown holds.

use std::collections::BTreeMap;

use ferroflux_cli::stack::Component;

use crate::support::{E2e, Kind, ready_condition};

/// What Flux's install gives every controller, the flags that only have a
/// meaning inside a cluster (`--events-addr`, `--storage-*`) aside: the
/// stack sets those to its own ports.
const INSTALL: &[&str] = &[
    "--watch-all-namespaces=true",
    "--log-level=info",
    "--log-encoding=json",
    "--enable-leader-election",
];

fn args(extra: &[&str]) -> Vec<String> {
    INSTALL.iter().chain(extra).map(|s| s.to_string()).collect()
}

fn logs(e2e: &E2e, c: Component) -> String {
    std::fs::read_dir(e2e.stack.work_dir().join("logs"))
        .expect("the stack's logs")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(c.binary()))
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flux_install_and_lockdown_flags_are_accepted_and_hold() {
    let mut extra: BTreeMap<Component, Vec<String>> = BTreeMap::new();
    extra.insert(
        Component::SourceController,
        args(&[
            "--kube-api-qps=500",
            "--kube-api-burst=1000",
            "--feature-gates=CacheSecretsAndConfigMaps=true",
            "--artifact-retention-ttl=60s",
            "--artifact-digest-algo=sha256",
            "--helm-cache-max-size=10",
            "--helm-cache-ttl=60m",
            "--helm-cache-purge-interval=5m",
            "--requeue-dependency=5s",
            "--min-retry-delay=750ms",
            "--max-retry-delay=15m",
            "--interval-jitter-percentage=5",
        ]),
    );
    extra.insert(
        Component::KustomizeController,
        args(&[
            "--no-cross-namespace-refs=true",
            "--no-remote-bases=true",
            "--default-service-account=default",
            "--concurrent-ssa=4",
            "--http-retry=9",
            "--watch-configs-label-selector=reconcile.fluxcd.io/watch=Enabled",
            "--kube-api-qps=500",
        ]),
    );
    extra.insert(
        Component::NotificationController,
        args(&[
            "--no-cross-namespace-refs=true",
            "--concurrent=4",
            "--kube-api-burst=1000",
        ]),
    );
    extra.insert(
        Component::HelmController,
        args(&[
            "--no-cross-namespace-refs=true",
            "--default-service-account=default",
            "--concurrent=4",
            "--requeue-dependency=5s",
            "--graceful-shutdown-timeout=600s",
            "--http-retry=9",
            "--kube-api-qps=500",
            "--feature-gates=OOMWatch=true",
            "--oom-watch-memory-threshold=95",
            "--snapshot-digest-algo=sha256",
            "--override-manager=kubectl",
        ]),
    );
    let e2e = E2e::start_with(|mut o| {
        for (c, a) in &extra {
            o.extra_args.insert(*c, a.clone());
        }
        o
    })
    .await;

    // Each says which flags it accepts without acting on them.
    for (c, flag) in [
        (Component::SourceController, "--kube-api-qps=500"),
        (Component::SourceController, "--helm-cache-ttl=60m"),
        (Component::KustomizeController, "--no-remote-bases=true"),
        (Component::KustomizeController, "--concurrent-ssa=4"),
        (Component::NotificationController, "--concurrent=4"),
        (Component::HelmController, "--oom-watch-memory-threshold=95"),
        (
            Component::HelmController,
            "--graceful-shutdown-timeout=600s",
        ),
        (Component::HelmController, "--feature-gates=OOMWatch=true"),
    ] {
        let log = logs(&e2e, c);
        assert!(
            log.lines()
                .any(|l| l.contains("Flux flag accepted and ignored") && l.contains(flag)),
            "{} does not log {flag} as ignored:\n{log}",
            c.binary()
        );
    }

    // The lockdown: a tenant's Kustomization that points at a source in
    // flux-system is refused; one in its own namespace applies as the
    // namespace's `default` service account, which may not write here.
    let repo = e2e.repo("locked-down");
    repo.write(
        "deploy/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: locked\n  namespace: tenant\ndata:\n  a: b\n",
    )
    .expect("writing");
    repo.write(
        "remote/kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- https://github.com/stefanprodan/podinfo//kustomize?ref=master\n",
    )
    .expect("writing");
    let commit = repo.commit("tenant app").expect("commit");
    let url = e2e.git.url("locked-down");
    e2e.apply(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: tenant\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n  namespace: tenant\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: shared\n  namespace: flux-system\nspec:\n  interval: 10m\n  url: {url}\n  ref:\n    branch: main\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: own\n  namespace: tenant\nspec:\n  interval: 10m\n  url: {url}\n  ref:\n    branch: main\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: cross\n  namespace: tenant\nspec:\n  interval: 10m\n  path: ./deploy\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: shared\n    namespace: flux-system\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: own\n  namespace: tenant\nspec:\n  interval: 10m\n  path: ./deploy\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: own\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: remote\n  namespace: flux-system\nspec:\n  interval: 10m\n  path: ./remote\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: shared\n"
    ))
    .await;
    for (ns, name, expected) in [
        (
            "tenant",
            "cross",
            "cross-namespace references have been disabled",
        ),
        ("tenant", "own", "forbidden"),
        ("flux-system", "remote", "remote"),
    ] {
        e2e.wait(
            &format!("Kustomization {ns}/{name} refused ({expected})"),
            || async {
                let k = e2e
                    .get(Kind::Kustomization, ns, name)
                    .await
                    .unwrap_or_default();
                match ready_condition(&k) {
                    Some((status, _, message))
                        if status == "False" && message.to_lowercase().contains(expected) =>
                    {
                        Ok(())
                    }
                    other => Err(format!("{other:?}")),
                }
            },
        )
        .await;
    }
    e2e.wait_artifact("tenant", "own", &commit).await;
    assert!(
        e2e.get(Kind::ConfigMap, "tenant", "locked").await.is_none(),
        "the default service account applied the tenant's ConfigMap"
    );
}
