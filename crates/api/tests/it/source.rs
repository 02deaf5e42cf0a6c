//! Tests of the `source.toolkit.fluxcd.io` types.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use ferroflux_api::crds;
use ferroflux_api::source::{v1, v1beta2};
use serde_json::{Value, json};

use crate::support::{fixture_files, read_fixture, rejection, roundtrip, seed_manifests};

const V1: &str = "source.toolkit.fluxcd.io/v1";
const V1BETA2: &str = "source.toolkit.fluxcd.io/v1beta2";

/// Every YAML document of a fixture file, with its `apiVersion` and `kind`.
fn documents(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|doc| {
            use serde::Deserialize;
            Value::deserialize(doc).expect("fixture is valid YAML")
        })
        .filter(|v| !v.is_null())
        .collect()
}

/// Round-trips one document into the type its `apiVersion`/`kind` names and
/// returns "apiVersion/kind".
fn roundtrip_document(doc: &Value) -> String {
    let api_version = doc["apiVersion"].as_str().unwrap_or_default();
    let kind = doc["kind"].as_str().unwrap_or_default();
    let yaml = serde_yaml::to_string(doc).unwrap();
    match (api_version, kind) {
        (V1, "GitRepository") => {
            roundtrip::<v1::GitRepository>(&yaml);
        }
        (V1, "HelmRepository") => {
            roundtrip::<v1::HelmRepository>(&yaml);
        }
        (V1, "HelmChart") => {
            roundtrip::<v1::HelmChart>(&yaml);
        }
        (V1, "Bucket") => {
            roundtrip::<v1::Bucket>(&yaml);
        }
        (V1, "OCIRepository") => {
            roundtrip::<v1::OCIRepository>(&yaml);
        }
        (V1BETA2, "GitRepository") => {
            roundtrip::<v1beta2::GitRepository>(&yaml);
        }
        other => panic!("no source type for {other:?}"),
    }
    format!("{api_version}/{kind}")
}

fn fixture_docs(name: &str) -> Vec<Value> {
    documents(&read_fixture(&format!("source/{name}")))
}

fn parse<T: serde::de::DeserializeOwned>(doc: &Value) -> T {
    serde_json::from_value(doc.clone()).unwrap_or_else(|e| panic!("does not parse: {e}\n{doc:#}"))
}

#[test]
fn every_fixture_round_trips_into_its_type() {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let files = fixture_files("source");
    assert!(
        files.len() >= 25,
        "expected the source fixtures, found {}",
        files.len()
    );
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let docs = documents(&text);
        assert!(!docs.is_empty(), "{} has no documents", file.display());
        for doc in &docs {
            let key = std::panic::catch_unwind(|| roundtrip_document(doc))
                .unwrap_or_else(|_| panic!("{} failed (see above)", file.display()));
            *seen.entry(key).or_default() += 1;
        }
    }
    let count = |k: &str| seen.get(k).copied().unwrap_or(0);
    assert!(
        count("source.toolkit.fluxcd.io/v1/GitRepository") >= 15,
        "{seen:?}"
    );
    assert!(
        count("source.toolkit.fluxcd.io/v1/HelmRepository") >= 8,
        "{seen:?}"
    );
    assert!(
        count("source.toolkit.fluxcd.io/v1/HelmChart") >= 9,
        "{seen:?}"
    );
    assert!(
        count("source.toolkit.fluxcd.io/v1/Bucket") >= 15,
        "{seen:?}"
    );
    assert!(
        count("source.toolkit.fluxcd.io/v1/OCIRepository") >= 15,
        "{seen:?}"
    );
    assert!(
        count("source.toolkit.fluxcd.io/v1beta2/GitRepository") >= 2,
        "{seen:?}"
    );
}

#[test]
fn seed_manifests_parse_as_v1beta2_git_repositories() {
    let dir = seed_manifests();
    let tenant: v1beta2::GitRepository = parse(
        &documents(
            &std::fs::read_to_string(dir.join("02-tenant-gitrepository-v1beta2.yaml")).unwrap(),
        )[0],
    );
    assert_eq!(
        tenant.spec.url,
        "https://github.com/proptechusa/tenant-alpha-infrastructure"
    );
    assert_eq!(tenant.spec.interval.as_std(), StdDuration::from_secs(60));
    assert_eq!(
        tenant.spec.reference.unwrap().branch.as_deref(),
        Some("main")
    );
    assert_eq!(tenant.metadata.namespace.as_deref(), Some("tenant-alpha"));

    let ssh: v1beta2::GitRepository = parse(
        &documents(
            &std::fs::read_to_string(dir.join("04-gitrepository-ssh-v1beta2.yaml")).unwrap(),
        )[0],
    );
    assert_eq!(
        ssh.spec.url,
        "ssh://git@github.com/proptechusa/secure-infrastructure"
    );
    assert_eq!(ssh.spec.secret_ref.unwrap().name, "git-ssh-credentials");
    // Defaults of the v1beta2 schema are applied.
    assert_eq!(ssh.spec.timeout.unwrap().as_str(), "60s");
    assert_eq!(
        ssh.spec.git_implementation,
        v1beta2::GitImplementation::GoGit
    );
}

