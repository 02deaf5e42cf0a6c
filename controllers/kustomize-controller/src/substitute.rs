//! Post-build variable substitution (`spec.postBuild.substitute` /
//! `substituteFrom`), as Flux's kustomize-controller does it.
//!
//! Flux renders each built object to YAML, runs `fluxcd/pkg/envsubst` (a fork of
//! drone/envsubst) over the text and parses the result again. Doing the same here keeps
//! the observable behaviour: a substituted value becomes whatever YAML makes of it
//! (`replicas: ${n}` with `n=3` yields the number 3), and a value that breaks the YAML
//! makes the object fail to parse.
//!
//! Understood forms (everything else is literal text): `${var}`, `${var:=default}`,
//! `${var=default}`, `${var:-default}`, `${var:?x}`, `${var:+x}` (the last four, like
//! `:=`, all mean "the value, or `default` when it is empty" in Flux's envsubst),
//! `${#var}`, `${var^}`, `${var^^}`, `${var,}`, `${var,,}`, `${var:pos}`,
//! `${var:pos:len}`, `${var#glob}`, `${var##glob}`, `${var%glob}`, `${var%%glob}`,
//! `${var/old/new}`, `${var//old/new}`, `${var/#old/new}`, `${var/%old/new}`.
//! Defaults may nest (`${a:=${b}}`). `$var` without braces is not substituted, and
//! `$$` is an escaped `$` (so `$${var}` leaves `${var}` in the output).

use std::collections::BTreeMap;

use serde_json::Value;

/// The pattern every variable name must match (Flux's `varsubRegex`).
pub const VAR_NAME_PATTERN: &str = "^[_[:alpha:]][_[:alpha:][:digit:]]*$";

/// The label or annotation that, set to `disabled`, exempts an object from substitution.
pub const SUBSTITUTE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// How deeply `${...}` may nest inside defaults and arguments. Flux has no limit, but a
/// recursive parser needs one to turn hostile input into an error instead of a stack
/// overflow; real manifests nest two or three levels at most.
const MAX_DEPTH: usize = 64;

/// Upper bound on the text one object may expand to. `${a//x/${b}}` multiplies sizes,
/// so without a bound a few kilobytes of input could ask for gigabytes of output.
const MAX_OUTPUT: usize = 64 * 1024 * 1024;

/// Upper bound on glob-matching steps for one `#`/`%` trim, so that a huge pattern
/// against a huge value fails clearly instead of running for minutes.
const MAX_GLOB_STEPS: usize = 50_000_000;

/// Why substitution failed.
#[derive(Debug, thiserror::Error)]
pub enum SubstituteError {
    /// A variable name does not match [`VAR_NAME_PATTERN`].
    #[error("'{name}' var name is invalid, must match '{VAR_NAME_PATTERN}'")]
    InvalidVarName {
        /// The offending name.
        name: String,
    },
    /// The object's text holds a malformed `${...}` or (strict mode) an undefined variable.
    #[error("post build failed for '{object}': variable substitution failed: {source}")]
    Eval {
        /// The object, as `Kind/namespace/name`.
        object: String,
        /// What went wrong.
        source: EvalError,
    },
    /// The object could not be rendered as YAML before substitution.
    #[error("post build failed for '{object}': cannot render the object as YAML: {message}")]
    Render {
        /// The object, as `Kind/namespace/name`.
        object: String,
        /// The serializer's message.
        message: String,
    },
    /// After substitution the object's text is no longer a valid YAML object.
    #[error("post build failed for '{object}': the substituted YAML does not parse: {message}")]
    Parse {
        /// The object, as `Kind/namespace/name`.
        object: String,
        /// The parser's message.
        message: String,
    },
}

