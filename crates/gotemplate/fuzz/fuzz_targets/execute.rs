//! An arbitrary template executed over one of a few small values: output or an
//! error within the limits, never a panic, a hang or a stack overflow. The first
//! byte picks the values, the rest is the template.
#![no_main]

use ferroflux_gotemplate::{Templates, Value};
use libfuzzer_sys::fuzz_target;

const VALUES: &[&str] = &[
    "Values: {a: {b: 1}, l: [1, x, {c: d}], s: str, n: 1000000}",
    "Values: {s: \"é\\\"'<>&\", f: 1.5, big: 9223372036854775807, neg: -3, t: true, z: null}",
    "Values: {l: [], m: {}, nested: {a: {b: {c: [1, [2, [3]]]}}}}",
    "Values: 7",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let y: serde_yaml::Value =
        serde_yaml::from_str(VALUES[pick as usize % VALUES.len()]).expect("values");
    let values = Value::from_yaml(&y);
    let mut t = Templates::helm();
    t.limits.max_iterations = 10_000;
    t.limits.max_output = 1 << 16;
    t.limits.max_depth = 50;
    t.limits.max_duration = Some(std::time::Duration::from_secs(2));
    if t.parse("f", text).is_ok() {
        let _ = t.execute("f", &values);
    }
});
