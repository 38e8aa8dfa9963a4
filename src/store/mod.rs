//! SQLite: seen items, feed health and the alert outbox.
//!
//! The API is synchronous; async callers go through `tokio::task::spawn_blocking` (see
//! `daemon`). All writes caused by one fetched feed — its health, its new items and the alerts
//! they raised — happen in one transaction, so a crash leaves either all of them or none: an
//! item is never marked seen without its alerts, and an alert never exists without its item.

mod schema;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

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

/// A handle on the database; cheap to clone, safe to share between threads.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
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
}

#[derive(Debug, Clone)]
pub struct NewItem {
    pub id: String,
    pub link: Option<String>,
    pub title: String,
    pub published: Option<i64>,
    /// Older than `max_age` at first sight: recorded, never alerted.
    pub too_old: bool,
    pub alerts: Vec<NewAlert>,
}

#[derive(Debug, Clone)]
pub struct NewAlert {
    pub id: String,
    pub rule: String,
    pub payload: String,
    pub sinks: Vec<String>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RecordSummary {
    pub new_items: usize,
    pub new_alerts: usize,
}

/// A delivery that is due: the alert's payload and where it goes.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub alert_id: String,
    pub sink: String,
    pub rule: String,
    pub attempts: u32,
    pub created_at: i64,
    pub payload: String,
}

