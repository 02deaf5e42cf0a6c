//! A set of templates sharing one namespace of names, with its options.

use std::collections::HashMap;

use crate::error::Error;
use crate::exec::Exec;
use crate::funcs::{self, FuncDef};
use crate::parser::{self, Tree};
use crate::value::Value;

/// What a missing map key gives (Go's `missingkey` option).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingKey {
    /// Go's default: the zero value, printed `<no value>`.
    #[default]
    Default,
    /// `missingkey=zero` (Helm): the same for `map[string]interface{}`.
    Zero,
    /// `missingkey=error` (Helm's strict mode).
    Error,
}

/// Bounds on hostile templates; each one exceeded is an execution error.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Nested `template`/`include`/`tpl` calls.
    pub max_depth: usize,
    /// Total range iterations (and `until`/`seq` lengths).
    pub max_iterations: u64,
    /// Output bytes of one execution (and of one string a function builds).
    pub max_output: usize,
    /// Nesting of control structures and parentheses in the parser.
    pub max_nesting: usize,
    /// Wall-clock time of one execution (checked at every loop iteration and
    /// template call); `None` for no bound.
    pub max_duration: Option<std::time::Duration>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_depth: 200,
            max_iterations: 10_000_000,
            max_output: 64 << 20,
            max_nesting: 200,
            max_duration: Some(std::time::Duration::from_secs(30)),
        }
    }
}

/// Which functions templates may call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FuncSet {
    /// Go's builtins only.
    Go,
    /// Go's builtins, Sprig's functions (minus `env`/`expandenv`) and Helm's own.
    Helm,
}

/// Methods of host objects (Helm's `.Files.Get`, `.Capabilities.APIVersions.Has`):
/// called with the receiver, the method or field name and the arguments; `None` when
/// the receiver has no such method, which leaves Go's usual rules for maps and lists.
/// An action's value is printed through its `String` method when it answers to one.
pub type MethodFn = dyn Fn(&Value, &str, &[Value]) -> Option<Result<Value, String>>;

/// A [`MethodFn`] shared by a set and its clones.
#[derive(Clone)]
pub struct Methods(pub std::rc::Rc<MethodFn>);

impl std::fmt::Debug for Methods {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Methods")
    }
}

/// Helm's `lookup apiVersion kind namespace name`: the object as a map, a list
/// object (`{"apiVersion": ..., "kind": "...List", "items": [...]}`) when `name` is
/// empty, or an empty map when nothing is found (what Helm returns offline, and
/// the default without a hook). `Err` fails the template as
/// `error calling lookup: MSG`. The caller decides what may be read (Helm reads
/// with the release's credentials).
pub type LookupFn = dyn Fn(&str, &str, &str, &str) -> Result<Value, String>;

/// A [`LookupFn`] shared by a set and its clones.
#[derive(Clone)]
pub struct Lookup(pub std::rc::Rc<LookupFn>);

impl std::fmt::Debug for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Lookup")
    }
}

/// Parsed trees kept per thread, by template name, function set and nesting
/// limit, checked against the whole source text: a controller renders the same
/// charts again and again (and `tpl` parses the same text in every loop
/// iteration), and a parse costs as much as an execution. Trees are immutable
/// and shared. Bounded by the bytes of source held.
const PARSE_CACHE_BYTES: usize = 8 << 20;

type ParseKey = (String, FuncSet, usize);

#[derive(Default)]
struct ParseCache {
    entries: HashMap<ParseKey, (std::rc::Rc<str>, Vec<Tree>)>,
    bytes: usize,
}

impl ParseCache {
    fn get(&self, key: &ParseKey, text: &str) -> Option<Vec<Tree>> {
        let (src, trees) = self.entries.get(key)?;
        (**src == *text).then(|| trees.clone())
    }

    fn put(&mut self, key: ParseKey, text: &str, trees: &[Tree]) {
        let cost = text.len() + key.0.len();
        if cost > PARSE_CACHE_BYTES {
            return;
        }
        if self.bytes + cost > PARSE_CACHE_BYTES {
            self.entries.clear();
            self.bytes = 0;
        }
        // the trees hold the text already: the entry shares it
        let src = trees
            .first()
            .map(|t| t.text.clone())
            .unwrap_or_else(|| std::rc::Rc::from(text));
        if let Some((old, _)) = self.entries.insert(key.clone(), (src, trees.to_vec())) {
            self.bytes = self.bytes.saturating_sub(old.len() + key.0.len());
        }
        self.bytes += cost;
    }
}

