//! Feed state: what the poller keeps about each feed between polls (validators, schedule,
//! backoff, health incidents), and feed events written into the outbox beside alerts.

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use super::{FetchRecord, RecordSummary, Result, Sqlite, insert_items};
use crate::model::FeedEvent;

/// Alert rows for feed events carry a rule name with this prefix, which no configured rule can
/// have (rule names are user words; this one starts with `@`, the group sigil).
pub const FEED_EVENT_RULE_PREFIX: &str = "@feed.";

/// Everything the poller knows about one feed. Times are unix seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FeedState {
    pub name: String,
    pub url: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub last_fetch_at: Option<i64>,
    pub last_success_at: Option<i64>,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
    pub consecutive_failures: u32,
    /// Start of the current run of failures.
    pub failing_since: Option<i64>,
    pub last_new_item_at: Option<i64>,
    pub next_due_at: Option<i64>,
    /// Where a permanent redirect led.
    pub moved_to: Option<String>,
    /// The server said 410 Gone: not polled again at this URL.
    pub gone_at: Option<i64>,
    /// Open "broken" incident: when it was raised.
    pub broken_since: Option<i64>,
    /// Open "stale" incident: when it was raised.
    pub stale_since: Option<i64>,
    pub items_seen: u64,
    /// RSS `<ttl>` of the last body, in seconds.
    pub ttl: Option<i64>,
    /// Items of the last body that could not be read (the others were), in one line:
    /// `2 item(s) skipped: entry 2 of 3 (line 3): …`. `None` when every item was read.
    pub skipped: Option<String>,
    /// Alerts raised by rules on this feed's items (feed events not counted). Filled by
    /// [`Sqlite::feed_states`] only.
    pub alerts: u64,
}

/// What one poll produced: the fetch (items or error) and the feed's new state.
#[derive(Debug, Clone)]
pub struct PollRecord {
    pub fetch: FetchRecord,
    /// The state after this poll; `items_seen` and `alerts` are ignored (counted here).
    pub state: FeedState,
    pub events: Vec<FeedEvent>,
}

const STATE_COLUMNS: &str = "name, url, etag, last_modified, last_fetch_at, last_success_at,
    last_status, last_error, consecutive_failures, failing_since, last_new_item_at, next_due_at,
    moved_to, gone_at, broken_since, stale_since, items_seen, ttl, skipped";

fn state_from_row(row: &Row<'_>) -> rusqlite::Result<FeedState> {
    Ok(FeedState {
        name: row.get(0)?,
        url: row.get(1)?,
        etag: row.get(2)?,
        last_modified: row.get(3)?,
        last_fetch_at: row.get(4)?,
        last_success_at: row.get(5)?,
        last_status: row
            .get::<_, Option<i64>>(6)?
            .and_then(|s| u16::try_from(s).ok()),
        last_error: row.get(7)?,
        consecutive_failures: row.get::<_, i64>(8)?.clamp(0, i64::from(u32::MAX)) as u32,
        failing_since: row.get(9)?,
        last_new_item_at: row.get(10)?,
        next_due_at: row.get(11)?,
        moved_to: row.get(12)?,
        gone_at: row.get(13)?,
        broken_since: row.get(14)?,
        stale_since: row.get(15)?,
        items_seen: row.get::<_, i64>(16)?.max(0) as u64,
        ttl: row.get(17)?,
        skipped: row.get(18)?,
        alerts: 0,
    })
}

impl Sqlite {
    /// The stored state of `feed`, or `None` if it was never polled.
    pub fn feed_state(&self, feed: &str) -> Result<Option<FeedState>> {
        let conn = self.lock()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {STATE_COLUMNS} FROM feeds WHERE name = ?1"
        ))?;
        Ok(stmt.query_row(params![feed], state_from_row).optional()?)
    }

    /// Every stored feed state, by name, with the number of alerts each feed's items raised.
    pub fn feed_states(&self) -> Result<HashMap<String, FeedState>> {
        let conn = self.lock()?;
        let mut alerts: HashMap<String, u64> = HashMap::new();
        {
            let mut stmt = conn.prepare_cached(
                "SELECT feed, COUNT(*) FROM alerts WHERE substr(rule, 1, 6) != ?1 GROUP BY feed",
            )?;
            let rows = stmt.query_map(params![FEED_EVENT_RULE_PREFIX], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
            })?;
            for row in rows {
                let (feed, n) = row?;
                alerts.insert(feed, n.max(0) as u64);
            }
        }
        let mut stmt = conn.prepare_cached(&format!("SELECT {STATE_COLUMNS} FROM feeds"))?;
        let rows = stmt.query_map([], state_from_row)?;
        let mut states = HashMap::new();
        for row in rows {
            let mut state = row?;
            state.alerts = alerts.get(&state.name).copied().unwrap_or(0);
            states.insert(state.name.clone(), state);
        }
        Ok(states)
    }

    /// Records one poll atomically: new items and their alerts, feed events with their
    /// deliveries, and the feed's new state. A 304 writes only the state row.
    ///
    /// Polls recorded at the same time from other threads share one transaction and one fsync
    /// (group commit), each in its own savepoint: a poll that fails is rolled back alone and
    /// gets its own error; the others commit.
    pub fn record_poll(&self, poll: &PollRecord) -> Result<RecordSummary> {
        let policy = self.story_policy;
        self.polls.submit(poll.clone(), |polls| match self.lock() {
            Ok(mut conn) => record_polls(&mut conn, polls, policy),
            Err(_) => polls
                .iter()
                .map(|_| Err(super::StoreError::Poisoned))
                .collect(),
        })
    }
}

