//! Helm's own template functions: `include`, `tpl`, `required`, `toYaml`,
//! `toJson`, `fromYaml`, `fromJson` and friends.

use std::collections::BTreeMap;

use super::{Arity, FnError, FnResult, P, Table, def};
use crate::exec::Exec;
use crate::value::Value;

use Arity::Exact;

/// Go's `json.Marshal` of a value (HTML-escaped, keys sorted).
pub(crate) fn to_json(out: &mut String, v: &Value) {
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) | Value::Int64(i) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&ferroflux_gocompat::json::float_string(*f)),
        Value::Str(s) => ferroflux_gocompat::json::write_string(out, s),
        Value::Time(t) => ferroflux_gocompat::json::write_string(
            out,
            &t.format("2006-01-02T15:04:05.999999999Z07:00"),
        ),
        Value::List(l) => {
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                to_json(out, x);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push('{');
            for (i, (k, x)) in m.borrow().iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                ferroflux_gocompat::json::write_string(out, k);
                out.push(':');
                to_json(out, x);
            }
            out.push('}');
        }
    }
}

/// Go's `json.MarshalIndent(v, "", "  ")`; `html` false is an encoder with
/// `SetEscapeHTML(false)` (Sprig's `toRawJson`).
pub(crate) fn to_json_pretty(out: &mut String, v: &Value, indent: usize, pretty: bool, html: bool) {
    let nl = |out: &mut String, n: usize| {
        if pretty {
            out.push('\n');
            out.push_str(&"  ".repeat(n));
        }
    };
    match v {
        Value::Str(s) => {
            let mut q = String::new();
            ferroflux_gocompat::json::write_string(&mut q, s);
            if !html {
                q = unescape_html(&q);
            }
            out.push_str(&q);
        }
        Value::List(l) if !l.is_empty() => {
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                nl(out, indent + 1);
                to_json_pretty(out, x, indent + 1, pretty, html);
            }
            nl(out, indent);
            out.push(']');
        }
        Value::Map(m) if !m.borrow().is_empty() => {
            out.push('{');
            for (i, (k, x)) in m.borrow().iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                nl(out, indent + 1);
                to_json_pretty(out, &Value::str(k), 0, false, html);
                out.push(':');
                if pretty {
                    out.push(' ');
                }
                to_json_pretty(out, x, indent + 1, pretty, html);
            }
            nl(out, indent);
            out.push('}');
        }
        other => to_json(out, other),
    }
}

