//! The parser: builds the tree of a template from tokens, with Go's rules for
//! control structures, variable scopes and defined functions.

use std::rc::Rc;

use crate::lexer::{Num, Tok, Token, lex, parse_number};

/// A list of nodes (a template body or branch).
pub type List = Vec<Node>;

/// A node of a template body.
#[derive(Debug, Clone)]
pub enum Node {
    /// Plain text.
    Text(Rc<str>),
    /// `{{pipeline}}`.
    Action(Pipe),
    /// `if`/`with` (`with_` true) with optional else branch.
    If {
        with_: bool,
        pipe: Pipe,
        list: List,
        else_list: Option<List>,
    },
    /// `range`.
    Range {
        pipe: Pipe,
        list: List,
        else_list: Option<List>,
    },
    /// `{{template "name" pipeline}}`.
    Template {
        pos: usize,
        name: String,
        pipe: Option<Pipe>,
    },
    /// `{{break}}`.
    Break(usize),
    /// `{{continue}}`.
    Continue(usize),
}

/// A pipeline, with its optional declaration.
#[derive(Debug, Clone)]
pub struct Pipe {
    /// Byte offset.
    pub pos: usize,
    /// Declared or assigned variables.
    pub decl: Vec<String>,
    /// `=` rather than `:=`.
    pub is_assign: bool,
    /// The commands, separated by `|`.
    pub cmds: Vec<Cmd>,
}

/// A command: operands separated by spaces.
#[derive(Debug, Clone)]
pub struct Cmd {
    /// Byte offset.
    pub pos: usize,
    /// Operands.
    pub args: Vec<Arg>,
}

/// An operand.
#[derive(Debug, Clone)]
pub enum Arg {
    /// `.a.b`.
    Field { pos: usize, chain: Vec<String> },
    /// `$x.a.b`.
    Var {
        pos: usize,
        name: String,
        chain: Vec<String>,
    },
    /// `.`.
    Dot(usize),
    /// `nil`.
    Nil(usize),
    /// `true`/`false`.
    Bool(usize, bool),
    /// A number or character constant: source text and value.
    Number(usize, String, Num),
    /// A string constant: source text and value.
    Str(usize, String, Rc<str>),
    /// A function name.
    Ident(usize, String),
    /// `(pipeline)`.
    Pipe(Box<Pipe>),
    /// `(pipeline).a.b` or `$x` etc. followed by fields.
    Chain {
        pos: usize,
        node: Box<Arg>,
        chain: Vec<String>,
    },
}

impl Arg {
    /// Byte offset.
    pub fn pos(&self) -> usize {
        match self {
            Arg::Field { pos, .. } | Arg::Var { pos, .. } | Arg::Chain { pos, .. } => *pos,
            Arg::Dot(p)
            | Arg::Nil(p)
            | Arg::Bool(p, _)
            | Arg::Number(p, ..)
            | Arg::Str(p, ..)
            | Arg::Ident(p, _) => *p,
            Arg::Pipe(p) => p.pos,
        }
    }
}

impl std::fmt::Display for Arg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Arg::Field { chain, .. } => {
                for c in chain {
                    write!(f, ".{c}")?;
                }
                Ok(())
            }
            Arg::Var { name, chain, .. } => {
                write!(f, "{name}")?;
                for c in chain {
                    write!(f, ".{c}")?;
                }
                Ok(())
            }
            Arg::Dot(_) => write!(f, "."),
            Arg::Nil(_) => write!(f, "nil"),
            Arg::Bool(_, b) => write!(f, "{b}"),
            Arg::Number(_, t, _) | Arg::Str(_, t, _) | Arg::Ident(_, t) => write!(f, "{t}"),
            Arg::Pipe(p) => write!(f, "({p})"),
            Arg::Chain { node, chain, .. } => {
                match node.as_ref() {
                    Arg::Pipe(_) => write!(f, "{node}")?,
                    other => write!(f, "{other}")?,
                }
                for c in chain {
                    write!(f, ".{c}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::fmt::Display for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, a) in self.args.iter().enumerate() {
            if i > 0 {
                write!(f, " ")?;
            }
            write!(f, "{a}")?;
        }
        Ok(())
    }
}