/// Whether recording `poll` writes outbox rows: alerts (on new or edited items) or feed
/// events.
pub(super) fn writes_outbox(poll: &PollRecord) -> bool {
    !poll.events.is_empty()
        || poll
            .fetch
            .items
            .iter()
            .any(|item| !item.too_old && !item.alerts.is_empty())
        || poll.fetch.edits.iter().any(|edit| !edit.alerts.is_empty())
}

/// One transaction for a batch of polls, each in a savepoint; one result per poll.
fn record_polls(
    conn: &mut rusqlite::Connection,
    polls: &[&PollRecord],
    policy: super::StoryPolicy,
) -> Vec<Result<RecordSummary>> {
    // Only outbox rows need FULL: a delivered-mark or an alert lost to a power cut could mean
    // a doubled or a missing alert. A batch that writes none (304s, failures, items that
    // match nothing) may lose its commit to a power cut at no cost but a refetch, so it skips
    // the fsync; the next FULL commit syncs it anyway. This is what keeps a pass of thousands
    // of unchanged feeds fast. The level is set for every batch, so a failed reset after a
    // NORMAL batch can never leave an outbox write unsynced.
    let durable = polls.iter().any(|p| writes_outbox(p));
    let level = if durable { "FULL" } else { "NORMAL" };
    if let Err(e) = conn.pragma_update(None, "synchronous", level) {
        return std::iter::once(Err(e.into()))
            .chain(
                polls
                    .iter()
                    .skip(1)
                    .map(|_| Err(super::StoreError::Poisoned)),
            )
            .collect();
    }
    let batch = (|| -> Result<Vec<Result<RecordSummary>>> {
        let mut tx = conn.transaction()?;
        let mut results = Vec::with_capacity(polls.len());
        for poll in polls {
            let savepoint = tx.savepoint()?;
            match record_poll_in(&savepoint, poll, policy) {
                Ok(summary) => {
                    savepoint.commit()?;
                    results.push(Ok(summary));
                }
                Err(e) => {
                    // Dropping the savepoint rolls this poll back, and only this one...
                    drop(savepoint);
                    // ...unless the error made SQLite roll back the whole transaction (disk
                    // full, I/O): then nothing of the batch is recorded, and going on would
                    // commit the remaining polls outside it.
                    if tx.is_autocommit() {
                        return Err(e);
                    }
                    results.push(Err(e));
                }
            }
        }
        tx.commit()?;
        Ok(results)
    })();
    if !durable && let Err(e) = conn.pragma_update(None, "synchronous", "FULL") {
        // Harmless for correctness (the next durable batch sets FULL itself), worth a line.
        tracing::warn!("cannot restore synchronous=FULL after a batch: {e}");
    }
    match batch {
        Ok(results) => results,
        // Nothing of the batch is recorded (the commit failed, or the transaction was rolled
        // back). Retry each poll alone so that each gets its own outcome and its own error.
        Err(_) if polls.len() > 1 => polls
            .iter()
            .map(|poll| {
                record_polls(conn, &[*poll], policy)
                    .pop()
                    .unwrap_or(Err(super::StoreError::Poisoned))
            })
            .collect(),
        Err(e) => vec![Err(e)],
    }
}

