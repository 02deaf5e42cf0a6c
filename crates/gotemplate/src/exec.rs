//! The executor: walks a parsed tree with a data value, as Go's `text/template`
//! executes (variables, control structures, pipelines, function calls, errors).

use std::collections::HashMap;

use crate::error::Error;
use crate::funcs::{self, Arity, FuncDef, P};
use crate::gofmt;
use crate::lexer::Num;
use crate::parser::{Arg, Cmd, List, Node, Pipe, Tree};
use crate::template::{MissingKey, Templates};
use crate::value::Value;

/// Why execution stopped early.
pub(crate) enum Flow {
    Break,
    Continue,
    Err(Error),
}

impl From<Error> for Flow {
    fn from(e: Error) -> Flow {
        Flow::Err(e)
    }
}

type R<T> = Result<T, Flow>;

/// Stack left below which recursion continues on a new heap-allocated segment.
pub(crate) const RED_ZONE: usize = 128 * 1024;
/// Size of each such segment.
pub(crate) const STACK_CHUNK: usize = 2 * 1024 * 1024;

/// The state of one execution. Functions that need the template set (`include`,
/// `tpl`) receive it.
pub struct Exec<'a> {
    pub(crate) set: &'a Templates,
    /// Templates parsed during execution (by `tpl`), looked up before the set's.
    pub(crate) extra: HashMap<String, Tree>,
    vars: Vec<(String, Value)>,
    pub(crate) out: String,
    depth: usize,
    iterations: u64,
    deadline: Option<std::time::Instant>,
    tree: Tree,
    name: String,
}

