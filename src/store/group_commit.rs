//! Group commit: writers that arrive while a commit is in progress wait, and the next commit
//! takes all of them in one transaction, so a pass of many feeds pays one fsync per batch
//! instead of one per feed. The scheme of LevelDB's write queue: the first waiting writer
//! leads, runs the batch (its own write included) and hands every writer its own result.
//!
//! A lone writer is never delayed: it finds no batch running and commits at once. Batches form
//! only while a commit is under way, i.e. exactly when writers would otherwise queue on the
//! connection lock.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};

use super::{Result, StoreError};

/// One writer's job and, once its batch is committed, its result.
struct Slot<T, R> {
    job: T,
    result: Mutex<Option<Result<R>>>,
}

struct Queue<T, R> {
    waiting: VecDeque<Arc<Slot<T, R>>>,
    /// A leader is running a batch.
    busy: bool,
}

pub(super) struct GroupCommit<T, R> {
    queue: Mutex<Queue<T, R>>,
    done: Condvar,
}

impl<T, R> Default for GroupCommit<T, R> {
    fn default() -> Self {
        GroupCommit {
            queue: Mutex::new(Queue {
                waiting: VecDeque::new(),
                busy: false,
            }),
            done: Condvar::new(),
        }
    }
}

impl<T, R> GroupCommit<T, R> {
    /// Runs `job` in the next batch and returns its result. `run` gets every job of a batch, in
    /// arrival order, and must return one result per job, in the same order; it is called by
    /// whichever writer leads that batch, so any writer's `run` may run any other's jobs (all
    /// callers pass the same function).
    pub(super) fn submit(&self, job: T, run: impl FnOnce(&[&T]) -> Vec<Result<R>>) -> Result<R> {
        self.submit_then(job, || {}, run)
    }

    /// [`GroupCommit::submit`], calling `queued` as soon as `job` is in the queue: any job
    /// submitted after that runs in the same batch as `job` or a later one, never an earlier.
    pub(super) fn submit_then(
        &self,
        job: T,
        queued: impl FnOnce(),
        run: impl FnOnce(&[&T]) -> Vec<Result<R>>,
    ) -> Result<R> {
        let slot = Arc::new(Slot {
            job,
            result: Mutex::new(None),
        });
        let mut queue = self.queue.lock().map_err(|_| StoreError::Poisoned)?;
        queue.waiting.push_back(Arc::clone(&slot));
        drop(queue);
        queued();
        let mut queue = self.queue.lock().map_err(|_| StoreError::Poisoned)?;
        loop {
            if let Some(result) = take(&slot)? {
                return result;
            }
            if !queue.busy {
                break;
            }
            queue = self.done.wait(queue).map_err(|_| StoreError::Poisoned)?;
        }
        // Lead: the batch is everyone waiting, this writer included (it is still waiting,
        // since no batch has taken it).
        queue.busy = true;
        let batch: Vec<Arc<Slot<T, R>>> = queue.waiting.drain(..).collect();
        drop(queue);
        // Whatever happens from here, even a panic in `run`, the guard hands every writer of
        // the batch a result and lets the next leader in: otherwise they would wait forever.
        let guard = Leading {
            group: self,
            batch: &batch,
        };
        let jobs: Vec<&T> = batch.iter().map(|s| &s.job).collect();
        let mut results = run(&jobs).into_iter();
        for member in &batch {
            let result = results.next().unwrap_or(Err(StoreError::Poisoned));
            if let Ok(mut cell) = member.result.lock() {
                *cell = Some(result);
            }
        }
        drop(guard);
        take(&slot)?.unwrap_or(Err(StoreError::Poisoned))
    }
}

/// Ends a leader's turn: fills any result still missing (the batch's `run` panicked) with an
/// error, clears `busy` and wakes the waiting writers.
struct Leading<'a, T, R> {
    group: &'a GroupCommit<T, R>,
    batch: &'a [Arc<Slot<T, R>>],
}

impl<T, R> Drop for Leading<'_, T, R> {
    fn drop(&mut self) {
        for member in self.batch {
            let mut cell = member.result.lock().unwrap_or_else(|e| e.into_inner());
            if cell.is_none() {
                *cell = Some(Err(StoreError::Poisoned));
            }
        }
        let mut queue = self.group.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.busy = false;
        drop(queue);
        self.group.done.notify_all();
    }
}

