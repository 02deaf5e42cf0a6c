//! The install manifests as `ferroflux install` renders them: the repository's
//! `config/` (embedded at build time by `build.rs`, with the generated
//! `crds/`) built by our kustomize engine, then set up with the choices
//! `flux install` offers (namespace, components, images, controller flags,
//! tolerations, image pull secret, network policies).

use ferroflux_kustomize::{BuildOptions, LoadRestrictor, Reorder};
use serde_json::{Value, json};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/install_manifests.rs"));
}

/// The controllers Ferroflux ships, in install order.
pub const COMPONENTS: &[&str] = &[
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
];

/// Flux's optional components, which Ferroflux does not have.
const FLUX_EXTRA: &[&str] = &[
    "image-reflector-controller",
    "image-automation-controller",
    "source-watcher",
];

/// The namespace the manifests are written for.
const BASE_NAMESPACE: &str = "flux-system";

/// The image repository the manifests name.
const BASE_REGISTRY: &str = "ghcr.io/ferroflux";

/// Label every installed object carries, as Flux's `app.kubernetes.io/part-of: flux`.
pub const PART_OF_LABEL: &str = "app.kubernetes.io/part-of";
/// Its value.
pub const PART_OF: &str = "ferroflux";
/// Label naming the installation (its namespace).
pub const INSTANCE_LABEL: &str = "app.kubernetes.io/instance";

/// What to install and how.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// The namespace of the controllers.
    pub namespace: String,
    /// The controllers to install (names from [`COMPONENTS`]).
    pub components: Vec<String>,
    /// Flux's extra components asked for (refused: Ferroflux has none).
    pub components_extra: Vec<String>,
    /// Image repository prefix, e.g. `ghcr.io/ferroflux`.
    pub registry: String,
    /// Image tag; `None` keeps the manifests' tag.
    pub version: Option<String>,
    /// Install the network policies.
    pub network_policy: bool,
    /// Controllers watch every namespace (else only their own).
    pub watch_all_namespaces: bool,
    /// Controllers' `--log-level`.
    pub log_level: String,
    /// The cluster's DNS domain.
    pub cluster_domain: String,
    /// Taint keys the controllers' Pods tolerate.
    pub toleration_keys: Vec<String>,
    /// A Secret the Pods pull their images with.
    pub image_pull_secret: Option<String>,
    /// `user:password` for that Secret: it is generated (dockerconfigjson).
    pub registry_creds: Option<String>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            namespace: BASE_NAMESPACE.into(),
            components: COMPONENTS.iter().map(|c| c.to_string()).collect(),
            components_extra: Vec::new(),
            registry: BASE_REGISTRY.into(),
            version: None,
            network_policy: true,
            watch_all_namespaces: true,
            log_level: "info".into(),
            cluster_domain: "cluster.local".into(),
            toleration_keys: Vec::new(),
            image_pull_secret: None,
            registry_creds: None,
        }
    }
}

/// Why the manifests could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// A flag's value is not acceptable.
    #[error("invalid {flag} {value:?}: {why}")]
    Invalid {
        /// The flag.
        flag: &'static str,
        /// What was given.
        value: String,
        /// What is wrong with it.
        why: String,
    },
    /// The embedded manifests did not build (a bug of this binary).
    #[error("building the install manifests: {0}")]
    Build(String),
}

fn invalid(flag: &'static str, value: &str, why: impl Into<String>) -> RenderError {
    RenderError::Invalid {
        flag,
        value: value.to_string(),
        why: why.into(),
    }
}

