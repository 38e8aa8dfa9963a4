//! Claiming feeds for polls. A claim takes a feed's lease, one of its host's shared fetch slots
//! when one is free, and the feed's stored state, in one statement. Claims this process makes
//! while another of its claims is on its way to the server wait and go together in the next
//! statement (`group_commit`): a pass of many fetch tasks, mostly `304`s, pays a share of one
//! round trip per feed instead of a round trip each (the larger part of what a `304` cost on
//! PostgreSQL; docs/postgres.md has the figures).

use std::collections::HashMap;

use super::poll_queue::{PollWrite, PollWritten};
use super::queries::{STATE_COLUMN_COUNT, STATE_COLUMNS, state_from_row};
use super::{Postgres, Result};
use crate::store::facade::PollClaim;

/// One fetch task's claim, waiting to go with the others.
pub(super) struct ClaimJob {
    feed: String,
    url: String,
    /// The feed's host (a key of `host_slots`), when politeness is shared.
    host: Option<String>,
    /// `per_host_concurrency`: the host's slots are numbered below it.
    slot_limit: i32,
    now: i64,
    lease_secs: i64,
    honour_schedule: bool,
}

impl Postgres {
    /// Takes `feed` for one poll: its lease, one of its host's shared slots (`host`: the host
    /// and its `per_host_concurrency`) when one is free, and its stored state. A slot taken
    /// here is given back by the statement that records the poll (or by
    /// [`Postgres::release_held_slot`]).
    #[allow(clippy::too_many_arguments)]
    pub fn claim_poll(
        &self,
        feed: &str,
        url: &str,
        host: Option<(&str, usize)>,
        now: i64,
        lease_secs: i64,
        honour_schedule: bool,
    ) -> Result<PollClaim> {
        let slot_limit = host.map_or(0, |(_, limit)| slot_limit(limit));
        let host = host.map(|(host, _)| host.to_string());
        if let Some(host) = &host {
            self.make_host_slots(host, slot_limit)?;
        }
        let job = ClaimJob {
            feed: feed.to_string(),
            url: url.to_string(),
            host,
            slot_limit,
            now,
            lease_secs,
            honour_schedule,
        };
        let written = self
            .poll_writes
            .submit(PollWrite::Claim(job), |jobs| self.write_polls(jobs))?;
        match written {
            PollWritten::Claimed(claim) => Ok(claim),
            PollWritten::Recorded => Err(missing_row()),
        }
    }

