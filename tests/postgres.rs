//! watchword on PostgreSQL (`database = "postgres://…"`), against the real server of the
//! project's machines (`WATCHWORD_TEST_POSTGRES`; without it each test says by name that it
//! was skipped, and `.ci/run` forbids that). Each test has a schema of its own.
//!
//! Replicas here are real `watchword run` processes sharing one database: leases on feeds and
//! deliveries, the story lock, and a replica killed with SIGKILL in the middle of its work.

mod common;

use std::time::Duration;

use common::external::PgSchema;
use common::*;
use common::{accords_story as story, rss_of_stories as feed_of};

/// The tests here start several daemons each; run one at a time, so that on a two-core CI
/// machine no replica's poll outlives its lease only because five other tests' replicas are
/// compiling their names at the same moment.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn pg_config(schema: &PgSchema) -> TomlConfig {
    TomlConfig::new()
        .database(&schema.url)
        .daemon("poll_interval = \"1h\"")
        .shared_groups()
}

#[test]
fn one_daemon_on_postgres_alerts_once_and_the_cli_reads_the_same_database() {
    let _serial = one_at_a_time();
    let Some(schema) = PgSchema::create(test_name!()) else {
        return;
    };
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    let stories: Vec<_> = (1..=3).map(story).collect();
    feeds.put_rss("/wire.xml", &feed_of(&stories));
    let ws = Workspace::new();
    pg_config(&schema)
        .feed("wire", &feeds.url("/wire.xml"))
        .rule("ca-aa", "@central_asia AND @abraham_accords", &["hook"])
        .webhook_sink("hook", &receiver.hook_url())
        .write(&ws);

    let once = ws.watchword(&["once"]);
    assert!(once.status.success(), "{}", stderr(&once));
    let ids: Vec<String> = receiver.accepted().iter().map(Hit::id).collect();
    assert_eq!(ids.len(), 3, "three stories, three alerts: {ids:?}");
    assert!(
        !ws.database().exists(),
        "nothing was written to a SQLite file"
    );
    assert_eq!(
        schema.query("SELECT COUNT(*)::text FROM alerts"),
        vec!["3".to_string()]
    );

    // A second pass finds nothing new and sends nothing again.
    let again = ws.watchword(&["once"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(receiver.accepted().len(), 3);

    // The operator's tools read the same database.
    let status = ws.watchword(&["status", "--json"]);
    assert!(status.status.success(), "{}", stderr(&status));
    let status: serde_json::Value = serde_json::from_str(&stdout(&status)).expect("json");
    assert_eq!(status["alerts"]["delivered"], 3, "{status}");
    let alerts = ws.watchword(&["alerts", "--json"]);
    assert!(alerts.status.success(), "{}", stderr(&alerts));
    let listed: serde_json::Value = serde_json::from_str(&stdout(&alerts)).expect("json");
    assert_eq!(
        listed["deliveries"].as_array().map(Vec::len),
        Some(3),
        "{listed}"
    );
    let feeds_out = ws.watchword(&["feeds", "--json"]);
    assert!(feeds_out.status.success(), "{}", stderr(&feeds_out));
    assert!(
        stdout(&feeds_out).contains("\"wire\""),
        "{}",
        stdout(&feeds_out)
    );
}

#[test]
fn a_wrong_postgres_url_is_one_clear_line_without_the_password() {
    let _serial = one_at_a_time();
    let Some(schema) = PgSchema::create(test_name!()) else {
        return;
    };
    drop(schema);
    let ws = Workspace::new();
    let config = TomlConfig::new()
        .database("postgres://watchword:hunter2@127.0.0.1:1/nowhere")
        .feed("wire", "file:///nonexistent.xml")
        .stdout_sink("out")
        .rule("r", "Kazakhstan", &["out"]);
    config.write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(
            "cannot connect to PostgreSQL at postgres://watchword:***@127.0.0.1:1/nowhere"
        ),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "the password leaked: {err}");
}

/// Config for replicas in a test: `lease` as `replica_lease` (short, so a killed replica's
/// work is taken over in seconds), no metrics listener (replicas on one host would fight for
/// its port).
fn replica_config(schema: &PgSchema, lease: &str) -> TomlConfig {
    TomlConfig::new().database(&schema.url).daemon(&format!(
        "poll_interval = \"1h\"\nmetrics_listen = \"off\"\nfetch_timeout = \"2s\"\n\
         delivery_timeout = \"2s\"\nreplica_lease = \"{lease}\""
    ))
}

/// Lines of a replica's log that say it recorded a feed's new items.
fn feeds_polled_by(log: &str) -> usize {
    log.lines().filter(|l| l.contains("feed polled")).count()
}

/// A count from the test's schema; -1 while the replicas have not created its tables yet.
fn one(schema: &PgSchema, query: &str) -> i64 {
    match schema.try_query(query) {
        Ok(rows) => rows[0].parse().expect("a number"),
        Err(e) if e.contains("does not exist") => -1,
        Err(e) => panic!("{query}: {e}"),
    }
}

#[test]
fn three_replicas_share_two_thousand_feeds_and_send_each_alert_once() {
    let _serial = one_at_a_time();
    let Some(schema) = PgSchema::create(test_name!()) else {
        return;
    };
    const FEEDS: usize = 2000;
    const MATCHING: usize = 40;
    let server = FeedServer::start();
    let receiver = Receiver::start();
    // A lease longer than the slowest poll here (a debug build compiling the names of
    // `story_by_names` under load takes seconds): a lease that runs out mid-poll hands the feed
    // to another replica, which fetches it a second time (harmlessly, but this counts fetches).
    let mut config = replica_config(&schema, "60s")
        .daemon("per_host_concurrency = 8")
        .shared_groups()
        .rule("ca-aa", "@central_asia AND @abraham_accords", &["hook"])
        .webhook_sink("hook", &receiver.hook_url());
    for n in 0..FEEDS {
        let path = format!("/f{n}.xml");
        let body = if n % (FEEDS / MATCHING) == 0 {
            feed_of(&[story(n)])
        } else {
            let quiet = (
                format!("q-{n}"),
                format!("Harvest report {n}"),
                format!("https://farm.example.org/{n}"),
            );
            feed_of(&[quiet])
        };
        server.put_rss(&path, &body);
        config = config.feed(&format!("feed-{n}"), &server.url(&path));
    }
    let ws = Workspace::new();
    config.write(&ws);

    let replicas: Vec<Daemon> = (0..3).map(|_| Daemon::start(&ws, &[])).collect();
    let settled = wait_for(Duration::from_secs(240), || {
        receiver.accepted().len() >= MATCHING
            && one(
                &schema,
                "SELECT COUNT(*) FROM feeds WHERE last_fetch_at IS NOT NULL",
            ) == FEEDS as i64
            && one(
                &schema,
                "SELECT COUNT(*) FROM deliveries WHERE state = 'pending'",
            ) == 0
    });
    let logs: Vec<String> = replicas.into_iter().map(Daemon::stop).collect();
    assert!(
        settled,
        "the replicas did not finish the pass:\n{}",
        logs.join("\n---\n")
    );

    let ids: std::collections::BTreeSet<String> = receiver.accepted().iter().map(Hit::id).collect();
    assert_eq!(receiver.all().len(), MATCHING, "every alert sent once");
    assert_eq!(ids.len(), MATCHING, "one id per story");
    for n in 0..FEEDS {
        assert_eq!(
            server.hits(&format!("/f{n}.xml")),
            1,
            "feed {n} fetched once"
        );
    }
    // Which replica polled a feed is only in their logs (a fetch that timed out under load
    // logs a warning instead, so the lines may add up to a little less than every feed).
    let shares: Vec<usize> = logs.iter().map(|log| feeds_polled_by(log)).collect();
    assert!(shares.iter().sum::<usize>() <= FEEDS, "{shares:?}");
    assert!(
        shares.iter().all(|&n| n > 0),
        "every replica took a share: {shares:?}"
    );
}

#[test]
fn a_replica_killed_mid_pass_and_mid_delivery_leaves_its_work_to_the_others() {
    let _serial = one_at_a_time();
    let Some(schema) = PgSchema::create(test_name!()) else {
        return;
    };
    const FEEDS: usize = 16;
    let server = FeedServer::start();
    let receiver = Receiver::start();
    // Two alerts go through, the third is held unanswered: its replica is mid-delivery.
    receiver.script([Reply::status(200), Reply::status(200), HOLD]);
    let mut config = replica_config(&schema, "5s")
        .shared_groups()
        .rule("ca-aa", "@central_asia AND @abraham_accords", &["hook"])
        .webhook_sink("hook", &receiver.hook_url());
    for n in 0..FEEDS {
        let path = format!("/f{n}.xml");
        // Slow enough that the pass is still going when the replica dies.
        server.put_slow_rss(&path, &feed_of(&[story(n)]), Duration::from_millis(300));
        config = config.feed(&format!("feed-{n}"), &server.url(&path));
    }
    let ws = Workspace::new();
    config.write(&ws);

    // As if on another machine: the others cannot see that it died, so they wait out its leases
    // (5 s) instead of taking them back at once as they would from a dead process of their own.
    let first = Daemon::start(&ws, &[("WATCHWORD_REPLICA_HOST", "another-machine")]);
    assert!(
        wait_for(Duration::from_secs(60), || receiver.all().len() >= 3),
        "the first replica never reached its third delivery:\n{}",
        first.log()
    );
    first.signal("KILL");
    let held = receiver.all()[2].id();
    let recorded_before = one(
        &schema,
        "SELECT COUNT(*) FROM feeds WHERE last_fetch_at IS NOT NULL",
    );
    assert!(
        recorded_before < FEEDS as i64,
        "the pass was over before the kill; make the feeds slower"
    );

    let others: Vec<Daemon> = (0..2).map(|_| Daemon::start(&ws, &[])).collect();
    let done = wait_for(Duration::from_secs(90), || {
        let ids: std::collections::BTreeSet<String> =
            receiver.accepted().iter().map(Hit::id).collect();
        ids.len() >= FEEDS
            && one(
                &schema,
                "SELECT COUNT(*) FROM deliveries WHERE state = 'pending'",
            ) == 0
    });
    let logs: Vec<String> = others.into_iter().map(Daemon::stop).collect();
    assert!(done, "the others did not finish:\n{}", logs.join("\n---\n"));

    let accepted = receiver.accepted();
    let ids: std::collections::BTreeSet<String> = accepted.iter().map(Hit::id).collect();
    assert_eq!(ids.len(), FEEDS, "one id per story, none lost");
    assert_eq!(accepted.len(), FEEDS, "nothing accepted twice");
    assert!(
        accepted.iter().any(|hit| hit.id() == held),
        "the delivery cut short by the kill was retried under its own id {held}"
    );
    // Per story, one alert row: no story raised under a second id.
    assert_eq!(one(&schema, "SELECT COUNT(*) FROM alerts"), FEEDS as i64);
    for n in 0..FEEDS {
        let hits = server.hits(&format!("/f{n}.xml"));
        assert!((1..=3).contains(&hits), "feed {n} fetched {hits} times");
    }
}

/// A feed server whose answers wait until `gate` requests have arrived, then all go at once:
/// the fetches that follow run their recording at the same moment. Serves `pages` by path.
fn gated_server(
    pages: Vec<(String, String)>,
    gate: usize,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Barrier};
    let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind"));
    let base = format!("http://{}", server.server_addr());
    let served = Arc::new(AtomicUsize::new(0));
    let barrier = Arc::new(Barrier::new(gate));
    let pages = Arc::new(pages);
    for _ in 0..gate {
        let (server, barrier, pages, served) = (
            Arc::clone(&server),
            Arc::clone(&barrier),
            Arc::clone(&pages),
            Arc::clone(&served),
        );
        std::thread::spawn(move || {
            // The first `gate` requests meet at the barrier; any later one is answered at once.
            let mut first = true;
            for request in server.incoming_requests() {
                if first {
                    barrier.wait();
                    first = false;
                }
                served.fetch_add(1, Ordering::SeqCst);
                let body = pages
                    .iter()
                    .find(|(path, _)| path == request.url())
                    .map(|(_, body)| body.clone());
                let response = match body {
                    Some(body) => tiny_http::Response::from_string(body)
                        .with_header(header("Content-Type", "application/rss+xml")),
                    None => tiny_http::Response::from_string("").with_status_code(404),
                };
                let _ = request.respond(response);
            }
        });
    }
    (base, served)
}

