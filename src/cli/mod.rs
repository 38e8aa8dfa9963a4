//! The command line: thin wrappers that load the config, open the store and call the daemon.

mod alerts;
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

use crate::config::{Config, SinkKind};
use crate::daemon::{self, Control, Pipeline};
use crate::runtime::{self, Runtime};
use crate::store::{Store, WriterLock};
use crate::text::{redact_url, url_origin};

mod feeds;
mod groups;
mod opml;

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
    Once(OnceArgs),
    /// Validate the config and print a summary of feeds, rules and sinks.
    Check,
    /// List alerts and their deliveries: pending, delivered, dead; and disabled sinks.
    Alerts(alerts::AlertsArgs),
    /// Re-queue alerts (by id) or every dead letter for delivery.
    Redeliver(redeliver::RedeliverArgs),
    /// Show what the service is doing: feeds, failures, last pass, alerts owed. Reads the
    /// database only, so it is safe while `run` is running.
    Status(status::StatusArgs),
    /// Remove items, stories and alerts older than the configured retention, now.
    Prune,
    /// Show every feed's health: last success, HTTP status, failures, next poll, items, alerts.
    Feeds(feeds::FeedsArgs),
    /// Turn an OPML export from a feed reader into [[feed]] tables (printed, or appended).
    ImportOpml(opml::ImportArgs),
    /// Dry-run the rules against feed URLs, files or `-` (stdin): no database, nothing sent.
    Test(test::TestArgs),
    /// List the groups rules can use (the config's and the built-in places), or show what one
    /// matches: `watchword groups region:central-asia`.
    Groups(groups::GroupsArgs),
}

#[derive(Debug, clap::Args)]
struct OnceArgs {
    /// Exit with status 3 when a feed failed in this pass, a delivery gave up (dead) or a
    /// sink is disabled, so that cron notices; without it only a database failure is an error.
    #[arg(long)]
    strict: bool,
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
    init_logging(cli.log_format);
    let command = match cli.command {
        // `test --query` works without a config file, so it loads the config itself.
        Command::Test(args) => return test::main(args, &cli.config),
        // Needs no valid config: it may be how the first one is written.
        Command::ImportOpml(args) => return opml::main(&args, &cli.config),
        // Built-in places need no config; the config only adds its own groups.
        Command::Groups(args) => return groups::main(&args, &cli.config),
        other => other,
    };
    let config = match runtime::load(&cli.config) {
        Ok(config) => Arc::new(config),
        // A file that cannot be read is not an invalid one: the message says which it is.
        Err(e @ crate::config::ConfigError::Read { .. }) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
        Err(e) => {
            eprintln!("error: invalid configuration\n{e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let result = match command {
        Command::Check => {
            print_summary(&config);
            Ok(())
        }
        Command::Once(args) => with_runtime(once(config, args.strict)),
        Command::Run => with_runtime(run(config)),
        Command::Alerts(args) => alerts::run(&config, &args),
        Command::Redeliver(args) => redeliver::run(&config, &args),
        Command::Status(args) => status::show(&config, &args),
        Command::Prune => with_runtime(prune::prune(config)),
        Command::Feeds(args) => feeds::show(&config, &args),
        Command::ImportOpml(_) | Command::Test(_) | Command::Groups(_) => Ok(()),
    };
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

fn init_logging(format: LogFormat) {
    // WATCHWORD_LOG wins so that watchword's verbosity can be set without touching other
    // Rust programs sharing the environment.
    let spec = std::env::var("WATCHWORD_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok();
    let filter = match spec.as_deref().map(EnvFilter::try_new) {
        None => EnvFilter::new("info"),
        Some(Ok(filter)) => filter,
        Some(Err(e)) => {
            eprintln!(
                "warning: ignoring the log filter {:?} ({e}); logging at info",
                spec.unwrap_or_default()
            );
            EnvFilter::new("info")
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
                return;
            }
            Err(e) => eprintln!("warning: cannot write to the journal ({e}); logging to stderr"),
        }
    }
    // Logs go to stderr: stdout belongs to the stdout sink's JSON lines.
    if format == LogFormat::Json {
        let _ = tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_current_span(false)
            .try_init();
        return;
    }
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && !no_color())
        .with_target(false)
        .try_init();
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
    let path = config.daemon.database.clone();
    let opened = tokio::task::spawn_blocking(move || {
        let lock = WriterLock::acquire(&path)?;
        Store::open(&path).map(|store| (store, lock))
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

async fn once(config: Arc<Runtime>, strict: bool) -> anyhow::Result<()> {
    log_config_warnings(&config);
    let (store, _lock) = open_store(&config).await?;
    let pipeline = Arc::new(Pipeline::new(Arc::clone(&config), store)?);
    let progress = progress_bar(config.feeds.len());
    let mut failures = 0;
    let (report, delivered) = pipeline
        .run_once_with_progress(|_, polled| {
            if !matches!(
                polled,
                Ok(crate::daemon::Polled {
                    outcome: crate::daemon::FeedOutcome::Recorded(_)
                        | crate::daemon::FeedOutcome::NotModified,
                    ..
                })
            ) {
                failures += 1;
                progress.set_message(format!("{failures} failed"));
            }
            progress.inc(1);
        })
        .await?;
    progress.finish_and_clear();
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
    if report.store_errors > 0 {
        anyhow::bail!(
            "{} feed(s) could not be recorded in {}; check the disk and the file's permissions",
            report.store_errors,
            config.daemon.database.display()
        );
    }
    if strict {
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
        let store = pipeline.store().clone();
        let disabled = tokio::task::spawn_blocking(move || store.disabled_sinks()).await??;
        if !disabled.is_empty() {
            let names: Vec<&str> = disabled.iter().map(|d| d.sink.as_str()).collect();
            trouble.push(format!(
                "sink(s) {} disabled by their receiver (see `watchword alerts`)",
                names.join(", ")
            ));
        }
        if !trouble.is_empty() {
            return Err(Trouble(trouble.join("; ")).into());
        }
    }
    Ok(())
}

/// Feeds done of total and failures so far, on a terminal; nothing in pipes and logs.
fn progress_bar(feeds: usize) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(feeds as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} feeds  {msg}  [{elapsed}]")
    {
        bar.set_style(style);
    }
    bar
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

fn print_summary(config: &Runtime) {
    use std::fmt::Write as _;
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
        let target = match (sink.kind, sink.url.as_deref(), &sink.email) {
            (SinkKind::Webhook, Some(url), _) => url_origin(url),
            (SinkKind::Email, _, Some(email)) => email.describe(),
            _ => String::new(),
        };
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
    let unused: Vec<&str> = config
        .sinks
        .iter()
        .filter(|s| !config.rules.iter().any(|r| r.notify.contains(&s.name)))
        .map(|s| s.name.as_str())
        .collect();
    if !unused.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "note: no rule notifies sink(s) {}", unused.join(", "));
    }
    let mut warnings: Vec<String> = config.warnings.iter().map(ToString::to_string).collect();
    warnings.extend(rule_warnings(config));
    if !warnings.is_empty() {
        let _ = writeln!(out);
        for warning in warnings {
            let _ = writeln!(out, "warning: {warning}");
        }
    }
    print_out(&out);
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

/// `5m`, `48h`, `3650d`: the unit the user most likely wrote, not humantime's breakdown into
/// years and months.
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
