//! Flux's duration strings (`metav1.Duration` restricted to Flux's pattern).
//!
//! Flux validates every interval and timeout against
//! `^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`. [`Duration`] parses that grammar, keeps
//! the text exactly as the user wrote it (so `5m` is written back as `5m`, not
//! `5m0s`), and refuses anything else with a message that quotes the bad value.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::time;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The schema pattern Flux puts on intervals (hours allowed).
pub const INTERVAL_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$";
/// The schema pattern Flux puts on most timeouts (no hours).
pub const TIMEOUT_PATTERN: &str = r"^([0-9]+(\.[0-9]+)?(ms|s|m))+$";

/// A duration such as `1m30s`, `500ms` or `1.5h`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Duration {
    text: String,
    value: time::Duration,
}

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid duration {text:?}: {reason} (expected a sequence of numbers with units ms, s, m or h, e.g. \"1m30s\")"
)]
pub struct ParseDurationError {
    text: String,
    reason: &'static str,
}

impl Duration {
    /// The largest value a parsed duration takes (ten years); larger texts
    /// saturate here, so adding it to an instant can never overflow.
    pub const SATURATION: time::Duration = time::Duration::from_secs(10 * 365 * 24 * 3600);

    /// Whether the text asked for more than [`Duration::SATURATION`].
    pub fn is_saturated(&self) -> bool {
        self.value >= Self::SATURATION
    }

    /// The duration as a [`std::time::Duration`].
    pub fn as_std(&self) -> time::Duration {
        self.value
    }

    /// The text the duration was parsed from.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// A duration built from a standard one, written in Go's canonical form
    /// (`1h2m3s`, `1.5s`, `250ms`).
    pub fn from_std(value: time::Duration) -> Self {
        Self {
            text: format_go(value),
            value,
        }
    }
}

const NANOS_PER_MS: u128 = 1_000_000;
const NANOS_PER_S: u128 = 1_000 * NANOS_PER_MS;
const NANOS_PER_M: u128 = 60 * NANOS_PER_S;
const NANOS_PER_H: u128 = 60 * NANOS_PER_M;

impl FromStr for Duration {
    type Err = ParseDurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason| ParseDurationError {
            text: text.to_string(),
            reason,
        };
        if text.is_empty() {
            return Err(fail("empty string"));
        }
        let bytes = text.as_bytes();
        let mut i = 0;
        let mut total: u128 = 0;
        while i < bytes.len() {
            let int_start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i == int_start {
                return Err(fail("expected a number"));
            }
            let int_part = &text[int_start..i];
            let mut frac_part = "";
            if i < bytes.len() && bytes[i] == b'.' {
                i += 1;
                let frac_start = i;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                if i == frac_start {
                    return Err(fail("expected digits after the decimal point"));
                }
                frac_part = &text[frac_start..i];
            }
            let rest = &text[i..];
            let (unit, len) = if rest.starts_with("ms") {
                (NANOS_PER_MS, 2)
            } else if rest.starts_with('s') {
                (NANOS_PER_S, 1)
            } else if rest.starts_with('m') {
                (NANOS_PER_M, 1)
            } else if rest.starts_with('h') {
                (NANOS_PER_H, 1)
            } else if rest.is_empty() {
                return Err(fail("missing unit"));
            } else {
                return Err(fail("unknown unit"));
            };
            i += len;
            // Digits only: the one way parsing can fail is overflow.
            let whole: u128 = int_part.parse().unwrap_or(u128::MAX);
            let mut nanos = whole.saturating_mul(unit);
            if !frac_part.is_empty() {
                // Only the first 18 fractional digits can matter at nanosecond
                // precision for any unit up to an hour.
                let digits = &frac_part[..frac_part.len().min(18)];
                let frac: u128 = digits.parse().map_err(|_| fail("bad fraction"))?;
                let scale = 10u128.pow(digits.len() as u32);
                nanos = nanos.saturating_add(frac * unit / scale);
            }
            total = total.saturating_add(nanos);
        }
        let ceiling = Self::SATURATION.as_nanos();
        let total = total.min(ceiling);
        let secs = u64::try_from(total / NANOS_PER_S).unwrap_or(u64::MAX);
        let value = time::Duration::new(secs, (total % NANOS_PER_S) as u32);
        Ok(Self {
            text: text.to_string(),
            value,
        })
    }
}

