//! Everything else the daemon and the CLI ask of PostgreSQL: feed state, the outbox (with
//! delivery leases), operators' summaries and retention. Each function mirrors the SQLite one
//! of the same name in `store::{feeds, outbox, stories, health}`; see those for the why.

use std::collections::HashMap;

use tokio_postgres::Row;

use super::{Postgres, Result, Tx, locks, record::sources_in};
use crate::model::{AttemptOutcome, StorySource};
use crate::store::feeds::FEED_EVENT_RULE_PREFIX;
use crate::store::{
    AlertFilter, Delivery, DeliveryRow, DisabledSink, FailingFeed, FeedState, Health, OutboxCounts,
    PruneReport, StoredArticle,
};

pub(super) const STATE_COLUMNS: &str =
    "name, url, etag, last_modified, last_fetch_at, last_success_at,
    last_status, last_error, consecutive_failures, failing_since, last_new_item_at, next_due_at,
    moved_to, gone_at, broken_since, stale_since, items_seen, ttl, skipped";

/// How many columns `STATE_COLUMNS` names.
pub(super) const STATE_COLUMN_COUNT: usize = 19;

pub(super) fn state_from_row(row: &Row) -> FeedState {
    FeedState {
        name: row.get(0),
        url: row.get(1),
        etag: row.get(2),
        last_modified: row.get(3),
        last_fetch_at: row.get(4),
        last_success_at: row.get(5),
        last_status: row
            .get::<_, Option<i64>>(6)
            .and_then(|s| u16::try_from(s).ok()),
        last_error: row.get(7),
        consecutive_failures: row.get::<_, i64>(8).clamp(0, i64::from(u32::MAX)) as u32,
        failing_since: row.get(9),
        last_new_item_at: row.get(10),
        next_due_at: row.get(11),
        moved_to: row.get(12),
        gone_at: row.get(13),
        broken_since: row.get(14),
        stale_since: row.get(15),
        items_seen: row.get::<_, i64>(16).max(0) as u64,
        ttl: row.get(17),
        skipped: row.get(18),
        alerts: 0,
    }
}

fn count(n: i64) -> u64 {
    n.max(0) as u64
}

impl Postgres {
    /// The stored state of `feed`; `None` if it was never fetched (a lease alone is no state).
    pub fn feed_state(&self, feed: &str) -> Result<Option<FeedState>> {
        self.with_conn(|tx| {
            Ok(tx
                .query_opt(
                    &format!(
                        "SELECT {STATE_COLUMNS} FROM feeds
                         WHERE name = $1 AND last_fetch_at IS NOT NULL"
                    ),
                    &[&feed],
                )?
                .map(|row| state_from_row(&row)))
        })
    }

    pub fn feed_states(&self) -> Result<HashMap<String, FeedState>> {
        self.with_conn(|tx| {
            let alerts: HashMap<String, u64> = tx
                .query(
                    "SELECT feed, COUNT(*) FROM alerts WHERE substr(rule, 1, 6) <> $1 GROUP BY feed",
                    &[&FEED_EVENT_RULE_PREFIX],
                )?
                .into_iter()
                .map(|row| (row.get::<_, String>(0), count(row.get(1))))
                .collect();
            let rows = tx.query(
                &format!("SELECT {STATE_COLUMNS} FROM feeds WHERE last_fetch_at IS NOT NULL"),
                &[],
            )?;
            Ok(rows
                .iter()
                .map(|row| {
                    let mut state = state_from_row(row);
                    state.alerts = alerts.get(&state.name).copied().unwrap_or(0);
                    (state.name.clone(), state)
                })
                .collect())
        })
    }

