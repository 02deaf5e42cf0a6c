//! The lexer: splits template source into text and action tokens, as Go's
//! `text/template/parse` lexer does (delimiters `{{ }}`, trim markers, comments).

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    /// Plain text between actions (already trimmed by trim markers); shared, as
    /// the parser looks at tokens again after backing up.
    Text(std::rc::Rc<str>),
    /// A comment action `{{/* ... */}}`.
    Comment,
    /// `{{`.
    Left,
    /// `}}`.
    Right,
    /// A run of spaces inside an action.
    Space,
    /// A function name or keyword.
    Ident(String),
    /// `.Name` (the name without the dot).
    Field(String),
    /// `$name` (with the `$`).
    Var(String),
    /// `.`
    Dot,
    /// A quoted string: (source text, value).
    Str(String, String),
    /// A character constant: (source text, code point).
    Char(String, i64),
    /// A number's source text.
    Number(String),
    /// `true`/`false`.
    Bool(bool),
    /// `nil`.
    Nil,
    /// `(`.
    LParen,
    /// `)`.
    RParen,
    /// `|`.
    Pipe,
    /// `:=`.
    Declare,
    /// `=`.
    Assign,
    /// `,`.
    Comma,
    /// End of input.
    Eof,
}

/// A token and its byte offset in the source.
#[derive(Debug, Clone)]
pub struct Token {
    /// The token.
    pub tok: Tok,
    /// Byte offset of its start.
    pub pos: usize,
}

/// A lexing error: message and byte offset.
#[derive(Debug, Clone)]
pub struct LexError {
    /// Go's message text.
    pub msg: String,
    /// Byte offset.
    pub pos: usize,
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Splits `src` into tokens.
pub fn lex(src: &str) -> Result<Vec<Token>, LexError> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut trim_next = false;
    while i <= b.len() {
        // text up to the next "{{"
        let start = i;
        let next = src[i..].find("{{").map(|o| i + o);
        let end = next.unwrap_or(b.len());
        let mut text = &src[start..end];
        if trim_next {
            text = text.trim_start_matches([' ', '\t', '\r', '\n']);
            trim_next = false;
        }
        let Some(l) = next else {
            if !text.is_empty() {
                out.push(Token {
                    tok: Tok::Text(std::rc::Rc::from(text)),
                    pos: start,
                });
            }
            break;
        };
        let mut after = l + 2;
        if b.len() > l + 3 && b[l + 2] == b'-' && is_space(b[l + 3]) {
            text = text.trim_end_matches([' ', '\t', '\r', '\n']);
            after = l + 3;
        }
        if !text.is_empty() {
            out.push(Token {
                tok: Tok::Text(std::rc::Rc::from(text)),
                pos: start,
            });
        }
        // comment?
        let mut j = after;
        while j < b.len() && is_space(b[j]) && after != l + 2 {
            j += 1;
        }
        if src[j..].starts_with("/*") {
            let Some(ce) = src[j + 2..].find("*/") else {
                return Err(LexError {
                    msg: "unclosed comment".into(),
                    pos: l,
                });
            };
            let mut k = j + 2 + ce + 2;
            let mut trimmed = false;
            if src[k..].starts_with(" -}}")
                || (k < b.len() && is_space(b[k]) && src[k..].trim_start().starts_with("-}}"))
            {
                let s = src[k..].find("-}}").unwrap_or(0);
                k += s + 3;
                trimmed = true;
            } else if src[k..].starts_with("}}") {
                k += 2;
            } else {
                return Err(LexError {
                    msg: "comment ends before closing delimiter".into(),
                    pos: l,
                });
            }
            out.push(Token {
                tok: Tok::Comment,
                pos: l,
            });
            trim_next = trimmed;
            i = k;
            continue;
        }
        out.push(Token {
            tok: Tok::Left,
            pos: l,
        });
        i = lex_action(src, after, &mut out, &mut trim_next)?;
    }
    out.push(Token {
        tok: Tok::Eof,
        pos: b.len(),
    });
    Ok(out)
}

