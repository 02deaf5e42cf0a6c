//! YAML input as Helm reads it: sigs.k8s.io/yaml, that is go-yaml v2's YAML 1.1
//! resolver (`0755` is octal, `yes`/`on`/`y` are booleans, `1_000` is an int, `.inf`
//! a float), its merge keys and alias rules, then a trip through JSON (every number
//! a float64, map keys strings, `NaN`/`Inf` an error).
//!
//! The syntax is parsed by `yaml-rust2`; the resolution of plain scalars and the
//! conversion are go-yaml v2's and sigs.k8s.io/yaml's rules, written here because
//! no crate resolves YAML 1.1 as go-yaml v2 does.

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::TScalarStyle;

use crate::value::Value;

/// Why a YAML document could not be read; the texts are what Helm reports.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YamlError {
    /// Bad syntax or a YAML-level rule (`yaml: line 3: ...`), or a value JSON
    /// cannot hold.
    #[error("error converting YAML to JSON: {0}")]
    Convert(String),
    /// The document is not of the wanted kind (a list where a map was wanted).
    #[error(
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {found} into Go value of type {want}"
    )]
    Kind {
        /// What the document is, in JSON's words (`array`, `string`, `number`, `bool`).
        found: &'static str,
        /// The Go type that was wanted.
        want: &'static str,
    },
}

/// Reads a values file (`values.yaml`, `--values`, Chart files) as Helm's
/// `chartutil.ReadValues` does: the first document, a map; empty or `null` gives
/// an empty map; numbers are float64.
pub fn values_from_yaml(text: &str) -> Result<Value, YamlError> {
    map_of(text, "common.Values")
}

/// Reads a YAML map as Helm's `fromYaml` does (`map[string]interface{}` target):
/// empty or `null` gives an empty map.
pub fn map_from_yaml(text: &str) -> Result<Value, YamlError> {
    map_of(text, "map[string]interface {}")
}

fn map_of(text: &str, want: &'static str) -> Result<Value, YamlError> {
    match document_from_yaml(text)? {
        Value::Nil => Ok(Value::map(BTreeMap::new())),
        m @ Value::Map(_) => Ok(m),
        other => Err(kind_error(&other, want)),
    }
}

/// Reads a YAML list as Helm's `fromYamlArray` does (`[]interface{}` target):
/// empty or `null` gives an empty list.
pub fn list_from_yaml(text: &str) -> Result<Value, YamlError> {
    match document_from_yaml(text)? {
        Value::Nil => Ok(Value::list(vec![])),
        l @ Value::List(_) => Ok(l),
        other => Err(kind_error(&other, "[]interface {}")),
    }
}

/// Reads the first document of `text` into any value as sigs.k8s.io/yaml does for
/// an `interface{}` target (empty text is nil).
pub fn document_from_yaml(text: &str) -> Result<Value, YamlError> {
    let node = parse_first_document(text).map_err(YamlError::Convert)?;
    let Some(node) = node else {
        return Ok(Value::Nil);
    };
    let mut d = Decoder::default();
    d.decode(&node, 0).map_err(YamlError::Convert)
}

fn kind_error(v: &Value, want: &'static str) -> YamlError {
    let found = match v {
        Value::List(_) => "array",
        Value::Str(_) => "string",
        Value::Bool(_) => "bool",
        Value::Map(_) => "object",
        _ => "number",
    };
    YamlError::Kind { found, want }
}

/// Nesting deeper than this is an error (go-yaml v2's limit), which also bounds
/// the recursion of the decoder.
const MAX_DEPTH: usize = 10_000;

/// A parsed node; aliases point at the anchored node.
#[derive(Debug)]
enum Node {
    Scalar {
        value: String,
        plain: bool,
        tag: Option<String>,
    },
    Seq(Vec<Rc<Node>>),
    Map(Vec<(Rc<Node>, Rc<Node>)>),
    Alias(Rc<Node>),
}

