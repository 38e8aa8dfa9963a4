//! `watchword migrate-db` (issue 16): a SQLite database moved into PostgreSQL, through the
//! real binary. The daemon on PostgreSQL afterwards re-alerts nothing, leaves what was
//! delivered or dead alone, and sends what was pending under the id it had.

mod common;

use common::external::PgSchema;
use common::*;

/// Distinct stories that all match the rule (as in tests/delivery.rs): each shares only the
/// rule's terms with the others, plus six invented words of its own.
fn entry(n: usize) -> Entry<'static> {
    let words = invented_words(n, 6);
    let guid: &'static str = Box::leak(format!("ca-{n}").into_boxed_str());
    let title: &'static str = Box::leak(
        format!("Kazakhstan and the Abraham Accords: {}", words.join(" ")).into_boxed_str(),
    );
    wire_entry(guid, title)
}

/// One feed, the rule "ca-aa" and one webhook sink that gives up after one client error.
fn config(feed_url: &str, hook_url: &str, database: &str) -> TomlConfig {
    TomlConfig::new()
        .daemon("poll_interval = \"1h\"")
        .database(database)
        .shared_groups()
        .feed("wire", feed_url)
        .rule("ca-aa", "@central_asia AND @abraham_accords", &["hook"])
        .webhook_sink_with(
            "hook",
            hook_url,
            "client_error_attempts = 1\nclient_error_grace = \"0s\"",
        )
}

fn ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        stdout(out),
        stderr(out)
    );
}

/// A command's `--json` output, without what names the database (the one thing that differs).
fn json_of(ws: &Workspace, args: &[&str]) -> serde_json::Value {
    let out = ws.watchword(args);
    ok(&out);
    let mut value: serde_json::Value =
        serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{args:?}: {e}"));
    if let Some(object) = value.as_object_mut() {
        object.remove("database");
    }
    value
}

