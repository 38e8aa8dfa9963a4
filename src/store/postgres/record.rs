//! The poll's side of PostgreSQL: what a poll reads, the lease on a feed, and recording a poll
//! with its stories and alerts in one transaction. The same statements as the SQLite code in
//! `store::{mod, feeds, stories}`, in PostgreSQL's dialect.

use std::collections::HashMap;

use super::{Postgres, Result, Tx, locks};
use crate::model::StorySource;
use crate::store::facade::FeedClaim;
use crate::store::feeds::FEED_EVENT_RULE_PREFIX;
use crate::store::recording::{self, AlertRow, RecordingTx};
use crate::store::{
    EditedItem, FetchRecord, NewItem, PollRecord, RecordSummary, SeenItem, StoreError,
};
use crate::story::decide::{Membership, Report, StoryId, StoryLedger};
use crate::story::{Entities, Signature, StoryPolicy};

/// As in `store::stories`: how many earlier reports of a candidate story are compared, how
/// many candidates are verified, how many recent stories one key brings.
const MAX_COMPARED: i64 = 12;
const MAX_CANDIDATES: usize = 8;
const MAX_STORIES_PER_KEY: i64 = 16;

impl Postgres {
    pub fn seen_items(&self, feed: &str, ids: &[String]) -> Result<HashMap<String, SeenItem>> {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        self.with_conn(|tx| {
            let rows = tx.query(
                "SELECT item_id, title, text_hash, status FROM items
                 WHERE feed = $1 AND item_id = ANY($2)",
                &[&feed, &ids],
            )?;
            Ok(rows
                .into_iter()
                .map(|row| {
                    let seen = SeenItem {
                        title: row.get(1),
                        text_hash: row.get(2),
                        too_old: row.get::<_, String>(3) == "old",
                    };
                    (row.get::<_, String>(0), seen)
                })
                .collect())
        })
    }

    pub fn last_success_at(&self, feed: &str) -> Result<Option<i64>> {
        self.with_conn(|tx| {
            Ok(tx
                .query_opt(
                    "SELECT last_success_at FROM feeds WHERE name = $1",
                    &[&feed],
                )?
                .and_then(|row| row.get::<_, Option<i64>>(0)))
        })
    }

    /// Leases `feed` to this replica for one poll. The row lock taken by the upsert orders
    /// replicas that race for the same feed; the loser sees the winner's lease (or, once the
    /// winner has recorded its poll, the feed's next due time) and does not fetch.
    pub fn claim_feed(
        &self,
        feed: &str,
        url: &str,
        now: i64,
        lease_secs: i64,
        honour_schedule: bool,
    ) -> Result<FeedClaim> {
        let until = now.saturating_add(lease_secs.max(1));
        let replica: &str = &self.replica;
        // Two statements without a transaction: the upsert is atomic by itself, and the read
        // after a refusal only says when to look again.
        self.with_conn(|tx| {
            let claimed = tx.query_opt(
                "INSERT INTO feeds (name, url, lease_owner, lease_until) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (name) DO UPDATE SET lease_owner = EXCLUDED.lease_owner,
                     lease_until = EXCLUDED.lease_until
                 WHERE (feeds.lease_until IS NULL OR feeds.lease_until <= $5
                        OR feeds.lease_owner = $3)
                   AND (NOT $6 OR feeds.next_due_at IS NULL OR feeds.next_due_at <= $5
                        OR feeds.url <> EXCLUDED.url)
                 RETURNING 1",
                &[&feed, &url, &replica, &until, &now, &honour_schedule],
            )?;
            if claimed.is_some() {
                return Ok(FeedClaim::Claimed);
            }
            let row = tx.query_one(
                "SELECT lease_until, next_due_at FROM feeds WHERE name = $1",
                &[&feed],
            )?;
            let lease: Option<i64> = row.get(0);
            let due: Option<i64> = row.get(1);
            Ok(match lease.filter(|&l| l > now) {
                Some(lease) => FeedClaim::Leased(lease),
                None => FeedClaim::NotDue(due.unwrap_or(now)),
            })
        })
    }

