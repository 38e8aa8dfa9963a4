//! The one convention for times in machine output (payloads, `--json`): RFC 3339 in UTC,
//! whole seconds, `Z` (`2026-12-04T08:50:00Z`). The database keeps unix seconds; these turn
//! them into that text at the edge, as serde `serialize_with` helpers.

use chrono::{DateTime, SecondsFormat, Utc};

/// `secs` (unix seconds) as RFC 3339 UTC; a time out of chrono's range (never a real one)
/// as the epoch, rather than a failure to serialize a whole listing.
pub fn rfc3339(secs: i64) -> String {
    DateTime::<Utc>::from_timestamp(secs, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `#[serde(serialize_with = "crate::model::time::serialize")]` on an `i64` of unix seconds.
pub fn serialize<S: serde::Serializer>(secs: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*secs))
}

/// The same for an `Option<i64>`: `null` stays `null`.
pub fn serialize_option<S: serde::Serializer>(secs: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
    match secs {
        Some(secs) => s.serialize_str(&rfc3339(*secs)),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn unix_seconds_become_rfc3339_utc() {
        assert_eq!(super::rfc3339(1_800_000_000), "2027-01-15T08:00:00Z");
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
