//! The outbox: deliveries owed to sinks, their attempts and their retry schedule.

use rusqlite::{OptionalExtension, params};

use super::{Result, Store};

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
