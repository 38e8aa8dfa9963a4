//! Leases that share out work between replicas: a slot on a host (politeness), and a sink
//! (its rate limit and its order). A lease names its replica and runs out at a unix time, so
//! a replica that dies holds nothing for longer than its lease.

use super::{Postgres, Result};

impl Postgres {
    /// Takes one of `limit` slots on `host` until `now + lease_secs`; `None` when all are
    /// held by live leases (the caller waits and asks again).
    pub fn acquire_host_slot(
        &self,
        host: &str,
        limit: usize,
        now: i64,
        lease_secs: i64,
    ) -> Result<Option<i32>> {
        let limit = i32::try_from(limit.max(1)).unwrap_or(i32::MAX);
        let until = now.saturating_add(lease_secs);
        let replica: &str = &self.replica;
        self.with_tx(|tx| {
            tx.execute(
                "INSERT INTO host_slots (host, slot) SELECT $1, generate_series(0, $2 - 1)
                 ON CONFLICT DO NOTHING",
                &[&host, &limit],
            )?;
            Ok(tx
                .query_opt(
                    "UPDATE host_slots SET owner = $3, until = $4
                     WHERE (host, slot) = (
                         SELECT host, slot FROM host_slots
                         WHERE host = $1 AND slot < $2 AND (owner IS NULL OR until <= $5)
                         ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED)
                     RETURNING slot",
                    &[&host, &limit, &replica, &until, &now],
                )?
                .map(|row| row.get::<_, i32>(0)))
        })
    }

    pub fn release_host_slot(&self, host: &str, slot: i32) -> Result<()> {
        let replica: &str = &self.replica;
        self.with_tx(|tx| {
            tx.execute(
                "UPDATE host_slots SET owner = NULL, until = NULL
                 WHERE host = $1 AND slot = $2 AND owner = $3",
                &[&host, &slot, &replica],
            )?;
            Ok(())
        })
    }

    /// Takes (or renews) `sink` for this replica until `now + lease_secs`; false while another
    /// replica's lease on it lasts.
    pub fn claim_sink(&self, sink: &str, now: i64, lease_secs: i64) -> Result<bool> {
        let until = now.saturating_add(lease_secs);
        let replica: &str = &self.replica;
        self.with_tx(|tx| {
            Ok(tx
                .query_opt(
                    "INSERT INTO sink_leases (sink, owner, until) VALUES ($1, $2, $3)
                     ON CONFLICT (sink) DO UPDATE SET owner = EXCLUDED.owner,
                         until = EXCLUDED.until
                     WHERE sink_leases.owner = EXCLUDED.owner OR sink_leases.until <= $4
                     RETURNING 1",
                    &[&sink, &replica, &until, &now],
                )?
                .is_some())
        })
    }

    /// Gives `sink` up (at shutdown), so another replica takes it at once.
    pub fn release_sink_lease(&self, sink: &str) -> Result<()> {
        let replica: &str = &self.replica;
        self.with_tx(|tx| {
            tx.execute(
                "DELETE FROM sink_leases WHERE sink = $1 AND owner = $2",
                &[&sink, &replica],
            )?;
            Ok(())
        })
    }

    /// Until when another replica holds one of `sinks`, if one does.
    pub(super) fn sink_leased_until(
        tx: &super::Tx<'_>,
        replica: &str,
        sinks: &[String],
        now: i64,
    ) -> Result<Option<i64>> {
        Ok(tx
            .query_one(
                "SELECT MAX(until) FROM sink_leases
                 WHERE sink = ANY($1) AND owner <> $2 AND until > $3",
                &[&sinks, &replica, &now],
            )?
            .get(0))
    }
}