#[test]
fn git_repository_reference_variants() {
    let docs = fixture_docs("gitrepository-refs.yaml");
    let refs: Vec<v1::GitRepositoryRef> = docs
        .iter()
        .map(|d| {
            parse::<v1::GitRepository>(d)
                .spec
                .reference
                .expect("ref is set")
        })
        .collect();
    assert_eq!(refs[0].tag.as_deref(), Some("v2.4.1"));
    assert_eq!(refs[1].semver.as_deref(), Some(">=2.0.0 <3.0.0"));
    assert_eq!(refs[2].name.as_deref(), Some("refs/merge-requests/17/head"));
    assert_eq!(
        refs[3].commit.as_deref(),
        Some("9f2c1a7e4b3d5c6e7f8091a2b3c4d5e6f7a8b9c0")
    );
    assert_eq!(refs[3].branch, None);
    assert_eq!(refs[4].branch.as_deref(), Some("release-2.4"));
    assert_eq!(
        refs[4].commit.as_deref(),
        Some("1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e")
    );
}

#[test]
fn git_repository_verification_include_and_auth() {
    let verify = fixture_docs("gitrepository-verify.yaml");
    let head = parse::<v1::GitRepository>(&verify[0])
        .spec
        .verification
        .unwrap();
    assert_eq!(head.mode(), v1::GitVerificationMode::Head);
    assert_eq!(head.secret_ref.name, "trusted-signers");
    let both = parse::<v1::GitRepository>(&verify[1])
        .spec
        .verification
        .unwrap()
        .mode();
    assert_eq!(both, v1::GitVerificationMode::TagAndHEAD);
    assert!(both.verify_head() && both.verify_tag());

    let include = parse::<v1::GitRepository>(&fixture_docs("gitrepository-include.yaml")[0]);
    let inc = &include.spec.include[0];
    assert_eq!(inc.git_repository_ref.name, "shared-config");
    assert_eq!(inc.from_path.as_deref(), Some("k8s/common"));
    assert_eq!(inc.to_path(), "vendor/common");

    let auth = fixture_docs("gitrepository-auth.yaml");
    let ssh = parse::<v1::GitRepository>(&auth[0]);
    assert_eq!(
        ssh.spec.timeout.as_ref().unwrap().as_std(),
        StdDuration::from_secs(90)
    );
    assert!(ssh.spec.recurse_submodules);
    assert_eq!(ssh.spec.provider(), v1::GitProvider::Generic);
    assert_eq!(
        parse::<v1::GitRepository>(&auth[1]).spec.provider,
        Some(v1::GitProvider::Github)
    );
    let azure = parse::<v1::GitRepository>(&auth[2]).spec;
    assert_eq!(azure.provider(), v1::GitProvider::Azure);
    assert_eq!(azure.service_account_name.as_deref(), Some("fleet-reader"));
    assert_eq!(azure.proxy_secret_ref.unwrap().name, "corporate-proxy");
}

#[test]
fn git_repository_status_fields() {
    let repo = parse::<v1::GitRepository>(&fixture_docs("gitrepository-status.yaml")[0]);
    let status = repo.status.expect("status");
    assert_eq!(status.observed_generation, Some(3));
    assert_eq!(status.conditions[0].type_, "Ready");
    assert_eq!(status.conditions[0].status, "True");
    let artifact = status.artifact.unwrap();
    assert_eq!(
        artifact.revision,
        "main@sha1:0c8d2e1f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d"
    );
    assert_eq!(artifact.size, Some(52731));
    assert_eq!(status.included_artifacts.len(), 1);
    assert_eq!(status.observed_ignore.as_deref(), Some("docs\ntests\n"));
    assert!(status.observed_recurse_submodules);
    assert_eq!(status.observed_include[1].to_path(), "backend");
    assert_eq!(status.observed_sparse_checkout, ["deploy"]);
    assert_eq!(
        status.source_verification_mode,
        Some(v1::GitVerificationMode::Head)
    );
    assert_eq!(
        status.last_handled_reconcile_at.as_deref(),
        Some("2024-05-02T10:11:00Z")
    );
}