const YAML_TAG: &str = "tag:yaml.org,2002:";

fn tag_name(t: Option<Tag>) -> Option<String> {
    let t = t?;
    Some(match t.handle.as_str() {
        "!!" | YAML_TAG => format!("{YAML_TAG}{}", t.suffix),
        h => format!("{h}{}", t.suffix),
    })
}

enum Open {
    Seq(usize, Vec<Rc<Node>>),
    Map(usize, Vec<Rc<Node>>),
}

/// The node of the first document, `None` for an empty stream. go-yaml v2's
/// `Unmarshal` reads one document and ignores what follows.
fn parse_first_document(text: &str) -> Result<Option<Rc<Node>>, String> {
    let mut p = Parser::new_from_str(text);
    let mut anchors: HashMap<usize, Rc<Node>> = HashMap::new();
    let mut stack: Vec<Open> = vec![];
    let mut started = false;
    loop {
        let (ev, mark) = p.next_token().map_err(|e| go_yaml_error(&e, text))?;
        let done: Rc<Node> = match ev {
            Event::StreamEnd => return Ok(None),
            Event::DocumentStart => {
                started = true;
                continue;
            }
            Event::DocumentEnd => return Ok(None),
            Event::Nothing | Event::StreamStart => continue,
            Event::Alias(id) => {
                let target = anchors.get(&id).cloned().ok_or_else(|| {
                    format!("yaml: line {}: unknown anchor referenced", mark.line())
                })?;
                Rc::new(Node::Alias(target))
            }
            Event::Scalar(value, style, anchor, tag) => {
                let n = Rc::new(Node::Scalar {
                    value,
                    plain: matches!(style, TScalarStyle::Plain),
                    tag: tag_name(tag),
                });
                if anchor > 0 {
                    anchors.insert(anchor, n.clone());
                }
                n
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("yaml: exceeded max depth of {MAX_DEPTH}"));
                }
                stack.push(if matches!(ev, Event::SequenceStart(..)) {
                    Open::Seq(anchor, vec![])
                } else {
                    Open::Map(anchor, vec![])
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (anchor, n) = match stack.pop() {
                    Some(Open::Seq(a, items)) => (a, Node::Seq(items)),
                    Some(Open::Map(a, items)) => {
                        let mut pairs = Vec::with_capacity(items.len() / 2);
                        let mut it = items.into_iter();
                        while let (Some(k), Some(v)) = (it.next(), it.next()) {
                            pairs.push((k, v));
                        }
                        (a, Node::Map(pairs))
                    }
                    None => return Err("yaml: unbalanced collection end".to_string()),
                };
                let n = Rc::new(n);
                if anchor > 0 {
                    anchors.insert(anchor, n.clone());
                }
                n
            }
        };
        let _ = started;
        match stack.last_mut() {
            Some(Open::Seq(_, items)) | Some(Open::Map(_, items)) => items.push(done),
            None => return Ok(Some(done)),
        }
    }
}

/// A syntax error worded as go-yaml v2 words it: libyaml's problem without its
/// context (`while parsing a node, `), after `line N: ` where N is the 1-based
/// line for scanner errors but the 0-based one for parser errors (and nothing
/// when that is 0), as go-yaml's `fail` computes it.
fn go_yaml_error(e: &yaml_rust2::ScanError, text: &str) -> String {
    let info = e.info();
    if info.ends_with("found unknown anchor") {
        // go-yaml names the anchor; it starts at the error's position
        let name: String = text
            .chars()
            .skip(e.marker().index())
            .skip_while(|c| *c == '*')
            .take_while(|c| !c.is_whitespace() && !",[]{}".contains(*c))
            .collect();
        return format!("yaml: unknown anchor '{name}' referenced");
    }
    let (parser, problem) = match info.strip_prefix("while ") {
        Some(rest) => (
            rest.starts_with("parsing"),
            rest.split_once(", ").map_or(rest, |(_, p)| p),
        ),
        None => (info.starts_with("did not find expected <"), info),
    };
    let problem = match problem {
        "expected ',' or ']'" => "did not find expected ',' or ']'",
        "did not find expected <document-start>" => "did not find expected <document start>",
        "did not find expected hexadecimal number" => "did not find expected hexdecimal number",
        p => p,
    };
    // go-yaml: the 0-based line of the problem, plus one for scanner errors;
    // none at all on the first line
    let line0 = e.marker().line().saturating_sub(1);
    if line0 == 0 {
        format!("yaml: {problem}")
    } else if parser {
        format!("yaml: line {line0}: {problem}")
    } else {
        format!("yaml: line {}: {problem}", line0 + 1)
    }
}

