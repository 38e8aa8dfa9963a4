//! The pipeline and its scheduler: which feeds are due, fetching them, matching new items,
//! recording them with their alerts, and handing the outbox to the sinks.
//!
//! SQLite work and matching run on the blocking pool (`spawn_blocking`) so they never stall
//! the runtime's network tasks.

mod deliver;
mod schedule;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;
use tracing::{debug, error, info, warn};

use crate::alert::{self, AlertError, Deliverer};
use crate::config::{Config, FeedConfig};
use crate::feed::{self, FetchError, FetchLimits, Fetcher, Item};
use crate::store::{FetchRecord, NewAlert, NewItem, RecordSummary, Store, StoreError};

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

/// The longest the scheduler sleeps, so a clock jump or a missed wake-up costs little.
const MAX_IDLE: Duration = Duration::from_secs(60);

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
                    // Per-rule feed/tag scope (issue 4).
                    if !rule.applies_to(feed) {
                        return None;
                    }
                    let id = alert::alert_id(&rule.name, &feed.name, &item.id);
                    let payload =
                        alert::render(&id, &rule.name, &m.terms, item, now, rule.priority.as_str());
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
