//! Running as a systemd service, tested without systemd: a unix datagram socket stands in for
//! NOTIFY_SOCKET, signals come from `kill`, and /metrics is scraped over loopback. Everything
//! runs the real binary against local feed servers, receivers and SQLite files.

mod common;

use std::collections::HashMap;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::*;

const WAIT: Duration = Duration::from_secs(60);

/// A stand-in for systemd's notification socket: records every datagram it receives.
struct NotifySocket {
    path: PathBuf,
    messages: Arc<Mutex<Vec<String>>>,
}

impl NotifySocket {
    fn bind(dir: &Path) -> NotifySocket {
        let path = dir.join("notify.sock");
        let socket = UnixDatagram::bind(&path).expect("bind notify socket");
        let messages: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = Arc::clone(&messages);
        thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            while let Ok(n) = socket.recv(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                sink.lock().expect("messages").push(text);
            }
        });
        NotifySocket { path, messages }
    }

    fn all(&self) -> Vec<String> {
        self.messages.lock().expect("messages").clone()
    }

    /// How many datagrams so far carry `line` as one of their lines.
    fn count(&self, line: &str) -> usize {
        self.all()
            .iter()
            .filter(|m| m.lines().any(|l| l == line))
            .count()
    }

    fn wait_count(&self, line: &str, at_least: usize) -> bool {
        wait_for(WAIT, || self.count(line) >= at_least)
    }
}

/// Parses `/metrics` with prometheus-parse after checking that every line is a comment or a
/// sample (the parser skips what it does not understand), and sums samples by name + labels.
fn scrape(port: u16) -> HashMap<String, f64> {
    let (status, body) = http_get(port, "/metrics", Duration::from_secs(30)).expect("GET /metrics");
    assert_eq!(status, 200, "{body}");
    for line in body.lines().filter(|l| !l.trim().is_empty()) {
        match prometheus_parse::LineInfo::parse(line) {
            prometheus_parse::LineInfo::Sample { .. }
            | prometheus_parse::LineInfo::Doc { .. }
            | prometheus_parse::LineInfo::Type { .. } => {}
            _ if line.starts_with('#') => {}
            other => panic!("not Prometheus text: {line:?} ({other:?})\n{body}"),
        }
    }
    let scrape = prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_string())))
        .expect("parse /metrics");
    let mut values = HashMap::new();
    for sample in scrape.samples {
        let mut labels: Vec<String> = sample
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        labels.sort();
        let value = match sample.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            prometheus_parse::Value::Histogram(buckets) => {
                buckets.last().map(|b| b.count).unwrap_or(0.0)
            }
            prometheus_parse::Value::Summary(_) => continue,
        };
        let key = if labels.is_empty() {
            sample.metric
        } else {
            format!("{}{{{}}}", sample.metric, labels.join(","))
        };
        *values.entry(key).or_insert(0.0) += value;
    }
    values
}

/// The sum of every series of `metric` whose labels include all of `labels`.
fn sum(values: &HashMap<String, f64>, metric: &str, labels: &[&str]) -> f64 {
    values
        .iter()
        .filter(|(k, _)| {
            (k.as_str() == metric || k.starts_with(&format!("{metric}{{")))
                && labels.iter().all(|l| k.contains(l))
        })
        .map(|(_, v)| v)
        .sum()
}

const KAZAKH: &str = "Kazakhstan will join the Abraham Accords";
const UZBEK: &str = "Uzbekistan weighs the Abraham Accords";

struct Setup<'a> {
    feeds: &'a [(&'a str, String)],
    rules: &'a [(&'a str, &'a str)],
    hook: &'a str,
    daemon: &'a str,
}

/// The daemon polls every 10 s; every rule alerts the one webhook sink "hook".
fn config(ws: &Workspace, s: &Setup<'_>) -> TomlConfig {
    let config = TomlConfig::for_workspace(ws)
        .daemon("poll_interval = \"10s\"")
        .daemon(s.daemon)
        .shared_groups()
        .webhook_sink("hook", s.hook);
    let config = s
        .feeds
        .iter()
        .fold(config, |config, (name, url)| config.feed(name, url));
    s.rules.iter().fold(config, |config, (name, query)| {
        config.rule(name, query, &["hook"])
    })
}

const ACCORDS_RULE: (&str, &str) = ("central-asia-accords", "@central_asia AND @abraham_accords");