/// A resolved scalar, before the trip through JSON.
enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
}

/// go-yaml v2's `resolve` for an untagged plain scalar or one tagged with a
/// resolvable tag; `Err` is its `cannot decode` failure.
fn resolve(tag: Option<&str>, s: &str) -> Result<Scalar, String> {
    let short = tag.map(|t| {
        t.strip_prefix(YAML_TAG)
            .map_or(t.to_string(), |x| format!("!!{x}"))
    });
    let short = short.as_deref();
    match short {
        None | Some("!!bool" | "!!int" | "!!float" | "!!null" | "!!timestamp") => {}
        // !!str, !!binary and any other tag: the text as it is
        _ => return Ok(Scalar::Str(s.to_string())),
    }
    let got = resolve_untagged(s);
    let ok = match (short, &got) {
        (None | Some("!!timestamp"), _) => true,
        (Some("!!bool"), Scalar::Bool(_)) | (Some("!!null"), Scalar::Null) => true,
        (Some("!!int"), Scalar::Int(_) | Scalar::Uint(_)) => true,
        (Some("!!float"), Scalar::Float(_)) => true,
        (Some("!!float"), Scalar::Int(i)) => return Ok(Scalar::Float(*i as f64)),
        (Some("!!float"), Scalar::Uint(u)) => return Ok(Scalar::Float(*u as f64)),
        _ => false,
    };
    if ok {
        return Ok(got);
    }
    let rtag = match got {
        Scalar::Null => "!!null",
        Scalar::Bool(_) => "!!bool",
        Scalar::Int(_) | Scalar::Uint(_) => "!!int",
        Scalar::Float(_) => "!!float",
        Scalar::Str(_) => "!!str",
    };
    Err(format!(
        "yaml: cannot decode {rtag} `{s}` as a {}",
        short.unwrap_or("")
    ))
}

fn resolve_untagged(s: &str) -> Scalar {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Scalar::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Scalar::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Scalar::Bool(false);
        }
        ".nan" | ".NaN" | ".NAN" => return Scalar::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Scalar::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Scalar::Float(f64::NEG_INFINITY),
        _ => {}
    }
    match s.as_bytes()[0] {
        b'.' => match go_parse_float(s) {
            Some(f) => Scalar::Float(f),
            None => Scalar::Str(s.to_string()),
        },
        b'+' | b'-' | b'0'..=b'9' => {
            let plain = s.replace('_', "");
            if let Some(i) = go_parse_int(&plain) {
                return Scalar::Int(i);
            }
            if let Some(u) = go_parse_uint(&plain) {
                return Scalar::Uint(u);
            }
            if yaml_style_float(&plain)
                && let Some(f) = go_parse_float(&plain)
            {
                return Scalar::Float(f);
            }
            let bin = |d: &str| i64::from_str_radix(d, 2).ok();
            if let Some(d) = plain.strip_prefix("0b")
                && let Some(i) = bin(d)
            {
                return Scalar::Int(i);
            }
            if let Some(d) = plain.strip_prefix("-0b")
                && let Some(i) = bin(d)
            {
                return Scalar::Int(-i);
            }
            Scalar::Str(s.to_string())
        }
        _ => Scalar::Str(s.to_string()),
    }
}

