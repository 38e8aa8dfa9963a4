//! The poll's side of PostgreSQL: what a poll reads, the lease on a feed, and recording a poll
//! with its stories and alerts in one transaction. The same statements as the SQLite code in
//! `store::{mod, feeds, stories}`, in PostgreSQL's dialect.

use std::collections::HashMap;

use super::poll_queue::PollWrite;
use super::{Postgres, Result, Tx, locks};
use crate::model::StorySource;
use crate::store::feeds::FEED_EVENT_RULE_PREFIX;
use crate::store::recording::{self, AlertRow, RecordingTx};
use crate::store::{
    EditedItem, FetchRecord, NewItem, PollRecord, RecordSummary, SeenItem, StoreError,
};
use crate::story::decide::{Membership, Report, StoryId, StoryLedger};
use crate::story::{Entities, Signature, StoryPolicy};

/// The feed-state columns a poll writes, and the upsert that writes them and lets the feed's
/// lease go: one text for every statement that records a poll's state (a batch of `304`s,
/// a plain poll, a poll that decides stories), so a new column cannot be missed in one of them.
/// Macros, not consts, so the statements stay `&'static str` (`concat!`).
macro_rules! feed_state_insert {
    () => {
        "INSERT INTO feeds (name, url, etag, last_modified, last_fetch_at, last_success_at,
            last_status, last_error, consecutive_failures, failing_since, last_new_item_at,
            next_due_at, moved_to, gone_at, broken_since, stale_since, items_seen, ttl, skipped)"
    };
}

