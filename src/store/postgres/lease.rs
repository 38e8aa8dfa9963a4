//! Leases that share out work between replicas: a slot on a host (politeness; taken with a
//! feed's claim in `record.rs` when one is free), and a sink
//! (its rate limit and its order). A lease names its replica and runs out at a unix time, so
//! a replica that dies holds nothing for longer than its lease.

use super::{Postgres, Result};

impl Postgres {
    /// Makes `host`'s slot rows once per process. Only missing rows are inserted, so on a host
    /// that has them this is a plain read: it never waits for the transactions that hold them.
    pub(super) fn make_host_slots(&self, host: &str, limit: i32) -> Result<()> {
        let key = (host.to_string(), limit);
        let made = self
            .hosts_with_slots
            .lock()
            .map(|hosts| hosts.contains(&key))
            .unwrap_or(false);
        if made {
            return Ok(());
        }
        self.with_conn(|tx| {
            tx.execute(
                "INSERT INTO host_slots (host, slot)
                 SELECT $1, s FROM generate_series(0, $2 - 1) AS s
                 WHERE NOT EXISTS (SELECT 1 FROM host_slots WHERE host = $1 AND slot = s)
                 ON CONFLICT DO NOTHING",
                &[&host, &limit],
            )
        })?;
        if let Ok(mut hosts) = self.hosts_with_slots.lock() {
            hosts.insert(key);
        }
        Ok(())
    }

