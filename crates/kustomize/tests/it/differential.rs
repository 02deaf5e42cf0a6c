//! Differential test: kustomization trees generated from a fixed seed (a base of
//! Deployments, Services and ConfigMaps; overlays with namespace, namePrefix/nameSuffix,
//! commonLabels, images, replicas, strategic merge and JSON 6902 patches, and
//! configMapGenerator/secretGenerator), each built by the engine and by
//! `kubectl kustomize`, compared semantically, document by document, in order.
//! Skipped, saying so, where no kubectl with kustomize v5 is installed.

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use ferroflux_kustomize::{BuildOptions, build};
use serde_json::Value;

/// How many trees to generate.
const TREES: u64 = 30;

fn kubectl() -> Command {
    Command::new(std::env::var("KUBECTL").unwrap_or_else(|_| "kubectl".to_owned()))
}

/// The Kustomize version kubectl embeds, when it is v5.
fn kustomize_v5() -> Option<String> {
    let out = kubectl().args(["version", "--client"]).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("Kustomize Version: "))
        .map(|v| v.trim().to_owned())
        .filter(|v| v.starts_with("v5"))
}

/// A small deterministic generator (64-bit LCG).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// A generated tree: files (path, text) and the directory to build.
struct Gen {
    files: Vec<(String, String)>,
    build_dir: String,
}

fn deployment(i: u64, image: &str, replicas: u64, cm: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: app{i}
  labels:
    app: app{i}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: app{i}
  template:
    metadata:
      labels:
        app: app{i}
    spec:
      containers:
      - name: main
        image: {image}
        ports:
        - containerPort: 8080
          name: http
        envFrom:
        - configMapRef:
            name: {cm}
        env:
        - name: MODE
          value: base
      volumes:
      - name: config
        configMap:
          name: {cm}
"
    )
}

fn service(i: u64) -> String {
    format!(
        "apiVersion: v1
kind: Service
metadata:
  name: app{i}
spec:
  selector:
    app: app{i}
  ports:
  - port: 80
    targetPort: http
"
    )
}

fn config_map(i: u64) -> String {
    format!(
        "apiVersion: v1
kind: ConfigMap
metadata:
  name: settings{i}
data:
  level: \"{i}\"
  color: blue
"
    )
}

