//! The command line: thin wrappers that load the config, open the store and call the daemon.

mod alerts;
mod check;
mod generate;
mod migrate_db;
mod notify_test;
mod once;
mod redeliver;
mod status;
mod test;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use tokio::sync::mpsc;
use tracing::{info, warn};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::Config;
use crate::daemon::{self, Control};
use crate::runtime::{self, Runtime};
use crate::store::{Store, WriterLock};

mod feeds;
mod groups;
mod opml;
mod progress;

/// Where a packaged install keeps its config.
pub const DEFAULT_CONFIG: &str = "/etc/watchword/watchword.toml";

mod prune;

/// Exit codes, documented in the README.
const EXIT_CONFIG: u8 = 2;
const EXIT_RUNTIME: u8 = 1;
/// `once --strict` found trouble: a feed failed, a delivery died or a sink is disabled.
const EXIT_TROUBLE: u8 = 3;
/// The command line itself is wrong (BSD's EX_USAGE), told apart from an invalid config.
const EXIT_USAGE: u8 = 64;

#[derive(Debug, Parser)]
#[command(
    name = "watchword",
    version,
    // Every subcommand's man page carries the version too.
    propagate_version = true,
    about = "Watches news feeds for the events you care about and alerts once per story",
    long_about = None
)]
struct Cli {
    /// The config file.
    #[arg(long, short, global = true, env = "WATCHWORD_CONFIG", default_value = DEFAULT_CONFIG)]
    config: PathBuf,

    /// How to write logs: `auto` is the journal (with fields such as FEED, RULE, SINK,
    /// ALERT_ID) when stderr is systemd's journal stream, human-readable lines otherwise.
    #[arg(long, global = true, env = "WATCHWORD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Auto)]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon: poll every feed on its interval until SIGINT or SIGTERM.
    Run,
    /// Poll every feed once, deliver what is owed, and exit.
    Once(once::OnceArgs),
    /// Validate the config and print a summary of feeds, rules and sinks.
    Check(check::CheckArgs),
    /// List alerts and their deliveries: pending, delivered, dead; and disabled sinks.
    Alerts(alerts::AlertsArgs),
    /// Re-queue alerts (by id) or every dead letter for delivery.
    Redeliver(redeliver::RedeliverArgs),
    /// Show what the service is doing: feeds, failures, last pass, alerts owed. Reads the
    /// database only, so it is safe while `run` is running.
    Status(status::StatusArgs),
    /// Remove items, stories and alerts older than the configured retention, now.
    Prune(prune::PruneArgs),
    /// Show every feed's health: last success, HTTP status, failures, next poll, items, alerts.
    Feeds(feeds::FeedsArgs),
    /// Turn an OPML export from a feed reader into [[feed]] tables (printed, or appended).
    ImportOpml(opml::ImportArgs),
    /// Dry-run the rules against feed URLs, files or `-` (stdin): no database, nothing sent.
    Test(test::TestArgs),
    /// Send a sample alert to one sink through its real delivery path (format, signing, rate
    /// limit, headers, timeout) and show what the receiver answered. Writes no database.
    NotifyTest(notify_test::NotifyTestArgs),
    /// Print a completion script for bash, zsh, fish, elvish or PowerShell, e.g.
    /// `watchword completions bash > /etc/bash_completion.d/watchword`.
    Completions(generate::CompletionsArgs),
    /// Print the man page (roff), e.g. `watchword man | man -l -`; `--dir` writes every page.
    Man(generate::ManArgs),
    /// List the groups rules can use (the config's and the built-in places), or show what one
    /// matches: `watchword groups region:central-asia`.
    Groups(groups::GroupsArgs),
    /// Copy a SQLite database (feeds' state, items, stories, the outbox) into an empty
    /// PostgreSQL one, to move to replicas without re-alerting: `watchword migrate-db --from
    /// /var/lib/watchword/watchword.db --to postgres://…`.
    MigrateDb(migrate_db::MigrateDbArgs),
}

/// What `once --strict` found wrong; exits with [`EXIT_TROUBLE`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Trouble(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Auto,
    Human,
    Json,
    Journald,
}

