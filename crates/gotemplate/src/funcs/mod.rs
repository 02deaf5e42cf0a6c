//! The function tables: Go's builtins, Sprig's functions and Helm's own.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::error::Error;
use crate::exec::Exec;
use crate::template::FuncSet;
use crate::value::Value;

mod builtins;
mod certs;
mod crypto;
mod dates;
mod helm;
mod semver;
mod sprig;
mod textcase;
mod toml;

/// How many arguments a function takes.
#[derive(Debug, Clone, Copy)]
pub enum Arity {
    /// Exactly this many.
    Exact(usize),
    /// At least this many (variadic).
    AtLeast(usize),
}

/// The Go type of a parameter, checked as Go's reflection would.
#[derive(Debug, Clone, Copy, PartialEq)]
#[allow(dead_code)]
pub enum P {
    /// `interface{}`.
    Any,
    /// `string`.
    Str,
    /// `int`.
    Int,
    /// `int64`.
    Int64,
    /// `float64`.
    Float,
    /// `bool`.
    Bool,
    /// `[]interface{}`.
    List,
    /// `map[string]interface{}`.
    Map,
    /// `time.Time`.
    Time,
}

/// Why a function failed.
pub enum FnError {
    /// A message (becomes `error calling NAME: MSG`).
    Msg(String),
    /// An error from a nested execution (`include`, `tpl`), passed through.
    Exec(Error),
}

impl From<String> for FnError {
    fn from(s: String) -> FnError {
        FnError::Msg(s)
    }
}
impl From<&str> for FnError {
    fn from(s: &str) -> FnError {
        FnError::Msg(s.to_string())
    }
}

/// A function's result.
pub type FnResult = Result<Value, FnError>;
/// A function's implementation.
pub type FnImpl = fn(&mut Exec, Vec<Value>) -> FnResult;

/// A function: arity, parameter types (the last repeats for variadics), implementation.
#[derive(Clone, Copy)]
pub struct FuncDef {
    pub arity: Arity,
    pub params: &'static [P],
    pub f: FnImpl,
    /// `and`/`or`: arguments evaluated lazily by the executor.
    pub builtin_logic: bool,
}

pub(crate) type Table = HashMap<&'static str, FuncDef>;

pub(crate) fn def(
    t: &mut Table,
    name: &'static str,
    arity: Arity,
    params: &'static [P],
    f: FnImpl,
) {
    t.insert(
        name,
        FuncDef {
            arity,
            params,
            f,
            builtin_logic: false,
        },
    );
}

fn go_table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = Table::new();
        builtins::register(&mut t);
        t
    })
}

fn helm_table() -> &'static Table {
    static T: OnceLock<Table> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = Table::new();
        builtins::register(&mut t);
        sprig::register(&mut t);
        semver::register(&mut t);
        dates::register(&mut t);
        toml::register(&mut t);
        textcase::register(&mut t);
        crypto::register(&mut t);
        certs::register(&mut t);
        helm::register(&mut t);
        // Sprig's `must` variants whose plain versions here already return the error
        for (must, plain) in [
            ("mustToJson", "toJson"),
            ("mustToPrettyJson", "toPrettyJson"),
            ("mustToRawJson", "toRawJson"),
            ("mustAppend", "append"),
            ("mustPush", "push"),
            ("mustPrepend", "prepend"),
            ("mustFirst", "first"),
            ("mustLast", "last"),
            ("mustRest", "rest"),
            ("mustInitial", "initial"),
            ("mustReverse", "reverse"),
            ("mustUniq", "uniq"),
            ("mustWithout", "without"),
            ("mustHas", "has"),
            ("mustCompact", "compact"),
            ("mustSlice", "slice"),
            ("mustChunk", "chunk"),
            ("mustMerge", "merge"),
            ("mustMergeOverwrite", "mergeOverwrite"),
            ("mustDeepCopy", "deepCopy"),
            ("mustRegexReplaceAll", "regexReplaceAll"),
            ("mustRegexReplaceAllLiteral", "regexReplaceAllLiteral"),
            // the plain forms panic on a bad pattern in Sprig, the must forms return
            // the error; both are an error here
            ("mustRegexFind", "regexFind"),
            ("mustRegexFindAll", "regexFindAll"),
            ("mustRegexSplit", "regexSplit"),
        ] {
            if let Some(d) = t.get(plain).copied() {
                t.insert(must, d);
            }
        }
        t
    })
}

/// Methods of the values the functions make (Masterminds' `*semver.Version`),
/// asked before the host's [`crate::Methods`].
pub(crate) fn builtin_method(
    recv: &Value,
    name: &str,
    args: &[Value],
) -> Option<Result<Value, String>> {
    semver::method(recv, name, args)
}

/// The Go type and kind of a value the functions made, where the data model
/// shows it as another kind (a semver value is a map here, a pointer in Go).
pub(crate) fn made_type(v: &Value) -> Option<(&'static str, &'static str)> {
    semver::as_version(v).map(|_| ("*semver.Version", "ptr"))
}

pub(crate) fn lookup(set: FuncSet, name: &str) -> Option<&'static FuncDef> {
    match set {
        FuncSet::Go => go_table().get(name),
        FuncSet::Helm => helm_table().get(name),
    }
}

/// Sprig's `strval`: strings as they are, anything else as `%v`.
pub(crate) fn strval(v: &Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        other => crate::gofmt::sprint_value(other),
    }
}
