use std::path::Path;
use std::time::Duration;

use super::*;

const GOOD: &str = r#"
[daemon]
database = "state/watchword.db"
poll_interval = "90s"
max_age = "3d"

[groups]
central_asia = ["Kazakhstan", "Kazakh*", "Uzbekistan"]
abraham_accords = ['"Abraham Accords"']

[[feed]]
name = "wire"
url = "https://news.example.org/rss.xml"
tags = ["world"]

[[feed]]
name = "local"
url = "file://demo/feed.xml"
interval = "1h"

[[rule]]
name = "ca-aa"
query = "@central_asia AND @abraham_accords"
notify = ["out"]

[[sink]]
name = "out"
kind = "stdout"
"#;

// Through the load step: these tests cover rule and group errors too.
fn load(source: &str) -> Result<crate::runtime::Runtime, ConfigError> {
    crate::runtime::from_source(Path::new("/etc/watchword/test.toml"), source)
}

fn problems(source: &str) -> Vec<String> {
    match load(source) {
        Ok(_) => panic!("config should have been rejected"),
        Err(ConfigError::Invalid(d)) => d.iter().map(|d| d.to_string()).collect(),
        Err(other) => panic!("unexpected error {other}"),
    }
}

#[test]
fn loads_a_complete_config() {
    let config = load(GOOD).expect("valid config");
    assert_eq!(
        config.daemon.database.sqlite_path(),
        Some(Path::new("/etc/watchword/state/watchword.db"))
    );
    assert_eq!(config.daemon.poll_interval, Duration::from_secs(90));
    assert_eq!(config.daemon.max_age, Duration::from_secs(3 * 86400));
    assert_eq!(config.feeds.len(), 2);
    assert_eq!(config.feeds[0].interval, Duration::from_secs(90));
    assert_eq!(config.feeds[1].interval, Duration::from_secs(3600));
    assert_eq!(config.feeds[1].url, "file:///etc/watchword/demo/feed.xml");
    assert_eq!(config.rules[0].notify, vec!["out".to_string()]);
    assert_eq!(config.ruleset.len(), 1);
}

#[test]
fn unknown_key_is_located() {
    let source = GOOD.replace("tags = [\"world\"]", "tgas = [\"world\"]");
    let p = problems(&source);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].starts_with("/etc/watchword/test.toml:14:1: "), "{p:?}");
    assert!(p[0].contains("tgas"), "{p:?}");
}

#[test]
fn syntax_error_is_located() {
    let source = GOOD.replace("name = \"wire\"", "name = \"wire");
    let p = problems(&source);
    assert!(
        p[0].starts_with("/etc/watchword/test.toml:12:13: "),
        "{p:?}"
    );
}

#[test]
fn bad_duration_names_the_value() {
    let source = GOOD.replace("\"90s\"", "\"ninety\"");
    let p = problems(&source);
    assert!(p[0].starts_with("/etc/watchword/test.toml:4:17: "), "{p:?}");
    assert!(p[0].contains("invalid duration \"ninety\""), "{p:?}");
}

#[test]
fn unknown_sink_and_unknown_group_are_reported_together() {
    let source = GOOD
        .replace("notify = [\"out\"]", "notify = [\"slack\"]")
        .replace("@abraham_accords", "@abraham");
    let p = problems(&source);
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(
        p.iter()
            .any(|m| m.contains(":24:11: ") && m.contains("unknown sink \"slack\"")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|m| m.contains(":23:28: ") && m.contains("rule \"ca-aa\": unknown group @abraham")),
        "{p:?}"
    );
}

#[test]
fn rule_syntax_error_points_into_the_query() {
    let source = GOOD.replace(
        "query = \"@central_asia AND @abraham_accords\"",
        "query = \"@central_asia AND (\"",
    );
    let p = problems(&source);
    assert_eq!(p.len(), 1, "{p:?}");
    // Line 23 is the query; the column points past the parenthesis, inside the string.
    assert!(
        p[0].starts_with("/etc/watchword/test.toml:23:29: "),
        "{p:?}"
    );
    assert!(p[0].contains("ca-aa"), "{p:?}");
}

