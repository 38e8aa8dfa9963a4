//! `[[sink]]` validation: formats and what each needs, secrets, rate limits, digests and the
//! retry policy. Documented in docs/sinks.md.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;

use super::raw::{RawSink, SinkFormat, SinkKind};
use super::{Diagnostic, Locator, check_webhook_url, secret};

const DEFAULT_GIVE_UP_AFTER: Duration = Duration::from_secs(3 * 24 * 3600);
const DEFAULT_CLIENT_ERROR_ATTEMPTS: u32 = 5;
const DEFAULT_CLIENT_ERROR_GRACE: Duration = Duration::from_secs(3600);

#[derive(Clone)]
pub struct SinkConfig {
    pub name: String,
    pub kind: SinkKind,
    /// A secret: Slack and Discord URLs carry their token. Log it only through `redact_url`.
    pub url: Option<String>,
    pub format: SinkFormat,
    /// The decoded Standard Webhooks key (`whsec_` + base64 in the config).
    pub signing_key: Option<Vec<u8>>,
    /// Extra request headers, in the order written. Values may be secrets: never logged.
    pub headers: Vec<(String, String)>,
    pub template: Option<String>,
    pub content_type: String,
    pub chat_id: Option<String>,
    pub room: Option<String>,
    pub token: Option<String>,
    /// `None`: no limit of our own (the receiver's 429s still apply).
    pub rate_limit: Option<RateLimit>,
    pub digest: Option<Duration>,
    /// Delays between attempts; the last one repeats. Empty: the built-in schedule.
    pub retry_schedule: Vec<Duration>,
    pub give_up_after: Duration,
    pub client_error_attempts: u32,
    pub client_error_grace: Duration,
    /// Every secret value of this sink (URL, key, token, header values from `${…}`), so that
    /// error text can be scrubbed of them before it is logged or stored.
    pub secrets: Vec<String>,
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
            .field("rate_limit", &self.rate_limit)
            .field("digest", &self.digest)
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

