//! `watchword feeds`: every configured feed's health, as a table or as JSON for scripts.
//!
//! Reads the database only (no writer lock), so it works beside a running daemon.

use anyhow::Context;
use chrono::{TimeZone, Utc};
use serde::Serialize;

use crate::config::Config;
use crate::store::{FeedState, Store};
use crate::text::redact_url;

#[derive(Debug, clap::Args)]
pub struct FeedsArgs {
    /// Print a JSON array instead of a table.
    #[arg(long)]
    json: bool,
}

/// One row of the view. Times are RFC 3339 (UTC) in JSON.
#[derive(Debug, Serialize)]
struct FeedRow {
    name: String,
    /// Redacted: query strings and credentials can hold tokens.
    url: String,
    /// `ok`, `failing`, `broken`, `stale`, `gone` or `never polled`.
    state: &'static str,
    last_success: Option<String>,
    last_status: Option<u16>,
    consecutive_failures: u32,
    last_error: Option<String>,
    next_due: Option<String>,
    items_seen: u64,
    alerts: u64,
    /// Where permanent redirects lead: update the config's url to this.
    moved_to: Option<String>,
    /// Items of the last read that could not be read, with the first reason.
    skipped: Option<String>,
}

pub fn show(config: &Config, args: &FeedsArgs) -> anyhow::Result<()> {
    let path = &config.daemon.database;
    let states = if path.exists() {
        Store::connect(path)
            .and_then(|store| store.feed_states())
            .with_context(|| format!("cannot read feed state from {}", path.display()))?
    } else {
        Default::default()
    };
    let rows: Vec<FeedRow> = config
        .feeds
        .iter()
        .map(|feed| {
            // State recorded for another URL belongs to the feed's past, not to this one.
            let state = states.get(&feed.name).filter(|s| s.url == feed.url);
            row(&feed.name, &feed.url, state)
        })
        .collect();
    let out = if args.json {
        let mut text = serde_json::to_string_pretty(&rows)?;
        text.push('\n');
        text
    } else {
        table(&rows)
    };
    // `watchword feeds | head` closes the pipe early; that is not an error worth a panic.
    super::print_out(&out);
    Ok(())
}

fn row(name: &str, url: &str, state: Option<&FeedState>) -> FeedRow {
    let Some(s) = state else {
        return FeedRow {
            name: name.to_owned(),
            url: redact_url(url),
            state: "never polled",
            last_success: None,
            last_status: None,
            consecutive_failures: 0,
            last_error: None,
            next_due: None,
            items_seen: 0,
            alerts: 0,
            moved_to: None,
            skipped: None,
        };
    };
    // The same word the dashboard shows.
    let label = crate::store::FeedHealth::of(Some(s)).label();
    FeedRow {
        name: name.to_owned(),
        url: redact_url(url),
        state: label,
        last_success: s.last_success_at.map(rfc3339),
        last_status: s.last_status,
        consecutive_failures: s.consecutive_failures,
        last_error: s.last_error.as_deref().map(one_line),
        next_due: s.next_due_at.filter(|_| s.gone_at.is_none()).map(rfc3339),
        items_seen: s.items_seen,
        alerts: s.alerts,
        moved_to: s.moved_to.as_deref().map(redact_url),
        skipped: s.skipped.as_deref().map(one_line),
    }
}

fn table(rows: &[FeedRow]) -> String {
    let now = Utc::now().timestamp();
    let mut table = super::table(
        &[
            "FEED",
            "STATE",
            "LAST SUCCESS",
            "HTTP",
            "FAILS",
            "NEXT POLL",
            "ITEMS",
            "ALERTS",
            "LAST ERROR",
        ],
        &[4, 6, 7],
    );
    for r in rows {
        // The last column holds the error and, below it, what else the operator must act on,
        // so that no note widens the columns before it.
        let mut last = r
            .last_error
            .as_deref()
            .map(|e| truncate(e, 60))
            .unwrap_or_default();
        if let Some(target) = &r.moved_to {
            last.push_str(&format!(
                "\n↳ moved permanently to {target}: update its url in the config"
            ));
        }
        if let Some(skipped) = &r.skipped {
            last.push_str(&format!("\n↳ {}", crate::text::for_terminal(skipped)));
        }
        table.add_row([
            r.name.clone(),
            r.state.to_owned(),
            relative(r.last_success.as_deref(), now),
            r.last_status.map(|s| s.to_string()).unwrap_or("-".into()),
            r.consecutive_failures.to_string(),
            relative(r.next_due.as_deref(), now),
            r.items_seen.to_string(),
            r.alerts.to_string(),
            last.trim_start_matches('\n').to_owned(),
        ]);
    }
    super::table_text(&table, "")
}

fn rfc3339(at: i64) -> String {
    Utc.timestamp_opt(at, 0)
        .single()
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// "3m ago", "in 4m", or "-".
fn relative(at: Option<&str>, now: i64) -> String {
    let Some(at) = at.and_then(|a| chrono::DateTime::parse_from_rfc3339(a).ok()) else {
        return "-".into();
    };
    let delta = at.timestamp() - now;
    let span = |secs: i64| {
        let secs = secs.unsigned_abs();
        match secs {
            0..60 => format!("{secs}s"),
            60..3600 => format!("{}m", secs / 60),
            3600..86_400 => format!("{}h", secs / 3600),
            _ => format!("{}d", secs / 86_400),
        }
    };
    if delta <= 0 {
        if delta > -5 {
            "now".into()
        } else {
            format!("{} ago", span(delta))
        }
    } else {
        format!("in {}", span(delta))
    }
}

/// Errors and skip reasons can quote feed bytes: one line, no control characters.
fn one_line(text: &str) -> String {
    crate::text::for_terminal(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn truncate(text: &str, max: usize) -> String {
    crate::text::truncate_chars(text, max)
}
