//! Evaluating parsed expressions against the variables.

use ferroflux_gocompat::glob::Pattern;

use crate::parse::{Func, Node};
use crate::{EvalError, MAX_GLOB_STEPS, MAX_OUTPUT};

pub(crate) struct Evaluator<'a, 'v> {
    pub(crate) lookup: &'a dyn Fn(&str) -> Option<&'v str>,
    pub(crate) strict: bool,
}

impl Evaluator<'_, '_> {
    pub(crate) fn eval(&self, node: &Node, out: &mut String) -> Result<(), EvalError> {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Func(f) => {
                // Arguments are expanded first, as Flux does: a strict-mode error in a
                // default is reported even when the default is not needed.
                let mut args = Vec::with_capacity(f.args.len());
                for a in &f.args {
                    let mut s = String::new();
                    self.eval(a, &mut s)?;
                    args.push(s);
                }
                let found = (self.lookup)(&f.param);
                if found.is_none()
                    && self.strict
                    && !matches!(
                        f.op.as_str(),
                        "-" | "+" | "=" | "?" | ":-" | ":+" | ":=" | ":?"
                    )
                {
                    return Err(EvalError::NotSet {
                        name: f.param.clone(),
                    });
                }
                let value = found.unwrap_or("");
                apply(f, value, &args, out)?;
            }
        }
        if out.len() > MAX_OUTPUT {
            return Err(EvalError::TooLarge);
        }
        Ok(())
    }
}

fn apply(f: &Func, v: &str, args: &[String], out: &mut String) -> Result<(), EvalError> {
    let arg = |i: usize| args.get(i).map(String::as_str);
    match (f.op.as_str(), arg(0), arg(1)) {
        (",", ..) => out.push_str(&map_first(v, |c| c.to_lowercase().collect())),
        (",,", ..) => out.push_str(&v.to_lowercase()),
        ("^", ..) => out.push_str(&map_first(v, |c| c.to_uppercase().collect())),
        ("^^", ..) => out.push_str(&v.to_uppercase()),
        ("#", None, _) => out.push_str(&v.len().to_string()),
        (op @ ("#" | "##" | "%" | "%%"), Some(pat), _) => {
            let (suffix, longest) = (op.starts_with('%'), op.len() == 2);
            out.push_str(&trim(&f.param, v, pat, suffix, longest)?);
        }
        (":", Some(p), len) => substring(&f.param, v, p, len, out)?,
        ("/#", Some(old), Some(new)) => match v.strip_prefix(old) {
            Some(rest) => {
                out.push_str(new);
                out.push_str(rest);
            }
            None => out.push_str(v),
        },
        ("/%", Some(old), Some(new)) => match v.strip_suffix(old) {
            Some(rest) => {
                out.push_str(rest);
                out.push_str(new);
            }
            None => out.push_str(v),
        },
        ("/", Some(old), new) => out.push_str(&v.replacen(old, new.unwrap_or(""), 1)),
        ("//", Some(old), new) => {
            let new = new.unwrap_or("");
            // Checked before building the string: this is the one form whose output
            // can grow multiplicatively.
            let grow = v
                .matches(old)
                .count()
                .saturating_mul(new.len().saturating_sub(old.len()));
            if v.len().saturating_add(grow).saturating_add(out.len()) > MAX_OUTPUT {
                return Err(EvalError::TooLarge);
            }
            out.push_str(&v.replace(old, new));
        }
        ("/#" | "/%", ..) => out.push_str(v),
        _ => {
            if v.is_empty() && !args.is_empty() {
                for a in args {
                    out.push_str(a);
                }
            } else {
                out.push_str(v);
            }
        }
    }
    Ok(())
}

fn map_first(v: &str, f: impl Fn(char) -> String) -> String {
    let mut chars = v.chars();
    match chars.next() {
        Some(c) => f(c) + chars.as_str(),
        None => String::new(),
    }
}

/// `${var:pos}` / `${var:pos:len}` on bytes, as Flux (and bash) count; an offset that
/// is not a number leaves the value unchanged.
fn substring(
    name: &str,
    v: &str,
    pos: &str,
    len: Option<&str>,
    out: &mut String,
) -> Result<(), EvalError> {
    let bytes = v.as_bytes();
    let n = bytes.len() as i64;
    let Ok(mut p) = pos.parse::<i64>() else {
        out.push_str(v);
        return Ok(());
    };
    if p < 0 {
        p = (n + p).max(0);
    }
    let end = match len {
        None => n,
        Some(l) => {
            let Ok(l) = l.parse::<i64>() else {
                out.push_str(v);
                return Ok(());
            };
            let end = p.saturating_add(l);
            // Flux only fails (a Go slice panic) when the end falls before the start
            // inside the value; past the end it returns the rest, as bash does.
            if end < p && end < n {
                return Err(EvalError::NegativeLength {
                    name: name.to_string(),
                    length: l,
                });
            }
            end.min(n)
        }
    };
    let p = p.min(n);
    let end = end.max(p);
    out.push_str(&String::from_utf8_lossy(&bytes[p as usize..end as usize]));
    Ok(())
}

/// Removes the shortest or longest non-empty prefix (or suffix) of `v` matching `pat`,
/// read as Go's `path.Match` with `*` also matching `/` (Flux's fork). A malformed
/// pattern leaves the value unchanged, as in Flux, which tries every prefix with a glob
/// match (quadratic in the value's length); one pass of an NFA finds them all here.
fn trim(name: &str, v: &str, pat: &str, suffix: bool, longest: bool) -> Result<String, EvalError> {
    let Ok(glob) = Pattern::new(pat).map(Pattern::crossing_slashes) else {
        return Ok(v.to_string());
    };
    let too_complex = |_| EvalError::PatternTooComplex {
        name: name.to_string(),
        pattern: pat.chars().take(40).collect(),
    };
    let cut = if suffix {
        glob.reversed()
            .prefix_match(v.char_indices().rev(), longest, MAX_GLOB_STEPS)
            .map_err(too_complex)?
    } else {
        let ends = v.char_indices().map(|(i, c)| (i + c.len_utf8(), c));
        glob.prefix_match(ends, longest, MAX_GLOB_STEPS)
            .map_err(too_complex)?
    };
    Ok(match cut {
        Some(i) if suffix => v[..i].to_string(),
        Some(i) => v[i..].to_string(),
        None => v.to_string(),
    })
}