#[test]
fn git_repository_v1beta2_fields() {
    let docs = fixture_docs("gitrepository-v1beta2.yaml");
    let repo = parse::<v1beta2::GitRepository>(&docs[0]);
    assert_eq!(
        repo.spec.git_implementation,
        v1beta2::GitImplementation::Libgit2
    );
    assert_eq!(
        repo.spec.timeout.as_ref().unwrap().as_std(),
        StdDuration::from_secs(120)
    );
    let verify = repo.spec.verification.as_ref().unwrap();
    assert_eq!(verify.mode, v1beta2::GitVerificationMode::Head);
    assert_eq!(verify.secret_ref.name, "legacy-pgp-keys");
    let acl = repo.spec.access_from.as_ref().unwrap();
    assert_eq!(
        acl.namespace_selectors[0]
            .match_labels
            .get("team")
            .map(String::as_str),
        Some("platform")
    );
    let status = repo.status.unwrap();
    assert!(
        status
            .content_config_checksum
            .unwrap()
            .starts_with("sha256:")
    );
    assert!(status.url.unwrap().ends_with("latest.tar.gz"));
}

#[test]
fn helm_repository_fields_and_accessors() {
    let https = fixture_docs("helmrepository-https.yaml");
    let plain = parse::<v1::HelmRepository>(&https[0]).spec;
    assert_eq!(plain.repository_type(), v1::HelmRepositoryType::Default);
    assert!(!plain.is_oci());
    assert_eq!(plain.interval(), StdDuration::from_secs(300));
    // Flux documents 60s when unset; the CRD carries no default, the accessor applies it.
    assert_eq!(plain.timeout, None);
    assert_eq!(plain.timeout(), StdDuration::from_secs(60));
    assert_eq!(plain.provider, v1::OCIProvider::Generic);
    let private = parse::<v1::HelmRepository>(&https[1]).spec;
    assert!(private.pass_credentials);
    assert_eq!(private.timeout(), StdDuration::from_secs(120));
    assert_eq!(private.secret_ref.unwrap().name, "chart-museum-login");
    assert_eq!(
        parse::<v1::HelmRepository>(&https[2])
            .spec
            .cert_secret_ref
            .unwrap()
            .name,
        "charts-client-tls"
    );

    let oci = fixture_docs("helmrepository-oci.yaml");
    let public = parse::<v1::HelmRepository>(&oci[0]).spec;
    assert!(public.is_oci());
    let ecr = parse::<v1::HelmRepository>(&oci[2]).spec;
    assert_eq!(ecr.provider, v1::OCIProvider::Aws);
    assert!(ecr.insecure);
    // OCI repositories need no interval; the accessor falls back to one minute.
    assert_eq!(ecr.interval, None);
    assert_eq!(ecr.interval(), StdDuration::from_secs(60));
    assert_eq!(ecr.access_from.unwrap().namespace_selectors.len(), 1);

    let status = parse::<v1::HelmRepository>(&fixture_docs("helmrepository-status.yaml")[0])
        .status
        .unwrap();
    assert!(
        status
            .artifact
            .unwrap()
            .path
            .starts_with("helmrepository/apps/charts/index-")
    );
    assert!(status.url.unwrap().ends_with("/index.yaml"));
}

#[test]
fn helm_chart_fields() {
    let repo = parse::<v1::HelmChart>(&fixture_docs("helmchart-helmrepository.yaml")[0]).spec;
    assert_eq!(repo.chart, "redis");
    assert_eq!(repo.version, "18.*");
    assert_eq!(
        repo.source_ref.kind,
        v1::HelmChartSourceKind::HelmRepository
    );
    assert_eq!(repo.reconcile_strategy, v1::ReconcileStrategy::ChartVersion);

    let packaged = fixture_docs("helmchart-git-bucket.yaml");
    let git = parse::<v1::HelmChart>(&packaged[0]).spec;
    assert_eq!(git.source_ref.kind, v1::HelmChartSourceKind::GitRepository);
    assert_eq!(git.source_ref.api_version.as_deref(), Some(V1));
    assert_eq!(git.reconcile_strategy, v1::ReconcileStrategy::Revision);
    assert_eq!(git.values_files.len(), 2);
    assert!(git.ignore_missing_values_files);
    let bucket = parse::<v1::HelmChart>(&packaged[1]).spec;
    assert_eq!(bucket.source_ref.kind.as_str(), "Bucket");

    let verify = fixture_docs("helmchart-verify.yaml");
    let keyed = parse::<v1::HelmChart>(&verify[0]).spec.verify.unwrap();
    assert_eq!(keyed.provider, v1::VerificationProvider::Cosign);
    assert_eq!(keyed.secret_ref.unwrap().name, "cosign-keys");
    let keyless = parse::<v1::HelmChart>(&verify[1]).spec.verify.unwrap();
    assert_eq!(
        keyless.match_oidc_identity[0].issuer,
        "^https://token.actions.githubusercontent.com$"
    );
    assert_eq!(
        keyless.match_oidc_identity[0].subject,
        "^https://github.com/example-org/webshop.*$"
    );
    let notation = parse::<v1::HelmChart>(&verify[2]).spec.verify.unwrap();
    assert_eq!(notation.provider, v1::VerificationProvider::Notation);

    let statuses = fixture_docs("helmchart-status.yaml");
    let pulled = parse::<v1::HelmChart>(&statuses[0]).status.unwrap();
    assert_eq!(pulled.observed_chart_name.as_deref(), Some("redis"));
    assert_eq!(pulled.artifact.unwrap().revision, "18.1.2");
    let built = parse::<v1::HelmChart>(&statuses[1]).status.unwrap();
    assert_eq!(
        built.observed_values_files,
        ["charts/webshop/values-production.yaml"]
    );
    assert_eq!(built.artifact.unwrap().revision, "3.2.0+0c8d2e1f3a4b");
}

