//! `watchword status`: what the service is doing, on one screen, for a person.
//!
//! It reads the database the daemon writes (WAL lets readers in at any time) and never takes
//! the writer lock, so it is safe to run beside `watchword run`.

use std::fmt::Write as _;

use anyhow::Context;
use chrono::{Local, TimeZone, Utc};

use crate::config::Config;
use crate::service::age;
use crate::store::Store;

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// One JSON object for scripts and monitoring, times in RFC 3339 UTC.
    #[arg(long)]
    json: bool,
}

pub fn show(config: &Config, args: &StatusArgs) -> anyhow::Result<()> {
    let database = &config.daemon.database;
    if !database.exists() {
        anyhow::bail!(
            "no database at {} yet: start the service (or run `watchword once`) first",
            database.display()
        );
    }
    let store = Store::open_read_only(database)?;
    let names: Vec<String> = config.feeds.iter().map(|f| f.name.clone()).collect();
    let health = store
        .health(&names)
        .with_context(|| format!("cannot read {}", database.display()))?;
    let now = Utc::now().timestamp();
    let when = |at: i64| {
        let local = Local
            .timestamp_opt(at, 0)
            .single()
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default();
        format!("{local} ({} ago)", age(now - at))
    };

    if args.json {
        let disabled = store
            .disabled_sinks()
            .with_context(|| format!("cannot read {}", database.display()))?;
        let time = crate::model::time::rfc3339;
        let body = serde_json::json!({
            "config": config.path,
            "database": database,
            "feeds": config.feeds.len(),
            "rules": config.rules.len(),
            "sinks": config.sinks.len(),
            "feeds_polled": health.feeds_polled,
            "last_poll_at": health.last_poll_at.map(time),
            "alerts": {
                "pending": health.alerts_pending,
                "delivered": health.alerts_delivered,
                "dead": health.alerts_dead,
                "oldest_pending_at": health.oldest_pending_at.map(time),
            },
            "deliveries_dead": health.deliveries_dead,
            "disabled_sinks": disabled.iter().map(|d| serde_json::json!({
                "sink": d.sink,
                "disabled_at": time(d.disabled_at),
                "reason": d.reason,
            })).collect::<Vec<_>>(),
            "failing_feeds": health.failing.iter().map(|f| serde_json::json!({
                "feed": f.name,
                "consecutive_failures": f.consecutive_failures,
                "last_error": f.last_error,
                "last_success_at": f.last_success_at.map(time),
            })).collect::<Vec<_>>(),
            "metrics": config.daemon.metrics_listen.map(|a| format!("http://{a}/metrics")),
        });
        let mut text = serde_json::to_string_pretty(&body).unwrap_or_else(|_| "{}".into());
        text.push('\n');
        super::print_out(&text);
        return Ok(());
    }

    let mut out = String::new();
    let _ = writeln!(out, "config:    {}", config.path.display());
    let _ = writeln!(out, "database:  {}", database.display());
    let _ = writeln!(
        out,
        "watching:  {} feed(s), {} rule(s), {} sink(s)",
        config.feeds.len(),
        config.rules.len(),
        config.sinks.len()
    );
    let never = config.feeds.len() as u64 - health.feeds_polled.min(config.feeds.len() as u64);
    let _ = writeln!(
        out,
        "feeds:     {} ok, {} failing, {} not polled yet",
        health.feeds_polled - health.failing.len() as u64,
        health.failing.len(),
        never
    );
    let _ = writeln!(
        out,
        "last pass: {}",
        health
            .last_poll_at
            .map_or_else(|| "never".to_string(), when)
    );
    let oldest = health
        .oldest_pending_at
        .map(|at| format!(" (oldest raised {} ago)", age(now - at)))
        .unwrap_or_default();
    let dead_deliveries = if health.deliveries_dead > health.alerts_dead {
        format!(
            "; {} delivery(ies) dead (`watchword alerts --dead`)",
            health.deliveries_dead
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "alerts:    {} pending{oldest}, {} delivered, {} dead{dead_deliveries}",
        health.alerts_pending, health.alerts_delivered, health.alerts_dead
    );
    let _ = writeln!(
        out,
        "metrics:   {}",
        config
            .daemon
            .metrics_listen
            .map_or_else(|| "off".to_string(), |a| format!("http://{a}/metrics"))
    );
    let disabled = store
        .disabled_sinks()
        .with_context(|| format!("cannot read {}", database.display()))?;
    if !disabled.is_empty() {
        let _ = writeln!(
            out,
            "\ndisabled sinks (their receiver answered 410 Gone; fix the url, then \
             `watchword redeliver --dead`):"
        );
        let mut table = super::table(&["SINK", "SINCE", "REASON"], &[]);
        for sink in &disabled {
            table.add_row([
                sink.sink.clone(),
                when(sink.disabled_at),
                crate::text::for_terminal(&sink.reason),
            ]);
        }
        out.push_str(&super::table_text(&table, "  "));
    }
    if !health.failing.is_empty() {
        let _ = writeln!(out, "\nfailing feeds:");
        let mut table = super::table(&["FEED", "FAILS", "LAST OK", "LAST ERROR"], &[1]);
        for feed in &health.failing {
            let since = feed.last_success_at.map_or_else(
                || "never fetched".to_string(),
                |at| format!("{} ago", age(now - at)),
            );
            table.add_row([
                feed.name.clone(),
                feed.consecutive_failures.to_string(),
                since,
                crate::text::for_terminal(&feed.last_error),
            ]);
        }
        out.push_str(&super::table_text(&table, "  "));
    }
    // `watchword status | head` closes the pipe early; that is not an error worth a panic.
    super::print_out(&out);
    Ok(())
}
