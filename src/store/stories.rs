//! Stories in the database: which story a new item joins, the sources of a story, and
//! retention.
//!
//! Everything here runs inside the caller's transaction (`record_fetch`), so an item, its
//! story membership and the alert it may raise are committed together or not at all.

use rusqlite::{OptionalExtension, params};

use super::{Result, Sqlite, StoreError};
use crate::model::StorySource;
use crate::story::decide::{Membership, Report, StoryId, StoryLedger};
use crate::story::{Entities, Signature};

/// At most this many earlier items of a candidate story are compared with a new item: the
/// first reports and the latest ones describe it best, and the cost stays flat for stories
/// with hundreds of copies.
const MAX_COMPARED: i64 = 12;

/// At most this many candidate stories (those sharing the most band keys) are verified.
const MAX_CANDIDATES: usize = 8;

/// Per band key, only this many of the most recent stories are considered.
const MAX_STORIES_PER_KEY: i64 = 16;

/// Band keys are below 2³²; link and name keys above (see `story::decide`).
fn is_band_key(key: i64) -> bool {
    (0..1 << 32).contains(&key)
}

/// The story decisions' view of the recording transaction (`crate::story::decide`): this
/// module only runs their SQL.
pub(super) struct Ledger<'a> {
    pub tx: &'a rusqlite::Connection,
}

