//! One queue for the two writes every poll makes: its claim, before it fetches, and, for a
//! poll that brought no item (a `304`, a failure), its state, after. A batch writes the states
//! first, then the claims, so a claim queued after a poll's state sees the host slot that
//! state gives back. That is what lets a fetch task hand its local fetch slots on as soon as
//! its state is queued (`Store::record_poll_then`), instead of holding them through the
//! round trip that records it: the next poll of the host claims in the same batch.

use super::claim::ClaimJob;
use super::record::StateJob;
use super::{Postgres, Result};
use crate::store::PollClaim;

pub(super) enum PollWrite {
    Claim(ClaimJob),
    State(Box<StateJob>),
}

pub(super) enum PollWritten {
    Claimed(PollClaim),
    Recorded,
}

impl Postgres {
    /// Runs one batch of the queue: its states in one statement, then its claims in another.
    pub(super) fn write_polls(&self, jobs: &[&PollWrite]) -> Vec<Result<PollWritten>> {
        let states: Vec<&StateJob> = jobs
            .iter()
            .filter_map(|job| match job {
                PollWrite::State(state) => Some(&**state),
                PollWrite::Claim(_) => None,
            })
            .collect();
        let claims: Vec<&ClaimJob> = jobs
            .iter()
            .filter_map(|job| match job {
                PollWrite::Claim(claim) => Some(claim),
                PollWrite::State(_) => None,
            })
            .collect();
        let mut recorded = if states.is_empty() {
            Vec::new()
        } else {
            self.record_states(&states)
        }
        .into_iter();
        let mut claimed = if claims.is_empty() {
            Vec::new()
        } else {
            self.claim_batch(&claims)
        }
        .into_iter();
        jobs.iter()
            .map(|job| match job {
                PollWrite::State(_) => recorded
                    .next()
                    .unwrap_or_else(|| Err(missing("state")))
                    .map(|()| PollWritten::Recorded),
                PollWrite::Claim(_) => claimed
                    .next()
                    .unwrap_or_else(|| Err(missing("claim")))
                    .map(PollWritten::Claimed),
            })
            .collect()
    }
}

fn missing(what: &str) -> crate::store::StoreError {
    crate::store::StoreError::Postgres(format!(
        "a batch of poll writes returned no answer for a {what}"
    ))
}
