//! Each format's options, checked where the config writes them.

use std::path::Path;

use crate::alert::format::SinkFormat;
use crate::config::ConfigError;
use crate::runtime::Runtime;

fn with_sink(sink: &str) -> Result<Runtime, ConfigError> {
    let source = format!(
        "[[feed]]\nname = \"f\"\nurl = \"https://example.org/rss\"\n\
         [[rule]]\nname = \"r\"\nquery = \"x\"\nnotify = [\"s\"]\n\
         [[sink]]\nname = \"s\"\n{sink}"
    );
    crate::runtime::from_source(Path::new("/etc/watchword/w.toml"), &source)
}

fn problems(sink: &str) -> String {
    match with_sink(sink) {
        Ok(_) => panic!("should be rejected: {sink}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn formats_get_their_defaults_and_options() {
    let config = with_sink(
        "kind = \"webhook\"\nurl = \"https://hooks.slack.com/services/T/B/X\"\nformat = \"slack\"\n\
         digest = \"15m\"\ngive_up_after = \"1d\"\nretry_schedule = [\"10s\", \"1m\"]\n",
    )
    .expect("valid");
    let sink = &config.sinks[0];
    assert_eq!(sink.format, SinkFormat::Slack);
    assert_eq!(
        sink.rate_limit.map(|r| r.to_string()).as_deref(),
        Some("1/s")
    );
    assert_eq!(sink.digest, Some(std::time::Duration::from_secs(900)));
    assert_eq!(sink.give_up_after.as_secs(), 86_400);
    assert_eq!(sink.retry_schedule.len(), 2);
    assert!(sink.secrets.iter().any(|s| s.contains("/T/B/X")));
    // `{:?}` of a sink never shows the URL's secret part.
    assert!(!format!("{sink:?}").contains("/T/B/X"));
    let config = with_sink(
        "kind = \"webhook\"\nurl = \"https://example.org/h\"\nrate_limit = \"none\"\n\
         secret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n",
    )
    .expect("valid");
    assert_eq!(config.sinks[0].rate_limit, None);
    assert_eq!(config.sinks[0].signing_key.as_ref().map(Vec::len), Some(24));
}

#[test]
fn each_format_says_what_it_is_missing_with_a_location() {
    let e = problems(
        "kind = \"webhook\"\nurl = \"https://api.telegram.org/botX/sendMessage\"\nformat = \"telegram\"\n",
    );
    assert!(
        e.contains("w.toml:9:8: sink \"s\" (format telegram) needs chat_id"),
        "{e}"
    );
    let e = problems(
        "kind = \"webhook\"\nurl = \"https://m.example\"\nformat = \"matrix\"\nroom = \"!r:m\"\n",
    );
    assert!(e.contains("needs token"), "{e}");
    let e = problems("kind = \"webhook\"\nurl = \"https://x.example\"\nformat = \"template\"\n");
    assert!(e.contains("needs template"), "{e}");
    let e = problems(
        "kind = \"webhook\"\nurl = \"https://x.example\"\nformat = \"slack\"\nchat_id = \"1\"\n",
    );
    assert!(e.contains("chat_id is not used by format slack"), "{e}");
    let e = problems(
        "kind = \"webhook\"\nurl = \"https://x.example\"\nformat = \"slack\"\nsecret = \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"\n",
    );
    assert!(e.contains("slack does not use it"), "{e}");
    let e =
        problems("kind = \"webhook\"\nurl = \"https://x.example\"\nsecret = \"hunter2hunter2\"\n");
    assert!(e.contains("whsec_") && !e.contains("hunter2"), "{e}");
    let e = problems("kind = \"webhook\"\nurl = \"https://x.example\"\nrate_limit = \"fast\"\n");
    assert!(
        e.contains("w.toml:12:14") && e.contains("\"30/min\""),
        "{e}"
    );
    let e = problems(
        "kind = \"webhook\"\nurl = \"https://x.example\"\nformat = \"template\"\ntemplate = '{\"t\": \"{{ title }}\"}'\n",
    );
    assert!(e.contains("without quotes"), "{e}");
    let e = problems("kind = \"stdout\"\nformat = \"discord\"\n");
    assert!(e.contains("format = \"json\" only"), "{e}");
    let e = problems(
        "kind = \"webhook\"\nurl = \"https://x.example\"\nheaders = { \"Bad Name\" = \"v\" }\n",
    );
    assert!(e.contains("not a valid header name"), "{e}");
    let e = problems("kind = \"webhook\"\nurl = \"${credential:hook}\"\n");
    assert!(e.contains("LoadCredential=hook"), "{e}");
}

#[test]
fn unknown_formats_keys_and_types_are_schema_errors_at_their_place() {
    let e = problems("kind = \"webhook\"\nurl = \"https://x.example\"\nformat = \"slak\"\n");
    assert!(
        e.contains(
            "w.toml:12:10: unknown variant `slak`, expected one of `json`, `slack`, `discord`, \
             `teams`, `ntfy`, `telegram`, `mattermost`, `matrix`, `template`"
        ),
        "{e}"
    );
    // Reported with the file's other problems, in the file's order: a schema error hides
    // nothing else (issue 17, item 14).
    let e = problems("kind = \"webhook\"\nurl = \"ftp://x.example\"\nchatid = \"1\"\n");
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 2, "{e}");
    assert!(lines[0].starts_with("/etc/watchword/w.toml:11:"), "{e}");
    assert!(lines[0].contains("ftp"), "{e}");
    assert!(
        lines[1].starts_with("/etc/watchword/w.toml:12:1: unknown field `chatid`, expected one of"),
        "{e}"
    );
    assert!(lines[1].contains("`chat_id`"), "{e}");
    let e = problems(
        "kind = \"webhook\"\nurl = \"https://x.example\"\nformat = \"telegram\"\nchat_id = 5\n",
    );
    assert!(
        e.contains("w.toml:13:11: invalid type: integer `5`, expected a string"),
        "{e}"
    );
    let e = problems(
        "kind = \"webhook\"\nurl = \"https://x.example\"\nformat = \"ntfy\"\nroom = \"!r:m\"\n",
    );
    assert!(
        e.contains("w.toml:13:8: sink \"s\": room is not used by format ntfy; remove it"),
        "{e}"
    );
}

#[test]
fn format_secrets_are_scrubbed_even_when_written_in_the_clear() {
    let config = with_sink(
        "kind = \"webhook\"\nurl = \"https://m.example\"\nformat = \"matrix\"\n\
         room = \"!r:m\"\ntoken = \"syt_plain_token\"\n",
    )
    .expect("valid");
    let sink = &config.sinks[0];
    assert_eq!(sink.scrub("denied for syt_plain_token"), "denied for …");
    assert!(!format!("{sink:?}").contains("syt_plain_token"));
    // SAFETY (test-only): the variable name is unique to this test.
    unsafe { std::env::set_var("WATCHWORD_TEST_NTFY_TOKEN", "tk_from_env_1234") };
    let config = with_sink(
        "kind = \"webhook\"\nurl = \"https://n.example/t\"\nformat = \"ntfy\"\n\
         token = \"${WATCHWORD_TEST_NTFY_TOKEN}\"\n",
    )
    .expect("valid");
    let sink = &config.sinks[0];
    assert_eq!(sink.scrub("tk_from_env_1234"), "…");
    let e = problems(
        "kind = \"webhook\"\nurl = \"https://n.example/t\"\nformat = \"matrix\"\n\
         room = \"!r:m\"\ntoken = \"${WATCHWORD_TEST_UNSET_TOKEN}\"\n",
    );
    // The unexpandable token is reported once, not also as missing.
    assert!(
        e.contains("w.toml:14:9: sink \"s\": token: environment variable"),
        "{e}"
    );
    assert!(!e.contains("needs token"), "{e}");
}