impl<'a> Exec<'a> {
    pub(crate) fn new(set: &'a Templates, tree: Tree) -> Exec<'a> {
        let name = tree.name.clone();
        Exec {
            set,
            extra: HashMap::new(),
            vars: vec![],
            out: String::new(),
            depth: 0,
            iterations: 0,
            deadline: set
                .limits
                .max_duration
                .map(|d| std::time::Instant::now() + d),
            tree,
            name,
        }
    }

    /// Looks a template up by name (templates parsed by `tpl` first).
    pub(crate) fn lookup(&self, name: &str) -> Option<Tree> {
        self.extra
            .get(name)
            .or_else(|| self.set.trees.get(name))
            .cloned()
    }

    fn err_at(&self, pos: usize, node: &dyn std::fmt::Display, msg: impl Into<String>) -> Flow {
        Flow::Err(self.error_at(pos, node, msg))
    }

    /// Go's execution error at `node` (byte offset `pos` of the current tree).
    fn error_at(&self, pos: usize, node: &dyn std::fmt::Display, msg: impl Into<String>) -> Error {
        let (line, col) = self.tree.location(pos);
        Error::Exec {
            location: format!("{}:{}:{}", self.tree.parse_name, line, col),
            name: self.name.clone(),
            node: node.to_string(),
            msg: msg.into(),
            cause: None,
        }
    }

    /// Runs template `tree` with dot `dot`, writing into `self.out`.
    pub(crate) fn run(
        &mut self,
        tree: &Tree,
        dot: Value,
        pos: usize,
        node: &dyn std::fmt::Display,
    ) -> Result<(), Error> {
        if let Some(msg) = self.over_time() {
            return Err(self.error_at(pos, node, msg));
        }
        if self.depth >= self.set.limits.max_depth {
            let msg = format!(
                "exceeded maximum template depth ({})",
                self.set.limits.max_depth
            );
            return Err(self.error_at(pos, node, msg));
        }
        self.depth += 1;
        let saved_tree = std::mem::replace(&mut self.tree, tree.clone());
        let saved_name = std::mem::replace(&mut self.name, tree.name.clone());
        let saved_vars = std::mem::replace(&mut self.vars, vec![("$".into(), dot.clone())]);
        let root = tree.root.clone();
        let r = self.walk_list(&dot, &root);
        self.vars = saved_vars;
        self.tree = saved_tree;
        self.name = saved_name;
        self.depth -= 1;
        match r {
            Ok(()) => Ok(()),
            Err(Flow::Err(e)) => Err(e),
            Err(_) => Ok(()),
        }
    }

    fn write(&mut self, s: &str, pos: usize, node: &dyn std::fmt::Display) -> R<()> {
        if self.out.len() + s.len() > self.set.limits.max_output {
            return Err(self.err_at(
                pos,
                node,
                format!(
                    "exceeded maximum output size ({} bytes)",
                    self.set.limits.max_output
                ),
            ));
        }
        self.out.push_str(s);
        Ok(())
    }

    fn walk_list(&mut self, dot: &Value, list: &List) -> R<()> {
        for n in list {
            self.walk(dot, n)?;
        }
        Ok(())
    }

    fn walk(&mut self, dot: &Value, node: &Node) -> R<()> {
        // deep templates grow the stack on the heap instead of overflowing it
        stacker::maybe_grow(RED_ZONE, STACK_CHUNK, || self.walk_node(dot, node))
    }

    fn walk_node(&mut self, dot: &Value, node: &Node) -> R<()> {
        match node {
            Node::Text(t) => self.write(t, 0, &""),
            Node::Action(pipe) => {
                let v = self.eval_pipe(dot, pipe)?;
                if pipe.decl.is_empty() {
                    // Go prints a Stringer through its String method
                    let stringer = match v {
                        Value::Nil => None,
                        _ => self.host_method(&v, "String", &[]),
                    };
                    let s = match (&v, stringer) {
                        (_, Some(Ok(Value::Str(s)))) => s.to_string(),
                        (Value::Nil, _) => "<no value>".to_string(),
                        (v, _) => gofmt::sprint_value(v),
                    };
                    self.write(&s, pipe.pos, pipe)?;
                }
                Ok(())
            }
            Node::If {
                with_,
                pipe,
                list,
                else_list,
            } => {
                let mark = self.vars.len();
                let v = self.eval_pipe(dot, pipe)?;
                let r = if v.truthy() {
                    if *with_ {
                        self.walk_list(&v, list)
                    } else {
                        self.walk_list(dot, list)
                    }
                } else if let Some(el) = else_list {
                    self.walk_list(dot, el)
                } else {
                    Ok(())
                };
                self.vars.truncate(mark);
                r
            }
            Node::Range {
                pipe,
                list,
                else_list,
            } => {
                let mark = self.vars.len();
                let r = self.walk_range(dot, pipe, list, else_list.as_ref());
                self.vars.truncate(mark);
                r
            }
            Node::Template { pos, name, pipe } => {
                let shown = TemplateShow(name, pipe.as_ref());
                let Some(tree) = self.lookup(name) else {
                    return Err(self.err_at(
                        *pos,
                        &shown,
                        format!("template {:?} not defined", name),
                    ));
                };
                let d = match pipe {
                    Some(p) => self.eval_pipe(dot, p)?,
                    None => Value::Nil,
                };
                self.run(&tree, d, *pos, &shown).map_err(Flow::Err)
            }
            Node::Break(_) => Err(Flow::Break),
            Node::Continue(_) => Err(Flow::Continue),
        }
    }

    fn over_time(&self) -> Option<String> {
        let deadline = self.deadline?;
        (std::time::Instant::now() > deadline).then(|| {
            format!(
                "exceeded maximum execution time ({:?})",
                self.set.limits.max_duration.unwrap_or_default()
            )
        })
    }

    fn tick(&mut self, pipe: &Pipe) -> R<()> {
        if let Some(msg) = self.over_time() {
            return Err(self.err_at(pipe.pos, pipe, msg));
        }
        self.iterations += 1;
        if self.iterations > self.set.limits.max_iterations {
            return Err(self.err_at(
                pipe.pos,
                pipe,
                format!(
                    "exceeded maximum loop iterations ({})",
                    self.set.limits.max_iterations
                ),
            ));
        }
        Ok(())
    }

    fn walk_range(
        &mut self,
        dot: &Value,
        pipe: &Pipe,
        list: &List,
        else_list: Option<&List>,
    ) -> R<()> {
        // the declared variables are bound per element, not to the whole pipeline
        let v = stacker::maybe_grow(RED_ZONE, STACK_CHUNK, || self.eval_cmds(dot, pipe))?;
        let mark = self.vars.len();
        let items: Vec<(Value, Value)> = match &v {
            Value::List(l) => l
                .iter()
                .enumerate()
                .map(|(i, x)| (Value::Int(i as i64), x.clone()))
                .collect(),
            Value::Map(m) => m
                .borrow()
                .iter()
                .map(|(k, x)| (Value::str(k), x.clone()))
                .collect(),
            Value::Int(n) | Value::Int64(n) => {
                if pipe.decl.len() > 1 {
                    return Err(self.err_at(
                        pipe.pos,
                        pipe,
                        format!("can't use {n} to iterate over more than one variable"),
                    ));
                }
                let n = (*n).max(0);
                if n as u64 > self.set.limits.max_iterations {
                    return Err(self.err_at(
                        pipe.pos,
                        pipe,
                        format!(
                            "exceeded maximum loop iterations ({})",
                            self.set.limits.max_iterations
                        ),
                    ));
                }
                (0..n).map(|i| (Value::Int(i), Value::Int(i))).collect()
            }
            Value::Nil => vec![],
            other => {
                let msg = format!("range can't iterate over {}", gofmt::sprint_value(other));
                return Err(match pipe.cmds.last().and_then(|c| c.args.last()) {
                    Some(a) => self.err_at(a.pos(), a, msg),
                    None => self.err_at(pipe.pos, pipe, msg),
                });
            }
        };
        if items.is_empty() {
            if let Some(el) = else_list {
                return self.walk_list(dot, el);
            }
            return Ok(());
        }
        for (k, x) in items {
            self.tick(pipe)?;
            self.vars.truncate(mark);
            match pipe.decl.len() {
                1 => self.set_var(&pipe.decl[0], x.clone(), pipe.is_assign),
                2 => {
                    self.set_var(&pipe.decl[0], k, pipe.is_assign);
                    self.set_var(&pipe.decl[1], x.clone(), pipe.is_assign);
                }
                _ => {}
            }
            match self.walk_list(&x, list) {
                Ok(()) | Err(Flow::Continue) => {}
                Err(Flow::Break) => break,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn set_var(&mut self, name: &str, v: Value, assign: bool) {
        if assign {
            if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                slot.1 = v;
            }
        } else {
            self.vars.push((name.to_string(), v));
        }
    }

    fn var(&self, name: &str) -> Value {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    pub(crate) fn eval_pipe(&mut self, dot: &Value, pipe: &Pipe) -> R<Value> {
        stacker::maybe_grow(RED_ZONE, STACK_CHUNK, || self.eval_pipe_inner(dot, pipe))
    }

    /// The pipeline's commands, each fed the previous one's value.
    fn eval_cmds(&mut self, dot: &Value, pipe: &Pipe) -> R<Value> {
        let mut v: Option<Value> = None;
        for cmd in &pipe.cmds {
            v = Some(self.eval_cmd(dot, cmd, v)?);
        }
        Ok(v.unwrap_or_default())
    }

    fn eval_pipe_inner(&mut self, dot: &Value, pipe: &Pipe) -> R<Value> {
        let v = self.eval_cmds(dot, pipe)?;
        for d in &pipe.decl {
            if pipe.is_assign && !self.vars.iter().any(|(n, _)| n == d) {
                let at = pipe.cmds.last().and_then(|c| c.args.last());
                let (pos, node): (usize, &dyn std::fmt::Display) = match at {
                    Some(a) => (a.pos(), a),
                    None => (pipe.pos, pipe),
                };
                return Err(self.err_at(pos, node, format!("undefined variable: {d}")));
            }
            self.set_var(d, v.clone(), pipe.is_assign);
        }
        Ok(v)
    }

    fn eval_cmd(&mut self, dot: &Value, cmd: &Cmd, fin: Option<Value>) -> R<Value> {
        let first = &cmd.args[0];
        match first {
            Arg::Ident(_, name) => return self.eval_call(dot, name, cmd, &cmd.args[1..], fin),
            Arg::Field { pos, chain } => {
                if let Some(v) = self.method(dot, dot.clone(), chain, cmd, &fin, *pos, first)? {
                    return Ok(v);
                }
                self.not_fn(cmd, fin.is_some(), first)?;
                return self.eval_chain(dot.clone(), chain, *pos, first);
            }
            Arg::Var { pos, name, chain } => {
                if let Some(v) = self.method(dot, self.var(name), chain, cmd, &fin, *pos, first)? {
                    return Ok(v);
                }
                self.not_fn(cmd, fin.is_some(), first)?;
                return self.eval_chain(self.var(name), chain, *pos, first);
            }
            Arg::Chain { pos, node, chain } => {
                if cmd.args.len() > 1 || fin.is_some() {
                    let base = self.eval_arg(dot, node)?;
                    if let Some(v) = self.method(dot, base, chain, cmd, &fin, *pos, first)? {
                        return Ok(v);
                    }
                }
                self.not_fn(cmd, fin.is_some(), first)?;
                let base = self.eval_arg(dot, node)?;
                // a nil pipeline result has no type: Go gives the zero value for any field of it
                if matches!(base, Value::Nil) {
                    return Ok(Value::Nil);
                }
                return self.eval_chain(base, chain, *pos, first);
            }
            Arg::Pipe(p) => {
                self.not_fn(cmd, fin.is_some(), first)?;
                return self.eval_pipe(dot, p);
            }
            _ => {}
        }
        if cmd.args.len() > 1 || fin.is_some() {
            return Err(self.err_at(
                first.pos(),
                first,
                format!("can't give argument to non-function {first}"),
            ));
        }
        match first {
            Arg::Nil(p) => Err(self.err_at(*p, first, "nil is not a command")),
            other => self.eval_arg(dot, other),
        }
    }

    /// A host method called with arguments (`.Files.Get "x"`), when the set has
    /// [`crate::Methods`] and the receiver answers to the chain's last name.
    #[allow(clippy::too_many_arguments)]
    fn method(
        &mut self,
        dot: &Value,
        base: Value,
        chain: &[String],
        cmd: &Cmd,
        fin: &Option<Value>,
        pos: usize,
        node: &Arg,
    ) -> R<Option<Value>> {
        let Some((name, path)) = chain.split_last() else {
            return Ok(None);
        };
        if cmd.args.len() <= 1 && fin.is_none() {
            return Ok(None);
        }
        let receiver = self.eval_chain(base, path, pos, node)?;
        let mut args = Vec::with_capacity(cmd.args.len());
        for a in &cmd.args[1..] {
            args.push(self.eval_arg(dot, a)?);
        }
        if let Some(f) = fin {
            args.push(f.clone());
        }
        match self.host_method(&receiver, name, &args) {
            None => Ok(None),
            Some(Ok(v)) => Ok(Some(v)),
            Some(Err(msg)) => Err(self.err_at(pos, node, msg)),
        }
    }

    /// A method of `recv`: one of the values the functions make (a semver
    /// version), else the host's [`crate::Methods`].
    fn host_method(
        &self,
        recv: &Value,
        name: &str,
        args: &[Value],
    ) -> Option<Result<Value, String>> {
        crate::funcs::builtin_method(recv, name, args).or_else(|| {
            self.set
                .methods
                .as_ref()
                .and_then(|m| (m.0)(recv, name, args))
        })
    }

    fn not_fn(&self, cmd: &Cmd, has_final: bool, first: &Arg) -> R<()> {
        if cmd.args.len() > 1 || has_final {
            if let Arg::Field { chain, .. } = first {
                return Err(self.err_at(
                    first.pos(),
                    first,
                    format!(
                        "{} is not a method but has arguments",
                        chain.last().cloned().unwrap_or_default()
                    ),
                ));
            }
            return Err(self.err_at(
                first.pos(),
                first,
                format!("can't give argument to non-function {first}"),
            ));
        }
        Ok(())
    }

    fn eval_chain(&mut self, mut v: Value, chain: &[String], pos: usize, node: &Arg) -> R<Value> {
        for f in chain {
            if let Some(r) = self.host_method(&v, f, &[]) {
                v = r.map_err(|msg| self.err_at(pos, node, msg))?;
                continue;
            }
            v = match &v {
                Value::Map(m) => {
                    let got = m.borrow().get(f.as_str()).cloned();
                    match got {
                        Some(x) => x,
                        None => match self.set.missing_key {
                            MissingKey::Error => {
                                return Err(self.err_at(
                                    pos,
                                    node,
                                    format!("map has no entry for key {}", crate::gofmt::quote(f)),
                                ));
                            }
                            _ => Value::Nil,
                        },
                    }
                }
                Value::Nil => {
                    return Err(self.err_at(
                        pos,
                        node,
                        format!("nil pointer evaluating interface {{}}.{f}"),
                    ));
                }
                // values live in map[string]interface{}: Go names the static type
                _ => {
                    let msg = format!("can't evaluate field {f} in type interface {{}}");
                    return Err(self.err_at(pos, node, msg));
                }
            };
        }
        Ok(v)
    }

    fn eval_arg(&mut self, dot: &Value, arg: &Arg) -> R<Value> {
        match arg {
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(_) => Ok(Value::Nil),
            Arg::Bool(_, b) => Ok(Value::Bool(*b)),
            Arg::Number(_, _, Num::Int(i)) => Ok(Value::Int(*i)),
            Arg::Number(_, _, Num::Float(f)) => Ok(Value::Float(*f)),
            Arg::Str(_, _, s) => Ok(Value::Str(s.clone())),
            Arg::Field { pos, chain } => self.eval_chain(dot.clone(), chain, *pos, arg),
            Arg::Var { pos, name, chain } => self.eval_chain(self.var(name), chain, *pos, arg),
            Arg::Chain { pos, node, chain } => {
                let base = self.eval_arg(dot, node)?;
                if matches!(base, Value::Nil) {
                    return Ok(Value::Nil);
                }
                self.eval_chain(base, chain, *pos, arg)
            }
            Arg::Pipe(p) => {
                let mark = self.vars.len();
                let r = self.eval_pipe(dot, p);
                self.vars.truncate(mark);
                r
            }
            Arg::Ident(pos, name) => {
                let cmd = Cmd {
                    pos: *pos,
                    args: vec![arg.clone()],
                };
                self.eval_call(dot, name, &cmd, &[], None)
            }
        }
    }

    fn eval_call(
        &mut self,
        dot: &Value,
        name: &str,
        cmd: &Cmd,
        args: &[Arg],
        fin: Option<Value>,
    ) -> R<Value> {
        let Some(def) = self.set.func(name) else {
            return Err(self.err_at(
                cmd.pos,
                &cmd.args[0],
                format!("{name:?} is not a defined function"),
            ));
        };
        let nargs = args.len() + usize::from(fin.is_some());
        if def.builtin_logic && (name == "and" || name == "or") {
            if nargs == 0 {
                return Err(self.err_at(
                    cmd.pos,
                    cmd,
                    format!("wrong number of args for {name}: want at least 1 got 0"),
                ));
            }
            let mut last = Value::Nil;
            for a in args {
                last = self.eval_arg(dot, a)?;
                if last.truthy() == (name == "or") {
                    return Ok(last);
                }
            }
            if let Some(f) = fin {
                last = f;
            }
            return Ok(last);
        }
        let ident = &cmd.args[0];
        check_arity(def, name, nargs).map_err(|m| self.err_at(ident.pos(), ident, m))?;
        let mut vals = Vec::with_capacity(nargs);
        for (i, a) in args.iter().enumerate() {
            if let Some(m) = literal_mismatch(param(def, i), a) {
                return Err(self.err_at(a.pos(), a, m));
            }
            let v = self.eval_arg(dot, a)?;
            check_type(def, i, &v).map_err(|m| self.err_at(a.pos(), a, m))?;
            vals.push(v);
        }
        if let Some(f) = fin {
            let at = args.last().unwrap_or(ident);
            check_type(def, vals.len(), &f).map_err(|m| self.err_at(at.pos(), at, m))?;
            vals.push(f);
        }
        match (def.f)(self, vals) {
            Ok(v) => Ok(v),
            Err(funcs::FnError::Exec(e)) => {
                let mut flow = self.err_at(cmd.pos, cmd, format!("error calling {name}: {e}"));
                if let Flow::Err(Error::Exec { cause, .. }) = &mut flow {
                    *cause = Some(Box::new(e));
                }
                Err(flow)
            }
            Err(funcs::FnError::Msg(m)) => {
                Err(self.err_at(cmd.pos, cmd, format!("error calling {name}: {m}")))
            }
        }
    }
}

fn check_arity(def: &FuncDef, name: &str, n: usize) -> Result<(), String> {
    match def.arity {
        Arity::Exact(k) if n != k => {
            Err(format!("wrong number of args for {name}: want {k} got {n}"))
        }
        Arity::AtLeast(k) if n < k => Err(format!(
            "wrong number of args for {name}: want at least {k} got {n}"
        )),
        _ => Ok(()),
    }
}

fn param(def: &FuncDef, i: usize) -> P {
    def.params
        .get(i)
        .or(def.params.last())
        .copied()
        .unwrap_or(P::Any)
}

/// Go checks constant arguments against the parameter type before evaluating them.
fn literal_mismatch(p: P, a: &Arg) -> Option<String> {
    let want = match p {
        P::Any | P::List | P::Map | P::Time => return None,
        P::Str => "string",
        P::Int | P::Int64 => "integer",
        P::Float => "float",
        P::Bool => "bool",
    };
    let fits = match a {
        Arg::Str(..) => p == P::Str,
        Arg::Number(_, _, Num::Int(_)) => matches!(p, P::Int | P::Int64 | P::Float),
        Arg::Number(_, _, Num::Float(f)) => {
            p == P::Float || (matches!(p, P::Int | P::Int64) && f.fract() == 0.0)
        }
        Arg::Bool(..) => p == P::Bool,
        Arg::Nil(_) => {
            let t = match p {
                P::Str => "string",
                P::Int => "int",
                P::Int64 => "int64",
                P::Float => "float64",
                _ => "bool",
            };
            return Some(format!("cannot assign nil to {t}"));
        }
        _ => return None,
    };
    (!fits).then(|| format!("expected {want}; found {a}"))
}

fn check_type(def: &FuncDef, i: usize, v: &Value) -> Result<(), String> {
    let p = param(def, i);
    let want = match p {
        P::Any => return Ok(()),
        P::Str => "string",
        P::Int => "int",
        P::Int64 => "int64",
        P::Float => "float64",
        P::Bool => "bool",
        P::List => "[]interface {}",
        P::Map => "map[string]interface {}",
        P::Time => "time.Time",
    };
    if matches!(v, Value::Nil) {
        return match p {
            P::List | P::Map => Ok(()),
            _ => Err(format!("invalid value; expected {want}")),
        };
    }
    if v.type_name() == want {
        Ok(())
    } else {
        Err(format!(
            "wrong type for value; expected {want}; got {}",
            v.type_name()
        ))
    }
}

struct TemplateShow<'a>(&'a str, Option<&'a Pipe>);

impl std::fmt::Display for TemplateShow<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.1 {
            Some(p) => write!(f, "{{{{template {:?} {p}}}}}", self.0),
            None => write!(f, "{{{{template {:?}}}}}", self.0),
        }
    }
}