/// Renders the manifests for `opts`, in apply order (namespace, CRDs, then
/// the rest as kustomize orders them).
pub fn render(opts: &RenderOptions) -> Result<Vec<Value>, RenderError> {
    validate(opts)?;
    let dir = tempfile::tempdir().map_err(|e| RenderError::Build(e.to_string()))?;
    for (rel, text) in embedded::FILES {
        let path = dir.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| RenderError::Build(e.to_string()))?;
        }
        std::fs::write(&path, text).map_err(|e| RenderError::Build(e.to_string()))?;
    }
    let mut resources = vec!["../config/namespace".to_string(), "../config/crd".into()];
    for c in COMPONENTS {
        if opts.components.iter().any(|x| x == c) {
            resources.push(format!("../config/{c}"));
        }
    }
    if opts.network_policy {
        resources.push("../config/policies".into());
    }
    let overlay = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": BASE_NAMESPACE,
        "resources": resources,
    });
    let overlay_dir = dir.path().join("install");
    std::fs::create_dir_all(&overlay_dir).map_err(|e| RenderError::Build(e.to_string()))?;
    let text = serde_yaml::to_string(&overlay).map_err(|e| RenderError::Build(e.to_string()))?;
    std::fs::write(overlay_dir.join("kustomization.yaml"), text)
        .map_err(|e| RenderError::Build(e.to_string()))?;
    let options = BuildOptions {
        reorder: Reorder::Legacy,
        load_restrictor: LoadRestrictor::None,
    };
    let mut docs = ferroflux_kustomize::build(dir.path(), &overlay_dir, &options)
        .map_err(|e| RenderError::Build(e.to_string()))?;
    for doc in &mut docs {
        customise(doc, opts);
    }
    if let (Some(secret), Some(creds)) = (&opts.image_pull_secret, &opts.registry_creds) {
        docs.insert(1, pull_secret(opts, secret, creds));
    }
    Ok(docs)
}

/// The install manifests as `---`-separated YAML, as `flux install --export` prints them.
pub fn to_yaml(docs: &[Value]) -> String {
    docs.iter()
        .map(|d| format!("---\n{}", serde_yaml::to_string(d).unwrap_or_default()))
        .collect()
}

fn validate(opts: &RenderOptions) -> Result<(), RenderError> {
    crate::kinds::parse_namespace(&opts.namespace)
        .map_err(|e| invalid("--namespace", &opts.namespace, e))?;
    if opts.components.is_empty() {
        return Err(invalid(
            "--components",
            "",
            "at least one component is needed",
        ));
    }
    for c in &opts.components {
        if !COMPONENTS.contains(&c.as_str()) {
            return Err(invalid(
                "--components",
                c,
                format!(
                    "not a Ferroflux component, expected one of {}",
                    COMPONENTS.join(", ")
                ),
            ));
        }
    }
    if let Some(c) = opts.components_extra.first() {
        let why = if FLUX_EXTRA.contains(&c.as_str()) {
            "Ferroflux has no such component (image automation is not part of it)"
        } else {
            "not a known component"
        };
        return Err(invalid("--components-extra", c, why));
    }
    let registry_ok = !opts.registry.is_empty()
        && opts.registry.len() <= 255
        && !opts.registry.ends_with('/')
        && opts
            .registry
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._:/".contains(&b));
    if !registry_ok {
        return Err(invalid(
            "--registry",
            &opts.registry,
            "expected an image repository prefix such as ghcr.io/ferroflux",
        ));
    }
    if let Some(v) = &opts.version {
        let ok = !v.is_empty()
            && v.len() <= 128
            && !v.starts_with(['.', '-'])
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
        if !ok {
            return Err(invalid("--version", v, "not a valid image tag"));
        }
    }
    if !matches!(opts.log_level.as_str(), "debug" | "info" | "error") {
        return Err(invalid(
            "--log-level",
            &opts.log_level,
            "expected debug, info or error",
        ));
    }
    let domain_ok = !opts.cluster_domain.is_empty()
        && opts.cluster_domain.len() <= 253
        && opts
            .cluster_domain
            .split('.')
            .all(|l| crate::kinds::parse_namespace(l).is_ok());
    if !domain_ok {
        return Err(invalid(
            "--cluster-domain",
            &opts.cluster_domain,
            "not a DNS domain",
        ));
    }
    for key in &opts.toleration_keys {
        let ok = !key.is_empty()
            && key.len() <= 317
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._/".contains(&b));
        if !ok {
            return Err(invalid("--toleration-keys", key, "not a valid taint key"));
        }
    }
    match (&opts.image_pull_secret, &opts.registry_creds) {
        (None, Some(_)) => {
            return Err(invalid(
                "--registry-creds",
                "<hidden>",
                "--registry-creds requires --image-pull-secret to be set",
            ));
        }
        (Some(name), creds) => {
            crate::kinds::parse_name(name).map_err(|e| invalid("--image-pull-secret", name, e))?;
            if let Some(c) = creds
                && c.split_once(':')
                    .is_none_or(|(u, p)| u.is_empty() || p.is_empty())
            {
                return Err(invalid(
                    "--registry-creds",
                    "<hidden>",
                    "expected 'user:password'",
                ));
            }
        }
        (None, None) => {}
    }
    Ok(())
}

