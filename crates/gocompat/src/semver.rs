//! Masterminds/semver v3: the version and constraint rules Helm uses for chart
//! versions (`helm install --version`, dependency ranges) and Sprig exposes to
//! templates (`semver`, `semverCompare`).
//!
//! Written here rather than taken from the `semver` crate because the rules
//! differ from Cargo's: Masterminds accepts `v1`, `1.2` (missing parts are 0)
//! and a bare `1.2.3` constraint means `=1.2.3` (Cargo: `^1.2.3`); it has `x`
//! wildcards, hyphen ranges (`1.2 - 1.4.5`), `||` alternatives and its own
//! prerelease admission rule.
//!
//! ```
//! use ferroflux_gocompat::semver::{Constraints, Version};
//! let c = Constraints::parse(">= 1.2, < 2.0.0 || ^3.x").unwrap();
//! assert!(c.check(&Version::parse("v1.4").unwrap()));
//! assert!(!c.check(&Version::parse("2.1.0").unwrap()));
//! assert_eq!(Version::parse("v1.2").unwrap().to_string(), "1.2.0");
//! ```

use std::cmp::Ordering;
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

/// Why a version or a constraint did not parse; the texts are Masterminds'.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SemverError {
    /// Not a version at all (`ErrInvalidSemVer`).
    #[error("invalid semantic version")]
    Invalid,
    /// A numeric segment does not fit in a `u64`.
    #[error("error parsing version segment: strconv.ParseUint: parsing {}: value out of range", crate::quote(.0))]
    SegmentOutOfRange(String),
    /// A numeric prerelease identifier with a leading zero (`1.0.0-01`).
    #[error("version segment starts with 0")]
    SegmentStartsWithZero,
    /// A constraint that does not have the constraint grammar.
    #[error("improper constraint: {}", crate::quote(.0))]
    ImproperConstraint(String),
    /// A constraint whose version part is not a version.
    #[error("constraint parser error")]
    ConstraintParser,
}

/// A parsed version (Masterminds' `*semver.Version`, as `NewVersion` reads it).
///
/// Ordering and equality follow Masterminds' `Compare`: major, minor, patch,
/// then prerelease (a release sorts after its prereleases; numeric identifiers
/// compare as numbers and before alphanumeric ones); build metadata is ignored.
#[derive(Debug, Clone)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    metadata: String,
    original: String,
}

static VERSION_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$",
    )
    .expect("version regex")
});