#[test]
fn bucket_fields() {
    let generic = fixture_docs("bucket-generic.yaml");
    let minio = parse::<v1::Bucket>(&generic[0]).spec;
    assert_eq!(minio.provider, v1::BucketProvider::Generic);
    assert!(minio.insecure);
    assert_eq!(minio.bucket_name, "manifests");
    let tls = parse::<v1::Bucket>(&generic[2]).spec;
    assert_eq!(tls.prefix.as_deref(), Some("production/"));
    assert_eq!(tls.cert_secret_ref.unwrap().name, "s3-client-tls");
    assert_eq!(tls.proxy_secret_ref.unwrap().name, "egress-proxy");

    let aws = fixture_docs("bucket-aws.yaml");
    let s3 = parse::<v1::Bucket>(&aws[0]).spec;
    assert_eq!(s3.provider, v1::BucketProvider::Aws);
    assert_eq!(s3.region.as_deref(), Some("eu-central-1"));
    assert_eq!(s3.timeout.unwrap().as_std(), StdDuration::from_secs(30));
    assert_eq!(
        parse::<v1::Bucket>(&aws[2])
            .spec
            .service_account_name
            .as_deref(),
        Some("s3-reader")
    );

    assert_eq!(
        parse::<v1::Bucket>(&fixture_docs("bucket-azure.yaml")[0])
            .spec
            .provider,
        v1::BucketProvider::Azure
    );
    assert_eq!(
        parse::<v1::Bucket>(&fixture_docs("bucket-gcp.yaml")[2])
            .spec
            .provider,
        v1::BucketProvider::Gcp
    );

    let sts = parse::<v1::Bucket>(&fixture_docs("bucket-sts.yaml")[0])
        .spec
        .sts
        .unwrap();
    assert_eq!(sts.provider, v1::BucketSTSProvider::Ldap);
    assert_eq!(sts.endpoint, "https://sts.minio.example.org");
    assert_eq!(sts.secret_ref.unwrap().name, "ldap-login");
    assert_eq!(sts.cert_secret_ref.unwrap().name, "sts-ca");

    let status = parse::<v1::Bucket>(&fixture_docs("bucket-status.yaml")[0])
        .status
        .unwrap();
    assert_eq!(status.observed_ignore.as_deref(), Some("charts\n*.bak\n"));
    assert_eq!(status.artifact.unwrap().size, Some(20480));
}

#[test]
fn oci_repository_fields_and_accessors() {
    let refs = fixture_docs("ocirepository-refs.yaml");
    let tag = parse::<v1::OCIRepository>(&refs[0]).spec;
    assert_eq!(tag.tag(), "stable");
    let semver = parse::<v1::OCIRepository>(&refs[2]).spec.reference.unwrap();
    assert_eq!(semver.semver.as_deref(), Some(">= 2.0.x-0"));
    assert_eq!(semver.semver_filter.as_deref(), Some(".*-beta.*"));
    let digest = parse::<v1::OCIRepository>(&refs[3]).spec.reference.unwrap();
    assert_eq!(
        digest.digest.as_deref(),
        Some("sha256:3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b")
    );
    let untagged = parse::<v1::OCIRepository>(&refs[4]).spec;
    assert_eq!(untagged.reference, None);
    assert_eq!(
        untagged.tag(),
        "latest",
        "Flux pulls `latest` when no ref is given"
    );
    assert_eq!(untagged.layer_operation(), v1::OCILayerOperation::Extract);

    let layers = fixture_docs("ocirepository-layer-selector.yaml");
    let copy = parse::<v1::OCIRepository>(&layers[0]).spec;
    assert_eq!(copy.tag(), "3.2.0");
    assert_eq!(copy.layer_operation(), v1::OCILayerOperation::Copy);
    assert_eq!(
        copy.layer_selector.unwrap().media_type.as_deref(),
        Some("application/vnd.cncf.helm.chart.content.v1.tar+gzip")
    );
    assert_eq!(
        parse::<v1::OCIRepository>(&layers[1])
            .spec
            .layer_operation(),
        v1::OCILayerOperation::Extract
    );

    let verify = fixture_docs("ocirepository-verify.yaml");
    let private = parse::<v1::OCIRepository>(&verify[2]).spec.verify.unwrap();
    assert_eq!(
        private.trusted_root_secret_ref.unwrap().name,
        "private-sigstore-root"
    );
    assert_eq!(
        private.match_oidc_identity[0].subject,
        "^https://ci.example.org/.*$"
    );
    assert_eq!(
        parse::<v1::OCIRepository>(&verify[3])
            .spec
            .verify
            .unwrap()
            .provider,
        v1::VerificationProvider::Notation
    );

    let auth = fixture_docs("ocirepository-auth.yaml");
    assert_eq!(
        parse::<v1::OCIRepository>(&auth[1])
            .spec
            .service_account_name
            .as_deref(),
        Some("image-puller")
    );
    let gar = parse::<v1::OCIRepository>(&auth[2]).spec;
    assert_eq!(gar.provider, v1::OCIProvider::Gcp);
    assert!(gar.insecure);

    let status = parse::<v1::OCIRepository>(&fixture_docs("ocirepository-status.yaml")[0])
        .status
        .unwrap();
    let artifact = status.artifact.unwrap();
    assert_eq!(
        artifact
            .metadata
            .get("org.opencontainers.image.source")
            .map(String::as_str),
        Some("https://git.example.org/shop/webshop.git")
    );
    assert_eq!(
        status.observed_layer_selector.unwrap().operation,
        Some(v1::OCILayerOperation::Copy)
    );
}

