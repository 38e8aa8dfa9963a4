//! watchword on PostgreSQL (`database = "postgres://…"`), against the real server of the
//! project's machines (`WATCHWORD_TEST_POSTGRES`; without it each test says by name that it
//! was skipped, and `.ci/run` forbids that). Each test has a schema of its own.
//!
//! Replicas here are real `watchword run` processes sharing one database: leases on feeds and
//! deliveries, the story lock, and a replica killed with SIGKILL in the middle of its work.

mod common;

use common::external::PgSchema;
use common::*;

/// Distinct stories that all match "Kazakhstan AND Abraham Accords", none joining another's.
fn story(n: usize) -> (String, String, String) {
    let words = invented_words(n, 6);
    (
        format!("ca-{n}"),
        format!("Kazakhstan and the Abraham Accords: {}", words.join(" ")),
        format!("https://wire.example.org/world/update-{n}"),
    )
}

fn feed_of(stories: &[(String, String, String)]) -> String {
    let entries: Vec<Entry<'_>> = stories
        .iter()
        .map(|(guid, title, link)| Entry {
            guid,
            title,
            link,
            description: "",
            published: minutes_ago(5),
        })
        .collect();
    rss(&entries)
}

fn pg_config(schema: &PgSchema) -> TomlConfig {
    TomlConfig::new()
        .database(&schema.url)
        .daemon("poll_interval = \"1h\"")
        .shared_groups()
}

#[test]
fn one_daemon_on_postgres_alerts_once_and_the_cli_reads_the_same_database() {
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
