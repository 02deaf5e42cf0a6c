//! Reading a chart repository index (`index.yaml`, or its JSON form) in
//! bounded memory.
//!
//! An index of a big repository is tens of megabytes; building a YAML tree
//! of it costs several times that. Here the file is parsed as it is read
//! (serde-saphyr's streaming deserializer) into what the caller needs and
//! nothing else: [`validate`] keeps counts, [`chart_versions`] keeps only
//! the versions of one chart, with the few fields a pull uses. Parsing is
//! under a budget (events, nodes, depth, aliases and what aliases replay),
//! so an alias bomb is refused with an error instead of expanding.

use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::HelmError;

/// One version of a chart in an index: what a pull needs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct ChartVersion {
    /// The chart's name.
    pub name: String,
    /// The chart's version (SemVer, as written).
    pub version: String,
    /// Where the archive is (absolute, or relative to the repository URL).
    pub urls: Vec<String>,
    /// SHA-256 of the archive (hex), when the index has it.
    pub digest: String,
    /// When the version was indexed (RFC 3339), to order equal versions.
    pub created: String,
}

/// What [`validate`] learnt about an index.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// The index's `apiVersion`.
    pub api_version: String,
    /// Number of charts.
    pub charts: usize,
    /// Number of chart versions.
    pub versions: usize,
}

/// Checks that the file at `path` is a Helm repository index (an
/// `apiVersion` and an `entries` map of chart version lists), reading it
/// in bounded memory.
pub fn validate(path: &Path) -> Result<Summary, HelmError> {
    let (summary, _) = read(path, None)?;
    Ok(summary)
}

/// The versions of chart `name` in the index at `path` (empty when the
/// index has no such chart), reading it in bounded memory.
pub fn chart_versions(path: &Path, name: &str) -> Result<(Summary, Vec<ChartVersion>), HelmError> {
    read(path, Some(name))
}

fn read(path: &Path, want: Option<&str>) -> Result<(Summary, Vec<ChartVersion>), HelmError> {
    let file = File::open(path).map_err(|e| HelmError::Io(format!("opening the index: {e}")))?;
    let len = file
        .metadata()
        .map_err(|e| HelmError::Io(format!("reading the index: {e}")))?
        .len();
    if len == 0 {
        return Err(HelmError::Index("no content in the index".to_string()));
    }
    let reader = BufReader::with_capacity(64 * 1024, file);
    let found =
        serde_saphyr::with_deserializer_from_reader_with_options(reader, options(len), |de| {
            IndexSeed { want }.deserialize(de)
        })
        .map_err(|e| HelmError::Index(one_line(&e.to_string())))?;
    let (summary, versions) = found;
    if summary.api_version.is_empty() {
        return Err(HelmError::Index("no API version specified".to_string()));
    }
    Ok((summary, versions))
}

/// An error message on one line, short enough for a condition.
fn one_line(message: &str) -> String {
    let mut out: String = message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if out.len() > 512 {
        let mut cut = 512;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("...");
    }
    out
}

/// Parsing limits for an index of `len` bytes: every node costs at least a
/// byte or two of input, so counts follow the size; aliases, which cost
/// nothing to write and replay whole subtrees, get small fixed caps.
fn options(len: u64) -> serde_saphyr::Options {
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    let mut budget = serde_saphyr::Budget::default();
    budget.max_reader_input_bytes = Some(len.saturating_add(1));
    budget.max_events = len.max(1 << 20);
    budget.max_nodes = len.max(1 << 20);
    budget.max_total_scalar_bytes = len.max(1 << 20);
    budget.max_aliases = 1_000;
    budget.max_anchors = 1_000;
    budget.max_recorded_anchor_events = 100_000;
    budget.max_recorded_anchor_bytes = 1 << 20;
    budget.max_depth = 64;
    budget.max_documents = 1;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.emit_comments = false;
    options.with_snippet = false;
    options
}

/// The whole index: `apiVersion` and `entries`, anything else skipped.
struct IndexSeed<'a> {
    want: Option<&'a str>,
}

impl<'de> DeserializeSeed<'de> for IndexSeed<'_> {
    type Value = (Summary, Vec<ChartVersion>);

    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for IndexSeed<'_> {
    type Value = (Summary, Vec<ChartVersion>);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Helm repository index (a map with apiVersion and entries)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut summary = Summary::default();
        let mut versions = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "apiVersion" => {
                    summary.api_version = map.next_value::<Option<String>>()?.unwrap_or_default()
                }
                "entries" => {
                    let entries = map.next_value_seed(EntriesSeed { want: self.want })?;
                    summary.charts = entries.charts;
                    summary.versions = entries.versions;
                    versions = entries.wanted;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok((summary, versions))
    }
}

