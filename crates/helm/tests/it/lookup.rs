//! `lookup` with a live-cluster callback (helm-controller's), here an in-memory
//! store: objects by name, lists when the name is empty, an absent object as an
//! empty map (as Helm answers a NotFound, and as `helm template` answers every
//! lookup), the callback's error failing the render with Helm's words.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ferroflux_helm::chart::{LoadLimits, load_dir};
use ferroflux_helm::render::LiveLookup;
use ferroflux_helm::{TemplateOptions, template};
use serde_json::{Value, json};

const TEMPLATE: &str = r#"{{- $s := lookup "v1" "Secret" "ns" "db" }}
{{- $pw := "generated" }}
{{- if $s }}{{ $pw = index $s.data "password" }}{{ end }}
apiVersion: v1
kind: ConfigMap
metadata:
  name: looked-up
data:
  password: {{ $pw | quote }}
  {{- with lookup "apps/v1" "Deployment" "ns" "web" }}
  replicas: {{ .spec.replicas | quote }}
  replicasType: {{ typeOf .spec.replicas | quote }}
  ratio: {{ .spec.ratio | quote }}
  {{- else }}
  replicas: "none"
  {{- end }}
  configMaps: {{ range (lookup "v1" "ConfigMap" "ns" "").items }}{{ .metadata.name }},{{ end }}
  missing: {{ lookup "v1" "Secret" "ns" "none" | toJson | quote }}
  missingType: {{ typeOf (lookup "v1" "Secret" "ns" "none") | quote }}
"#;

/// Objects keyed by (apiVersion, kind, namespace, name).
type Store = BTreeMap<(String, String, String, String), Value>;

fn store() -> Store {
    let mut s = Store::new();
    let mut put = |api: &str, kind: &str, name: &str, obj: Value| {
        s.insert((api.into(), kind.into(), "ns".into(), name.into()), obj);
    };
    put(
        "v1",
        "Secret",
        "db",
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "ns"},
               "data": {"password": "czNjcmV0"}}),
    );
    put(
        "apps/v1",
        "Deployment",
        "web",
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
               "spec": {"replicas": 3, "ratio": 0.5}}),
    );
    for n in ["a", "b"] {
        put(
            "v1",
            "ConfigMap",
            n,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n}}),
        );
    }
    s
}

/// The callback helm-controller gives, over `store`: an object, a list for an
/// empty name, `null` for nothing; one kind the "cluster" refuses.
fn live(store: Store, calls: Arc<AtomicUsize>) -> LiveLookup {
    let store = Mutex::new(store);
    LiveLookup::new(move |api, kind, ns, name| {
        calls.fetch_add(1, Ordering::SeqCst);
        if kind == "Forbidden" {
            return Err(format!("{kind} is forbidden for this service account"));
        }
        let s = store.lock().map_err(|e| e.to_string())?;
        if name.is_empty() {
            let items: Vec<Value> = s
                .iter()
                .filter(|((a, k, n, _), _)| a == api && k == kind && (ns.is_empty() || n == ns))
                .map(|(_, o)| o.clone())
                .collect();
            return Ok(json!({"apiVersion": api, "kind": format!("{kind}List"), "items": items}));
        }
        let key = (api.into(), kind.into(), ns.into(), name.into());
        Ok(s.get(&key).cloned().unwrap_or(Value::Null))
    })
}

fn chart_dir(tmp: &Path, template_text: &str) -> std::path::PathBuf {
    let dir = tmp.join("looker");
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: looker\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(dir.join("templates/cm.yaml"), template_text).unwrap();
    dir
}

fn render(dir: &Path, lookup: Option<LiveLookup>) -> Result<String, String> {
    let chart = load_dir(dir, &LoadLimits::default()).map_err(|e| e.to_string())?;
    let opts = TemplateOptions {
        namespace: "ns".into(),
        lookup,
        ..TemplateOptions::default()
    };
    template(&chart, &serde_json::Map::new(), &opts)
        .map(|r| r.manifest)
        .map_err(|e| e.to_string())
}

#[test]
fn lookup_reads_objects_lists_and_absent_objects_from_the_callback() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = chart_dir(tmp.path(), TEMPLATE);
    let calls = Arc::new(AtomicUsize::new(0));
    let lookup = live(store(), calls.clone());
    // the options cross threads: helm-controller renders inside spawn_blocking
    let got = std::thread::spawn(move || render(&dir, Some(lookup)))
        .join()
        .unwrap()
        .unwrap();
    for want in [
        "password: \"czNjcmV0\"",
        "replicas: \"3\"",
        // unstructured objects hold whole numbers as int64
        "replicasType: \"int64\"",
        "ratio: \"0.5\"",
        "configMaps: a,b,",
        "missing: \"{}\"",
        "missingType: \"map[string]interface {}\"",
    ] {
        assert!(got.contains(want), "{want:?} not in:\n{got}");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        5,
        "one callback per lookup call"
    );
}

#[test]
fn without_a_callback_every_lookup_is_an_empty_map_as_helm_template() {
    let tmp = tempfile::tempdir().unwrap();
    let got = render(&chart_dir(tmp.path(), TEMPLATE), None).unwrap();
    for want in [
        "password: \"generated\"",
        "replicas: \"none\"",
        "configMaps: \n",
        "missing: \"{}\"",
        "missingType: \"map[string]interface {}\"",
    ] {
        assert!(got.contains(want), "{want:?} not in:\n{got}");
    }
}

#[test]
fn a_failing_lookup_fails_the_render_with_helms_words() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = chart_dir(
        tmp.path(),
        "x: {{ lookup \"v1\" \"Forbidden\" \"ns\" \"n\" | toJson }}\n",
    );
    let calls = Arc::new(AtomicUsize::new(0));
    let err = render(&dir, Some(live(store(), calls))).unwrap_err();
    assert!(
        err.contains("error calling lookup: Forbidden is forbidden for this service account"),
        "{err}"
    );
    assert!(err.contains("looker/templates/cm.yaml"), "{err}");
}
