//! The service around the pipeline: start-up notification, SIGHUP reloads, the stop grace
//! period, the watchdog, the STATUS line and the metrics listener.
//!
//! A reload builds a new `Pipeline` from the new config on the same `Store` (and under the
//! same writer lock, held by the caller), after draining the old one exactly as a shutdown
//! would: no new poll starts, polls in flight finish and commit, the delivery in flight
//! completes. Nothing is lost in the hand-over because all state lives in the database.

use std::sync::Arc;
use std::time::Duration;

use chrono::{Local, TimeZone, Utc};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{error, info, warn};

use super::{DaemonError, Pipeline};
use crate::config::Config;
use crate::runtime::{self, Runtime};
use crate::service::{self, http::Shared, metrics, notify};
use crate::store::{Health, Store};

/// What the signal handlers ask of the running daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// SIGHUP: re-read the config and apply it if it is valid.
    Reload,
    /// SIGTERM or SIGINT: finish work in flight within the grace period and return.
    Shutdown,
}

/// How often the STATUS line is refreshed.
const STATUS_EVERY: Duration = Duration::from_secs(15);

type Running = JoinHandle<Result<(), DaemonError>>;

/// Runs the daemon until `Control::Shutdown` (or until every sender is dropped).
///
/// READY=1 goes out once the scheduler has ticked: the config is valid (the caller loaded
/// it), the database is open and migrated (the caller opened it), and polls are being
/// scheduled.
pub async fn serve(
    config: Arc<Runtime>,
    store: Store,
    mut controls: mpsc::UnboundedReceiver<Control>,
) -> Result<(), DaemonError> {
    let shared = Shared::new(store.clone());
    shared.set_feeds(feed_names(&config));
    metrics::install();
    let (current, current_rx) = watch::channel(Arc::clone(&config));
    let listener = start_listener(&config, &shared, &store, current_rx.clone()).await;
    let housekeeping = tokio::spawn(housekeeping(current_rx, Arc::clone(&shared)));
    let result = supervise(config, store, &mut controls, &shared, &current).await;
    housekeeping.abort();
    if let Some(listener) = listener {
        listener.abort();
    }
    result
}

