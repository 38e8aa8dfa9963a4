//! `[[sink]]` validation of the keys every sink has: where it sends, secrets, signing key,
//! headers, rate limit, digest and the retry policy. Documented in docs/sinks.md.
//!
//! The format and its own options (a Telegram `chat_id`, a `template`) are kept as written,
//! `${…}` references expanded, for the load step: each format in `crate::alert::format`
//! reads and checks its own.

use std::fmt;
use std::ops::Range;
use std::time::Duration;

use base64::Engine as _;

use super::digest::DigestSchedule;
use super::raw::{HumanDuration, RawSink, SinkKind};
use super::{Diagnostic, Locator, check_webhook_url, secret};

pub use super::raw::SINK_KEYS;

const DEFAULT_GIVE_UP_AFTER: Duration = Duration::from_secs(3 * 24 * 3600);
const DEFAULT_CLIENT_ERROR_ATTEMPTS: u32 = 5;
const DEFAULT_CLIENT_ERROR_GRACE: Duration = Duration::from_secs(3600);
/// The format of a sink that names none.
pub const DEFAULT_FORMAT: &str = "json";

#[derive(Clone)]
pub struct SinkConfig {
    pub name: String,
    pub kind: SinkKind,
    /// A secret: Slack and Discord URLs carry their token. Log it only through `redact_url`.
    pub url: Option<String>,
    /// The format's name as written (`json` when not written); the load step checks it.
    pub format: String,
    /// The decoded Standard Webhooks key (`whsec_` + base64 in the config).
    pub signing_key: Option<Vec<u8>>,
    /// Extra request headers, in the order written. Values may be secrets: never logged.
    pub headers: Vec<(String, String)>,
    /// `rate_limit` as written; the format's default applies when it is not.
    pub rate_limit: RateLimitSetting,
    pub digest: Option<Duration>,
    /// `digest_at` with `timezone`: digests at fixed times of day instead of a window.
    pub digest_at: Option<DigestSchedule>,
    /// Delays between attempts; the last one repeats. Empty: the built-in schedule.
    pub retry_schedule: Vec<Duration>,
    pub give_up_after: Duration,
    pub client_error_attempts: u32,
    pub client_error_grace: Duration,
    /// Every other key, in the order written, for the format to read.
    pub options: Vec<SinkOption>,
    /// Every secret value of this sink (URL, key, header values, anything from `${…}`), so
    /// that error text can be scrubbed of them before it is logged or stored. The load step
    /// adds the format's secret options (a Matrix token).
    pub secrets: Vec<String>,
    /// Where the sink's name, format and secret are written, for the load step's problems.
    pub spans: SinkSpans,
}

/// A key of `[[sink]]` that is not common to every sink, with where it is written.
#[derive(Clone)]
pub struct SinkOption {
    pub key: String,
    /// `None` when the value's `${…}` reference could not be expanded (already reported).
    pub value: Option<toml::Value>,
    pub key_span: Range<usize>,
    pub value_span: Range<usize>,
}

/// Spans of a sink's keys in the config file.
#[derive(Debug, Clone, Default)]
pub struct SinkSpans {
    pub name: Range<usize>,
    /// The `format` value, when written.
    pub format: Option<Range<usize>>,
    /// The `secret` value, when written.
    pub secret: Option<Range<usize>>,
}

/// `rate_limit` as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RateLimitSetting {
    /// Not written (or refused): the format's documented default.
    #[default]
    FormatDefault,
    /// `"none"`: no limit of our own (the receiver's 429s still apply).
    Unlimited,
    Limited(RateLimit),
}

impl RateLimitSetting {
    /// The limit in force, given the format's default.
    pub fn resolve(self, format_default: Option<RateLimit>) -> Option<RateLimit> {
        match self {
            RateLimitSetting::FormatDefault => format_default,
            RateLimitSetting::Unlimited => None,
            RateLimitSetting::Limited(limit) => Some(limit),
        }
    }
}

