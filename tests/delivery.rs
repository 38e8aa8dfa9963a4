//! Delivery under trouble: receivers that fail, hang or disappear from the config, a second
//! process on the same database, and the back-catalogue rule after a feed's first sight.

mod common;

use std::time::Duration;

use common::*;

/// Distinct stories that all match the rule: each shares only "Kazakhstan" and "Abraham
/// Accords" with the others, plus six invented words of its own, so none joins another's
/// story (see docs/stories.md).
fn entry(n: usize) -> (String, String, String) {
    let words = invented_words(n, 6);
    (
        format!("ca-{n}"),
        format!("Kazakhstan and the Abraham Accords: {}", words.join(" ")),
        format!("https://wire.example.org/world/update-{n}"),
    )
}

fn feed_xml(entries: &[(String, String, String)], minutes_old: &[Option<i64>]) -> String {
    // Undated items need hand-written XML: `rss()` always writes a pubDate.
    let mut xml = String::from(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>T</title>\
         <link>https://wire.example.org/</link><description>d</description>\n",
    );
    for ((guid, title, link), age) in entries.iter().zip(minutes_old) {
        xml.push_str(&format!(
            "<item><guid>{guid}</guid><title>{title}</title><link>{link}</link>"
        ));
        if let Some(age) = age {
            xml.push_str(&format!(
                "<pubDate>{}</pubDate>",
                minutes_ago(*age).to_rfc2822()
            ));
        }
        xml.push_str("</item>\n");
    }
    xml.push_str("</channel></rss>");
    xml
}

/// One feed "wire" at `feed_url` and the rule "ca-aa" (Central Asia AND the Abraham Accords)
/// notifying `notify`; polled hourly. The sinks are the caller's.
fn wire_config(ws: &Workspace, feed_url: &str, notify: &[&str]) -> TomlConfig {
    TomlConfig::for_workspace(ws)
        .daemon("poll_interval = \"1h\"")
        .shared_groups()
        .feed("wire", feed_url)
        .rule("ca-aa", "@central_asia AND @abraham_accords", notify)
}

/// [`wire_config`] with a plain webhook sink for each (name, url), all notified.
fn config(ws: &Workspace, feed_url: &str, sinks: &[(&str, &str)]) -> TomlConfig {
    let notify: Vec<&str> = sinks.iter().map(|(name, _)| *name).collect();
    sinks
        .iter()
        .fold(wire_config(ws, feed_url, &notify), |config, (name, url)| {
            config.webhook_sink(name, url)
        })
}

/// A 503 that says "come back in an hour": long enough that only a recovery releases it.
fn busy_for_an_hour() -> Reply {
    Reply::status(503).header("Retry-After", "3600")
}

/// The common fixture: a feed with one fresh matching story, one webhook receiver, and a
/// workspace whose config joins them.
fn one_story_one_hook() -> (FeedServer, Receiver, Workspace) {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    feeds.put_rss("/f.xml", &feed_xml(&[entry(1)], &[Some(10)]));
    let ws = Workspace::new();
    config(&ws, &feeds.url("/f.xml"), &[("hook", &receiver.hook_url())]).write(&ws);
    (feeds, receiver, ws)
}

#[test]
fn run_backs_off_a_failing_receiver_instead_of_hammering_it() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    receiver.script([500]);
    let entries: Vec<_> = (1..=5).map(entry).collect();
    feeds.put_rss("/f.xml", &feed_xml(&entries, &[Some(10); 5]));
    let ws = Workspace::new();
    config(&ws, &feeds.url("/f.xml"), &[("hook", &receiver.hook_url())]).write(&ws);
    let child = ws.spawn_run();

    assert!(wait_for(Duration::from_secs(10), || !receiver
        .all()
        .is_empty()));
    // The first attempt failed; the other four alerts wait for the same retry (about 5 s).
    assert!(
        wait_for(Duration::from_secs(15), || receiver.accepted().len() == 5),
        "all five delivered after the backoff: {:?}",
        receiver.all()
    );
    std::thread::sleep(Duration::from_secs(1));
    terminate(child);
    let all = receiver.all();
    assert_eq!(all.len(), 6, "one failure, five successes: {all:?}");
    let gap = all[1].at.duration_since(all[0].at);
    assert!(
        gap >= Duration::from_secs(4),
        "no retry storm: the retry waited for the backoff, not {gap:?}"
    );
    let mut ids: Vec<_> = receiver
        .accepted()
        .iter()
        .map(|r| r.headers["webhook-id"].clone())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 5, "each alert delivered once");
}

