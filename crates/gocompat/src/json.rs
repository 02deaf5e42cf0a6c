//! `encoding/json` output: how Go's `json.Marshal` writes strings and
//! generic values (`map[string]interface{}` and friends).

use std::fmt::Write;

use serde_json::{Number, Value};

/// Appends `s` as a JSON string the way Go's `encoding/json` writes it with
/// its default HTML escaping: `"` `\` and `\n` `\r` `\t` by name, other
/// controls and `<` `>` `&` U+2028 U+2029 as `\u00hh`/`\u20hh`.
///
/// `\b` and `\f` are written `\u0008`/`\u000c`, as Go did before 1.22 and
/// as the kustomize whose hashes we reproduce does.
pub fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Appends `v` as Go's `json.Marshal` writes a generic value: no spaces,
/// object keys sorted, strings as [`write_string`], numbers as
/// [`number_string`].
pub fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number_string(n)),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_value(out, &map[k.as_str()]);
            }
            out.push('}');
        }
    }
}

/// `v` as Go's `json.Marshal` writes a generic value (see [`write_value`]).
pub fn to_string(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v);
    out
}

/// A number as Go writes it: integers as they are, floats as [`float_string`].
pub fn number_string(n: &Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() => float_string(f),
        _ => n.to_string(),
    }
}

/// A float64 as `encoding/json` writes it: the shortest text that reads
/// back to the same value, without an exponent from 1e-6 up to 1e21 (`2`,
/// not `2.0`), with one outside (`1e-7`, `1e+21`). JSON has no NaN or
/// infinity; Go refuses them and this writes `null`.
pub fn float_string(f: f64) -> String {
    if !f.is_finite() {
        return "null".to_owned();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust writes `1e21` and `1e-7`; Go signs a positive exponent.
        let s = format!("{f:e}");
        return match s.split_once('e') {
            Some((mantissa, exp)) if !exp.starts_with('-') => format!("{mantissa}e+{exp}"),
            _ => s,
        };
    }
    // Display writes the shortest round-trip digits without an exponent.
    format!("{f}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_are_html_safe() {
        let mut out = String::new();
        write_string(&mut out, "a\"b\\c\n\r\t<>&\u{2028}\u{2029}\u{1}\u{8}é");
        assert_eq!(
            out,
            r#""a\"b\\c\n\r\t\u003c\u003e\u0026\u2028\u2029\u0001\u0008é""#
        );
    }

    #[test]
    fn values_sort_keys_and_have_no_spaces() {
        let v = json!({"b": [1, true, null], "a": {"z": "x", "y": 2.5}, "c": -3});
        assert_eq!(
            to_string(&v),
            r#"{"a":{"y":2.5,"z":"x"},"b":[1,true,null],"c":-3}"#
        );
    }

    #[test]
    fn floats_as_go() {
        assert_eq!(float_string(2.0), "2");
        assert_eq!(float_string(0.5), "0.5");
        assert_eq!(float_string(-0.0), "-0");
        assert_eq!(float_string(1e20), "100000000000000000000");
        assert_eq!(float_string(1e21), "1e+21");
        assert_eq!(float_string(1.5e-7), "1.5e-7");
        assert_eq!(float_string(0.000001), "0.000001");
        assert_eq!(float_string(f64::NAN), "null");
        assert_eq!(number_string(&Number::from(80)), "80");
        assert_eq!(
            number_string(&Number::from(u64::MAX)),
            "18446744073709551615"
        );
    }
}