thread_local! {
    static PARSED: std::cell::RefCell<ParseCache> = std::cell::RefCell::new(ParseCache::default());
}

/// A set of named templates, as Go's `*template.Template` with its associates.
#[derive(Debug, Clone)]
pub struct Templates {
    pub(crate) trees: HashMap<String, Tree>,
    root: Option<String>,
    /// Missing-key behaviour.
    pub missing_key: MissingKey,
    /// Strip every `<no value>` from the output (Helm does).
    pub strip_no_value: bool,
    /// Limits.
    pub limits: Limits,
    /// The function set.
    pub funcs: FuncSet,
    /// Methods of host objects, asked before a field of a map or list is looked up
    /// and for a field chain given arguments.
    pub methods: Option<Methods>,
    /// Helm's `lookup`; `None` finds nothing (an empty map), as Helm offline.
    pub lookup: Option<Lookup>,
}

impl Default for Templates {
    fn default() -> Templates {
        Templates::new()
    }
}

impl Templates {
    /// A set that behaves as Go's `text/template` with its builtins.
    pub fn new() -> Templates {
        Templates {
            trees: HashMap::new(),
            root: None,
            missing_key: MissingKey::Default,
            strip_no_value: false,
            limits: Limits::default(),
            funcs: FuncSet::Go,
            methods: None,
            lookup: None,
        }
    }

    /// A set that renders as Helm does: Sprig and Helm functions, `missingkey=zero`,
    /// `<no value>` stripped.
    pub fn helm() -> Templates {
        Templates {
            missing_key: MissingKey::Zero,
            strip_no_value: true,
            funcs: FuncSet::Helm,
            ..Templates::new()
        }
    }

    pub(crate) fn func(&self, name: &str) -> Option<&'static FuncDef> {
        funcs::lookup(self.funcs, name)
    }

    /// Parses `text` as template `name` and adds it and its `define`s to the set.
    /// A definition whose body is only whitespace never replaces an existing one.
    pub fn parse(&mut self, name: &str, text: &str) -> Result<(), Error> {
        let trees = self.parse_trees(name, text)?;
        for t in trees {
            self.add(t);
        }
        if self.root.is_none() {
            self.root = Some(name.to_string());
        }
        Ok(())
    }

    pub(crate) fn parse_trees(&self, name: &str, text: &str) -> Result<Vec<Tree>, Error> {
        let key = (name.to_string(), self.funcs, self.limits.max_nesting);
        if let Some(trees) = PARSED.with(|c| c.borrow().get(&key, text)) {
            return Ok(trees);
        }
        let funcs = self.funcs;
        let is_func = move |n: &str| funcs::lookup(funcs, n).is_some();
        let trees = parser::parse(name, text, &is_func, self.limits.max_nesting).map_err(|e| {
            Error::Parse {
                name: name.to_string(),
                line: e.line,
                msg: e.msg,
            }
        })?;
        PARSED.with(|c| c.borrow_mut().put(key, text, &trees));
        Ok(trees)
    }

    pub(crate) fn add(&mut self, t: Tree) {
        if t.is_empty() && self.trees.contains_key(&t.name) {
            return;
        }
        self.trees.insert(t.name.clone(), t);
    }

    /// Whether a template of this name exists.
    pub fn has(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    /// Executes template `name` with `data` as dot.
    pub fn execute(&self, name: &str, data: &Value) -> Result<String, Error> {
        let Some(tree) = self.trees.get(name) else {
            return Err(Error::NoTemplate {
                name: name.to_string(),
                root: self.root.clone().unwrap_or_default(),
            });
        };
        let mut ex = Exec::new(self, tree.clone());
        ex.run(tree, data.clone(), 0, &"")?;
        let out = std::mem::take(&mut ex.out);
        Ok(if self.strip_no_value && out.contains("<no value>") {
            out.replace("<no value>", "")
        } else {
            out
        })
    }
}
