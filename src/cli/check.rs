//! `watchword check`: the config validated, and a one-screen summary of what it watches (or
//! one JSON object for scripts).

use std::fmt::Write as _;

use serde_json::json;

use super::{print_json, print_out, short_duration, table, table_text};
use crate::config::{Config, ConfigError, SinkKind};
use crate::runtime::Runtime;
use crate::text::{redact_url, url_origin};

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// One JSON object for scripts: the feeds, rules and sinks, warnings; or the problems.
    #[arg(long)]
    pub json: bool,
}

pub(super) fn show(config: &Runtime, args: &CheckArgs) {
    if args.json {
        print_json(&summary_json(config));
    } else {
        print_out(&summary_text(config));
    }
}

/// For `check --json` on a config that did not load: the problems, each located.
pub(super) fn print_refusal(path: &std::path::Path, error: &ConfigError) {
    let problems: Vec<serde_json::Value> = match error {
        ConfigError::Invalid(diagnostics) => diagnostics
            .iter()
            .map(|d| {
                json!({
                    "file": d.path,
                    "line": d.line,
                    "column": d.column,
                    "message": d.message,
                })
            })
            .collect(),
        ConfigError::Read { .. } => vec![json!({
            "file": path,
            "line": null,
            "column": null,
            "message": error.to_string(),
        })],
    };
    print_json(&json!({
        "config": path,
        "valid": false,
        "problems": problems,
    }));
}