/// Lexes inside an action starting at `i`; returns the offset after `}}`.
fn lex_action(
    src: &str,
    mut i: usize,
    out: &mut Vec<Token>,
    trim_next: &mut bool,
) -> Result<usize, LexError> {
    let b = src.as_bytes();
    let mut paren = 0i32;
    loop {
        if i >= b.len() {
            return Err(LexError {
                msg: "unclosed action".into(),
                pos: i,
            });
        }
        let rest = &src[i..];
        if rest.starts_with("}}") {
            if paren > 0 {
                return Err(LexError {
                    msg: "unclosed left paren".into(),
                    pos: i,
                });
            }
            out.push(Token {
                tok: Tok::Right,
                pos: i,
            });
            return Ok(i + 2);
        }
        let c = rest.chars().next().unwrap_or(' ');
        if is_space(c as u8) && c.is_ascii() {
            let s = i;
            while i < b.len() && is_space(b[i]) {
                i += 1;
            }
            if src[i..].starts_with("-}}") {
                if paren > 0 {
                    return Err(LexError {
                        msg: "unclosed left paren".into(),
                        pos: i,
                    });
                }
                out.push(Token {
                    tok: Tok::Right,
                    pos: i,
                });
                *trim_next = true;
                return Ok(i + 3);
            }
            out.push(Token {
                tok: Tok::Space,
                pos: s,
            });
            continue;
        }
        let s = i;
        match c {
            '(' => {
                paren += 1;
                out.push(Token {
                    tok: Tok::LParen,
                    pos: i,
                });
                i += 1;
            }
            ')' => {
                paren -= 1;
                if paren < 0 {
                    return Err(LexError {
                        msg: "unexpected right paren".into(),
                        pos: i,
                    });
                }
                out.push(Token {
                    tok: Tok::RParen,
                    pos: i,
                });
                i += 1;
            }
            '|' => {
                out.push(Token {
                    tok: Tok::Pipe,
                    pos: i,
                });
                i += 1;
            }
            ',' => {
                out.push(Token {
                    tok: Tok::Comma,
                    pos: i,
                });
                i += 1;
            }
            '=' => {
                out.push(Token {
                    tok: Tok::Assign,
                    pos: i,
                });
                i += 1;
            }
            ':' => {
                if rest.starts_with(":=") {
                    out.push(Token {
                        tok: Tok::Declare,
                        pos: i,
                    });
                    i += 2;
                } else {
                    return Err(LexError {
                        msg: "expected :=".into(),
                        pos: i,
                    });
                }
            }
            '"' => {
                let mut j = i + 1;
                loop {
                    if j >= b.len() || b[j] == b'\n' {
                        return Err(LexError {
                            msg: "unterminated quoted string".into(),
                            pos: i,
                        });
                    }
                    if b[j] == b'\\' {
                        j += 2;
                        continue;
                    }
                    if b[j] == b'"' {
                        break;
                    }
                    j += 1;
                }
                let text = &src[i..=j];
                let val = unquote(text).ok_or(LexError {
                    msg: "unterminated quoted string".into(),
                    pos: i,
                })?;
                out.push(Token {
                    tok: Tok::Str(text.to_string(), val),
                    pos: i,
                });
                i = j + 1;
            }
            '`' => {
                let Some(e) = src[i + 1..].find('`') else {
                    return Err(LexError {
                        msg: "unterminated raw quoted string".into(),
                        pos: i,
                    });
                };
                let text = &src[i..i + 1 + e + 1];
                out.push(Token {
                    tok: Tok::Str(text.to_string(), src[i + 1..i + 1 + e].to_string()),
                    pos: i,
                });
                i += e + 2;
            }
            '\'' => {
                let mut j = i + 1;
                loop {
                    if j >= b.len() || b[j] == b'\n' {
                        return Err(LexError {
                            msg: "unterminated character constant".into(),
                            pos: i,
                        });
                    }
                    if b[j] == b'\\' {
                        j += 2;
                        continue;
                    }
                    if b[j] == b'\'' {
                        break;
                    }
                    j += 1;
                }
                let text = &src[i..=j];
                let inner = format!("\"{}\"", &src[i + 1..j]);
                let v = unquote(&inner).and_then(|s| {
                    let mut cs = s.chars();
                    let c = cs.next()?;
                    cs.next().is_none().then_some(c as i64)
                });
                let Some(v) = v else {
                    return Err(LexError {
                        msg: format!("malformed character constant: {text}"),
                        pos: i,
                    });
                };
                out.push(Token {
                    tok: Tok::Char(text.to_string(), v),
                    pos: i,
                });
                i = j + 1;
            }
            '$' => {
                let mut j = i + 1;
                while let Some(ch) = src[j..].chars().next() {
                    if !is_alnum(ch) {
                        break;
                    }
                    j += ch.len_utf8();
                }
                out.push(Token {
                    tok: Tok::Var(src[i..j].to_string()),
                    pos: i,
                });
                i = j;
            }
            '.' => {
                let nb = b.get(i + 1).copied().unwrap_or(b' ');
                if nb.is_ascii_digit() {
                    i = lex_number(src, i, out)?;
                    continue;
                }
                let mut j = i + 1;
                while let Some(ch) = src[j..].chars().next() {
                    if !is_alnum(ch) {
                        break;
                    }
                    j += ch.len_utf8();
                }
                if j == i + 1 {
                    out.push(Token {
                        tok: Tok::Dot,
                        pos: i,
                    });
                } else {
                    out.push(Token {
                        tok: Tok::Field(src[i + 1..j].to_string()),
                        pos: i,
                    });
                }
                i = j;
            }
            '+' | '-' | '0'..='9' => {
                i = lex_number(src, i, out)?;
            }
            c if is_alnum(c) => {
                let mut j = i;
                while let Some(ch) = src[j..].chars().next() {
                    if !is_alnum(ch) {
                        break;
                    }
                    j += ch.len_utf8();
                }
                let w = &src[i..j];
                let tok = match w {
                    "true" => Tok::Bool(true),
                    "false" => Tok::Bool(false),
                    "nil" => Tok::Nil,
                    _ => Tok::Ident(w.to_string()),
                };
                out.push(Token { tok, pos: s });
                i = j;
            }
            other => {
                return Err(LexError {
                    msg: format!("unrecognized character in action: {}", quote_rune(other)),
                    pos: i,
                });
            }
        }
    }
}