    /// Records one poll in one transaction and releases the feed's lease. A poll whose items
    /// raise alerts first takes the story lock, so story decisions across replicas are
    /// serial: each sees the stories and alerts the one before committed.
    pub fn record_poll(&self, poll: &PollRecord) -> Result<RecordSummary> {
        let policy = self.story_policy;
        let record = |tx: &Tx<'_>| {
            if decides_stories(&poll.fetch) {
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&locks::STORIES])?;
            }
            let summary = insert_items(tx, &poll.fetch, policy)?;
            for event in &poll.events {
                let rule = format!("{FEED_EVENT_RULE_PREFIX}{}", event.kind);
                let inserted = tx.execute(
                    "INSERT INTO alerts (id, rule, feed, item_id, title, link, payload, created_at)
                     VALUES ($1, $2, $3, $4, $5, NULL, $6, $7) ON CONFLICT DO NOTHING",
                    &[
                        &event.id.as_str(),
                        &rule,
                        &poll.fetch.feed,
                        &event.incident,
                        &event.title,
                        &event.payload,
                        &poll.fetch.at,
                    ],
                )?;
                if inserted == 0 {
                    continue;
                }
                for sink in &event.sinks {
                    insert_delivery(tx, event.id.as_str(), sink, poll.fetch.at)?;
                }
            }
            let s = &poll.state;
            let status = s.last_status.map(i64::from);
            let failures = i64::from(s.consecutive_failures);
            let new_items = summary.new_items as i64;
            tx.execute(
                "INSERT INTO feeds (name, url) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&poll.fetch.feed, &poll.fetch.url],
            )?;
            tx.execute(
                "UPDATE feeds SET url = $2, etag = $3, last_modified = $4, last_fetch_at = $5,
                    last_success_at = $6, last_status = $7, last_error = $8,
                    consecutive_failures = $9, failing_since = $10, last_new_item_at = $11,
                    next_due_at = $12, moved_to = $13, gone_at = $14, broken_since = $15,
                    stale_since = $16, items_seen = items_seen + $17, ttl = $18, skipped = $19,
                    lease_owner = NULL, lease_until = NULL
                 WHERE name = $1",
                &[
                    &poll.fetch.feed,
                    &poll.fetch.url,
                    &s.etag,
                    &s.last_modified,
                    &s.last_fetch_at,
                    &s.last_success_at,
                    &status,
                    &s.last_error,
                    &failures,
                    &s.failing_since,
                    &s.last_new_item_at,
                    &s.next_due_at,
                    &s.moved_to,
                    &s.gone_at,
                    &s.broken_since,
                    &s.stale_since,
                    &new_items,
                    &s.ttl,
                    &s.skipped,
                ],
            )?;
            if summary.new_alerts > 0 || !poll.events.is_empty() {
                super::notify::outbox_changed(tx)?;
            }
            Ok(summary)
        };
        // As on SQLite: only a poll that may write outbox rows waits for its commit to be on
        // disk; one of 304s, failures and items that match nothing may lose its commit to a
        // crash at the cost of a refetch.
        if crate::store::feeds::writes_outbox(poll) {
            self.with_tx(record)
        } else {
            self.with_light_tx(record)
        }
    }

    /// Records a fetch without the poller's state (tests and benches, as on SQLite).
    pub fn record_fetch(&self, record: &FetchRecord) -> Result<RecordSummary> {
        let policy = self.story_policy;
        self.with_tx(|tx| {
            if decides_stories(record) {
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[&locks::STORIES])?;
            }
            let summary = insert_items(tx, record, policy)?;
            let new_items = summary.new_items as i64;
            match &record.error {
                None => tx.execute(
                    "INSERT INTO feeds (name, url, last_fetch_at, last_success_at, last_error,
                         consecutive_failures, items_seen)
                     VALUES ($1, $2, $3, $3, NULL, 0, $4)
                     ON CONFLICT (name) DO UPDATE SET
                        url = EXCLUDED.url, last_fetch_at = EXCLUDED.last_fetch_at,
                        last_success_at = EXCLUDED.last_success_at, last_error = NULL,
                        consecutive_failures = 0,
                        items_seen = feeds.items_seen + EXCLUDED.items_seen",
                    &[&record.feed, &record.url, &record.at, &new_items],
                )?,
                Some(error) => tx.execute(
                    "INSERT INTO feeds (name, url, last_fetch_at, last_error, consecutive_failures)
                     VALUES ($1, $2, $3, $4, 1)
                     ON CONFLICT (name) DO UPDATE SET
                        url = EXCLUDED.url, last_fetch_at = EXCLUDED.last_fetch_at,
                        last_error = EXCLUDED.last_error,
                        consecutive_failures = feeds.consecutive_failures + 1",
                    &[&record.feed, &record.url, &record.at, error],
                )?,
            };
            if summary.new_alerts > 0 {
                super::notify::outbox_changed(tx)?;
            }
            Ok(summary)
        })
    }
}

