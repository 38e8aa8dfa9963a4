//! Stories in the database: which story a new item joins, the sources of a story, and
//! retention.
//!
//! Everything here runs inside the caller's transaction (`record_fetch`), so an item, its
//! story membership and the alert it may raise are committed together or not at all.

use rusqlite::{OptionalExtension, params};

use super::{Result, Store};
use crate::model::StorySource;
use crate::story::{Signature, StoryKey, StoryPolicy, fingerprint};

/// At most this many earlier items of a candidate story are compared with a new item: the
/// first reports and the latest ones describe it best, and the cost stays flat for stories
/// with hundreds of copies.
const MAX_COMPARED: i64 = 12;

/// At most this many candidate stories (those sharing the most band keys) are verified.
const MAX_CANDIDATES: usize = 8;

/// Per band key, only this many of the most recent stories are considered.
const MAX_STORIES_PER_KEY: i64 = 16;

/// Band keys are 32-bit values (their SQLite integers take 4 bytes, not 8); link keys are
/// moved above 2³² so the two kinds never collide.
fn band_key(key: i64) -> i64 {
    key & 0xFFFF_FFFF
}

fn link_key(link: &str) -> i64 {
    // The fingerprints' stable hash: keys are stored, so std's hasher (free to change) won't do.
    let h = fingerprint::stable_hash(link.as_bytes());
    // Keep 62 bits and set bit 62: positive, and always ≥ 2³².
    ((h >> 2) | (1 << 62)) as i64
}

/// Finds the story the item `(feed, item_id)` belongs to, or starts a new one, and records
/// the membership. Returns the story id and whether the item joined an existing story.
pub(super) fn assign(
    tx: &rusqlite::Connection,
    feed: &str,
    item_id: &str,
    title: &str,
    key: &StoryKey,
    at: i64,
    policy: StoryPolicy,
) -> Result<(i64, bool)> {
    let open_since = at - policy.window_secs;
    let link_key = key.link.as_deref().map(link_key);
    let band_keys: Vec<i64> = key
        .signature
        .as_ref()
        .map(|s| s.band_keys().iter().map(|&k| band_key(k)).collect())
        .unwrap_or_default();

    let mut story = None;
    if let Some(lk) = link_key {
        story = tx
            .prepare_cached(
                "SELECT k.story_id FROM story_keys k JOIN stories s ON s.id = k.story_id
                 WHERE k.key = ?1 AND s.last_seen_at >= ?2 ORDER BY k.story_id LIMIT 1",
            )?
            .query_row(params![lk, open_since], |row| row.get::<_, i64>(0))
            .optional()?;
    }
    if story.is_none()
        && let Some(signature) = &key.signature
    {
        story = closest_story(tx, signature, &band_keys, open_since, policy.threshold)?;
    }
    let joined = story.is_some();
    let story_id = match story {
        Some(id) => {
            tx.prepare_cached(
                "UPDATE stories SET last_seen_at = MAX(last_seen_at, ?2) WHERE id = ?1",
            )?
            .execute(params![id, at])?;
            id
        }
        None => {
            tx.prepare_cached(
                "INSERT INTO stories (first_seen_at, last_seen_at, title, link) VALUES (?1, ?1, ?2, ?3)",
            )?
            .execute(params![at, title, key.link])?;
            tx.last_insert_rowid()
        }
    };
    let mut insert_key =
        tx.prepare_cached("INSERT OR IGNORE INTO story_keys (key, story_id) VALUES (?1, ?2)")?;
    for k in band_keys.iter().copied().chain(link_key) {
        insert_key.execute(params![k, story_id])?;
    }
    tx.prepare_cached(
        "UPDATE items SET story_id = ?3, signature = ?4 WHERE feed = ?1 AND item_id = ?2",
    )?
    .execute(params![
        feed,
        item_id,
        story_id,
        key.signature.as_ref().map(Signature::to_bytes)
    ])?;
    Ok((story_id, joined))
}

