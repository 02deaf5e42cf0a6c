//! Glob patterns as Go's `path.Match` (and `filepath.Match` on Unix) reads
//! them: `*`, `?`, `[a-z]`, `[^a-z]`, `\` escapes; braces are literal.
//!
//! Matching runs a small NFA over the text, so it is linear in the text for
//! a given pattern (Go backtracks), and it can report every prefix that
//! matches in one pass, which substitution's `${var#glob}` trims need.

/// Go's `path.ErrBadPattern`: the pattern is malformed (an unterminated
/// class, an unescaped `-` or `]` in a class, a trailing `\`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("syntax error in pattern")]
pub struct BadPattern;

/// Matching would take more steps than the caller allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pattern too costly to match")]
pub struct TooCostly;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Star,
    Any,
    Lit(char),
    /// A reversed range (`[z-a]`) is kept and never matches, as in Go.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

/// A compiled glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    tokens: Vec<Token>,
    /// `path.Match` stops `*` and `?` at `/`; Flux's envsubst does not.
    crosses_slashes: bool,
}

impl Pattern {
    /// Compiles `glob` with `path.Match`'s rules: `*` and `?` never match `/`.
    pub fn new(glob: &str) -> Result<Self, BadPattern> {
        let mut tokens = Vec::new();
        let mut it = glob.chars().peekable();
        while let Some(c) = it.next() {
            match c {
                // Consecutive stars mean one; keeping one keeps the NFA small.
                '*' if tokens.last() == Some(&Token::Star) => {}
                '*' => tokens.push(Token::Star),
                '?' => tokens.push(Token::Any),
                '\\' => tokens.push(Token::Lit(it.next().ok_or(BadPattern)?)),
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
                    tokens.push(Token::Class { negated, ranges });
                }
                c => tokens.push(Token::Lit(c)),
            }
        }
        Ok(Pattern {
            tokens,
            crosses_slashes: false,
        })
    }

    /// The same pattern with `*` and `?` matching `/` as well (the reading of
    /// Flux's envsubst, whose fork of `path.Match` drops the separator rule).
    pub fn crossing_slashes(mut self) -> Self {
        self.crosses_slashes = true;
        self
    }

    /// The pattern read backwards, for matching suffixes of a reversed text.
    pub fn reversed(&self) -> Self {
        let mut tokens = self.tokens.clone();
        tokens.reverse();
        Pattern {
            tokens,
            crosses_slashes: self.crosses_slashes,
        }
    }

    /// Whether the whole of `text` matches, as `path.Match(pattern, text)`.
    pub fn is_match(&self, text: &str) -> bool {
        if text.is_empty() {
            return self.tokens.iter().all(|t| *t == Token::Star);
        }
        let ends = text.char_indices().map(|(i, c)| (i + c.len_utf8(), c));
        let mut last = None;
        // Without a step limit this cannot fail.
        let _ = self.run(ends, usize::MAX, |cut| {
            last = Some(cut);
            true
        });
        last == Some(text.len())
    }

    /// The shortest (or, with `longest`, the longest) non-empty prefix of a
    /// text that matches. `chars` yields each character with the position a
    /// prefix ending after it is cut at; the answer is that position, or
    /// `None` when no prefix matches. Fails once the NFA has taken more than
    /// `max_steps` state steps.
    pub fn prefix_match(
        &self,
        chars: impl Iterator<Item = (usize, char)>,
        longest: bool,
        max_steps: usize,
    ) -> Result<Option<usize>, TooCostly> {
        let mut best = None;
        self.run(chars, max_steps, |cut| {
            best = Some(cut);
            longest
        })?;
        Ok(best)
    }

    /// Feeds `chars` to the NFA (states: positions in the token list) and
    /// calls `accept` with the cut after every character at which the whole
    /// pattern has matched; `accept` returns whether to go on.
    fn run(
        &self,
        chars: impl Iterator<Item = (usize, char)>,
        max_steps: usize,
        mut accept: impl FnMut(usize) -> bool,
    ) -> Result<(), TooCostly> {
        let tokens = &self.tokens;
        let k = tokens.len();
        // mark[i] == step: state i is already in the set of this step.
        let mut mark = vec![usize::MAX; k + 1];
        let mut cur: Vec<usize> = Vec::new();
        let mut next: Vec<usize> = Vec::new();
        let add = |set: &mut Vec<usize>, mark: &mut Vec<usize>, step: usize, mut i: usize| loop {
            if mark[i] == step {
                return;
            }
            mark[i] = step;
            set.push(i);
            // A star may match nothing: its successor is reachable too.
            if i < k && tokens[i] == Token::Star {
                i += 1;
            } else {
                return;
            }
        };
        add(&mut cur, &mut mark, 0, 0);
        let mut steps = 0usize;
        for (step, (cut, c)) in chars.enumerate() {
            let step = step + 1;
            next.clear();
            for &i in &cur {
                if i == k || !self.token_matches(&tokens[i], c) {
                    continue;
                }
                if tokens[i] == Token::Star {
                    add(&mut next, &mut mark, step, i);
                }
                add(&mut next, &mut mark, step, i + 1);
            }
            steps = steps.saturating_add(cur.len());
            if steps > max_steps {
                return Err(TooCostly);
            }
            std::mem::swap(&mut cur, &mut next);
            if mark[k] == step && !accept(cut) {
                break;
            }
            if cur.is_empty() {
                break;
            }
        }
        Ok(())
    }

    fn token_matches(&self, token: &Token, c: char) -> bool {
        match token {
            Token::Star | Token::Any => self.crosses_slashes || c != '/',
            Token::Lit(l) => *l == c,
            Token::Class { negated, ranges } => {
                ranges.iter().any(|(lo, hi)| *lo <= c && c <= *hi) != *negated
            }
        }
    }
}

