//! Hostile input from feeds and configs, through the real binary: feed text never reaches the
//! operator's terminal as control sequences, and config values that cannot mean what they say
//! are refused with their place in the file.

mod common;

use common::{FeedServer, Receiver, TomlConfig, Workspace, stderr, stdout};

/// A JSON Feed item whose title and link carry terminal control sequences: OSC 0 (retitle the
/// window, ended by BEL), CSI 2J (clear the screen) and a C1 CSI.
fn hostile_feed() -> String {
    let published = common::minutes_ago(5).to_rfc3339();
    serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "wire",
        "items": [{
            "id": "esc-1",
            "url": "https://news.example.org/kz?\u{1b}[2J",
            "title": "Kazakhstan joins the Abraham Accords\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31m",
            "content_text": "Astana signs.",
            "date_published": published,
        }]
    })
    .to_string()
}

fn has_control(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && c != '\n')
}

#[test]
fn feed_text_reaches_the_terminal_without_control_characters() {
    let ws = Workspace::new();
    let feeds = FeedServer::start();
    feeds.put_json("/wire.json", &hostile_feed());
    let receiver = Receiver::start();
    TomlConfig::for_workspace(&ws)
        .feed("wire", &feeds.url("/wire.json"))
        .rule("accords", "\"Abraham Accords\"", &["hook"])
        .webhook_sink("hook", &receiver.hook_url())
        .write(&ws);

    // `test` prints the match with its title and link.
    let out = ws.watchword(&["test", "--rule", "accords", &feeds.url("/wire.json")]);
    let printed = stdout(&out);
    assert!(printed.contains("MATCH"), "{printed}\n{}", stderr(&out));
    assert!(
        printed.contains("Kazakhstan joins the Abraham Accords"),
        "{printed}"
    );
    assert!(
        !has_control(&printed),
        "test printed control characters: {printed:?}"
    );

    // The alert is raised and delivered; the JSON payload keeps the text as the feed gave it.
    let once = ws.watchword(&["once"]);
    assert!(once.status.success(), "{}", stderr(&once));
    assert_eq!(receiver.accepted().len(), 1);
    assert!(
        receiver.accepted()[0].json()["item"]["title"]
            .as_str()
            .is_some_and(|t| t.contains('\u{1b}'))
    );

    // `alerts` lists it in a table, without the sequences.
    let alerts = ws.watchword(&["alerts"]);
    let table = stdout(&alerts);
    assert!(
        table.contains("Kazakhstan joins the Abraham Accords"),
        "{table}"
    );
    assert!(
        !has_control(&table),
        "alerts printed control characters: {table:?}"
    );
    // JSON output escapes them as JSON does (C0 controls; JSON leaves C1 as it is).
    let json = stdout(&ws.watchword(&["alerts", "--json"]));
    assert!(
        !json.chars().any(|c| c.is_ascii_control() && c != '\n'),
        "{json:?}"
    );
    assert!(json.contains("\\u001b"), "{json}");
}

