//! The synthetic feature cases of `../shared/conformance/helm` that need only the
//! template language (read in place, never copied), rendered with a minimal chart
//! loader: chart values coalesced with the case's values, every template of the chart
//! in one set, `.Release`, `.Chart`, `.Template`. Outputs are compared byte for byte.
//! Chart loading proper (dependencies, `.Files`, `.Capabilities`) is `crates/helm`'s.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferroflux_gotemplate::{Templates, Value};

/// Cases expected to pass; the test fails if one of them regresses.
const MUST_PASS: &[&str] = &[
    "err-compare-float-int",
    "err-fail",
    "err-nil-pointer",
    "err-parse-error",
    "err-required",
    "err-required-empty-string",
    "helm-tpl",
    "helm-values-numbers",
    "sprig-default-empty",
    "sprig-dicts",
    "sprig-encoding-hashes",
    "sprig-lists",
    "sprig-math",
    "sprig-merge-semantics",
    "sprig-regex",
    "sprig-semver",
    "sprig-strings",
    "sprig-tojson-fromjson",
    "sprig-totoml",
    "sprig-toyaml-fromyaml",
    "sprig-types",
    "sprig-until-seq",
    "tmpl-block-override",
    "tmpl-builtin-text-funcs",
    "tmpl-comments",
    "tmpl-compare-mixed-numbers",
    "tmpl-define-template-include",
    "tmpl-if-truthiness",
    "tmpl-index-slice-len",
    "tmpl-missing-values",
    "tmpl-nindent-toyaml-pattern",
    "tmpl-pipelines",
    "tmpl-printf-verbs",
    "tmpl-range-else-break-continue",
    "tmpl-range-map-sorted",
    "tmpl-variables-scoping",
    "tmpl-whitespace-trim",
    "tmpl-with-else",
];

fn suite() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/helm/features")
}

fn wanted(name: &str) -> bool {
    name.starts_with("tmpl-")
        || name.starts_with("sprig-")
        || [
            "helm-tpl",
            "helm-values-numbers",
            "err-compare-float-int",
            "err-fail",
            "err-nil-pointer",
            "err-parse-error",
            "err-required",
            "err-required-empty-string",
        ]
        .contains(&name)
}

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    ferroflux_gotemplate::yaml::values_from_yaml(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Helm's coalescing of user values over chart defaults: maps merge, `null` deletes.
fn coalesce(user: &Value, defaults: &Value) -> Value {
    match (user, defaults) {
        (Value::Map(u), Value::Map(d)) => {
            let mut out = d.borrow().clone();
            for (k, v) in u.borrow().iter() {
                match v {
                    Value::Nil => {
                        out.remove(k);
                    }
                    v => {
                        let merged = match out.get(k) {
                            Some(dv) => coalesce(v, dv),
                            None => v.clone(),
                        };
                        out.insert(k.clone(), merged);
                    }
                }
            }
            Value::map(out)
        }
        (u, _) => u.clone(),
    }
}

fn go_field_names(chart: &Value) -> Value {
    let Value::Map(m) = chart else {
        return Value::Nil;
    };
    let mut out = BTreeMap::new();
    for (k, v) in m.borrow().iter() {
        let mut c = k.chars();
        let name = c
            .next()
            .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
            .unwrap_or_default();
        let name = if name == "ApiVersion" {
            "APIVersion".to_string()
        } else {
            name
        };
        out.insert(name, v.clone());
    }
    Value::map(out)
}

fn files(dir: &Path, base: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, base, out);
        } else {
            out.push((
                p.strip_prefix(base).unwrap().to_string_lossy().into_owned(),
                p,
            ));
        }
    }
}