#[test]
fn webhook_needs_a_url_and_stdout_takes_none() {
    let source = GOOD.replace("kind = \"stdout\"", "kind = \"webhook\"");
    assert!(problems(&source)[0].contains("has no url"));
    let source = GOOD.replace(
        "kind = \"stdout\"",
        "kind = \"stdout\"\nurl = \"https://example.org/hook\"",
    );
    assert!(problems(&source)[0].contains("takes no url"));
}

#[test]
fn env_references_expand_and_missing_ones_are_errors() {
    // SAFETY (test-only): the variable name is unique to this test.
    unsafe { std::env::set_var("WATCHWORD_TEST_HOOK_URL", "https://hooks.example.org/T/B/X") };
    let source = GOOD.replace(
        "kind = \"stdout\"",
        "kind = \"webhook\"\nurl = \"${WATCHWORD_TEST_HOOK_URL}\"",
    );
    let config = load(&source).expect("valid");
    assert_eq!(
        config.sinks[0].url.as_deref(),
        Some("https://hooks.example.org/T/B/X")
    );
    let source = GOOD.replace(
        "kind = \"stdout\"",
        "kind = \"webhook\"\nurl = \"${WATCHWORD_TEST_UNSET_VARIABLE}\"",
    );
    assert!(problems(&source)[0].contains("WATCHWORD_TEST_UNSET_VARIABLE is not set"));
}

#[test]
fn duplicate_names_and_bad_schemes() {
    let source = GOOD.replace("name = \"local\"", "name = \"wire\"");
    assert!(problems(&source)[0].contains("duplicate feed name \"wire\""));
    let source = GOOD.replace(
        "https://news.example.org/rss.xml",
        "ftp://news.example.org/rss.xml",
    );
    assert!(problems(&source)[0].contains("unsupported URL scheme \"ftp\""));
}

#[test]
fn env_expansion_escapes() {
    assert_eq!(expand_env("a$${b}c").as_deref(), Ok("a${b}c"));
    assert!(expand_env("${unterminated").is_err());
}

#[test]
fn daemon_values_are_checked_where_they_are_written() {
    let source = GOOD.replace(
        "max_age = \"3d\"",
        "max_age = \"3d\"\nfetch_timeout = \"0s\"",
    );
    let p = problems(&source);
    assert!(
        p[0].starts_with("/etc/watchword/test.toml:6:17: fetch_timeout must be longer than 0s"),
        "{p:?}"
    );
    let source = GOOD.replace(
        "max_age = \"3d\"",
        "max_age = \"3d\"\nuser_agent = \"w\u{f8}tchword\"",
    );
    let p = problems(&source);
    assert!(
        p[0].starts_with("/etc/watchword/test.toml:6:14: user_agent must be printable ASCII"),
        "{p:?}"
    );
}

#[test]
fn multiline_query_errors_point_at_the_right_column() {
    let source = GOOD.replace(
        "query = \"@central_asia AND @abraham_accords\"",
        "query = \"\"\"\n@central_asia AND )\"\"\"",
    );
    let p = problems(&source);
    // The `)` is on the line after the opening quotes, column 19.
    assert!(
        p[0].starts_with("/etc/watchword/test.toml:24:19: "),
        "{p:?}"
    );
}

#[test]
fn unused_groups_are_checked_too() {
    let source = GOOD.replace(
        "abraham_accords = ['\"Abraham Accords\"']",
        "abraham_accords = ['\"Abraham Accords\"']\nunused = []\nbroken = ['(']",
    );
    let p = problems(&source);
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(
        p.iter()
            .any(|m| m.contains(":10:") && m.contains("group @unused is empty")),
        "{p:?}"
    );
    assert!(
        p.iter().any(|m| m.contains(":11:") && m.contains("broken")),
        "{p:?}"
    );
}