#[test]
fn a_database_url_of_an_unknown_kind_is_refused_with_its_place_and_without_its_password() {
    let ws = Workspace::new();
    let config = TomlConfig::new()
        .daemon("database = \"mysql://watch:s3cret-pw@db.example.org/watchword\"")
        .feed("wire", "https://news.example.org/rss")
        .rule("accords", "\"Abraham Accords\"", &["out"])
        .stdout_sink("out")
        .write(&ws);
    let out = ws.watchword(&["check"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let place = format!(
        "{}:2:12: database: mysql:// is not a database",
        config.display()
    );
    assert!(err.contains(&place), "{err}");
    assert!(!err.contains("s3cret-pw"), "the password leaked: {err}");
    // Nothing was created at a path made of the URL.
    assert!(!ws.config_path().with_file_name("mysql:").exists());
}

#[test]
fn names_with_control_characters_are_refused_with_their_place() {
    let ws = Workspace::new();
    let config = TomlConfig::new()
        .raw(
            "[[feed]]\nname = \"wire\\nINFO forged line\"\nurl = \"https://news.example.org/rss\"\n\n\
             [[rule]]\nname = \"acc\\u001b[2Jords\"\nquery = \"Accords\"\nnotify = [\"out\"]\n\n\
             [[sink]]\nname = \"out\"\nkind = \"stdout\"\n",
        )
        .write(&ws);
    let out = ws.watchword(&["check"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let path = config.display();
    assert!(
        err.contains(&format!(
            "{path}:2:8: feed name \"wire\\nINFO forged line\" contains a control character"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{path}:6:8: rule name \"acc\\u{{1b}}[2Jords\" contains a control character"
        )),
        "{err}"
    );
    assert!(!has_control(&err), "{err:?}");
}

#[test]
fn script_and_data_links_never_reach_a_json_receiver() {
    let ws = Workspace::new();
    let feeds = FeedServer::start();
    let feed = common::json_feed(&[
        (
            "js",
            "javascript:alert(document.cookie)",
            "Abraham Accords: Kazakhstan signs",
        ),
        (
            "data",
            "data:text/html,<script>alert(1)</script>",
            "Abraham Accords: Uzbekistan next?",
        ),
        (
            "web",
            "https://news.example.org/kz",
            "Abraham Accords: what Astana gains",
        ),
    ]);
    feeds.put_json("/wire.json", &feed);
    let receiver = Receiver::start();
    TomlConfig::for_workspace(&ws)
        .feed("wire", &feeds.url("/wire.json"))
        .rule("accords", "\"Abraham Accords\"", &["hook"])
        .webhook_sink("hook", &receiver.hook_url())
        .write(&ws);
    let once = ws.watchword(&["once"]);
    assert!(once.status.success(), "{}", stderr(&once));
    let mut links: Vec<(String, serde_json::Value)> = receiver
        .accepted()
        .iter()
        .map(|hit| {
            let payload = hit.json();
            (
                payload["item"]["id"].as_str().unwrap_or("").to_string(),
                payload["item"]["link"].clone(),
            )
        })
        .collect();
    links.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        links,
        [
            ("data".to_string(), serde_json::Value::Null),
            ("js".to_string(), serde_json::Value::Null),
            (
                "web".to_string(),
                serde_json::json!("https://news.example.org/kz")
            ),
        ]
    );
}

#[test]
fn a_day_long_retry_after_holds_a_delivery_an_hour_not_a_day() {
    let ws = Workspace::new();
    let feeds = FeedServer::start();
    let feed = common::json_feed(&[common::KAZAKHSTAN_JOINS]);
    feeds.put_json("/wire.json", &feed);
    let receiver = Receiver::start();
    receiver.always(common::Reply::status(503).header("Retry-After", "86400"));
    TomlConfig::for_workspace(&ws)
        .feed("wire", &feeds.url("/wire.json"))
        .rule("accords", "\"Abraham Accords\"", &["hook"])
        .webhook_sink_with("hook", &receiver.hook_url(), "give_up_after = \"6h\"")
        .write(&ws);
    let once = ws.watchword(&["once"]);
    assert!(once.status.success(), "{}", stderr(&once));
    assert_eq!(receiver.all().len(), 1, "one attempt");
    let listed: serde_json::Value =
        serde_json::from_str(&stdout(&ws.watchword(&["alerts", "--json"]))).expect("json");
    let delivery = &listed["deliveries"][0];
    // Still owed (a day-long hint past give_up_after made it dead before), due within the hour.
    assert_eq!(delivery["state"], "pending", "{delivery}");
    let wait = unix(&delivery["next_attempt_at"]) - unix(&delivery["last_attempt_at"]);
    // The attempt and its record may fall either side of a second.
    assert!(
        (3000..=3602).contains(&wait),
        "next attempt in {wait}s: {delivery}"
    );
    let error = delivery["last_error"].as_str().unwrap_or("");
    assert!(error.contains("asked to wait 1day"), "{error}");
}

#[test]
fn intervals_below_the_floor_are_reported_with_the_value_in_force() {
    let ws = Workspace::new();
    let feeds = FeedServer::start();
    feeds.put_json("/wire.json", &common::json_feed(&[]));
    let config = TomlConfig::for_workspace(&ws)
        .daemon("poll_interval = \"1s\"\nmin_interval = \"30s\"")
        .feed_with("wire", &feeds.url("/wire.json"), "interval = \"5s\"")
        .rule("accords", "\"Abraham Accords\"", &["out"])
        .stdout_sink("out")
        .write(&ws);
    let path = config.display();
    let check = ws.watchword(&["check"]);
    let out = stdout(&check);
    assert!(check.status.success(), "{}", stderr(&check));
    assert!(
        out.contains(&format!("warning: {path}:2:17: poll_interval 1s is below min_interval; feeds are polled every 30s")),
        "{out}"
    );
    assert!(
        out.contains("feed \"wire\": interval 5s is below min_interval; it is polled every 30s"),
        "{out}"
    );
    // A retry delay below a second is a second, and `check` says so.
    TomlConfig::for_workspace(&ws)
        .feed("wire", &feeds.url("/wire.json"))
        .rule("accords", "\"Abraham Accords\"", &["hook"])
        .webhook_sink_with(
            "hook",
            "https://hooks.example.org/h",
            "retry_schedule = [\"250ms\", \"5s\"]",
        )
        .write(&ws);
    let check = ws.watchword(&["check"]);
    assert!(check.status.success(), "{}", stderr(&check));
    assert!(
        stdout(&check).contains("retry_schedule delay 250ms is below 1s"),
        "{}",
        stdout(&check)
    );
    TomlConfig::for_workspace(&ws)
        .daemon("poll_interval = \"1s\"\nmin_interval = \"30s\"")
        .feed_with("wire", &feeds.url("/wire.json"), "interval = \"5s\"")
        .rule("accords", "\"Abraham Accords\"", &["out"])
        .stdout_sink("out")
        .write(&ws);
    // The daemon says the same at start-up.
    let once = ws.watchword(&["once"]);
    let log = stderr(&once);
    assert!(once.status.success(), "{log}");
    assert!(
        log.contains("poll_interval 1s is below min_interval"),
        "{log}"
    );
}

#[test]
fn a_short_receiver_outage_costs_seconds_not_minutes() {
    let ws = Workspace::new();
    let feeds = FeedServer::start();
    let feed = common::json_feed(&[common::KAZAKHSTAN_JOINS]);
    feeds.put_json("/wire.json", &feed);
    let receiver = Receiver::start();
    receiver.always(common::Reply::status(502));
    TomlConfig::for_workspace(&ws)
        .feed("wire", &feeds.url("/wire.json"))
        .rule("accords", "\"Abraham Accords\"", &["hook"])
        .webhook_sink("hook", &receiver.hook_url())
        .write(&ws);
    let wait_after = |ws: &Workspace| {
        let listed: serde_json::Value =
            serde_json::from_str(&stdout(&ws.watchword(&["alerts", "--json"]))).expect("json");
        let d = &listed["deliveries"][0];
        unix(&d["next_attempt_at"]) - unix(&d["last_attempt_at"])
    };
    // `once` tries everything owed whatever its schedule: two passes are two failed attempts.
    assert!(ws.watchword(&["once"]).status.success());
    let first = wait_after(&ws);
    assert!(ws.watchword(&["once"]).status.success());
    let second = wait_after(&ws);
    assert_eq!(receiver.all().len(), 2);
    // 5 s then 30 s (±10%, and a second either side); it was 5 s then 5 min.
    assert!((3..=7).contains(&first), "first retry after {first}s");
    assert!((26..=34).contains(&second), "second retry after {second}s");
}

/// `kill -9` of `once` at several points of a pass — between fetches, in the middle of a
/// commit, with a digest window open — then a clean pass: every item alerts under exactly one
/// id on each sink, nothing is lost, and the database is intact.
#[test]
fn kill_9_during_once_loses_nothing_and_sends_nothing_under_two_ids() {
    use std::collections::{BTreeMap, BTreeSet};
    use std::time::Duration;

    let ws = Workspace::new();
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    let digests = Receiver::start();
    let mut config = TomlConfig::for_workspace(&ws)
        .daemon("concurrency = 4")
        .rule("accords", "\"Abraham Accords\"", &["now", "daily"])
        .webhook_sink("now", &receiver.hook_url())
        .webhook_sink_with("daily", &digests.hook_url(), "digest = \"1h\"");
    let feeds_count = 40;
    for n in 0..feeds_count {
        let guid = format!("item-{n}");
        // Distinct stories: words of their own, so no two items merge into one story.
        let word = |k: usize| {
            const SYLLABLES: [&str; 12] = [
                "ka", "lo", "mir", "tun", "sev", "dra", "pol", "yen", "gus", "ber", "hox", "qui",
            ];
            let v = n * 7 + k * 131;
            format!(
                "{}{}{}",
                SYLLABLES[v % 12],
                SYLLABLES[(v / 12) % 12],
                SYLLABLES[(v / 144) % 12]
            )
        };
        let title = format!(
            "{} {} signs the Abraham Accords after {} {} talks in {}",
            word(1),
            word(2),
            word(3),
            word(4),
            word(5)
        );
        let link = format!("https://news.example.org/{n}");
        // The server answers one request at a time: 40 × 50 ms spreads the pass over 2 s.
        feeds.put_slow_rss(
            &format!("/f{n}.xml"),
            &common::rss(&[common::Entry {
                guid: &guid,
                title: &title,
                description: &format!("{} {} {}", word(6), word(7), word(8)),
                link: &link,
                published: common::minutes_ago(5),
            }]),
            Duration::from_millis(50),
        );
        config = config.feed(&format!("f{n}"), &feeds.url(&format!("/f{n}.xml")));
    }
    config.write(&ws);
    for kill_after in [600, 1100, 1700] {
        let mut child = common::watchword_command(&ws.config_path())
            .arg("once")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn once");
        std::thread::sleep(Duration::from_millis(kill_after));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
    let last = ws.watchword(&["once"]);
    assert!(last.status.success(), "{}", stderr(&last));

    // Each item under exactly one alert id, on each sink; every item delivered.
    let mut ids_by_item: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for hit in receiver.accepted() {
        let payload = hit.json();
        let item = payload["item"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert_eq!(payload["id"].as_str(), Some(hit.id().as_str()));
        ids_by_item.entry(item).or_default().insert(hit.id());
    }
    assert_eq!(
        ids_by_item.len(),
        feeds_count,
        "every item alerted: {ids_by_item:?}"
    );
    assert!(
        ids_by_item.values().all(|ids| ids.len() == 1),
        "an item alerted under two ids: {ids_by_item:?}"
    );
    let mut digested: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for hit in digests.accepted() {
        let body = hit.json();
        let alerts = match body["type"].as_str() {
            Some("watchword.digest") => body["alerts"].as_array().cloned().unwrap_or_default(),
            _ => vec![body],
        };
        for alert in alerts {
            let item = alert["item"]["id"].as_str().unwrap_or_default().to_string();
            let id = alert["id"].as_str().unwrap_or_default().to_string();
            digested.entry(item).or_default().insert(id);
        }
    }
    assert_eq!(
        digested.len(),
        feeds_count,
        "every item reached the digest sink"
    );
    for (item, ids) in &digested {
        assert_eq!(
            Some(ids),
            ids_by_item.get(item),
            "{item}: the same id on both sinks"
        );
    }
    let db = rusqlite::Connection::open(ws.database()).expect("open");
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("integrity_check");
    assert_eq!(check, "ok");
}

#[test]
fn a_runaway_query_is_refused_at_once_with_its_place() {
    // Terms that are prefixes of one another, pasted until the query is 7 MB: compiling them
    // costs the square of their number; the limit refuses it before any work.
    let word: String = (0..4500)
        .map(|i| (b'a' + (i * 7 % 10) as u8) as char)
        .collect();
    let query: Vec<&str> = (1..=4500).map(|k| &word[..k]).collect();
    let ws = Workspace::new();
    let config = TomlConfig::new()
        .feed("wire", "https://news.example.org/rss")
        .rule("runaway", &query.join(" OR "), &["out"])
        .stdout_sink("out")
        .write(&ws);
    let out = ws.watchword(&["check"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{}", &err[..err.len().min(500)]);
    assert!(
        err.contains(&format!("{}:", config.display()))
            && err.contains("rule \"runaway\": the query is")
            && err.contains("a query may be at most 262144 bytes"),
        "{}",
        &err[..err.len().min(500)]
    );
    // The error does not echo the 7 MB back.
    assert!(err.len() < 2000, "{} bytes of error", err.len());
}

/// A `--json` time (RFC 3339 UTC, issue 17 item 11) as unix seconds; 0 if it is not one.
fn unix(value: &serde_json::Value) -> i64 {
    value
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map_or(0, |t| t.timestamp())
}