macro_rules! feed_state_upsert {
    () => {
        "ON CONFLICT (name) DO UPDATE SET url = EXCLUDED.url, etag = EXCLUDED.etag,
            last_modified = EXCLUDED.last_modified, last_fetch_at = EXCLUDED.last_fetch_at,
            last_success_at = EXCLUDED.last_success_at, last_status = EXCLUDED.last_status,
            last_error = EXCLUDED.last_error,
            consecutive_failures = EXCLUDED.consecutive_failures,
            failing_since = EXCLUDED.failing_since, last_new_item_at = EXCLUDED.last_new_item_at,
            next_due_at = EXCLUDED.next_due_at, moved_to = EXCLUDED.moved_to,
            gone_at = EXCLUDED.gone_at, broken_since = EXCLUDED.broken_since,
            stale_since = EXCLUDED.stale_since,
            items_seen = feeds.items_seen + EXCLUDED.items_seen,
            ttl = EXCLUDED.ttl, skipped = EXCLUDED.skipped,
            lease_owner = NULL, lease_until = NULL"
    };
}

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

    /// Records one poll and releases the feed's lease and its host slot. A poll that only
    /// adds items and state (no alert, feed event or edit: most polls) is one statement; one
    /// that decides stories is one transaction which first locks the stories' look-up keys,
    /// so decisions across replicas that may concern one story are serial: each sees the
    /// stories and alerts the one before committed.
    pub fn record_poll(&self, poll: &PollRecord) -> Result<RecordSummary> {
        self.record_poll_then(poll, || {})
    }

    /// [`Postgres::record_poll`], calling `let_go` as soon as any claim this process makes
    /// after it is sure to find the poll's host slot given back: for a poll that brought no
    /// item, once its state is queued ahead of such claims (`poll_queue`); for any other,
    /// once it is recorded (or has failed).
    pub fn record_poll_then(
        &self,
        poll: &PollRecord,
        let_go: impl FnOnce(),
    ) -> Result<RecordSummary> {
        let slot = self.take_held_slot(&poll.fetch.feed);
        let fetch = &poll.fetch;
        let recorded = if crate::store::feeds::writes_outbox(poll) || !fetch.edits.is_empty() {
            self.record_deciding(poll, slot.as_ref())
        } else if fetch.items.is_empty() && fetch.listed.is_empty() {
            let job = StateJob {
                name: fetch.feed.clone(),
                url: fetch.url.clone(),
                state: poll.state.clone(),
                slot: slot.clone(),
            };
            return self
                .poll_writes
                .submit_then(PollWrite::State(Box::new(job)), let_go, |jobs| {
                    self.write_polls(jobs)
                })
                .map(|_| RecordSummary::default())
                .inspect_err(|_| self.give_back_unrecorded(slot));
        } else {
            self.record_plain(poll, slot.as_ref())
        };
        if recorded.is_err() {
            self.give_back_unrecorded(slot);
        }
        let_go();
        recorded
    }

    /// The host slot of a poll whose record failed: the statement that would have given it
    /// back did not run.
    fn give_back_unrecorded(&self, slot: Option<(String, i32)>) {
        if let Some((host, slot)) = slot {
            let _ = self.release_slot(&host, slot);
        }
    }

    /// The state of polls that brought no item, each releasing its lease and host slot: one
    /// statement for the batch. Should it fail, each poll is tried alone, so one bad row does
    /// not fail the others.
    pub(super) fn record_states(&self, jobs: &[&StateJob]) -> Vec<Result<()>> {
        if jobs.len() > 1 {
            let mut names: Vec<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            // One row per feed, or the upsert refuses the batch (a feed is polled once at a
            // time, so this holds unless a caller records one poll twice).
            if names.len() == jobs.len() && self.write_states(jobs).is_ok() {
                return jobs.iter().map(|_| Ok(())).collect();
            }
        }
        jobs.iter().map(|job| self.write_states(&[job])).collect()
    }

    fn write_states(&self, jobs: &[&StateJob]) -> Result<()> {
        let replica: &str = &self.replica;
        let text = |f: fn(&StateJob) -> Option<&str>| -> Vec<Option<&str>> {
            jobs.iter().map(|j| f(j)).collect()
        };
        let number = |f: fn(&StateJob) -> Option<i64>| -> Vec<Option<i64>> {
            jobs.iter().map(|j| f(j)).collect()
        };
        let names: Vec<&str> = jobs.iter().map(|j| j.name.as_str()).collect();
        let urls: Vec<&str> = jobs.iter().map(|j| j.url.as_str()).collect();
        let etags = text(|j| j.state.etag.as_deref());
        let modified = text(|j| j.state.last_modified.as_deref());
        let fetched = number(|j| j.state.last_fetch_at);
        let succeeded = number(|j| j.state.last_success_at);
        let statuses = number(|j| j.state.last_status.map(i64::from));
        let errors = text(|j| j.state.last_error.as_deref());
        let failures: Vec<i64> = jobs
            .iter()
            .map(|j| i64::from(j.state.consecutive_failures))
            .collect();
        let failing = number(|j| j.state.failing_since);
        let new_item = number(|j| j.state.last_new_item_at);
        let due = number(|j| j.state.next_due_at);
        let moved = text(|j| j.state.moved_to.as_deref());
        let gone = number(|j| j.state.gone_at);
        let broken = number(|j| j.state.broken_since);
        let stale = number(|j| j.state.stale_since);
        let ttls = number(|j| j.state.ttl);
        let skipped = text(|j| j.state.skipped.as_deref());
        let slot_hosts: Vec<Option<&str>> = jobs
            .iter()
            .map(|j| j.slot.as_ref().map(|(host, _)| host.as_str()))
            .collect();
        let slots: Vec<Option<i32>> = jobs
            .iter()
            .map(|j| j.slot.as_ref().map(|(_, slot)| *slot))
            .collect();
        self.with_conn(|tx| {
            tx.execute(
                concat!(
                    "WITH slot AS (
                        UPDATE host_slots h SET owner = NULL, until = NULL
                        FROM unnest($19::TEXT[], $20::INT4[]) AS r(host, slot)
                        WHERE h.host = r.host AND h.slot = r.slot AND h.owner = $21
                     )
                     ",
                    feed_state_insert!(),
                    "
                     SELECT name, url, etag, last_modified, last_fetch_at, last_success_at,
                        last_status, last_error, consecutive_failures, failing_since,
                        last_new_item_at, next_due_at, moved_to, gone_at, broken_since,
                        stale_since, 0, ttl, skipped
                     FROM unnest($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[],
                        $6::BIGINT[], $7::BIGINT[], $8::TEXT[], $9::BIGINT[], $10::BIGINT[],
                        $11::BIGINT[], $12::BIGINT[], $13::TEXT[], $14::BIGINT[], $15::BIGINT[],
                        $16::BIGINT[], $17::BIGINT[], $18::TEXT[])
                        AS s(name, url, etag, last_modified, last_fetch_at, last_success_at,
                             last_status, last_error, consecutive_failures, failing_since,
                             last_new_item_at, next_due_at, moved_to, gone_at, broken_since,
                             stale_since, ttl, skipped)
                     ",
                    feed_state_upsert!()
                ),
                &[
                    &names,
                    &urls,
                    &etags,
                    &modified,
                    &fetched,
                    &succeeded,
                    &statuses,
                    &errors,
                    &failures,
                    &failing,
                    &new_item,
                    &due,
                    &moved,
                    &gone,
                    &broken,
                    &stale,
                    &ttls,
                    &skipped,
                    &slot_hosts,
                    &slots,
                    &replica,
                ],
            )?;
            Ok(())
        })
    }

    /// A poll that writes nothing to the outbox and decides no story: its items, the items it
    /// still lists, its state, its lease and host slot let go, in one statement (one round
    /// trip, atomic by itself). Its commit does not wait for the WAL flush, as on SQLite: a
    /// crash may lose it at the cost of a refetch, never an alert.
    fn record_plain(
        &self,
        poll: &PollRecord,
        slot: Option<&(String, i32)>,
    ) -> Result<RecordSummary> {
        let fetch = &poll.fetch;
        let items = ItemColumns::of(&fetch.items);
        let s = &poll.state;
        let status = s.last_status.map(i64::from);
        let failures = i64::from(s.consecutive_failures);
        let replica: &str = &self.replica;
        let (slot_host, slot_number) = match slot {
            Some((host, slot)) => (Some(host.as_str()), Some(*slot)),
            None => (None, None),
        };
        // A poll without items (a 304, a failure) inserts none: no INSERT at all, so the
        // items' statement trigger does not run for nothing. The parameters stay typed.
        let new = if fetch.items.is_empty() {
            "SELECT 1 FROM unnest($4::TEXT[], $5::TEXT[], $6::TEXT[], $7::BIGINT[],
                                  $8::TEXT[], $9::BIGINT[]) WHERE false"
        } else {
            "INSERT INTO items
                (feed, item_id, link, title, published, first_seen_at, status, text_hash)
             SELECT $1, id, link, title, published, $3, status, text_hash
             FROM unnest($4::TEXT[], $5::TEXT[], $6::TEXT[], $7::BIGINT[], $8::TEXT[],
                         $9::BIGINT[]) AS i(id, link, title, published, status, text_hash)
             ON CONFLICT DO NOTHING
             RETURNING 1"
        };
        let new_items: i64 = self.with_conn(|tx| {
            Ok(tx
                .query_one(
                    &format!(
                        "WITH new AS ({new}), listed AS (
                        UPDATE items SET last_listed_at = $3
                        WHERE feed = $1 AND item_id = ANY($10)
                          AND COALESCE(last_listed_at, first_seen_at) < $3::BIGINT - 86400
                    ), slot AS (
                        UPDATE host_slots SET owner = NULL, until = NULL
                        WHERE host = $11 AND slot = $12 AND owner = $13
                    ), state AS (
                        {insert_state}
                        VALUES ($1, $2, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24,
                            $25, $26, $27, (SELECT COUNT(*) FROM new), $28, $29)
                        {upsert_state}
                    )
                    SELECT COUNT(*) FROM new",
                        insert_state = feed_state_insert!(),
                        upsert_state = feed_state_upsert!(),
                    ),
                    &[
                        &fetch.feed,
                        &fetch.url,
                        &fetch.at,
                        &items.ids,
                        &items.links,
                        &items.titles,
                        &items.published,
                        &items.statuses,
                        &items.hashes,
                        &fetch.listed,
                        &slot_host,
                        &slot_number,
                        &replica,
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
                        &s.ttl,
                        &s.skipped,
                    ],
                )?
                .get(0))
        })?;
        Ok(RecordSummary {
            new_items: new_items.max(0) as usize,
            ..RecordSummary::default()
        })
    }

    /// A poll that may raise alerts (or feed events, or edits): one transaction, which waits
    /// for the WAL flush only when it may write to the outbox.
    fn record_deciding(
        &self,
        poll: &PollRecord,
        slot: Option<&(String, i32)>,
    ) -> Result<RecordSummary> {
        let policy = self.story_policy;
        let replica: &str = &self.replica;
        let record = |tx: &Tx<'_>| {
            let summary = insert_items(tx, &poll.fetch, policy)?;
            let mut events_recorded = 0;
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
                events_recorded += 1;
                for sink in &event.sinks {
                    insert_delivery(tx, event.id.as_str(), sink, poll.fetch.at)?;
                }
            }
            let s = &poll.state;
            let status = s.last_status.map(i64::from);
            let failures = i64::from(s.consecutive_failures);
            let new_items = summary.new_items as i64;
            let (slot_host, slot_number) = match slot {
                Some((host, slot)) => (Some(host.as_str()), Some(*slot)),
                None => (None, None),
            };
            tx.execute(
                concat!(
                    "WITH slot AS (
                        UPDATE host_slots SET owner = NULL, until = NULL
                        WHERE host = $20 AND slot = $21 AND owner = $22
                     )
                     ",
                    feed_state_insert!(),
                    "
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                        $17, $18, $19)
                     ",
                    feed_state_upsert!()
                ),
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
                    &slot_host,
                    &slot_number,
                    &replica,
                ],
            )?;
            // Only a poll that wrote outbox rows waits for its commit to be on disk: one whose
            // matches only joined stories already alerted on (or edits that alert nothing) may
            // lose its commit to a crash at the cost of a refetch, like SQLite's unsynced
            // batches. Decided here, where it is known, in the statement that notifies.
            let durable = summary.new_alerts > 0 || events_recorded > 0;
            if durable {
                tx.execute(
                    "SELECT set_config('synchronous_commit', 'on', true), pg_notify($1, '')",
                    &[&super::notify::CHANNEL],
                )?;
            } else if !poll.events.is_empty() {
                super::notify::outbox_changed(tx)?;
            }
            Ok(summary)
        };
        self.with_light_tx(record)
    }

    /// Records a fetch without the poller's state (tests and benches, as on SQLite).
    pub fn record_fetch(&self, record: &FetchRecord) -> Result<RecordSummary> {
        let policy = self.story_policy;
        self.with_tx(|tx| {
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

/// More look-up keys than this in one recording take the one story lock for the database
/// instead: advisory locks live in a shared table of fixed size (`max_locks_per_transaction`
/// × connections), which a feed of a hundred alerting items, 35 keys each, could fill.
const MAX_KEY_LOCKS: usize = 128;

/// Locks the look-up keys (link, bands, names) of every item and edit in `record` that may
/// decide a story, in sorted order (no two recordings wait on each other in a circle), so two
/// reports that could find each other's story are decided one after the other, while
/// reports of unrelated stories are decided in parallel. Every such recording also holds the
/// story lock for the database in shared mode; one with too many keys holds it alone.
/// Decisions on one story reached by different keys are serial too: joining a story updates
/// its row (`touch_story`), which waits for a concurrent recording that joined it.
fn lock_story_keys(tx: &Tx<'_>, keys: &[i32]) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    if keys.len() > MAX_KEY_LOCKS {
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&locks::STORIES])?;
        return Ok(());
    }
    tx.execute(
        "WITH every AS (SELECT pg_advisory_xact_lock_shared($1))
         SELECT COUNT(pg_advisory_xact_lock($2, k)) FROM every, unnest($3::INT4[]) AS k",
        &[&locks::STORIES, &locks::STORY_KEY, &keys.to_vec()],
    )?;
    Ok(())
}

