//! What a chat message shows, read back from a stored payload.
//!
//! The outbox stores the `json` payload (rendered once, so every retry of a `json` sink sends
//! the same alert; only its `story` sources may have grown). Chat formats are rendered from
//! it at send time, deterministically, so their retries differ at most in those sources too. Reading is lenient: a payload of another type
//! (say `watchword.feed_event`) or a newer version still gives a title and a text.

use serde_json::Value;

/// Links longer than this are dropped from messages (browsers and chat services cap URLs
/// around 2 KB).
const MAX_LINK_BYTES: usize = 2000;

/// Other outlets named in a message's context line; the rest are counted.
const MAX_OUTLETS_SHOWN: usize = 5;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Message {
    /// The payload's `type`, e.g. `watchword.alert`.
    pub kind: String,
    pub id: String,
    pub rule: Option<String>,
    pub priority: Option<Priority>,
    pub terms: Vec<String>,
    pub feed: Option<String>,
    pub title: String,
    /// Only http(s) links: a `javascript:` link in a feed must not become a button.
    pub link: Option<String>,
    pub text: String,
    pub published: Option<String>,
    /// Other outlets that reported the story (the payload's `story.sources`, without the
    /// alert's own feed), first first, each with its language when known: `rbc (ru)`.
    pub also: Vec<String>,
    /// For an alert raised by an edit (`realert_on_update`): the headline before the edit.
    pub previous_title: Option<String>,
}

/// A rule's priority, as the payload has it: a number (1 lowest … 5 highest, ntfy's scale) or
/// a word (`low`, `high`, `urgent`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Priority {
    pub label: String,
    /// 1–5 when the value maps onto that scale.
    pub level: Option<u8>,
}

impl Priority {
    fn from_value(value: &Value) -> Option<Priority> {
        match value {
            Value::Number(n) => {
                let n = n.as_i64()?;
                Some(Priority {
                    label: n.to_string(),
                    level: u8::try_from(n).ok().filter(|l| (1..=5).contains(l)),
                })
            }
            Value::String(s) if !s.trim().is_empty() => {
                let label = s.trim().to_string();
                let level = match label.to_ascii_lowercase().as_str() {
                    "min" | "lowest" => Some(1),
                    "low" => Some(2),
                    "default" | "normal" | "medium" => Some(3),
                    "high" => Some(4),
                    "max" | "urgent" | "critical" | "highest" => Some(5),
                    other => other.parse::<u8>().ok().filter(|l| (1..=5).contains(l)),
                };
                Some(Priority { label, level })
            }
            _ => None,
        }
    }

    /// High enough to shout about (4 or 5).
    pub fn is_high(&self) -> bool {
        self.level.is_some_and(|l| l >= 4)
    }
}

impl Message {
    pub fn from_payload(payload: &str) -> Message {
        let value: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
        Message::from_value(&value)
    }

    pub fn from_value(v: &Value) -> Message {
        let s = |value: &Value| {
            value
                .as_str()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let item = &v["item"];
        let kind = s(&v["type"]).unwrap_or_else(|| "watchword.message".into());
        let feed = s(&v["feed"]["name"]).or_else(|| s(&v["feed"]));
        let title = s(&item["title"])
            .or_else(|| s(&v["title"]))
            .or_else(|| s(&v["message"]))
            .unwrap_or_else(|| match &feed {
                Some(feed) => format!("{kind} from {feed}"),
                None => kind.clone(),
            });
        let link = s(&item["link"])
            .or_else(|| s(&v["link"]))
            .or_else(|| s(&v["url"]))
            .and_then(|l| web_link(&l));
        let text = s(&item["summary"])
            .or_else(|| s(&v["text"]))
            .or_else(|| s(&v["summary"]))
            .or_else(|| s(&v["error"]))
            .unwrap_or_default();
        let terms = v["matched_terms"]
            .as_array()
            .map(|a| a.iter().filter_map(matched_term).collect())
            .unwrap_or_default();
        let also = v["story"]["sources"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|source| {
                        let outlet = s(&source["feed"])?;
                        Some(match s(&source["lang"]) {
                            Some(lang) => (format!("{outlet} ({lang})"), outlet),
                            None => (outlet.clone(), outlet),
                        })
                    })
                    .filter(|(_, outlet)| Some(outlet) != feed.as_ref())
                    .map(|(shown, _)| shown)
                    .collect()
            })
            .unwrap_or_default();
        Message {
            also,
            previous_title: (v["kind"].as_str() == Some("edit"))
                .then(|| s(&v["edit"]["previous_title"]).unwrap_or_default()),
            id: s(&v["id"]).unwrap_or_default(),
            kind,
            rule: s(&v["rule"]),
            priority: Priority::from_value(&v["priority"]),
            terms,
            feed,
            title,
            link,
            text,
            published: s(&item["published"]),
        }
    }

    pub fn is_alert(&self) -> bool {
        self.kind == "watchword.alert"
    }

    /// A short line of context: `rule · feed · matched: a, b`.
    pub fn context_line(&self) -> String {
        let mut parts = Vec::new();
        if let Some(rule) = &self.rule {
            parts.push(format!("rule {rule}"));
        } else if !self.is_alert() {
            parts.push(self.kind.clone());
        }
        if let Some(feed) = &self.feed {
            parts.push(format!("feed {feed}"));
        }
        match self.previous_title.as_deref() {
            Some("") => parts.push("updated".into()),
            Some(before) => parts.push(format!("updated, was: {}", cut_title(before))),
            None => {}
        }
        if let Some(p) = &self.priority {
            parts.push(format!("priority {}", p.label));
        }
        if !self.terms.is_empty() {
            parts.push(format!("matched: {}", self.terms.join(", ")));
        }
        if !self.also.is_empty() {
            let shown: Vec<&str> = self
                .also
                .iter()
                .take(MAX_OUTLETS_SHOWN)
                .map(String::as_str)
                .collect();
            let more = self.also.len().saturating_sub(MAX_OUTLETS_SHOWN);
            let more = if more > 0 {
                format!(" (+{more} more)")
            } else {
                String::new()
            };
            parts.push(format!("also reported by: {}{more}", shown.join(", ")));
        }
        parts.join(" · ")
    }
}

