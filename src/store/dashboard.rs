//! What the dashboard (`crate::web`) reads beyond the queries of `watchword status`, `feeds` and
//! `alerts`, and the recent item text its rule workbench runs queries on. Every query here
//! goes through an index (the schema's tenth migration; `tests::dashboard_queries_use_indexes`
//! holds them to it), so a page costs the same with 100,000 alerts as with 100.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, params};

use super::{FeedState, Result, Sqlite};
use crate::model::{Item, StorySource};

/// Each text field of an item is kept up to this many characters (the payload's summary is
/// cut at the same length): a term found only past it is not found by the workbench.
pub const MAX_FIELD_CHARS: usize = 2000;

/// A feed's health in one word, as `watchword feeds` and the dashboard show it: the first of
/// gone, broken, failing, stale that applies, else ok.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FeedHealth {
    Ok,
    Failing,
    Broken,
    Stale,
    Gone,
    NeverPolled,
}

impl FeedHealth {
    /// `state` is `None` for a feed never polled (or polled at another URL).
    pub fn of(state: Option<&FeedState>) -> FeedHealth {
        match state {
            None => FeedHealth::NeverPolled,
            Some(s) if s.gone_at.is_some() => FeedHealth::Gone,
            Some(s) if s.broken_since.is_some() => FeedHealth::Broken,
            Some(s) if s.consecutive_failures > 0 => FeedHealth::Failing,
            Some(s) if s.stale_since.is_some() => FeedHealth::Stale,
            Some(_) => FeedHealth::Ok,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            FeedHealth::Ok => "ok",
            FeedHealth::Failing => "failing",
            FeedHealth::Broken => "broken",
            FeedHealth::Stale => "stale",
            FeedHealth::Gone => "gone",
            FeedHealth::NeverPolled => "never polled",
        }
    }

    pub const ALL: [FeedHealth; 6] = [
        FeedHealth::Ok,
        FeedHealth::Failing,
        FeedHealth::Broken,
        FeedHealth::Stale,
        FeedHealth::Gone,
        FeedHealth::NeverPolled,
    ];
}

/// One item's text as the matcher reads it, kept for the rule workbench.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemText {
    pub feed: String,
    pub item_id: String,
    /// When it was first seen (unix seconds).
    pub seen_at: i64,
    pub published: Option<i64>,
    pub link: Option<String>,
    pub title: String,
    pub summary: String,
    pub content: String,
    pub authors: Vec<String>,
    pub categories: Vec<String>,
}

impl ItemText {
    /// The fields of `item` the matcher reads, each cut to [`MAX_FIELD_CHARS`].
    pub fn of(item: &Item, seen_at: i64) -> ItemText {
        let cut = |text: &str| crate::text::truncate_chars(text, MAX_FIELD_CHARS);
        ItemText {
            feed: item.feed.clone(),
            item_id: item.id.clone(),
            seen_at,
            published: item.published.map(|p| p.timestamp()),
            link: item.link.clone(),
            title: cut(&item.title),
            summary: cut(&item.summary),
            content: cut(&item.content),
            authors: item.authors.iter().take(20).map(|a| cut(a)).collect(),
            categories: item.categories.iter().take(50).map(|c| cut(c)).collect(),
        }
    }

    /// Back into an [`Item`] for the matcher.
    pub fn to_item(&self) -> Item {
        Item {
            feed: self.feed.clone(),
            id: self.item_id.clone(),
            link: self.link.clone(),
            title: self.title.clone(),
            summary: self.summary.clone(),
            content: self.content.clone(),
            published: self
                .published
                .and_then(|p| chrono::DateTime::from_timestamp(p, 0)),
            authors: self.authors.clone(),
            categories: self.categories.clone(),
        }
    }
}

/// Deliveries that ended since a time: delivered, and given up.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DayCounts {
    pub delivered: u64,
    pub dead: u64,
}