/// go-yaml v2's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - st
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// The digits and base of Go's `strconv.ParseUint(s, 0, 64)` after the sign.
fn base_prefix(s: &str) -> (u32, &str) {
    let b = s.as_bytes();
    if b.len() >= 2 && b[0] == b'0' {
        match b[1].to_ascii_lowercase() {
            b'x' if b.len() >= 3 => return (16, &s[2..]),
            b'o' if b.len() >= 3 => return (8, &s[2..]),
            b'b' if b.len() >= 3 => return (2, &s[2..]),
            _ => return (8, &s[1..]),
        }
    }
    (10, s)
}

/// Go's `strconv.ParseUint(s, 0, 64)` (no sign; underscores already removed).
fn go_parse_uint(s: &str) -> Option<u64> {
    let (base, d) = base_prefix(s);
    if d.is_empty() || d.starts_with(['+', '-']) {
        return None;
    }
    u64::from_str_radix(d, base).ok()
}

/// Go's `strconv.ParseInt(s, 0, 64)`.
fn go_parse_int(s: &str) -> Option<i64> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let u = go_parse_uint(rest)?;
    if neg {
        if u <= i64::MAX as u64 + 1 {
            Some((u as i64).wrapping_neg())
        } else {
            None
        }
    } else {
        i64::try_from(u).ok()
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for the decimal forms YAML can reach (an
/// out-of-range value is an error there, as `1e400` is).
fn go_parse_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let body = s.trim_start_matches(['+', '-']);
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        let f = if lower == "nan" {
            f64::NAN
        } else {
            f64::INFINITY
        };
        return Some(if b[0] == b'-' { -f } else { f });
    }
    if !body
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    f.is_finite().then_some(f)
}

/// Decodes nodes as go-yaml v2 into `interface{}`, then as sigs.k8s.io/yaml
/// converts to JSON and back (every number a float64, keys strings).
#[derive(Default)]
struct Decoder {
    decode_count: usize,
    /// Nodes decoded through an alias.
    alias_count: usize,
    alias_depth: usize,
}

/// go-yaml v2's `allowedAliasRatio`: documents built mostly from aliases
/// (billion laughs) are refused.
fn allowed_alias_ratio(decode_count: usize) -> f64 {
    const LO: f64 = 400_000.0;
    const HI: f64 = 4_000_000.0;
    let d = decode_count as f64;
    if d <= LO {
        0.99
    } else if d >= HI {
        0.10
    } else {
        0.99 - 0.89 * ((d - LO) / (HI - LO))
    }
}

impl Decoder {
    fn decode(&mut self, n: &Node, depth: usize) -> Result<Value, String> {
        self.decode_count += 1;
        if self.alias_depth > 0 {
            self.alias_count += 1;
        }
        if self.alias_count > 100
            && self.decode_count > 1000
            && self.alias_count as f64 / self.decode_count as f64
                > allowed_alias_ratio(self.decode_count)
        {
            return Err("yaml: document contains excessive aliasing".to_string());
        }
        if depth > MAX_DEPTH {
            return Err(format!("yaml: exceeded max depth of {MAX_DEPTH}"));
        }
        stacker::maybe_grow(crate::exec::RED_ZONE, crate::exec::STACK_CHUNK, || {
            self.decode_inner(n, depth)
        })
    }

