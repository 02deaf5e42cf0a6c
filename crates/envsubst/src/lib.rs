//! Flux's post-build substitution language (`fluxcd/pkg/envsubst`, a fork of
//! drone/envsubst): expands `${...}` expressions in a text. Pure: the caller
//! supplies the variables; what to substitute into (Kubernetes objects rendered
//! as YAML) is kustomize-controller's business.
//!
//! Understood forms (everything else is literal text): `${var}`, `${var:=default}`,
//! `${var=default}`, `${var:-default}`, `${var:?x}`, `${var:+x}` (the last four, like
//! `:=`, all mean "the value, or `default` when it is empty" in Flux's envsubst),
//! `${#var}`, `${var^}`, `${var^^}`, `${var,}`, `${var,,}`, `${var:pos}`,
//! `${var:pos:len}`, `${var#glob}`, `${var##glob}`, `${var%glob}`, `${var%%glob}`,
//! `${var/old/new}`, `${var//old/new}`, `${var/#old/new}`, `${var/%old/new}`.
//! Defaults may nest (`${a:=${b}}`). `$var` without braces is not substituted, and
//! `$$` is an escaped `$` (so `$${var}` leaves `${var}` in the output).

#![warn(missing_docs)]

mod expand;
mod parse;

use expand::Evaluator;
use parse::Parser;

/// The pattern every variable name must match (Flux's `varsubRegex`).
pub const VAR_NAME_PATTERN: &str = "^[_[:alpha:]][_[:alpha:][:digit:]]*$";

/// How deeply `${...}` may nest inside defaults and arguments. Flux has no limit, but a
/// recursive parser needs one to turn hostile input into an error instead of a stack
/// overflow; real manifests nest two or three levels at most.
pub const MAX_DEPTH: usize = 64;

/// Upper bound on the text one evaluation may expand to. `${a//x/${b}}` multiplies
/// sizes, so without a bound a few kilobytes of input could ask for gigabytes of output.
pub const MAX_OUTPUT: usize = 64 * 1024 * 1024;

/// Upper bound on glob-matching steps for one `#`/`%` trim, so that a huge pattern
/// against a huge value fails clearly instead of running for minutes.
pub const MAX_GLOB_STEPS: usize = 50_000_000;

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

/// Whether `name` matches [`VAR_NAME_PATTERN`]: ASCII letters, digits and `_`, not
/// starting with a digit.
pub fn is_valid_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Expands every `${...}` expression in `text`. `lookup` returns a variable's value, or
/// `None` when it is not defined; undefined variables count as empty unless `strict`.
pub fn eval<'v>(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<&'v str>,
    strict: bool,
) -> Result<String, EvalError> {
    let chars: Vec<char> = text.chars().collect();
    let mut parser = Parser::new(&chars);
    let nodes = parser.parse_top()?;
    let mut out = String::with_capacity(text.len());
    let ev = Evaluator { lookup, strict };
    for n in &nodes {
        ev.eval(n, &mut out)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