/// `entries`: chart name → list of versions.
struct EntriesSeed<'a> {
    want: Option<&'a str>,
}

#[derive(Default)]
struct Entries {
    charts: usize,
    versions: usize,
    wanted: Vec<ChartVersion>,
}

impl<'de> DeserializeSeed<'de> for EntriesSeed<'_> {
    type Value = Entries;

    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EntriesSeed<'_> {
    type Value = Entries;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of chart names to lists of chart versions")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Entries::default())
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Entries::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries = Entries::default();
        while let Some(name) = map.next_key::<String>()? {
            entries.charts += 1;
            if self.want == Some(name.as_str()) {
                let versions = map.next_value::<Option<Vec<Option<ChartVersion>>>>()?;
                let versions: Vec<ChartVersion> =
                    versions.unwrap_or_default().into_iter().flatten().collect();
                entries.versions += versions.len();
                entries.wanted.extend(versions);
            } else {
                entries.versions += map.next_value_seed(CountSeq)?;
            }
        }
        Ok(entries)
    }
}

/// A list whose elements are only counted.
struct CountSeq;

impl<'de> DeserializeSeed<'de> for CountSeq {
    type Value = usize;

    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CountSeq {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of chart versions")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(0)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut n = 0;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            n += 1;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
        let p = dir.path().join("index.yaml");
        std::fs::write(&p, text).unwrap();
        p
    }

    const INDEX: &str = r#"apiVersion: v1
entries:
  podinfo:
  - apiVersion: v2
    name: podinfo
    version: 6.0.3
    created: "2022-01-01T00:00:00Z"
    digest: abc
    urls:
    - podinfo-6.0.3.tgz
    maintainers:
    - name: someone
  - name: podinfo
    version: 6.1.0
    urls: [https://cdn.example.org/podinfo-6.1.0.tgz]
  other:
  - name: other
    version: 1.0.0
generated: "2022-01-01T00:00:00Z"
"#;

    #[test]
    fn reads_counts_and_one_chart() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, INDEX);
        let s = validate(&p).unwrap();
        assert_eq!((s.api_version.as_str(), s.charts, s.versions), ("v1", 2, 3));
        let (_, versions) = chart_versions(&p, "podinfo").unwrap();
        assert_eq!(versions.len(), 2);
        assert_eq!(versions[0].version, "6.0.3");
        assert_eq!(versions[0].digest, "abc");
        assert_eq!(versions[0].urls, ["podinfo-6.0.3.tgz"]);
        assert_eq!(
            versions[1].urls,
            ["https://cdn.example.org/podinfo-6.1.0.tgz"]
        );
        assert!(chart_versions(&p, "nope").unwrap().1.is_empty());
    }

    #[test]
    fn json_indexes_read_too() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            &dir,
            r#"{"apiVersion":"v1","entries":{"a":[{"name":"a","version":"1.2.3","urls":["a-1.2.3.tgz"]}]}}"#,
        );
        let (s, v) = chart_versions(&p, "a").unwrap();
        assert_eq!(
            (s.charts, s.versions, v[0].version.as_str()),
            (1, 1, "1.2.3")
        );
    }

    #[test]
    fn invalid_indexes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        for (text, needle) in [
            ("", "no content"),
            ("entries: {}\n", "no API version"),
            ("apiVersion: v1\nentries: [1, 2]\n", "map of chart names"),
            ("- just\n- a list\n", "index"),
            (
                "apiVersion: v1\nentries:\n  a: {name: x}\n",
                "list of chart versions",
            ),
            ("apiVersion: [v1\n", "index"),
        ] {
            let p = write(&dir, text);
            let e = validate(&p).unwrap_err();
            assert_eq!(e.reason(), super::super::INDEXATION_FAILED, "{text:?}: {e}");
            assert!(e.to_string().contains(needle), "{text:?}: {e}");
        }
    }

    #[test]
    fn alias_bombs_are_refused() {
        // Nine levels of ten aliases: a billion scalars once expanded.
        let mut text =
            String::from("apiVersion: v1\nbomb:\n  a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let p = i - 1;
            text.push_str(&format!(
                "  a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        text.push_str("entries:\n  x:\n  - *a8\n");
        let dir = tempfile::tempdir().unwrap();
        let p = write(&dir, &text);
        let e = validate(&p).unwrap_err();
        assert_eq!(e.reason(), super::super::INDEXATION_FAILED, "{e}");
    }
}