/// Undoes `encoding/json`'s HTML escapes in a quoted string (an escaped backslash
/// is never the start of one).
fn unescape_html(q: &str) -> String {
    let mut out = String::with_capacity(q.len());
    let mut rest = q;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let rep = [("\\u003c", "<"), ("\\u003e", ">"), ("\\u0026", "&")]
            .into_iter()
            .find(|(e, _)| tail.starts_with(e));
        match rep {
            Some((e, r)) => {
                out.push_str(r);
                rest = &tail[e.len()..];
            }
            None => {
                out.push_str(&tail[..2.min(tail.len())]);
                rest = &tail[2.min(tail.len())..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn to_yaml(v: &Value) -> String {
    let y = crate::yaml::to_yaml(v);
    y.strip_suffix('\n').unwrap_or(&y).to_string()
}

/// Helm's `warnWrap`: the marker by which Helm finds a `required`/`fail` message in
/// an error and reports it as `execution error at (LOCATION): MESSAGE`.
fn warn(msg: &Value) -> FnError {
    FnError::Msg(format!("HELM[{}]HELM", msg.as_str().unwrap_or("")))
}

/// Sprig's `fromJson`/`fromJsonArray`: the decoded object (array), or Go's error text
/// in an `Error` key (a one-string list).
fn from_json(text: &str, array: bool) -> Value {
    let fail = |msg: String| {
        if array {
            Value::list(vec![Value::str(msg)])
        } else {
            error_map(msg)
        }
    };
    if let Err(e) = crate::gojson::check(text) {
        return fail(e);
    }
    let into = if array {
        "[]interface {}"
    } else {
        "map[string]interface {}"
    };
    match serde_json::from_str::<serde_json::Value>(text) {
        // `null` leaves Go's nil map (slice) as it is
        Ok(serde_json::Value::Null) => Value::Nil,
        Ok(v @ serde_json::Value::Object(_)) if !array => Value::from_json(&v),
        Ok(v @ serde_json::Value::Array(_)) if array => Value::from_json(&v),
        Ok(v) => fail(format!(
            "json: cannot unmarshal {} into Go value of type {into}",
            crate::gojson::kind(&v)
        )),
        Err(e) => fail(e.to_string()),
    }
}

fn error_map(e: impl std::fmt::Display) -> Value {
    let mut m = BTreeMap::new();
    m.insert("Error".to_string(), Value::str(e.to_string()));
    Value::map(m)
}

fn include(ex: &mut Exec, a: Vec<Value>) -> FnResult {
    let name = a[0].as_str().unwrap_or("").to_string();
    let Some(tree) = ex.lookup(&name) else {
        return Err(FnError::Exec(crate::Error::NoTemplate {
            name,
            root: "gotpl".into(),
        }));
    };
    let saved = std::mem::take(&mut ex.out);
    let r = ex.run(&tree, a[1].clone(), 0, &"include");
    let produced = std::mem::replace(&mut ex.out, saved);
    r.map_err(FnError::Exec)?;
    Ok(Value::str(produced))
}

fn tpl(ex: &mut Exec, a: Vec<Value>) -> FnResult {
    let text = a[0].as_str().unwrap_or("").to_string();
    // Helm parses the text as a template named "gotpl" in a copy of the set
    let trees = ex.set.parse_trees("gotpl", &text).map_err(|e| {
        FnError::Msg(format!(
            "cannot parse template {}: {e}",
            crate::gofmt::quote(&text)
        ))
    })?;
    let mut main = None;
    for (i, t) in trees.into_iter().enumerate() {
        if i == 0 {
            main = Some(t);
        } else {
            ex.extra.insert(t.name.clone(), t);
        }
    }
    let Some(main) = main else {
        return Ok(Value::str(""));
    };
    let saved = std::mem::take(&mut ex.out);
    let r = ex.run(&main, a[1].clone(), 0, &"tpl");
    let produced = std::mem::replace(&mut ex.out, saved);
    r.map_err(|e| {
        FnError::Msg(format!(
            "error during tpl function execution for {}: {e}",
            crate::gofmt::quote(&text)
        ))
    })?;
    Ok(Value::str(produced.replace("<no value>", "")))
}

pub(super) fn register(t: &mut Table) {
    def(t, "toYaml", Exact(1), &[P::Any], |_, a| {
        Ok(Value::str(to_yaml(&a[0])))
    });
    def(t, "toJson", Exact(1), &[P::Any], |_, a| {
        let mut s = String::new();
        to_json(&mut s, &a[0]);
        Ok(Value::str(s))
    });
    def(t, "fromYaml", Exact(1), &[P::Str], |_, a| {
        Ok(
            match crate::yaml::map_from_yaml(a[0].as_str().unwrap_or("")) {
                Ok(v) => v,
                Err(e) => error_map(e),
            },
        )
    });
    def(t, "fromJson", Exact(1), &[P::Str], |_, a| {
        Ok(from_json(a[0].as_str().unwrap_or(""), false))
    });
    def(t, "toYamlPretty", Exact(1), &[P::Any], |_, a| {
        let y = crate::yaml::to_yaml_pretty(&a[0]);
        Ok(Value::str(y.strip_suffix('\n').unwrap_or(&y)))
    });
    def(t, "toPrettyJson", Exact(1), &[P::Any], |_, a| {
        let mut s = String::new();
        to_json_pretty(&mut s, &a[0], 0, true, true);
        Ok(Value::str(s))
    });
    def(t, "toRawJson", Exact(1), &[P::Any], |_, a| {
        let mut s = String::new();
        to_json_pretty(&mut s, &a[0], 0, false, false);
        Ok(Value::str(s))
    });
    def(t, "fromYamlArray", Exact(1), &[P::Str], |_, a| {
        Ok(
            match crate::yaml::list_from_yaml(a[0].as_str().unwrap_or("")) {
                Ok(v) => v,
                Err(e) => Value::list(vec![Value::str(e.to_string())]),
            },
        )
    });
    def(t, "fromJsonArray", Exact(1), &[P::Str], |_, a| {
        Ok(from_json(a[0].as_str().unwrap_or(""), true))
    });
    // Offline rendering: `lookup` finds nothing unless the caller gives a hook
    // (Templates::lookup); DNS is never asked.
    def(
        t,
        "lookup",
        Exact(4),
        &[P::Str, P::Str, P::Str, P::Str],
        |ex, a| {
            let s = |i: usize| a[i].as_str().unwrap_or("");
            match &ex.set.lookup {
                None => Ok(Value::map(BTreeMap::new())),
                Some(hook) => Ok((hook.0)(s(0), s(1), s(2), s(3))?),
            }
        },
    );
    def(t, "getHostByName", Exact(1), &[P::Str], |_, _| {
        Ok(Value::str(""))
    });
    def(t, "include", Exact(2), &[P::Str, P::Any], include);
    def(t, "tpl", Exact(2), &[P::Str, P::Any], tpl);
    def(
        t,
        "required",
        Exact(2),
        &[P::Str, P::Any],
        |_, a| match &a[1] {
            Value::Nil => Err(warn(&a[0])),
            Value::Str(s) if s.is_empty() => Err(warn(&a[0])),
            v => Ok(v.clone()),
        },
    );
    def(t, "fail", Exact(1), &[P::Str], |_, a| Err(warn(&a[0])));
}
