//! The `json` payload: versioned, documented in docs/payload.md. Rendered once when the alert
//! is created and stored; at each attempt the store adds only the story's current sources
//! (`story`, see `Store::due_deliveries`), so every retry sends the same alert.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::model::Item;

/// Bump when a field changes meaning or disappears; adding a field does not bump it.
pub const PAYLOAD_VERSION: u32 = 1;

/// Feed text beyond this many characters is cut: receivers (and chat services) choke on huge
/// bodies, and the link is there for the full story.
const MAX_SUMMARY_CHARS: usize = 2000;
/// Titles too: a 10 KB "title" is a broken or hostile feed, not a headline.
const MAX_TITLE_CHARS: usize = 1000;

/// A stable id for the alert that `rule` raised for an item. Derived, not random, so that even
/// a database rebuilt from scratch gives a receiver the same `webhook-id` to deduplicate on.
pub fn alert_id(rule: &str, feed: &str, item_id: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [rule, feed, item_id] {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    let digest = hasher.finalize();
    let mut id = String::with_capacity(3 + 32);
    id.push_str("ww_");
    for byte in &digest[..16] {
        id.push_str(&format!("{byte:02x}"));
    }
    id
}

#[derive(Serialize)]
struct Payload<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    version: u32,
    id: &'a str,
    created_at: String,
    rule: &'a str,
    /// The rule's `priority` (low, normal, high, urgent), for sinks to map as they can.
    priority: &'a str,
    matched_terms: &'a [String],
    feed: FeedRef<'a>,
    item: ItemRef<'a>,
}

#[derive(Serialize)]
struct FeedRef<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct ItemRef<'a> {
    id: &'a str,
    title: String,
    link: Option<&'a str>,
    summary: String,
    published: Option<String>,
    authors: &'a [String],
    categories: &'a [String],
}

/// Renders the alert as the `json` payload.
pub fn render(
    alert_id: &str,
    rule: &str,
    matched_terms: &[String],
    item: &Item,
    created_at: DateTime<Utc>,
    priority: &str,
) -> String {
    let summary_source = if item.summary.is_empty() {
        &item.content
    } else {
        &item.summary
    };
    let payload = Payload {
        kind: "watchword.alert",
        version: PAYLOAD_VERSION,
        id: alert_id,
        created_at: created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        rule,
        priority,
        matched_terms,
        feed: FeedRef { name: &item.feed },
        item: ItemRef {
            id: &item.id,
            title: truncate_chars(&item.title, MAX_TITLE_CHARS),
            link: item.link.as_deref(),
            summary: truncate_chars(summary_source, MAX_SUMMARY_CHARS),
            published: item
                .published
                .map(|p| p.to_rfc3339_opts(SecondsFormat::Secs, true)),
            authors: &item.authors,
            categories: &item.categories,
        },
    };
    // Serializing plain strings, vectors and options cannot fail; fall back to an empty object
    // rather than panic should serde_json ever disagree.
    serde_json::to_string(&payload).unwrap_or_else(|_| "{}".to_string())
}

/// Marks an alert payload as raised by an edit of an item already alerted on or seen
/// (`realert_on_update`): `"kind": "edit"` and the headline it had before. A payload that is
/// not a JSON object is passed on unchanged.
pub fn mark_update(payload: &str, previous_title: &str) -> String {
    let Ok(serde_json::Value::Object(mut object)) = serde_json::from_str(payload) else {
        return payload.to_string();
    };
    object.insert("kind".into(), serde_json::Value::from("edit"));
    object.insert(
        "edit".into(),
        serde_json::json!({ "previous_title": truncate_chars(previous_title, MAX_TITLE_CHARS) }),
    );
    serde_json::Value::Object(object).to_string()
}

/// Cuts `text` to at most `max` characters, on a char boundary, marking the cut with `…`.
pub fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((cut, _)) => {
            let mut out = text[..cut].trim_end().to_string();
            out.push('…');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> Item {
        Item {
            feed: "wire".into(),
            id: "guid-1".into(),
            link: Some("https://news.example.org/a".into()),
            title: "Kazakhstan to sign the Abraham Accords".into(),
            summary: "Astana confirmed on Tuesday…".into(),
            content: String::new(),
            published: DateTime::from_timestamp(1_800_000_000, 0),
            authors: vec!["Desk".into()],
            categories: vec!["World".into()],
        }
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = alert_id("rule", "wire", "guid-1");
        assert_eq!(a, alert_id("rule", "wire", "guid-1"));
        assert_ne!(a, alert_id("rule", "wire", "guid-2"));
        // The separator keeps ("ab","c") and ("a","bc") apart.
        assert_ne!(alert_id("ab", "c", "x"), alert_id("a", "bc", "x"));
        assert!(a.starts_with("ww_") && a.len() == 35 && !a.contains('.'));
    }

    #[test]
    fn payload_has_the_documented_fields() {
        let created = DateTime::from_timestamp(1_800_000_100, 0).unwrap_or_default();
        let body = render(
            "ww_x",
            "ca-aa",
            &["Kazakhstan".into(), "Abraham Accords".into()],
            &item(),
            created,
            "high",
        );
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["type"], "watchword.alert");
        assert_eq!(v["version"], 1);
        assert_eq!(v["id"], "ww_x");
        assert_eq!(v["rule"], "ca-aa");
        assert_eq!(v["priority"], "high");
        assert_eq!(v["matched_terms"][1], "Abraham Accords");
        assert_eq!(v["feed"]["name"], "wire");
        assert_eq!(v["item"]["link"], "https://news.example.org/a");
        assert_eq!(v["item"]["published"], "2027-01-15T08:00:00Z");
        assert_eq!(v["created_at"], "2027-01-15T08:01:40Z");
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_chars("Казахстан", 4), "Каза…");
        assert_eq!(truncate_chars("short", 10), "short");
    }
}
