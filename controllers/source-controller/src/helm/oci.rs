//! Charts in OCI registries (a HelmRepository of `type: oci`, or an
//! `oci://` dependency): chart `name` lives in the repository
//! `<url>/<name>`, its versions are the tags (Helm writes a version's `+`
//! as `_` in a tag), and a version's manifest holds the packaged chart as
//! its one chart layer. As in Flux, an exact version is pulled without
//! listing tags; a range (`*` by default) picks the newest matching tag.

use std::path::Path;

use ferroflux_gocompat::semver::{Constraints, Version};
use ferroflux_oci::{Client, OciError, Reference, Repository};

use super::HelmError;

/// The media type of a chart layer (Helm's).
pub const CHART_LAYER: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

/// The repository of chart `name` under the `oci://` URL `url`.
pub fn chart_repository(url: &str, name: &str) -> Result<Repository, HelmError> {
    if name.is_empty() || name.contains(['/', ':', '@']) {
        return Err(HelmError::Reference(format!(
            "invalid chart name '{name}' for an OCI repository"
        )));
    }
    let full = format!("{}/{name}", url.trim_end_matches('/'));
    Repository::parse_url(&full).map_err(|e| HelmError::InvalidUrl(e.to_string()))
}

/// A registry failure in Helm's terms (credentials never in the text).
pub fn oci_failure(e: OciError) -> HelmError {
    match e {
        OciError::Authentication { .. } => HelmError::Authentication(e.to_string()),
        OciError::InvalidReference { .. } => HelmError::InvalidUrl(e.to_string()),
        OciError::TooLarge { what, limit } => HelmError::TooLarge { what, limit },
        OciError::DigestMismatch { .. } | OciError::Invalid { .. } => {
            HelmError::Chart(e.to_string())
        }
        other => HelmError::Fetch(other.to_string()),
    }
}

/// The version `range` picks for chart `name` in the registry `client`
/// reads: an exact version as it is (no tag listing), else the newest tag
/// (read with `_` as `+`) the range (`*` when empty) allows.
pub async fn resolve_version(
    client: &Client,
    name: &str,
    range: &str,
) -> Result<String, HelmError> {
    let range = range.trim();
    if !range.is_empty() && Version::parse(range).is_ok() {
        return Ok(range.to_string());
    }
    let range = if range.is_empty() { "*" } else { range };
    let constraint = Constraints::parse(range)
        .map_err(|e| HelmError::Reference(format!("invalid version range '{range}': {e}")))?;
    let tags = client.tags().await.map_err(|e| {
        let context = format!(
            "failed to get chart version for remote reference: could not get tags for '{name}'"
        );
        match oci_failure(e) {
            HelmError::Authentication(m) => HelmError::Authentication(format!("{context}: {m}")),
            other => HelmError::Fetch(format!("{context}: {other}")),
        }
    })?;
    if tags.is_empty() {
        return Err(HelmError::Reference(format!(
            "failed to get chart version for remote reference: unable to locate any tags in provided repository: {name}"
        )));
    }
    let versions: Vec<Version> = tags
        .iter()
        .filter_map(|t| Version::parse(&t.replace('_', "+")).ok())
        .collect();
    constraint
        .latest(&versions)
        .map(|v| v.original().to_string())
        .ok_or_else(|| {
            HelmError::Reference(format!(
                "failed to get chart version for remote reference: could not locate a version matching provided version string {range}"
            ))
        })
}

/// Downloads chart version `version` from the registry `client` reads into
/// `dest` (at most `max` bytes, digest-checked); returns the manifest's
/// digest.
pub async fn pull(
    client: &Client,
    version: &str,
    dest: &Path,
    max: u64,
) -> Result<String, HelmError> {
    let tag = Reference::parse_tag(&version.replace('+', "_"))
        .map_err(|e| HelmError::Reference(format!("invalid chart version '{version}': {e}")))?;
    let (manifest, digest) = client
        .manifest(&tag)
        .await
        .map_err(|e| pull_failure(version, e))?;
    let layer = manifest
        .layers
        .iter()
        .find(|l| l.media_type == CHART_LAYER)
        .ok_or_else(|| {
            HelmError::Chart(format!(
                "failed to download chart for remote reference: {}:{version} has no layer of type {CHART_LAYER}",
                client.repository()
            ))
        })?;
    client
        .blob_to_file(layer, dest, max)
        .await
        .map_err(|e| pull_failure(version, e))?;
    Ok(digest)
}

fn pull_failure(version: &str, e: OciError) -> HelmError {
    let context = format!("failed to download chart for remote reference: version {version}");
    match oci_failure(e) {
        HelmError::Fetch(m) => HelmError::Fetch(format!("{context}: {m}")),
        HelmError::Authentication(m) => HelmError::Authentication(format!("{context}: {m}")),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_repositories_are_below_the_url() {
        let r = chart_repository("oci://127.0.0.1:5000/charts/", "podinfo").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.path, "charts/podinfo");
        for bad in ["", "a/b", "x:1", "x@sha256"] {
            assert!(
                chart_repository("oci://r.example.com/c", bad).is_err(),
                "{bad}"
            );
        }
        assert!(chart_repository("https://r.example.com/c", "x").is_err());
    }
}
