//! Helm's `toToml`: BurntSushi/toml's encoder (sorted keys, plain values before tables,
//! two-space indentation per table level; an error becomes the output), and
//! `fromToml`: a document decoded into a map (integers int64, floats float64), or
//! a map holding only `Error` when it does not parse.

use super::{Arity::Exact, P, Table, def};
use crate::value::Value;

fn is_table(v: &Value) -> bool {
    matches!(v, Value::Map(_))
}

fn is_table_array(v: &Value) -> bool {
    match v {
        Value::List(l) => !l.is_empty() && l.iter().all(is_table),
        _ => false,
    }
}

fn bare(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn key_part(k: &str) -> String {
    if bare(k) { k.to_string() } else { quote(k) }
}

fn quote(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

struct Enc {
    out: String,
}

impl Enc {
    fn newline(&mut self) {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
    }

    fn indent(key: &[String]) -> String {
        "  ".repeat(key.len().saturating_sub(1))
    }

    fn header(key: &[String]) -> String {
        key.iter()
            .map(|k| key_part(k))
            .collect::<Vec<_>>()
            .join(".")
    }

    fn element(&mut self, v: &Value) -> Result<(), String> {
        match v {
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) | Value::Int64(i) => self.out.push_str(&i.to_string()),
            Value::Float(f) => {
                if f.is_nan() {
                    self.out.push_str("nan");
                } else if f.is_infinite() {
                    self.out.push_str(if *f > 0.0 { "inf" } else { "-inf" });
                } else {
                    let s = crate::gofmt::float_g(*f);
                    self.out.push_str(&s);
                    if !s.contains('.') && !s.contains('e') {
                        self.out.push_str(".0");
                    }
                }
            }
            Value::Str(s) => self.out.push_str(&quote(s)),
            Value::Time(t) => self
                .out
                .push_str(&t.format("2006-01-02T15:04:05.999999999Z07:00")),
            Value::List(l) => {
                self.out.push('[');
                for (i, x) in l.iter().enumerate() {
                    if matches!(x, Value::Nil) {
                        return Err("toml: cannot encode array with nil element".into());
                    }
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    self.element(x)?;
                }
                self.out.push(']');
            }
            Value::Map(m) => {
                self.out.push('{');
                let m = m.borrow();
                let mut first = true;
                for (k, x) in m.iter() {
                    if matches!(x, Value::Nil) {
                        continue;
                    }
                    if !first {
                        self.out.push_str(", ");
                    }
                    first = false;
                    self.out.push_str(&key_part(k));
                    self.out.push_str(" = ");
                    self.element(x)?;
                }
                self.out.push('}');
            }
            Value::Nil => return Err("toml: cannot encode a nil value".into()),
        }
        Ok(())
    }

    fn map(&mut self, key: &[String], v: &Value) -> Result<(), String> {
        let Value::Map(m) = v else { return Ok(()) };
        let m = m.borrow();
        let mut direct = vec![];
        let mut sub = vec![];
        for (k, x) in m.iter() {
            if matches!(x, Value::Nil) {
                continue;
            }
            if is_table(x) || is_table_array(x) {
                sub.push((k, x));
            } else {
                direct.push((k, x));
            }
        }
        for (k, x) in direct {
            let mut path = key.to_vec();
            path.push(k.clone());
            self.out.push_str(&Self::indent(&path));
            self.out.push_str(&key_part(k));
            self.out.push_str(" = ");
            self.element(x)?;
            self.newline();
        }
        for (k, x) in sub {
            let mut path = key.to_vec();
            path.push(k.clone());
            if let Value::List(l) = x {
                for t in l.iter() {
                    self.newline();
                    let h = format!("{}[[{}]]", Self::indent(&path), Self::header(&path));
                    self.out.push_str(&h);
                    self.newline();
                    self.map(&path, t)?;
                }
            } else {
                if path.len() == 1 {
                    self.newline();
                }
                let h = format!("{}[{}]", Self::indent(&path), Self::header(&path));
                self.out.push_str(&h);
                self.newline();
                self.map(&path, x)?;
            }
        }
        Ok(())
    }
}

/// A decoded TOML value as BurntSushi/toml gives it to `interface{}`.
fn from_toml(v: &::toml::Value) -> Value {
    use ::toml::Value as T;
    match v {
        T::String(s) => Value::str(s),
        T::Integer(i) => Value::Int64(*i),
        T::Float(f) => Value::Float(*f),
        T::Boolean(b) => Value::Bool(*b),
        // Go gets a time.Time; its text is what templates print most often
        T::Datetime(d) => Value::str(d.to_string()),
        T::Array(a) => Value::list(a.iter().map(from_toml).collect()),
        T::Table(t) => Value::map(t.iter().map(|(k, v)| (k.clone(), from_toml(v))).collect()),
    }
}

pub(super) fn register(t: &mut Table) {
    def(t, "fromToml", Exact(1), &[P::Str], |_, a| {
        let text = a[0].as_str().unwrap_or("");
        Ok(match text.parse::<::toml::Table>() {
            Ok(t) => Value::map(t.iter().map(|(k, v)| (k.clone(), from_toml(v))).collect()),
            Err(e) => {
                let msg = format!("toml: {}", e.message());
                Value::map(
                    [("Error".to_string(), Value::str(msg))]
                        .into_iter()
                        .collect(),
                )
            }
        })
    });
    def(t, "toToml", Exact(1), &[P::Any], |_, a| {
        let mut e = Enc { out: String::new() };
        let r = match &a[0] {
            Value::Map(_) => e.map(&[], &a[0]),
            Value::Nil => return Err("reflect: call of reflect.Value.Type on zero Value".into()),
            _ => Err("toml: top-level values must be Go maps or structs".into()),
        };
        Ok(Value::str(match r {
            Ok(()) => e.out,
            Err(m) => m,
        }))
    });
}
