//! One alert per story: several outlets, reworded headlines, tracking parameters, restarts
//! and edits, end to end through the real binary, a feed server and a webhook receiver.

mod common;

use common::*;
use watchword::store::Store;

const OUTLETS: [&str; 5] = ["steppe", "gulf", "capital", "ledger", "courier"];

/// One invented story as five outlets ran it: new headlines, a lead that is copied from the
/// wire with small edits, as syndication does.
const HEADLINES: [&str; 5] = [
    "Kazakhstan to join Abraham Accords, White House says",
    "UPDATE 1-Kazakhstan set to sign up to the Abraham Accords",
    "Astana will join Abraham Accords in nod to Washington | Capital Daily",
    "BREAKING: Kazakhstan joins Abraham Accords",
    "Kazakhstan becomes the latest state to join the Abraham Accords",
];
const LEADS: [&str; 5] = [
    "Kazakhstan will join the Abraham Accords, the White House said on Thursday, becoming the first Central Asian state to normalise ties with Israel under the pact.",
    "Kazakhstan will join the Abraham Accords, the White House said on Thursday, the first Central Asian state to normalise ties with Israel under the pact. Adds analyst comment.",
    "The White House said on Thursday that Kazakhstan will join the Abraham Accords, becoming the first Central Asian state to normalise ties with Israel.",
    "Kazakhstan will join the Abraham Accords, becoming the first Central Asian state to normalise ties with Israel, the White House said.",
    "Kazakhstan will join the Abraham Accords, the White House said on Thursday, becoming the first Central Asian nation to normalise ties with Israel under the pact.",
];

const RULE: (&str, &str) = ("central-asia-abraham", "@central_asia AND @abraham_accords");

/// One feed per outlet in `names`, each at `/<name>.xml` on `feeds`; no rule, no sink.
fn outlets(ws: &Workspace, feeds: &FeedServer, names: &[&str]) -> TomlConfig {
    names.iter().fold(
        TomlConfig::for_workspace(ws).shared_groups(),
        |config, name| config.feed(name, &feeds.url(&format!("/{name}.xml"))),
    )
}

/// [`outlets`] with the rule [`RULE`] (and `rule_extra` keys) alerting the webhook `hook`.
fn config(
    ws: &Workspace,
    feeds: &FeedServer,
    names: &[&str],
    hook: &str,
    rule_extra: &str,
) -> TomlConfig {
    outlets(ws, feeds, names)
        .rule_with(RULE.0, RULE.1, &["hook"], rule_extra)
        .webhook_sink("hook", hook)
}

fn outlet_entry(i: usize) -> String {
    rss(&[Entry {
        guid: &format!("{}-4411", OUTLETS[i]),
        title: HEADLINES[i],
        description: LEADS[i],
        link: &format!(
            "https://{}.example/world/kazakhstan-accords-{i}",
            OUTLETS[i]
        ),
        published: minutes_ago(60 - 5 * i as i64),
    }])
}

fn once(ws: &Workspace) {
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "once failed: {}", stderr(&out));
}

#[test]
fn five_outlets_with_different_headlines_make_one_alert_with_five_sources() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    for (i, outlet) in OUTLETS.iter().enumerate() {
        feeds.put_rss(&format!("/{outlet}.xml"), &outlet_entry(i));
    }
    let ws = Workspace::new();
    config(&ws, &feeds, &OUTLETS, &receiver.hook_url(), "").write(&ws);
    once(&ws);

    let got = receiver.accepted();
    assert_eq!(got.len(), 1, "one alert for the story, not one per outlet");
    let id = got[0].json()["id"].as_str().expect("alert id").to_string();
    let store = Store::open(&ws.database()).expect("open database");
    let sources = store.story_sources(&id).expect("sources");
    let mut feeds_seen: Vec<&str> = sources.iter().map(|s| s.feed.as_str()).collect();
    feeds_seen.sort_unstable();
    let mut expected = OUTLETS.to_vec();
    expected.sort_unstable();
    assert_eq!(
        feeds_seen, expected,
        "every outlet is a source of the one story"
    );
}