fn quote_rune(c: char) -> String {
    match c {
        '\u{0}'..='\u{1f}' => format!("U+{:04X}", c as u32),
        _ => format!("U+{:04X} '{}'", c as u32, c),
    }
}

fn lex_number(src: &str, i: usize, out: &mut Vec<Token>) -> Result<usize, LexError> {
    let b = src.as_bytes();
    let mut j = i;
    if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
        j += 1;
    }
    while j < b.len() {
        let c = b[j];
        let prev = if j > i { b[j - 1] } else { 0 };
        if c.is_ascii_alphanumeric()
            || c == b'.'
            || c == b'_'
            || ((c == b'+' || c == b'-') && matches!(prev, b'e' | b'E' | b'p' | b'P'))
        {
            j += 1;
        } else {
            break;
        }
    }
    let text = &src[i..j];
    if parse_number(text).is_none() {
        // Go's scanner takes some literals its number parser then refuses
        // (`0x1.8`: a hex mantissa without its exponent); the parser's
        // message is the bare quoted text.
        let msg = if go_scans_number(text) {
            format!("\"{text}\"")
        } else {
            format!("bad number syntax: \"{text}\"")
        };
        return Err(LexError { msg, pos: i });
    }
    out.push(Token {
        tok: Tok::Number(text.to_string()),
        pos: i,
    });
    Ok(j)
}

/// A parsed number constant: integer or float, as Go's parser classifies it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    /// Integer constant (Go `int`).
    Int(i64),
    /// Floating constant (Go `float64`).
    Float(f64),
}

/// Parses a Go number literal.
pub fn parse_number(text: &str) -> Option<Num> {
    let t = text.replace('_', "");
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, &t[..]),
    };
    if body.is_empty() {
        return None;
    }
    let lower = body.to_ascii_lowercase();
    let int = if let Some(h) = lower.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(bn) = lower.strip_prefix("0b") {
        i64::from_str_radix(bn, 2).ok()
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|c| c.is_ascii_digit())
    {
        i64::from_str_radix(&lower[1..], 8).ok()
    } else if lower.bytes().all(|c| c.is_ascii_digit()) {
        lower.parse::<i64>().ok()
    } else {
        None
    };
    if let Some(v) = int {
        return Some(Num::Int(if neg { -v } else { v }));
    }
    if let Some(h) = lower.strip_prefix("0x") {
        let f = parse_hex_float(h)?;
        return Some(Num::Float(if neg { -f } else { f }));
    }
    let f: f64 = lower.parse().ok()?;
    if !f.is_finite()
        || !lower
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'+' | b'-'))
    {
        return None;
    }
    Some(Num::Float(if neg { -f } else { f }))
}