#[test]
fn two_replicas_recording_one_story_at_the_same_moment_raise_one_alert() {
    let _serial = one_at_a_time();
    let Some(schema) = PgSchema::create(test_name!()) else {
        return;
    };
    // Two outlets, one report: the same article link (tracking parameters aside).
    let report = |outlet: &str| {
        feed_of(&[(
            format!("{outlet}-1"),
            format!("Kazakhstan to join the Abraham Accords, {outlet} reports"),
            format!("https://wire.example.org/world/kz-accords?utm_source={outlet}"),
        )])
    };
    let (base, served) = gated_server(
        vec![
            ("/a.xml".into(), report("alpha")),
            ("/b.xml".into(), report("beta")),
        ],
        2,
    );
    let receiver = Receiver::start();
    let ws = Workspace::new();
    replica_config(&schema, "60s")
        .shared_groups()
        .feed("alpha", &format!("{base}/a.xml"))
        .feed("beta", &format!("{base}/b.xml"))
        .rule("ca-aa", "@central_asia AND @abraham_accords", &["hook"])
        .webhook_sink("hook", &receiver.hook_url())
        .write(&ws);
    let replicas: Vec<Daemon> = (0..2).map(|_| Daemon::start(&ws, &[])).collect();
    let recorded = wait_for(Duration::from_secs(60), || {
        !receiver.accepted().is_empty()
            && one(
                &schema,
                "SELECT COUNT(*) FROM items WHERE story_id IS NOT NULL",
            ) == 2
            && one(
                &schema,
                "SELECT COUNT(*) FROM deliveries WHERE state = 'pending'",
            ) == 0
    });
    let logs: Vec<String> = replicas.into_iter().map(Daemon::stop).collect();
    assert!(recorded, "{}", logs.join("\n---\n"));
    assert_eq!(
        served.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "both fetches were held at the gate together"
    );
    assert_eq!(
        one(&schema, "SELECT COUNT(DISTINCT story_id) FROM items"),
        1,
        "one story"
    );
    assert_eq!(receiver.accepted().len(), 1, "one alert for one story");
}