impl std::fmt::Display for Pipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if !self.decl.is_empty() {
            write!(
                f,
                "{} {} ",
                self.decl.join(", "),
                if self.is_assign { "=" } else { ":=" }
            )?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                write!(f, " | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

/// A parsed template body and where it came from (for error positions).
#[derive(Debug, Clone)]
pub struct Tree {
    /// The template's name.
    pub name: String,
    /// The name of the file it was parsed from.
    pub parse_name: Rc<str>,
    /// The source text, for line/column of errors.
    pub text: Rc<str>,
    /// The body.
    pub root: Rc<List>,
}

impl Tree {
    /// Go's `line:col` of a byte offset (col counted in bytes from 0).
    pub fn location(&self, pos: usize) -> (usize, usize) {
        let pos = pos.min(self.text.len());
        let before = &self.text.as_bytes()[..pos];
        let line = 1 + before.iter().filter(|&&c| c == b'\n').count();
        let col = match before.iter().rposition(|&c| c == b'\n') {
            Some(n) => pos - n - 1,
            None => pos,
        };
        (line, col)
    }

    /// Whether the body is only whitespace text (such a definition never replaces another).
    pub fn is_empty(&self) -> bool {
        self.root
            .iter()
            .all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()))
    }
}

/// A parse error: message and line.
#[derive(Debug, Clone)]
pub struct ParseError {
    /// Go's message text.
    pub msg: String,
    /// 1-based line.
    pub line: usize,
}

struct Parser<'a> {
    toks: Vec<Token>,
    i: usize,
    src: &'a str,
    vars: Vec<String>,
    is_func: &'a dyn Fn(&str) -> bool,
    range_depth: usize,
    defs: Vec<(String, List)>,
    nesting: usize,
    max_nesting: usize,
}

type R<T> = Result<T, (String, usize)>;

enum End {
    End,
    Else(usize),
}

