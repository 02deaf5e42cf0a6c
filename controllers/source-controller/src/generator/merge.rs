//! The `Merge` strategy: a YAML file merged into the one already at the
//! destination, as Helm merges values files (maps deeply, everything else,
//! arrays included, replaced by the newer file). A file of several
//! documents counts as the merge of its documents.

use serde_yaml::{Mapping, Value};

/// Why two files could not be merged.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    /// A file is not YAML.
    #[error("{file}: not valid YAML: {message}")]
    Parse {
        /// The file (as the copy operation names it).
        file: String,
        /// The parser's message.
        message: String,
    },
    /// A document is YAML but not a mapping.
    #[error("{file}: a document is not a YAML mapping")]
    NotAMapping {
        /// The file.
        file: String,
    },
    /// The merged document could not be written.
    #[error("writing the merged YAML: {0}")]
    Encode(String),
}

/// Reads `text` (named `file` in errors) as one mapping: its documents
/// merged in order; empty documents are skipped.
pub fn load(file: &str, text: &str) -> Result<Mapping, MergeError> {
    let mut out = Mapping::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let value = serde::Deserialize::deserialize(doc).map_err(|e: serde_yaml::Error| {
            MergeError::Parse {
                file: file.to_string(),
                message: e.to_string(),
            }
        })?;
        match value {
            Value::Null => {}
            Value::Mapping(m) => out = merge(out, m),
            _ => {
                return Err(MergeError::NotAMapping {
                    file: file.to_string(),
                });
            }
        }
    }
    Ok(out)
}

/// `overlay` merged into `base`: a key whose values are mappings on both
/// sides is merged recursively; any other value of `overlay` wins.
pub fn merge(mut base: Mapping, overlay: Mapping) -> Mapping {
    for (key, value) in overlay {
        let merged = match (base.remove(&key), value) {
            (Some(Value::Mapping(b)), Value::Mapping(o)) => Value::Mapping(merge(b, o)),
            (_, v) => v,
        };
        base.insert(key, merged);
    }
    base
}

/// `overlay_text` (file `overlay`) merged into `base_text` (file `base`),
/// as YAML text.
pub fn merge_files(
    base: &str,
    base_text: &str,
    overlay: &str,
    overlay_text: &str,
) -> Result<String, MergeError> {
    let merged = merge(load(base, base_text)?, load(overlay, overlay_text)?);
    serde_yaml::to_string(&merged).map_err(|e| MergeError::Encode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_merge_deeply_and_arrays_are_replaced() {
        let base = "replicas: 1\nimage:\n  repository: podinfo\n  tag: 6.0.0\nports: [80, 443]\n";
        let overlay = "image:\n  tag: 6.7.0\nports: [8080]\nextra: true\n";
        let out: Value =
            serde_yaml::from_str(&merge_files("b", base, "o", overlay).unwrap()).unwrap();
        let want: Value = serde_yaml::from_str(
            "replicas: 1\nimage:\n  repository: podinfo\n  tag: 6.7.0\nports: [8080]\nextra: true\n",
        )
        .unwrap();
        assert_eq!(out, want);
    }

    #[test]
    fn documents_of_a_file_are_merged_and_non_mappings_refused() {
        let m = load("f", "a: 1\nb: {x: 1}\n---\n---\nb: {y: 2}\n").unwrap();
        let want: Value = serde_yaml::from_str("a: 1\nb: {x: 1, y: 2}").unwrap();
        assert_eq!(Value::Mapping(m), want);
        let err = load("list.yaml", "- a\n- b\n").unwrap_err().to_string();
        assert!(
            err.contains("list.yaml") && err.contains("not a YAML mapping"),
            "{err}"
        );
        let err = load("bad.yaml", "a: [").unwrap_err().to_string();
        assert!(err.contains("bad.yaml"), "{err}");
        // A mapping replaces a scalar and the other way round.
        let m = merge(
            load("b", "a: 1\nb: {x: 1}").unwrap(),
            load("o", "a: {y: 1}\nb: 2").unwrap(),
        );
        let want: Value = serde_yaml::from_str("a: {y: 1}\nb: 2").unwrap();
        assert_eq!(Value::Mapping(m), want);
    }
}