/// One tree: `base/`, `overlays/one/` on it, and sometimes `overlays/two/` on that.
fn generate(rng: &mut Rng) -> Gen {
    let mut files = Vec::new();
    let apps = 1 + rng.below(3);
    let images = [
        "nginx:1.25",
        "busybox:1.36",
        "registry.example.com/team/api:v1",
    ];
    let base_gen = rng.chance(60);
    let mut resources = Vec::new();
    for i in 0..apps {
        let cm = if base_gen && i == 0 {
            "generated".to_owned()
        } else {
            format!("settings{i}")
        };
        files.push((
            format!("base/deploy{i}.yaml"),
            deployment(i, images[rng.below(3) as usize], 1 + rng.below(3), &cm),
        ));
        files.push((format!("base/service{i}.yaml"), service(i)));
        files.push((format!("base/cm{i}.yaml"), config_map(i)));
        resources.push(format!("- deploy{i}.yaml"));
        resources.push(format!("- service{i}.yaml"));
        resources.push(format!("- cm{i}.yaml"));
    }
    let mut base = format!("resources:\n{}\n", resources.join("\n"));
    if base_gen {
        base.push_str("configMapGenerator:\n- name: generated\n  literals:\n  - A=1\n  - B=two\n");
    }
    if rng.chance(30) {
        base.push_str("commonLabels:\n  tier: backend\n");
    }
    files.push(("base/kustomization.yaml".into(), base));

    let mut one = String::from("resources:\n- ../../base\n");
    if rng.chance(60) {
        one.push_str(&format!("namespace: ns{}\n", rng.below(3)));
    }
    if rng.chance(50) {
        one.push_str("namePrefix: pre-\n");
    }
    if rng.chance(40) {
        one.push_str("nameSuffix: -suf\n");
    }
    if rng.chance(50) {
        one.push_str(&format!("commonLabels:\n  env: e{}\n", rng.below(3)));
    }
    if rng.chance(50) {
        one.push_str("images:\n- name: nginx\n  newTag: \"1.27\"\n- name: busybox\n  newName: mirror.example.com/busybox\n");
    }
    if rng.chance(40) {
        one.push_str(&format!(
            "replicas:\n- name: app0\n  count: {}\n",
            2 + rng.below(4)
        ));
    }
    let mut patches = Vec::new();
    if rng.chance(60) {
        let i = rng.below(apps);
        files.push((
            "overlays/one/smp.yaml".into(),
            format!(
                "apiVersion: apps/v1
kind: Deployment
metadata:
  name: app{i}
spec:
  template:
    spec:
      containers:
      - name: main
        env:
        - name: MODE
          value: overlay
        - name: EXTRA
          value: \"yes\"
        resources:
          limits:
            memory: 256Mi
"
            ),
        ));
        patches.push("- path: smp.yaml".to_owned());
    }
    if rng.chance(50) {
        patches.push(
            "- target:\n    kind: Service\n  patch: |-\n    - op: add\n      path: /metadata/annotations\n      value:\n        patched: \"true\"\n"
                .trim_end()
                .to_owned(),
        );
    }
    if rng.chance(40) {
        let i = rng.below(apps);
        patches.push(format!(
            "- target:\n    group: apps\n    version: v1\n    kind: Deployment\n    name: app{i}\n  patch: |-\n    - op: replace\n      path: /spec/template/spec/containers/0/ports/0/containerPort\n      value: 9090"
        ));
    }
    if !patches.is_empty() {
        one.push_str(&format!("patches:\n{}\n", patches.join("\n")));
    }
    let mut cm_gens = Vec::new();
    if base_gen && rng.chance(50) {
        cm_gens.push("- name: generated\n  behavior: merge\n  literals:\n  - B=three\n  - C=4");
    }
    if rng.chance(50) {
        files.push((
            "overlays/one/app.properties".into(),
            "key=value\nother=thing\n".into(),
        ));
        cm_gens.push("- name: props\n  files:\n  - app.properties");
    }
    if !cm_gens.is_empty() {
        one.push_str(&format!("configMapGenerator:\n{}\n", cm_gens.join("\n")));
    }
    if rng.chance(50) {
        one.push_str(
            "secretGenerator:\n- name: creds\n  literals:\n  - user=admin\n  - password=s3cret\n",
        );
        if rng.chance(50) {
            one.push_str("generatorOptions:\n  disableNameSuffixHash: true\n");
        }
    }
    files.push(("overlays/one/kustomization.yaml".into(), one));

    let build_dir = if rng.chance(40) {
        let mut two = String::from("resources:\n- ../one\n");
        if rng.chance(50) {
            two.push_str("namePrefix: top-\n");
        }
        if rng.chance(50) {
            two.push_str("commonAnnotations:\n  owner: team-b\n");
        }
        if rng.chance(50) {
            two.push_str(
                "patches:\n- target:\n    kind: ConfigMap\n  patch: |-\n    - op: add\n      path: /data/layer\n      value: two\n",
            );
        }
        files.push(("overlays/two/kustomization.yaml".into(), two));
        "overlays/two"
    } else {
        "overlays/one"
    };
    Gen {
        files,
        build_dir: build_dir.to_owned(),
    }
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempTree(PathBuf);

impl TempTree {
    fn new(files: &[(String, String)]) -> TempTree {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "ferroflux-kustomize-diff-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        for (path, text) in files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap_or(&dir)).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
        TempTree(dir)
    }
}

impl Drop for TempTree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn parse_docs(text: &str) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let v = <serde_yaml::Value as serde::Deserialize>::deserialize(doc)
            .map_err(|e| e.to_string())?;
        if !v.is_null() {
            out.push(serde_json::to_value(v).map_err(|e| e.to_string())?);
        }
    }
    Ok(out)
}

fn peer(dir: &std::path::Path) -> Result<Vec<Value>, String> {
    let out = kubectl()
        .arg("kustomize")
        .arg(dir)
        .output()
        .map_err(|e| format!("cannot run kubectl: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    parse_docs(&String::from_utf8_lossy(&out.stdout))
}

fn show(r: &Result<Vec<Value>, String>) -> String {
    match r {
        Ok(docs) => ferroflux_kustomize::to_yaml(docs),
        Err(e) => format!("error: {}", e.trim()),
    }
}

#[test]
fn generated_trees_build_as_kubectl_kustomize_builds_them() {
    let Some(version) = kustomize_v5() else {
        eprintln!("skipped: no kubectl with kustomize v5");
        return;
    };
    let mut rng = Rng(0x5eed_f10c);
    let mut failures = Vec::new();
    let mut built = 0;
    for n in 0..TREES {
        let g = generate(&mut rng);
        let tree = TempTree::new(&g.files);
        let dir = tree.0.join(&g.build_dir);
        let ours = build(&tree.0, &dir, &BuildOptions::default()).map_err(|e| e.to_string());
        let theirs = peer(&dir);
        let agree = match (&ours, &theirs) {
            (Ok(a), Ok(b)) => {
                built += 1;
                a == b
            }
            (Err(_), Err(_)) => true,
            _ => false,
        };
        if !agree {
            let listing: String = g
                .files
                .iter()
                .map(|(p, t)| format!("--- {p}\n{t}"))
                .collect();
            failures.push(format!(
                "tree {n} (build {}):\n{listing}\n=== ours:\n{}\n=== kubectl kustomize ({version}):\n{}",
                g.build_dir,
                show(&ours),
                show(&theirs)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {TREES} generated trees differ from kubectl kustomize {version}:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // The trees are meant to build: a generator that only produces errors tests little.
    assert_eq!(
        built, TREES,
        "some generated trees failed to build on both sides"
    );
}