impl Version {
    /// Parses `s` leniently as Masterminds' `NewVersion` does: an optional `v`,
    /// missing minor and patch read as 0, then `-prerelease` and `+metadata`.
    pub fn parse(s: &str) -> Result<Version, SemverError> {
        let m = VERSION_RE.captures(s).ok_or(SemverError::Invalid)?;
        let num = |i: usize| -> Result<u64, SemverError> {
            let Some(x) = m.get(i) else { return Ok(0) };
            let d = x.as_str().trim_start_matches('.');
            d.parse::<u64>()
                .map_err(|_| SemverError::SegmentOutOfRange(d.to_string()))
        };
        let (major, minor, patch) = (num(1)?, num(2)?, num(3)?);
        let pre = m.get(5).map_or("", |x| x.as_str()).to_string();
        for part in pre.split('.') {
            if part.len() > 1 && part.starts_with('0') && part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(SemverError::SegmentStartsWithZero);
            }
        }
        Ok(Version {
            major,
            minor,
            patch,
            pre,
            metadata: m.get(8).map_or("", |x| x.as_str()).to_string(),
            original: s.to_string(),
        })
    }

    /// A version from its parts (Masterminds' `New`); `original` is its
    /// canonical text.
    pub fn new(major: u64, minor: u64, patch: u64, pre: &str, metadata: &str) -> Version {
        let mut v = Version {
            major,
            minor,
            patch,
            pre: pre.to_string(),
            metadata: metadata.to_string(),
            original: String::new(),
        };
        v.original = v.to_string();
        v
    }

    /// The major number.
    pub fn major(&self) -> u64 {
        self.major
    }
    /// The minor number (0 when the text had none).
    pub fn minor(&self) -> u64 {
        self.minor
    }
    /// The patch number (0 when the text had none).
    pub fn patch(&self) -> u64 {
        self.patch
    }
    /// The prerelease without its `-` (empty for a release).
    pub fn prerelease(&self) -> &str {
        &self.pre
    }
    /// The build metadata without its `+`.
    pub fn metadata(&self) -> &str {
        &self.metadata
    }
    /// The text the version was parsed from (`v1.2`).
    pub fn original(&self) -> &str {
        &self.original
    }

    /// Masterminds' `Compare`: `-1`, `0` or `1` as an [`Ordering`].
    pub fn compare(&self, o: &Version) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            .then_with(|| compare_pre(&self.pre, &o.pre))
    }

    /// `IncPatch`: a prerelease is dropped and the patch kept
    /// (`1.2.3-rc1` → `1.2.3`); a release gets the next patch. Metadata is
    /// dropped and a `v` prefix of the original text kept, as Masterminds does.
    pub fn inc_patch(&self) -> Version {
        let patch = if self.pre.is_empty() {
            self.patch + 1
        } else {
            self.patch
        };
        self.next(self.major, self.minor, patch)
    }
    /// `IncMinor`: the next minor, patch 0, no prerelease or metadata.
    pub fn inc_minor(&self) -> Version {
        self.next(self.major, self.minor + 1, 0)
    }
    /// `IncMajor`: the next major, minor and patch 0.
    pub fn inc_major(&self) -> Version {
        self.next(self.major + 1, 0, 0)
    }

    fn next(&self, major: u64, minor: u64, patch: u64) -> Version {
        let mut v = Version::new(major, minor, patch, "", "");
        if self.original.starts_with('v') {
            v.original.insert(0, 'v');
        }
        v
    }
}

/// Masterminds' `String()`: `major.minor.patch[-pre][+metadata]`, without a `v`.
impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

impl PartialEq for Version {
    fn eq(&self, o: &Version) -> bool {
        self.compare(o) == Ordering::Equal
    }
}
impl Eq for Version {}
impl PartialOrd for Version {
    fn partial_cmp(&self, o: &Version) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Version {
    fn cmp(&self, o: &Version) -> Ordering {
        self.compare(o)
    }
}

impl std::str::FromStr for Version {
    type Err = SemverError;
    fn from_str(s: &str) -> Result<Version, SemverError> {
        Version::parse(s)
    }
}

fn compare_pre_part(a: &str, b: &str) -> Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        _ => a.cmp(b),
    }
}

fn compare_pre(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    if a.is_empty() {
        return Ordering::Greater;
    }
    if b.is_empty() {
        return Ordering::Less;
    }
    let ap: Vec<&str> = a.split('.').collect();
    let bp: Vec<&str> = b.split('.').collect();
    for (x, y) in ap.iter().zip(bp.iter()) {
        let c = compare_pre_part(x, y);
        if c != Ordering::Equal {
            return c;
        }
    }
    ap.len().cmp(&bp.len())
}