/// Hand-written so that `{:?}` of a config can never print a secret.
impl fmt::Debug for SinkConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SinkConfig")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("url", &self.url.as_deref().map(crate::text::url_origin))
            .field("format", &self.format)
            .field("signed", &self.signing_key.is_some())
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field(
                "options",
                &self.options.iter().map(|o| &o.key).collect::<Vec<_>>(),
            )
            .field("rate_limit", &self.rate_limit)
            .field("digest", &self.digest)
            .field("digest_at", &self.digest_at)
            .finish_non_exhaustive()
    }
}

impl SinkConfig {
    /// `text` with every secret of this sink replaced by `…`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            if secret.len() >= 4 && out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "…");
            }
        }
        out
    }

    /// A minimal sink for tests and tools: a webhook in `format` with string `options`
    /// (unlocated) and defaults for the rest.
    pub fn webhook(name: &str, url: &str, format: &str, options: &[(&str, &str)]) -> SinkConfig {
        SinkConfig {
            name: name.into(),
            kind: SinkKind::Webhook,
            url: Some(url.into()),
            format: format.into(),
            signing_key: None,
            headers: Vec::new(),
            rate_limit: RateLimitSetting::FormatDefault,
            digest: None,
            digest_at: None,
            retry_schedule: Vec::new(),
            give_up_after: DEFAULT_GIVE_UP_AFTER,
            client_error_attempts: DEFAULT_CLIENT_ERROR_ATTEMPTS,
            client_error_grace: DEFAULT_CLIENT_ERROR_GRACE,
            options: options
                .iter()
                .map(|(key, value)| SinkOption {
                    key: (*key).into(),
                    value: Some(toml::Value::String((*value).into())),
                    key_span: 0..0,
                    value_span: 0..0,
                })
                .collect(),
            secrets: vec![url.into()],
            spans: SinkSpans::default(),
        }
    }
}

/// At most `count` requests per `period`, evenly spaced (`30/min` = one every 2 s): spacing
/// guarantees that no window of `period` ever holds more than the service allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub count: u32,
    pub period: Duration,
}

impl RateLimit {
    /// `count` requests every `secs` seconds, for the formats' documented defaults.
    pub const fn per(count: u32, secs: u64) -> RateLimit {
        RateLimit {
            count,
            period: Duration::from_secs(secs),
        }
    }

    fn parse(text: &str) -> Result<Option<RateLimit>, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("none") {
            return Ok(None);
        }
        let bad = || {
            format!(
                "invalid rate_limit {text:?}; write it like \"1/s\", \"30/min\", \"100/h\" or \"none\""
            )
        };
        let (count, unit) = text.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        if count == 0 {
            return Err("rate_limit must allow at least 1 request (or be \"none\")".into());
        }
        let unit = unit.trim();
        let period = match unit {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            other => humantime::parse_duration(other).map_err(|_| bad())?,
        };
        if period.is_zero() {
            return Err(bad());
        }
        Ok(Some(RateLimit { count, period }))
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.period.as_secs() {
            1 => write!(f, "{}/s", self.count),
            60 => write!(f, "{}/min", self.count),
            3600 => write!(f, "{}/h", self.count),
            _ => write!(
                f,
                "{}/{}",
                self.count,
                humantime::format_duration(self.period)
            ),
        }
    }
}

