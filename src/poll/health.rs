//! Feed health: how one poll changes a feed's stored state, and the feed events (broken,
//! stale, gone, recovered) that a change of health raises, one per incident.
//!
//! Pure functions over [`FeedState`]; the caller writes the result in the poll's transaction.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

use crate::config::{DaemonConfig, FeedConfig};
use crate::model::{AlertId, FeedEvent, payload};
use crate::store::FeedState;
use crate::text::redact_url;
/// What a poll found, as far as health is concerned.
pub(super) struct Success {
    pub status: Option<u16>,
    pub new_items: usize,
}

/// Applies a successful poll (a 200 that parsed, or a 304) to `state`.
pub(super) fn on_success(
    state: &mut FeedState,
    feed: &FeedConfig,
    daemon: &DaemonConfig,
    polled: Success,
    now: i64,
) -> Vec<FeedEvent> {
    let mut events = Vec::new();
    if let Some(raised) = state.broken_since.take() {
        let failures = state.consecutive_failures;
        events.push(event(
            feed,
            daemon,
            "recovered",
            format!("recovered:broken:{raised}"),
            format!(
                "feed {:?} works again after {failures} failed poll(s)",
                feed.name
            ),
            json!({
                "recovered_from": "broken",
                "since": state.failing_since.map(rfc3339),
                "consecutive_failures": failures,
            }),
            now,
        ));
    }
    state.last_fetch_at = Some(now);
    state.last_success_at = Some(now);
    state.last_status = polled.status;
    state.last_error = None;
    state.consecutive_failures = 0;
    state.failing_since = None;
    if polled.new_items > 0 {
        state.last_new_item_at = Some(now);
        if let Some(raised) = state.stale_since.take() {
            events.push(event(
                feed,
                daemon,
                "recovered",
                format!("recovered:stale:{raised}"),
                format!("feed {:?} publishes again", feed.name),
                json!({ "recovered_from": "stale", "since": rfc3339(raised) }),
                now,
            ));
        }
    } else if state.last_new_item_at.is_none() {
        // The clock for staleness starts at the first successful poll.
        state.last_new_item_at = Some(now);
    }
    if let (Some(stale_after), Some(last_new), None) =
        (feed.stale_after, state.last_new_item_at, state.stale_since)
        && now.saturating_sub(last_new) >= stale_after.as_secs() as i64
    {
        state.stale_since = Some(now);
        events.push(event(
            feed,
            daemon,
            "stale",
            format!("stale:{now}"),
            format!(
                "feed {:?} has published nothing new since {}",
                feed.name,
                rfc3339(last_new)
            ),
            json!({
                "since": rfc3339(last_new),
                "stale_after_seconds": stale_after.as_secs(),
            }),
            now,
        ));
    }
    events
}

/// Applies a failed poll to `state`. `gone` is a 410: the feed is not polled again.
pub(super) fn on_failure(
    state: &mut FeedState,
    feed: &FeedConfig,
    daemon: &DaemonConfig,
    reason: &str,
    status: Option<u16>,
    gone: bool,
    now: i64,
) -> Vec<FeedEvent> {
    let mut events = Vec::new();
    state.last_fetch_at = Some(now);
    state.last_status = status;
    state.last_error = Some(reason.to_owned());
    state.consecutive_failures = state.consecutive_failures.saturating_add(1);
    let failing_since = *state.failing_since.get_or_insert(now);
    if gone {
        state.gone_at = Some(now);
        events.push(event(
            feed,
            daemon,
            "gone",
            format!("gone:{now}"),
            format!(
                "feed {:?} is gone (HTTP 410); it is no longer polled: remove it or change its url",
                feed.name
            ),
            json!({ "reason": reason }),
            now,
        ));
        return events;
    }
    if state.broken_since.is_none()
        && now.saturating_sub(failing_since) >= daemon.broken_after.as_secs() as i64
    {
        state.broken_since = Some(now);
        events.push(event(
            feed,
            daemon,
            "broken",
            format!("broken:{failing_since}"),
            format!(
                "feed {:?} has failed since {}: {reason}",
                feed.name,
                rfc3339(failing_since)
            ),
            json!({
                "since": rfc3339(failing_since),
                "consecutive_failures": state.consecutive_failures,
                "reason": reason,
            }),
            now,
        ));
    }
    events
}

fn event(
    feed: &FeedConfig,
    daemon: &DaemonConfig,
    kind: &str,
    incident: String,
    title: String,
    details: serde_json::Value,
    now: i64,
) -> FeedEvent {
    let id = AlertId::feed_event(kind, &feed.name, &incident);
    let payload = payload::feed_event(
        &id,
        kind,
        &feed.name,
        &redact_url(&feed.url),
        &title,
        details,
        now,
    );
    FeedEvent {
        id,
        kind: kind.to_owned(),
        incident,
        title,
        payload,
        sinks: daemon.feed_events.clone(),
    }
}

