//! [`Store`]: the one handle the rest of watchword holds on its state, whichever database
//! keeps it. Each method is answered by the backend the config chose: [`Sqlite`] (one process,
//! the default) or [`Postgres`] (replicas sharing one server). Both give the same guarantees;
//! what only replicas need (leases on feeds and deliveries) is a no-op on SQLite, where
//! [`WriterLock`](super::WriterLock) already keeps a second writer out.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::postgres::Postgres;
use super::{
    AlertFilter, Delivery, DeliveryRow, DisabledSink, FeedState, Health, OutboxCounts, PollRecord,
    PollStore, PruneReport, RecordSummary, Result, SeenItem, Sqlite,
};
use crate::model::{AttemptOutcome, Database, StorySource};
use crate::story::StoryPolicy;

/// A handle on the database; cheap to clone, safe to share between threads. Every method
/// blocks: async callers go through `spawn_blocking`.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
}

#[derive(Clone)]
enum Backend {
    Sqlite(Sqlite),
    Postgres(Postgres),
}

/// Whether this process may poll a feed now (see [`Store::claim_poll`]).
#[derive(Debug, Clone)]
pub enum PollClaim {
    /// Ours until the poll is recorded (or the lease runs out): the feed's stored state
    /// (`None`: never fetched), and whether one of its host's shared slots came with it.
    Claimed {
        state: Option<Box<FeedState>>,
        host_slot: bool,
    },
    /// Another replica polled it since we planned to: next due then (unix seconds).
    NotDue(i64),
    /// Another replica is polling it now; its lease ends then (unix seconds).
    Leased(i64),
}

macro_rules! dispatch {
    ($self:ident . $method:ident ( $($arg:expr),* )) => {
        match &$self.backend {
            Backend::Sqlite(db) => db.$method($($arg),*),
            Backend::Postgres(db) => db.$method($($arg),*),
        }
    };
}

impl Store {
    /// Opens (creating if needed) the SQLite database at `path`, migrated to the current schema.
    pub fn open(path: &Path) -> Result<Store> {
        Ok(Store::from(Sqlite::open(path)?))
    }

    /// Opens the configured database, migrated to the current schema.
    pub fn connect(database: &Database) -> Result<Store> {
        match database {
            Database::Sqlite(path) => Store::open(path),
            Database::Postgres(url) => Ok(Store {
                backend: Backend::Postgres(Postgres::connect(url)?),
            }),
        }
    }

    /// Opens an existing database for reading only (`watchword status` beside a running
    /// daemon): a SQLite file is neither migrated nor locked; on a server nothing is created.
    pub fn open_read_only(database: &Database) -> Result<Store> {
        match database {
            Database::Sqlite(path) => Ok(Store::from(Sqlite::open_read_only(path)?)),
            Database::Postgres(url) => Ok(Store {
                backend: Backend::Postgres(Postgres::connect_existing(url)?),
            }),
        }
    }

    /// A handle for readers that must never wait behind the writers (the dashboard's pages):
    /// on SQLite a read-only connection of its own (WAL lets it read while polls write); on
    /// PostgreSQL this handle, whose pool already serves readers beside writers.
    pub fn reader(&self) -> Result<Store> {
        match &self.backend {
            Backend::Sqlite(db) => Ok(Store::from(Sqlite::open_read_only(db.path())?)),
            Backend::Postgres(_) => Ok(self.clone()),
        }
    }

    /// Sets how items are grouped into stories (window and similarity threshold).
    pub fn with_story_policy(self, policy: StoryPolicy) -> Store {
        let backend = match self.backend {
            Backend::Sqlite(db) => Backend::Sqlite(db.with_story_policy(policy)),
            Backend::Postgres(db) => Backend::Postgres(db.with_story_policy(policy)),
        };
        Store { backend }
    }

    /// Sets how long a replica's leases outlive it (`[daemon] replica_lease`; PostgreSQL only).
    pub fn with_lease(self, lease: std::time::Duration) -> Store {
        let backend = match self.backend {
            Backend::Postgres(db) => Backend::Postgres(db.with_lease(lease)),
            sqlite => sqlite,
        };
        Store { backend }
    }

    /// Which database this is, for messages.
    pub fn describe(&self) -> String {
        match &self.backend {
            Backend::Sqlite(db) => db.path().display().to_string(),
            Backend::Postgres(db) => db.describe(),
        }
    }

