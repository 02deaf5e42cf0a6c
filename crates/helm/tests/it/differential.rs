//! Charts generated here (dependencies with conditions, tags, aliases and both
//! forms of import-values, globals, a library chart, a packaged subchart, hooks,
//! CRDs, `.Files`, schema failures) rendered by this crate and by the Helm v4
//! SDK (`template_peer.py` in the venv `target/peers/venv`): every template's
//! output, the release manifest and the notes must be identical, and errors
//! must be Helm's.

use std::io::Write;
use std::path::{Path, PathBuf};

use ferroflux_helm::chart::{LoadLimits, load_dir};
use ferroflux_helm::{TemplateOptions, template};

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

/// A `.tgz` of a chart with these files.
fn package(name: &str, files: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        vec![],
        flate2::Compression::default(),
    ));
    for (p, text) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, format!("{name}/{p}"), text.as_bytes())
            .unwrap();
    }
    b.into_inner().unwrap().finish().unwrap()
}

struct Case {
    name: &'static str,
    files: Vec<(&'static str, String)>,
    values: &'static str,
    kube_version: Option<&'static str>,
    api_versions: Vec<&'static str>,
}

fn case(name: &'static str, files: &[(&'static str, &str)], values: &'static str) -> Case {
    Case {
        name,
        files: files.iter().map(|(p, t)| (*p, t.to_string())).collect(),
        values,
        kube_version: Some("v1.31.2"),
        api_versions: vec![],
    }
}