fn states(alerts: &serde_json::Value) -> Vec<(String, String)> {
    let mut states: Vec<(String, String)> = alerts["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .map(|d| {
            (
                d["alert_id"].as_str().unwrap_or("").to_string(),
                d["state"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    states.sort();
    states
}

#[test]
fn a_sqlite_database_moves_to_postgres_without_realerting_and_sends_what_was_pending() {
    let Some(pg) = PgSchema::create(test_name!()) else {
        return;
    };
    let feeds = FeedServer::start();
    feeds.put_rss("/f.xml", &rss(&[entry(1), entry(2), entry(3)]));
    let receiver = Receiver::start();
    let ws = Workspace::new();
    let sqlite = ws.database().display().to_string();
    config(&feeds.url("/f.xml"), &receiver.hook_url(), &sqlite).write(&ws);

    // On SQLite: the first alert is delivered, the second refused (dead after one client
    // error, which ends the pass), the third tried in a second pass and told to come back in
    // an hour (pending, with one attempt behind it).
    receiver.script([200, 400]);
    ok(&ws.watchword(&["once"]));
    receiver.script([Reply::status(503).header("Retry-After", "3600")]);
    ok(&ws.watchword(&["once"]));
    let tried = receiver.all();
    assert_eq!(tried.len(), 3, "{tried:?}");
    let pending_id = tried[2].id();
    let alerts_before = json_of(&ws, &["alerts", "--json"]);
    let mut expected = vec![
        (tried[0].id(), "delivered".to_string()),
        (tried[1].id(), "dead".to_string()),
        (pending_id.clone(), "pending".to_string()),
    ];
    expected.sort();
    assert_eq!(states(&alerts_before), expected);
    let status_before = json_of(&ws, &["status", "--json"]);
    let feeds_before = json_of(&ws, &["feeds", "--json"]);

    let out = ws.watchword(&["migrate-db", "--from", &sqlite, "--to", &pg.url, "--json"]);
    ok(&out);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(report["copied"]["feeds"], 1, "{report}");
    assert_eq!(report["copied"]["items"], 3, "{report}");
    assert_eq!(report["copied"]["stories"], 3, "{report}");
    assert_eq!(report["copied"]["alerts"], 3, "{report}");
    assert_eq!(report["copied"]["deliveries"], 3, "{report}");
    assert_eq!(report["copied"]["sink_state"], 0, "{report}");
    assert_eq!(
        report["deliveries"],
        serde_json::json!({"pending": 1, "delivered": 1, "dead": 1}),
        "{report}"
    );
    // The password-free URL is what the report names.
    assert_eq!(report["to"], pg.url.as_str(), "{report}");
    // Signatures, names and text hashes came along with the items.
    assert_eq!(
        pg.query(
            "SELECT COUNT(*)::text FROM items WHERE signature IS NOT NULL AND text_hash IS NOT NULL"
        ),
        ["3"]
    );

    // The same config on PostgreSQL: every read-out says what it said on SQLite.
    config(&feeds.url("/f.xml"), &receiver.hook_url(), &pg.url).write(&ws);
    assert_eq!(json_of(&ws, &["alerts", "--json"]), alerts_before);
    assert_eq!(json_of(&ws, &["status", "--json"]), status_before);
    assert_eq!(json_of(&ws, &["feeds", "--json"]), feeds_before);

    // The receiver is back: only the pending alert goes, under the id it was tried with.
    receiver.always(200);
    let out = ws.watchword(&["once", "--json"]);
    ok(&out);
    let pass: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("json");
    assert_eq!(pass["new_items"], 0, "{pass}");
    assert_eq!(pass["new_alerts"], 0, "{pass}");
    assert_eq!(pass["deliveries"]["delivered"], 1, "{pass}");
    let hits = receiver.all();
    assert_eq!(hits.len(), 4, "{hits:?}");
    assert_eq!(hits[3].id(), pending_id);
    let mut expected = vec![
        (tried[0].id(), "delivered".to_string()),
        (tried[1].id(), "dead".to_string()),
        (pending_id.clone(), "delivered".to_string()),
    ];
    expected.sort();
    assert_eq!(states(&json_of(&ws, &["alerts", "--json"])), expected);

    // A new story after the move gets an id past the copied ones, and its alert goes out.
    feeds.put_rss("/f.xml", &rss(&[entry(1), entry(2), entry(3), entry(4)]));
    let out = ws.watchword(&["once", "--json"]);
    ok(&out);
    let pass: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("json");
    assert_eq!(pass["new_alerts"], 1, "{pass}");
    assert_eq!(pass["deliveries"]["delivered"], 1, "{pass}");
    let accepted: Vec<String> = receiver.accepted().iter().map(Hit::id).collect();
    assert_eq!(accepted.len(), 3, "{accepted:?}");
    let distinct: std::collections::HashSet<&String> = accepted.iter().collect();
    assert_eq!(distinct.len(), 3, "{accepted:?}");
    assert_eq!(pg.query("SELECT COUNT(*)::text FROM stories"), ["4"]);
}

#[test]
fn a_target_that_is_not_empty_is_refused_and_left_as_it_was() {
    let Some(pg) = PgSchema::create(test_name!()) else {
        return;
    };
    let feeds = FeedServer::start();
    feeds.put_rss("/f.xml", &rss(&[entry(1), entry(2)]));
    let receiver = Receiver::start();
    let ws = Workspace::new();
    let sqlite = ws.database().display().to_string();
    config(&feeds.url("/f.xml"), &receiver.hook_url(), &sqlite).write(&ws);
    ok(&ws.watchword(&["once"]));

    // Without --to, the target is the config's database: now PostgreSQL.
    config(&feeds.url("/f.xml"), &receiver.hook_url(), &pg.url).write(&ws);
    let out = ws.watchword(&["migrate-db", "--from", &sqlite]);
    ok(&out);
    assert!(stdout(&out).contains("2 alert(s)"), "{}", stdout(&out));
    let counts = || {
        pg.query(
            "SELECT (SELECT COUNT(*) FROM items) || ' ' || (SELECT COUNT(*) FROM alerts)
                    || ' ' || (SELECT COUNT(*) FROM deliveries)",
        )
    };
    assert_eq!(counts(), ["2 2 2"]);

    // Copying again would merge two histories: refused, nothing written.
    let out = ws.watchword(&["migrate-db", "--from", &sqlite, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
    let message = stderr(&out);
    assert!(message.contains("is not empty"), "{message}");
    assert!(
        message.contains("feeds, items, stories, story_keys, alerts, deliveries"),
        "{message}"
    );
    assert!(message.contains("Nothing was written"), "{message}");
    assert_eq!(counts(), ["2 2 2"]);

    // A source that does not exist is named, and no file is created in its place.
    let missing = ws.dir.path().join("missing.db");
    let out = ws.watchword(&["migrate-db", "--from", &missing.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no SQLite database at"),
        "{}",
        stderr(&out)
    );
    assert!(!missing.exists());

    // A config still on SQLite, without --to: the user is told to say where.
    config(&feeds.url("/f.xml"), &receiver.hook_url(), &sqlite).write(&ws);
    let out = ws.watchword(&["migrate-db", "--from", &sqlite]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("give --to"), "{}", stderr(&out));

    // A daemon still writing the SQLite file would record after the copy: refused while it
    // runs (its health endpoint answering means it holds the file).
    let port = free_port();
    config(&feeds.url("/f.xml"), &receiver.hook_url(), &sqlite)
        .daemon(&format!("metrics_listen = \"127.0.0.1:{port}\""))
        .write(&ws);
    let daemon = Daemon::start(&ws, &[]);
    let started = wait_for(std::time::Duration::from_secs(30), || {
        http_get(port, "/healthz", std::time::Duration::from_secs(2)).is_some_and(|(s, _)| s == 200)
    });
    assert!(started, "{}", daemon.log());
    let out = ws.watchword(&["migrate-db", "--from", &sqlite, "--to", &pg.url]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("another watchword process is using"),
        "{}",
        stderr(&out)
    );
    daemon.stop();
    assert_eq!(counts(), ["2 2 2"]);
}
