//! Values as Helm computes them: coalescing chart defaults with user values
//! (`null` deletes, maps merge, everything else replaces), globals flowing to
//! subcharts, dependency `condition`/`tags`/`alias` processing, `import-values`,
//! and `values.schema.json` validation.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value as J};

use ferroflux_gocompat::semver::{Constraints, Version};
use ferroflux_gotemplate::Value;

use crate::chart::{Chart, ImportValue};

/// A values tree.
pub type Values = Map<String, J>;

/// Converts a values tree to a template value: JSON floats stay float64 (values
/// files), JSON integers are int64 (`--set`).
pub fn to_template(j: &J) -> Value {
    match j {
        J::Null => Value::Nil,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => {
            if let Some(i) = n.as_i64().filter(|_| !n.is_f64()) {
                Value::Int64(i)
            } else {
                Value::Float(n.as_f64().unwrap_or(0.0))
            }
        }
        J::String(s) => Value::str(s),
        J::Array(a) => Value::list(a.iter().map(to_template).collect()),
        J::Object(o) => map_to_template(o),
    }
}

/// A values map as a template map.
pub fn map_to_template(o: &Values) -> Value {
    Value::map(
        o.iter()
            .map(|(k, v)| (k.clone(), to_template(v)))
            .collect::<BTreeMap<_, _>>(),
    )
}

/// Helm's `CoalesceValues`: `user` over the chart's defaults, and each
/// subchart's defaults under its name, with globals copied down.
pub fn coalesce_values(chart: &Chart, user: &Values) -> Result<Values, String> {
    let mut dest = user.clone();
    coalesce(chart, &mut dest, false, true)?;
    Ok(dest)
}

/// Helm's `MergeValues`: as [`coalesce_values`] but `null`s are kept.
fn merge_values(chart: &Chart) -> Result<Values, String> {
    let mut dest = Map::new();
    coalesce(chart, &mut dest, true, true)?;
    Ok(dest)
}

/// `top`: the release's own chart, whose defaults lose their `null`s when
/// coalescing (Helm's output shows none); a subchart's defaults keep theirs.
fn coalesce(chart: &Chart, dest: &mut Values, merge: bool, top: bool) -> Result<(), String> {
    coalesce_chart_values(chart, dest, merge, top && !merge);
    coalesce_deps(chart, dest, merge)
}

fn coalesce_deps(chart: &Chart, dest: &mut Values, merge: bool) -> Result<(), String> {
    for sub in &chart.dependencies {
        let name = sub.name().to_string();
        let mut dv = match dest.remove(&name) {
            None => Map::new(),
            Some(J::Object(m)) => m,
            Some(other) => {
                let shown = other.to_string();
                dest.insert(name.clone(), other);
                return Err(format!("type mismatch on {name}: %!t({shown})"));
            }
        };
        coalesce_globals(&mut dv, dest);
        let r = coalesce(sub, &mut dv, merge, false);
        dest.insert(name, J::Object(dv));
        r?;
    }
    Ok(())
}

fn coalesce_globals(dest: &mut Values, src: &Values) {
    let mut dg = match dest.get("global") {
        None => Map::new(),
        Some(J::Object(m)) => m.clone(),
        Some(_) => return,
    };
    let empty = Map::new();
    let sg = match src.get("global") {
        None => &empty,
        Some(J::Object(m)) => m,
        Some(_) => return,
    };
    for (key, val) in sg {
        match val {
            J::Object(vm) => {
                let mut vv = vm.clone();
                match dg.get(key) {
                    None => {
                        dg.insert(key.clone(), J::Object(vv));
                    }
                    Some(J::Object(destv)) => {
                        coalesce_tables(&mut vv, destv.clone(), true, false);
                        dg.insert(key.clone(), J::Object(vv));
                    }
                    Some(_) => {}
                }
            }
            _ => {
                if !matches!(dg.get(key), Some(J::Object(_))) {
                    dg.insert(key.clone(), val.clone());
                }
            }
        }
    }
    dest.insert("global".into(), J::Object(dg));
}