/// Which alerts the alerts page lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertQuery {
    pub rule: Option<String>,
    /// Alerts with a delivery in this state: `pending`, `delivered` or `dead`.
    pub state: Option<String>,
    /// Created at or after (unix seconds).
    pub since: Option<i64>,
    pub offset: usize,
    pub limit: usize,
}

/// One delivery of an alert, with its last attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryDetail {
    pub sink: String,
    pub state: String,
    pub attempts: u32,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub next_attempt_at: i64,
    pub last_attempt_at: Option<i64>,
    pub delivered_at: Option<i64>,
    /// When its retry window started: the alert's creation, or its re-queueing.
    pub queued_at: Option<i64>,
}

/// One alert of the alerts page, with its deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertListRow {
    pub id: String,
    pub rule: String,
    pub feed: String,
    pub title: String,
    pub link: Option<String>,
    pub created_at: i64,
    /// `first`, `update` or `edit`.
    pub kind: String,
    pub deliveries: Vec<DeliveryDetail>,
}

/// One attempt at one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRow {
    pub sink: String,
    /// 1 for the first attempt (counted again from 1 after a re-queue).
    pub attempt: u32,
    pub at: Option<i64>,
    pub status: Option<u16>,
    pub error: Option<String>,
    /// The delivery's state after it: `delivered`, `pending` (a retry follows) or `dead`.
    pub outcome: String,
}

/// One alert and its story, for the alert's page.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertDetail {
    pub alert: AlertListRow,
    /// Every attempt at its deliveries, oldest first (since migration 10).
    pub attempts: Vec<AttemptRow>,
    /// The payload as stored when the alert was raised (JSON).
    pub payload: String,
    /// Every outlet that reported the alert's story, the first first.
    pub sources: Vec<StorySource>,
}

const DELIVERY_COLUMNS: &str = "alert_id, sink, state, attempts, last_status, last_error,
    next_attempt_at, last_attempt_at, delivered_at, queued_at";

fn delivery_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, DeliveryDetail)> {
    Ok((
        row.get(0)?,
        DeliveryDetail {
            sink: row.get(1)?,
            state: row.get(2)?,
            attempts: row.get::<_, i64>(3)?.clamp(0, i64::from(u32::MAX)) as u32,
            last_status: row
                .get::<_, Option<i64>>(4)?
                .and_then(|s| u16::try_from(s).ok()),
            last_error: row.get(5)?,
            next_attempt_at: row.get(6)?,
            last_attempt_at: row.get(7)?,
            delivered_at: row.get(8)?,
            queued_at: row.get(9)?,
        },
    ))
}

/// The alerts page's statements: one per combination of filters, so that each can use the
/// index that fits (`?1 IS NULL OR rule = ?1` would defeat the rule index). `{filter}` is
/// replaced by the state condition, or nothing.
const ALERTS_NEWEST: &str = "SELECT a.id, a.rule, a.feed, a.title, a.link, a.created_at, a.kind
     FROM alerts a INDEXED BY alerts_created
     WHERE a.created_at >= ?1 {filter}
     ORDER BY a.created_at DESC, a.rowid DESC LIMIT ?3 OFFSET ?4";
const ALERTS_OF_RULE: &str = "SELECT a.id, a.rule, a.feed, a.title, a.link, a.created_at, a.kind
     FROM alerts a INDEXED BY alerts_rule_created
     WHERE a.rule = ?5 AND a.created_at >= ?1 {filter}
     ORDER BY a.created_at DESC, a.rowid DESC LIMIT ?3 OFFSET ?4";
/// `+d.state`: the state must not pick the (state, …) indexes, which would read every dead
/// delivery for each alert; the alert's own deliveries are one primary-key look-up.
const ATTEMPTS_OF: &str = "SELECT sink, attempt, at, status, error, outcome
     FROM delivery_attempts WHERE alert_id = ?1 ORDER BY rowid";
const ALERTS_OF_FEED: &str =
    "SELECT COUNT(*) FROM alerts WHERE feed = ?1 AND substr(rule, 1, 6) != ?2";
