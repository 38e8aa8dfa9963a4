//! Wake-ups between replicas: a replica that records alerts (or `watchword redeliver` that
//! re-queues them) sends `NOTIFY watchword_outbox` with its commit, and every replica's
//! deliverers LISTEN, so an alert recorded by one replica is sent by the sink's deliverer on
//! another at once, not at its next look at the outbox. Only a hint: deliverers still look
//! every few seconds, so a lost notification (a reconnect) delays, never loses.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_postgres::AsyncMessage;
use tracing::{debug, warn};

use super::tls::Connector;
use super::{Postgres, Tx};
use crate::store::Result;

pub(super) const CHANNEL: &str = "watchword_outbox";

/// Queues the notification; PostgreSQL sends it when (and only if) the transaction commits.
pub(super) fn outbox_changed(tx: &Tx<'_>) -> Result<()> {
    tx.execute("SELECT pg_notify($1, '')", &[&CHANNEL])?;
    Ok(())
}

impl Postgres {
    /// Notified whenever any process records or re-queues alerts in this database. The first
    /// call starts one listening connection for the life of this handle.
    pub fn outbox_signal(&self) -> Arc<Notify> {
        let signal = Arc::clone(&self.outbox_signal);
        self.listening.call_once(|| {
            let config = Arc::clone(&self.config);
            let connector = self.connector.clone();
            let signal = Arc::clone(&signal);
            if let Ok(rt) = self.runtime.handle() {
                rt.spawn(listen(config, connector, signal));
            }
        });
        signal
    }
}

/// LISTENs on its own connection, reconnecting with a growing pause when it drops.
async fn listen(config: Arc<tokio_postgres::Config>, connector: Connector, signal: Arc<Notify>) {
    let mut pause = Duration::from_secs(1);
    loop {
        match listen_once(&config, &connector, &signal).await {
            Ok(()) => debug!("the outbox listener's connection closed; reconnecting"),
            // Through StoreError: tokio-postgres's Display leaves out the cause (the TLS
            // failure, the refused connection).
            Err(e) => warn!(
                "cannot listen for other replicas' alerts ({}); retrying in {}s",
                crate::store::StoreError::from(e),
                pause.as_secs()
            ),
        }
        // Alerts recorded while deaf are found by the deliverers' regular look at the outbox.
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(60));
    }
}

async fn listen_once(
    config: &tokio_postgres::Config,
    connector: &Connector,
    signal: &Notify,
) -> std::result::Result<(), tokio_postgres::Error> {
    let (client, mut connection) = connector.connect(config).await?;
    // The connection must be polled for the LISTEN to be sent and for notifications to come.
    let driver = async {
        loop {
            match std::future::poll_fn(|cx| connection.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(_))) => signal.notify_one(),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            }
        }
    };
    let subscribe = async {
        client.batch_execute(&format!("LISTEN {CHANNEL}")).await?;
        // The session (and so the subscription) lives as long as the client.
        std::future::pending::<std::result::Result<(), tokio_postgres::Error>>().await
    };
    tokio::select! {
        ended = driver => ended,
        failed = subscribe => failed,
    }
}
