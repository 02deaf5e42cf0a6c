//! Renders the templates of real charts with their default values, many times,
//! for `hack/bench/gotemplate` (the Helm SDK renders the same charts in the same run).
//!
//! A minimal chart loader, as the bench needs and no more: every file under
//! `templates/` of the chart and of its unpacked subcharts (`charts/*/templates/`)
//! parsed into one set, named as Helm names them and in Helm's parse order;
//! `.Values` from `values.yaml`; `.Chart`, `.Release`, `.Template`, `.Files`
//! (`Get`) and `.Capabilities` (as the SDK reports them, from a JSON file) as plain
//! data, `APIVersions.Has` through the method hook. Only the chart's own templates
//! are rendered (subcharts' values are not coalesced here).
//!
//! Usage: render_bench CAPS.json OUT.json ITERATIONS CHART_DIR:RELEASE:NAMESPACE...
//! OUT.json gets {template name: output or "ERROR: message"}; the time taken by the
//! iterations (parse and render of every chart) goes to stdout as `seconds N`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;

use ferroflux_gotemplate::yaml::values_from_yaml;
use ferroflux_gotemplate::{Methods, Templates, Value};

const FILES_MARK: &str = "\u{0}files";

struct Chart {
    name: String,
    meta: Value,
    values: Value,
    templates: Vec<(String, String)>,
    files: BTreeMap<String, Value>,
    release: String,
    namespace: String,
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
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

/// Helm's coalescing drops the `null`s of a chart's default values (maps only).
fn drop_nulls(v: &Value) -> Value {
    match v {
        Value::Map(m) => Value::map(
            m.borrow()
                .iter()
                .filter(|(_, x)| !matches!(x, Value::Nil))
                .map(|(k, x)| (k.clone(), drop_nulls(x)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn load(spec: &str) -> Chart {
    let mut parts = spec.split(':');
    let dir = PathBuf::from(parts.next().expect("chart dir"));
    let release = parts.next().unwrap_or("rel").to_string();
    let namespace = parts.next().unwrap_or("default").to_string();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    let meta = values_from_yaml(&read(&dir.join("Chart.yaml"))).expect("Chart.yaml");
    let name = match &meta {
        Value::Map(m) => m
            .borrow()
            .get("name")
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        _ => String::new(),
    };
    let values =
        drop_nulls(&values_from_yaml(&read(&dir.join("values.yaml"))).expect("values.yaml"));
    let mut paths = vec![];
    walk(&dir, &mut paths);
    let mut templates = vec![];
    let mut files = BTreeMap::new();
    for p in paths {
        let rel = p
            .strip_prefix(&dir)
            .expect("under dir")
            .to_string_lossy()
            .into_owned();
        let text = read(&p);
        let is_template = rel.starts_with("templates/")
            || (rel.starts_with("charts/") && rel.split('/').nth(2) == Some("templates"));
        if is_template {
            templates.push((format!("{name}/{rel}"), text));
        } else if !rel.starts_with("charts/") {
            files.insert(rel, Value::str(text));
        }
    }
    // Helm parses deeper paths first, then in reverse lexical order
    templates.sort_by(|a, b| {
        let da = a.0.matches('/').count();
        let db = b.0.matches('/').count();
        db.cmp(&da).then(b.0.cmp(&a.0))
    });
    Chart {
        name,
        meta,
        values,
        templates,
        files,
        release,
        namespace,
    }
}

fn methods() -> Methods {
    Methods(Rc::new(|recv: &Value, name: &str, args: &[Value]| {
        match (recv, name) {
            (Value::List(l), "Has") => {
                let want = args.first().and_then(|a| a.as_str()).unwrap_or("");
                Some(Ok(Value::Bool(l.iter().any(|v| v.as_str() == Some(want)))))
            }
            (Value::Map(m), "Get") if m.borrow().contains_key(FILES_MARK) => {
                let want = args.first().and_then(|a| a.as_str()).unwrap_or("");
                Some(Ok(m.borrow().get(want).cloned().unwrap_or(Value::str(""))))
            }
            _ => None,
        }
    }))
}

fn render(chart: &Chart, caps: &Value, out: &mut BTreeMap<String, String>) {
    let mut set = Templates::helm();
    set.methods = Some(methods());
    for (name, text) in &chart.templates {
        if let Err(e) = set.parse(name, text) {
            out.insert(name.clone(), format!("ERROR: {}", e.helm_message()));
            return;
        }
    }
    let mut files = chart.files.clone();
    files.insert(FILES_MARK.to_string(), Value::Bool(true));
    let files = Value::map(files);
    let chart_value = go_field_names(&chart.meta);
    let own = format!("{}/templates/", chart.name);
    for (name, _) in &chart.templates {
        let base = name.rsplit('/').next().unwrap_or("");
        if !name.starts_with(&own) || base.starts_with('_') {
            continue;
        }
        let mut top = BTreeMap::new();
        top.insert("Values".to_string(), chart.values.clone());
        top.insert("Chart".to_string(), chart_value.clone());
        top.insert("Capabilities".to_string(), caps.clone());
        top.insert("Files".to_string(), files.clone());
        let mut release = BTreeMap::new();
        release.insert("Name".to_string(), Value::str(&chart.release));
        release.insert("Namespace".to_string(), Value::str(&chart.namespace));
        release.insert("IsInstall".to_string(), Value::Bool(true));
        release.insert("IsUpgrade".to_string(), Value::Bool(false));
        release.insert("Revision".to_string(), Value::Int(1));
        release.insert("Service".to_string(), Value::str("Helm"));
        top.insert("Release".to_string(), Value::map(release));
        let mut tmpl = BTreeMap::new();
        tmpl.insert("Name".to_string(), Value::str(name));
        tmpl.insert(
            "BasePath".to_string(),
            Value::str(format!("{}/templates", chart.name)),
        );
        top.insert("Template".to_string(), Value::map(tmpl));
        let text = match set.execute(name, &Value::map(top)) {
            Ok(t) => t,
            Err(e) => format!("ERROR: {}", e.helm_message()),
        };
        out.insert(name.clone(), text);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!(
            "usage: render_bench CAPS.json OUT.json ITERATIONS CHART_DIR:RELEASE:NAMESPACE..."
        );
        std::process::exit(2);
    }
    let caps_json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&args[1]).expect("caps")).expect("caps json");
    let caps = Value::from_json(&caps_json);
    let iterations: usize = args[3].parse().expect("iterations");
    let charts: Vec<Chart> = args[4..].iter().map(|s| load(s)).collect();
    let mut out = BTreeMap::new();
    let start = Instant::now();
    for i in 0..iterations {
        for c in &charts {
            if i == 0 {
                render(c, &caps, &mut out);
            } else {
                render(c, &caps, &mut BTreeMap::new());
            }
        }
    }
    let secs = start.elapsed().as_secs_f64();
    std::fs::write(&args[2], serde_json::to_string(&out).expect("json")).expect("write out");
    println!("seconds {secs:.6}");
}