impl StoryLedger for Ledger<'_> {
    type Error = StoreError;

    fn story_with_key(&mut self, key: i64, open_since: i64) -> Result<Option<StoryId>> {
        Ok(self
            .tx
            .prepare_cached(
                "SELECT k.story_id FROM story_keys k JOIN stories s ON s.id = k.story_id
                 WHERE k.key = ?1 AND s.last_seen_at >= ?2 ORDER BY k.story_id LIMIT 1",
            )?
            .query_row(params![key, open_since], |row| row.get::<_, i64>(0))
            .optional()?)
    }

    fn candidates(&mut self, keys: &[i64], open_since: i64) -> Result<Vec<(StoryId, Vec<Report>)>> {
        // Each key gives its most recent stories only, so a key common to thousands of
        // stories (frequent words) costs as much as a rare one; candidates are then ranked by
        // how many keys they share (a proxy for similarity), and only the best are verified.
        let tx = self.tx;
        let mut recent = tx.prepare_cached(
            "SELECT story_id FROM story_keys WHERE key = ?1 ORDER BY story_id DESC LIMIT ?2",
        )?;
        // Per story: keys shared, and of those, band keys (wording).
        let mut shared: std::collections::HashMap<i64, (u32, u32)> =
            std::collections::HashMap::new();
        for &key in keys {
            let band = is_band_key(key);
            let stories = recent.query_map(params![key, MAX_STORIES_PER_KEY], |row| {
                row.get::<_, i64>(0)
            })?;
            for story in stories {
                let entry = shared.entry(story?).or_default();
                entry.0 += 1;
                entry.1 += u32::from(band);
            }
        }
        // Stories sharing wording rank first, then those sharing the most names.
        let mut ranked: Vec<((u32, u32), i64)> = shared
            .into_iter()
            .map(|(story, (all, band))| ((band, all), story))
            .collect();
        ranked.sort_unstable_by(|a, b| b.cmp(a));
        let mut open =
            tx.prepare_cached("SELECT 1 FROM stories WHERE id = ?1 AND last_seen_at >= ?2")?;
        let mut members = tx.prepare_cached(
            "SELECT signature, entities, published FROM items
             WHERE story_id = ?1 AND (signature IS NOT NULL OR entities IS NOT NULL)
             ORDER BY first_seen_at LIMIT ?2",
        )?;
        let mut candidates = Vec::with_capacity(MAX_CANDIDATES);
        for (_, story) in ranked {
            if candidates.len() == MAX_CANDIDATES {
                break;
            }
            if !open.exists(params![story, open_since])? {
                continue;
            }
            let rows = members.query_map(params![story, MAX_COMPARED], |row| {
                Ok((
                    row.get::<_, Option<Vec<u8>>>(0)?,
                    row.get::<_, Option<String>>(1)?,
                    row.get::<_, Option<i64>>(2)?,
                ))
            })?;
            let mut reports = Vec::new();
            for row in rows {
                let (blob, entities, published) = row?;
                reports.push(Report {
                    // A blob of the wrong size (written by another version) is not compared.
                    signature: blob.as_deref().and_then(Signature::from_bytes),
                    entities: entities
                        .as_deref()
                        .map(Entities::from_text)
                        .unwrap_or_default(),
                    published,
                });
            }
            candidates.push((story, reports));
        }
        Ok(candidates)
    }

    fn open_story(&mut self, at: i64, title: &str, link: Option<&str>) -> Result<StoryId> {
        self.tx
            .prepare_cached(
                "INSERT INTO stories (first_seen_at, last_seen_at, title, link) VALUES (?1, ?1, ?2, ?3)",
            )?
            .execute(params![at, title, link])?;
        Ok(self.tx.last_insert_rowid())
    }

    fn touch_story(&mut self, story: StoryId, at: i64) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE stories SET last_seen_at = MAX(last_seen_at, ?2) WHERE id = ?1",
            )?
            .execute(params![story, at])?;
        Ok(())
    }

    fn join_story(&mut self, story: StoryId, report: Membership<'_>) -> Result<()> {
        let mut insert_key = self
            .tx
            .prepare_cached("INSERT OR IGNORE INTO story_keys (key, story_id) VALUES (?1, ?2)")?;
        for key in report.keys {
            insert_key.execute(params![key, story])?;
        }
        let entities = &report.key.entities;
        // Serializing a reason cannot fail (no maps with non-string keys; a non-finite
        // similarity becomes null), so a failure could only lose the explanation, never the row.
        let joined_by = report
            .joined_by
            .and_then(|why| serde_json::to_string(why).ok());
        self.tx
            .prepare_cached(
                "UPDATE items SET story_id = ?3, signature = ?4, entities = ?5, joined_by = ?6,
                 lang = ?7 WHERE feed = ?1 AND item_id = ?2",
            )?
            .execute(params![
                report.feed,
                report.item_id,
                story,
                report.key.signature.as_ref().map(Signature::to_bytes),
                (!entities.is_empty()).then(|| entities.to_text()),
                joined_by,
                report.key.lang,
            ])?;
        Ok(())
    }

    fn rule_alerted(&mut self, rule: &str, story: StoryId) -> Result<bool> {
        Ok(self
            .tx
            .prepare_cached(RULE_ALERTED)?
            .exists(params![rule, story])?)
    }

    fn outlet_count(&mut self, story: StoryId) -> Result<u64> {
        Ok(self
            .tx
            .prepare_cached("SELECT COUNT(DISTINCT feed) FROM items WHERE story_id = ?1")?
            .query_row(params![story], |row| row.get::<_, i64>(0))?
            .max(0) as u64)
    }

    fn sources(&mut self, story: StoryId) -> Result<Vec<StorySource>> {
        sources_in(self.tx, story)
    }
}

/// The story an item already recorded belongs to, if it has one.
pub(super) fn story_of(
    tx: &rusqlite::Connection,
    feed: &str,
    item_id: &str,
) -> Result<Option<i64>> {
    Ok(tx
        .prepare_cached("SELECT story_id FROM items WHERE feed = ?1 AND item_id = ?2")?
        .query_row(params![feed, item_id], |row| row.get::<_, Option<i64>>(0))
        .optional()?
        .flatten())
}

/// Whether a rule has alerted on a story. The `kind IN` term repeats the partial index's
/// condition word for word: SQLite uses a partial index only when the query's WHERE visibly
/// implies the index's, and without it this ran as a scan of every alert of the rule, so
/// recording slowed down as alerts accumulated.
pub(super) const RULE_ALERTED: &str = "SELECT 1 FROM alerts WHERE rule = ?1 AND story_id = ?2
    AND kind = 'first' AND kind IN ('first', 'update')";