/// A feed server answering up to `threads` requests at once, each after `delay`; it counts the
/// most requests it ever had in hand at the same moment.
fn counting_server(
    pages: Vec<(String, String)>,
    threads: usize,
    delay: Duration,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind"));
    let base = format!("http://{}", server.server_addr());
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let pages = Arc::new(pages);
    for _ in 0..threads {
        let (server, pages, in_flight, most) = (
            Arc::clone(&server),
            Arc::clone(&pages),
            Arc::clone(&in_flight),
            Arc::clone(&most),
        );
        std::thread::spawn(move || {
            for request in server.incoming_requests() {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                std::thread::sleep(delay);
                let body = pages
                    .iter()
                    .find(|(path, _)| path == request.url())
                    .map(|(_, body)| body.clone())
                    .unwrap_or_default();
                in_flight.fetch_sub(1, Ordering::SeqCst);
                let _ = request.respond(
                    tiny_http::Response::from_string(body)
                        .with_header(header("Content-Type", "application/rss+xml")),
                );
            }
        });
    }
    (base, most)
}

#[test]
fn per_host_concurrency_holds_across_replicas() {
    let _serial = one_at_a_time();
    let Some(schema) = PgSchema::create(test_name!()) else {
        return;
    };
    const FEEDS: usize = 24;
    let pages: Vec<(String, String)> = (0..FEEDS)
        .map(|n| {
            let quiet = (
                format!("q-{n}"),
                format!("Harvest report {n}"),
                format!("https://farm.example.org/{n}"),
            );
            (format!("/f{n}.xml"), feed_of(&[quiet]))
        })
        .collect();
    // Room for every replica's own limit at once (3 × 2): only the shared slots keep it at 2.
    let (base, most) = counting_server(pages, 8, Duration::from_millis(150));
    let mut config = replica_config(&schema, "60s")
        .daemon("per_host_concurrency = 2")
        .stdout_sink("out")
        .rule("quiet", "nothing-matches-this-word", &["out"]);
    for n in 0..FEEDS {
        config = config.feed(&format!("feed-{n}"), &format!("{base}/f{n}.xml"));
    }
    let ws = Workspace::new();
    config.write(&ws);
    let replicas: Vec<Daemon> = (0..3).map(|_| Daemon::start(&ws, &[])).collect();
    let done = wait_for(Duration::from_secs(60), || {
        one(
            &schema,
            "SELECT COUNT(*) FROM feeds WHERE last_fetch_at IS NOT NULL",
        ) == FEEDS as i64
    });
    let logs: Vec<String> = replicas.into_iter().map(Daemon::stop).collect();
    assert!(done, "{}", logs.join("\n---\n"));
    let most = most.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        most <= 2,
        "the host had {most} requests at once from three replicas with per_host_concurrency = 2"
    );
    assert!(most >= 1);
}

