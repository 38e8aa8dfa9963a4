//! The pipeline and its scheduler: which feeds are due, fetching them, matching new items,
//! recording them with their alerts, and handing the outbox to the sinks.
//!
//! SQLite work and matching run on the blocking pool (`spawn_blocking`) so they never stall
//! the runtime's network tasks.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Semaphore, watch};
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
        let fetched = self
            .fetcher
            .fetch(&feed.url)
            .await
            .map_err(|e| e.to_string())
            .and_then(|body| {
                // Relative item links resolve against the feed's own URL.
                let base = feed.url.starts_with("http").then_some(feed.url.as_str());
                feed::parse_with_base(&feed.name, base, &body).map_err(|e| e.to_string())
            });
        let now = Utc::now();
        match fetched {
            Ok(items) => {
                let store = self.store.clone();
                let config = Arc::clone(&self.config);
                let feed_config = feed.clone();
                let item_count = items.len();
                let summary = tokio::task::spawn_blocking(move || {
                    record_items(&store, &config, &feed_config, items, now)
                })
                .await??;
                let elapsed_ms = started.elapsed().as_millis() as u64;
                // Quiet when nothing changed: with thousands of feeds, one line per poll
                // would drown the lines that matter.
                if summary.new_items > 0 {
                    info!(
                        feed = %feed.name,
                        items = item_count,
                        new_items = summary.new_items,
                        new_alerts = summary.new_alerts,
                        elapsed_ms,
                        "feed polled"
                    );
                } else {
                    debug!(feed = %feed.name, items = item_count, elapsed_ms, "feed polled: nothing new");
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
                let record = FetchRecord {
                    feed: feed.name.clone(),
                    url: feed.url.clone(),
                    at: now.timestamp(),
                    error: Some(reason.clone()),
                    items: Vec::new(),
                };
                let store = self.store.clone();
                tokio::task::spawn_blocking(move || store.record_fetch(&record)).await??;
                Ok(FeedOutcome::Failed(reason))
            }
        }
    }

    /// Polls `feeds` concurrently, at most `daemon.concurrency` at a time.
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
                Ok((_, Ok(FeedOutcome::Recorded(summary)))) => {
                    report.feeds_ok += 1;
                    report.new_items += summary.new_items;
                    report.new_alerts += summary.new_alerts;
                }
                Ok((_, Ok(FeedOutcome::Failed(_)))) => report.feeds_failed += 1,
                Ok((name, Err(e))) => {
                    error!(feed = %name, "cannot record feed {name:?}: {e}; its new items will be seen again on the next poll");
                    report.store_errors += 1;
                }
                Err(e) => {
                    error!("a feed task panicked or was cancelled: {e}");
                    report.feeds_failed += 1;
                }
            }
        }
        report
    }

    /// Sends due deliveries. A sink that fails is not tried again in the same pass, so one
    /// receiver that is down does not cost a timeout per pending alert.
    pub async fn deliver_due(&self, include_future: bool) -> Result<DeliveryReport, DaemonError> {
        let store = self.store.clone();
        let now = Utc::now().timestamp();
        let due = tokio::task::spawn_blocking(move || {
            store.due_deliveries(now, include_future, DELIVERY_BATCH)
        })
        .await??;
        let mut report = DeliveryReport::default();
        let mut failing_sinks: HashSet<String> = HashSet::new();
        for delivery in due {
            if failing_sinks.contains(&delivery.sink) {
                report.skipped += 1;
                continue;
            }
            let now = Utc::now().timestamp();
            let Some(outcome) = self.deliverer.attempt(&delivery, now).await else {
                warn!(
                    sink = %delivery.sink,
                    alert_id = %delivery.alert_id,
                    "alert {} waits for sink {:?}, which is no longer configured",
                    delivery.alert_id,
                    delivery.sink
                );
                failing_sinks.insert(delivery.sink.clone());
                report.skipped += 1;
                continue;
            };
            let sink = self.deliverer.describe(&delivery.sink);
            match &outcome {
                AttemptOutcome::Delivered { .. } => {
                    report.delivered += 1;
                    info!(sink = %delivery.sink, alert_id = %delivery.alert_id, rule = %delivery.rule, "alert delivered to {sink}");
                }
                AttemptOutcome::Retry {
                    error,
                    next_attempt_at,
                    ..
                } => {
                    report.retrying += 1;
                    failing_sinks.insert(delivery.sink.clone());
                    let when = DateTime::<Utc>::from_timestamp(*next_attempt_at, 0)
                        .map(|t| t.to_rfc3339())
                        .unwrap_or_default();
                    warn!(sink = %delivery.sink, alert_id = %delivery.alert_id, "delivery to {sink} failed: {error}; retrying at {when}");
                }
                AttemptOutcome::Dead { error, .. } => {
                    report.dead += 1;
                    error!(sink = %delivery.sink, alert_id = %delivery.alert_id, "delivery to {sink} failed: {error}; giving up (dead letter)");
                }
            }
            let store = self.store.clone();
            let (alert_id, sink_name) = (delivery.alert_id.clone(), delivery.sink.clone());
            tokio::task::spawn_blocking(move || {
                store.record_attempt(&alert_id, &sink_name, now, &outcome)
            })
            .await??;
        }
        if report != DeliveryReport::default() {
            debug!(?report, "delivery pass done");
        }
        Ok(report)
    }

    /// One pass over every feed, then delivery of everything owed (`watchword once`).
    pub async fn run_once(self: &Arc<Self>) -> Result<(PassReport, DeliveryReport), DaemonError> {
        let feeds = self.config.feeds.clone();
        let report = self.poll_feeds(&feeds).await;
        let delivered = self.deliver_due(true).await?;
        Ok((report, delivered))
    }

    /// Polls every feed on its interval and delivers alerts until `shutdown` turns true.
    /// Work in flight when the signal arrives is finished and committed before returning.
    pub async fn run(
        self: &Arc<Self>,
        mut shutdown: watch::Receiver<bool>,
    ) -> Result<(), DaemonError> {
        let feeds = self.config.feeds.clone();
        let start = Instant::now();
        let mut next_due: Vec<Instant> = vec![start; feeds.len()];
        info!(
            feeds = feeds.len(),
            rules = self.config.rules.len(),
            sinks = self.config.sinks.len(),
            "watching {} feeds with {} rules",
            feeds.len(),
            self.config.rules.len()
        );
        loop {
            if *shutdown.borrow() {
                break;
            }
            let now = Instant::now();
            let due: Vec<usize> = (0..feeds.len()).filter(|&i| next_due[i] <= now).collect();
            if !due.is_empty() {
                let batch: Vec<FeedConfig> = due.iter().map(|&i| feeds[i].clone()).collect();
                let report = self.poll_feeds(&batch).await;
                if report.store_errors > 0 {
                    error!(
                        "{} feed results could not be written to {}",
                        report.store_errors,
                        self.store.path().display()
                    );
                }
                let done = Instant::now();
                for &i in &due {
                    next_due[i] = done + jittered(feeds[i].interval, &feeds[i].name);
                }
            }
            if let Err(e) = self.deliver_due(false).await {
                error!("delivery pass failed: {e}");
            }
            let next_feed = next_due.iter().min().copied().unwrap_or(now + MAX_IDLE);
            let store = self.store.clone();
            let next_delivery = tokio::task::spawn_blocking(move || store.next_delivery_at())
                .await?
                .unwrap_or_else(|e| {
                    error!("cannot read the outbox schedule: {e}");
                    None
                })
                .map(|at| {
                    let wait = (at - Utc::now().timestamp()).max(0) as u64;
                    Instant::now() + Duration::from_secs(wait)
                });
            let mut wake = next_feed.min(Instant::now() + MAX_IDLE);
            if let Some(at) = next_delivery {
                wake = wake.min(at);
            }
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {}
                _ = shutdown.changed() => {}
            }
        }
        info!("stopped: in-flight work finished and committed");
        Ok(())
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
    let oldest_alertable = chrono::Duration::from_std(config.daemon.max_age)
        .ok()
        .and_then(|age| now.checked_sub_signed(age));
    let mut new_items = Vec::with_capacity(unseen.len());
    for item in items.iter().filter(|i| unseen.contains(&i.id)) {
        // An undated item is treated as new: better one alert too many than a missed story.
        let too_old = match (item.published, oldest_alertable) {
            (Some(published), Some(oldest)) => published < oldest,
            _ => false,
        };
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