/// Whether recording `record` makes story decisions (items or edits that raise alerts).
fn decides_stories(record: &FetchRecord) -> bool {
    record
        .items
        .iter()
        .any(|item| !item.too_old && !item.alerts.is_empty())
        || record.edits.iter().any(|edit| !edit.alerts.is_empty())
}

/// `recording::insert_items` on PostgreSQL.
fn insert_items(tx: &Tx<'_>, record: &FetchRecord, policy: StoryPolicy) -> Result<RecordSummary> {
    recording::insert_items(&mut Ledger { tx }, record, policy)
}

fn insert_delivery(tx: &Tx<'_>, alert: &str, sink: &str, at: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO deliveries (alert_id, sink, state, next_attempt_at)
         VALUES ($1, $2, 'pending', $3) ON CONFLICT DO NOTHING",
        &[&alert, &sink, &at],
    )?;
    Ok(())
}

impl RecordingTx for Ledger<'_, '_> {
    /// All of a poll's items in one statement (one round trip, not one per item).
    fn insert_items(
        &mut self,
        feed: &str,
        items: &[NewItem],
        at: i64,
    ) -> Result<std::collections::HashSet<String>> {
        let ids: Vec<&str> = items.iter().map(|i| i.id.as_str()).collect();
        let links: Vec<Option<&str>> = items.iter().map(|i| i.link.as_deref()).collect();
        let titles: Vec<&str> = items.iter().map(|i| i.title.as_str()).collect();
        let published: Vec<Option<i64>> = items.iter().map(|i| i.published).collect();
        let statuses: Vec<&str> = items
            .iter()
            .map(|i| if i.too_old { "old" } else { "new" })
            .collect();
        let hashes: Vec<Option<i64>> = items.iter().map(|i| i.text_hash).collect();
        Ok(self
            .tx
            .query(
                "INSERT INTO items
                    (feed, item_id, link, title, published, first_seen_at, status, text_hash)
                 SELECT $1, id, link, title, published, $2, status, text_hash
                 FROM unnest($3::TEXT[], $4::TEXT[], $5::TEXT[], $6::BIGINT[], $7::TEXT[],
                             $8::BIGINT[]) AS i(id, link, title, published, status, text_hash)
                 ON CONFLICT DO NOTHING
                 RETURNING item_id",
                &[
                    &feed, &at, &ids, &links, &titles, &published, &statuses, &hashes,
                ],
            )?
            .into_iter()
            .map(|row| row.get::<_, String>(0))
            .collect())
    }

    fn insert_alert(&mut self, alert: &AlertRow<'_>) -> Result<bool> {
        Ok(self.tx.execute(
            "INSERT INTO alerts
                (id, rule, feed, item_id, title, link, payload, created_at, story_id, kind)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
            &[
                &alert.id,
                &alert.rule,
                &alert.feed,
                &alert.item_id,
                &alert.title,
                &alert.link,
                &alert.payload,
                &alert.created_at,
                &alert.story,
                &alert.kind,
            ],
        )? > 0)
    }

