//! The dashboard's queries (`store::dashboard`) on PostgreSQL: the same rows from the same
//! tables (the schema's second migration), in PostgreSQL's dialect.

use std::collections::HashMap;

use std::sync::atomic::Ordering;

use super::{Params, Postgres, Result, Tx, record::sources_in};
use crate::store::feeds::FEED_EVENT_RULE_PREFIX;
use crate::store::{
    AlertDetail, AlertListRow, AlertQuery, AttemptRow, DayCounts, DeliveryDetail, FeedHealth,
    FeedState, ItemText,
};

fn count(n: i64) -> u64 {
    n.max(0) as u64
}

impl Postgres {
    /// See `Sqlite::record_item_texts`: the workbench's copy of new items' text, and forgetting
    /// what left its window. All of a poll's texts in one statement, sent together with the
    /// one that forgets: one round trip.
    pub fn record_item_texts(&self, texts: &[ItemText], now: i64, keep_secs: i64) -> Result<usize> {
        let since = now - keep_secs;
        // One row per item, the last one given winning (as one statement per text would): an
        // upsert may not touch one row twice.
        let mut latest: HashMap<(&str, &str), &ItemText> = HashMap::new();
        for text in texts.iter().filter(|t| t.seen_at > since) {
            latest.insert((text.feed.as_str(), text.item_id.as_str()), text);
        }
        let texts: Vec<&ItemText> = latest.into_values().collect();
        let feeds: Vec<&str> = texts.iter().map(|t| t.feed.as_str()).collect();
        let ids: Vec<&str> = texts.iter().map(|t| t.item_id.as_str()).collect();
        let seen: Vec<i64> = texts.iter().map(|t| t.seen_at).collect();
        let published: Vec<Option<i64>> = texts.iter().map(|t| t.published).collect();
        let links: Vec<Option<&str>> = texts.iter().map(|t| t.link.as_deref()).collect();
        let titles: Vec<&str> = texts.iter().map(|t| t.title.as_str()).collect();
        let summaries: Vec<&str> = texts.iter().map(|t| t.summary.as_str()).collect();
        let contents: Vec<&str> = texts.iter().map(|t| t.content.as_str()).collect();
        let json = |list: &[String]| serde_json::to_string(list).unwrap_or_else(|_| "[]".into());
        let authors: Vec<String> = texts.iter().map(|t| json(&t.authors)).collect();
        let categories: Vec<String> = texts.iter().map(|t| json(&t.categories)).collect();
        let insert = "INSERT INTO item_texts
                (feed, item_id, seen_at, published, link, title, summary, content, authors,
                 categories)
             SELECT t.feed, t.item_id, t.seen_at, t.published, t.link, t.title, t.summary,
                    t.content, t.authors, t.categories
             FROM unnest($1::TEXT[], $2::TEXT[], $3::BIGINT[], $4::BIGINT[], $5::TEXT[],
                         $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::TEXT[])
                 AS t(feed, item_id, seen_at, published, link, title, summary, content,
                      authors, categories)
             -- Only items recorded: a look-up per text by the primary key (as a semi-join it
             -- was planned, on a young table, as a scan of every item).
             CROSS JOIN LATERAL (SELECT 1 FROM items i
                 WHERE i.feed = t.feed AND i.item_id = t.item_id LIMIT 1) AS recorded
             ON CONFLICT (feed, item_id) DO UPDATE SET seen_at = EXCLUDED.seen_at,
                published = EXCLUDED.published, link = EXCLUDED.link, title = EXCLUDED.title,
                summary = EXCLUDED.summary, content = EXCLUDED.content,
                authors = EXCLUDED.authors, categories = EXCLUDED.categories";
        let params: Params<'_> = &[
            &feeds,
            &ids,
            &seen,
            &published,
            &links,
            &titles,
            &summaries,
            &contents,
            &authors,
            &categories,
        ];
        // Forgetting what left the window is a range scan whatever it finds: once a minute
        // (readers ask for a window anyway), sent together with the insert.
        let forgotten = &self.texts_forgotten_at;
        let forget = forgotten.load(Ordering::Relaxed) <= now - 60
            && forgotten.fetch_max(now, Ordering::Relaxed).le(&(now - 60));
        self.with_conn(|tx| {
            let written = if forget {
                tx.execute_both(
                    (insert, params),
                    ("DELETE FROM item_texts WHERE seen_at < $1", &[&since]),
                )?
                .0
            } else {
                tx.execute(insert, params)?
            };
            Ok(written as usize)
        })
    }

    pub fn recent_item_texts(&self, since: i64, limit: usize) -> Result<Vec<ItemText>> {
        let limit = limit.min(i64::MAX as usize) as i64;
        self.with_conn(|tx| {
            let list =
                |json: String| serde_json::from_str::<Vec<String>>(&json).unwrap_or_default();
            Ok(tx
                .query(
                    "SELECT feed, item_id, seen_at, published, link, title, summary, content,
                            authors, categories
                     FROM item_texts WHERE seen_at >= $1 ORDER BY seen_at DESC LIMIT $2",
                    &[&since, &limit],
                )?
                .into_iter()
                .map(|row| ItemText {
                    feed: row.get(0),
                    item_id: row.get(1),
                    seen_at: row.get(2),
                    published: row.get(3),
                    link: row.get(4),
                    title: row.get(5),
                    summary: row.get(6),
                    content: row.get(7),
                    authors: list(row.get(8)),
                    categories: list(row.get(9)),
                })
                .collect())
        })
    }

    pub fn feed_healths(&self) -> Result<HashMap<String, (String, FeedHealth)>> {
        self.with_conn(|tx| {
            Ok(tx
                .query(
                    "SELECT name, url, gone_at, broken_since, consecutive_failures, stale_since
                     FROM feeds WHERE last_fetch_at IS NOT NULL",
                    &[],
                )?
                .into_iter()
                .map(|row| {
                    let state = FeedState {
                        name: row.get(0),
                        url: row.get(1),
                        gone_at: row.get(2),
                        broken_since: row.get(3),
                        consecutive_failures: row.get::<_, i64>(4).clamp(0, i64::from(u32::MAX))
                            as u32,
                        stale_since: row.get(5),
                        ..FeedState::default()
                    };
                    let health = FeedHealth::of(Some(&state));
                    (state.name, (state.url, health))
                })
                .collect())
        })
    }

    pub fn feed_states_uncounted(&self) -> Result<HashMap<String, FeedState>> {
        self.with_conn(|tx| {
            Ok(tx
                .query(
                    "SELECT name, url, last_success_at, last_status, last_error,
                            consecutive_failures, next_due_at, moved_to, gone_at, broken_since,
                            stale_since, items_seen, skipped
                     FROM feeds WHERE last_fetch_at IS NOT NULL",
                    &[],
                )?
                .into_iter()
                .map(|row| {
                    let state = FeedState {
                        name: row.get(0),
                        url: row.get(1),
                        last_success_at: row.get(2),
                        last_status: row
                            .get::<_, Option<i64>>(3)
                            .and_then(|s| u16::try_from(s).ok()),
                        last_error: row.get(4),
                        consecutive_failures: row.get::<_, i64>(5).clamp(0, i64::from(u32::MAX))
                            as u32,
                        next_due_at: row.get(6),
                        moved_to: row.get(7),
                        gone_at: row.get(8),
                        broken_since: row.get(9),
                        stale_since: row.get(10),
                        items_seen: count(row.get(11)),
                        skipped: row.get(12),
                        ..FeedState::default()
                    };
                    (state.name.clone(), state)
                })
                .collect())
        })
    }

    pub fn alerts_of_feeds(&self, feeds: &[String]) -> Result<HashMap<String, u64>> {
        self.with_conn(|tx| {
            let mut counts: HashMap<String, u64> = feeds.iter().map(|f| (f.clone(), 0)).collect();
            for row in tx.query(
                "SELECT feed, COUNT(*) FROM alerts
                 WHERE feed = ANY($1) AND substr(rule, 1, 6) <> $2 GROUP BY feed",
                &[&feeds, &FEED_EVENT_RULE_PREFIX],
            )? {
                counts.insert(row.get(0), count(row.get(1)));
            }
            Ok(counts)
        })
    }

    pub fn deliveries_ended_since(&self, since: i64) -> Result<DayCounts> {
        self.with_conn(|tx| {
            let count_of = |state: &str| -> Result<u64> {
                Ok(count(
                    tx.query_one(
                        "SELECT COUNT(*) FROM deliveries WHERE state = $1 AND last_attempt_at >= $2",
                        &[&state, &since],
                    )?
                    .get(0),
                ))
            };
            Ok(DayCounts {
                delivered: count_of("delivered")?,
                dead: count_of("dead")?,
            })
        })
    }

    pub fn dashboard_alerts(&self, query: &AlertQuery) -> Result<Vec<AlertListRow>> {
        let limit = query.limit.min(i64::MAX as usize) as i64;
        let offset = query.offset.min(i64::MAX as usize) as i64;
        let since = query.since.unwrap_or(i64::MIN);
        self.with_conn(|tx| {
            let rows = tx.query(
                "SELECT a.id, a.rule, a.feed, a.title, a.link, a.created_at, a.kind
                 FROM alerts a
                 WHERE a.created_at >= $1
                   AND ($5::TEXT IS NULL OR a.rule = $5)
                   AND ($2::TEXT IS NULL OR EXISTS
                        (SELECT 1 FROM deliveries d WHERE d.alert_id = a.id AND d.state = $2))
                 ORDER BY a.created_at DESC, a.seq DESC LIMIT $3 OFFSET $4",
                &[&since, &query.state, &limit, &offset, &query.rule],
            )?;
            let mut alerts: Vec<AlertListRow> = rows
                .into_iter()
                .map(|row| AlertListRow {
                    id: row.get(0),
                    rule: row.get(1),
                    feed: row.get(2),
                    title: row.get(3),
                    link: row.get(4),
                    created_at: row.get(5),
                    kind: row.get(6),
                    deliveries: Vec::new(),
                })
                .collect();
            let ids: Vec<&str> = alerts.iter().map(|a| a.id.as_str()).collect();
            let mut by_alert = deliveries_of(tx, &ids)?;
            for alert in &mut alerts {
                alert.deliveries = by_alert.remove(&alert.id).unwrap_or_default();
            }
            Ok(alerts)
        })
    }

    pub fn dashboard_alert(&self, id: &str) -> Result<Option<AlertDetail>> {
        self.with_conn(|tx| {
            let Some(row) = tx.query_opt(
                "SELECT id, rule, feed, title, link, created_at, kind, payload, story_id
                 FROM alerts WHERE id = $1",
                &[&id],
            )?
            else {
                return Ok(None);
            };
            let mut alert = AlertListRow {
                id: row.get(0),
                rule: row.get(1),
                feed: row.get(2),
                title: row.get(3),
                link: row.get(4),
                created_at: row.get(5),
                kind: row.get(6),
                deliveries: Vec::new(),
            };
            let payload: String = row.get(7);
            let story: Option<i64> = row.get(8);
            alert.deliveries = deliveries_of(tx, &[id])?.remove(id).unwrap_or_default();
            let sources = match story {
                Some(story) => sources_in(tx, story)?,
                None => Vec::new(),
            };
            let attempts = tx
                .query(
                    "SELECT sink, attempt, at, status, error, outcome
                     FROM delivery_attempts WHERE alert_id = $1 ORDER BY seq",
                    &[&id],
                )?
                .into_iter()
                .map(|row| AttemptRow {
                    sink: row.get(0),
                    attempt: row.get::<_, i64>(1).clamp(0, i64::from(u32::MAX)) as u32,
                    at: row.get(2),
                    status: row
                        .get::<_, Option<i64>>(3)
                        .and_then(|s| u16::try_from(s).ok()),
                    error: row.get(4),
                    outcome: row.get(5),
                })
                .collect();
            Ok(Some(AlertDetail {
                alert,
                attempts,
                payload,
                sources,
            }))
        })
    }

    pub fn items_per_day(
        &self,
        feeds: &[String],
        first_day: i64,
    ) -> Result<HashMap<String, Vec<(i64, u64)>>> {
        self.with_conn(|tx| {
            let mut days: HashMap<String, Vec<(i64, u64)>> =
                feeds.iter().map(|f| (f.clone(), Vec::new())).collect();
            for row in tx.query(
                "SELECT feed, day, items FROM feed_days
                 WHERE feed = ANY($1) AND day >= $2 ORDER BY feed, day",
                &[&feeds, &first_day],
            )? {
                if let Some(list) = days.get_mut(&row.get::<_, String>(0)) {
                    list.push((row.get(1), count(row.get(2))));
                }
            }
            Ok(days)
        })
    }
}

/// The deliveries of `ids`, by alert, in sink order.
fn deliveries_of(tx: &Tx<'_>, ids: &[&str]) -> Result<HashMap<String, Vec<DeliveryDetail>>> {
    let mut by_alert: HashMap<String, Vec<DeliveryDetail>> = HashMap::new();
    for row in tx.query(
        "SELECT alert_id, sink, state, attempts, last_status, last_error, next_attempt_at,
                last_attempt_at, delivered_at, queued_at
         FROM deliveries WHERE alert_id = ANY($1) ORDER BY alert_id, sink",
        &[&ids],
    )? {
        by_alert
            .entry(row.get::<_, String>(0))
            .or_default()
            .push(DeliveryDetail {
                sink: row.get(1),
                state: row.get(2),
                attempts: row.get::<_, i64>(3).clamp(0, i64::from(u32::MAX)) as u32,
                last_status: row
                    .get::<_, Option<i64>>(4)
                    .and_then(|s| u16::try_from(s).ok()),
                last_error: row.get(5),
                next_attempt_at: row.get(6),
                last_attempt_at: row.get(7),
                delivered_at: row.get(8),
                queued_at: row.get(9),
            });
    }
    Ok(by_alert)
}
