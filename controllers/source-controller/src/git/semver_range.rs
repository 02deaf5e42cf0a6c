//! SemVer ranges with the syntax and rules of Masterminds/semver v3, which Flux
//! uses for `spec.ref.semver`, and Flux's loose parsing of tag names as versions.
//!
//! Ranges: comparators joined by `,` or whitespace (AND) and `||` (OR);
//! operators `=` (or none), `!=`, `>`, `<`, `>=`, `<=`, `~`, `~>`, `^`; wildcards
//! `x`, `X`, `*` and missing parts (`1.2`); hyphen ranges `1.2 - 1.4.5`.
//! A prerelease version only satisfies a comparator that itself has a prerelease.

use std::cmp::Ordering;

use semver::{BuildMetadata, Prerelease, Version};

/// A parsed range: a disjunction of conjunctions of comparators.
#[derive(Debug, Clone)]
pub struct Range {
    any_of: Vec<Vec<Comparator>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Tilde,
    Caret,
}

#[derive(Debug, Clone)]
struct Comparator {
    op: Op,
    major: Option<u64>,
    minor: Option<u64>,
    patch: Option<u64>,
    pre: Prerelease,
}

impl Range {
    /// Parses a Masterminds-style range; the error explains what is wrong.
    pub fn parse(text: &str) -> Result<Range, String> {
        if text.trim().is_empty() {
            return Err("empty SemVer range".to_string());
        }
        let mut any_of = Vec::new();
        for group in text.split("||") {
            let mut all_of = Vec::new();
            for piece in group.split(',') {
                parse_piece(piece, &mut all_of)
                    .map_err(|e| format!("improper constraint '{}': {e}", text.trim()))?;
            }
            if all_of.is_empty() {
                return Err(format!(
                    "improper constraint '{}': empty group",
                    text.trim()
                ));
            }
            any_of.push(all_of);
        }
        Ok(Range { any_of })
    }

    /// True if `version` satisfies the range.
    pub fn matches(&self, version: &Version) -> bool {
        self.any_of
            .iter()
            .any(|all| all.iter().all(|c| c.matches(version)))
    }
}

/// One comma-separated piece: comparators separated by whitespace, where an
/// operator may be followed by spaces and `A - B` is a hyphen range.
fn parse_piece(piece: &str, out: &mut Vec<Comparator>) -> Result<(), String> {
    let tokens: Vec<&str> = piece.split_whitespace().collect();
    if tokens.is_empty() {
        return Err("empty comparator".to_string());
    }
    let mut i = 0;
    while i < tokens.len() {
        let token = tokens[i];
        // An operator standing alone takes the next token as its version.
        let (text, used) = if is_operator(token) {
            let Some(next) = tokens.get(i + 1) else {
                return Err(format!("operator '{token}' without a version"));
            };
            (format!("{token}{next}"), 2)
        } else {
            (token.to_string(), 1)
        };
        // Hyphen range: `A - B`.
        if used == 1 && tokens.get(i + 1) == Some(&"-") {
            let Some(upper) = tokens.get(i + 2) else {
                return Err("hyphen range without an upper bound".to_string());
            };
            let lower = parse_comparator(&text)?;
            let upper = parse_comparator(upper)?;
            if lower.op != Op::Eq || upper.op != Op::Eq {
                return Err("hyphen range bounds cannot have operators".to_string());
            }
            out.push(Comparator {
                op: Op::Ge,
                ..lower
            });
            out.push(Comparator {
                op: Op::Le,
                ..upper
            });
            i += 3;
            continue;
        }
        out.push(parse_comparator(&text)?);
        i += used;
    }
    Ok(())
}

fn is_operator(token: &str) -> bool {
    matches!(
        token,
        "=" | "!=" | ">" | "<" | ">=" | "=>" | "<=" | "=<" | "~" | "~>" | "^"
    )
}

