//! Parsing `${...}` expressions. The grammar follows fluxcd/pkg/envsubst/parse,
//! including its quirks (which characters end an argument, where `$$` and `\/`
//! escapes apply), so that templates behave the same as under Flux; the
//! implementation is a single left-to-right pass.

use crate::{EvalError, MAX_DEPTH};

/// A piece of parsed text.
#[derive(Debug)]
pub(crate) enum Node {
    Text(String),
    Func(Func),
}

/// One `${...}` expression.
#[derive(Debug)]
pub(crate) struct Func {
    /// The variable's name.
    pub(crate) param: String,
    /// The operator (`:=`, `##`, `/`, ...), empty for a plain `${var}`.
    pub(crate) op: String,
    /// Defaults or arguments, each a text that may hold expressions.
    pub(crate) args: Vec<Node>,
}

/// Position and nesting depth over the text's characters.
pub(crate) struct Parser<'a> {
    s: &'a [char],
    pos: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    /// A parser at the start of `s`.
    pub(crate) fn new(s: &'a [char]) -> Self {
        Parser {
            s,
            pos: 0,
            depth: 0,
        }
    }

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

    pub(crate) fn parse_top(&mut self) -> Result<Vec<Node>, EvalError> {
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
