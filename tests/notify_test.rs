//! `watchword notify-test SINK`: a sample alert through the sink's real delivery path, the
//! receiver's answer shown, nothing written to the database.

mod common;

use common::{Receiver, Reply, TomlConfig, Workspace, stderr, stdout};

/// The key of the test sinks, as its `whsec_` form: the same every run.
const SECRET: &str = "whsec_C2FyZ29uIG9mIHRoZSBub3RpZnkgdGVzdHMgb2sh";

/// A config with a signed webhook sink "hook" (extra keys as given) and a stdout sink "out".
fn config(ws: &Workspace, receiver: &Receiver, extra: &str) {
    let keys = format!("secret = \"{SECRET}\"\nheaders = {{ X-Team = \"desk\" }}\n{extra}");
    TomlConfig::for_workspace(ws)
        .feed("wire", "https://news.example.org/rss")
        .rule_with(
            "accords",
            "\"Abraham Accords\"",
            &["hook", "out"],
            "priority = \"high\"",
        )
        .webhook_sink_with("hook", &receiver.hook_url(), &keys)
        .stdout_sink("out")
        .write(ws);
}

#[test]
fn a_test_alert_is_signed_sent_and_answered() {
    let ws = Workspace::new();
    let receiver = Receiver::start();
    receiver.always(Reply::status(200).body("ok, got it"));
    config(&ws, &receiver, "");
    let out = ws.watchword(&["notify-test", "hook"]);
    let shown = stdout(&out);
    assert!(out.status.success(), "{}\n{shown}", stderr(&out));
    assert!(shown.contains("HTTP 200 OK"), "{shown}");
    assert!(shown.contains("ok, got it"), "{shown}");
    assert!(shown.contains("signed"), "{shown}");
    let everything = format!("{shown}{}", stderr(&out));
    assert!(
        !everything.contains("secret-token"),
        "the hook's token printed: {everything}"
    );

    let hits = receiver.all();
    assert_eq!(hits.len(), 1, "{hits:?}");
    let hit = &hits[0];
    assert_eq!(hit.path, Receiver::HOOK_PATH);
    assert_eq!(hit.headers.get("x-team").map(String::as_str), Some("desk"));
    assert!(shown.contains(&hit.id()), "{shown}");
    // Signed like every delivery: an independent verifier accepts it.
    standardwebhooks::Webhook::new(SECRET)
        .expect("verifier")
        .verify(hit.body.as_bytes(), &hit.header_map())
        .expect("the test alert's signature verifies");
    let payload = hit.json();
    assert_eq!(payload["type"], "watchword.alert", "{payload}");
    assert_eq!(payload["rule"], "accords", "{payload}");
    assert_eq!(payload["priority"], "high", "{payload}");
    assert!(
        payload["item"]["title"]
            .as_str()
            .is_some_and(|t| t.contains("test alert")),
        "{payload}"
    );
    assert!(!ws.database().exists(), "notify-test wrote a database");
}

#[test]
fn a_receiver_error_fails_with_its_status_and_body() {
    let ws = Workspace::new();
    let receiver = Receiver::start();
    // A receiver echoing the URL it was called on must not make us print the token.
    receiver.always(Reply::status(500).body("internal trouble at /hook/secret-token, try later"));
    config(&ws, &receiver, "");
    let out = ws.watchword(&["notify-test", "hook"]);
    let (shown, err) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(1), "{shown}{err}");
    assert!(shown.contains("HTTP 500 Internal Server Error"), "{shown}");
    assert!(shown.contains("internal trouble at"), "{shown}");
    assert!(shown.contains("format json"), "{shown}");
    assert!(err.contains("not accepted"), "{err}");
    assert!(
        !format!("{shown}{err}").contains("secret-token"),
        "the hook's token printed: {shown}{err}"
    );
    let hit = &receiver.all()[0];
    assert!(hit.headers.contains_key("webhook-signature"), "{hit:?}");
    assert!(!ws.database().exists(), "notify-test wrote a database");
}

#[test]
fn a_chat_sink_gets_the_test_in_its_own_format() {
    let ws = Workspace::new();
    let receiver = Receiver::start();
    receiver.always(Reply::status(200).body("ok"));
    TomlConfig::for_workspace(&ws)
        .feed("wire", "https://news.example.org/rss")
        .rule("accords", "\"Abraham Accords\"", &["chat"])
        .webhook_sink_with("chat", &receiver.hook_url(), "format = \"slack\"")
        .write(&ws);
    let out = ws.watchword(&["notify-test", "chat"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("format slack"), "{}", stdout(&out));
    let hit = &receiver.all()[0];
    assert!(hit.json()["blocks"].is_array(), "{}", hit.body);
    assert!(
        hit.body.contains("test alert for sink chat"),
        "{}",
        hit.body
    );
}

#[test]
fn the_stdout_sink_prints_the_rendered_message_and_unknown_sinks_are_named() {
    let ws = Workspace::new();
    let receiver = Receiver::start();
    config(&ws, &receiver, "");
    let out = ws.watchword(&["notify-test", "out"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let line: serde_json::Value =
        serde_json::from_str(stdout(&out).trim_end()).expect("the alert as one JSON line");
    assert_eq!(line["type"], "watchword.alert", "{line}");
    assert!(receiver.all().is_empty(), "only the named sink is sent to");

    let out = ws.watchword(&["notify-test", "slack"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no sink named \"slack\" in the config (sinks: hook, out)"),
        "{}",
        stderr(&out)
    );

    // A receiver that is down: a clear message, not a status.
    let ws = Workspace::new();
    TomlConfig::for_workspace(&ws)
        .feed("wire", "https://news.example.org/rss")
        .rule("accords", "\"Abraham Accords\"", &["hook"])
        .webhook_sink("hook", &common::unused_local_url("/hook/secret-token"))
        .write(&ws);
    let out = ws.watchword(&["notify-test", "hook"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("did not reach hook"), "{err}");
    assert!(!err.contains("secret-token"), "{err}");
}
