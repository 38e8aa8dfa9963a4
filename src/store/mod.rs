//! SQLite: seen items, feed health and the alert outbox.
//!
//! The API is synchronous; async callers go through `tokio::task::spawn_blocking` (see
//! `daemon`). All writes caused by one fetched feed — its health, its new items and the alerts
//! they raised — happen in one transaction, so a crash leaves either all of them or none: an
//! item is never marked seen without its alerts, and an alert never exists without its item.

mod articles;
mod dashboard;
mod facade;
mod feeds;
mod group_commit;
mod health;
mod outbox;
mod postgres;
mod recording;
mod schema;
mod stories;

use crate::story::{StoryKey, StoryPolicy};
pub use articles::StoredArticle;
pub use dashboard::{
    AlertDetail, AlertListRow, AlertQuery, AttemptRow, DayCounts, DeliveryDetail, FeedHealth,
    ItemText, MAX_FIELD_CHARS,
};
pub use facade::{PollClaim, Store};
pub use feeds::{FeedState, PollRecord};
pub use health::{FailingFeed, Health};
pub use outbox::{AlertFilter, Delivery, DeliveryRow, DisabledSink, OutboxCounts};
pub use postgres::Postgres;
pub use postgres::copy::{CopyError, CopyReport};
pub use stories::PruneReport;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use crate::model::NewAlert;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the database directory {}: {source}", path.display())]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open database {}: {cause}", path.display())]
    Open {
        path: PathBuf,
        cause: rusqlite::Error,
    },
    #[error("cannot migrate database {} to the current schema: {cause}", path.display())]
    Migrate {
        path: PathBuf,
        cause: rusqlite_migration::Error,
    },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot connect to PostgreSQL at {url}: {cause}")]
    Connect { url: String, cause: String },
    #[error("cannot migrate PostgreSQL at {url} to the current schema: {cause}")]
    MigratePostgres { url: String, cause: String },
    #[error("database error: {0}")]
    Postgres(String),
    #[error(
        "{database} holds no watchword data yet: start the service (or run `watchword once`) first"
    )]
    NotSetUp { database: String },
    #[error("the database lock was poisoned by a panic in another thread")]
    Poisoned,
    #[error(
        "another watchword process is using {}; stop it first (or give this one its own database)",
        path.display()
    )]
    Busy { path: PathBuf },
    #[error("cannot lock {}: {cause}", path.display())]
    Lock {
        path: PathBuf,
        cause: std::io::Error,
    },
}

pub type Result<T> = std::result::Result<T, StoreError>;

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> StoreError {
        // The server's own message (and its detail) is in the source, not in the Display.
        let message = match e.as_db_error() {
            Some(db) => match db.detail() {
                Some(detail) => format!("{}: {detail}", db.message()),
                None => db.message().to_string(),
            },
            None => match std::error::Error::source(&e) {
                Some(source) => format!("{e}: {source}"),
                None => e.to_string(),
            },
        };
        StoreError::Postgres(message)
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> StoreError {
        match e {
            deadpool_postgres::PoolError::Backend(e) => e.into(),
            other => StoreError::Postgres(format!("no connection to PostgreSQL: {other}")),
        }
    }
}

/// What one poll needs from the database: the recipe's two reads and its one write
/// (`crate::poll::settle`). [`Sqlite`] (SQLite) implements it; a second backend implements the
/// same and the pipeline does not change.
pub trait PollStore {
    /// What is recorded of those of `ids` that `feed` has listed before; absent ids are new.
    fn seen_items(&self, feed: &str, ids: &[String]) -> Result<HashMap<String, SeenItem>>;
    /// When `feed` was last fetched successfully (`None`: never, its first sight).
    fn last_success_at(&self, feed: &str) -> Result<Option<i64>>;
    /// Records one poll in one transaction (see [`Sqlite::record_poll`]).
    fn record_poll(&self, poll: &PollRecord) -> Result<RecordSummary>;
}

impl PollStore for Sqlite {
    fn seen_items(&self, feed: &str, ids: &[String]) -> Result<HashMap<String, SeenItem>> {
        Sqlite::seen_items(self, feed, ids)
    }

    fn last_success_at(&self, feed: &str) -> Result<Option<i64>> {
        Sqlite::last_success_at(self, feed)
    }

    fn record_poll(&self, poll: &PollRecord) -> Result<RecordSummary> {
        Sqlite::record_poll(self, poll)
    }
}