/// Moves one object from the manifests' namespace, images and flags to the
/// chosen ones, and labels it as part of the installation.
fn customise(doc: &mut Value, opts: &RenderOptions) {
    let ns = opts.namespace.as_str();
    let kind = doc["kind"].as_str().unwrap_or("").to_string();
    if let Some(meta) = doc.get_mut("metadata").and_then(Value::as_object_mut) {
        if meta.get("namespace").and_then(Value::as_str) == Some(BASE_NAMESPACE) {
            meta.insert("namespace".into(), ns.into());
        }
        if kind == "Namespace" && meta.get("name").and_then(Value::as_str) == Some(BASE_NAMESPACE) {
            meta.insert("name".into(), ns.into());
        }
        let labels = meta
            .entry("labels")
            .or_insert_with(|| json!({}))
            .as_object_mut();
        if let Some(labels) = labels {
            labels.insert(PART_OF_LABEL.into(), PART_OF.into());
            labels.insert(INSTANCE_LABEL.into(), ns.into());
            if let Some(v) = &opts.version {
                labels.insert("app.kubernetes.io/version".into(), v.clone().into());
            }
        }
    }
    if kind == "RoleBinding" || kind == "ClusterRoleBinding" {
        for s in doc["subjects"].as_array_mut().into_iter().flatten() {
            if s["namespace"] == BASE_NAMESPACE {
                s["namespace"] = ns.into();
            }
        }
    }
    if kind == "Deployment" {
        customise_pod(&mut doc["spec"]["template"]["spec"], opts);
    }
}

fn customise_pod(pod: &mut Value, opts: &RenderOptions) {
    let events = opts
        .components
        .iter()
        .any(|c| c == "notification-controller")
        .then(|| {
            format!(
                "--events-addr=http://notification-controller.$(RUNTIME_NAMESPACE).svc.{}./",
                opts.cluster_domain
            )
        });
    for c in pod["containers"].as_array_mut().into_iter().flatten() {
        if let Some(image) = c["image"].as_str().map(str::to_string)
            && let Some(rest) = image.strip_prefix(&format!("{BASE_REGISTRY}/"))
        {
            let (repo, tag) = rest.split_once(':').unwrap_or((rest, "latest"));
            let tag = opts.version.as_deref().unwrap_or(tag);
            c["image"] = format!("{}/{repo}:{tag}", opts.registry).into();
        }
        let is_notification = c["image"]
            .as_str()
            .is_some_and(|i| i.contains("/notification-controller:"));
        let Some(args) = c["args"].as_array_mut() else {
            continue;
        };
        for a in args.iter_mut() {
            let Some(text) = a.as_str() else { continue };
            let new = if text == "--watch-all-namespaces"
                || text.starts_with("--watch-all-namespaces=")
            {
                format!("--watch-all-namespaces={}", opts.watch_all_namespaces)
            } else if text.starts_with("--log-level=") {
                format!("--log-level={}", opts.log_level)
            } else if text.contains(".svc.cluster.local.") {
                text.replace(
                    ".svc.cluster.local.",
                    &format!(".svc.{}.", opts.cluster_domain),
                )
            } else {
                continue;
            };
            *a = new.into();
        }
        if let Some(events) = &events
            && !is_notification
            && !args
                .iter()
                .any(|a| a.as_str().is_some_and(|t| t.starts_with("--events-addr")))
        {
            args.push(events.clone().into());
        }
    }
    if !opts.toleration_keys.is_empty() {
        pod["tolerations"] = opts
            .toleration_keys
            .iter()
            .map(|k| json!({"key": k, "operator": "Exists"}))
            .collect();
    }
    if let Some(secret) = &opts.image_pull_secret {
        pod["imagePullSecrets"] = json!([{"name": secret}]);
    }
}