#[test]
fn story_updates_follow_up_once_with_the_sources() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    let ws = Workspace::new();
    config(
        &ws,
        &feeds,
        &OUTLETS,
        &receiver.hook_url(),
        "story_updates = 4",
    )
    .write(&ws);
    // The outlets publish one after another, across passes (and processes).
    for (i, outlet) in OUTLETS.iter().enumerate() {
        feeds.put_rss(&format!("/{outlet}.xml"), &outlet_entry(i));
        once(&ws);
    }
    let got = receiver.accepted();
    assert_eq!(
        got.len(),
        2,
        "the alert, then one follow-up: {:?}",
        got.iter()
            .map(|r| r.json()["id"].clone())
            .collect::<Vec<_>>()
    );
    let update = got[1].json();
    assert_eq!(update["story"]["update"], true);
    assert_eq!(update["story"]["outlets"], 5);
    assert_eq!(update["story"]["sources"].as_array().map(Vec::len), Some(5));
    assert_ne!(update["id"], got[0].json()["id"]);
}

#[test]
fn two_different_kazakhstan_stories_on_one_day_make_two_alerts() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    feeds.put_rss(
        "/steppe.xml",
        &rss(&[
            Entry {
                guid: "s-1",
                title: HEADLINES[0],
                description: LEADS[0],
                link: "https://steppe.example/world/accords",
                published: minutes_ago(50),
            },
            Entry {
                guid: "s-2",
                title: "Kazakh airline to fly Almaty to Tel Aviv as Abraham Accords ties deepen",
                description: "Air Astana will start three weekly flights to Tel Aviv from March 29, \
                              the carrier said, weeks after Astana's move on the Abraham Accords.",
                link: "https://steppe.example/business/flights",
                published: minutes_ago(20),
            },
        ]),
    );
    let ws = Workspace::new();
    config(&ws, &feeds, &["steppe"], &receiver.hook_url(), "").write(&ws);
    once(&ws);
    assert_eq!(receiver.accepted().len(), 2, "two events, two alerts");
}

#[test]
fn the_same_link_with_tracking_parameters_in_two_feeds_alerts_once_even_across_restarts() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    // Different guids, different headlines and leads that share little: only the canonical
    // link says it is the same article.
    feeds.put_rss(
        "/steppe.xml",
        &rss(&[Entry {
            guid: "steppe-77",
            title: "Kazakhstan and the Abraham Accords: what changes",
            description: "An explainer.",
            link: "https://wire.example.org/explainer/kz-accords?utm_source=steppe&amp;utm_medium=rss",
            published: minutes_ago(30),
        }]),
    );
    let ws = Workspace::new();
    config(&ws, &feeds, &["steppe", "gulf"], &receiver.hook_url(), "").write(&ws);
    feeds.put("/gulf.xml", 404, "text/plain", "not yet");
    once(&ws);
    assert_eq!(receiver.accepted().len(), 1);

    // A new process: the second feed now carries the same article with other tracking tags.
    feeds.put_rss(
        "/gulf.xml",
        &rss(&[Entry {
            guid: "gulf-abc",
            title: "Q&amp;A: Central Asia's road to the Abraham Accords",
            description: "Five questions answered.",
            link: "https://WIRE.example.org/explainer/kz-accords?utm_campaign=gulf&amp;fbclid=xyz",
            published: minutes_ago(10),
        }]),
    );
    once(&ws);
    assert_eq!(
        receiver.accepted().len(),
        1,
        "same article, same story: no second alert"
    );
}