    fn insert_delivery(&mut self, alert: &str, sink: &str, at: i64) -> Result<()> {
        insert_delivery(self.tx, alert, sink, at)
    }

    fn record_edit(&mut self, feed: &str, edit: &EditedItem) -> Result<bool> {
        Ok(self.tx.execute(
            "UPDATE items SET text_hash = $3, title = $4, link = COALESCE($5, link)
             WHERE feed = $1 AND item_id = $2 AND text_hash IS NOT DISTINCT FROM $6",
            &[
                &feed,
                &edit.id,
                &edit.text_hash,
                &edit.title,
                &edit.link,
                &edit.old_hash,
            ],
        )? > 0)
    }

    fn story_of(&mut self, feed: &str, item_id: &str) -> Result<Option<i64>> {
        Ok(self
            .tx
            .query_opt(
                "SELECT story_id FROM items WHERE feed = $1 AND item_id = $2",
                &[&feed, &item_id],
            )?
            .and_then(|row| row.get::<_, Option<i64>>(0)))
    }

    fn touch_listed(&mut self, feed: &str, ids: &[String], at: i64) -> Result<()> {
        self.tx.execute(
            "UPDATE items SET last_listed_at = $3
             WHERE feed = $1 AND item_id = ANY($2)
               AND COALESCE(last_listed_at, first_seen_at) < $3::BIGINT - 86400",
            &[&feed, &ids, &at],
        )?;
        Ok(())
    }
}

/// Band keys are below 2³²; link and name keys above (see `story::decide`).
fn is_band_key(key: i64) -> bool {
    (0..1 << 32).contains(&key)
}

/// The story decisions' view of the recording transaction.
struct Ledger<'t, 'a> {
    tx: &'t Tx<'a>,
}

impl StoryLedger for Ledger<'_, '_> {
    type Error = StoreError;

    fn story_with_key(&mut self, key: i64, open_since: i64) -> Result<Option<StoryId>> {
        Ok(self
            .tx
            .query_opt(
                "SELECT k.story_id FROM story_keys k JOIN stories s ON s.id = k.story_id
                 WHERE k.key = $1 AND s.last_seen_at >= $2 ORDER BY k.story_id LIMIT 1",
                &[&key, &open_since],
            )?
            .map(|row| row.get::<_, i64>(0)))
    }

    fn candidates(&mut self, keys: &[i64], open_since: i64) -> Result<Vec<(StoryId, Vec<Report>)>> {
        let mut shared: HashMap<i64, (u32, u32)> = HashMap::new();
        for &key in keys {
            let band = is_band_key(key);
            for row in self.tx.query(
                "SELECT story_id FROM story_keys WHERE key = $1 ORDER BY story_id DESC LIMIT $2",
                &[&key, &MAX_STORIES_PER_KEY],
            )? {
                let entry = shared.entry(row.get::<_, i64>(0)).or_default();
                entry.0 += 1;
                entry.1 += u32::from(band);
            }
        }
        let mut ranked: Vec<((u32, u32), i64)> = shared
            .into_iter()
            .map(|(story, (all, band))| ((band, all), story))
            .collect();
        ranked.sort_unstable_by(|a, b| b.cmp(a));
        let mut candidates = Vec::with_capacity(MAX_CANDIDATES);
        for (_, story) in ranked {
            if candidates.len() == MAX_CANDIDATES {
                break;
            }
            let open = self.tx.query_opt(
                "SELECT 1 FROM stories WHERE id = $1 AND last_seen_at >= $2",
                &[&story, &open_since],
            )?;
            if open.is_none() {
                continue;
            }
            let rows = self.tx.query(
                "SELECT signature, entities, published FROM items
                 WHERE story_id = $1 AND (signature IS NOT NULL OR entities IS NOT NULL)
                 ORDER BY first_seen_at LIMIT $2",
                &[&story, &MAX_COMPARED],
            )?;
            let reports = rows
                .into_iter()
                .map(|row| Report {
                    signature: row
                        .get::<_, Option<Vec<u8>>>(0)
                        .as_deref()
                        .and_then(Signature::from_bytes),
                    entities: row
                        .get::<_, Option<String>>(1)
                        .as_deref()
                        .map(Entities::from_text)
                        .unwrap_or_default(),
                    published: row.get(2),
                })
                .collect();
            candidates.push((story, reports));
        }
        Ok(candidates)
    }