/// Validates one `[[sink]]`, pushing every problem found.
pub(super) fn validate_sink(
    sink: RawSink,
    name: String,
    at: &Locator<'_>,
    problems: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Diagnostic>,
) -> SinkConfig {
    let dir = at.directory();
    let mut secrets = Vec::new();
    // Expands a string field; every expanded value of a secret-bearing field is remembered,
    // and so is every value that came from a reference, whatever the field.
    let mut text = |field: &toml::Spanned<String>,
                    key: &str,
                    is_secret: bool,
                    problems: &mut Vec<Diagnostic>|
     -> Option<String> {
        match secret::expand(field.get_ref(), &dir) {
            Ok(expanded) => {
                if is_secret || expanded.from_reference {
                    secrets.push(expanded.value.clone());
                }
                Some(expanded.value)
            }
            Err(message) => {
                problems.push(at.span(field.span(), format!("sink {name:?}: {key}: {message}")));
                None
            }
        }
    };
    let url = sink
        .url
        .as_ref()
        .and_then(|f| text(f, "url", true, problems));
    let secret_text = sink
        .secret
        .as_ref()
        .and_then(|f| text(f, "secret", true, problems));
    // The format's options: strings may hold `${…}` like any other value. Whether one is a
    // secret in itself (a token) only the format knows; the load step adds those.
    let mut options = Vec::new();
    for (key, value) in sink.options {
        let value_span = value.span();
        let value = match value.into_inner() {
            toml::Value::String(string) => {
                let spanned = toml::Spanned::new(value_span.clone(), string);
                text(&spanned, key.get_ref(), false, problems).map(toml::Value::String)
            }
            other => Some(other),
        };
        options.push(SinkOption {
            key_span: key.span(),
            key: key.into_inner(),
            value,
            value_span,
        });
    }
    let mut header_values = Vec::new();
    for (key, value) in &sink.headers {
        if let Some(value) = text(value, key, false, problems) {
            header_values.push((key.clone(), value));
        }
    }
    let mut headers = Vec::new();
    for (key, value) in header_values {
        let span = sink.headers[&key].span();
        if reqwest::header::HeaderName::from_bytes(key.as_bytes()).is_err() {
            problems.push(at.span(
                span,
                format!("sink {name:?}: {key:?} is not a valid header name"),
            ));
        } else if reqwest::header::HeaderValue::from_str(&value).is_err() {
            problems.push(at.span(
                span,
                format!(
                    "sink {name:?}: header {key}: the value must be printable ASCII on one line"
                ),
            ));
        } else {
            if key.eq_ignore_ascii_case("authorization")
                || key.to_ascii_lowercase().contains("token")
            {
                secrets.push(value.clone());
            }
            headers.push((key, value));
        }
    }

    let url_span = sink
        .url
        .as_ref()
        .map(|u| u.span())
        .unwrap_or(sink.name.span());
    let url = match (sink.kind, url) {
        (SinkKind::Webhook, None) if sink.url.is_none() => {
            problems.push(at.span(
                sink.name.span(),
                format!("sink {name:?} is a webhook but has no url; add url = \"https://…\""),
            ));
            None
        }
        (SinkKind::Webhook, None) => None,
        (SinkKind::Webhook, Some(url)) => match check_webhook_url(&url) {
            Ok(()) => Some(url),
            Err(message) => {
                problems.push(at.span(url_span, format!("sink {name:?}: {message}")));
                None
            }
        },
        (SinkKind::Stdout, Some(_)) => {
            problems.push(at.span(
                url_span,
                format!("sink {name:?} writes to stdout and takes no url; remove it"),
            ));
            None
        }
        (SinkKind::Stdout, None) => None,
        (SinkKind::Email, Some(_)) => {
            problems.push(at.span(
                url_span,
                format!(
                    "sink {name:?} sends email and takes no url; write host = \"smtp.example.org\""
                ),
            ));
            None
        }
        (SinkKind::Email, None) => None,
    };
    if sink.kind == SinkKind::Email {
        if let Some(format) = &sink.format {
            problems.push(at.span(
                format.span(),
                format!("sink {name:?} sends email, which has no format; remove it"),
            ));
        }
        if let Some((_, value)) = sink.headers.iter().next() {
            problems.push(at.span(
                value.span(),
                format!("sink {name:?}: headers are for webhooks; email sinks do not use them"),
            ));
        }
    }

    let format = sink
        .format
        .as_ref()
        .map_or(DEFAULT_FORMAT, |f| f.get_ref().as_str())
        .to_string();
    if sink.kind == SinkKind::Stdout && format != DEFAULT_FORMAT {
        problems.push(at.span(
            sink.name.span(),
            format!("sink {name:?} writes to stdout, which takes format = \"json\" only"),
        ));
    }

    // Whether this format signs is the load step's to say; a key that does not decode is
    // wrong whatever the format.
    let signing_key = match (&secret_text, &sink.secret) {
        (Some(secret), Some(spanned)) => match decode_whsec(secret) {
            Ok(key) => Some(key),
            Err(message) => {
                problems.push(at.span(spanned.span(), format!("sink {name:?}: {message}")));
                None
            }
        },
        _ => None,
    };

    let rate_limit = match &sink.rate_limit {
        None => RateLimitSetting::FormatDefault,
        Some(spanned) => match RateLimit::parse(spanned.get_ref()) {
            Ok(Some(limit)) => RateLimitSetting::Limited(limit),
            Ok(None) => RateLimitSetting::Unlimited,
            Err(message) => {
                problems.push(at.span(spanned.span(), format!("sink {name:?}: {message}")));
                RateLimitSetting::FormatDefault
            }
        },
    };
    let positive = |value: &Option<toml::Spanned<HumanDuration>>,
                    key: &str,
                    problems: &mut Vec<Diagnostic>|
     -> Option<Duration> {
        let spanned = value.as_ref()?;
        let d = spanned.get_ref().0;
        if d.is_zero() {
            problems.push(at.span(
                spanned.span(),
                format!("sink {name:?}: {key} must be longer than 0s"),
            ));
            return None;
        }
        Some(d)
    };
    let digest = positive(&sink.digest, "digest", problems);
    if digest.is_some() && sink.kind == SinkKind::Stdout {
        problems.push(at.span(
            sink.name.span(),
            format!("sink {name:?}: digest is for webhooks; stdout writes one line per alert"),
        ));
    }
    let digest_at = digest_schedule(
        &sink.digest_at,
        &sink.timezone,
        &sink.digest,
        sink.kind,
        &name,
        at,
        problems,
    );
    let retry_schedule = match &sink.retry_schedule {
        Some(list) if list.get_ref().is_empty() || list.get_ref().iter().any(|d| d.0.is_zero()) => {
            problems.push(at.span(
                list.span(),
                format!(
                    "sink {name:?}: retry_schedule needs at least one delay, each longer than 0s"
                ),
            ));
            Vec::new()
        }
        Some(list) => {
            // The outbox schedules in whole seconds: a shorter delay is a second.
            if let Some(short) = list.get_ref().iter().find(|d| d.0 < Duration::from_secs(1)) {
                warnings.push(at.span(
                    list.span(),
                    format!(
                        "sink {name:?}: retry_schedule delay {} is below 1s; attempts are at \
                         least 1s apart",
                        humantime::format_duration(short.0)
                    ),
                ));
            }
            list.get_ref()
                .iter()
                .map(|d| d.0.max(Duration::from_secs(1)))
                .collect()
        }
        None => Vec::new(),
    };
    let give_up_after =
        positive(&sink.give_up_after, "give_up_after", problems).unwrap_or(DEFAULT_GIVE_UP_AFTER);
    let client_error_attempts = match &sink.client_error_attempts {
        Some(n) if *n.get_ref() == 0 => {
            problems.push(at.span(
                n.span(),
                format!("sink {name:?}: client_error_attempts must be at least 1"),
            ));
            DEFAULT_CLIENT_ERROR_ATTEMPTS
        }
        Some(n) => *n.get_ref(),
        None => DEFAULT_CLIENT_ERROR_ATTEMPTS,
    };
    // Zero is allowed here: "give up as soon as the attempts are used up".
    let client_error_grace = sink
        .client_error_grace
        .as_ref()
        .map(|d| d.get_ref().0)
        .unwrap_or(DEFAULT_CLIENT_ERROR_GRACE);

    secrets.retain(|s| !s.is_empty());
    SinkConfig {
        spans: SinkSpans {
            name: sink.name.span(),
            format: sink.format.as_ref().map(|f| f.span()),
            secret: sink.secret.as_ref().map(|s| s.span()),
        },
        name,
        kind: sink.kind,
        url,
        format,
        signing_key,
        headers,
        rate_limit,
        digest,
        digest_at,
        retry_schedule,
        give_up_after,
        client_error_attempts,
        client_error_grace,
        options,
        secrets,
    }
}