/// A handle on the database; cheap to clone, safe to share between threads.
#[derive(Clone)]
pub struct Sqlite {
    conn: Arc<Mutex<Connection>>,
    /// Polls recorded concurrently share one transaction (see [`group_commit`]).
    polls: Arc<group_commit::GroupCommit<PollRecord, RecordSummary>>,
    path: PathBuf,
    story_policy: StoryPolicy,
}

/// What a fetch of one feed produced, to be recorded in one transaction.
#[derive(Debug, Clone)]
pub struct FetchRecord {
    pub feed: String,
    pub url: String,
    pub at: i64,
    /// `None` on success; the one-line reason on failure.
    pub error: Option<String>,
    pub items: Vec<NewItem>,
    /// Ids of items the feed still lists that were recorded before: kept from retention.
    pub listed: Vec<String>,
    /// Items recorded before whose text has changed since (see [`EditedItem`]).
    pub edits: Vec<EditedItem>,
}

/// An item already recorded whose text (title, summary or content) is not what it was.
#[derive(Debug, Clone)]
pub struct EditedItem {
    pub id: String,
    pub link: Option<String>,
    pub title: String,
    /// The text hash the item was recorded with (`None` for an item recorded before hashes).
    pub old_hash: Option<i64>,
    pub text_hash: i64,
    /// The headline changed materially (not just case or spacing).
    pub title_changed: bool,
    pub story: StoryKey,
    /// The matches of rules with `realert_on_update`; each alert's id is unique to this edit.
    pub alerts: Vec<NewAlert>,
}

/// What the database knows of an item already recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeenItem {
    pub title: String,
    pub text_hash: Option<i64>,
    /// Recorded as back catalogue (older than `max_age` at first sight): never alerts.
    pub too_old: bool,
}

#[derive(Debug, Clone)]
pub struct NewItem {
    pub id: String,
    pub link: Option<String>,
    pub title: String,
    pub published: Option<i64>,
    /// Older than `max_age` at first sight: recorded, never alerted.
    pub too_old: bool,
    /// Stable hash of the item's text, to tell a later edit from a re-listing.
    pub text_hash: Option<i64>,
    /// What finds the item's story (see `store::stories`).
    pub story: StoryKey,
    pub alerts: Vec<NewAlert>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RecordSummary {
    pub new_items: usize,
    pub new_alerts: usize,
    /// Matches that joined a story the rule had already alerted on: recorded as sources.
    pub merged: usize,
    /// Items recorded before whose text changed (whether or not that raised an alert).
    pub edited: usize,
}

impl Sqlite {
    /// Opens (creating if needed) the database at `path` and migrates it to the current schema.
    pub fn open(path: &Path) -> Result<Sqlite> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let open_err = |cause| StoreError::Open {
            path: path.to_path_buf(),
            cause,
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(open_err)?;
        // WAL lets `watchword feeds`/`alerts` read while the daemon writes. FULL sync because a
        // delivered-mark lost to a power cut would mean a doubled alert.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_err)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(open_err)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(open_err)?;
        schema::migrations()
            .to_latest(&mut conn)
            .map_err(|cause| StoreError::Migrate {
                path: path.to_path_buf(),
                cause,
            })?;
        Ok(Sqlite {
            conn: Arc::new(Mutex::new(conn)),
            polls: Arc::default(),
            path: path.to_path_buf(),
            story_policy: StoryPolicy::default(),
        })
    }

    /// Sets how items are grouped into stories (window and similarity threshold).
    pub fn with_story_policy(mut self, policy: StoryPolicy) -> Sqlite {
        self.story_policy = policy;
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>> {
        self.conn.lock().map_err(|_| StoreError::Poisoned)
    }

    /// The subset of `ids` not yet recorded for `feed`, so only new items get matched.
    pub fn unseen(&self, feed: &str, ids: &[String]) -> Result<HashSet<String>> {
        let conn = self.lock()?;
        let mut stmt =
            conn.prepare_cached("SELECT 1 FROM items WHERE feed = ?1 AND item_id = ?2")?;
        let mut unseen = HashSet::new();
        for id in ids {
            if !stmt.exists(params![feed, id])? {
                unseen.insert(id.clone());
            }
        }
        Ok(unseen)
    }

    /// What is recorded of those of `ids` that `feed` has listed before; absent ids are new.
    pub fn seen_items(
        &self,
        feed: &str,
        ids: &[String],
    ) -> Result<std::collections::HashMap<String, SeenItem>> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(
            "SELECT title, text_hash, status FROM items WHERE feed = ?1 AND item_id = ?2",
        )?;
        let mut seen = std::collections::HashMap::new();
        for id in ids {
            let item = stmt
                .query_row(params![feed, id], |row| {
                    Ok(SeenItem {
                        title: row.get(0)?,
                        text_hash: row.get(1)?,
                        too_old: row.get::<_, String>(2)? == "old",
                    })
                })
                .optional()?;
            if let Some(item) = item {
                seen.insert(id.clone(), item);
            }
        }
        Ok(seen)
    }

