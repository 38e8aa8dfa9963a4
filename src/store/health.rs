//! Read-only summaries for operators: what `/metrics`, the systemd STATUS line and
//! `watchword status` report. Every query is an aggregate over indexed or small tables, cheap
//! enough to run on each scrape.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, params};

use super::{Result, Sqlite, StoreError};

/// The service's state as the database knows it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Health {
    /// Alerts by state: pending while any of its deliveries is pending, dead when none is
    /// pending and one gave up, delivered when every sink accepted it.
    pub alerts_pending: u64,
    pub alerts_delivered: u64,
    pub alerts_dead: u64,
    /// Deliveries that gave up, whatever their alert's other sinks did: an alert still owed
    /// to one sink counts as pending above, but its dead delivery is a failure all the same.
    pub deliveries_dead: u64,
    /// When the oldest alert still pending was raised (unix seconds).
    pub oldest_pending_at: Option<i64>,
    /// When any feed was last fetched, successfully or not (unix seconds).
    pub last_poll_at: Option<i64>,
    /// Configured feeds whose last fetch failed, worst first.
    pub failing: Vec<FailingFeed>,
    /// Configured feeds fetched at least once.
    pub feeds_polled: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailingFeed {
    pub name: String,
    pub consecutive_failures: u64,
    pub last_error: String,
    pub last_success_at: Option<i64>,
}

impl Sqlite {
    /// Opens an existing database for reading only: `watchword status` next to a running
    /// daemon. WAL lets it read while the daemon writes; it never migrates or locks.
    pub fn open_read_only(path: &Path) -> Result<Sqlite> {
        let open_err = |cause| StoreError::Open {
            path: path.to_path_buf(),
            cause,
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(open_err)?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(open_err)?;
        Ok(Sqlite {
            conn: Arc::new(Mutex::new(conn)),
            polls: Arc::default(),
            path: path.to_path_buf(),
            story_policy: super::StoryPolicy::default(),
        })
    }

    /// The operator's summary, counting only the feeds in `feeds` (the current config).
    pub fn health(&self, feeds: &[String]) -> Result<Health> {
        let conn = self.lock()?;
        let mut health = Health::default();
        // Each count goes through the deliveries (state, next_attempt_at) index or a plain
        // table count, never a GROUP BY over every alert: the outbox grows for years and this
        // runs on every scrape, holding the connection the pipeline writes through.
        let (pending, oldest) = conn.query_row(
            "SELECT COUNT(DISTINCT d.alert_id), MIN(a.created_at)
             FROM deliveries d JOIN alerts a ON a.id = d.alert_id
             WHERE d.state = 'pending'",
            [],
            |row| Ok((row.get::<_, i64>(0)?, row.get::<_, Option<i64>>(1)?)),
        )?;
        let dead: i64 = conn.query_row(
            "SELECT COUNT(DISTINCT alert_id) FROM deliveries
             WHERE state = 'dead' AND alert_id NOT IN
                 (SELECT alert_id FROM deliveries WHERE state = 'pending')",
            [],
            |row| row.get(0),
        )?;
        let dead_deliveries: i64 = conn.query_row(
            "SELECT COUNT(*) FROM deliveries WHERE state = 'dead'",
            [],
            |row| row.get(0),
        )?;
        health.deliveries_dead = dead_deliveries.max(0) as u64;
        let total: i64 = conn.query_row("SELECT COUNT(*) FROM alerts", [], |row| row.get(0))?;
        health.alerts_pending = pending.max(0) as u64;
        health.oldest_pending_at = oldest;
        health.alerts_dead = dead.max(0) as u64;
        // Every alert has at least one delivery (a rule notifies at least one sink).
        health.alerts_delivered = (total - pending - dead).max(0) as u64;
        let names = serde_json::to_string(feeds).unwrap_or_else(|_| "[]".to_string());
        let (polled, last) = conn.query_row(
            "SELECT COUNT(*), MAX(last_fetch_at) FROM feeds
             WHERE name IN (SELECT value FROM json_each(?1))",
            params![names],
            |row| Ok((row.get::<_, i64>(0)?, row.get::<_, Option<i64>>(1)?)),
        )?;
        health.feeds_polled = polled.max(0) as u64;
        health.last_poll_at = last;
        let mut stmt = conn.prepare_cached(
            "SELECT name, consecutive_failures, COALESCE(last_error, ''), last_success_at
             FROM feeds
             WHERE consecutive_failures > 0 AND name IN (SELECT value FROM json_each(?1))
             ORDER BY consecutive_failures DESC, name",
        )?;
        let rows = stmt.query_map(params![names], |row| {
            Ok(FailingFeed {
                name: row.get(0)?,
                consecutive_failures: row.get::<_, i64>(1)?.max(0) as u64,
                last_error: row.get(2)?,
                last_success_at: row.get(3)?,
            })
        })?;
        health.failing = rows.collect::<std::result::Result<_, _>>()?;
        Ok(health)
    }

    /// Whether the database takes a write lock right now (`/readyz`): a full disk or a
    /// read-only mount shows here before it loses an alert.
    pub fn check_writable(&self) -> Result<()> {
        let conn = self.lock()?;
        conn.execute_batch("BEGIN IMMEDIATE; ROLLBACK;")?;
        Ok(())
    }
}
