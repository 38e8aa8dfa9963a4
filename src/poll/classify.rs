//! The classify stage: which items of a fetch are new, which are old news (back catalogue),
//! which were seen before and have been edited, and which are merely listed again.
//!
//! Pure: what the database knows of the feed comes in as plain values, so every rule here is
//! unit-tested without a database.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use crate::model::Item;
use crate::store::SeenItem;

/// The items of one fetch, sorted.
#[derive(Debug, Default)]
pub struct Classified<'a> {
    /// Seen for the first time, each with whether it is back catalogue (recorded, never
    /// alerted on). A feed listing one id twice yields it once.
    pub new: Vec<NewInFeed<'a>>,
    /// Seen before with another text.
    pub edited: Vec<Edited<'a>>,
    /// Ids seen before (edited or not) that the feed still lists: kept from retention.
    pub listed: Vec<String>,
}

#[derive(Debug)]
pub struct NewInFeed<'a> {
    pub item: &'a Item,
    pub too_old: bool,
    pub text_hash: i64,
}

#[derive(Debug)]
pub struct Edited<'a> {
    pub item: &'a Item,
    pub before: &'a SeenItem,
    pub text_hash: i64,
    /// The headline changed materially (not just case or spacing).
    pub title_changed: bool,
    /// The edit may raise alerts: the item was alertable when first seen and was recorded
    /// with a text hash (an item recorded before hashes has no earlier text to compare).
    pub may_alert: bool,
}

/// What the database knows of the feed, for [`classify`].
#[derive(Debug, Clone, Copy)]
pub struct FeedHistory {
    /// The previous successful fetch (unix seconds); `None` on the feed's first sight.
    pub last_success: Option<i64>,
    /// Items published before this (unix seconds) are older than `max_age`.
    pub age_cutoff: Option<i64>,
}

/// Sorts `items` against `seen` (what the store has recorded of their ids).
pub fn classify<'a>(
    items: &'a [Item],
    seen: &'a HashMap<String, SeenItem>,
    history: FeedHistory,
) -> Classified<'a> {
    let mut out = Classified::default();
    let mut edited = HashSet::new();
    let mut taken = HashSet::new();
    for item in items {
        match seen.get(&item.id) {
            Some(before) => {
                out.listed.push(item.id.clone());
                let hash = text_hash(item);
                if before.text_hash == Some(hash) || !edited.insert(item.id.as_str()) {
                    continue;
                }
                out.edited.push(Edited {
                    item,
                    before,
                    text_hash: hash,
                    title_changed: headline(&before.title) != headline(&item.title),
                    // Back catalogue never alerts.
                    may_alert: !before.too_old && before.text_hash.is_some(),
                });
            }
            None if taken.insert(item.id.as_str()) => out.new.push(NewInFeed {
                item,
                too_old: is_back_catalogue(
                    item.published.map(|p| p.timestamp()),
                    history.age_cutoff,
                    history.last_success,
                ),
                text_hash: text_hash(item),
            }),
            None => {}
        }
    }
    out
}

/// The publication time before which an item is older than `max_age` (unix seconds), as the
/// poll computes [`FeedHistory::age_cutoff`]; `None` if `max_age` is too large to subtract.
pub fn age_cutoff(max_age: std::time::Duration, now: DateTime<Utc>) -> Option<i64> {
    chrono::Duration::from_std(max_age)
        .ok()
        .and_then(|age| now.checked_sub_signed(age))
        .map(|t| t.timestamp())
}

/// Why the daemon would record a matching item without alerting on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoAlert {
    /// Published longer than `max_age` ago: back catalogue whenever the feed is polled (unless
    /// the previous successful poll was before its publication, i.e. the daemon was down).
    Old { age_secs: i64 },
    /// Undated: back catalogue on the feed's first successful poll.
    UndatedOnFirstPoll,
}

/// What the daemon would decide for a new item published at `published`, by the same rule as
/// [`classify`] ([`is_back_catalogue`]), for `watchword test`, which knows no poll history:
/// an old item is judged as on any later poll (the previous one an instant ago), an undated
/// one as on the feed's first poll, the only time it is skipped.
pub fn would_not_alert(
    published: Option<DateTime<Utc>>,
    max_age: std::time::Duration,
    now: DateTime<Utc>,
) -> Option<NoAlert> {
    let cutoff = age_cutoff(max_age, now);
    let published_at = published.map(|p| p.timestamp());
    if is_back_catalogue(published_at, cutoff, Some(now.timestamp())) {
        let age_secs = published_at.map_or(0, |p| now.timestamp() - p);
        return Some(NoAlert::Old { age_secs });
    }
    is_back_catalogue(published_at, cutoff, None).then_some(NoAlert::UndatedOnFirstPoll)
}