    fn decode_inner(&mut self, n: &Node, depth: usize) -> Result<Value, String> {
        match n {
            Node::Alias(target) => {
                self.alias_depth += 1;
                let r = self.decode(target, depth + 1);
                self.alias_depth -= 1;
                r
            }
            Node::Scalar { value, plain, tag } => self.scalar(value, *plain, tag.as_deref()),
            Node::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.decode(i, depth + 1)?);
                }
                Ok(Value::list(out))
            }
            Node::Map(_) => {
                let mut out = BTreeMap::new();
                self.mapping_into(n, &mut out, depth)?;
                Ok(Value::map(out))
            }
        }
    }

    fn scalar(&mut self, value: &str, plain: bool, tag: Option<&str>) -> Result<Value, String> {
        let s = match (plain, tag) {
            // a quoted or block scalar without a tag is a string
            (false, None) => Scalar::Str(value.to_string()),
            (_, Some(t)) if t == format!("{YAML_TAG}binary") => {
                use base64::Engine as _;
                let clean: String = value.split_whitespace().collect();
                let data = base64::engine::general_purpose::STANDARD
                    .decode(clean)
                    .map_err(|_| "yaml: !!binary value contains invalid base64 data")?;
                Scalar::Str(String::from_utf8_lossy(&data).into_owned())
            }
            _ => resolve(tag, value)?,
        };
        Ok(match s {
            Scalar::Null => Value::Nil,
            Scalar::Bool(b) => Value::Bool(b),
            Scalar::Int(i) => Value::Float(i as f64),
            Scalar::Uint(u) => Value::Float(u as f64),
            Scalar::Float(f) if f.is_finite() => Value::Float(f),
            Scalar::Float(f) => {
                return Err(format!(
                    "json: unsupported value: {}",
                    crate::gofmt::float_g(f)
                ));
            }
            Scalar::Str(s) => Value::str(s),
        })
    }

    /// Decodes a mapping into `out` in document order: later keys win, and a
    /// merge key (`<<`) sets the keys of the merged maps where it stands.
    fn mapping_into(
        &mut self,
        n: &Node,
        out: &mut BTreeMap<String, Value>,
        depth: usize,
    ) -> Result<(), String> {
        let Node::Map(pairs) = n else {
            return Err(MERGE_WANTS_MAP.to_string());
        };
        for (k, v) in pairs {
            if is_merge(k) {
                self.merge(v, out, depth + 1)?;
                continue;
            }
            let key = self.key(k, v)?;
            let val = self.decode(v, depth + 1)?;
            out.insert(key, val);
        }
        Ok(())
    }

    fn merge(
        &mut self,
        v: &Node,
        out: &mut BTreeMap<String, Value>,
        depth: usize,
    ) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("yaml: exceeded max depth of {MAX_DEPTH}"));
        }
        stacker::maybe_grow(crate::exec::RED_ZONE, crate::exec::STACK_CHUNK, || {
            match deref(v) {
                m @ Node::Map(_) => self.merge_map(v, m, out, depth),
                Node::Seq(items) if !matches!(v, Node::Alias(_)) => {
                    // earlier maps take precedence: applied last
                    for i in items.iter().rev() {
                        let m = deref(i);
                        if !matches!(m, Node::Map(_)) {
                            return Err(MERGE_WANTS_MAP.to_string());
                        }
                        self.merge_map(i, m, out, depth + 1)?;
                    }
                    Ok(())
                }
                _ => Err(MERGE_WANTS_MAP.to_string()),
            }
        })
    }

    /// Merges map `m`, reached through `via` (an alias counts towards the
    /// aliasing bound as in [`Decoder::decode`]).
    fn merge_map(
        &mut self,
        via: &Node,
        m: &Node,
        out: &mut BTreeMap<String, Value>,
        depth: usize,
    ) -> Result<(), String> {
        let alias = matches!(via, Node::Alias(_));
        self.alias_depth += usize::from(alias);
        self.decode_count += 1;
        let r = self.mapping_into(m, out, depth + 1);
        self.alias_depth -= usize::from(alias);
        r
    }
}

/// Go's `%#v` of what go-yaml v2 decodes `n` to (for error messages).
fn go_syntax(n: &Node) -> String {
    go_syntax_at(n, 0)
}

