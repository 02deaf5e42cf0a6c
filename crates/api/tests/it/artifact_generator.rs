//! ArtifactGenerator (source-watcher's `source.extensions.fluxcd.io/v1beta1`)
//! and ExternalArtifact: the documented examples read and round-trip, and
//! what the schema forbids is refused.

use ferroflux_api::source::Source;
use ferroflux_api::source::v1::ExternalArtifact;
use ferroflux_api::source_extensions::v1beta1::{
    ArtifactGenerator, CopyStrategy, GeneratorSourceKind,
};

use crate::support::{rejection, roundtrip};

const COMPOSITE: &str = r#"
apiVersion: source.extensions.fluxcd.io/v1beta1
kind: ArtifactGenerator
metadata:
  name: podinfo
  namespace: apps
  annotations:
    source.extensions.fluxcd.io/reconcile: Disabled
spec:
  commonMetadata:
    labels:
      env: prod
  sources:
    - alias: chart
      kind: OCIRepository
      name: podinfo-chart
      namespace: apps
    - alias: repo
      kind: GitRepository
      name: podinfo-values
  artifacts:
    - name: podinfo-composite
      originRevision: "@chart"
      copy:
        - from: "@chart/"
          to: "@artifact/"
        - from: "@repo/charts/podinfo/values-prod.yaml"
          to: "@artifact/podinfo/values.yaml"
          strategy: Merge
        - from: "@repo/deploy/**"
          to: "@artifact/deploy/"
          exclude: ["*.md", "**/testdata/**"]
"#;

#[test]
fn documented_generator_round_trips() {
    let ag: ArtifactGenerator = roundtrip(COMPOSITE);
    assert_eq!(ag.spec.sources[0].kind, GeneratorSourceKind::OciRepository);
    assert_eq!(ag.spec.sources[1].namespace, None);
    let out = &ag.spec.artifacts[0];
    assert_eq!(out.origin_revision.as_deref(), Some("@chart"));
    assert_eq!(out.copy[0].strategy, None);
    assert_eq!(out.copy[1].strategy, Some(CopyStrategy::Merge));
    assert_eq!(out.copy[2].exclude, ["*.md", "**/testdata/**"]);
    // The annotation disables it, in any case.
    assert!(ag.is_disabled());
    use ferroflux_api::conditions::FluxObject;
    assert!(ag.suspended());
}

#[test]
fn unknown_kinds_and_strategies_are_refused() {
    let bad_kind = COMPOSITE.replace("kind: OCIRepository", "kind: HelmRepository");
    assert!(rejection::<ArtifactGenerator>(&bad_kind).contains("HelmRepository"));
    let bad_strategy = COMPOSITE.replace("strategy: Merge", "strategy: Append");
    assert!(rejection::<ArtifactGenerator>(&bad_strategy).contains("Append"));
}

#[test]
fn external_artifact_is_a_source() {
    let ea: ExternalArtifact = roundtrip(
        r#"
apiVersion: source.toolkit.fluxcd.io/v1
kind: ExternalArtifact
metadata:
  name: my-artifact
  namespace: flux-system
spec:
  sourceRef:
    apiVersion: example.com/v1
    kind: Source
    name: my-source
status:
  artifact:
    digest: sha256:35d47c9db0eee6ffe08a404dfb416bee31b2b79eabc3f2eb26749163ce487f52
    lastUpdateTime: "2025-08-21T13:37:31Z"
    path: source/flux-system/my-source/35d47c9d.tar.gz
    revision: v1.0.0@sha256:35d47c9db0eee6ffe08a404dfb416bee31b2b79eabc3f2eb26749163ce487f52
    size: 20914
    url: http://example-controller.flux-system.svc.cluster.local./source/flux-system/my-source/35d47c9d.tar.gz
  conditions:
    - lastTransitionTime: "2025-08-21T13:37:31Z"
      message: stored artifact for revision v1.0.0
      observedGeneration: 1
      reason: Succeeded
      status: "True"
      type: Ready
"#,
    );
    assert!(ea.is_ready());
    assert!(
        ea.revision()
            .is_some_and(|r| r.starts_with("v1.0.0@sha256:"))
    );
    assert_eq!(
        ea.spec.source_ref.as_ref().map(|r| r.kind.as_str()),
        Some("Source")
    );
}
