//! What an alert is before it is stored: its id, and the row the recording step writes.

use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

/// An alert's stable id: the `webhook-id` receivers deduplicate on, the Matrix txnId, the
/// outbox's primary key.
///
/// Ids are derived, never random, so that a retry, a second pass racing the first or a
/// database rebuilt from scratch gives a receiver the same id for the same alert. Every id is
/// minted here, by one of the constructors below, so two kinds of alert can never collide.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AlertId(String);

impl AlertId {
    /// The alert `rule` raised for an item of `feed` the first time it matched.
    pub fn for_item(rule: &str, feed: &str, item_id: &str) -> AlertId {
        AlertId(format!("ww_{}", hash_hex(&[rule, feed, item_id])))
    }

    /// The alert `rule` raises for one edit of an item (`realert_on_update`): one per version
    /// of the text, told apart by its hash.
    pub fn for_edit(rule: &str, feed: &str, item_id: &str, text_hash: i64) -> AlertId {
        AlertId::for_item(
            rule,
            feed,
            &format!("{item_id}\u{0}edit\u{0}{text_hash:016x}"),
        )
    }

    /// The one follow-up (`story_updates`) of the story first alerted as `first`.
    pub fn story_update(first: &AlertId) -> AlertId {
        AlertId(format!("{}_update", first.0))
    }

    /// A feed health event (`broken`, `stale`, `gone`, `recovered`) of one incident.
    pub fn feed_event(kind: &str, feed: &str, incident: &str) -> AlertId {
        AlertId::for_item(&format!("@feed.{kind}"), feed, incident)
    }

    /// The sample alert `watchword notify-test` sends to `sink`; `nonce` (the time of the test)
    /// makes each test a new alert, so that a receiver that drops duplicates still shows it.
    pub fn notify_test(sink: &str, nonce: &str) -> AlertId {
        AlertId::for_item("@notify-test", sink, nonce)
    }

    /// A digest of several alerts: derived from its alerts, so a retry of the same digest
    /// carries the same id.
    pub fn digest<S: AsRef<str>>(alert_ids: &[S]) -> AlertId {
        let parts: Vec<&str> = alert_ids.iter().map(AsRef::as_ref).collect();
        AlertId(format!("ww_digest_{}", hash_hex(&parts)))
    }

    /// An id read back from the outbox (or typed by a user to `redeliver`): it was minted by
    /// one of the constructors above when the alert was raised.
    pub fn stored(id: String) -> AlertId {
        AlertId(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for AlertId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for AlertId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl rusqlite::ToSql for AlertId {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        self.0.to_sql()
    }
}

/// The first 128 bits of SHA-256 over the parts, each ended by a NUL (so `("ab", "c")` and
/// `("a", "bc")` differ), in hex.
fn hash_hex(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let digest = hasher.finalize();
    let mut hex = String::with_capacity(32);
    for byte in &digest[..16] {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}

/// An alert a rule raised, with its rendered payload, on its way to the outbox.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub id: AlertId,
    pub rule: String,
    pub payload: String,
    pub sinks: Vec<String>,
    /// `story_updates`: one follow-up alert once this many more outlets report the story.
    pub story_update_after: Option<u32>,
}

/// A feed health event, delivered through the outbox like an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEvent {
    /// Stable id, as for alerts: a retry or a second pass does not raise it twice.
    pub id: AlertId,
    /// `broken`, `stale`, `gone` or `recovered`.
    pub kind: String,
    /// Identifies the incident within the feed (kept in the `item_id` column).
    pub incident: String,
    /// One line for people, kept in the `title` column.
    pub title: String,
    pub payload: String,
    pub sinks: Vec<String>,
}

/// How one delivery attempt ended, as the outbox records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    Delivered {
        status: Option<u16>,
    },
    /// Try again at `next_attempt_at` (unix seconds).
    Retry {
        status: Option<u16>,
        error: String,
        next_attempt_at: i64,
    },
    /// Give up: the alert stays in the database as a dead letter.
    Dead {
        status: Option<u16>,
        error: String,
    },
}

/// One outlet's report of a story.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StorySource {
    pub feed: String,
    pub title: String,
    pub link: Option<String>,
    /// Unix seconds; RFC 3339 UTC in payloads and `--json`.
    #[serde(serialize_with = "super::time::serialize")]
    pub seen_at: i64,
    /// The report's language (ISO 639-1), when it could be told.
    pub lang: Option<String>,
    /// Why the report joined the story; `None` for the report that opened it.
    pub joined_by: Option<JoinedBy>,
}

/// Why a report joined a story: kept with the report so that a wrong merge can be seen for
/// what it is (`watchword alerts`, the payload's `story.sources`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "by", rename_all = "lowercase")]
pub enum JoinedBy {
    /// The same canonical link as an earlier report.
    Link,
    /// Close wording: the estimated Jaccard similarity of content words.
    Text { similarity: f64 },
    /// The same names (people, organisations, places, kind of event, numbers), in any
    /// language: their weighted overlap and the ids of the names shared
    /// (`person:tokayev`, `country:KZ`, `event:join`, `number:6`).
    Entities {
        similarity: f64,
        shared: Vec<String>,
    },
}

#[cfg(test)]
mod tests {
    use super::AlertId;

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = AlertId::for_item("rule", "wire", "guid-1");
        assert_eq!(a, AlertId::for_item("rule", "wire", "guid-1"));
        assert_ne!(a, AlertId::for_item("rule", "wire", "guid-2"));
        // The separator keeps ("ab","c") and ("a","bc") apart.
        assert_ne!(
            AlertId::for_item("ab", "c", "x"),
            AlertId::for_item("a", "bc", "x")
        );
        let a = a.as_str();
        assert!(a.starts_with("ww_") && a.len() == 35 && !a.contains('.'));
    }

    #[test]
    fn every_kind_of_id_is_distinct() {
        let a = AlertId::for_item("r", "f", "i");
        assert_eq!(a, AlertId::for_item("r", "f", "i"));
        assert_eq!(a.as_str().len(), 3 + 32);
        assert!(a.as_str().starts_with("ww_"));
        // The separator keeps shifted boundaries apart.
        assert_ne!(
            AlertId::for_item("ab", "c", "i"),
            AlertId::for_item("a", "bc", "i")
        );
        assert_ne!(a, AlertId::for_edit("r", "f", "i", 7));
        assert_ne!(
            AlertId::for_edit("r", "f", "i", 7),
            AlertId::for_edit("r", "f", "i", 8)
        );
        assert_eq!(AlertId::story_update(&a).as_str(), format!("{a}_update"));
        assert_eq!(
            AlertId::feed_event("broken", "f", "x"),
            AlertId::for_item("@feed.broken", "f", "x")
        );
        let digest = AlertId::digest(&["ww_a", "ww_b"]);
        assert!(digest.as_str().starts_with("ww_digest_"));
        assert_ne!(digest, AlertId::digest(&["ww_b", "ww_a"]));
    }
}