/// A fetch task lets its local fetch slots go as soon as its `304` is queued, before the
/// statement that gives the host's shared slot back has run (`Store::record_poll_then`). The
/// next claim of that host, made at that moment, must still find the slot free: it is
/// queued after the record and written after it. Were the slots let go before the record is
/// queued, that claim would run first, find the host's only slot taken, and wait.
#[test]
fn a_claim_made_once_a_304_is_queued_finds_the_host_slot_it_gives_back() {
    use watchword::model::{Database, PostgresUrl};
    use watchword::store::{FeedState, FetchRecord, PollClaim, PollRecord, Store};
    let _serial = one_at_a_time();
    let Some(schema) = PgSchema::create(test_name!()) else {
        return;
    };
    let database = Database::Postgres(PostgresUrl::parse(&schema.url).expect("url"));
    let store = Store::connect(&database).expect("connect");
    let host = Some(("wire.example.org:443", 1));
    let (first, second) = (
        ("first", "https://wire.example.org/first.xml"),
        ("second", "https://wire.example.org/second.xml"),
    );
    let claim = |(name, url): (&str, &str)| {
        store
            .claim_poll(name, url, host, 1_000, 60, true)
            .expect("claim")
    };
    assert!(
        matches!(
            claim(first),
            PollClaim::Claimed {
                host_slot: true,
                ..
            }
        ),
        "the first feed takes the host's one slot"
    );
    let not_modified = PollRecord {
        fetch: FetchRecord {
            feed: first.0.into(),
            url: first.1.into(),
            at: 1_000,
            error: None,
            items: Vec::new(),
            listed: Vec::new(),
            edits: Vec::new(),
        },
        state: FeedState {
            name: first.0.into(),
            url: first.1.into(),
            last_fetch_at: Some(1_000),
            last_status: Some(304),
            next_due_at: Some(4_600),
            ..FeedState::default()
        },
        events: Vec::new(),
    };
    let next = std::thread::scope(|scope| {
        let next_claim = std::sync::Mutex::new(None);
        store
            .record_poll_then(&not_modified, || {
                *next_claim.lock().expect("lock") = Some(scope.spawn(|| claim(second)));
                // Long enough for that claim to be written first, were it allowed to.
                std::thread::sleep(Duration::from_millis(200));
            })
            .expect("record the 304");
        let handle = next_claim.lock().expect("lock").take();
        handle
            .expect("let_go ran")
            .join()
            .expect("the claim's thread")
    });
    assert!(
        matches!(
            next,
            PollClaim::Claimed {
                host_slot: true,
                ..
            }
        ),
        "the second feed's claim found the host's slot still taken: {next:?}"
    );
    assert_eq!(
        one(
            &schema,
            "SELECT COUNT(*) FROM host_slots WHERE owner IS NOT NULL"
        ),
        1,
        "one slot held, by the second feed's poll"
    );
}