    /// Takes one of `limit` slots on `host` for the poll of `feed`, which this replica has
    /// claimed without one (all were taken then), and renews the feed's lease from `now`;
    /// false while every slot is held by a live lease (the caller waits and asks again). The
    /// slot is given back when the poll is recorded.
    pub fn acquire_feed_host_slot(
        &self,
        feed: &str,
        host: &str,
        limit: usize,
        now: i64,
        lease_secs: i64,
    ) -> Result<bool> {
        let limit = i32::try_from(limit.max(1)).unwrap_or(i32::MAX);
        let until = now.saturating_add(lease_secs.max(1));
        let replica: &str = &self.replica;
        self.make_host_slots(host, limit)?;
        let slot = self.with_conn(|tx| {
            Ok(tx
                .query_opt(
                    "WITH slot AS (
                        UPDATE host_slots SET owner = $3, until = $4
                        WHERE (host, slot) = (
                            SELECT host, slot FROM host_slots
                            WHERE host = $1 AND slot < $2 AND (owner IS NULL OR until <= $5)
                            ORDER BY slot LIMIT 1 FOR UPDATE SKIP LOCKED)
                        RETURNING slot
                    ), renewed AS (
                        UPDATE feeds SET lease_until = $4
                        WHERE name = $6 AND lease_owner = $3 AND EXISTS (SELECT 1 FROM slot)
                    )
                    SELECT slot FROM slot",
                    &[&host, &limit, &replica, &until, &now, &feed],
                )?
                .map(|row| row.get::<_, i32>(0)))
        })?;
        if let Some(slot) = slot {
            self.hold_slot(feed, host, slot);
        }
        Ok(slot.is_some())
    }

    pub(super) fn hold_slot(&self, feed: &str, host: &str, slot: i32) {
        if let Ok(mut held) = self.held_slots.lock() {
            held.insert(feed.to_string(), (host.to_string(), slot));
        }
    }

    /// The host slot the poll of `feed` holds, no longer counted as held.
    pub(super) fn take_held_slot(&self, feed: &str) -> Option<(String, i32)> {
        self.held_slots.lock().ok()?.remove(feed)
    }

    pub(super) fn release_slot(&self, host: &str, slot: i32) -> Result<()> {
        let replica: &str = &self.replica;
        self.with_conn(|tx| {
            tx.execute(
                "UPDATE host_slots SET owner = NULL, until = NULL
                 WHERE host = $1 AND slot = $2 AND owner = $3",
                &[&host, &slot, &replica],
            )?;
            Ok(())
        })
    }

    /// Gives back the host slot the poll of `feed` holds, if it still does (a poll that ended
    /// without being recorded: its record would have given it back).
    pub fn release_held_slot(&self, feed: &str) -> Result<()> {
        match self.take_held_slot(feed) {
            Some((host, slot)) => self.release_slot(&host, slot),
            None => Ok(()),
        }
    }

    /// Takes (or renews) `sink` for this replica until `now + lease_secs`; false while another
    /// replica's lease on it lasts.
    pub fn claim_sink(&self, sink: &str, now: i64, lease_secs: i64) -> Result<bool> {
        let until = now.saturating_add(lease_secs);
        let replica: &str = &self.replica;
        self.with_conn(|tx| {
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
        self.with_light_tx(|tx| {
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

/// Tables that hold leases, with the column naming the owner and how a lease is let go.
const RELEASES: &[&str] = &[
    "UPDATE feeds SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ANY($1)",
    "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ANY($1)",
    "UPDATE host_slots SET owner = NULL, until = NULL WHERE owner = ANY($1)",
    "DELETE FROM sink_leases WHERE owner = ANY($1)",
];

impl Postgres {
    /// Lets go of `feed`, and of its host slot, without recording a poll (a feed found gone
    /// before fetching).
    pub fn release_feed(&self, feed: &str) -> Result<()> {
        let replica: &str = &self.replica;
        let (host, slot) = match self.take_held_slot(feed) {
            Some((host, slot)) => (Some(host), Some(slot)),
            None => (None, None),
        };
        self.with_conn(|tx| {
            tx.execute(
                "WITH slot AS (
                    UPDATE host_slots SET owner = NULL, until = NULL
                    WHERE host = $3 AND slot = $4 AND owner = $2
                 )
                 UPDATE feeds SET lease_owner = NULL, lease_until = NULL
                 WHERE name = $1 AND lease_owner = $2",
                &[&feed, &replica, &host, &slot],
            )?;
            Ok(())
        })
    }

    /// Lets go of everything this process holds (at exit): the next process, or another
    /// replica, takes over at once rather than after the leases run out.
    pub fn release_leases(&self) -> Result<()> {
        if let Ok(mut held) = self.held_slots.lock() {
            held.clear();
        }
        self.release_owners(&[self.replica.to_string()])
    }

    /// Lets go of what processes of this host that no longer exist still hold: after a crash
    /// or a `kill -9`, the restarted service does not wait out its predecessor's leases. A
    /// process elsewhere cannot be seen from here; its leases run out by themselves.
    pub fn reclaim_dead_local_leases(&self) -> Result<usize> {
        let prefix = format!("{}:", host_name());
        let owners: Vec<String> = self.with_light_tx(|tx| {
            Ok(tx
                .query(
                    "SELECT lease_owner FROM feeds WHERE starts_with(lease_owner, $1)
                     UNION SELECT lease_owner FROM deliveries WHERE starts_with(lease_owner, $1)
                     UNION SELECT owner FROM host_slots WHERE starts_with(owner, $1)
                     UNION SELECT owner FROM sink_leases WHERE starts_with(owner, $1)",
                    &[&prefix],
                )?
                .into_iter()
                .map(|row| row.get::<_, String>(0))
                .collect())
        })?;
        let dead: Vec<String> = owners
            .into_iter()
            .filter(|owner| *owner != *self.replica)
            .filter(|owner| {
                let pid = owner[prefix.len()..].split(':').next().unwrap_or("");
                // Only a pid we can see is gone counts; anything unreadable is left to expire.
                pid.parse::<u32>()
                    .is_ok_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists())
            })
            .collect();
        if !dead.is_empty() {
            self.release_owners(&dead)?;
        }
        Ok(dead.len())
    }

    fn release_owners(&self, owners: &[String]) -> Result<()> {
        self.with_light_tx(|tx| {
            for release in RELEASES {
                tx.execute(release, &[&owners])?;
            }
            Ok(())
        })
    }
}

/// This host's name as leases record it: `WATCHWORD_REPLICA_HOST` if set (containers whose
/// hostnames are not unique), else the kernel's hostname. Replicas on different machines must
/// have different names here, or one could take back the other's live leases as a dead
/// process's.
pub(super) fn host_name() -> String {
    if let Some(name) = std::env::var("WATCHWORD_REPLICA_HOST")
        .ok()
        .map(|n| n.trim().replace(':', "_"))
        .filter(|n| !n.is_empty())
    {
        return name;
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "host".to_string())
}
