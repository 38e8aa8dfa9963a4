//! Scheduling: which feed is due when, within global and per-host limits on polls in flight.
//!
//! Each feed's next due time is persisted with its poll (`feeds.next_due_at`), so a restart or
//! a reload picks the schedule up where it was: no thundering herd of refetches, and a backoff
//! is not forgotten. The policy:
//! - after a success: the feed's interval, stretched (never shortened) by the server's cache
//!   lifetime (`Cache-Control: max-age`, `Expires`) or the feed's RSS `<ttl>` up to
//!   `max_interval`, never below `min_interval`; ±10% jitter;
//! - after a failure: the interval doubled per consecutive failure up to `max_backoff`, or the
//!   server's `Retry-After` (429/503) if later (also capped), ±10% jitter. A failing feed is
//!   never dropped: it keeps being tried at the capped backoff;
//! - after a 410 Gone: never again (until its URL changes in the config).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{error, info, warn};

use super::{DaemonError, FeedOutcome, MAX_IDLE, PassReport, Pipeline, Polled};
use crate::config::{DaemonConfig, FeedConfig};

/// A finished poll task: the feed's index in the config and what happened.
type PollResult = (usize, Result<Polled, DaemonError>);

/// Far enough to mean "not scheduled" (a gone feed) without overflowing `Instant`.
const NEVER: Duration = Duration::from_secs(100 * 365 * 86_400);

/// When to poll again after a success.
pub(super) fn after_success(
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
pub(super) fn after_failure(
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

impl Pipeline {
    /// When each feed is first due, from the stored schedule: a feed never polled is due now;
    /// one polled by a version that kept no schedule is due an interval after its last fetch.
    async fn initial_schedule(&self, feeds: &[FeedConfig]) -> Vec<Instant> {
        let store = self.store.clone();
        let states = match tokio::task::spawn_blocking(move || store.feed_states()).await {
            Ok(Ok(states)) => states,
            Ok(Err(e)) => {
                warn!("cannot read the stored schedule ({e}); polling every feed now");
                HashMap::new()
            }
            Err(e) => {
                warn!("cannot read the stored schedule ({e}); polling every feed now");
                HashMap::new()
            }
        };
        let now = Instant::now();
        let unix_now = chrono::Utc::now().timestamp();
        feeds
            .iter()
            .map(|feed| {
                let Some(state) = states.get(&feed.name).filter(|s| s.url == feed.url) else {
                    return now;
                };
                if state.gone_at.is_some() {
                    return now + NEVER;
                }
                let due = state.next_due_at.or_else(|| {
                    let last = state.last_fetch_at?;
                    Some(last.saturating_add(jittered(feed.interval, &feed.name).as_secs() as i64))
                });
                match due {
                    Some(due) => {
                        now + Duration::from_secs(due.saturating_sub(unix_now).max(0) as u64)
                    }
                    None => now,
                }
            })
            .collect()
    }

    pub(super) async fn schedule_loop(
        self: &Arc<Self>,
        mut shutdown: watch::Receiver<bool>,
        new_alerts: &Notify,
    ) {
        let feeds = self.config.feeds.clone();
        let permits = Arc::new(Semaphore::new(self.config.daemon.concurrency));
        let mut next_due: Vec<Instant> = self.initial_schedule(&feeds).await;
        let mut in_flight = vec![false; feeds.len()];
        let mut tasks: JoinSet<PollResult> = JoinSet::new();
        let mut task_feed: HashMap<tokio::task::Id, usize> = HashMap::new();
        loop {
            crate::service::scheduler_tick();
            if *shutdown.borrow() {
                break;
            }
            let now = Instant::now();
            for (index, feed) in feeds.iter().enumerate() {
                if in_flight[index] || next_due[index] > now {
                    continue;
                }
                in_flight[index] = true;
                let pipeline = Arc::clone(self);
                let permits = Arc::clone(&permits);
                let feed = feed.clone();
                let stopping = shutdown.clone();
                let handle = tasks.spawn(async move {
                    let _slots = pipeline.fetch_slots(&feed.url, &permits).await;
                    // Queued behind the concurrency limits when the stop came: don't start.
                    if *stopping.borrow() {
                        let not_started = Polled {
                            outcome: FeedOutcome::NotStarted,
                            next_due_at: None,
                            feed_events: 0,
                        };
                        return (index, Ok(not_started));
                    }
                    (index, pipeline.poll_feed(&feed).await)
                });
                task_feed.insert(handle.id(), index);
            }
            let wake = (0..feeds.len())
                .filter(|&i| !in_flight[i])
                .map(|i| next_due[i])
                .min()
                .unwrap_or(now + MAX_IDLE)
                .min(now + MAX_IDLE);
            tokio::select! {
                Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                    if let Some((index, due)) = self.finish_poll(joined, &mut task_feed, &feeds, new_alerts) {
                        in_flight[index] = false;
                        next_due[index] = due;
                    }
                }
                _ = tokio::time::sleep_until(wake) => {}
                _ = shutdown.changed() => {}
            }
        }
        if !tasks.is_empty() {
            info!("waiting for {} feed poll(s) in flight", tasks.len());
        }
        while let Some(joined) = tasks.join_next_with_id().await {
            self.finish_poll(joined, &mut task_feed, &feeds, new_alerts);
        }
    }

    /// Books a finished poll task; returns the index of its feed and when it is next due.
    fn finish_poll(
        &self,
        joined: Result<(tokio::task::Id, PollResult), tokio::task::JoinError>,
        task_feed: &mut HashMap<tokio::task::Id, usize>,
        feeds: &[FeedConfig],
        new_alerts: &Notify,
    ) -> Option<(usize, Instant)> {
        let feed_interval =
            |index: usize| Instant::now() + jittered(feeds[index].interval, &feeds[index].name);
        match joined {
            Ok((id, (index, polled))) => {
                task_feed.remove(&id);
                let unix_now = chrono::Utc::now().timestamp();
                let due = match &polled {
                    Ok(Polled {
                        outcome: FeedOutcome::Gone,
                        ..
                    }) => Instant::now() + NEVER,
                    Ok(Polled {
                        next_due_at: Some(due),
                        ..
                    }) => {
                        Instant::now()
                            + Duration::from_secs(due.saturating_sub(unix_now).max(0) as u64)
                    }
                    // Not recorded (a database error): try again on the feed's interval.
                    _ => feed_interval(index),
                };
                let events = polled.as_ref().map(|p| p.feed_events).unwrap_or(0);
                let mut report = PassReport::default();
                report.add(&feeds[index].name, polled.map(|p| p.outcome));
                if report.new_alerts > 0 || events > 0 {
                    new_alerts.notify_one();
                }
                Some((index, due))
            }
            Err(e) => {
                let index = task_feed.remove(&e.id())?;
                let name = feeds[index].name.as_str();
                error!(feed = %name, "polling feed {name:?} panicked: {e}; it will be polled again on its interval");
                Some((index, feed_interval(index)))
            }
        }
    }
}

/// `interval` ± 10%, so feeds added together do not stay in lockstep forever.
fn jittered(interval: Duration, feed: &str) -> Duration {
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