#[test]
fn an_item_edited_in_place_does_not_alert_again() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    let ws = Workspace::new();
    config(&ws, &feeds, &["steppe"], &receiver.hook_url(), "").write(&ws);
    let published = minutes_ago(30);
    let version = |title: &str, lead: &str| {
        rss(&[Entry {
            guid: "steppe-1",
            title,
            description: lead,
            link: "https://steppe.example/world/accords",
            published,
        }])
    };
    feeds.put_rss("/steppe.xml", &version(HEADLINES[0], LEADS[0]));
    once(&ws);
    feeds.put_rss(
        "/steppe.xml",
        &version(
            "CORRECTED-Kazakhstan says it will join Abraham Accords within weeks",
            "Corrects day of announcement. Kazakhstan will join the Abraham Accords.",
        ),
    );
    once(&ws);
    assert_eq!(receiver.accepted().len(), 1);
}

#[test]
fn prune_keeps_items_their_feed_still_lists_and_drops_old_delivered_alerts() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    let ws = Workspace::new();
    config(&ws, &feeds, &["steppe"], &receiver.hook_url(), "")
        .daemon("story_window = \"1s\"\nretention = \"1s\"\nalert_retention = \"1s\"")
        .write(&ws);
    let entry = |guid: &'static str, title: &'static str| Entry {
        guid,
        title,
        description: "Invented for the retention test.",
        link: Box::leak(format!("https://steppe.example/{guid}").into_boxed_str()),
        published: minutes_ago(10),
    };
    feeds.put_rss(
        "/steppe.xml",
        &rss(&[
            entry("kept", HEADLINES[0]),
            entry("dropped", "Grain prices ease"),
        ]),
    );
    once(&ws);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    // The feed drops one item; the other is still listed, which keeps it.
    feeds.put_rss("/steppe.xml", &rss(&[entry("kept", HEADLINES[0])]));
    once(&ws);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = ws.watchword(&["prune"]);
    assert!(out.status.success(), "prune failed: {}", stderr(&out));
    let report = stdout(&out);
    // Items are kept for a day beyond `retention` (their listing is refreshed daily), so
    // neither is gone yet; the unit tests cover dropping with a 100-day clock.
    assert!(report.contains("pruned 0 item(s)"), "{report}");
    // The delivered alert is past alert_retention; nothing is owed, so it may go.
    assert!(report.contains("1 alert(s)"), "{report}");
    // The kept item is still known: it does not alert again.
    once(&ws);
    assert_eq!(receiver.accepted().len(), 1);
}

#[test]
fn configured_strip_params_make_two_links_one_item_and_one_story() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    // Two feeds carry the same article; the links differ only by parameters the user
    // listed (an exact name, and a prefix), and by a built-in one.
    let entry = |guid: &str, title: &str, lead: &str, link: &str| {
        rss(&[Entry {
            guid,
            title,
            description: lead,
            link,
            published: minutes_ago(20),
        }])
    };
    feeds.put_rss(
        "/steppe.xml",
        &entry(
            "steppe-9",
            "Kazakhstan and the Abraham Accords: what changes",
            "An explainer.",
            "https://wire.example.org/explainer/kz?id=4&amp;cmpid=rss-steppe&amp;pk_source=a",
        ),
    );
    feeds.put_rss(
        "/gulf.xml",
        &entry(
            "gulf-9",
            "Q&amp;A: Central Asia's road to the Abraham Accords",
            "Five questions answered.",
            "https://wire.example.org/explainer/kz?CMPID=gulf&amp;id=4&amp;pk_medium=b&amp;utm_source=x",
        ),
    );
    let ws = Workspace::new();
    config(&ws, &feeds, &["steppe", "gulf"], &receiver.hook_url(), "")
        .daemon("strip_params = [\"cmpid\", \"pk_*\"]")
        .write(&ws);
    once(&ws);
    let got = receiver.accepted();
    assert_eq!(got.len(), 1, "one article, one alert");
    assert_eq!(
        got[0].json()["item"]["link"],
        "https://wire.example.org/explainer/kz?id=4",
        "the payload carries the canonical link"
    );
    let id = got[0].json()["id"].as_str().expect("id").to_string();
    let store = Store::open(&ws.database()).expect("open database");
    let sources = store.story_sources(&id).expect("sources");
    assert_eq!(sources.len(), 2, "both feeds are sources: {sources:?}");
    assert!(
        sources
            .iter()
            .all(|s| s.link.as_deref() == Some("https://wire.example.org/explainer/kz?id=4"))
    );
}

