//! Which files of a source tree go into its artifact: `.sourceignore` files,
//! `spec.ignore` and Flux's default exclusions, all in `.gitignore` syntax.
//!
//! Matching follows the semantics of Flux's `sourceignore` package (a port of
//! go-git's gitignore matcher), not git's own, because the same repository
//! must give the same artifact contents under Ferroflux as under Flux:
//!
//! - a pattern matches a path when it matches the path itself *or any of its
//!   ancestors* (so `deploy/` excludes everything below `deploy`);
//! - the last pattern that matches decides, and a negated pattern (`!x`)
//!   re-includes, even below an excluded directory;
//! - a pattern from `dir/.sourceignore` only applies below `dir`, anchored there;
//! - name globs use Go's `filepath.Match` syntax (`*`, `?`, `[a-z]`, `[^a-z]`,
//!   `\` escapes; braces are literal). A malformed glob never matches.
//!
//! Order of precedence, lowest first: VCS exclusions (always), the default
//! exclusions (only when `spec.ignore` holds no pattern: Flux documents that
//! `spec.ignore` overrides the defaults), `.sourceignore` files (the root's
//! first, then sub-directories depth first in name order; deeper files win),
//! then `spec.ignore`.
//!
//! Where Flux's code and documentation differ we follow the documentation:
//! Flux's code drops the default exclusions as soon as any `.sourceignore`
//! holds a pattern, while its spec says `.sourceignore` entries "may overrule"
//! the defaults (they can, with `!pattern`) and only `spec.ignore` replaces
//! them. `.sourceignore` symlinks are not followed (Flux follows them).

use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use ferroflux_gocompat::glob::Pattern as Glob;

/// Name of the ignore file looked up in every directory of a source tree.
pub const IGNORE_FILE: &str = ".sourceignore";

/// Version-control files, excluded whatever the other rules say (a later
/// negated pattern can still re-include one).
pub const EXCLUDE_VCS: &[&str] = &[".git/", ".gitignore", ".gitmodules", ".gitattributes"];

/// Default exclusions by file extension.
pub const EXCLUDE_EXT: &[&str] = &[
    "*.jpg", "*.jpeg", "*.gif", "*.png", "*.wmv", "*.flv", "*.tar.gz", "*.zip",
];

/// Default exclusions of CI configuration.
pub const EXCLUDE_CI: &[&str] = &[
    ".github/",
    ".circleci/",
    ".travis.yml",
    ".gitlab-ci.yml",
    "appveyor.yml",
    ".drone.yml",
    "cloudbuild.yaml",
    "codeship-services.yml",
    "codeship-steps.yml",
];

/// Default exclusions of CLI configuration and Flux v1 configuration.
pub const EXCLUDE_EXTRA: &[&str] = &["**/.goreleaser.yml", "**/.sops.yaml", "**/.flux.yaml"];

/// Largest `.sourceignore` file read. The file comes from an untrusted
/// repository; a bigger one is an error rather than an unbounded read.
pub const MAX_IGNORE_FILE_BYTES: u64 = 1024 * 1024;

/// Failure to load ignore rules from a source tree.
#[derive(Debug, thiserror::Error)]
pub enum IgnoreError {
    /// A directory or ignore file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The path that failed, relative to the source root.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An ignore file is larger than [`MAX_IGNORE_FILE_BYTES`].
    #[error("{path} is larger than {limit} bytes")]
    TooLarge {
        /// The file, relative to the source root.
        path: PathBuf,
        /// The limit in bytes.
        limit: u64,
    },
}

/// Matches one path component, as Go's `filepath.Match` would.
#[derive(Debug, Clone)]
enum NameMatcher {
    /// No glob characters: compare bytes (the common case, and exact for
    /// names that are not UTF-8).
    Literal(String),
    Glob(Glob),
    /// A malformed glob: Go reports an error, which Flux treats as no match.
    Never,
}

impl NameMatcher {
    fn new(glob: &str) -> Self {
        if !glob.contains(['*', '?', '[', '\\']) {
            return NameMatcher::Literal(glob.to_owned());
        }
        match Glob::new(glob) {
            Ok(g) => NameMatcher::Glob(g),
            Err(_) => NameMatcher::Never,
        }
    }

    fn matches(&self, name: &OsStr) -> bool {
        match self {
            NameMatcher::Literal(lit) => name.as_encoded_bytes() == lit.as_bytes(),
            NameMatcher::Glob(g) => g.is_match(&name.to_string_lossy()),
            NameMatcher::Never => false,
        }
    }
}