    /// Pending deliveries to `sinks`, oldest first, leased to this replica for `replica_lease`:
    /// rows another replica holds are skipped (`SKIP LOCKED` for the moment of the claim, the
    /// lease for as long as the sending takes), so each alert goes out from one replica at a
    /// time. A replica that dies leaves them to the others after the lease; they retry them
    /// under the same ids. (The deliverer also holds the sink itself: see `claim_sink`.)
    pub fn due_deliveries(
        &self,
        now: i64,
        include_future: bool,
        limit: usize,
        sinks: &[String],
    ) -> Result<Vec<Delivery>> {
        let due_before = if include_future { i64::MAX } else { now };
        let limit = limit.min(i64::MAX as usize) as i64;
        let until = now.saturating_add(self.lease_secs);
        let replica: &str = &self.replica;
        self.with_light_tx(|tx| {
            let rows = tx.query(
                "WITH due AS (
                     SELECT d.alert_id, d.sink, a.created_at, a.seq
                     FROM deliveries d JOIN alerts a ON a.id = d.alert_id
                     WHERE d.state = 'pending' AND d.next_attempt_at <= $1
                       AND d.sink = ANY($2)
                       AND (d.lease_until IS NULL OR d.lease_until <= $3 OR d.lease_owner = $5)
                     ORDER BY a.created_at, a.seq
                     LIMIT $4
                     FOR UPDATE OF d SKIP LOCKED
                 ), leased AS (
                     UPDATE deliveries d SET lease_owner = $5, lease_until = $6
                     FROM due WHERE d.alert_id = due.alert_id AND d.sink = due.sink
                     RETURNING d.alert_id, d.sink, d.attempts, d.queued_at
                 )
                 SELECT l.alert_id, l.sink, a.rule, l.attempts, a.created_at, a.payload,
                        COALESCE(l.queued_at, a.created_at), a.story_id
                 FROM leased l JOIN alerts a ON a.id = l.alert_id
                 ORDER BY a.created_at, a.seq",
                &[&due_before, &sinks, &now, &limit, &replica, &until],
            )?;
            let mut sources: HashMap<i64, Vec<StorySource>> = HashMap::new();
            let mut due = Vec::with_capacity(rows.len());
            for row in rows {
                let story: Option<i64> = row.get(7);
                let mut delivery = Delivery {
                    alert_id: row.get(0),
                    sink: row.get(1),
                    rule: row.get(2),
                    attempts: row.get::<_, i64>(3).clamp(0, i64::from(u32::MAX)) as u32,
                    created_at: row.get(4),
                    payload: row.get(5),
                    queued_at: row.get(6),
                    story_sources: Vec::new(),
                };
                if let Some(story) = story {
                    if let std::collections::hash_map::Entry::Vacant(slot) = sources.entry(story) {
                        slot.insert(sources_in(tx, story)?);
                    }
                    delivery.story_sources = sources.get(&story).cloned().unwrap_or_default();
                }
                due.push(delivery);
            }
            Ok(due)
        })
    }

    pub fn record_attempt(
        &self,
        alert_id: &str,
        sink: &str,
        at: i64,
        outcome: &AttemptOutcome,
    ) -> Result<()> {
        self.with_tx(|tx| record_on(tx, alert_id, sink, at, outcome))
    }

    pub fn record_attempts(
        &self,
        alert_ids: &[String],
        sink: &str,
        at: i64,
        outcome: &AttemptOutcome,
    ) -> Result<()> {
        self.with_tx(|tx| {
            for id in alert_ids {
                record_on(tx, id, sink, at, outcome)?;
            }
            Ok(())
        })
    }

    /// When the earliest pending delivery to `sinks` is due. A delivery leased by another
    /// replica is due when its lease ends, and a sink another replica delivers to is due when
    /// that replica's lease on it ends: this replica does not spin on work it cannot take.
    pub fn next_delivery_at(&self, sinks: &[String]) -> Result<Option<i64>> {
        let replica: &str = &self.replica;
        let now = chrono::Utc::now().timestamp();
        self.with_conn(|tx| {
            let next: Option<i64> = tx
                .query_one(
                    "SELECT MIN(CASE WHEN lease_owner IS NOT NULL AND lease_owner <> $2
                                     THEN GREATEST(next_attempt_at, lease_until)
                                     ELSE next_attempt_at END)
                     FROM deliveries WHERE state = 'pending' AND sink = ANY($1)",
                    &[&sinks, &replica],
                )?
                .get(0);
            let held = Postgres::sink_leased_until(tx, replica, sinks, now)?;
            Ok(next.map(|next| held.map_or(next, |until| next.max(until))))
        })
    }

    pub fn defer_sink(&self, sink: &str, until: i64) -> Result<()> {
        self.with_conn(|tx| {
            tx.execute(
                "UPDATE deliveries SET next_attempt_at = $2
                 WHERE sink = $1 AND state = 'pending' AND next_attempt_at < $2",
                &[&sink, &until],
            )?;
            Ok(())
        })
    }

    pub fn release_sink(&self, sink: &str, now: i64) -> Result<()> {
        self.with_conn(|tx| {
            tx.execute(
                "UPDATE deliveries SET next_attempt_at = $2
                 WHERE sink = $1 AND state = 'pending' AND next_attempt_at > $2",
                &[&sink, &now],
            )?;
            Ok(())
        })
    }

    pub fn expire_sink_deliveries(&self, sink: &str, queued_before: i64) -> Result<usize> {
        self.with_conn(|tx| {
            Ok(tx.execute(
                "UPDATE deliveries d SET state = 'dead', lease_owner = NULL, lease_until = NULL,
                    last_error = COALESCE(d.last_error || '; ', '') || 'gave up: retry window expired'
                 FROM alerts a
                 WHERE a.id = d.alert_id AND d.state = 'pending' AND d.sink = $1
                   AND COALESCE(d.queued_at, a.created_at) < $2",
                &[&sink, &queued_before],
            )? as usize)
        })
    }

    pub fn digest_due_at(&self, sink: &str, window: i64) -> Result<Option<i64>> {
        let replica: &str = &self.replica;
        let now = chrono::Utc::now().timestamp();
        let sinks = [sink.to_string()];
        self.with_conn(|tx| {
            let due: Option<i64> = tx
                .query_one(
                    "SELECT MIN(CASE WHEN attempts = 0 THEN next_attempt_at + $2
                                     ELSE next_attempt_at END)
                     FROM deliveries WHERE state = 'pending' AND sink = $1",
                    &[&sink, &window],
                )?
                .get(0);
            let held = Postgres::sink_leased_until(tx, replica, &sinks, now)?;
            Ok(due.map(|due| held.map_or(due, |until| due.max(until))))
        })
    }

    pub fn digest_pending_times(&self, sink: &str) -> Result<(Option<i64>, Option<i64>)> {
        self.with_conn(|tx| {
            let row = tx.query_one(
                "SELECT MIN(CASE WHEN attempts = 0 THEN next_attempt_at END),
                        MIN(CASE WHEN attempts > 0 THEN next_attempt_at END)
                 FROM deliveries WHERE state = 'pending' AND sink = $1",
                &[&sink],
            )?;
            Ok((row.get(0), row.get(1)))
        })
    }

    pub fn disable_sink(&self, sink: &str, at: i64, reason: &str, fingerprint: &str) -> Result<()> {
        self.with_conn(|tx| {
            tx.execute(
                "INSERT INTO sink_state (sink, disabled_at, reason, url_fingerprint)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (sink) DO UPDATE SET disabled_at = $2, reason = $3,
                     url_fingerprint = $4",
                &[&sink, &at, &reason, &fingerprint],
            )?;
            Ok(())
        })
    }

    pub fn enable_sink(&self, sink: &str) -> Result<bool> {
        self.with_conn(|tx| Ok(tx.execute("DELETE FROM sink_state WHERE sink = $1", &[&sink])? > 0))
    }

    pub fn disabled_sinks(&self) -> Result<Vec<DisabledSink>> {
        self.with_conn(|tx| {
            Ok(tx
                .query(
                    "SELECT sink, disabled_at, reason, url_fingerprint FROM sink_state
                     ORDER BY sink",
                    &[],
                )?
                .into_iter()
                .map(|row| DisabledSink {
                    sink: row.get(0),
                    disabled_at: row.get(1),
                    reason: row.get(2),
                    url_fingerprint: row.get(3),
                })
                .collect())
        })
    }

    pub fn list_deliveries(&self, filter: &AlertFilter) -> Result<Vec<DeliveryRow>> {
        let limit = filter.limit.min(i64::MAX as usize) as i64;
        self.with_conn(|tx| {
            let rows = tx.query(
                "SELECT a.id, a.rule, a.feed, a.title, a.link, a.created_at, d.sink, d.state,
                        d.attempts, d.last_status, d.last_error, d.next_attempt_at,
                        d.last_attempt_at, d.delivered_at, a.story_id
                 FROM deliveries d JOIN alerts a ON a.id = d.alert_id
                 WHERE ($1::TEXT IS NULL OR d.state = $1)
                   AND ($2::TEXT IS NULL OR a.rule = $2)
                   AND ($3::BIGINT IS NULL OR a.created_at >= $3)
                 ORDER BY a.created_at DESC, a.seq DESC, d.sink
                 LIMIT $4",
                &[&filter.state, &filter.rule, &filter.since, &limit],
            )?;
            let mut listed = Vec::with_capacity(rows.len());
            for row in rows {
                let story: Option<i64> = row.get(14);
                listed.push(DeliveryRow {
                    alert_id: row.get(0),
                    rule: row.get(1),
                    feed: row.get(2),
                    title: row.get(3),
                    link: row.get(4),
                    created_at: row.get(5),
                    sink: row.get(6),
                    state: row.get(7),
                    attempts: row.get::<_, i64>(8).clamp(0, i64::from(u32::MAX)) as u32,
                    last_status: row
                        .get::<_, Option<i64>>(9)
                        .and_then(|s| u16::try_from(s).ok()),
                    last_error: row.get(10),
                    next_attempt_at: row.get(11),
                    last_attempt_at: row.get(12),
                    delivered_at: row.get(13),
                    sources: match story {
                        Some(story) => sources_in(tx, story)?,
                        None => Vec::new(),
                    },
                    story_id: story,
                });
            }
            Ok(listed)
        })
    }

    pub fn requeue(
        &self,
        alert_ids: &[String],
        include_delivered: bool,
        now: i64,
    ) -> Result<(usize, Vec<String>)> {
        self.with_tx(|tx| {
            let targets: Vec<Option<&str>> = if alert_ids.is_empty() {
                vec![None]
            } else {
                alert_ids.iter().map(|id| Some(id.as_str())).collect()
            };
            let mut count = 0;
            let mut unknown = Vec::new();
            let mut sinks: Vec<String> = Vec::new();
            for id in targets {
                let rows = tx.query(
                    "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = $3,
                        queued_at = $3, delivered_at = NULL, lease_owner = NULL,
                        lease_until = NULL,
                        last_error = CASE WHEN last_error IS NULL THEN NULL
                                          ELSE 'requeued after: ' || last_error END
                     WHERE ($1::TEXT IS NULL OR alert_id = $1)
                       AND (state = 'dead' OR ($2 AND state = 'delivered'))
                     RETURNING sink",
                    &[&id, &include_delivered, &now],
                )?;
                if rows.is_empty()
                    && let Some(id) = id
                {
                    unknown.push(id.to_string());
                }
                count += rows.len();
                sinks.extend(rows.into_iter().map(|row| row.get::<_, String>(0)));
            }
            sinks.sort();
            sinks.dedup();
            tx.execute("DELETE FROM sink_state WHERE sink = ANY($1)", &[&sinks])?;
            if count > 0 {
                super::notify::outbox_changed(tx)?;
            }
            Ok((count, unknown))
        })
    }

    pub fn orphaned_deliveries(&self, configured: &[String]) -> Result<Vec<(String, u64)>> {
        self.with_conn(|tx| {
            Ok(tx
                .query(
                    "SELECT sink, COUNT(*) FROM deliveries
                     WHERE state = 'pending' AND NOT (sink = ANY($1))
                     GROUP BY sink ORDER BY sink",
                    &[&configured],
                )?
                .into_iter()
                .map(|row| (row.get::<_, String>(0), count(row.get(1))))
                .collect())
        })
    }

    pub fn outbox_counts(&self) -> Result<OutboxCounts> {
        self.with_conn(|tx| {
            let mut counts = OutboxCounts::default();
            for row in tx.query("SELECT state, COUNT(*) FROM deliveries GROUP BY state", &[])? {
                let n = count(row.get(1));
                match row.get::<_, String>(0).as_str() {
                    "pending" => counts.pending = n,
                    "delivered" => counts.delivered = n,
                    "dead" => counts.dead = n,
                    _ => {}
                }
            }
            Ok(counts)
        })
    }

    pub fn story_sources(&self, alert_id: &str) -> Result<Vec<StorySource>> {
        self.with_conn(|tx| {
            let story = tx
                .query_opt("SELECT story_id FROM alerts WHERE id = $1", &[&alert_id])?
                .and_then(|row| row.get::<_, Option<i64>>(0));
            match story {
                Some(story) => sources_in(tx, story),
                None => Ok(Vec::new()),
            }
        })
    }

    pub fn health(&self, feeds: &[String]) -> Result<Health> {
        self.with_conn(|tx| {
            let mut health = Health::default();
            let row = tx.query_one(
                "SELECT COUNT(DISTINCT d.alert_id), MIN(a.created_at)
                 FROM deliveries d JOIN alerts a ON a.id = d.alert_id
                 WHERE d.state = 'pending'",
                &[],
            )?;
            let pending: i64 = row.get(0);
            health.oldest_pending_at = row.get(1);
            let dead: i64 = tx
                .query_one(
                    "SELECT COUNT(DISTINCT alert_id) FROM deliveries d
                     WHERE state = 'dead' AND NOT EXISTS
                         (SELECT 1 FROM deliveries p
                          WHERE p.alert_id = d.alert_id AND p.state = 'pending')",
                    &[],
                )?
                .get(0);
            health.deliveries_dead = count(
                tx.query_one("SELECT COUNT(*) FROM deliveries WHERE state = 'dead'", &[])?
                    .get(0),
            );
            let total: i64 = tx.query_one("SELECT COUNT(*) FROM alerts", &[])?.get(0);
            health.alerts_pending = count(pending);
            health.alerts_dead = count(dead);
            health.alerts_delivered = count(total - pending - dead);
            let row = tx.query_one(
                "SELECT COUNT(*), MAX(last_fetch_at) FROM feeds
                 WHERE name = ANY($1) AND last_fetch_at IS NOT NULL",
                &[&feeds],
            )?;
            health.feeds_polled = count(row.get(0));
            health.last_poll_at = row.get(1);
            health.failing = tx
                .query(
                    "SELECT name, consecutive_failures, COALESCE(last_error, ''), last_success_at
                     FROM feeds WHERE consecutive_failures > 0 AND name = ANY($1)
                     ORDER BY consecutive_failures DESC, name",
                    &[&feeds],
                )?
                .into_iter()
                .map(|row| FailingFeed {
                    name: row.get(0),
                    consecutive_failures: count(row.get(1)),
                    last_error: row.get(2),
                    last_success_at: row.get(3),
                })
                .collect();
            Ok(health)
        })
    }

    /// For `watchword check`: when each rule last alerted, and how far back items go.
    pub fn rule_activity(&self) -> Result<crate::store::RuleActivity> {
        self.with_conn(|tx| {
            let last_alert = tx
                .query(
                    "SELECT rule, MAX(created_at) FROM alerts GROUP BY rule",
                    &[],
                )?
                .into_iter()
                .map(|row| (row.get::<_, String>(0), row.get::<_, i64>(1)))
                .collect();
            let since = tx
                .query_one("SELECT MIN(first_seen_at) FROM items", &[])?
                .get(0);
            Ok(crate::store::RuleActivity { last_alert, since })
        })
    }

    /// Whether the server takes writes now: a standby (read-only) or a full disk shows here.
    pub fn check_writable(&self) -> Result<()> {
        self.with_tx(|tx| {
            let standby: bool = tx.query_one("SELECT pg_is_in_recovery()", &[])?.get(0);
            if standby {
                return Err(super::StoreError::Postgres(
                    "the server is a read-only standby".into(),
                ));
            }
            tx.execute("UPDATE sink_state SET sink = sink WHERE false", &[])?;
            Ok(())
        })
    }

    /// Retention, as on SQLite, by one replica at a time: `Ok(None)` when another is pruning.
    pub fn prune(
        &self,
        now: i64,
        window_secs: i64,
        items_before: i64,
        alerts_before: i64,
    ) -> Result<Option<PruneReport>> {
        self.with_tx(|tx| {
            let ours: bool = tx
                .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&locks::PRUNE])?
                .get(0);
            if !ours {
                return Ok(None);
            }
            prune_in(tx, now - window_secs, items_before, alerts_before).map(Some)
        })
    }
}