/// Why evaluating `${...}` expressions in a text failed. `near` shows the start of the
/// expression at fault (at most 40 characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// An expression that is not one of the understood forms.
    #[error("bad substitution near '{near}'")]
    BadSubstitution {
        /// The expression's start.
        near: String,
    },
    /// `${name` with no closing `}`.
    #[error("missing closing brace near '{near}'")]
    MissingClosingBrace {
        /// The expression's start.
        near: String,
    },
    /// `${` not followed by a variable name.
    #[error("unable to parse variable name near '{near}'")]
    VariableName {
        /// The expression's start.
        near: String,
    },
    /// A default or argument that never ends (usually a missing `}`).
    #[error("unable to parse substitution within function near '{near}'")]
    FuncSubstitution {
        /// The expression's start.
        near: String,
    },
    /// Strict mode: a variable used without a default is not defined.
    #[error("variable not set (strict mode): \"{name}\"")]
    NotSet {
        /// The variable.
        name: String,
    },
    /// Expressions nested deeper than the parser allows.
    #[error("expressions nested more than {MAX_DEPTH} levels deep near '{near}'")]
    TooDeep {
        /// The expression's start.
        near: String,
    },
    /// `${var:pos:len}` whose length would end before its start.
    #[error("substring length {length} is negative for variable \"{name}\"")]
    NegativeLength {
        /// The variable.
        name: String,
        /// The length given.
        length: i64,
    },
    /// The expansion would exceed the output limit.
    #[error("the substituted text would exceed {MAX_OUTPUT} bytes")]
    TooLarge,
    /// A `#`/`%` glob too costly to match against the value.
    #[error("pattern '{pattern}' is too costly to match against variable \"{name}\"")]
    PatternTooComplex {
        /// The variable.
        name: String,
        /// The pattern (at most 40 characters).
        pattern: String,
    },
}

/// Checks a variable name against [`VAR_NAME_PATTERN`] (ASCII letters, digits and `_`,
/// not starting with a digit), as Flux does before substituting.
pub fn validate_var_name(name: &str) -> Result<(), SubstituteError> {
    let mut chars = name.chars();
    let ok = chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(SubstituteError::InvalidVarName {
            name: name.to_string(),
        })
    }
}

/// Substitutes `vars` into every object, as Flux's post-build step.
///
/// Objects labelled or annotated `kustomize.toolkit.fluxcd.io/substitute: disabled` are
/// returned unchanged. An undefined variable without a default becomes the empty string,
/// or, with `strict` (Flux's `--feature-gates=StrictPostBuildSubstitutions`), an error
/// naming it. Newlines are removed from variable values, as Flux does when it loads
/// them. Whether to substitute at all (Flux skips it when no variable is defined and
/// `substituteStrategy` is not `Always`) is the caller's decision.
pub fn substitute(
    objects: Vec<Value>,
    vars: &BTreeMap<String, String>,
    strict: bool,
) -> Result<Vec<Value>, SubstituteError> {
    for name in vars.keys() {
        validate_var_name(name)?;
    }
    let vars: BTreeMap<&str, String> = vars
        .iter()
        .map(|(k, v)| (k.as_str(), v.replace('\n', "")))
        .collect();
    let lookup = |name: &str| vars.get(name).map(String::as_str);
    let mut out = Vec::with_capacity(objects.len());
    for obj in objects {
        if disabled(&obj) {
            out.push(obj);
            continue;
        }
        let text = serde_yaml::to_string(&obj).map_err(|e| SubstituteError::Render {
            object: object_id(&obj),
            message: e.to_string(),
        })?;
        // Without a `$` nothing can change, and re-parsing would only cost time.
        if !text.contains('$') {
            out.push(obj);
            continue;
        }
        let expanded = eval(&text, &lookup, strict).map_err(|source| SubstituteError::Eval {
            object: object_id(&obj),
            source,
        })?;
        let mut parsed = parse_object(&expanded).map_err(|message| SubstituteError::Parse {
            object: object_id(&obj),
            message,
        })?;
        keep_string_fields(&obj, &mut parsed, &lookup, strict);
        out.push(parsed);
    }
    Ok(out)
}