/// The same facts as the summary. Durations are whole seconds; no secret is included (URLs
/// are redacted, headers and signing keys are named, never shown).
fn summary_json(config: &Runtime) -> serde_json::Value {
    let d = &config.daemon;
    let feeds: Vec<serde_json::Value> = config
        .feeds
        .iter()
        .map(|feed| {
            json!({
                "name": feed.name,
                "url": redact_url(&feed.url),
                "interval_seconds": feed.interval.as_secs(),
                "tags": feed.tags,
            })
        })
        .collect();
    let rules: Vec<serde_json::Value> = config
        .rules
        .iter()
        .map(|rule| {
            json!({
                "name": rule.name,
                "notify": rule.notify,
                "priority": rule.priority.as_str(),
                "query": rule.query,
            })
        })
        .collect();
    let sinks: Vec<serde_json::Value> = config
        .sinks
        .iter()
        .map(|sink| {
            json!({
                "name": sink.name,
                "kind": sink.kind.to_string(),
                "target": target(sink),
                "format": sink.format.to_string(),
                "signed": sink.signing_key.is_some(),
                "rate_limit": sink.rate_limit.map(|l| l.to_string()),
                "digest_seconds": sink.digest.map(|d| d.as_secs()),
                "digest_at": sink.digest_at.as_ref().map(|schedule| json!({
                    "times": schedule.times.iter().map(|t| t.format("%H:%M:%S").to_string()).collect::<Vec<_>>(),
                    "timezone": schedule.zone.to_string(),
                })),
                "headers": sink.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({
        "config": config.path,
        "valid": true,
        "database": d.database,
        "defaults": {
            "poll_interval_seconds": d.poll_interval.as_secs(),
            "max_age_seconds": d.max_age.as_secs(),
            "concurrency": d.concurrency,
        },
        "feeds": feeds,
        "rules": rules,
        "sinks": sinks,
        "unused_sinks": unused_sinks(config),
        "warnings": warnings(config),
    })
}

/// Where a sink sends, for people: a webhook's origin only (the path is as good as a password).
fn target(sink: &crate::alert::Sink) -> Option<String> {
    match (sink.kind, sink.url.as_deref(), &sink.email) {
        (SinkKind::Webhook, Some(url), _) => Some(url_origin(url)),
        (SinkKind::Email, _, Some(email)) => Some(email.describe()),
        _ => None,
    }
}

fn unused_sinks(config: &Runtime) -> Vec<&str> {
    config
        .sinks
        .iter()
        .filter(|s| !config.rules.iter().any(|r| r.notify.contains(&s.name)))
        .map(|s| s.name.as_str())
        .collect()
}

fn warnings(config: &Runtime) -> Vec<String> {
    let mut warnings: Vec<String> = config.warnings.iter().map(ToString::to_string).collect();
    warnings.extend(rule_warnings(config));
    warnings
}

fn summary_text(config: &Runtime) -> String {
    let mut out = String::new();
    let d = &config.daemon;
    let _ = writeln!(out, "{}: OK", config.path.display());
    let _ = writeln!(out, "database: {}", d.database.display());
    let _ = writeln!(
        out,
        "defaults: poll every {}, alert on items newer than {}, {} fetches at a time",
        short_duration(d.poll_interval),
        short_duration(d.max_age),
        d.concurrency
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "{} feed(s):", config.feeds.len());
    let mut feeds = table(&["FEED", "EVERY", "URL", "TAGS"], &[]);
    for feed in &config.feeds {
        feeds.add_row([
            feed.name.clone(),
            short_duration(feed.interval),
            redact_url(&feed.url),
            feed.tags.join(", "),
        ]);
    }
    out.push_str(&table_text(&feeds, "  "));
    let _ = writeln!(out);
    let _ = writeln!(out, "{} rule(s):", config.rules.len());
    let mut rules = table(&["RULE", "NOTIFIES", "QUERY"], &[]);
    for rule in &config.rules {
        // A query is written on one line or many; a table cell keeps it on one.
        let query = rule.query.split_whitespace().collect::<Vec<_>>().join(" ");
        rules.add_row([rule.name.clone(), rule.notify.join(", "), query]);
    }
    out.push_str(&table_text(&rules, "  "));
    let _ = writeln!(out);
    let _ = writeln!(out, "{} sink(s):", config.sinks.len());
    let mut sinks = table(&["SINK", "KIND", "TARGET", "DETAILS"], &[]);
    for sink in &config.sinks {
        let target = target(sink).unwrap_or_default();
        // Secrets (URL paths, keys, tokens, header values) are never printed: only whether
        // they are set.
        let mut extras = match sink.kind {
            SinkKind::Email => Vec::new(),
            _ => vec![format!("format {}", sink.format)],
        };
        if sink.signing_key.is_some() {
            extras.push("signed".into());
        }
        if let Some(limit) = sink.rate_limit {
            extras.push(format!("at most {limit}"));
        }
        if let Some(digest) = sink.digest {
            extras.push(format!("digest every {}", short_duration(digest)));
        }
        if let Some(schedule) = &sink.digest_at {
            let times: Vec<String> = schedule
                .times
                .iter()
                .map(|t| t.format("%H:%M").to_string())
                .collect();
            extras.push(format!("digest at {} {}", times.join(", "), schedule.zone));
        }
        if !sink.headers.is_empty() {
            let names: Vec<&str> = sink.headers.iter().map(|(k, _)| k.as_str()).collect();
            extras.push(format!("headers {}", names.join(", ")));
        }
        sinks.add_row([
            sink.name.clone(),
            sink.kind.to_string(),
            target,
            extras.join(", "),
        ]);
    }
    out.push_str(&table_text(&sinks, "  "));
    let unused = unused_sinks(config);
    if !unused.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "note: no rule notifies sink(s) {}", unused.join(", "));
    }
    let warnings = warnings(config);
    if !warnings.is_empty() {
        let _ = writeln!(out);
        for warning in warnings {
            let _ = writeln!(out, "warning: {warning}");
        }
    }
    out
}

/// Rules that raised no alert for this long get a `check` warning (issue 4).
const QUIET_RULE_DAYS: i64 = 30;

/// Unused groups, and (when the database exists) rules that raised no alert in the last
/// [`QUIET_RULE_DAYS`] days or since the history began: likely typos or stale watches.
fn rule_warnings(config: &Config) -> Vec<String> {
    let mut warnings: Vec<String> = crate::rules::unused_groups(
        &config.groups,
        config.rules.iter().map(|r| r.query.as_str()),
    )
    .into_iter()
    .map(|g| format!("group @{g} is not used by any rule"))
    .collect();
    warnings.extend(crate::rules::shared_place_warnings(
        &config.groups,
        config.rules.iter().map(|r| crate::rules::RuleSpec {
            name: &r.name,
            query: &r.query,
        }),
    ));
    match crate::store::rule_activity(&config.daemon.database) {
        Ok(Some(activity)) => {
            let now = chrono::Utc::now().timestamp();
            let Some(since) = activity.since else {
                return warnings;
            };
            let days = ((now - since) / 86_400).min(QUIET_RULE_DAYS);
            if days < 1 {
                return warnings;
            }
            let cutoff = now - days * 86_400;
            for rule in &config.rules {
                let quiet = activity
                    .last_alert
                    .get(&rule.name)
                    .is_none_or(|&at| at < cutoff);
                if quiet {
                    warnings.push(format!(
                        "rule {:?} raised no alert in the last {days} day(s); check its query with `watchword test --rule {} SOURCE`",
                        rule.name, rule.name
                    ));
                }
            }
        }
        Ok(None) => {}
        Err(e) => warnings.push(format!("cannot read rule activity from the database: {e}")),
    }
    warnings
}