/// The advisory lock numbers of the story look-up keys in `record`, sorted and distinct: a
/// stable 32-bit hash of each (two keys that share a number only wait on each other).
fn story_lock_keys(record: &FetchRecord) -> Vec<i32> {
    let mut keys = Vec::new();
    let mut add = |key: &crate::story::StoryKey| {
        if let Some(link) = &key.link {
            keys.push(stable_hash32(b'l', link.as_bytes()));
        }
        if let Some(signature) = &key.signature {
            for band in signature.band_keys() {
                // Band keys are 32-bit values (`story::decide`); the tag keeps them apart from
                // the hashed kinds only by chance, which costs nothing but a wait.
                keys.push(band as u32 as i32);
            }
        }
        for id in key.entities.keys() {
            keys.push(stable_hash32(b'e', id.as_bytes()));
        }
    };
    for item in &record.items {
        if !item.too_old && !item.alerts.is_empty() {
            add(&item.story);
        }
    }
    for edit in &record.edits {
        if !edit.alerts.is_empty() {
            add(&edit.story);
        }
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// FNV-1a, folded to 32 bits: the same number in every replica (std's hasher is seeded per
/// process).
fn stable_hash32(kind: u8, bytes: &[u8]) -> i32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in std::iter::once(&kind).chain(bytes) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    ((h >> 32) ^ h) as u32 as i32
}

/// Per-host slots as the database counts them.
/// The state of a poll that brought no item, waiting to be recorded with others.
pub(super) struct StateJob {
    name: String,
    url: String,
    state: crate::store::FeedState,
    slot: Option<(String, i32)>,
}

/// A poll's new items as columns, for one `INSERT … SELECT FROM unnest(…)`.
struct ItemColumns<'a> {
    ids: Vec<&'a str>,
    links: Vec<Option<&'a str>>,
    titles: Vec<&'a str>,
    published: Vec<Option<i64>>,
    statuses: Vec<&'a str>,
    hashes: Vec<Option<i64>>,
}

