//! Sinks: where alerts go, how they are sent, and what a failure means for the retry schedule.
//!
//! The deliverer makes one attempt at one delivery and says what should happen next; the
//! `daemon` records that in the store. Nothing here knows about feeds' fetching or rule syntax.

pub mod email;
pub mod format;
pub mod message;
pub mod retry;
pub mod sign;

use std::collections::HashMap;
use std::io::Write;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::config::{SinkConfig, SinkKind};
use crate::model::AttemptOutcome;
use crate::text::url_origin;

pub use format::{Batch, Method, Request, Sink};
use retry::{Failure, Policy};

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("cannot build the HTTP client for webhooks: {0}")]
    Client(#[source] reqwest::Error),
}

/// The most of an error response read (for a JSON `retry_after`); the rest is not needed.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The most of a receiver's answer `watchword notify-test` reads and shows.
const MAX_PROBE_BODY: usize = 2048;

/// What a receiver answered to [`Deliverer::probe`]: its status (`None` for the stdout sink)
/// and the start of its body, with the sink's secrets scrubbed.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: Option<u16>,
    pub body: String,
}

/// Sends deliveries to the configured sinks.
pub struct Deliverer {
    client: reqwest::Client,
    sinks: HashMap<String, Outlet>,
    /// `delivery_timeout`: a webhook request's, an SMTP connection's and each SMTP reply's.
    timeout: Duration,
}

struct Outlet {
    sink: Sink,
    /// The sink's own pace (`rate_limit`), shared by everything that sends to it.
    limiter: Option<Arc<DefaultDirectRateLimiter>>,
}

/// One attempt's result, and whether the receiver said the hook is gone (410).
#[derive(Debug, Clone)]
pub struct Attempted {
    pub outcome: AttemptOutcome,
    pub gone: bool,
}

/// What is being delivered: one alert, or a digest of several to one sink.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub sink: &'a str,
    /// The stable `webhook-id`.
    pub id: &'a str,
    pub payloads: Vec<&'a str>,
    /// Failed attempts so far.
    pub attempts: u32,
    /// When the retry window started (the alert's creation, or its re-queueing).
    pub queued_at: i64,
}

impl Deliverer {
    pub fn new(
        sinks: &[Sink],
        user_agent: &str,
        timeout: Duration,
    ) -> Result<Deliverer, AlertError> {
        let client = reqwest::Client::builder()
            .user_agent(user_agent)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            // A webhook that redirects is misconfigured; following it could leak the payload
            // somewhere the user never named (Standard Webhooks: 3xx is a failure).
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(AlertError::Client)?;
        Ok(Deliverer {
            client,
            timeout,
            sinks: sinks
                .iter()
                .map(|s| {
                    let limiter = s.rate_limit.and_then(|limit| {
                        // Evenly spaced, burst of one: no window of `period` ever holds more
                        // than `count` requests, whichever way the receiver counts.
                        NonZeroU32::new(limit.count)?;
                        let quota = Quota::with_period(limit.period / limit.count)?;
                        Some(Arc::new(RateLimiter::direct(quota)))
                    });
                    (
                        s.name.clone(),
                        Outlet {
                            sink: s.clone(),
                            limiter,
                        },
                    )
                })
                .collect(),
        })
    }

