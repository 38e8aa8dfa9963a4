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
    pub poll_interval: Option<Spanned<HumanDuration>>,
    pub user_agent: Option<Spanned<String>>,
    pub max_age: Option<HumanDuration>,
    pub fetch_timeout: Option<Spanned<HumanDuration>>,
    pub delivery_timeout: Option<Spanned<HumanDuration>>,
    pub replica_lease: Option<Spanned<HumanDuration>>,
    /// PostgreSQL only: the size of each process's connection pool.
    pub database_connections: Option<Spanned<usize>>,
    pub max_body_size: Option<ByteSize>,
    pub concurrency: Option<Spanned<usize>>,
    // Issue 7: the metrics/health listener and the stop grace period.
    pub metrics_listen: Option<Spanned<String>>,
    /// Issue 15: the listener's credentials (required off loopback; see `config::listen`).
    pub listen_token: Option<Spanned<String>>,
    pub listen_user: Option<Spanned<String>>,
    pub listen_password: Option<Spanned<String>>,
    /// How far back the dashboard's rule workbench searches; item text is kept that long.
    pub workbench_window: Option<HumanDuration>,
    pub shutdown_grace: Option<Spanned<HumanDuration>>,
    /// How long a story stays open for later reports to join it.
    pub story_window: Option<Spanned<HumanDuration>>,
    /// Estimated word-overlap (Jaccard, 0–1) at which a report joins a story.
    pub story_similarity: Option<Spanned<f64>>,
    /// Weighted overlap of the names two reports mention (0–1) at which a report in other
    /// words or another language joins a story.
    pub story_entity_similarity: Option<Spanned<f64>>,
    /// Whether reports join stories by the names they mention at all (default true).
    pub story_by_names: Option<bool>,
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
    /// Issue 18: bounds on reading linked articles (`[[feed]] read_articles`).
    pub article_pages: Option<Spanned<usize>>,
    pub article_max_size: Option<Spanned<ByteSize>>,
    pub article_timeout: Option<Spanned<HumanDuration>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFeed {
    pub name: Spanned<String>,
    pub url: Spanned<String>,
    pub interval: Option<Spanned<HumanDuration>>,
    #[serde(default)]
    pub tags: Vec<String>,
    pub stale_after: Option<Spanned<HumanDuration>>,
    /// Issue 18: a second look at the article behind a short item that a rule half matched.
    #[serde(default)]
    pub read_articles: bool,
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

/// A `[[sink]]` table: the keys every sink has, and the rest for its format to read.
#[derive(Debug)]
pub struct RawSink {
    pub name: Spanned<String>,
    pub kind: SinkKind,
    pub url: Option<Spanned<String>>,
    /// The format's name; `json` when not written. Which names exist is the load step's
    /// business (`crate::alert::format`'s registry), not config's.
    pub format: Option<Spanned<String>>,
    // Issue 6: signing, pacing and retry policy. See docs/sinks.md.
    /// `whsec_…`: signs bodies per Standard Webhooks, for the formats that sign.
    pub secret: Option<Spanned<String>>,
    /// Extra request headers (e.g. `Authorization`); values may hold secrets.
    pub headers: BTreeMap<String, Spanned<String>>,
    /// `"30/min"`, `"1/s"`, `"none"`; the default depends on the format.
    pub rate_limit: Option<Spanned<String>>,
    /// Send the matches of this window as one message.
    pub digest: Option<Spanned<HumanDuration>>,
    /// Or send them as one message at these times of day (`"08:00"`)...
    pub digest_at: Option<Spanned<Vec<Spanned<String>>>>,
    /// ... in this IANA time zone (default UTC).
    pub timezone: Option<Spanned<String>>,
    /// Delays between attempts (the last repeats); default: the Standard Webhooks schedule.
    pub retry_schedule: Option<Spanned<Vec<HumanDuration>>>,
    /// A delivery still failing this long after the alert was queued is dead.
    pub give_up_after: Option<Spanned<HumanDuration>>,
    /// A 4xx other than 408/410/429 is dead after this many attempts...
    pub client_error_attempts: Option<Spanned<u32>>,
    /// ... and no sooner than this after the alert was queued.
    pub client_error_grace: Option<Spanned<HumanDuration>>,
    /// Every other key, in the order written: the format's own options (a Telegram
    /// `chat_id`), or a key no format knows, which the load step refuses.
    pub options: Vec<(Spanned<String>, Spanned<toml::Value>)>,
}

/// The common keys of `[[sink]]`, in the order they are documented.
pub const SINK_KEYS: &[&str] = &[
    "name",
    "kind",
    "url",
    "format",
    "secret",
    "headers",
    "rate_limit",
    "digest",
    "digest_at",
    "timezone",
    "retry_schedule",
    "give_up_after",
    "client_error_attempts",
    "client_error_grace",
];

// Hand-written rather than derived with `#[serde(flatten)]`: flattened values lose their
// spans (serde buffers them), and every error about a format's option must point at it.
impl<'de> Deserialize<'de> for RawSink {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SinkVisitor;

        impl<'de> serde::de::Visitor<'de> for SinkVisitor {
            type Value = RawSink;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("struct RawSink")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<RawSink, A::Error> {
                use serde::de::Error as _;
                let mut name = None;
                let mut kind = None;
                let mut sink = RawSink {
                    name: Spanned::new(0..0, String::new()),
                    kind: SinkKind::Stdout,
                    url: None,
                    format: None,
                    secret: None,
                    headers: BTreeMap::new(),
                    rate_limit: None,
                    digest: None,
                    digest_at: None,
                    timezone: None,
                    retry_schedule: None,
                    give_up_after: None,
                    client_error_attempts: None,
                    client_error_grace: None,
                    options: Vec::new(),
                };
                while let Some(key) = map.next_key::<Spanned<String>>()? {
                    match key.get_ref().as_str() {
                        "name" => name = Some(map.next_value()?),
                        "kind" => kind = Some(map.next_value()?),
                        "url" => sink.url = Some(map.next_value()?),
                        "format" => sink.format = Some(map.next_value()?),
                        "secret" => sink.secret = Some(map.next_value()?),
                        "headers" => sink.headers = map.next_value()?,
                        "rate_limit" => sink.rate_limit = Some(map.next_value()?),
                        "digest" => sink.digest = Some(map.next_value()?),
                        "digest_at" => sink.digest_at = Some(map.next_value()?),
                        "timezone" => sink.timezone = Some(map.next_value()?),
                        "retry_schedule" => sink.retry_schedule = Some(map.next_value()?),
                        "give_up_after" => sink.give_up_after = Some(map.next_value()?),
                        "client_error_attempts" => {
                            sink.client_error_attempts = Some(map.next_value()?);
                        }
                        "client_error_grace" => sink.client_error_grace = Some(map.next_value()?),
                        _ => sink.options.push((key, map.next_value()?)),
                    }
                }
                // In declaration order, as a derived impl reports them.
                sink.name = name.ok_or_else(|| A::Error::missing_field("name"))?;
                sink.kind = kind.ok_or_else(|| A::Error::missing_field("kind"))?;
                Ok(sink)
            }
        }

        deserializer.deserialize_map(SinkVisitor)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SinkKind {
    /// HTTP POST of the alert to `url`.
    Webhook,
    /// One JSON line per alert on standard output.
    Stdout,
    /// Mail over SMTP (docs/sinks.md, "Email").
    Email,
}

impl fmt::Display for SinkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SinkKind::Webhook => "webhook",
            SinkKind::Stdout => "stdout",
            SinkKind::Email => "email",
        })
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
