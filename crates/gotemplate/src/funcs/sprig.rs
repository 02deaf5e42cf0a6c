//! Sprig v3's functions as Helm exposes them (the most used ones so far).

use std::collections::BTreeMap;

use base64::Engine;
use sha2::Digest;

use super::{Arity, FnResult, P, Table, def, strval};
use crate::gofmt;
use crate::value::Value;

use Arity::{AtLeast, Exact};

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        _ => 0,
    }
}

fn st(x: impl AsRef<str>) -> FnResult {
    Ok(Value::str(x))
}

/// Sprig's `empty`.
pub(crate) fn empty(v: &Value) -> bool {
    !v.truthy()
}

/// `cast.ToInt64`, as Sprig's numeric functions convert.
pub(crate) fn to_i64(v: &Value) -> i64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i,
        // Go's conversion of an out-of-range float64 gives the minimum int64 (amd64)
        Value::Float(f)
            if f.is_nan() || *f >= 9.223_372_036_854_775e18 || *f < -9.223_372_036_854_775e18 =>
        {
            i64::MIN
        }
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::Str(s) => {
            let t = s.trim();
            let t = t.strip_suffix(".0").unwrap_or(t);
            match crate::lexer::parse_number(t) {
                Some(crate::lexer::Num::Int(i)) => i,
                _ => 0,
            }
        }
        _ => 0,
    }
}

/// `cast.ToFloat64`.
pub(crate) fn to_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) | Value::Int64(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Str(s) => s.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Sprig's `strslice`: a list of strings (nil items dropped).
fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l
            .iter()
            .filter(|x| !matches!(x, Value::Nil))
            .map(strval)
            .collect(),
        Value::Nil => vec![],
        other => vec![strval(other)],
    }
}

fn list_of(v: &Value, name: &str) -> Result<Vec<Value>, String> {
    match v {
        Value::List(l) => Ok(l.to_vec()),
        Value::Nil => Ok(vec![]),
        other => Err(format!(
            "Cannot find {name} on type {}",
            other.type_name().trim_start_matches("[]")
        )),
    }
}

fn title(x: &str) -> String {
    let mut out = String::with_capacity(x.len());
    let mut prev_sep = true;
    for c in x.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = !(c.is_alphanumeric() || c == '_' || c == '\'');
    }
    out
}

fn sha256(x: &str) -> String {
    hex::encode(sha2::Sha256::digest(x.as_bytes()))
}

/// Deep merge of `src` into `dst` (mergo.Merge): `overwrite` replaces set values too.
pub(crate) fn merge_into(
    dst: &mut BTreeMap<String, Value>,
    src: &BTreeMap<String, Value>,
    overwrite: bool,
) {
    for (k, v) in src {
        match (dst.get(k).cloned(), v) {
            (Some(Value::Map(d)), Value::Map(sm)) => {
                if std::rc::Rc::ptr_eq(&d, sm) {
                    continue;
                }
                let mut dm = d.borrow().clone();
                merge_into(&mut dm, &sm.borrow(), overwrite);
                *d.borrow_mut() = dm;
            }
            (Some(existing), v) => {
                let fill = empty(&existing)
                    && !matches!(existing, Value::Map(_))
                    && (!empty(v) || matches!(existing, Value::Nil));
                if overwrite || fill {
                    dst.insert(k.clone(), deep_copy(v));
                }
            }
            (None, v) => {
                dst.insert(k.clone(), deep_copy(v));
            }
        }
    }
}