/// (rule, item id) of every alert the receiver accepted.
fn accepted_alerts(receiver: &Receiver) -> Vec<(String, String)> {
    receiver
        .accepted()
        .iter()
        .map(|r| {
            let json = r.json();
            (
                json["rule"].as_str().unwrap_or_default().to_string(),
                json["item"]["id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[test]
fn ready_after_start_up_then_status_and_watchdog_pings() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    feeds.put_rss("/wire.xml", &rss(&[wire_entry("k-1", KAZAKH)]));
    let ws = Workspace::new();
    config(
        &ws,
        &Setup {
            feeds: &[("wire", feeds.url("/wire.xml"))],
            rules: &[ACCORDS_RULE],
            hook: &receiver.hook_url(),
            daemon: "metrics_listen = \"off\"",
        },
    )
    .write(&ws);
    let notify = NotifySocket::bind(ws.dir.path());
    let socket = notify.path.to_string_lossy().into_owned();
    let daemon = Daemon::start(
        &ws,
        &[("NOTIFY_SOCKET", &socket), ("WATCHDOG_USEC", "1000000")],
    );

    assert!(
        notify.wait_count("READY=1", 1),
        "no READY=1:\n{}",
        daemon.log()
    );
    let ready = notify
        .all()
        .into_iter()
        .find(|m| m.lines().any(|l| l == "READY=1"))
        .expect("READY message");
    assert!(
        ready.contains("STATUS=watching 1 feed, 1 rule"),
        "READY carries no useful STATUS: {ready:?}"
    );
    // The database was opened and migrated before READY: the file exists.
    assert!(ws.database().exists());
    // WatchdogSec=1s: pings every half second while the scheduler ticks.
    assert!(
        notify.wait_count("WATCHDOG=1", 4),
        "too few watchdog pings: {:?}\n{}",
        notify.all(),
        daemon.log()
    );
    assert!(wait_for(WAIT, || receiver.accepted().len() == 1));
    let log = daemon.stop();
    assert!(notify.count("STOPPING=1") >= 1, "{:?}", notify.all());
    assert!(log.contains("ready: watching 1 feed, 1 rule"), "{log}");
}

#[test]
fn sighup_applies_a_new_feed_and_rule_and_refuses_a_broken_config() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    feeds.put_rss("/wire.xml", &rss(&[wire_entry("k-1", KAZAKH)]));
    feeds.put_rss(
        "/volcano.xml",
        &rss(&[wire_entry("v-1", "Volcano erupts near Reykjavik airport")]),
    );
    let ws = Workspace::new();
    let wire = ("wire", feeds.url("/wire.xml"));
    let volcano = ("volcano-watch", feeds.url("/volcano.xml"));
    let volcano_rule = ("volcanoes", "volcano* AND (erupt* OR ash)");
    config(
        &ws,
        &Setup {
            feeds: std::slice::from_ref(&wire),
            rules: &[ACCORDS_RULE],
            hook: &receiver.hook_url(),
            daemon: "metrics_listen = \"off\"",
        },
    )
    .write(&ws);
    let notify = NotifySocket::bind(ws.dir.path());
    let socket = notify.path.to_string_lossy().into_owned();
    let daemon = Daemon::start(&ws, &[("NOTIFY_SOCKET", &socket)]);
    assert!(notify.wait_count("READY=1", 1), "{}", daemon.log());
    assert!(
        wait_for(WAIT, || receiver.accepted().len() == 1),
        "{}",
        daemon.log()
    );

    // A new feed and a new rule, applied without a restart.
    config(
        &ws,
        &Setup {
            feeds: &[wire.clone(), volcano.clone()],
            rules: &[ACCORDS_RULE, volcano_rule],
            hook: &receiver.hook_url(),
            daemon: "metrics_listen = \"off\"",
        },
    )
    .write(&ws);
    daemon.signal("HUP");
    assert!(
        wait_for(WAIT, || accepted_alerts(&receiver)
            .contains(&("volcanoes".into(), "v-1".into()))),
        "the new rule did not alert on the new feed: {:?}\n{}",
        accepted_alerts(&receiver),
        daemon.log()
    );
    assert!(notify.wait_count("READY=1", 2), "{:?}", notify.all());
    let reloading = notify
        .all()
        .into_iter()
        .find(|m| m.lines().any(|l| l == "RELOADING=1"))
        .expect("RELOADING=1 before the reload");
    let usec = reloading
        .lines()
        .find_map(|l| l.strip_prefix("MONOTONIC_USEC="))
        .expect("MONOTONIC_USEC with RELOADING=1");
    assert!(usec.parse::<u64>().is_ok_and(|u| u > 0), "{reloading:?}");

    // A broken config: refused with its location, and the old one keeps working.
    let broken = config(
        &ws,
        &Setup {
            feeds: &[wire, volcano],
            rules: &[ACCORDS_RULE, volcano_rule, ("broken", "volcano AND (ash")],
            hook: &receiver.hook_url(),
            daemon: "metrics_listen = \"off\"",
        },
    )
    .build();
    ws.write_config(&broken);
    let broken_line = broken
        .lines()
        .position(|l| l.contains("(ash"))
        .expect("broken line")
        + 1;
    // The `)` is missing at the end of the query: one column past its last character.
    let query = "volcano AND (ash";
    let broken_column = broken
        .lines()
        .nth(broken_line - 1)
        .and_then(|l| l.find(query))
        .expect("query")
        + query.len()
        + 1;
    daemon.signal("HUP");
    let location = format!(
        "{}:{broken_line}:{broken_column}: ",
        ws.config_path().display()
    );
    assert!(
        wait_for(WAIT, || daemon.log().contains(&location)),
        "the reload error does not name {location}:\n{}",
        daemon.log()
    );
    assert!(daemon.log().contains("still running the previous config"));
    assert_eq!(
        notify.count("RELOADING=1"),
        1,
        "a refused reload is not a reload"
    );
    feeds.put_rss(
        "/volcano.xml",
        &rss(&[
            wire_entry("v-1", "Volcano erupts near Reykjavik airport"),
            wire_entry("v-2", "Ash from the volcano closes Keflavik"),
        ]),
    );
    assert!(
        wait_for(WAIT, || accepted_alerts(&receiver)
            .contains(&("volcanoes".into(), "v-2".into()))),
        "the previous config stopped working after a refused reload:\n{}",
        daemon.log()
    );
    daemon.stop();
    let mut alerts = accepted_alerts(&receiver);
    let total = alerts.len();
    alerts.sort();
    alerts.dedup();
    assert_eq!(total, alerts.len(), "an alert was sent twice: {alerts:?}");
    assert_eq!(alerts.len(), 3, "{alerts:?}");
}

/// A reload is refused, and the running config kept, for every way a file can be broken: a
/// TOML syntax error, a secret that is not set, a file that cannot be read.
#[test]
fn sighup_refuses_a_syntax_error_a_missing_secret_and_an_unreadable_file() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    feeds.put_rss("/wire.xml", &rss(&[wire_entry("k-1", KAZAKH)]));
    let ws = Workspace::new();
    let setup = Setup {
        feeds: &[("wire", feeds.url("/wire.xml"))],
        rules: &[ACCORDS_RULE],
        hook: &receiver.hook_url(),
        daemon: "metrics_listen = \"off\"\npoll_interval = \"10s\"",
    };
    let good = config(&ws, &setup).build();
    ws.write_config(&good);
    let daemon = Daemon::start(&ws, &[]);
    assert!(
        wait_for(WAIT, || receiver.accepted().len() == 1),
        "{}",
        daemon.log()
    );
    let path = ws.config_path();
    let refusals = |log: &str| log.matches("still running the previous config").count();
    let broken: [(&str, String, &str); 3] = [
        (
            "a TOML syntax error",
            good.replacen("name = \"wire\"", "name = \"wire", 1),
            "invalid basic string",
        ),
        (
            "a missing secret",
            good.replace(&receiver.hook_url(), "${WATCHWORD_TEST_UNSET_HOOK}"),
            "WATCHWORD_TEST_UNSET_HOOK",
        ),
        ("an unreadable file", String::new(), "cannot read"),
    ];
    for (n, (what, text, said)) in broken.iter().enumerate() {
        if text.is_empty() {
            std::fs::remove_file(&path).expect("remove the config");
            std::fs::create_dir(&path).expect("a directory where the file was");
        } else {
            ws.write_config(text);
        }
        daemon.signal("HUP");
        assert!(
            wait_for(WAIT, || refusals(&daemon.log()) == n + 1),
            "{what}: the reload was not refused:\n{}",
            daemon.log()
        );
        assert!(daemon.log().contains(said), "{what}: {}", daemon.log());
        if text.is_empty() {
            std::fs::remove_dir(&path).expect("remove the directory");
        }
    }
    // The previous config still runs: a new matching item on the same feed alerts.
    ws.write_config(&good);
    feeds.put_rss(
        "/wire.xml",
        &rss(&[
            wire_entry("k-1", KAZAKH),
            wire_entry("k-2", "Uzbekistan eyes the Abraham Accords next"),
        ]),
    );
    assert!(
        wait_for(Duration::from_secs(30), || receiver.accepted().len() == 2),
        "the running config stopped after refused reloads:\n{}",
        daemon.log()
    );
    daemon.stop();
}

#[test]
fn sigterm_mid_pass_exits_within_the_grace_period_and_loses_nothing() {
    let fast = FeedServer::start();
    let slow = FeedServer::start();
    let receiver = Receiver::start();
    fast.put_rss("/wire.xml", &rss(&[wire_entry("k-1", KAZAKH)]));
    slow.put_slow_rss(
        "/slow.xml",
        &rss(&[wire_entry("u-1", UZBEK)]),
        Duration::from_secs(40),
    );
    let ws = Workspace::new();
    let daemon_keys = "metrics_listen = \"off\"\nshutdown_grace = \"1s\"\nfetch_timeout = \"2m\"";
    config(
        &ws,
        &Setup {
            feeds: &[
                ("wire", fast.url("/wire.xml")),
                ("slow", slow.url("/slow.xml")),
            ],
            rules: &[ACCORDS_RULE],
            hook: &receiver.hook_url(),
            daemon: daemon_keys,
        },
    )
    .write(&ws);
    let mut daemon = Daemon::start(&ws, &[]);
    assert!(
        wait_for(WAIT, || receiver.accepted().len() == 1),
        "{}",
        daemon.log()
    );
    assert!(wait_for(WAIT, || slow.hits("/slow.xml") == 1));

    // The slow fetch has 40 s to go; the grace period is 1 s.
    let signalled = Instant::now();
    daemon.signal("TERM");
    let status = daemon.wait_exit();
    let took = signalled.elapsed();
    let log = daemon.log();
    assert!(status.success(), "exit {status:?}:\n{log}");
    assert!(
        took < Duration::from_secs(20),
        "took {took:?} to stop, the fetch in flight was not abandoned:\n{log}"
    );
    assert!(log.contains("grace period (1s) is over"), "{log}");
    drop(daemon);

    // The abandoned poll recorded nothing, so a later pass sees its item as new and alerts
    // once; the alert already delivered is not sent again.
    let healed = FeedServer::start();
    healed.put_rss("/slow.xml", &rss(&[wire_entry("u-1", UZBEK)]));
    config(
        &ws,
        &Setup {
            feeds: &[
                ("wire", fast.url("/wire.xml")),
                ("slow", healed.url("/slow.xml")),
            ],
            rules: &[ACCORDS_RULE],
            hook: &receiver.hook_url(),
            daemon: daemon_keys,
        },
    )
    .write(&ws);
    let once = ws.watchword(&["once"]);
    assert!(once.status.success(), "{}", stderr(&once));
    let mut alerts = accepted_alerts(&receiver);
    alerts.sort();
    assert_eq!(
        alerts,
        vec![
            ("central-asia-accords".to_string(), "k-1".to_string()),
            ("central-asia-accords".to_string(), "u-1".to_string()),
        ]
    );
}

#[test]
fn metrics_health_and_status_follow_the_passes() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    feeds.put_rss("/wire.xml", &rss(&[wire_entry("k-1", KAZAKH)]));
    let ws = Workspace::new();
    let port = free_port();
    config(
        &ws,
        &Setup {
            feeds: &[
                ("wire", feeds.url("/wire.xml")),
                ("gone", feeds.url("/gone.xml")),
            ],
            rules: &[ACCORDS_RULE],
            hook: &receiver.hook_url(),
            daemon: &format!("metrics_listen = \"127.0.0.1:{port}\""),
        },
    )
    .write(&ws);
    let daemon = Daemon::start(&ws, &[]);
    assert!(
        wait_for(WAIT, || http_get(port, "/readyz", Duration::from_secs(30))
            .is_some_and(|(s, _)| s == 200)),
        "/readyz never became ready:\n{}",
        daemon.log()
    );
    assert_eq!(
        http_get(port, "/healthz", Duration::from_secs(30)).map(|r| r.0),
        Some(200)
    );
    assert_eq!(
        http_get(port, "/nope", Duration::from_secs(30)).map(|r| r.0),
        Some(404)
    );
    assert!(
        wait_for(WAIT, || receiver.accepted().len() == 1),
        "{}",
        daemon.log()
    );
    let delivered = |m: &HashMap<String, f64>| sum(m, "watchword_alerts", &["state=delivered"]);
    assert!(wait_for(WAIT, || delivered(&scrape(port)) == 1.0));
    let before = scrape(port);
    assert!(
        sum(
            &before,
            "watchword_feed_fetches_total",
            &["outcome=ok", "status=2xx"]
        ) >= 1.0
    );
    assert!(
        sum(
            &before,
            "watchword_feed_fetches_total",
            &["outcome=http_error", "status=404"]
        ) >= 1.0,
        "{before:?}"
    );
    assert_eq!(sum(&before, "watchword_feeds_failing", &[]), 1.0);
    assert_eq!(sum(&before, "watchword_alerts", &["state=pending"]), 0.0);
    assert_eq!(
        sum(
            &before,
            "watchword_rule_matches_total",
            &["rule=central-asia-accords"]
        ),
        1.0
    );
    assert_eq!(
        sum(
            &before,
            "watchword_delivery_attempts_total",
            &["sink=hook", "outcome=delivered"]
        ),
        1.0
    );
    assert_eq!(
        sum(&before, "watchword_delivery_latency_seconds_count", &[]),
        1.0
    );
    assert!(sum(&before, "watchword_feed_fetch_duration_seconds_count", &[]) >= 2.0);
    assert!(sum(&before, "watchword_last_poll_timestamp_seconds", &[]) > 1.0e9);
    assert_eq!(sum(&before, "watchword_feeds", &[]), 2.0);

    // `status` reads the same facts while the daemon runs, without its writer lock.
    let status = ws.watchword(&["status"]);
    let text = stdout(&status);
    assert!(status.status.success(), "{}", stderr(&status));
    assert!(text.contains("1 ok, 1 failing"), "{text}");
    assert!(text.contains("0 pending, 1 delivered, 0 dead"), "{text}");
    assert!(text.contains("gone") && text.contains("HTTP 404"), "{text}");

    // A second pass with a new matching item moves the counters.
    feeds.put_rss(
        "/wire.xml",
        &rss(&[wire_entry("k-1", KAZAKH), wire_entry("u-1", UZBEK)]),
    );
    assert!(
        wait_for(WAIT, || receiver.accepted().len() == 2),
        "{}",
        daemon.log()
    );
    assert!(wait_for(WAIT, || delivered(&scrape(port)) == 2.0));
    let after = scrape(port);
    for (metric, labels) in [
        ("watchword_feed_fetches_total", &["outcome=ok"][..]),
        ("watchword_items_new_total", &[][..]),
        (
            "watchword_rule_matches_total",
            &["rule=central-asia-accords"][..],
        ),
        (
            "watchword_delivery_attempts_total",
            &["outcome=delivered"][..],
        ),
        ("watchword_feed_fetch_duration_seconds_count", &[][..]),
    ] {
        assert!(
            sum(&after, metric, labels) > sum(&before, metric, labels),
            "{metric} did not move: {} -> {}",
            sum(&before, metric, labels),
            sum(&after, metric, labels)
        );
    }
    daemon.stop();
}

#[test]
fn webhook_urls_can_come_from_systemd_credentials() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    feeds.put_rss("/wire.xml", &rss(&[wire_entry("k-1", KAZAKH)]));
    let ws = Workspace::new();
    let creds = ws.dir.path().join("credentials");
    std::fs::create_dir(&creds).expect("mkdir");
    std::fs::write(creds.join("hook-url"), format!("{}\n", receiver.hook_url())).expect("write");
    config(
        &ws,
        &Setup {
            feeds: &[("wire", feeds.url("/wire.xml"))],
            rules: &[ACCORDS_RULE],
            hook: "${credential:hook-url}",
            daemon: "",
        },
    )
    .write(&ws);
    let missing = ws.watchword(&["check"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("LoadCredential=hook-url"),
        "{}",
        stderr(&missing)
    );

    let once = watchword_command(&ws.config_path())
        .env("CREDENTIALS_DIRECTORY", &creds)
        .args(["--log-format", "json", "once"])
        .output()
        .expect("run once");
    let log = stderr(&once);
    assert!(once.status.success(), "{log}");
    assert_eq!(receiver.accepted().len(), 1);
    // --log-format json: one JSON object per line, and the secret path is not in it.
    for line in log.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        assert!(value["fields"].is_object(), "{line}");
    }
    assert!(!log.contains("secret-token"), "{log}");
}