impl<'a> ItemColumns<'a> {
    fn of(items: &'a [NewItem]) -> ItemColumns<'a> {
        ItemColumns {
            ids: items.iter().map(|i| i.id.as_str()).collect(),
            links: items.iter().map(|i| i.link.as_deref()).collect(),
            titles: items.iter().map(|i| i.title.as_str()).collect(),
            published: items.iter().map(|i| i.published).collect(),
            statuses: items
                .iter()
                .map(|i| if i.too_old { "old" } else { "new" })
                .collect(),
            hashes: items.iter().map(|i| i.text_hash).collect(),
        }
    }
}

/// `recording::insert_items` on PostgreSQL.
fn insert_items(tx: &Tx<'_>, record: &FetchRecord, policy: StoryPolicy) -> Result<RecordSummary> {
    let mut ledger = Ledger {
        tx,
        unlocked: Some(story_lock_keys(record)),
    };
    recording::insert_items(&mut ledger, record, policy)
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
        let c = ItemColumns::of(items);
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
                    &feed,
                    &at,
                    &c.ids,
                    &c.links,
                    &c.titles,
                    &c.published,
                    &c.statuses,
                    &c.hashes,
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

/// The story decisions' view of the recording transaction.
struct Ledger<'t, 'a> {
    tx: &'t Tx<'a>,
    /// The story locks this recording needs, until it takes them: at its first story
    /// statement, so they are not held while its items are inserted.
    unlocked: Option<Vec<i32>>,
}

impl Ledger<'_, '_> {
    /// Takes the recording's story locks before its first story statement.
    fn locked(&mut self) -> Result<&Tx<'_>> {
        if let Some(keys) = self.unlocked.take() {
            lock_story_keys(self.tx, &keys)?;
        }
        Ok(self.tx)
    }
}

impl StoryLedger for Ledger<'_, '_> {
    type Error = StoreError;