/// Reports of `story`, first first (one per feed: its earliest).
pub(super) fn sources_in(conn: &rusqlite::Connection, story: i64) -> Result<Vec<StorySource>> {
    let mut stmt = conn.prepare_cached(
        "SELECT feed, title, link, MIN(first_seen_at), lang, joined_by FROM items
         WHERE story_id = ?1 GROUP BY feed ORDER BY MIN(first_seen_at), feed",
    )?;
    let rows = stmt.query_map(params![story], |row| {
        Ok(StorySource {
            feed: row.get(0)?,
            title: row.get(1)?,
            link: row.get(2)?,
            seen_at: row.get(3)?,
            lang: row.get(4)?,
            // Written by this version as JSON; anything else reads as "not recorded".
            joined_by: row
                .get::<_, Option<String>>(5)?
                .and_then(|json| serde_json::from_str(&json).ok()),
        })
    })?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

/// What `prune` removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PruneReport {
    pub items: usize,
    pub stories: usize,
    pub story_keys: usize,
    pub alerts: usize,
}

impl Sqlite {
    /// The outlets that reported the story of alert `alert_id` (empty for an alert recorded
    /// before stories existed).
    pub fn story_sources(&self, alert_id: &str) -> Result<Vec<StorySource>> {
        let conn = self.lock()?;
        let story = conn
            .query_row(
                "SELECT story_id FROM alerts WHERE id = ?1",
                params![alert_id],
                |row| row.get::<_, Option<i64>>(0),
            )
            .optional()?
            .flatten();
        match story {
            Some(story) => sources_in(&conn, story),
            None => Ok(Vec::new()),
        }
    }

    /// Bounds the database: forgets items the feeds no longer list and that are older than
    /// `items_before`, closed stories' look-up keys and signatures, stories with no item
    /// left, and delivered or dead alerts older than `alerts_before`. Pending alerts are never
    /// pruned.
    pub fn prune(
        &self,
        now: i64,
        window_secs: i64,
        items_before: i64,
        alerts_before: i64,
    ) -> Result<PruneReport> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let mut report = PruneReport::default();
        let closed_before = now - window_secs;
        // Keys, signatures and names only serve joining; a closed story needs none of them.
        report.story_keys = tx.execute(
            "DELETE FROM story_keys WHERE story_id IN (SELECT id FROM stories WHERE last_seen_at < ?1)",
            params![closed_before],
        )?;
        tx.execute(
            "UPDATE items SET signature = NULL, entities = NULL
             WHERE (signature IS NOT NULL OR entities IS NOT NULL) AND story_id IN
                (SELECT id FROM stories WHERE last_seen_at < ?1)",
            params![closed_before],
        )?;
        // `last_listed_at` is refreshed at most daily (see `insert_items`), so an item its feed
        // still lists may look up to a day stale: only a day more than that means "dropped".
        report.items = tx.execute(
            "DELETE FROM items WHERE first_seen_at < ?1
               AND COALESCE(last_listed_at, first_seen_at) < ?1 - 86400",
            params![items_before],
        )?;
        report.alerts = tx.execute(
            "DELETE FROM alerts WHERE created_at < ?1
               AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.alert_id = alerts.id AND d.state = 'pending')",
            params![alerts_before],
        )?;
        tx.execute(
            "DELETE FROM deliveries WHERE alert_id NOT IN (SELECT id FROM alerts)",
            [],
        )?;
        report.stories = tx.execute(
            "DELETE FROM stories WHERE last_seen_at < ?1
               AND NOT EXISTS (SELECT 1 FROM items i WHERE i.story_id = stories.id)
               AND NOT EXISTS (SELECT 1 FROM alerts a WHERE a.story_id = stories.id)",
            params![closed_before],
        )?;
        // Read pages go with the items that led to them; not counted, as they alert nothing.
        tx.execute(
            "DELETE FROM articles WHERE fetched_at < ?1",
            params![items_before],
        )?;
        tx.commit()?;
        Ok(report)
    }
}
