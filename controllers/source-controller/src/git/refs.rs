//! `spec.ref`: which reference to follow, how it is found among the remote's
//! refs, and the revision string Flux reports for it.

use gix::bstr::ByteSlice;
use gix::protocol::handshake::Ref;

use super::error::GitError;
use super::semver_range::{Range, parse_tag_version};

/// Flux's default when `spec.ref` is empty (see the GitRepository spec).
pub const DEFAULT_BRANCH: &str = "master";

/// Suffix naming the object an annotated tag points to.
const PEELED_SUFFIX: &str = "^{}";

/// The reference to resolve, after Flux's precedence has been applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// `spec.ref.branch` (or the default branch).
    Branch(String),
    /// `spec.ref.tag`.
    Tag(String),
    /// `spec.ref.semver`: the highest tag satisfying the range.
    SemVer(String),
    /// `spec.ref.name`: a full reference name such as `refs/pull/1/head`.
    Name(String),
    /// `spec.ref.commit`, optionally within `spec.ref.branch`.
    Commit { sha: String, branch: Option<String> },
}

impl Default for Reference {
    fn default() -> Self {
        Reference::Branch(DEFAULT_BRANCH.to_string())
    }
}

impl Reference {
    /// Builds the reference from the `spec.ref` fields with Flux's precedence:
    /// commit > name > semver > tag > branch; `master` when all are empty.
    pub fn from_fields(
        branch: Option<&str>,
        tag: Option<&str>,
        semver: Option<&str>,
        name: Option<&str>,
        commit: Option<&str>,
    ) -> Reference {
        let set = |v: Option<&str>| v.filter(|s| !s.is_empty()).map(str::to_string);
        if let Some(sha) = set(commit) {
            return Reference::Commit {
                sha,
                branch: set(branch),
            };
        }
        if let Some(name) = set(name) {
            return Reference::Name(name);
        }
        if let Some(range) = set(semver) {
            return Reference::SemVer(range);
        }
        if let Some(tag) = set(tag) {
            return Reference::Tag(tag);
        }
        Reference::Branch(set(branch).unwrap_or_else(|| DEFAULT_BRANCH.to_string()))
    }

    /// Checks the reference's syntax before any network access.
    pub(crate) fn validate(&self) -> Result<(), GitError> {
        let invalid = |message: String| Err(GitError::InvalidRef { message });
        match self {
            Reference::Branch(b) => check_ref_name(&format!("refs/heads/{b}")),
            Reference::Tag(t) => check_ref_name(&format!("refs/tags/{t}")),
            Reference::SemVer(range) => {
                Range::parse(range)
                    .map(|_| ())
                    .map_err(|e| GitError::InvalidRef {
                        message: format!("semver parse error: {e}"),
                    })
            }
            Reference::Name(name) => {
                if name.starts_with('/') || name.ends_with('/') {
                    return invalid(format!(
                        "ref {name} is invalid; Git refs cannot begin or end with a slash '/'"
                    ));
                }
                check_ref_name(name.strip_suffix(PEELED_SUFFIX).unwrap_or(name))
            }
            Reference::Commit { sha, branch } => {
                if sha.len() != 40 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return invalid(format!(
                        "commit '{sha}' is not a full 40-character SHA-1 hash"
                    ));
                }
                match branch {
                    Some(b) => check_ref_name(&format!("refs/heads/{b}")),
                    None => Ok(()),
                }
            }
        }
    }

    /// Ref prefixes to ask the server for (protocol v2 `ls-refs`).
    pub(crate) fn ls_refs_prefixes(&self) -> Vec<String> {
        match self {
            Reference::Branch(b) => vec![format!("refs/heads/{b}")],
            Reference::Tag(t) => vec![format!("refs/tags/{t}")],
            Reference::SemVer(_) => vec!["refs/tags/".to_string()],
            Reference::Name(n) => vec![n.strip_suffix(PEELED_SUFFIX).unwrap_or(n).to_string()],
            Reference::Commit {
                branch: Some(b), ..
            } => vec![format!("refs/heads/{b}")],
            Reference::Commit { branch: None, .. } => vec!["HEAD".to_string()],
        }
    }
}

fn check_ref_name(name: &str) -> Result<(), GitError> {
    gix::validate::reference::name(name.as_bytes().as_bstr())
        .map(|_| ())
        .map_err(|e| GitError::InvalidRef {
            message: format!("invalid reference name '{name}': {e}"),
        })
}

/// What a reference resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The revision as Flux reports it, e.g. `main@sha1:<hex>`, `v1.2.3@sha1:<hex>`,
    /// `refs/pull/1/head@sha1:<hex>` or `sha1:<hex>`.
    pub revision: String,
    /// The commit (40 lowercase hex digits); for annotated tags, the commit the tag points to.
    pub commit: String,
    /// The full name of the remote reference, e.g. `refs/heads/main`; `None` for a bare commit.
    pub ref_name: Option<String>,
    /// True when `checkout` had to download objects; false when the cache had them
    /// (always false for `resolve`).
    pub fetched: bool,
}

/// The object a remote ref ultimately points to (peeled through annotated tags).
fn peeled_target(r: &Ref) -> Option<(&[u8], gix::ObjectId)> {
    match r {
        Ref::Peeled {
            full_ref_name,
            object,
            ..
        }
        | Ref::Direct {
            full_ref_name,
            object,
        }
        | Ref::Symbolic {
            full_ref_name,
            object,
            ..
        } => Some((full_ref_name.as_slice(), *object)),
        Ref::Unborn { .. } => None,
    }
}

fn find(refs: &[Ref], full_name: &str) -> Option<gix::ObjectId> {
    refs.iter()
        .filter_map(peeled_target)
        .find(|(name, _)| *name == full_name.as_bytes())
        .map(|(_, id)| id)
}

