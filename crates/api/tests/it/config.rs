//! `config/`: the install bases render with a real kustomize (kubectl's) and
//! carry every generated CRD and the `flux-system` namespace.

use std::path::Path;
use std::process::Command;

use ferroflux_api::crds;

#[test]
fn config_default_renders_every_crd_and_the_namespace() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(root.join("config/default"))
        .output()
        .expect("kubectl is installed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "kubectl kustomize config/default failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let docs: Vec<serde_yaml::Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    let names_of = |kind: &str| -> Vec<String> {
        docs.iter()
            .filter(|d| d["kind"].as_str() == Some(kind))
            .map(|d| {
                d["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect()
    };
    assert_eq!(names_of("Namespace"), ["flux-system"]);
    let mut rendered = names_of("CustomResourceDefinition");
    rendered.sort();
    let mut generated: Vec<String> = crds::all()
        .unwrap()
        .into_iter()
        .map(|c| c.metadata.name.unwrap_or_default())
        .collect();
    generated.sort();
    assert_eq!(rendered, generated);
    // CRDs are cluster-scoped: the base's namespace must not leak onto them.
    for d in docs
        .iter()
        .filter(|d| d["kind"].as_str() == Some("CustomResourceDefinition"))
    {
        assert!(d["metadata"]["namespace"].is_null());
    }
}