impl Postgres {
    pub fn articles(&self, urls: &[String]) -> Result<HashMap<String, StoredArticle>> {
        let urls: Vec<&str> = urls.iter().map(String::as_str).collect();
        self.with_tx(|tx| {
            let rows = tx.query(
                "SELECT url, fetched_at, text, error FROM articles WHERE url = ANY($1)",
                &[&urls],
            )?;
            Ok(rows
                .into_iter()
                .map(|row| {
                    let article = StoredArticle {
                        url: row.get(0),
                        fetched_at: row.get(1),
                        text: row.get(2),
                        error: row.get(3),
                    };
                    (article.url.clone(), article)
                })
                .collect())
        })
    }

    pub fn record_article(&self, article: &StoredArticle) -> Result<()> {
        self.with_tx(|tx| {
            tx.execute(
                "INSERT INTO articles (url, fetched_at, text, error) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (url) DO NOTHING",
                &[
                    &article.url,
                    &article.fetched_at,
                    &article.text,
                    &article.error,
                ],
            )?;
            Ok(())
        })
    }
}

fn prune_in(
    tx: &Tx<'_>,
    closed_before: i64,
    items_before: i64,
    alerts_before: i64,
) -> Result<PruneReport> {
    let mut report = PruneReport {
        story_keys: tx.execute(
            "DELETE FROM story_keys WHERE story_id IN
                 (SELECT id FROM stories WHERE last_seen_at < $1)",
            &[&closed_before],
        )? as usize,
        ..PruneReport::default()
    };
    tx.execute(
        "UPDATE items SET signature = NULL, entities = NULL
         WHERE (signature IS NOT NULL OR entities IS NOT NULL) AND story_id IN
            (SELECT id FROM stories WHERE last_seen_at < $1)",
        &[&closed_before],
    )?;
    report.items = tx.execute(
        "DELETE FROM items WHERE first_seen_at < $1
           AND COALESCE(last_listed_at, first_seen_at) < $1::BIGINT - 86400",
        &[&items_before],
    )? as usize;
    // Deliveries go with their alert (ON DELETE CASCADE).
    report.alerts = tx.execute(
        "DELETE FROM alerts WHERE created_at < $1
           AND NOT EXISTS (SELECT 1 FROM deliveries d
                           WHERE d.alert_id = alerts.id AND d.state = 'pending')",
        &[&alerts_before],
    )? as usize;
    report.stories = tx.execute(
        "DELETE FROM stories WHERE last_seen_at < $1
           AND NOT EXISTS (SELECT 1 FROM items i WHERE i.story_id = stories.id)
           AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.story_id = stories.id)",
        &[&closed_before],
    )? as usize;
    // Read pages go with the items that led to them; not counted, as they alert nothing.
    tx.execute(
        "DELETE FROM articles WHERE fetched_at < $1",
        &[&items_before],
    )?;
    Ok(report)
}