/// Parses `text` (file `name`) into its main tree and the templates it defines.
pub fn parse(
    name: &str,
    text: &str,
    is_func: &dyn Fn(&str) -> bool,
    max_nesting: usize,
) -> Result<Vec<Tree>, ParseError> {
    let line_of = |pos: usize| {
        1 + text.as_bytes()[..pos.min(text.len())]
            .iter()
            .filter(|&&c| c == b'\n')
            .count()
    };
    let toks = lex(text).map_err(|e| ParseError {
        msg: e.msg,
        line: line_of(e.pos),
    })?;
    let mut p = Parser {
        toks,
        i: 0,
        src: text,
        vars: vec!["$".into()],
        is_func,
        range_depth: 0,
        defs: vec![],
        nesting: 0,
        max_nesting,
    };
    let root = p.parse_top().map_err(|(msg, pos)| ParseError {
        msg,
        line: line_of(pos),
    })?;
    let parse_name: Rc<str> = Rc::from(name);
    let src: Rc<str> = Rc::from(text);
    let mut out = vec![Tree {
        name: name.into(),
        parse_name: parse_name.clone(),
        text: src.clone(),
        root: Rc::new(root),
    }];
    for (n, l) in p.defs {
        out.push(Tree {
            name: n,
            parse_name: parse_name.clone(),
            text: src.clone(),
            root: Rc::new(l),
        });
    }
    Ok(out)
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.i.min(self.toks.len() - 1)].tok
    }
    fn pos(&self) -> usize {
        self.toks[self.i.min(self.toks.len() - 1)].pos
    }
    fn next(&mut self) -> Token {
        let t = self.toks[self.i.min(self.toks.len() - 1)].clone();
        if self.i < self.toks.len() {
            self.i += 1;
        }
        t
    }
    fn skip_space(&mut self) {
        while matches!(self.peek(), Tok::Space) {
            self.i += 1;
        }
    }
    fn next_ns(&mut self) -> Token {
        self.skip_space();
        self.next()
    }
    fn peek_ns(&mut self) -> Tok {
        self.skip_space();
        self.peek().clone()
    }

    fn parse_top(&mut self) -> R<List> {
        let mut list = vec![];
        loop {
            match self.peek().clone() {
                Tok::Eof => return Ok(list),
                Tok::Left => {
                    let save = self.i;
                    self.i += 1;
                    if let Tok::Ident(k) = self.peek_ns()
                        && k == "define"
                    {
                        self.i += 1;
                        self.parse_define()?;
                        continue;
                    }
                    self.i = save;
                    match self.parse_item()? {
                        Item::Node(n) => list.push(n),
                        Item::End(pos) => return Err(("unexpected {{end}}".to_string(), pos)),
                        Item::Else(pos) => return Err(("unexpected {{else}}".into(), pos)),
                    }
                }
                _ => match self.parse_item()? {
                    Item::Node(n) => list.push(n),
                    Item::End(pos) | Item::Else(pos) => {
                        return Err(("unexpected token".into(), pos));
                    }
                },
            }
        }
    }

    fn parse_define(&mut self) -> R<()> {
        let t = self.next_ns();
        let Tok::Str(_, name) = t.tok else {
            return Err(("unexpected token in define clause".into(), t.pos));
        };
        let t = self.next_ns();
        if t.tok != Tok::Right {
            return Err(("unexpected token in define clause".into(), t.pos));
        }
        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let (list, end) = self.parse_list()?;
        self.vars = saved;
        if let End::Else(p) = end {
            return Err(("unexpected {{else}}".into(), p));
        }
        self.add_def(name, list)
    }

    /// Records a definition; a second non-empty one of a name in the same text is an error.
    fn add_def(&mut self, name: String, list: List) -> R<()> {
        let empty = |l: &List| {
            l.iter()
                .all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()))
        };
        if let Some(i) = self.defs.iter().position(|(n, _)| *n == name) {
            if empty(&list) {
                return Ok(());
            }
            if !empty(&self.defs[i].1) {
                let pos = self.toks[self.i.saturating_sub(1).min(self.toks.len() - 1)].pos;
                return Err((format!("multiple definition of template {name:?}"), pos));
            }
            self.defs.remove(i);
        }
        self.defs.push((name, list));
        Ok(())
    }

    /// Parses items until `{{end}}` or `{{else}}`.
    fn parse_list(&mut self) -> R<(List, End)> {
        let mut list = vec![];
        loop {
            if matches!(self.peek(), Tok::Eof) {
                return Err(("unexpected EOF".into(), self.pos()));
            }
            match self.parse_item()? {
                Item::Node(n) => list.push(n),
                Item::End(_) => return Ok((list, End::End)),
                Item::Else(p) => return Ok((list, End::Else(p))),
            }
        }
    }

    fn parse_item(&mut self) -> R<Item> {
        let t = self.next();
        match t.tok {
            Tok::Text(s) => Ok(Item::Node(Node::Text(s))),
            Tok::Comment => Ok(Item::Node(Node::Text(Rc::from("")))),
            Tok::Left => self.parse_action(),
            other => Err((format!("unexpected {other:?}"), t.pos)),
        }
    }

    fn expect_right(&mut self, ctx: &str) -> R<()> {
        let t = self.next_ns();
        if t.tok != Tok::Right {
            return Err((
                format!("unexpected {} in {ctx}", tok_text(&t.tok, self.src, t.pos)),
                t.pos,
            ));
        }
        Ok(())
    }

    fn parse_action(&mut self) -> R<Item> {
        let tok = self.peek_ns();
        let pos = self.pos();
        if let Tok::Ident(k) = &tok {
            match k.as_str() {
                "end" => {
                    self.i += 1;
                    self.expect_right("end")?;
                    return Ok(Item::End(pos));
                }
                "else" => {
                    self.i += 1;
                    // `else if` / `else with` keep the keyword for the caller
                    if let Tok::Ident(k2) = self.peek_ns()
                        && (k2 == "if" || k2 == "with")
                    {
                        return Ok(Item::Else(pos));
                    }
                    self.expect_right("else")?;
                    return Ok(Item::Else(pos));
                }
                "if" | "with" | "range" => {
                    self.i += 1;
                    let kw = k.clone();
                    return Ok(Item::Node(self.parse_control(&kw)?));
                }
                "template" | "block" => {
                    self.i += 1;
                    let kw = k.clone();
                    let t = self.next_ns();
                    let name_pos = t.pos;
                    let Tok::Str(_, name) = t.tok else {
                        return Err((
                            format!(
                                "unexpected {} in {kw} clause",
                                tok_text(&t.tok, self.src, t.pos)
                            ),
                            t.pos,
                        ));
                    };
                    let pipe = if self.peek_ns() == Tok::Right {
                        self.i += 1;
                        None
                    } else {
                        Some(self.parse_pipe(&kw, false)?)
                    };
                    if kw == "block" {
                        let saved = std::mem::replace(&mut self.vars, vec!["$".into()]);
                        let (list, end) = self.parse_list()?;
                        self.vars = saved;
                        if let End::Else(p) = end {
                            return Err(("unexpected {{else}}".into(), p));
                        }
                        self.add_def(name.clone(), list)?;
                    }
                    return Ok(Item::Node(Node::Template {
                        pos: name_pos,
                        name,
                        pipe,
                    }));
                }
                "break" | "continue" => {
                    self.i += 1;
                    let kw = k.clone();
                    if self.range_depth == 0 {
                        return Err((format!("{{{{{kw}}}}} outside {{{{range}}}}"), pos));
                    }
                    self.expect_right(&kw)?;
                    return Ok(Item::Node(if kw == "break" {
                        Node::Break(pos)
                    } else {
                        Node::Continue(pos)
                    }));
                }
                "define" => return Err(("unexpected <define> in command".into(), pos)),
                _ => {}
            }
        }
        let pipe = self.parse_pipe("command", false)?;
        Ok(Item::Node(Node::Action(pipe)))
    }

    fn parse_control(&mut self, kw: &str) -> R<Node> {
        self.nesting += 1;
        if self.nesting > self.max_nesting {
            return Err((
                format!("nesting deeper than {}", self.max_nesting),
                self.pos(),
            ));
        }
        let r = stacker::maybe_grow(crate::exec::RED_ZONE, crate::exec::STACK_CHUNK, || {
            self.parse_control_inner(kw)
        });
        self.nesting -= 1;
        r
    }

    fn parse_control_inner(&mut self, kw: &str) -> R<Node> {
        let mark = self.vars.len();
        let pipe = self.parse_pipe(kw, kw == "range")?;
        if kw == "range" {
            self.range_depth += 1;
        }
        let body = self.parse_list();
        if kw == "range" {
            self.range_depth -= 1;
        }
        let (list, end) = body?;
        let else_list = match end {
            End::End => None,
            End::Else(_) => {
                // `{{else if ...}}`/`{{else with ...}}`: a nested control sharing our `{{end}}`
                if let Tok::Ident(k2) = self.peek().clone()
                    && (k2 == "if" || k2 == "with")
                    && kw != "range"
                {
                    self.i += 1;
                    let nested = self.parse_control(&k2)?;
                    Some(vec![nested])
                } else {
                    if let Tok::Ident(k2) = self.peek().clone()
                        && (k2 == "if" || k2 == "with")
                    {
                        self.i += 1;
                        let nested = self.parse_control(&k2)?;
                        self.vars.truncate(mark);
                        return Ok(Node::Range {
                            pipe,
                            list,
                            else_list: Some(vec![nested]),
                        });
                    }
                    let (el, end2) = self.parse_list()?;
                    if let End::Else(p) = end2 {
                        return Err(("expected end; found {{else}}".into(), p));
                    }
                    Some(el)
                }
            }
        };
        self.vars.truncate(mark);
        Ok(match kw {
            "range" => Node::Range {
                pipe,
                list,
                else_list,
            },
            _ => Node::If {
                with_: kw == "with",
                pipe,
                list,
                else_list,
            },
        })
    }

    /// Parses a pipeline up to and including `}}` (or `)` when `paren`).
    fn parse_pipe(&mut self, ctx: &str, allow_two: bool) -> R<Pipe> {
        self.parse_pipe_inner(ctx, allow_two, false)
    }

    fn parse_pipe_inner(&mut self, ctx: &str, allow_two: bool, paren: bool) -> R<Pipe> {
        self.skip_space();
        let pos = self.pos();
        let mut decl = vec![];
        let mut is_assign = false;
        // declarations
        if let Tok::Var(v) = self.peek().clone() {
            let save = self.i;
            self.i += 1;
            self.skip_space();
            match self.peek().clone() {
                Tok::Declare | Tok::Assign => {
                    is_assign = *self.peek() == Tok::Assign;
                    self.i += 1;
                    decl.push(v);
                }
                Tok::Comma if allow_two => {
                    self.i += 1;
                    self.skip_space();
                    if let Tok::Var(v2) = self.peek().clone() {
                        self.i += 1;
                        self.skip_space();
                        if matches!(self.peek(), Tok::Declare | Tok::Assign) {
                            is_assign = *self.peek() == Tok::Assign;
                            self.i += 1;
                            decl.push(v);
                            decl.push(v2);
                        } else {
                            return Err((
                                format!(
                                    "unexpected {} in {ctx}",
                                    tok_text(self.peek(), self.src, 0)
                                ),
                                self.pos(),
                            ));
                        }
                    } else {
                        return Err(("range can only initialize variables".into(), self.pos()));
                    }
                }
                _ => self.i = save,
            }
        }
        for d in &decl {
            // assigning an undeclared variable is an execution error in Go
            if !is_assign {
                self.vars.push(d.clone());
            }
        }
        let mut cmds = vec![];
        loop {
            self.skip_space();
            let t = self.peek().clone();
            match t {
                Tok::Right if !paren => {
                    self.i += 1;
                    break;
                }
                Tok::RParen if paren => {
                    self.i += 1;
                    break;
                }
                Tok::Right | Tok::RParen | Tok::Eof => {
                    return Err((
                        format!("unexpected {} in {ctx}", tok_text(&t, self.src, 0)),
                        self.pos(),
                    ));
                }
                _ => {
                    cmds.push(self.parse_cmd(ctx)?);
                }
            }
        }
        if cmds.is_empty() {
            return Err((format!("missing value for {ctx}"), pos));
        }
        for (i, c) in cmds.iter().enumerate().skip(1) {
            if let Some(a) = c.args.first()
                && matches!(
                    a,
                    Arg::Bool(..) | Arg::Dot(_) | Arg::Nil(_) | Arg::Number(..) | Arg::Str(..)
                )
            {
                return Err((
                    format!("non executable command in pipeline stage {}", i + 1),
                    c.pos,
                ));
            }
        }
        Ok(Pipe {
            pos,
            decl,
            is_assign,
            cmds,
        })
    }

    fn parse_cmd(&mut self, ctx: &str) -> R<Cmd> {
        let pos = self.pos();
        let mut args = vec![];
        loop {
            self.skip_space();
            match self.peek().clone() {
                Tok::Right | Tok::RParen => break,
                Tok::Pipe => {
                    self.i += 1;
                    if args.is_empty() {
                        return Err(("missing command".into(), pos));
                    }
                    return Ok(Cmd { pos, args });
                }
                Tok::Eof => return Err((format!("unexpected EOF in {ctx}"), self.pos())),
                _ => {
                    let op = self.parse_operand(ctx)?;
                    args.push(op);
                    // operands must be separated by space
                    match self.peek() {
                        Tok::Space | Tok::Right | Tok::RParen | Tok::Pipe => {}
                        t => {
                            return Err((
                                format!("unexpected {} in operand", tok_text(t, self.src, 0)),
                                self.pos(),
                            ));
                        }
                    }
                }
            }
        }
        if args.is_empty() {
            return Err(("missing command".into(), pos));
        }
        Ok(Cmd { pos, args })
    }

    fn parse_fields(&mut self) -> Vec<String> {
        let mut chain = vec![];
        while let Tok::Field(f) = self.peek().clone() {
            self.i += 1;
            chain.push(f);
        }
        chain
    }

    fn parse_operand(&mut self, ctx: &str) -> R<Arg> {
        let t = self.next();
        let pos = t.pos;
        let term = match t.tok {
            Tok::Ident(name) => {
                if !(self.is_func)(&name) {
                    return Err((format!("function \"{name}\" not defined"), pos));
                }
                Arg::Ident(pos, name)
            }
            Tok::Dot => Arg::Dot(pos),
            Tok::Nil => Arg::Nil(pos),
            Tok::Bool(b) => Arg::Bool(pos, b),
            Tok::Number(s) => match parse_number(&s) {
                Some(n) => Arg::Number(pos, s, n),
                None => return Err((format!("bad number syntax: \"{s}\""), pos)),
            },
            Tok::Char(s, v) => Arg::Number(pos, s, Num::Int(v)),
            Tok::Str(s, v) => Arg::Str(pos, s, Rc::from(v)),
            Tok::Field(f) => {
                let mut chain = vec![f];
                // Go's parser positions a chain `.a.b` at its second field
                let pos = if matches!(self.peek(), Tok::Field(_)) {
                    self.pos()
                } else {
                    pos
                };
                chain.extend(self.parse_fields());
                return Ok(Arg::Field { pos, chain });
            }
            Tok::Var(v) => {
                if !self.vars.contains(&v) {
                    return Err((format!("undefined variable \"{v}\""), pos));
                }
                let pos = if matches!(self.peek(), Tok::Field(_)) {
                    self.pos()
                } else {
                    pos
                };
                let chain = self.parse_fields();
                return Ok(Arg::Var {
                    pos,
                    name: v,
                    chain,
                });
            }
            Tok::LParen => {
                self.nesting += 1;
                if self.nesting > self.max_nesting {
                    return Err((format!("nesting deeper than {}", self.max_nesting), pos));
                }
                let p =
                    stacker::maybe_grow(crate::exec::RED_ZONE, crate::exec::STACK_CHUNK, || {
                        self.parse_pipe_inner("parenthesized pipeline", false, true)
                    });
                self.nesting -= 1;
                let p = p?;
                Arg::Pipe(Box::new(p))
            }
            other => {
                return Err((
                    format!("unexpected {} in {ctx}", tok_text(&other, self.src, pos)),
                    pos,
                ));
            }
        };
        if let Tok::Field(_) = self.peek() {
            let chain = self.parse_fields();
            match &term {
                Arg::Bool(..) | Arg::Str(..) | Arg::Number(..) | Arg::Nil(_) | Arg::Dot(_) => {
                    return Err((format!("unexpected . after term \"{term}\""), pos));
                }
                _ => {}
            }
            return Ok(Arg::Chain {
                pos,
                node: Box::new(term),
                chain,
            });
        }
        Ok(term)
    }
}

enum Item {
    Node(Node),
    End(usize),
    Else(usize),
}

fn tok_text(t: &Tok, _src: &str, _pos: usize) -> String {
    match t {
        Tok::Right => "\"}}\"".into(),
        Tok::Eof => "EOF".into(),
        Tok::Ident(s) => format!("<{s}>"),
        Tok::Field(s) => format!("<.{s}>"),
        Tok::Var(s) => format!("<{s}>"),
        Tok::Str(s, _) | Tok::Number(s) | Tok::Char(s, _) => format!("\"{s}\""),
        Tok::LParen => "\"(\"".into(),
        Tok::RParen => "\")\"".into(),
        Tok::Pipe => "\"|\"".into(),
        Tok::Comma => "\",\"".into(),
        Tok::Dot => "<.>".into(),
        Tok::Bool(b) => format!("<{b}>"),
        Tok::Nil => "<nil>".into(),
        Tok::Declare => "\":=\"".into(),
        Tok::Assign => "\"=\"".into(),
        other => format!("{other:?}"),
    }
}