/// One comparison (`>=1.2.x`).
#[derive(Debug, Clone)]
struct Constraint {
    op: String,
    con: Version,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

struct Res {
    constraint: Regex,
    range: Regex,
    find: Regex,
    valid: Regex,
}

static RES: LazyLock<Res> = LazyLock::new(|| Res {
    constraint: Regex::new(&format!(r"^\s*({OPS})\s*({CV})\s*$")).expect("re"),
    range: Regex::new(&format!(r"\s*({CV})\s+-\s+({CV})\s*")).expect("re"),
    find: Regex::new(&format!(r"({OPS})\s*({CV})")).expect("re"),
    valid: Regex::new(&format!(
        r"^(\s*({OPS})\s*({CV})\s*)((?:\s+|,\s*)({OPS})\s*({CV})\s*)*$"
    ))
    .expect("re"),
});

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

fn parse_constraint(c: &str) -> Result<Constraint, SemverError> {
    if c.is_empty() {
        return Ok(Constraint {
            op: String::new(),
            con: Version::new(0, 0, 0, "", ""),
            minor_dirty: false,
            patch_dirty: false,
            dirty: true,
        });
    }
    let m = RES
        .constraint
        .captures(c)
        .ok_or_else(|| SemverError::ImproperConstraint(c.to_string()))?;
    let g = |i: usize| m.get(i).map_or("", |x| x.as_str());
    let (mut minor_dirty, mut patch_dirty, mut dirty) = (false, false, false);
    let mut ver = g(2).to_string();
    if is_x(g(3)) || g(3).is_empty() {
        ver = format!("0.0.0{}", g(6));
        dirty = true;
    } else if is_x(g(4).trim_start_matches('.')) || g(4).is_empty() {
        minor_dirty = true;
        dirty = true;
        ver = format!("{}.0.0{}", g(3), g(6));
    } else if is_x(g(5).trim_start_matches('.')) || g(5).is_empty() {
        dirty = true;
        patch_dirty = true;
        ver = format!("{}{}.0{}", g(3), g(4), g(6));
    }
    let con = Version::parse(&ver).map_err(|_| SemverError::ConstraintParser)?;
    Ok(Constraint {
        op: g(1).to_string(),
        con,
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

fn tilde(v: &Version, c: &Constraint) -> bool {
    if v.compare(&c.con) == Ordering::Less {
        return false;
    }
    if c.con.major == 0 && c.con.minor == 0 && c.con.patch == 0 && !c.minor_dirty && !c.patch_dirty
    {
        return true;
    }
    if v.major != c.con.major {
        return false;
    }
    v.minor == c.con.minor || c.minor_dirty
}

fn check_one(v: &Version, c: &Constraint, include_pre: bool) -> bool {
    if !v.pre.is_empty() && !include_pre {
        return false;
    }
    let cmp = v.compare(&c.con);
    match c.op.as_str() {
        "!=" => {
            if c.dirty {
                if c.con.major != v.major {
                    return true;
                }
                if c.con.minor != v.minor && !c.minor_dirty {
                    return true;
                } else if c.minor_dirty {
                    return false;
                } else if c.con.patch != v.patch && !c.patch_dirty {
                    return true;
                } else if c.patch_dirty {
                    if !v.pre.is_empty() || !c.con.pre.is_empty() {
                        return compare_pre(&v.pre, &c.con.pre) != Ordering::Equal;
                    }
                    return false;
                }
            }
            cmp != Ordering::Equal
        }
        ">" => {
            if !c.dirty {
                return cmp == Ordering::Greater;
            }
            if v.major > c.con.major {
                true
            } else if v.major < c.con.major || c.minor_dirty {
                false
            } else if c.patch_dirty {
                v.minor > c.con.minor
            } else {
                cmp == Ordering::Greater
            }
        }
        "<" => cmp == Ordering::Less,
        ">=" | "=>" => cmp != Ordering::Less,
        "<=" | "=<" => {
            if !c.dirty {
                return cmp != Ordering::Greater;
            }
            !(v.major > c.con.major
                || (v.major == c.con.major && v.minor > c.con.minor && !c.minor_dirty))
        }
        "~" | "~>" => tilde(v, c),
        "^" => {
            if cmp == Ordering::Less {
                return false;
            }
            if c.con.major > 0 || c.minor_dirty {
                return v.major == c.con.major;
            }
            if v.major > 0 {
                return false;
            }
            if c.con.minor > 0 || c.patch_dirty {
                return v.minor == c.con.minor;
            }
            if v.minor > 0 {
                return false;
            }
            v.patch == c.con.patch
        }
        // "" and "=": a wildcard version (`1.2`, `1.x`) means `~`
        _ => {
            if c.dirty {
                tilde(v, c)
            } else {
                cmp == Ordering::Equal
            }
        }
    }
}

/// A parsed constraint (Masterminds' `*semver.Constraints`): `||`-separated
/// groups of comma- or space-separated comparisons, each group true when all of
/// its comparisons are.
///
/// Operators: `=` (or none), `!=`, `>`, `<`, `>=`, `<=`, `~` (same minor;
/// `~1` same major), `^` (same major; for 0.x same minor, for 0.0.x same
/// patch), wildcards `x`/`X`/`*` or missing parts (`1.2`, `1.x`), and hyphen
/// ranges `a - b` (`>= a, <= b`). A prerelease version satisfies a group only
/// when some comparison of that group names a prerelease.
#[derive(Debug, Clone)]
pub struct Constraints {
    groups: Vec<Vec<Constraint>>,
    original: String,
}

impl Constraints {
    /// Parses `c` as Masterminds' `NewConstraint` does.
    pub fn parse(c: &str) -> Result<Constraints, SemverError> {
        let expanded = RES.range.replace_all(c, ">= ${1}, <= ${11} ").to_string();
        let mut groups = vec![];
        for seg in expanded.split("||") {
            if !RES.valid.is_match(seg) {
                return Err(SemverError::ImproperConstraint(seg.to_string()));
            }
            let mut cs: Vec<&str> = RES.find.find_iter(seg).map(|m| m.as_str()).collect();
            if cs.is_empty() {
                cs.push(seg);
            }
            groups.push(
                cs.into_iter()
                    .map(parse_constraint)
                    .collect::<Result<Vec<_>, _>>()?,
            );
        }
        Ok(Constraints {
            groups,
            original: c.to_string(),
        })
    }

    /// Whether `v` satisfies the constraint.
    pub fn check(&self, v: &Version) -> bool {
        self.groups.iter().any(|and| {
            let pre = and.iter().any(|c| !c.con.pre.is_empty());
            and.iter().all(|c| check_one(v, c, pre))
        })
    }

    /// The newest of `versions` that satisfies the constraint (how Helm picks a
    /// chart version from a repository index).
    pub fn latest<'a, I>(&self, versions: I) -> Option<&'a Version>
    where
        I: IntoIterator<Item = &'a Version>,
    {
        versions.into_iter().filter(|v| self.check(v)).max()
    }
}

/// The text the constraint was parsed from.
impl fmt::Display for Constraints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).unwrap()
    }

    fn sat(c: &str, ver: &str) -> bool {
        Constraints::parse(c).unwrap().check(&v(ver))
    }

    #[test]
    fn parses_leniently() {
        let x = v("v1.2");
        assert_eq!((x.major(), x.minor(), x.patch()), (1, 2, 0));
        assert_eq!(x.to_string(), "1.2.0");
        assert_eq!(x.original(), "v1.2");
        let y = v("1.2.3-beta.1+build.5");
        assert_eq!(y.prerelease(), "beta.1");
        assert_eq!(y.metadata(), "build.5");
        assert_eq!(y.to_string(), "1.2.3-beta.1+build.5");
        assert_eq!(v("3").to_string(), "3.0.0");
    }

    #[test]
    fn rejects_with_masterminds_messages() {
        for bad in ["", "1.2.3.4", "a.b.c", "1.2.3-", "V1.2.3", " 1.2.3", "1..2"] {
            assert_eq!(
                Version::parse(bad).unwrap_err(),
                SemverError::Invalid,
                "{bad:?}"
            );
        }
        assert_eq!(
            Version::parse("1.0.0-01").unwrap_err().to_string(),
            "version segment starts with 0"
        );
        assert_eq!(
            Version::parse("99999999999999999999.0.0")
                .unwrap_err()
                .to_string(),
            "error parsing version segment: strconv.ParseUint: parsing \"99999999999999999999\": value out of range"
        );
        assert_eq!(
            Constraints::parse("foo").unwrap_err().to_string(),
            "improper constraint: \"foo\""
        );
    }

    #[test]
    fn orders_prereleases_before_releases() {
        let mut vs: Vec<Version> = [
            "1.0.0",
            "1.0.0-rc.1",
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta.11",
            "1.0.0-beta.2",
            "0.9.9",
            "1.0.0-beta",
            "v1.10",
        ]
        .iter()
        .map(|s| v(s))
        .collect();
        vs.sort();
        let got: Vec<String> = vs.iter().map(|x| x.to_string()).collect();
        assert_eq!(
            got,
            [
                "0.9.9",
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-alpha.beta",
                "1.0.0-beta",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0",
                "1.10.0",
            ]
        );
        // build metadata does not take part in ordering
        assert_eq!(v("1.0.0+a"), v("1.0.0+b"));
    }

    #[test]
    fn bare_version_is_exact_and_wildcards_are_tilde() {
        assert!(sat("1.2.3", "1.2.3"));
        assert!(!sat("1.2.3", "1.2.4"));
        assert!(sat("1.2", "1.2.9"));
        assert!(!sat("1.2", "1.3.0"));
        assert!(sat("1.x", "1.9.0"));
        assert!(!sat("1.x", "2.0.0"));
        assert!(sat("*", "5.0.0"));
        assert!(Constraints::parse("").is_err());
    }

    #[test]
    fn caret_and_tilde() {
        assert!(sat("^1.2.3", "1.9.0"));
        assert!(!sat("^1.2.3", "2.0.0"));
        assert!(!sat("^1.2.3", "1.2.2"));
        assert!(sat("^0.2.3", "0.2.9"));
        assert!(!sat("^0.2.3", "0.3.0"));
        assert!(sat("^0.0.3", "0.0.3"));
        assert!(!sat("^0.0.3", "0.0.4"));
        assert!(sat("~1.2.3", "1.2.9"));
        assert!(!sat("~1.2.3", "1.3.0"));
        assert!(sat("~1", "1.9.0"));
        assert!(sat("~>1.2", "1.2.5"));
    }

    #[test]
    fn comparisons_ranges_and_alternatives() {
        assert!(sat(">= 1.2, < 2.0.0", "1.5.0"));
        assert!(!sat(">= 1.2, < 2.0.0", "2.0.0"));
        assert!(sat(">=1.2 <2", "1.9.9"));
        assert!(sat("1.2 - 1.4.5", "1.4.5"));
        assert!(!sat("1.2 - 1.4.5", "1.4.6"));
        assert!(!sat("1.2 - 1.4.5", "1.1.9"));
        assert!(sat("<1 || >=3", "3.1.0"));
        assert!(sat("<1 || >=3", "0.5.0"));
        assert!(!sat("<1 || >=3", "2.0.0"));
        assert!(sat("!=1.2.3", "1.2.4"));
        assert!(!sat("!=1.2.3", "1.2.3"));
        assert!(!sat("!=1.2.x", "1.2.7"));
        assert!(sat("!=1.2.x", "1.3.0"));
        assert!(sat(">1.2.x", "1.3.0"));
        assert!(!sat(">1.2.x", "1.2.9"));
        assert!(sat("<=1.2.x", "1.2.9"));
        assert!(!sat("<=1.2.x", "1.3.0"));
    }

    #[test]
    fn prereleases_need_a_prerelease_constraint() {
        assert!(!sat(">=1.0.0", "1.2.0-rc.1"));
        assert!(sat(">=1.0.0-0", "1.2.0-rc.1"));
        assert!(sat(">=1.2.0-alpha, <2", "1.2.0-rc.1"));
        assert!(!sat(">=1.2.0-alpha || <2", "1.1.0-rc.1"));
    }

    #[test]
    fn latest_picks_newest_match() {
        let vs: Vec<Version> = ["1.0.0", "1.4.2", "2.0.0", "1.5.0-rc.1", "1.4.10"]
            .iter()
            .map(|s| v(s))
            .collect();
        let c = Constraints::parse("^1.0").unwrap();
        assert_eq!(c.latest(&vs).unwrap().to_string(), "1.4.10");
        assert!(Constraints::parse(">3").unwrap().latest(&vs).is_none());
        assert_eq!(c.to_string(), "^1.0");
    }

    #[test]
    fn increments() {
        assert_eq!(v("1.2.3-rc1").inc_patch().to_string(), "1.2.3");
        assert_eq!(v("1.2.3").inc_patch().to_string(), "1.2.4");
        assert_eq!(v("1.2.3+m").inc_minor().to_string(), "1.3.0");
        assert_eq!(v("1.2.3").inc_major().to_string(), "2.0.0");
        assert_eq!(v("v1.2.3").inc_major().original(), "v2.0.0");
    }
}