#[test]
fn service_keys_are_checked_with_their_location() {
    let ws = Workspace::new();
    // The daemon keys go on lines 2 and 3, right under `[daemon]`.
    let config = |daemon: &str| {
        TomlConfig::new()
            .daemon(daemon)
            .feed("a", "https://a.example.org/rss")
            .rule("r", "x", &["out"])
            .stdout_sink("out")
    };
    config("metrics_listen = \"localhost\"\nshutdown_grace = \"0s\"").write(&ws);
    let out = ws.watchword(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    let path = ws.config_path().display().to_string();
    assert!(
        err.contains(&format!(
            "{path}:2:18: metrics_listen \"localhost\" is not an IP:PORT"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{path}:3:18: shutdown_grace must be longer than 0s"
        )),
        "{err}"
    );
    config("metrics_listen = \"off\"").write(&ws);
    assert!(ws.watchword(&["check"]).status.success());
}

#[test]
fn logs_go_to_the_journal_only_when_stderr_is_the_journal_stream() {
    use std::os::unix::fs::MetadataExt;
    let ws = Workspace::new();
    TomlConfig::new()
        .feed("a", "file://missing.xml")
        .rule("r", "x", &["out"])
        .stdout_sink("out")
        .write(&ws);
    let run_with_stream = |matching: bool| {
        let log_path = ws.dir.path().join(format!("stderr-{matching}.log"));
        let file = std::fs::File::create(&log_path).expect("log file");
        let meta = file.metadata().expect("stat");
        let stream = if matching {
            format!("{}:{}", meta.dev(), meta.ino())
        } else {
            format!("{}:{}", meta.dev(), meta.ino() + 1)
        };
        let status = watchword_command(&ws.config_path())
            .arg("once")
            .env("JOURNAL_STREAM", stream)
            .stdout(Stdio::null())
            .stderr(file)
            .status()
            .expect("run once");
        assert!(status.success());
        std::fs::read_to_string(&log_path).expect("read log")
    };
    // systemd's stream: the journal is chosen. Where no journald runs (CI, containers), the
    // test listens on journald's socket path itself, so the journal branch is checked
    // everywhere; where a journald runs, its socket is left alone and only stderr is checked.
    let journald = JournalSocket::bind();
    let journal = run_with_stream(true);
    let plain = run_with_stream(false);
    assert!(
        !journal.contains("feed \"a\" failed"),
        "went to stderr: {journal}"
    );
    match &journald {
        Some(socket) => {
            let datagrams = socket.received();
            // journald's native protocol: `KEY=value` or, length-prefixed, `KEY\n<len>value`.
            let entry = datagrams
                .iter()
                .find(|d| d.contains("feed \"a\" failed"))
                .unwrap_or_else(|| panic!("nothing reached the journal socket: {datagrams:?}"));
            assert!(entry.contains("MESSAGE"), "{entry:?}");
            assert!(
                entry.contains("FEED=a\n") || entry.contains("\nFEED\n"),
                "the journal entry carries the FEED field: {entry:?}"
            );
        }
        None => assert!(
            Path::new("/run/systemd/journal/socket").exists(),
            "neither a journald nor a socket of the test's own"
        ),
    }
    assert!(!plain.contains("journal"), "{plain}");
    assert!(plain.contains("feed \"a\" failed"), "{plain}");
}

/// journald's socket, bound by the test where no journald runs, and removed afterwards.
struct JournalSocket {
    socket: std::os::unix::net::UnixDatagram,
    created_dir: bool,
}

impl JournalSocket {
    const PATH: &'static str = "/run/systemd/journal/socket";

    /// `None` where a journald already listens (or the path cannot be made ours).
    fn bind() -> Option<JournalSocket> {
        let path = Path::new(Self::PATH);
        if path.exists() {
            return None;
        }
        let dir = path.parent()?;
        let created_dir = !dir.exists();
        std::fs::create_dir_all(dir).ok()?;
        let socket = std::os::unix::net::UnixDatagram::bind(path).ok()?;
        socket.set_nonblocking(true).ok()?;
        Some(JournalSocket {
            socket,
            created_dir,
        })
    }

    fn received(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = self.socket.recv(&mut buf) {
            out.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        out
    }
}

impl Drop for JournalSocket {
    fn drop(&mut self) {
        let path = Path::new(Self::PATH);
        let _ = std::fs::remove_file(path);
        if self.created_dir {
            let _ = path.parent().map(std::fs::remove_dir);
        }
    }
}
