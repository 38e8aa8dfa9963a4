//! When to try a failed delivery again, and when to give up.
//!
//! The schedule follows Standard Webhooks / Svix (seconds, then minutes, then hours), with
//! jitter so that many alerts failing together do not retry in lockstep.

use sha2::{Digest, Sha256};

/// Delay before attempt n+1 after n failed attempts (index n-1), in seconds.
///
/// Svix retries after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. A receiver blip of 20 s (a
/// deploy, a restart) is the common failure, and with Svix's steps it costs five minutes, so
/// seconds-to-minutes steps come first (5 s, 30 s, 2 min, 5 min); then Svix's hours, and daily.
const SCHEDULE: &[i64] = &[
    5,
    30,
    2 * 60,
    5 * 60,
    30 * 60,
    2 * 3600,
    5 * 3600,
    10 * 3600,
    14 * 3600,
    20 * 3600,
    24 * 3600,
];

/// The longest a receiver's `Retry-After` holds a delivery back. A receiver may ask for a day
/// (a misconfigured proxy, a mistaken header): watchword waits an hour, tries again, and logs
/// what was asked for, rather than holding the sink's alerts for a day or giving them up.
pub const MAX_RETRY_AFTER_SECS: i64 = 3600;

/// After this long since the alert was queued, a delivery that still fails is dead (the
/// default of a sink's `give_up_after`).
pub const GIVE_UP_AFTER_SECS: i64 = 3 * 24 * 3600;

/// When to give up, per sink (`give_up_after`, `client_error_attempts`, `client_error_grace`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Delays between attempts, in seconds; the last repeats.
    pub schedule: Vec<i64>,
    pub give_up_after_secs: i64,
    /// A 4xx other than 408/410/429 is probably the receiver's config, but a proxy answering
    /// 404 or 403 during a deploy looks the same: keep trying this many times...
    pub client_error_attempts: u32,
    /// ... and never give up on a client error sooner than this after the alert was queued,
    /// so that a few quick manual passes (`watchword once`) cannot exhaust the attempts.
    pub client_error_grace_secs: i64,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            schedule: SCHEDULE.to_vec(),
            give_up_after_secs: GIVE_UP_AFTER_SECS,
            client_error_attempts: 5,
            client_error_grace_secs: 3600,
        }
    }
}

impl Policy {
    pub fn of(sink: &crate::config::SinkConfig) -> Policy {
        let secs = |d: std::time::Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        let schedule: Vec<i64> = sink
            .retry_schedule
            .iter()
            .map(|d| secs(*d).max(1))
            .collect();
        Policy {
            schedule: if schedule.is_empty() {
                SCHEDULE.to_vec()
            } else {
                schedule
            },
            give_up_after_secs: secs(sink.give_up_after),
            client_error_attempts: sink.client_error_attempts,
            client_error_grace_secs: secs(sink.client_error_grace),
        }
    }
}

/// How a failed attempt should be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Timeouts, connection errors, 5xx, 408, 429: the receiver may recover.
    Transient,
    /// Other 4xx and 3xx.
    Client,
    /// 410 Gone: the receiver says this hook no longer exists.
    Gone,
    /// Refused for good, and trying the same again cannot change that (an SMTP 5xx to a
    /// recipient or to the message): dead at once, like a mail client's failed send.
    Permanent,
}

/// When to retry after `attempts` failed attempts (counting the one that just failed), or
/// `None` to give up. `retry_after` is the receiver's own hint, in seconds.
pub fn next_attempt(
    policy: &Policy,
    key: &str,
    failure: Failure,
    attempts: u32,
    created_at: i64,
    now: i64,
    retry_after: Option<i64>,
) -> Option<i64> {
    match failure {
        Failure::Gone | Failure::Permanent => return None,
        Failure::Client
            if attempts >= policy.client_error_attempts
                && now - created_at >= policy.client_error_grace_secs =>
        {
            return None;
        }
        _ => {}
    }
    let schedule = if policy.schedule.is_empty() {
        SCHEDULE
    } else {
        &policy.schedule[..]
    };
    let index = (attempts.max(1) as usize - 1).min(schedule.len() - 1);
    let base = schedule[index];
    let delay = (base + jitter(key, attempts, base)).max(1);
    // The receiver knows its own limits better than our schedule does.
    let delay = retry_after.map_or(delay, |hint| delay.max(hint.clamp(0, MAX_RETRY_AFTER_SECS)));
    let at = now + delay;
    if at - created_at > policy.give_up_after_secs {
        return None;
    }
    Some(at)
}

/// ±10% of `base`, derived from the alert and attempt so it needs no random source and a
/// given alert's schedule is reproducible in tests.
fn jitter(key: &str, attempts: u32, base: i64) -> i64 {
    let spread = base / 10;
    if spread == 0 {
        return 0;
    }
    let digest = Sha256::new()
        .chain_update(key.as_bytes())
        .chain_update(attempts.to_le_bytes())
        .finalize();
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    let r = u64::from_le_bytes(bytes) % (2 * spread as u64 + 1);
    r as i64 - spread
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_grows_and_stays_within_jitter() {
        let mut previous = 0;
        for attempts in 1..=9 {
            let at = next_attempt(
                &Policy::default(),
                "ww_a",
                Failure::Transient,
                attempts,
                0,
                0,
                None,
            )
            .expect("within three days");
            let base = SCHEDULE[attempts as usize - 1];
            assert!((at - base).abs() <= base / 10, "attempt {attempts}: {at}");
            assert!(at > previous);
            previous = at;
        }
    }

    #[test]
    fn gives_up_after_three_days() {
        let now = GIVE_UP_AFTER_SECS - 10;
        assert_eq!(
            next_attempt(
                &Policy::default(),
                "ww_a",
                Failure::Transient,
                5,
                0,
                now,
                None
            ),
            None
        );
    }

    #[test]
    fn client_errors_stop_early_and_gone_stops_at_once() {
        assert!(next_attempt(&Policy::default(), "ww_a", Failure::Client, 1, 0, 0, None).is_some());
        // Five quick failures within the first hour are not enough to give up...
        assert!(
            next_attempt(&Policy::default(), "ww_a", Failure::Client, 5, 0, 60, None).is_some()
        );
        // ... five failures over more than an hour are.
        assert_eq!(
            next_attempt(
                &Policy::default(),
                "ww_a",
                Failure::Client,
                5,
                0,
                3600,
                None
            ),
            None
        );
        assert_eq!(
            next_attempt(&Policy::default(), "ww_a", Failure::Gone, 1, 0, 0, None),
            None
        );
    }

    #[test]
    fn retry_after_is_honoured() {
        let at = next_attempt(
            &Policy::default(),
            "ww_a",
            Failure::Transient,
            1,
            0,
            100,
            Some(120),
        )
        .expect("retry");
        assert_eq!(at, 220);
    }

    #[test]
    fn a_day_long_retry_after_waits_an_hour_and_gives_nothing_up() {
        let policy = Policy {
            give_up_after_secs: 2 * 3600,
            ..Policy::default()
        };
        let at = next_attempt(&policy, "ww_a", Failure::Transient, 1, 0, 0, Some(86_400))
            .expect("still retried, not dead");
        assert_eq!(at, MAX_RETRY_AFTER_SECS);
    }
}