/// The open story with an item closest to `signature`, if any is at least `threshold` close.
fn closest_story(
    tx: &rusqlite::Connection,
    signature: &Signature,
    band_keys: &[i64],
    open_since: i64,
    threshold: f64,
) -> Result<Option<i64>> {
    // Each key gives its most recent stories only, so a key common to thousands of stories
    // (frequent words) costs as much as a rare one; candidates are then ranked by how many
    // keys they share (a proxy for similarity), and only the best are verified.
    let mut recent = tx.prepare_cached(
        "SELECT story_id FROM story_keys WHERE key = ?1 ORDER BY story_id DESC LIMIT ?2",
    )?;
    let mut shared: std::collections::HashMap<i64, u32> = std::collections::HashMap::new();
    for &key in band_keys {
        let stories = recent.query_map(params![key, MAX_STORIES_PER_KEY], |row| {
            row.get::<_, i64>(0)
        })?;
        for story in stories {
            *shared.entry(story?).or_default() += 1;
        }
    }
    let mut ranked: Vec<(u32, i64)> = shared.into_iter().map(|(story, n)| (n, story)).collect();
    ranked.sort_unstable_by(|a, b| b.cmp(a));
    let mut open =
        tx.prepare_cached("SELECT 1 FROM stories WHERE id = ?1 AND last_seen_at >= ?2")?;
    let mut candidates = Vec::with_capacity(MAX_CANDIDATES);
    for (_, story) in ranked {
        if candidates.len() == MAX_CANDIDATES {
            break;
        }
        if open.exists(params![story, open_since])? {
            candidates.push(story);
        }
    }
    let mut members = tx.prepare_cached(
        "SELECT signature FROM items WHERE story_id = ?1 AND signature IS NOT NULL
         ORDER BY first_seen_at LIMIT ?2",
    )?;
    let mut best: Option<(f64, i64)> = None;
    for story in candidates {
        let blobs =
            members.query_map(params![story, MAX_COMPARED], |row| row.get::<_, Vec<u8>>(0))?;
        for blob in blobs {
            let Some(other) = Signature::from_bytes(&blob?) else {
                continue;
            };
            let similarity = signature.similarity(&other);
            if similarity >= threshold && best.is_none_or(|(b, _)| similarity > b) {
                best = Some((similarity, story));
            }
        }
    }
    Ok(best.map(|(_, story)| story))
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

/// Whether `rule` has already alerted on `story` (in this transaction or before).
pub(super) fn rule_alerted(tx: &rusqlite::Connection, rule: &str, story: i64) -> Result<bool> {
    Ok(tx
        .prepare_cached(RULE_ALERTED)?
        .exists(params![rule, story])?)
}

/// How many distinct feeds have reported `story`.
pub(super) fn outlet_count(tx: &rusqlite::Connection, story: i64) -> Result<u64> {
    Ok(tx
        .prepare_cached("SELECT COUNT(DISTINCT feed) FROM items WHERE story_id = ?1")?
        .query_row(params![story], |row| row.get::<_, i64>(0))?
        .max(0) as u64)
}

/// Reports of `story`, first first (one per feed: its earliest).
pub(super) fn sources_in(conn: &rusqlite::Connection, story: i64) -> Result<Vec<StorySource>> {
    let mut stmt = conn.prepare_cached(
        "SELECT feed, title, link, MIN(first_seen_at) FROM items WHERE story_id = ?1
         GROUP BY feed ORDER BY MIN(first_seen_at), feed",
    )?;
    let rows = stmt.query_map(params![story], |row| {
        Ok(StorySource {
            feed: row.get(0)?,
            title: row.get(1)?,
            link: row.get(2)?,
            seen_at: row.get(3)?,
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

impl Store {
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
        // Keys and signatures only serve joining; a closed story needs neither.
        report.story_keys = tx.execute(
            "DELETE FROM story_keys WHERE story_id IN (SELECT id FROM stories WHERE last_seen_at < ?1)",
            params![closed_before],
        )?;
        tx.execute(
            "UPDATE items SET signature = NULL WHERE signature IS NOT NULL AND story_id IN
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
        tx.commit()?;
        Ok(report)
    }
}