const STATE_FILTER: &str =
    "AND EXISTS (SELECT 1 FROM deliveries d WHERE d.alert_id = a.id AND +d.state = ?2)";

impl Sqlite {
    /// Keeps the text of newly recorded items for the rule workbench, and forgets what was
    /// first seen more than `keep_secs` ago (`[daemon] workbench_window`). Items that are not
    /// (or no longer) recorded are skipped.
    ///
    /// Not part of the poll's transaction and not fsynced on its own: losing it to a crash
    /// costs the workbench a few items, never an alert, so it must not cost an fsync per poll
    /// either (the next durable commit syncs it).
    pub fn record_item_texts(&self, texts: &[ItemText], now: i64, keep_secs: i64) -> Result<usize> {
        let mut conn = self.lock()?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let written = (|| -> Result<usize> {
            let tx = conn.transaction()?;
            let mut written = 0;
            {
                let mut insert = tx.prepare_cached(
                    "INSERT OR REPLACE INTO item_texts
                        (feed, item_id, seen_at, published, link, title, summary, content,
                         authors, categories)
                     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10
                     WHERE EXISTS (SELECT 1 FROM items WHERE feed = ?1 AND item_id = ?2)",
                )?;
                for text in texts.iter().filter(|t| t.seen_at > now - keep_secs) {
                    let authors =
                        serde_json::to_string(&text.authors).unwrap_or_else(|_| "[]".into());
                    let categories =
                        serde_json::to_string(&text.categories).unwrap_or_else(|_| "[]".into());
                    written += insert.execute(params![
                        text.feed,
                        text.item_id,
                        text.seen_at,
                        text.published,
                        text.link,
                        text.title,
                        text.summary,
                        text.content,
                        authors,
                        categories
                    ])?;
                }
                tx.execute(
                    "DELETE FROM item_texts WHERE seen_at < ?1",
                    params![now - keep_secs],
                )?;
            }
            tx.commit()?;
            Ok(written)
        })();
        // Every other writer expects FULL (outbox rows must survive a power cut).
        conn.pragma_update(None, "synchronous", "FULL")?;
        written
    }

