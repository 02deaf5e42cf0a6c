//! Lists with the `merge` strategy, merged as kyaml's walker merges "associative
//! sequences".
//!
//! kyaml identifies an element by the text of its key fields (all of
//! `x-kubernetes-list-map-keys` where the schema has them, else the merge key), lists
//! the key tuples of the patch's elements and then the original's, merges the two
//! elements each tuple finds, and builds the result as: the patch's elements in its
//! order, then the original's remaining ones. Where there is more than one key field a
//! missing key matches any value, and the original's elements are moved behind the
//! patch-only ones. Lists of primitives (`finalizers`) become ordered sets the same way.

use serde_json::{Map, Value};

use super::super::directives::{Directive, PATCH, is_directive_marker};
use super::super::error::{Path, StrategicMergeError, kind_name};
use super::super::schema::{PatchMeta, PatchSchema};
use super::{Field, Node, Result, Source, Walked};

/// One key field's value in an element, as kyaml compares it: by its text. An absent,
/// null or empty field has the empty text.
#[derive(Debug, Clone)]
struct KeyText {
    text: String,
    /// The scalar the text came from, to write a matched key back into a merged element.
    value: Option<Value>,
}

impl PartialEq for KeyText {
    fn eq(&self, other: &KeyText) -> bool {
        self.text == other.text
    }
}

impl KeyText {
    fn of(field: Option<&Value>) -> KeyText {
        match field {
            Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_))) => KeyText {
                text: text_of(v),
                value: Some(v.clone()),
            },
            _ => KeyText {
                text: String::new(),
                value: None,
            },
        }
    }
}

/// A YAML node's text: a scalar's literal, `null` for null, empty for maps and lists.
fn text_of(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_owned(),
        Value::Object(_) | Value::Array(_) => String::new(),
    }
}

fn texts(values: &[KeyText]) -> Vec<String> {
    values.iter().map(|v| v.text.clone()).collect()
}

pub(super) fn merge_list(
    dest: Node,
    origin: Node,
    meta: &PatchMeta,
    element: Option<&dyn PatchSchema>,
    path: &Path<'_>,
) -> Result<Walked> {
    let mut origin_list = match origin {
        // The walker only comes here for lists, so a null patch faces an original list.
        Some(Value::Null) => return Ok(Walked::Clear),
        Some(Value::Array(list)) => Some(list),
        _ => None,
    };
    let directive = match origin_list.as_mut() {
        Some(list) => take_list_directive(list, path)?,
        None => None,
    };
    let (mut dest_list, source) = match dest {
        Some(Value::Array(list)) => match directive {
            Some(Directive::Delete) => return Ok(Walked::Clear),
            Some(Directive::Replace) => (origin_list.clone().unwrap_or_default(), Source::Origin),
            Some(Directive::Merge) | None => (list, Source::Dest),
        },
        // kyaml adds a new list without looking at its directive (so a `- $patch:
        // replace` element stays in the output); here the directive is carried out.
        _ => {
            if directive == Some(Directive::Delete) {
                return Ok(Walked::Clear);
            }
            (origin_list.clone().unwrap_or_default(), Source::Origin)
        }
    };
    if directive.is_some() {
        dest_list.retain(|e| !is_directive_marker(e));
    }

    let mut keys: Vec<&str> = meta.list_map_keys.iter().map(|k| k.as_ref()).collect();
    if keys.is_empty() {
        keys.extend(meta.merge_key.as_deref());
    }
    let values = if keys.is_empty() {
        keys.push("");
        primitive_values(origin_list.as_deref(), &dest_list)
    } else {
        element_values(&keys, origin_list.as_deref(), &dest_list)
    };
    let merged = set_elements(values, &keys, dest_list, origin_list, element, path)?;
    Ok(Walked::Set(Value::Array(merged), source))
}

/// A list directive is an element holding only `$patch`; it is removed from the list.
fn take_list_directive(list: &mut Vec<Value>, path: &Path<'_>) -> Result<Option<Directive>> {
    let found = list
        .iter()
        .find_map(|e| e.as_object().filter(|m| m.contains_key(PATCH)));
    let Some(map) = found else { return Ok(None) };
    // An element with other fields is an element directive, for the element's walk.
    if map.len() > 1 {
        return Ok(None);
    }
    let Some(value) = map.get(PATCH) else {
        return Ok(None);
    };
    let directive = Directive::parse(value, path)?;
    let text = text_of(value);
    set_element(list, None, &[PATCH], &[text], path)?;
    Ok(Some(directive))
}