/// Expands every `${...}` expression in `text`. `lookup` returns a variable's value, or
/// `None` when it is not defined; undefined variables count as empty unless `strict`.
pub fn eval<'v>(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<&'v str>,
    strict: bool,
) -> Result<String, EvalError> {
    let chars: Vec<char> = text.chars().collect();
    let mut parser = Parser {
        s: &chars,
        pos: 0,
        depth: 0,
    };
    let nodes = parser.parse_top()?;
    let mut out = String::with_capacity(text.len());
    let ev = Evaluator { lookup, strict };
    for n in &nodes {
        ev.eval(n, &mut out)?;
    }
    Ok(out)
}

/// Flux substitutes in YAML that keeps the source's quoting, so
/// `key: "${n}"` stays a string while `replicas: ${n}` becomes a number. The
/// build output here has lost the quoting; so where Kubernetes only accepts
/// strings (labels, annotations, ConfigMap and Secret data, env values,
/// args and commands) a value that was a string with `${` before
/// substitution is kept a string, with exactly the substituted text.
fn keep_string_fields<'v>(
    before: &Value,
    after: &mut Value,
    lookup: &dyn Fn(&str) -> Option<&'v str>,
    strict: bool,
) {
    let config_like = before.get("apiVersion").and_then(Value::as_str) == Some("v1")
        && matches!(
            before.get("kind").and_then(Value::as_str),
            Some("ConfigMap" | "Secret")
        );
    let mut path: Vec<String> = Vec::new();
    walk_strings(
        before,
        after,
        &mut path,
        &|path: &[String]| string_only(path, config_like),
        lookup,
        strict,
    );
}

fn string_only(path: &[String], config_like: bool) -> bool {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    match p.as_slice() {
        ["metadata", "labels" | "annotations", _] => true,
        ["data" | "binaryData" | "stringData", _] => config_like,
        [.., "env", _, "value"] => true,
        [.., "args" | "command", _] => true,
        _ => false,
    }
}

fn walk_strings<'v>(
    before: &Value,
    after: &mut Value,
    path: &mut Vec<String>,
    string_only: &dyn Fn(&[String]) -> bool,
    lookup: &dyn Fn(&str) -> Option<&'v str>,
    strict: bool,
) {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            for (k, bv) in b {
                if let Some(av) = a.get_mut(k) {
                    path.push(k.clone());
                    walk_strings(bv, av, path, string_only, lookup, strict);
                    path.pop();
                }
            }
        }
        (Value::Array(b), Value::Array(a)) => {
            for (i, (bv, av)) in b.iter().zip(a.iter_mut()).enumerate() {
                path.push(i.to_string());
                walk_strings(bv, av, path, string_only, lookup, strict);
                path.pop();
            }
        }
        (Value::String(b), after)
            if !after.is_string() && b.contains("${") && string_only(path) =>
        {
            if let Ok(text) = eval(b, lookup, strict) {
                *after = Value::String(text);
            }
        }
        _ => {}
    }
}

fn disabled(obj: &Value) -> bool {
    ["labels", "annotations"].iter().any(|field| {
        obj.pointer(&format!("/metadata/{field}"))
            .and_then(|m| m.get(SUBSTITUTE_KEY))
            .and_then(Value::as_str)
            == Some("disabled")
    })
}

/// `Kind/namespace/name` (or `Kind/name` for cluster-scoped objects), for messages.
fn object_id(obj: &Value) -> String {
    let get = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or("");
    let (kind, ns, name) = (
        get("/kind"),
        get("/metadata/namespace"),
        get("/metadata/name"),
    );
    if ns.is_empty() {
        format!("{kind}/{name}")
    } else {
        format!("{kind}/{ns}/{name}")
    }
}

fn parse_object(text: &str) -> Result<Value, String> {
    let mut docs = ferroflux_kustomize::parse_yaml_docs(text, "substituted object")
        .map_err(|e| e.to_string())?;
    match (docs.pop(), docs.is_empty()) {
        (Some(v), true) if v.is_object() => Ok(v),
        _ => Err("the document is no longer a single mapping".into()),
    }
}