    fn story_with_key(&mut self, key: i64, open_since: i64) -> Result<Option<StoryId>> {
        Ok(self
            .locked()?
            .query_opt(
                "SELECT k.story_id FROM story_keys k JOIN stories s ON s.id = k.story_id
                 WHERE k.key = $1 AND s.last_seen_at >= $2 ORDER BY k.story_id LIMIT 1",
                &[&key, &open_since],
            )?
            .map(|row| row.get::<_, i64>(0)))
    }

    /// One statement whatever the number of keys and candidates: the stories of every key
    /// (the newest few per key), ranked by the band keys then all the keys they share, the
    /// first `MAX_CANDIDATES` still open, each with its first reports. The ranking is the
    /// SQLite backend's (`store::stories`).
    fn candidates(&mut self, keys: &[i64], open_since: i64) -> Result<Vec<(StoryId, Vec<Report>)>> {
        let rows = self.locked()?.query(
            "WITH hits AS (
                SELECT k.key, s.story_id FROM unnest($1::BIGINT[]) AS k(key)
                CROSS JOIN LATERAL (SELECT story_id FROM story_keys WHERE key = k.key
                                    ORDER BY story_id DESC LIMIT $2) AS s
             ), ranked AS (
                SELECT story_id,
                       COUNT(*) FILTER (WHERE key >= 0 AND key < 4294967296) AS band,
                       COUNT(*) AS every
                FROM hits GROUP BY story_id
             ), chosen AS (
                SELECT r.story_id, r.band, r.every FROM ranked r
                JOIN stories st ON st.id = r.story_id AND st.last_seen_at >= $3
                ORDER BY r.band DESC, r.every DESC, r.story_id DESC LIMIT $4
             )
             SELECT c.story_id, r.signature, r.entities, r.published, r.first_seen_at IS NULL
             FROM chosen c
             LEFT JOIN LATERAL (
                 SELECT signature, entities, published, first_seen_at FROM items
                 WHERE story_id = c.story_id AND (signature IS NOT NULL OR entities IS NOT NULL)
                 ORDER BY first_seen_at LIMIT $5) AS r ON true
             ORDER BY c.band DESC, c.every DESC, c.story_id DESC, r.first_seen_at",
            &[
                &keys,
                &MAX_STORIES_PER_KEY,
                &open_since,
                &(MAX_CANDIDATES as i64),
                &MAX_COMPARED,
            ],
        )?;
        let mut candidates: Vec<(StoryId, Vec<Report>)> = Vec::with_capacity(MAX_CANDIDATES);
        for row in rows {
            let story: i64 = row.get(0);
            if candidates.last().is_none_or(|(last, _)| *last != story) {
                candidates.push((story, Vec::new()));
            }
            if row.get::<_, bool>(4) {
                // A story none of whose reports can be compared: a candidate all the same.
                continue;
            }
            if let Some((_, reports)) = candidates.last_mut() {
                reports.push(Report {
                    signature: row
                        .get::<_, Option<Vec<u8>>>(1)
                        .as_deref()
                        .and_then(Signature::from_bytes),
                    entities: row
                        .get::<_, Option<String>>(2)
                        .as_deref()
                        .map(Entities::from_text)
                        .unwrap_or_default(),
                    published: row.get(3),
                });
            }
        }
        Ok(candidates)
    }

