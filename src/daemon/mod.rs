//! The pipeline and its scheduler: which feeds are due, fetching them, matching new items,
//! recording them with their alerts, and handing the outbox to the sinks.
//!
//! SQLite work and matching run on the blocking pool (`spawn_blocking`) so they never stall
//! the runtime's network tasks.

mod deliver;
mod health;
mod retention;
mod schedule;
mod supervise;

pub use supervise::{Control, serve};

pub use deliver::url_fingerprint;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tracing::{debug, error, info, warn};

use crate::alert::{AlertError, Deliverer};
use crate::config::FeedConfig;
use crate::feed::{FetchError, FetchLimits, FetchOutcome, Fetcher, Validators};
use crate::model::{AlertId, Item, NewAlert, payload};
use crate::runtime::Runtime;
use crate::store::{
    EditedItem, FeedState, FetchRecord, NewItem, PollRecord, RecordSummary, Store, StoreError,
    StoryKey, StoryPolicy,
};
use crate::story::Fingerprinter;
use crate::text::redact_url;

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
    config: Arc<Runtime>,
    store: Store,
    fetcher: Fetcher,
    deliverer: Deliverer,
    /// One semaphore per host:port, so no publisher sees more than `per_host_concurrency`
    /// of our fetches at once. Entries are never removed: there is one per configured host.
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

/// What happened to one feed in one pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedOutcome {
    Recorded(RecordSummary),
    /// 304: unchanged since the last fetch; nothing parsed, only the feed's state written.
    NotModified,
    /// Fetch or parse failed; the reason is in the store and the log.
    Failed(String),
    /// The feed answered 410 Gone, now or earlier: it is not polled any more.
    Gone,
    /// Shutdown began before the poll could start.
    NotStarted,
}