#[test]
fn alerts_for_a_removed_sink_wait_without_blocking_the_others() {
    let feeds = FeedServer::start();
    let old_hook = unused_local_url("/old");
    let entries: Vec<_> = (1..=3).map(entry).collect();
    feeds.put_rss("/f.xml", &feed_xml(&entries[..2], &[Some(10); 2]));
    let ws = Workspace::new();
    config(&ws, &feeds.url("/f.xml"), &[("old", &old_hook)]).write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // The user replaces the dead sink with a new one; the two old alerts stay owed to "old".
    // (The feed moves too: `run` honours the schedule `once` persisted, and a changed URL is
    // polled at once.)
    let receiver = Receiver::start();
    config(&ws, &feeds.url("/f2.xml"), &[("new", &receiver.hook_url())]).write(&ws);
    feeds.put_rss("/f2.xml", &feed_xml(&entries, &[Some(10); 3]));
    let child = ws.spawn_run();
    assert!(wait_for(Duration::from_secs(10), || receiver
        .accepted()
        .len()
        == 1));
    // Idle now: the orphaned rows must not keep the delivery loop spinning.
    let busy = cpu_ticks(child.id());
    std::thread::sleep(Duration::from_secs(2));
    let busy = cpu_ticks(child.id()) - busy;
    assert!(busy < 40, "{busy} CPU ticks in 2 s of idling: a busy loop");
    let log = terminate(child);
    assert_eq!(receiver.all().len(), 1, "{:?}", receiver.all());
    assert_eq!(
        log.matches("wait for sink \"old\"").count(),
        1,
        "warned once, no busy loop:\n{log}"
    );
    assert!(log.contains("2 alert(s) wait for sink \"old\""), "{log}");
}

#[test]
fn a_second_writer_on_the_same_database_is_refused() {
    let (_feeds, receiver, ws) = one_story_one_hook();
    let child = ws.spawn_run();
    assert!(wait_for(Duration::from_secs(10), || receiver
        .accepted()
        .len()
        == 1));
    let out = ws.watchword(&["once"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("another watchword process is using"),
        "{}",
        stderr(&out)
    );
    terminate(child);
    assert_eq!(receiver.all().len(), 1);
    // With the daemon gone, `once` works again.
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn one_failing_sink_does_not_hold_back_another() {
    let feeds = FeedServer::start();
    let good = Receiver::start();
    let flaky = Receiver::start();
    flaky.script([busy_for_an_hour()]);
    feeds.put_rss("/f.xml", &feed_xml(&[entry(1)], &[Some(10)]));
    let ws = Workspace::new();
    config(
        &ws,
        &feeds.url("/f.xml"),
        &[("good", &good.hook_url()), ("flaky", &flaky.hook_url())],
    )
    .write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(good.accepted().len(), 1);
    assert!(flaky.accepted().is_empty());
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(good.all().len(), 1, "the good sink is not sent it again");
    assert_eq!(flaky.accepted().len(), 1);
    assert_eq!(
        good.all()[0].headers["webhook-id"],
        flaky.accepted()[0].headers["webhook-id"],
        "one alert, one id, whatever the sink"
    );
}

#[test]
fn a_receiver_that_times_out_gets_the_same_alert_again() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    receiver.script([HOLD]);
    feeds.put_rss("/f.xml", &feed_xml(&[entry(1)], &[Some(10)]));
    let ws = Workspace::new();
    config(&ws, &feeds.url("/f.xml"), &[("hook", &receiver.hook_url())])
        .daemon("delivery_timeout = \"1s\"")
        .write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("timed out"), "{}", stderr(&out));
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let all = receiver.all();
    assert_eq!(all.len(), 2);
    assert_eq!(receiver.accepted().len(), 1);
    // At least once: the receiver may have seen it twice, but with one id to dedupe on.
    assert_eq!(all[0].headers["webhook-id"], all[1].headers["webhook-id"]);
}

