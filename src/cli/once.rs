//! `watchword once`: one pass over every feed, the deliveries owed, and a summary (a log line,
//! or with `--json` one object on standard output).

use std::sync::Arc;

use serde_json::json;
use tracing::info;

use super::{Trouble, open_store, progress};
use crate::daemon::{FeedOutcome, Pipeline, Polled};
use crate::model::time::rfc3339;
use crate::runtime::Runtime;

#[derive(Debug, clap::Args)]
pub struct OnceArgs {
    /// Exit with status 3 when a feed failed in this pass, a delivery gave up (dead) or a
    /// sink is disabled, so that cron notices; without it only a database failure is an error.
    #[arg(long)]
    strict: bool,
    /// Print the pass summary as one JSON line (`"type": "watchword.pass"`) on standard
    /// output, after any alert lines of a stdout sink.
    #[arg(long)]
    json: bool,
}

pub(super) async fn once(
    config: Arc<Runtime>,
    args: OnceArgs,
    bar: progress::BarSlot,
) -> anyhow::Result<()> {
    super::log_config_warnings(&config);
    let started_at = chrono::Utc::now().timestamp();
    let (store, _lock) = open_store(&config).await?;
    let pipeline = Arc::new(Pipeline::new(Arc::clone(&config), store)?);
    let progress = bar.show(config.feeds.len());
    // (feed, why) of each feed that failed or is gone, for the JSON summary.
    let mut failed: Vec<(String, String)> = Vec::new();
    let mut gone: Vec<String> = Vec::new();
    let result = pipeline
        .run_once_with_progress(|name, polled| {
            match polled {
                Ok(Polled {
                    outcome: FeedOutcome::Recorded(_) | FeedOutcome::NotModified,
                    ..
                }) => {}
                Ok(Polled {
                    outcome: FeedOutcome::Gone,
                    ..
                }) => gone.push(name.to_owned()),
                Ok(Polled {
                    outcome: FeedOutcome::Failed(reason),
                    ..
                }) => failed.push((name.to_owned(), reason.to_string())),
                Ok(_) => {}
                Err(e) => failed.push((name.to_owned(), e.to_string())),
            }
            if !failed.is_empty() || !gone.is_empty() {
                progress.set_message(format!("{} failed", failed.len() + gone.len()));
            }
            progress.inc(1);
            if progress.position() >= config.feeds.len() as u64 {
                // Every feed is in: the deliveries that follow print on clean lines.
                bar.clear();
            }
        })
        .await;
    bar.clear();
    let (report, delivered) = result?;
    info!(
        feeds_ok = report.feeds_ok,
        feeds_failed = report.feeds_failed,
        not_modified = report.feeds_not_modified,
        gone = report.feeds_gone,
        new_items = report.new_items,
        new_alerts = report.new_alerts,
        delivered = delivered.delivered,
        retrying = delivered.retrying + delivered.skipped,
        dead = delivered.dead,
        "pass complete"
    );
    let store = pipeline.store().clone();
    let disabled = tokio::task::spawn_blocking(move || store.disabled_sinks()).await??;

    let mut trouble = Vec::new();
    if report.feeds_failed + report.feeds_gone > 0 {
        trouble.push(format!(
            "{} feed(s) failed and {} are gone (see `watchword feeds`)",
            report.feeds_failed, report.feeds_gone
        ));
    }
    if delivered.dead > 0 {
        trouble.push(format!(
            "{} delivery(ies) gave up (see `watchword alerts --dead`)",
            delivered.dead
        ));
    }
    if !disabled.is_empty() {
        let names: Vec<&str> = disabled.iter().map(|d| d.sink.as_str()).collect();
        trouble.push(format!(
            "sink(s) {} disabled by their receiver (see `watchword alerts`)",
            names.join(", ")
        ));
    }

    if args.json {
        let summary = json!({
            "type": "watchword.pass",
            "started_at": rfc3339(started_at),
            "finished_at": rfc3339(chrono::Utc::now().timestamp()),
            "feeds": {
                "total": config.feeds.len(),
                "ok": report.feeds_ok,
                "not_modified": report.feeds_not_modified,
                "failed": report.feeds_failed,
                "gone": report.feeds_gone,
                "not_recorded": report.store_errors,
            },
            "failed_feeds": failed.iter().map(|(feed, error)| json!({
                "feed": feed,
                "error": error,
            })).collect::<Vec<_>>(),
            "gone_feeds": gone,
            "new_items": report.new_items,
            "new_alerts": report.new_alerts,
            "deliveries": {
                "delivered": delivered.delivered,
                "retrying": delivered.retrying + delivered.skipped,
                "dead": delivered.dead,
            },
            "disabled_sinks": disabled.iter().map(|d| json!({
                "sink": d.sink,
                "disabled_at": rfc3339(d.disabled_at),
                "reason": d.reason,
            })).collect::<Vec<_>>(),
            "trouble": trouble,
        });
        // One line: a stdout sink's alerts are JSON lines on the same stream.
        super::print_out(&format!("{summary}\n"));
    }

    if report.store_errors > 0 {
        let what_to_check = match config.daemon.database {
            crate::model::Database::Sqlite(_) => "check the disk and the file's permissions",
            crate::model::Database::Postgres(_) => {
                "the log above says why; check the server and the user's rights on the schema"
            }
        };
        anyhow::bail!(
            "{} feed(s) could not be recorded in {}; {what_to_check}",
            report.store_errors,
            config.daemon.database.display()
        );
    }
    if args.strict && !trouble.is_empty() {
        return Err(Trouble(trouble.join("; ")).into());
    }
    Ok(())
}
