//! Go's `time.RFC3339` layout, the form Kubernetes writes every timestamp in.

use jiff::fmt::strtime;
use jiff::{Span, civil};

/// Seconds since the epoch (fractions dropped) of an RFC 3339 timestamp such as
/// Kubernetes writes ("2024-05-01T12:00:00Z", optionally with fractions or an
/// offset); `None` for anything else.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    // jiff's default parser takes the wider Temporal/ISO 8601 grammar ("+0100",
    // "20240501T120000Z"), so parse with an explicit RFC 3339 format instead.
    // strtime knows one spelling of the date/time separator and no `Z`, so the
    // other spellings RFC 3339 allows (`t`, a space per its note, `z`) are
    // normalised first.
    if !matches!(s.as_bytes().get(10), Some(b'T' | b't' | b' ')) {
        return None;
    }
    let (date, time) = (s.get(..10)?, s.get(11..)?);
    let (time, offset) = match time.strip_suffix(['Z', 'z']) {
        Some(time) => (time, "+00:00"),
        None => (time, ""),
    };
    let normal = format!("{date}T{time}{offset}");
    let parsed = strtime::parse("%Y-%m-%dT%H:%M:%S%.f%:z", &normal).ok()?;
    parsed.to_timestamp().ok().map(|t| t.as_second())
}

/// `seconds` since the epoch as Go formats a UTC time with `time.RFC3339`
/// (`2024-05-01T12:00:00Z`); `None` outside the years 0000 to 9999, which Go's
/// JSON encoding of a time refuses.
pub fn format_rfc3339(seconds: i64) -> Option<String> {
    const MIN: i64 = -62_167_219_200; // 0000-01-01T00:00:00Z
    const MAX: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    if !(MIN..=MAX).contains(&seconds) {
        return None;
    }
    // A civil date and time: jiff's Timestamp stops a day short of 9999-12-31 so
    // that every offset fits, and this is always UTC.
    let (days, secs) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let date = civil::date(1970, 1, 1)
        .checked_add(Span::new().try_days(days).ok()?)
        .ok()?;
    let [h, m, s] = [secs / 3600, secs / 60 % 60, secs % 60].map(|v| i8::try_from(v).ok());
    let at = date.at(h?, m?, s?, 0);
    Some(at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_kubernetes_writes() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(parse_rfc3339("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00.5Z"), Some(0));
        assert_eq!(parse_rfc3339("2024-01-01t00:00:00z"), Some(1_704_067_200));
        assert_eq!(parse_rfc3339("2024-01-01 00:00:00Z"), Some(1_704_067_200));
        for bad in [
            "",
            "yesterday",
            "2024-13-01T00:00:00Z",
            "2024-02-30T00:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00+0100",
            "2024-01-01T00:00:00.Z",
            "2024-01-01T00:00:00+-1:00",
            "20240101T000000Z",
            "2024-01-01T00:00:00Z[UTC]",
            "２０２４-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_as_go_within_its_years() {
        assert_eq!(format_rfc3339(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(format_rfc3339(-1).as_deref(), Some("1969-12-31T23:59:59Z"));
        assert_eq!(
            format_rfc3339(-62_167_219_200).as_deref(),
            Some("0000-01-01T00:00:00Z")
        );
        assert_eq!(
            format_rfc3339(253_402_300_799).as_deref(),
            Some("9999-12-31T23:59:59Z")
        );
        assert_eq!(format_rfc3339(253_402_300_800), None);
        assert_eq!(format_rfc3339(i64::MIN), None);
    }
}
