//! How Go's `encoding/json` treats the shapes the release JSON uses, as serde
//! helpers: `null` for any field reads as its zero value, `[]byte` is a
//! base64 string (or `null` for a nil slice), and timestamps keep the exact
//! text Go wrote.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Reads `null` (or an absent field, with `#[serde(default)]`) as the zero
/// value, as Go does for every field.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Go's `[]byte` field: standard base64 with padding, `null` for nil.
pub(crate) mod bytes_opt {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    pub(crate) fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_str(&STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(text) => STANDARD
                .decode(text.as_bytes())
                .map(Some)
                .map_err(|e| serde::de::Error::custom(format!("invalid base64 bytes: {e}"))),
        }
    }
}

/// A Go `time.Time` as the JSON text Go wrote (RFC 3339 with up to nine
/// fraction digits, `time.RFC3339Nano`). Kept as text so that a record
/// decodes and re-encodes byte for byte, whatever offset its writer used.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GoTime(pub String);

/// Go's zero `time.Time`, which Go writes for a zero time without `omitzero`.
pub const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

impl Default for GoTime {
    fn default() -> Self {
        GoTime(GO_ZERO_TIME.to_owned())
    }
}

impl GoTime {
    /// The current time as Go's `time.Now()` in UTC would be written.
    pub fn now() -> Self {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let seconds = i64::try_from(since.as_secs()).unwrap_or(i64::MAX);
        Self::from_unix(seconds, since.subsec_nanos())
    }

    /// `seconds` and `nanos` since the epoch as Go's `time.RFC3339Nano` writes
    /// a UTC time: trailing zeros of the fraction dropped, no fraction at all
    /// when it is zero. Out of Go's range (years 0000-9999) gives the zero time.
    pub fn from_unix(seconds: i64, nanos: u32) -> Self {
        let Some(base) = ferroflux_gocompat::time::format_rfc3339(seconds) else {
            return Self::default();
        };
        let nanos = nanos % 1_000_000_000;
        if nanos == 0 {
            return GoTime(base);
        }
        let fraction = format!("{nanos:09}");
        let fraction = fraction.trim_end_matches('0');
        let stem = base.strip_suffix('Z').unwrap_or(&base);
        GoTime(format!("{stem}.{fraction}Z"))
    }

    /// Whether this is Go's zero time (or empty, which Helm reads as zero).
    pub fn is_zero(&self) -> bool {
        self.0.is_empty() || self.0 == GO_ZERO_TIME
    }

    /// Seconds since the epoch, `None` when the text is not RFC 3339.
    pub fn unix_seconds(&self) -> Option<i64> {
        ferroflux_gocompat::time::parse_rfc3339(&self.0)
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An optional timestamp with Helm's reading rule: `null` and `""` are unset.
pub(crate) mod time_opt {
    use super::*;

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<GoTime>, D::Error> {
        Ok(Option::<String>::deserialize(d)?
            .filter(|s| !s.is_empty())
            .map(GoTime))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_as_go_rfc3339nano() {
        assert_eq!(GoTime::from_unix(0, 0).0, "1970-01-01T00:00:00Z");
        assert_eq!(
            GoTime::from_unix(1_796_512_643, 519_076_127).0,
            "2026-12-05T23:17:23.519076127Z"
        );
        assert_eq!(
            GoTime::from_unix(1_796_512_643, 500_000_000).0,
            "2026-12-05T23:17:23.5Z"
        );
        assert_eq!(GoTime::from_unix(i64::MAX, 0).0, GO_ZERO_TIME);
        let now = GoTime::now();
        assert!(
            now.unix_seconds().is_some_and(|s| s > 1_700_000_000),
            "{now:?}"
        );
        assert!(GoTime::default().is_zero());
    }
}