#[test]
fn alerts_recorded_by_one_replica_wake_the_others() {
    use watchword::model::{AlertId, Database, NewAlert, PostgresUrl};
    use watchword::store::{FetchRecord, NewItem, Store};
    let _serial = one_at_a_time();
    let Some(schema) = PgSchema::create(test_name!()) else {
        return;
    };
    let database = Database::Postgres(PostgresUrl::parse(&schema.url).expect("url"));
    let listener = Store::connect(&database).expect("connect");
    let recorder = Store::connect(&database).expect("connect");
    let signal = listener.outbox_signal().expect("PostgreSQL has a signal");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // The listener subscribes in the background: record until a notification comes.
    let heard = (0..30).any(|n| {
        let id = format!("item-{n}");
        let record = FetchRecord {
            feed: "wire".into(),
            url: "https://wire.example.org/rss".into(),
            at: 1_000 + n,
            error: None,
            items: vec![NewItem {
                id: id.clone(),
                link: None,
                title: format!("Report {n}"),
                published: None,
                too_old: false,
                text_hash: None,
                story: Default::default(),
                alerts: vec![NewAlert {
                    id: AlertId::stored(format!("ww_{id}")),
                    rule: "r".into(),
                    payload: "{}".into(),
                    sinks: vec!["hook".into()],
                    story_update_after: None,
                }],
            }],
            listed: Vec::new(),
            edits: Vec::new(),
        };
        assert_eq!(
            recorder.record_fetch(&record).expect("record").new_alerts,
            1
        );
        runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(1), signal.notified())
                .await
                .is_ok()
        })
    });
    assert!(heard, "no notification reached the other handle");
}