/// `record_attempt` inside the caller's transaction; the lease ends with the attempt.
fn record_on(
    tx: &Tx<'_>,
    alert_id: &str,
    sink: &str,
    at: i64,
    outcome: &AttemptOutcome,
) -> Result<()> {
    match outcome {
        AttemptOutcome::Delivered { status } => tx.execute(
            "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1,
                last_status = $3, last_error = NULL, delivered_at = $4, last_attempt_at = $4,
                lease_owner = NULL, lease_until = NULL
             WHERE alert_id = $1 AND sink = $2",
            &[&alert_id, &sink, &status.map(i64::from), &at],
        )?,
        AttemptOutcome::Retry {
            status,
            error,
            next_attempt_at,
        } => tx.execute(
            "UPDATE deliveries SET attempts = attempts + 1, last_status = $3,
                last_error = $4, next_attempt_at = $5, last_attempt_at = $6,
                lease_owner = NULL, lease_until = NULL
             WHERE alert_id = $1 AND sink = $2",
            &[
                &alert_id,
                &sink,
                &status.map(i64::from),
                error,
                next_attempt_at,
                &at,
            ],
        )?,
        AttemptOutcome::Dead { status, error } => tx.execute(
            "UPDATE deliveries SET state = 'dead', attempts = attempts + 1,
                last_status = $3, last_error = $4, last_attempt_at = $5,
                lease_owner = NULL, lease_until = NULL
             WHERE alert_id = $1 AND sink = $2",
            &[&alert_id, &sink, &status.map(i64::from), error, &at],
        )?,
    };
    Ok(())
}