#[test]
fn back_catalogue_is_skipped_only_on_first_sight() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    let entries: Vec<_> = (1..=4).map(entry).collect();
    // First sight: one recent item, one 3 days old, one undated.
    feeds.put_rss(
        "/f.xml",
        &feed_xml(&entries[..3], &[Some(10), Some(3 * 24 * 60), None]),
    );
    let ws = Workspace::new();
    config(&ws, &feeds.url("/f.xml"), &[("hook", &receiver.hook_url())]).write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let links: Vec<String> = receiver
        .accepted()
        .iter()
        .map(|r| {
            r.json()["item"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(
        links,
        vec!["ca-1"],
        "only the recent item alerts on first sight"
    );

    // The daemon is down for three days. When it is back, an undated item and one dated 60
    // hours ago are in the feed: both are new to the user and alert.
    {
        let db = rusqlite::Connection::open(ws.database()).expect("open db");
        db.execute(
            "UPDATE feeds SET last_success_at = last_success_at - 3 * 86400",
            [],
        )
        .expect("age the last fetch");
    }
    let later = vec![entries[3].clone(), entry(5)];
    feeds.put_rss("/f.xml", &feed_xml(&later, &[None, Some(60 * 60)]));
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(receiver.accepted().len(), 3, "{:?}", receiver.all());
}

#[test]
fn archive_items_surfacing_later_do_not_alert() {
    let (feeds, receiver, ws) = one_story_one_hook();
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(receiver.accepted().len(), 1);
    // A month-old item shows up in the feed (the publisher re-shuffled its archive).
    feeds.put_rss(
        "/f.xml",
        &feed_xml(&[entry(1), entry(2)], &[Some(10), Some(30 * 24 * 60)]),
    );
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(receiver.accepted().len(), 1, "{:?}", receiver.all());
}

/// User + system CPU time of a process, in clock ticks (usually 1/100 s), from /proc.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc stat");
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    fields[11].parse::<u64>().unwrap_or(0) + fields[12].parse::<u64>().unwrap_or(0)
}

#[test]
fn a_recovered_receiver_gets_its_deferred_alerts_at_once() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    // The first attempt is told to come back in an hour; the receiver is fine after that.
    receiver.script([busy_for_an_hour()]);
    feeds.put_rss(
        "/f.xml",
        &feed_xml(&[entry(1), entry(2)], &[Some(10), Some(11)]),
    );
    let ws = Workspace::new();
    config(&ws, &feeds.url("/f.xml"), &[("hook", &receiver.hook_url())])
        .daemon("poll_interval = \"10s\"")
        .write(&ws);
    let child = ws.spawn_run();
    assert!(wait_for(Duration::from_secs(10), || receiver.all().len() == 1));
    // A new story arrives and is accepted: the two held-back alerts follow it.
    feeds.put_rss(
        "/f.xml",
        &feed_xml(
            &[entry(3), entry(1), entry(2)],
            &[Some(1), Some(10), Some(11)],
        ),
    );
    assert!(
        wait_for(Duration::from_secs(30), || receiver.accepted().len() == 3),
        "{:?}",
        receiver.all()
    );
    terminate(child);
    assert_eq!(receiver.all().len(), 4, "{:?}", receiver.all());
}

#[test]
fn shutdown_does_not_start_polls_still_waiting_for_a_slot() {
    let feeds = FeedServer::start();
    let ws = Workspace::new();
    let mut config = TomlConfig::for_workspace(&ws)
        .daemon("concurrency = 1")
        .shared_groups()
        .rule("r", "@abraham_accords", &["out"])
        .stdout_sink("out");
    for n in 0..6 {
        let path = format!("/slow-{n}.xml");
        feeds.put_slow_rss(
            &path,
            &feed_xml(&[entry(n)], &[Some(5)]),
            Duration::from_secs(2),
        );
        config = config.feed(&format!("slow-{n}"), &feeds.url(&path));
    }
    config.write(&ws);
    let child = ws.spawn_run();
    let total = || {
        (0..6)
            .map(|n| feeds.hits(&format!("/slow-{n}.xml")))
            .sum::<usize>()
    };
    assert!(wait_for(Duration::from_secs(20), || total() == 1));
    terminate(child);
    assert_eq!(
        total(),
        1,
        "only the poll in flight ran; the queued five never started"
    );
}

