//! `digest_at` with `timezone`: digests at fixed times of day (docs/sinks.md, "Digests"). The
//! daemon is started with a time a few seconds ahead; DST is unit-tested in config::digest.

mod common;

use std::time::{Duration, Instant};

use chrono::{Timelike as _, Utc};
use common::*;

/// Three distinct stories of the wire, all matching "ca-aa".
fn three_stories() -> FeedServer {
    let feeds = FeedServer::start();
    feeds.put_rss(
        "/f.xml",
        &rss(&[
            wire_entry("a", "Kazakhstan joins the Abraham Accords"),
            wire_entry(
                "b",
                "Uzbekistan weighs joining the Abraham Accords after talks",
            ),
            wire_entry("c", "Turkmen envoy silent on the Abraham Accords question"),
        ]),
    );
    feeds
}

fn config(ws: &Workspace, feeds: &FeedServer, receiver: &Receiver, extra: &str) -> TomlConfig {
    TomlConfig::for_workspace(ws)
        .daemon("poll_interval = \"1h\"")
        .shared_groups()
        .feed("wire", &feeds.url("/f.xml"))
        .rule("ca-aa", "@central_asia AND @abraham_accords", &["hook"])
        .webhook_sink_with("hook", &receiver.hook_url(), extra)
}

#[test]
fn alerts_wait_for_the_scheduled_time_and_go_as_one_digest() {
    let feeds = three_stories();
    let receiver = Receiver::start();
    let ws = Workspace::new();
    // A time of day 8 s from now, in a zone that is not UTC (the wall clock of the zone is
    // what counts); seconds are allowed so that a test need not wait for a whole minute.
    let zone: chrono_tz::Tz = "Asia/Almaty".parse().expect("zone");
    let due = (Utc::now() + chrono::Duration::seconds(8))
        .with_nanosecond(0)
        .expect("a whole second");
    let due_at = Instant::now() + (due - Utc::now()).to_std().expect("ahead");
    let at = due.with_timezone(&zone).format("%H:%M:%S").to_string();
    config(
        &ws,
        &feeds,
        &receiver,
        &format!("digest_at = [\"{at}\"]\ntimezone = \"Asia/Almaty\""),
    )
    .write(&ws);
    let daemon = Daemon::start(&ws, &[]);
    assert!(
        wait_for(Duration::from_secs(20), || daemon
            .log()
            .contains("new_alerts=3")),
        "{}",
        daemon.log()
    );
    assert!(
        receiver.all().is_empty() || Instant::now() >= due_at,
        "sent before {at}: {:?}",
        receiver.all()
    );
    assert!(
        wait_for(Duration::from_secs(30), || !receiver.all().is_empty()),
        "nothing sent at {at}:\n{}",
        daemon.log()
    );
    let hits = receiver.all();
    assert!(
        hits[0].at + Duration::from_millis(50) >= due_at,
        "the digest went before its time ({at})"
    );
    // Nothing more follows it: the three alerts went together.
    std::thread::sleep(Duration::from_secs(2));
    daemon.stop();
    let hits = receiver.all();
    assert_eq!(hits.len(), 1, "{hits:?}");
    let body = hits[0].json();
    assert_eq!(body["type"], "watchword.digest");
    assert_eq!(body["count"], 3);
}

#[test]
fn digest_at_errors_name_their_place_in_the_file() {
    let feeds = three_stories();
    let receiver = Receiver::start();
    let ws = Workspace::new();
    let path = config(
        &ws,
        &feeds,
        &receiver,
        "digest = \"15m\"\ndigest_at = [\"08:00\", \"25:00\", \"8am\"]\ntimezone = \"Europe/Berlim\"",
    )
    .write(&ws);
    let out = ws.watchword(&["check"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    let text = std::fs::read_to_string(&path).expect("config");
    let line = |needle: &str| {
        let n = text
            .lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
            .expect("line");
        format!("watchword.toml:{n}:")
    };
    for (needle, message) in [
        (
            "digest_at",
            "digest (15m) and digest_at both say when digests go",
        ),
        ("digest_at", "\"25:00\" is not a time of day"),
        ("digest_at", "\"8am\" is not a time of day"),
        (
            "timezone",
            "\"Europe/Berlim\" is not a time zone; did you mean Europe/Berlin",
        ),
    ] {
        assert!(
            err.lines()
                .any(|l| l.contains(&line(needle)) && l.contains(message)),
            "{message} at {}:\n{err}",
            line(needle)
        );
    }
    // A timezone without digest_at is a mistake too.
    config(&ws, &feeds, &receiver, "timezone = \"UTC\"").write(&ws);
    let out = ws.watchword(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("digest_at, which is not set"),
        "{}",
        stderr(&out)
    );
    // A good one is shown by check.
    config(
        &ws,
        &feeds,
        &receiver,
        "digest_at = [\"17:00\", \"08:00\"]\ntimezone = \"Europe/Berlin\"",
    )
    .write(&ws);
    let out = ws.watchword(&["check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        all.contains("digest at 08:00, 17:00 Europe/Berlin"),
        "{all}"
    );
}
