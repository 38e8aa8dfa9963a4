//! `watchword migrate-db --from PATH [--to postgres://…]`: moves a SQLite database into an
//! empty PostgreSQL one (feeds' state, items, stories, the outbox), so that replicas started
//! on it re-alert nothing and send what was still owed, under the same ids.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::config::Config;
use crate::model::{Database, PostgresUrl};
use crate::store::{Postgres, WriterLock};

#[derive(Debug, clap::Args)]
pub struct MigrateDbArgs {
    /// The SQLite database to copy (the `database` path the config had). Left as it was,
    /// apart from being brought to the current schema.
    #[arg(long, value_name = "PATH")]
    from: PathBuf,
    /// The PostgreSQL database to copy into; it must hold no watchword rows yet. Default: the
    /// config's `database`, when that is a postgres:// URL (better than a URL on the command
    /// line when it holds a password).
    #[arg(long, value_name = "URL")]
    to: Option<String>,
    /// One JSON object for scripts: the rows copied per table and the deliveries by state.
    #[arg(long)]
    json: bool,
}

pub fn main(args: &MigrateDbArgs, config: &Path) -> ExitCode {
    match migrate(args, config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(super::EXIT_RUNTIME)
        }
    }
}

fn migrate(args: &MigrateDbArgs, config: &Path) -> anyhow::Result<()> {
    let url = target(args, config)?;
    if !args.from.is_file() {
        bail!("no SQLite database at {}", args.from.display());
    }
    // A daemon still writing the SQLite file would record polls and deliveries after the
    // copy, and they would be lost; with the lock held it cannot start meanwhile either.
    let _lock = WriterLock::acquire(&Database::Sqlite(args.from.clone()))?;
    let started = std::time::Instant::now();
    let target = Postgres::connect(&url)?;
    let report = target.copy_from_sqlite(&args.from)?;
    let seconds = started.elapsed().as_secs_f64();
    let rows = |table: &str| {
        report
            .tables
            .iter()
            .find(|(name, _)| *name == table)
            .map_or(0, |(_, n)| *n)
    };
    if args.json {
        let copied: serde_json::Map<String, serde_json::Value> = report
            .tables
            .iter()
            .map(|(name, n)| (name.to_string(), (*n).into()))
            .collect();
        super::print_json(&serde_json::json!({
            "from": args.from,
            "to": url.to_string(),
            "copied": copied,
            "deliveries": {
                "pending": report.pending,
                "delivered": report.delivered,
                "dead": report.dead,
            },
            "seconds": (seconds * 1000.0).round() / 1000.0,
        }));
    } else {
        super::print_out(&format!(
            "copied {} to {url} in {seconds:.1} s: {} feed(s), {} item(s), {} story(ies) with \
             {} key(s), {} alert(s), {} delivery(ies) ({} pending, {} delivered, {} dead), {} \
             disabled sink(s)\n\
             next: set `database = \"{url}\"` under [daemon] and start watchword (any number \
             of replicas); keep {} until they run\n",
            args.from.display(),
            rows("feeds"),
            rows("items"),
            rows("stories"),
            rows("story_keys"),
            rows("alerts"),
            rows("deliveries"),
            report.pending,
            report.delivered,
            report.dead,
            rows("sink_state"),
            args.from.display(),
        ));
    }
    Ok(())
}

/// `--to`, or else the config's database if that is PostgreSQL.
fn target(args: &MigrateDbArgs, config: &Path) -> anyhow::Result<PostgresUrl> {
    if let Some(to) = &args.to {
        return PostgresUrl::parse(to).with_context(|| {
            format!(
                "--to must be a postgres:// or postgresql:// URL, not {:?}",
                if to.contains('@') { "…" } else { to.as_str() }
            )
        });
    }
    let loaded = Config::load(config).map_err(|e| {
        anyhow::anyhow!(
            "without --to the target is the config's database, but the config cannot be \
             used:\n{e}"
        )
    })?;
    match loaded.daemon.database {
        Database::Postgres(url) => Ok(url),
        Database::Sqlite(path) => bail!(
            "the config's database is the SQLite file {}, not PostgreSQL: give --to \
             postgres://…, or set `database = \"postgres://…\"` in the config first",
            path.display()
        ),
    }
}
