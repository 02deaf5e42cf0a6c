//! Unit tests with literal expected outputs.

mod directives;
mod flavors;
mod merge_keys;
mod schema;

use serde_json::Value;

use super::{Flavor, StrategicMergeError, strategic_merge_builtin};

/// Merges with the built-in schema of `original`'s kind; panics on error.
fn merged(flavor: Flavor, original: &Value, patch: &Value) -> Value {
    match strategic_merge_builtin(original, patch, flavor) {
        Ok(v) => {
            assert_no_directives(&v);
            v
        }
        Err(e) => panic!("{flavor:?} merge failed: {e}"),
    }
}

/// The error a merge gives; panics if it succeeds.
fn merge_error(flavor: Flavor, original: &Value, patch: &Value) -> StrategicMergeError {
    match strategic_merge_builtin(original, patch, flavor) {
        Ok(v) => panic!("{flavor:?} merge succeeded with {v}"),
        Err(e) => e,
    }
}

/// Directive keys must never reach an output.
fn assert_no_directives(value: &Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                assert!(
                    !(k == "$patch"
                        || k == "$retainKeys"
                        || k.starts_with("$setElementOrder")
                        || k.starts_with("$deleteFromPrimitiveList")),
                    "directive `{k}` in output"
                );
                assert_no_directives(v);
            }
        }
        Value::Array(items) => items.iter().for_each(assert_no_directives),
        _ => {}
    }
}

const BOTH: [Flavor; 2] = [Flavor::ApiServer, Flavor::Kustomize];
