//! The flat formats, dotenv and INI: their stores as SOPS writes them, and the flattened
//! metadata keys (`age__list_0__map_enc`) they hold.

use serde_json::{Map, Value as Json};

use crate::error::Error;

/// A line-oriented entry: a `key=value` pair or a comment.
#[derive(Debug, Clone)]
pub(crate) enum Entry {
    Pair(String, String),
    Comment(String),
}

/// A parsed dotenv/INI file: sections (dotenv has one, unnamed) and the metadata pairs.
#[derive(Debug, Default)]
pub(crate) struct FlatDoc {
    pub sections: Vec<(Option<String>, Vec<Entry>)>,
    pub metadata: Vec<(String, String)>,
}

fn parse_err(format: &'static str, line: usize, reason: &str) -> Error {
    Error::Parse {
        format,
        reason: format!("line {line}: {reason}"),
    }
}

/// Reads a dotenv file as SOPS's dotenv store does: `#` lines are comments, the rest
/// `KEY=value` with `\n` escapes; `sops_`-prefixed keys are metadata.
pub(crate) fn parse_dotenv(text: &str) -> Result<FlatDoc, Error> {
    let mut entries = Vec::new();
    let mut metadata = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if line.is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix('#') {
            entries.push(Entry::Comment(c.to_string()));
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            return Err(parse_err("dotenv", i + 1, "no '=' in a non-comment line"));
        };
        let v = v.replace("\\n", "\n");
        match k.strip_prefix("sops_") {
            Some(meta) => metadata.push((meta.to_string(), v)),
            None => entries.push(Entry::Pair(k.to_string(), v)),
        }
    }
    Ok(FlatDoc {
        sections: vec![(None, entries)],
        metadata,
    })
}

/// Writes dotenv as SOPS does.
pub(crate) fn emit_dotenv(sections: &[(Option<String>, Vec<Entry>)]) -> Vec<u8> {
    let mut out = String::new();
    for (_, entries) in sections {
        for e in entries {
            match e {
                Entry::Pair(k, v) => {
                    out.push_str(k);
                    out.push('=');
                    out.push_str(&v.replace('\n', "\\n"));
                    out.push('\n');
                }
                Entry::Comment(c) => {
                    out.push('#');
                    out.push_str(c);
                    out.push('\n');
                }
            }
        }
    }
    out.into_bytes()
}

/// Reads an INI file: `[section]` headers, `key = value` pairs (whitespace around `=`
/// trimmed), `;`/`#` comments; the `[sops]` section is metadata. Keys before any section
/// belong to `DEFAULT`, as in the Go INI library SOPS uses.
pub(crate) fn parse_ini(text: &str) -> Result<FlatDoc, Error> {
    let mut doc = FlatDoc::default();
    let mut current: Option<String> = None;
    let mut entries: Vec<Entry> = Vec::new();
    let mut in_sops = false;
    let mut pending: Vec<Entry> = Vec::new();
    let flush = |doc: &mut FlatDoc, name: Option<String>, entries: Vec<Entry>, in_sops: bool| {
        if in_sops || (name.is_none() && entries.is_empty()) {
            return;
        }
        doc.sections
            .push((Some(name.unwrap_or_else(|| "DEFAULT".into())), entries));
    };
    let mut lines = text.lines().enumerate();
    while let Some((i, raw)) = lines.next() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        if let Some(c) = line.strip_prefix(';').or_else(|| line.strip_prefix('#')) {
            if !in_sops {
                pending.push(Entry::Comment(c.trim().to_string()));
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix('[') {
            let Some(name) = rest.strip_suffix(']') else {
                return Err(parse_err("INI", i + 1, "unterminated section header"));
            };
            flush(
                &mut doc,
                current.take(),
                std::mem::take(&mut entries),
                in_sops,
            );
            // Like go-ini, comments above a section header belong to that section.
            entries.append(&mut pending);
            let name = name.trim().to_string();
            in_sops = name == "sops";
            current = Some(name);
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            return Err(parse_err("INI", i + 1, "no '=' in a key line"));
        };
        let (k, mut v) = (k.trim().to_string(), v.trim().to_string());
        // go-ini's multi-line values: `key = """...` up to a line ending in `"""`.
        if let Some(first) = v.strip_prefix("\"\"\"") {
            let mut value = first.to_string();
            let mut closed = value.ends_with("\"\"\"") && !value.is_empty();
            while !closed {
                let Some((_, next)) = lines.next() else {
                    return Err(parse_err("INI", i + 1, "unterminated \"\"\" value"));
                };
                value.push('\n');
                value.push_str(next);
                closed = next.ends_with("\"\"\"");
            }
            v = value.trim_end_matches("\"\"\"").to_string();
        } else if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
            v = v[1..v.len() - 1].to_string();
        }
        if in_sops {
            doc.metadata.push((k, v.replace("\\n", "\n")));
        } else {
            entries.append(&mut pending);
            entries.push(Entry::Pair(k, v));
        }
    }
    entries.append(&mut pending);
    flush(&mut doc, current, entries, in_sops);
    Ok(doc)
}

