//! `helm template` of conformance cases, timed in-process: chart loaded from its
//! directory, values read, dependencies, values, rendering and manifest, N times.
//! Usage: template_bench OUT.json N CASE_DIR... (writes each case's manifest, or
//! its error, from the first round; prints `seconds S first F`, F the first
//! round's time alone).

use std::collections::BTreeMap;
use std::path::Path;

use ferroflux_helm::chart::{LoadLimits, load_dir};
use ferroflux_helm::{TemplateOptions, template};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out = &args[1];
    let n: usize = args[2].parse().expect("iterations");
    let cases: Vec<(String, serde_json::Value, String)> = args[3..]
        .iter()
        .map(|d| {
            let dir = Path::new(d);
            let meta: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap())
                    .unwrap();
            let values = std::fs::read_to_string(dir.join("values.yaml")).unwrap_or_default();
            (d.clone(), meta, values)
        })
        .collect();
    let mut results = BTreeMap::new();
    let start = std::time::Instant::now();
    let mut first = 0.0;
    for i in 0..n {
        for (dir, meta, values) in &cases {
            let opts = TemplateOptions {
                release_name: meta["release"].as_str().unwrap_or("rel").into(),
                namespace: meta["namespace"].as_str().unwrap_or("default").into(),
                kube_version: meta["kube_version"].as_str().map(String::from),
                api_versions: meta["api_versions"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default(),
                ..TemplateOptions::default()
            };
            let r =
                ferroflux_helm::strvals::merge_sources(std::slice::from_ref(values), &[], &[], &[])
                    .and_then(|user| {
                        let chart = load_dir(&Path::new(dir).join("chart"), &LoadLimits::default())
                            .map_err(|e| e.to_string())?;
                        template(&chart, &user, &opts).map_err(|e| e.to_string())
                    });
            if i == 0 {
                let v = match r {
                    Ok(r) => r.manifest,
                    Err(e) => format!("ERROR: {e}"),
                };
                results.insert(dir.clone(), v);
            }
        }
        if i == 0 {
            first = start.elapsed().as_secs_f64();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    std::fs::write(out, serde_json::to_string(&results).unwrap()).unwrap();
    println!("seconds {secs:.6} first {first:.6}");
}
