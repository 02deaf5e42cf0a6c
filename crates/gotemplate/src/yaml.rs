//! YAML as Helm reads it ([`values_from_yaml`], YAML 1.1 through JSON) and
//! YAML output as Helm's `toYaml` writes it: Go's `json.Marshal` followed by
//! go-yaml v2's encoder (sigs.k8s.io/yaml): keys sorted, sequences not indented
//! under their key, strings quoted only when YAML 1.1 would read them as something
//! else, multi-line strings as literal blocks.

use crate::gofmt;
use crate::value::Value;

mod read;
pub use read::{YamlError, document_from_yaml, list_from_yaml, map_from_yaml, values_from_yaml};

/// The YAML document of `v`, ending in a newline (Helm trims it).
pub fn to_yaml(v: &Value) -> String {
    document(v, 0)
}

/// As [`to_yaml`] with sequences indented under their key, as Helm's `toYamlPretty`
/// (go-yaml v3 with an indent of 2) writes them.
pub fn to_yaml_pretty(v: &Value) -> String {
    document(v, 2)
}

fn document(v: &Value, p: usize) -> String {
    let mut out = String::new();
    match v {
        Value::Map(m) if !m.borrow().is_empty() => write_map(&mut out, v, 0, p),
        Value::List(l) if !l.is_empty() => write_list(&mut out, v, 0, p),
        other => {
            // go-yaml indents a root scalar's continuation lines by 2
            out.push_str(&scalar(other, 2, p, 0));
            out.push('\n');
        }
    }
    out
}

fn write_map(out: &mut String, v: &Value, indent: usize, p: usize) {
    let Value::Map(m) = v else { return };
    let m = m.borrow();
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort_by(|a, b| natural_cmp(a, b));
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 || !out.ends_with("- ") {
            if !out.is_empty() && !out.ends_with('\n') && !out.ends_with("- ") {
                out.push('\n');
            }
            if !out.ends_with("- ") || i > 0 {
                out.push_str(&" ".repeat(indent));
            }
        }
        out.push_str(&string_scalar(k, indent, true));
        out.push(':');
        write_value(out, &m[k.as_str()], indent, p);
    }
}

fn write_list(out: &mut String, v: &Value, indent: usize, p: usize) {
    let Value::List(l) = v else { return };
    for (i, x) in l.iter().enumerate() {
        if i > 0 || !out.ends_with("- ") {
            out.push_str(&" ".repeat(indent));
        }
        out.push_str("- ");
        match x {
            Value::Map(m) if !m.borrow().is_empty() => write_map(out, x, indent + 2, p),
            Value::List(n) if !n.is_empty() => write_list(out, x, indent + 2, p),
            other => {
                let col = column(out);
                out.push_str(&scalar(other, indent + 2, p, col));
                out.push('\n');
            }
        }
    }
}

/// Writes the value of a mapping entry after `key:`.
fn write_value(out: &mut String, v: &Value, indent: usize, p: usize) {
    match v {
        Value::Map(m) if !m.borrow().is_empty() => {
            out.push('\n');
            write_map(out, v, indent + 2, p);
        }
        Value::List(l) if !l.is_empty() => {
            out.push('\n');
            write_list(out, v, indent + p, p);
        }
        other => {
            out.push(' ');
            let col = column(out);
            out.push_str(&scalar(other, indent + 2, p, col));
            out.push('\n');
        }
    }
}

/// The column (in characters) where the next write lands.
fn column(out: &str) -> usize {
    out[out.rfind('\n').map_or(0, |i| i + 1)..].chars().count()
}