fn parse_comparator(text: &str) -> Result<Comparator, String> {
    const OPS: [(&str, Op); 11] = [
        ("!=", Op::Ne),
        (">=", Op::Ge),
        ("=>", Op::Ge),
        ("<=", Op::Le),
        ("=<", Op::Le),
        ("~>", Op::Tilde),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("=", Op::Eq),
        ("~", Op::Tilde),
        ("^", Op::Caret),
    ];
    let (op, rest) = OPS
        .iter()
        .find_map(|(prefix, op)| text.strip_prefix(prefix).map(|rest| (*op, rest)))
        .unwrap_or((Op::Eq, text));
    let rest = rest.trim();
    let rest = rest
        .strip_prefix('v')
        .or_else(|| rest.strip_prefix('V'))
        .unwrap_or(rest);
    if rest.is_empty() {
        return Err(format!("'{text}' has no version"));
    }
    let (core, pre, _build) = split_version(rest).map_err(|e| format!("'{text}': {e}"))?;
    let mut parts = core.split('.');
    let major = wildcard_or_number(parts.next(), text)?;
    let minor = match parts.next() {
        None => None,
        some => wildcard_or_number(some, text)?,
    };
    let patch = match parts.next() {
        None => None,
        some => wildcard_or_number(some, text)?,
    };
    if parts.next().is_some() {
        return Err(format!("'{text}' has too many version parts"));
    }
    // After a wildcard, later parts are wildcards too (`1.x.3` means `1.x`).
    let (minor, patch) = match (major, minor) {
        (None, _) => (None, None),
        (_, None) => (None, None),
        _ => (minor, patch),
    };
    Ok(Comparator {
        op,
        major,
        minor,
        patch,
        pre,
    })
}

fn wildcard_or_number(part: Option<&str>, text: &str) -> Result<Option<u64>, String> {
    match part {
        Some("x" | "X" | "*") => Ok(None),
        Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => digits
            .parse::<u64>()
            .map(Some)
            .map_err(|_| format!("'{text}': number too large")),
        _ => Err(format!("'{text}' is not a valid version")),
    }
}

/// Splits `1.2.3-rc.1+build` into its core, prerelease and build metadata.
fn split_version(text: &str) -> Result<(&str, Prerelease, BuildMetadata), String> {
    let (rest, build) = match text.split_once('+') {
        Some((rest, build)) => (
            rest,
            BuildMetadata::new(build).map_err(|e| format!("invalid build metadata: {e}"))?,
        ),
        None => (text, BuildMetadata::EMPTY),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((core, pre)) => (
            core,
            Prerelease::new(pre).map_err(|e| format!("invalid prerelease: {e}"))?,
        ),
        None => (rest, Prerelease::EMPTY),
    };
    Ok((core, pre, build))
}

