//! End to end: a feed server, a webhook receiver, a real SQLite file and the real binary.

mod common;

use std::time::Duration;

use common::*;

const KAZAKH_LINK: &str = "https://wire.example.org/world/kazakhstan-accords";

fn kazakhstan_entry() -> Entry<'static> {
    Entry {
        guid: "wire-1001",
        title: "Kazakhstan says it will sign on to the Abraham Accords",
        description: "<p>Officials in Astana said on Monday that the country intends to \
                      join the Abraham Accords, the normalisation framework first signed in 2020.</p>",
        link: "https://wire.example.org/world/kazakhstan-accords?utm_source=rss&amp;utm_medium=feed",
        published: minutes_ago(30),
    }
}

fn morocco_entry() -> Entry<'static> {
    Entry {
        guid: "wire-1002",
        title: "Morocco marks five years in the Abraham Accords",
        description: "Rabat hosted a trade forum on the anniversary of its accession.",
        link: "https://wire.example.org/world/morocco-anniversary",
        published: minutes_ago(40),
    }
}

fn grain_entry() -> Entry<'static> {
    Entry {
        guid: "wire-1003",
        title: "Kazakh grain exports reach a record",
        description: "Wheat shipments through the Caspian ports rose by a fifth this season.",
        link: "https://wire.example.org/markets/kazakh-grain",
        published: minutes_ago(50),
    }
}

/// The feed "wire" at `feed_url`, polled every minute, and one rule alerting the webhook
/// `hook_url` (JSON).
fn config(feed_url: &str, hook_url: &str, ws: &Workspace) -> TomlConfig {
    TomlConfig::for_workspace(ws)
        .daemon("poll_interval = \"1m\"")
        .shared_groups()
        .feed_with("wire", feed_url, "tags = [\"world\"]")
        .rule(
            "central-asia-joins-abraham-accords",
            "@central_asia AND @abraham_accords",
            &["receiver"],
        )
        .webhook_sink_with("receiver", hook_url, "format = \"json\"")
}

#[test]
fn one_alert_for_the_matching_item_then_only_new_ones() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    feeds.put_rss(
        "/world.xml",
        &rss(&[kazakhstan_entry(), morocco_entry(), grain_entry()]),
    );
    let ws = Workspace::new();
    config(&feeds.url("/world.xml"), &receiver.hook_url(), &ws).write(&ws);

    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got = receiver.all();
    assert_eq!(got.len(), 1, "exactly one alert: {got:?}");
    let alert = got[0].json();
    assert_eq!(alert["rule"], "central-asia-joins-abraham-accords");
    assert_eq!(
        alert["item"]["link"], KAZAKH_LINK,
        "canonical link, tracking removed"
    );
    assert_eq!(
        alert["item"]["title"],
        "Kazakhstan says it will sign on to the Abraham Accords"
    );
    assert_eq!(alert["feed"]["name"], "wire");
    assert_eq!(alert["type"], "watchword.alert");
    assert_eq!(alert["version"], 2);
    let terms: Vec<String> = alert["matched_terms"]
        .as_array()
        .expect("matched_terms")
        .iter()
        .map(|t| t["found"].to_string().to_lowercase())
        .collect();
    assert!(terms.iter().any(|t| t.contains("kazakhstan")), "{terms:?}");
    assert!(
        terms.iter().any(|t| t.contains("abraham accord")),
        "{terms:?}"
    );
    assert!(
        !got[0].body.contains("<p>"),
        "HTML stripped: {}",
        got[0].body
    );
    assert_eq!(
        got[0].headers.get("webhook-id").map(String::as_str),
        alert["id"].as_str()
    );
    assert!(got[0].path.ends_with("/hook/secret-token"));
    // The webhook URL is a secret: its token must not appear in the logs.
    assert!(!stderr(&out).contains("secret-token"), "{}", stderr(&out));

    // Nothing new: nothing sent.
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(receiver.all().len(), 1);

    // A new matching item (Uzbekistan, via a prefix term) appears: exactly one more alert.
    let uzbek = Entry {
        guid: "wire-1004",
        title: "Uzbek delegation to attend Abraham Accords summit",
        description: "Tashkent confirmed the trip on Wednesday.",
        link: "https://wire.example.org/world/uzbek-delegation",
        published: minutes_ago(5),
    };
    feeds.put_rss(
        "/world.xml",
        &rss(&[uzbek, kazakhstan_entry(), morocco_entry(), grain_entry()]),
    );
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got = receiver.all();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        got[1].json()["item"]["link"],
        "https://wire.example.org/world/uzbek-delegation"
    );
    assert_ne!(got[0].json()["id"], got[1].json()["id"]);
}