// ---------------------------------------------------------------- defaults

fn crd_schema(kind: &str, version: &str) -> Value {
    let crd = crds::all()
        .expect("CRDs generate")
        .into_iter()
        .find(|c| c.spec.names.kind == kind && c.spec.group == "source.toolkit.fluxcd.io")
        .unwrap_or_else(|| panic!("no CRD for {kind}"));
    let v = crd
        .spec
        .versions
        .iter()
        .find(|v| v.name == version)
        .unwrap_or_else(|| panic!("{kind} has no version {version}"));
    serde_json::to_value(
        v.schema
            .as_ref()
            .unwrap()
            .open_api_v3_schema
            .as_ref()
            .unwrap(),
    )
    .unwrap()
}

/// The schema node at a dotted path (`spec.verify.mode`; `[]` steps into items).
fn node<'a>(schema: &'a Value, path: &str) -> &'a Value {
    let mut here = schema;
    for step in path.split('.') {
        here = if step == "[]" {
            &here["items"]
        } else {
            &here["properties"][step]
        };
        assert!(!here.is_null(), "schema has no {path} (stopped at {step})");
    }
    here
}

fn default_at<'a>(schema: &'a Value, path: &str) -> &'a Value {
    &node(schema, path)["default"]
}

#[test]
fn git_repository_defaults_match_the_schema() {
    let repo: v1::GitRepository = parse(&json!({
        "apiVersion": V1, "kind": "GitRepository", "metadata": {"name": "a"},
        "spec": {"url": "https://git.example.org/a", "interval": "1m", "verify": {"secretRef": {"name": "keys"}}}
    }));
    assert_eq!(repo.spec.timeout.as_ref().map(|t| t.as_str()), Some("60s"));
    assert_eq!(
        repo.spec.timeout.unwrap().as_std(),
        StdDuration::from_secs(60)
    );
    assert_eq!(
        repo.spec.verification.unwrap().mode,
        Some(v1::GitVerificationMode::Head)
    );
    assert_eq!(repo.spec.provider, None);
    let schema = crd_schema("GitRepository", "v1");
    assert_eq!(default_at(&schema, "spec.timeout"), &json!("60s"));
    assert_eq!(default_at(&schema, "spec.verify.mode"), &json!("HEAD"));
    assert!(
        default_at(&schema, "spec.provider").is_null(),
        "Flux sets no provider default"
    );

    let old: v1beta2::GitRepository = parse(&json!({
        "apiVersion": V1BETA2, "kind": "GitRepository", "metadata": {"name": "a"},
        "spec": {"url": "https://git.example.org/a", "interval": "1m"}
    }));
    assert_eq!(old.spec.timeout.unwrap().as_str(), "60s");
    assert_eq!(
        old.spec.git_implementation,
        v1beta2::GitImplementation::GoGit
    );
    let schema = crd_schema("GitRepository", "v1beta2");
    assert_eq!(default_at(&schema, "spec.timeout"), &json!("60s"));
    assert_eq!(
        default_at(&schema, "spec.gitImplementation"),
        &json!("go-git")
    );
}

