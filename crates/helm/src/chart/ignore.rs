//! `.helmignore`: Helm's ignore rules (not `.gitignore`'s). One pattern a line,
//! `#` comments, `!` negates, a trailing `/` matches directories only, a leading
//! `/` anchors at the chart root, a pattern with a `/` matches the whole path and
//! one without matches the base name; patterns are Go's `filepath.Match`, and
//! `**` is refused.

use ferroflux_gocompat::glob::Pattern;

#[derive(Debug, Clone)]
struct Rule {
    negate: bool,
    must_dir: bool,
    whole_path: bool,
    pattern: Pattern,
}

/// A parsed `.helmignore`.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    rules: Vec<Rule>,
}

impl Rules {
    /// Helm's defaults: dot files under `templates/` are never templates.
    pub fn defaults() -> Rules {
        let mut r = Rules::default();
        r.add("templates/.?*").expect("default rule");
        r
    }

    /// Parses `.helmignore` text, adding its rules after the defaults.
    pub fn parse(text: &str) -> Result<Rules, String> {
        let mut r = Rules::defaults();
        for line in text.lines() {
            r.add(line)?;
        }
        Ok(r)
    }

    fn add(&mut self, line: &str) -> Result<(), String> {
        let mut rule = line.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err("double-star (**) syntax is not supported".into());
        }
        let negate = rule.starts_with('!');
        if negate {
            rule = &rule[1..];
        }
        let must_dir = rule.ends_with('/');
        if must_dir {
            rule = &rule[..rule.len() - 1];
        }
        let whole_path = rule.contains('/');
        let rule = rule.strip_prefix('/').unwrap_or(rule);
        let pattern = Pattern::new(rule).map_err(|e| format!("{e}: {line}"))?;
        self.rules.push(Rule {
            negate,
            must_dir,
            whole_path,
            pattern,
        });
        Ok(())
    }

    /// Whether `path` (relative, `/`-separated) is ignored.
    pub fn ignored(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        let base = path.rsplit('/').next().unwrap_or(path);
        for r in &self.rules {
            let subject = if r.whole_path { path } else { base };
            if r.negate {
                if r.must_dir && !is_dir {
                    return true;
                }
                if !r.pattern.is_match(subject) {
                    return true;
                }
                continue;
            }
            if r.must_dir && !is_dir {
                continue;
            }
            if r.pattern.is_match(subject) {
                return true;
            }
        }
        false
    }
}
