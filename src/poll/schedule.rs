//! The last stage of a poll: when the feed is next due. The policy:
//! - after a success: the feed's interval, stretched (never shortened) by the server's cache
//!   lifetime (`Cache-Control: max-age`, `Expires`) or the feed's RSS `<ttl>` up to
//!   `max_interval`, never below `min_interval`; ±10% jitter;
//! - after a failure: the interval doubled per consecutive failure up to `max_backoff`, or the
//!   server's `Retry-After` (429/503) if later (also capped), ±10% jitter. A failing feed is
//!   never dropped: it keeps being tried at the capped backoff;
//! - after a 410 Gone: never again (until its URL changes in the config).

use std::time::Duration;

use crate::config::{DaemonConfig, FeedConfig};

/// When to poll again after a success.
pub fn after_success(
    feed: &FeedConfig,
    daemon: &DaemonConfig,
    fresh_for: Option<Duration>,
    ttl: Option<Duration>,
) -> Duration {
    let hint = fresh_for.into_iter().chain(ttl).max();
    let interval = match hint {
        Some(hint) => feed.interval.max(hint.min(daemon.max_interval)),
        None => feed.interval,
    };
    jittered(interval.max(daemon.min_interval), &feed.name)
}

/// When to try again after the `failures`-th consecutive failure.
pub fn after_failure(
    feed: &FeedConfig,
    daemon: &DaemonConfig,
    failures: u32,
    retry_after: Option<Duration>,
) -> Duration {
    // A feed whose own interval is longer than the cap is never polled more often than that.
    let cap = daemon.max_backoff.max(feed.interval);
    let doublings = failures.saturating_sub(1).min(30);
    let backoff = feed.interval.saturating_mul(1 << doublings).min(cap);
    let delay = jittered(backoff, &feed.name);
    match retry_after {
        Some(wait) => delay.max(wait.min(cap)),
        None => delay,
    }
}

/// `interval` ± 10%, so feeds added together do not stay in lockstep forever.
pub(crate) fn jittered(interval: Duration, feed: &str) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let seed = feed.bytes().fold(u64::from(nanos), |h, b| {
        h.wrapping_mul(31).wrapping_add(u64::from(b))
    });
    let spread = interval.as_millis() as u64 / 10;
    if spread == 0 {
        return interval;
    }
    let offset = seed % (2 * spread + 1);
    Duration::from_millis(interval.as_millis() as u64 - spread + offset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn setup(daemon: &str, feed: &str) -> (FeedConfig, DaemonConfig) {
        let toml = format!(
            "[daemon]\n{daemon}\n[[feed]]\nname = \"wire\"\nurl = \"https://news.example.org/rss\"\n{feed}\n"
        );
        let config = crate::config::Config::from_source(Path::new("t.toml"), &toml)
            .unwrap_or_else(|e| panic!("{e}"));
        (config.feeds[0].clone(), config.daemon.clone())
    }

    fn about(actual: Duration, expected_secs: u64) -> bool {
        let secs = actual.as_secs_f64();
        let expected = expected_secs as f64;
        secs >= expected * 0.9 - 0.01 && secs <= expected * 1.1 + 0.01
    }

    #[test]
    fn backoff_doubles_per_failure_up_to_the_cap() {
        let (feed, daemon) = setup("poll_interval = \"5m\"\nmax_backoff = \"1h\"", "");
        let expected = [300, 600, 1200, 2400, 3600, 3600, 3600];
        for (i, want) in expected.iter().enumerate() {
            let got = after_failure(&feed, &daemon, i as u32 + 1, None);
            assert!(
                about(got, *want),
                "failure {}: {got:?}, want ~{want}s",
                i + 1
            );
        }
        // Thousands of failures later it is still tried, at the cap.
        assert!(about(after_failure(&feed, &daemon, 10_000, None), 3600));
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let (feed, daemon) = setup("poll_interval = \"5m\"\nmax_backoff = \"1h\"", "");
        let got = after_failure(&feed, &daemon, 1, Some(Duration::from_secs(1800)));
        assert_eq!(got, Duration::from_secs(1800));
        let got = after_failure(&feed, &daemon, 1, Some(Duration::from_secs(86_400)));
        assert_eq!(got, Duration::from_secs(3600));
        // A short Retry-After does not undercut the backoff.
        let got = after_failure(&feed, &daemon, 3, Some(Duration::from_secs(1)));
        assert!(about(got, 1200), "{got:?}");
    }

    #[test]
    fn a_slow_feed_is_never_polled_faster_than_its_interval_when_failing() {
        let (feed, daemon) = setup("max_backoff = \"1h\"", "interval = \"1d\"");
        assert!(about(after_failure(&feed, &daemon, 5, None), 86_400));
    }

    #[test]
    fn cache_hints_lengthen_within_max_interval_and_never_shorten() {
        let (feed, daemon) = setup("poll_interval = \"10m\"\nmax_interval = \"2h\"", "");
        let hint = |s: u64| Some(Duration::from_secs(s));
        assert!(about(after_success(&feed, &daemon, None, None), 600));
        assert!(about(after_success(&feed, &daemon, hint(60), None), 600));
        assert!(about(after_success(&feed, &daemon, hint(3600), None), 3600));
        assert!(about(after_success(&feed, &daemon, None, hint(5400)), 5400));
        assert!(about(
            after_success(&feed, &daemon, hint(86_400), hint(60)),
            7200
        ));
    }
}
