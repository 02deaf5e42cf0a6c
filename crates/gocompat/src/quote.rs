//! `strconv.Quote`.

use std::fmt::Write;
use std::sync::LazyLock;

use regex::Regex;

/// Go's `unicode.IsPrint` without the ASCII space: letters, marks, numbers,
/// punctuation and symbols. A regex class is the one Unicode category table
/// already in the tree.
static GRAPHIC: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[\p{L}\p{M}\p{N}\p{P}\p{S}]$").ok());

/// `s` double-quoted as Go's `strconv.Quote` (and `fmt`'s `%q`) writes it:
/// `\a \b \f \n \r \t \v \\ \"` escaped by name, other ASCII controls and
/// DEL as `\xhh`, other characters Go does not call printable as `\uhhhh`
/// or `\Uhhhhhhhh`.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{07}' => out.push_str("\\a"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{0b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_print(c) => out.push(c),
            c if (c as u32) < 0x1_0000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// Go's `strconv.IsPrint`.
fn is_print(c: char) -> bool {
    if c.is_ascii() {
        return c == ' ' || c.is_ascii_graphic();
    }
    let mut buf = [0u8; 4];
    match &*GRAPHIC {
        Some(re) => re.is_match(c.encode_utf8(&mut buf)),
        // The class is a constant that compiles; should it not, escaping only
        // controls is the safe reading.
        None => !c.is_control(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_escapes_and_controls() {
        assert_eq!(quote("kubectl"), "\"kubectl\"");
        assert_eq!(quote("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(quote("\u{7}\u{8}\u{c}\r\t\u{b}"), r#""\a\b\f\r\t\v""#);
        assert_eq!(quote("\u{0}\u{1b}\u{7f}"), r#""\x00\x1b\x7f""#);
        assert_eq!(quote(""), "\"\"");
    }

    #[test]
    fn unicode_as_go_prints_it() {
        // Printable text stays as it is.
        assert_eq!(quote("héllo, 世界 ✓"), "\"héllo, 世界 ✓\"");
        assert_eq!(quote("😀"), "\"😀\"");
        // C1 controls, non-ASCII spaces and format characters are escaped.
        assert_eq!(quote("\u{85}"), r#""\u0085""#);
        assert_eq!(quote("a\u{a0}b"), r#""a\u00a0b""#);
        assert_eq!(quote("\u{200b}\u{feff}\u{2028}"), r#""\u200b\ufeff\u2028""#);
        assert_eq!(quote("\u{e0001}"), r#""\U000e0001""#);
    }
}