/// A finished poll: what happened and when the feed is next due (unix seconds; `None` for a
/// feed that is gone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Polled {
    pub outcome: FeedOutcome,
    pub next_due_at: Option<i64>,
    /// Feed events (broken, stale, gone, recovered) this poll put in the outbox.
    pub feed_events: usize,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    pub feeds_ok: usize,
    /// Of `feeds_ok`, those that answered 304.
    pub feeds_not_modified: usize,
    /// Feeds that answered 410 Gone (now or before) and are no longer polled.
    pub feeds_gone: usize,
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
    pub fn new(config: Arc<Runtime>, store: Store) -> Result<Pipeline, DaemonError> {
        let daemon = &config.daemon;
        let fetcher = Fetcher::new(
            &daemon.user_agent,
            FetchLimits {
                timeout: daemon.fetch_timeout,
                connect_timeout: daemon.connect_timeout,
                read_timeout: daemon.read_timeout,
                max_body_bytes: daemon.max_body_size,
            },
        )
        .map_err(DaemonError::Fetcher)?;
        let deliverer = Deliverer::new(&config.sinks, &daemon.user_agent, daemon.delivery_timeout)?;
        let store = store.with_story_policy(StoryPolicy {
            window_secs: i64::try_from(daemon.story_window.as_secs()).unwrap_or(i64::MAX / 2),
            threshold: daemon.story_similarity,
        });
        Ok(Pipeline {
            config,
            store,
            fetcher,
            deliverer,
            hosts: Mutex::new(HashMap::new()),
        })
    }

    /// Waits for a fetch slot on the feed's host, then for one of the global slots: in that
    /// order, so a task queued behind a busy host never holds a global slot other hosts need.
    pub(super) async fn fetch_slots(
        &self,
        url: &str,
        global: &Arc<Semaphore>,
    ) -> (Option<OwnedSemaphorePermit>, Option<OwnedSemaphorePermit>) {
        let key = host_key(url);
        let host = key.map(|key| {
            let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
            Arc::clone(hosts.entry(key).or_insert_with(|| {
                Arc::new(Semaphore::new(self.config.daemon.per_host_concurrency))
            }))
        });
        // The semaphores are never closed, so acquiring cannot fail; if it ever did, polling
        // without a permit is the lesser evil.
        let host_permit = match host {
            Some(host) => host.acquire_owned().await.ok(),
            None => None,
        };
        let global_permit = Arc::clone(global).acquire_owned().await.ok();
        (host_permit, global_permit)
    }

    pub fn config(&self) -> &Arc<Runtime> {
        &self.config
    }

    /// Fetches, parses, matches and records one feed, with a conditional GET. Errors of the
    /// feed itself (network, HTTP, parse) are recorded against the feed and returned as
    /// `FeedOutcome::Failed`; only a database failure is an `Err`. The caller holds the fetch
    /// slots ([`Pipeline::fetch_slots`]).
    pub async fn poll_feed(&self, feed: &FeedConfig) -> Result<Polled, DaemonError> {
        let started = std::time::Instant::now();
        let store = self.store.clone();
        let name = feed.name.clone();
        let stored = tokio::task::spawn_blocking(move || store.feed_state(&name)).await??;
        let mut state = stored.unwrap_or_else(|| FeedState {
            name: feed.name.clone(),
            url: feed.url.clone(),
            ..FeedState::default()
        });
        if state.url != feed.url {
            // The user changed the URL: validators, a redirect or a 410 belonged to the old one.
            state.url = feed.url.clone();
            state.etag = None;
            state.last_modified = None;
            state.moved_to = None;
            state.gone_at = None;
        }
        if state.gone_at.is_some() {
            return Ok(Polled {
                outcome: FeedOutcome::Gone,
                next_due_at: None,
                feed_events: 0,
            });
        }
        let validators = Validators {
            etag: state.etag.clone(),
            last_modified: state.last_modified.clone(),
        };
        let fetched = self.fetcher.fetch_conditional(&feed.url, &validators).await;
        crate::service::metrics::observe_fetch(&fetched, started.elapsed());
        let store = self.store.clone();
        let config = Arc::clone(&self.config);
        let feed_config = feed.clone();
        // Parsing (HTML to text of up to max_body_size bytes), matching and SQLite are CPU or
        // disk work: off the runtime, in one go.
        let polled = tokio::task::spawn_blocking(move || {
            settle(&store, &config, &feed_config, state, fetched, Utc::now())
        })
        .await??;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match &polled.outcome {
            // Quiet when nothing changed: with thousands of feeds, one line per poll would
            // drown the lines that matter.
            FeedOutcome::Recorded(summary) if summary.new_items > 0 => info!(
                feed = %feed.name,
                new_items = summary.new_items,
                new_alerts = summary.new_alerts,
                elapsed_ms,
                "feed polled"
            ),
            FeedOutcome::Recorded(_) => {
                debug!(feed = %feed.name, elapsed_ms, "feed polled: nothing new")
            }
            FeedOutcome::NotModified => {
                debug!(feed = %feed.name, elapsed_ms, "feed polled: not modified")
            }
            FeedOutcome::Failed(reason) => {
                let retry = polled
                    .next_due_at
                    .map(|due| (due - Utc::now().timestamp()).max(0) as u64)
                    .map(|secs| humantime::format_duration(Duration::from_secs(secs)).to_string())
                    .unwrap_or_else(|| "never".into());
                warn!(
                    feed = %feed.name,
                    url = %redact_url(&feed.url),
                    "feed {:?} failed: {reason}; will retry on the next poll, in {retry}",
                    feed.name
                );
            }
            FeedOutcome::Gone => warn!(
                feed = %feed.name,
                url = %redact_url(&feed.url),
                "feed {:?} is gone (HTTP 410): it will not be polled again; remove it or change its url",
                feed.name
            ),
            FeedOutcome::NotStarted => {}
        }
        Ok(polled)
    }

    /// Polls `feeds` concurrently within the global and per-host limits, and waits for all.
    pub async fn poll_feeds(self: &Arc<Self>, feeds: &[FeedConfig]) -> PassReport {
        self.poll_feeds_with_progress(feeds, |_, _| {}).await
    }

    /// Like [`Pipeline::poll_feeds`], calling `progress(feed, outcome)` as each feed finishes
    /// (for a progress bar).
    pub async fn poll_feeds_with_progress(
        self: &Arc<Self>,
        feeds: &[FeedConfig],
        mut progress: impl FnMut(&str, &Result<Polled, DaemonError>),
    ) -> PassReport {
        let permits = Arc::new(Semaphore::new(self.config.daemon.concurrency));
        let mut tasks = JoinSet::new();
        for feed in feeds.iter().cloned() {
            let pipeline = Arc::clone(self);
            let permits = Arc::clone(&permits);
            tasks.spawn(async move {
                let _slots = pipeline.fetch_slots(&feed.url, &permits).await;
                let outcome = pipeline.poll_feed(&feed).await;
                (feed.name, outcome)
            });
        }
        let mut report = PassReport::default();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((name, outcome)) => {
                    progress(&name, &outcome);
                    report.add(&name, outcome.map(|p| p.outcome));
                }
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
        self.run_once_with_progress(|_, _| {}).await
    }

    /// Like [`Pipeline::run_once`], calling `progress` as each feed finishes.
    pub async fn run_once_with_progress(
        self: &Arc<Self>,
        progress: impl FnMut(&str, &Result<Polled, DaemonError>),
    ) -> Result<(PassReport, DeliveryReport), DaemonError> {
        self.warn_orphaned_deliveries().await?;
        let feeds = self.config.feeds.clone();
        let report = self.poll_feeds_with_progress(&feeds, progress).await;
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
        let retention = tokio::spawn({
            let pipeline = Arc::clone(self);
            let shutdown = shutdown.clone();
            async move { pipeline.retention_loop(shutdown).await }
        });
        self.schedule_loop(shutdown, &new_alerts).await;
        deliverer.await?;
        retention.await?;
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
            Ok(FeedOutcome::NotModified) => {
                self.feeds_ok += 1;
                self.feeds_not_modified += 1;
            }
            Ok(FeedOutcome::Failed(_)) => self.feeds_failed += 1,
            Ok(FeedOutcome::Gone) => self.feeds_gone += 1,
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

/// The key for per-host limits: host and port, so two services on one machine count twice.
fn host_key(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    let host = url.host_str()?;
    Some(match url.port_or_known_default() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    })
}