/// go-yaml v2's line folding at width 80: a space met past column 80 becomes a line
/// break and the continuation indent (plain, single- and double-quoted scalars of values).
fn fold(token: String, col: usize, indent: usize) -> String {
    let style = match token.chars().next() {
        Some('\'') => 's',
        Some('"') => 'd',
        _ => 'p',
    };
    let cs: Vec<char> = token.chars().collect();
    if cs.len() + col <= 80 || !cs.contains(&' ') {
        return token;
    }
    let n = cs.len();
    let mut out = String::with_capacity(token.len() + 16);
    let mut col = col;
    let mut spaces = false;
    for (k, &c) in cs.iter().enumerate() {
        if c == ' ' {
            let next_space = cs.get(k + 1) == Some(&' ');
            let inner = k != 1 && k + 2 != n;
            let fold_here = !spaces
                && col > 80
                && match style {
                    'p' => !next_space,
                    's' => inner && !next_space,
                    _ => inner,
                };
            if fold_here {
                out.push('\n');
                out.push_str(&" ".repeat(indent));
                col = indent;
                if style == 'd' && next_space {
                    out.push('\\');
                    col += 1;
                }
            } else {
                out.push(c);
                col += 1;
            }
            spaces = true;
        } else {
            out.push(c);
            col += 1;
            spaces = false;
        }
    }
    out
}

/// `p` > 0 is the pretty (go-yaml v3) writer, which sees Go values, not a JSON round trip
/// and does not fold long lines.
fn scalar(v: &Value, indent: usize, p: usize, col: usize) -> String {
    match v {
        Value::Nil => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) | Value::Int64(i) => i.to_string(),
        Value::Float(f) if p > 0 && f.is_finite() => gofmt::float_g(*f),
        Value::Float(f) => float(*f),
        Value::Str(s) if p == 0 => {
            let token = string_scalar(s, indent, false);
            if token.starts_with('|') {
                token
            } else {
                fold(token, col, indent)
            }
        }
        Value::Str(s) => string_scalar(s, indent, false),
        Value::Time(t) => string_scalar(
            &t.format("2006-01-02T15:04:05.999999999Z07:00"),
            indent,
            false,
        ),
        Value::List(_) => "[]".into(),
        Value::Map(_) => "{}".into(),
    }
}

/// A float64 after a JSON round trip: integral values below 2^63 become YAML ints.
fn float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        if f.abs() < 9.223_372_036_854_775e18 {
            return (f as i64).to_string();
        }
        if f > 0.0 && f < 1.844_674_407_370_955_2e19 {
            return (f as u64).to_string();
        }
    }
    if !f.is_finite() {
        return "null".into();
    }
    gofmt::float_g(f)
}

/// Whether YAML 1.1 (go-yaml v2's resolver) reads this plain text as a non-string.
fn resolves_to_non_string(s: &str) -> bool {
    const SPECIAL: &[&str] = &[
        "", "~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
        "true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
        ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF", ".nan",
        ".NaN", ".NAN",
    ];
    if SPECIAL.contains(&s) {
        return true;
    }
    let t = s.replace('_', "");
    let body = t.strip_prefix(['-', '+']).unwrap_or(&t);
    if body.is_empty() {
        return false;
    }
    let digits = |x: &str, radix: u32| !x.is_empty() && x.chars().all(|c| c.is_digit(radix));
    if digits(body, 10)
        || body.strip_prefix("0x").is_some_and(|h| digits(h, 16))
        || body.strip_prefix("0b").is_some_and(|h| digits(h, 2))
        || body.strip_prefix("0o").is_some_and(|h| digits(h, 8))
    {
        return true;
    }
    // floats: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
    let (mant, exp) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mant_ok = match mant.split_once('.') {
        Some((a, b)) => {
            (a.is_empty() && digits(b, 10)) || (digits(a, 10) && (b.is_empty() || digits(b, 10)))
        }
        None => digits(mant, 10),
    };
    let exp_ok = exp.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e), 10));
    if mant_ok && exp_ok {
        return true;
    }
    // base 60 floats (1:20) and timestamps (2001-12-14) are quoted too
    let b60 = body.split(':').count() > 1
        && body.split(':').enumerate().all(|(i, p)| {
            digits(p.split('.').next().unwrap_or(""), 10) && (i == 0 || p.len() >= 2)
        });
    let date = s.len() >= 8
        && s.as_bytes()[..4].iter().all(u8::is_ascii_digit)
        && s.as_bytes()[4] == b'-'
        && is_timestamp(s);
    b60 || date
}

