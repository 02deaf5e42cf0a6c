//! Errors of a strategic merge, and the field path they name.

use std::fmt;

use serde_json::Value;

/// Why a strategic merge patch could not be applied. Every variant but
/// [`StrategicMergeError::NotAnObject`] names the field path at fault, e.g.
/// `spec.template.spec.containers[name=web].ports`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StrategicMergeError {
    /// The original object or the patch is not a JSON object.
    #[error("the {which} must be a JSON object")]
    NotAnObject {
        /// `original` or `patch`.
        which: &'static str,
    },
    /// A `$patch` directive with a value other than `replace`, `delete` or `merge`.
    #[error("{path}: unknown patch directive `$patch: {value}`; expected replace, delete or merge")]
    UnknownDirective {
        /// Where the directive is.
        path: String,
        /// The directive's value, as JSON text unless it is a string.
        value: String,
    },
    /// A `$deleteFromPrimitiveList…` or `$setElementOrder…` key without `/<field>`.
    #[error("{path}: malformed directive key `{key}`; expected `{key}/<field>`")]
    MalformedDirectiveKey {
        /// The map holding the key.
        path: String,
        /// The key as written.
        key: String,
    },
    /// `$retainKeys`, `$deleteFromPrimitiveList/…` or `$setElementOrder/…` is not a list.
    #[error("{path}: `{directive}` must be a list")]
    DirectiveNotAList {
        /// The map holding the directive.
        path: String,
        /// The directive key.
        directive: String,
    },
    /// The patch sets a field that its own `$retainKeys` list would drop.
    #[error("{path}: field `{field}` is set by the patch but missing from `$retainKeys`")]
    NotInRetainKeys {
        /// The map holding `$retainKeys`.
        path: String,
        /// The field missing from the list.
        field: String,
    },
    /// The patch list's elements are not in the relative order `$setElementOrder` gives.
    #[error("{path}: the patch list is not in the order given by `$setElementOrder`")]
    SetElementOrderMismatch {
        /// The list field.
        path: String,
    },
    /// An element of a list merged by key lacks the merge key.
    #[error("{path}: list element has no merge key `{key}`")]
    MissingMergeKey {
        /// The list field.
        path: String,
        /// The merge key.
        key: String,
    },
    /// A list of objects has the `merge` strategy but no merge key.
    #[error("{path}: a list of objects cannot be merged without a merge key")]
    NoMergeKey {
        /// The list field.
        path: String,
    },
    /// A merged list mixes element types (objects and strings, say).
    #[error("{path}: list elements are not all of one type")]
    MixedListElements {
        /// The list field.
        path: String,
    },
    /// A merged list holds lists; strategic merge cannot merge those.
    #[error("{path}: lists of lists cannot be merged")]
    ListOfLists {
        /// The list field.
        path: String,
    },
    /// The original and the patch disagree about what kind of value a field holds
    /// (kustomize refuses to merge, e.g., a map into a list).
    #[error("{path}: expected {expected} but the {side} has {found}")]
    KindMismatch {
        /// The field.
        path: String,
        /// What the first non-null value had.
        expected: &'static str,
        /// `original` or `patch`.
        side: &'static str,
        /// What the other value had.
        found: &'static str,
    },
    /// `$deleteFromPrimitiveList/<field>` lists something other than strings, numbers
    /// or booleans.
    #[error("{path}: `$deleteFromPrimitiveList` takes only strings, numbers and booleans")]
    DeleteFromNonPrimitiveList {
        /// The list field.
        path: String,
    },
}

/// Field path of the value being merged, kept as a chain on the stack so that it costs
/// nothing unless an error needs its text.
#[derive(Clone, Copy)]
pub(crate) enum Path<'a> {
    Root,
    Field(&'a Path<'a>, &'a str),
    /// A list element found by its merge key(s): `[name=web]`.
    Keyed(&'a Path<'a>, &'a str, &'a Value),
    Index(&'a Path<'a>, usize),
}

impl<'a> Path<'a> {
    pub(crate) fn field(&'a self, name: &'a str) -> Path<'a> {
        Path::Field(self, name)
    }

    pub(crate) fn keyed(&'a self, key: &'a str, value: &'a Value) -> Path<'a> {
        Path::Keyed(self, key, value)
    }

    pub(crate) fn index(&'a self, index: usize) -> Path<'a> {
        Path::Index(self, index)
    }

    fn write(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Field(parent, name) => {
                parent.write(f)?;
                if !matches!(parent, Path::Root) {
                    f.write_str(".")?;
                }
                f.write_str(name)
            }
            Path::Keyed(parent, key, value) => {
                parent.write(f)?;
                match value {
                    Value::String(s) => write!(f, "[{key}={s}]"),
                    other => write!(f, "[{key}={other}]"),
                }
            }
            Path::Index(parent, index) => {
                parent.write(f)?;
                write!(f, "[{index}]")
            }
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if matches!(self, Path::Root) {
            return f.write_str("(root)");
        }
        self.write(f)
    }
}

/// Short name of a JSON value's kind, for error messages.
pub(crate) fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

/// The text of a value as an error message shows it: strings bare, the rest as JSON.
pub(crate) fn display_value(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
