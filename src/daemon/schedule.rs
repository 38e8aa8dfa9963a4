//! Scheduling: which feed is due when, with a global limit on polls in flight.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{error, info};

use super::{DaemonError, FeedOutcome, MAX_IDLE, PassReport, Pipeline};
use crate::config::FeedConfig;

/// A finished poll task: the feed's index in the config and what happened.
type PollResult = (usize, Result<FeedOutcome, DaemonError>);

impl Pipeline {
    pub(super) async fn schedule_loop(
        self: &Arc<Self>,
        mut shutdown: watch::Receiver<bool>,
        new_alerts: &Notify,
    ) {
        let feeds = self.config.feeds.clone();
        let permits = Arc::new(Semaphore::new(self.config.daemon.concurrency));
        let mut next_due: Vec<Instant> = vec![Instant::now(); feeds.len()];
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
                    let _permit = permits.acquire_owned().await.ok();
                    // Queued behind the concurrency limit when the stop came: don't start.
                    if *stopping.borrow() {
                        return (index, Ok(FeedOutcome::NotStarted));
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
                    let index = self.finish_poll(joined, &mut task_feed, &feeds, new_alerts);
                    if let Some(index) = index {
                        in_flight[index] = false;
                        next_due[index] = Instant::now() + jittered(feeds[index].interval, &feeds[index].name);
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

    /// Books a finished poll task; returns the index of its feed.
    fn finish_poll(
        &self,
        joined: Result<(tokio::task::Id, PollResult), tokio::task::JoinError>,
        task_feed: &mut HashMap<tokio::task::Id, usize>,
        feeds: &[FeedConfig],
        new_alerts: &Notify,
    ) -> Option<usize> {
        match joined {
            Ok((id, (index, outcome))) => {
                task_feed.remove(&id);
                let mut report = PassReport::default();
                report.add(&feeds[index].name, outcome);
                if report.new_alerts > 0 {
                    new_alerts.notify_one();
                }
                Some(index)
            }
            Err(e) => {
                let index = task_feed.remove(&e.id());
                let name = index.map(|i| feeds[i].name.as_str()).unwrap_or("?");
                error!(feed = %name, "polling feed {name:?} panicked: {e}; it will be polled again on its interval");
                index
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