    /// The newest `limit` item texts first seen at or after `since`, newest first.
    pub fn recent_item_texts(&self, since: i64, limit: usize) -> Result<Vec<ItemText>> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(
            "SELECT feed, item_id, seen_at, published, link, title, summary, content, authors,
                    categories
             FROM item_texts WHERE seen_at >= ?1 ORDER BY seen_at DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![since, limit.min(i64::MAX as usize) as i64], |row| {
            let list =
                |json: String| serde_json::from_str::<Vec<String>>(&json).unwrap_or_default();
            Ok(ItemText {
                feed: row.get(0)?,
                item_id: row.get(1)?,
                seen_at: row.get(2)?,
                published: row.get(3)?,
                link: row.get(4)?,
                title: row.get(5)?,
                summary: row.get(6)?,
                content: row.get(7)?,
                authors: list(row.get(8)?),
                categories: list(row.get(9)?),
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Each stored feed's URL and health word, without the per-feed alert counts that
    /// `feed_states` adds (the overview needs only the words, and counting every alert by feed
    /// was most of its time).
    pub fn feed_healths(&self) -> Result<HashMap<String, (String, FeedHealth)>> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(
            "SELECT name, url, gone_at, broken_since, consecutive_failures, stale_since
             FROM feeds",
        )?;
        let rows = stmt.query_map([], |row| {
            let state = FeedState {
                name: row.get(0)?,
                url: row.get(1)?,
                gone_at: row.get(2)?,
                broken_since: row.get(3)?,
                consecutive_failures: row.get::<_, i64>(4)?.clamp(0, i64::from(u32::MAX)) as u32,
                stale_since: row.get(5)?,
                ..FeedState::default()
            };
            let health = FeedHealth::of(Some(&state));
            Ok((state.name, (state.url, health)))
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Every stored feed state without its alert count (`alerts` is 0): what the feeds page
    /// sorts by anything but alerts, without counting every alert by feed first.
    pub fn feed_states_uncounted(&self) -> Result<HashMap<String, FeedState>> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(
            "SELECT name, url, last_success_at, last_status, last_error, consecutive_failures,
                    next_due_at, moved_to, gone_at, broken_since, stale_since, items_seen, skipped
             FROM feeds",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok(FeedState {
                name: row.get(0)?,
                url: row.get(1)?,
                last_success_at: row.get(2)?,
                last_status: row
                    .get::<_, Option<i64>>(3)?
                    .and_then(|s| u16::try_from(s).ok()),
                last_error: row.get(4)?,
                consecutive_failures: row.get::<_, i64>(5)?.clamp(0, i64::from(u32::MAX)) as u32,
                next_due_at: row.get(6)?,
                moved_to: row.get(7)?,
                gone_at: row.get(8)?,
                broken_since: row.get(9)?,
                stale_since: row.get(10)?,
                items_seen: row.get::<_, i64>(11)?.max(0) as u64,
                skipped: row.get(12)?,
                ..FeedState::default()
            })
        })?;
        let mut states = HashMap::new();
        for row in rows {
            let state = row?;
            states.insert(state.name.clone(), state);
        }
        Ok(states)
    }

    /// Alerts raised by rules on the items of each of `feeds` (feed events not counted), as
    /// `feed_states` counts them, but only for these feeds: one index range each.
    pub fn alerts_of_feeds(&self, feeds: &[String]) -> Result<HashMap<String, u64>> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(ALERTS_OF_FEED)?;
        let mut counts = HashMap::new();
        for feed in feeds {
            let n: i64 = stmt
                .query_row(params![feed, super::feeds::FEED_EVENT_RULE_PREFIX], |row| {
                    row.get(0)
                })?;
            counts.insert(feed.clone(), n.max(0) as u64);
        }
        Ok(counts)
    }

    /// Deliveries delivered, and given up, since `since` (unix seconds).
    pub fn deliveries_ended_since(&self, since: i64) -> Result<DayCounts> {
        let conn = self.lock()?;
        let count = |state: &str| -> Result<u64> {
            let n: i64 = conn
                .prepare_cached(
                    "SELECT COUNT(*) FROM deliveries WHERE state = ?1 AND last_attempt_at >= ?2",
                )?
                .query_row(params![state, since], |row| row.get(0))?;
            Ok(n.max(0) as u64)
        };
        Ok(DayCounts {
            delivered: count("delivered")?,
            dead: count("dead")?,
        })
    }

    /// Alerts newest first, filtered, each with its deliveries.
    pub fn dashboard_alerts(&self, query: &AlertQuery) -> Result<Vec<AlertListRow>> {
        let conn = self.lock()?;
        let filter = if query.state.is_some() {
            STATE_FILTER
        } else {
            ""
        };
        let sql = match &query.rule {
            Some(_) => ALERTS_OF_RULE,
            None => ALERTS_NEWEST,
        }
        .replace("{filter}", filter);
        let mut stmt = conn.prepare_cached(&sql)?;
        let limit = query.limit.min(i64::MAX as usize) as i64;
        let offset = query.offset.min(i64::MAX as usize) as i64;
        let since = query.since.unwrap_or(i64::MIN);
        let row = |row: &rusqlite::Row<'_>| {
            Ok(AlertListRow {
                id: row.get(0)?,
                rule: row.get(1)?,
                feed: row.get(2)?,
                title: row.get(3)?,
                link: row.get(4)?,
                created_at: row.get(5)?,
                kind: row.get(6)?,
                deliveries: Vec::new(),
            })
        };
        // Parameters are numbered: a variant without `?2` (no state filter) still counts it,
        // so NULL is bound there.
        let mut rows: Vec<AlertListRow> = match (&query.rule, &query.state) {
            (Some(rule), Some(state)) => stmt
                .query_map(params![since, state, limit, offset, rule], row)?
                .collect::<std::result::Result<_, _>>()?,
            (Some(rule), None) => stmt
                .query_map(
                    params![since, rusqlite::types::Null, limit, offset, rule],
                    row,
                )?
                .collect::<std::result::Result<_, _>>()?,
            (None, Some(state)) => stmt
                .query_map(params![since, state, limit, offset], row)?
                .collect::<std::result::Result<_, _>>()?,
            (None, None) => stmt
                .query_map(params![since, rusqlite::types::Null, limit, offset], row)?
                .collect::<std::result::Result<_, _>>()?,
        };
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let mut by_alert = deliveries_of(&conn, &ids)?;
        for row in &mut rows {
            row.deliveries = by_alert.remove(&row.id).unwrap_or_default();
        }
        Ok(rows)
    }