    /// The configured sinks' names, sorted.
    pub fn sink_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.sinks.keys().cloned().collect();
        names.sort_unstable();
        names
    }

    pub fn sink(&self, name: &str) -> Option<&SinkConfig> {
        self.sinks.get(name).map(|s| &s.sink.config)
    }

    /// A loggable name for a sink: its name and, for webhooks, only the URL's origin (the rest
    /// of a webhook URL is as good as a password).
    pub fn describe(&self, name: &str) -> String {
        if let Some(email) = self.sinks.get(name).and_then(|s| s.sink.email.as_ref()) {
            return format!("{name} ({})", email.describe());
        }
        match self.sink(name).and_then(|s| s.url.as_deref()) {
            Some(url) => format!("{name} ({})", url_origin(url)),
            None => name.to_string(),
        }
    }

    /// Waits until the sink's rate limit allows one more request.
    pub async fn pace(&self, sink: &str) {
        if let Some(limiter) = self.sinks.get(sink).and_then(|s| s.limiter.as_ref()) {
            limiter.until_ready().await;
        }
    }

    /// Makes one attempt at `out`. Returns `None` when the sink is no longer configured:
    /// the delivery stays pending, untouched, until the sink comes back or the user removes it.
    pub async fn attempt(&self, out: &Outgoing<'_>) -> Option<Attempted> {
        let sink = &self.sinks.get(out.sink)?.sink;
        let result = match sink.kind {
            SinkKind::Stdout => {
                // A slow pipe or a stalled journal must not stall a runtime worker.
                let lines: Vec<String> = out.payloads.iter().map(|p| p.to_string()).collect();
                tokio::task::spawn_blocking(move || write_stdout(&lines))
                    .await
                    .unwrap_or_else(|e| {
                        Err(AttemptError::transient(format!(
                            "stdout writer failed: {e}"
                        )))
                    })
            }
            SinkKind::Email => match &sink.email {
                Some(email) => match email.message(out.id, &out.payloads) {
                    Ok(message) => email
                        .send(&message, self.timeout)
                        .await
                        .map(|()| None)
                        .map_err(|(failure, message)| AttemptError {
                            status: None,
                            failure,
                            message: sink.scrub(&message),
                            retry_after: None,
                        }),
                    Err(message) => Err(AttemptError {
                        status: None,
                        failure: Failure::Client,
                        message: sink.scrub(&message),
                        retry_after: None,
                    }),
                },
                None => Err(AttemptError::transient(
                    "the email sink was not loaded".into(),
                )),
            },
            SinkKind::Webhook => {
                let batch = Batch {
                    id: out.id,
                    payloads: out.payloads.clone(),
                };
                match format::render(sink, &batch) {
                    Ok(request) => self.send(sink, out.id, request).await,
                    Err(e) => Err(AttemptError {
                        status: None,
                        failure: Failure::Client,
                        message: sink.scrub(&e.to_string()),
                        retry_after: None,
                    }),
                }
            }
        };
        // The retry is timed from the end of the attempt: a request that took the whole
        // timeout must not make its first retry due before it is even recorded. Rounded up to
        // the next whole second, so "Retry-After: 2" never comes back after 1.1 s.
        let now = (chrono::Utc::now().timestamp_millis() + 999).div_euclid(1000);
        Some(match result {
            Ok(status) => Attempted {
                outcome: AttemptOutcome::Delivered { status },
                gone: false,
            },
            Err(error) => {
                let attempts = out.attempts + 1;
                let gone = error.failure == Failure::Gone;
                let outcome = match retry::next_attempt(
                    &Policy::of(sink),
                    out.id,
                    error.failure,
                    attempts,
                    out.queued_at,
                    now,
                    error.retry_after,
                ) {
                    Some(next_attempt_at) => AttemptOutcome::Retry {
                        status: error.status,
                        error: error.message,
                        next_attempt_at,
                    },
                    None => AttemptOutcome::Dead {
                        status: error.status,
                        error: error.message,
                    },
                };
                Attempted { outcome, gone }
            }
        })
    }

    /// One delivery of `out` made exactly as [`Deliverer::attempt`] makes it (the sink's rate
    /// limit, format, signature, headers and timeout) that reports what the receiver answered
    /// instead of deciding a retry: `watchword notify-test`. A `stdout` sink prints its line.
    /// `None` when the sink is not configured; `Err` when no answer came (the cause, scrubbed).
    pub async fn probe(&self, out: &Outgoing<'_>) -> Option<Result<Answer, String>> {
        let sink = &self.sinks.get(out.sink)?.sink;
        self.pace(out.sink).await;
        Some(match sink.kind {
            SinkKind::Stdout => {
                let lines: Vec<String> = out.payloads.iter().map(|p| p.to_string()).collect();
                match tokio::task::spawn_blocking(move || write_stdout(&lines)).await {
                    Ok(Ok(_)) => Ok(Answer {
                        status: None,
                        body: String::new(),
                    }),
                    Ok(Err(e)) => Err(e.message),
                    Err(e) => Err(format!("stdout writer failed: {e}")),
                }
            }
            // The same message and SMTP conversation as a delivery; SMTP has no status and
            // body to show, so the answer says the server took it.
            SinkKind::Email => match &sink.email {
                Some(email) => match email.message(out.id, &out.payloads) {
                    Ok(message) => match email.send(&message, self.timeout).await {
                        Ok(()) => Ok(Answer {
                            status: None,
                            body: format!("accepted by {}", email.describe()),
                        }),
                        Err((_, message)) => Err(sink.scrub(&message)),
                    },
                    Err(message) => Err(sink.scrub(&message)),
                },
                None => Err("the email sink was not loaded".into()),
            },
            SinkKind::Webhook => {
                let batch = Batch {
                    id: out.id,
                    payloads: out.payloads.clone(),
                };
                match format::render(sink, &batch) {
                    Ok(request) => match self.post(sink, out.id, request).await {
                        Ok(response) => {
                            let status = response.status().as_u16();
                            let body = read_limited(response, MAX_PROBE_BODY)
                                .await
                                .unwrap_or_default();
                            let body =
                                String::from_utf8_lossy(&body[..body.len().min(MAX_PROBE_BODY)]);
                            Ok(Answer {
                                status: Some(status),
                                body: scrub_echo(sink, &body),
                            })
                        }
                        Err(e) => Err(e.message),
                    },
                    Err(e) => Err(sink.scrub(&e.to_string())),
                }
            }
        })
    }

    async fn send(
        &self,
        sink: &SinkConfig,
        id: &str,
        request: Request,
    ) -> Result<Option<u16>, AttemptError> {
        let response = self.post(sink, id, request).await?;
        let status = response.status();
        if status.is_success() {
            return Ok(Some(status.as_u16()));
        }
        let header_hint = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let failure = match status.as_u16() {
            410 => Failure::Gone,
            408 | 429 => Failure::Transient,
            300..=499 => Failure::Client,
            _ => Failure::Transient,
        };
        let body_hint = if status.as_u16() == 429 {
            read_limited(response, MAX_ERROR_BODY)
                .await
                .and_then(|body| retry_after_in_body(&body))
        } else {
            None
        };
        let retry_after = match (header_hint, body_hint) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let mut message = format!("HTTP {status}");
        if failure == Failure::Gone {
            message.push_str(": the receiver says this hook no longer exists");
        }
        if let Some(asked) = retry_after.filter(|&secs| secs > retry::MAX_RETRY_AFTER_SECS) {
            // Logged and kept as the attempt's error, so `watchword alerts` shows it too.
            let human = |secs: i64| humantime::format_duration(Duration::from_secs(secs as u64));
            message.push_str(&format!(
                "; it asked to wait {}, watchword waits {} at most",
                human(asked),
                human(retry::MAX_RETRY_AFTER_SECS)
            ));
        }
        Err(AttemptError {
            status: Some(status.as_u16()),
            failure,
            message,
            retry_after,
        })
    }

    /// Sends one rendered request: the stable `webhook-id`, a fresh timestamp, the signature
    /// when the sink has a key, and the format's and the user's headers.
    async fn post(
        &self,
        sink: &SinkConfig,
        id: &str,
        request: Request,
    ) -> Result<reqwest::Response, AttemptError> {
        let timestamp = chrono::Utc::now().timestamp();
        let mut builder = match request.method {
            Method::Post => self.client.post(&request.url),
            Method::Put => self.client.put(&request.url),
        }
        .header(reqwest::header::CONTENT_TYPE, &request.content_type)
        // The same id on every attempt lets the receiver drop duplicates.
        .header("webhook-id", id)
        .header("webhook-timestamp", timestamp.to_string());
        if let Some(key) = &sink.signing_key {
            builder = builder.header(
                "webhook-signature",
                sign::signature(key, id, timestamp, request.body.as_bytes()),
            );
        }
        for (name, value) in &request.headers {
            builder = builder.header(name, value);
        }
        builder.body(request.body).send().await.map_err(|e| {
            // reqwest's error text includes the URL; keep only the cause.
            AttemptError::transient(sink.scrub(&describe_request_error(&e)))
        })
    }
}