fn go_syntax_at(n: &Node, depth: usize) -> String {
    if depth > 64 {
        return "...".to_string();
    }
    match deref(n) {
        Node::Scalar { value, plain, tag } => {
            let s = if !*plain && tag.is_none() {
                Scalar::Str(value.clone())
            } else {
                resolve(tag.as_deref(), value).unwrap_or(Scalar::Str(value.clone()))
            };
            match s {
                Scalar::Null if depth == 0 => "<nil>".to_string(),
                Scalar::Null => "interface {}(nil)".to_string(),
                Scalar::Bool(b) => b.to_string(),
                Scalar::Int(i) => i.to_string(),
                Scalar::Uint(u) => format!("{u:#x}"),
                Scalar::Float(f) => crate::gofmt::float_g(f),
                Scalar::Str(s) => ferroflux_gocompat::quote(&s),
            }
        }
        Node::Seq(items) => format!(
            "[]interface {{}}{{{}}}",
            items
                .iter()
                .map(|i| go_syntax_at(i, depth + 1))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Node::Map(pairs) => {
            let mut kv: Vec<String> = pairs
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}:{}",
                        go_syntax_at(k, depth + 1),
                        go_syntax_at(v, depth + 1)
                    )
                })
                .collect();
            kv.sort();
            format!("map[interface {{}}]interface {{}}{{{}}}", kv.join(", "))
        }
        Node::Alias(_) => String::new(),
    }
}

const MERGE_WANTS_MAP: &str = "yaml: map merge requires map or sequence of maps as the value";

fn deref(n: &Node) -> &Node {
    match n {
        Node::Alias(t) => deref(t),
        other => other,
    }
}

fn is_merge(k: &Node) -> bool {
    matches!(k, Node::Scalar { value, plain, tag }
        if value == "<<" && (*plain && tag.is_none() || tag.as_deref() == Some("tag:yaml.org,2002:merge")))
}