/// One `matched_terms` entry for people: `Kazakhstan` when the item says what the rule says,
/// `@region:central-asia (Turkmenistan, Ashgabat)` when the rule names a group or another
/// spelling. Version 1 payloads (still in the outbox after an upgrade) hold plain strings.
fn matched_term(entry: &Value) -> Option<String> {
    if let Some(text) = entry.as_str() {
        let text = text.trim();
        return (!text.is_empty()).then(|| text.to_string());
    }
    let term = entry["term"].as_str()?.trim();
    let found: Vec<&str> = entry["found"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).map(str::trim).collect())
        .unwrap_or_default();
    match found.as_slice() {
        [] if term.is_empty() => None,
        [] => Some(term.to_string()),
        // `Abraham Accords` found as written (or `=US` as `US`): saying it twice adds nothing.
        [only] if crate::text::normalize(only) == crate::text::normalize(term) => {
            Some((*only).to_string())
        }
        _ => Some(format!("{term} ({})", found.join(", "))),
    }
}

/// A previous headline in a context line: one line, at most 200 characters.
fn cut_title(title: &str) -> String {
    let line = title.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::text::truncate_chars(&line, 200)
}

/// An http(s) link in its normalised, percent-encoded form (`<`, `>`, spaces and non-ASCII
/// encoded), which every target accepts. A link too long to be real cannot be cut without
/// breaking it: it is left out.
fn web_link(link: &str) -> Option<String> {
    let parsed = url::Url::parse(link).ok()?;
    let text = parsed.to_string();
    (matches!(parsed.scheme(), "http" | "https") && text.len() <= MAX_LINK_BYTES).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matched_terms_show_what_was_found_under_the_rules_term() {
        let m = Message::from_payload(
            r#"{"type":"watchword.alert","version":2,"rule":"r","matched_terms":[
                {"term":"@region:central-asia","found":["Turkmenistan","Ashgabat"]},
                {"term":"Abraham Accords","found":["Abraham Accords"]},
                {"term":"=US","found":["US"]},
                {"term":"Kazakh*","found":["Kazakhstan"]}],
                "item":{"title":"T"}}"#,
        );
        assert_eq!(
            m.terms,
            [
                "@region:central-asia (Turkmenistan, Ashgabat)",
                "Abraham Accords",
                "US",
                "Kazakh* (Kazakhstan)"
            ]
        );
        // A version 1 payload still in the outbox after an upgrade.
        let m = Message::from_payload(
            r#"{"type":"watchword.alert","version":1,"matched_terms":["Turkmenistan"],"item":{"title":"T"}}"#,
        );
        assert_eq!(m.terms, ["Turkmenistan"]);
    }

    #[test]
    fn reads_an_alert_and_degrades_for_other_types() {
        let m = Message::from_payload(
            r#"{"type":"watchword.alert","id":"ww_1","rule":"r","priority":"high",
                "matched_terms":["a"],"feed":{"name":"wire"},
                "item":{"title":"T","link":"javascript:alert(1)","summary":"S"}}"#,
        );
        assert_eq!(m.title, "T");
        assert_eq!(m.link, None);
        assert_eq!(m.priority.as_ref().and_then(|p| p.level), Some(4));
        let m = Message::from_payload(
            r#"{"type":"watchword.feed_event","id":"ev_1","feed":"wire","text":"failing for 2h"}"#,
        );
        assert_eq!(m.title, "watchword.feed_event from wire");
        assert_eq!(m.text, "failing for 2h");
        assert_eq!(m.context_line(), "watchword.feed_event · feed wire");
        assert_eq!(Message::from_payload("not json").title, "watchword.message");
    }

    #[test]
    fn names_the_other_outlets_of_the_story() {
        let sources: Vec<String> = ["wire", "a", "b", "c", "d", "e", "f"]
            .iter()
            .map(|f| format!(r#"{{"feed":"{f}","title":"t","link":null,"seen_at":1}}"#))
            .collect();
        let m = Message::from_payload(&format!(
            r#"{{"type":"watchword.alert","rule":"r","feed":{{"name":"wire"}},
                "item":{{"title":"T"}},"story":{{"update":false,"outlets":7,"sources":[{}]}}}}"#,
            sources.join(",")
        ));
        assert_eq!(m.also, ["a", "b", "c", "d", "e", "f"]);
        assert_eq!(
            m.context_line(),
            "rule r · feed wire · also reported by: a, b, c, d, e (+1 more)"
        );
    }

    #[test]
    fn names_each_outlets_language_when_known() {
        let m = Message::from_payload(
            r#"{"type":"watchword.alert","rule":"r","feed":{"name":"wire"},"item":{"title":"T"},
                "story":{"outlets":3,"sources":[
                  {"feed":"wire","lang":"en","title":"t","link":null,"seen_at":1},
                  {"feed":"rbc","lang":"ru","title":"t","link":null,"seen_at":2},
                  {"feed":"old","lang":null,"title":"t","link":null,"seen_at":3}]}}"#,
        );
        assert_eq!(m.also, ["rbc (ru)", "old"]);
    }
}
