//! The command line: thin wrappers that load the config, open the store and call the daemon.

mod test;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::sync::watch;
use tracing::{info, warn};
use tracing_subscriber::EnvFilter;

use crate::config::{Config, SinkKind};
use crate::daemon::Pipeline;
use crate::feed::{redact_url, url_origin};
use crate::store::{Store, WriterLock};

/// Where a packaged install keeps its config.
pub const DEFAULT_CONFIG: &str = "/etc/watchword/watchword.toml";

/// Exit codes, documented in the README.
const EXIT_CONFIG: u8 = 2;
const EXIT_RUNTIME: u8 = 1;

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

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon: poll every feed on its interval until SIGINT or SIGTERM.
    Run,
    /// Poll every feed once, deliver what is owed, and exit.
    Once,
    /// Validate the config and print a summary of feeds, rules and sinks.
    Check,
    /// Dry-run the rules against feed URLs, files or `-` (stdin): no database, nothing sent.
    Test(test::TestArgs),
}

/// Parses the command line, runs the command, and maps failures to exit codes.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let command = match cli.command {
        // `test --query` works without a config file, so it loads the config itself.
        Command::Test(args) => return test::main(args, &cli.config),
        other => other,
    };
    let config = match Config::load(&cli.config) {
        Ok(config) => Arc::new(config),
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
        Command::Once => with_runtime(once(config)),
        Command::Run => with_runtime(run(config)),
        Command::Test(_) => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Our errors carry their cause in their own message; `{:#}` would repeat it.
            eprintln!("error: {e}");
            ExitCode::from(EXIT_RUNTIME)
        }
    }
}

fn init_logging() {
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
    // Logs go to stderr: stdout belongs to the stdout sink's JSON lines.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

fn with_runtime(work: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(work)
}

/// Opens the database for writing: takes the writer lock first, so that a `once` started
/// while the service runs refuses instead of sending the same pending alerts a second time.
async fn open_store(config: &Config) -> anyhow::Result<(Store, WriterLock)> {
    let path = config.daemon.database.clone();
    let opened = tokio::task::spawn_blocking(move || {
        let lock = WriterLock::acquire(&path)?;
        Store::open(&path).map(|store| (store, lock))
    })
    .await
    .context("database task failed")??;
    Ok(opened)
}

async fn once(config: Arc<Config>) -> anyhow::Result<()> {
    let (store, _lock) = open_store(&config).await?;
    let pipeline = Arc::new(Pipeline::new(Arc::clone(&config), store)?);
    let (report, delivered) = pipeline.run_once().await?;
    info!(
        feeds_ok = report.feeds_ok,
        feeds_failed = report.feeds_failed,
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
    Ok(())
}

async fn run(config: Arc<Config>) -> anyhow::Result<()> {
    // Before anything slow: a SIGTERM during start-up must stop us cleanly, not by default
    // action halfway through opening the database.
    let mut signals = StopSignals::install()?;
    let (store, _lock) = open_store(&config).await?;
    let pipeline = Arc::new(Pipeline::new(Arc::clone(&config), store)?);
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        signals.next().await;
        info!("shutting down: finishing work in flight (send the signal again to stop at once)");
        let _ = stop.send(true);
        signals.next().await;
        warn!("second signal: exiting without waiting");
        std::process::exit(130);
    });
    pipeline.run(stopped).await?;
    Ok(())
}

/// SIGINT and SIGTERM stop the daemon; SIGHUP is caught (its default action would kill the
/// daemon mid-write) and logged until config reload exists.
struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> anyhow::Result<StopSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut hangup =
                signal(SignalKind::hangup()).context("cannot install the SIGHUP handler")?;
            tokio::spawn(async move {
                while hangup.recv().await.is_some() {
                    warn!(
                        "SIGHUP: reloading the config is not supported yet; restart watchword to apply changes"
                    );
                }
            });
            Ok(StopSignals {
                interrupt: signal(SignalKind::interrupt())
                    .context("cannot install the SIGINT handler")?,
                terminate: signal(SignalKind::terminate())
                    .context("cannot install the SIGTERM handler")?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(StopSignals {})
        }
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => {}
                _ = self.terminate.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn print_summary(config: &Config) {
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
    for feed in &config.feeds {
        let tags = if feed.tags.is_empty() {
            String::new()
        } else {
            format!("  [{}]", feed.tags.join(", "))
        };
        let _ = writeln!(
            out,
            "  {:<24} every {:<8} {}{tags}",
            feed.name,
            short_duration(feed.interval),
            redact_url(&feed.url)
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{} rule(s):", config.rules.len());
    for rule in &config.rules {
        let _ = writeln!(
            out,
            "  {:<24} {}  → {}",
            rule.name,
            rule.query,
            rule.notify.join(", ")
        );
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "{} sink(s):", config.sinks.len());
    for sink in &config.sinks {
        let target = match (sink.kind, sink.url.as_deref()) {
            (SinkKind::Webhook, Some(url)) => url_origin(url),
            _ => String::new(),
        };
        let _ = writeln!(
            out,
            "  {:<24} {:<8} {target}",
            sink.name,
            sink.kind.to_string()
        );
    }
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
    let warnings = rule_warnings(config);
    if !warnings.is_empty() {
        let _ = writeln!(out);
        for warning in warnings {
            let _ = writeln!(out, "warning: {warning}");
        }
    }
    // `watchword check | head` closes the pipe early; that is not an error worth a panic.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), out.as_bytes());
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
