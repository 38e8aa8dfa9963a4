//! Bad configs: each is refused with a message that says where and what, and nothing panics.

mod common;

use common::*;

const VALID: &str = r#"
[daemon]
database = "state.db"
poll_interval = "5m"

[groups]
central_asia = ["Kazakhstan", "Kazakh*", "Uzbekistan"]
abraham_accords = ['"Abraham Accords"']

[[feed]]
name = "wire"
url = "https://news.example.org/rss.xml"

[[rule]]
name = "ca-aa"
query = "@central_asia AND @abraham_accords"
notify = ["console"]

[[sink]]
name = "console"
kind = "stdout"
"#;

/// Runs `check` and `once` on `toml`; both must fail with `expected` in stderr.
fn assert_rejected(toml: &str, expected: &[&str]) {
    let ws = Workspace::new();
    let path = ws.write_config(toml);
    for command in ["check", "once"] {
        let out = ws.watchword(&[command]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{command}: {err}");
        for needle in expected {
            let needle = needle.replace("{path}", &path.display().to_string());
            assert!(
                err.contains(&needle),
                "{command}: expected {needle:?} in:\n{err}"
            );
        }
    }
    assert!(!ws.database().exists(), "a bad config touches no database");
}

#[test]
fn the_valid_config_checks() {
    let ws = Workspace::new();
    ws.write_config(VALID);
    let out = ws.watchword(&["check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary = stdout(&out);
    assert!(summary.contains("1 feed(s)"), "{summary}");
    assert!(summary.contains("wire"), "{summary}");
    assert!(summary.contains("1 rule(s)"), "{summary}");
    assert!(summary.contains("ca-aa"), "{summary}");
    assert!(summary.contains("console"), "{summary}");
}

#[test]
fn toml_syntax_error() {
    let toml = VALID.replace("name = \"wire\"", "name = \"wire");
    assert_rejected(&toml, &["{path}:11:13:"]);
}

#[test]
fn unknown_key() {
    let toml = VALID.replace("poll_interval", "poll_intervall");
    assert_rejected(&toml, &["{path}:4:1:", "poll_intervall"]);
}

#[test]
fn rule_naming_a_missing_group() {
    let toml = VALID.replace("@abraham_accords", "@abraham_accord");
    assert_rejected(&toml, &["{path}:16:28:", "ca-aa", "abraham_accord"]);
}

#[test]
fn rule_naming_a_missing_sink() {
    let toml = VALID.replace("notify = [\"console\"]", "notify = [\"slack\"]");
    assert_rejected(&toml, &["{path}:17:11:", "ca-aa", "unknown sink \"slack\""]);
}

#[test]
fn rule_with_a_syntax_error() {
    let toml = VALID.replace(
        "query = \"@central_asia AND @abraham_accords\"",
        "query = \"@central_asia AND (@abraham_accords\"",
    );
    assert_rejected(&toml, &["{path}:16:45:", "ca-aa"]);
}

#[test]
fn bad_duration() {
    let toml = VALID.replace("\"5m\"", "\"five minutes\"");
    assert_rejected(&toml, &["{path}:4:17:", "invalid duration"]);
}

#[test]
fn missing_config_file() {
    let ws = Workspace::new();
    let out = ws.watchword(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("cannot read config file"), "{err}");
    assert!(err.contains("watchword.toml"), "{err}");
}

#[test]
fn config_comes_from_the_environment_too() {
    let ws = Workspace::new();
    let path = ws.write_config(VALID);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_watchword"))
        .arg("check")
        .env("WATCHWORD_CONFIG", &path)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
}

/// A schema error (a value of the wrong type, an unknown key, an unknown format) hides none
/// of the file's other problems: all of them, in the file's order, each at its place
/// (issue 17, item 14).
#[test]
fn every_problem_is_reported_beside_schema_errors() {
    let toml = r#"[daemon]
database = "state.db"
poll_interval = "five minutes"

[[feed]]
name = "typed"
url = 5

[[feed]]
name = "wire"
url = "https://news.example.org/rss.xml"
intervall = "5m"

[[rule]]
name = "ca-aa"
query = "Kazakhstan AND ("
notify = ["console", "nowhere"]

[[sink]]
name = "console"
kind = "webhook"
url = "https://hooks.example.org/T000"
format = "slackk"
"#;
    let ws = Workspace::new();
    let path = ws.write_config(toml);
    let out = ws.watchword(&["check"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let at = |place: &str| format!("{}:{place}: ", path.display());
    let expected = [
        (at("3:17"), "invalid duration"),
        (at("7:7"), "invalid type: integer `5`, expected a string"),
        (at("12:1"), "unknown field `intervall`"),
        (at("16:26"), "rule \"ca-aa\""),
        (at("17:22"), "unknown sink \"nowhere\""),
        (at("23:10"), "unknown variant `slackk`"),
    ];
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with(&path.display().to_string()))
        .collect();
    assert_eq!(lines.len(), expected.len(), "{err}");
    for (line, (place, message)) in lines.iter().zip(&expected) {
        assert!(
            line.starts_with(place.as_str()) && line.contains(message),
            "expected {place}{message} in:\n{err}"
        );
    }
    // The feed whose url was refused is not also "missing field `url`".
    assert!(!err.contains("missing field"), "{err}");
    assert!(!ws.database().exists());
}

#[test]
fn a_feed_without_a_url_is_reported_with_the_rest() {
    let toml = VALID
        .replace(
            "url = \"https://news.example.org/rss.xml\"",
            "url = \"https://news.example.org/rss.xml\"\n\n[[feed]]\nname = \"nourl\"",
        )
        .replace("poll_interval = \"5m\"", "poll_interval = 300");
    assert_rejected(
        &toml,
        &[
            "{path}:4:17: invalid type: integer `300`, expected a string",
            "{path}:14:1: missing field `url`",
        ],
    );
}

#[test]
fn redelivering_without_a_database_says_so_and_creates_none() {
    let ws = Workspace::new();
    ws.write_config(VALID);
    let out = ws.watchword(&["redeliver", "ww_nope"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("no database"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no alert ww_nope"),
        "{}",
        stderr(&out)
    );
    assert!(!ws.dir.path().join("state.db").exists());
}