/// Parses a tag name as a version the way Flux does: at least three
/// dot-separated parts, an optional `v` prefix, leading zeros allowed.
/// Returns `None` for tags that are not versions.
pub fn parse_tag_version(tag: &str) -> Option<Version> {
    if tag.splitn(3, '.').count() != 3 {
        return None;
    }
    let text = tag.strip_prefix('v').unwrap_or(tag);
    let (core, pre, build) = split_version(text).ok()?;
    let mut parts = core.split('.');
    let mut number = || -> Option<u64> {
        let digits = parts.next()?;
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    let (major, minor, patch) = (number()?, number()?, number()?);
    if parts.next().is_some() {
        return None;
    }
    Some(Version {
        major,
        minor,
        patch,
        pre,
        build,
    })
}

impl Comparator {
    fn is_wild(&self) -> bool {
        self.major.is_none() || self.minor.is_none() || self.patch.is_none()
    }

    /// The comparator's version with wildcards as zeros.
    fn floor(&self) -> Version {
        Version {
            major: self.major.unwrap_or(0),
            minor: self.minor.unwrap_or(0),
            patch: self.patch.unwrap_or(0),
            pre: self.pre.clone(),
            build: BuildMetadata::EMPTY,
        }
    }

    /// Wildcard equality: the given parts are equal.
    fn same_given_parts(&self, v: &Version) -> bool {
        self.major.is_none_or(|m| v.major == m)
            && self.minor.is_none_or(|m| v.minor == m)
            && self.patch.is_none_or(|p| v.patch == p)
    }

    fn matches(&self, v: &Version) -> bool {
        if !v.pre.is_empty() && self.pre.is_empty() {
            return false;
        }
        let cmp = v.cmp_precedence(&self.floor());
        match self.op {
            Op::Eq if self.is_wild() => self.same_given_parts(v),
            Op::Eq => cmp == Ordering::Equal,
            Op::Ne if self.is_wild() => !self.same_given_parts(v),
            Op::Ne => cmp != Ordering::Equal,
            Op::Gt => match (self.major, self.minor, self.patch) {
                (None, _, _) => false,
                (Some(m), None, _) => v.major > m,
                (Some(m), Some(n), None) => (v.major, v.minor) > (m, n),
                _ => cmp == Ordering::Greater,
            },
            Op::Lt => cmp == Ordering::Less,
            Op::Ge => cmp != Ordering::Less,
            Op::Le => match (self.major, self.minor, self.patch) {
                (None, _, _) => true,
                (Some(m), None, _) => v.major <= m,
                (Some(m), Some(n), None) => (v.major, v.minor) <= (m, n),
                _ => cmp != Ordering::Greater,
            },
            Op::Tilde => {
                cmp != Ordering::Less
                    && match (self.major, self.minor) {
                        (None, _) => true,
                        (Some(m), None) => v.major == m,
                        (Some(m), Some(n)) => v.major == m && v.minor == n,
                    }
            }
            Op::Caret => {
                cmp != Ordering::Less
                    && match (self.major, self.minor, self.patch) {
                        (None, _, _) => true,
                        (Some(m), _, _) if m > 0 => v.major == m,
                        (Some(_), None, _) => v.major == 0,
                        (Some(_), Some(0), Some(p)) => v.major == 0 && v.minor == 0 && v.patch == p,
                        (Some(_), Some(n), _) => v.major == 0 && v.minor == n,
                    }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(range: &str, version: &str) -> bool {
        let r = Range::parse(range).unwrap_or_else(|e| panic!("{range}: {e}"));
        let v = parse_tag_version(version).unwrap_or_else(|| panic!("{version}"));
        r.matches(&v)
    }

    #[test]
    fn tag_versions_parse_like_flux() {
        assert!(parse_tag_version("v1.2.3").is_some());
        assert!(parse_tag_version("1.2.3-rc.1+meta").is_some());
        assert!(parse_tag_version("v2025.02.03").is_some());
        assert!(parse_tag_version("1.2").is_none());
        assert!(parse_tag_version("release-1.2.3").is_none());
        assert!(parse_tag_version("latest").is_none());
        assert!(parse_tag_version("1.2.3.4").is_none());
    }

    #[test]
    fn basic_comparisons() {
        assert!(check(">=1.0.0", "v1.2.0"));
        assert!(check(">= 1.2, < 3.0.0 || >= 4.2.3", "2.9.9"));
        assert!(!check(">= 1.2, < 3.0.0 || >= 4.2.3", "3.1.0"));
        assert!(check(">= 1.2, < 3.0.0 || >= 4.2.3", "4.2.3"));
        assert!(check(">=1.2 <3", "2.0.0"));
        assert!(check("1.2.3", "1.2.3"));
        assert!(!check("!=1.2.3", "1.2.3"));
        assert!(check("1.2", "1.2.9"));
        assert!(!check("1.2", "1.3.0"));
        assert!(check("*", "5.0.0"));
        assert!(!check(">1.2", "1.2.9"));
        assert!(check(">1.2", "1.3.0"));
        assert!(check("<=2.x", "2.9.0"));
        assert!(!check("<=2.x", "3.0.0"));
    }

    #[test]
    fn tilde_caret_hyphen() {
        assert!(check("~1.2.3", "1.2.9"));
        assert!(!check("~1.2.3", "1.3.0"));
        assert!(check("~1", "1.9.0"));
        assert!(check("^1.2.3", "1.9.0"));
        assert!(!check("^1.2.3", "2.0.0"));
        assert!(check("^0.2.3", "0.2.9"));
        assert!(!check("^0.2.3", "0.3.0"));
        assert!(!check("^0.0.3", "0.0.4"));
        assert!(check("^0.0", "0.0.9"));
        assert!(!check("^0.0", "0.1.0"));
        assert!(check("1.2 - 1.4.5", "1.4.5"));
        assert!(!check("1.2 - 1.4.5", "1.4.6"));
    }

    #[test]
    fn prereleases_need_a_prerelease_comparator() {
        assert!(!check(">=1.0.0", "2.0.0-rc.1"));
        assert!(check(">=1.0.0-0", "2.0.0-rc.1"));
        assert!(!check("*", "2.0.0-rc.1"));
    }

    #[test]
    fn invalid_ranges_are_rejected() {
        for bad in [
            "",
            "   ",
            "not-a-range",
            ">=",
            "1.2.3.4",
            ">=1.a",
            "^^1",
            "1 -",
            "||",
        ] {
            assert!(Range::parse(bad).is_err(), "{bad:?} should be invalid");
        }
    }
}