impl Decoder {
    /// sigs.k8s.io/yaml's map key conversion: strings as they are, Go ints in
    /// decimal, floats as float32 shortest (`'g'`), booleans as words; anything
    /// else is refused.
    fn key(&mut self, k: &Node, v: &Node) -> Result<String, String> {
        self.decode_count += 1;
        let Node::Scalar { value, plain, tag } = deref(k) else {
            return Err(format!("yaml: invalid map key: {}", go_syntax(k)));
        };
        if !*plain && tag.is_none() {
            return Ok(value.clone());
        }
        if let Some(t) = tag.as_deref()
            && t == format!("{YAML_TAG}binary")
        {
            return match self.scalar(value, *plain, Some(t))? {
                Value::Str(s) => Ok(s.to_string()),
                _ => Ok(value.clone()),
            };
        }
        Ok(match resolve(tag.as_deref(), value)? {
            Scalar::Str(s) => s,
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Uint(u) => {
                return Err(format!(
                    "unsupported map key of type: uint64, key: {u:#x}, value: {}",
                    go_syntax(v)
                ));
            }
            Scalar::Float(f) => match crate::gofmt::float32_g(f).as_str() {
                "+Inf" => ".inf".to_string(),
                "-Inf" => "-.inf".to_string(),
                "NaN" => ".nan".to_string(),
                s => s.to_string(),
            },
            Scalar::Null => {
                return Err(format!(
                    "unsupported map key of type: %!s(<nil>), key: <nil>, value: {}",
                    go_syntax(v)
                ));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> String {
        crate::gofmt::sprint_value(&values_from_yaml(text).unwrap())
    }

    #[test]
    fn yaml_1_1_scalars() {
        assert_eq!(
            v("a: 0755\nb: 0o17\nc: 0x1F\nd: 1_000\ne: 0b101\nf: 09\ng: +12\nh: -0b11"),
            "map[a:493 b:15 c:31 d:1000 e:5 f:9 g:12 h:-3]"
        );
        assert_eq!(
            v("a: y\nb: On\nc: no\nd: OFF\ne: ~\nf: Null\ng:\nh: 'yes'\ni: !!str on"),
            "map[a:true b:true c:false d:false e:<nil> f:<nil> g:<nil> h:yes i:on]"
        );
        assert_eq!(
            v(
                "a: 1000000\nb: 1.5e3\nc: .5\nd: 1e400\ne: 2019-01-01\nf: 1:20\ng: 18446744073709551615"
            ),
            "map[a:1e+06 b:1500 c:0.5 d:1e400 e:2019-01-01 f:1:20 g:1.8446744073709552e+19]"
        );
    }

    #[test]
    fn keys_are_strings() {
        assert_eq!(
            v("1: a\n1.5: b\ntrue: c\nyes: d\n0x10: e\n1e10: f\n'0x1': g"),
            "map[0x1:g 1:a 1.5:b 16:e 1e+10:f true:d]"
        );
        assert_eq!(
            values_from_yaml("~: a").unwrap_err().to_string(),
            "error converting YAML to JSON: unsupported map key of type: %!s(<nil>), key: <nil>, value: \"a\""
        );
        assert_eq!(
            values_from_yaml("[a, 1]: c").unwrap_err().to_string(),
            "error converting YAML to JSON: yaml: invalid map key: []interface {}{\"a\", 1}"
        );
    }

    #[test]
    fn infinities_do_not_survive_json() {
        assert_eq!(
            values_from_yaml("a: .inf").unwrap_err().to_string(),
            "error converting YAML to JSON: json: unsupported value: +Inf"
        );
        assert!(values_from_yaml("a: .nan").is_err());
        assert_eq!(v("a: !!str .inf"), "map[a:.inf]");
    }

    #[test]
    fn anchors_merges_and_first_document_only() {
        assert_eq!(
            v("base: &b {x: 1, z: 2}\nc:\n  <<: *b\n  z: 3\nd: *b\n---\nignored: true"),
            "map[base:map[x:1 z:2] c:map[x:1 z:3] d:map[x:1 z:2]]"
        );
        assert_eq!(
            v("a: &a {x: 1}\nb: &b {x: 2, z: 1}\nc: {<<: [*a, *b]}"),
            "map[a:map[x:1] b:map[x:2 z:1] c:map[x:1 z:1]]"
        );
        assert!(values_from_yaml("a: &a 1\nb: {<<: *a}").is_err());
    }

    #[test]
    fn tags() {
        assert_eq!(
            v("a: !!float 1\nb: !!int 0x10\nc: !!binary aGk="),
            "map[a:1 b:16 c:hi]"
        );
        assert_eq!(
            values_from_yaml("a: !!int abc").unwrap_err().to_string(),
            "error converting YAML to JSON: yaml: cannot decode !!str `abc` as a !!int"
        );
        assert_eq!(v("a: !custom 12"), "map[a:12]");
    }

    #[test]
    fn kinds_and_empty() {
        assert_eq!(v(""), "map[]");
        assert_eq!(v("# only a comment\n"), "map[]");
        assert_eq!(v("null"), "map[]");
        assert_eq!(
            values_from_yaml("[1]").unwrap_err().to_string(),
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type common.Values"
        );
        assert_eq!(
            crate::gofmt::sprint_value(&list_from_yaml("- on\n- 010").unwrap()),
            "[true 8]"
        );
    }

    #[test]
    fn hostile_input_is_an_error() {
        // billion laughs
        let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            doc.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        assert_eq!(
            values_from_yaml(&doc).unwrap_err().to_string(),
            "error converting YAML to JSON: yaml: document contains excessive aliasing"
        );
        let deep = "a: ".to_string() + &"[".repeat(20_000) + &"]".repeat(20_000);
        assert!(values_from_yaml(&deep).is_err());
        assert_eq!(
            values_from_yaml("a: *nope").unwrap_err().to_string(),
            "error converting YAML to JSON: yaml: unknown anchor 'nope' referenced"
        );
        assert_eq!(
            values_from_yaml("a: [").unwrap_err().to_string(),
            "error converting YAML to JSON: yaml: line 1: did not find expected node content"
        );
        assert!(values_from_yaml("a: b: c").is_err());
    }
}
