//! The pipeline and its scheduler: which feeds are due, fetching them, matching new items,
//! recording them with their alerts, and handing the outbox to the sinks.
//!
//! SQLite work and matching run on the blocking pool (`spawn_blocking`) so they never stall
//! the runtime's network tasks.

mod article;
mod deliver;
mod retention;
mod schedule;
mod supervise;

pub use supervise::{Control, serve};

pub use crate::poll::{FeedOutcome, Polled};
pub use deliver::url_fingerprint;

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tracing::{debug, error, info, warn};

use crate::alert::{AlertError, Deliverer};
use crate::config::FeedConfig;
use crate::feed::{FetchError, FetchLimits, Fetcher, Validators};
use crate::runtime::Runtime;
use crate::store::{
    FeedState, PollClaim, PollRecord, PollStore, RecordSummary, SeenItem, Store, StoreError,
};
use crate::story::StoryPolicy;
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

/// With replicas, how long after a feed's stored due time the replicas that did not poll it
/// last look at it: the one that did claims it first, uncontended (see `claim_poll`).
const SHARED_FEED_GRACE_SECS: i64 = 2;

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

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    pub feeds_ok: usize,
    /// Of `feeds_ok`, those that answered 304.
    pub feeds_not_modified: usize,
    /// Feeds that answered 410 Gone (now or before) and are no longer polled.
    pub feeds_gone: usize,
    pub feeds_failed: usize,
    /// Feeds another replica sharing the database was polling (PostgreSQL only).
    pub feeds_elsewhere: usize,
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
        if daemon.story_by_names {
            // Compiling every name in every language takes a few hundred milliseconds: done
            // now, beside the first fetches, so the first alert does not wait for it (a poll
            // that needs it sooner waits for this one compilation, not a second).
            std::thread::spawn(|| {
                if let Err(e) = crate::entities::recognizer() {
                    tracing::warn!(error = %e, "the names for stories did not compile; stories form by links and wording only");
                }
            });
        }
        let store = store.with_story_policy(StoryPolicy {
            window_secs: i64::try_from(daemon.story_window.as_secs()).unwrap_or(i64::MAX / 2),
            threshold: daemon.story_similarity,
            entity_threshold: daemon.story_entity_similarity,
            ..StoryPolicy::default()
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
    pub(super) async fn fetch_slots(&self, url: &str, global: &Arc<Semaphore>) -> FetchSlots {
        let host = self.host_semaphore(url);
        // The semaphores are never closed, so acquiring cannot fail; if it ever did, polling
        // without a permit is the lesser evil.
        let host_permit = match host {
            Some(host) => host.acquire_owned().await.ok(),
            None => None,
        };
        let global_permit = Arc::clone(global).acquire_owned().await.ok();
        FetchSlots {
            _host: host_permit,
            _global: global_permit,
        }
    }

    /// The database, for a command that reads what a pass left (`once --strict`).
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn config(&self) -> &Arc<Runtime> {
        &self.config
    }

    /// Fetches, parses, matches and records one feed, with a conditional GET. Errors of the
    /// feed itself (network, HTTP, parse) are recorded against the feed and returned as
    /// `FeedOutcome::Failed`; only a database failure is an `Err`. `slots` are the fetch
    /// slots the caller took for it ([`Pipeline::fetch_slots`]), let go as soon as the poll
    /// no longer needs them ([`Store::record_poll_then`]).
    pub(super) async fn poll_feed(
        &self,
        feed: &FeedConfig,
        slots: FetchSlots,
    ) -> Result<Polled, DaemonError> {
        self.poll_feed_when(feed, true, slots).await
    }

    /// [`Pipeline::poll_feed`]; with `honour_schedule` false (a manual `once` pass) a feed is
    /// polled even before it is due, though never while another replica is polling it.
    async fn poll_feed_when(
        &self,
        feed: &FeedConfig,
        honour_schedule: bool,
        slots: FetchSlots,
    ) -> Result<Polled, DaemonError> {
        let started = std::time::Instant::now();
        let stored = match self.claim_poll(feed, honour_schedule).await? {
            Ok(stored) => stored,
            Err(next) => {
                debug!(feed = %feed.name, "feed polled by another replica; next look at {next}");
                return Ok(Polled {
                    outcome: FeedOutcome::Elsewhere,
                    next_due_at: Some(next),
                    feed_events: 0,
                    texts: Vec::new(),
                });
            }
        };
        let polled = self.poll_claimed_feed(feed, started, stored, slots).await;
        if polled.is_err() && self.store.is_shared() {
            // Recording gives the feed's host slot back; this poll was not recorded.
            let store = self.store.clone();
            let name = feed.name.clone();
            if let Ok(Err(e)) =
                tokio::task::spawn_blocking(move || store.release_held_slot(&name)).await
            {
                warn!("cannot release a host slot: {e}; its lease runs out by itself");
            }
        }
        polled
    }

    /// Takes `feed` for this poll (on PostgreSQL its lease and one of its host's slots shared
    /// by all replicas, in one statement) and reads its stored state. `Err(next)`: another
    /// replica has it; look again then.
    async fn claim_poll(
        &self,
        feed: &FeedConfig,
        honour_schedule: bool,
    ) -> Result<Result<Option<FeedState>, i64>, DaemonError> {
        let store = self.store.clone();
        let (name, url) = (feed.name.clone(), feed.url.clone());
        let host = if store.is_shared() {
            host_key(&feed.url)
        } else {
            None
        };
        let limit = self.config.daemon.per_host_concurrency;
        let lease = self.config.daemon.replica_lease.as_secs() as i64;
        let now = Utc::now().timestamp();
        let claim = tokio::task::spawn_blocking({
            let host = host.clone();
            move || {
                let host = host.as_deref().map(|host| (host, limit));
                store.claim_poll(&name, &url, host, now, lease, honour_schedule)
            }
        })
        .await??;
        match claim {
            PollClaim::Claimed { state, host_slot } => {
                if !host_slot && let Some(host) = host {
                    self.wait_for_host_slot(feed, host).await?;
                }
                Ok(Ok(state.map(|state| *state)))
            }
            // Another replica polled it and scheduled its next poll for `due`; it will be back
            // then itself. Looking a little later than it leaves the feed to it, instead of
            // every replica racing for every feed at the same instant (each loser a wasted
            // claim that waits on the winner's row lock).
            PollClaim::NotDue(due) => Ok(Err(due.min(now + 86_400) + SHARED_FEED_GRACE_SECS)),
            PollClaim::Leased(until) => Ok(Err(until)),
        }
    }

    /// Waits for one of the host's `per_host_concurrency` slots shared by every replica, for
    /// a feed claimed while all were taken (this process's own per-host limit is already held
    /// by the caller). Should the database fail meanwhile, the feed is let go.
    async fn wait_for_host_slot(&self, feed: &FeedConfig, host: String) -> Result<(), DaemonError> {
        let limit = self.config.daemon.per_host_concurrency;
        let lease = self.config.daemon.replica_lease.as_secs() as i64;
        let mut pause = Duration::from_millis(100);
        loop {
            // Other replicas are fetching from this host: its fetches end within
            // fetch_timeout, usually far sooner.
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(2));
            let store = self.store.clone();
            let (name, key) = (feed.name.clone(), host.clone());
            let now = Utc::now().timestamp();
            let taken = tokio::task::spawn_blocking(move || {
                store.acquire_feed_host_slot(&name, &key, limit, now, lease)
            })
            .await?;
            match taken {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(e) => {
                    let store = self.store.clone();
                    let name = feed.name.clone();
                    let _ = tokio::task::spawn_blocking(move || store.release_feed(&name)).await;
                    return Err(e.into());
                }
            }
        }
    }

    /// Polls a feed this process holds (`stored`: its state as read with the claim). On
    /// PostgreSQL the feed's host slot is held until the poll is recorded: a page the poll
    /// reads on the feed's host (`read_articles`) goes through it too.
    async fn poll_claimed_feed(
        &self,
        feed: &FeedConfig,
        started: std::time::Instant,
        stored: Option<FeedState>,
        slots: FetchSlots,
    ) -> Result<Polled, DaemonError> {
        // Read with the claim: the classify stage needs it, and nothing else writes the feed
        // while this poll holds it.
        let last_success = stored.as_ref().and_then(|s| s.last_success_at);
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
            // Nothing will be fetched or recorded: let go of the feed's lease and slot now.
            let store = self.store.clone();
            let name = feed.name.clone();
            tokio::task::spawn_blocking(move || store.release_feed(&name)).await??;
            return Ok(Polled {
                outcome: FeedOutcome::Gone,
                next_due_at: None,
                feed_events: 0,
                texts: Vec::new(),
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
        // disk work: off the runtime. In two halves when the match stage wants articles read
        // (`read_articles`): their pages are fetched here, between the halves.
        let now = Utc::now();
        let prepared = tokio::task::spawn_blocking(move || {
            let store = ClaimedFeedStore {
                store: &store,
                last_success,
                slots: Cell::new(None),
            };
            crate::poll::prepare(&store, &config, &feed_config, state, fetched, now)
        })
        .await??;
        let articles = if prepared.wanted.is_empty() {
            HashMap::new()
        } else {
            self.read_articles(feed, &prepared.wanted).await?
        };
        let store = self.store.clone();
        let config = Arc::clone(&self.config);
        let feed_config = feed.clone();
        let polled = tokio::task::spawn_blocking(move || {
            let claimed = ClaimedFeedStore {
                store: &store,
                last_success,
                slots: Cell::new(Some(slots)),
            };
            let mut polled =
                crate::poll::finish(&claimed, &config, &feed_config, prepared, &articles)?;
            drop(claimed);
            // The workbench's copy of the new items' text, after the poll is committed: losing
            // it costs the dashboard a few items, never an alert, so a failure is only logged.
            let texts = std::mem::take(&mut polled.texts);
            let keep = config.daemon.workbench_window.as_secs().min(i64::MAX as u64) as i64;
            if keep > 0
                && !texts.is_empty()
                && let Err(e) = store.record_item_texts(&texts, Utc::now().timestamp(), keep)
            {
                debug!(feed = %feed_config.name, "cannot keep the new items' text for the dashboard: {e}");
            }
            Ok::<_, crate::store::StoreError>(polled)
        })
        .await??;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match &polled.outcome {
            // Quiet when nothing changed: with thousands of feeds, one line per poll would
            // drown the lines that matter. Its own target lets a terminal's default filter
            // leave it out under `once`'s progress bar (cli::default_filter).
            FeedOutcome::Recorded(summary) if summary.new_items > 0 => info!(
                target: "watchword::daemon::polled",
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
            FeedOutcome::NotStarted | FeedOutcome::Elsewhere => {}
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
                let slots = pipeline.fetch_slots(&feed.url, &permits).await;
                let outcome = pipeline.poll_feed_when(&feed, false, slots).await;
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
        let delivered = self.deliver_due(true, &never).await;
        self.release_leases().await;
        Ok((report, delivered?))
    }

    /// At exit, lets go of what this process holds in a shared database (feeds in flight that
    /// were not recorded, host slots, sinks), so other replicas or the next start take over at
    /// once instead of after `replica_lease`.
    async fn release_leases(&self) {
        if !self.store.is_shared() {
            return;
        }
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || store.release_leases()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                warn!("cannot release this process's leases: {e}; they run out by themselves")
            }
            Err(e) => warn!("cannot release this process's leases: {e}"),
        }
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
            "watching {} feed(s) with {} rule(s)",
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
        self.release_leases().await;
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
            Ok(FeedOutcome::Elsewhere) => self.feeds_elsewhere += 1,
            Err(e) => {
                error!(feed = %feed, "cannot record feed {feed:?}: {e}; its new items will be seen again on the next poll");
                self.store_errors += 1;
            }
        }
    }
}

/// The fetch slots one poll holds ([`Pipeline::fetch_slots`]): the feed's host's and one of
/// the global ones. Dropping it lets them go.
pub(super) struct FetchSlots {
    _host: Option<OwnedSemaphorePermit>,
    _global: Option<OwnedSemaphorePermit>,
}

/// The store as one poll of a claimed feed sees it: the feed's last success is the one read
/// with the claim, not asked again, and the poll's fetch slots go when its record no longer
/// needs them.
struct ClaimedFeedStore<'a> {
    store: &'a Store,
    last_success: Option<i64>,
    slots: Cell<Option<FetchSlots>>,
}

impl PollStore for ClaimedFeedStore<'_> {
    fn seen_items(
        &self,
        feed: &str,
        ids: &[String],
    ) -> crate::store::Result<HashMap<String, SeenItem>> {
        self.store.seen_items(feed, ids)
    }

    fn last_success_at(&self, _feed: &str) -> crate::store::Result<Option<i64>> {
        Ok(self.last_success)
    }

    fn record_poll(&self, poll: &PollRecord) -> crate::store::Result<RecordSummary> {
        self.store
            .record_poll_then(poll, || drop(self.slots.take()))
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