#[test]
fn a_service_restarted_after_kill_9_takes_its_leases_back_at_once() {
    let _serial = one_at_a_time();
    let Some(schema) = PgSchema::create(test_name!()) else {
        return;
    };
    let server = FeedServer::start();
    let receiver = Receiver::start();
    receiver.script([HOLD]);
    server.put_rss("/wire.xml", &feed_of(&[story(1)]));
    let ws = Workspace::new();
    // A lease far longer than this test may wait: only taking it back lets the restart send.
    replica_config(&schema, "1h")
        .shared_groups()
        .feed("wire", &server.url("/wire.xml"))
        .rule("ca-aa", "@central_asia AND @abraham_accords", &["hook"])
        .webhook_sink("hook", &receiver.hook_url())
        .write(&ws);
    let first = Daemon::start(&ws, &[]);
    assert!(
        wait_for(Duration::from_secs(60), || receiver.all().len() == 1),
        "the delivery started:\n{}",
        first.log()
    );
    first.signal("KILL");
    drop(first);
    let held = receiver.all()[0].id();
    let second = Daemon::start(&ws, &[]);
    let delivered = wait_for(Duration::from_secs(60), || receiver.accepted().len() == 1);
    let log = second.stop();
    assert!(delivered, "the restart did not send the alert:\n{log}");
    assert!(
        log.contains("took back the leases of 1 watchword process"),
        "{log}"
    );
    assert_eq!(
        receiver.accepted()[0].id(),
        held,
        "the same id on the retry"
    );
}

#[test]
fn status_and_check_change_nothing_in_a_database_never_set_up() {
    let _serial = one_at_a_time();
    let Some(schema) = PgSchema::create(test_name!()) else {
        return;
    };
    let ws = Workspace::new();
    pg_config(&schema)
        .feed("wire", "file:///nonexistent.xml")
        .stdout_sink("out")
        .rule("r", "Kazakhstan", &["out"])
        .write(&ws);
    let status = ws.watchword(&["status"]);
    assert!(!status.status.success());
    assert!(
        stderr(&status).contains("holds no watchword data yet"),
        "{}",
        stderr(&status)
    );
    let check = ws.watchword(&["check"]);
    assert!(check.status.success(), "{}", stderr(&check));
    assert_eq!(
        schema.query(&format!(
            "SELECT COUNT(*)::text FROM information_schema.tables WHERE table_schema = '{}'",
            schema.name
        )),
        vec!["0".to_string()],
        "no table was created by a reader"
    );
}

