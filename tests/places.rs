//! Built-in places (`@region:`, `@country:`, `@bloc:`) through the real binary: a dry run of a
//! region rule over a feed served on 127.0.0.1 in several languages and spellings, the same rule
//! in a config run by the daemon, `watchword groups`, and a bad reference in a config.

mod common;

use std::collections::BTreeSet;

use common::*;

const REGION_RULE: &str = r#"@region:central-asia AND "Abraham Accords""#;

/// (guid, title, should the region rule match?)
const ITEMS: &[(&str, &str, bool)] = &[
    (
        "kz-en",
        "Kazakhstan will sign the Abraham Accords next week, officials confirm",
        true,
    ),
    (
        "kz-ru",
        "Президент Казахстана подтвердил присоединение к Abraham Accords",
        true,
    ),
    (
        "kz-diacritics",
        "Qazaqstan envoy: KAZAKHSTÁN’s place in the Abraham Accords is settled",
        true,
    ),
    ("kz-ar", "وكازاخستان تنضم رسميا إلى Abraham Accords", true),
    (
        "uz-en",
        "Uzbek diplomats quietly study the Abraham Accords text",
        true,
    ),
    ("uz-ru", "В Узбекистане обсуждают Abraham Accords", true),
    (
        "az",
        "Azerbaijan and Israel discuss the Abraham Accords in Baku",
        false,
    ),
    (
        "ma",
        "Morocco marks five years inside the Abraham Accords",
        false,
    ),
    (
        "kz-wheat",
        "Kazakhstan wheat harvest sets a record as rains return",
        false,
    ),
];

fn feed() -> String {
    let entries: Vec<Entry> = ITEMS
        .iter()
        .enumerate()
        .map(|(i, (guid, title, _))| Entry {
            guid,
            title,
            // Each item its own text, so that no two are taken for one story.
            description: title,
            link: Box::leak(format!("https://wire.example.org/{guid}").into_boxed_str()),
            published: minutes_ago(10 + i as i64),
        })
        .collect();
    rss(&entries)
}

/// A config with one feed at `url` and one rule with `query`, alerting to stdout; the caller
/// adds any groups.
fn config(ws: &Workspace, url: &str, query: &str) -> TomlConfig {
    TomlConfig::for_workspace(ws)
        .feed("wire", url)
        .rule("places", query, &["out"])
        .stdout_sink("out")
}

#[test]
fn region_rule_matches_every_language_and_spelling_of_its_countries_only() {
    let server = FeedServer::start();
    server.put_rss("/feed.xml", &feed());
    let ws = Workspace::new();
    // No config at all: built-in places need none.
    let out = ws.watchword(&["test", "--query", REGION_RULE, &server.url("/feed.xml")]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}\n{text}", stderr(&out));
    let matched: BTreeSet<&str> = ITEMS
        .iter()
        .filter(|(_, title, _)| text.contains(&format!("MATCH query  {title}\n")))
        .map(|(guid, _, _)| *guid)
        .collect();
    let expected: BTreeSet<&str> = ITEMS
        .iter()
        .filter(|(_, _, hit)| *hit)
        .map(|(guid, _, _)| *guid)
        .collect();
    assert_eq!(matched, expected, "{text}");
    // The report quotes the item's own word under the rule's reference, not the generated
    // form that matched it (`казахстана`), nor a line per form of the reference.
    assert!(
        text.contains("+ @region:central-asia: \"Казахстана\" in title, summary\n"),
        "{text}"
    );
}

#[test]
fn the_daemon_alerts_on_a_region_rule_from_the_config() {
    let server = FeedServer::start();
    server.put_rss("/feed.xml", &feed());
    let ws = Workspace::new();
    config(
        &ws,
        &server.url("/feed.xml"),
        "@country:UZ[en,ru] AND @accords",
    )
    .group(
        "accords",
        r#"["Abraham Accords", "@bloc:abraham-accords[own]"]"#,
    )
    .write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ids: BTreeSet<String> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("one JSON alert per line"))
        .map(|alert| alert["item"]["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        ids,
        BTreeSet::from(["uz-en".to_owned(), "uz-ru".to_owned()])
    );
}

#[test]
fn groups_lists_built_in_places_and_shows_what_a_reference_matches() {
    let ws = Workspace::new();
    config(&ws, &unused_local_url("/feed.xml"), "@stans")
        .group("stans", r#"["@region:central-asia[en]", "Afghanistan"]"#)
        .write(&ws);
    let out = ws.watchword(&["groups"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(text.contains("@stans"), "{text}");
    assert!(text.contains("region:central-asia"), "{text}");
    assert!(text.contains("bloc:abraham-accords"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().eq(["country:KZ", "KAZ", "Kazakhstan"])),
        "{text}"
    );

    let out = ws.watchword(&["groups", "@region:central-asia", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let shown: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(
        shown["members"],
        serde_json::json!(["KG", "KZ", "TJ", "TM", "UZ"])
    );
    let forms: Vec<&str> = shown["forms"]
        .as_array()
        .expect("forms")
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    for form in [
        "Central Asia",
        "Kazakhstan",
        "Казахстана",
        "Uzbek",
        "Oʻzbekiston",
    ] {
        assert!(forms.contains(&form), "{form} not in {forms:?}");
    }

    // A config group expands through the built-in reference it names.
    let out = ws.watchword(&["groups", "stans"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        text.contains("Tajikistan") && text.contains("Afghanistan"),
        "{text}"
    );
    assert!(
        !text.contains("Таджикистан"),
        "only English was asked for: {text}"
    );
}

#[test]
fn a_bad_reference_in_the_config_says_where_and_what_to_write() {
    let ws = Workspace::new();
    config(
        &ws,
        &unused_local_url("/feed.xml"),
        r#"@country:Kazakhstan AND "Abraham Accords""#,
    )
    .write(&ws);
    let out = ws.watchword(&["check"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    // The reference starts the query, whose text starts in column 10 of line 10.
    assert!(
        err.contains("watchword.toml:10:10: rule \"places\""),
        "{err}"
    );
    assert!(
        err.contains("unknown country `Kazakhstan`; did you mean @country:KZ?"),
        "{err}"
    );

    let out = ws.watchword(&["groups", "region:central-asai"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("did you mean"), "{}", stderr(&out));
}
