//! Sprig's `semver` and `semverCompare`: Masterminds/semver v3's parsing and constraint
//! rules, written here (the `semver` crate's rules differ: a bare `1.2.3` is `^1.2.3`
//! there and `=1.2.3` in Masterminds; `x` wildcards, hyphen ranges and `||` are not Cargo's).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::OnceLock;

use regex::Regex;

use super::{Arity::Exact, FnResult, P, Table, def};
use crate::value::Value;

/// A parsed version (Masterminds' `Version`).
#[derive(Debug, Clone)]
struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    metadata: String,
    original: String,
}

const INVALID: &str = "invalid semantic version";

fn version_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    R.get_or_init(|| {
        Regex::new(
            r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$",
        )
        .expect("version regex")
    })
}

fn parse_version(s: &str) -> Result<Version, String> {
    let m = version_re().captures(s).ok_or(INVALID)?;
    let num = |i: usize| -> Result<u64, String> {
        let Some(x) = m.get(i) else { return Ok(0) };
        let d = x.as_str().trim_start_matches('.');
        d.parse::<u64>().map_err(|_| {
            format!(
                "error parsing version segment: strconv.ParseUint: parsing {}: value out of range",
                crate::gofmt::quote(d)
            )
        })
    };
    let (major, minor, patch) = (num(1)?, num(2)?, num(3)?);
    let pre = m.get(5).map_or("", |x| x.as_str()).to_string();
    // numeric prerelease identifiers may not have leading zeros
    for part in pre.split('.') {
        if part.len() > 1 && part.starts_with('0') && part.bytes().all(|b| b.is_ascii_digit()) {
            return Err("version segment starts with 0".to_string());
        }
    }
    Ok(Version {
        major,
        minor,
        patch,
        pre,
        metadata: m.get(8).map_or("", |x| x.as_str()).to_string(),
        original: s.to_string(),
    })
}

fn compare_pre_part(a: &str, b: &str) -> Ordering {
    let an = a.parse::<u64>();
    let bn = b.parse::<u64>();
    match (an, bn) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        _ => a.cmp(b),
    }
}

fn compare_pre(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    if a.is_empty() {
        return Ordering::Greater;
    }
    if b.is_empty() {
        return Ordering::Less;
    }
    let ap: Vec<&str> = a.split('.').collect();
    let bp: Vec<&str> = b.split('.').collect();
    for (x, y) in ap.iter().zip(bp.iter()) {
        let c = compare_pre_part(x, y);
        if c != Ordering::Equal {
            return c;
        }
    }
    ap.len().cmp(&bp.len())
}

impl Version {
    fn compare(&self, o: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| compare_pre(&self.pre, &o.pre))
    }
}