#[test]
fn a_dead_letter_on_postgres_is_redelivered_and_prune_runs() {
    let _serial = one_at_a_time();
    let Some(schema) = PgSchema::create(test_name!()) else {
        return;
    };
    let feeds = FeedServer::start();
    feeds.put_rss("/wire.xml", &feed_of(&[story(1)]));
    let receiver = Receiver::start();
    receiver.always(Reply::status(404));
    let ws = Workspace::new();
    pg_config(&schema)
        .feed("wire", &feeds.url("/wire.xml"))
        .rule("ca-aa", "@central_asia AND @abraham_accords", &["hook"])
        .webhook_sink_with(
            "hook",
            &receiver.url("/hook"),
            "client_error_attempts = 1\nclient_error_grace = \"0s\"",
        )
        .write(&ws);
    let once = ws.watchword(&["once"]);
    assert!(once.status.success(), "{}", stderr(&once));
    let dead = ws.watchword(&["alerts", "--dead", "--json"]);
    let listed: serde_json::Value = serde_json::from_str(&stdout(&dead)).expect("json");
    let id = listed["deliveries"][0]["alert_id"]
        .as_str()
        .expect("one dead letter")
        .to_string();

    receiver.always(Reply::status(200));
    let redeliver = ws.watchword(&["redeliver", &id]);
    assert!(redeliver.status.success(), "{}", stderr(&redeliver));
    let once = ws.watchword(&["once"]);
    assert!(once.status.success(), "{}", stderr(&once));
    let accepted = receiver.accepted();
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0].id(), id, "re-queued under its own id");

    let prune = ws.watchword(&["prune", "--json"]);
    assert!(prune.status.success(), "{}", stderr(&prune));
    let pruned: serde_json::Value = serde_json::from_str(&stdout(&prune)).expect("json");
    assert_eq!(
        pruned["pruned"]["alerts"], 0,
        "nothing is old enough: {pruned}"
    );
    assert!(
        pruned["database"]
            .as_str()
            .is_some_and(|d| d.starts_with("postgres://"))
    );
}

#[test]
fn retention_runs_on_one_replica_at_a_time() {
    use watchword::model::{Database, PostgresUrl};
    use watchword::store::Store;
    let _serial = one_at_a_time();
    let Some(schema) = PgSchema::create(test_name!()) else {
        return;
    };
    let database = Database::Postgres(PostgresUrl::parse(&schema.url).expect("url"));
    let store = Store::connect(&database).expect("connect");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    // Another replica pruning: it holds the retention lock (0x7777_0003) in its session.
    let (other, connection) = runtime
        .block_on(tokio_postgres::connect(&schema.url, tokio_postgres::NoTls))
        .expect("connect");
    runtime.spawn(connection);
    runtime
        .block_on(other.batch_execute("SELECT pg_advisory_lock(2004287491)"))
        .expect("lock");
    assert_eq!(
        store.prune(1_000_000, 3600, 0, 0).expect("prune"),
        None,
        "skipped while another replica prunes"
    );
    runtime
        .block_on(other.batch_execute("SELECT pg_advisory_unlock(2004287491)"))
        .expect("unlock");
    assert!(store.prune(1_000_000, 3600, 0, 0).expect("prune").is_some());
}

#[test]
fn the_dashboard_reads_postgres_too() {
    let _serial = one_at_a_time();
    let Some(schema) = PgSchema::create(test_name!()) else {
        return;
    };
    let feeds = FeedServer::start();
    feeds.put_rss("/wire.xml", &feed_of(&[story(7)]));
    let receiver = Receiver::start();
    let port = free_port();
    let ws = Workspace::new();
    TomlConfig::new()
        .database(&schema.url)
        .daemon(&format!(
            "poll_interval = \"1h\"\nmetrics_listen = \"127.0.0.1:{port}\""
        ))
        .shared_groups()
        .feed("wire", &feeds.url("/wire.xml"))
        .rule("ca-aa", "@central_asia AND @abraham_accords", &["hook"])
        .webhook_sink("hook", &receiver.hook_url())
        .write(&ws);
    let daemon = Daemon::start(&ws, &[]);
    assert!(
        wait_for(Duration::from_secs(60), || receiver.accepted().len() == 1),
        "{}",
        daemon.log()
    );
    let id = receiver.accepted()[0].id();
    let page = |path: &str| {
        http_get(port, path, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("no answer for {path}"))
    };
    for path in ["/", "/alerts", "/feeds"] {
        let (status, body) = page(path);
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (status, body) = page("/alerts");
    assert!(body.contains(&id), "the alert is listed: {body}");
    let (status_one, story) = page(&format!("/alerts/{id}"));
    assert_eq!((status, status_one), (200, 200), "{story}");
    assert!(
        story.contains("delivered"),
        "its delivery and attempt: {story}"
    );
    let (status, workbench) = page("/workbench?q=Kazakhstan");
    assert_eq!(status, 200, "{workbench}");
    assert!(
        workbench.contains("<mark"),
        "the stored text matched: {workbench}"
    );
    daemon.stop();
}