/// Whether Go's template scanner reads all of `text` as one number token
/// (sign, base prefix, digits, fraction, `e` or `p` exponent, `i`).
fn go_scans_number(text: &str) -> bool {
    let b = text.as_bytes();
    let mut j = 0;
    let take = |j: &mut usize, set: &[u8]| {
        if *j < b.len() && set.contains(&b[*j]) {
            *j += 1;
            true
        } else {
            false
        }
    };
    let run = |j: &mut usize, pred: &dyn Fn(u8) -> bool| {
        while *j < b.len() && pred(b[*j]) {
            *j += 1;
        }
    };
    take(&mut j, b"+-");
    let mut radix = 10;
    if take(&mut j, b"0") {
        if take(&mut j, b"xX") {
            radix = 16;
        } else if take(&mut j, b"oO") {
            radix = 8;
        } else if take(&mut j, b"bB") {
            radix = 2;
        }
    }
    let digit = move |c: u8| {
        c == b'_'
            || match radix {
                16 => c.is_ascii_hexdigit(),
                8 => (b'0'..=b'7').contains(&c),
                2 => c == b'0' || c == b'1',
                _ => c.is_ascii_digit(),
            }
    };
    run(&mut j, &digit);
    if take(&mut j, b".") {
        run(&mut j, &digit);
    }
    let exp_digit = |c: u8| c.is_ascii_digit() || c == b'_';
    if (radix == 10 && take(&mut j, b"eE")) || (radix == 16 && take(&mut j, b"pP")) {
        take(&mut j, b"+-");
        run(&mut j, &exp_digit);
    }
    take(&mut j, b"i");
    j == b.len()
}

/// Go's hexadecimal floating-point literal after its `0x` (`1p60`, `1.8p-3`,
/// `.8p1`): hex mantissa digits, then a binary exponent that Go requires.
/// Charts use them for binary unit factors (traefik's `0x1p60`).
fn parse_hex_float(h: &str) -> Option<f64> {
    let (mantissa, exp) = h.split_once('p')?;
    let exp: i32 = exp.parse().ok()?;
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut value = 0f64;
    for c in int_part.chars() {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac_part.chars() {
        value += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    let f = value * 2f64.powi(exp);
    f.is_finite().then_some(f)
}

/// Unquotes a Go double-quoted string literal.
pub fn unquote(s: &str) -> Option<String> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut cs = inner.chars().peekable();
    while let Some(c) = cs.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match cs.next()? {
            'n' => out.push('\n'),
            't' => out.push('\t'),
            'r' => out.push('\r'),
            'a' => out.push('\u{7}'),
            'b' => out.push('\u{8}'),
            'f' => out.push('\u{c}'),
            'v' => out.push('\u{b}'),
            '\\' => out.push('\\'),
            '"' => out.push('"'),
            '\'' => out.push('\''),
            'x' => {
                let h: String = [cs.next()?, cs.next()?].iter().collect();
                let v = u8::from_str_radix(&h, 16).ok()?;
                out.push(char::from(v));
            }
            'u' => {
                let h: String = (0..4).map(|_| cs.next()).collect::<Option<String>>()?;
                out.push(char::from_u32(u32::from_str_radix(&h, 16).ok()?)?);
            }
            'U' => {
                let h: String = (0..8).map(|_| cs.next()).collect::<Option<String>>()?;
                out.push(char::from_u32(u32::from_str_radix(&h, 16).ok()?)?);
            }
            d @ '0'..='7' => {
                let h: String = [d, cs.next()?, cs.next()?].iter().collect();
                let v = u32::from_str_radix(&h, 8).ok()?;
                out.push(char::from_u32(v)?);
            }
            _ => return None,
        }
    }
    Some(out)
}
