//! Delivery under trouble: receivers that fail, hang or disappear from the config, a second
//! process on the same database, and the back-catalogue rule after a feed's first sight.

mod common;

use std::time::Duration;

use common::*;

fn entry(n: usize) -> (String, String, String) {
    (
        format!("ca-{n}"),
        format!("Kazakhstan and the Abraham Accords, update {n}"),
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

fn config(ws: &Workspace, feed_url: &str, sinks: &[(&str, &str)], extra_daemon: &str) -> String {
    let mut toml = format!(
        r#"
[daemon]
database = "{db}"
poll_interval = "1h"
{extra_daemon}
{GROUPS}
[[feed]]
name = "wire"
url = "{feed_url}"

[[rule]]
name = "ca-aa"
query = "@central_asia AND @abraham_accords"
notify = [{notify}]
"#,
        db = ws.database().display(),
        notify = sinks
            .iter()
            .map(|(name, _)| format!("\"{name}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (name, url) in sinks {
        toml.push_str(&format!(
            "\n[[sink]]\nname = \"{name}\"\nkind = \"webhook\"\nurl = \"{url}\"\n"
        ));
    }
    toml
}

/// The common fixture: a feed with one fresh matching story, one webhook receiver, and a
/// workspace whose config joins them.
fn one_story_one_hook() -> (FeedServer, Receiver, Workspace) {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    feeds.put_rss("/f.xml", &feed_xml(&[entry(1)], &[Some(10)]));
    let ws = Workspace::new();
    ws.write_config(&config(
        &ws,
        &feeds.url("/f.xml"),
        &[("hook", &receiver.url)],
        "",
    ));
    (feeds, receiver, ws)
}

#[test]
fn run_backs_off_a_failing_receiver_instead_of_hammering_it() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    receiver.script(&[500]);
    let entries: Vec<_> = (1..=5).map(entry).collect();
    feeds.put_rss("/f.xml", &feed_xml(&entries, &[Some(10); 5]));
    let ws = Workspace::new();
    ws.write_config(&config(
        &ws,
        &feeds.url("/f.xml"),
        &[("hook", &receiver.url)],
        "",
    ));
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
    ws.write_config(&config(
        &ws,
        &feeds.url("/f.xml"),
        &[("old", &old_hook)],
        "",
    ));
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // The user replaces the dead sink with a new one; the two old alerts stay owed to "old".
    // (The feed moves too: `run` honours the schedule `once` persisted, and a changed URL is
    // polled at once.)
    let receiver = Receiver::start();
    ws.write_config(&config(
        &ws,
        &feeds.url("/f2.xml"),
        &[("new", &receiver.url)],
        "",
    ));
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
    flaky.script(&[503]);
    feeds.put_rss("/f.xml", &feed_xml(&[entry(1)], &[Some(10)]));
    let ws = Workspace::new();
    ws.write_config(&config(
        &ws,
        &feeds.url("/f.xml"),
        &[("good", &good.url), ("flaky", &flaky.url)],
        "",
    ));
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
    receiver.script(&[HOLD]);
    feeds.put_rss("/f.xml", &feed_xml(&[entry(1)], &[Some(10)]));
    let ws = Workspace::new();
    ws.write_config(&config(
        &ws,
        &feeds.url("/f.xml"),
        &[("hook", &receiver.url)],
        "delivery_timeout = \"1s\"",
    ));
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
    ws.write_config(&config(
        &ws,
        &feeds.url("/f.xml"),
        &[("hook", &receiver.url)],
        "",
    ));
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
    receiver.script(&[503]);
    feeds.put_rss(
        "/f.xml",
        &feed_xml(&[entry(1), entry(2)], &[Some(10), Some(11)]),
    );
    let ws = Workspace::new();
    let toml = config(&ws, &feeds.url("/f.xml"), &[("hook", &receiver.url)], "")
        .replace("poll_interval = \"1h\"", "poll_interval = \"10s\"");
    ws.write_config(&toml);
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
    let mut toml = format!(
        "[daemon]\ndatabase = \"{}\"\nconcurrency = 1\n{GROUPS}\n[[rule]]\nname = \"r\"\n\
         query = \"@abraham_accords\"\nnotify = [\"out\"]\n[[sink]]\nname = \"out\"\nkind = \"stdout\"\n",
        ws.database().display()
    );
    for n in 0..6 {
        let path = format!("/slow-{n}.xml");
        feeds.put_slow_rss(
            &path,
            &feed_xml(&[entry(n)], &[Some(5)]),
            Duration::from_secs(2),
        );
        toml.push_str(&format!(
            "[[feed]]\nname = \"slow-{n}\"\nurl = \"{}\"\n",
            feeds.url(&path)
        ));
    }
    ws.write_config(&toml);
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
    ws.write_config(&config(&ws, &feeds.url("/f.xml"), &[("hook", &down)], ""));
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
    ws.write_config(&config(
        &ws,
        &feeds.url("/f.xml"),
        &[("hook", &receiver.url)],
        "",
    ));
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