/// One element of a pattern that contains a `/`.
#[derive(Debug, Clone)]
enum Segment {
    /// Empty element (leading `/`): anchors, matches nothing by itself.
    Empty,
    /// `**`: zero or more directories.
    AnyDirs,
    /// `**` mixed with other characters: such a pattern never matches.
    Invalid,
    /// A name glob.
    Name(NameMatcher),
}

/// One parsed ignore pattern, scoped to the directory it was read from.
#[derive(Debug, Clone)]
struct Pattern {
    /// Path components of the directory whose `.sourceignore` held the
    /// pattern; empty for the root, defaults and `spec.ignore`.
    domain: Vec<OsString>,
    /// `!pattern`: re-include instead of exclude.
    inclusion: bool,
    /// Trailing `/`: the last component must be a directory.
    dir_only: bool,
    kind: PatternKind,
}

#[derive(Debug, Clone)]
enum PatternKind {
    /// No `/` in the pattern: matches a name at any depth.
    Name(NameMatcher),
    /// A `/` in the pattern: matched from the domain's root.
    Path(Vec<Segment>),
}

impl Pattern {
    fn parse(line: &str, domain: &[OsString]) -> Self {
        let (inclusion, mut p) = match line.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, line),
        };
        // Trailing spaces are insignificant unless escaped with a backslash.
        if !p.ends_with("\\ ") {
            p = p.trim_end_matches(' ');
        }
        let (dir_only, p) = match p.strip_suffix('/') {
            Some(rest) => (true, rest),
            None => (false, p),
        };
        let kind = if p.contains('/') {
            PatternKind::Path(
                p.split('/')
                    .map(|s| match s {
                        "" => Segment::Empty,
                        "**" => Segment::AnyDirs,
                        s if s.contains("**") => Segment::Invalid,
                        s => Segment::Name(NameMatcher::new(s)),
                    })
                    .collect(),
            )
        } else {
            PatternKind::Name(NameMatcher::new(p))
        };
        Pattern {
            domain: domain.to_vec(),
            inclusion,
            dir_only,
            kind,
        }
    }

    /// `Some(true)` to exclude, `Some(false)` to include, `None` if the
    /// pattern says nothing about the path.
    fn decide(&self, path: &[&OsStr], is_dir: bool) -> Option<bool> {
        if path.len() <= self.domain.len() {
            return None;
        }
        if !self
            .domain
            .iter()
            .zip(path)
            .all(|(d, p)| d.as_os_str() == *p)
        {
            return None;
        }
        let rest = &path[self.domain.len()..];
        let hit = match &self.kind {
            PatternKind::Name(m) => self.name_match(m, rest, is_dir),
            PatternKind::Path(segments) => self.path_match(segments, rest, is_dir),
        };
        hit.then_some(!self.inclusion)
    }

    /// A name pattern hits when any component matches; the first matching
    /// component decides (a directory-only pattern cannot hit the file itself).
    fn name_match(&self, m: &NameMatcher, rest: &[&OsStr], is_dir: bool) -> bool {
        let last = rest.len() - 1;
        for (i, name) in rest.iter().enumerate() {
            if m.matches(name) {
                return !(self.dir_only && !is_dir && i == last);
            }
        }
        false
    }

    /// A path pattern hits when its segments match a leading run of the
    /// path's components (so it also covers everything below), with `**`
    /// skipping to the first component that matches the next segment.
    fn path_match(&self, segments: &[Segment], rest: &[&OsStr], is_dir: bool) -> bool {
        let mut path = rest;
        let mut matched = false;
        let mut traverse = false;
        for (i, seg) in segments.iter().enumerate() {
            let m = match seg {
                Segment::Empty => {
                    traverse = false;
                    continue;
                }
                Segment::AnyDirs if i == segments.len() - 1 => break,
                Segment::AnyDirs => {
                    traverse = true;
                    continue;
                }
                Segment::Invalid => return false,
                Segment::Name(m) => m,
            };
            if path.is_empty() {
                return false;
            }
            if traverse {
                traverse = false;
                while let Some((first, tail)) = path.split_first() {
                    path = tail;
                    if m.matches(first) {
                        matched = true;
                        break;
                    }
                    if path.is_empty() {
                        matched = false;
                    }
                }
            } else {
                if !m.matches(path[0]) {
                    return false;
                }
                matched = true;
                path = &path[1..];
            }
        }
        // A directory-only pattern that consumed the whole path of a file.
        if matched && self.dir_only && !is_dir && path.is_empty() {
            return false;
        }
        matched
    }
}

/// The ignore rules of one source tree.
#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    /// Lowest precedence first.
    patterns: Vec<Pattern>,
}

