//! `digest_at = ["08:00", "17:00"]` with `timezone = "Europe/Berlin"`: digests sent at fixed
//! times of day in a time zone (docs/sinks.md, "Digests").
//!
//! Times are wall-clock times in the zone, so a digest at 08:00 stays at 08:00 across daylight
//! saving changes. On the day the clocks go forward, a time in the skipped hour (02:30 in
//! Berlin) is sent when the clocks reach the other side of the gap (03:00); on the day they go
//! back, a time that happens twice (02:30) is sent once, at its first occurrence.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The times of day at which a sink's digest goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestSchedule {
    /// Sorted, without duplicates; never empty.
    pub times: Vec<NaiveTime>,
    pub zone: Tz,
}

impl DigestSchedule {
    /// A time of day as written in `digest_at`: `HH:MM` or `HH:MM:SS`, 24-hour clock.
    pub fn parse_time(text: &str) -> Option<NaiveTime> {
        let text = text.trim();
        NaiveTime::parse_from_str(text, "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(text, "%H:%M:%S"))
            .ok()
    }

    /// An IANA zone name (`Europe/Berlin`, `UTC`), or the known names closest to it.
    pub fn parse_zone(text: &str) -> Result<Tz, Vec<&'static str>> {
        if let Ok(zone) = text.trim().parse::<Tz>() {
            return Ok(zone);
        }
        let wanted = text.trim().to_ascii_lowercase();
        let mut close: Vec<(f64, &'static str)> = chrono_tz::TZ_VARIANTS
            .iter()
            .map(|tz| {
                (
                    strsim::jaro_winkler(&wanted, &tz.name().to_ascii_lowercase()),
                    tz.name(),
                )
            })
            .filter(|(score, _)| *score > 0.85)
            .collect();
        close.sort_by(|a, b| b.0.total_cmp(&a.0));
        Err(close.into_iter().take(3).map(|(_, name)| name).collect())
    }

    /// The first scheduled instant strictly after `after` (unix seconds).
    pub fn next_after(&self, after: i64) -> i64 {
        let Some(after_utc) = DateTime::<Utc>::from_timestamp(after, 0) else {
            return after;
        };
        let today = after_utc.with_timezone(&self.zone).date_naive();
        // Yesterday's late times can fall after `after` near a zone's date line; three days
        // always hold the next occurrence of every time.
        (-1..=2)
            .filter_map(|offset| today.checked_add_signed(Duration::days(offset)))
            .flat_map(|day| self.times.iter().map(move |time| (day, *time)))
            .filter_map(|(day, time)| self.instant(day, time))
            .filter(|&at| at > after)
            .min()
            // Not reached: some time of the next days always resolves.
            .unwrap_or(after + 86_400)
    }

    /// `time` on `day` in the zone, as unix seconds: the first of two when the clocks go back,
    /// the end of the gap when they go forward.
    fn instant(&self, day: NaiveDate, time: NaiveTime) -> Option<i64> {
        let local = day.and_time(time);
        if let Some(at) = self.zone.from_local_datetime(&local).earliest() {
            return Some(at.timestamp());
        }
        // In a gap: the first minute that exists after it (gaps are at most a few hours).
        (1..=180)
            .map(|minutes| local + Duration::minutes(minutes))
            .find_map(|later| self.zone.from_local_datetime(&later).earliest())
            .map(|at| {
                let at = at.timestamp();
                at - at.rem_euclid(60)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(times: &[&str], zone: &str) -> DigestSchedule {
        DigestSchedule {
            times: times
                .iter()
                .map(|t| DigestSchedule::parse_time(t).expect("time"))
                .collect(),
            zone: zone.parse().expect("zone"),
        }
    }

    fn utc(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text)
            .expect("time")
            .timestamp()
    }

    fn show(at: i64) -> String {
        DateTime::<Utc>::from_timestamp(at, 0)
            .expect("time")
            .to_rfc3339()
    }

    #[test]
    fn times_of_day_in_the_zone() {
        let s = schedule(&["08:00", "17:00"], "Europe/Berlin");
        // 07:30 in Berlin (CET, UTC+1) → 08:00 the same day.
        assert_eq!(
            show(s.next_after(utc("2026-01-15T06:30:00Z"))),
            "2026-01-15T07:00:00+00:00"
        );
        // Exactly 08:00: the next is 17:00, not 08:00 again.
        assert_eq!(
            show(s.next_after(utc("2026-01-15T07:00:00Z"))),
            "2026-01-15T16:00:00+00:00"
        );
        // After 17:00 → 08:00 the next day.
        assert_eq!(
            show(s.next_after(utc("2026-01-15T16:00:01Z"))),
            "2026-01-16T07:00:00+00:00"
        );
        // Auckland in January is UTC+13: 00:30 on the 16th is 11:30 UTC on the 15th.
        let s = schedule(&["00:30"], "Pacific/Auckland");
        assert_eq!(
            show(s.next_after(utc("2026-01-15T11:00:00Z"))),
            "2026-01-15T11:30:00+00:00"
        );
    }

    #[test]
    fn the_spring_change_keeps_wall_clock_times_and_sends_a_skipped_time_after_the_gap() {
        // Berlin, 2026-03-29: 02:00 CET becomes 03:00 CEST.
        let s = schedule(&["08:00", "17:00"], "Europe/Berlin");
        // 17:30 CET on the 28th → 08:00 CEST on the 29th, which is 06:00 UTC (not 07:00).
        assert_eq!(
            show(s.next_after(utc("2026-03-28T16:30:00Z"))),
            "2026-03-29T06:00:00+00:00"
        );
        assert_eq!(
            show(s.next_after(utc("2026-03-29T06:00:00Z"))),
            "2026-03-29T15:00:00+00:00"
        );
        // 02:30 does not exist that night: sent at 03:00 CEST (01:00 UTC), once.
        let s = schedule(&["02:30"], "Europe/Berlin");
        let at = s.next_after(utc("2026-03-28T23:00:00Z"));
        assert_eq!(show(at), "2026-03-29T01:00:00+00:00");
        assert_eq!(show(s.next_after(at)), "2026-03-30T00:30:00+00:00");
    }

    #[test]
    fn the_autumn_change_keeps_wall_clock_times_and_sends_a_repeated_time_once() {
        // Berlin, 2026-10-25: 03:00 CEST becomes 02:00 CET.
        let s = schedule(&["08:00"], "Europe/Berlin");
        // 08:00 CEST on the 24th is 06:00 UTC; 08:00 CET on the 25th is 07:00 UTC.
        assert_eq!(
            show(s.next_after(utc("2026-10-24T06:00:00Z"))),
            "2026-10-25T07:00:00+00:00"
        );
        // 02:30 happens twice (00:30 UTC in CEST, 01:30 UTC in CET): once, the first time.
        let s = schedule(&["02:30"], "Europe/Berlin");
        let at = s.next_after(utc("2026-10-24T23:00:00Z"));
        assert_eq!(show(at), "2026-10-25T00:30:00+00:00");
        assert_eq!(show(s.next_after(at)), "2026-10-26T01:30:00+00:00");
    }

    #[test]
    fn times_and_zones_as_written() {
        assert!(DigestSchedule::parse_time("08:00").is_some());
        assert!(DigestSchedule::parse_time("17:05:30").is_some());
        assert!(DigestSchedule::parse_time("25:00").is_none());
        assert!(DigestSchedule::parse_time("8am").is_none());
        assert!(DigestSchedule::parse_zone("Europe/Berlin").is_ok());
        assert_eq!(
            DigestSchedule::parse_zone("Europe/Berlim")
                .err()
                .unwrap_or_default()
                .first(),
            Some(&"Europe/Berlin")
        );
    }
}
