//! Go's builtin template functions, with Go's rules.

use std::cmp::Ordering;

use super::{Arity, FnResult, P, Table, def};
use crate::gofmt;
use crate::value::Value;

pub(super) fn register(t: &mut Table) {
    for name in ["and", "or"] {
        t.insert(
            name,
            super::FuncDef {
                arity: Arity::AtLeast(1),
                params: &[P::Any],
                f: |_, _| Ok(Value::Nil),
                builtin_logic: true,
            },
        );
    }
    def(t, "not", Arity::Exact(1), &[P::Any], |_, a| {
        Ok(Value::Bool(!a[0].truthy()))
    });
    def(t, "len", Arity::Exact(1), &[P::Any], |_, a| len(&a[0]));
    def(t, "index", Arity::AtLeast(1), &[P::Any], |_, a| {
        index(&a[0], &a[1..])
    });
    def(t, "slice", Arity::AtLeast(1), &[P::Any], |_, a| {
        slice(&a[0], &a[1..])
    });
    def(t, "print", Arity::AtLeast(0), &[P::Any], |_, a| {
        Ok(Value::str(gofmt::sprint(&a)))
    });
    def(t, "println", Arity::AtLeast(0), &[P::Any], |_, a| {
        Ok(Value::str(gofmt::sprintln(&a)))
    });
    def(t, "printf", Arity::AtLeast(1), &[P::Str, P::Any], |_, a| {
        Ok(Value::str(gofmt::sprintf(
            a[0].as_str().unwrap_or(""),
            &a[1..],
        )))
    });
    def(t, "html", Arity::AtLeast(0), &[P::Any], |_, a| {
        Ok(Value::str(html(&eval_args(&a))))
    });
    def(t, "js", Arity::AtLeast(0), &[P::Any], |_, a| {
        Ok(Value::str(js(&eval_args(&a))))
    });
    def(t, "urlquery", Arity::AtLeast(0), &[P::Any], |_, a| {
        Ok(Value::str(urlquery(&eval_args(&a))))
    });
    def(t, "call", Arity::AtLeast(1), &[P::Any], |_, a| {
        Err(format!(
            "non-function {} of type {}",
            gofmt::sprint_value(&a[0]),
            a[0].type_name()
        )
        .into())
    });
    def(t, "eq", Arity::AtLeast(1), &[P::Any], |_, a| eq(&a));
    def(t, "ne", Arity::Exact(2), &[P::Any], |_, a| {
        Ok(Value::Bool(!compare_eq(&a[0], &a[1])?))
    });
    def(t, "lt", Arity::Exact(2), &[P::Any], |_, a| {
        Ok(Value::Bool(less(&a[0], &a[1])?))
    });
    def(t, "le", Arity::Exact(2), &[P::Any], |_, a| {
        Ok(Value::Bool(
            less(&a[0], &a[1])? || compare_eq(&a[0], &a[1])?,
        ))
    });
    def(t, "gt", Arity::Exact(2), &[P::Any], |_, a| {
        Ok(Value::Bool(
            !(less(&a[0], &a[1])? || compare_eq(&a[0], &a[1])?),
        ))
    });
    def(t, "ge", Arity::Exact(2), &[P::Any], |_, a| {
        Ok(Value::Bool(!less(&a[0], &a[1])?))
    });
}

fn eval_args(a: &[Value]) -> String {
    if let [Value::Str(s)] = a {
        return s.to_string();
    }
    // Go prints a missing value as `<no value>` here
    let printable: Vec<Value> = a
        .iter()
        .map(|v| {
            if matches!(v, Value::Nil) {
                Value::str("<no value>")
            } else {
                v.clone()
            }
        })
        .collect();
    gofmt::sprint(&printable)
}

fn len(v: &Value) -> FnResult {
    Ok(Value::Int(match v {
        Value::Str(s) => s.len() as i64,
        Value::List(l) => l.len() as i64,
        Value::Map(m) => m.borrow().len() as i64,
        Value::Nil => return Err("len of nil pointer".into()),
        other => return Err(format!("len of type {}", other.type_name()).into()),
    }))
}

fn int_index(v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(i) | Value::Int64(i) => Ok(*i),
        Value::Nil => Err("cannot index slice/array with nil".into()),
        other => Err(format!(
            "cannot index slice/array with type {}",
            other.type_name()
        )),
    }
}

fn index(item: &Value, idx: &[Value]) -> FnResult {
    if matches!(item, Value::Nil) {
        return Err("index of untyped nil".into());
    }
    let mut v = item.clone();
    for i in idx {
        v = match &v {
            Value::List(l) => {
                let n = int_index(i)?;
                if n < 0 || n as usize >= l.len() {
                    return Err(format!("index out of range: {n}").into());
                }
                l[n as usize].clone()
            }
            Value::Str(s) => {
                let n = int_index(i)?;
                if n < 0 || n as usize >= s.len() {
                    return Err(format!("index out of range: {n}").into());
                }
                Value::Int(i64::from(s.as_bytes()[n as usize]))
            }
            Value::Map(m) => match i {
                Value::Str(k) => m.borrow().get(&**k).cloned().unwrap_or_default(),
                Value::Nil => Value::Nil,
                other => {
                    return Err(
                        format!("value has type {}; should be string", other.type_name()).into(),
                    );
                }
            },
            Value::Nil => return Err("index of nil pointer".into()),
            other => return Err(format!("can't index item of type {}", other.type_name()).into()),
        };
    }
    Ok(v)
}

