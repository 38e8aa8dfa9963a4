//! The operator's tools through the real binary: output into a closed pipe, exit codes a cron
//! job can act on, and messages that say what happened.

mod common;

use std::io::Read;
use std::process::Stdio;

use common::{FeedServer, Receiver, TomlConfig, Workspace, stderr, stdout, watchword_command};

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let ws = Workspace::new();
    // `watchword groups --json | head -1`: the reader leaves after one line.
    let mut child = watchword_command(&ws.config_path())
        .args(["groups", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut first = [0u8; 1];
    stdout.read_exact(&mut first).expect("some output");
    drop(stdout);
    let status = child.wait().expect("wait");
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read stderr");
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn usage_errors_and_config_errors_have_their_own_exit_codes() {
    let ws = Workspace::new();
    let usage = ws.watchword(&["once", "--no-such-flag"]);
    assert_eq!(usage.status.code(), Some(64), "{}", stderr(&usage));
    assert!(stderr(&usage).contains("--no-such-flag"));
    // A missing config is a config error (2), as before.
    let config = ws.watchword(&["check"]);
    assert_eq!(config.status.code(), Some(2), "{}", stderr(&config));
    // --help is an answer, not an error.
    let help = ws.watchword(&["once", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(stdout(&help).contains("--strict"), "{}", stdout(&help));
}

#[test]
fn once_strict_fails_a_cron_job_when_a_feed_fails_or_a_sink_is_disabled() {
    let ws = Workspace::new();
    let feeds = FeedServer::start();
    let feed = common::json_feed(&[common::KAZAKHSTAN_JOINS]);
    feeds.put_json("/wire.json", &feed);
    let receiver = Receiver::start();
    TomlConfig::for_workspace(&ws)
        .feed("wire", &feeds.url("/wire.json"))
        .feed("broken", &feeds.url("/missing.json"))
        .rule("accords", "\"Abraham Accords\"", &["hook"])
        .webhook_sink("hook", &receiver.hook_url())
        .write(&ws);
    // Without --strict a failing feed is logged, not fatal.
    let lenient = ws.watchword(&["once"]);
    assert_eq!(lenient.status.code(), Some(0), "{}", stderr(&lenient));
    let strict = ws.watchword(&["once", "--strict"]);
    assert_eq!(strict.status.code(), Some(3), "{}", stderr(&strict));
    assert!(
        stderr(&strict).contains("1 feed(s) failed"),
        "{}",
        stderr(&strict)
    );

    // All feeds fine, but the receiver disabled the sink (410): still trouble.
    feeds.put_json("/missing.json", &feed);
    receiver.always(common::Reply::status(410));
    feeds.put_json(
        "/wire.json",
        &common::json_feed(&[(
            "kz2",
            "https://news.example.org/kz2",
            "Kazakhstan joins the Abraham Accords",
        )]),
    );
    let strict = ws.watchword(&["once", "--strict"]);
    assert_eq!(strict.status.code(), Some(3), "{}", stderr(&strict));
    assert!(
        stderr(&strict).contains("sink(s) hook disabled"),
        "{}",
        stderr(&strict)
    );
}

#[test]
fn redelivering_an_unknown_id_says_only_that() {
    let ws = Workspace::new();
    TomlConfig::for_workspace(&ws)
        .feed("wire", "https://news.example.org/rss")
        .rule("accords", "\"Abraham Accords\"", &["out"])
        .stdout_sink("out")
        .write(&ws);
    let out = ws.watchword(&["redeliver", "ww_nope"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("ww_nope"), "{}", stderr(&out));
    assert!(!stdout(&out).contains("re-queued 0"), "{}", stdout(&out));
}

#[test]
fn status_shows_dead_deliveries_and_disabled_sinks() {
    let ws = Workspace::new();
    let feeds = FeedServer::start();
    let feed = common::json_feed(&[common::KAZAKHSTAN_JOINS]);
    feeds.put_json("/wire.json", &feed);
    // One receiver says the hook is gone; the other is down for now. The alert is still owed
    // to the second, so it counts as pending, but its first delivery is dead.
    let gone = Receiver::start();
    gone.always(common::Reply::status(410));
    let down = Receiver::start();
    down.always(common::Reply::status(503));
    TomlConfig::for_workspace(&ws)
        .feed("wire", &feeds.url("/wire.json"))
        .rule(
            "accords",
            "\"Abraham Accords\"",
            &["gone-hook", "down-hook"],
        )
        .webhook_sink("gone-hook", &gone.hook_url())
        .webhook_sink("down-hook", &down.hook_url())
        .write(&ws);
    let once = ws.watchword(&["once"]);
    assert!(once.status.success(), "{}", stderr(&once));
    let out = ws.watchword(&["status"]);
    let status = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(status.contains("1 pending"), "{status}");
    assert!(status.contains("1 delivery(ies) dead"), "{status}");
    assert!(status.contains("disabled sinks"), "{status}");
    assert!(status.contains("gone-hook"), "{status}");
    assert!(
        !status.contains("down-hook"),
        "a sink that is only down is not disabled: {status}"
    );

    // The same facts for scripts (issue 17, item 11), times in RFC 3339 UTC.
    let out = ws.watchword(&["status", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let status: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one object");
    assert_eq!(status["alerts"]["pending"], 1, "{status}");
    assert_eq!(status["deliveries_dead"], 1, "{status}");
    assert_eq!(status["disabled_sinks"][0]["sink"], "gone-hook", "{status}");
    let rfc3339 = |v: &serde_json::Value| {
        v.as_str()
            .is_some_and(|t| t.ends_with('Z') && chrono::DateTime::parse_from_rfc3339(t).is_ok())
    };
    assert!(rfc3339(&status["last_poll_at"]), "{status}");
    assert!(rfc3339(&status["alerts"]["oldest_pending_at"]), "{status}");
    assert!(
        rfc3339(&status["disabled_sinks"][0]["disabled_at"]),
        "{status}"
    );
}

#[test]
fn a_missing_config_and_a_misspelt_rule_say_what_they_are() {
    let ws = Workspace::new();
    let missing = ws.watchword(&["status"]);
    assert_eq!(missing.status.code(), Some(2));
    let err = stderr(&missing);
    assert!(err.contains("cannot read config file"), "{err}");
    assert!(
        !err.contains("invalid configuration"),
        "a missing file is not an invalid one: {err}"
    );

    TomlConfig::for_workspace(&ws)
        .feed("wire", "https://news.example.org/rss")
        .rule("accords", "\"Abraham Accords\"", &["out"])
        .stdout_sink("out")
        .write(&ws);
    let out = ws.watchword(&["alerts", "--rule", "acords"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("no rule named \"acords\" in the config (rules: accords)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_feed_url_takes_its_secret_from_the_environment() {
    let ws = Workspace::new();
    let feeds = FeedServer::start();
    feeds.put_json(
        "/paid/wire.json",
        &common::json_feed(&[common::KAZAKHSTAN_JOINS]),
    );
    let url = format!("{}/${{WW_TEST_FEED_PATH}}/wire.json", feeds.base);
    TomlConfig::for_workspace(&ws)
        .feed("wire", &url)
        .rule("accords", "\"Abraham Accords\"", &["out"])
        .stdout_sink("out")
        .write(&ws);
    let out = watchword_command(&ws.config_path())
        .arg("once")
        .env("WW_TEST_FEED_PATH", "paid")
        .output()
        .expect("run once");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("\"id\":\"kz\""), "{}", stdout(&out));
    assert_eq!(feeds.hits("/paid/wire.json"), 1);
    // Unset, it is a config error at the url's place, not a request for `/$%7B…`.
    let out = watchword_command(&ws.config_path())
        .arg("check")
        .env_remove("WW_TEST_FEED_PATH")
        .output()
        .expect("run check");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("WW_TEST_FEED_PATH"),
        "{}",
        stderr(&out)
    );
}

/// Runs `watchword ARGS` on a pseudo-terminal (util-linux `script`), where colour is on
/// unless `NO_COLOR` says otherwise; returns what the terminal showed. `None` without `script`.
fn on_a_terminal(ws: &Workspace, no_color: bool, args: &str) -> Option<String> {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        return None;
    }
    let binary = env!("CARGO_BIN_EXE_watchword");
    let command = format!("{binary} --config {} {args}", ws.config_path().display());
    let mut script = std::process::Command::new("script");
    script
        .args(["-qec", &command, "/dev/null"])
        .env_remove("NO_COLOR")
        // The default filter is what a person at a terminal gets.
        .env_remove("WATCHWORD_LOG")
        .env_remove("RUST_LOG");
    if no_color {
        script.env("NO_COLOR", "1");
    }
    let out = script.output().expect("run script");
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn no_color_turns_colour_off_in_logs_too() {
    let ws = Workspace::new();
    TomlConfig::for_workspace(&ws)
        .feed("broken", &common::unused_local_url("/nothing.json"))
        .rule("accords", "\"Abraham Accords\"", &["out"])
        .stdout_sink("out")
        .write(&ws);
    let Some(coloured) = on_a_terminal(&ws, false, "once") else {
        eprintln!("skipped: no `script` to give watchword a terminal");
        return;
    };
    // Colour is SGR (`ESC[…m`); the progress bar's line clearing (`ESC[2K`) is not colour.
    let colour = regex::Regex::new("\u{1b}\\[[0-9;]*m").expect("regex");
    // The failing feed's warning is coloured on a terminal…
    assert!(coloured.contains("feed \"broken\" failed"), "{coloured:?}");
    assert!(
        colour.is_match(&coloured),
        "no colour on a terminal: {coloured:?}"
    );
    // …and plain with NO_COLOR.
    let plain = on_a_terminal(&ws, true, "once").unwrap_or_default();
    assert!(plain.contains("feed \"broken\" failed"), "{plain:?}");
    assert!(!colour.is_match(&plain), "NO_COLOR ignored: {plain:?}");
}

/// The lines a terminal shows for `output`: on each line only what the last carriage return
/// (and line clear) left, without colour.
fn screen_lines(output: &str) -> Vec<String> {
    let escapes = regex::Regex::new("\u{1b}\\[[0-9;]*[A-Za-z]").expect("regex");
    output
        .split('\n')
        .map(|line| {
            let line = line.trim_end_matches('\r');
            let last = line.rsplit('\r').next().unwrap_or_default();
            escapes.replace_all(last, "").into_owned()
        })
        .collect()
}

#[test]
fn log_lines_and_alerts_go_above_the_progress_bar_of_once() {
    let ws = Workspace::new();
    let feeds = FeedServer::start();
    feeds.put_json(
        "/fast.json",
        &common::json_feed(&[common::KAZAKHSTAN_JOINS]),
    );
    // Fails once the bar already shows the fast feed done: its warning used to land on the
    // bar's line, after `1/2 feeds`.
    feeds.put_slow_rss(
        "/slow.xml",
        "this is not a feed",
        std::time::Duration::from_millis(800),
    );
    TomlConfig::for_workspace(&ws)
        .feed("fast", &feeds.url("/fast.json"))
        .feed("slow", &feeds.url("/slow.xml"))
        .rule("accords", "\"Abraham Accords\"", &["out"])
        .stdout_sink("out")
        .write(&ws);
    let Some(screen) = on_a_terminal(&ws, true, "once") else {
        eprintln!("skipped: no `script` to give watchword a terminal");
        return;
    };
    assert!(screen.contains("feeds"), "no progress bar: {screen:?}");
    let lines = screen_lines(&screen);
    let warning = lines
        .iter()
        .find(|l| l.contains("feed \"slow\" failed"))
        .unwrap_or_else(|| panic!("no warning for the slow feed: {lines:#?}"));
    assert!(
        !warning.contains("feeds"),
        "shredded by the bar: {lines:#?}"
    );
    let alert = lines
        .iter()
        .find(|l| l.contains("\"type\":\"watchword.alert\""))
        .unwrap_or_else(|| panic!("no alert printed: {lines:#?}"));
    assert!(alert.starts_with('{'), "shredded by the bar: {lines:#?}");
    assert!(
        lines.iter().any(|l| l.contains("pass complete")),
        "{lines:#?}"
    );
    // On a terminal the default leaves out the per-feed lines; warnings stay.
    assert!(
        !lines.iter().any(|l| l.contains("feed polled")),
        "{lines:#?}"
    );

    // Pipes (and so the journal and log files) keep every line at the default level, and no bar.
    let ws = Workspace::new();
    TomlConfig::for_workspace(&ws)
        .feed("fast", &feeds.url("/fast.json"))
        .rule("accords", "\"Abraham Accords\"", &["out"])
        .stdout_sink("out")
        .write(&ws);
    let out = watchword_command(&ws.config_path())
        .arg("once")
        .env_remove("WATCHWORD_LOG")
        .output()
        .expect("run once");
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("feed polled"), "{log}");
    assert!(!log.contains("feeds  "), "a bar in a pipe: {log}");
}