// ---------------------------------------------------------------------------------
// Parsing. The grammar follows fluxcd/pkg/envsubst/parse, including its quirks (which
// characters end an argument, where `$$` and `\/` escapes apply), so that templates
// behave the same as under Flux; the implementation is a single left-to-right pass.

#[derive(Debug)]
enum Node {
    Text(String),
    Func(Func),
}

#[derive(Debug)]
struct Func {
    param: String,
    op: String,
    args: Vec<Node>,
}

struct Parser<'a> {
    s: &'a [char],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn at(&self, i: usize) -> Option<char> {
        self.s.get(i).copied()
    }

    fn peek(&self) -> Option<char> {
        self.at(self.pos)
    }

    fn at_open(&self) -> bool {
        self.peek() == Some('$') && self.at(self.pos + 1) == Some('{')
    }

    fn near(&self, start: usize) -> String {
        self.s[start.min(self.s.len())..].iter().take(40).collect()
    }

    fn parse_top(&mut self) -> Result<Vec<Node>, EvalError> {
        let mut nodes = Vec::new();
        let mut text = String::new();
        while let Some(c) = self.peek() {
            if self.at_open() {
                if !text.is_empty() {
                    nodes.push(Node::Text(std::mem::take(&mut text)));
                }
                let start = self.pos;
                self.pos += 2;
                nodes.push(Node::Func(self.parse_func(start)?));
            } else if c == '$' && self.at(self.pos + 1) == Some('$') {
                text.push('$');
                self.pos += 2;
            } else {
                text.push(c);
                self.pos += 1;
            }
        }
        if !text.is_empty() {
            nodes.push(Node::Text(text));
        }
        Ok(nodes)
    }

    fn ident(&mut self) -> String {
        let mut name = String::new();
        while let Some(c) = self.peek().filter(|c| c.is_alphanumeric() || *c == '_') {
            name.push(c);
            self.pos += 1;
        }
        name
    }

    fn close(&mut self, start: usize) -> Result<(), EvalError> {
        if self.peek() == Some('}') {
            self.pos += 1;
            Ok(())
        } else {
            Err(EvalError::BadSubstitution {
                near: self.near(start),
            })
        }
    }

    /// Parses what follows `${` (already consumed; `start` is where `$` was).
    fn parse_func(&mut self, start: usize) -> Result<Func, EvalError> {
        if self.depth >= MAX_DEPTH {
            return Err(EvalError::TooDeep {
                near: self.near(start),
            });
        }
        self.depth += 1;
        let f = self.parse_func_inner(start);
        self.depth -= 1;
        f
    }

    fn parse_func_inner(&mut self, start: usize) -> Result<Func, EvalError> {
        let bad = |p: &Self| EvalError::BadSubstitution {
            near: p.near(start),
        };
        if self.peek() == Some('#') {
            self.pos += 1;
            let param = self.ident();
            if param.is_empty() {
                return Err(bad(self));
            }
            self.close(start)?;
            return Ok(Func {
                param,
                op: "#".into(),
                args: Vec::new(),
            });
        }
        let param = self.ident();
        if param.is_empty() {
            return Err(EvalError::VariableName {
                near: self.near(start),
            });
        }
        let mut f = Func {
            param,
            op: String::new(),
            args: Vec::new(),
        };
        match self.peek() {
            Some(':') => {
                let next = self.at(self.pos + 1);
                if matches!(next, Some('=' | '-' | '?' | '+')) {
                    f.op = format!(":{}", next.unwrap_or_default());
                    self.pos += 2;
                    self.parse_default_args(&mut f, start)?;
                } else {
                    f.op = ":".into();
                    self.pos += 1;
                    f.args
                        .push(self.parse_param(start, |c| c == ':' || c == '}', false)?);
                    match self.peek() {
                        Some('}') => self.pos += 1,
                        Some(':') => {
                            while self.peek() == Some(':') {
                                self.pos += 1;
                            }
                            f.args.push(self.parse_param(start, |c| c == '}', false)?);
                            self.close(start)?;
                        }
                        _ => return Err(bad(self)),
                    }
                }
            }
            Some('=') => {
                f.op = "=".into();
                self.pos += 1;
                self.parse_default_args(&mut f, start)?;
            }
            Some(',' | '^') => {
                while f.op.len() < 2 {
                    match self.peek() {
                        Some(c @ (',' | '^')) => {
                            f.op.push(c);
                            self.pos += 1;
                        }
                        _ => break,
                    }
                }
                self.close(start)?;
            }
            Some(c @ ('#' | '%')) => {
                while f.op.len() < 2 && self.peek() == Some(c) {
                    f.op.push(c);
                    self.pos += 1;
                }
                f.args.push(self.parse_param(start, |c| c == '}', false)?);
                self.close(start)?;
            }
            Some('/') => {
                f.op.push('/');
                self.pos += 1;
                if let Some(c @ ('/' | '#' | '%')) = self.peek() {
                    f.op.push(c);
                    self.pos += 1;
                }
                f.args.push(self.parse_param(start, |c| c == '/', true)?);
                if self.peek() != Some('/') {
                    return Err(bad(self));
                }
                while self.peek() == Some('/') {
                    self.pos += 1;
                }
                if self.peek() == Some('}') {
                    self.pos += 1;
                } else {
                    f.args.push(self.parse_param(start, |c| c == '}', true)?);
                    self.close(start)?;
                }
            }
            Some('}') => self.pos += 1,
            _ => {
                return Err(EvalError::MissingClosingBrace {
                    near: self.near(start),
                });
            }
        }
        Ok(f)
    }

    /// The words of `${var:=word...}`: text runs and nested expressions up to `}`.
    fn parse_default_args(&mut self, f: &mut Func, start: usize) -> Result<(), EvalError> {
        loop {
            if self.peek() == Some('}') {
                self.pos += 1;
                return Ok(());
            }
            f.args.push(self.parse_param(start, |c| c == '}', false)?);
        }
    }

    /// One argument: a nested `${...}`, or text up to a `stop` character or `${`.
    /// With `escapes`, `$$`, `\/` and `\\` stand for their second character.
    fn parse_param(
        &mut self,
        start: usize,
        stop: impl Fn(char) -> bool,
        escapes: bool,
    ) -> Result<Node, EvalError> {
        if self.at_open() {
            let nested = self.pos;
            self.pos += 2;
            return Ok(Node::Func(self.parse_func(nested)?));
        }
        let mut text = String::new();
        let mut first = true;
        while let Some(c) = self.peek() {
            if self.at_open() {
                break;
            }
            let next = self.at(self.pos + 1);
            let escaped = escapes
                && ((c == '$' && next == Some('$'))
                    || (c == '\\' && matches!(next, Some('/' | '\\'))));
            if escaped {
                text.push(next.unwrap_or(c));
                self.pos += 2;
            } else if stop(c) {
                break;
            } else {
                text.push(c);
                self.pos += 1;
            }
            first = false;
        }
        if first {
            return Err(EvalError::FuncSubstitution {
                near: self.near(start),
            });
        }
        Ok(Node::Text(text))
    }
}

