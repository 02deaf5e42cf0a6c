//! Repository addresses (`oci://host[:port]/path`) and the tag or digest
//! that picks a manifest in them, checked against the distribution spec's
//! grammar so that nothing odd reaches a request path.

use std::fmt;

use crate::error::OciError;

/// A repository in a registry: `host[:port]` and the path below it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repository {
    /// `host[:port]`, lower-cased.
    pub registry: String,
    /// `org/name` (one or more path components).
    pub path: String,
}

/// A tag or a digest within a repository.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reference {
    /// A tag (`v1.2.3`, `latest`).
    Tag(String),
    /// A manifest digest (`sha256:<64 hex>`).
    Digest(String),
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Tag(t) => f.write_str(t),
            Reference::Digest(d) => f.write_str(d),
        }
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.path)
    }
}

fn invalid(input: &str, reason: impl Into<String>) -> OciError {
    OciError::InvalidReference {
        input: input.to_string(),
        reason: reason.into(),
    }
}

impl Repository {
    /// Parses `oci://host[:port]/path` (an OCIRepository's `spec.url`): no
    /// tag, digest, user info, query or fragment allowed.
    pub fn parse_url(url: &str) -> Result<Repository, OciError> {
        let rest = url
            .strip_prefix("oci://")
            .ok_or_else(|| invalid(url, "the URL must start with oci://"))?;
        let repo = Self::parse_bare(url, rest)?;
        if repo.path.contains(':') || repo.path.contains('@') {
            return Err(invalid(
                url,
                "the URL must not name a tag or digest (use spec.ref)",
            ));
        }
        Ok(repo)
    }

    /// Parses `oci://host[:port]/path[:tag|@digest]` (the CLI's argument).
    pub fn parse_with_reference(input: &str) -> Result<(Repository, Option<Reference>), OciError> {
        let rest = input
            .strip_prefix("oci://")
            .ok_or_else(|| invalid(input, "the address must start with oci://"))?;
        let (host, path) = rest
            .split_once('/')
            .ok_or_else(|| invalid(input, "no repository path after the registry host"))?;
        let (path, reference) = if let Some((p, d)) = path.split_once('@') {
            (p, Some(Reference::parse_digest(d)?))
        } else if let Some((p, t)) = path.rsplit_once(':') {
            (p, Some(Reference::parse_tag(t)?))
        } else {
            (path, None)
        };
        let repo = Self::parse_bare(input, &format!("{host}/{path}"))?;
        Ok((repo, reference))
    }

    fn parse_bare(input: &str, rest: &str) -> Result<Repository, OciError> {
        let (host, path) = rest
            .split_once('/')
            .ok_or_else(|| invalid(input, "no repository path after the registry host"))?;
        if host.is_empty()
            || host.contains('@')
            || !host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
        {
            return Err(invalid(input, format!("invalid registry host {host:?}")));
        }
        let path = path.trim_end_matches('/');
        if path.is_empty() {
            return Err(invalid(input, "no repository path after the registry host"));
        }
        if path.contains('?') || path.contains('#') {
            return Err(invalid(
                input,
                "query strings and fragments are not allowed",
            ));
        }
        let repo_path = path.split(['@']).next().unwrap_or(path);
        let name = repo_path
            .rsplit_once(':')
            .map(|(p, _)| p)
            .unwrap_or(repo_path);
        for component in name.split('/') {
            if !valid_path_component(component) {
                return Err(invalid(
                    input,
                    format!(
                        "invalid repository path component {component:?} (lower-case letters, digits and . _ - separators)"
                    ),
                ));
            }
        }
        Ok(Repository {
            registry: host.to_ascii_lowercase(),
            path: path.to_string(),
        })
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*` of the distribution spec.
fn valid_path_component(c: &str) -> bool {
    let bytes = c.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if bytes.is_empty() || !alnum(&bytes[0]) || !alnum(&bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(&bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(&bytes[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

impl Reference {
    /// A tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
    pub fn parse_tag(tag: &str) -> Result<Reference, OciError> {
        let b = tag.as_bytes();
        let ok = !b.is_empty()
            && b.len() <= 128
            && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
        if ok {
            Ok(Reference::Tag(tag.to_string()))
        } else {
            Err(invalid(tag, "not a valid tag"))
        }
    }

    /// A digest: `sha256:<64 lower-case hex>` (the only algorithm registries
    /// are required to support).
    pub fn parse_digest(digest: &str) -> Result<Reference, OciError> {
        let hex = digest
            .strip_prefix("sha256:")
            .ok_or_else(|| invalid(digest, "only sha256 digests are supported"))?;
        if hex.len() == 64 && hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Reference::Digest(digest.to_string()))
        } else {
            Err(invalid(
                digest,
                "a sha256 digest has 64 lower-case hex digits",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_hostile_ones_are_refused() {
        let r = Repository::parse_url("oci://127.0.0.1:5000/org/app").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.path, "org/app");
        for bad in [
            "https://ghcr.io/org/app",
            "oci://ghcr.io",
            "oci://ghcr.io/",
            "oci://ghcr.io/org/app:v1",
            "oci://ghcr.io/org/app@sha256:00",
            "oci://user:pw@ghcr.io/org/app",
            "oci://ghcr.io/org/../app",
            "oci://ghcr.io/Org/app",
            "oci://ghcr.io/org/app?x=1",
        ] {
            assert!(Repository::parse_url(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn cli_addresses_carry_a_tag_or_digest() {
        let (r, t) = Repository::parse_with_reference("oci://localhost:5000/a/b:v1.0").unwrap();
        assert_eq!(r.path, "a/b");
        assert_eq!(t, Some(Reference::Tag("v1.0".into())));
        let d = format!("sha256:{}", "a".repeat(64));
        let (_, t) = Repository::parse_with_reference(&format!("oci://h/a@{d}")).unwrap();
        assert_eq!(t, Some(Reference::Digest(d)));
        assert!(Repository::parse_with_reference("oci://h/a:../x").is_err());
        assert!(Reference::parse_tag(".hidden").is_err());
        assert!(Reference::parse_digest("sha256:ABC").is_err());
    }
}