    /// The claims of one batch, one statement for those that can share it. Should it fail,
    /// each claim is tried alone, so one bad row does not fail the others.
    pub(super) fn claim_batch(&self, jobs: &[&ClaimJob]) -> Vec<Result<PollClaim>> {
        let mut names: Vec<&str> = jobs.iter().map(|j| j.feed.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        // One row per feed, or the upsert refuses the batch (a feed is polled once at a time
        // by a process, so this holds unless a caller claims one feed twice at once).
        let groups: Vec<Vec<usize>> = if names.len() == jobs.len() {
            let (honouring, manual): (Vec<usize>, Vec<usize>) =
                (0..jobs.len()).partition(|&i| jobs[i].honour_schedule);
            [honouring, manual]
                .into_iter()
                .filter(|group| !group.is_empty())
                .collect()
        } else {
            (0..jobs.len()).map(|i| vec![i]).collect()
        };
        let mut results: Vec<Option<Result<PollClaim>>> = jobs.iter().map(|_| None).collect();
        for group in groups {
            let members: Vec<&ClaimJob> = group.iter().map(|&i| jobs[i]).collect();
            match self.claim_together(&members) {
                Ok(claims) => {
                    for (&i, claim) in group.iter().zip(claims) {
                        results[i] = Some(Ok(claim));
                    }
                }
                Err(e) if group.len() == 1 => results[group[0]] = Some(Err(e)),
                Err(_) => {
                    for &i in &group {
                        let alone = self
                            .claim_together(&[jobs[i]])
                            .and_then(|mut claims| claims.pop().ok_or_else(missing_row));
                        results[i] = Some(alone);
                    }
                }
            }
        }
        results
            .into_iter()
            .map(|result| result.unwrap_or_else(|| Err(missing_row())))
            .collect()
    }

    /// Claims `jobs` (distinct feeds, all honouring the schedule or none) in one statement,
    /// and reads, in a second one, why the refused ones were refused. One clock for the batch:
    /// the latest of its claims' (every claim was made before the batch ran, so none is judged
    /// by a time earlier than its own).
    fn claim_together(&self, jobs: &[&ClaimJob]) -> Result<Vec<PollClaim>> {
        let now = jobs.iter().map(|j| j.now).max().unwrap_or_default();
        let lease_secs = jobs.iter().map(|j| j.lease_secs).max().unwrap_or(1);
        let until = now.saturating_add(lease_secs.max(1));
        let honour_schedule = jobs.iter().any(|j| j.honour_schedule);
        let slot_limit = jobs.iter().map(|j| j.slot_limit).max().unwrap_or(0);
        let names: Vec<&str> = jobs.iter().map(|j| j.feed.as_str()).collect();
        let urls: Vec<&str> = jobs.iter().map(|j| j.url.as_str()).collect();
        let hosts: Vec<Option<&str>> = jobs.iter().map(|j| j.host.as_deref()).collect();
        let replica: &str = &self.replica;
        let (claimed, refused) = self.with_conn(|tx| {
            // The feeds are upserted in name order, so two replicas claiming overlapping
            // batches lock their rows in one order and never deadlock. The host slots are
            // handed out in rank order within each host; a feed of a host with no free slot
            // left is claimed without one and waits for one (`acquire_feed_host_slot`).
            let claimed = tx.query(
                &format!(
                    "WITH input AS (
                        SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
                            AS i(name, url, host)
                    ), claimed AS (
                        INSERT INTO feeds (name, url, lease_owner, lease_until)
                        SELECT name, url, $4, $5 FROM input ORDER BY name
                        ON CONFLICT (name) DO UPDATE SET lease_owner = EXCLUDED.lease_owner,
                            lease_until = EXCLUDED.lease_until
                        WHERE (feeds.lease_until IS NULL OR feeds.lease_until <= $6
                               OR feeds.lease_owner = $4)
                          AND (NOT $7 OR feeds.next_due_at IS NULL OR feeds.next_due_at <= $6
                               OR feeds.url <> EXCLUDED.url)
                        RETURNING {STATE_COLUMNS}
                    ), wanted AS (
                        SELECT claimed.name, input.host,
                            row_number() OVER (PARTITION BY input.host ORDER BY claimed.name)
                                AS rank
                        FROM claimed JOIN input ON input.name = claimed.name
                        WHERE input.host IS NOT NULL
                    ), free AS (
                        SELECT host, slot FROM host_slots
                        WHERE host = ANY($3) AND slot < $8 AND (owner IS NULL OR until <= $6)
                          AND EXISTS (SELECT 1 FROM wanted)
                        ORDER BY host, slot
                        FOR UPDATE SKIP LOCKED
                    ), paired AS (
                        SELECT wanted.name, ranked.host, ranked.slot
                        FROM wanted JOIN (
                            SELECT host, slot,
                                row_number() OVER (PARTITION BY host ORDER BY slot) AS rank
                            FROM free
                        ) ranked ON ranked.host = wanted.host AND ranked.rank = wanted.rank
                    ), taken AS (
                        UPDATE host_slots SET owner = $4, until = $5
                        FROM paired
                        WHERE host_slots.host = paired.host AND host_slots.slot = paired.slot
                        RETURNING paired.name, host_slots.slot
                    )
                    SELECT claimed.*, taken.slot
                    FROM claimed LEFT JOIN taken ON taken.name = claimed.name"
                ),
                &[
                    &names,
                    &urls,
                    &hosts,
                    &replica,
                    &until,
                    &now,
                    &honour_schedule,
                    &slot_limit,
                ],
            )?;
            if claimed.len() == jobs.len() {
                return Ok((claimed, Vec::new()));
            }
            // Refused: a statement of its own, so it sees the lease or the poll that won.
            let refused = tx.query(
                "SELECT name, lease_until, next_due_at FROM feeds WHERE name = ANY($1)",
                &[&names],
            )?;
            Ok((claimed, refused))
        })?;
        let mut claimed: HashMap<String, tokio_postgres::Row> = claimed
            .into_iter()
            .map(|row| (row.get::<_, String>(0), row))
            .collect();
        let refused: HashMap<String, (Option<i64>, Option<i64>)> = refused
            .into_iter()
            .map(|row| (row.get::<_, String>(0), (row.get(1), row.get(2))))
            .collect();
        Ok(jobs
            .iter()
            .map(|job| match claimed.remove(&job.feed) {
                Some(row) => {
                    let slot: Option<i32> = row.get(STATE_COLUMN_COUNT);
                    if let (Some(host), Some(slot)) = (&job.host, slot) {
                        self.hold_slot(&job.feed, host, slot);
                    }
                    let fetched_before = row.get::<_, Option<i64>>(4).is_some();
                    PollClaim::Claimed {
                        state: fetched_before.then(|| Box::new(state_from_row(&row))),
                        host_slot: job.host.is_none() || slot.is_some(),
                    }
                }
                None => {
                    let (lease, due) = refused.get(&job.feed).copied().unwrap_or_default();
                    match lease.filter(|&l| l > job.now) {
                        Some(lease) => PollClaim::Leased(lease),
                        None => PollClaim::NotDue(due.unwrap_or(job.now)),
                    }
                }
            })
            .collect())
    }
}

pub(super) fn slot_limit(limit: usize) -> i32 {
    i32::try_from(limit.max(1)).unwrap_or(i32::MAX)
}

fn missing_row() -> crate::store::StoreError {
    crate::store::StoreError::Postgres("a claim's batch returned no answer for it".into())
}