fn is_timestamp(s: &str) -> bool {
    let date = s.get(..10).unwrap_or(s);
    let parts: Vec<&str> = date.split('-').collect();
    parts.len() == 3
        && parts[0].len() == 4
        && (1..=2).contains(&parts[1].len())
        && (1..=2).contains(&parts[2].len())
        && parts.iter().all(|p| p.bytes().all(|c| c.is_ascii_digit()))
}

/// How go-yaml v2 writes a string: plain when it reads back as this string and the
/// emitter allows it, else single-quoted, else double-quoted; literal block when multi-line.
fn string_scalar(s: &str, indent: usize, is_key: bool) -> String {
    let special = s.chars().any(|c| {
        (c < ' ' && c != '\n')
            || c == '\u{7f}'
            || c == '\u{feff}'
            || ('\u{80}'..='\u{9f}').contains(&c)
    });
    if s.contains('\n') && !is_key && !special && !s.contains('\t') && !s.starts_with(' ') {
        return literal(s, indent);
    }
    if resolves_to_non_string(s) || special || s.contains('\n') {
        return double_quoted(s);
    }
    if plain_allowed(s) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "''"))
}

fn literal(s: &str, indent: usize) -> String {
    let trailing = s.len() - s.trim_end_matches('\n').len();
    let chomp = match trailing {
        0 => "-",
        1 => "",
        _ => "+",
    };
    let mut out = format!("|{chomp}");
    let body = if trailing == 1 {
        &s[..s.len() - 1]
    } else {
        s.trim_end_matches('\n')
    };
    let pad = " ".repeat(indent.max(2));
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            out.push_str(&pad);
            out.push_str(line);
        }
    }
    for _ in 1..trailing.max(1) {
        out.push('\n');
    }
    out
}

fn double_quoted(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            '\r' => o.push_str("\\r"),
            '\0' => o.push_str("\\0"),
            '\u{7}' => o.push_str("\\a"),
            '\u{8}' => o.push_str("\\b"),
            '\u{b}' => o.push_str("\\v"),
            '\u{c}' => o.push_str("\\f"),
            '\u{1b}' => o.push_str("\\e"),
            '\u{85}' => o.push_str("\\N"),
            '\u{a0}' => o.push_str("\\_"),
            '\u{2028}' => o.push_str("\\L"),
            '\u{2029}' => o.push_str("\\P"),
            c if (c as u32) < 0x20
                || c == '\u{7f}'
                || ('\u{80}'..='\u{9f}').contains(&c)
                || c == '\u{feff}' =>
            {
                o.push_str(&format!("\\x{:02X}", c as u32))
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// go-yaml's emitter analysis: may this text be written plain in block context?
fn plain_allowed(s: &str) -> bool {
    let b: Vec<char> = s.chars().collect();
    if b.is_empty() {
        return false;
    }
    if b[0] == ' ' || b[b.len() - 1] == ' ' {
        return false;
    }
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    let first = b[0];
    let next_blank = |i: usize| b.get(i + 1).is_none_or(|c| *c == ' ' || *c == '\t');
    if "#,[]{}&*!|>'\"%@`".contains(first) {
        return false;
    }
    if (first == '?' || first == ':' || first == '-') && next_blank(0) {
        return false;
    }
    for (i, &c) in b.iter().enumerate() {
        if c == ':' && next_blank(i) {
            return false;
        }
        if c == '#' && i > 0 && (b[i - 1] == ' ' || b[i - 1] == '\t') {
            return false;
        }
        if c == '\t' && (i == 0 || i == b.len() - 1) {
            return false;
        }
    }
    true
}

/// go-yaml v2's key order: letters after other characters, runs of digits compared
/// as numbers.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an.wrapping_mul(10).wrapping_add(ar[ai] as i64 - '0' as i64);
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn.wrapping_mul(10).wrapping_add(br[bi] as i64 - '0' as i64);
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}
