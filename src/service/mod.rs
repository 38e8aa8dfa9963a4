//! Running as a service: systemd notifications, the scheduler's heartbeat, Prometheus metrics
//! and the loopback HTTP listener for `/metrics`, `/healthz` and `/readyz`.

pub mod http;
pub mod metrics;
pub mod notify;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long the scheduler may go without a tick before it counts as wedged. It sleeps at most
/// a minute (`daemon::MAX_IDLE`) when nothing is due, and a reload drains polls in flight for
/// up to a fetch timeout; past both, something is stuck.
pub const TICK_STALE_AFTER: Duration = Duration::from_secs(120);

/// Milliseconds since `epoch()` at the scheduler's last tick, plus one (0 = never ticked).
static LAST_TICK: AtomicU64 = AtomicU64::new(0);
static TICKS: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Called by the scheduler on every turn of its loop: the proof of progress behind the
/// watchdog pings and `/readyz`.
pub fn scheduler_tick() {
    let ms = epoch().elapsed().as_millis() as u64;
    LAST_TICK.store(ms + 1, Ordering::Relaxed);
    TICKS.fetch_add(1, Ordering::Relaxed);
}

/// Woken when the dashboard puts alerts back in the queue, so that the deliverers send them
/// now instead of at their next idle wake-up (up to a minute later, as for a `redeliver` from
/// another process). One permit is kept while nobody waits.
pub fn requeued() -> &'static tokio::sync::Notify {
    static REQUEUED: OnceLock<tokio::sync::Notify> = OnceLock::new();
    REQUEUED.get_or_init(tokio::sync::Notify::new)
}

/// How many times the scheduler has ticked since the process started.
pub fn scheduler_ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

/// Time since the scheduler last ticked, or `None` if it never has.
pub fn since_last_tick() -> Option<Duration> {
    match LAST_TICK.load(Ordering::Relaxed) {
        0 => None,
        at => {
            let now = epoch().elapsed().as_millis() as u64;
            Some(Duration::from_millis(now.saturating_sub(at - 1)))
        }
    }
}

/// Whether the scheduler has ticked within [`TICK_STALE_AFTER`].
pub fn scheduler_alive() -> bool {
    since_last_tick().is_some_and(|d| d <= TICK_STALE_AFTER)
}

/// Raises the soft limit on open files to the hard limit, and says so at debug level.
///
/// The soft limit is 1,024 almost everywhere (systemd's default, and most shells'), a leftover
/// from select(2) which nothing in this process uses (tokio waits with epoll). Every fetch,
/// every webhook request, the SQLite files and the metrics connections take descriptors; with
/// `concurrency` feeds in flight and every sink delivering, 1,024 is closer than it looks. The
/// hard limit is what the administrator allows (the unit's `LimitNOFILE=`), so taking all of
/// it is within the rules; failing to is only logged, and the daemon runs on the soft limit.
#[cfg(unix)]
pub fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit through a pointer to a live, properly aligned one.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        let e = std::io::Error::last_os_error();
        tracing::debug!("cannot read the open files limit: {e}");
        return;
    }
    if limit.rlim_cur >= limit.rlim_max {
        tracing::debug!(
            "open files limit: {} (already the hard limit)",
            limit.rlim_cur
        );
        return;
    }
    let raised = libc::rlimit {
        rlim_cur: limit.rlim_max,
        rlim_max: limit.rlim_max,
    };
    // SAFETY: setrlimit only reads the rlimit behind the pointer, which lives across the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
        tracing::debug!(
            "open files limit raised from {} to {} (the hard limit)",
            limit.rlim_cur,
            limit.rlim_max
        );
    } else {
        let e = std::io::Error::last_os_error();
        tracing::debug!(
            "cannot raise the open files limit from {} to {}: {e}",
            limit.rlim_cur,
            limit.rlim_max
        );
    }
}

#[cfg(not(unix))]
pub fn raise_fd_limit() {}

/// `45s`, `12m`, `3h`, `2d`: an age at a glance, for people.
pub fn age(secs: i64) -> String {
    match secs.max(0) {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m", s / 60),
        s if s < 2 * 86_400 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}
