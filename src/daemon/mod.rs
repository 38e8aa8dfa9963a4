//! The pipeline and its scheduler: which feeds are due, fetching them, matching new items,
//! recording them with their alerts, and handing the outbox to the sinks.
//!
//! SQLite work and matching run on the blocking pool (`spawn_blocking`) so they never stall
//! the runtime's network tasks.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{debug, error, info, warn};

use crate::alert::{self, AlertError, Deliverer};
use crate::config::{Config, FeedConfig};
use crate::feed::{self, FetchError, FetchLimits, Fetcher, Item};
use crate::store::{
    AttemptOutcome, FetchRecord, NewAlert, NewItem, RecordSummary, Store, StoreError,
};

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Alert(#[from] AlertError),
    #[error("cannot build the HTTP client for feeds: {0}")]
    Fetcher(#[source] FetchError),
    #[error("a background task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Deliveries handled per delivery pass; the rest wait for the next pass.
const DELIVERY_BATCH: usize = 1000;
/// The longest the scheduler sleeps, so a clock jump or a missed wake-up costs little.
const MAX_IDLE: Duration = Duration::from_secs(60);

/// A finished poll task: the feed's index in the config and what happened.
type PollResult = (usize, Result<FeedOutcome, DaemonError>);

/// Everything one pass needs, shared by the fetch tasks.
pub struct Pipeline {
    config: Arc<Config>,
    store: Store,
    fetcher: Fetcher,
    deliverer: Deliverer,
}

/// What happened to one feed in one pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedOutcome {
    Recorded(RecordSummary),
    /// Fetch or parse failed; the reason is in the store and the log.
    Failed(String),
    /// Shutdown began before the poll could start.
    NotStarted,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    pub feeds_ok: usize,
    pub feeds_failed: usize,
    pub new_items: usize,
    pub new_alerts: usize,
    /// Feeds whose results could not be written: the database is in trouble.
    pub store_errors: usize,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    pub delivered: usize,
    pub retrying: usize,
    pub dead: usize,
    pub skipped: usize,
}

impl Pipeline {
    pub fn new(config: Arc<Config>, store: Store) -> Result<Pipeline, DaemonError> {
        let daemon = &config.daemon;
        let fetcher = Fetcher::new(
            &daemon.user_agent,
            FetchLimits {
                timeout: daemon.fetch_timeout,
                max_body_bytes: daemon.max_body_size,
            },
        )
        .map_err(DaemonError::Fetcher)?;
        let deliverer = Deliverer::new(&config.sinks, &daemon.user_agent, daemon.delivery_timeout)?;
        Ok(Pipeline {
            config,
            store,
            fetcher,
            deliverer,
        })
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// Fetches, parses, matches and records one feed. Errors of the feed itself (network,
    /// HTTP, parse) are recorded against the feed and returned as `FeedOutcome::Failed`; only
    /// a database failure is an `Err`.
    pub async fn poll_feed(&self, feed: &FeedConfig) -> Result<FeedOutcome, DaemonError> {
        let started = std::time::Instant::now();
        let body = self.fetcher.fetch(&feed.url).await;
        let store = self.store.clone();
        let config = Arc::clone(&self.config);
        let feed_config = feed.clone();
        // Parsing (HTML to text of up to max_body_size bytes), matching and SQLite are CPU or
        // disk work: off the runtime, in one go.
        let (items, result) = tokio::task::spawn_blocking(move || {
            let now = Utc::now();
            let parsed = body.map_err(|e| e.to_string()).and_then(|body| {
                // Relative item links resolve against the feed's own URL.
                let base = feed_config
                    .url
                    .starts_with("http")
                    .then_some(feed_config.url.as_str());
                feed::parse_with_base(&feed_config.name, base, &body).map_err(|e| e.to_string())
            });
            match parsed {
                Ok(items) => {
                    let count = items.len();
                    let recorded = record_items(&store, &config, &feed_config, items, now);
                    (count, recorded.map(Ok))
                }
                Err(reason) => {
                    let record = FetchRecord {
                        feed: feed_config.name.clone(),
                        url: feed_config.url.clone(),
                        at: now.timestamp(),
                        error: Some(reason.clone()),
                        items: Vec::new(),
                    };
                    (0, store.record_fetch(&record).map(|_| Err(reason)))
                }
            }
        })
        .await?;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match result? {
            Ok(summary) => {
                // Quiet when nothing changed: with thousands of feeds, one line per poll
                // would drown the lines that matter.
                if summary.new_items > 0 {
                    info!(
                        feed = %feed.name,
                        items,
                        new_items = summary.new_items,
                        new_alerts = summary.new_alerts,
                        elapsed_ms,
                        "feed polled"
                    );
                } else {
                    debug!(feed = %feed.name, items, elapsed_ms, "feed polled: nothing new");
                }
                Ok(FeedOutcome::Recorded(summary))
            }
            Err(reason) => {
                warn!(
                    feed = %feed.name,
                    url = %feed::redact_url(&feed.url),
                    "feed {:?} failed: {reason}; will retry on the next poll",
                    feed.name
                );
                Ok(FeedOutcome::Failed(reason))
            }
        }
    }

    /// Polls `feeds` concurrently, at most `daemon.concurrency` at a time, and waits for all.
    pub async fn poll_feeds(self: &Arc<Self>, feeds: &[FeedConfig]) -> PassReport {
        let permits = Arc::new(Semaphore::new(self.config.daemon.concurrency));
        let mut tasks = JoinSet::new();
        for feed in feeds.iter().cloned() {
            let pipeline = Arc::clone(self);
            let permits = Arc::clone(&permits);
            tasks.spawn(async move {
                // The semaphore is never closed, so acquiring cannot fail; if it ever did,
                // polling without a permit is the lesser evil.
                let _permit = permits.acquire_owned().await.ok();
                let outcome = pipeline.poll_feed(&feed).await;
                (feed.name, outcome)
            });
        }
        let mut report = PassReport::default();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((name, outcome)) => report.add(&name, outcome),
                Err(e) => {
                    error!("a feed task panicked or was cancelled: {e}");
                    report.feeds_failed += 1;
                }
            }
        }
        report
    }

    /// Sends what is owed to the configured sinks, oldest first, until nothing due is left
    /// or `stop` turns true (checked between deliveries, so shutdown waits for one request at
    /// most). With `include_future` the retry schedule is ignored (`watchword once`).
    ///
    /// When a sink fails, its remaining deliveries are deferred to the same retry time and it
    /// is not tried again in this pass: a receiver that is down costs one timeout per retry,
    /// not one per pending alert.
    pub async fn deliver_due(
        &self,
        include_future: bool,
        stop: &watch::Receiver<bool>,
    ) -> Result<DeliveryReport, DaemonError> {
        let mut report = DeliveryReport::default();
        let mut active = self.deliverer.sink_names();
        let mut released: HashSet<String> = HashSet::new();
        let store = self.store.clone();
        let expired = tokio::task::spawn_blocking(move || {
            store.expire_deliveries(Utc::now().timestamp() - alert::retry::GIVE_UP_AFTER_SECS)
        })
        .await??;
        if expired > 0 {
            report.dead += expired;
            error!(
                "{expired} delivery(ies) gave up: their receivers failed for the whole retry window"
            );
        }
        loop {
            if active.is_empty() || *stop.borrow() {
                return Ok(report);
            }
            let store = self.store.clone();
            let now = Utc::now().timestamp();
            let sinks = active.clone();
            let due = tokio::task::spawn_blocking(move || {
                store.due_deliveries(now, include_future, DELIVERY_BATCH, &sinks)
            })
            .await??;
            let full_batch = due.len() == DELIVERY_BATCH;
            let released_before = released.len();
            if due.is_empty() {
                return Ok(report);
            }
            for delivery in due {
                if *stop.borrow() {
                    return Ok(report);
                }
                if !active.contains(&delivery.sink) {
                    report.skipped += 1;
                    continue;
                }
                let Some(outcome) = self.deliverer.attempt(&delivery).await else {
                    // Unreachable in practice: `active` holds configured sinks only.
                    active.retain(|s| s != &delivery.sink);
                    report.skipped += 1;
                    continue;
                };
                let now = Utc::now().timestamp();
                let sink = self.deliverer.describe(&delivery.sink);
                let mut defer_until = None;
                let mut release = false;
                match &outcome {
                    AttemptOutcome::Delivered { .. } => {
                        report.delivered += 1;
                        release = released.insert(delivery.sink.clone());
                        info!(sink = %delivery.sink, alert_id = %delivery.alert_id, rule = %delivery.rule, "alert delivered to {sink}");
                    }
                    AttemptOutcome::Retry {
                        error,
                        next_attempt_at,
                        ..
                    } => {
                        report.retrying += 1;
                        active.retain(|s| s != &delivery.sink);
                        defer_until = Some(*next_attempt_at);
                        let when = DateTime::<Utc>::from_timestamp(*next_attempt_at, 0)
                            .map(|t| t.to_rfc3339())
                            .unwrap_or_default();
                        warn!(sink = %delivery.sink, alert_id = %delivery.alert_id, "delivery to {sink} failed: {error}; retrying at {when}");
                    }
                    AttemptOutcome::Dead { error, .. } => {
                        report.dead += 1;
                        // Whatever made it give up (410, a receiver down for days) is likely
                        // to hold for the sink's next alert too: leave those for a later pass.
                        active.retain(|s| s != &delivery.sink);
                        error!(sink = %delivery.sink, alert_id = %delivery.alert_id, "delivery to {sink} failed: {error}; giving up (dead letter)");
                    }
                }
                let store = self.store.clone();
                let (alert_id, sink_name) = (delivery.alert_id, delivery.sink);
                tokio::task::spawn_blocking(move || {
                    store.record_attempt(&alert_id, &sink_name, now, &outcome)?;
                    if let Some(until) = defer_until {
                        store.defer_sink(&sink_name, until)?;
                    }
                    if release {
                        // The receiver is back: what was deferred while it failed goes now.
                        store.release_sink(&sink_name, now)?;
                    }
                    Ok::<(), StoreError>(())
                })
                .await??;
            }
            let released_this_batch = released.len() > released_before;
            // Every row of the batch is now delivered, dead, or behind a sink we stopped
            // trying, so the next query returns only rows not seen yet (including rows a
            // recovered sink just released).
            if !full_batch && !released_this_batch {
                return Ok(report);
            }
        }
    }

    /// Logs, once, the alerts that wait for sinks no longer in the config.
    pub async fn warn_orphaned_deliveries(&self) -> Result<(), DaemonError> {
        let store = self.store.clone();
        let configured = self.deliverer.sink_names();
        let orphans =
            tokio::task::spawn_blocking(move || store.orphaned_deliveries(&configured)).await??;
        for (sink, count) in orphans {
            warn!(
                sink = %sink,
                "{count} alert(s) wait for sink {sink:?}, which is no longer in the config; \
                 add it back to deliver them"
            );
        }
        Ok(())
    }

    /// One pass over every feed, then delivery of everything owed (`watchword once`).
    pub async fn run_once(self: &Arc<Self>) -> Result<(PassReport, DeliveryReport), DaemonError> {
        self.warn_orphaned_deliveries().await?;
        let feeds = self.config.feeds.clone();
        let report = self.poll_feeds(&feeds).await;
        let (_keep_open, never) = watch::channel(false);
        let delivered = self.deliver_due(true, &never).await?;
        Ok((report, delivered))
    }

    /// Polls every feed on its interval and delivers alerts until `shutdown` turns true.
    ///
    /// Feeds are polled as independent tasks, so a slow feed delays only itself; deliveries
    /// run in their own task, woken when a poll records new alerts. On shutdown no new poll
    /// starts, polls in flight finish and commit, the delivery in flight completes, and then
    /// this returns.
    pub async fn run(self: &Arc<Self>, shutdown: watch::Receiver<bool>) -> Result<(), DaemonError> {
        self.warn_orphaned_deliveries().await?;
        info!(
            feeds = self.config.feeds.len(),
            rules = self.config.rules.len(),
            sinks = self.config.sinks.len(),
            "watching {} feeds with {} rules",
            self.config.feeds.len(),
            self.config.rules.len()
        );
        let new_alerts = Arc::new(Notify::new());
        let deliverer = tokio::spawn({
            let pipeline = Arc::clone(self);
            let shutdown = shutdown.clone();
            let new_alerts = Arc::clone(&new_alerts);
            async move { pipeline.delivery_loop(shutdown, new_alerts).await }
        });
        self.schedule_loop(shutdown, &new_alerts).await;
        deliverer.await?;
        info!("stopped: in-flight work finished and committed");
        Ok(())
    }

    async fn schedule_loop(
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

    async fn delivery_loop(&self, mut shutdown: watch::Receiver<bool>, new_alerts: Arc<Notify>) {
        let sinks = self.deliverer.sink_names();
        let mut failures: u32 = 0;
        loop {
            if *shutdown.borrow() {
                return;
            }
            if let Err(e) = self.deliver_due(false, &shutdown).await {
                // Most likely the database cannot be written: a sent alert may not have been
                // marked delivered, so sending again at once would double it. Back off hard.
                failures = failures.saturating_add(1);
                let pause = Duration::from_secs(60 * u64::from(failures.min(10)));
                error!(
                    "delivery pass failed: {e}; pausing deliveries for {}s",
                    pause.as_secs()
                );
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            failures = 0;
            let store = self.store.clone();
            let sinks = sinks.clone();
            let next =
                match tokio::task::spawn_blocking(move || store.next_delivery_at(&sinks)).await {
                    Ok(Ok(next)) => next,
                    Ok(Err(e)) => {
                        error!("cannot read the outbox schedule: {e}");
                        None
                    }
                    Err(e) => {
                        error!("outbox task failed: {e}");
                        None
                    }
                };
            let mut wake = Instant::now() + MAX_IDLE;
            if let Some(at) = next {
                let wait = (at - Utc::now().timestamp()).max(0) as u64;
                // Never spin: a due row that could not be sent waits at least a second.
                wake = wake.min(Instant::now() + Duration::from_secs(wait.max(1)));
            }
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {}
                _ = new_alerts.notified() => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

impl PassReport {
    fn add(&mut self, feed: &str, outcome: Result<FeedOutcome, DaemonError>) {
        match outcome {
            Ok(FeedOutcome::Recorded(summary)) => {
                self.feeds_ok += 1;
                self.new_items += summary.new_items;
                self.new_alerts += summary.new_alerts;
            }
            Ok(FeedOutcome::Failed(_)) => self.feeds_failed += 1,
            Ok(FeedOutcome::NotStarted) => {}
            Err(e) => {
                error!(feed = %feed, "cannot record feed {feed:?}: {e}; its new items will be seen again on the next poll");
                self.store_errors += 1;
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

/// Whether a newly seen item is back catalogue, to be recorded without alerting.
///
/// On a feed's first successful fetch (`last_success` is `None`) everything older than
/// `max_age` is, and so is everything undated: the point is not to flood the sinks with a new
/// feed's archive. After that, an item is back catalogue only if it is older than `max_age`
/// *and* older than the previous successful fetch: an old item that only now appears (a
/// re-shuffled archive). A new item dated 60 hours ago after a 3-day outage still alerts.
fn is_back_catalogue(
    published: Option<i64>,
    age_cutoff: Option<i64>,
    last_success: Option<i64>,
) -> bool {
    /// Publishers' clocks and time zones are sloppy; don't call an item old by a hair.
    const CLOCK_SLACK_SECS: i64 = 3600;
    match (last_success, published) {
        (None, None) => true,
        (None, Some(published)) => age_cutoff.is_some_and(|cutoff| published < cutoff),
        (Some(_), None) => false,
        (Some(last), Some(published)) => {
            age_cutoff.is_some_and(|cutoff| published < cutoff)
                && published < last - CLOCK_SLACK_SECS
        }
    }
}

/// Decides, for the items of one fetch, which are new, which are too old to alert on and which
/// rules they match, then records it all in one transaction.
fn record_items(
    store: &Store,
    config: &Config,
    feed: &FeedConfig,
    items: Vec<Item>,
    now: DateTime<Utc>,
) -> Result<RecordSummary, StoreError> {
    let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
    let unseen = store.unseen(&feed.name, &ids)?;
    let last_success = store.last_success_at(&feed.name)?;
    let age_cutoff = chrono::Duration::from_std(config.daemon.max_age)
        .ok()
        .and_then(|age| now.checked_sub_signed(age))
        .map(|t| t.timestamp());
    let mut new_items = Vec::with_capacity(unseen.len());
    for item in items.iter().filter(|i| unseen.contains(&i.id)) {
        let too_old = is_back_catalogue(
            item.published.map(|p| p.timestamp()),
            age_cutoff,
            last_success,
        );
        let alerts = if too_old {
            Vec::new()
        } else {
            config
                .ruleset
                .matches(item)
                .into_iter()
                .filter_map(|m| {
                    let rule = config.rule(&m.rule)?;
                    let id = alert::alert_id(&rule.name, &feed.name, &item.id);
                    let payload = alert::render(&id, &rule.name, &m.terms, item, now);
                    Some(NewAlert {
                        id,
                        rule: rule.name.clone(),
                        payload,
                        sinks: rule.notify.clone(),
                    })
                })
                .collect()
        };
        if too_old {
            debug!(feed = %feed.name, item = %item.id, "older than max_age: recorded without alerting");
        }
        new_items.push(NewItem {
            id: item.id.clone(),
            link: item.link.clone(),
            title: item.title.clone(),
            published: item.published.map(|p| p.timestamp()),
            too_old,
            alerts,
        });
    }
    store.record_fetch(&FetchRecord {
        feed: feed.name.clone(),
        url: feed.url.clone(),
        at: now.timestamp(),
        error: None,
        items: new_items,
    })
}

#[cfg(test)]
mod tests {
    use super::is_back_catalogue;

    const HOUR: i64 = 3600;

    #[test]
    fn first_sight_skips_old_and_undated_items() {
        let now = 1000 * HOUR;
        let cutoff = Some(now - 48 * HOUR);
        assert!(is_back_catalogue(Some(now - 49 * HOUR), cutoff, None));
        assert!(!is_back_catalogue(Some(now - 47 * HOUR), cutoff, None));
        assert!(is_back_catalogue(None, cutoff, None));
    }

    #[test]
    fn after_first_sight_only_old_news_that_predates_the_last_fetch_is_skipped() {
        let now = 1000 * HOUR;
        let cutoff = Some(now - 48 * HOUR);
        // Back from a three-day outage: a 60-hour-old item is still news to the user.
        let last = Some(now - 72 * HOUR);
        assert!(!is_back_catalogue(Some(now - 60 * HOUR), cutoff, last));
        // An archive item from last month surfacing now is not.
        assert!(is_back_catalogue(Some(now - 30 * 24 * HOUR), cutoff, last));
        // Undated items after first sight alert.
        assert!(!is_back_catalogue(None, cutoff, last));
        // Recent items always alert.
        assert!(!is_back_catalogue(
            Some(now - HOUR),
            cutoff,
            Some(now - 5 * 60)
        ));
    }
}
