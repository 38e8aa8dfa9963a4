//! `watchword alerts`: what was matched and what became of each delivery, including sinks
//! that their receiver disabled. Reads the database only; safe while the daemon runs.

use std::fmt::Write as _;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Args;

use crate::config::Config;
use crate::daemon::url_fingerprint;
use crate::store::{AlertFilter, DeliveryRow, DisabledSink, Store};

#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// Only deliveries still owed (waiting for their first attempt or a retry).
    #[arg(long, conflicts_with_all = ["dead", "delivered"])]
    pending: bool,
    /// Only dead letters: deliveries that gave up (`watchword redeliver` re-queues them).
    #[arg(long, conflicts_with = "delivered")]
    dead: bool,
    /// Only deliveries that reached their receiver.
    #[arg(long)]
    delivered: bool,
    /// Only alerts raised by this rule.
    #[arg(long, value_name = "RULE")]
    rule: Option<String>,
    /// Only alerts raised since T: a duration ago ("2h", "3d") or a time ("2026-11-27",
    /// "2026-11-27T08:00:00Z").
    #[arg(long, value_name = "T")]
    since: Option<String>,
    /// At most this many deliveries, newest first.
    #[arg(long, default_value_t = 100)]
    limit: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(config: &Config, args: &AlertsArgs) -> anyhow::Result<()> {
    // A misspelt rule would otherwise read as "no alerts match".
    if let Some(rule) = &args.rule
        && config.rule(rule).is_none()
    {
        let known: Vec<&str> = config.rules.iter().map(|r| r.name.as_str()).collect();
        anyhow::bail!(
            "no rule named {rule:?} in the config (rules: {})",
            known.join(", ")
        );
    }
    let since = args
        .since
        .as_deref()
        .map(|t| parse_since(t, Utc::now()))
        .transpose()?;
    let state = if args.pending {
        Some("pending")
    } else if args.dead {
        Some("dead")
    } else if args.delivered {
        Some("delivered")
    } else {
        None
    };
    let filter = AlertFilter {
        state: state.map(str::to_string),
        rule: args.rule.clone(),
        since,
        limit: args.limit,
    };
    if !config.daemon.database.exists() {
        // Do not create an empty database just to list nothing.
        super::print_out(&format!(
            "no alerts yet: {} does not exist (run `watchword once` or `watchword run`)\n",
            config.daemon.database.display()
        ));
        return Ok(());
    }
    let store = Store::connect(&config.daemon.database)?;
    let rows = store.list_deliveries(&filter)?;
    let disabled = store.disabled_sinks()?;
    let out = if args.json {
        render_json(config, &rows, &disabled)
    } else {
        render_table(config, &rows, &disabled)
    };
    // `watchword alerts | head` closes the pipe early; that is not an error worth a panic.
    super::print_out(&out);
    Ok(())
}

/// `2h` (ago), `2026-11-27`, or an RFC 3339 time, as unix seconds.
fn parse_since(text: &str, now: DateTime<Utc>) -> anyhow::Result<i64> {
    let text = text.trim();
    if let Ok(ago) = humantime::parse_duration(text) {
        let ago = chrono::Duration::from_std(ago).context("--since is too far back")?;
        return Ok((now - ago).timestamp());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp());
    }
    if let Ok(day) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(day
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default()
            .and_utc()
            .timestamp());
    }
    anyhow::bail!(
        "--since {text:?}: write a duration ago (\"2h\", \"3d\"), a date (\"2026-11-27\") or an \
         RFC 3339 time (\"2026-11-27T08:00:00Z\")"
    )
}

/// Whether a disabled sink is still disabled for the URL the config has now.
fn still_disabled(config: &Config, d: &DisabledSink) -> bool {
    config
        .sink(&d.sink)
        .and_then(|s| s.url.as_deref())
        .is_none_or(|url| url_fingerprint(url) == d.url_fingerprint)
}

fn time(t: i64) -> String {
    DateTime::<Utc>::from_timestamp(t, 0)
        .map(|t| t.format("%Y-%m-%d %H:%MZ").to_string())
        .unwrap_or_default()
}

