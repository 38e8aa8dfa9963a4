//! `watchword prune`: retention on demand (the daemon also prunes once a day).

use std::sync::Arc;

use crate::daemon::Pipeline;
use crate::runtime::Runtime;

pub(super) async fn prune(config: Arc<Runtime>) -> anyhow::Result<()> {
    // The writer lock: pruning while another process records would race its transactions.
    let (store, _lock) = super::open_store(&config).await?;
    let pipeline = Pipeline::new(Arc::clone(&config), store)?;
    let report = pipeline.prune().await?;
    super::print_out(&format!(
        "pruned {} item(s), {} story(ies), {} story key(s), {} alert(s) from {}\n",
        report.items,
        report.stories,
        report.story_keys,
        report.alerts,
        config.daemon.database.display()
    ));
    Ok(())
}