    fn open_story(&mut self, at: i64, title: &str, link: Option<&str>) -> Result<StoryId> {
        Ok(self
            .tx
            .query_one(
                "INSERT INTO stories (first_seen_at, last_seen_at, title, link)
                 VALUES ($1, $1, $2, $3) RETURNING id",
                &[&at, &title, &link],
            )?
            .get(0))
    }

    fn touch_story(&mut self, story: StoryId, at: i64) -> Result<()> {
        self.tx.execute(
            "UPDATE stories SET last_seen_at = GREATEST(last_seen_at, $2) WHERE id = $1",
            &[&story, &at],
        )?;
        Ok(())
    }

    fn join_story(&mut self, story: StoryId, report: Membership<'_>) -> Result<()> {
        if !report.keys.is_empty() {
            self.tx.execute(
                "INSERT INTO story_keys (key, story_id) SELECT UNNEST($1::BIGINT[]), $2
                 ON CONFLICT DO NOTHING",
                &[&report.keys, &story],
            )?;
        }
        let entities = &report.key.entities;
        let joined_by = report
            .joined_by
            .and_then(|why| serde_json::to_string(why).ok());
        let signature = report.key.signature.as_ref().map(Signature::to_bytes);
        let entities = (!entities.is_empty()).then(|| entities.to_text());
        self.tx.execute(
            "UPDATE items SET story_id = $3, signature = $4, entities = $5, joined_by = $6,
             lang = $7 WHERE feed = $1 AND item_id = $2",
            &[
                &report.feed,
                &report.item_id,
                &story,
                &signature,
                &entities,
                &joined_by,
                &report.key.lang,
            ],
        )?;
        Ok(())
    }

    fn rule_alerted(&mut self, rule: &str, story: StoryId) -> Result<bool> {
        Ok(self
            .tx
            .query_opt(
                "SELECT 1 FROM alerts WHERE rule = $1 AND story_id = $2 AND kind = 'first'",
                &[&rule, &story],
            )?
            .is_some())
    }

    fn outlet_count(&mut self, story: StoryId) -> Result<u64> {
        let n: i64 = self
            .tx
            .query_one(
                "SELECT COUNT(DISTINCT feed) FROM items WHERE story_id = $1",
                &[&story],
            )?
            .get(0);
        Ok(n.max(0) as u64)
    }

    fn sources(&mut self, story: StoryId) -> Result<Vec<StorySource>> {
        sources_in(self.tx, story)
    }
}

/// Reports of `story`, first first (one per feed: its earliest).
pub(super) fn sources_in(tx: &Tx<'_>, story: i64) -> Result<Vec<StorySource>> {
    let rows = tx.query(
        "SELECT DISTINCT ON (feed) feed, title, link, first_seen_at, lang, joined_by FROM items
         WHERE story_id = $1 ORDER BY feed, first_seen_at",
        &[&story],
    )?;
    let mut sources: Vec<StorySource> = rows
        .into_iter()
        .map(|row| StorySource {
            feed: row.get(0),
            title: row.get(1),
            link: row.get(2),
            seen_at: row.get(3),
            lang: row.get(4),
            joined_by: row
                .get::<_, Option<String>>(5)
                .and_then(|json| serde_json::from_str(&json).ok()),
        })
        .collect();
    sources.sort_by(|a, b| (a.seen_at, &a.feed).cmp(&(b.seen_at, &b.feed)));
    Ok(sources)
}