#[test]
fn a_group_may_not_hide_a_built_in_place() {
    let source = GOOD.replace(
        "abraham_accords = ['\"Abraham Accords\"']",
        "abraham_accords = ['\"Abraham Accords\"']\n\"region:central-asia\" = [\"Kazakhstan\"]",
    );
    let p = problems(&source);
    assert!(
        p.iter().any(|m| m.contains(":10:")
            && m.contains("would hide the built-in place @region:central-asia")),
        "{p:?}"
    );
}

#[test]
fn poller_keys_have_defaults_and_are_checked() {
    let config = load(GOOD).expect("valid config");
    let d = &config.daemon;
    assert_eq!(d.per_host_concurrency, 2);
    assert_eq!(d.max_backoff, Duration::from_secs(6 * 3600));
    assert_eq!(d.max_interval, Duration::from_secs(4 * 3600));
    assert!(d.feed_events.is_empty());
    assert_eq!(config.feeds[0].stale_after, None);

    let source = GOOD
        .replace(
            "max_age = \"3d\"",
            "max_age = \"3d\"\nper_host_concurrency = 0\nmin_interval = \"5m\"\nmax_interval = \"1m\"\nfeed_events = [\"pager\"]\nstale_after = \"2d\"",
        )
        .replace("tags = [\"world\"]", "tags = [\"world\"]\nstale_after = \"0s\"");
    let p = problems(&source);
    let expected = [
        "test.toml:6:24: per_host_concurrency must be at least 1",
        "test.toml:8:16: max_interval must not be shorter than min_interval",
        "test.toml:9:16: feed_events names unknown sink \"pager\" (defined sinks: out)",
        "test.toml:20:15: feed \"wire\": stale_after must be longer than 0s",
    ];
    for want in expected {
        assert!(
            p.iter()
                .any(|line| line.ends_with(want) || line.contains(want)),
            "{want} not in {p:?}"
        );
    }

    let source = GOOD.replace(
        "max_age = \"3d\"",
        "max_age = \"3d\"\nstale_after = \"2d\"\nmin_interval = \"2m\"",
    );
    let config = load(&source).expect("valid config");
    assert_eq!(
        config.feeds[0].stale_after,
        Some(Duration::from_secs(2 * 86400))
    );
    // min_interval raises feed intervals below it.
    assert_eq!(config.feeds[0].interval, Duration::from_secs(120));
}

#[test]
fn article_keys_have_defaults_and_are_checked() {
    let config = load(GOOD).expect("valid config");
    let d = &config.daemon;
    assert_eq!(d.article_pages, 5);
    assert_eq!(d.article_max_size, 2 << 20);
    assert_eq!(d.article_timeout, Duration::from_secs(10));
    assert!(!config.feeds[0].read_articles, "off unless asked for");

    let source = GOOD
        .replace(
            "max_age = \"3d\"",
            "max_age = \"3d\"\narticle_pages = 0\narticle_max_size = \"100 B\"\narticle_timeout = \"0s\"",
        );
    let p = problems(&source);
    let expected = [
        "test.toml:6:17: article_pages must be between 1 and 100",
        "test.toml:7:20: article_max_size must be at least 1 KiB",
        "test.toml:8:19: article_timeout must be longer than 0s",
    ];
    for want in expected {
        assert!(
            p.iter().any(|line| line.contains(want)),
            "{want} not in {p:?}"
        );
    }
    let source = GOOD.replace(
        "tags = [\"world\"]",
        "tags = [\"world\"]\nread_articles = \"yes\"",
    );
    let p = problems(&source);
    assert!(
        p.iter()
            .any(|line| line.contains("test.toml:15:17") && line.contains("boolean")),
        "{p:?}"
    );

    let source = GOOD
        .replace(
            "max_age = \"3d\"",
            "max_age = \"3d\"\narticle_pages = 2\narticle_max_size = \"64 KiB\"",
        )
        .replace(
            "tags = [\"world\"]",
            "tags = [\"world\"]\nread_articles = true",
        );
    let config = load(&source).expect("valid config");
    assert!(config.feeds[0].read_articles);
    assert_eq!(config.daemon.article_pages, 2);
    assert_eq!(config.daemon.article_max_size, 64 << 10);
}