fn take<T, R>(slot: &Slot<T, R>) -> Result<Option<Result<R>>> {
    Ok(slot.result.lock().map_err(|_| StoreError::Poisoned)?.take())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[test]
    fn a_panicking_batch_fails_its_writers_and_does_not_block_the_next() {
        let group = GroupCommit::<u32, u32>::default();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            group.submit(1, |_| panic!("a bug while writing"))
        }));
        assert!(panicked.is_err());
        let next = group.submit(2, |jobs| jobs.iter().map(|j| Ok(**j)).collect());
        assert_eq!(next.ok(), Some(2));
    }

    #[test]
    fn a_job_submitted_after_another_is_queued_never_runs_before_it() {
        let group = Arc::new(GroupCommit::<u32, u32>::default());
        let order = Arc::new(Mutex::new(Vec::new()));
        let run = |order: Arc<Mutex<Vec<u32>>>| {
            move |jobs: &[&u32]| {
                order.lock().expect("lock").extend(jobs.iter().map(|j| **j));
                jobs.iter().map(|j| Ok(**j)).collect::<Vec<_>>()
            }
        };
        // The second job is submitted from inside the first one's `queued`, i.e. after the
        // first is in the queue and before anyone has led a batch: it may share the batch,
        // but must come after.
        let first = {
            let group2 = Arc::clone(&group);
            let order2 = Arc::clone(&order);
            let second = std::sync::Mutex::new(None);
            let result = group.submit_then(
                1,
                || {
                    let group3 = Arc::clone(&group2);
                    let order3 = Arc::clone(&order2);
                    *second.lock().expect("lock") =
                        Some(std::thread::spawn(move || group3.submit(2, run(order3))));
                    // Give the second writer time to queue, or even to lead.
                    std::thread::sleep(Duration::from_millis(50));
                },
                run(Arc::clone(&order)),
            );
            let second = second.lock().expect("lock").take().expect("spawned");
            assert_eq!(second.join().expect("join").ok(), Some(2));
            result
        };
        assert_eq!(first.ok(), Some(1));
        assert_eq!(*order.lock().expect("lock"), vec![1, 2]);
    }

    #[test]
    fn a_lone_writer_commits_alone() {
        let group = GroupCommit::<u32, u32>::default();
        let result = group.submit(7, |jobs| jobs.iter().map(|j| Ok(**j * 2)).collect());
        assert_eq!(result.ok(), Some(14));
    }

    #[test]
    fn writers_arriving_during_a_commit_share_the_next_one_and_get_their_own_results() {
        let group = Arc::new(GroupCommit::<u32, u32>::default());
        let batches = Arc::new(Mutex::new(Vec::new()));
        let calls = Arc::new(AtomicUsize::new(0));
        let writers: Vec<_> = (0..16u32)
            .map(|i| {
                let group = Arc::clone(&group);
                let batches = Arc::clone(&batches);
                let calls = Arc::clone(&calls);
                std::thread::spawn(move || {
                    group.submit(i, |jobs| {
                        calls.fetch_add(1, Ordering::SeqCst);
                        batches
                            .lock()
                            .expect("lock")
                            .push(jobs.iter().map(|j| **j).collect::<Vec<_>>());
                        // A slow commit, as an fsync is: the others pile up meanwhile.
                        std::thread::sleep(Duration::from_millis(20));
                        jobs.iter()
                            .map(|j| {
                                if **j == 3 {
                                    Err(StoreError::Poisoned)
                                } else {
                                    Ok(**j + 100)
                                }
                            })
                            .collect()
                    })
                })
            })
            .collect();
        let results: Vec<_> = writers
            .into_iter()
            .map(|w| w.join().expect("join"))
            .collect();
        for (i, result) in results.iter().enumerate() {
            match result {
                Ok(v) => assert_eq!(*v, i as u32 + 100),
                Err(_) => assert_eq!(i, 3, "only job 3 fails, and only it"),
            }
        }
        let batches = batches.lock().expect("lock");
        let mut all: Vec<u32> = batches.iter().flatten().copied().collect();
        all.sort();
        assert_eq!(
            all,
            (0..16).collect::<Vec<_>>(),
            "every job runs exactly once"
        );
        assert!(
            calls.load(Ordering::SeqCst) < 16,
            "writers that arrive during a commit are batched: {batches:?}"
        );
    }
}