    /// Records one fetch: the feed's health, its new items and their alerts, atomically.
    ///
    /// Items already recorded are skipped together with their alerts, so recording the same
    /// fetch twice (a retry after a crash, two passes racing) raises no second alert.
    pub fn record_fetch(&self, record: &FetchRecord) -> Result<RecordSummary> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let summary = insert_items(&tx, record, self.story_policy)?;
        match &record.error {
            None => tx.execute(
                "INSERT INTO feeds (name, url, last_fetch_at, last_success_at, last_error, consecutive_failures, items_seen)
                 VALUES (?1, ?2, ?3, ?3, NULL, 0, ?4)
                 ON CONFLICT (name) DO UPDATE SET
                    url = excluded.url, last_fetch_at = excluded.last_fetch_at,
                    last_success_at = excluded.last_success_at, last_error = NULL,
                    consecutive_failures = 0, items_seen = items_seen + excluded.items_seen",
                params![record.feed, record.url, record.at, summary.new_items as i64],
            )?,
            Some(error) => tx.execute(
                "INSERT INTO feeds (name, url, last_fetch_at, last_error, consecutive_failures)
                 VALUES (?1, ?2, ?3, ?4, 1)
                 ON CONFLICT (name) DO UPDATE SET
                    url = excluded.url, last_fetch_at = excluded.last_fetch_at,
                    last_error = excluded.last_error,
                    consecutive_failures = consecutive_failures + 1",
                params![record.feed, record.url, record.at, error],
            )?,
        };
        tx.commit()?;
        Ok(summary)
    }

    /// When `feed` was last fetched successfully, or `None` if never: before that, the feed
    /// is on its first sight and its back catalogue must not alert.
    pub fn last_success_at(&self, feed: &str) -> Result<Option<i64>> {
        let conn = self.lock()?;
        Ok(conn
            .query_row(
                "SELECT last_success_at FROM feeds WHERE name = ?1",
                params![feed],
                |row| row.get::<_, Option<i64>>(0),
            )
            .optional()?
            .flatten())
    }
}

/// `recording::insert_items` on SQLite.
pub(super) fn insert_items(
    tx: &rusqlite::Connection,
    record: &FetchRecord,
    policy: StoryPolicy,
) -> Result<RecordSummary> {
    recording::insert_items(&mut stories::Ledger { tx }, record, policy)
}

impl recording::RecordingTx for stories::Ledger<'_> {
    fn insert_items(&mut self, feed: &str, items: &[NewItem], at: i64) -> Result<HashSet<String>> {
        let mut insert = self.tx.prepare_cached(
            "INSERT OR IGNORE INTO items (feed, item_id, link, title, published, first_seen_at, status, text_hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?;
        let mut inserted = HashSet::new();
        for item in items {
            let status = if item.too_old { "old" } else { "new" };
            let n = insert.execute(params![
                feed,
                item.id,
                item.link,
                item.title,
                item.published,
                at,
                status,
                item.text_hash
            ])?;
            if n > 0 {
                inserted.insert(item.id.clone());
            }
        }
        Ok(inserted)
    }

    fn insert_alert(&mut self, alert: &recording::AlertRow<'_>) -> Result<bool> {
        Ok(self
            .tx
            .prepare_cached(
                "INSERT OR IGNORE INTO alerts (id, rule, feed, item_id, title, link, payload, created_at, story_id, kind)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                alert.id,
                alert.rule,
                alert.feed,
                alert.item_id,
                alert.title,
                alert.link,
                alert.payload,
                alert.created_at,
                alert.story,
                alert.kind
            ])?
            > 0)
    }

    fn insert_delivery(&mut self, alert: &str, sink: &str, at: i64) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT OR IGNORE INTO deliveries (alert_id, sink, state, next_attempt_at)
                 VALUES (?1, ?2, 'pending', ?3)",
            )?
            .execute(params![alert, sink, at])?;
        Ok(())
    }

    fn record_edit(&mut self, feed: &str, edit: &EditedItem) -> Result<bool> {
        Ok(self
            .tx
            .prepare_cached(
                "UPDATE items SET text_hash = ?3, title = ?4, link = COALESCE(?5, link)
                 WHERE feed = ?1 AND item_id = ?2 AND text_hash IS ?6",
            )?
            .execute(params![
                feed,
                edit.id,
                edit.text_hash,
                edit.title,
                edit.link,
                edit.old_hash
            ])?
            > 0)
    }

    fn story_of(&mut self, feed: &str, item_id: &str) -> Result<Option<i64>> {
        stories::story_of(self.tx, feed, item_id)
    }

    fn touch_listed(&mut self, feed: &str, ids: &[String], at: i64) -> Result<()> {
        let mut touch = self.tx.prepare_cached(
            "UPDATE items SET last_listed_at = ?3
             WHERE feed = ?1 AND item_id = ?2 AND COALESCE(last_listed_at, first_seen_at) < ?3 - 86400",
        )?;
        for id in ids {
            touch.execute(params![feed, id, at])?;
        }
        Ok(())
    }
}

