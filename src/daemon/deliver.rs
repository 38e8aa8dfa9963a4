//! Delivery: one deliverer per sink hands that sink's share of the outbox to its receiver, in
//! order, records every attempt, and backs off, paces, digests or gives up per sink. A slow
//! or failing sink only ever delays itself.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{error, info, warn};

use super::{DaemonError, DeliveryReport, MAX_IDLE, Pipeline};
use crate::alert::{Attempted, Outgoing};
use crate::model::{AlertId, AttemptOutcome, payload};
use crate::store::{Store, StoreError};

/// Deliveries handled per query; a full batch is followed by another.
const DELIVERY_BATCH: usize = 1000;

/// Deliveries a replica on PostgreSQL takes (and leases) at once.
const SHARED_DELIVERY_BATCH: usize = 20;

/// With replicas on one PostgreSQL, how long a deliverer waits at most before it looks at the
/// outbox again: another replica may have recorded alerts for its sink.
const SHARED_IDLE: Duration = Duration::from_secs(5);
/// The most alerts one digest message carries; more go in the next message.
const DIGEST_MAX: usize = 100;

/// Whether to go on with a sink after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue { released: bool },
    Stop,
}

/// How one sink's pass ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SinkPass {
    Done,
    /// The receiver disabled the sink (410 Gone): nothing is sent until its URL changes or
    /// `watchword redeliver`.
    Disabled,
}