fn not_found(url: &str, message: String) -> GitError {
    GitError::NotFound {
        url: url.to_string(),
        message,
    }
}

fn resolved(short: Option<&str>, full: Option<String>, id: gix::ObjectId) -> Resolved {
    let hex = id.to_hex().to_string();
    let revision = match short {
        Some(short) => format!("{short}@sha1:{hex}"),
        None => format!("sha1:{hex}"),
    };
    Resolved {
        revision,
        commit: hex,
        ref_name: full,
        fetched: false,
    }
}

/// Resolves `reference` against the refs the remote listed.
pub(crate) fn resolve(
    reference: &Reference,
    refs: &[Ref],
    url: &str,
) -> Result<Resolved, GitError> {
    match reference {
        Reference::Branch(b) => {
            let full = format!("refs/heads/{b}");
            let id = find(refs, &full)
                .ok_or_else(|| not_found(url, format!("couldn't find remote ref \"{full}\"")))?;
            Ok(resolved(Some(b), Some(full), id))
        }
        Reference::Tag(t) => {
            let full = format!("refs/tags/{t}");
            let id = find(refs, &full)
                .ok_or_else(|| not_found(url, format!("couldn't find remote ref \"{full}\"")))?;
            Ok(resolved(Some(t), Some(full), id))
        }
        Reference::Name(name) => {
            // Flux reports the full name (with a `^{}` suffix if given) for `spec.ref.name`.
            let lookup = name.strip_suffix(PEELED_SUFFIX).unwrap_or(name);
            let id = find(refs, lookup).ok_or_else(|| {
                not_found(
                    url,
                    format!("unable to resolve ref '{name}' to a specific commit"),
                )
            })?;
            let mut r = resolved(None, Some(lookup.to_string()), id);
            r.revision = format!("{name}@{}", r.revision);
            Ok(r)
        }
        Reference::SemVer(range_text) => {
            let range = Range::parse(range_text).map_err(|e| GitError::InvalidRef {
                message: format!("semver parse error: {e}"),
            })?;
            let mut best: Option<(semver::Version, &str, gix::ObjectId)> = None;
            for (name, id) in refs.iter().filter_map(peeled_target) {
                let Some(tag) = name.strip_prefix(b"refs/tags/") else {
                    continue;
                };
                let Ok(tag) = std::str::from_utf8(tag) else {
                    continue;
                };
                if tag.ends_with(PEELED_SUFFIX) {
                    continue;
                }
                let Some(version) = parse_tag_version(tag) else {
                    continue;
                };
                if !range.matches(&version) {
                    continue;
                }
                // Highest precedence wins; equal precedence (differing build
                // metadata) is broken by tag name so the choice is stable.
                let better = match &best {
                    None => true,
                    Some((v, t, _)) => match version.cmp_precedence(v) {
                        std::cmp::Ordering::Greater => true,
                        std::cmp::Ordering::Equal => tag > *t,
                        std::cmp::Ordering::Less => false,
                    },
                };
                if better {
                    best = Some((version, tag, id));
                }
            }
            let (_, tag, id) = best.ok_or_else(|| {
                not_found(url, format!("no match found for semver: {range_text}"))
            })?;
            Ok(resolved(Some(tag), Some(format!("refs/tags/{tag}")), id))
        }
        Reference::Commit { sha, branch } => {
            let id = gix::ObjectId::from_hex(sha.as_bytes()).map_err(|e| GitError::InvalidRef {
                message: format!("commit '{sha}' is not a valid SHA-1 hash: {e}"),
            })?;
            match branch {
                Some(b) => {
                    let full = format!("refs/heads/{b}");
                    if find(refs, &full).is_none() {
                        return Err(not_found(
                            url,
                            format!("couldn't find remote ref \"{full}\""),
                        ));
                    }
                    Ok(resolved(Some(b), Some(full), id))
                }
                None => Ok(resolved(None, None, id)),
            }
        }
    }
}

/// The tip of `refs/heads/<branch>` in the listing (for commit-in-branch checks).
pub(crate) fn branch_tip(refs: &[Ref], branch: &str) -> Option<gix::ObjectId> {
    find(refs, &format!("refs/heads/{branch}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_follows_flux() {
        let r = Reference::from_fields(
            Some("main"),
            Some("v1"),
            Some(">=1"),
            Some("refs/x"),
            Some("abc"),
        );
        assert_eq!(
            r,
            Reference::Commit {
                sha: "abc".into(),
                branch: Some("main".into())
            }
        );
        let r = Reference::from_fields(Some("main"), Some("v1"), Some(">=1"), Some("refs/x"), None);
        assert_eq!(r, Reference::Name("refs/x".into()));
        let r = Reference::from_fields(Some("main"), Some("v1"), Some(">=1"), None, Some(""));
        assert_eq!(r, Reference::SemVer(">=1".into()));
        let r = Reference::from_fields(Some("main"), Some("v1"), None, None, None);
        assert_eq!(r, Reference::Tag("v1".into()));
        let r = Reference::from_fields(None, None, None, None, None);
        assert_eq!(r, Reference::Branch("master".into()));
    }

    #[test]
    fn validation() {
        assert!(Reference::SemVer("not a range".into()).validate().is_err());
        assert!(Reference::Name("/refs/x/".into()).validate().is_err());
        assert!(Reference::Branch("a..b".into()).validate().is_err());
        assert!(
            Reference::Commit {
                sha: "abc".into(),
                branch: None
            }
            .validate()
            .is_err()
        );
        assert!(Reference::Name("refs/tags/v1^{}".into()).validate().is_ok());
    }
}
