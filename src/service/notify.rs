//! systemd's notification protocol (`Type=notify`), through the sd-notify crate. Without
//! `NOTIFY_SOCKET` (not under systemd, or `Type=simple`) every call is a no-op.

use std::time::Duration;

use sd_notify::NotifyState;
use tracing::debug;

fn send(states: &[NotifyState<'_>]) {
    // A lost notification is systemd's problem to time out on, not a reason to stop watching.
    if let Err(e) = sd_notify::notify(states) {
        debug!("cannot notify systemd: {e}");
    }
}

/// Start-up or a reload is complete: config valid, database open, scheduler running.
pub fn ready(status: &str) {
    send(&[NotifyState::Status(status), NotifyState::Ready]);
}

/// The one-line status `systemctl status` shows.
pub fn status(status: &str) {
    send(&[NotifyState::Status(status)]);
}

/// A reload begins. systemd ≥ 253 requires MONOTONIC_USEC with RELOADING=1 to match the
/// reload to its request.
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[
            NotifyState::Reloading,
            now,
            NotifyState::Status("reloading the config"),
        ]),
        Err(e) => {
            debug!("cannot read CLOCK_MONOTONIC: {e}");
            send(&[NotifyState::Reloading]);
        }
    }
}

pub fn stopping() {
    send(&[
        NotifyState::Stopping,
        NotifyState::Status("stopping: finishing work in flight"),
    ]);
}

pub fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// The watchdog period systemd expects pings within (`WatchdogSec=`), if it set one for us.
pub fn watchdog_period() -> Option<Duration> {
    sd_notify::watchdog_enabled().filter(|d| !d.is_zero())
}
