//! Retention: keeps a database that runs for years bounded, once a day and on `watchword prune`.

use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use tracing::{error, info};

use super::{DaemonError, Pipeline};
use crate::store::PruneReport;

/// How often the daemon prunes. The first prune runs a minute after start, off the busy
/// start-up pass.
const PRUNE_EVERY: Duration = Duration::from_secs(24 * 3600);
const FIRST_PRUNE_AFTER: Duration = Duration::from_secs(60);

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 4)
}

impl Pipeline {
    /// Prunes now by the configured retention (see `Store::prune`).
    pub async fn prune(&self) -> Result<PruneReport, DaemonError> {
        let daemon = &self.config.daemon;
        let now = Utc::now().timestamp();
        let window = secs(daemon.story_window);
        let items_before = now - secs(daemon.retention);
        let alerts_before = now - secs(daemon.alert_retention);
        let store = self.store.clone();
        let report = tokio::task::spawn_blocking(move || {
            store.prune(now, window, items_before, alerts_before)
        })
        .await??;
        // None: another replica on the same PostgreSQL is pruning; its round covers ours.
        Ok(report.unwrap_or_else(|| {
            tracing::debug!("retention: another replica is pruning now; skipped this round");
            PruneReport::default()
        }))
    }

    pub(super) async fn retention_loop(&self, mut shutdown: watch::Receiver<bool>) {
        let mut wait = FIRST_PRUNE_AFTER;
        loop {
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
            if *shutdown.borrow() {
                return;
            }
            wait = PRUNE_EVERY;
            match self.prune().await {
                Ok(r) => info!(
                    items = r.items,
                    stories = r.stories,
                    alerts = r.alerts,
                    "retention: pruned {} item(s), {} story(ies), {} alert(s)",
                    r.items,
                    r.stories,
                    r.alerts
                ),
                Err(e) => error!("retention: pruning failed: {e}; trying again in a day"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::model::{AlertId, AttemptOutcome, NewAlert};
    use crate::store::{FetchRecord, NewItem, Store};

    /// The loop itself: a minute after start it prunes, then once a day, and it stops on
    /// shutdown. Time is paused and advanced, so the test waits for neither.
    #[tokio::test(start_paused = true)]
    async fn the_daily_loop_prunes_a_minute_after_start_then_daily() {
        let dir = tempfile::tempdir().expect("tempdir");
        let database = dir.path().join("w.db");
        let source = format!(
            "[daemon]\ndatabase = {database:?}\nalert_retention = \"30d\"\n\n\
             [[feed]]\nname = \"wire\"\nurl = \"https://news.example.org/rss\"\n\n\
             [[rule]]\nname = \"r\"\nquery = \"accords\"\nnotify = [\"out\"]\n\n\
             [[sink]]\nname = \"out\"\nkind = \"stdout\"\n"
        );
        let runtime = crate::runtime::from_source(Path::new("w.toml"), &source)
            .unwrap_or_else(|e| panic!("{e}"));
        let store = Store::open(&database).expect("open");
        // An alert delivered 40 days ago: past alert_retention.
        let long_ago = Utc::now().timestamp() - 40 * 86_400;
        let record = |id: &str| FetchRecord {
            feed: "wire".into(),
            url: "https://news.example.org/rss".into(),
            at: long_ago,
            error: None,
            items: vec![NewItem {
                id: id.into(),
                link: None,
                title: id.into(),
                published: None,
                too_old: false,
                text_hash: None,
                story: Default::default(),
                alerts: vec![NewAlert {
                    id: AlertId::for_item("r", "wire", id),
                    rule: "r".into(),
                    payload: "{}".into(),
                    sinks: vec!["out".into()],
                    story_update_after: None,
                }],
            }],
            listed: Vec::new(),
            edits: Vec::new(),
        };
        let delivered = |store: &Store, id: &str| {
            store.record_fetch(&record(id)).expect("record");
            let alert = AlertId::for_item("r", "wire", id);
            store
                .record_attempt(
                    alert.as_str(),
                    "out",
                    long_ago,
                    &AttemptOutcome::Delivered { status: Some(200) },
                )
                .expect("attempt");
        };
        let alerts = |store: &Store| store.outbox_counts().expect("counts").delivered;
        delivered(&store, "first");
        let pipeline = Arc::new(Pipeline::new(Arc::new(runtime), store.clone()).expect("pipeline"));
        let (stop, shutdown) = watch::channel(false);
        let task = tokio::spawn({
            let pipeline = Arc::clone(&pipeline);
            async move { pipeline.retention_loop(shutdown).await }
        });
        // The prune runs on the blocking pool, in real time: let the loop run a while, and
        // wait (in real time, up to 10 s) until the count is what is expected.
        let settle = || async {
            for _ in 0..20 {
                tokio::task::yield_now().await;
                std::thread::sleep(Duration::from_millis(5));
            }
        };
        let becomes = |want: u64| {
            let store = store.clone();
            async move {
                let deadline = std::time::Instant::now() + Duration::from_secs(10);
                while alerts(&store) != want && std::time::Instant::now() < deadline {
                    tokio::task::yield_now().await;
                    std::thread::sleep(Duration::from_millis(5));
                }
                alerts(&store)
            }
        };
        // Let the loop start (and its first timer begin) before the clock moves.
        settle().await;
        tokio::time::advance(Duration::from_secs(30)).await;
        settle().await;
        assert_eq!(alerts(&store), 1, "nothing pruned before the first minute");
        tokio::time::advance(Duration::from_secs(31)).await;
        assert_eq!(becomes(0).await, 0, "pruned a minute after start");
        // …and let it go back to sleep (its next timer starts now) before the clock moves.
        settle().await;
        delivered(&store, "second");
        tokio::time::advance(Duration::from_secs(23 * 3600)).await;
        settle().await;
        assert_eq!(alerts(&store), 1, "not again within the day");
        tokio::time::advance(Duration::from_secs(3600)).await;
        assert_eq!(becomes(0).await, 0, "pruned again a day later");
        stop.send(true).expect("stop");
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the loop stops on shutdown")
            .expect("joined");
    }
}