/// Turns a fetch into the feed's new state, its new items, alerts and feed events, writes them
/// in one transaction, and says when the feed is next due.
fn settle(
    store: &Store,
    config: &Runtime,
    feed: &FeedConfig,
    mut state: FeedState,
    fetched: Result<FetchOutcome, FetchError>,
    now: DateTime<Utc>,
) -> Result<Polled, StoreError> {
    let daemon = &config.daemon;
    let at = now.timestamp();
    let mut record = FetchRecord {
        feed: feed.name.clone(),
        url: feed.url.clone(),
        at,
        error: None,
        items: Vec::new(),
        listed: Vec::new(),
        edits: Vec::new(),
    };
    let ttl = |state: &FeedState| {
        state
            .ttl
            .and_then(|secs| u64::try_from(secs).ok())
            .map(Duration::from_secs)
    };
    let (outcome, events, next_in) = match fetched {
        Ok(outcome) => {
            let info = outcome.info().clone();
            note_moved(&mut state, feed, info.moved_to.as_deref());
            let parsed = match outcome {
                FetchOutcome::NotModified(_) => Ok(None),
                FetchOutcome::Fetched {
                    body, validators, ..
                } => {
                    // Relative item links resolve against the feed's own URL.
                    let base = feed.url.starts_with("http").then_some(feed.url.as_str());
                    crate::feed::parse_document(
                        &feed.name,
                        base,
                        &body,
                        info.content_type.as_deref(),
                        &daemon.strip_params,
                    )
                    .map(|parsed| Some((parsed, validators)))
                    .map_err(|e| e.to_string())
                }
            };
            match parsed {
                Ok(parsed) => {
                    let (new_items, outcome) = match parsed {
                        None => (0, FeedOutcome::NotModified),
                        Some((parsed, validators)) => {
                            // Validators are kept only with a body that parsed: otherwise the
                            // next poll would get a 304 for content we never read.
                            state.etag = validators.etag;
                            state.last_modified = validators.last_modified;
                            state.ttl = parsed.ttl.map(|t| t.as_secs() as i64);
                            let fetched_items = parsed.items.len();
                            (record.items, record.listed, record.edits) =
                                new_items(store, config, feed, parsed.items, now)?;
                            crate::service::metrics::items_seen(fetched_items, record.items.len());
                            let count = record.items.len();
                            (count, FeedOutcome::Recorded(RecordSummary::default()))
                        }
                    };
                    let events = health::on_success(
                        &mut state,
                        feed,
                        daemon,
                        health::Success {
                            status: info.status,
                            new_items,
                        },
                        at,
                    );
                    let next = schedule::after_success(feed, daemon, info.fresh_for, ttl(&state));
                    (outcome, events, Some(next))
                }
                Err(reason) => {
                    let events = health::on_failure(
                        &mut state,
                        feed,
                        daemon,
                        &reason,
                        info.status,
                        false,
                        at,
                    );
                    let next =
                        schedule::after_failure(feed, daemon, state.consecutive_failures, None);
                    (FeedOutcome::Failed(reason), events, Some(next))
                }
            }
        }
        Err(error) => {
            let reason = error.to_string();
            let (status, retry_after) = match &error {
                FetchError::Http {
                    status,
                    retry_after,
                } => (Some(status.as_u16()), *retry_after),
                _ => (None, None),
            };
            let gone = status == Some(410);
            let events = health::on_failure(&mut state, feed, daemon, &reason, status, gone, at);
            if gone {
                (FeedOutcome::Gone, events, None)
            } else {
                let next =
                    schedule::after_failure(feed, daemon, state.consecutive_failures, retry_after);
                (FeedOutcome::Failed(reason), events, Some(next))
            }
        }
    };
    for event in &events {
        let level_warn = event.kind != "recovered";
        if level_warn {
            warn!(feed = %feed.name, event = %event.kind, "{}", event.title);
        } else {
            info!(feed = %feed.name, event = %event.kind, "{}", event.title);
        }
    }
    if let FeedOutcome::Failed(reason) = &outcome {
        record.error = Some(reason.clone());
    }
    state.next_due_at = next_in.map(|d| at.saturating_add(d.as_secs() as i64));
    let next_due_at = state.next_due_at;
    let feed_events = events.len();
    let summary = store.record_poll(&PollRecord {
        fetch: record,
        state,
        events,
    })?;
    let outcome = match outcome {
        FeedOutcome::Recorded(_) => FeedOutcome::Recorded(summary),
        other => other,
    };
    Ok(Polled {
        outcome,
        next_due_at,
        feed_events,
    })
}

