//! `watchword prune`: retention on demand (the daemon also prunes once a day).

use std::sync::Arc;

use crate::daemon::Pipeline;
use crate::runtime::Runtime;

#[derive(Debug, clap::Args)]
pub struct PruneArgs {
    /// One JSON object for scripts: what was removed, from which database, and when.
    #[arg(long)]
    json: bool,
}

pub(super) async fn prune(config: Arc<Runtime>, args: PruneArgs) -> anyhow::Result<()> {
    // The writer lock: pruning while another process records would race its transactions.
    let (store, _lock) = super::open_store(&config).await?;
    let pipeline = Pipeline::new(Arc::clone(&config), store)?;
    let report = pipeline.prune().await?;
    if args.json {
        let body = serde_json::json!({
            "database": config.daemon.database,
            "pruned_at": crate::model::time::rfc3339(chrono::Utc::now().timestamp()),
            "pruned": {
                "items": report.items,
                "stories": report.stories,
                "story_keys": report.story_keys,
                "alerts": report.alerts,
            },
            "retention_seconds": config.daemon.retention.as_secs(),
            "alert_retention_seconds": config.daemon.alert_retention.as_secs(),
        });
        super::print_json(&body);
    } else {
        super::print_out(&format!(
            "pruned {} item(s), {} story(ies), {} story key(s), {} alert(s) from {}\n",
            report.items,
            report.stories,
            report.story_keys,
            report.alerts,
            config.daemon.database.display()
        ));
    }
    Ok(())
}