impl IgnoreRules {
    /// Rules that ignore nothing.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The VCS exclusions plus Flux's default exclusions: what applies to a
    /// tree with no `.sourceignore` and no `spec.ignore`.
    pub fn defaults() -> Self {
        let mut rules = Self::empty();
        rules.extend_from(EXCLUDE_VCS.iter().copied(), &[]);
        rules.extend_from(default_patterns(), &[]);
        rules
    }

    /// Loads the rules for the tree at `root`: VCS exclusions, the defaults
    /// unless `spec_ignore` holds at least one pattern, every `.sourceignore`
    /// in the tree, then `spec_ignore`.
    ///
    /// `.sourceignore` files that are not regular files (symlinks included)
    /// are skipped: following a link could read outside the tree.
    pub fn load(root: &Path, spec_ignore: Option<&str>) -> Result<Self, IgnoreError> {
        let spec_lines: Vec<&str> = spec_ignore.map(pattern_lines).unwrap_or_default();
        let mut rules = Self::empty();
        rules.extend_from(EXCLUDE_VCS.iter().copied(), &[]);
        if spec_lines.is_empty() {
            rules.extend_from(default_patterns(), &[]);
        }
        rules.load_ignore_files(root)?;
        rules.extend_from(spec_lines, &[]);
        Ok(rules)
    }

    /// Adds patterns (text in `.gitignore` format) that apply below the
    /// directory `domain` (components relative to the root; empty for the
    /// root), with higher precedence than the rules already present.
    pub fn add_patterns(&mut self, text: &str, domain: &Path) {
        let domain = normal_components(domain);
        let domain: Vec<OsString> = domain.into_iter().map(OsStr::to_os_string).collect();
        self.extend_from(pattern_lines(text), &domain);
    }

    /// Whether `rel_path` (relative to the tree root) is excluded from the
    /// artifact. `is_dir` tells whether the path itself is a directory.
    pub fn is_ignored(&self, rel_path: &Path, is_dir: bool) -> bool {
        let comps = normal_components(rel_path);
        self.patterns
            .iter()
            .rev()
            .find_map(|p| p.decide(&comps, is_dir))
            .unwrap_or(false)
    }

    /// Whether any rule re-includes paths (`!pattern`). Without one, nothing
    /// below an ignored directory can be included, so a walker may skip it.
    pub fn has_negations(&self) -> bool {
        self.patterns.iter().any(|p| p.inclusion)
    }

    fn extend_from<'a>(&mut self, lines: impl IntoIterator<Item = &'a str>, domain: &[OsString]) {
        self.patterns
            .extend(lines.into_iter().map(|l| Pattern::parse(l, domain)));
    }

    /// Reads `.sourceignore` in `root` and in every directory below it except
    /// `.git` ones, parents before children, siblings in name order.
    fn load_ignore_files(&mut self, root: &Path) -> Result<(), IgnoreError> {
        let mut stack: Vec<PathBuf> = vec![PathBuf::new()];
        while let Some(rel) = stack.pop() {
            let dir = root.join(&rel);
            if let Some(text) = read_ignore_file(&dir.join(IGNORE_FILE), &rel.join(IGNORE_FILE))? {
                let domain: Vec<OsString> = normal_components(&rel)
                    .into_iter()
                    .map(OsStr::to_os_string)
                    .collect();
                self.extend_from(pattern_lines(&text), &domain);
            }
            let io_err = |source| IgnoreError::Io {
                path: rel.clone(),
                source,
            };
            let mut subdirs = Vec::new();
            for entry in std::fs::read_dir(&dir).map_err(io_err)? {
                let entry = entry.map_err(io_err)?;
                // DirEntry::file_type does not follow symlinks.
                if entry.file_type().map_err(io_err)?.is_dir() && entry.file_name() != ".git" {
                    subdirs.push(entry.file_name());
                }
            }
            subdirs.sort();
            stack.extend(subdirs.into_iter().rev().map(|name| rel.join(name)));
        }
        Ok(())
    }
}

fn default_patterns() -> impl Iterator<Item = &'static str> {
    EXCLUDE_EXT
        .iter()
        .chain(EXCLUDE_CI)
        .chain(EXCLUDE_EXTRA)
        .copied()
}

/// The pattern lines of an ignore text: comments (`#` first) and blank
/// lines dropped, a trailing `\r` removed.
fn pattern_lines(text: &str) -> Vec<&str> {
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .collect()
}

fn normal_components(path: &Path) -> Vec<&OsStr> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name),
            _ => None,
        })
        .collect()
}