#[test]
fn a_database_that_cannot_record_a_delivery_pauses_sending() {
    let feeds = FeedServer::start();
    feeds.put_rss("/f.xml", &feed_xml(&[entry(1)], &[Some(10)]));
    let ws = Workspace::new();
    let down = unused_local_url("/hook");
    config(&ws, &feeds.url("/f.xml"), &[("hook", &down)]).write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Simulate a disk that fails the write after the receiver has accepted the alert.
    {
        let db = rusqlite::Connection::open(ws.database()).expect("open db");
        db.execute_batch(
            "CREATE TRIGGER fail_delivered BEFORE UPDATE OF state ON deliveries
             WHEN NEW.state = 'delivered'
             BEGIN SELECT RAISE(ABORT, 'disk I/O error (simulated)'); END;",
        )
        .expect("trigger");
    }
    let receiver = Receiver::start();
    config(&ws, &feeds.url("/f.xml"), &[("hook", &receiver.hook_url())]).write(&ws);
    let child = ws.spawn_run();
    assert!(wait_for(Duration::from_secs(10), || receiver.all().len() == 1));
    std::thread::sleep(Duration::from_secs(3));
    let log = terminate(child);
    assert_eq!(
        receiver.all().len(),
        1,
        "not re-sent while the database cannot record it:\n{log}"
    );
    assert!(log.contains("pausing deliveries"), "{log}");
}

// ---- Issue 6: delivery you can trust ----

fn ok(out: &std::process::Output) {
    assert!(out.status.success(), "{}", stderr(out));
}

#[test]
fn three_500s_then_200_delivers_once_with_one_webhook_id() {
    let feeds = FeedServer::start();
    feeds.put_rss("/f.xml", &feed_xml(&[entry(1)], &[Some(10)]));
    let receiver = Receiver::start();
    receiver.script(vec![
        Reply::status(500),
        Reply::status(500),
        Reply::status(500),
    ]);
    let ws = Workspace::new();
    wire_config(&ws, &feeds.url("/f.xml"), &["hook"])
        .webhook_sink_with("hook", &receiver.url("/hook"), "retry_schedule = [\"1s\"]")
        .write(&ws);
    let child = ws.spawn_run();
    assert!(
        wait_for(Duration::from_secs(30), || receiver.accepted().len() == 1),
        "{:?}",
        receiver.all()
    );
    std::thread::sleep(Duration::from_secs(2));
    terminate(child);
    let all = receiver.all();
    assert_eq!(all.len(), 4, "three failures and one success: {all:?}");
    let id = all[0].id();
    assert!(id.starts_with("ww_"), "{id}");
    assert!(
        all.iter().all(|h| h.id() == id),
        "one id on every attempt: {all:?}"
    );
    // Each attempt has its own timestamp header (Standard Webhooks).
    assert!(
        all.iter()
            .all(|h| h.headers.contains_key("webhook-timestamp"))
    );
    let out = ws.watchword(&["alerts", "--json"]);
    ok(&out);
    let listed: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(listed["deliveries"][0]["state"], "delivered");
    assert_eq!(listed["deliveries"][0]["attempts"], 4);
}