async fn supervise(
    config: Arc<Runtime>,
    store: Store,
    controls: &mut mpsc::UnboundedReceiver<Control>,
    shared: &Arc<Shared>,
    current: &watch::Sender<Arc<Runtime>>,
) -> Result<(), DaemonError> {
    let mut pipeline = Arc::new(Pipeline::new(config, store.clone())?);
    loop {
        metrics::configured(pipeline.config.feeds.len(), pipeline.config.rules.len());
        let (stop, stopped) = watch::channel(false);
        let mut running: Running = tokio::spawn({
            let pipeline = Arc::clone(&pipeline);
            async move { pipeline.run(stopped).await }
        });
        // Not READY until the scheduler has ticked; a stop is still obeyed meanwhile, and a
        // reload asked for now is served right after.
        let ticks = service::scheduler_ticks();
        let mut reload_asked = false;
        while service::scheduler_ticks() == ticks {
            tokio::select! {
                joined = &mut running => return joined?,
                control = controls.recv() => match control {
                    Some(Control::Reload) => reload_asked = true,
                    None | Some(Control::Shutdown) => {
                        notify::stopping();
                        let _ = stop.send(true);
                        return drain(running, pipeline.config.daemon.shutdown_grace).await;
                    }
                },
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
        shared.set_ready(true);
        let line = status_line(&pipeline.config, shared.health().await.ok().as_ref());
        notify::ready(&line);
        info!("ready: {line}");

        // Serve until a valid reload or a stop.
        let next = loop {
            let control = if std::mem::take(&mut reload_asked) {
                Some(Control::Reload)
            } else {
                tokio::select! {
                    joined = &mut running => return joined?,
                    control = controls.recv() => control,
                }
            };
            match control {
                Some(Control::Reload) => {
                    if let Some(next) = prepare_reload(&pipeline.config, &store).await {
                        break next;
                    }
                }
                None | Some(Control::Shutdown) => {
                    shared.set_ready(false);
                    notify::stopping();
                    let _ = stop.send(true);
                    return drain(running, pipeline.config.daemon.shutdown_grace).await;
                }
            }
        };

        shared.set_ready(false);
        notify::reloading();
        info!("reloading: letting polls and the delivery in flight finish");
        let _ = stop.send(true);
        enum Drained {
            Done(Result<Result<(), DaemonError>, tokio::task::JoinError>),
            StopRequested,
        }
        let drained = tokio::select! {
            joined = &mut running => Drained::Done(joined),
            () = wait_for_shutdown(controls) => Drained::StopRequested,
        };
        match drained {
            Drained::Done(joined) => joined??,
            Drained::StopRequested => {
                notify::stopping();
                return drain(running, pipeline.config.daemon.shutdown_grace).await;
            }
        }
        pipeline = next;
        shared.set_feeds(feed_names(&pipeline.config));
        let _ = current.send(Arc::clone(&pipeline.config));
        info!(
            feeds = pipeline.config.feeds.len(),
            rules = pipeline.config.rules.len(),
            sinks = pipeline.config.sinks.len(),
            "config reloaded from {}",
            pipeline.config.path.display()
        );
    }
}

/// Re-reads the config from the file it came from. A broken file is refused with its
/// `file:line:col` diagnostics and the running config stays; so does one that cannot be put
/// to work (an HTTP client that cannot be built).
async fn prepare_reload(current: &Arc<Runtime>, store: &Store) -> Option<Arc<Pipeline>> {
    info!("SIGHUP: reading {}", current.path.display());
    let path = current.path.clone();
    let loaded = match tokio::task::spawn_blocking(move || runtime::load(&path)).await {
        Ok(loaded) => loaded,
        Err(e) => {
            error!("reload failed: {e}; still running the previous config");
            return None;
        }
    };
    let new = match loaded {
        Ok(new) => {
            for warning in &new.warnings {
                warn!("{warning}");
            }
            Arc::new(new)
        }
        Err(e) => {
            error!("reload refused: the config is invalid; still running the previous config\n{e}");
            notify::status(&format!(
                "reload refused at {} (invalid config); running the previous config",
                Local::now().format("%H:%M")
            ));
            return None;
        }
    };
    let (old_d, new_d) = (&current.daemon, &new.daemon);
    if old_d.database != new_d.database {
        let pool = |d: &crate::model::Database| match d {
            crate::model::Database::Postgres(url) => {
                format!(" with {} connection(s)", url.connections())
            }
            crate::model::Database::Sqlite(_) => String::new(),
        };
        // The pool's size is part of the database setting: say it, or a change of
        // `database_connections` alone reads as a change to the same URL.
        warn!(
            "the database changed to {}{}; that takes a restart (still using {}{})",
            new_d.database.display(),
            pool(&new_d.database),
            old_d.database.display(),
            pool(&old_d.database)
        );
    }
    if old_d.metrics_listen != new_d.metrics_listen {
        warn!("metrics_listen changed; that takes a restart");
    }
    match Pipeline::new(Arc::clone(&new), store.clone()) {
        Ok(pipeline) => Some(Arc::new(pipeline)),
        Err(e) => {
            error!("reload failed: {e}; still running the previous config");
            None
        }
    }
}

/// Waits for a stop request, ignoring reloads (one is already under way).
async fn wait_for_shutdown(controls: &mut mpsc::UnboundedReceiver<Control>) {
    loop {
        match controls.recv().await {
            Some(Control::Reload) => info!("SIGHUP ignored: a reload is already under way"),
            None | Some(Control::Shutdown) => return,
        }
    }
}

/// Waits at most `grace` for the stopped pipeline to finish its work in flight. Past that the
/// work is abandoned: a poll that did not commit is fetched again on the next start, and an
/// alert whose delivery did not complete is still pending in the outbox, so nothing is lost.
async fn drain(running: Running, grace: Duration) -> Result<(), DaemonError> {
    match tokio::time::timeout(grace, running).await {
        Ok(joined) => joined?,
        Err(_) => {
            warn!(
                "shutdown grace period ({}) is over: abandoning the fetches and deliveries still \
                 in flight; their alerts stay pending and go out after the next start",
                humantime::format_duration(grace)
            );
            Ok(())
        }
    }
}

/// The listener: `/metrics`, `/healthz`, `/readyz` and the dashboard (`crate::web`), which
/// reads the config the daemon currently runs through `config_rx`.
async fn start_listener(
    config: &Config,
    shared: &Arc<Shared>,
    store: &Store,
    config_rx: watch::Receiver<Arc<Runtime>>,
) -> Option<JoinHandle<()>> {
    let addr = config.daemon.metrics_listen?;
    match service::http::bind(addr).await {
        Ok(listener) => {
            let local = listener.local_addr().map_or(addr, |a| a);
            info!("dashboard on http://{local}/ (metrics: /metrics; health: /healthz, /readyz)");
            let dashboard =
                crate::web::Dashboard::new(store.clone(), config_rx, local.ip().is_loopback());
            let app = service::http::routes(Arc::clone(shared))
                .merge(crate::web::routes(dashboard))
                .fallback(service::http::not_found);
            Some(tokio::spawn(service::http::serve(
                listener,
                app,
                config.daemon.listen_auth.clone(),
            )))
        }
        Err(e) => {
            // Alerts matter more than their metrics: keep watching, but say it loudly.
            error!(
                "cannot serve metrics on {addr}: {e}; running without /metrics. Set \
                 [daemon] metrics_listen to a free address, or to \"off\""
            );
            None
        }
    }
}

/// Watchdog pings, STATUS refreshes and metrics upkeep.
///
/// WATCHDOG=1 goes out only while the scheduler keeps ticking, so a wedged scheduler (a
/// deadlock, a blocked runtime) stops the pings and systemd restarts the service.
async fn housekeeping(config: watch::Receiver<Arc<Runtime>>, shared: Arc<Shared>) {
    let watchdog = notify::watchdog_period();
    let step = watchdog.map_or(STATUS_EVERY, |period| (period / 2).min(STATUS_EVERY));
    let mut since_status = Duration::ZERO;
    let mut withheld = false;
    loop {
        tokio::time::sleep(step).await;
        if watchdog.is_some() {
            if service::scheduler_alive() {
                notify::watchdog();
                withheld = false;
            } else if let Some(stale) = service::since_last_tick()
                && !withheld
            {
                error!(
                    "the scheduler has made no progress for {}s; withholding the watchdog ping \
                     so that systemd restarts watchword",
                    stale.as_secs()
                );
                withheld = true;
            }
        }
        metrics::upkeep();
        since_status += step;
        if since_status >= STATUS_EVERY && shared.is_ready() {
            since_status = Duration::ZERO;
            let config = Arc::clone(&config.borrow());
            if let Ok(health) = shared.health().await {
                notify::status(&status_line(&config, Some(&health)));
            }
        }
    }
}

fn feed_names(config: &Config) -> Vec<String> {
    config.feeds.iter().map(|f| f.name.clone()).collect()
}

/// "watching 412 feeds, 37 rules; last pass 12:01; 3 alerts pending"
pub fn status_line(config: &Config, health: Option<&Health>) -> String {
    let mut line = format!(
        "watching {} feed{}, {} rule{}",
        config.feeds.len(),
        plural(config.feeds.len()),
        config.rules.len(),
        plural(config.rules.len())
    );
    if let Some(h) = health {
        if let Some(at) = h
            .last_poll_at
            .and_then(|t| Local.timestamp_opt(t, 0).single())
        {
            line.push_str(&format!("; last pass {}", at.format("%H:%M")));
        }
        line.push_str(&format!(
            "; {} alert{} pending",
            h.alerts_pending,
            plural(h.alerts_pending as usize)
        ));
        if let Some(oldest) = h.oldest_pending_at {
            let age = (Utc::now().timestamp() - oldest).max(0);
            if age >= 60 {
                line.push_str(&format!(" (oldest {})", crate::service::age(age)));
            }
        }
        if !h.failing.is_empty() {
            line.push_str(&format!(
                "; {} feed{} failing",
                h.failing.len(),
                plural(h.failing.len())
            ));
        }
    }
    line
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::store::FailingFeed;

    fn config() -> Config {
        Config::from_source(
            Path::new("/etc/watchword/watchword.toml"),
            r#"
[[feed]]
name = "a"
url = "https://a.example.org/rss"
[[feed]]
name = "b"
url = "https://b.example.org/rss"
[[rule]]
name = "r"
query = "volcano"
notify = ["out"]
[[sink]]
name = "out"
kind = "stdout"
"#,
        )
        .expect("valid config")
    }

    #[test]
    fn status_line_says_what_an_operator_needs() {
        let config = config();
        assert_eq!(status_line(&config, None), "watching 2 feeds, 1 rule");
        let last = Local
            .with_ymd_and_hms(2026, 11, 27, 12, 1, 0)
            .single()
            .expect("local time")
            .timestamp();
        let health = Health {
            alerts_pending: 3,
            oldest_pending_at: Some(Utc::now().timestamp() - 600),
            last_poll_at: Some(last),
            failing: vec![FailingFeed {
                name: "b".into(),
                consecutive_failures: 2,
                last_error: "HTTP 503".into(),
                last_success_at: None,
            }],
            ..Health::default()
        };
        assert_eq!(
            status_line(&config, Some(&health)),
            "watching 2 feeds, 1 rule; last pass 12:01; 3 alerts pending (oldest 10m); 1 feed failing"
        );
    }
}