fn record_poll_in(
    tx: &rusqlite::Connection,
    poll: &PollRecord,
    policy: super::StoryPolicy,
) -> Result<RecordSummary> {
    {
        let summary = insert_items(tx, &poll.fetch, policy)?;
        if !poll.events.is_empty() {
            let mut insert_event = tx.prepare_cached(
                "INSERT OR IGNORE INTO alerts (id, rule, feed, item_id, title, link, payload, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, NULL, ?6, ?7)",
            )?;
            let mut insert_delivery = tx.prepare_cached(
                "INSERT OR IGNORE INTO deliveries (alert_id, sink, state, next_attempt_at)
                 VALUES (?1, ?2, 'pending', ?3)",
            )?;
            for event in &poll.events {
                let rule = format!("{FEED_EVENT_RULE_PREFIX}{}", event.kind);
                let inserted = insert_event.execute(params![
                    event.id,
                    rule,
                    poll.fetch.feed,
                    event.incident,
                    event.title,
                    event.payload,
                    poll.fetch.at
                ])?;
                if inserted == 0 {
                    continue;
                }
                for sink in &event.sinks {
                    insert_delivery.execute(params![event.id, sink, poll.fetch.at])?;
                }
            }
        }
        let s = &poll.state;
        tx.prepare_cached("INSERT OR IGNORE INTO feeds (name, url) VALUES (?1, ?2)")?
            .execute(params![poll.fetch.feed, poll.fetch.url])?;
        tx.prepare_cached(
            "UPDATE feeds SET url = ?2, etag = ?3, last_modified = ?4, last_fetch_at = ?5,
                last_success_at = ?6, last_status = ?7, last_error = ?8,
                consecutive_failures = ?9, failing_since = ?10, last_new_item_at = ?11,
                next_due_at = ?12, moved_to = ?13, gone_at = ?14, broken_since = ?15,
                stale_since = ?16, items_seen = items_seen + ?17, ttl = ?18, skipped = ?19
             WHERE name = ?1",
        )?
        .execute(params![
            poll.fetch.feed,
            poll.fetch.url,
            s.etag,
            s.last_modified,
            s.last_fetch_at,
            s.last_success_at,
            s.last_status,
            s.last_error,
            s.consecutive_failures,
            s.failing_since,
            s.last_new_item_at,
            s.next_due_at,
            s.moved_to,
            s.gone_at,
            s.broken_since,
            s.stale_since,
            summary.new_items as i64,
            s.ttl,
            s.skipped
        ])?;
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AlertId, NewAlert};
    use crate::store::NewItem;

    fn poll(items: Vec<NewItem>, at: i64) -> PollRecord {
        PollRecord {
            fetch: FetchRecord {
                feed: "wire".into(),
                url: "https://news.example.org/rss".into(),
                at,
                error: None,
                items,
                listed: Vec::new(),
                edits: Vec::new(),
            },
            state: FeedState {
                name: "wire".into(),
                url: "https://news.example.org/rss".into(),
                etag: Some("\"v1\"".into()),
                last_success_at: Some(at),
                last_status: Some(200),
                next_due_at: Some(at + 300),
                ..FeedState::default()
            },
            events: Vec::new(),
        }
    }

    fn synchronous(store: &Sqlite) -> i64 {
        let conn = store.lock().unwrap();
        conn.query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn state_round_trips_and_items_seen_accumulates() {
        let dir = tempfile::tempdir().unwrap();
        let store = Sqlite::open(&dir.path().join("w.db")).unwrap();
        assert_eq!(store.feed_state("wire").unwrap(), None);
        let item = |id: &str, rules: &[&str]| NewItem {
            id: id.into(),
            link: None,
            title: id.into(),
            published: None,
            too_old: false,
            text_hash: None,
            story: Default::default(),
            alerts: rules
                .iter()
                .map(|r| NewAlert {
                    id: AlertId::stored(format!("ww_{r}_{id}")),
                    rule: (*r).into(),
                    payload: "{}".into(),
                    sinks: vec!["out".into()],
                    story_update_after: None,
                })
                .collect(),
        };
        // No outbox rows: written without fsync, and FULL is restored afterwards.
        store.record_poll(&poll(vec![item("a", &[])], 100)).unwrap();
        assert_eq!(synchronous(&store), 2, "FULL restored");
        let mut with_event = poll(vec![item("b", &["r"])], 200);
        with_event.events.push(FeedEvent {
            id: AlertId::stored("ww_event".into()),
            kind: "recovered".into(),
            incident: "recovered:broken:1".into(),
            title: "works again".into(),
            payload: "{\"type\":\"watchword.feed_event\"}".into(),
            sinks: vec!["out".into()],
        });
        store.record_poll(&with_event).unwrap();
        let state = store.feed_state("wire").unwrap().unwrap();
        assert_eq!(state.items_seen, 2);
        assert_eq!(state.etag.as_deref(), Some("\"v1\""));
        assert_eq!(state.next_due_at, Some(500));
        let states = store.feed_states().unwrap();
        // The feed event is in the outbox but is not counted as one of the feed's alerts.
        assert_eq!(states["wire"].alerts, 1);
        let due = store
            .due_deliveries(1000, false, 10, &["out".to_string()])
            .unwrap();
        assert_eq!(due.len(), 2);
        assert!(due.iter().any(|d| d.rule == "@feed.recovered"));
    }
}
