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