#[test]
fn helm_repository_defaults_match_the_schema() {
    let repo: v1::HelmRepository = parse(&json!({
        "apiVersion": V1, "kind": "HelmRepository", "metadata": {"name": "a"},
        "spec": {"url": "https://charts.example.org"}
    }));
    assert_eq!(repo.spec.provider, v1::OCIProvider::Generic);
    assert_eq!(repo.spec.type_, None);
    assert_eq!(repo.spec.repository_type(), v1::HelmRepositoryType::Default);
    assert_eq!(repo.spec.timeout(), StdDuration::from_secs(60));
    assert_eq!(repo.spec.interval(), StdDuration::from_secs(60));
    let out = serde_json::to_value(&repo).unwrap();
    assert_eq!(out["spec"]["provider"], json!("generic"));
    let schema = crd_schema("HelmRepository", "v1");
    assert_eq!(default_at(&schema, "spec.provider"), &json!("generic"));
    // Like Flux: type, timeout and interval are defaulted by the controller, not the schema.
    for path in ["spec.type", "spec.timeout", "spec.interval"] {
        assert!(
            default_at(&schema, path).is_null(),
            "{path} has a schema default"
        );
    }
    assert_eq!(
        node(&schema, "spec.type")["enum"],
        json!(["default", "oci"])
    );
    assert_eq!(
        node(&schema, "spec.url")["pattern"],
        json!("^(http|https|oci)://.*$")
    );
    assert_eq!(node(&schema, "spec")["required"], json!(["url"]));
}

#[test]
fn helm_chart_defaults_match_the_schema() {
    let chart: v1::HelmChart = parse(&json!({
        "apiVersion": V1, "kind": "HelmChart", "metadata": {"name": "a"},
        "spec": {
            "chart": "redis", "interval": "5m",
            "sourceRef": {"kind": "HelmRepository", "name": "charts"},
            "verify": {"secretRef": {"name": "keys"}}
        }
    }));
    assert_eq!(chart.spec.version, "*");
    assert_eq!(
        chart.spec.reconcile_strategy,
        v1::ReconcileStrategy::ChartVersion
    );
    assert_eq!(
        chart.spec.verify.unwrap().provider,
        v1::VerificationProvider::Cosign
    );
    let schema = crd_schema("HelmChart", "v1");
    assert_eq!(default_at(&schema, "spec.version"), &json!("*"));
    assert_eq!(
        default_at(&schema, "spec.reconcileStrategy"),
        &json!("ChartVersion")
    );
    assert_eq!(
        default_at(&schema, "spec.verify.provider"),
        &json!("cosign")
    );
    assert_eq!(
        node(&schema, "spec.verify")["required"],
        json!(["provider"])
    );
    assert_eq!(
        node(&schema, "spec")["required"],
        json!(["chart", "interval", "sourceRef"])
    );
    assert_eq!(
        node(&schema, "spec.sourceRef.kind")["enum"],
        json!(["HelmRepository", "GitRepository", "Bucket"])
    );
    let rules = &node(&schema, "spec")["x-kubernetes-validations"];
    assert_eq!(
        rules[0]["rule"],
        json!("!has(self.verify) || self.sourceRef.kind == 'HelmRepository'")
    );
}

#[test]
fn bucket_defaults_match_the_schema() {
    let bucket: v1::Bucket = parse(&json!({
        "apiVersion": V1, "kind": "Bucket", "metadata": {"name": "a"},
        "spec": {"bucketName": "b", "endpoint": "minio:9000", "interval": "5m"}
    }));
    assert_eq!(bucket.spec.provider, v1::BucketProvider::Generic);
    assert_eq!(bucket.spec.timeout.unwrap().as_str(), "60s");
    let schema = crd_schema("Bucket", "v1");
    assert_eq!(default_at(&schema, "spec.provider"), &json!("generic"));
    assert_eq!(default_at(&schema, "spec.timeout"), &json!("60s"));
    assert_eq!(
        node(&schema, "spec.provider")["enum"],
        json!(["generic", "aws", "gcp", "azure"])
    );
    assert_eq!(
        node(&schema, "spec.sts.provider")["enum"],
        json!(["aws", "ldap"])
    );
    assert_eq!(
        node(&schema, "spec.sts.endpoint")["pattern"],
        json!("^(http|https)://.*$")
    );
    assert_eq!(
        node(&schema, "spec.timeout")["pattern"],
        json!("^([0-9]+(\\.[0-9]+)?(ms|s|m))+$")
    );
    assert_eq!(
        node(&schema, "spec.interval")["pattern"],
        json!("^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$")
    );
    let rules = node(&schema, "spec")["x-kubernetes-validations"]
        .as_array()
        .unwrap();
    assert_eq!(rules.len(), 7, "Flux's seven CEL rules on the Bucket spec");
    assert!(
        rules
            .iter()
            .any(|r| r["rule"] == json!("!has(self.secretRef) || !has(self.serviceAccountName)"))
    );
}