/// Parses the command line, runs the command, and maps failures to exit codes.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are answers, not errors.
            let code = if e.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let bar = init_logging(cli.log_format);
    let command = match cli.command {
        // `test --query` works without a config file, so it loads the config itself.
        Command::Test(args) => return test::main(args, &cli.config),
        // Needs no valid config: it may be how the first one is written.
        Command::ImportOpml(args) => return opml::main(&args, &cli.config),
        // Built-in places need no config; the config only adds its own groups.
        Command::Groups(args) => return groups::main(&args, &cli.config),
        // Needs a config only without --to, and then only its database.
        Command::MigrateDb(args) => return migrate_db::main(&args, &cli.config),
        // Generated from the command line's definition alone.
        Command::Completions(args) => return exit_code(generate::completions(&args)),
        Command::Man(args) => return exit_code(generate::man(&args)),
        other => other,
    };
    let config = match runtime::load(&cli.config) {
        Ok(config) => Arc::new(config),
        Err(e) => {
            if let Command::Check(args) = &command
                && args.json
            {
                check::print_refusal(&cli.config, &e);
            }
            match e {
                // A file that cannot be read is not an invalid one: the message says which.
                crate::config::ConfigError::Read { .. } => eprintln!("error: {e}"),
                _ => eprintln!("error: invalid configuration\n{e}"),
            }
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let result = match command {
        Command::Check(args) => {
            check::show(&config, &args);
            Ok(())
        }
        Command::Once(args) => with_runtime(once::once(config, args, bar)),
        Command::Run => with_runtime(run(config)),
        Command::Alerts(args) => alerts::run(&config, &args),
        Command::Redeliver(args) => redeliver::run(&config, &args),
        Command::Status(args) => status::show(&config, &args),
        Command::Prune(args) => with_runtime(prune::prune(config, args)),
        Command::Feeds(args) => feeds::show(&config, &args),
        Command::NotifyTest(args) => with_runtime(notify_test::run(config, args)),
        Command::ImportOpml(_)
        | Command::Test(_)
        | Command::Groups(_)
        | Command::MigrateDb(_)
        | Command::Completions(_)
        | Command::Man(_) => Ok(()),
    };
    exit_code(result)
}

/// The exit code of a command's result; the error, if any, on stderr.
fn exit_code(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<Trouble>() => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_TROUBLE)
        }
        Err(e) => {
            // Our errors carry their cause in their own message; `{:#}` would repeat it.
            eprintln!("error: {e}");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

/// The default log filter. On a terminal it leaves out the per-feed `feed polled` lines: a
/// person watching `once` has its progress bar, and the lines that matter (warnings, errors,
/// the pass summary) would drown among thousands of them. The journal and pipes keep them.
fn default_filter(terminal: bool) -> &'static str {
    if terminal {
        "info,watchword::daemon::polled=warn"
    } else {
        "info"
    }
}