/// Key tuples of the patch's elements, then the original's, each once.
fn element_values(keys: &[&str], origin: Option<&[Value]>, dest: &[Value]) -> Vec<Vec<KeyText>> {
    let mut out: Vec<Vec<KeyText>> = Vec::new();
    for list in origin.into_iter().chain([dest]) {
        for item in list {
            let tuple: Vec<KeyText> = keys
                .iter()
                .map(|k| KeyText::of(item.as_object().and_then(|m| m.get(*k))))
                .collect();
            if !out.contains(&tuple) {
                out.push(tuple);
            }
        }
    }
    out
}

/// Values of a list of primitives: the patch's, then the original's, each once.
fn primitive_values(origin: Option<&[Value]>, dest: &[Value]) -> Vec<Vec<KeyText>> {
    let mut out: Vec<Vec<KeyText>> = Vec::new();
    for list in origin.into_iter().chain([dest]) {
        for item in list {
            let text = text_of(item);
            if !out.iter().any(|t| t[0].text == text) {
                out.push(vec![KeyText {
                    text,
                    value: Some(item.clone()),
                }]);
            }
        }
    }
    out
}

/// Where there are several key fields, tuples that agree wherever both have a value
/// (and agree somewhere) are taken to name one element, with the union of their values.
fn merge_values(list: &mut [Vec<KeyText>]) {
    for i in 0..list.len() {
        let first = list[i].clone();
        for j in 0..list.len() {
            if let Some(joined) = join(&first, &list[j]) {
                list[i] = joined.clone();
                list[j] = joined;
            }
        }
    }
}

fn join(a: &[KeyText], b: &[KeyText]) -> Option<Vec<KeyText>> {
    if a.len() != b.len() {
        return None;
    }
    let mut common = false;
    let mut out = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b) {
        if x == y {
            common = true;
            out.push(x.clone());
        } else if !x.text.is_empty() && !y.text.is_empty() {
            return None;
        } else if x.text.is_empty() {
            out.push(y.clone());
        } else {
            out.push(x.clone());
        }
    }
    common.then_some(out)
}

/// The key fields worth matching on: those that some tuple gives a value (all of them
/// when none does), with `values` cut to match.
fn valid_keys<'k>(
    all: &[Vec<KeyText>],
    values: &[KeyText],
    keys: &[&'k str],
) -> (Vec<&'k str>, Vec<KeyText>) {
    let used = |i: usize| {
        all.iter()
            .any(|t| t.get(i).is_some_and(|v| !v.text.is_empty()))
    };
    if !(0..keys.len()).any(used) {
        return (keys.to_vec(), values.to_vec());
    }
    let kept: Vec<usize> = (0..keys.len()).filter(|&i| used(i)).collect();
    (
        kept.iter().map(|&i| keys[i]).collect(),
        kept.iter()
            .filter_map(|&i| values.get(i).cloned())
            .collect(),
    )
}

fn set_elements(
    mut values_list: Vec<Vec<KeyText>>,
    keys: &[&str],
    mut dest: Vec<Value>,
    mut origin: Option<Vec<Value>>,
    element: Option<&dyn PatchSchema>,
    path: &Path<'_>,
) -> Result<Vec<Value>> {
    if keys.len() > 1 {
        merge_values(&mut values_list);
    }
    let mut items: Vec<Value> = Vec::new();
    let mut last_keys: Vec<&str> = keys.to_vec();
    for values in &values_list {
        if values.is_empty() {
            continue;
        }
        let (match_keys, match_values) = valid_keys(&values_list, values, keys);
        let (find_keys, find_values) = valid_keys(
            std::slice::from_ref(&match_values),
            &match_values,
            &match_keys,
        );
        let find_texts = texts(&find_values);
        let at_dest = find_element(&dest, &find_keys, &find_texts);
        let at_origin = origin
            .as_deref()
            .and_then(|o| find_element(o, &find_keys, &find_texts));

        let label = Value::String(find_texts.first().cloned().unwrap_or_default());
        let element_path = path.keyed(find_keys.first().copied().unwrap_or(""), &label);
        let walked = super::walk(
            at_dest.map(|i| dest[i].clone()),
            at_origin.and_then(|i| origin.as_ref().map(|o| o[i].clone())),
            Field {
                meta: None,
                schema: element,
            },
            &element_path,
        )?;
        let merged = match walked {
            Walked::Set(v, source) => {
                match (source, at_dest, at_origin) {
                    (Source::Dest, Some(i), _) => dest[i] = v.clone(),
                    (Source::Origin, _, Some(i)) => {
                        if let Some(o) = origin.as_mut() {
                            o[i] = v.clone();
                        }
                    }
                    _ => {}
                }
                Some(v)
            }
            Walked::Clear | Walked::KeepNull => None,
        };
        let match_texts = texts(&match_values);
        last_keys.clone_from(&match_keys);
        let mut merged = match merged {
            Some(v) if !v.is_null() && !v.as_object().is_some_and(Map::is_empty) => v,
            // An element merged to nothing leaves the original too.
            _ => {
                set_element(&mut dest, None, &match_keys, &match_texts, path)?;
                continue;
            }
        };
        if let Value::Object(map) = &mut merged {
            for (key, value) in match_keys.iter().zip(&match_values) {
                if !map.contains_key(*key)
                    && let Some(v) = &value.value
                {
                    map.insert((*key).to_owned(), v.clone());
                }
            }
        }
        set_element(&mut items, Some(merged), &match_keys, &match_texts, path)?;
    }
    if values_list.is_empty() {
        return Ok(dest);
    }
    append_list(items, &dest, &last_keys, path)
}

