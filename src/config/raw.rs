//! The TOML schema exactly as users write it. Field spans are kept so that the checks in
//! `validate` can point at `file:line:col`, not just at a name.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub daemon: RawDaemon,
    #[serde(default, rename = "feed")]
    pub feeds: Vec<RawFeed>,
    #[serde(default)]
    pub groups: BTreeMap<String, Spanned<Vec<String>>>,
    #[serde(default, rename = "rule")]
    pub rules: Vec<RawRule>,
    #[serde(default, rename = "sink")]
    pub sinks: Vec<RawSink>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDaemon {
    pub database: Option<Spanned<String>>,
    pub poll_interval: Option<HumanDuration>,
    pub user_agent: Option<Spanned<String>>,
    pub max_age: Option<HumanDuration>,
    pub fetch_timeout: Option<Spanned<HumanDuration>>,
    pub delivery_timeout: Option<Spanned<HumanDuration>>,
    pub max_body_size: Option<ByteSize>,
    pub concurrency: Option<Spanned<usize>>,
    // Issue 7: the metrics/health listener and the stop grace period.
    pub metrics_listen: Option<Spanned<String>>,
    pub shutdown_grace: Option<Spanned<HumanDuration>>,
    /// How long a story stays open for later reports to join it.
    pub story_window: Option<Spanned<HumanDuration>>,
    /// Estimated word-overlap (Jaccard, 0–1) at which a report joins a story.
    pub story_similarity: Option<Spanned<f64>>,
    /// Items and stories older than this (and no longer in their feed) are pruned.
    pub retention: Option<Spanned<HumanDuration>>,
    /// Delivered and dead alerts older than this are pruned.
    pub alert_retention: Option<Spanned<HumanDuration>>,
    // Issue 3: the poller's politeness, limits and feed health.
    pub per_host_concurrency: Option<Spanned<usize>>,
    pub connect_timeout: Option<Spanned<HumanDuration>>,
    pub read_timeout: Option<Spanned<HumanDuration>>,
    pub min_interval: Option<Spanned<HumanDuration>>,
    pub max_interval: Option<Spanned<HumanDuration>>,
    pub max_backoff: Option<Spanned<HumanDuration>>,
    pub broken_after: Option<Spanned<HumanDuration>>,
    pub stale_after: Option<Spanned<HumanDuration>>,
    pub feed_events: Option<Spanned<Vec<Spanned<String>>>>,
    /// Issue 5: query parameters stripped from links on top of the built-in tracking list.
    pub strip_params: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFeed {
    pub name: Spanned<String>,
    pub url: Spanned<String>,
    pub interval: Option<HumanDuration>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub stale_after: Option<Spanned<HumanDuration>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub name: Spanned<String>,
    pub query: Spanned<String>,
    pub notify: Spanned<Vec<Spanned<String>>>,
    /// `true` (after 3 more outlets) or a number of outlets: one follow-up alert per story.
    pub story_updates: Option<Spanned<StoryUpdates>>,
    /// Alert again (once per edit) when an item already seen is edited materially.
    #[serde(default)]
    pub realert_on_update: bool,
    /// Only items of these feeds (by name)… (issue 4)
    #[serde(default)]
    pub feeds: Vec<Spanned<String>>,
    /// …or of feeds with one of these tags. Neither set: every feed.
    #[serde(default)]
    pub tags: Vec<Spanned<String>>,
    #[serde(default)]
    pub priority: Priority,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(untagged)]
pub enum StoryUpdates {
    Enabled(bool),
    AfterOutlets(i64),
}

/// A rule's priority, passed to sinks in the alert payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Urgent,
}

