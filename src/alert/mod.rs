//! Sinks: where alerts go, how they are sent, and what a failure means for the retry schedule.
//!
//! The deliverer makes one attempt at one delivery and says what should happen next; the
//! `daemon` records that in the store. Nothing here knows about feeds' fetching or rule syntax.

pub mod payload;
pub mod retry;

use std::collections::HashMap;
use std::io::Write;
use std::time::Duration;

use crate::config::{SinkConfig, SinkKind};
use crate::feed::url_origin;
use crate::store::{AttemptOutcome, Delivery};

pub use payload::{alert_id, render};
use retry::Failure;

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("cannot build the HTTP client for webhooks: {0}")]
    Client(#[source] reqwest::Error),
}

/// Sends deliveries to the configured sinks.
pub struct Deliverer {
    client: reqwest::Client,
    sinks: HashMap<String, SinkConfig>,
}

impl Deliverer {
    pub fn new(
        sinks: &[SinkConfig],
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
            sinks: sinks.iter().map(|s| (s.name.clone(), s.clone())).collect(),
        })
    }

    /// The configured sinks' names, sorted.
    pub fn sink_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.sinks.keys().cloned().collect();
        names.sort_unstable();
        names
    }

    /// A loggable name for a sink: its name and, for webhooks, only the URL's origin (the rest
    /// of a webhook URL is as good as a password).
    pub fn describe(&self, name: &str) -> String {
        match self.sinks.get(name).and_then(|s| s.url.as_deref()) {
            Some(url) => format!("{name} ({})", url_origin(url)),
            None => name.to_string(),
        }
    }

    /// Makes one attempt at `delivery`. Returns `None` when the sink is no longer configured:
    /// the delivery stays pending, untouched, until the sink comes back or the user removes it.
    pub async fn attempt(&self, delivery: &Delivery) -> Option<AttemptOutcome> {
        let sink = self.sinks.get(&delivery.sink)?;
        let result = match sink.kind {
            SinkKind::Stdout => {
                // A slow pipe or a stalled journal must not stall a runtime worker.
                let payload = delivery.payload.clone();
                tokio::task::spawn_blocking(move || write_stdout(&payload))
                    .await
                    .unwrap_or_else(|e| {
                        Err(AttemptError {
                            status: None,
                            failure: Failure::Transient,
                            message: format!("stdout writer failed: {e}"),
                            retry_after: None,
                        })
                    })
            }
            SinkKind::Webhook => match sink.url.as_deref() {
                Some(url) => self.post(url, delivery).await,
                None => Err(AttemptError {
                    status: None,
                    failure: Failure::Client,
                    message: "webhook sink has no url".into(),
                    retry_after: None,
                }),
            },
        };
        // The retry is timed from the end of the attempt: a request that took the whole
        // timeout must not make its first retry due before it is even recorded.
        let now = chrono::Utc::now().timestamp();
        Some(match result {
            Ok(status) => AttemptOutcome::Delivered { status },
            Err(error) => {
                let attempts = delivery.attempts + 1;
                match retry::next_attempt(
                    &delivery.alert_id,
                    error.failure,
                    attempts,
                    delivery.created_at,
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
                }
            }
        })
    }

    async fn post(&self, url: &str, delivery: &Delivery) -> Result<Option<u16>, AttemptError> {
        let response = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            // The same id on every attempt lets the receiver drop duplicates.
            .header("webhook-id", &delivery.alert_id)
            .header(
                "webhook-timestamp",
                chrono::Utc::now().timestamp().to_string(),
            )
            .body(delivery.payload.clone())
            .send()
            .await
            .map_err(|e| AttemptError {
                status: None,
                failure: Failure::Transient,
                // reqwest's error text includes the URL; keep only the cause.
                message: describe_request_error(&e),
                retry_after: None,
            })?;
        let status = response.status();
        if status.is_success() {
            return Ok(Some(status.as_u16()));
        }
        let retry_after = response
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
        Err(AttemptError {
            status: Some(status.as_u16()),
            failure,
            message: format!("HTTP {status}"),
            retry_after,
        })
    }
}

struct AttemptError {
    status: Option<u16>,
    failure: Failure,
    message: String,
    retry_after: Option<i64>,
}

fn write_stdout(payload: &str) -> Result<Option<u16>, AttemptError> {
    let mut out = std::io::stdout().lock();
    out.write_all(payload.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map(|()| None)
        .map_err(|e| AttemptError {
            status: None,
            failure: Failure::Transient,
            message: format!("cannot write to stdout: {e}"),
            retry_after: None,
        })
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
    use super::parse_retry_after;

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("120"), Some(120));
        assert_eq!(parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(parse_retry_after("soon"), None);
    }
}