fn rfc3339(at: i64) -> String {
    Utc.timestamp_opt(at, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use std::time::Duration;

    fn setup(stale_after: Option<&str>) -> (FeedConfig, DaemonConfig) {
        let stale = stale_after
            .map(|s| format!("stale_after = \"{s}\"\n"))
            .unwrap_or_default();
        let toml = format!(
            "[daemon]\nbroken_after = \"1h\"\nfeed_events = [\"ops\"]\n[[sink]]\nname = \"ops\"\nkind = \"stdout\"\n[[feed]]\nname = \"wire\"\nurl = \"https://news.example.org/rss?token=s3cret\"\n{stale}"
        );
        let config = crate::config::Config::from_source(Path::new("t.toml"), &toml)
            .unwrap_or_else(|e| panic!("{e}"));
        (config.feeds[0].clone(), config.daemon.clone())
    }

    fn kinds(events: &[FeedEvent]) -> Vec<&str> {
        events.iter().map(|e| e.kind.as_str()).collect()
    }

    #[test]
    fn broken_once_per_incident_then_recovered_once() {
        let (feed, daemon) = setup(None);
        let mut state = FeedState::default();
        let t0 = 1_000_000;
        assert!(
            on_failure(&mut state, &feed, &daemon, "HTTP 503", Some(503), false, t0).is_empty()
        );
        assert!(
            on_failure(
                &mut state,
                &feed,
                &daemon,
                "HTTP 503",
                Some(503),
                false,
                t0 + 1800
            )
            .is_empty()
        );
        let events = on_failure(
            &mut state,
            &feed,
            &daemon,
            "HTTP 503",
            Some(503),
            false,
            t0 + 3600,
        );
        assert_eq!(kinds(&events), ["broken"]);
        assert_eq!(events[0].sinks, ["ops"]);
        let payload: serde_json::Value = serde_json::from_str(&events[0].payload).unwrap();
        assert_eq!(payload["type"], payload::FEED_EVENT_TYPE);
        assert_eq!(payload["consecutive_failures"], 3);
        assert!(
            !events[0].payload.contains("s3cret"),
            "{}",
            events[0].payload
        );
        // Still failing: no second event.
        assert!(
            on_failure(
                &mut state,
                &feed,
                &daemon,
                "HTTP 503",
                Some(503),
                false,
                t0 + 9000
            )
            .is_empty()
        );
        let ok = Success {
            status: Some(200),
            new_items: 0,
        };
        let events = on_success(&mut state, &feed, &daemon, ok, t0 + 10_000);
        assert_eq!(kinds(&events), ["recovered"]);
        assert_eq!(state.consecutive_failures, 0);
        assert_eq!(state.failing_since, None);
        assert_eq!(state.broken_since, None);
    }

    #[test]
    fn short_outages_raise_nothing() {
        let (feed, daemon) = setup(None);
        let mut state = FeedState::default();
        assert!(on_failure(&mut state, &feed, &daemon, "timeout", None, false, 100).is_empty());
        let ok = Success {
            status: Some(304),
            new_items: 0,
        };
        assert!(on_success(&mut state, &feed, &daemon, ok, 200).is_empty());
    }

    #[test]
    fn stale_once_then_recovered_when_something_new_arrives() {
        let (feed, daemon) = setup(Some("2d"));
        assert_eq!(feed.stale_after, Some(Duration::from_secs(2 * 86_400)));
        let mut state = FeedState::default();
        let day = 86_400;
        let new = |n| Success {
            status: Some(200),
            new_items: n,
        };
        assert!(on_success(&mut state, &feed, &daemon, new(5), 0).is_empty());
        assert!(on_success(&mut state, &feed, &daemon, new(0), day).is_empty());
        assert_eq!(
            kinds(&on_success(&mut state, &feed, &daemon, new(0), 2 * day)),
            ["stale"]
        );
        assert!(on_success(&mut state, &feed, &daemon, new(0), 3 * day).is_empty());
        assert_eq!(
            kinds(&on_success(&mut state, &feed, &daemon, new(1), 4 * day)),
            ["recovered"]
        );
        assert!(on_success(&mut state, &feed, &daemon, new(0), 5 * day).is_empty());
    }

    #[test]
    fn gone_is_reported_at_once() {
        let (feed, daemon) = setup(None);
        let mut state = FeedState::default();
        let events = on_failure(
            &mut state,
            &feed,
            &daemon,
            "HTTP 410 Gone",
            Some(410),
            true,
            5,
        );
        assert_eq!(kinds(&events), ["gone"]);
        assert_eq!(state.gone_at, Some(5));
    }
}