/// Whether a newly seen item is back catalogue, to be recorded without alerting.
///
/// On a feed's first successful fetch (`last_success` is `None`) everything older than
/// `max_age` is, and so is everything undated: the point is not to flood the sinks with a new
/// feed's archive. After that, an item is back catalogue only if it is older than `max_age`
/// *and* older than the previous successful fetch: an old item that only now appears (a
/// re-shuffled archive). A new item dated 60 hours ago after a 3-day outage still alerts.
pub fn is_back_catalogue(
    published: Option<i64>,
    age_cutoff: Option<i64>,
    last_success: Option<i64>,
) -> bool {
    /// Publishers' clocks and time zones are sloppy; don't call an item old by a hair.
    const CLOCK_SLACK_SECS: i64 = 3600;
    match (last_success, published) {
        (None, None) => true,
        (None, Some(published)) => age_cutoff.is_some_and(|cutoff| published < cutoff),
        (Some(_), None) => false,
        (Some(last), Some(published)) => {
            age_cutoff.is_some_and(|cutoff| published < cutoff)
                && published < last - CLOCK_SLACK_SECS
        }
    }
}

/// A stable hash of what rules match on (title, summary, content; whitespace folded), so an
/// edit can be told from the same text listed again.
pub fn text_hash(item: &Item) -> i64 {
    let mut text = String::new();
    for part in [&item.title, &item.summary, &item.content] {
        text.push_str(&part.split_whitespace().collect::<Vec<_>>().join(" "));
        text.push('\n');
    }
    // Stored as SQLite's signed integer; the bits are what matter.
    crate::story::fingerprint::stable_hash(text.as_bytes()) as i64
}

/// A headline compared for `realert_on_update`: case and spacing do not make an edit.
fn headline(title: &str) -> String {
    title
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3600;

    #[test]
    fn would_not_alert_follows_is_back_catalogue() {
        let now = DateTime::from_timestamp(1000 * HOUR, 0).unwrap_or_default();
        let max_age = std::time::Duration::from_secs(48 * HOUR as u64);
        let at = |hours_ago: i64| DateTime::from_timestamp((1000 - hours_ago) * HOUR, 0);
        assert_eq!(
            would_not_alert(at(49), max_age, now),
            Some(NoAlert::Old {
                age_secs: 49 * HOUR
            })
        );
        assert_eq!(would_not_alert(at(47), max_age, now), None);
        assert_eq!(
            would_not_alert(None, max_age, now),
            Some(NoAlert::UndatedOnFirstPoll)
        );
    }

    #[test]
    fn first_sight_skips_old_and_undated_items() {
        let now = 1000 * HOUR;
        let cutoff = Some(now - 48 * HOUR);
        assert!(is_back_catalogue(Some(now - 49 * HOUR), cutoff, None));
        assert!(!is_back_catalogue(Some(now - 47 * HOUR), cutoff, None));
        assert!(is_back_catalogue(None, cutoff, None));
    }

    #[test]
    fn after_first_sight_only_old_news_that_predates_the_last_fetch_is_skipped() {
        let now = 1000 * HOUR;
        let cutoff = Some(now - 48 * HOUR);
        // Back from a three-day outage: a 60-hour-old item is still news to the user.
        let last = Some(now - 72 * HOUR);
        assert!(!is_back_catalogue(Some(now - 60 * HOUR), cutoff, last));
        // An archive item from last month surfacing now is not.
        assert!(is_back_catalogue(Some(now - 30 * 24 * HOUR), cutoff, last));
        // Undated items after first sight alert.
        assert!(!is_back_catalogue(None, cutoff, last));
        // Recent items always alert.
        assert!(!is_back_catalogue(
            Some(now - HOUR),
            cutoff,
            Some(now - 5 * 60)
        ));
    }

    fn item(id: &str, title: &str) -> Item {
        Item {
            feed: "wire".into(),
            id: id.into(),
            link: None,
            title: title.into(),
            summary: String::new(),
            content: String::new(),
            published: None,
            authors: Vec::new(),
            categories: Vec::new(),
        }
    }

    #[test]
    fn a_fetch_sorts_into_new_edited_and_listed() {
        let items = vec![
            item("a", "Fresh"),
            item("a", "Fresh again, same id"),
            item("b", "Unchanged"),
            item("c", "Astana  SIGNS"),
            item("d", "Rewritten headline"),
        ];
        let seen: HashMap<String, SeenItem> = [
            (
                "b",
                "Unchanged",
                Some(text_hash(&item("b", "Unchanged"))),
                false,
            ),
            ("c", "astana signs", Some(1), false),
            ("d", "Old headline", None, false),
        ]
        .into_iter()
        .map(|(id, title, text_hash, too_old)| {
            let seen = SeenItem {
                title: title.into(),
                text_hash,
                too_old,
            };
            (id.to_string(), seen)
        })
        .collect();
        let history = FeedHistory {
            last_success: Some(100),
            age_cutoff: Some(0),
        };
        let sorted = classify(&items, &seen, history);
        assert_eq!(sorted.new.len(), 1, "a listed twice is new once");
        assert_eq!(sorted.new[0].item.title, "Fresh");
        assert!(!sorted.new[0].too_old, "undated after first sight alerts");
        assert_eq!(sorted.listed, ["b", "c", "d"]);
        let edited: Vec<(&str, bool, bool)> = sorted
            .edited
            .iter()
            .map(|e| (e.item.id.as_str(), e.title_changed, e.may_alert))
            .collect();
        // c: only case and spacing differ; d: recorded before text hashes, so no alert.
        assert_eq!(edited, [("c", false, true), ("d", true, false)]);
    }
}
