//! Go's `path` package on slash-separated paths: `Clean`, `Base`, `Dir`,
//! `Ext`, `IsAbs`. Sprig's `base`/`dir`/`ext`/`clean`/`isAbs` (and the `os*`
//! forms, which are the same on Linux) and Helm's archive names use them.

/// `path.Clean`: the shortest equivalent path by purely lexical processing
/// (one slash between elements, no `.`, `..` resolved where an element
/// precedes it, `..` dropped at the root); the empty path is `.`.
pub fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for elem in p.split('/') {
        match elem {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            e => parts.push(e),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// `path.Base`: the last element, trailing slashes removed; `.` for the
/// empty path and `/` for a path of slashes only.
pub fn base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    match trimmed.rfind('/') {
        Some(i) => trimmed[i + 1..].into(),
        None => trimmed.into(),
    }
}

/// `path.Dir`: everything but the last element, cleaned.
pub fn dir(p: &str) -> String {
    let cut = p.rfind('/').map_or(0, |i| i + 1);
    clean(&p[..cut])
}

/// `path.Ext`: the suffix from the last `.` of the last element, or empty.
pub fn ext(p: &str) -> String {
    for (i, c) in p.char_indices().rev() {
        match c {
            '/' => break,
            '.' => return p[i..].into(),
            _ => {}
        }
    }
    String::new()
}

/// `path.IsAbs`: whether the path starts with a slash.
pub fn is_abs(p: &str) -> bool {
    p.starts_with('/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_follows_go() {
        // Go's own path.Clean test table, by behaviour.
        for (input, want) in [
            ("", "."),
            ("abc", "abc"),
            ("abc/def", "abc/def"),
            ("a/b/c", "a/b/c"),
            (".", "."),
            ("..", ".."),
            ("../..", "../.."),
            ("../../abc", "../../abc"),
            ("/abc", "/abc"),
            ("/", "/"),
            ("abc/", "abc"),
            ("abc/def/", "abc/def"),
            ("/abc/", "/abc"),
            ("abc//def//ghi", "abc/def/ghi"),
            ("//abc", "/abc"),
            ("///abc", "/abc"),
            ("abc/./def", "abc/def"),
            ("/./abc/def", "/abc/def"),
            ("abc/.", "abc"),
            ("abc/def/ghi/../jkl", "abc/def/jkl"),
            ("abc/def/../ghi/../jkl", "abc/jkl"),
            ("abc/def/..", "abc"),
            ("abc/def/../..", "."),
            ("/abc/def/../..", "/"),
            ("abc/def/../../..", ".."),
            ("/abc/def/../../..", "/"),
            ("abc/def/../../../ghi/jkl/../../../mno", "../../mno"),
            ("abc/./../def", "def"),
            ("abc//./../def", "def"),
            ("abc/../../././../def", "../../def"),
        ] {
            assert_eq!(clean(input), want, "clean({input:?})");
        }
    }

    #[test]
    fn base_dir_ext_follow_go() {
        for (input, b, d, e) in [
            ("", ".", ".", ""),
            (".", ".", ".", "."),
            ("/.", ".", "/", "."),
            (".", ".", ".", "."),
            ("////", "/", "/", ""),
            ("x/", "x", "x", ""),
            ("abc", "abc", ".", ""),
            ("abc/def", "def", "abc", ""),
            ("a/b/.x", ".x", "a/b", ".x"),
            ("a/b/c.", "c.", "a/b", "."),
            ("a/b/c.x", "c.x", "a/b", ".x"),
            ("a.b/c", "c", "a.b", ""),
            ("/a/b.tar.gz", "b.tar.gz", "/a", ".gz"),
            ("x//y//", "y", "x/y", ""),
        ] {
            assert_eq!(base(input), b, "base({input:?})");
            assert_eq!(dir(input), d, "dir({input:?})");
            assert_eq!(ext(input), e, "ext({input:?})");
        }
        assert!(is_abs("/a") && !is_abs("a/b") && !is_abs(""));
    }
}