#[test]
fn a_receiver_down_for_the_first_10_s_gets_every_alert_once() {
    let feeds = FeedServer::start();
    let entries: Vec<_> = (1..=4).map(entry).collect();
    feeds.put_rss("/f.xml", &feed_xml(&entries, &[Some(10); 4]));
    let down = unused_local_url("/hook");
    let addr = down
        .trim_start_matches("http://")
        .trim_end_matches("/hook")
        .to_string();
    let ws = Workspace::new();
    wire_config(&ws, &feeds.url("/f.xml"), &["hook"])
        .webhook_sink_with("hook", &down, "retry_schedule = [\"2s\"]")
        .write(&ws);
    let child = ws.spawn_run();
    let started = std::time::Instant::now();
    // The alerts are committed while nobody listens.
    let db = ws.database();
    assert!(wait_for(Duration::from_secs(20), || {
        rusqlite::Connection::open(&db)
            .and_then(|c| {
                c.query_row(
                    "SELECT COUNT(*) FROM deliveries WHERE attempts > 0",
                    [],
                    |r| r.get::<_, i64>(0),
                )
            })
            .unwrap_or(0)
            > 0
    }));
    std::thread::sleep(Duration::from_secs(10).saturating_sub(started.elapsed()));
    let receiver = Receiver::start_on(&addr);
    assert!(
        wait_for(Duration::from_secs(30), || receiver.accepted().len() >= 4),
        "{:?}",
        receiver.all()
    );
    std::thread::sleep(Duration::from_secs(3));
    terminate(child);
    let mut ids: Vec<String> = receiver.all().iter().map(Hit::id).collect();
    assert_eq!(ids.len(), 4, "none twice: {ids:?}");
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "every alert: {ids:?}");
}

#[test]
fn retry_after_and_discord_retry_after_are_honoured() {
    let feeds = FeedServer::start();
    feeds.put_rss(
        "/f.xml",
        &feed_xml(&[entry(1), entry(2)], &[Some(10), Some(11)]),
    );
    let receiver = Receiver::start();
    receiver.script(vec![
        Reply::status(429).header("Retry-After", "2"),
        // Discord puts its hint in the JSON body, as float seconds.
        Reply::status(429)
            .header("Content-Type", "application/json")
            .body(r#"{"message": "You are being rate limited.", "retry_after": 3.2, "global": false}"#),
    ]);
    let ws = Workspace::new();
    wire_config(&ws, &feeds.url("/f.xml"), &["hook"])
        .webhook_sink_with("hook", &receiver.url("/hook"), "retry_schedule = [\"1s\"]")
        .write(&ws);
    let child = ws.spawn_run();
    assert!(
        wait_for(Duration::from_secs(40), || receiver.accepted().len() == 2),
        "{:?}",
        receiver.all()
    );
    terminate(child);
    let all = receiver.all();
    assert_eq!(all.len(), 4, "{all:?}");
    let gap1 = all[1].at.duration_since(all[0].at);
    let gap2 = all[2].at.duration_since(all[1].at);
    assert!(
        gap1 >= Duration::from_secs(2),
        "Retry-After: 2 waited only {gap1:?}"
    );
    assert!(
        gap2 >= Duration::from_secs(4),
        "retry_after 3.2 (rounded up) waited only {gap2:?}"
    );
    assert_eq!(all[0].id(), all[1].id());
    assert_eq!(all[1].id(), all[2].id());
}

#[test]
fn kill_9_while_delivering_then_restart_delivers_everything() {
    let feeds = FeedServer::start();
    let entries: Vec<_> = (1..=20).map(entry).collect();
    feeds.put_rss("/f.xml", &feed_xml(&entries, &[Some(10); 20]));
    let receiver = Receiver::start();
    let ws = Workspace::new();
    // Paced at 5 a second, so the kill lands while deliveries are in flight.
    wire_config(&ws, &feeds.url("/f.xml"), &["hook"])
        .webhook_sink_with("hook", &receiver.url("/hook"), "rate_limit = \"5/s\"")
        .write(&ws);
    let mut child = ws.spawn_run();
    assert!(wait_for(Duration::from_secs(20), || receiver.all().len() >= 5));
    child.kill().expect("kill -9");
    let _ = child.wait();
    let before = receiver.all().len();
    assert!(before < 20, "killed mid-way, not after the end ({before})");

    let child = ws.spawn_run();
    let distinct = || {
        let mut ids: Vec<String> = receiver.accepted().iter().map(Hit::id).collect();
        ids.sort();
        ids.dedup();
        ids.len()
    };
    assert!(
        wait_for(Duration::from_secs(30), || distinct() == 20),
        "{}",
        distinct()
    );
    std::thread::sleep(Duration::from_secs(1));
    terminate(child);
    let all = receiver.all();
    // At most the one request in flight at the kill is repeated, and with its own id.
    assert!(all.len() <= 21, "{} requests for 20 alerts", all.len());
    let ids: Vec<String> = all.iter().map(Hit::id).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 20);
    for id in &sorted {
        assert!(id.starts_with("ww_") && id.len() == 35, "{id}");
    }
}