#[test]
fn rule_scope_and_priority() {
    let source = GOOD.replace(
        "notify = [\"out\"]\n",
        "notify = [\"out\"]\nfeeds = [\"local\"]\ntags = [\"world\"]\npriority = \"urgent\"\n",
    );
    let config = load(&source).expect("valid config");
    let rule = config.rule("ca-aa").expect("rule");
    assert_eq!(rule.priority, Priority::Urgent);
    assert!(rule.applies_to(&config.feeds[0]), "by tag");
    assert!(rule.applies_to(&config.feeds[1]), "by name");
    let other = FeedConfig {
        name: "other".into(),
        url: "https://x.example/".into(),
        interval: Duration::from_secs(60),
        tags: vec!["sport".into()],
        stale_after: None,
        read_articles: false,
    };
    assert!(!rule.applies_to(&other));
    // Unscoped rules apply everywhere, at normal priority.
    let config = load(GOOD).expect("valid config");
    let rule = config.rule("ca-aa").expect("rule");
    assert!(rule.applies_to(&other));
    assert_eq!(rule.priority, Priority::Normal);
}

#[test]
fn rule_scope_must_name_real_feeds_and_tags() {
    let source = GOOD.replace(
        "notify = [\"out\"]\n",
        "notify = [\"out\"]\nfeeds = [\"wirre\"]\ntags = [\"wrld\"]\n",
    );
    let p = problems(&source);
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(
        p[0].ends_with(
            "rule \"ca-aa\" is scoped to unknown feed \"wirre\" (defined feeds: local, wire)"
        ),
        "{p:?}"
    );
    assert!(p[0].starts_with("/etc/watchword/test.toml:25:10:"), "{p:?}");
    assert!(
        p[1].ends_with(
            "rule \"ca-aa\" is scoped to tag \"wrld\", which no feed has (tags in use: world)"
        ),
        "{p:?}"
    );
    let bad = GOOD.replace(
        "notify = [\"out\"]\n",
        "notify = [\"out\"]\npriority = \"asap\"\n",
    );
    let p = problems(&bad);
    assert!(p[0].contains("unknown variant `asap`"), "{p:?}");
}

#[test]
fn database_connections_sizes_the_postgres_pool_and_is_checked() {
    let with = |daemon: &str| GOOD.replace("database = \"state/watchword.db\"", daemon);
    let pool = |source: &str| match &load(source).expect("valid config").daemon.database {
        Database::Postgres(url) => url.connections(),
        Database::Sqlite(_) => panic!("a PostgreSQL database"),
    };
    let url = "database = \"postgres://ww@db.internal/watchword\"";
    assert_eq!(pool(&with(url)), crate::model::DEFAULT_DATABASE_CONNECTIONS);
    assert_eq!(pool(&with(&format!("{url}\ndatabase_connections = 3"))), 3);
    for wrong in ["0", "1001"] {
        assert_eq!(
            problems(&with(&format!("{url}\ndatabase_connections = {wrong}"))),
            vec![
                "/etc/watchword/test.toml:4:24: database_connections must be between 1 and \
                 1000: each is a session on the PostgreSQL server, counted against its \
                 max_connections (with every replica's, plus one listener each)"
                    .to_string()
            ]
        );
    }
    // On SQLite it means nothing: said, not refused.
    let sqlite = load(&GOOD.replace(
        "poll_interval = \"90s\"",
        "poll_interval = \"90s\"\ndatabase_connections = 4",
    ))
    .expect("valid config");
    assert!(
        sqlite.warnings.iter().any(|w| w
            .to_string()
            .contains("database_connections applies to a PostgreSQL database only")),
        "{:?}",
        sqlite.warnings
    );
}
