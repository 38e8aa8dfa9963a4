//! The `json` payload, written here and nowhere else: versioned, documented in
//! docs/payload.md. An alert's payload is rendered once when the alert is raised and stored; at
//! each attempt only the story's current sources are added ([`with_story_sources`]), so every
//! retry sends the same alert. Feed events and story follow-ups are written here too.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

use super::{AlertId, Item, MatchedTerm, StorySource};
use crate::text::truncate_chars;

/// Bump when a field changes meaning or disappears; adding a field does not bump it.
/// 2: `matched_terms` holds `{term, found}` objects (the rule's term, group or place reference
/// and the item's words), no longer the strings of every spelling variant that matched.
pub const PAYLOAD_VERSION: u32 = 2;

/// The digest envelope's own version: its fields have not changed; each alert in it carries
/// its own `version`.
const DIGEST_VERSION: u32 = 1;

/// Feed text beyond this many characters is cut: receivers (and chat services) choke on huge
/// bodies, and the link is there for the full story.
const MAX_SUMMARY_CHARS: usize = 2000;
/// Titles too: a 10 KB "title" is a broken or hostile feed, not a headline.
const MAX_TITLE_CHARS: usize = 1000;

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
    matched_terms: &'a [MatchedTerm],
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
    alert_id: &AlertId,
    rule: &str,
    matched_terms: &[MatchedTerm],
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
        id: alert_id.as_str(),
        created_at: created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        rule,
        priority,
        matched_terms,
        feed: FeedRef { name: &item.feed },
        item: ItemRef {
            id: &item.id,
            title: truncate_chars(&item.title, MAX_TITLE_CHARS),
            link: item.link.as_deref().filter(|link| is_web_link(link)),
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

/// Only http(s) links reach receivers: a `javascript:` or `data:` link from a hostile feed
/// would become a clickable script in whatever page or app shows the payload.
fn is_web_link(link: &str) -> bool {
    url::Url::parse(link).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
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

/// Marks an alert payload as raised only once the item's linked article was read
/// (`read_articles`): `"matched_after_reading_article": true`. A payload that is not a JSON
/// object is passed on unchanged.
pub fn mark_article(payload: &str) -> String {
    let Ok(serde_json::Value::Object(mut object)) = serde_json::from_str(payload) else {
        return payload.to_string();
    };
    object.insert(
        "matched_after_reading_article".into(),
        serde_json::Value::Bool(true),
    );
    serde_json::Value::Object(object).to_string()
}

/// The payload of a story's follow-up alert (`story_updates`): the first report's payload
/// with the follow-up's id and the story's sources so far. A payload that is not a JSON object
/// is passed on unchanged.
pub fn story_update(first_payload: &str, id: &AlertId, sources: &[StorySource]) -> String {
    let Ok(serde_json::Value::Object(mut object)) = serde_json::from_str(first_payload) else {
        return first_payload.to_string();
    };
    object.insert("id".into(), serde_json::Value::from(id.as_str()));
    object.insert(
        "story".into(),
        serde_json::json!({ "update": true, "outlets": sources.len(), "sources": sources }),
    );
    serde_json::Value::Object(object).to_string()
}

/// A stored payload as it is sent now: with `story` listing the story's current sources once
/// more than one outlet has reported it (a follow-up always keeps its `story`, refreshed).
/// A payload that is not a JSON object, or has nothing to add, is passed on unchanged.
pub fn with_story_sources(payload: &str, sources: &[StorySource]) -> String {
    let Ok(serde_json::Value::Object(mut object)) = serde_json::from_str(payload) else {
        return payload.to_string();
    };
    let update = object
        .get("story")
        .and_then(|s| s.get("update"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    if sources.len() < 2 && !update {
        return payload.to_string();
    }
    // A version 1 payload (raised before an upgrade) keeps version 1's unix seconds.
    let sources = if object.get("version").and_then(serde_json::Value::as_u64) == Some(1) {
        sources
            .iter()
            .map(|s| {
                serde_json::json!({
                    "feed": s.feed, "title": s.title, "link": s.link, "seen_at": s.seen_at
                })
            })
            .collect()
    } else {
        serde_json::to_value(sources).unwrap_or_default()
    };
    object.insert(
        "story".into(),
        serde_json::json!({ "update": update, "outlets": sources.as_array().map_or(0, Vec::len), "sources": sources }),
    );
    serde_json::Value::Object(object).to_string()
}

/// The `json` body of a digest: a `watchword.digest` envelope with the id the digest is sent
/// under and each alert's payload unchanged (one that is not JSON becomes `null`).
pub fn digest(id: &str, payloads: &[&str]) -> String {
    let alerts: Vec<serde_json::Value> = payloads
        .iter()
        .map(|p| serde_json::from_str(p).unwrap_or(serde_json::Value::Null))
        .collect();
    let body = serde_json::json!({
        "type": "watchword.digest",
        "version": DIGEST_VERSION,
        "id": id,
        "count": alerts.len(),
        "alerts": alerts,
    });
    serde_json::to_string(&body).unwrap_or_else(|_| "{}".into())
}

/// The `type` of feed event payloads (docs/payload.md).
pub const FEED_EVENT_TYPE: &str = "watchword.feed_event";

/// The payload of a feed health event: `event` is its kind, `feed_url` already redacted,
/// `details` the kind's own fields (merged in at the top level), `created_at` unix seconds.
pub fn feed_event(
    id: &AlertId,
    kind: &str,
    feed: &str,
    feed_url: &str,
    message: &str,
    details: serde_json::Value,
    created_at: i64,
) -> String {
    let created_at = DateTime::<Utc>::from_timestamp(created_at, 0).unwrap_or_default();
    let mut payload = serde_json::json!({
        "type": FEED_EVENT_TYPE,
        "version": 1,
        "id": id.as_str(),
        "created_at": created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        "event": kind,
        "feed": { "name": feed, "url": feed_url },
        "message": message,
    });
    if let (Some(object), serde_json::Value::Object(details)) = (payload.as_object_mut(), details) {
        object.extend(details);
    }
    payload.to_string()
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
    fn payload_has_the_documented_fields() {
        let created = DateTime::from_timestamp(1_800_000_100, 0).unwrap_or_default();
        let body = render(
            &AlertId::stored("ww_x".into()),
            "ca-aa",
            &[
                MatchedTerm {
                    term: "@central_asia".into(),
                    found: vec!["Kazakhstan".into()],
                },
                MatchedTerm {
                    term: "Abraham Accords".into(),
                    found: vec!["Abraham Accords".into()],
                },
            ],
            &item(),
            created,
            "high",
        );
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(v["type"], "watchword.alert");
        assert_eq!(v["version"], 2);
        assert_eq!(v["id"], "ww_x");
        assert_eq!(v["rule"], "ca-aa");
        assert_eq!(v["priority"], "high");
        assert_eq!(
            v["matched_terms"],
            serde_json::json!([
                {"term": "@central_asia", "found": ["Kazakhstan"]},
                {"term": "Abraham Accords", "found": ["Abraham Accords"]},
            ])
        );
        assert_eq!(v["feed"]["name"], "wire");
        assert_eq!(v["item"]["link"], "https://news.example.org/a");
        assert_eq!(v["item"]["published"], "2027-01-15T08:00:00Z");
        assert_eq!(v["created_at"], "2027-01-15T08:01:40Z");
    }

    #[test]
    fn story_sources_are_rfc3339_except_in_a_version_1_payload() {
        let sources = [
            StorySource {
                feed: "a".into(),
                title: "t".into(),
                link: None,
                seen_at: 1_800_000_000,
                lang: Some("en".into()),
                joined_by: None,
            },
            StorySource {
                feed: "b".into(),
                title: "t".into(),
                link: None,
                seen_at: 1_800_000_060,
                lang: Some("ru".into()),
                joined_by: Some(crate::model::JoinedBy::Entities {
                    similarity: 0.75,
                    shared: vec!["person:tokayev".into()],
                }),
            },
        ];
        let v2: serde_json::Value = serde_json::from_str(&with_story_sources(
            r#"{"type":"watchword.alert","version":2}"#,
            &sources,
        ))
        .expect("json");
        assert_eq!(v2["story"]["sources"][1]["seen_at"], "2027-01-15T08:01:00Z");
        assert_eq!(v2["story"]["outlets"], 2);
        assert_eq!(v2["story"]["sources"][1]["lang"], "ru");
        assert_eq!(v2["story"]["sources"][1]["joined_by"]["by"], "entities");
        assert_eq!(
            v2["story"]["sources"][1]["joined_by"]["shared"][0],
            "person:tokayev"
        );
        assert_eq!(
            v2["story"]["sources"][0]["joined_by"],
            serde_json::Value::Null
        );
        let v1: serde_json::Value = serde_json::from_str(&with_story_sources(
            r#"{"type":"watchword.alert","version":1}"#,
            &sources,
        ))
        .expect("json");
        assert_eq!(v1["story"]["sources"][1]["seen_at"], 1_800_000_060);
    }
}