/// Writes INI: one `[section]` block per section, `key = value` lines.
pub(crate) fn emit_ini(sections: &[(Option<String>, Vec<Entry>)]) -> Vec<u8> {
    let mut out = String::new();
    for (name, entries) in sections {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push('[');
        out.push_str(name.as_deref().unwrap_or("DEFAULT"));
        out.push_str("]\n");
        for e in entries {
            match e {
                Entry::Pair(k, v) => {
                    out.push_str(k);
                    out.push_str(" = ");
                    out.push_str(v);
                    out.push('\n');
                }
                Entry::Comment(c) => {
                    out.push_str("; ");
                    out.push_str(c);
                    out.push('\n');
                }
            }
        }
    }
    out.into_bytes()
}

const MAX_LIST_INDEX: usize = 1024;

/// Rebuilds the nested `sops` block from flattened keys: `a__list_0__map_b` is `a[0].b`.
pub(crate) fn unflatten(pairs: &[(String, String)]) -> Result<Json, Error> {
    let mut root = Json::Object(Map::new());
    for (key, value) in pairs {
        let mut parts = key.split("__");
        let first = parts.next().unwrap_or_default();
        let leaf = match first {
            "mac_only_encrypted" => Json::Bool(value == "true"),
            "shamir_threshold" => value
                .parse::<u64>()
                .map(Json::from)
                .map_err(|_| Error::Metadata("shamir_threshold is not a number".into()))?,
            _ => Json::String(value.clone()),
        };
        let mut node = &mut root;
        let mut segment = Segment::Key(first.to_string());
        for part in parts {
            let next = if let Some(i) = part.strip_prefix("list_") {
                let i: usize = i
                    .parse()
                    .ok()
                    .filter(|i| *i < MAX_LIST_INDEX)
                    .ok_or_else(|| {
                        Error::Metadata(format!("bad list index in metadata key '{key}'"))
                    })?;
                Segment::Index(i)
            } else if let Some(k) = part.strip_prefix("map_") {
                Segment::Key(k.to_string())
            } else {
                return Err(Error::Metadata(format!(
                    "unknown segment in metadata key '{key}'"
                )));
            };
            let empty = match next {
                Segment::Index(_) => Json::Array(Vec::new()),
                Segment::Key(_) => Json::Object(Map::new()),
            };
            node = child(node, &segment, empty, key)?;
            segment = next;
        }
        let slot = child(node, &segment, Json::Null, key)?;
        *slot = leaf;
    }
    Ok(root)
}

enum Segment {
    Key(String),
    Index(usize),
}

fn child<'a>(
    node: &'a mut Json,
    seg: &Segment,
    empty: Json,
    key: &str,
) -> Result<&'a mut Json, Error> {
    let clash = || Error::Metadata(format!("conflicting structure in metadata key '{key}'"));
    match (node, seg) {
        (Json::Object(map), Segment::Key(k)) => Ok(map.entry(k.clone()).or_insert(empty)),
        (Json::Array(list), Segment::Index(i)) => {
            while list.len() <= *i {
                list.push(empty.clone());
            }
            Ok(&mut list[*i])
        }
        _ => Err(clash()),
    }
}