    /// Whether several processes may share this database (PostgreSQL): then feeds and
    /// deliveries are leased before they are worked on.
    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Postgres(_))
    }

    /// Takes `feed` for one poll, unless another replica has it or (with `honour_schedule`)
    /// has polled it since this one's schedule said it was due; with it one of `host`'s
    /// `per_host_concurrency` fetch slots shared by all replicas when one is free
    /// (`host_slot: false`: ask [`Store::acquire_feed_host_slot`] until one is), and its
    /// stored state. On PostgreSQL that is one statement; the lease and the slot are given
    /// back when the poll is recorded, or run out after `lease_secs` if this process dies
    /// first. On SQLite (one writer) always claimed, with its slot: the process's own
    /// per-host limit is all there is.
    pub fn claim_poll(
        &self,
        feed: &str,
        url: &str,
        host: Option<(&str, usize)>,
        now: i64,
        lease_secs: i64,
        honour_schedule: bool,
    ) -> Result<PollClaim> {
        match &self.backend {
            Backend::Sqlite(db) => Ok(PollClaim::Claimed {
                state: db.feed_state(feed)?.map(Box::new),
                host_slot: true,
            }),
            Backend::Postgres(db) => {
                db.claim_poll(feed, url, host, now, lease_secs, honour_schedule)
            }
        }
    }

    /// One of `host`'s `limit` fetch slots shared by all replicas, for the poll of `feed`
    /// claimed without one (false: all are taken; ask again shortly). Renews the feed's lease.
    pub fn acquire_feed_host_slot(
        &self,
        feed: &str,
        host: &str,
        limit: usize,
        now: i64,
        lease_secs: i64,
    ) -> Result<bool> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(true),
            Backend::Postgres(db) => db.acquire_feed_host_slot(feed, host, limit, now, lease_secs),
        }
    }

    /// Gives back the host slot the poll of `feed` still holds: for a poll that ends without
    /// being recorded (recording gives it back).
    pub fn release_held_slot(&self, feed: &str) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(db) => db.release_held_slot(feed),
        }
    }

    /// Takes or renews this process's turn to deliver to `sink`: one replica at a time, so
    /// the sink's rate limit and order hold. Always true on SQLite.
    pub fn claim_sink(&self, sink: &str, now: i64, lease_secs: i64) -> Result<bool> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(true),
            Backend::Postgres(db) => db.claim_sink(sink, now, lease_secs),
        }
    }

    /// Gives up this process's turn on `sink` (at shutdown).
    pub fn release_sink_lease(&self, sink: &str) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(db) => db.release_sink_lease(sink),
        }
    }

    /// Notified when another process sharing the database records or re-queues alerts
    /// (PostgreSQL's LISTEN/NOTIFY); `None` on SQLite, where only this process writes.
    pub fn outbox_signal(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        match &self.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(db) => Some(db.outbox_signal()),
        }
    }

    /// Lets go of `feed` without recording a poll (PostgreSQL; nothing to do on SQLite).
    pub fn release_feed(&self, feed: &str) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(db) => db.release_feed(feed),
        }
    }

    /// Lets go of every lease this process holds (at exit), so others take over at once.
    pub fn release_leases(&self) -> Result<()> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(()),
            Backend::Postgres(db) => db.release_leases(),
        }
    }

    /// Frees the leases of this host's processes that died without letting go (a crash, a
    /// `kill -9`), so a restart does not wait them out. Returns how many processes' leases.
    pub fn reclaim_dead_local_leases(&self) -> Result<usize> {
        match &self.backend {
            Backend::Sqlite(_) => Ok(0),
            Backend::Postgres(db) => db.reclaim_dead_local_leases(),
        }
    }

    /// Runs `prune` unless another replica is pruning now (`Ok(None)` then).
    pub fn prune(
        &self,
        now: i64,
        window_secs: i64,
        items_before: i64,
        alerts_before: i64,
    ) -> Result<Option<PruneReport>> {
        match &self.backend {
            Backend::Sqlite(db) => db
                .prune(now, window_secs, items_before, alerts_before)
                .map(Some),
            Backend::Postgres(db) => db.prune(now, window_secs, items_before, alerts_before),
        }
    }

    pub fn unseen(&self, feed: &str, ids: &[String]) -> Result<HashSet<String>> {
        let seen = self.seen_items(feed, ids)?;
        Ok(ids
            .iter()
            .filter(|id| !seen.contains_key(*id))
            .cloned()
            .collect())
    }

    /// What is recorded of those of `ids` that `feed` has listed before; absent ids are new.
    pub fn seen_items(&self, feed: &str, ids: &[String]) -> Result<HashMap<String, SeenItem>> {
        dispatch!(self.seen_items(feed, ids))
    }

    /// When `feed` was last fetched successfully, or `None` if never.
    pub fn last_success_at(&self, feed: &str) -> Result<Option<i64>> {
        dispatch!(self.last_success_at(feed))
    }

    /// Records one poll atomically: new items, their stories and alerts, feed events, the
    /// feed's new state; releases the feed's lease.
    pub fn record_poll(&self, poll: &PollRecord) -> Result<RecordSummary> {
        dispatch!(self.record_poll(poll))
    }

    /// [`Store::record_poll`], calling `let_go` once the fetch slots this process holds for
    /// the poll can go to its next poll of the host: on PostgreSQL, for a poll that brought no
    /// item, as soon as its state is queued ahead of that poll's claim, so the claim finds the
    /// host's shared slot given back without waiting for this record's round trip; otherwise
    /// once the poll is recorded or has failed.
    pub fn record_poll_then(
        &self,
        poll: &PollRecord,
        let_go: impl FnOnce(),
    ) -> Result<RecordSummary> {
        match &self.backend {
            Backend::Sqlite(db) => {
                let recorded = db.record_poll(poll);
                let_go();
                recorded
            }
            Backend::Postgres(db) => db.record_poll_then(poll, let_go),
        }
    }

    /// Records one fetch without the poller's state (tests and benches).
    pub fn record_fetch(&self, record: &super::FetchRecord) -> Result<RecordSummary> {
        dispatch!(self.record_fetch(record))
    }

    /// The article pages among `urls` read before (`read_articles`), by URL.
    pub fn articles(&self, urls: &[String]) -> Result<HashMap<String, super::StoredArticle>> {
        dispatch!(self.articles(urls))
    }

    /// Records an article page read, so that it is not fetched again; the first reading of a
    /// URL stays.
    pub fn record_article(&self, article: &super::StoredArticle) -> Result<()> {
        dispatch!(self.record_article(article))
    }

    /// The stored state of `feed`, or `None` if it was never polled.
    pub fn feed_state(&self, feed: &str) -> Result<Option<FeedState>> {
        dispatch!(self.feed_state(feed))
    }

    /// Every stored feed state, by name, with the number of alerts each feed's items raised.
    pub fn feed_states(&self) -> Result<HashMap<String, FeedState>> {
        dispatch!(self.feed_states())
    }

    /// Pending deliveries to `sinks` in creation order (see [`Sqlite::due_deliveries`]). On
    /// PostgreSQL the rows returned are leased to this process, so no other replica sends
    /// them meanwhile.
    pub fn due_deliveries(
        &self,
        now: i64,
        include_future: bool,
        limit: usize,
        sinks: &[String],
    ) -> Result<Vec<Delivery>> {
        dispatch!(self.due_deliveries(now, include_future, limit, sinks))
    }

    pub fn record_attempt(
        &self,
        alert_id: &str,
        sink: &str,
        at: i64,
        outcome: &AttemptOutcome,
    ) -> Result<()> {
        dispatch!(self.record_attempt(alert_id, sink, at, outcome))
    }

    /// Records one outcome for several deliveries to `sink` (a digest), in one transaction.
    pub fn record_attempts(
        &self,
        alert_ids: &[String],
        sink: &str,
        at: i64,
        outcome: &AttemptOutcome,
    ) -> Result<()> {
        dispatch!(self.record_attempts(alert_ids, sink, at, outcome))
    }

    /// When the earliest pending delivery to one of `sinks` is due (unix seconds), if any.
    pub fn next_delivery_at(&self, sinks: &[String]) -> Result<Option<i64>> {
        dispatch!(self.next_delivery_at(sinks))
    }

    pub fn defer_sink(&self, sink: &str, until: i64) -> Result<()> {
        dispatch!(self.defer_sink(sink, until))
    }

    pub fn release_sink(&self, sink: &str, now: i64) -> Result<()> {
        dispatch!(self.release_sink(sink, now))
    }

    pub fn expire_sink_deliveries(&self, sink: &str, queued_before: i64) -> Result<usize> {
        dispatch!(self.expire_sink_deliveries(sink, queued_before))
    }

    pub fn digest_due_at(&self, sink: &str, window: i64) -> Result<Option<i64>> {
        dispatch!(self.digest_due_at(sink, window))
    }

    pub fn digest_pending_times(&self, sink: &str) -> Result<(Option<i64>, Option<i64>)> {
        dispatch!(self.digest_pending_times(sink))
    }

    pub fn disable_sink(&self, sink: &str, at: i64, reason: &str, fingerprint: &str) -> Result<()> {
        dispatch!(self.disable_sink(sink, at, reason, fingerprint))
    }

    pub fn enable_sink(&self, sink: &str) -> Result<bool> {
        dispatch!(self.enable_sink(sink))
    }

    pub fn disabled_sinks(&self) -> Result<Vec<DisabledSink>> {
        dispatch!(self.disabled_sinks())
    }

    /// Deliveries with their alerts, newest first, for `watchword alerts`.
    pub fn list_deliveries(&self, filter: &AlertFilter) -> Result<Vec<DeliveryRow>> {
        dispatch!(self.list_deliveries(filter))
    }

    /// Puts dead (or, with `include_delivered`, delivered) deliveries back in the queue.
    pub fn requeue(
        &self,
        alert_ids: &[String],
        include_delivered: bool,
        now: i64,
    ) -> Result<(usize, Vec<String>)> {
        dispatch!(self.requeue(alert_ids, include_delivered, now))
    }

    pub fn orphaned_deliveries(&self, configured: &[String]) -> Result<Vec<(String, u64)>> {
        dispatch!(self.orphaned_deliveries(configured))
    }

    pub fn outbox_counts(&self) -> Result<OutboxCounts> {
        dispatch!(self.outbox_counts())
    }

    /// The outlets that reported the story of alert `alert_id`.
    pub fn story_sources(&self, alert_id: &str) -> Result<Vec<StorySource>> {
        dispatch!(self.story_sources(alert_id))
    }

    /// The operator's summary, counting only the feeds in `feeds` (the current config).
    pub fn health(&self, feeds: &[String]) -> Result<Health> {
        dispatch!(self.health(feeds))
    }

    /// Whether the database takes a write right now (`/readyz`).
    pub fn check_writable(&self) -> Result<()> {
        dispatch!(self.check_writable())
    }

    /// Keeps the text of newly recorded items for the dashboard's rule workbench.
    pub fn record_item_texts(
        &self,
        texts: &[super::ItemText],
        now: i64,
        keep_secs: i64,
    ) -> Result<usize> {
        dispatch!(self.record_item_texts(texts, now, keep_secs))
    }

    pub fn recent_item_texts(&self, since: i64, limit: usize) -> Result<Vec<super::ItemText>> {
        dispatch!(self.recent_item_texts(since, limit))
    }

    pub fn feed_healths(&self) -> Result<HashMap<String, (String, super::FeedHealth)>> {
        dispatch!(self.feed_healths())
    }

    pub fn feed_states_uncounted(&self) -> Result<HashMap<String, FeedState>> {
        dispatch!(self.feed_states_uncounted())
    }

    pub fn alerts_of_feeds(&self, feeds: &[String]) -> Result<HashMap<String, u64>> {
        dispatch!(self.alerts_of_feeds(feeds))
    }

    pub fn deliveries_ended_since(&self, since: i64) -> Result<super::DayCounts> {
        dispatch!(self.deliveries_ended_since(since))
    }

    pub fn dashboard_alerts(&self, query: &super::AlertQuery) -> Result<Vec<super::AlertListRow>> {
        dispatch!(self.dashboard_alerts(query))
    }

    pub fn dashboard_alert(&self, id: &str) -> Result<Option<super::AlertDetail>> {
        dispatch!(self.dashboard_alert(id))
    }

    pub fn items_per_day(
        &self,
        feeds: &[String],
        first_day: i64,
    ) -> Result<HashMap<String, Vec<(i64, u64)>>> {
        dispatch!(self.items_per_day(feeds, first_day))
    }

    /// The SQLite backend, for what only it has (tests, the SQLite side of `migrate-db`).
    pub fn as_sqlite(&self) -> Option<&Sqlite> {
        match &self.backend {
            Backend::Sqlite(db) => Some(db),
            Backend::Postgres(_) => None,
        }
    }

    /// The PostgreSQL backend, for what only it has (`migrate-db`).
    pub fn as_postgres(&self) -> Option<&Postgres> {
        match &self.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(db) => Some(db),
        }
    }
}

impl From<Sqlite> for Store {
    fn from(db: Sqlite) -> Store {
        Store {
            backend: Backend::Sqlite(db),
        }
    }
}

impl PollStore for Store {
    fn seen_items(&self, feed: &str, ids: &[String]) -> Result<HashMap<String, SeenItem>> {
        Store::seen_items(self, feed, ids)
    }

    fn last_success_at(&self, feed: &str) -> Result<Option<i64>> {
        Store::last_success_at(self, feed)
    }

    fn record_poll(&self, poll: &PollRecord) -> Result<RecordSummary> {
        Store::record_poll(self, poll)
    }
}