/// One constraint (`>=1.2.x`).
struct Constraint {
    op: String,
    con: Version,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

struct Res {
    constraint: Regex,
    range: Regex,
    find: Regex,
    valid: Regex,
}

fn res() -> &'static Res {
    static R: OnceLock<Res> = OnceLock::new();
    R.get_or_init(|| Res {
        constraint: Regex::new(&format!(r"^\s*({OPS})\s*({CV})\s*$")).expect("re"),
        range: Regex::new(&format!(r"\s*({CV})\s+-\s+({CV})\s*")).expect("re"),
        find: Regex::new(&format!(r"({OPS})\s*({CV})")).expect("re"),
        valid: Regex::new(&format!(
            r"^(\s*({OPS})\s*({CV})\s*)((?:\s+|,\s*)({OPS})\s*({CV})\s*)*$"
        ))
        .expect("re"),
    })
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

fn parse_constraint(c: &str) -> Result<Constraint, String> {
    if c.is_empty() {
        return Ok(Constraint {
            op: String::new(),
            con: parse_version("0.0.0")?,
            minor_dirty: false,
            patch_dirty: false,
            dirty: true,
        });
    }
    let m = res()
        .constraint
        .captures(c)
        .ok_or_else(|| format!("improper constraint: {}", crate::gofmt::quote(c)))?;
    let g = |i: usize| m.get(i).map_or("", |x| x.as_str());
    let (mut minor_dirty, mut patch_dirty, mut dirty) = (false, false, false);
    let mut ver = g(2).to_string();
    if is_x(g(3)) || g(3).is_empty() {
        ver = format!("0.0.0{}", g(6));
        dirty = true;
    } else if is_x(g(4).trim_start_matches('.')) || g(4).is_empty() {
        minor_dirty = true;
        dirty = true;
        ver = format!("{}.0.0{}", g(3), g(6));
    } else if is_x(g(5).trim_start_matches('.')) || g(5).is_empty() {
        dirty = true;
        patch_dirty = true;
        ver = format!("{}{}.0{}", g(3), g(4), g(6));
    }
    let con = parse_version(&ver).map_err(|_| "constraint parser error".to_string())?;
    Ok(Constraint {
        op: g(1).to_string(),
        con,
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

fn tilde(v: &Version, c: &Constraint) -> bool {
    if v.compare(&c.con) == Ordering::Less {
        return false;
    }
    if c.con.major == 0 && c.con.minor == 0 && c.con.patch == 0 && !c.minor_dirty && !c.patch_dirty
    {
        return true;
    }
    if v.major != c.con.major {
        return false;
    }
    v.minor == c.con.minor || c.minor_dirty
}

fn check(v: &Version, c: &Constraint, include_pre: bool) -> bool {
    if !v.pre.is_empty() && !include_pre {
        return false;
    }
    let cmp = v.compare(&c.con);
    match c.op.as_str() {
        "!=" => {
            if c.dirty {
                if c.con.major != v.major {
                    return true;
                }
                if c.con.minor != v.minor && !c.minor_dirty {
                    return true;
                } else if c.minor_dirty {
                    return false;
                } else if c.con.patch != v.patch && !c.patch_dirty {
                    return true;
                } else if c.patch_dirty {
                    if !v.pre.is_empty() || !c.con.pre.is_empty() {
                        return compare_pre(&v.pre, &c.con.pre) != Ordering::Equal;
                    }
                    return false;
                }
            }
            cmp != Ordering::Equal
        }
        ">" => {
            if !c.dirty {
                return cmp == Ordering::Greater;
            }
            if v.major > c.con.major {
                true
            } else if v.major < c.con.major || c.minor_dirty {
                false
            } else if c.patch_dirty {
                v.minor > c.con.minor
            } else {
                cmp == Ordering::Greater
            }
        }
        "<" => cmp == Ordering::Less,
        ">=" | "=>" => cmp != Ordering::Less,
        "<=" | "=<" => {
            if !c.dirty {
                return cmp != Ordering::Greater;
            }
            !(v.major > c.con.major
                || (v.major == c.con.major && v.minor > c.con.minor && !c.minor_dirty))
        }
        "~" | "~>" => tilde(v, c),
        "^" => {
            if cmp == Ordering::Less {
                return false;
            }
            if c.con.major > 0 || c.minor_dirty {
                return v.major == c.con.major;
            }
            if v.major > 0 {
                return false;
            }
            if c.con.minor > 0 || c.patch_dirty {
                return v.minor == c.con.minor;
            }
            if v.minor > 0 {
                return false;
            }
            v.patch == c.con.patch
        }
        // "" and "="
        _ => {
            if c.dirty {
                tilde(v, c)
            } else {
                cmp == Ordering::Equal
            }
        }
    }
}

fn new_constraint(c: &str) -> Result<Vec<Vec<Constraint>>, String> {
    let r = res();
    // hyphen ranges become `>= a, <= b`
    let c = r.range.replace_all(c, ">= ${1}, <= ${11} ").to_string();
    let mut out = vec![];
    for seg in c.split("||") {
        if !r.valid.is_match(seg) {
            return Err(format!("improper constraint: {}", crate::gofmt::quote(seg)));
        }
        let mut cs: Vec<&str> = r.find.find_iter(seg).map(|m| m.as_str()).collect();
        if cs.is_empty() {
            cs.push(seg);
        }
        out.push(
            cs.into_iter()
                .map(parse_constraint)
                .collect::<Result<Vec<_>, _>>()?,
        );
    }
    Ok(out)
}

fn version_value(v: Version) -> Value {
    let mut m = BTreeMap::new();
    m.insert("Major".to_string(), Value::Int64(v.major as i64));
    m.insert("Minor".to_string(), Value::Int64(v.minor as i64));
    m.insert("Patch".to_string(), Value::Int64(v.patch as i64));
    m.insert("Prerelease".to_string(), Value::str(&v.pre));
    m.insert("Metadata".to_string(), Value::str(&v.metadata));
    m.insert("Original".to_string(), Value::str(&v.original));
    Value::map(m)
}

pub(super) fn register(t: &mut Table) {
    def(t, "semver", Exact(1), &[P::Str], |_, a| {
        let v = parse_version(a[0].as_str().unwrap_or(""))?;
        Ok(version_value(v))
    });
    def(
        t,
        "semverCompare",
        Exact(2),
        &[P::Str, P::Str],
        |_, a| -> FnResult {
            let cs = new_constraint(a[0].as_str().unwrap_or(""))?;
            let v = parse_version(a[1].as_str().unwrap_or(""))?;
            Ok(Value::Bool(cs.iter().any(|and| {
                // a prerelease in any constraint of an AND group admits prereleases to it
                let pre = and.iter().any(|c| !c.con.pre.is_empty());
                and.iter().all(|c| check(&v, c, pre))
            })))
        },
    );
}