/// Renders one case: Ok(template key -> output) or Err(Helm's message).
fn render(case: &Path) -> Result<BTreeMap<String, String>, String> {
    let chart_meta = yaml(&case.join("chart/Chart.yaml"));
    let chart_name = match &chart_meta {
        Value::Map(m) => m
            .borrow()
            .get("name")
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        _ => String::new(),
    };
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("case.json")).unwrap()).unwrap();
    let values = coalesce(
        &yaml(&case.join("values.yaml")),
        &yaml(&case.join("chart/values.yaml")),
    );
    let mut templates = vec![];
    files(
        &case.join("chart/templates"),
        &case.join("chart"),
        &mut templates,
    );
    // Helm parses deeper paths first, then in reverse lexical order
    templates.sort_by(|a, b| {
        let da = a.0.matches('/').count();
        let db = b.0.matches('/').count();
        db.cmp(&da).then(b.0.cmp(&a.0))
    });
    let mut set = Templates::helm();
    for (rel, path) in &templates {
        let text = std::fs::read_to_string(path).unwrap();
        set.parse(&format!("{chart_name}/{rel}"), &text)
            .map_err(|e| e.helm_message())?;
    }
    let mut out = BTreeMap::new();
    let mut keys: Vec<&String> = templates.iter().map(|(r, _)| r).collect();
    keys.sort();
    for rel in keys {
        let base = rel.rsplit('/').next().unwrap_or("");
        if base.starts_with('_') {
            continue;
        }
        let key = format!("{chart_name}/{rel}");
        let mut top = BTreeMap::new();
        top.insert("Values".to_string(), values.clone());
        top.insert("Chart".to_string(), go_field_names(&chart_meta));
        let mut release = BTreeMap::new();
        release.insert(
            "Name".to_string(),
            Value::str(meta["release"].as_str().unwrap_or("")),
        );
        release.insert(
            "Namespace".to_string(),
            Value::str(meta["namespace"].as_str().unwrap_or("")),
        );
        release.insert("IsInstall".to_string(), Value::Bool(true));
        release.insert("IsUpgrade".to_string(), Value::Bool(false));
        release.insert("Revision".to_string(), Value::Int(1));
        release.insert("Service".to_string(), Value::str("Helm"));
        top.insert("Release".to_string(), Value::map(release));
        let mut tmpl = BTreeMap::new();
        tmpl.insert("Name".to_string(), Value::str(&key));
        tmpl.insert(
            "BasePath".to_string(),
            Value::str(format!("{chart_name}/templates")),
        );
        top.insert("Template".to_string(), Value::map(tmpl));
        let text = set
            .execute(&key, &Value::map(top))
            .map_err(|e| e.helm_message())?;
        out.insert(key, text);
    }
    Ok(out)
}

fn check(case: &Path) -> Result<(), String> {
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("case.json")).unwrap()).unwrap();
    let got = render(case);
    if let Some(want_err) = meta["expect_error"].as_str() {
        return match got {
            Err(e) if e.contains(want_err) => Ok(()),
            Err(e) => Err(format!("error {e:?} lacks {want_err:?}")),
            Ok(_) => Err(format!("rendered; Helm fails with {want_err:?}")),
        };
    }
    let got = got?;
    for (key, text) in &got {
        let want = std::fs::read_to_string(case.join("expected").join(key)).unwrap_or_default();
        if *text != want {
            return Err(format!(
                "{key} differs:\n--- helm\n{want}\n--- ours\n{text}"
            ));
        }
    }
    Ok(())
}

#[test]
fn conformance_feature_cases() {
    let dir = suite();
    let Ok(rd) = std::fs::read_dir(&dir) else {
        eprintln!("SKIPPED: {} not found", dir.display());
        return;
    };
    let mut names: Vec<String> = rd
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| wanted(n))
        .collect();
    names.sort();
    let mut passed = vec![];
    let mut report = vec![];
    for n in &names {
        match check(&dir.join(n)) {
            Ok(()) => passed.push(n.clone()),
            Err(e) => report.push(format!("FAIL {n}: {e}")),
        }
    }
    eprintln!(
        "conformance features: {}/{} pass: {}",
        passed.len(),
        names.len(),
        passed.join(" ")
    );
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/peers/gotemplate");
    let _ = std::fs::create_dir_all(&out);
    let _ = std::fs::write(out.join("conformance-failures.txt"), report.join("\n\n"));
    for must in MUST_PASS {
        assert!(
            passed.iter().any(|p| p == must),
            "{must} regressed:\n{}",
            report
                .iter()
                .find(|r| r.starts_with(&format!("FAIL {must}:")))
                .cloned()
                .unwrap_or_default()
        );
    }
}
