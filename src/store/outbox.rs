//! The outbox: deliveries owed to sinks, their attempts and their retry schedule.

use rusqlite::{OptionalExtension, params};

use super::{Result, Sqlite};
use crate::model::{AttemptOutcome, StorySource};

/// A delivery that is due: the alert's payload and where it goes.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub alert_id: String,
    pub sink: String,
    pub rule: String,
    pub attempts: u32,
    pub created_at: i64,
    /// When the retry window started: the alert's creation, or its re-queueing by
    /// `watchword redeliver`.
    pub queued_at: i64,
    /// The payload as stored when the alert was raised.
    pub payload: String,
    /// Every outlet that has reported the alert's story so far, read at this attempt (empty
    /// for an alert outside stories): the sender adds them to the payload.
    pub story_sources: Vec<StorySource>,
}

/// A sink the receiver disabled with 410 Gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisabledSink {
    pub sink: String,
    pub disabled_at: i64,
    pub reason: String,
    pub url_fingerprint: String,
}

/// Which deliveries `watchword alerts` lists.
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    /// `pending`, `delivered` or `dead`.
    pub state: Option<String>,
    pub rule: Option<String>,
    /// Alerts created at or after (unix seconds).
    pub since: Option<i64>,
    pub limit: usize,
}

/// One delivery of one alert, for listing.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DeliveryRow {
    pub alert_id: String,
    pub rule: String,
    pub feed: String,
    pub title: String,
    pub link: Option<String>,
    /// Times are unix seconds, listed (`alerts --json`) as RFC 3339 UTC.
    #[serde(serialize_with = "crate::model::time::serialize")]
    pub created_at: i64,
    pub sink: String,
    pub state: String,
    pub attempts: u32,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    #[serde(serialize_with = "crate::model::time::serialize")]
    pub next_attempt_at: i64,
    #[serde(serialize_with = "crate::model::time::serialize_option")]
    pub last_attempt_at: Option<i64>,
    #[serde(serialize_with = "crate::model::time::serialize_option")]
    pub delivered_at: Option<i64>,
    /// Every outlet that reported the alert's story, the alerting one first.
    pub sources: Vec<StorySource>,
    #[serde(skip)]
    pub story_id: Option<i64>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct OutboxCounts {
    pub pending: u64,
    pub delivered: u64,
    pub dead: u64,
}