#[test]
fn guidless_items_differing_only_by_a_stripped_param_are_one_item() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    // No guid: the canonical link is the item's id. The feed re-lists the item with another
    // campaign tag; it must not look new.
    let listing = |tag: &str| {
        format!(
            r#"<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://steppe.example/</link><description>d</description>
<item><title>{}</title><description>{}</description><link>https://steppe.example/world/accords?ref={tag}</link><pubDate>{}</pubDate></item>
</channel></rss>"#,
            HEADLINES[0],
            LEADS[0],
            minutes_ago(15).to_rfc2822()
        )
    };
    feeds.put_rss("/steppe.xml", &listing("home"));
    let ws = Workspace::new();
    config(&ws, &feeds, &["steppe"], &receiver.hook_url(), "")
        .daemon("strip_params = [\"ref\"]")
        .write(&ws);
    once(&ws);
    feeds.put_rss("/steppe.xml", &listing("newsletter"));
    once(&ws);
    assert_eq!(receiver.accepted().len(), 1);
    let db = rusqlite::Connection::open(ws.database()).expect("open database");
    let items: i64 = db
        .query_row("SELECT COUNT(*) FROM items", [], |row| row.get(0))
        .expect("count items");
    assert_eq!(
        items, 1,
        "the re-tagged link is the same item, not a new one"
    );
}

#[test]
fn a_bad_strip_params_entry_is_a_config_error_with_its_line() {
    let feeds = FeedServer::start();
    let ws = Workspace::new();
    // The daemon keys start on line 2: "a=b" is on line 3.
    let toml = config(&ws, &feeds, &["steppe"], "http://127.0.0.1:9/hook", "")
        .daemon("strip_params = [\"cmpid\",\n  \"a=b\"]")
        .build();
    let path = ws.write_config(&toml);
    let out = ws.watchword(&["check"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("{}:3:3:", path.display())) && err.contains("\"a=b\""),
        "{err}"
    );
    let toml = toml.replace("\"a=b\"", "\"*\"");
    ws.write_config(&toml);
    let err = stderr(&ws.watchword(&["check"]));
    assert!(err.contains("every parameter"), "{err}");
}

