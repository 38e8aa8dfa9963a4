//! `watchword redeliver`: put alerts back in the queue. Works while the daemon runs (it picks
//! them up within a minute) and re-enables the sinks involved if their receiver had disabled
//! them.

use clap::Args;

use crate::config::Config;
use crate::store::Store;

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").required(true).multiple(false))]
pub struct RedeliverArgs {
    /// Alert ids (as `watchword alerts` shows them): their dead and delivered deliveries are
    /// sent again, with the same webhook-id.
    #[arg(group = "what", value_name = "ID")]
    ids: Vec<String>,
    /// Every dead letter.
    #[arg(long, group = "what")]
    dead: bool,
    /// One JSON object for scripts: how many deliveries were re-queued, when they are due,
    /// and the ids that matched nothing (the exit status is 1 then, as without `--json`).
    #[arg(long)]
    json: bool,
}

pub fn run(config: &Config, args: &RedeliverArgs) -> anyhow::Result<()> {
    let database = &config.daemon.database;
    // Opening would create and migrate an empty database only to find nothing in it.
    if !database.exists() {
        let what = if args.ids.is_empty() {
            "no dead letter".to_string()
        } else {
            format!("no alert {}", args.ids.join(", "))
        };
        anyhow::bail!(
            "no database at {} yet, so {what} to redeliver: start the service (or run \
             `watchword once`) first",
            database.display()
        );
    }
    let store = Store::connect(database)?;
    let now = chrono::Utc::now().timestamp();
    let (count, unknown) = if args.dead {
        store.requeue(&[], false, now)?
    } else {
        store.requeue(&args.ids, true, now)?
    };
    if args.json {
        let body = serde_json::json!({
            "requeued": count,
            "due_at": crate::model::time::rfc3339(now),
            "unknown_ids": unknown,
        });
        super::print_json(&body);
    } else if count > 0 || unknown.is_empty() {
        // `redeliver ww_nope` re-queued nothing: the error alone says so.
        super::print_out(&format!(
            "re-queued {count} delivery(ies); a running daemon sends them within a minute \
             (or run `watchword once`)\n"
        ));
    }
    if !unknown.is_empty() {
        anyhow::bail!(
            "no dead or delivered delivery for alert id(s) {} (see `watchword alerts`)",
            unknown.join(", ")
        );
    }
    Ok(())
}