/// The first element whose key fields all have exactly the given texts.
fn find_element(list: &[Value], keys: &[&str], values: &[String]) -> Option<usize> {
    if keys.first().is_none_or(|k| k.is_empty()) {
        let want = values.first().map_or("", String::as_str);
        return list.iter().position(|e| text_of(e) == want);
    }
    list.iter().position(|e| match e {
        Value::Object(m) => keys
            .iter()
            .zip(values)
            .all(|(k, v)| m.get(*k).is_some_and(|f| text_of(f) == *v)),
        _ => false,
    })
}

/// Puts the original's elements behind the merged ones: an element matching one already
/// there replaces it in place; with several key fields it is moved to the end instead.
fn append_list(
    mut out: Vec<Value>,
    dest: &[Value],
    keys: &[&str],
    path: &Path<'_>,
) -> Result<Vec<Value>> {
    for item in dest {
        if keys.first().is_none_or(|k| k.is_empty()) {
            set_element(&mut out, Some(item.clone()), &[""], &[text_of(item)], path)?;
            continue;
        }
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            match item {
                Value::Object(m) => match m.get(*key) {
                    Some(v) => values.push(text_of(v)),
                    None => out.push(item.clone()),
                },
                Value::Null => out.push(item.clone()),
                other => return Err(not_a(path, "a map", other)),
            }
        }
        if keys.len() > 1 {
            set_element(&mut out, None, keys, &values, path)?;
        }
        set_element(&mut out, Some(item.clone()), keys, &values, path)?;
    }
    Ok(out)
}

/// kyaml's element setter: replaces every element matching the keys with `element`
/// (appending it when none matches), or removes them when `element` is `None`. On the
/// way it drops null and empty-map elements. A key whose value is empty matches any
/// element that has the field; keys beyond `values` are not checked.
fn set_element(
    list: &mut Vec<Value>,
    element: Option<Value>,
    keys: &[&str],
    values: &[String],
    path: &Path<'_>,
) -> Result<()> {
    let keys: &[&str] = if keys.is_empty() { &[""] } else { keys };
    let mapping_setter = keys.first().is_some_and(|k| !k.is_empty())
        && values.first().is_some_and(|v| !v.is_empty());
    let mut out = Vec::with_capacity(list.len() + 1);
    let mut matched = false;
    for item in list.drain(..) {
        if item.is_null() || item.as_object().is_some_and(Map::is_empty) {
            continue;
        }
        if !item.is_object() && mapping_setter {
            out.push(item);
            continue;
        }
        let mut found = false;
        let mut all = true;
        for (j, key) in keys.iter().enumerate() {
            if let Some(value) = values.get(j) {
                found = field_matches(&item, key, value, path)?;
            }
            if !found {
                all = false;
                break;
            }
        }
        if !all {
            if !values.is_empty() {
                out.push(item);
            }
            continue;
        }
        matched = true;
        if let Some(e) = &element {
            out.push(e.clone());
        }
    }
    *list = out;
    if let Some(e) = element
        && !e.is_null()
        && !matched
    {
        list.push(e);
    }
    Ok(())
}

fn field_matches(item: &Value, name: &str, value: &str, path: &Path<'_>) -> Result<bool> {
    if item.is_null() {
        return Ok(false);
    }
    if name.is_empty() {
        if item.is_object() || item.is_array() {
            return Err(not_a(path, "a scalar", item));
        }
        return Ok(text_of(item) == value);
    }
    match item {
        Value::Object(m) => Ok(m
            .get(name)
            .is_some_and(|f| value.is_empty() || text_of(f) == value)),
        other => Err(not_a(path, "a map", other)),
    }
}

fn not_a(path: &Path<'_>, expected: &'static str, found: &Value) -> StrategicMergeError {
    StrategicMergeError::KindMismatch {
        path: path.to_string(),
        expected,
        side: "list",
        found: kind_name(found),
    }
}