#[test]
fn gone_disables_the_sink_until_its_url_changes() {
    let feeds = FeedServer::start();
    feeds.put_rss("/f.xml", &feed_xml(&[entry(1)], &[Some(10)]));
    let receiver = Receiver::start();
    receiver.script(vec![Reply::status(410)]);
    let ws = Workspace::new();
    let hook_at =
        |url: &str| wire_config(&ws, &feeds.url("/f.xml"), &["hook"]).webhook_sink("hook", url);
    hook_at(&receiver.url("/old")).write(&ws);
    let out = ws.watchword(&["once"]);
    ok(&out);
    assert!(stderr(&out).contains("DISABLED"), "{}", stderr(&out));
    let out = ws.watchword(&["alerts"]);
    ok(&out);
    let listing = stdout(&out);
    assert!(listing.contains("sink \"hook\" is DISABLED"), "{listing}");
    assert!(listing.contains("410"), "{listing}");
    assert!(listing.contains("dead"), "{listing}");
    let out = ws.watchword(&["alerts", "--dead", "--json"]);
    ok(&out);
    let listed: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(listed["disabled_sinks"][0]["sink"], "hook");
    let disabled_at = listed["disabled_sinks"][0]["disabled_at"]
        .as_str()
        .unwrap_or_default();
    assert!(
        chrono::DateTime::parse_from_rfc3339(disabled_at).is_ok(),
        "{listed}"
    );
    assert_eq!(listed["deliveries"].as_array().map(Vec::len), Some(1));

    // A new story: nothing is sent to a disabled sink.
    feeds.put_rss(
        "/f.xml",
        &feed_xml(&[entry(2), entry(1)], &[Some(1), Some(10)]),
    );
    let out = ws.watchword(&["once"]);
    ok(&out);
    assert_eq!(receiver.all().len(), 1, "{:?}", receiver.all());
    assert!(stderr(&out).contains("is disabled"), "{}", stderr(&out));

    // The user fixes the URL: the pending alert goes; the dead one waits for `redeliver`.
    hook_at(&receiver.url("/new")).write(&ws);
    let out = ws.watchword(&["once"]);
    ok(&out);
    assert_eq!(receiver.accepted().len(), 1, "{:?}", receiver.all());
    let out = ws.watchword(&["redeliver", "--dead"]);
    ok(&out);
    assert!(stdout(&out).contains("re-queued 1"), "{}", stdout(&out));
    let out = ws.watchword(&["once"]);
    ok(&out);
    let accepted = receiver.accepted();
    assert_eq!(accepted.len(), 2, "{accepted:?}");
    assert_eq!(
        accepted[1].id(),
        receiver.all()[0].id(),
        "the 410'd alert, same id"
    );
    assert!(accepted.iter().all(|h| h.path == "/new"));
}