#[test]
fn a_receiver_that_fails_gets_the_alert_on_the_next_pass_once() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    receiver.script([500]);
    feeds.put_rss("/world.xml", &rss(&[kazakhstan_entry(), grain_entry()]));
    let ws = Workspace::new();
    config(&feeds.url("/world.xml"), &receiver.hook_url(), &ws).write(&ws);

    let out = ws.watchword(&["once"]);
    assert!(
        out.status.success(),
        "a failed delivery is not a failed pass: {}",
        stderr(&out)
    );
    assert_eq!(receiver.all().len(), 1);
    assert!(receiver.accepted().is_empty());
    assert!(
        stderr(&out).contains("500"),
        "the failure is logged: {}",
        stderr(&out)
    );

    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let all = receiver.all();
    assert_eq!(all.len(), 2, "one retry: {all:?}");
    assert_eq!(receiver.accepted().len(), 1);
    assert_eq!(
        all[0].headers.get("webhook-id"),
        all[1].headers.get("webhook-id"),
        "the retry carries the same webhook-id"
    );
    assert_eq!(all[0].body, all[1].body, "the retry sends the same bytes");

    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        receiver.all().len(),
        2,
        "delivered alerts are not sent again"
    );
}

#[test]
fn a_receiver_that_is_down_loses_nothing() {
    let feeds = FeedServer::start();
    feeds.put_rss("/world.xml", &rss(&[kazakhstan_entry()]));
    let ws = Workspace::new();
    let dead_url = unused_local_url("/hook");
    config(&feeds.url("/world.xml"), &dead_url, &ws).write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // The receiver comes back (same config, a live URL): the pending alert arrives.
    let receiver = Receiver::start();
    config(&feeds.url("/world.xml"), &receiver.hook_url(), &ws).write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(receiver.accepted().len(), 1);
}

#[test]
fn old_items_are_recorded_without_alerting() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    let mut old = kazakhstan_entry();
    old.published = minutes_ago(60 * 24 * 5);
    feeds.put_rss("/world.xml", &rss(&[old]));
    let ws = Workspace::new();
    config(&feeds.url("/world.xml"), &receiver.hook_url(), &ws).write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        receiver.all().is_empty(),
        "a five-day-old item must not alert"
    );

    // With max_age raised, the item is still not alerted: it was seen already.
    config(&feeds.url("/world.xml"), &receiver.hook_url(), &ws)
        .daemon("max_age = \"30d\"")
        .write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(receiver.all().is_empty());
}

#[test]
fn broken_feeds_do_not_stop_the_others() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    feeds.put_rss("/good.xml", &rss(&[kazakhstan_entry()]));
    feeds.put(
        "/html.xml",
        200,
        "text/html",
        "<html><body>Sorry, we moved</body></html>",
    );
    let closing = start_closing_server();
    let ws = Workspace::new();
    TomlConfig::for_workspace(&ws)
        .daemon("fetch_timeout = \"5s\"")
        .shared_groups()
        .feed("not-xml", &feeds.url("/html.xml"))
        .feed("missing", &feeds.url("/missing.xml"))
        .feed("hangs-up", &closing)
        .feed("good", &feeds.url("/good.xml"))
        .rule("ca-aa", "@central_asia AND @abraham_accords", &["receiver"])
        .webhook_sink("receiver", &receiver.hook_url())
        .write(&ws);
    let out = ws.watchword(&["once"]);
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    assert_eq!(receiver.accepted().len(), 1, "the good feed still alerted");
    for (feed, why) in [
        ("not-xml", "not a feed"),
        ("missing", "HTTP 404"),
        ("hangs-up", "connection closed"),
    ] {
        let line = log
            .lines()
            .find(|l| l.contains(&format!("feed \"{feed}\" failed")))
            .unwrap_or_else(|| panic!("no failure logged for {feed}:\n{log}"));
        assert!(line.contains(why), "{line}");
    }
    // The failures are recorded against their feeds, and the next pass tries them again.
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).matches("will retry on the next poll").count(),
        3,
        "{}",
        stderr(&out)
    );
    assert_eq!(receiver.accepted().len(), 1);
}