fn slice(item: &Value, idx: &[Value]) -> FnResult {
    if idx.len() > 3 {
        return Err(format!("too many slice indexes: {}", idx.len()).into());
    }
    let len = match item {
        Value::Str(s) => s.len(),
        Value::List(l) => l.len(),
        Value::Nil => return Err("slice of untyped nil".into()),
        other => return Err(format!("can't slice item of type {}", other.type_name()).into()),
    } as i64;
    if matches!(item, Value::Str(_)) && idx.len() == 3 {
        return Err("cannot 3-index slice a string".into());
    }
    let mut ix = [0, len, len];
    for (k, i) in idx.iter().enumerate() {
        let n = int_index(i)?;
        if n < 0 || n > len {
            return Err(format!("index out of range: {n}").into());
        }
        ix[k] = n;
    }
    if ix[0] > ix[1] {
        return Err(format!("invalid slice index: {} > {}", ix[0], ix[1]).into());
    }
    match item {
        Value::Str(s) => {
            let b = &s.as_bytes()[ix[0] as usize..ix[1] as usize];
            Ok(Value::str(String::from_utf8_lossy(b)))
        }
        Value::List(l) => Ok(Value::list(l[ix[0] as usize..ix[1] as usize].to_vec())),
        other => Err(format!("can't slice item of type {}", other.type_name()).into()),
    }
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    Str,
    List,
    Map,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Nil => Kind::Invalid,
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) | Value::Int64(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::Str(_) => Kind::Str,
        Value::List(_) => Kind::List,
        Value::Map(_) | Value::Time(_) => Kind::Map,
    }
}

fn eq(a: &[Value]) -> FnResult {
    let first = &a[0];
    if a.len() == 1 {
        return Err("missing argument for comparison".into());
    }
    for x in &a[1..] {
        if compare_eq(first, x)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

/// Go's `eq` for two values.
pub(crate) fn compare_eq(a: &Value, b: &Value) -> Result<bool, String> {
    let (ka, kb) = (kind(a), kind(b));
    if ka != kb {
        if ka != Kind::Invalid && kb != Kind::Invalid {
            return Err(format!(
                "incompatible types for comparison: {} and {}",
                a.type_name(),
                b.type_name()
            ));
        }
        return Ok(false);
    }
    Ok(match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        _ => {
            return Err(gofmt::sprintf(
                "non-comparable type %s: %v",
                &[a.clone(), Value::str(a.type_name())],
            ));
        }
    })
}

fn less(a: &Value, b: &Value) -> Result<bool, String> {
    let (ka, kb) = (kind(a), kind(b));
    if matches!(ka, Kind::Bool | Kind::List | Kind::Map | Kind::Invalid) {
        return Err("invalid type for comparison".into());
    }
    if ka != kb {
        if matches!(kb, Kind::Bool | Kind::List | Kind::Map | Kind::Invalid) {
            return Err("invalid type for comparison".into());
        }
        return Err(format!(
            "incompatible types for comparison: {} and {}",
            a.type_name(),
            b.type_name()
        ));
    }
    Ok(match (a, b) {
        (Value::Int(x) | Value::Int64(x), Value::Int(y) | Value::Int64(y)) => x < y,
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y) == Some(Ordering::Less),
        (Value::Str(x), Value::Str(y)) => x.as_bytes() < y.as_bytes(),
        _ => false,
    })
}

/// Go's `template.HTMLEscapeString`.
pub(crate) fn html(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => o.push_str("&#34;"),
            '\'' => o.push_str("&#39;"),
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '\0' => o.push('\u{fffd}'),
            c => o.push(c),
        }
    }
    o
}

/// Go's `template.JSEscapeString`.
pub(crate) fn js(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '\'' => o.push_str("\\'"),
            '"' => o.push_str("\\\""),
            '<' => o.push_str("\\u003C"),
            '>' => o.push_str("\\u003E"),
            '&' => o.push_str("\\u0026"),
            '=' => o.push_str("\\u003D"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04X}", c as u32)),
            c if (c as u32) >= 0x80 && (c.is_control() || c == '\u{2028}' || c == '\u{2029}') => {
                o.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => o.push(c),
        }
    }
    o
}

/// Go's `url.QueryEscape`.
pub(crate) fn urlquery(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                o.push(b as char)
            }
            b' ' => o.push('+'),
            b => o.push_str(&format!("%{b:02X}")),
        }
    }
    o
}