#[test]
fn a_404_forever_goes_dead_after_the_configured_attempts_and_can_be_redelivered() {
    let feeds = FeedServer::start();
    feeds.put_rss("/f.xml", &feed_xml(&[entry(1)], &[Some(10)]));
    let receiver = Receiver::start();
    receiver.always(Reply::status(404));
    let ws = Workspace::new();
    wire_config(&ws, &feeds.url("/f.xml"), &["hook"])
        .webhook_sink_with(
            "hook",
            &receiver.url("/hook"),
            "client_error_attempts = 3\nclient_error_grace = \"0s\"",
        )
        .write(&ws);
    for _ in 0..2 {
        ok(&ws.watchword(&["once"]));
    }
    let out = ws.watchword(&["alerts", "--dead"]);
    ok(&out);
    assert!(stdout(&out).contains("no alerts match"), "{}", stdout(&out));
    let out = ws.watchword(&["alerts", "--pending"]);
    assert!(stdout(&out).contains("HTTP 404"), "{}", stdout(&out));
    let out = ws.watchword(&["once"]);
    ok(&out);
    assert!(stderr(&out).contains("giving up"), "{}", stderr(&out));
    assert_eq!(receiver.all().len(), 3);
    // Dead: further passes leave it alone.
    ok(&ws.watchword(&["once"]));
    assert_eq!(receiver.all().len(), 3);

    let out = ws.watchword(&["alerts", "--dead", "--json"]);
    ok(&out);
    let listed: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let row = &listed["deliveries"][0];
    assert_eq!(row["state"], "dead");
    assert_eq!(row["attempts"], 3);
    assert_eq!(row["last_status"], 404);
    // Machine output has one time convention, RFC 3339 UTC (issue 17, item 11).
    for key in ["created_at", "next_attempt_at", "last_attempt_at"] {
        let text = row[key].as_str().unwrap_or_default();
        assert!(
            text.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(text).is_ok(),
            "{key}: {row}"
        );
    }
    assert!(row["delivered_at"].is_null(), "{row}");
    let id = row["alert_id"].as_str().expect("id").to_string();
    // A rule the config does not have is named as such, not answered with "no alerts match"
    // (issue 17).
    let out = ws.watchword(&["alerts", "--dead", "--rule", "other-rule"]);
    assert!(
        stderr(&out).contains("no rule named \"other-rule\""),
        "{}",
        stderr(&out)
    );
    let out = ws.watchword(&["alerts", "--since", "1h"]);
    assert!(stdout(&out).contains(&id), "{}", stdout(&out));

    // The receiver is fixed; the user re-queues the alert by id.
    receiver.always(Reply::status(200));
    let out = ws.watchword(&["redeliver", "ww_unknown"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("ww_unknown"), "{}", stderr(&out));
    ok(&ws.watchword(&["redeliver", &id]));
    ok(&ws.watchword(&["once"]));
    let accepted = receiver.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].id(), id);
    let out = ws.watchword(&["alerts", "--json"]);
    let listed: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(listed["deliveries"][0]["state"], "delivered");
}

#[test]
fn a_burst_of_matches_is_paced_to_the_sink_rate_limit() {
    let feeds = FeedServer::start();
    let entries: Vec<_> = (1..=12).map(entry).collect();
    feeds.put_rss("/f.xml", &feed_xml(&entries, &[Some(10); 12]));
    let slow = Receiver::start();
    let fast = Receiver::start();
    let ws = Workspace::new();
    wire_config(&ws, &feeds.url("/f.xml"), &["slow", "fast"])
        .webhook_sink_with("slow", &slow.url("/hook"), "rate_limit = \"4/s\"")
        .webhook_sink("fast", &fast.url("/hook"))
        .write(&ws);
    let started = std::time::Instant::now();
    ok(&ws.watchword(&["once"]));
    let hits = slow.all();
    assert_eq!(hits.len(), 12);
    for pair in hits.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at);
        // 4/s = one every 250 ms; a little slack for the receiver's own clock reading.
        assert!(
            gap >= Duration::from_millis(200),
            "requests {gap:?} apart: {:?}",
            hits.iter()
                .map(|h| h.at.duration_since(hits[0].at))
                .collect::<Vec<_>>()
        );
    }
    // The paced sink did not hold back the other one: it was done long before.
    let fast_done = fast.all().last().map(|h| h.at).expect("fast hits");
    let slow_done = hits.last().map(|h| h.at).expect("slow hits");
    assert!(fast_done + Duration::from_secs(1) < slow_done);
    assert_eq!(fast.all().len(), 12);
    assert!(started.elapsed() >= Duration::from_millis(2500));
}