/// `digest_at` and `timezone`, checked: every time a time of day, a zone IANA knows, not
/// together with `digest`, and not for stdout.
fn digest_schedule(
    digest_at: &Option<toml::Spanned<Vec<toml::Spanned<String>>>>,
    timezone: &Option<toml::Spanned<String>>,
    digest: &Option<toml::Spanned<HumanDuration>>,
    kind: SinkKind,
    name: &str,
    at: &Locator<'_>,
    problems: &mut Vec<Diagnostic>,
) -> Option<DigestSchedule> {
    let Some(list) = digest_at else {
        if let Some(zone) = timezone {
            problems.push(at.span(
                zone.span(),
                format!(
                    "sink {name:?}: timezone is the zone of digest_at, which is not set; add \
                     digest_at = [\"08:00\"] or remove timezone"
                ),
            ));
        }
        return None;
    };
    let before = problems.len();
    if let Some(window) = digest {
        problems.push(at.span(
            list.span(),
            format!(
                "sink {name:?}: digest ({}) and digest_at both say when digests go; keep one",
                humantime::format_duration(window.get_ref().0)
            ),
        ));
    }
    if kind == SinkKind::Stdout {
        problems.push(at.span(
            list.span(),
            format!("sink {name:?}: digest_at is for webhooks and email; stdout writes one line per alert"),
        ));
    }
    if list.get_ref().is_empty() {
        problems.push(at.span(
            list.span(),
            format!("sink {name:?}: digest_at needs at least one time, like [\"08:00\"]"),
        ));
    }
    let mut times = Vec::new();
    for text in list.get_ref() {
        match DigestSchedule::parse_time(text.get_ref()) {
            Some(time) => times.push(time),
            None => problems.push(at.span(
                text.span(),
                format!(
                    "sink {name:?}: digest_at: {:?} is not a time of day; write \"HH:MM\" on the \
                     24-hour clock, like \"08:00\" or \"17:30\"",
                    text.get_ref()
                ),
            )),
        }
    }
    times.sort_unstable();
    times.dedup();
    let zone = match timezone {
        None => Some(chrono_tz::UTC),
        Some(zone) => match DigestSchedule::parse_zone(zone.get_ref()) {
            Ok(zone) => Some(zone),
            Err(close) => {
                let hint = if close.is_empty() {
                    " (an IANA name like \"Europe/Berlin\", \"America/New_York\" or \"UTC\")"
                        .to_string()
                } else {
                    format!("; did you mean {}?", close.join(", "))
                };
                problems.push(at.span(
                    zone.span(),
                    format!(
                        "sink {name:?}: timezone {:?} is not a time zone{hint}",
                        zone.get_ref()
                    ),
                ));
                None
            }
        },
    };
    if problems.len() > before {
        return None;
    }
    Some(DigestSchedule { times, zone: zone? })
}

/// `whsec_<base64>` → the key bytes (Standard Webhooks: 24–64 random bytes).
fn decode_whsec(secret: &str) -> Result<Vec<u8>, String> {
    let Some(encoded) = secret.trim().strip_prefix("whsec_") else {
        return Err(
            "secret must be a Standard Webhooks key: \"whsec_\" followed by base64 \
                    (generate one with: echo whsec_$(head -c 32 /dev/urandom | base64))"
                .into(),
        );
    };
    let key = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| "secret: the part after \"whsec_\" is not valid base64".to_string())?;
    if !(24..=64).contains(&key.len()) {
        return Err(format!(
            "secret: the key is {} bytes; Standard Webhooks keys are 24 to 64 random bytes",
            key.len()
        ));
    }
    Ok(key)
}
