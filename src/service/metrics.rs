//! Prometheus metrics. Call sites in the pipeline use the one-line functions below; counters
//! and histograms live in the `metrics` global recorder, and the gauges the database can
//! answer (alerts by state, oldest pending alert, failing feeds, last poll) are computed at
//! scrape time instead of being kept in step by hand.
//!
//! Until [`install`] runs (only `watchword run` calls it) every function here is a no-op, so
//! `once` and the unit tests pay nothing. Labels come from the config (rules, sinks) or from
//! small fixed sets, never from item data or feed names: tens of thousands of feeds would
//! make tens of thousands of series.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{
    Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram,
};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::feed::{FetchError, FetchOutcome};
use crate::model::AttemptOutcome;
use crate::store::Health;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

const FETCH_DURATION: &str = "watchword_feed_fetch_duration_seconds";
const DELIVERY_LATENCY: &str = "watchword_delivery_latency_seconds";

/// Installs the global recorder (once per process) and returns the handle that renders it.
pub fn install() -> Option<&'static PrometheusHandle> {
    if let Some(handle) = HANDLE.get() {
        return Some(handle);
    }
    // Real histograms, not the exporter's default summaries: quantiles from one process
    // cannot be aggregated, and buckets let an alert say "p95 fetch over 10 s".
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full(FETCH_DURATION.into()),
            &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0],
        )
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full(DELIVERY_LATENCY.into()),
                &[
                    1.0,
                    5.0,
                    15.0,
                    60.0,
                    300.0,
                    900.0,
                    3600.0,
                    4.0 * 3600.0,
                    24.0 * 3600.0,
                ],
            )
        });
    let handle = match builder.map(PrometheusBuilder::install_recorder) {
        Ok(Ok(handle)) => handle,
        Ok(Err(e)) | Err(e) => {
            tracing::error!("cannot set up metrics: {e}; /metrics will be empty");
            return None;
        }
    };
    describe();
    gauge!("watchword_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    Some(HANDLE.get_or_init(|| handle))
}

fn describe() {
    describe_counter!(
        "watchword_feed_fetches_total",
        "Feed fetches by outcome (ok, http_error, timeout, network, too_large, file_error, \
         invalid) and HTTP status (2xx on success, the code on an HTTP error, none otherwise)"
    );
    describe_histogram!(FETCH_DURATION, Unit::Seconds, "Time to fetch one feed");
    describe_counter!(
        "watchword_items_fetched_total",
        "Items in fetched feeds, old and new"
    );
    describe_counter!("watchword_items_new_total", "Items seen for the first time");
    describe_counter!(
        "watchword_articles_read_total",
        "Article pages fetched for read_articles, by outcome (text, none)"
    );
    describe_counter!(
        "watchword_rule_matches_total",
        "New items that matched a rule, by rule"
    );
    describe_gauge!(
        "watchword_alerts",
        "Alerts by state: pending (a delivery is owed), delivered, dead (gave up)"
    );
    describe_counter!(
        "watchword_delivery_attempts_total",
        "Delivery attempts by sink and outcome (delivered, retry, dead)"
    );
    describe_histogram!(
        DELIVERY_LATENCY,
        Unit::Seconds,
        "From an alert being raised to a sink accepting it"
    );
    describe_gauge!(
        "watchword_oldest_pending_alert_age_seconds",
        Unit::Seconds,
        "Age of the oldest alert still waiting for a sink; 0 when none waits"
    );
    describe_gauge!(
        "watchword_feeds_failing",
        "Configured feeds whose last fetch failed"
    );
    describe_gauge!("watchword_feeds", "Configured feeds");
    describe_gauge!("watchword_rules", "Configured rules");
    describe_gauge!(
        "watchword_last_poll_timestamp_seconds",
        Unit::Seconds,
        "When a feed was last polled (unix time)"
    );
    describe_gauge!(
        "watchword_scheduler_last_tick_age_seconds",
        Unit::Seconds,
        "Time since the scheduler last made progress"
    );
    describe_gauge!("watchword_build_info", "Always 1; the version is a label");
}