/// One character of a class: Go requires `-` and `]` to be escaped there and
/// rejects an unterminated class.
fn class_char(it: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<char, BadPattern> {
    match it.next().ok_or(BadPattern)? {
        '-' | ']' => Err(BadPattern),
        '\\' => it.next().ok_or(BadPattern),
        c => Ok(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(glob: &str, text: &str) -> bool {
        Pattern::new(glob).is_ok_and(|p| p.is_match(text))
    }

    #[test]
    fn go_path_match_cases() {
        // Cases from Go's path.Match documentation and tests.
        assert!(m("abc", "abc"));
        assert!(m("*", "abc"));
        assert!(m("*c", "abc"));
        assert!(m("a*", "a"));
        assert!(!m("a*", "ab/c"));
        assert!(m("a*/b", "abc/b"));
        assert!(!m("a*/b", "a/c/b"));
        assert!(m("a*b*c*d*e*/f", "axbxcxdxe/f"));
        assert!(!m("a*b?c*x", "abxbbxdbxebxczzy"));
        assert!(m("ab[c]", "abc"));
        assert!(m("ab[b-d]", "abc"));
        assert!(!m("ab[e-g]", "abc"));
        assert!(!m("ab[^c]", "abc"));
        assert!(m("ab[^e-g]", "abc"));
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "ab"));
        assert!(m("a?b", "a☺b"));
        assert!(m("a[^a]b", "a☺b"));
        assert!(!m("a???b", "a☺b"));
        assert!(m("[a-ζ]*", "α"));
        assert!(!m("*[a-ζ]", "A"));
        assert!(!m("a?b", "a/b"));
        assert!(!m("a*b", "a/b"));
        assert!(m("[\\]a]", "]"));
        assert!(m("[\\-]", "-"));
        assert!(m("[x\\-]", "-"));
        assert!(!m("[x\\-]", "z"));
        assert!(m("*x", "xxx"));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(m("**", ""));
        // Braces are literal.
        assert!(m("*.{yaml,yml}", "a.{yaml,yml}"));
        assert!(!m("*.{yaml,yml}", "a.yaml"));
    }

    #[test]
    fn malformed_patterns() {
        for bad in [
            "[", "[^", "[^bc", "a[", "a[-]", "[-]", "[x-]", "[]a]", "a\\", "[\\",
        ] {
            assert_eq!(Pattern::new(bad), Err(BadPattern), "{bad}");
        }
        assert!(Pattern::new("[\\]]").is_ok());
        // A reversed range is valid and never matches.
        assert!(!m("[z-a].txt", "x.txt"));
        assert!(m("[^z-a]", "x"));
    }

    #[test]
    fn crossing_slashes_and_prefixes() {
        let p = Pattern::new("*/b").map(Pattern::crossing_slashes);
        assert!(p.as_ref().is_ok_and(|p| p.is_match("a/c/b")));
        let Ok(p) = Pattern::new("*a").map(Pattern::crossing_slashes) else {
            panic!("valid pattern");
        };
        let text = "xaya";
        let ends = || text.char_indices().map(|(i, c)| (i + c.len_utf8(), c));
        assert_eq!(p.prefix_match(ends(), false, usize::MAX), Ok(Some(2)));
        assert_eq!(p.prefix_match(ends(), true, usize::MAX), Ok(Some(4)));
        assert_eq!(p.prefix_match(ends(), true, 2), Err(TooCostly));
        let r = p.reversed();
        let rev = text.char_indices().rev();
        // Suffixes: `a` alone is the shortest match of the reversed pattern.
        assert_eq!(r.prefix_match(rev, false, usize::MAX), Ok(Some(3)));
    }
}
