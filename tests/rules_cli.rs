//! `watchword test`: the real binary dry-running rules against a feed served on 127.0.0.1, a
//! file and standard input; nothing is written and nothing is sent.

mod common;

use std::io::Write;
use std::process::Stdio;

use common::*;

fn entries() -> Vec<Entry<'static>> {
    vec![
        Entry {
            guid: "w-1",
            title: "Kazakhstan says it will sign on to the Abraham Accords",
            description: "Officials in Astana said the country intends to join the accords.",
            link: "https://wire.example.org/world/kazakhstan-accords",
            published: minutes_ago(30),
        },
        Entry {
            guid: "w-2",
            title: "Kazakhstan football team plays friendly in Tel Aviv",
            description: "The match follows the Abraham Accords talks.",
            link: "https://wire.example.org/sport/kazakhstan-football",
            published: minutes_ago(40),
        },
        Entry {
            guid: "w-3",
            title: "Kazakh grain exports reach a record",
            description: "Wheat shipments rose by a fifth; the US bought more.",
            link: "https://wire.example.org/markets/kazakh-grain",
            published: minutes_ago(50),
        },
    ]
}

/// Two feeds ("wire" at `feed_url`, tagged world; "scores", tagged sport) and three rules
/// alerting the webhook `hook_url`.
fn config(ws: &Workspace, feed_url: &str, hook_url: &str) -> TomlConfig {
    TomlConfig::for_workspace(ws)
        .shared_groups()
        .feed_with("wire", feed_url, "tags = [\"world\"]")
        .feed_with(
            "scores",
            "https://scores.example.org/feed",
            "tags = [\"sport\"]",
        )
        .rule(
            "central-asia-joins-abraham-accords",
            "@central_asia AND @abraham_accords AND NOT title:football",
            &["hook"],
        )
        .rule_with(
            "kazakh-grain",
            "Kazakh* NEAR/3 (grain OR wheat) AND =US",
            &["hook"],
            "priority = \"high\"",
        )
        .rule_with("sport-only", "Kazakhstan", &["hook"], "tags = [\"sport\"]")
        .webhook_sink("hook", hook_url)
}