/// One feed fetch finished (call right after the fetch, before parsing).
pub fn observe_fetch(result: &Result<FetchOutcome, FetchError>, elapsed: Duration) {
    if HANDLE.get().is_none() {
        return;
    }
    let (outcome, status) = match result {
        Ok(FetchOutcome::NotModified(_)) => ("not_modified", "304".to_string()),
        Ok(_) => ("ok", "2xx".to_string()),
        Err(e) => fetch_labels(e),
    };
    counter!("watchword_feed_fetches_total", "outcome" => outcome, "status" => status).increment(1);
    histogram!(FETCH_DURATION).record(elapsed.as_secs_f64());
}

fn fetch_labels(e: &FetchError) -> (&'static str, String) {
    match e {
        FetchError::Http { status, .. } => ("http_error", status.as_u16().to_string()),
        FetchError::Timeout { .. } | FetchError::Stalled { .. } => ("timeout", "none".into()),
        FetchError::Connect { .. }
        | FetchError::ConnectionClosed
        | FetchError::Network { .. }
        | FetchError::TooManyRedirects { .. }
        | FetchError::BadRedirect { .. }
        | FetchError::Decode { .. } => ("network", "none".into()),
        FetchError::TooLarge { .. } => ("too_large", "none".into()),
        FetchError::Io { .. } => ("file_error", "none".into()),
        FetchError::InvalidUrl { .. }
        | FetchError::UnsupportedScheme { .. }
        | FetchError::Client { .. } => ("invalid", "none".into()),
    }
}

/// A fetched feed held `fetched` items, `new` of them never seen before.
pub fn items_seen(fetched: usize, new: usize) {
    counter!("watchword_items_fetched_total").increment(fetched as u64);
    counter!("watchword_items_new_total").increment(new as u64);
}

/// An article page was fetched for `read_articles`; `text`: it yielded main text.
pub fn article_read(text: bool) {
    let outcome = if text { "text" } else { "none" };
    counter!("watchword_articles_read_total", "outcome" => outcome).increment(1);
}

pub fn rule_matched(rule: &str) {
    if HANDLE.get().is_some() {
        counter!("watchword_rule_matches_total", "rule" => rule.to_string()).increment(1);
    }
}

/// One delivery attempt to `sink` (one alert, or a digest of alerts created at `created`)
/// ended with `outcome`.
pub fn delivery_attempt(sink: &str, outcome: &AttemptOutcome, created: &[i64]) {
    if HANDLE.get().is_none() {
        return;
    }
    let label = match outcome {
        AttemptOutcome::Delivered { .. } => "delivered",
        AttemptOutcome::Retry { .. } => "retry",
        AttemptOutcome::Dead { .. } => "dead",
    };
    counter!("watchword_delivery_attempts_total", "sink" => sink.to_string(), "outcome" => label)
        .increment(1);
    if let AttemptOutcome::Delivered { .. } = outcome {
        let now = chrono::Utc::now().timestamp();
        for created_at in created {
            histogram!(DELIVERY_LATENCY).record((now - created_at).max(0) as f64);
        }
    }
}

/// The configured feeds and rules, after start-up and each reload.
pub fn configured(feeds: usize, rules: usize) {
    gauge!("watchword_feeds").set(feeds as f64);
    gauge!("watchword_rules").set(rules as f64);
}

/// Renders every metric, with the database's gauges from `health` (read just before).
pub fn render(handle: &PrometheusHandle, health: Option<&Health>, now: i64) -> String {
    if let Some(h) = health {
        gauge!("watchword_alerts", "state" => "pending").set(h.alerts_pending as f64);
        gauge!("watchword_alerts", "state" => "delivered").set(h.alerts_delivered as f64);
        gauge!("watchword_alerts", "state" => "dead").set(h.alerts_dead as f64);
        let oldest = h.oldest_pending_at.map_or(0, |at| (now - at).max(0));
        gauge!("watchword_oldest_pending_alert_age_seconds").set(oldest as f64);
        gauge!("watchword_feeds_failing").set(h.failing.len() as f64);
        if let Some(at) = h.last_poll_at {
            gauge!("watchword_last_poll_timestamp_seconds").set(at as f64);
        }
    }
    if let Some(age) = super::since_last_tick() {
        gauge!("watchword_scheduler_last_tick_age_seconds").set(age.as_secs_f64());
    }
    handle.render()
}

/// Drains histogram buffers; the exporter leaves scheduling that to us (no async runtime
/// feature).
pub fn upkeep() {
    if let Some(handle) = HANDLE.get() {
        handle.run_upkeep();
    }
}
