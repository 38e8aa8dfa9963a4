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