    fn open_story(&mut self, at: i64, title: &str, link: Option<&str>) -> Result<StoryId> {
        Ok(self
            .locked()?
            .query_one(
                "INSERT INTO stories (first_seen_at, last_seen_at, title, link)
                 VALUES ($1, $1, $2, $3) RETURNING id",
                &[&at, &title, &link],
            )?
            .get(0))
    }

    fn touch_story(&mut self, story: StoryId, at: i64) -> Result<()> {
        self.locked()?.execute(
            "UPDATE stories SET last_seen_at = GREATEST(last_seen_at, $2) WHERE id = $1",
            &[&story, &at],
        )?;
        Ok(())
    }

    fn join_story(&mut self, story: StoryId, report: Membership<'_>) -> Result<()> {
        let entities = &report.key.entities;
        let joined_by = report
            .joined_by
            .and_then(|why| serde_json::to_string(why).ok());
        let signature = report.key.signature.as_ref().map(Signature::to_bytes);
        let entities = (!entities.is_empty()).then(|| entities.to_text());
        // The keys and the membership in one statement.
        self.locked()?.execute(
            "WITH keys AS (
                INSERT INTO story_keys (key, story_id) SELECT UNNEST($8::BIGINT[]), $3
                ON CONFLICT DO NOTHING
             )
             UPDATE items SET story_id = $3, signature = $4, entities = $5, joined_by = $6,
             lang = $7 WHERE feed = $1 AND item_id = $2",
            &[
                &report.feed,
                &report.item_id,
                &story,
                &signature,
                &entities,
                &joined_by,
                &report.key.lang,
                &report.keys,
            ],
        )?;
        Ok(())
    }

    fn rule_alerted(&mut self, rule: &str, story: StoryId) -> Result<bool> {
        Ok(self
            .locked()?
            .query_opt(
                "SELECT 1 FROM alerts WHERE rule = $1 AND story_id = $2 AND kind = 'first'",
                &[&rule, &story],
            )?
            .is_some())
    }

    fn outlet_count(&mut self, story: StoryId) -> Result<u64> {
        let n: i64 = self
            .locked()?
            .query_one(
                "SELECT COUNT(DISTINCT feed) FROM items WHERE story_id = $1",
                &[&story],
            )?
            .get(0);
        Ok(n.max(0) as u64)
    }

    fn sources(&mut self, story: StoryId) -> Result<Vec<StorySource>> {
        sources_in(self.locked()?, story)
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