/// An exclusive lock on a SQLite database for the processes that write it (`run`, `once`), so
/// two of them never send the same pending alert at the same time. Released when dropped (or
/// when the process dies: the kernel drops the lock with the file descriptor). PostgreSQL
/// needs none: replicas share it by design, and leases keep them from doing anything twice.
pub struct WriterLock {
    _file: Option<std::fs::File>,
}

impl WriterLock {
    pub fn acquire(database: &crate::model::Database) -> Result<WriterLock> {
        match database.sqlite_path() {
            Some(path) => WriterLock::acquire_file(path),
            None => Ok(WriterLock { _file: None }),
        }
    }

    fn acquire_file(database: &Path) -> Result<WriterLock> {
        let mut path = database.as_os_str().to_owned();
        path.push(".lock");
        let path = PathBuf::from(path);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|cause| StoreError::Lock {
                path: path.clone(),
                cause,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(WriterLock { _file: Some(file) }),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Busy {
                path: database.to_path_buf(),
            }),
            Err(std::fs::TryLockError::Error(cause)) => Err(StoreError::Lock { path, cause }),
        }
    }
}

#[cfg(test)]
mod tests;

/// For `watchword check` (issue 4): the time each rule last raised an alert, read from the
/// database at `path` without migrating or locking it (a running daemon keeps it open), and the
/// time of the oldest fetch on record, so the caller knows how much history there is.
/// `Ok(None)` if there is no database there yet.
pub fn rule_activity(database: &crate::model::Database) -> Result<Option<RuleActivity>> {
    let path = match database {
        crate::model::Database::Sqlite(path) => path,
        crate::model::Database::Postgres(url) => {
            return match Postgres::connect_existing(url) {
                Ok(db) => db.rule_activity().map(Some),
                Err(StoreError::NotSetUp { .. }) => Ok(None),
                Err(e) => Err(e),
            };
        }
    };
    if !path.exists() {
        return Ok(None);
    }
    let open =
        |path: &Path| Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY);
    let conn = open(path).map_err(|cause| StoreError::Open {
        path: path.to_path_buf(),
        cause,
    })?;
    conn.busy_timeout(Duration::from_secs(5))?;
    let mut last_alert = std::collections::HashMap::new();
    let mut stmt = conn.prepare("SELECT rule, MAX(created_at) FROM alerts GROUP BY rule")?;
    let rows = stmt.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
    })?;
    for row in rows {
        let (rule, at) = row?;
        last_alert.insert(rule, at);
    }
    let since: Option<i64> = conn
        .query_row("SELECT MIN(first_seen_at) FROM items", [], |row| row.get(0))
        .optional()?
        .flatten();
    Ok(Some(RuleActivity { last_alert, since }))
}

/// See [`rule_activity`].
#[derive(Debug, Clone, Default)]
pub struct RuleActivity {
    /// Rule name → unix time of its latest alert.
    pub last_alert: std::collections::HashMap<String, i64>,
    /// Unix time of the first item on record: how far back the history goes.
    pub since: Option<i64>,
}