/// Reads an ignore file if it exists as a regular file.
fn read_ignore_file(path: &Path, rel: &Path) -> Result<Option<String>, IgnoreError> {
    let io_err = |source| IgnoreError::Io {
        path: rel.to_path_buf(),
        source,
    };
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(e)),
    };
    if !meta.is_file() {
        return Ok(None);
    }
    let too_large = || IgnoreError::TooLarge {
        path: rel.to_path_buf(),
        limit: MAX_IGNORE_FILE_BYTES,
    };
    if meta.len() > MAX_IGNORE_FILE_BYTES {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(io_err)?
        .take(MAX_IGNORE_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    if bytes.len() as u64 > MAX_IGNORE_FILE_BYTES {
        return Err(too_large());
    }
    Ok(Some(String::from_utf8_lossy(&bytes).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn ignored(rules: &IgnoreRules, path: &str) -> bool {
        let is_dir = path.ends_with('/');
        rules.is_ignored(Path::new(path.trim_end_matches('/')), is_dir)
    }

    fn rules_from(text: &str) -> IgnoreRules {
        let mut rules = IgnoreRules::empty();
        rules.add_patterns(text, Path::new(""));
        rules
    }

    #[test]
    fn defaults_exclude_vcs_ci_and_binaries() {
        let r = IgnoreRules::defaults();
        for p in [
            ".git/",
            ".git/config",
            "sub/.git/HEAD",
            ".gitignore",
            "a/.gitmodules",
            ".gitattributes",
            "logo.png",
            "docs/img/a.JPG.jpg",
            "release.tar.gz",
            "x.zip",
            ".github/workflows/ci.yaml",
            "nested/.circleci/config.yml",
            ".travis.yml",
            ".gitlab-ci.yml",
            "appveyor.yml",
            ".drone.yml",
            "cloudbuild.yaml",
            "codeship-services.yml",
            "codeship-steps.yml",
            ".goreleaser.yml",
            "deep/er/.sops.yaml",
            "x/.flux.yaml",
        ] {
            assert!(ignored(&r, p), "{p} should be ignored");
        }
        for p in [
            "deploy/app.yaml",
            "kustomization.yaml",
            "README.md",
            "logo.svg",
            "a.tar",
            // `.git/` is directory-only: a submodule's `.git` file stays.
            ".git",
            ".github",
        ] {
            assert!(!ignored(&r, p), "{p} should be kept");
        }
    }

    #[test]
    fn doc_example_include_only_deploy() {
        // The `spec.ignore` example from Flux's GitRepository spec.
        let r = rules_from(
            "# exclude all\n/*\n# include deploy dir\n!/deploy\n\
             # exclude file extensions from deploy dir\n/deploy/**/*.md\n/deploy/**/*.txt\n",
        );
        assert!(ignored(&r, "README.md"));
        assert!(ignored(&r, "src/"));
        assert!(ignored(&r, "src/main.rs"));
        assert!(!ignored(&r, "deploy/"));
        assert!(!ignored(&r, "deploy/app.yaml"));
        assert!(!ignored(&r, "deploy/base/app.yaml"));
        assert!(ignored(&r, "deploy/base/notes.md"));
        assert!(ignored(&r, "deploy/x/y/z.txt"));
    }

    #[test]
    fn last_match_wins_and_negation_reaches_below_excluded_dirs() {
        let r = rules_from("secrets/\n!secrets/public.yaml\n");
        assert!(ignored(&r, "secrets/"));
        assert!(ignored(&r, "secrets/key.yaml"));
        assert!(!ignored(&r, "secrets/public.yaml"));
        let r = rules_from("!keep.yaml\n*.yaml\n");
        assert!(ignored(&r, "keep.yaml"));
    }

    #[test]
    fn anchoring_dir_only_and_globs() {
        let r = rules_from("/top.txt\nbuild/\ndocs/*.md\nfile?.txt\n[abc]x.yaml\n[^abc]y.yaml\n");
        assert!(ignored(&r, "top.txt"));
        assert!(!ignored(&r, "sub/top.txt"));
        assert!(ignored(&r, "build/"));
        assert!(ignored(&r, "a/build/out.bin"));
        assert!(
            !ignored(&r, "build"),
            "a file named build is not a directory"
        );
        assert!(ignored(&r, "docs/a.md"));
        assert!(!ignored(&r, "sub/docs/a.md"), "a slash anchors the pattern");
        assert!(ignored(&r, "file1.txt"));
        assert!(!ignored(&r, "file12.txt"));
        assert!(ignored(&r, "bx.yaml"));
        assert!(!ignored(&r, "dx.yaml"));
        assert!(ignored(&r, "dy.yaml"));
        assert!(!ignored(&r, "ay.yaml"));
    }

    #[test]
    fn go_glob_syntax_details() {
        // Braces are literal in Go's filepath.Match.
        let r = rules_from("*.{yaml,yml}\n");
        assert!(!ignored(&r, "a.yaml"));
        assert!(ignored(&r, "a.{yaml,yml}"));
        // Escapes, malformed classes, `**` inside a name segment.
        let r = rules_from("\\*.txt\n[z-a].txt\n[\n/a/b**/c\n");
        assert!(ignored(&r, "*.txt"));
        assert!(!ignored(&r, "x.txt"));
        assert!(!ignored(&r, "["));
        assert!(!ignored(&r, "a/bb/c"));
        // Trailing spaces trimmed unless escaped; CRLF line ends.
        let r = rules_from("spaced   \r\nkeep\\ \r\n");
        assert!(ignored(&r, "spaced"));
        assert!(ignored(&r, "keep "));
        assert!(!ignored(&r, "keep"));
        assert!(Glob::new("a[-]").is_err());
        assert!(Glob::new("a\\").is_err());
        assert!(Glob::new("[\\]]").is_ok());
    }

    #[test]
    fn double_star_forms() {
        let r = rules_from("**/foo\nbar/**\na/**/b\n");
        assert!(ignored(&r, "foo"));
        assert!(ignored(&r, "x/y/foo"));
        assert!(ignored(&r, "bar/x"));
        assert!(ignored(&r, "a/b"));
        assert!(ignored(&r, "a/x/y/b"));
        assert!(!ignored(&r, "x/a/b"));
    }

    #[test]
    fn load_reads_nested_sourceignore_relative_to_its_dir() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("apps/dev")).unwrap();
        fs::create_dir_all(root.join(".git")).unwrap();
        fs::write(root.join(".sourceignore"), "*.md\n").unwrap();
        fs::write(root.join("apps/.sourceignore"), "/dev\n!README.md\n").unwrap();
        // Ignore files inside .git are never read.
        fs::write(root.join(".git/.sourceignore"), "*.yaml\n").unwrap();
        let r = IgnoreRules::load(root, None).unwrap();
        assert!(ignored(&r, "README.md"));
        assert!(!ignored(&r, "apps/README.md"), "deeper file overrides");
        assert!(ignored(&r, "apps/dev/"));
        assert!(ignored(&r, "apps/dev/app.yaml"));
        assert!(!ignored(&r, "dev/app.yaml"), "anchored to apps/");
        assert!(!ignored(&r, "apps/prod.yaml"));
        assert!(ignored(&r, "logo.png"), "defaults still apply");
        assert!(ignored(&r, ".git/config"));
    }

    #[test]
    fn spec_ignore_replaces_defaults_but_not_vcs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join(".sourceignore"), "*.txt\n").unwrap();
        let r = IgnoreRules::load(root, Some("*.yaml\n!important.txt\n")).unwrap();
        assert!(!ignored(&r, "logo.png"), "defaults replaced");
        assert!(!ignored(&r, ".github/workflows/ci.yml"));
        assert!(ignored(&r, ".git/HEAD"), "VCS always excluded");
        assert!(ignored(&r, "a.yaml"));
        assert!(ignored(&r, "notes.txt"), ".sourceignore still applies");
        assert!(!ignored(&r, "important.txt"), "spec.ignore wins");
        // A spec.ignore with only comments holds no rule: defaults stay.
        let r = IgnoreRules::load(root, Some("# nothing\n\n")).unwrap();
        assert!(ignored(&r, "logo.png"));
    }

    #[test]
    fn sourceignore_symlink_is_not_followed_and_size_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let outside = tempfile::NamedTempFile::new().unwrap();
        fs::write(outside.path(), "*.yaml\n").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join(".sourceignore")).unwrap();
        let r = IgnoreRules::load(root, None).unwrap();
        assert!(!ignored(&r, "a.yaml"));

        fs::remove_file(root.join(".sourceignore")).unwrap();
        let big = vec![b'a'; (MAX_IGNORE_FILE_BYTES + 1) as usize];
        fs::write(root.join(".sourceignore"), big).unwrap();
        let err = IgnoreRules::load(root, None).unwrap_err();
        assert!(matches!(err, IgnoreError::TooLarge { .. }), "{err}");
    }

    #[test]
    fn root_itself_is_never_ignored() {
        let r = rules_from("*\n");
        assert!(!r.is_ignored(Path::new(""), true));
        assert!(r.is_ignored(Path::new("a"), false));
        assert!(!r.has_negations());
        assert!(rules_from("!a\n").has_negations());
    }
}