/// Go's `time.Duration.String()` for non-negative durations, except that
/// sub-second values are always written in milliseconds (`0.5ms`, not
/// `500µs`): Flux's pattern has no `us`/`ns` units, and what we write must
/// parse back.
fn format_go(d: time::Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    if nanos < NANOS_PER_S {
        return format!("{}ms", trim_fraction(nanos, NANOS_PER_MS));
    }
    let hours = nanos / NANOS_PER_H;
    let minutes = (nanos % NANOS_PER_H) / NANOS_PER_M;
    let secs = trim_fraction(nanos % NANOS_PER_M, NANOS_PER_S);
    let mut out = String::new();
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if hours > 0 || minutes > 0 {
        out.push_str(&format!("{minutes}m"));
    }
    out.push_str(&format!("{secs}s"));
    out
}

fn trim_fraction(value: u128, div: u128) -> String {
    let whole = value / div;
    let frac = value % div;
    if frac == 0 {
        return whole.to_string();
    }
    let width = (div as f64).log10().round() as usize;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Duration({:?})", self.text)
    }
}

impl From<time::Duration> for Duration {
    fn from(value: time::Duration) -> Self {
        Self::from_std(value)
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": INTERVAL_PATTERN,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> time::Duration {
        s.parse::<Duration>().unwrap().as_std()
    }

    #[test]
    fn parses_flux_durations() {
        assert_eq!(parse("5m"), time::Duration::from_secs(300));
        assert_eq!(parse("1h30m"), time::Duration::from_secs(5400));
        assert_eq!(parse("1m30s"), time::Duration::from_secs(90));
        assert_eq!(parse("500ms"), time::Duration::from_millis(500));
        assert_eq!(parse("1.5h"), time::Duration::from_secs(5400));
        assert_eq!(parse("0.25s"), time::Duration::from_millis(250));
        assert_eq!(parse("2m0.5s"), time::Duration::from_millis(120_500));
    }

    #[test]
    fn keeps_the_original_text() {
        let d: Duration = serde_json::from_str("\"5m\"").unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), "\"5m\"");
    }

    #[test]
    fn rejects_bad_strings_with_the_value_in_the_message() {
        for bad in ["", "5", "5x", "m", "1.m", "-5m", "5 m", "1d", "10us", "5m!"] {
            let err = bad.parse::<Duration>().unwrap_err().to_string();
            assert!(err.contains(&format!("{bad:?}")), "{err}");
        }
        let err = serde_json::from_str::<Duration>("\"10y\"").unwrap_err();
        assert!(err.to_string().contains("unknown unit"), "{err}");
    }

    #[test]
    fn saturates_overflow_and_keeps_the_text() {
        for huge in [
            "99999999999999999999h",
            "99999999999999999999999999999999999999999999999999h",
            "87600h1ms",
            "5000000000000000000s",
        ] {
            let d: Duration = huge.parse().unwrap();
            assert_eq!(d.as_std(), Duration::SATURATION, "{huge}");
            assert!(d.is_saturated());
            assert_eq!(d.as_str(), huge);
        }
        let d: Duration = serde_json::from_str("\"99999999999999999999h\"").unwrap();
        assert!(d.is_saturated());
        assert!(!"8759h".parse::<Duration>().unwrap().is_saturated());
        // Arithmetic on the value is safe.
        let _ = std::time::Instant::now() + d.as_std();
    }

    #[test]
    fn formats_like_go() {
        assert_eq!(
            Duration::from_std(time::Duration::from_secs(300)).as_str(),
            "5m0s"
        );
        assert_eq!(
            Duration::from_std(time::Duration::from_secs(3723)).as_str(),
            "1h2m3s"
        );
        assert_eq!(
            Duration::from_std(time::Duration::from_millis(1500)).as_str(),
            "1.5s"
        );
        assert_eq!(
            Duration::from_std(time::Duration::from_millis(250)).as_str(),
            "250ms"
        );
        assert_eq!(Duration::from_std(time::Duration::ZERO).as_str(), "0s");
        assert_eq!(
            Duration::from_std(time::Duration::from_micros(500)).as_str(),
            "0.5ms"
        );
        assert_eq!(
            Duration::from_std(time::Duration::from_nanos(1)).as_str(),
            "0.000001ms"
        );
        // What we print parses back to the same value, at any scale.
        for d in [
            time::Duration::from_millis(3_723_250),
            time::Duration::from_nanos(1),
            time::Duration::from_nanos(123_456_789),
            time::Duration::from_micros(1500),
        ] {
            assert_eq!(parse(Duration::from_std(d).as_str()), d);
        }
    }
}