// ---------------------------------------------------------------------------------
// Evaluation.

struct Evaluator<'a, 'v> {
    lookup: &'a dyn Fn(&str) -> Option<&'v str>,
    strict: bool,
}

impl Evaluator<'_, '_> {
    fn eval(&self, node: &Node, out: &mut String) -> Result<(), EvalError> {
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

// ---------------------------------------------------------------------------------
// Glob trimming for `#`, `##`, `%`, `%%`. Flux tries every prefix with a glob match
// (quadratic in the value's length); here one pass of a small NFA over the value finds
// all matching prefixes at once.

#[derive(Debug, Clone)]
enum Glob {
    Star,
    Any,
    Lit(char),
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Glob {
    fn matches(&self, c: char) -> bool {
        match self {
            Glob::Star | Glob::Any => true,
            Glob::Lit(l) => *l == c,
            Glob::Class { negated, ranges } => {
                ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi) != *negated
            }
        }
    }
}

/// Compiles a glob as Go's `path.Match` reads it (`*` also matches `/` in Flux's
/// fork); `None` for a malformed pattern, which leaves the value unchanged as in Flux.
fn compile_glob(pattern: &str) -> Option<Vec<Glob>> {
    let mut out = Vec::new();
    let mut it = pattern.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '*' => {
                if !matches!(out.last(), Some(Glob::Star)) {
                    out.push(Glob::Star);
                }
            }
            '?' => out.push(Glob::Any),
            '\\' => out.push(Glob::Lit(it.next()?)),
            '[' => {
                let negated = it.next_if_eq(&'^').is_some();
                let mut ranges = Vec::new();
                loop {
                    if !ranges.is_empty() && it.next_if_eq(&']').is_some() {
                        break;
                    }
                    let lo = class_char(&mut it)?;
                    let hi = if it.next_if_eq(&'-').is_some() {
                        class_char(&mut it)?
                    } else {
                        lo
                    };
                    ranges.push((lo, hi));
                }
                out.push(Glob::Class { negated, ranges });
            }
            c => out.push(Glob::Lit(c)),
        }
    }
    Some(out)
}

