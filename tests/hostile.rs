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
    feeds.put("/wire.json", 200, "application/feed+json", &hostile_feed());
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
fn a_database_url_is_refused_with_its_place_and_without_its_password() {
    let ws = Workspace::new();
    let config = TomlConfig::new()
        .daemon("database = \"postgres://watch:s3cret-pw@db.example.org/watchword\"")
        .feed("wire", "https://news.example.org/rss")
        .rule("accords", "\"Abraham Accords\"", &["out"])
        .stdout_sink("out")
        .write(&ws);
    let out = ws.watchword(&["check"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let place = format!(
        "{}:2:12: database: postgres:// is not a database",
        config.display()
    );
    assert!(err.contains(&place), "{err}");
    assert!(!err.contains("s3cret-pw"), "the password leaked: {err}");
    // Nothing was created at a path made of the URL.
    assert!(!ws.config_path().with_file_name("postgres:").exists());
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
    let published = common::minutes_ago(5).to_rfc3339();
    let feed = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "wire",
        "items": [
            {"id": "js", "url": "javascript:alert(document.cookie)",
             "title": "Abraham Accords: Kazakhstan signs", "date_published": published},
            {"id": "data", "url": "data:text/html,<script>alert(1)</script>",
             "title": "Abraham Accords: Uzbekistan next?", "date_published": published},
            {"id": "web", "url": "https://news.example.org/kz",
             "title": "Abraham Accords: what Astana gains", "date_published": published},
        ]
    });
    feeds.put(
        "/wire.json",
        200,
        "application/feed+json",
        &feed.to_string(),
    );
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
    let published = common::minutes_ago(5).to_rfc3339();
    let feed = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "wire",
        "items": [{"id": "kz", "url": "https://news.example.org/kz",
                   "title": "Kazakhstan joins the Abraham Accords", "date_published": published}]
    });
    feeds.put(
        "/wire.json",
        200,
        "application/feed+json",
        &feed.to_string(),
    );
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
    let wait = delivery["next_attempt_at"].as_i64().unwrap_or(0)
        - delivery["last_attempt_at"].as_i64().unwrap_or(0);
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
    feeds.put(
        "/wire.json",
        200,
        "application/feed+json",
        r#"{"version":"https://jsonfeed.org/version/1.1","title":"w","items":[]}"#,
    );
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
    let published = common::minutes_ago(5).to_rfc3339();
    let feed = serde_json::json!({
        "version": "https://jsonfeed.org/version/1.1",
        "title": "wire",
        "items": [{"id": "kz", "url": "https://news.example.org/kz",
                   "title": "Kazakhstan joins the Abraham Accords", "date_published": published}]
    });
    feeds.put(
        "/wire.json",
        200,
        "application/feed+json",
        &feed.to_string(),
    );
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
        d["next_attempt_at"].as_i64().unwrap_or(0) - d["last_attempt_at"].as_i64().unwrap_or(0)
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