/// `text` from a receiver with the sink's secrets scrubbed, and also the path and query of its
/// URL on their own: a receiver may echo the path it was called on, and a chat webhook's path
/// is its token.
fn scrub_echo(sink: &SinkConfig, text: &str) -> String {
    let mut out = sink.scrub(text);
    if let Some(url) = sink.url.as_deref().and_then(|u| url::Url::parse(u).ok()) {
        let path = url.path();
        for part in [Some(path).filter(|p| p.len() > 1), url.query()]
            .into_iter()
            .flatten()
        {
            if part.len() >= 4 {
                out = out.replace(part, "…");
            }
        }
    }
    out
}

/// Reads at most `limit` bytes of a response body.
async fn read_limited(mut response: reqwest::Response, limit: usize) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() >= limit {
            break;
        }
    }
    Some(body)
}

/// The retry hint in a 429's JSON body, in whole seconds (rounded up): Discord's
/// `retry_after` (float seconds), Telegram's `parameters.retry_after`, Matrix's
/// `retry_after_ms`.
fn retry_after_in_body(body: &[u8]) -> Option<i64> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let secs = v["retry_after"]
        .as_f64()
        .or_else(|| v["parameters"]["retry_after"].as_f64())
        .or_else(|| v["retry_after_ms"].as_f64().map(|ms| ms / 1000.0))?;
    (secs.is_finite() && secs >= 0.0).then(|| secs.ceil().min(86_400.0) as i64)
}