/// A copy sharing nothing with `v`.
pub(crate) fn deep_copy(v: &Value) -> Value {
    match v {
        Value::List(l) => Value::list(l.iter().map(deep_copy).collect()),
        Value::Map(m) => Value::map(
            m.borrow()
                .iter()
                .map(|(k, v)| (k.clone(), deep_copy(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Compiled patterns kept per thread: charts call `regexMatch` and friends with
/// the same few literal patterns in every include and every render, and
/// compiling one costs far more than matching it (Go's compiler is cheap; this
/// one builds automata). Bounded in count and pattern length.
const REGEX_CACHE_ENTRIES: usize = 64;
const REGEX_CACHE_PATTERN_LEN: usize = 1024;

thread_local! {
    static REGEX_CACHE: std::cell::RefCell<std::collections::HashMap<String, regex::Regex>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

fn regex(re: &str) -> Result<regex::Regex, String> {
    if let Some(r) = REGEX_CACHE.with(|c| c.borrow().get(re).cloned()) {
        return Ok(r);
    }
    let r = regex::Regex::new(re).map_err(|e| format!("error parsing regexp: {e}"))?;
    if re.len() <= REGEX_CACHE_PATTERN_LEN {
        REGEX_CACHE.with(|c| {
            let mut c = c.borrow_mut();
            if c.len() >= REGEX_CACHE_ENTRIES {
                c.clear();
            }
            c.insert(re.to_string(), r.clone());
        });
    }
    Ok(r)
}

fn until_step(start: i64, stop: i64, step: i64) -> Result<Value, String> {
    let mut v = vec![];
    if step == 0 || (step > 0 && start >= stop) || (step < 0 && start <= stop) {
        return Ok(Value::list(v));
    }
    let n = ((stop - start) / step).unsigned_abs();
    if n > 10_000_000 {
        return Err(format!("until: {n} items exceed the limit"));
    }
    let mut i = start;
    while (step > 0 && i < stop) || (step < 0 && i > stop) {
        v.push(Value::Int(i));
        i += step;
    }
    Ok(Value::list(v))
}

fn seq(p: &[i64]) -> String {
    let ints = |start: i64, stop: i64, step: i64| match until_step(start, stop, step) {
        Ok(Value::List(l)) => l
            .iter()
            .map(|v| int(v).to_string())
            .collect::<Vec<_>>()
            .join(" "),
        _ => String::new(),
    };
    match *p {
        [end] => {
            let inc = if end < 1 { -1 } else { 1 };
            ints(1, end + inc, inc)
        }
        [start, end] => {
            let step = if end < start { -1 } else { 1 };
            ints(start, end + step, step)
        }
        [start, step, end] => {
            let mut inc = 1;
            if end < start {
                inc = -1;
                if step > 0 {
                    return String::new();
                }
            }
            ints(start, end + inc, step)
        }
        _ => String::new(),
    }
}

fn adler32(b: &[u8]) -> u32 {
    let (mut a, mut s) = (1u32, 0u32);
    for &c in b {
        a = (a + u32::from(c)) % 65521;
        s = (s + a) % 65521;
    }
    (s << 16) | a
}

fn dig(keys: &[Value], default: &Value, m: &Value) -> Result<Value, String> {
    let Value::Map(m) = m else {
        return Err(format!(
            "interface conversion: interface {{}} is {}, not map[string]interface {{}}",
            m.type_name()
        ));
    };
    let Some(k) = keys.first() else {
        return Ok(default.clone());
    };
    let Some(step) = m.borrow().get(&super::strval(k)).cloned() else {
        return Ok(default.clone());
    };
    if keys.len() == 1 {
        return Ok(step);
    }
    dig(&keys[1..], default, &step)
}

pub(super) fn register(t: &mut Table) {
    register_more(t);
    // defaults and flow
    def(t, "default", AtLeast(1), &[P::Any], |_, a| {
        Ok(if a.len() < 2 || empty(&a[1]) {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    def(t, "empty", Exact(1), &[P::Any], |_, a| {
        Ok(Value::Bool(empty(&a[0])))
    });
    def(t, "coalesce", AtLeast(0), &[P::Any], |_, a| {
        Ok(a.iter().find(|v| !empty(v)).cloned().unwrap_or_default())
    });
    def(t, "all", AtLeast(0), &[P::Any], |_, a| {
        Ok(Value::Bool(a.iter().all(|v| !empty(v))))
    });
    def(t, "any", AtLeast(0), &[P::Any], |_, a| {
        Ok(Value::Bool(a.iter().any(|v| !empty(v))))
    });
    def(
        t,
        "ternary",
        Exact(3),
        &[P::Any, P::Any, P::Bool],
        |_, a| {
            Ok(if a[2].truthy() {
                a[0].clone()
            } else {
                a[1].clone()
            })
        },
    );
    // strings
    def(t, "quote", AtLeast(0), &[P::Any], |_, a| {
        st(a.iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(|v| gofmt::quote(&strval(v)))
            .collect::<Vec<_>>()
            .join(" "))
    });
    def(t, "squote", AtLeast(0), &[P::Any], |_, a| {
        st(a.iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(|v| format!("'{}'", strval(v)))
            .collect::<Vec<_>>()
            .join(" "))
    });
    def(t, "cat", AtLeast(0), &[P::Any], |_, a| {
        st(a.iter()
            .filter(|v| !matches!(v, Value::Nil))
            .map(strval)
            .collect::<Vec<_>>()
            .join(" "))
    });
    def(t, "indent", Exact(2), &[P::Int, P::Str], |_, a| {
        let pad = " ".repeat(int(&a[0]).clamp(0, 1 << 20) as usize);
        st(format!(
            "{pad}{}",
            s(&a[1]).replace('\n', &format!("\n{pad}"))
        ))
    });
    def(t, "nindent", Exact(2), &[P::Int, P::Str], |_, a| {
        let pad = " ".repeat(int(&a[0]).clamp(0, 1 << 20) as usize);
        st(format!(
            "\n{pad}{}",
            s(&a[1]).replace('\n', &format!("\n{pad}"))
        ))
    });
    def(t, "trim", Exact(1), &[P::Str], |_, a| {
        st(s(&a[0]).trim_matches(|c: char| c.is_whitespace()))
    });
    def(t, "trimAll", Exact(2), &[P::Str, P::Str], |_, a| {
        let cut: Vec<char> = s(&a[0]).chars().collect();
        st(s(&a[1]).trim_matches(|c| cut.contains(&c)))
    });
    def(t, "trimPrefix", Exact(2), &[P::Str, P::Str], |_, a| {
        st(s(&a[1]).strip_prefix(s(&a[0])).unwrap_or(s(&a[1])))
    });
    def(t, "trimSuffix", Exact(2), &[P::Str, P::Str], |_, a| {
        st(s(&a[1]).strip_suffix(s(&a[0])).unwrap_or(s(&a[1])))
    });
    // Go's path package; the os* forms are filepath's, the same on Linux.
    use ferroflux_gocompat::path;
    for name in ["base", "osBase"] {
        def(t, name, Exact(1), &[P::Str], |_, a| {
            st(path::base(s(&a[0])))
        });
    }
    for name in ["dir", "osDir"] {
        def(t, name, Exact(1), &[P::Str], |_, a| st(path::dir(s(&a[0]))));
    }
    for name in ["ext", "osExt"] {
        def(t, name, Exact(1), &[P::Str], |_, a| st(path::ext(s(&a[0]))));
    }
    for name in ["clean", "osClean"] {
        def(t, name, Exact(1), &[P::Str], |_, a| {
            st(path::clean(s(&a[0])))
        });
    }
    for name in ["isAbs", "osIsAbs"] {
        def(t, name, Exact(1), &[P::Str], |_, a| {
            Ok(Value::Bool(path::is_abs(s(&a[0]))))
        });
    }
    def(t, "upper", Exact(1), &[P::Str], |_, a| {
        st(s(&a[0]).to_uppercase())
    });
    def(t, "lower", Exact(1), &[P::Str], |_, a| {
        st(s(&a[0]).to_lowercase())
    });
    def(t, "title", Exact(1), &[P::Str], |_, a| st(title(s(&a[0]))));
    def(t, "untitle", Exact(1), &[P::Str], |_, a| {
        let mut out = String::new();
        let mut prev_sep = true;
        for c in s(&a[0]).chars() {
            if prev_sep {
                out.extend(c.to_lowercase())
            } else {
                out.push(c)
            }
            prev_sep = c.is_whitespace();
        }
        st(out)
    });
    def(t, "replace", Exact(3), &[P::Str, P::Str, P::Str], |_, a| {
        let (old, new, src) = (s(&a[0]), s(&a[1]), s(&a[2]));
        if old.is_empty() {
            // Go inserts `new` before every rune and at the end
            let mut out = String::from(new);
            for c in src.chars() {
                out.push(c);
                out.push_str(new);
            }
            return st(out);
        }
        st(src.replace(old, new))
    });
    def(t, "contains", Exact(2), &[P::Str, P::Str], |_, a| {
        Ok(Value::Bool(s(&a[1]).contains(s(&a[0]))))
    });
    def(t, "hasPrefix", Exact(2), &[P::Str, P::Str], |_, a| {
        Ok(Value::Bool(s(&a[1]).starts_with(s(&a[0]))))
    });
    def(t, "hasSuffix", Exact(2), &[P::Str, P::Str], |_, a| {
        Ok(Value::Bool(s(&a[1]).ends_with(s(&a[0]))))
    });
    def(t, "repeat", Exact(2), &[P::Int, P::Str], |_, a| {
        let n = int(&a[0]);
        if n < 0 {
            return Err("strings: negative Repeat count".into());
        }
        if (n as u128) * (s(&a[1]).len() as u128) > 64 << 20 {
            return Err("repeat: result too large".into());
        }
        st(s(&a[1]).repeat(n as usize))
    });
    def(t, "trunc", Exact(2), &[P::Int, P::Str], |_, a| {
        let (c, x) = (int(&a[0]), s(&a[1]).as_bytes());
        let l = x.len() as i64;
        let b = if c < 0 && l + c > 0 {
            &x[(l + c) as usize..]
        } else if c >= 0 && l > c {
            &x[..c as usize]
        } else {
            x
        };
        st(String::from_utf8_lossy(b))
    });
    def(t, "substr", Exact(3), &[P::Int, P::Int, P::Str], |_, a| {
        let (start, end, x) = (int(&a[0]), int(&a[1]), s(&a[2]).as_bytes());
        let l = x.len() as i64;
        let b = if start < 0 {
            &x[..end.clamp(0, l) as usize]
        } else if end < 0 || end > l {
            &x[start.min(l) as usize..]
        } else {
            &x[start.min(end) as usize..end as usize]
        };
        st(String::from_utf8_lossy(b))
    });
    def(t, "nospace", Exact(1), &[P::Str], |_, a| {
        st(s(&a[0])
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>())
    });
    def(t, "toString", Exact(1), &[P::Any], |_, a| st(strval(&a[0])));
    def(t, "toStrings", Exact(1), &[P::Any], |_, a| {
        Ok(Value::list(
            strslice(&a[0]).into_iter().map(Value::str).collect(),
        ))
    });
    def(t, "split", Exact(2), &[P::Str, P::Str], |_, a| {
        let m = go_split(s(&a[1]), s(&a[0]))
            .into_iter()
            .enumerate()
            .map(|(i, p)| (format!("_{i}"), Value::str(p)))
            .collect();
        Ok(Value::map(m))
    });
    def(t, "splitList", Exact(2), &[P::Str, P::Str], |_, a| {
        Ok(Value::list(
            go_split(s(&a[1]), s(&a[0]))
                .into_iter()
                .map(Value::str)
                .collect(),
        ))
    });
    def(t, "join", Exact(2), &[P::Str, P::Any], |_, a| {
        st(strslice(&a[1]).join(s(&a[0])))
    });
    def(t, "b64enc", Exact(1), &[P::Str], |_, a| {
        st(base64::engine::general_purpose::STANDARD.encode(s(&a[0])))
    });
    def(
        t,
        "b64dec",
        Exact(1),
        &[P::Str],
        |_, a| match base64::engine::general_purpose::STANDARD.decode(s(&a[0])) {
            Ok(b) => st(String::from_utf8_lossy(&b)),
            Err(e) => st(go_b64_error(&e)),
        },
    );
    def(t, "sha256sum", Exact(1), &[P::Str], |_, a| {
        st(sha256(s(&a[0])))
    });
    def(t, "regexMatch", Exact(2), &[P::Str, P::Str], |_, a| {
        Ok(Value::Bool(
            regex(s(&a[0]))
                .map(|r| r.is_match(s(&a[1])))
                .unwrap_or(false),
        ))
    });
    def(t, "mustRegexMatch", Exact(2), &[P::Str, P::Str], |_, a| {
        Ok(Value::Bool(regex(s(&a[0]))?.is_match(s(&a[1]))))
    });
    def(
        t,
        "regexReplaceAll",
        Exact(3),
        &[P::Str, P::Str, P::Str],
        |_, a| {
            let r = regex(s(&a[0]))?;
            st(r.replace_all(s(&a[1]), s(&a[2])))
        },
    );
    def(
        t,
        "regexReplaceAllLiteral",
        Exact(3),
        &[P::Str, P::Str, P::Str],
        |_, a| {
            let r = regex(s(&a[0]))?;
            st(r.replace_all(s(&a[1]), regex::NoExpand(s(&a[2]))))
        },
    );
    def(
        t,
        "regexFindAll",
        Exact(3),
        &[P::Str, P::Str, P::Int],
        |_, a| {
            let r = regex(s(&a[0]))?;
            let n = int(&a[2]);
            let it = r.find_iter(s(&a[1])).map(|m| Value::str(m.as_str()));
            Ok(Value::list(if n < 0 {
                it.collect()
            } else {
                it.take(n as usize).collect()
            }))
        },
    );
    def(t, "regexFind", Exact(2), &[P::Str, P::Str], |_, a| {
        let r = regex(s(&a[0]))?;
        st(r.find(s(&a[1])).map(|m| m.as_str()).unwrap_or_default())
    });
    // lists
    def(t, "list", AtLeast(0), &[P::Any], |_, a| Ok(Value::list(a)));
    def(t, "tuple", AtLeast(0), &[P::Any], |_, a| Ok(Value::list(a)));
    def(t, "first", Exact(1), &[P::Any], |_, a| {
        Ok(list_of(&a[0], "first")?
            .first()
            .cloned()
            .unwrap_or_default())
    });
    def(t, "last", Exact(1), &[P::Any], |_, a| {
        Ok(list_of(&a[0], "last")?.last().cloned().unwrap_or_default())
    });
    def(t, "rest", Exact(1), &[P::Any], |_, a| {
        let l = list_of(&a[0], "rest")?;
        Ok(Value::list(l.get(1..).unwrap_or_default().to_vec()))
    });
    def(t, "initial", Exact(1), &[P::Any], |_, a| {
        let l = list_of(&a[0], "initial")?;
        Ok(Value::list(l[..l.len().saturating_sub(1)].to_vec()))
    });
    for n in ["append", "push"] {
        def(t, n, Exact(2), &[P::Any], |_, a| {
            let mut l = list_of(&a[0], "append")?;
            l.push(a[1].clone());
            Ok(Value::list(l))
        });
    }
    def(t, "prepend", Exact(2), &[P::Any], |_, a| {
        let mut l = list_of(&a[0], "prepend")?;
        l.insert(0, a[1].clone());
        Ok(Value::list(l))
    });
    def(t, "concat", AtLeast(0), &[P::Any], |_, a| {
        let mut out = vec![];
        for x in &a {
            out.extend(list_of(x, "concat")?);
        }
        Ok(Value::list(out))
    });
    def(t, "reverse", Exact(1), &[P::Any], |_, a| {
        let mut l = list_of(&a[0], "reverse")?;
        l.reverse();
        Ok(Value::list(l))
    });
    def(t, "uniq", Exact(1), &[P::Any], |_, a| {
        let mut out: Vec<Value> = vec![];
        for x in list_of(&a[0], "uniq")? {
            if !out.iter().any(|y| deep_eq(y, &x)) {
                out.push(x);
            }
        }
        Ok(Value::list(out))
    });
    def(t, "without", AtLeast(1), &[P::Any], |_, a| {
        let l = list_of(&a[0], "without")?;
        Ok(Value::list(
            l.into_iter()
                .filter(|x| !a[1..].iter().any(|y| deep_eq(x, y)))
                .collect(),
        ))
    });
    def(t, "has", Exact(2), &[P::Any], |_, a| {
        Ok(Value::Bool(
            list_of(&a[1], "has")?.iter().any(|x| deep_eq(x, &a[0])),
        ))
    });
    def(t, "compact", Exact(1), &[P::Any], |_, a| {
        Ok(Value::list(
            list_of(&a[0], "compact")?
                .into_iter()
                .filter(|x| !empty(x))
                .collect(),
        ))
    });
    def(t, "sortAlpha", Exact(1), &[P::Any], |_, a| {
        let mut l = strslice(&a[0]);
        l.sort();
        Ok(Value::list(l.into_iter().map(Value::str).collect()))
    });
    def(t, "slice", AtLeast(1), &[P::Any], |_, a| {
        let l = match &a[0] {
            Value::List(l) => l.to_vec(),
            Value::Nil => vec![],
            other => {
                return Err(format!(
                    "list should be type of slice or array but {}",
                    other.type_name()
                )
                .into());
            }
        };
        if l.is_empty() {
            return Ok(Value::Nil);
        }
        let len = l.len() as i64;
        let start = a.get(1).map(to_i64).unwrap_or(0);
        let end = a.get(2).map(to_i64).unwrap_or(len);
        if start < 0 || end > len || start > end {
            return Err(format!("runtime error: slice bounds out of range [{start}:{end}]").into());
        }
        Ok(Value::list(l[start as usize..end as usize].to_vec()))
    });
    def(t, "until", Exact(1), &[P::Int], |_, a| {
        let n = int(&a[0]);
        Ok(until_step(0, n, if n < 0 { -1 } else { 1 })?)
    });
    def(
        t,
        "untilStep",
        Exact(3),
        &[P::Int, P::Int, P::Int],
        |_, a| Ok(until_step(int(&a[0]), int(&a[1]), int(&a[2]))?),
    );
    // dicts
    def(t, "dict", AtLeast(0), &[P::Any], |_, a| {
        let mut m = BTreeMap::new();
        for pair in a.chunks(2) {
            let v = pair.get(1).cloned().unwrap_or_else(|| Value::str(""));
            m.insert(strval(&pair[0]), v);
        }
        Ok(Value::map(m))
    });
    def(t, "get", Exact(2), &[P::Map, P::Str], |_, a| {
        Ok(match &a[0] {
            Value::Map(m) => m
                .borrow()
                .get(s(&a[1]))
                .cloned()
                .unwrap_or_else(|| Value::str("")),
            _ => Value::str(""),
        })
    });
    def(t, "set", Exact(3), &[P::Map, P::Str, P::Any], |_, a| {
        if let Value::Map(m) = &a[0] {
            if reaches(&a[2], m) {
                // Go would build the cycle and then recurse forever printing it
                return Err("set: the value contains the map itself (a cycle)".into());
            }
            m.borrow_mut().insert(s(&a[1]).to_string(), a[2].clone());
            return Ok(a[0].clone());
        }
        Err("assignment to entry in nil map".into())
    });
    def(t, "unset", Exact(2), &[P::Map, P::Str], |_, a| {
        if let Value::Map(m) = &a[0] {
            m.borrow_mut().remove(s(&a[1]));
        }
        Ok(a[0].clone())
    });
    def(t, "hasKey", Exact(2), &[P::Map, P::Str], |_, a| {
        Ok(Value::Bool(
            matches!(&a[0], Value::Map(m) if m.borrow().contains_key(s(&a[1]))),
        ))
    });
    def(t, "keys", AtLeast(0), &[P::Map], |_, a| {
        let mut k = vec![];
        for m in &a {
            if let Value::Map(m) = m {
                k.extend(m.borrow().keys().map(Value::str));
            }
        }
        Ok(Value::list(k))
    });
    def(t, "values", Exact(1), &[P::Map], |_, a| {
        Ok(Value::list(match &a[0] {
            Value::Map(m) => m.borrow().values().cloned().collect(),
            _ => vec![],
        }))
    });
    def(t, "pluck", AtLeast(1), &[P::Str, P::Map], |_, a| {
        let k = s(&a[0]);
        Ok(Value::list(
            a[1..]
                .iter()
                .filter_map(|m| match m {
                    Value::Map(m) => m.borrow().get(k).cloned(),
                    _ => None,
                })
                .collect(),
        ))
    });
    def(t, "pick", AtLeast(1), &[P::Map, P::Str], |_, a| {
        let Value::Map(m) = &a[0] else {
            return Ok(Value::map(BTreeMap::new()));
        };
        let m = m.borrow();
        Ok(Value::map(
            a[1..]
                .iter()
                .filter_map(|k| m.get(s(k)).map(|v| (s(k).to_string(), v.clone())))
                .collect(),
        ))
    });
    def(t, "omit", AtLeast(1), &[P::Map, P::Str], |_, a| {
        let Value::Map(m) = &a[0] else {
            return Ok(Value::map(BTreeMap::new()));
        };
        let m = m.borrow();
        Ok(Value::map(
            m.iter()
                .filter(|(k, _)| !a[1..].iter().any(|x| s(x) == k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ))
    });
    for (n, over) in [("merge", false), ("mergeOverwrite", true)] {
        let f: super::FnImpl = if over {
            |_, a| merge(a, true)
        } else {
            |_, a| merge(a, false)
        };
        def(t, n, AtLeast(1), &[P::Map], f);
    }
    def(t, "deepCopy", Exact(1), &[P::Any], |_, a| {
        Ok(deep_copy(&a[0]))
    });
    // conversions and types
    def(t, "int", Exact(1), &[P::Any], |_, a| {
        Ok(Value::Int(to_i64(&a[0])))
    });
    def(t, "int64", Exact(1), &[P::Any], |_, a| {
        Ok(Value::Int64(to_i64(&a[0])))
    });
    def(t, "float64", Exact(1), &[P::Any], |_, a| {
        Ok(Value::Float(to_f64(&a[0])))
    });
    def(t, "atoi", Exact(1), &[P::Str], |_, a| {
        Ok(Value::Int(s(&a[0]).parse().unwrap_or(0)))
    });
    def(t, "toDecimal", Exact(1), &[P::Any], |_, a| {
        Ok(Value::Int64(
            i64::from_str_radix(&strval(&a[0]), 8).unwrap_or(0),
        ))
    });
    def(t, "typeOf", Exact(1), &[P::Any], |_, a| st(type_of(&a[0])));
    def(t, "kindOf", Exact(1), &[P::Any], |_, a| {
        st(kind_or_made(&a[0]))
    });
    def(t, "kindIs", Exact(2), &[P::Str, P::Any], |_, a| {
        Ok(Value::Bool(s(&a[0]) == kind_or_made(&a[1])))
    });
    def(t, "typeIs", Exact(2), &[P::Str, P::Any], |_, a| {
        Ok(Value::Bool(s(&a[0]) == type_of(&a[1])))
    });
    def(t, "deepEqual", Exact(2), &[P::Any], |_, a| {
        Ok(Value::Bool(deep_eq(&a[0], &a[1])))
    });
    // math (int64 results, as Sprig)
    def(t, "add", AtLeast(0), &[P::Any], |_, a| {
        Ok(Value::Int64(
            a.iter().map(to_i64).fold(0i64, i64::wrapping_add),
        ))
    });
    def(t, "add1", Exact(1), &[P::Any], |_, a| {
        Ok(Value::Int64(to_i64(&a[0]).wrapping_add(1)))
    });
    def(t, "sub", Exact(2), &[P::Any], |_, a| {
        Ok(Value::Int64(to_i64(&a[0]).wrapping_sub(to_i64(&a[1]))))
    });
    def(t, "mul", AtLeast(1), &[P::Any], |_, a| {
        Ok(Value::Int64(
            a.iter().map(to_i64).fold(1i64, i64::wrapping_mul),
        ))
    });
    def(t, "div", Exact(2), &[P::Any], |_, a| {
        let d = to_i64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int64(to_i64(&a[0]).wrapping_div(d)))
    });
    def(t, "mod", Exact(2), &[P::Any], |_, a| {
        let d = to_i64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(Value::Int64(to_i64(&a[0]).wrapping_rem(d)))
    });
    def(t, "max", AtLeast(1), &[P::Any], |_, a| {
        Ok(Value::Int64(a.iter().map(to_i64).max().unwrap_or(0)))
    });
    def(t, "min", AtLeast(1), &[P::Any], |_, a| {
        Ok(Value::Int64(a.iter().map(to_i64).min().unwrap_or(0)))
    });
    def(t, "addf", AtLeast(0), &[P::Any], |_, a| {
        Ok(Value::Float(a.iter().map(to_f64).sum()))
    });
    def(t, "subf", AtLeast(1), &[P::Any], |_, a| {
        Ok(Value::Float(
            a[1..].iter().map(to_f64).fold(to_f64(&a[0]), |x, y| x - y),
        ))
    });
    def(t, "mulf", AtLeast(1), &[P::Any], |_, a| {
        Ok(Value::Float(a.iter().map(to_f64).product()))
    });
    def(t, "divf", AtLeast(1), &[P::Any], |_, a| {
        Ok(Value::Float(
            a[1..].iter().map(to_f64).fold(to_f64(&a[0]), |x, y| x / y),
        ))
    });
    def(t, "floor", Exact(1), &[P::Any], |_, a| {
        Ok(Value::Float(to_f64(&a[0]).floor()))
    });
    def(t, "ceil", Exact(1), &[P::Any], |_, a| {
        Ok(Value::Float(to_f64(&a[0]).ceil()))
    });
}

fn merge(a: Vec<Value>, overwrite: bool) -> FnResult {
    let Value::Map(dst) = &a[0] else {
        return Ok(a[0].clone());
    };
    let mut d = dst.borrow().clone();
    for src in &a[1..] {
        if let Value::Map(sm) = src {
            if std::rc::Rc::ptr_eq(sm, dst) {
                continue;
            }
            merge_into(&mut d, &sm.borrow(), overwrite);
        }
    }
    *dst.borrow_mut() = d;
    Ok(a[0].clone())
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Nil => "invalid",
        Value::Bool(_) => "bool",
        Value::Int(_) => "int",
        Value::Int64(_) => "int64",
        Value::Float(_) => "float64",
        Value::Str(_) => "string",
        Value::List(_) => "slice",
        Value::Map(_) => "map",
        Value::Time(_) => "struct",
    }
}

/// `reflect.DeepEqual` over values.
pub(crate) fn deep_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) | (Value::Int64(x), Value::Int64(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| deep_eq(p, q))
        }
        (Value::Map(x), Value::Map(y)) => {
            if std::rc::Rc::ptr_eq(x, y) {
                return true;
            }
            let (x, y) = (x.borrow(), y.borrow());
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_eq(v, w)))
        }
        _ => false,
    }
}

/// Go's `strings.Split` (an empty separator splits into runes).
fn go_split(x: &str, sep: &str) -> Vec<String> {
    if sep.is_empty() {
        return x.chars().map(String::from).collect();
    }
    x.split(sep).map(String::from).collect()
}

/// Go's `base64.CorruptInputError` text.
fn go_b64_error(e: &base64::DecodeError) -> String {
    let at = match e {
        base64::DecodeError::InvalidByte(o, _) | base64::DecodeError::InvalidLastSymbol(o, _) => *o,
        base64::DecodeError::InvalidLength(l) => *l,
        base64::DecodeError::InvalidPadding => 0,
    };
    format!("illegal base64 data at input byte {at}")
}

/// Whether `v` is or contains the map `target`.
fn reaches(v: &Value, target: &crate::value::MapRef) -> bool {
    match v {
        Value::Map(m) => {
            std::rc::Rc::ptr_eq(m, target) || m.borrow().values().any(|x| reaches(x, target))
        }
        Value::List(l) => l.iter().any(|x| reaches(x, target)),
        _ => false,
    }
}

/// `typeOf`: Go's type name, `*semver.Version` for a semver value.
fn type_of(v: &Value) -> String {
    match super::made_type(v) {
        Some((ty, _)) => ty.to_string(),
        None => v.type_name().to_string(),
    }
}

/// `kindOf`: Go's kind, `ptr` for a semver value.
fn kind_or_made(v: &Value) -> String {
    match super::made_type(v) {
        Some((_, kind)) => kind.to_string(),
        None => kind_of(v).to_string(),
    }
}

fn random_string(n: i64, pool: &[u8]) -> FnResult {
    if n < 0 {
        return Err(format!("invalid count {n}").into());
    }
    if n > 1 << 20 {
        return Err("random string too long".into());
    }
    // Sprig draws these from crypto/rand (goutils.CryptoRandom*): charts make
    // passwords with them, so they come from the OS generator, unbiased by
    // rejecting bytes past the last whole multiple of the pool's size.
    let n = n as usize;
    let limit = 256 - 256 % pool.len();
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 256];
    while out.len() < n {
        getrandom::fill(&mut buf).map_err(|e| format!("random source: {e}"))?;
        for &b in buf.iter().filter(|&&b| usize::from(b) < limit) {
            if out.len() == n {
                break;
            }
            out.push(pool[usize::from(b) % pool.len()] as char);
        }
    }
    st(out)
}

const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const NUMERIC: &[u8] = b"0123456789";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const ASCII: &[u8] = b"!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~";

/// Go's `regexp.QuoteMeta`.
fn quote_meta(x: &str) -> String {
    let mut o = String::with_capacity(x.len());
    for c in x.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

fn register_more(t: &mut Table) {
    def(t, "regexQuoteMeta", Exact(1), &[P::Str], |_, a| {
        st(quote_meta(s(&a[0])))
    });
    def(t, "randAlphaNum", Exact(1), &[P::Int], |_, a| {
        random_string(int(&a[0]), ALNUM)
    });
    def(t, "randAlpha", Exact(1), &[P::Int], |_, a| {
        random_string(int(&a[0]), ALPHA)
    });
    def(t, "randNumeric", Exact(1), &[P::Int], |_, a| {
        random_string(int(&a[0]), NUMERIC)
    });
    def(t, "randAscii", Exact(1), &[P::Int], |_, a| {
        random_string(int(&a[0]), ASCII)
    });
    def(t, "randInt", Exact(2), &[P::Any], |_, a| {
        let (lo, hi) = (to_i64(&a[0]), to_i64(&a[1]));
        if hi <= lo {
            return Err("invalid argument to Intn".into());
        }
        Ok(Value::Int(fastrand::i64(lo..hi)))
    });
    def(t, "uuidv4", Exact(0), &[], |_, _| {
        st(uuid::Uuid::new_v4().to_string())
    });
    def(t, "shuffle", Exact(1), &[P::Str], |_, a| {
        let mut cs: Vec<char> = s(&a[0]).chars().collect();
        fastrand::shuffle(&mut cs);
        st(cs.into_iter().collect::<String>())
    });
    def(t, "seq", AtLeast(0), &[P::Int], |_, a| {
        st(seq(&a.iter().map(int).collect::<Vec<_>>()))
    });
    def(t, "splitn", Exact(3), &[P::Str, P::Int, P::Str], |_, a| {
        let n = int(&a[1]);
        let parts: Vec<&str> = if n < 0 {
            s(&a[2]).split(s(&a[0])).collect()
        } else {
            s(&a[2]).splitn(n as usize, s(&a[0])).collect()
        };
        Ok(Value::map(
            parts
                .into_iter()
                .enumerate()
                .map(|(i, p)| (format!("_{i}"), Value::str(p)))
                .collect(),
        ))
    });
    def(t, "chunk", Exact(2), &[P::Int, P::Any], |_, a| {
        let size = int(&a[0]).max(1) as usize;
        let l = list_of(&a[1], "chunk")?;
        Ok(Value::list(
            l.chunks(size).map(|c| Value::list(c.to_vec())).collect(),
        ))
    });
    def(t, "dig", AtLeast(3), &[P::Any], |_, a| {
        let n = a.len();
        Ok(dig(&a[..n - 2], &a[n - 2], &a[n - 1])?)
    });
    def(t, "maxf", AtLeast(1), &[P::Any], |_, a| {
        Ok(Value::Float(
            a.iter().map(to_f64).fold(f64::NEG_INFINITY, f64::max),
        ))
    });
    def(t, "minf", AtLeast(1), &[P::Any], |_, a| {
        Ok(Value::Float(
            a.iter().map(to_f64).fold(f64::INFINITY, f64::min),
        ))
    });
    def(
        t,
        "round",
        AtLeast(2),
        &[P::Any, P::Int, P::Float],
        |_, a| {
            let round_on = a.get(2).map(to_f64).unwrap_or(0.5);
            let pow = 10f64.powf(int(&a[1]) as f64);
            let digit = pow * to_f64(&a[0]);
            let r = if digit.fract() >= round_on {
                digit.ceil()
            } else {
                digit.floor()
            };
            Ok(Value::Float(r / pow))
        },
    );
    def(
        t,
        "regexSplit",
        Exact(3),
        &[P::Str, P::Str, P::Int],
        |_, a| {
            let r = regex(s(&a[0]))?;
            let n = int(&a[2]);
            let parts: Vec<Value> = if n == 0 {
                vec![]
            } else if n < 0 {
                r.split(s(&a[1])).map(Value::str).collect()
            } else {
                r.splitn(s(&a[1]), n as usize).map(Value::str).collect()
            };
            Ok(Value::list(parts))
        },
    );
    def(t, "b32enc", Exact(1), &[P::Str], |_, a| {
        st(data_encoding::BASE32.encode(s(&a[0]).as_bytes()))
    });
    def(
        t,
        "b32dec",
        Exact(1),
        &[P::Str],
        |_, a| match data_encoding::BASE32.decode(s(&a[0]).as_bytes()) {
            Ok(b) => st(String::from_utf8_lossy(&b)),
            Err(e) => st(format!("illegal base32 data at input byte {}", e.position)),
        },
    );
    def(t, "sha1sum", Exact(1), &[P::Str], |_, a| {
        st(hex::encode(sha1::Sha1::digest(s(&a[0]).as_bytes())))
    });
    def(t, "sha512sum", Exact(1), &[P::Str], |_, a| {
        st(hex::encode(sha2::Sha512::digest(s(&a[0]).as_bytes())))
    });
    def(t, "adler32sum", Exact(1), &[P::Str], |_, a| {
        st(adler32(s(&a[0]).as_bytes()).to_string())
    });
    def(t, "typeIsLike", Exact(2), &[P::Str, P::Any], |_, a| {
        let t = a[1].type_name();
        Ok(Value::Bool(s(&a[0]) == t || format!("*{}", s(&a[0])) == t))
    });
}
