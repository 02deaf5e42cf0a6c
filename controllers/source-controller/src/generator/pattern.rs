//! `spec.pathPattern`: `@alias/apps/{app}/envs/{env}` finds the directories
//! of an unpacked source that match (each `{capture}` is one path segment)
//! and turns the output artifacts into templates, rendered once per match:
//! names with the captures lowercased (they must stay valid object names),
//! `from`/`to` with the captures as found (paths keep their case). The
//! lowercased captures become the generated ExternalArtifacts' labels, so
//! they must be valid label values.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use ferroflux_api::source_extensions::v1beta1::OutputArtifact;

/// One output artifact rendered for one matching directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expanded {
    /// The artifact with its name and copy operations rendered.
    pub artifact: OutputArtifact,
    /// The captures (lowercased), set as labels.
    pub labels: BTreeMap<String, String>,
}

/// Every artifact of `artifacts` rendered for every directory of the
/// unpacked `sources` that `path_pattern` matches, in path order. Errors
/// name the pattern and what is wrong; none heals without a spec or
/// source change.
pub fn expand(
    path_pattern: &str,
    artifacts: &[OutputArtifact],
    sources: &BTreeMap<String, PathBuf>,
) -> Result<Vec<Expanded>, String> {
    let fail = |m: String| format!("pathPattern '{path_pattern}': {m}");
    let (alias, pattern) = path_pattern
        .strip_prefix('@')
        .and_then(|r| r.split_once('/'))
        .ok_or_else(|| fail("must be '@alias/<pattern>'".to_string()))?;
    let root = sources
        .get(alias)
        .ok_or_else(|| fail(format!("source alias '{alias}' not found")))?;
    let names = captures(pattern).map_err(&fail)?;
    for name in &names {
        if !is_label_name(name) {
            return Err(fail(format!(
                "capture variable '{name}' is not a valid Kubernetes label key"
            )));
        }
    }
    let mut regex = String::from("^");
    let mut rest = pattern.trim_end_matches('/');
    while let Some(start) = rest.find('{') {
        regex.push_str(&regex::escape(&rest[..start]));
        let end = rest[start..]
            .find('}')
            .map(|e| start + e)
            .unwrap_or(rest.len());
        regex.push_str(&format!("(?P<{}>[^/]+)", &rest[start + 1..end]));
        rest = rest.get(end + 1..).unwrap_or_default();
    }
    regex.push_str(&regex::escape(rest));
    regex.push('$');
    let matcher = regex::Regex::new(&regex).map_err(|e| fail(e.to_string()))?;

    let mut dirs = Vec::new();
    directories(root, Path::new(""), &mut dirs).map_err(&fail)?;
    let mut out = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for dir in dirs {
        let Some(m) = matcher.captures(&dir) else {
            continue;
        };
        let raw: BTreeMap<String, String> = names
            .iter()
            .filter_map(|n| m.name(n).map(|v| (n.clone(), v.as_str().to_string())))
            .collect();
        let lower: BTreeMap<String, String> = raw
            .iter()
            .map(|(k, v)| (k.clone(), v.to_lowercase()))
            .collect();
        for (k, v) in &lower {
            if !is_label_value(v) {
                return Err(fail(format!(
                    "captured value '{v}' for variable '{k}' is not a valid Kubernetes label value"
                )));
            }
        }
        for template in artifacts {
            let mut a = template.clone();
            a.name = render(&template.name, &lower).map_err(&fail)?;
            if !is_object_name(&a.name) {
                return Err(fail(format!(
                    "rendered artifact name '{}' is not a valid Kubernetes object name",
                    a.name
                )));
            }
            if let Some(previous) = seen.insert(a.name.clone(), dir.clone()) {
                return Err(fail(format!(
                    "directories '{previous}' and '{dir}' both resolve to artifact name '{}'",
                    a.name
                )));
            }
            for c in &mut a.copy {
                c.from = render(&c.from, &raw).map_err(&fail)?;
                c.to = render(&c.to, &raw).map_err(&fail)?;
            }
            out.push(Expanded {
                artifact: a,
                labels: lower.clone(),
            });
        }
    }
    Ok(out)
}

/// The capture names of `pattern`, checked: `[A-Za-z_][A-Za-z0-9_]*`,
/// braces balanced, no name twice.
fn captures(pattern: &str) -> Result<Vec<String>, String> {
    let mut names: Vec<String> = Vec::new();
    let mut rest = pattern;
    loop {
        let open = rest.find('{');
        let close = rest.find('}');
        match (open, close) {
            (None, None) => return Ok(names),
            (None, Some(_)) => return Err("a '}' without its '{'".to_string()),
            (Some(o), Some(c)) if c < o => return Err("a '}' without its '{'".to_string()),
            (Some(_), None) => return Err("a '{' without its '}'".to_string()),
            (Some(o), Some(c)) => {
                let name = &rest[o + 1..c];
                if !is_capture_name(name) {
                    return Err(format!(
                        "capture variable '{name}' must match [A-Za-z_][A-Za-z0-9_]*"
                    ));
                }
                if names.iter().any(|n| n == name) {
                    return Err(format!("duplicate capture variable '{name}'"));
                }
                names.push(name.to_string());
                rest = &rest[c + 1..];
            }
        }
    }
}