impl Sqlite {
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
            "SELECT d.alert_id, d.sink, a.rule, d.attempts, a.created_at, a.payload,
                    COALESCE(d.queued_at, a.created_at), a.story_id
             FROM deliveries d JOIN alerts a ON a.id = d.alert_id
             WHERE d.state = 'pending'
               AND d.next_attempt_at <= CASE WHEN ?2 THEN 9223372036854775807 ELSE ?1 END
               AND d.sink IN (SELECT value FROM json_each(?4))
             ORDER BY a.created_at, a.rowid
             LIMIT ?3",
        )?;
        let sinks = sink_list(sinks);
        let rows = stmt.query_map(params![now, include_future, limit as i64, sinks], |row| {
            let delivery = Delivery {
                alert_id: row.get(0)?,
                sink: row.get(1)?,
                rule: row.get(2)?,
                attempts: row.get(3)?,
                created_at: row.get(4)?,
                payload: row.get(5)?,
                queued_at: row.get(6)?,
                story_sources: Vec::new(),
            };
            Ok((delivery, row.get::<_, Option<i64>>(7)?))
        })?;
        let rows: Vec<_> = rows.collect::<std::result::Result<_, _>>()?;
        // Each attempt carries the story's sources as they are now, not as they were when the
        // alert was queued: a retry or a digest hours later lists the outlets that came since.
        // Only the rows are read here; `model::payload::with_story_sources` adds them.
        let mut sources = std::collections::HashMap::new();
        let mut due = Vec::with_capacity(rows.len());
        for (mut delivery, story) in rows {
            if let Some(story) = story {
                let sources = match sources.entry(story) {
                    std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(super::stories::sources_in(&conn, story)?)
                    }
                };
                delivery.story_sources = sources.clone();
            }
            due.push(delivery);
        }
        Ok(due)
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
        record_on(&conn, alert_id, sink, at, outcome)
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

    /// Records one outcome for several deliveries to `sink` (a digest), in one transaction.
    pub fn record_attempts(
        &self,
        alert_ids: &[String],
        sink: &str,
        at: i64,
        outcome: &AttemptOutcome,
    ) -> Result<()> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        for id in alert_ids {
            record_on(&tx, id, sink, at, outcome)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Marks as dead the pending deliveries to `sink` whose retry window started before
    /// `queued_before`: past `give_up_after`, in one statement, instead of one timeout each.
    pub fn expire_sink_deliveries(&self, sink: &str, queued_before: i64) -> Result<usize> {
        let conn = self.lock()?;
        Ok(conn.execute(
            "UPDATE deliveries SET state = 'dead',
                last_error = COALESCE(last_error || '; ', '') || 'gave up: retry window expired'
             WHERE state = 'pending' AND sink = ?1
               AND alert_id IN (
                   SELECT d.alert_id FROM deliveries d JOIN alerts a ON a.id = d.alert_id
                   WHERE d.state = 'pending' AND d.sink = ?1
                     AND COALESCE(d.queued_at, a.created_at) < ?2)",
            params![sink, queued_before],
        )?)
    }

    /// For a digest sink: when its next message is due. A window opens with the oldest
    /// fresh alert and closes `window` seconds later; a digest that failed waits for its
    /// retry time instead.
    pub fn digest_due_at(&self, sink: &str, window: i64) -> Result<Option<i64>> {
        let conn = self.lock()?;
        Ok(conn
            .query_row(
                "SELECT MIN(CASE WHEN attempts = 0 THEN next_attempt_at + ?2
                                 ELSE next_attempt_at END)
                 FROM deliveries WHERE state = 'pending' AND sink = ?1",
                params![sink, window],
                |row| row.get::<_, Option<i64>>(0),
            )
            .optional()?
            .flatten())
    }

    /// For a sink with scheduled digests: when its oldest never-tried pending delivery was
    /// queued, and when its earliest retry is due.
    pub fn digest_pending_times(&self, sink: &str) -> Result<(Option<i64>, Option<i64>)> {
        let conn = self.lock()?;
        Ok(conn.query_row(
            "SELECT MIN(CASE WHEN attempts = 0 THEN next_attempt_at END),
                    MIN(CASE WHEN attempts > 0 THEN next_attempt_at END)
             FROM deliveries WHERE state = 'pending' AND sink = ?1",
            params![sink],
            |row| Ok((row.get::<_, Option<i64>>(0)?, row.get::<_, Option<i64>>(1)?)),
        )?)
    }

    /// Remembers that `sink`'s receiver answered 410 Gone for the URL with `fingerprint`.
    pub fn disable_sink(&self, sink: &str, at: i64, reason: &str, fingerprint: &str) -> Result<()> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO sink_state (sink, disabled_at, reason, url_fingerprint)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (sink) DO UPDATE SET disabled_at = ?2, reason = ?3, url_fingerprint = ?4",
            params![sink, at, reason, fingerprint],
        )?;
        Ok(())
    }

    pub fn enable_sink(&self, sink: &str) -> Result<bool> {
        let conn = self.lock()?;
        Ok(conn.execute("DELETE FROM sink_state WHERE sink = ?1", params![sink])? > 0)
    }

    /// Every disabled sink, by name.
    pub fn disabled_sinks(&self) -> Result<Vec<DisabledSink>> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(
            "SELECT sink, disabled_at, reason, url_fingerprint FROM sink_state ORDER BY sink",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(DisabledSink {
                sink: row.get(0)?,
                disabled_at: row.get(1)?,
                reason: row.get(2)?,
                url_fingerprint: row.get(3)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Deliveries with their alerts, newest first, for `watchword alerts`.
    pub fn list_deliveries(&self, filter: &AlertFilter) -> Result<Vec<DeliveryRow>> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(
            "SELECT a.id, a.rule, a.feed, a.title, a.link, a.created_at, d.sink, d.state,
                    d.attempts, d.last_status, d.last_error, d.next_attempt_at,
                    d.last_attempt_at, d.delivered_at, a.story_id
             FROM deliveries d JOIN alerts a ON a.id = d.alert_id
             WHERE (?1 IS NULL OR d.state = ?1)
               AND (?2 IS NULL OR a.rule = ?2)
               AND (?3 IS NULL OR a.created_at >= ?3)
             ORDER BY a.created_at DESC, a.rowid DESC, d.sink
             LIMIT ?4",
        )?;
        let rows = stmt.query_map(
            params![
                filter.state,
                filter.rule,
                filter.since,
                filter.limit.min(i64::MAX as usize) as i64
            ],
            |row| {
                Ok(DeliveryRow {
                    alert_id: row.get(0)?,
                    rule: row.get(1)?,
                    feed: row.get(2)?,
                    title: row.get(3)?,
                    link: row.get(4)?,
                    created_at: row.get(5)?,
                    sink: row.get(6)?,
                    state: row.get(7)?,
                    attempts: row.get(8)?,
                    last_status: row.get(9)?,
                    last_error: row.get(10)?,
                    next_attempt_at: row.get(11)?,
                    last_attempt_at: row.get(12)?,
                    delivered_at: row.get(13)?,
                    sources: Vec::new(),
                    story_id: row.get(14)?,
                })
            },
        )?;
        let mut rows: Vec<DeliveryRow> = rows.collect::<std::result::Result<_, _>>()?;
        for row in &mut rows {
            if let Some(story) = row.story_id {
                row.sources = super::stories::sources_in(&conn, story)?;
            }
        }
        Ok(rows)
    }

    /// Puts deliveries back in the queue, due now, with a fresh retry window and attempt
    /// count: the given alerts' dead deliveries (all their deliveries when `include_delivered`),
    /// or with `alert_ids` empty every dead delivery. Re-enables the sinks involved. Returns
    /// how many deliveries were re-queued, and the alert ids that matched nothing.
    pub fn requeue(
        &self,
        alert_ids: &[String],
        include_delivered: bool,
        now: i64,
    ) -> Result<(usize, Vec<String>)> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let mut count = 0;
        let mut unknown = Vec::new();
        let mut sinks: Vec<String> = Vec::new();
        {
            let mut select = tx.prepare_cached(
                "SELECT sink FROM deliveries
                 WHERE (?1 IS NULL OR alert_id = ?1)
                   AND (state = 'dead' OR (?2 AND state = 'delivered'))",
            )?;
            let mut update = tx.prepare_cached(
                "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = ?3,
                    queued_at = ?3, delivered_at = NULL,
                    last_error = CASE WHEN last_error IS NULL THEN NULL
                                      ELSE 'requeued after: ' || last_error END
                 WHERE (?1 IS NULL OR alert_id = ?1)
                   AND (state = 'dead' OR (?2 AND state = 'delivered'))",
            )?;
            let targets: Vec<Option<&str>> = if alert_ids.is_empty() {
                vec![None]
            } else {
                alert_ids.iter().map(|id| Some(id.as_str())).collect()
            };
            for id in targets {
                let found: Vec<String> = select
                    .query_map(params![id, include_delivered], |row| row.get(0))?
                    .collect::<std::result::Result<_, _>>()?;
                let n = update.execute(params![id, include_delivered, now])?;
                if n == 0
                    && let Some(id) = id
                {
                    unknown.push(id.to_string());
                }
                count += n;
                sinks.extend(found);
            }
            sinks.sort();
            sinks.dedup();
            for sink in &sinks {
                tx.execute("DELETE FROM sink_state WHERE sink = ?1", params![sink])?;
            }
        }
        tx.commit()?;
        Ok((count, unknown))
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

/// `record_attempt` on a connection (or a transaction) the caller holds.
fn record_on(
    conn: &rusqlite::Connection,
    alert_id: &str,
    sink: &str,
    at: i64,
    outcome: &AttemptOutcome,
) -> Result<()> {
    match outcome {
        AttemptOutcome::Delivered { status } => conn.execute(
            "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1,
                last_status = ?3, last_error = NULL, delivered_at = ?4, last_attempt_at = ?4
             WHERE alert_id = ?1 AND sink = ?2",
            params![alert_id, sink, status, at],
        )?,
        AttemptOutcome::Retry {
            status,
            error,
            next_attempt_at,
        } => conn.execute(
            "UPDATE deliveries SET attempts = attempts + 1, last_status = ?3,
                last_error = ?4, next_attempt_at = ?5, last_attempt_at = ?6
             WHERE alert_id = ?1 AND sink = ?2",
            params![alert_id, sink, status, error, next_attempt_at, at],
        )?,
        AttemptOutcome::Dead { status, error } => conn.execute(
            "UPDATE deliveries SET state = 'dead', attempts = attempts + 1,
                last_status = ?3, last_error = ?4, last_attempt_at = ?5
             WHERE alert_id = ?1 AND sink = ?2",
            params![alert_id, sink, status, error, at],
        )?,
    };
    Ok(())
}

/// Sink names as a JSON array, for `json_each`: one bound parameter for any number of names.
fn sink_list(sinks: &[String]) -> String {
    serde_json::to_string(sinks).unwrap_or_else(|_| "[]".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AlertId, NewAlert};
    use crate::store::{FetchRecord, NewItem};

    fn store_with_alerts(ids: &[&str], at: i64) -> (tempfile::TempDir, Sqlite) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Sqlite::open(&dir.path().join("w.db")).expect("open");
        let items = ids
            .iter()
            .map(|id| NewItem {
                id: (*id).into(),
                link: None,
                title: format!("Story {id}"),
                published: Some(at),
                too_old: false,
                text_hash: None,
                story: Default::default(),
                alerts: vec![NewAlert {
                    id: AlertId::stored(format!("ww_{id}")),
                    rule: "r".into(),
                    payload: "{}".into(),
                    sinks: vec!["hook".into()],
                    story_update_after: None,
                }],
            })
            .collect();
        store
            .record_fetch(&FetchRecord {
                feed: "wire".into(),
                url: "https://example.org/rss".into(),
                at,
                error: None,
                items,
                listed: Vec::new(),
                edits: Vec::new(),
            })
            .expect("record");
        (dir, store)
    }

    #[test]
    fn digest_windows_open_with_the_oldest_fresh_alert() {
        let (_dir, store) = store_with_alerts(&["a", "b"], 1000);
        assert_eq!(store.digest_due_at("hook", 900).expect("due"), Some(1900));
        // A failed digest waits for its retry time, not for another window.
        let failed = AttemptOutcome::Retry {
            status: Some(500),
            error: "HTTP 500".into(),
            next_attempt_at: 2000,
        };
        store
            .record_attempts(&["ww_a".into(), "ww_b".into()], "hook", 1900, &failed)
            .expect("record");
        store.defer_sink("hook", 2000).expect("defer");
        assert_eq!(store.digest_due_at("hook", 900).expect("due"), Some(2000));
        assert_eq!(store.digest_due_at("other", 900).expect("due"), None);
    }

    #[test]
    fn requeued_deliveries_get_a_fresh_window_and_re_enable_their_sink() {
        let (_dir, store) = store_with_alerts(&["a", "b"], 1000);
        let dead = AttemptOutcome::Dead {
            status: Some(410),
            error: "HTTP 410 Gone".into(),
        };
        store
            .record_attempt("ww_a", "hook", 1100, &dead)
            .expect("dead");
        store
            .disable_sink("hook", 1100, "HTTP 410 Gone", "fp")
            .expect("disable");
        // Past the give-up age, the pending one expires; the dead one is untouched.
        assert_eq!(
            store.expire_sink_deliveries("hook", 1001).expect("expire"),
            1
        );
        let (n, unknown) = store.requeue(&[], false, 5000).expect("requeue");
        assert_eq!((n, unknown.len()), (2, 0));
        assert!(store.disabled_sinks().expect("list").is_empty());
        let due = store
            .due_deliveries(5000, false, 10, &["hook".into()])
            .expect("due");
        assert_eq!(due.len(), 2);
        assert!(due.iter().all(|d| d.queued_at == 5000 && d.attempts == 0));
        // The new window counts from the re-queueing, not from the alert's creation.
        assert_eq!(
            store.expire_sink_deliveries("hook", 4999).expect("expire"),
            0
        );
        let (n, unknown) = store
            .requeue(&["ww_nope".into()], true, 5000)
            .expect("requeue");
        assert_eq!((n, unknown), (0, vec!["ww_nope".to_string()]));
        let rows = store
            .list_deliveries(&AlertFilter {
                state: Some("pending".into()),
                limit: 10,
                ..AlertFilter::default()
            })
            .expect("list");
        assert_eq!(rows.len(), 2);
    }
}