/// The outcome of one delivery attempt, as the deliverer decided it.
#[derive(Debug, Clone)]
pub enum AttemptOutcome {
    Delivered {
        status: Option<u16>,
    },
    /// Try again at `next_attempt_at` (unix seconds).
    Retry {
        status: Option<u16>,
        error: String,
        next_attempt_at: i64,
    },
    /// Give up: the alert stays in the database as a dead letter.
    Dead {
        status: Option<u16>,
        error: String,
    },
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: u64,
    pub delivered: u64,
    pub dead: u64,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and migrates it to the current schema.
    pub fn open(path: &Path) -> Result<Store> {
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
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
            path: path.to_path_buf(),
        })
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

    /// Records one fetch: the feed's health, its new items and their alerts, atomically.
    ///
    /// Items already recorded are skipped together with their alerts, so recording the same
    /// fetch twice (a retry after a crash, two passes racing) raises no second alert.
    pub fn record_fetch(&self, record: &FetchRecord) -> Result<RecordSummary> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let mut summary = RecordSummary::default();
        {
            let mut insert_item = tx.prepare_cached(
                "INSERT OR IGNORE INTO items (feed, item_id, link, title, published, first_seen_at, status)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            let mut insert_alert = tx.prepare_cached(
                "INSERT OR IGNORE INTO alerts (id, rule, feed, item_id, title, link, payload, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            let mut insert_delivery = tx.prepare_cached(
                "INSERT OR IGNORE INTO deliveries (alert_id, sink, state, next_attempt_at)
                 VALUES (?1, ?2, 'pending', ?3)",
            )?;
            for item in &record.items {
                let status = if item.too_old { "old" } else { "new" };
                let inserted = insert_item.execute(params![
                    record.feed,
                    item.id,
                    item.link,
                    item.title,
                    item.published,
                    record.at,
                    status
                ])?;
                if inserted == 0 {
                    continue;
                }
                summary.new_items += 1;
                if item.too_old {
                    continue;
                }
                for alert in &item.alerts {
                    let inserted = insert_alert.execute(params![
                        alert.id,
                        alert.rule,
                        record.feed,
                        item.id,
                        item.title,
                        item.link,
                        alert.payload,
                        record.at
                    ])?;
                    if inserted == 0 {
                        continue;
                    }
                    summary.new_alerts += 1;
                    for sink in &alert.sinks {
                        insert_delivery.execute(params![alert.id, sink, record.at])?;
                    }
                }
            }
        }
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

    /// Pending deliveries in creation order. With `include_future` the retry schedule is
    /// ignored: `watchword once` is a manual pass and should try everything still owed.
    ///
    /// Only deliveries to `sinks` are returned: rows for a sink that left the config wait,
    /// untouched, and must not crowd out the sinks that can be served.
    pub fn due_deliveries(
        &self,
        now: i64,
        include_future: bool,
        limit: usize,
        sinks: &[String],
    ) -> Result<Vec<Delivery>> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(
            "SELECT d.alert_id, d.sink, a.rule, d.attempts, a.created_at, a.payload
             FROM deliveries d JOIN alerts a ON a.id = d.alert_id
             WHERE d.state = 'pending'
               AND d.next_attempt_at <= CASE WHEN ?2 THEN 9223372036854775807 ELSE ?1 END
               AND d.sink IN (SELECT value FROM json_each(?4))
             ORDER BY a.created_at, a.rowid
             LIMIT ?3",
        )?;
        let sinks = sink_list(sinks);
        let rows = stmt.query_map(params![now, include_future, limit as i64, sinks], |row| {
            Ok(Delivery {
                alert_id: row.get(0)?,
                sink: row.get(1)?,
                rule: row.get(2)?,
                attempts: row.get(3)?,
                created_at: row.get(4)?,
                payload: row.get(5)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Records the result of one attempt at delivering `alert_id` to `sink`.
    pub fn record_attempt(
        &self,
        alert_id: &str,
        sink: &str,
        at: i64,
        outcome: &AttemptOutcome,
    ) -> Result<()> {
        let conn = self.lock()?;
        match outcome {
            AttemptOutcome::Delivered { status } => conn.execute(
                "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1,
                    last_status = ?3, last_error = NULL, delivered_at = ?4
                 WHERE alert_id = ?1 AND sink = ?2",
                params![alert_id, sink, status, at],
            )?,
            AttemptOutcome::Retry {
                status,
                error,
                next_attempt_at,
            } => conn.execute(
                "UPDATE deliveries SET attempts = attempts + 1, last_status = ?3,
                    last_error = ?4, next_attempt_at = ?5
                 WHERE alert_id = ?1 AND sink = ?2",
                params![alert_id, sink, status, error, next_attempt_at],
            )?,
            AttemptOutcome::Dead { status, error } => conn.execute(
                "UPDATE deliveries SET state = 'dead', attempts = attempts + 1,
                    last_status = ?3, last_error = ?4
                 WHERE alert_id = ?1 AND sink = ?2",
                params![alert_id, sink, status, error],
            )?,
        };
        Ok(())
    }

    /// When the earliest pending delivery to one of `sinks` is due (unix seconds), if any.
    pub fn next_delivery_at(&self, sinks: &[String]) -> Result<Option<i64>> {
        let conn = self.lock()?;
        Ok(conn
            .query_row(
                "SELECT MIN(next_attempt_at) FROM deliveries
                 WHERE state = 'pending' AND sink IN (SELECT value FROM json_each(?1))",
                params![sink_list(sinks)],
                |row| row.get::<_, Option<i64>>(0),
            )
            .optional()?
            .flatten())
    }

    /// Holds back every pending delivery to `sink` until at least `until`: when a receiver
    /// fails, its other alerts wait for the same retry instead of hammering it one by one.
    pub fn defer_sink(&self, sink: &str, until: i64) -> Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "UPDATE deliveries SET next_attempt_at = ?2
             WHERE sink = ?1 AND state = 'pending' AND next_attempt_at < ?2",
            params![sink, until],
        )?;
        Ok(())
    }

    /// Makes every pending delivery to `sink` due at `now`: the receiver has just accepted an
    /// alert, so the ones deferred while it was failing need not wait for their retry time.
    pub fn release_sink(&self, sink: &str, now: i64) -> Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "UPDATE deliveries SET next_attempt_at = ?2
             WHERE sink = ?1 AND state = 'pending' AND next_attempt_at > ?2",
            params![sink, now],
        )?;
        Ok(())
    }

    /// Marks as dead every pending delivery of an alert created before `created_before`:
    /// past the retry window, in one statement, instead of one timeout per alert.
    pub fn expire_deliveries(&self, created_before: i64) -> Result<usize> {
        let conn = self.lock()?;
        Ok(conn.execute(
            "UPDATE deliveries SET state = 'dead',
                last_error = COALESCE(last_error || '; ', '') || 'gave up: retry window expired'
             WHERE state = 'pending'
               AND alert_id IN (
                   SELECT d.alert_id FROM deliveries d JOIN alerts a ON a.id = d.alert_id
                   WHERE d.state = 'pending' AND a.created_at < ?1)",
            params![created_before],
        )?)
    }

    /// Pending deliveries per sink, for sinks not in `configured`: alerts that cannot go
    /// anywhere until the user puts the sink back.
    pub fn orphaned_deliveries(&self, configured: &[String]) -> Result<Vec<(String, u64)>> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(
            "SELECT sink, COUNT(*) FROM deliveries
             WHERE state = 'pending' AND sink NOT IN (SELECT value FROM json_each(?1))
             GROUP BY sink ORDER BY sink",
        )?;
        let rows = stmt.query_map(params![sink_list(configured)], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?.max(0) as u64,
            ))
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
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

    pub fn outbox_counts(&self) -> Result<OutboxCounts> {
        let conn = self.lock()?;
        let mut stmt =
            conn.prepare_cached("SELECT state, COUNT(*) FROM deliveries GROUP BY state")?;
        let mut counts = OutboxCounts::default();
        let rows = stmt.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
        })?;
        for row in rows {
            let (state, n) = row?;
            let n = n.max(0) as u64;
            match state.as_str() {
                "pending" => counts.pending = n,
                "delivered" => counts.delivered = n,
                "dead" => counts.dead = n,
                _ => {}
            }
        }
        Ok(counts)
    }
}

/// Sink names as a JSON array, for `json_each`: one bound parameter for any number of names.
fn sink_list(sinks: &[String]) -> String {
    serde_json::to_string(sinks).unwrap_or_else(|_| "[]".to_string())
}

/// An exclusive lock on the database for the processes that write it (`run`, `once`), so two
/// of them never send the same pending alert at the same time. Released when dropped (or when
/// the process dies: the kernel drops the lock with the file descriptor).
pub struct WriterLock {
    _file: std::fs::File,
}

impl WriterLock {
    pub fn acquire(database: &Path) -> Result<WriterLock> {
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
            Ok(()) => Ok(WriterLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Busy {
                path: database.to_path_buf(),
            }),
            Err(std::fs::TryLockError::Error(cause)) => Err(StoreError::Lock { path, cause }),
        }
    }
}

#[cfg(test)]
mod tests;