fn is_capture_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `tmpl` with each `{name}` replaced by its value in `data`.
fn render(tmpl: &str, data: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = tmpl;
    while let Some(o) = rest.find('{') {
        out.push_str(&rest[..o]);
        let c = rest[o..]
            .find('}')
            .map(|c| o + c)
            .ok_or_else(|| format!("'{tmpl}': a '{{' without its '}}'"))?;
        let name = &rest[o + 1..c];
        let value = data
            .get(name)
            .ok_or_else(|| format!("'{tmpl}': capture variable '{name}' is not in the pattern"))?;
        out.push_str(value);
        rest = &rest[c + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Every directory below `root/rel` (symlinks not followed), as `/`
/// paths from `root`, sorted.
fn directories(root: &Path, rel: &Path, out: &mut Vec<String>) -> Result<(), String> {
    let dir = root.join(rel);
    let mut entries: Vec<_> = fs::read_dir(&dir)
        .and_then(|d| d.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("listing {}: {e}", rel.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            let path = rel.join(e.file_name());
            out.push(path.to_string_lossy().into_owned());
            directories(root, &path, out)?;
        }
    }
    Ok(())
}

/// A label value: at most 63 characters, alphanumerics at both ends,
/// `-`, `_` and `.` inside.
fn is_label_value(s: &str) -> bool {
    s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && s.chars().next().is_none_or(|c| c.is_ascii_alphanumeric())
        && s.chars().last().is_none_or(|c| c.is_ascii_alphanumeric())
}

/// A label key without prefix: a non-empty label value.
fn is_label_name(s: &str) -> bool {
    !s.is_empty() && is_label_value(s)
}

/// A DNS subdomain: at most 253 characters, dot-separated lowercase
/// alphanumeric labels with inner `-`.
fn is_object_name(s: &str) -> bool {
    s.len() <= 253
        && s.split('.').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !part.starts_with('-')
                && !part.ends_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferroflux_api::source_extensions::v1beta1::CopyOperation;

    fn template() -> OutputArtifact {
        OutputArtifact {
            name: "{app}-{env}".into(),
            copy: vec![CopyOperation {
                from: "@mono/apps/{app}/envs/{env}/**".into(),
                to: "@artifact/".into(),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn source(dirs: &[&str]) -> (tempfile::TempDir, BTreeMap<String, PathBuf>) {
        let t = tempfile::tempdir().unwrap();
        for d in dirs {
            fs::create_dir_all(t.path().join(d)).unwrap();
        }
        let sources = BTreeMap::from([("mono".to_string(), t.path().to_path_buf())]);
        (t, sources)
    }

    #[test]
    fn one_artifact_per_matching_directory() {
        let (_t, s) = source(&[
            "apps/Auth/envs/prod",
            "apps/web/envs/dev",
            "apps/web/envs/prod/nested",
            "apps/web/other",
        ]);
        let out = expand("@mono/apps/{app}/envs/{env}", &[template()], &s).unwrap();
        let names: Vec<&str> = out.iter().map(|e| e.artifact.name.as_str()).collect();
        assert_eq!(names, ["auth-prod", "web-dev", "web-prod"]);
        // Paths keep their case; names and labels are lowercased.
        assert_eq!(out[0].artifact.copy[0].from, "@mono/apps/Auth/envs/prod/**");
        assert_eq!(
            out[0].labels,
            BTreeMap::from([("app".into(), "auth".into()), ("env".into(), "prod".into())])
        );
    }

    #[test]
    fn bad_patterns_captures_and_collisions_are_errors() {
        let (_t, s) = source(&[
            "apps/Auth/envs/prod",
            "apps/auth/envs/prod",
            "apps/.hidden/envs/x",
        ]);
        let err = expand("@mono/apps/{app}/envs/{env}", &[template()], &s).unwrap_err();
        assert!(err.contains("'.hidden'"), "{err}");
        let (_t, s) = source(&["apps/Auth/envs/prod", "apps/auth/envs/prod"]);
        let err = expand("@mono/apps/{app}/envs/{env}", &[template()], &s).unwrap_err();
        assert!(
            err.contains("both resolve to artifact name 'auth-prod'"),
            "{err}"
        );
        for (pattern, want) in [
            ("@other/{app}", "alias 'other' not found"),
            ("mono/{app}", "@alias"),
            ("@mono/{app", "without its '}'"),
            ("@mono/{a}/{a}", "duplicate capture variable 'a'"),
            ("@mono/{_x}", "label key"),
            ("@mono/{a-b}", "must match"),
        ] {
            let err = expand(pattern, &[template()], &s).unwrap_err();
            assert!(err.contains(want), "{pattern}: {err}");
        }
        let mut t = template();
        t.name = "{nope}".into();
        let err = expand("@mono/apps/{app}/envs/{env}", &[t], &s).unwrap_err();
        assert!(err.contains("'nope' is not in the pattern"), "{err}");
    }
}