#[test]
fn oci_repository_defaults_match_the_schema() {
    let repo: v1::OCIRepository = parse(&json!({
        "apiVersion": V1, "kind": "OCIRepository", "metadata": {"name": "a"},
        "spec": {"url": "oci://registry.example.org/a", "interval": "5m", "verify": {}, "layerSelector": {}}
    }));
    assert_eq!(repo.spec.provider, v1::OCIProvider::Generic);
    assert_eq!(repo.spec.timeout.as_ref().unwrap().as_str(), "60s");
    assert_eq!(
        repo.spec.verify.as_ref().unwrap().provider,
        v1::VerificationProvider::Cosign
    );
    assert_eq!(repo.spec.layer_operation(), v1::OCILayerOperation::Extract);
    assert_eq!(repo.spec.tag(), "latest");
    let schema = crd_schema("OCIRepository", "v1");
    assert_eq!(default_at(&schema, "spec.provider"), &json!("generic"));
    assert_eq!(default_at(&schema, "spec.timeout"), &json!("60s"));
    assert_eq!(
        default_at(&schema, "spec.verify.provider"),
        &json!("cosign")
    );
    // The layer operation's default (extract) is applied by the controller, as in Flux.
    assert!(default_at(&schema, "spec.layerSelector.operation").is_null());
    assert_eq!(
        node(&schema, "spec.layerSelector.operation")["enum"],
        json!(["extract", "copy"])
    );
    assert_eq!(node(&schema, "spec.url")["pattern"], json!("^oci://.*$"));
}

#[test]
fn conditions_carry_the_kubernetes_validations() {
    for kind in [
        "GitRepository",
        "HelmRepository",
        "HelmChart",
        "Bucket",
        "OCIRepository",
    ] {
        let schema = crd_schema(kind, "v1");
        let condition = node(&schema, "status.conditions.[]");
        assert_eq!(
            condition["properties"]["status"]["enum"],
            json!(["True", "False", "Unknown"]),
            "{kind}"
        );
        assert_eq!(
            condition["properties"]["reason"]["minLength"],
            json!(1),
            "{kind}"
        );
        assert_eq!(
            condition["properties"]["message"]["maxLength"],
            json!(32768),
            "{kind}"
        );
        assert_eq!(
            condition["required"],
            json!(["lastTransitionTime", "message", "reason", "status", "type"]),
            "{kind}"
        );
        let artifact = node(&schema, "status.artifact");
        assert_eq!(
            artifact["required"],
            json!(["digest", "lastUpdateTime", "path", "revision", "url"]),
            "{kind}"
        );
    }
}

#[test]
fn v1beta2_git_repository_is_served_deprecated_and_not_stored() {
    let crd = crds::all()
        .unwrap()
        .into_iter()
        .find(|c| c.spec.names.kind == "GitRepository")
        .unwrap();
    let v = crd
        .spec
        .versions
        .iter()
        .find(|v| v.name == "v1beta2")
        .unwrap();
    assert!(v.served);
    assert!(!v.storage);
    assert_eq!(v.deprecated, Some(true));
    assert_eq!(
        v.deprecation_warning.as_deref(),
        Some("v1beta2 GitRepository is deprecated, upgrade to v1")
    );
    let schema = crd_schema("GitRepository", "v1beta2");
    assert_eq!(node(&schema, "spec.verify.mode")["enum"], json!(["head"]));
    assert_eq!(
        node(&schema, "spec.verify")["required"],
        json!(["mode", "secretRef"])
    );
    assert_eq!(
        node(&schema, "spec.gitImplementation")["enum"],
        json!(["go-git", "libgit2"])
    );
    for absent in [
        "provider",
        "sparseCheckout",
        "proxySecretRef",
        "serviceAccountName",
    ] {
        assert!(
            node(&schema, "spec")["properties"][absent].is_null(),
            "v1beta2 has no {absent}"
        );
    }
    assert!(node(&schema, "status")["properties"]["contentConfigChecksum"].is_object());
}

// ---------------------------------------------------------------- rejections

fn assert_names(message: &str, value: &str) {
    assert!(
        message.contains(value),
        "error does not name {value:?}: {message}"
    );
}

#[test]
fn bad_intervals_and_timeouts_are_rejected() {
    let msg = rejection::<v1::GitRepository>(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: a}\n\
         spec: {url: 'https://git.example.org/a', interval: 5x}\n",
    );
    assert_names(&msg, "5x");
    assert!(msg.contains("duration"), "{msg}");
    let msg = rejection::<v1::Bucket>(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: Bucket\nmetadata: {name: a}\n\
         spec: {bucketName: b, endpoint: e, interval: 1m, timeout: ten-seconds}\n",
    );
    assert_names(&msg, "ten-seconds");
    let msg = rejection::<v1::HelmChart>(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmChart\nmetadata: {name: a}\n\
         spec: {chart: c, interval: '', sourceRef: {kind: HelmRepository, name: r}}\n",
    );
    assert!(msg.contains("invalid duration"), "{msg}");
    let msg = rejection::<v1beta2::GitRepository>(
        "apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: GitRepository\nmetadata: {name: a}\n\
         spec: {url: 'https://git.example.org/a', interval: 1d}\n",
    );
    assert_names(&msg, "1d");
}

