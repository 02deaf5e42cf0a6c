//! Sprig's date functions over Go's `time.Time` ([`crate::gotime`]). The local zone is UTC.

use std::rc::Rc;

use super::{Arity::Exact, FnResult, P, Table, def};
use crate::gotime::{self, GoTime};
use crate::value::Value;

fn time_of(v: &Value) -> GoTime {
    match v {
        Value::Time(t) => (**t).clone(),
        Value::Int(i) | Value::Int64(i) => GoTime::unix(*i, 0),
        _ => GoTime::now(),
    }
}

fn time_arg(v: &Value) -> GoTime {
    match v {
        Value::Time(t) => (**t).clone(),
        _ => GoTime::zero(),
    }
}

fn tv(t: GoTime) -> FnResult {
    Ok(Value::Time(Rc::new(t)))
}

/// Sprig's `dateInZone`: `Local` is UTC here; an unknown zone is UTC, as in Sprig.
fn date_in_zone(layout: &str, date: &Value, zone: &str) -> FnResult {
    let mut t = time_of(date);
    t.offset = 0;
    t.zone = Rc::from("UTC");
    if let Some((offset, abbr)) = named_zone(zone, t.secs) {
        t.offset = offset;
        t.zone = Rc::from(abbr.as_str());
    }
    Ok(Value::str(t.format(layout)))
}

/// The offset and abbreviation of an IANA zone (the system's zoneinfo, as Go reads it)
/// at a Unix time.
fn named_zone(zone: &str, secs: i64) -> Option<(i32, String)> {
    // Go's LoadLocation: "", "UTC" and "Local" are built in; no path tricks
    if matches!(zone, "" | "UTC" | "Local")
        || zone.contains("..")
        || zone.starts_with('/')
        || zone.starts_with('\\')
    {
        return None;
    }
    let tz = jiff::tz::TimeZone::get(zone).ok()?;
    let ts = jiff::Timestamp::from_second(secs).ok()?;
    let info = tz.to_offset_info(ts);
    Some((info.offset().seconds(), info.abbreviation().to_string()))
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

pub(super) fn register(t: &mut Table) {
    def(t, "now", Exact(0), &[], |_, _| tv(GoTime::now()));
    def(t, "date", Exact(2), &[P::Str, P::Any], |_, a| {
        date_in_zone(s(&a[0]), &a[1], "Local")
    });
    for name in ["dateInZone", "date_in_zone"] {
        def(t, name, Exact(3), &[P::Str, P::Any, P::Str], |_, a| {
            date_in_zone(s(&a[0]), &a[1], s(&a[2]))
        });
    }
    def(t, "htmlDate", Exact(1), &[P::Any], |_, a| {
        date_in_zone("2006-01-02", &a[0], "Local")
    });
    def(t, "htmlDateInZone", Exact(2), &[P::Any, P::Str], |_, a| {
        date_in_zone("2006-01-02", &a[0], s(&a[1]))
    });
    def(t, "toDate", Exact(2), &[P::Str, P::Str], |_, a| {
        tv(gotime::parse(s(&a[0]), s(&a[1])).unwrap_or_else(|_| GoTime::zero()))
    });
    def(t, "mustToDate", Exact(2), &[P::Str, P::Str], |_, a| {
        tv(gotime::parse(s(&a[0]), s(&a[1]))?)
    });
    def(t, "unixEpoch", Exact(1), &[P::Time], |_, a| {
        Ok(Value::str(time_arg(&a[0]).secs.to_string()))
    });
    def(t, "dateModify", Exact(2), &[P::Str, P::Time], |_, a| {
        let d = time_arg(&a[1]);
        tv(match gotime::parse_duration(s(&a[0])) {
            Ok(n) => d.add(n),
            Err(_) => d,
        })
    });
    def(t, "mustDateModify", Exact(2), &[P::Str, P::Time], |_, a| {
        let n = gotime::parse_duration(s(&a[0]))?;
        tv(time_arg(&a[1]).add(n))
    });
    def(t, "duration", Exact(1), &[P::Any], |_, a| {
        let n: i64 = match &a[0] {
            Value::Str(x) => x.parse().unwrap_or(0),
            Value::Int64(i) => *i,
            _ => 0,
        };
        Ok(Value::str(gotime::duration_string(
            n.saturating_mul(1_000_000_000),
        )))
    });
    def(t, "durationRound", Exact(1), &[P::Any], |_, a| {
        let d: i64 = match &a[0] {
            Value::Str(x) => gotime::parse_duration(x).unwrap_or(0),
            Value::Int64(i) => *i,
            Value::Time(t) => GoTime::now().sub(t),
            _ => 0,
        };
        Ok(Value::str(duration_round(d)))
    });
    def(t, "ago", Exact(1), &[P::Any], |_, a| {
        let d = GoTime::now().sub(&time_of(&a[0]));
        // Duration.Round(time.Second): halves away from zero
        let sec = 1_000_000_000i64;
        let r = d.rem_euclid(sec);
        let base = d - r;
        let rounded = if r * 2 >= sec { base + sec } else { base };
        Ok(Value::str(gotime::duration_string(rounded)))
    });
}

fn duration_round(d: i64) -> String {
    let u = d.unsigned_abs();
    let second = 1_000_000_000u64;
    let (minute, hour) = (60 * second, 3600 * second);
    let (day, month, year) = (24 * hour, 30 * 24 * hour, 365 * 24 * hour);
    for (unit, suffix) in [
        (year, "y"),
        (month, "mo"),
        (day, "d"),
        (hour, "h"),
        (minute, "m"),
        (second, "s"),
    ] {
        if u > unit {
            return format!("{}{suffix}", u / unit);
        }
    }
    "0s".into()
}