    /// A minimal sink for tests and tools: a webhook with the given format and defaults.
    pub fn webhook(name: &str, url: &str, format: SinkFormat) -> SinkConfig {
        SinkConfig {
            name: name.into(),
            kind: SinkKind::Webhook,
            url: Some(url.into()),
            format,
            signing_key: None,
            headers: Vec::new(),
            template: None,
            content_type: "application/json".into(),
            chat_id: None,
            room: None,
            token: None,
            rate_limit: RateLimit::default_for(format),
            digest: None,
            retry_schedule: Vec::new(),
            give_up_after: DEFAULT_GIVE_UP_AFTER,
            client_error_attempts: DEFAULT_CLIENT_ERROR_ATTEMPTS,
            client_error_grace: DEFAULT_CLIENT_ERROR_GRACE,
            secrets: vec![url.into()],
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
    /// Each service's documented limit (docs/sinks.md cites them).
    pub fn default_for(format: SinkFormat) -> Option<RateLimit> {
        let per = |count, secs| {
            Some(RateLimit {
                count,
                period: Duration::from_secs(secs),
            })
        };
        match format {
            // "1 message per second per webhook, short bursts allowed".
            SinkFormat::Slack => per(1, 1),
            // 30 messages per minute per channel.
            SinkFormat::Discord => per(30, 60),
            // Workflows webhooks: more than 4 requests per second are throttled.
            SinkFormat::Teams => per(4, 1),
            // ntfy.sh: one request per 5 s refill (burst 60); a sustained 12/min.
            SinkFormat::Ntfy => per(12, 60),
            // Bot API: 20 messages per minute to one group.
            SinkFormat::Telegram => per(20, 60),
            // Mattermost server default: 10 per second.
            SinkFormat::Mattermost => per(10, 1),
            // Synapse default rc_message: 0.2/s with a burst of 10.
            SinkFormat::Matrix => per(12, 60),
            SinkFormat::Json | SinkFormat::Template => None,
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
) -> SinkConfig {
    let dir = at.directory();
    let mut secrets = Vec::new();
    // Expands a string field; every expanded value of a secret-bearing field is remembered.
    let mut text = |field: &Option<toml::Spanned<String>>,
                    key: &str,
                    is_secret: bool,
                    problems: &mut Vec<Diagnostic>|
     -> Option<String> {
        let spanned = field.as_ref()?;
        match secret::expand(spanned.get_ref(), &dir) {
            Ok(expanded) => {
                if is_secret || expanded.from_reference {
                    secrets.push(expanded.value.clone());
                }
                Some(expanded.value)
            }
            Err(message) => {
                problems.push(at.span(spanned.span(), format!("sink {name:?}: {key}: {message}")));
                None
            }
        }
    };
    let url = text(&sink.url, "url", true, problems);
    let secret_text = text(&sink.secret, "secret", true, problems);
    let template = text(&sink.template, "template", false, problems);
    let content_type = text(&sink.content_type, "content_type", false, problems);
    let chat_id = text(&sink.chat_id, "chat_id", false, problems);
    let room = text(&sink.room, "room", false, problems);
    let token = text(&sink.token, "token", true, problems);
    let mut header_values = Vec::new();
    for (key, value) in &sink.headers {
        if let Some(value) = text(&Some(value.clone()), key, false, problems) {
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
    };

    let format = sink.format;
    if sink.kind == SinkKind::Stdout && format != SinkFormat::Json {
        problems.push(at.span(
            sink.name.span(),
            format!("sink {name:?} writes to stdout, which takes format = \"json\" only"),
        ));
    }

    let signing_key = match (&secret_text, &sink.secret) {
        (Some(secret), Some(spanned)) => match decode_whsec(secret) {
            Ok(key) if matches!(format, SinkFormat::Json | SinkFormat::Template) => Some(key),
            Ok(_) => {
                problems.push(at.span(
                    spanned.span(),
                    format!(
                        "sink {name:?}: secret signs json and template bodies; {format} does not use it"
                    ),
                ));
                None
            }
            Err(message) => {
                problems.push(at.span(spanned.span(), format!("sink {name:?}: {message}")));
                None
            }
        },
        _ => None,
    };

    // What each format needs, and what it would silently ignore.
    let need = |present: bool, key: &str, example: &str, problems: &mut Vec<Diagnostic>| {
        if !present {
            problems.push(at.span(
                sink.name.span(),
                format!("sink {name:?} (format {format}) needs {key}; add {key} = {example}"),
            ));
        }
    };
    let refuse =
        |field: Option<std::ops::Range<usize>>, key: &str, problems: &mut Vec<Diagnostic>| {
            if let Some(span) = field {
                problems.push(at.span(
                    span,
                    format!("sink {name:?}: {key} is not used by format {format}; remove it"),
                ));
            }
        };
    let span_of = |f: &Option<toml::Spanned<String>>| f.as_ref().map(|s| s.span());
    match format {
        SinkFormat::Telegram => need(
            sink.chat_id.is_some(),
            "chat_id",
            "\"-100123456\"",
            problems,
        ),
        _ => refuse(span_of(&sink.chat_id), "chat_id", problems),
    }
    match format {
        SinkFormat::Matrix => {
            need(
                sink.room.is_some(),
                "room",
                "\"!roomid:example.org\"",
                problems,
            );
            need(
                sink.token.is_some(),
                "token",
                "\"${credential:matrix-token}\"",
                problems,
            );
        }
        _ => refuse(span_of(&sink.room), "room", problems),
    }
    if !matches!(format, SinkFormat::Matrix | SinkFormat::Ntfy) {
        refuse(span_of(&sink.token), "token", problems);
    }
    if format == SinkFormat::Template {
        need(
            sink.template.is_some(),
            "template",
            "'{ \"text\": {{ title }} }'",
            problems,
        );
    } else {
        refuse(span_of(&sink.template), "template", problems);
        refuse(span_of(&sink.content_type), "content_type", problems);
    }
    let content_type = content_type.unwrap_or_else(|| "application/json".into());
    if let Some(template) = &template
        && let Err(message) = crate::alert::format::check_template(template, &content_type)
    {
        let span = sink
            .template
            .as_ref()
            .map(|t| t.span())
            .unwrap_or(sink.name.span());
        problems.push(at.span(span, format!("sink {name:?}: template: {message}")));
    }

    let rate_limit = match &sink.rate_limit {
        None => RateLimit::default_for(format),
        Some(spanned) => match RateLimit::parse(spanned.get_ref()) {
            Ok(limit) => limit,
            Err(message) => {
                problems.push(at.span(spanned.span(), format!("sink {name:?}: {message}")));
                RateLimit::default_for(format)
            }
        },
    };
    let positive = |value: &Option<toml::Spanned<super::raw::HumanDuration>>,
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
        Some(list) => list.get_ref().iter().map(|d| d.0).collect(),
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
        name,
        kind: sink.kind,
        url,
        format,
        signing_key,
        headers,
        template,
        content_type,
        chat_id,
        room,
        token,
        rate_limit,
        digest,
        retry_schedule,
        give_up_after,
        client_error_attempts,
        client_error_grace,
        secrets,
    }
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::{Config, ConfigError, SinkFormat};

    fn with_sink(sink: &str) -> Result<Config, ConfigError> {
        let source = format!(
            "[[feed]]\nname = \"f\"\nurl = \"https://example.org/rss\"\n\
             [[rule]]\nname = \"r\"\nquery = \"x\"\nnotify = [\"s\"]\n\
             [[sink]]\nname = \"s\"\n{sink}"
        );
        Config::from_source(Path::new("/etc/watchword/w.toml"), &source)
    }

    fn problems(sink: &str) -> String {
        match with_sink(sink) {
            Ok(_) => panic!("should be rejected: {sink}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn formats_get_their_defaults_and_options() {
        let config = with_sink(
            "kind = \"webhook\"\nurl = \"https://hooks.slack.com/services/T/B/X\"\nformat = \"slack\"\n\
             digest = \"15m\"\ngive_up_after = \"1d\"\nretry_schedule = [\"10s\", \"1m\"]\n",
        )
        .expect("valid");
        let sink = &config.sinks[0];
        assert_eq!(sink.format, SinkFormat::Slack);
        assert_eq!(
            sink.rate_limit.map(|r| r.to_string()).as_deref(),
            Some("1/s")
        );
        assert_eq!(sink.digest, Some(std::time::Duration::from_secs(900)));
        assert_eq!(sink.give_up_after.as_secs(), 86_400);
        assert_eq!(sink.retry_schedule.len(), 2);
        assert!(sink.secrets.iter().any(|s| s.contains("/T/B/X")));
        // `{:?}` of a sink never shows the URL's secret part.
        assert!(!format!("{sink:?}").contains("/T/B/X"));
        let config = with_sink(
            "kind = \"webhook\"\nurl = \"https://example.org/h\"\nrate_limit = \"none\"\n\
             secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n",
        )
        .expect("valid");
        assert_eq!(config.sinks[0].rate_limit, None);
        assert_eq!(config.sinks[0].signing_key.as_ref().map(Vec::len), Some(24));
    }

    #[test]
    fn each_format_says_what_it_is_missing_with_a_location() {
        let e = problems(
            "kind = \"webhook\"\nurl = \"https://api.telegram.org/botX/sendMessage\"\nformat = \"telegram\"\n",
        );
        assert!(
            e.contains("w.toml:9:8: sink \"s\" (format telegram) needs chat_id"),
            "{e}"
        );
        let e = problems(
            "kind = \"webhook\"\nurl = \"https://m.example\"\nformat = \"matrix\"\nroom = \"!r:m\"\n",
        );
        assert!(e.contains("needs token"), "{e}");
        let e =
            problems("kind = \"webhook\"\nurl = \"https://x.example\"\nformat = \"template\"\n");
        assert!(e.contains("needs template"), "{e}");
        let e = problems(
            "kind = \"webhook\"\nurl = \"https://x.example\"\nformat = \"slack\"\nchat_id = \"1\"\n",
        );
        assert!(e.contains("chat_id is not used by format slack"), "{e}");
        let e = problems(
            "kind = \"webhook\"\nurl = \"https://x.example\"\nformat = \"slack\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n",
        );
        assert!(e.contains("slack does not use it"), "{e}");
        let e = problems(
            "kind = \"webhook\"\nurl = \"https://x.example\"\nsecret = \"hunter2hunter2\"\n",
        );
        assert!(e.contains("whsec_") && !e.contains("hunter2"), "{e}");
        let e =
            problems("kind = \"webhook\"\nurl = \"https://x.example\"\nrate_limit = \"fast\"\n");
        assert!(
            e.contains("w.toml:12:14") && e.contains("\"30/min\""),
            "{e}"
        );
        let e = problems(
            "kind = \"webhook\"\nurl = \"https://x.example\"\nformat = \"template\"\ntemplate = '{\"t\": \"{{ title }}\"}'\n",
        );
        assert!(e.contains("without quotes"), "{e}");
        let e = problems("kind = \"stdout\"\nformat = \"discord\"\n");
        assert!(e.contains("format = \"json\" only"), "{e}");
        let e = problems(
            "kind = \"webhook\"\nurl = \"https://x.example\"\nheaders = { \"Bad Name\" = \"v\" }\n",
        );
        assert!(e.contains("not a valid header name"), "{e}");
        let e = problems("kind = \"webhook\"\nurl = \"${credential:hook}\"\n");
        assert!(e.contains("LoadCredential=hook"), "{e}");
    }
}