fn class_char(it: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<char> {
    match it.next()? {
        '-' | ']' => None,
        '\\' => it.next(),
        c => Some(c),
    }
}

/// Removes the shortest or longest non-empty prefix (or suffix) of `v` matching `pat`.
fn trim(name: &str, v: &str, pat: &str, suffix: bool, longest: bool) -> Result<String, EvalError> {
    let Some(mut glob) = compile_glob(pat) else {
        return Ok(v.to_string());
    };
    let too_complex = || EvalError::PatternTooComplex {
        name: name.to_string(),
        pattern: pat.chars().take(40).collect(),
    };
    let cut = if suffix {
        glob.reverse();
        glob_run(&glob, v.char_indices().rev(), longest).ok_or_else(too_complex)?
    } else {
        let ends = v.char_indices().map(|(i, c)| (i + c.len_utf8(), c));
        glob_run(&glob, ends, longest).ok_or_else(too_complex)?
    };
    Ok(match cut {
        Some(i) if suffix => v[..i].to_string(),
        Some(i) => v[i..].to_string(),
        None => v.to_string(),
    })
}

/// Feeds `chars` (each with the byte offset at which a prefix ending there is cut) to
/// the glob's NFA; returns the cut of the shortest or longest matching non-empty
/// prefix, or `None` (outer) when the work budget runs out.
fn glob_run(
    glob: &[Glob],
    chars: impl Iterator<Item = (usize, char)>,
    longest: bool,
) -> Option<Option<usize>> {
    let k = glob.len();
    let mut mark = vec![usize::MAX; k + 1];
    let mut cur: Vec<usize> = Vec::new();
    let mut next: Vec<usize> = Vec::new();
    let add = |set: &mut Vec<usize>, mark: &mut Vec<usize>, step: usize, mut i: usize| loop {
        if mark[i] == step {
            return;
        }
        mark[i] = step;
        set.push(i);
        if i < k && matches!(glob[i], Glob::Star) {
            i += 1;
        } else {
            return;
        }
    };
    add(&mut cur, &mut mark, 0, 0);
    let mut best = None;
    let mut steps = 0usize;
    for (step, (cut, c)) in chars.enumerate() {
        let step = step + 1;
        next.clear();
        for &i in &cur {
            if i == k || !glob[i].matches(c) {
                continue;
            }
            if matches!(glob[i], Glob::Star) {
                add(&mut next, &mut mark, step, i);
            }
            add(&mut next, &mut mark, step, i + 1);
        }
        steps += cur.len();
        if steps > MAX_GLOB_STEPS {
            return None;
        }
        std::mem::swap(&mut cur, &mut next);
        if mark[k] == step {
            best = Some(cut);
            if !longest {
                break;
            }
        }
        if cur.is_empty() {
            break;
        }
    }
    Some(best)
}

#[cfg(test)]
#[path = "substitute_tests.rs"]
mod tests;