fn coalesce_chart_values(chart: &Chart, v: &mut Values, merge: bool, strip: bool) {
    for (key, val) in &chart.values {
        match v.get_mut(key) {
            Some(J::Null) if !merge => {
                v.remove(key);
            }
            Some(J::Object(dest)) => {
                if let J::Object(src) = val {
                    let merge = merge || chart.dependencies.iter().any(|d| d.name() == key);
                    coalesce_tables(dest, src.clone(), merge, strip);
                }
            }
            Some(_) => {}
            None => {
                if let Some(val) = default_copy(val, !strip) {
                    v.insert(key.clone(), val);
                }
            }
        }
    }
}

/// A default copied where the user gave nothing, without its `null`s (in maps,
/// at any depth) unless `keep`.
fn default_copy(val: &J, keep: bool) -> Option<J> {
    if keep {
        return Some(val.clone());
    }
    match val {
        J::Null => None,
        J::Object(m) => Some(J::Object(
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), default_copy(v, false)?)))
                .collect(),
        )),
        other => Some(other.clone()),
    }
}

/// Helm's `coalesceTablesFullKey`: `dst` wins over `src`; maps merge; a `null`
/// in `dst` deletes the key unless merging.
fn coalesce_tables(dst: &mut Values, src: Values, merge: bool, strip: bool) {
    let nulls: BTreeSet<String> = dst
        .iter()
        .filter(|(_, v)| v.is_null())
        .map(|(k, _)| k.clone())
        .collect();
    if !merge {
        dst.retain(|_, v| !v.is_null());
    }
    for (key, val) in src {
        if nulls.contains(&key) {
            continue;
        }
        match dst.get_mut(&key) {
            None => {
                if let Some(val) = default_copy(&val, !strip) {
                    dst.insert(key, val);
                }
            }
            Some(J::Object(dv)) => {
                if let J::Object(sv) = val {
                    coalesce_tables(dv, sv, merge, strip);
                }
            }
            Some(_) => {}
        }
    }
}

/// Helm's `MergeTables`: `dst` wins, `null`s kept.
fn merge_tables(mut dst: Values, src: Values) -> Values {
    coalesce_tables(&mut dst, src, true, false);
    dst
}

/// A table at a dotted path (`Values.Table`).
fn table<'a>(v: &'a Values, path: &str) -> Option<&'a Values> {
    let mut cur = v;
    for part in path.split('.') {
        match cur.get(part) {
            Some(J::Object(m)) => cur = m,
            _ => return None,
        }
    }
    Some(cur)
}

/// `Values.PathValue`: a non-table value at a dotted path.
fn path_value<'a>(v: &'a Values, path: &str) -> Option<&'a J> {
    let (head, key) = match path.rsplit_once('.') {
        Some((h, k)) => (Some(h), k),
        None => (None, path),
    };
    let t = match head {
        Some(h) => table(v, h)?,
        None => v,
    };
    match t.get(key) {
        Some(J::Object(_)) | None => None,
        Some(x) => Some(x),
    }
}

fn compatible(constraint: &str, version: &str) -> bool {
    match (Constraints::parse(constraint), Version::parse(version)) {
        (Ok(c), Ok(v)) => c.check(&v),
        _ => false,
    }
}

/// The dependencies declared but not found in `charts/` (by chart name).
pub fn check_dependencies(chart: &Chart) -> Result<(), String> {
    let missing: Vec<&str> = chart
        .metadata
        .dependencies
        .iter()
        .filter(|r| !chart.dependencies.iter().any(|d| d.name() == r.name))
        .map(|r| r.name.as_str())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "chart dependencies are missing; run dependency update/build first: found in Chart.yaml, but missing in charts/ directory: {}",
            missing.join(", ")
        ))
    }
}

/// Helm's `ProcessDependenciesWithMerge`: aliases applied, disabled dependencies
/// (conditions, tags) removed, `import-values` merged into the parents' defaults.
pub fn process_dependencies(chart: &mut Chart, user: &Values) -> Result<(), String> {
    process_enabled(chart, user, "")?;
    process_imports(chart)
}

