//! Sprig's word-level string functions: case conversions, abbreviation, wrapping,
//! initials, plurals (goutils and xstrings behaviour).

use super::{Arity, P, Table, def};
use crate::value::Value;

use Arity::Exact;

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        _ => 0,
    }
}

/// Words of `s` for the case conversions: split at separators and case changes.
fn words(s: &str) -> Vec<String> {
    let cs: Vec<char> = s.chars().collect();
    let mut out = vec![];
    let mut cur = String::new();
    for (i, &c) in cs.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_uppercase() && !cur.is_empty() {
            let prev = cs[i - 1];
            let next_lower = cs.get(i + 1).is_some_and(|n| n.is_lowercase());
            if prev.is_lowercase() || prev.is_ascii_digit() || (prev.is_uppercase() && next_lower) {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn joined_lower(s: &str, sep: &str) -> String {
    words(s)
        .iter()
        .map(|w| w.to_lowercase())
        .collect::<Vec<_>>()
        .join(sep)
}

/// xstrings.ToCamelCase: connectors (`_`, `-`, spaces) dropped and the next rune
/// upper-cased; leading connectors and doubled ones kept.
fn camel(s: &str) -> String {
    let conn = |c: char| c == '_' || c == '-' || c.is_whitespace();
    let mut out = String::new();
    let mut it = s.chars();
    let mut r0 = None;
    for c in it.by_ref() {
        if !conn(c) {
            r0 = Some(c.to_uppercase().next().unwrap_or(c));
            break;
        }
        out.push(c);
    }
    let Some(mut r0) = r0 else { return out };
    for c in it {
        let r1 = r0;
        r0 = c;
        if conn(r0) && conn(r1) {
            out.push(r1);
            continue;
        }
        if conn(r1) {
            r0 = r0.to_uppercase().next().unwrap_or(r0);
        } else {
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

fn swapcase(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_uppercase() {
                c.to_lowercase().collect::<Vec<_>>()
            } else if c.is_lowercase() {
                c.to_uppercase().collect()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// goutils.AbbreviateFull.
fn abbreviate_full(s: &str, offset: i64, max: i64) -> String {
    let len = s.len() as i64;
    if s.is_empty() || max < 4 || len <= max {
        return s.to_string();
    }
    let mut offset = offset.min(len);
    if len - offset < max - 3 {
        offset = len - (max - 3);
    }
    let b = s.as_bytes();
    let cut = |a: i64, z: i64| {
        String::from_utf8_lossy(&b[a.max(0) as usize..z.clamp(0, len) as usize]).into_owned()
    };
    if offset <= 4 {
        return cut(0, max - 3) + "...";
    }
    if max < 7 {
        return s.to_string();
    }
    if offset + max - 3 < len {
        return format!("...{}", abbreviate_full(&cut(offset, len), 0, max - 3));
    }
    format!("...{}", cut(len - (max - 3), len))
}

/// goutils.WrapCustom without wrapping long words.
fn wrap(s: &str, width: i64, nl: &str) -> String {
    let width = width.max(1) as usize;
    let b = s.as_bytes();
    let len = b.len();
    let mut out = String::new();
    let mut off = 0;
    while len - off > width {
        if b[off] == b' ' {
            off += 1;
            continue;
        }
        let window = &b[off..(off + width + 1).min(len)];
        match window.iter().rposition(|&c| c == b' ') {
            Some(p) => {
                out.push_str(&String::from_utf8_lossy(&b[off..off + p]));
                out.push_str(nl);
                off += p + 1;
            }
            None => match b[off + width..].iter().position(|&c| c == b' ') {
                Some(p) => {
                    let at = off + width + p;
                    out.push_str(&String::from_utf8_lossy(&b[off..at]));
                    out.push_str(nl);
                    off = at + 1;
                }
                None => {
                    out.push_str(&String::from_utf8_lossy(&b[off..]));
                    off = len;
                }
            },
        }
    }
    out.push_str(&String::from_utf8_lossy(&b[off..]));
    out
}

pub(super) fn register(t: &mut Table) {
    def(t, "snakecase", Exact(1), &[P::Str], |_, a| {
        Ok(Value::str(joined_lower(s(&a[0]), "_")))
    });
    def(t, "kebabcase", Exact(1), &[P::Str], |_, a| {
        Ok(Value::str(joined_lower(s(&a[0]), "-")))
    });
    def(t, "camelcase", Exact(1), &[P::Str], |_, a| {
        Ok(Value::str(camel(s(&a[0]))))
    });
    def(t, "swapcase", Exact(1), &[P::Str], |_, a| {
        Ok(Value::str(swapcase(s(&a[0]))))
    });
    def(t, "initials", Exact(1), &[P::Str], |_, a| {
        Ok(Value::str(
            s(&a[0])
                .split_whitespace()
                .filter_map(|w| w.chars().next())
                .collect::<String>(),
        ))
    });
    def(t, "plural", Exact(3), &[P::Str, P::Str, P::Int], |_, a| {
        Ok(if int(&a[2]) == 1 {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    def(t, "abbrev", Exact(2), &[P::Int, P::Str], |_, a| {
        Ok(Value::str(abbreviate_full(s(&a[1]), 0, int(&a[0]))))
    });
    def(
        t,
        "abbrevboth",
        Exact(3),
        &[P::Int, P::Int, P::Str],
        |_, a| {
            let (l, r) = (int(&a[0]), int(&a[1]));
            if r < 4 || (l > 0 && r < 7) {
                return Ok(a[2].clone());
            }
            Ok(Value::str(abbreviate_full(s(&a[2]), l, r)))
        },
    );
    def(t, "wrap", Exact(2), &[P::Int, P::Str], |_, a| {
        Ok(Value::str(wrap(s(&a[1]), int(&a[0]), "\n")))
    });
    def(
        t,
        "wrapWith",
        Exact(3),
        &[P::Int, P::Str, P::Str],
        |_, a| Ok(Value::str(wrap(s(&a[2]), int(&a[0]), s(&a[1])))),
    );
}