/// Sets up logging; the returned slot is where `once` puts its progress bar, so that log
/// lines are written above it.
fn init_logging(format: LogFormat) -> progress::BarSlot {
    let bar = progress::BarSlot::default();
    // WATCHWORD_LOG wins so that watchword's verbosity can be set without touching other
    // Rust programs sharing the environment.
    let spec = std::env::var("WATCHWORD_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok();
    let default = default_filter(std::io::stderr().is_terminal());
    let filter = match spec.as_deref().map(EnvFilter::try_new) {
        None => EnvFilter::new(default),
        Some(Ok(filter)) => filter,
        Some(Err(e)) => {
            eprintln!(
                "warning: ignoring the log filter {:?} ({e}); logging at info",
                spec.unwrap_or_default()
            );
            EnvFilter::new(default)
        }
    };
    let format = match format {
        LogFormat::Auto if stderr_is_journal() => LogFormat::Journald,
        LogFormat::Auto => LogFormat::Human,
        chosen => chosen,
    };
    if format == LogFormat::Journald {
        match tracing_journald::layer() {
            // No prefix: fields land as FEED=, RULE=, SINK=, ALERT_ID= for `journalctl FEED=…`.
            Ok(journal) => {
                let _ = tracing_subscriber::registry()
                    .with(filter)
                    .with(journal.with_field_prefix(None))
                    .try_init();
                return bar;
            }
            Err(e) => eprintln!("warning: cannot write to the journal ({e}); logging to stderr"),
        }
    }
    // Logs go to stderr: stdout belongs to the stdout sink's JSON lines.
    if format == LogFormat::Json {
        let _ = tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(progress::AboveBar::new(bar.clone()))
            .with_current_span(false)
            .try_init();
        return bar;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(progress::AboveBar::new(bar.clone()))
        .with_ansi(std::io::stderr().is_terminal() && !no_color())
        .with_target(false)
        .try_init();
    bar
}

/// <https://no-color.org>: `NO_COLOR` set to anything but the empty string turns colour off.
pub(crate) fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Whether stderr is the journal stream systemd connected us to (`JOURNAL_STREAM` names its
/// device and inode): then the journal takes structured fields directly. A `watchword` run by
/// hand from a service's shell inherits the variable but not the stream, and keeps plain lines.
fn stderr_is_journal() -> bool {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        use std::os::unix::fs::MetadataExt;
        let Some(stream) = std::env::var_os("JOURNAL_STREAM") else {
            return false;
        };
        let Some((dev, ino)) = stream.to_str().and_then(|s| s.split_once(':')) else {
            return false;
        };
        let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() else {
            return false;
        };
        std::fs::File::from(fd)
            .metadata()
            .is_ok_and(|m| m.dev().to_string() == dev && m.ino().to_string() == ino)
    }
    #[cfg(not(unix))]
    {
        false
    }
}

fn with_runtime(work: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(work);
    // Work abandoned at the end of the shutdown grace period must not hold the exit: an
    // SQLite write already started finishes (or rolls back on the next open) either way.
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    result
}

/// Opens the database for writing: takes the writer lock first, so that a `once` started
/// while the service runs refuses instead of sending the same pending alerts a second time.
pub(crate) async fn open_store(config: &Config) -> anyhow::Result<(Store, WriterLock)> {
    let database = config.daemon.database.clone();
    let lease = config.daemon.replica_lease;
    let opened = tokio::task::spawn_blocking(move || {
        let lock = WriterLock::acquire(&database)?;
        let store = Store::connect(&database)?.with_lease(lease);
        match store.reclaim_dead_local_leases() {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                "took back the leases of {n} watchword process(es) of this host that died holding them"
            ),
            Err(e) => tracing::warn!("cannot look for leases of dead processes: {e}"),
        }
        Ok::<_, crate::store::StoreError>((store, lock))
    })
    .await
    .context("database task failed")??;
    Ok(opened)
}

/// Writes a command's report to standard output. A reader that stops early (`| head`) closes
/// the pipe: the report ends there, quietly, instead of a panic and exit 101.
pub(crate) fn print_out(text: &str) {
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
}

/// Writes one JSON document for scripts (`--json`), pretty, ending in a newline.
pub(crate) fn print_json(value: &serde_json::Value) {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".into());
    text.push('\n');
    print_out(&text);
}

/// A table for people: no borders, columns two spaces apart and as wide as their widest cell
/// (in display width, so `retry 2026-12-04 08:50Z` or a Cyrillic feed name never shifts the
/// next column). `right` lists the columns to align right (numbers). Render it with
/// [`table_text`].
pub(crate) fn table(header: &[&str], right: &[usize]) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::NOTHING);
    table.set_header(header.iter().copied());
    for (i, column) in table.column_iter_mut().enumerate() {
        column.set_padding((0, 2));
        if right.contains(&i) {
            column.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
    table
}

/// The table's lines, each after `indent` and without trailing spaces.
pub(crate) fn table_text(table: &comfy_table::Table, indent: &str) -> String {
    let mut out = String::new();
    for line in table.lines() {
        out.push_str(indent);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Values the config takes other than as written, so the log says what is really in force.
fn log_config_warnings(config: &Runtime) {
    for warning in &config.warnings {
        warn!("{warning}");
    }
}

async fn run(config: Arc<Runtime>) -> anyhow::Result<()> {
    // Before anything slow: a SIGTERM during start-up must stop us cleanly, not by default
    // action halfway through opening the database.
    let mut signals = Signals::install()?;
    log_config_warnings(&config);
    // Before the first socket: idle metrics clients must not starve fetches of descriptors.
    crate::service::raise_fd_limit();
    // The writer lock is held for the life of the process, across reloads.
    let (store, _lock) = open_store(&config).await?;
    let (controls, requests) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut stopping = false;
        loop {
            match signals.next().await {
                Signal::Hangup if stopping => info!("SIGHUP ignored: shutting down"),
                Signal::Hangup => {
                    let _ = controls.send(Control::Reload);
                }
                Signal::Stop if stopping => {
                    warn!("second signal: exiting without waiting");
                    std::process::exit(130);
                }
                Signal::Stop => {
                    stopping = true;
                    info!(
                        "shutting down: finishing work in flight (send the signal again to stop at once)"
                    );
                    let _ = controls.send(Control::Shutdown);
                }
            }
        }
    });
    daemon::serve(config, store, requests).await?;
    info!("stopped");
    Ok(())
}

enum Signal {
    /// SIGINT or SIGTERM.
    Stop,
    /// SIGHUP: reload the config.
    Hangup,
}

/// SIGINT and SIGTERM stop the daemon; SIGHUP reloads its config.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hangup: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> anyhow::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt())
                    .context("cannot install the SIGINT handler")?,
                terminate: signal(SignalKind::terminate())
                    .context("cannot install the SIGTERM handler")?,
                hangup: signal(SignalKind::hangup())
                    .context("cannot install the SIGHUP handler")?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Signals {})
        }
    }

    async fn next(&mut self) -> Signal {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => Signal::Stop,
                _ = self.terminate.recv() => Signal::Stop,
                _ = self.hangup.recv() => Signal::Hangup,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            Signal::Stop
        }
    }
}

/// An age for people, rounded down to its largest unit: `40 days`, `5 hours`, `12 minutes`.
fn short_age(secs: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    match secs.max(0) {
        s if s >= 2 * 86_400 => plural(s / 86_400, "day"),
        s if s >= 2 * 3_600 => plural(s / 3_600, "hour"),
        s if s >= 60 => plural(s / 60, "minute"),
        s => plural(s, "second"),
    }
}

/// `5m`, `48h`, `3650d`: the unit the user most likely wrote, not humantime's breakdown into
/// years and months.
fn short_duration(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    match secs {
        0 => "0s".into(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3_600 == 0 => format!("{}h", s / 3_600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tables_size_columns_to_their_widest_cell_in_display_width() {
        let mut t = super::table(&["STATE", "SINK", "TRY"], &[2]);
        t.add_row(["retry 2026-12-04 08:50Z", "hook", "2"]);
        t.add_row(["dead", "Қазақстан", "12"]);
        assert_eq!(
            super::table_text(&t, "  "),
            "  STATE                    SINK       TRY\n\
             \x20 retry 2026-12-04 08:50Z  hook         2\n\
             \x20 dead                     Қазақстан   12\n"
        );
    }
}