const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Chart.Name }}-{{ .Template.Name | splitList \"/\" | last | trimSuffix \".yaml\" }}\ndata:\n  values: {{ toJson .Values | quote }}\n  chart: {{ .Chart.Name }}/{{ .Chart.Version }}/{{ .Chart.IsRoot }}\n  base: {{ .Template.BasePath }}\n";

fn cases() -> Vec<Case> {
    let sub =
        |name: &str, extra: &str| format!("apiVersion: v2\nname: {name}\nversion: 1.0.0\n{extra}");
    let mut out = vec![
        case(
            "dependencies",
            &[
                (
                    "Chart.yaml",
                    "apiVersion: v2\nname: parent\nversion: 0.3.0\nappVersion: \"1.0\"\ndependencies:\n\
- name: cond\n  version: 1.x\n  repository: file://x\n  condition: cond.enabled,other.flag\n\
- name: tagged\n  version: \">=1.0.0\"\n  repository: file://x\n  tags: [backend]\n\
- name: tagged2\n  version: \"1.0.0\"\n  repository: file://x\n  tags: [backend, frontend]\n\
- name: twice\n  version: ~1.0\n  repository: file://x\n  alias: first\n  import-values:\n  - child: shared\n    parent: imported.fromFirst\n\
- name: twice\n  version: ^1\n  repository: file://x\n  alias: second\n  import-values: [data]\n\
- name: off\n  version: 1.0.0\n  repository: file://x\n  condition: off.enabled\n",
                ),
                (
                    "values.yaml",
                    "global:\n  region: eu\n  nested: {a: 1, b: {c: 2}}\ncond:\n  enabled: true\ntags:\n  backend: false\n  frontend: true\nfirst:\n  who: first-override\n  drop: null\nsecond: {}\nimported:\n  fromFirst:\n    keep: parent-wins\noff: {enabled: false, seen: yes}\nlist: [1, 2]\n",
                ),
                ("templates/cm.yaml", CM),
                (
                    "templates/NOTES.txt",
                    "{{ .Release.Name }} in {{ .Release.Namespace }}: {{ len .Subcharts }} subcharts\n{{- range $k, $v := .Subcharts }}\n- {{ $k }}: {{ $v.Chart.Name }}{{ end }}\n",
                ),
                ("charts/cond/Chart.yaml", &sub("cond", "")),
                ("charts/cond/values.yaml", "enabled: false\nx: 1\n"),
                ("charts/cond/templates/cm.yaml", CM),
                ("charts/cond/charts/grand/Chart.yaml", &sub("grand", "")),
                (
                    "charts/cond/charts/grand/values.yaml",
                    "global:\n  region: none\n  own: grand\nmine: 3\n",
                ),
                ("charts/cond/charts/grand/templates/cm.yaml", CM),
                (
                    "charts/cond/templates/NOTES.txt",
                    "subchart notes {{ .Values.x }}\n",
                ),
                ("charts/tagged/Chart.yaml", &sub("tagged", "")),
                ("charts/tagged/templates/cm.yaml", CM),
                ("charts/tagged2/Chart.yaml", &sub("tagged2", "")),
                ("charts/tagged2/templates/cm.yaml", CM),
                ("charts/twice/Chart.yaml", &sub("twice", "")),
                (
                    "charts/twice/values.yaml",
                    "who: default\ndrop: me\nshared: {keep: child, extra: from-child}\nexports:\n  data:\n    exported: true\n    list: [a]\n",
                ),
                ("charts/twice/templates/cm.yaml", CM),
                ("charts/off/Chart.yaml", &sub("off", "")),
                ("charts/off/values.yaml", "enabled: true\n"),
                ("charts/off/templates/cm.yaml", CM),
            ],
            "cond:\n  x: 5\nglobal:\n  nested: {b: {d: 4}}\nlist: [3]\n",
        ),
        case(
            "library-files-hooks",
            &[
                (
                    "Chart.yaml",
                    "apiVersion: v2\nname: app\nversion: 2.0.0-rc.1+b\ndependencies:\n- name: lib\n  version: 0.1.0\n  repository: file://x\n",
                ),
                (
                    "values.yaml",
                    "replicas: 2\nimage: {repository: nginx, tag: \"1.27\"}\n",
                ),
                (
                    "charts/lib/Chart.yaml",
                    "apiVersion: v2\nname: lib\nversion: 0.1.0\ntype: library\n",
                ),
                (
                    "charts/lib/templates/_names.tpl",
                    "{{- define \"lib.name\" -}}{{ .Chart.Name }}-{{ .Release.Name }}{{- end -}}\n{{- define \"lib.labels\" -}}\napp: {{ include \"lib.name\" . }}\nchart: {{ .Chart.Name }}\n{{- end -}}\n",
                ),
                (
                    "charts/lib/templates/never.yaml",
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: never\n",
                ),
                ("files/a.conf", "a=1\n"),
                ("files/sub/b.conf", "b=2\n"),
                ("files/c.txt", "line1\nline2\n"),
                (".helmignore", "*.bak\nignored/\n"),
                ("ignored/x.txt", "no"),
                ("old.bak", "no"),
                (
                    "crds/widget.yaml",
                    "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n",
                ),
                (
                    "templates/deploy.yaml",
                    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include \"lib.name\" . }}\n  labels:\n    {{- include \"lib.labels\" . | nindent 4 }}\nspec:\n  replicas: {{ .Values.replicas }}\n  template:\n    spec:\n      containers:\n      - image: \"{{ .Values.image.repository }}:{{ .Values.image.tag }}\"\n---# a comment-separated document\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n  annotations:\n    helm.sh/resource-policy: keep\n",
                ),
                (
                    "templates/files.yaml",
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: files\ndata:\n  {{- (.Files.Glob \"files/**.conf\").AsConfig | nindent 2 }}\n  lines: {{ .Files.Lines \"files/c.txt\" | toJson | quote }}\n  get: {{ .Files.Get \"files/a.conf\" | quote }}\n  all: {{ range $k, $v := .Files.Glob \"**\" }}{{ $k }},{{ end }}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  {{- (.Files.Glob \"files/*.conf\").AsSecrets | nindent 2 }}\n",
                ),
                (
                    "templates/hooks.yaml",
                    "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    helm.sh/hook: pre-install,pre-upgrade\n    helm.sh/hook-weight: \"-5\"\n    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: test\n  annotations:\n    helm.sh/hook: test\n---\n# only a comment\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n",
                ),
                (
                    "templates/caps.yaml",
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caps\ndata:\n  kube: \"{{ .Capabilities.KubeVersion }}\"\n  major: {{ .Capabilities.KubeVersion.Major | quote }}\n  has: {{ .Capabilities.APIVersions.Has \"example.com/v1\" | quote }}\n  apps: {{ .Capabilities.APIVersions.Has \"apps/v1\" | quote }}\n",
                ),
                (
                    "templates/empty.yaml",
                    "{{- if false }}\nnothing: here\n{{- end }}\n",
                ),
            ],
            "replicas: 3\n",
        ),
    ];
    let mut d = case(
        "default-kube-and-api-versions",
        &[
            ("Chart.yaml", "apiVersion: v1\nname: old\nversion: 1.0.0\n"),
            (
                "requirements.yaml",
                "dependencies:\n- name: pkg\n  version: 0.2.0\n  repository: file://x\n",
            ),
            (
                "templates/caps.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: caps\ndata:\n  kube: \"{{ .Capabilities.KubeVersion }}\"\n  has: {{ .Capabilities.APIVersions.Has \"example.com/v1\" | quote }}\n  chart: {{ .Chart.APIVersion }}\n  pkg: {{ .Values.pkg.v | quote }}\n  tpl: {{ tpl .Values.t . | quote }}\n",
            ),
            (
                "values.yaml",
                "t: '{{ .Release.Name }}-{{ .Values.pkg.v }}'\n",
            ),
        ],
        "pkg:\n  v: override\n",
    );
    d.kube_version = None;
    d.api_versions = vec!["example.com/v1"];
    d.files.push(("charts/pkg-0.2.0.tgz", String::new()));
    out.push(d);
    out.push(case(
        "schema-failures",
        &[
            ("Chart.yaml", "apiVersion: v2\nname: schemed\nversion: 1.0.0\ndependencies:\n- name: sub\n  version: 1.0.0\n  repository: file://x\n"),
            ("values.schema.json", r#"{"type":"object","required":["name"],"properties":{"port":{"type":"integer","maximum":65535},"mode":{"enum":["fast","safe"]},"name":{"type":"string","minLength":3}}}"#),
            ("values.yaml", "port: 80\nmode: fast\n"),
            ("templates/cm.yaml", CM),
            ("charts/sub/Chart.yaml", &sub("sub", "")),
            ("charts/sub/values.schema.json", r#"{"type":"object","properties":{"size":{"type":"number","minimum":1}}}"#),
            ("charts/sub/templates/cm.yaml", CM),
        ],
        "port: 70000\nmode: slow\nsub:\n  size: 0\n",
    ));
    out.push(case(
        "schema-ok",
        &[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: schemed\nversion: 1.0.0\nkubeVersion: \">=1.28.0-0\"\n",
            ),
            (
                "values.schema.json",
                r#"{"type":"object","properties":{"port":{"type":"integer"}}}"#,
            ),
            ("values.yaml", "port: 80\n"),
            ("templates/cm.yaml", CM),
        ],
        "port: 8080\n",
    ));
    // the SDK renders client-only: every lookup finds nothing; ours is given a
    // live callback that finds nothing, which must read the same
    out.push(case(
        "lookup-absent-and-helm-version",
        &[
            ("Chart.yaml", "apiVersion: v2\nname: looker\nversion: 1.0.0\n"),
            (
                "templates/cm.yaml",
                "{{- $s := lookup \"v1\" \"Secret\" \"ns\" \"db\" }}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: looked\ndata:\n  secret: {{ $s | toJson | quote }}\n  type: {{ typeOf $s | quote }}\n  found: {{ if $s }}\"yes\"{{ else }}\"no\"{{ end }}\n  list: {{ lookup \"v1\" \"ConfigMap\" \"ns\" \"\" | toJson | quote }}\n  pw: {{ dig \"data\" \"password\" \"fresh\" $s | quote }}\n  helm: {{ .Capabilities.HelmVersion.Version | quote }}\n  helmPrinted: \"{{ .Capabilities.HelmVersion }}\"\n  helmGo: {{ .Capabilities.HelmVersion.GoVersion | quote }}\n  helmKube: {{ .Capabilities.HelmVersion.KubeClientVersion | quote }}\n  helmGit: {{ printf \"%s/%s\" .Capabilities.HelmVersion.GitCommit .Capabilities.HelmVersion.GitTreeState | quote }}\n  helmJson: {{ .Capabilities.HelmVersion | toJson | fromJson | toJson | quote }}\n  newer: {{ semverCompare \">=4.0.0-0\" .Capabilities.HelmVersion.Version | quote }}\n",
            ),
        ],
        "",
    ));
    out.push(case(
        "kube-version-refused",
        &[
            (
                "Chart.yaml",
                "apiVersion: v2\nname: newer\nversion: 1.0.0\nkubeVersion: \">=1.32.0-0\"\n",
            ),
            ("templates/cm.yaml", CM),
        ],
        "",
    ));
    out
}

struct Peer {
    python: PathBuf,
    script: PathBuf,
}

fn peer() -> Option<Peer> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = root.join("target/peers/venv/bin/python");
    if !python.is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but {} is missing: hack/install-peers should have created it",
            python.display()
        );
        eprintln!("skipping: no Helm SDK peer at {}", python.display());
        return None;
    }
    Some(Peer {
        python,
        script: Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/template_peer.py"),
    })
}

fn sorted_lines(s: &str) -> Vec<String> {
    let mut l: Vec<String> = s.lines().map(String::from).collect();
    l.sort();
    l
}

#[test]
fn generated_charts_render_as_the_helm_sdk_renders_them() {
    let Some(peer) = peer() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let cases = cases();
    let mut jobs = vec![];
    for c in &cases {
        let dir = tmp.path().join(c.name);
        for (p, text) in &c.files {
            if p.ends_with(".tgz") {
                let bytes = package(
                    "pkg",
                    &[
                        ("Chart.yaml", "apiVersion: v2\nname: pkg\nversion: 0.2.0\n"),
                        ("values.yaml", "v: packaged\nw: 1\n"),
                        ("templates/cm.yaml", CM),
                    ],
                );
                std::fs::create_dir_all(dir.join("charts")).unwrap();
                std::fs::write(dir.join(p), bytes).unwrap();
            } else {
                write(&dir, &[(p, text.as_str())]);
            }
        }
        jobs.push(serde_json::json!({
            "chart": dir, "values": c.values, "release": "rel", "namespace": "ns",
            "kube_version": c.kube_version, "api_versions": c.api_versions,
        }));
    }
    let mut child = std::process::Command::new(&peer.python)
        .arg(&peer.script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("start the Helm SDK peer");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(&jobs).unwrap().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "peer failed");
    let helm: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();

    let mut failures = vec![];
    for (c, h) in cases.iter().zip(&helm) {
        let opts = TemplateOptions {
            release_name: "rel".into(),
            namespace: "ns".into(),
            kube_version: c.kube_version.map(String::from),
            api_versions: c.api_versions.iter().map(|s| s.to_string()).collect(),
            lookup: c.name.starts_with("lookup").then(|| {
                ferroflux_helm::render::LiveLookup::new(|_, _, _, _| Ok(serde_json::Value::Null))
            }),
            ..TemplateOptions::default()
        };
        let user =
            ferroflux_helm::strvals::merge_sources(&[c.values.to_string()], &[], &[], &[]).unwrap();
        let ours = load_dir(&tmp.path().join(c.name), &LoadLimits::default())
            .map_err(|e| e.to_string())
            .and_then(|chart| template(&chart, &user, &opts).map_err(|e| e.to_string()));
        match (ours, h.get("error").and_then(|e| e.as_str())) {
            (Err(ours), Some(theirs)) => {
                if sorted_lines(&ours) != sorted_lines(theirs) {
                    failures.push(format!("{}: error\n ours: {ours}\n helm: {theirs}", c.name));
                }
            }
            (Ok(_), Some(theirs)) => failures.push(format!("{}: Helm failed: {theirs}", c.name)),
            (Err(ours), None) => failures.push(format!("{}: we failed: {ours}", c.name)),
            (Ok(r), None) => {
                let theirs: std::collections::BTreeMap<String, String> =
                    serde_json::from_value(h["templates"].clone()).unwrap();
                if r.templates.keys().collect::<Vec<_>>() != theirs.keys().collect::<Vec<_>>() {
                    failures.push(format!(
                        "{}: templates {:?} vs Helm's {:?}",
                        c.name,
                        r.templates.keys().collect::<Vec<_>>(),
                        theirs.keys().collect::<Vec<_>>()
                    ));
                }
                for (k, v) in &theirs {
                    if r.templates.get(k) != Some(v) {
                        failures.push(format!(
                            "{}: {k}\n ours: {:?}\n helm: {v:?}",
                            c.name,
                            r.templates.get(k)
                        ));
                    }
                }
                if r.manifest != h["manifest"].as_str().unwrap_or("") {
                    failures.push(format!(
                        "{}: manifest\n ours: {:?}\n helm: {:?}",
                        c.name, r.manifest, h["manifest"]
                    ));
                }
                if r.notes != h["notes"].as_str().unwrap_or("") {
                    failures.push(format!(
                        "{}: notes\n ours: {:?}\n helm: {:?}",
                        c.name, r.notes, h["notes"]
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