/// A short, stable fingerprint of a sink's URL: a corrected URL re-enables a disabled sink,
/// and the URL itself (a secret) is never stored.
pub fn url_fingerprint(url: &str) -> String {
    let digest = Sha256::digest(url.trim().as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

impl Pipeline {
    /// Runs `f` against the store on the blocking pool.
    async fn on_outbox<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, DaemonError> {
        let store = self.store.clone();
        Ok(tokio::task::spawn_blocking(move || f(&store)).await??)
    }

    /// Sends what is owed to every configured sink, the sinks side by side, each until
    /// nothing due is left or `stop` turns true. With `include_future` the retry schedule and
    /// digest windows are ignored (`watchword once`).
    pub async fn deliver_due(
        self: &Arc<Self>,
        include_future: bool,
        stop: &watch::Receiver<bool>,
    ) -> Result<DeliveryReport, DaemonError> {
        let mut tasks = JoinSet::new();
        for sink in self.deliverer.sink_names() {
            let pipeline = Arc::clone(self);
            let stop = stop.clone();
            tasks.spawn(async move {
                let result = pipeline.deliver_sink(&sink, include_future, &stop).await;
                // A one-off pass (`once`) does not keep the sink: the next process to deliver
                // (a replica, or the next `once`) must not wait for this one's lease.
                pipeline.leave_sink(&sink).await;
                (sink, result)
            });
        }
        let mut report = DeliveryReport::default();
        let mut failed = None;
        while let Some(joined) = tasks.join_next().await {
            match joined? {
                (_, Ok((r, _))) => {
                    report.delivered += r.delivered;
                    report.retrying += r.retrying;
                    report.dead += r.dead;
                    report.skipped += r.skipped;
                }
                (sink, Err(e)) => {
                    error!(sink = %sink, "delivery to sink {sink:?} failed: {e}");
                    failed.get_or_insert(e);
                }
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(report),
        }
    }

    /// Whether `sink` is disabled; a sink disabled for a URL it no longer has is re-enabled.
    async fn sink_disabled(&self, sink: &str) -> Result<bool, DaemonError> {
        let Some(url) = self.deliverer.sink(sink).and_then(|s| s.url.clone()) else {
            return Ok(false);
        };
        let name = sink.to_string();
        let disabled = self
            .on_outbox(move |store| {
                Ok(store.disabled_sinks()?.into_iter().find(|d| d.sink == name))
            })
            .await?;
        let Some(disabled) = disabled else {
            return Ok(false);
        };
        if disabled.url_fingerprint == url_fingerprint(&url) {
            return Ok(true);
        }
        let name = sink.to_string();
        self.on_outbox(move |store| store.enable_sink(&name))
            .await?;
        info!(sink = %sink, "sink {sink:?} has a new url: enabled again after it was disabled ({})", disabled.reason);
        Ok(false)
    }

    /// One sink's pass: everything due, in order, until a failure defers the rest.
    async fn deliver_sink(
        &self,
        sink: &str,
        include_future: bool,
        stop: &watch::Receiver<bool>,
    ) -> Result<(DeliveryReport, SinkPass), DaemonError> {
        let mut report = DeliveryReport::default();
        let Some(config) = self.deliverer.sink(sink).cloned() else {
            return Ok((report, SinkPass::Done));
        };
        if !self.sink_turn(sink).await? {
            // Another replica delivers to this sink now; it is ours when its lease runs out.
            return Ok((report, SinkPass::Done));
        }
        if self.sink_disabled(sink).await? {
            if include_future {
                error!(sink = %sink, "sink {sink:?} is disabled: its receiver answered 410 Gone. \
                       Fix its url (or run `watchword redeliver --dead` once it is back)");
            }
            return Ok((report, SinkPass::Disabled));
        }
        let give_up = i64::try_from(config.give_up_after.as_secs()).unwrap_or(i64::MAX);
        let name = sink.to_string();
        let cutoff = Utc::now().timestamp().saturating_sub(give_up);
        let expired = self
            .on_outbox(move |store| store.expire_sink_deliveries(&name, cutoff))
            .await?;
        if expired > 0 {
            report.dead += expired;
            error!(
                sink = %sink,
                "{expired} delivery(ies) to {} gave up: the receiver failed for the whole retry window ({})",
                self.deliverer.describe(sink),
                humantime::format_duration(config.give_up_after)
            );
        }
        if config.digest.is_some() || config.digest_at.is_some() {
            return self
                .deliver_digests(sink, include_future, stop, report)
                .await;
        }
        let mut released_once = false;
        // Replicas take small batches: each is leased for `replica_lease`, and the turn at the
        // sink is renewed between deliveries, so a batch paced by a slow rate limit never
        // outlives its lease.
        let batch = if self.store.is_shared() {
            SHARED_DELIVERY_BATCH
        } else {
            DELIVERY_BATCH
        };
        let lease = self.config.daemon.replica_lease;
        let mut turn_renewed = Instant::now();
        loop {
            if *stop.borrow() {
                return Ok((report, SinkPass::Done));
            }
            let now = Utc::now().timestamp();
            let sinks = vec![sink.to_string()];
            let due = self
                .on_outbox(move |store| store.due_deliveries(now, include_future, batch, &sinks))
                .await?;
            if due.is_empty() {
                return Ok((report, SinkPass::Done));
            }
            let full_batch = due.len() == batch;
            let mut released_now = false;
            for delivery in due {
                if !self.pace(sink, stop).await {
                    return Ok((report, SinkPass::Done));
                }
                if self.store.is_shared() && turn_renewed.elapsed() > lease / 3 {
                    if !self.sink_turn(sink).await? {
                        // Another replica has the sink now (this one stalled past its lease):
                        // it sends the rest, under the same ids.
                        return Ok((report, SinkPass::Done));
                    }
                    turn_renewed = Instant::now();
                }
                let body = payload::with_story_sources(&delivery.payload, &delivery.story_sources);
                let out = Outgoing {
                    sink,
                    id: &delivery.alert_id,
                    payloads: vec![body.as_str()],
                    attempts: delivery.attempts,
                    queued_at: delivery.queued_at,
                };
                let Some(attempted) = self.deliverer.attempt(&out).await else {
                    return Ok((report, SinkPass::Done));
                };
                crate::service::metrics::delivery_attempt(
                    sink,
                    &attempted.outcome,
                    &[delivery.created_at],
                );
                let ids = vec![delivery.alert_id.clone()];
                match self
                    .record(
                        sink,
                        &ids,
                        &delivery.rule,
                        attempted,
                        !released_once,
                        &mut report,
                    )
                    .await?
                {
                    Flow::Continue { released } => {
                        released_once |= released;
                        released_now |= released;
                    }
                    Flow::Stop => return Ok((report, self.pass_state(sink).await?)),
                }
            }
            // Every row of the batch is now delivered, or the sink stopped above, so the next
            // query returns only rows not seen yet (including rows a recovered sink released).
            if !full_batch && !released_now {
                return Ok((report, SinkPass::Done));
            }
        }
    }

    /// Takes or renews this process's turn at `sink` (see `Store::claim_sink`).
    async fn sink_turn(&self, sink: &str) -> Result<bool, DaemonError> {
        if !self.store.is_shared() {
            return Ok(true);
        }
        let name = sink.to_string();
        let lease = self.config.daemon.replica_lease.as_secs() as i64;
        let now = Utc::now().timestamp();
        self.on_outbox(move |store| store.claim_sink(&name, now, lease))
            .await
    }

    async fn pass_state(&self, sink: &str) -> Result<SinkPass, DaemonError> {
        Ok(if self.sink_disabled(sink).await? {
            SinkPass::Disabled
        } else {
            SinkPass::Done
        })
    }

    /// Waits for the sink's rate limit; false if `stop` turned true meanwhile.
    async fn pace(&self, sink: &str, stop: &watch::Receiver<bool>) -> bool {
        if *stop.borrow() {
            return false;
        }
        let mut stopping = stop.clone();
        tokio::select! {
            _ = self.deliverer.pace(sink) => !*stop.borrow(),
            _ = stopping.wait_for(|s| *s) => false,
        }
    }

    /// When `sink`'s next digest is due (unix seconds): the end of the window that opened
    /// with its oldest pending alert (`digest`), or the first scheduled time after it
    /// (`digest_at`); a retry due sooner comes first.
    async fn digest_due(&self, sink: &str) -> Result<Option<i64>, DaemonError> {
        let Some(config) = self.deliverer.sink(sink) else {
            return Ok(None);
        };
        let name = sink.to_string();
        if let Some(schedule) = config.digest_at.clone() {
            let (fresh, retry) = self
                .on_outbox(move |store| store.digest_pending_times(&name))
                .await?;
            let scheduled = fresh.map(|queued| schedule.next_after(queued));
            return Ok(match (scheduled, retry) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            });
        }
        let window = config
            .digest
            .map_or(0, |w| i64::try_from(w.as_secs()).unwrap_or(i64::MAX / 2));
        self.on_outbox(move |store| store.digest_due_at(&name, window))
            .await
    }

    /// A digest sink's pass: when the window that opened with the oldest pending alert has
    /// closed, or the next scheduled time after it has come, its alerts go as one message.
    async fn deliver_digests(
        &self,
        sink: &str,
        include_future: bool,
        stop: &watch::Receiver<bool>,
        mut report: DeliveryReport,
    ) -> Result<(DeliveryReport, SinkPass), DaemonError> {
        loop {
            if *stop.borrow() {
                return Ok((report, SinkPass::Done));
            }
            let due_at = self.digest_due(sink).await?;
            let now = Utc::now().timestamp();
            match due_at {
                None => return Ok((report, SinkPass::Done)),
                Some(at) if at > now && !include_future => return Ok((report, SinkPass::Done)),
                Some(_) => {}
            }
            let sinks = vec![sink.to_string()];
            let rows = self
                .on_outbox(move |store| store.due_deliveries(now, true, DIGEST_MAX, &sinks))
                .await?;
            if rows.is_empty() {
                return Ok((report, SinkPass::Done));
            }
            let ids: Vec<String> = rows.iter().map(|r| r.alert_id.clone()).collect();
            let id = if ids.len() == 1 {
                ids[0].clone()
            } else {
                AlertId::digest(&ids).into_string()
            };
            let bodies: Vec<String> = rows
                .iter()
                .map(|r| payload::with_story_sources(&r.payload, &r.story_sources))
                .collect();
            if !self.pace(sink, stop).await {
                return Ok((report, SinkPass::Done));
            }
            let out = Outgoing {
                sink,
                id: &id,
                payloads: bodies.iter().map(String::as_str).collect(),
                attempts: rows.iter().map(|r| r.attempts).max().unwrap_or(0),
                queued_at: rows.iter().map(|r| r.queued_at).min().unwrap_or(now),
            };
            let Some(attempted) = self.deliverer.attempt(&out).await else {
                return Ok((report, SinkPass::Done));
            };
            let created: Vec<i64> = rows.iter().map(|r| r.created_at).collect();
            crate::service::metrics::delivery_attempt(sink, &attempted.outcome, &created);
            let rule = if ids.len() == 1 {
                rows[0].rule.clone()
            } else {
                format!("digest of {}", ids.len())
            };
            match self
                .record(sink, &ids, &rule, attempted, false, &mut report)
                .await?
            {
                Flow::Continue { .. } if rows.len() == DIGEST_MAX => continue,
                Flow::Continue { .. } => return Ok((report, SinkPass::Done)),
                Flow::Stop => return Ok((report, self.pass_state(sink).await?)),
            }
        }
    }

    /// Records an attempt at `ids` (one alert, or a digest) and decides what the sink does
    /// next. On the first success of a pass (`release`) the rows deferred while the receiver
    /// was failing are made due at once.
    async fn record(
        &self,
        sink: &str,
        ids: &[String],
        rule: &str,
        attempted: Attempted,
        release: bool,
        report: &mut DeliveryReport,
    ) -> Result<Flow, DaemonError> {
        let now = Utc::now().timestamp();
        let described = self.deliverer.describe(sink);
        let first = ids.first().cloned().unwrap_or_default();
        let n = ids.len();
        let mut defer_until = None;
        let mut disable = None;
        let flow = match &attempted.outcome {
            AttemptOutcome::Delivered { .. } => {
                report.delivered += n;
                info!(sink = %sink, alert_id = %first, rule = %rule, alerts = n, "alert delivered to {described}");
                Flow::Continue { released: release }
            }
            AttemptOutcome::Retry {
                error,
                next_attempt_at,
                ..
            } => {
                report.retrying += n;
                defer_until = Some(*next_attempt_at);
                let when = DateTime::<Utc>::from_timestamp(*next_attempt_at, 0)
                    .map(|t| t.to_rfc3339())
                    .unwrap_or_default();
                warn!(sink = %sink, alert_id = %first, "delivery to {described} failed: {error}; retrying at {when}");
                Flow::Stop
            }
            AttemptOutcome::Dead { error, .. } => {
                report.dead += n;
                if attempted.gone {
                    let url = self
                        .deliverer
                        .sink(sink)
                        .and_then(|s| s.url.clone())
                        .unwrap_or_default();
                    disable = Some((error.clone(), url_fingerprint(&url)));
                    error!(sink = %sink, alert_id = %first, "delivery to {described} failed: {error}; \
                           the sink is now DISABLED (see `watchword alerts`); fix its url, then \
                           `watchword redeliver --dead`");
                } else {
                    // Whatever made it give up (a receiver down for days, a 404 that never
                    // went away) is likely to hold for the sink's next alert too: leave those
                    // for a later pass.
                    error!(sink = %sink, alert_id = %first, "delivery to {described} failed: {error}; \
                           giving up (dead letter; `watchword redeliver {first}` re-queues it)");
                }
                Flow::Stop
            }
        };
        let sink_name = sink.to_string();
        let ids = ids.to_vec();
        let released = matches!(flow, Flow::Continue { released: true });
        self.on_outbox(move |store| {
            store.record_attempts(&ids, &sink_name, now, &attempted.outcome)?;
            if let Some(until) = defer_until {
                store.defer_sink(&sink_name, until)?;
            }
            if let Some((reason, fingerprint)) = disable {
                store.disable_sink(&sink_name, now, &reason, &fingerprint)?;
            }
            if released {
                // The receiver is back: what was deferred while it failed goes now.
                store.release_sink(&sink_name, now)?;
            }
            Ok(())
        })
        .await?;
        Ok(flow)
    }

    /// Logs, once, the alerts that wait for sinks no longer in the config.
    pub async fn warn_orphaned_deliveries(&self) -> Result<(), DaemonError> {
        let configured = self.deliverer.sink_names();
        let orphans = self
            .on_outbox(move |store| store.orphaned_deliveries(&configured))
            .await?;
        for (sink, count) in orphans {
            warn!(
                sink = %sink,
                "{count} alert(s) wait for sink {sink:?}, which is no longer in the config; \
                 add it back to deliver them"
            );
        }
        Ok(())
    }

    /// Runs one deliverer task per sink until `shutdown`; each is woken when a poll records
    /// new alerts, when its next retry or digest is due, or at least every `MAX_IDLE`.
    pub(super) async fn delivery_loop(
        self: &Arc<Self>,
        shutdown: watch::Receiver<bool>,
        new_alerts: Arc<Notify>,
    ) {
        // `Notify` wakes one waiter; a watch counter wakes every sink, and a sink busy
        // sending when it changes still sees the change afterwards.
        let (wake, woken) = watch::channel(0u64);
        // Alerts recorded by other replicas on the same PostgreSQL wake the sinks as well.
        let elsewhere = self.store.outbox_signal();
        let fan_out = tokio::spawn({
            let mut shutdown = shutdown.clone();
            async move {
                let recorded_elsewhere = async || match &elsewhere {
                    Some(signal) => signal.notified().await,
                    None => std::future::pending().await,
                };
                loop {
                    tokio::select! {
                        _ = new_alerts.notified() => wake.send_modify(|n| *n = n.wrapping_add(1)),
                        _ = recorded_elsewhere() => wake.send_modify(|n| *n = n.wrapping_add(1)),
                        _ = crate::service::requeued().notified() => wake.send_modify(|n| *n = n.wrapping_add(1)),
                        changed = shutdown.changed() => {
                            if changed.is_err() || *shutdown.borrow() {
                                return;
                            }
                        }
                    }
                }
            }
        });
        let mut tasks = JoinSet::new();
        for sink in self.deliverer.sink_names() {
            let pipeline = Arc::clone(self);
            let (shutdown, woken) = (shutdown.clone(), woken.clone());
            tasks.spawn(async move { pipeline.sink_loop(sink, shutdown, woken).await });
        }
        while let Some(joined) = tasks.join_next().await {
            if let Err(e) = joined {
                error!("a sink's deliverer task failed: {e}");
            }
        }
        let _ = fan_out.await;
    }

    async fn sink_loop(
        &self,
        sink: String,
        mut shutdown: watch::Receiver<bool>,
        mut woken: watch::Receiver<u64>,
    ) {
        let mut failures: u32 = 0;
        let mut disabled = false;
        loop {
            if *shutdown.borrow() {
                self.leave_sink(&sink).await;
                return;
            }
            match self.deliver_sink(&sink, false, &shutdown).await {
                Err(e) => {
                    // Most likely the database cannot be written: a sent alert may not have
                    // been marked delivered, so sending again at once would double it.
                    failures = failures.saturating_add(1);
                    let pause = Duration::from_secs(60 * u64::from(failures.min(10)));
                    error!(
                        sink = %sink,
                        "delivery pass for sink {sink:?} failed: {e}; pausing deliveries for {}s",
                        pause.as_secs()
                    );
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = shutdown.changed() => {}
                    }
                    continue;
                }
                Ok((_, state)) => {
                    failures = 0;
                    let now_disabled = state == SinkPass::Disabled;
                    if now_disabled && !disabled {
                        warn!(sink = %sink, "sink {sink:?} is disabled (its receiver answered 410 Gone); \
                              its alerts wait until its url changes or `watchword redeliver`");
                    }
                    disabled = now_disabled;
                }
            }
            let next = if disabled {
                None
            } else {
                self.next_due(&sink).await.unwrap_or_else(|e| {
                    error!(sink = %sink, "cannot read the outbox schedule: {e}");
                    None
                })
            };
            // Replicas do not hear each other's new alerts: with a shared database, look at the
            // outbox every few seconds even when nothing here said so.
            let idle = if self.store.is_shared() {
                SHARED_IDLE
            } else {
                MAX_IDLE
            };
            let mut wake = Instant::now() + idle;
            if let Some(at) = next {
                let wait = (at - Utc::now().timestamp()).max(0) as u64;
                // Never spin: a due row that could not be sent waits at least a second.
                wake = wake.min(Instant::now() + Duration::from_secs(wait.max(1)));
            }
            tokio::select! {
                _ = tokio::time::sleep_until(wake) => {}
                _ = woken.changed() => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Gives up this process's turn at `sink` when it stops, so another replica takes over at
    /// once rather than after the lease.
    async fn leave_sink(&self, sink: &str) {
        if !self.store.is_shared() {
            return;
        }
        let name = sink.to_string();
        if let Err(e) = self
            .on_outbox(move |store| store.release_sink_lease(&name))
            .await
        {
            warn!(sink = %sink, "cannot hand sink {sink:?} over to another replica: {e}; it will after its lease");
        }
    }

    /// When `sink` next has something to send (unix seconds).
    async fn next_due(&self, sink: &str) -> Result<Option<i64>, DaemonError> {
        let digests = self
            .deliverer
            .sink(sink)
            .is_some_and(|s| s.digest.is_some() || s.digest_at.is_some());
        if digests {
            return self.digest_due(sink).await;
        }
        let name = sink.to_string();
        self.on_outbox(move |store| store.next_delivery_at(&[name]))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_ids_are_stable_and_fingerprints_hide_the_url() {
        let ids = vec!["ww_a".to_string(), "ww_b".to_string()];
        assert_eq!(AlertId::digest(&ids), AlertId::digest(&ids.clone()));
        assert_ne!(AlertId::digest(&ids), AlertId::digest(&ids[..1]));
        let fp = url_fingerprint("https://h.example/hook/secret-token");
        assert_eq!(fp.len(), 16);
        assert!(!fp.contains("secret"));
    }
}
