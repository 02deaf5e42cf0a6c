//! `ferroflux helm template` as a user runs it: flags, output shapes, errors.

use std::path::Path;
use std::process::Command;

fn ferroflux(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ferroflux"))
        .args(args)
        .output()
        .expect("run ferroflux");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

fn chart(dir: &Path) {
    write(
        dir,
        &[
            ("Chart.yaml", "apiVersion: v2\nname: demo\nversion: 0.1.0\n"),
            // `n` alone would be YAML 1.1 for false
            ("values.yaml", "num: 1\nname: web\n"),
            (
                "templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\n  namespace: {{ .Release.Namespace }}\ndata:\n  n: {{ printf \"%v %T\" .Values.num .Values.num | quote }}\n  release: {{ .Release.Name }}\n  upgrade: {{ .Release.IsUpgrade | quote }}\n",
            ),
            (
                "templates/svc.yaml",
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n",
            ),
            (
                "templates/sa.yaml",
                "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n",
            ),
            (
                "templates/hook.yaml",
                "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: hook\n  annotations:\n    helm.sh/hook: pre-install\n",
            ),
            ("templates/NOTES.txt", "notes for {{ .Release.Name }}\n"),
            (
                "crds/crd.yaml",
                "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n",
            ),
        ],
    );
}

#[test]
fn prints_the_manifest_in_install_order_then_hooks() {
    let tmp = tempfile::tempdir().unwrap();
    chart(tmp.path());
    let c = tmp.path().to_str().unwrap();
    let (ok, out, err) = ferroflux(&["helm", "template", "rel", c, "-n", "ns"]);
    assert!(ok, "{err}");
    // Helm v4 keeps the trailing newline of a file's last document (a blank
    // line before the next `---`), and trims the end of the whole manifest
    let expected = "---\n# Source: demo/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n\n\
---\n# Source: demo/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  namespace: ns\ndata:\n  n: \"1 float64\"\n  release: rel\n  upgrade: \"false\"\n\n\
---\n# Source: demo/templates/svc.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: svc\n\
---\n# Source: demo/templates/hook.yaml\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: hook\n  annotations:\n    helm.sh/hook: pre-install\n\n";
    assert_eq!(out, expected);
}

#[test]
fn value_flags_type_values_as_helm_does() {
    let tmp = tempfile::tempdir().unwrap();
    chart(tmp.path());
    write(tmp.path(), &[("override.yaml", "name: from-file\n")]);
    let c = tmp.path().join("");
    let c = c.to_str().unwrap();
    let f = tmp.path().join("override.yaml");
    let f = f.to_str().unwrap();
    let show = ["--show-only", "templates/cm.yaml"];
    let run = |extra: &[&str]| {
        let mut a = vec!["helm", "template", c];
        a.extend_from_slice(extra);
        a.extend_from_slice(&show);
        let (ok, out, err) = ferroflux(&a);
        assert!(ok, "{err}");
        out
    };
    assert!(run(&["--set", "num=5"]).contains("n: \"5 int64\""));
    assert!(run(&["--set-string", "num=5"]).contains("n: \"5 string\""));
    assert!(run(&["--set-json", "num=5"]).contains("n: \"5 float64\""));
    // --set beats --set-json, whatever the order on the command line
    assert!(run(&["--set", "num=7", "--set-json", "num=5"]).contains("n: \"7 int64\""));
    let out = run(&["-f", f, "--is-upgrade"]);
    assert!(out.contains("name: from-file"), "{out}");
    assert!(out.contains("upgrade: \"true\""), "{out}");
    assert!(out.contains("release: release-name"), "{out}");
}

#[test]
fn crds_show_only_and_output_dir() {
    let tmp = tempfile::tempdir().unwrap();
    chart(tmp.path());
    let c = tmp.path().to_str().unwrap();
    let (ok, out, _) = ferroflux(&["helm", "template", "r", c, "--include-crds"]);
    assert!(ok);
    assert!(
        out.starts_with("---\n# Source: demo/crds/crd.yaml\n"),
        "{out}"
    );
    let (ok, out, _) = ferroflux(&["helm", "template", "r", c, "-s", "templates/s*.yaml"]);
    assert!(ok);
    assert_eq!(out.matches("# Source:").count(), 2, "{out}");
    let (ok, _, err) = ferroflux(&["helm", "template", "r", c, "-s", "templates/nope.yaml"]);
    assert!(!ok);
    assert!(
        err.contains("could not find template templates/nope.yaml in chart"),
        "{err}"
    );
    let outdir = tempfile::tempdir().unwrap();
    let (ok, out, err) = ferroflux(&[
        "helm",
        "template",
        "r",
        c,
        "--output-dir",
        outdir.path().to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("wrote "), "{out}");
    let cm = std::fs::read_to_string(outdir.path().join("demo/templates/cm.yaml")).unwrap();
    assert!(
        cm.starts_with("---\n# Source: demo/templates/cm.yaml\n"),
        "{cm}"
    );
    assert!(outdir.path().join("demo/templates/hook.yaml").is_file());
}

#[test]
fn errors_go_to_stderr_with_a_failing_exit() {
    let tmp = tempfile::tempdir().unwrap();
    chart(tmp.path());
    write(
        tmp.path(),
        &[(
            "values.schema.json",
            r#"{"type":"object","properties":{"num":{"type":"integer","maximum":3}}}"#,
        )],
    );
    let c = tmp.path().to_str().unwrap();
    let (ok, out, err) = ferroflux(&["helm", "template", c, "--set", "num=9"]);
    assert!(!ok);
    assert!(out.is_empty());
    assert!(
        err.contains("values don't meet the specifications of the schema(s) in the following chart(s):\ndemo:\n- at '/num': maximum: got 9, want 3"),
        "{err}"
    );
    let (ok, _, err) = ferroflux(&["helm", "template", "/nonexistent/chart"]);
    assert!(!ok);
    assert!(err.contains("not found"), "{err}");
    let (ok, _, err) = ferroflux(&["helm", "template", c, "--set", "a[70000]=1"]);
    assert!(!ok);
    assert!(err.contains("failed parsing --set data"), "{err}");
}