/// Records (and logs, once per new target) where permanent redirects now lead.
fn note_moved(state: &mut FeedState, feed: &FeedConfig, moved_to: Option<&str>) {
    if let Some(target) = moved_to
        && state.moved_to.as_deref() != Some(target)
    {
        warn!(
            feed = %feed.name,
            "feed {:?} has moved permanently to {}; update its url in the config",
            feed.name,
            redact_url(target)
        );
    }
    state.moved_to = moved_to.map(str::to_owned);
}

/// What finds an item's story: its headline-and-lead signature and its canonical link.
fn story_key(item: &Item) -> StoryKey {
    static FINGERPRINTER: LazyLock<Fingerprinter> = LazyLock::new(Fingerprinter::default);
    let lead = if item.summary.is_empty() {
        &item.content
    } else {
        &item.summary
    };
    StoryKey {
        signature: FINGERPRINTER.signature(&item.title, lead),
        // A link to a site's front page says nothing about which story an item is.
        link: item.link.clone().filter(|l| {
            url::Url::parse(l).is_ok_and(|u| u.path().len() > 1 || u.query().is_some())
        }),
    }
}

/// A stable hash of what rules match on (title, summary, content; whitespace folded), so an
/// edit can be told from the same text listed again.
fn text_hash(item: &Item) -> i64 {
    let mut text = String::new();
    for part in [&item.title, &item.summary, &item.content] {
        text.push_str(&part.split_whitespace().collect::<Vec<_>>().join(" "));
        text.push('\n');
    }
    // Stored as SQLite's signed integer; the bits are what matter.
    crate::story::fingerprint::stable_hash(text.as_bytes()) as i64
}

