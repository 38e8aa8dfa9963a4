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
        Ok(report)
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