impl Priority {
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Urgent => "urgent",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSink {
    pub name: Spanned<String>,
    pub kind: SinkKind,
    pub url: Option<Spanned<String>>,
    #[serde(default)]
    pub format: SinkFormat,
    // Issue 6: signing, chat targets, templates, pacing and retry policy. See docs/sinks.md.
    /// `whsec_…`: sign `json`/`template` bodies per Standard Webhooks.
    pub secret: Option<Spanned<String>>,
    /// Extra request headers (e.g. `Authorization`); values may hold secrets.
    #[serde(default)]
    pub headers: BTreeMap<String, Spanned<String>>,
    /// `template` format: the minijinja body template.
    pub template: Option<Spanned<String>>,
    /// `template` format: the body's content type (default `application/json`).
    pub content_type: Option<Spanned<String>>,
    /// Telegram: the chat to post to.
    pub chat_id: Option<Spanned<String>>,
    /// Matrix: the room id (`!abc:example.org`).
    pub room: Option<Spanned<String>>,
    /// Matrix and ntfy: the access token, sent as `Authorization: Bearer …`.
    pub token: Option<Spanned<String>>,
    /// `"30/min"`, `"1/s"`, `"none"`; the default depends on the format.
    pub rate_limit: Option<Spanned<String>>,
    /// Send the matches of this window as one message.
    pub digest: Option<Spanned<HumanDuration>>,
    /// Delays between attempts (the last repeats); default: the Standard Webhooks schedule.
    pub retry_schedule: Option<Spanned<Vec<HumanDuration>>>,
    /// A delivery still failing this long after the alert was queued is dead.
    pub give_up_after: Option<Spanned<HumanDuration>>,
    /// A 4xx other than 408/410/429 is dead after this many attempts...
    pub client_error_attempts: Option<Spanned<u32>>,
    /// ... and no sooner than this after the alert was queued.
    pub client_error_grace: Option<Spanned<HumanDuration>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkKind {
    /// HTTP POST of the alert to `url`.
    Webhook,
    /// One JSON line per alert on standard output.
    Stdout,
}

impl fmt::Display for SinkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SinkKind::Webhook => "webhook",
            SinkKind::Stdout => "stdout",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkFormat {
    /// The versioned watchword JSON payload (docs/payload.md).
    #[default]
    Json,
    /// Slack incoming webhook: blocks plus a text fallback.
    Slack,
    /// Discord webhook: embeds, no mentions, `?wait=true`.
    Discord,
    /// Microsoft Teams Workflows webhook: an Adaptive Card.
    Teams,
    /// ntfy topic URL: the text as body, title/tags/priority/click as headers.
    Ntfy,
    /// Telegram Bot API `sendMessage`, HTML parse mode.
    Telegram,
    /// Mattermost incoming webhook: Markdown text.
    Mattermost,
    /// Matrix client-server API: `PUT …/send/m.room.message/{alert id}`.
    Matrix,
    /// A user-supplied minijinja body template.
    Template,
}

impl SinkFormat {
    pub fn name(self) -> &'static str {
        match self {
            SinkFormat::Json => "json",
            SinkFormat::Slack => "slack",
            SinkFormat::Discord => "discord",
            SinkFormat::Teams => "teams",
            SinkFormat::Ntfy => "ntfy",
            SinkFormat::Telegram => "telegram",
            SinkFormat::Mattermost => "mattermost",
            SinkFormat::Matrix => "matrix",
            SinkFormat::Template => "template",
        }
    }
}

impl fmt::Display for SinkFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A duration written the way people write them: `"90s"`, `"5m"`, `"1h 30m"`, `"2d"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        humantime::parse_duration(text.trim())
            .map(HumanDuration)
            .map_err(|e| {
                serde::de::Error::custom(format!(
                    "invalid duration {text:?} ({e}); write it like \"90s\", \"5m\", \"2h\" or \"3d\""
                ))
            })
    }
}

/// A size in bytes, written as an integer or as `"10 MiB"`, `"512KiB"`, `"2MB"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSize(pub u64);

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Number(u64),
            Text(String),
        }
        match Either::deserialize(deserializer)? {
            Either::Number(n) => Ok(ByteSize(n)),
            Either::Text(text) => parse_byte_size(&text).map(ByteSize).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "invalid size {text:?}; write it like \"10 MiB\", \"512 KiB\" or a number of bytes"
                ))
            }),
        }
    }
}

fn parse_byte_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "kib" | "k" => 1 << 10,
        "mb" => 1_000_000,
        "mib" | "m" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" | "g" => 1 << 30,
        _ => return None,
    };
    number.checked_mul(multiplier)
}

#[cfg(test)]
mod tests {
    use super::parse_byte_size;

    #[test]
    fn byte_sizes() {
        assert_eq!(parse_byte_size("10 MiB"), Some(10 << 20));
        assert_eq!(parse_byte_size("512KiB"), Some(512 << 10));
        assert_eq!(parse_byte_size("2MB"), Some(2_000_000));
        assert_eq!(parse_byte_size("42"), Some(42));
        assert_eq!(parse_byte_size("ten"), None);
        assert_eq!(parse_byte_size("10 parsecs"), None);
    }
}
