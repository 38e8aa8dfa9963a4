//! The scheduler: which feed is due when, within global and per-host limits on polls in
//! flight. When a polled feed is next due is the poll's own last step
//! (`crate::poll::schedule`); this loop only keeps to it.
//!
//! Each feed's next due time is persisted with its poll (`feeds.next_due_at`), so a restart or
//! a reload picks the schedule up where it was: no thundering herd of refetches, and a backoff
//! is not forgotten.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{error, info, warn};

use super::{DaemonError, FeedOutcome, MAX_IDLE, PassReport, Pipeline, Polled};
use crate::config::FeedConfig;
use crate::poll::schedule::jittered;

/// A finished poll task: the feed's index in the config and what happened.
type PollResult = (usize, Result<Polled, DaemonError>);

/// Far enough to mean "not scheduled" (a gone feed) without overflowing `Instant`.
const NEVER: Duration = Duration::from_secs(100 * 365 * 86_400);

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
                    let slots = pipeline.fetch_slots(&feed.url, &permits).await;
                    // Queued behind the concurrency limits when the stop came: don't start.
                    if *stopping.borrow() {
                        let not_started = Polled {
                            outcome: FeedOutcome::NotStarted,
                            next_due_at: None,
                            feed_events: 0,
                            texts: Vec::new(),
                        };
                        return (index, Ok(not_started));
                    }
                    (index, pipeline.poll_feed(&feed, slots).await)
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