struct AttemptError {
    status: Option<u16>,
    failure: Failure,
    message: String,
    retry_after: Option<i64>,
}

impl AttemptError {
    fn transient(message: String) -> AttemptError {
        AttemptError {
            status: None,
            failure: Failure::Transient,
            message,
            retry_after: None,
        }
    }
}

fn write_stdout(lines: &[String]) -> Result<Option<u16>, AttemptError> {
    let mut out = std::io::stdout().lock();
    let mut write = || -> std::io::Result<()> {
        for line in lines {
            out.write_all(line.as_bytes())?;
            out.write_all(b"\n")?;
        }
        out.flush()
    };
    write()
        .map(|()| None)
        .map_err(|e| AttemptError::transient(format!("cannot write to stdout: {e}")))
}

/// `Retry-After` is either seconds or an HTTP date.
fn parse_retry_after(value: &str) -> Option<i64> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<i64>() {
        return Some(seconds.max(0));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some((at.timestamp() - chrono::Utc::now().timestamp()).max(0))
}

/// A one-line cause for a failed request, without the URL (it may hold a token).
pub fn describe_request_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".into();
    }
    if e.is_connect() {
        return "connection refused or unreachable".into();
    }
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let text = cause.to_string();
    if text.contains("http://") || text.contains("https://") {
        "request failed".into()
    } else {
        format!("request failed: {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_retry_after, retry_after_in_body};

    #[test]
    fn retry_after_in_json_bodies() {
        assert_eq!(
            retry_after_in_body(
                br#"{"message":"You are being rate limited.","retry_after":1.2,"global":false}"#
            ),
            Some(2)
        );
        assert_eq!(
            retry_after_in_body(br#"{"ok":false,"error_code":429,"parameters":{"retry_after":7}}"#),
            Some(7)
        );
        assert_eq!(
            retry_after_in_body(br#"{"errcode":"M_LIMIT_EXCEEDED","retry_after_ms":2500}"#),
            Some(3)
        );
        assert_eq!(retry_after_in_body(b"slow down"), None);
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("120"), Some(120));
        assert_eq!(parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse_retry_after("soon"), None);
    }
}