#[test]
fn story_entity_similarity_out_of_range_is_a_config_error_with_its_line() {
    let feeds = FeedServer::start();
    let ws = Workspace::new();
    // The daemon keys start on line 2; the similarity is on line 3.
    let toml = config(&ws, &feeds, &["steppe"], "http://127.0.0.1:9/hook", "")
        .daemon("story_by_names = true\nstory_entity_similarity = 1.5")
        .build();
    let path = ws.write_config(&toml);
    let out = ws.watchword(&["check"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("{}:3:", path.display()))
            && err.contains("story_entity_similarity must be above 0 and at most 1"),
        "{err}"
    );
    ws.write_config(&toml.replace("1.5", "0.9"));
    let out = ws.watchword(&["check"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// The other outlets' feeds, empty for now.
fn quiet_outlets(feeds: &FeedServer) {
    for outlet in &OUTLETS[1..] {
        feeds.put_rss(&format!("/{outlet}.xml"), &rss(&[]));
    }
}

fn source_feeds(payload: &serde_json::Value) -> Vec<String> {
    let mut feeds: Vec<String> = payload["story"]["sources"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s["feed"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    feeds.sort_unstable();
    feeds
}

#[test]
fn a_retried_delivery_carries_the_sources_that_came_since() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    let chat = Receiver::start();
    let ws = Workspace::new();
    outlets(&ws, &feeds, &OUTLETS)
        .rule(RULE.0, RULE.1, &["hook", "chat"])
        .webhook_sink("hook", &receiver.hook_url())
        .webhook_sink_with("chat", &chat.hook_url(), "format = \"slack\"")
        .write(&ws);
    feeds.put_rss("/steppe.xml", &outlet_entry(0));
    quiet_outlets(&feeds);
    receiver.script([500]);
    chat.script([500]);
    once(&ws);
    assert!(receiver.accepted().is_empty() && chat.accepted().is_empty());
    let first = receiver.all()[0].json();
    assert!(
        first.get("story").is_none(),
        "one outlet so far: nothing to add: {first}"
    );

    // The other outlets report the story while the alert waits for its retry.
    for (i, outlet) in OUTLETS.iter().enumerate().skip(1) {
        feeds.put_rss(&format!("/{outlet}.xml"), &outlet_entry(i));
    }
    once(&ws);
    let got = receiver.accepted();
    assert_eq!(got.len(), 1, "still one alert for the story");
    let payload = got[0].json();
    assert_eq!(payload["id"], first["id"], "the retry keeps its id");
    assert_eq!(payload["story"]["update"], false);
    assert_eq!(payload["story"]["outlets"], 5);
    let mut expected: Vec<String> = OUTLETS.iter().map(|s| s.to_string()).collect();
    expected.sort_unstable();
    assert_eq!(source_feeds(&payload), expected);
    for source in payload["story"]["sources"].as_array().expect("sources") {
        assert!(
            source["link"].as_str().is_some()
                && source["title"].as_str().is_some()
                && source["seen_at"]
                    .as_str()
                    .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()),
            "outlet, link, title and time: {source}"
        );
    }

    let slack = chat.accepted();
    assert_eq!(slack.len(), 1);
    let body = &slack[0].body;
    let also = body
        .split("also reported by: ")
        .nth(1)
        .unwrap_or_else(|| panic!("the chat message names the other outlets: {body}"));
    for outlet in &OUTLETS[1..] {
        assert!(also.contains(outlet), "{outlet} missing: {body}");
    }
}

#[test]
fn a_digest_carries_each_storys_current_sources() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    let ws = Workspace::new();
    outlets(&ws, &feeds, &OUTLETS)
        .rule(RULE.0, RULE.1, &["hook"])
        .webhook_sink_with("hook", &receiver.hook_url(), "digest = \"15m\"")
        .write(&ws);
    // Two stories from one outlet: two alerts, so the delivery is a real digest.
    feeds.put_rss(
        "/steppe.xml",
        &rss(&[
            Entry {
                guid: "steppe-4411",
                title: HEADLINES[0],
                description: LEADS[0],
                link: "https://steppe.example/world/kazakhstan-accords-0",
                published: minutes_ago(50),
            },
            Entry {
                guid: "steppe-flights",
                title: "Kazakh airline to fly Almaty to Tel Aviv as Abraham Accords ties deepen",
                description: "Air Astana will start three weekly flights to Tel Aviv from March 29, \
                              the carrier said, weeks after Astana's move on the Abraham Accords.",
                link: "https://steppe.example/business/flights",
                published: minutes_ago(20),
            },
        ]),
    );
    quiet_outlets(&feeds);
    receiver.script([500]);
    once(&ws);
    assert_eq!(receiver.all().len(), 1);
    assert!(receiver.accepted().is_empty());

    for (i, outlet) in OUTLETS.iter().enumerate().skip(1) {
        feeds.put_rss(&format!("/{outlet}.xml"), &outlet_entry(i));
    }
    once(&ws);
    let got = receiver.accepted();
    assert_eq!(got.len(), 1, "one digest");
    let digest = got[0].json();
    assert_eq!(digest["type"], "watchword.digest");
    assert_eq!(digest["count"], 2);
    let alerts = digest["alerts"].as_array().expect("alerts");
    let accords = alerts
        .iter()
        .find(|a| a["item"]["id"] == "steppe-4411")
        .expect("the accords alert");
    assert_eq!(accords["story"]["outlets"], 5, "{accords}");
    assert_eq!(source_feeds(accords).len(), 5);
    let flights = alerts
        .iter()
        .find(|a| a["item"]["id"] == "steppe-flights")
        .expect("the flights alert");
    assert!(
        flights.get("story").is_none(),
        "a one-outlet story adds nothing"
    );
}

/// One item (same guid, link and date) in the version given.
fn steppe_version(title: &str, lead: &str) -> String {
    rss(&[Entry {
        guid: "steppe-1",
        title,
        description: lead,
        link: "https://steppe.example/world/accords",
        published: minutes_ago(30),
    }])
}

#[test]
fn realert_on_update_alerts_once_per_headline_edit() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    let ws = Workspace::new();
    config(
        &ws,
        &feeds,
        &["steppe"],
        &receiver.hook_url(),
        "realert_on_update = true",
    )
    .write(&ws);
    feeds.put_rss("/steppe.xml", &steppe_version(HEADLINES[0], LEADS[0]));
    once(&ws);
    assert_eq!(receiver.accepted().len(), 1);
    let first = receiver.accepted()[0].json();
    assert!(first.get("kind").is_none(), "a first alert is not an edit");

    // Listed again unchanged (in a new process): nothing.
    once(&ws);
    // Only case and spacing changed: not a material edit.
    let recased = HEADLINES[0].to_uppercase().replace(' ', "  ");
    feeds.put_rss("/steppe.xml", &steppe_version(&recased, LEADS[0]));
    once(&ws);
    assert_eq!(
        receiver.accepted().len(),
        1,
        "no alert for a re-listing or a recasing"
    );

    let corrected = "CORRECTED-Kazakhstan says it will join Abraham Accords within weeks";
    feeds.put_rss("/steppe.xml", &steppe_version(corrected, LEADS[0]));
    once(&ws);
    once(&ws);
    let got = receiver.accepted();
    assert_eq!(got.len(), 2, "one more alert for the edit, once");
    let update = got[1].json();
    assert_eq!(update["kind"], "edit");
    // The headline it had last (feeds' whitespace is folded on parsing).
    assert_eq!(
        update["edit"]["previous_title"],
        HEADLINES[0].to_uppercase().as_str()
    );
    assert_eq!(update["item"]["title"], corrected);
    assert_eq!(update["item"]["id"], "steppe-1");
    assert_ne!(update["id"], first["id"], "an edit has an id of its own");

    // The lead alone changes: the rule already matched, so no alert.
    feeds.put_rss(
        "/steppe.xml",
        &steppe_version(
            corrected,
            "Adds detail. Kazakhstan will join the Abraham Accords.",
        ),
    );
    once(&ws);
    assert_eq!(receiver.accepted().len(), 2);
    // `alerts` lists both, delivered, each under the headline it was raised for.
    let out = ws.watchword(&["alerts", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    let mut rows: Vec<(String, String)> = listed["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .map(|d| {
            let field = |k: &str| d[k].as_str().unwrap_or_default().to_string();
            (field("title"), field("state"))
        })
        .collect();
    rows.sort();
    let mut expected = vec![
        (HEADLINES[0].to_string(), "delivered".to_string()),
        (corrected.to_string(), "delivered".to_string()),
    ];
    expected.sort();
    assert_eq!(rows, expected);
    let table = stdout(&ws.watchword(&["alerts"]));
    assert!(table.contains("CORRECTED-Kazakhstan"), "{table}");
}

#[test]
fn realert_on_update_alerts_when_an_edit_makes_the_rule_match() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    let ws = Workspace::new();
    config(
        &ws,
        &feeds,
        &["steppe"],
        &receiver.hook_url(),
        "realert_on_update = true",
    )
    .write(&ws);
    let title = "Kazakhstan's president meets Gulf envoys in Astana";
    feeds.put_rss(
        "/steppe.xml",
        &steppe_version(title, "Talks covered trade and energy, officials said."),
    );
    once(&ws);
    assert!(receiver.accepted().is_empty(), "no match yet");
    // The body now names the accords: the rule matches the edited item.
    feeds.put_rss(
        "/steppe.xml",
        &steppe_version(
            title,
            "Talks covered trade, energy and joining the Abraham Accords, officials said.",
        ),
    );
    once(&ws);
    once(&ws);
    let got = receiver.accepted();
    assert_eq!(got.len(), 1, "one alert, once");
    assert_eq!(got[0].json()["kind"], "edit");
    assert_eq!(got[0].json()["edit"]["previous_title"], title);

    // Without the option the same edit stays silent.
    let feeds2 = FeedServer::start();
    let receiver2 = Receiver::start();
    let ws2 = Workspace::new();
    config(&ws2, &feeds2, &["steppe"], &receiver2.hook_url(), "").write(&ws2);
    feeds2.put_rss(
        "/steppe.xml",
        &steppe_version(title, "Talks covered trade and energy, officials said."),
    );
    once(&ws2);
    feeds2.put_rss(
        "/steppe.xml",
        &steppe_version(
            title,
            "Talks covered trade, energy and joining the Abraham Accords, officials said.",
        ),
    );
    once(&ws2);
    assert!(receiver2.accepted().is_empty());
}

/// One event as four outlets ran it in four languages (they share no words but the names),
/// and the next day's confirmation by the ministry in two: written for this test, modelled on
/// the coverage of issue 14, where the first four were four alerts.
const ANNOUNCED: [(&str, &str, &str); 4] = [
    (
        "wire",
        "Kazakhstan to join Abraham Accords after Tokayev meets Trump",
        "President Kassym-Jomart Tokayev told reporters at the White House that Kazakhstan would \
         join the Abraham Accords, the framework under which Arab states normalised ties with Israel.",
    ),
    (
        "vesti",
        "Казахстан присоединится к «Соглашениям Авраама»",
        "Президент Касым-Жомарт Токаев после встречи с Дональдом Трампом в Белом доме заявил, \
         что республика вступит в соглашения.",
    ),
    (
        "khaleej",
        "كازاخستان تنضم إلى اتفاقيات أبراهام",
        "قال الرئيس الكازاخستاني قاسم جومارت توكاييف عقب لقائه ترامب في البيت الأبيض إن بلاده ستنضم إلى الاتفاقيات.",
    ),
    (
        "hexagone",
        "Le Kazakhstan va rejoindre les accords d'Abraham",
        "Kassym-Jomart Tokaïev a annoncé à la Maison Blanche, aux côtés de Donald Trump, \
         l'adhésion de son pays aux accords d'Abraham.",
    ),
];

const CONFIRMED: [(&str, &str, &str); 2] = [
    (
        "wire",
        "Kazakh foreign ministry confirms Abraham Accords accession",
        "Foreign ministry spokesman Aibek Smadiyarov said in Astana on Friday that the documents \
         would be signed within weeks, confirming the decision.",
    ),
    (
        "vesti",
        "МИД Казахстана подтвердил присоединение к Соглашениям Авраама",
        "Официальный представитель МИД Айбек Смадияров в пятницу в Астане сообщил, что документы \
         будут подписаны в ближайшие недели.",
    ),
];

const FOUR_OUTLETS: [&str; 4] = ["wire", "vesti", "khaleej", "hexagone"];

/// The four outlets' feeds: the announcement a day ago, the confirmation in the last hour.
fn four_language_feeds(feeds: &FeedServer) {
    for outlet in FOUR_OUTLETS {
        let mut entries = Vec::new();
        let guids: Vec<String> = (0..2).map(|n| format!("{outlet}-{n}")).collect();
        let links: Vec<String> = (0..2)
            .map(|n| format!("https://{outlet}.example/news/{n}"))
            .collect();
        if let Some(i) = ANNOUNCED.iter().position(|a| a.0 == outlet) {
            entries.push(Entry {
                guid: &guids[0],
                title: ANNOUNCED[i].1,
                description: ANNOUNCED[i].2,
                link: &links[0],
                // The four reports within two hours, a day before the confirmation.
                published: minutes_ago(23 * 60 - 30 * i as i64),
            });
        }
        if let Some(i) = CONFIRMED.iter().position(|c| c.0 == outlet) {
            entries.push(Entry {
                guid: &guids[1],
                title: CONFIRMED[i].1,
                description: CONFIRMED[i].2,
                link: &links[1],
                published: minutes_ago(60 - 20 * i as i64),
            });
        }
        feeds.put_rss(&format!("/{outlet}.xml"), &rss(&entries));
    }
}

#[test]
fn one_event_in_four_languages_is_one_alert_and_the_next_days_confirmation_another() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    four_language_feeds(&feeds);
    let ws = Workspace::new();
    // The outlets come in one pass each, in a fixed order: the wire, then Russian, Arabic and
    // French. Whether a report joins by names depends on the reports already in the story
    // (each is compared with one report at a time), so in one pass the order the four are
    // recorded in decides: the French lead, recorded right after the Russian one, shares
    // too few of its names (8 of 11) and opens a story of its own; after the Arabic one (6
    // of 6) it joins. Seen in about one full run in three; docs/stories.md says so.
    for arrived in 1..=FOUR_OUTLETS.len() {
        outlets_config(&ws, &feeds, &FOUR_OUTLETS[..arrived], &receiver.hook_url()).write(&ws);
        once(&ws);
    }

    let got = receiver.accepted();
    let titles: Vec<String> = got
        .iter()
        .map(|hit| {
            hit.json()["item"]["title"]
                .as_str()
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    // `alerts` names each source with its language and why it joined.
    let out = ws.watchword(&["alerts"]);
    let text = stdout(&out);
    // With the stories and their sources, a wrong split can be told from the order the
    // reports came in (seen once under load, not reproduced since).
    assert_eq!(got.len(), 2, "two events, two alerts: {titles:?}\n{text}");
    assert!(out.status.success(), "{}", stderr(&out));
    for outlet in ["vesti (ru)", "khaleej (ar)", "hexagone (fr)"] {
        assert!(
            text.contains(&format!("source: {outlet}")),
            "{outlet}:\n{text}"
        );
    }
    assert!(
        text.contains("joined: same names") && text.contains("Tokayev"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&stdout(&ws.watchword(&["alerts", "--json"]))).expect("json");
    let sources: Vec<serde_json::Value> = json["deliveries"]
        .as_array()
        .expect("deliveries")
        .iter()
        .flat_map(|d| d["sources"].as_array().cloned().unwrap_or_default())
        .collect();
    let by_names = sources
        .iter()
        .filter(|s| s["joined_by"]["by"] == "entities")
        .count();
    assert!(by_names >= 3, "{sources:#?}");
}

#[test]
fn story_by_names_false_keeps_reports_in_other_words_apart() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    four_language_feeds(&feeds);
    let ws = Workspace::new();
    outlets_config(&ws, &feeds, &FOUR_OUTLETS, &receiver.hook_url())
        .daemon("story_by_names = false")
        .write(&ws);
    once(&ws);
    // Four languages share no wording: one alert each, and the confirmation's two reports
    // (in English and Russian) one each.
    assert_eq!(receiver.accepted().len(), 6);
}

/// [`outlets`] with the natural rule a user writes for the seed case.
fn outlets_config(ws: &Workspace, feeds: &FeedServer, names: &[&str], hook: &str) -> TomlConfig {
    outlets(ws, feeds, names)
        .rule(
            "central-asia-abraham",
            "@region:central-asia AND @bloc:abraham-accords",
            &["hook"],
        )
        .webhook_sink("hook", hook)
}