fn process_enabled(c: &mut Chart, v: &Values, path: &str) -> Result<(), String> {
    if c.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let existing = std::mem::take(&mut c.dependencies);
    let mut deps: Vec<Chart> = existing
        .iter()
        .filter(|e| {
            !c.metadata
                .dependencies
                .iter()
                .any(|r| e.name() == r.name && compatible(&r.version, &e.metadata.version))
        })
        .cloned()
        .collect();
    for r in c.metadata.dependencies.iter_mut() {
        if let Some(found) = existing
            .iter()
            .find(|e| e.name() == r.name && compatible(&r.version, &e.metadata.version))
        {
            let mut copy = found.clone();
            if !r.alias.is_empty() {
                copy.metadata.name = r.alias.clone();
            }
            deps.push(copy);
        }
        if !r.alias.is_empty() {
            r.name = r.alias.clone();
        }
        r.enabled = true;
    }
    c.dependencies = deps;
    let cvals = coalesce_values(c, v)?;
    // tags, then conditions (which win)
    if let Some(J::Object(tags)) = cvals.get("tags") {
        for r in c.metadata.dependencies.iter_mut() {
            let (mut t, mut f) = (false, false);
            for k in &r.tags {
                match tags.get(k) {
                    Some(J::Bool(true)) => t = true,
                    Some(J::Bool(false)) => f = true,
                    _ => {}
                }
            }
            r.enabled = t || !f;
        }
    }
    for r in c.metadata.dependencies.iter_mut() {
        for cond in r.condition.trim().split(',') {
            if cond.is_empty() {
                continue;
            }
            if let Some(J::Bool(b)) = path_value(&cvals, &format!("{path}{cond}")) {
                r.enabled = *b;
                break;
            }
        }
    }
    let off: BTreeSet<String> = c
        .metadata
        .dependencies
        .iter()
        .filter(|r| !r.enabled)
        .map(|r| r.name.clone())
        .collect();
    c.dependencies.retain(|d| !off.contains(d.name()));
    c.metadata.dependencies.retain(|r| !off.contains(&r.name));
    for t in c.dependencies.iter_mut() {
        let sub = format!("{path}{}.", t.name());
        process_enabled(t, &cvals, &sub)?;
    }
    Ok(())
}

fn path_to_map(path: &str, data: Values) -> Values {
    if path == "." {
        return data;
    }
    let mut cur = data;
    for p in path.split('.').rev() {
        let mut m = Map::new();
        m.insert(p.to_string(), J::Object(cur));
        cur = m;
    }
    cur
}

fn go_string(v: &J) -> String {
    match v {
        J::String(s) => s.clone(),
        J::Null => "<nil>".into(),
        other => other.to_string(),
    }
}

fn process_imports(c: &mut Chart) -> Result<(), String> {
    for d in c.dependencies.iter_mut() {
        process_imports(d)?;
    }
    if c.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let cvals = merge_values(c)?;
    let mut b = Map::new();
    for r in &c.metadata.dependencies {
        for iv in &r.import_values {
            match iv {
                ImportValue::Map { child, parent } => {
                    let (child, parent) = (go_string(child), go_string(parent));
                    if let Some(vv) = table(&cvals, &format!("{}.{child}", r.name)) {
                        b = merge_tables(b, path_to_map(&parent, vv.clone()));
                    }
                }
                ImportValue::Export(name) => {
                    if let Some(vm) = table(&cvals, &format!("{}.exports.{name}", r.name)) {
                        b = merge_tables(b, vm.clone());
                    }
                }
            }
        }
    }
    c.values = merge_tables(cvals, b);
    Ok(())
}

/// Validates `values` against the chart's `values.schema.json` and its
/// subcharts' (each with its own section), in Helm's message shape.
pub fn validate_schemas(chart: &Chart, values: &Values) -> Result<(), String> {
    let mut out = String::new();
    validate_into(chart, values, &mut out)?;
    if out.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "values don't meet the specifications of the schema(s) in the following chart(s):\n{out}"
        ))
    }
}

fn validate_into(chart: &Chart, values: &Values, out: &mut String) -> Result<(), String> {
    if let Some(schema) = &chart.schema {
        let errs = crate::schema::validate(schema, values)?;
        if !errs.is_empty() {
            out.push_str(&format!("{}:\n", chart.name()));
            for e in errs {
                out.push_str(&format!("- at '{}': {}\n", e.0, e.1));
            }
        }
    }
    for sub in &chart.dependencies {
        let empty = Map::new();
        let sv = match values.get(sub.name()) {
            Some(J::Object(m)) => m,
            _ => &empty,
        };
        validate_into(sub, sv, out)?;
    }
    Ok(())
}