#[test]
fn dry_run_against_a_served_feed_prints_matches_and_touches_nothing() {
    let server = FeedServer::start();
    server.put_rss("/feed.xml", &rss(&entries()));
    let receiver = Receiver::start();
    let ws = Workspace::new();
    let feed_url = server.url("/feed.xml");
    config(&ws, &feed_url, &receiver.hook_url()).write(&ws);

    let out = ws.watchword(&["test", &feed_url]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}\n{text}", stderr(&out));
    assert!(
        text.contains(
            "MATCH central-asia-joins-abraham-accords  Kazakhstan says it will sign on to the \
             Abraham Accords\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("+ @central_asia: \"Kazakhstan\" in title\n"),
        "{text}"
    );
    assert!(
        text.contains("+ @abraham_accords: \"Abraham Accords\" in title\n"),
        "{text}"
    );
    assert!(
        text.contains("MATCH kazakh-grain  Kazakh grain exports reach a record\n"),
        "{text}"
    );
    assert!(text.contains("+ =US: \"US\" in summary\n"), "{text}");
    // Not the football story (NOT title:football), and not the rule scoped to sport feeds.
    assert!(!text.contains("football team"), "{text}");
    assert!(!text.contains("sport-only"), "{text}");
    assert!(
        stderr(&out).contains("3 item(s), 2 match(es)"),
        "{}",
        stderr(&out)
    );
    // A dry run: no database, nothing delivered.
    assert!(!ws.database().exists());
    assert!(receiver.all().is_empty());
    assert_eq!(server.hits("/feed.xml"), 1);

    // --explain adds the near misses and says why they missed.
    let out = ws.watchword(&["test", "--explain", &feed_url]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        text.contains(
            "miss  central-asia-joins-abraham-accords  Kazakhstan football team plays friendly \
             in Tel Aviv\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("why not: excluded by NOT football in title (found in title)\n"),
        "{text}"
    );
    assert!(
        text.contains("why not: the rule is scoped to other feeds or tags than feed \"wire\"\n"),
        "{text}"
    );
    assert!(stderr(&out).contains("near miss(es)"), "{}", stderr(&out));
}

#[test]
fn json_output_from_a_file_with_one_rule() {
    let ws = Workspace::new();
    config(
        &ws,
        "https://wire.example.org/rss",
        "https://hooks.example.org/x",
    )
    .write(&ws);
    let file = ws.dir.path().join("saved.xml");
    std::fs::write(&file, rss(&entries())).expect("write feed file");
    let file = file.to_string_lossy().into_owned();

    let out = ws.watchword(&[
        "test",
        "--json",
        "--explain",
        "--rule",
        "central-asia-joins-abraham-accords",
        &file,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    // w-3 (Kazakh grain) has none of the rule's presearch anchors (the Abraham Accords
    // group, its smaller required set), so it is not even a near miss.
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines
            .iter()
            .all(|l| l["rule"] == "central-asia-joins-abraham-accords")
    );
    let matched: Vec<&str> = lines
        .iter()
        .filter(|l| l["matched"] == true)
        .map(|l| l["item"]["id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(matched, ["w-1"]);
    let football = lines
        .iter()
        .find(|l| l["item"]["id"] == "w-2")
        .expect("football near miss");
    assert_eq!(football["matched"], false);
    assert_eq!(
        football["reasons"][0],
        "excluded by NOT football in title (found in title)"
    );
    assert_eq!(football["source"], file.as_str());
    let kazakh = &lines[0]["terms"][0];
    assert_eq!(kazakh["term"], "@central_asia");
    assert_eq!(kazakh["fields"], serde_json::json!(["title"]));
    assert_eq!(kazakh["found"], serde_json::json!(["Kazakhstan"]));
    assert!(!ws.database().exists());
}

#[test]
fn query_from_the_command_line_on_stdin_needs_no_config() {
    let ws = Workspace::new();
    // No config file written at all.
    let mut child = watchword_command(&ws.config_path())
        .args(["test", "--query", "title:kazakh* ONEAR/2 grain", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(rss(&entries()).as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        text.contains("MATCH query  Kazakh grain exports reach a record\n"),
        "{text}"
    );
    assert_eq!(text.matches("MATCH").count(), 1, "{text}");
}

#[test]
fn bad_query_rule_or_source_is_reported() {
    let ws = Workspace::new();
    config(
        &ws,
        "https://wire.example.org/rss",
        "https://hooks.example.org/x",
    )
    .write(&ws);
    let out = ws.watchword(&["test", "--query", "kazakh* NEAR/x grain", "-"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out),
        "error: invalid --query: rule \"query\": expected a number of words from 0 to 1000 \
         after NEAR/ at column 14\n  kazakh* NEAR/x grain\n               ^\n"
    );

    let out = ws.watchword(&["test", "--rule", "nope", "-"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no rule named \"nope\" in ",)
            && stderr(&out)
                .contains("(rules: central-asia-joins-abraham-accords, kazakh-grain, sport-only)"),
        "{}",
        stderr(&out)
    );

    let missing = ws.dir.path().join("missing.xml");
    let out = ws.watchword(&["test", &missing.to_string_lossy()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot read "), "{}", stderr(&out));

    let server = FeedServer::start();
    server.put("/gone.xml", 404, "text/plain", "no");
    let out = ws.watchword(&["test", &server.url("/gone.xml")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot fetch "), "{}", stderr(&out));
}

#[test]
fn check_warns_about_unused_groups_and_quiet_rules() {
    let server = FeedServer::start();
    server.put_rss("/feed.xml", &rss(&entries()));
    let ws = Workspace::new();
    TomlConfig::for_workspace(&ws)
        .shared_groups()
        .group("orphan", r#"["nothing", "@central_asia"]"#)
        .feed("wire", &server.url("/feed.xml"))
        .rule("hits", "@central_asia AND @abraham_accords", &["out"])
        .rule("quiet", "Tajikistan AND sanctions", &["out"])
        .stdout_sink("out")
        .write(&ws);
    // No database yet: only the group warning.
    let out = ws.watchword(&["check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("warning: group @orphan is not used by any rule\n"),
        "{text}"
    );
    assert!(!text.contains("raised no alert"), "{text}");

    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // A history of less than a day says nothing about quiet rules yet.
    let text = stdout(&ws.watchword(&["check"]));
    assert!(!text.contains("raised no alert"), "{text}");

    // Pretend the history began 40 days ago.
    let db = rusqlite::Connection::open(ws.database()).expect("open db");
    db.execute(
        "UPDATE items SET first_seen_at = first_seen_at - 40 * 86400",
        [],
    )
    .expect("age items");
    drop(db);
    let text = stdout(&ws.watchword(&["check"]));
    assert!(
        text.contains(
            "warning: rule \"quiet\" raised no alert in the last 30 day(s); check its query \
             with `watchword test --rule quiet SOURCE`\n"
        ),
        "{text}"
    );
    assert!(!text.contains("rule \"hits\" raised"), "{text}");
}

#[test]
fn daemon_applies_rule_scope_and_sends_priority() {
    let server = FeedServer::start();
    server.put_rss("/feed.xml", &rss(&entries()));
    let ws = Workspace::new();
    TomlConfig::for_workspace(&ws)
        .shared_groups()
        .feed_with("wire", &server.url("/feed.xml"), "tags = [\"world\"]")
        .feed_with(
            "scores",
            &unused_local_url("/scores.xml"),
            "tags = [\"sport\"]",
        )
        .rule_with(
            "world-accords",
            "@central_asia AND @abraham_accords AND NOT title:football",
            &["out"],
            "priority = \"urgent\"\ntags = [\"world\"]",
        )
        .rule_with("sport-only", "Kazakhstan", &["out"], "feeds = [\"scores\"]")
        .stdout_sink("out")
        .write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let alerts: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON alert per line"))
        .collect();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["rule"], "world-accords");
    assert_eq!(alerts[0]["priority"], "urgent");
    assert_eq!(alerts[0]["item"]["id"], "w-1");
}

/// Issue 17, items 1 and 7: a place reference stands for about a thousand forms; `test`
/// reports it as one line with the item's own words, and the alert's `matched_terms` says what
/// was found under the rule's reference, not every spelling variant.
#[test]
fn place_references_are_reported_once_with_the_items_own_words() {
    let server = FeedServer::start();
    let entries = [
        Entry {
            guid: "t-1",
            title: "Turkménistan will join the Abraham Accords",
            description: "The foreign ministry confirmed the decision.",
            link: "https://wire.example.org/world/turkmenistan-accords",
            published: minutes_ago(20),
        },
        Entry {
            guid: "t-2",
            title: "Morocco marks five years of the Abraham Accords",
            description: "Trade has grown since normalisation.",
            link: "https://wire.example.org/world/morocco-accords",
            published: minutes_ago(25),
        },
    ];
    server.put_rss("/feed.xml", &rss(&entries));
    let ws = Workspace::new();
    let feed_url = server.url("/feed.xml");
    TomlConfig::for_workspace(&ws)
        .shared_groups()
        .feed("wire", &feed_url)
        .rule(
            "places",
            "@region:central-asia AND @abraham_accords",
            &["out"],
        )
        .stdout_sink("out")
        .write(&ws);

    let out = ws.watchword(&["test", "--explain", &feed_url]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        text.contains("+ @region:central-asia: \"Turkménistan\" in title\n"),
        "{text}"
    );
    assert!(
        text.contains("- @region:central-asia: not found in any field\n"),
        "{text}"
    );
    assert!(
        text.contains("why not: @region:central-asia: not found in any field\n"),
        "{text}"
    );
    // Two items, one rule: a header, a link and two terms each, one reason. Before, every
    // form of the reference had a line of its own.
    assert_eq!(text.lines().count(), 9, "{text}");

    let out = ws.watchword(&["test", "--explain", "--json", &feed_url]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).len() < 2_000, "{}", stdout(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(
        lines[0]["terms"],
        serde_json::json!([
            {"term": "@region:central-asia", "fields": ["title"], "found": ["Turkménistan"], "negated": false},
            {"term": "@abraham_accords", "fields": ["title"], "found": ["Abraham Accords"], "negated": false},
        ])
    );
    assert_eq!(lines[1]["terms"][0]["found"], serde_json::json!([]));

    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let alert: serde_json::Value =
        serde_json::from_str(stdout(&out).trim()).expect("one JSON alert");
    assert_eq!(alert["version"], 2);
    assert_eq!(
        alert["matched_terms"],
        serde_json::json!([
            {"term": "@region:central-asia", "found": ["Turkménistan"]},
            {"term": "@abraham_accords", "found": ["Abraham Accords"]},
        ])
    );
}

/// Issue 17, item 3: `test` must not call an item a plain MATCH when the daemon would record
/// it without alerting (older than `max_age`); the daemon is run on the same feed to hold the
/// two to one answer.
#[test]
fn a_match_the_daemon_would_not_alert_on_says_so() {
    let server = FeedServer::start();
    let entries = [
        Entry {
            guid: "old-1",
            title: "Kazakhstan first floated joining the Abraham Accords",
            description: "An archive story.",
            link: "https://wire.example.org/archive/kazakhstan",
            published: minutes_ago(40 * 24 * 60 + 30),
        },
        Entry {
            guid: "new-1",
            title: "Uzbekistan will join the Abraham Accords",
            description: "Fresh news.",
            link: "https://wire.example.org/world/uzbekistan",
            published: minutes_ago(10),
        },
    ];
    server.put_rss("/feed.xml", &rss(&entries));
    let ws = Workspace::new();
    let feed_url = server.url("/feed.xml");
    TomlConfig::for_workspace(&ws)
        .daemon("max_age = \"7d\"")
        .shared_groups()
        .feed("wire", &feed_url)
        .rule("accords", "@central_asia AND @abraham_accords", &["out"])
        .stdout_sink("out")
        .write(&ws);

    let out = ws.watchword(&["test", &feed_url]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        text.contains(
            "MATCH (would not alert: published 40 days ago, older than max_age 7d) accords  \
             Kazakhstan first floated joining the Abraham Accords\n"
        ),
        "{text}"
    );
    assert!(
        text.contains("MATCH accords  Uzbekistan will join the Abraham Accords\n"),
        "{text}"
    );
    assert!(
        stderr(&out).contains("2 item(s), 2 match(es) (1 would not alert)"),
        "{}",
        stderr(&out)
    );

    let out = ws.watchword(&["test", "--json", &feed_url]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let by_id = |id: &str| {
        lines
            .iter()
            .find(|l| l["item"]["id"] == id)
            .unwrap_or_else(|| panic!("{id} in {lines:?}"))
            .clone()
    };
    assert_eq!(by_id("old-1")["would_alert"], false);
    assert_eq!(
        by_id("old-1")["would_not_alert"],
        "published 40 days ago, older than max_age 7d"
    );
    assert_eq!(by_id("new-1")["would_alert"], true);
    assert!(by_id("new-1").get("would_not_alert").is_none());

    // The daemon agrees: only the fresh item alerts.
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ids: Vec<String> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("one JSON alert per line"))
        .map(|alert| alert["item"]["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(ids, ["new-1"]);
}
