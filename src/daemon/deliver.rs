//! Delivery: hands the outbox to the sinks, records every attempt, and backs off per sink.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;
use tracing::{error, info, warn};

use super::{DaemonError, DeliveryReport, MAX_IDLE, Pipeline};
use crate::alert;
use crate::store::{AttemptOutcome, StoreError};

/// Deliveries handled per delivery pass; the rest wait for the next pass.
const DELIVERY_BATCH: usize = 1000;

impl Pipeline {
    /// Sends what is owed to the configured sinks, oldest first, until nothing due is left
    /// or `stop` turns true (checked between deliveries, so shutdown waits for one request at
    /// most). With `include_future` the retry schedule is ignored (`watchword once`).
    ///
    /// When a sink fails, its remaining deliveries are deferred to the same retry time and it
    /// is not tried again in this pass: a receiver that is down costs one timeout per retry,
    /// not one per pending alert.
    pub async fn deliver_due(
        &self,
        include_future: bool,
        stop: &watch::Receiver<bool>,
    ) -> Result<DeliveryReport, DaemonError> {
        let mut report = DeliveryReport::default();
        let mut active = self.deliverer.sink_names();
        let mut released: HashSet<String> = HashSet::new();
        let store = self.store.clone();
        let expired = tokio::task::spawn_blocking(move || {
            store.expire_deliveries(Utc::now().timestamp() - alert::retry::GIVE_UP_AFTER_SECS)
        })
        .await??;
        if expired > 0 {
            report.dead += expired;
            error!(
                "{expired} delivery(ies) gave up: their receivers failed for the whole retry window"
            );
        }
        loop {
            if active.is_empty() || *stop.borrow() {
                return Ok(report);
            }
            let store = self.store.clone();
            let now = Utc::now().timestamp();
            let sinks = active.clone();
            let due = tokio::task::spawn_blocking(move || {
                store.due_deliveries(now, include_future, DELIVERY_BATCH, &sinks)
            })
            .await??;
            let full_batch = due.len() == DELIVERY_BATCH;
            let released_before = released.len();
            if due.is_empty() {
                return Ok(report);
            }
            for delivery in due {
                if *stop.borrow() {
                    return Ok(report);
                }
                if !active.contains(&delivery.sink) {
                    report.skipped += 1;
                    continue;
                }
                let Some(outcome) = self.deliverer.attempt(&delivery).await else {
                    // Unreachable in practice: `active` holds configured sinks only.
                    active.retain(|s| s != &delivery.sink);
                    report.skipped += 1;
                    continue;
                };
                crate::service::metrics::delivery_attempt(&delivery, &outcome);
                let now = Utc::now().timestamp();
                let sink = self.deliverer.describe(&delivery.sink);
                let mut defer_until = None;
                let mut release = false;
                match &outcome {
                    AttemptOutcome::Delivered { .. } => {
                        report.delivered += 1;
                        release = released.insert(delivery.sink.clone());
                        info!(sink = %delivery.sink, alert_id = %delivery.alert_id, rule = %delivery.rule, "alert delivered to {sink}");
                    }
                    AttemptOutcome::Retry {
                        error,
                        next_attempt_at,
                        ..
                    } => {
                        report.retrying += 1;
                        active.retain(|s| s != &delivery.sink);
                        defer_until = Some(*next_attempt_at);
                        let when = DateTime::<Utc>::from_timestamp(*next_attempt_at, 0)
                            .map(|t| t.to_rfc3339())
                            .unwrap_or_default();
                        warn!(sink = %delivery.sink, alert_id = %delivery.alert_id, "delivery to {sink} failed: {error}; retrying at {when}");
                    }
                    AttemptOutcome::Dead { error, .. } => {
                        report.dead += 1;
                        // Whatever made it give up (410, a receiver down for days) is likely
                        // to hold for the sink's next alert too: leave those for a later pass.
                        active.retain(|s| s != &delivery.sink);
                        error!(sink = %delivery.sink, alert_id = %delivery.alert_id, "delivery to {sink} failed: {error}; giving up (dead letter)");
                    }
                }
                let store = self.store.clone();
                let (alert_id, sink_name) = (delivery.alert_id, delivery.sink);
                tokio::task::spawn_blocking(move || {
                    store.record_attempt(&alert_id, &sink_name, now, &outcome)?;
                    if let Some(until) = defer_until {
                        store.defer_sink(&sink_name, until)?;
                    }
                    if release {
                        // The receiver is back: what was deferred while it failed goes now.
                        store.release_sink(&sink_name, now)?;
                    }
                    Ok::<(), StoreError>(())
                })
                .await??;
            }
            let released_this_batch = released.len() > released_before;
            // Every row of the batch is now delivered, dead, or behind a sink we stopped
            // trying, so the next query returns only rows not seen yet (including rows a
            // recovered sink just released).
            if !full_batch && !released_this_batch {
                return Ok(report);
            }
        }
    }

    /// Logs, once, the alerts that wait for sinks no longer in the config.
    pub async fn warn_orphaned_deliveries(&self) -> Result<(), DaemonError> {
        let store = self.store.clone();
        let configured = self.deliverer.sink_names();
        let orphans =
            tokio::task::spawn_blocking(move || store.orphaned_deliveries(&configured)).await??;
        for (sink, count) in orphans {
            warn!(
                sink = %sink,
                "{count} alert(s) wait for sink {sink:?}, which is no longer in the config; \
                 add it back to deliver them"
            );
        }
        Ok(())
    }

    pub(super) async fn delivery_loop(
        &self,
        mut shutdown: watch::Receiver<bool>,
        new_alerts: Arc<Notify>,
    ) {
        let sinks = self.deliverer.sink_names();
        let mut failures: u32 = 0;
        loop {
            if *shutdown.borrow() {
                return;
            }
            if let Err(e) = self.deliver_due(false, &shutdown).await {
                // Most likely the database cannot be written: a sent alert may not have been
                // marked delivered, so sending again at once would double it. Back off hard.
                failures = failures.saturating_add(1);
                let pause = Duration::from_secs(60 * u64::from(failures.min(10)));
                error!(
                    "delivery pass failed: {e}; pausing deliveries for {}s",
                    pause.as_secs()
                );
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            failures = 0;
            let store = self.store.clone();
            let sinks = sinks.clone();
            let next =
                match tokio::task::spawn_blocking(move || store.next_delivery_at(&sinks)).await {
                    Ok(Ok(next)) => next,
                    Ok(Err(e)) => {
                        error!("cannot read the outbox schedule: {e}");
                        None
                    }
                    Err(e) => {
                        error!("outbox task failed: {e}");
                        None
                    }
                };
            let mut wake = Instant::now() + MAX_IDLE;
            if let Some(at) = next {
                let wait = (at - Utc::now().timestamp()).max(0) as u64;
                // Never spin: a due row that could not be sent waits at least a second.
                wake = wake.min(Instant::now() + Duration::from_secs(wait.max(1)));
            }
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {}
                _ = new_alerts.notified() => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