    /// One alert with its deliveries, payload and story, or `None` if there is no such alert.
    pub fn dashboard_alert(&self, id: &str) -> Result<Option<AlertDetail>> {
        let conn = self.lock()?;
        let found = conn
            .prepare_cached(
                "SELECT id, rule, feed, title, link, created_at, kind, payload, story_id
                 FROM alerts WHERE id = ?1",
            )?
            .query_row(params![id], |row| {
                Ok((
                    AlertListRow {
                        id: row.get(0)?,
                        rule: row.get(1)?,
                        feed: row.get(2)?,
                        title: row.get(3)?,
                        link: row.get(4)?,
                        created_at: row.get(5)?,
                        kind: row.get(6)?,
                        deliveries: Vec::new(),
                    },
                    row.get::<_, String>(7)?,
                    row.get::<_, Option<i64>>(8)?,
                ))
            })
            .optional()?;
        let Some((mut alert, payload, story)) = found else {
            return Ok(None);
        };
        alert.deliveries = deliveries_of(&conn, &[id])?.remove(id).unwrap_or_default();
        let sources = match story {
            Some(story) => super::stories::sources_in(&conn, story)?,
            None => Vec::new(),
        };
        let attempts = conn
            .prepare_cached(ATTEMPTS_OF)?
            .query_map(params![id], |row| {
                Ok(AttemptRow {
                    sink: row.get(0)?,
                    attempt: row.get::<_, i64>(1)?.clamp(0, i64::from(u32::MAX)) as u32,
                    at: row.get(2)?,
                    status: row
                        .get::<_, Option<i64>>(3)?
                        .and_then(|s| u16::try_from(s).ok()),
                    error: row.get(4)?,
                    outcome: row.get(5)?,
                })
            })?
            .collect::<std::result::Result<_, _>>()?;
        Ok(Some(AlertDetail {
            alert,
            attempts,
            payload,
            sources,
        }))
    }

    /// Items first seen per UTC day (unix day numbers, `first_day` on) for each of `feeds`.
    pub fn items_per_day(
        &self,
        feeds: &[String],
        first_day: i64,
    ) -> Result<HashMap<String, Vec<(i64, u64)>>> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(
            "SELECT feed, day, items FROM feed_days WHERE feed = ?1 AND day >= ?2 ORDER BY day",
        )?;
        let mut days = HashMap::new();
        for feed in feeds {
            let rows = stmt.query_map(params![feed, first_day], |row| {
                Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?.max(0) as u64))
            })?;
            days.insert(
                feed.clone(),
                rows.collect::<std::result::Result<Vec<_>, _>>()?,
            );
        }
        Ok(days)
    }
}

/// The deliveries of `ids`, by alert, in sink order.
fn deliveries_of(
    conn: &rusqlite::Connection,
    ids: &[&str],
) -> Result<HashMap<String, Vec<DeliveryDetail>>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE alert_id = ?1 ORDER BY sink"
    ))?;
    let mut by_alert: HashMap<String, Vec<DeliveryDetail>> = HashMap::new();
    for id in ids {
        for row in stmt.query_map(params![id], delivery_from_row)? {
            let (alert, delivery) = row?;
            by_alert.entry(alert).or_default().push(delivery);
        }
    }
    Ok(by_alert)
}

#[cfg(test)]
mod tests;
