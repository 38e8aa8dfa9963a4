//! `--json` of `check`, `once`, `prune`, `redeliver` and `import-opml` (issue 17, item 11):
//! one object per command, times in RFC 3339 UTC, no secret, parsed here as a script would.

mod common;

use common::{
    FeedServer, Receiver, Reply, TomlConfig, Workspace, reader_export_opml, stderr, stdout,
};
use serde_json::Value;

/// An RFC 3339 time in UTC, as every machine output writes them.
fn is_rfc3339_utc(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|t| t.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(t).is_ok())
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not one JSON object ({e}):\n{text}"))
}

#[test]
fn check_json_describes_the_config_without_its_secrets() {
    let ws = Workspace::new();
    let receiver = Receiver::start();
    TomlConfig::for_workspace(&ws)
        .daemon("poll_interval = \"10m\"")
        .feed_with(
            "wire",
            "https://news.example.org/rss?token=feed-secret",
            "tags = [\"world\"]\ninterval = \"2h\"",
        )
        .rule_with(
            "accords",
            "\"Abraham Accords\"",
            &["hook"],
            "priority = \"high\"",
        )
        .webhook_sink_with(
            "hook",
            &receiver.hook_url(),
            "secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\nheaders = { Authorization = \"Bearer header-secret\" }",
        )
        .stdout_sink("spare")
        .write(&ws);
    let out = ws.watchword(&["check", "--json"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    for secret in ["feed-secret", "secret-token", "header-secret", "MfKQ9r8"] {
        assert!(!text.contains(secret), "{secret} printed: {text}");
    }
    let check = parse(&text);
    assert_eq!(check["valid"], true, "{check}");
    assert_eq!(check["defaults"]["poll_interval_seconds"], 600, "{check}");
    assert_eq!(check["feeds"][0]["name"], "wire", "{check}");
    assert_eq!(check["feeds"][0]["interval_seconds"], 7200, "{check}");
    assert_eq!(check["feeds"][0]["tags"][0], "world", "{check}");
    assert_eq!(check["rules"][0]["name"], "accords", "{check}");
    assert_eq!(check["rules"][0]["notify"][0], "hook", "{check}");
    assert_eq!(check["rules"][0]["priority"], "high", "{check}");
    let hook = &check["sinks"][0];
    assert_eq!(hook["name"], "hook", "{check}");
    assert_eq!(hook["kind"], "webhook", "{check}");
    assert_eq!(hook["target"], format!("{}/…", receiver.base), "{check}");
    assert_eq!(hook["signed"], true, "{check}");
    assert_eq!(hook["headers"][0], "Authorization", "{check}");
    assert_eq!(check["sinks"][1]["target"], Value::Null, "{check}");
    assert_eq!(check["unused_sinks"][0], "spare", "{check}");
}

#[test]
fn check_json_lists_every_problem_of_an_invalid_config() {
    let ws = Workspace::new();
    TomlConfig::for_workspace(&ws)
        .feed("wire", "https://news.example.org/rss")
        .rule("accords", "\"Abraham Accords\" AND (", &["nowhere"])
        .stdout_sink("out")
        .write(&ws);
    let out = ws.watchword(&["check", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let check = parse(&stdout(&out));
    assert_eq!(check["valid"], false, "{check}");
    let problems = check["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), 2, "{check}");
    // The rule's table starts on line 8 (TomlConfig's layout): query on 10, notify on 11.
    let lines: Vec<&Value> = problems.iter().map(|p| &p["line"]).collect();
    assert!(lines.contains(&&Value::from(10)), "{check}");
    assert!(lines.contains(&&Value::from(11)), "{check}");
    assert!(
        problems.iter().any(|p| p["message"]
            .as_str()
            .is_some_and(|m| m.contains("unknown sink \"nowhere\""))),
        "{check}"
    );
}

#[test]
fn once_json_ends_the_output_with_one_pass_summary_line() {
    let ws = Workspace::new();
    let feeds = FeedServer::start();
    feeds.put_json(
        "/wire.json",
        &common::json_feed(&[common::KAZAKHSTAN_JOINS]),
    );
    TomlConfig::for_workspace(&ws)
        .feed("wire", &feeds.url("/wire.json"))
        .feed("broken", &feeds.url("/missing.json"))
        .rule("accords", "\"Abraham Accords\"", &["out"])
        .stdout_sink("out")
        .write(&ws);
    let out = ws.watchword(&["once", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // The stdout sink's alert, then the summary: JSON lines, each told apart by its type.
    let lines: Vec<Value> = stdout(&out).lines().map(parse).collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["type"], "watchword.alert", "{lines:?}");
    let pass = &lines[1];
    assert_eq!(pass["type"], "watchword.pass", "{pass}");
    assert!(is_rfc3339_utc(&pass["started_at"]), "{pass}");
    assert!(is_rfc3339_utc(&pass["finished_at"]), "{pass}");
    assert_eq!(pass["feeds"]["total"], 2, "{pass}");
    assert_eq!(pass["feeds"]["ok"], 1, "{pass}");
    assert_eq!(pass["feeds"]["failed"], 1, "{pass}");
    assert_eq!(pass["failed_feeds"][0]["feed"], "broken", "{pass}");
    assert!(
        pass["failed_feeds"][0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("404")),
        "{pass}"
    );
    assert_eq!(pass["new_items"], 1, "{pass}");
    assert_eq!(pass["new_alerts"], 1, "{pass}");
    assert_eq!(pass["deliveries"]["delivered"], 1, "{pass}");
    assert_eq!(pass["deliveries"]["dead"], 0, "{pass}");
    assert_eq!(pass["trouble"].as_array().map(Vec::len), Some(1), "{pass}");

    // A warm pass: nothing new, the same shape.
    let out = ws.watchword(&["once", "--json"]);
    let pass = parse(stdout(&out).trim_end());
    assert_eq!(pass["new_items"], 0, "{pass}");
    assert_eq!(pass["deliveries"]["delivered"], 0, "{pass}");
}

#[test]
fn prune_json_says_what_it_removed_and_when() {
    let ws = Workspace::new();
    TomlConfig::for_workspace(&ws)
        .daemon("retention = \"30d\"")
        .feed("wire", "https://news.example.org/rss")
        .rule("accords", "\"Abraham Accords\"", &["out"])
        .stdout_sink("out")
        .write(&ws);
    let out = ws.watchword(&["prune", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let prune = parse(&stdout(&out));
    assert!(is_rfc3339_utc(&prune["pruned_at"]), "{prune}");
    assert_eq!(
        prune["database"],
        ws.database().display().to_string(),
        "{prune}"
    );
    for key in ["items", "stories", "story_keys", "alerts"] {
        assert_eq!(prune["pruned"][key], 0, "{prune}");
    }
    assert_eq!(prune["retention_seconds"], 30 * 86_400, "{prune}");
}

#[test]
fn redeliver_json_counts_requeued_deliveries_and_names_unknown_ids() {
    let ws = Workspace::new();
    let feeds = FeedServer::start();
    feeds.put_json(
        "/wire.json",
        &common::json_feed(&[common::KAZAKHSTAN_JOINS]),
    );
    let receiver = Receiver::start();
    receiver.always(Reply::status(410));
    TomlConfig::for_workspace(&ws)
        .feed("wire", &feeds.url("/wire.json"))
        .rule("accords", "\"Abraham Accords\"", &["hook"])
        .webhook_sink("hook", &receiver.hook_url())
        .write(&ws);
    let once = ws.watchword(&["once"]);
    assert!(once.status.success(), "{}", stderr(&once));

    let out = ws.watchword(&["redeliver", "--dead", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let redeliver = parse(&stdout(&out));
    assert_eq!(redeliver["requeued"], 1, "{redeliver}");
    assert!(is_rfc3339_utc(&redeliver["due_at"]), "{redeliver}");
    assert_eq!(
        redeliver["unknown_ids"],
        serde_json::json!([]),
        "{redeliver}"
    );

    let out = ws.watchword(&["redeliver", "ww_nope", "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let redeliver = parse(&stdout(&out));
    assert_eq!(redeliver["requeued"], 0, "{redeliver}");
    assert_eq!(redeliver["unknown_ids"][0], "ww_nope", "{redeliver}");
    assert!(stderr(&out).contains("ww_nope"), "{}", stderr(&out));
}

#[test]
fn import_opml_json_lists_the_feeds_found_and_added() {
    let ws = Workspace::new();
    let opml = reader_export_opml(&ws);
    let out = ws.watchword(&["import-opml", "--json", &opml]);
    assert!(out.status.success(), "{}", stderr(&out));
    let import = parse(&stdout(&out));
    assert_eq!(import["appended"], false, "{import}");
    assert_eq!(import["config"], Value::Null, "{import}");
    assert_eq!(
        import["feeds"].as_array().map(Vec::len),
        Some(2),
        "{import}"
    );
    assert_eq!(import["feeds"][1]["name"], "Gazette", "{import}");
    assert_eq!(
        import["feeds"][1]["url"], "https://gazette.example.org/feed",
        "{import}"
    );
    assert_eq!(
        import["feeds"][1]["tags"],
        serde_json::json!(["World", "local"]),
        "{import}"
    );

    TomlConfig::for_workspace(&ws)
        .feed("Wire", "https://wire.example.org/rss")
        .rule("accords", "\"Abraham Accords\"", &["out"])
        .stdout_sink("out")
        .write(&ws);
    let out = ws.watchword(&["import-opml", "--append", "--json", &opml]);
    assert!(out.status.success(), "{}", stderr(&out));
    let import = parse(&stdout(&out));
    assert_eq!(import["appended"], true, "{import}");
    assert_eq!(
        import["config"],
        ws.config_path().display().to_string(),
        "{import}"
    );
    assert_eq!(
        import["feeds"].as_array().map(Vec::len),
        Some(1),
        "{import}"
    );
    assert_eq!(import["feeds"][0]["name"], "Gazette", "{import}");
    assert_eq!(import["already_configured"], 1, "{import}");
}
