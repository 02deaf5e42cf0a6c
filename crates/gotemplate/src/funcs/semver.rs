//! Sprig's `semver` and `semverCompare` over Masterminds/semver v3's rules
//! (`ferroflux_gocompat::semver`).

use std::collections::BTreeMap;

use ferroflux_gocompat::semver::{Constraints, Version};

use super::{Arity::Exact, FnResult, P, Table, def};
use crate::value::Value;

fn version_value(v: Version) -> Value {
    let mut m = BTreeMap::new();
    m.insert("Major".to_string(), Value::Int64(v.major() as i64));
    m.insert("Minor".to_string(), Value::Int64(v.minor() as i64));
    m.insert("Patch".to_string(), Value::Int64(v.patch() as i64));
    m.insert("Prerelease".to_string(), Value::str(v.prerelease()));
    m.insert("Metadata".to_string(), Value::str(v.metadata()));
    m.insert("Original".to_string(), Value::str(v.original()));
    Value::map(m)
}

/// The names of a `semver` value's fields: a map of exactly these stands for
/// Masterminds' `*semver.Version` (the data model has no pointer kind).
const FIELDS: [&str; 6] = [
    "Major",
    "Metadata",
    "Minor",
    "Original",
    "Patch",
    "Prerelease",
];

/// The version a `semver` value stands for, if `v` is one.
pub(crate) fn as_version(v: &Value) -> Option<Version> {
    let Value::Map(m) = v else { return None };
    let m = m.borrow();
    if m.len() != FIELDS.len() || !FIELDS.iter().all(|f| m.contains_key(*f)) {
        return None;
    }
    Version::parse(m.get("Original")?.as_str()?).ok()
}

/// Methods of `*semver.Version` that templates call: `String`, `Compare`,
/// `Equal`, `GreaterThan`, `LessThan`, `GreaterThanEqual`, `LessThanEqual`,
/// `IncMajor`, `IncMinor`, `IncPatch`. `None` when `recv` is no version or
/// the name is no method (then it is a field, or the host's).
pub(crate) fn method(recv: &Value, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
    let v = as_version(recv)?;
    let other = || match args {
        [o] => as_version(o).ok_or_else(|| {
            format!(
                "wrong type for value; expected *semver.Version; got {}",
                o.type_name()
            )
        }),
        _ => Err(format!(
            "wrong number of args for {name}: want 1 got {}",
            args.len()
        )),
    };
    let none = |r: Value| {
        if args.is_empty() {
            Ok(r)
        } else {
            Err(format!(
                "wrong number of args for {name}: want 0 got {}",
                args.len()
            ))
        }
    };
    use std::cmp::Ordering::*;
    Some(match name {
        "String" => none(Value::str(v.to_string())),
        "IncMajor" => none(version_value(v.inc_major())),
        "IncMinor" => none(version_value(v.inc_minor())),
        "IncPatch" => none(version_value(v.inc_patch())),
        "Compare" => other().map(|o| {
            Value::Int(match v.compare(&o) {
                Less => -1,
                Equal => 0,
                Greater => 1,
            })
        }),
        "Equal" => other().map(|o| Value::Bool(v.compare(&o) == Equal)),
        "GreaterThan" => other().map(|o| Value::Bool(v.compare(&o) == Greater)),
        "LessThan" => other().map(|o| Value::Bool(v.compare(&o) == Less)),
        "GreaterThanEqual" => other().map(|o| Value::Bool(v.compare(&o) != Less)),
        "LessThanEqual" => other().map(|o| Value::Bool(v.compare(&o) != Greater)),
        _ => return None,
    })
}

pub(super) fn register(t: &mut Table) {
    def(t, "semver", Exact(1), &[P::Str], |_, a| {
        let v = Version::parse(a[0].as_str().unwrap_or("")).map_err(|e| e.to_string())?;
        Ok(version_value(v))
    });
    def(
        t,
        "semverCompare",
        Exact(2),
        &[P::Str, P::Str],
        |_, a| -> FnResult {
            let cs = Constraints::parse(a[0].as_str().unwrap_or("")).map_err(|e| e.to_string())?;
            let v = Version::parse(a[1].as_str().unwrap_or("")).map_err(|e| e.to_string())?;
            Ok(Value::Bool(cs.check(&v)))
        },
    );
}