#[test]
fn a_digest_sink_sends_the_window_as_one_message() {
    let feeds = FeedServer::start();
    let entries: Vec<_> = (1..=5).map(entry).collect();
    feeds.put_rss("/f.xml", &feed_xml(&entries, &[Some(10); 5]));
    let receiver = Receiver::start();
    let ws = Workspace::new();
    wire_config(&ws, &feeds.url("/f.xml"), &["hook"])
        .webhook_sink_with("hook", &receiver.url("/hook"), "digest = \"3s\"")
        .write(&ws);
    let child = ws.spawn_run();
    let started = std::time::Instant::now();
    assert!(wait_for(Duration::from_secs(30), || !receiver
        .all()
        .is_empty()));
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "waited for the window"
    );
    std::thread::sleep(Duration::from_secs(2));
    terminate(child);
    let all = receiver.all();
    assert_eq!(all.len(), 1, "{all:?}");
    let body = all[0].json();
    assert_eq!(body["type"], "watchword.digest");
    assert_eq!(body["count"], 5);
    assert_eq!(body["alerts"][4]["type"], "watchword.alert");
    assert!(all[0].id().starts_with("ww_digest_"));
    let out = ws.watchword(&["alerts", "--json"]);
    let listed: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let rows = listed["deliveries"].as_array().expect("rows");
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|r| r["state"] == "delivered"));
}

#[test]
fn a_hanging_sink_does_not_delay_another_in_run() {
    let feeds = FeedServer::start();
    let entries: Vec<_> = (1..=3).map(entry).collect();
    feeds.put_rss("/f.xml", &feed_xml(&entries, &[Some(10); 3]));
    let stuck = Receiver::start();
    stuck.script([HOLD, HOLD, HOLD]);
    let good = Receiver::start();
    let ws = Workspace::new();
    config(
        &ws,
        &feeds.url("/f.xml"),
        &[
            ("a-stuck", &stuck.hook_url()),
            ("b-good", &good.url("/hook")),
        ],
    )
    .daemon("delivery_timeout = \"8s\"")
    .write(&ws);
    let child = ws.spawn_run();
    assert!(wait_for(Duration::from_secs(20), || stuck.all().len() == 1));
    let held_since = std::time::Instant::now();
    assert!(
        wait_for(Duration::from_secs(20), || good.accepted().len() == 3),
        "{:?}",
        good.all()
    );
    assert!(
        held_since.elapsed() < Duration::from_secs(6),
        "the good sink waited for the stuck one: {:?}",
        held_since.elapsed()
    );
    assert_eq!(stuck.all().len(), 1, "still holding the first request");
    terminate(child);
}

/// Issue 17, item 9: a retry's STATE (`retry 2026-12-04 08:50Z`, 22 characters) was printed
/// in a 9-wide column, shifting every later column of its row. Every cell must start under
/// its header.
#[test]
fn the_alerts_table_keeps_its_columns_under_their_headers() {
    let feeds = FeedServer::start();
    feeds.put_rss("/f.xml", &feed_xml(&[entry(1)], &[Some(10)]));
    let up = Receiver::start();
    let down = Receiver::start();
    down.always(Reply::status(503));
    let ws = Workspace::new();
    config(
        &ws,
        &feeds.url("/f.xml"),
        &[
            ("up-hook", &up.url("/up")),
            ("down-hook", &down.url("/down")),
        ],
    )
    .write(&ws);
    ok(&ws.watchword(&["once"]));
    let out = ws.watchword(&["alerts"]);
    ok(&out);
    let table = stdout(&out);
    let lines: Vec<Vec<char>> = table.lines().map(|l| l.chars().collect()).collect();
    let header = lines.first().expect("a header");
    let column = |name: &str| {
        let text: String = header.iter().collect();
        let byte = text
            .find(name)
            .unwrap_or_else(|| panic!("{name} in {text}"));
        text[..byte].chars().count()
    };
    let rows: Vec<&Vec<char>> = lines.iter().skip(1).collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(table.contains("retry "), "{table}");
    for row in rows {
        let cell = |name: &str| -> String {
            row.iter()
                .skip(column(name))
                .take_while(|c| **c != ' ')
                .collect()
        };
        assert!(cell("SINK").ends_with("-hook"), "SINK misplaced:\n{table}");
        assert_eq!(cell("RULE"), "ca-aa", "RULE misplaced:\n{table}");
        assert!(
            cell("ALERT ID").starts_with("ww_"),
            "ALERT ID misplaced:\n{table}"
        );
        let before: String = row.iter().take(column("SINK")).collect();
        assert!(before.ends_with("  "), "cells run together:\n{table}");
    }
}
