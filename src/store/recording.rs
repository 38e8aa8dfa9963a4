//! Recording a fetch, once for both backends: which new items are recorded, which story each
//! alerting item joins, which alerts are raised and for which sinks, which edits alert again.
//! The decisions are `story::decide`'s; this is the order of writes around them. Each backend
//! says how to write one row ([`RecordingTx`]), inside the transaction it opened.

use std::collections::HashSet;

use super::{EditedItem, FetchRecord, NewItem, RecordSummary, Result, StoreError};
use crate::story::StoryPolicy;
use crate::story::decide::{self, Decision, StoryLedger};

/// One alert row.
pub(super) struct AlertRow<'a> {
    pub id: &'a str,
    pub rule: &'a str,
    pub feed: &'a str,
    /// The item's id; an edit's alert uses `item#alert` (the item's first alert holds the
    /// (rule, feed, item) key).
    pub item_id: &'a str,
    pub title: &'a str,
    pub link: Option<&'a str>,
    pub payload: &'a str,
    pub created_at: i64,
    pub story: i64,
    /// `first`, `update` or `edit`.
    pub kind: &'a str,
}

/// What recording writes, one statement each, inside the backend's open transaction; with
/// the story ledger of the same transaction.
pub(super) trait RecordingTx: StoryLedger<Error = StoreError> {
    /// Inserts the items the feed has not recorded before; returns the ids it inserted.
    fn insert_items(&mut self, feed: &str, items: &[NewItem], at: i64) -> Result<HashSet<String>>;
    /// False if an alert with this id, or this rule's alert for the story, exists.
    fn insert_alert(&mut self, alert: &AlertRow<'_>) -> Result<bool>;
    fn insert_delivery(&mut self, alert: &str, sink: &str, at: i64) -> Result<()>;
    /// Writes an edit's new text; false unless the stored text was still `edit.old_hash`
    /// (another pass recorded it already, or nothing changed).
    fn record_edit(&mut self, feed: &str, edit: &EditedItem) -> Result<bool>;
    fn story_of(&mut self, feed: &str, item_id: &str) -> Result<Option<i64>>;
    /// Marks items the feed still lists (refreshed at most daily: retention needs no more).
    fn touch_listed(&mut self, feed: &str, ids: &[String], at: i64) -> Result<()>;
}

/// Inserts the new items of `record` with their story membership, and the alerts (with their
/// deliveries) they raised: one per rule and story. Items already recorded are skipped
/// together with their alerts, so recording the same fetch twice raises nothing twice.
pub(super) fn insert_items<T: RecordingTx>(
    tx: &mut T,
    record: &FetchRecord,
    policy: StoryPolicy,
) -> Result<RecordSummary> {
    let mut summary = RecordSummary::default();
    let inserted = if record.items.is_empty() {
        HashSet::new()
    } else {
        tx.insert_items(&record.feed, &record.items, record.at)?
    };
    for item in &record.items {
        if !inserted.contains(&item.id) {
            continue;
        }
        summary.new_items += 1;
        // Stories exist to alert once per story, so only items that raise alerts take part:
        // their cost follows the matches, not the feeds' volume (most items match nothing).
        if item.too_old || item.alerts.is_empty() {
            continue;
        }
        let (story, _joined_by) = decide::assign(
            tx,
            &record.feed,
            &item.id,
            &item.title,
            &item.story,
            record.at,
            policy,
        )?;
        for alert in &item.alerts {
            let decision = decide::decide(tx, alert, story)?;
            let (id, payload, kind) = match &decision {
                Decision::Alert => (alert.id.as_str(), alert.payload.as_str(), "first"),
                // Another outlet's report of a story this rule already alerted on: the item
                // is now one of the story's sources, and maybe brings the follow-up.
                Decision::FollowUp { id, payload } => {
                    summary.merged += 1;
                    (id.as_str(), payload.as_str(), "update")
                }
                Decision::Source => {
                    summary.merged += 1;
                    continue;
                }
            };
            let row = AlertRow {
                id,
                rule: &alert.rule,
                feed: &record.feed,
                item_id: &item.id,
                title: &item.title,
                link: item.link.as_deref(),
                payload,
                created_at: record.at,
                story,
                kind,
            };
            if !tx.insert_alert(&row)? {
                continue;
            }
            summary.new_alerts += 1;
            for sink in &alert.sinks {
                tx.insert_delivery(id, sink, record.at)?;
            }
        }
    }
    for edit in &record.edits {
        // Only the pass that records the new text acts on it: a second pass racing with this
        // one, or a later re-listing of the same text, changes nothing and alerts no more.
        if !tx.record_edit(&record.feed, edit)? {
            continue;
        }
        summary.edited += 1;
        // An item recorded before text hashes has no earlier text to compare with.
        if edit.old_hash.is_none() || edit.alerts.is_empty() {
            continue;
        }
        let story = match tx.story_of(&record.feed, &edit.id)? {
            Some(story) => story,
            None => {
                decide::assign(
                    tx,
                    &record.feed,
                    &edit.id,
                    &edit.title,
                    &edit.story,
                    record.at,
                    policy,
                )?
                .0
            }
        };
        for alert in &edit.alerts {
            let Some(kind) = decide::decide_edit(tx, alert, story, edit.title_changed)? else {
                continue;
            };
            let edit_item = format!("{}#{}", edit.id, alert.id.as_str());
            let row = AlertRow {
                id: alert.id.as_str(),
                rule: &alert.rule,
                feed: &record.feed,
                item_id: &edit_item,
                title: &edit.title,
                link: edit.link.as_deref(),
                payload: &alert.payload,
                created_at: record.at,
                story,
                kind,
            };
            if tx.insert_alert(&row)? {
                summary.new_alerts += 1;
                for sink in &alert.sinks {
                    tx.insert_delivery(alert.id.as_str(), sink, record.at)?;
                }
            }
        }
    }
    if !record.listed.is_empty() {
        tx.touch_listed(&record.feed, &record.listed, record.at)?;
    }
    Ok(summary)
}