/// A headline compared for `realert_on_update`: case and spacing do not make an edit.
fn headline(title: &str) -> String {
    title
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The matches of `item` by rules that apply to `feed`, as alerts. `edit` (an edited item's
/// previous title) keeps only the rules with `realert_on_update`, gives each alert an id of
/// its own for this version of the text and marks the payload as an update.
fn alerts_for(
    config: &Runtime,
    feed: &FeedConfig,
    item: &Item,
    now: DateTime<Utc>,
    edit: Option<(&str, i64)>,
) -> Vec<NewAlert> {
    config
        .ruleset
        .matches(item)
        .into_iter()
        .filter_map(|m| {
            let rule = config.rule(&m.rule)?;
            // Per-rule feed/tag scope (issue 4).
            if !rule.applies_to(feed) || (edit.is_some() && !rule.realert_on_update) {
                return None;
            }
            crate::service::metrics::rule_matched(&rule.name);
            let id = match edit {
                None => AlertId::for_item(&rule.name, &feed.name, &item.id),
                Some((_, hash)) => AlertId::for_edit(&rule.name, &feed.name, &item.id, hash),
            };
            let mut payload =
                payload::render(&id, &rule.name, &m.terms, item, now, rule.priority.as_str());
            if let Some((previous_title, _)) = edit {
                payload = payload::mark_update(&payload, previous_title);
            }
            Some(NewAlert {
                id,
                rule: rule.name.clone(),
                payload,
                sinks: rule.notify.clone(),
                story_update_after: rule.story_updates,
            })
        })
        .collect()
}

/// The items of one fetch, sorted: new ones, ids listed before, and edited ones.
type Sorted = (Vec<NewItem>, Vec<String>, Vec<EditedItem>);

/// Decides, for the items of one fetch, which are new, which are too old to alert on and which
/// rules they match; also returns the ids seen before (still listed, so kept from retention)
/// and the items seen before whose text has changed (with the alerts an edit may raise).
fn new_items(
    store: &Store,
    config: &Runtime,
    feed: &FeedConfig,
    items: Vec<Item>,
    now: DateTime<Utc>,
) -> Result<Sorted, StoreError> {
    let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
    let seen = store.seen_items(&feed.name, &ids)?;
    let realert = config.rules.iter().any(|r| r.realert_on_update);
    let mut edits = Vec::new();
    let mut edited = std::collections::HashSet::new();
    for item in &items {
        let Some(before) = seen.get(&item.id) else {
            continue;
        };
        let hash = text_hash(item);
        if before.text_hash == Some(hash) || !edited.insert(item.id.as_str()) {
            continue;
        }
        // Back catalogue never alerts, and an item recorded before text hashes only gets
        // its hash: there is no earlier text to compare with.
        let alerts = if realert && !before.too_old && before.text_hash.is_some() {
            alerts_for(config, feed, item, now, Some((&before.title, hash)))
        } else {
            Vec::new()
        };
        edits.push(EditedItem {
            id: item.id.clone(),
            link: item.link.clone(),
            title: item.title.clone(),
            old_hash: before.text_hash,
            text_hash: hash,
            title_changed: headline(&before.title) != headline(&item.title),
            story: if alerts.is_empty() {
                StoryKey::default()
            } else {
                story_key(item)
            },
            alerts,
        });
    }
    let unseen: std::collections::HashSet<&String> =
        ids.iter().filter(|id| !seen.contains_key(*id)).collect();
    let last_success = store.last_success_at(&feed.name)?;
    let age_cutoff = chrono::Duration::from_std(config.daemon.max_age)
        .ok()
        .and_then(|age| now.checked_sub_signed(age))
        .map(|t| t.timestamp());
    let mut new_items = Vec::with_capacity(unseen.len());
    // A feed may list one id twice; the second copy is not new.
    let mut taken = std::collections::HashSet::new();
    for item in items
        .iter()
        .filter(|i| unseen.contains(&i.id) && taken.insert(i.id.as_str()))
    {
        let too_old = is_back_catalogue(
            item.published.map(|p| p.timestamp()),
            age_cutoff,
            last_success,
        );
        let alerts = if too_old {
            Vec::new()
        } else {
            alerts_for(config, feed, item, now, None)
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
            text_hash: Some(text_hash(item)),
            // Only items that raise alerts take part in stories (store::insert_items).
            story: if alerts.is_empty() {
                StoryKey::default()
            } else {
                story_key(item)
            },
            alerts,
        });
    }
    let listed = ids
        .iter()
        .filter(|id| !unseen.contains(id))
        .cloned()
        .collect();
    Ok((new_items, listed, edits))
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