/// The image pull Secret for `--registry-creds`.
fn pull_secret(opts: &RenderOptions, name: &str, creds: &str) -> Value {
    use base64::Engine as _;
    let (user, password) = creds.split_once(':').unwrap_or((creds, ""));
    let host = opts.registry.split('/').next().unwrap_or("");
    let b64 = base64::engine::general_purpose::STANDARD;
    let config = json!({"auths": {host: {
        "username": user,
        "password": password,
        "auth": b64.encode(format!("{user}:{password}")),
    }}});
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "kubernetes.io/dockerconfigjson",
        "metadata": {
            "name": name,
            "namespace": opts.namespace,
            "labels": {PART_OF_LABEL: PART_OF, INSTANCE_LABEL: opts.namespace},
        },
        "data": {".dockerconfigjson": b64.encode(config.to_string())},
    })
}

/// Whether an object of the manifests belongs to the cluster rather than a namespace.
pub fn is_cluster_scoped(doc: &Value) -> bool {
    doc["metadata"]["namespace"].is_null()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
        docs.iter()
            .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind}/{name}"))
    }

    #[test]
    fn defaults_render_the_whole_installation() {
        let docs = render(&RenderOptions::default()).unwrap();
        assert_eq!(docs[0]["kind"], "Namespace");
        let crds = docs
            .iter()
            .filter(|d| d["kind"] == "CustomResourceDefinition")
            .count();
        assert_eq!(crds, ferroflux_api::crds::all().unwrap().len());
        for c in COMPONENTS {
            let d = find(&docs, "Deployment", c);
            assert_eq!(d["metadata"]["labels"][PART_OF_LABEL], PART_OF);
            let container = &d["spec"]["template"]["spec"]["containers"][0];
            assert_eq!(container["image"], format!("ghcr.io/ferroflux/{c}:latest"));
            let args: Vec<&str> = container["args"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            assert!(args.contains(&"--watch-all-namespaces=true"), "{args:?}");
            if *c != "notification-controller" {
                assert!(
                    args.contains(
                        &"--events-addr=http://notification-controller.$(RUNTIME_NAMESPACE).svc.cluster.local./"
                    ),
                    "{args:?}"
                );
            }
        }
        assert!(docs.iter().any(|d| d["kind"] == "NetworkPolicy"));
        assert!(
            docs.iter()
                .all(|d| d["metadata"]["labels"][PART_OF_LABEL] == PART_OF)
        );
    }

    #[test]
    fn choices_move_namespace_images_flags_and_pieces() {
        let opts = RenderOptions {
            namespace: "gitops".into(),
            components: vec!["source-controller".into(), "kustomize-controller".into()],
            registry: "registry.example.com:5000/mirror".into(),
            version: Some("v1.2.3".into()),
            network_policy: false,
            watch_all_namespaces: false,
            log_level: "debug".into(),
            cluster_domain: "corp.internal".into(),
            toleration_keys: vec!["node.example.com/infra".into()],
            image_pull_secret: Some("pull".into()),
            registry_creds: Some("bot:s3cret".into()),
            ..Default::default()
        };
        let docs = render(&opts).unwrap();
        assert_eq!(
            find(&docs, "Namespace", "gitops")["metadata"]["labels"][INSTANCE_LABEL],
            "gitops"
        );
        assert!(
            !docs
                .iter()
                .any(|d| d["metadata"]["namespace"] == "flux-system")
        );
        assert!(!docs.iter().any(|d| d["kind"] == "NetworkPolicy"));
        assert!(
            !docs
                .iter()
                .any(|d| d["metadata"]["name"] == "helm-controller")
        );
        let d = find(&docs, "Deployment", "source-controller");
        let pod = &d["spec"]["template"]["spec"];
        assert_eq!(
            pod["containers"][0]["image"],
            "registry.example.com:5000/mirror/source-controller:v1.2.3"
        );
        let args = pod["containers"][0]["args"].as_array().unwrap();
        for want in [
            "--watch-all-namespaces=false",
            "--log-level=debug",
            "--storage-adv-addr=source-controller.$(RUNTIME_NAMESPACE).svc.corp.internal.",
        ] {
            assert!(args.contains(&want.into()), "{want} not in {args:?}");
        }
        // No notification-controller: nowhere to send events.
        assert!(
            !args
                .iter()
                .any(|a| a.as_str().unwrap().starts_with("--events-addr"))
        );
        assert_eq!(pod["tolerations"][0]["key"], "node.example.com/infra");
        assert_eq!(pod["imagePullSecrets"][0]["name"], "pull");
        let secret = find(&docs, "Secret", "pull");
        assert_eq!(secret["metadata"]["namespace"], "gitops");
        use base64::Engine as _;
        let config = base64::engine::general_purpose::STANDARD
            .decode(secret["data"][".dockerconfigjson"].as_str().unwrap())
            .unwrap();
        let config: Value = serde_json::from_slice(&config).unwrap();
        assert_eq!(
            config["auths"]["registry.example.com:5000"]["username"],
            "bot"
        );
        for b in docs.iter().filter(|d| d["kind"] == "ClusterRoleBinding") {
            for s in b["subjects"].as_array().unwrap() {
                assert_eq!(s["namespace"], "gitops", "{b}");
            }
        }
    }

    #[test]
    fn bad_choices_are_named() {
        let cases: Vec<(RenderOptions, &str)> = vec![
            (
                RenderOptions {
                    components_extra: vec!["image-reflector-controller".into()],
                    ..Default::default()
                },
                "invalid --components-extra \"image-reflector-controller\": Ferroflux has no such component",
            ),
            (
                RenderOptions {
                    components: vec!["tf-controller".into()],
                    ..Default::default()
                },
                "invalid --components \"tf-controller\": not a Ferroflux component",
            ),
            (
                RenderOptions {
                    log_level: "trace".into(),
                    ..Default::default()
                },
                "invalid --log-level \"trace\"",
            ),
            (
                RenderOptions {
                    version: Some("v1 ; rm".into()),
                    ..Default::default()
                },
                "invalid --version",
            ),
            (
                RenderOptions {
                    registry: "Registry With Spaces".into(),
                    ..Default::default()
                },
                "invalid --registry",
            ),
            (
                RenderOptions {
                    namespace: "../x".into(),
                    ..Default::default()
                },
                "invalid --namespace",
            ),
            (
                RenderOptions {
                    registry_creds: Some("a:b".into()),
                    ..Default::default()
                },
                "requires --image-pull-secret",
            ),
            (
                RenderOptions {
                    image_pull_secret: Some("pull".into()),
                    registry_creds: Some("nopassword".into()),
                    ..Default::default()
                },
                "expected 'user:password'",
            ),
        ];
        for (opts, want) in cases {
            let e = render(&opts).unwrap_err().to_string();
            assert!(e.contains(want), "{e:?} lacks {want:?}");
            assert!(
                !e.contains("nopassword") && !e.contains("a:b"),
                "credentials leak: {e}"
            );
        }
    }
}