fn render_table(config: &Config, rows: &[DeliveryRow], disabled: &[DisabledSink]) -> String {
    let mut out = String::new();
    for d in disabled {
        let _ = write!(
            out,
            "sink {:?} is DISABLED since {}: {}",
            d.sink,
            time(d.disabled_at),
            crate::text::for_terminal(&d.reason)
        );
        if still_disabled(config, d) {
            let _ = writeln!(
                out,
                "\n  fix its url in the config, then `watchword redeliver --dead`"
            );
        } else {
            let _ = writeln!(
                out,
                "\n  its url has changed since: it is enabled again when the daemon next starts"
            );
        }
    }
    if !disabled.is_empty() {
        out.push('\n');
    }
    if rows.is_empty() {
        out.push_str("no alerts match\n");
        return out;
    }
    let mut table = super::table(
        &[
            "CREATED",
            "STATE",
            "SINK",
            "RULE",
            "TRY",
            "LAST RESULT",
            "ALERT ID",
            "TITLE",
        ],
        &[4],
    );
    for r in rows {
        let result = match (r.state.as_str(), &r.last_error, r.last_status) {
            ("delivered", _, Some(status)) => format!("HTTP {status}"),
            ("delivered", _, None) => "written".to_string(),
            ("pending", None, _) if r.attempts == 0 => "not tried yet".to_string(),
            (_, Some(error), _) => error.clone(),
            (_, None, Some(status)) => format!("HTTP {status}"),
            _ => String::new(),
        };
        let state = match r.state.as_str() {
            "pending" if r.attempts > 0 => format!("retry {}", time(r.next_attempt_at)),
            other => other.to_string(),
        };
        let mut title = clip(&r.title, 80);
        // Later reports of the same story: the alert went out once, these are its sources.
        if r.sources.len() > 1 {
            for source in &r.sources {
                let lang = source
                    .lang
                    .as_deref()
                    .map(|l| format!(" ({})", clip(l, 5)))
                    .unwrap_or_default();
                let _ = write!(
                    title,
                    "\nsource: {}{lang} at {} — {}{}",
                    clip(&source.feed, 20),
                    time(source.seen_at),
                    crate::text::for_terminal(source.link.as_deref().unwrap_or(&source.title)),
                    joined_by(source.joined_by.as_ref()),
                );
            }
        }
        table.add_row([
            time(r.created_at),
            state,
            clip(&r.sink, 30),
            clip(&r.rule, 40),
            r.attempts.to_string(),
            clip(&result, 40),
            r.alert_id.clone(),
            title,
        ]);
    }
    out.push_str(&super::table_text(&table, ""));
    out
}

/// Why a source joined its story, for a person to judge whether it belongs there.
fn joined_by(why: Option<&crate::model::JoinedBy>) -> String {
    let why_text = clip(&crate::entities::explain_join(why), 160);
    match why {
        None => format!(" — {why_text}"),
        Some(_) => format!(" — joined: {why_text}"),
    }
}

/// Feed-supplied text (titles, links, names, errors) cut to a column, safe for the terminal.
fn clip(text: &str, max: usize) -> String {
    crate::text::truncate_chars(&crate::text::for_terminal(text), max)
}

fn render_json(config: &Config, rows: &[DeliveryRow], disabled: &[DisabledSink]) -> String {
    let disabled: Vec<serde_json::Value> = disabled
        .iter()
        .map(|d| {
            serde_json::json!({
                "sink": d.sink,
                "disabled_at": crate::model::time::rfc3339(d.disabled_at),
                "reason": d.reason,
                "still_disabled": still_disabled(config, d),
            })
        })
        .collect();
    let body = serde_json::json!({"disabled_sinks": disabled, "deliveries": rows});
    let mut text = serde_json::to_string_pretty(&body).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::parse_since;

    #[test]
    fn since_forms() {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        assert_eq!(parse_since("2h", now).ok(), Some(1_800_000_000 - 7200));
        assert_eq!(
            parse_since("2027-01-15T08:00:00Z", now).ok(),
            Some(1_800_000_000)
        );
        assert_eq!(parse_since("2027-01-15", now).ok(), Some(1_799_971_200));
        assert!(parse_since("yesterday-ish", now).is_err());
    }
}