#[test]
fn unknown_enum_values_are_rejected() {
    let cases: Vec<(String, &str)> = vec![
        (
            rejection::<v1::Bucket>(
                "apiVersion: source.toolkit.fluxcd.io/v1\nkind: Bucket\nmetadata: {name: a}\n\
                 spec: {provider: gcs-typo, bucketName: b, endpoint: e, interval: 1m}\n",
            ),
            "gcs-typo",
        ),
        (
            rejection::<v1::HelmRepository>(
                "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {name: a}\n\
                 spec: {url: 'https://charts.example.org', type: svn}\n",
            ),
            "svn",
        ),
        (
            rejection::<v1::HelmRepository>(
                "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository\nmetadata: {name: a}\n\
                 spec: {url: 'oci://r.example.org/c', type: oci, provider: github}\n",
            ),
            "github",
        ),
        (
            rejection::<v1::HelmChart>(
                "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmChart\nmetadata: {name: a}\n\
                 spec: {chart: c, interval: 1m, sourceRef: {kind: OCIRepository, name: r}}\n",
            ),
            "OCIRepository",
        ),
        (
            rejection::<v1::HelmChart>(
                "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmChart\nmetadata: {name: a}\n\
                 spec: {chart: c, interval: 1m, reconcileStrategy: Always, sourceRef: {kind: GitRepository, name: r}}\n",
            ),
            "Always",
        ),
        (
            rejection::<v1::OCIRepository>(
                "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: a}\n\
                 spec: {url: 'oci://r.example.org/a', interval: 1m, layerSelector: {operation: unpack}}\n",
            ),
            "unpack",
        ),
        (
            rejection::<v1::OCIRepository>(
                "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: a}\n\
                 spec: {url: 'oci://r.example.org/a', interval: 1m, verify: {provider: gpg}}\n",
            ),
            "gpg",
        ),
        (
            rejection::<v1::Bucket>(
                "apiVersion: source.toolkit.fluxcd.io/v1\nkind: Bucket\nmetadata: {name: a}\n\
                 spec: {bucketName: b, endpoint: e, interval: 1m, sts: {provider: oidc, endpoint: 'https://sts'}}\n",
            ),
            "oidc",
        ),
        (
            rejection::<v1::GitRepository>(
                "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: a}\n\
                 spec: {url: 'https://git.example.org/a', interval: 1m, provider: gitlab}\n",
            ),
            "gitlab",
        ),
        (
            rejection::<v1::GitRepository>(
                "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: a}\n\
                 spec: {url: 'https://git.example.org/a', interval: 1m, verify: {mode: commit, secretRef: {name: k}}}\n",
            ),
            "commit",
        ),
        // v1beta2 knew only `head`.
        (
            rejection::<v1beta2::GitRepository>(
                "apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: GitRepository\nmetadata: {name: a}\n\
                 spec: {url: 'https://git.example.org/a', interval: 1m, verify: {mode: TagAndHEAD, secretRef: {name: k}}}\n",
            ),
            "TagAndHEAD",
        ),
        (
            rejection::<v1beta2::GitRepository>(
                "apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: GitRepository\nmetadata: {name: a}\n\
                 spec: {url: 'https://git.example.org/a', interval: 1m, gitImplementation: jgit}\n",
            ),
            "jgit",
        ),
    ];
    for (msg, value) in cases {
        assert_names(&msg, value);
        assert!(msg.contains("unknown variant"), "{msg}");
    }
}

#[test]
fn missing_required_fields_are_rejected() {
    let msg = rejection::<v1::Bucket>(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: Bucket\nmetadata: {name: a}\n\
         spec: {endpoint: e, interval: 1m}\n",
    );
    assert!(msg.contains("bucketName"), "{msg}");
    let msg = rejection::<v1::HelmChart>(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmChart\nmetadata: {name: a}\n\
         spec: {chart: c, interval: 1m}\n",
    );
    assert!(msg.contains("sourceRef"), "{msg}");
    let msg = rejection::<v1::OCIRepository>(
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata: {name: a}\n\
         spec: {interval: 1m}\n",
    );
    assert!(msg.contains("url"), "{msg}");
    let msg = rejection::<v1beta2::GitRepository>(
        "apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: GitRepository\nmetadata: {name: a}\n\
         spec: {url: 'https://git.example.org/a', interval: 1m, verify: {secretRef: {name: k}}}\n",
    );
    assert!(msg.contains("mode"), "{msg}");
}

#[test]
fn legacy_head_mode_is_still_accepted_in_v1() {
    let repo: v1::GitRepository = parse(&json!({
        "apiVersion": V1, "kind": "GitRepository", "metadata": {"name": "a"},
        "spec": {"url": "https://git.example.org/a", "interval": "1m",
                 "verify": {"mode": "head", "secretRef": {"name": "k"}}}
    }));
    let mode = repo.spec.verification.unwrap().mode();
    assert_eq!(mode, v1::GitVerificationMode::LegacyHead);
    assert!(mode.verify_head() && !mode.verify_tag());
    let schema = crd_schema("GitRepository", "v1");
    assert_eq!(
        node(&schema, "spec.verify.mode")["enum"],
        json!(["head", "HEAD", "Tag", "TagAndHEAD"])
    );
}