#[test]
fn stdout_sink_prints_one_json_line_per_alert() {
    let feeds = FeedServer::start();
    feeds.put_rss(
        "/world.xml",
        &rss(&[kazakhstan_entry(), morocco_entry(), grain_entry()]),
    );
    let ws = Workspace::new();
    TomlConfig::for_workspace(&ws)
        .shared_groups()
        .feed("wire", &feeds.url("/world.xml"))
        .rule("accords-any", "@abraham_accords", &["console"])
        .rule(
            "ca-aa",
            r#"@central_asia AND @abraham_accords AND NOT (football OR "grain exports")"#,
            &["console"],
        )
        .stdout_sink("console")
        .write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each stdout line is a JSON alert"))
        .collect();
    let mut pairs: Vec<(String, String)> = lines
        .iter()
        .map(|v| {
            (
                v["rule"].as_str().unwrap_or_default().to_string(),
                v["item"]["id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    pairs.sort();
    assert_eq!(
        pairs,
        vec![
            ("accords-any".to_string(), "wire-1001".to_string()),
            ("accords-any".to_string(), "wire-1002".to_string()),
            ("ca-aa".to_string(), "wire-1001".to_string()),
        ]
    );
}

#[test]
fn run_polls_until_sigterm_and_exits_cleanly() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    feeds.put_rss("/world.xml", &rss(&[kazakhstan_entry()]));
    let ws = Workspace::new();
    config(&feeds.url("/world.xml"), &receiver.hook_url(), &ws)
        .daemon("poll_interval = \"10s\"")
        .write(&ws);
    let child = ws.spawn_run();
    assert!(
        wait_for(Duration::from_secs(20), || receiver.accepted().len() == 1),
        "run delivered the alert"
    );
    // A new item appears; the next poll (10 s ± 10%) picks it up.
    let uzbek = Entry {
        guid: "wire-2001",
        title: "Uzbekistan weighs Abraham Accords membership",
        description: "Tashkent is said to be studying the terms.",
        link: "https://wire.example.org/world/uzbekistan-weighs",
        published: minutes_ago(1),
    };
    feeds.put_rss("/world.xml", &rss(&[uzbek, kazakhstan_entry()]));
    assert!(
        wait_for(Duration::from_secs(30), || receiver.accepted().len() == 2),
        "run polled again on its interval"
    );
    terminate(child);
    assert_eq!(receiver.accepted().len(), 2, "nothing doubled");
}

#[test]
fn an_unusable_database_is_an_error() {
    let feeds = FeedServer::start();
    feeds.put_rss("/world.xml", &rss(&[kazakhstan_entry()]));
    let ws = Workspace::new();
    // The database path is a directory: SQLite cannot open it.
    std::fs::create_dir_all(ws.database()).expect("mkdir");
    config(&feeds.url("/world.xml"), "http://127.0.0.1:9/hook", &ws).write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(!out.status.success());
    let log = stderr(&out);
    assert!(
        log.contains(&ws.database().display().to_string()),
        "names the file: {log}"
    );
}

#[test]
fn kill_9_during_delivery_loses_nothing() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    // The first delivery attempt hangs, as a receiver stuck behind a load balancer would.
    receiver.script([HOLD]);
    feeds.put_rss("/world.xml", &rss(&[kazakhstan_entry(), grain_entry()]));
    let ws = Workspace::new();
    config(&feeds.url("/world.xml"), &receiver.hook_url(), &ws).write(&ws);
    let mut child = ws.spawn_run();
    assert!(
        wait_for(Duration::from_secs(20), || receiver.all().len() == 1),
        "the alert was committed and its delivery started"
    );
    child.kill().expect("kill -9");
    let _ = child.wait();
    assert!(receiver.accepted().is_empty());

    // After the crash, the next pass delivers the committed alert, with the same id.
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let all = receiver.all();
    assert_eq!(receiver.accepted().len(), 1, "{all:?}");
    assert_eq!(
        all[0].headers.get("webhook-id"),
        all[1].headers.get("webhook-id")
    );
    // And the item is not alerted again.
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(receiver.accepted().len(), 1);
}

#[test]
fn sigterm_lets_a_poll_in_flight_finish_and_commit() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    // The publisher takes 3 s to answer; SIGTERM arrives while the fetch is in flight.
    feeds.put_slow_rss(
        "/world.xml",
        &rss(&[kazakhstan_entry()]),
        Duration::from_secs(3),
    );
    let ws = Workspace::new();
    config(&feeds.url("/world.xml"), &receiver.hook_url(), &ws).write(&ws);
    let child = ws.spawn_run();
    assert!(
        wait_for(Duration::from_secs(20), || feeds.hits("/world.xml") == 1),
        "the fetch started"
    );
    let started = std::time::Instant::now();
    let log = terminate(child);
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "it waited for the fetch in flight:\n{log}"
    );
    assert!(
        log.contains("new_alerts=1"),
        "the poll was recorded:\n{log}"
    );

    // The alert committed during shutdown is delivered by the next run, once; the item is
    // not recorded twice.
    feeds.put_rss("/world.xml", &rss(&[kazakhstan_entry()]));
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(receiver.accepted().len(), 1, "{:?}", receiver.all());
    // The item the shutdown committed is not recorded a second time.
    let feeds: serde_json::Value =
        serde_json::from_str(&stdout(&ws.watchword(&["feeds", "--json"]))).expect("json");
    let seen: Vec<u64> = feeds
        .as_array()
        .expect("feeds")
        .iter()
        .map(|f| f["items_seen"].as_u64().unwrap_or(u64::MAX))
        .collect();
    assert_eq!(seen, [1], "{feeds}");
}
