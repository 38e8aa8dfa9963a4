//! Feeds that are not quite well-formed, or not in UTF-8, polled by the real binary: what a
//! browser or feedparser reads, watchword reads and alerts on, and what it cannot read it
//! skips item by item and says so in the log.

mod common;

use serde_json::Value;

use common::*;

/// The item ids of the alerts `once` printed on standard output.
fn alerted_ids(out: &std::process::Output) -> Vec<String> {
    let mut ids: Vec<String> = stdout(out)
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).expect("each stdout line is a JSON alert"))
        .map(|alert| alert["item"]["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    ids.sort();
    ids
}

fn item(guid: &str, title: &str) -> String {
    format!(
        "<item><guid isPermaLink=\"false\">{guid}</guid><title>{title}</title>\
         <link>https://wire.example.org/{guid}?a=1&b=2</link>\
         <pubDate>{}</pubDate></item>\n",
        minutes_ago(10).to_rfc2822()
    )
}

#[test]
fn a_feed_with_stray_ampersands_no_version_and_one_broken_item_still_alerts() {
    // No RSS version, a stray '&' in every item, a soft hyphen inside the word the rule
    // wants, and one item whose markup is broken beyond repair.
    let body = format!(
        "<?xml version=\"1.0\"?>\n<rss><channel><title>Wire & Co</title>\n{}{}{}</channel></rss>\n",
        item("w-1", "Kaz&#173;akhstan & Israel sign deal"),
        item("w-2", "Kazakhstan <b>talks & more</title>"),
        item("w-3", "Kazakhstan grain & rail"),
    );
    let feeds = FeedServer::start();
    feeds.put_rss("/wire.xml", &body);
    let ws = Workspace::new();
    TomlConfig::for_workspace(&ws)
        .feed("wire", &feeds.url("/wire.xml"))
        .rule("kz", "kazakhstan", &["out"])
        .stdout_sink("out")
        .write(&ws);

    let out = ws.watchword(&["once"]);
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    assert_eq!(alerted_ids(&out), vec!["w-1", "w-3"], "{log}");
    assert!(
        log.contains("entry skipped") && log.contains("entry 2 of 3"),
        "the unreadable item is named in the log:\n{log}"
    );
    // The links kept their query, `&` and all.
    let first: Value = stdout(&out)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .find(|v: &Value| v["item"]["id"] == "w-1")
        .unwrap_or_default();
    assert_eq!(
        first["item"]["link"].as_str(),
        Some("https://wire.example.org/w-1?a=1&b=2")
    );

    // The feed is healthy: a skipped item is not a failed poll; `feeds` says what was skipped.
    let feeds_out = ws.watchword(&["feeds", "--json"]);
    let listing = stdout(&feeds_out);
    assert!(feeds_out.status.success(), "{}", stderr(&feeds_out));
    assert!(listing.contains("\"ok\""), "{listing}");
    let rows: Vec<Value> = serde_json::from_str(&listing).expect("json");
    let skipped = rows[0]["skipped"].as_str().unwrap_or_default();
    assert!(
        skipped.starts_with("1 item(s) skipped: entry 2 of 3"),
        "{listing}"
    );
    let table = stdout(&ws.watchword(&["feeds"]));
    assert!(
        table.contains("↳ 1 item(s) skipped: entry 2 of 3"),
        "{table}"
    );
}

#[test]
fn utf16_feeds_with_and_without_bom_are_read_without_a_panic() {
    let ws = Workspace::new();
    let mut config = TomlConfig::for_workspace(&ws);
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"ucs-2\"?>\n<rss version=\"2.0\"><channel><title>t</title>\n{}</channel></rss>\n",
        item("{guid}", "Қазақстан and Kazakhstan")
    );
    let mut expected = Vec::new();
    for (name, big_endian, bom) in [
        ("le-bom", false, true),
        ("be-bom", true, true),
        ("le", false, false),
        ("be", true, false),
    ] {
        let text = body.replace("{guid}", name);
        let mut bytes = Vec::new();
        if bom {
            bytes.extend_from_slice(if big_endian {
                &[0xFE, 0xFF]
            } else {
                &[0xFF, 0xFE]
            });
        }
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        let path = ws.dir.path().join(format!("{name}.xml"));
        std::fs::write(&path, bytes).expect("write feed");
        config = config.feed(name, &format!("file://{}", path.display()));
        expected.push(name.to_owned());
    }
    config
        .rule("kz", "kazakhstan", &["out"])
        .stdout_sink("out")
        .write(&ws);

    // run_watchword fails the test if anything panicked.
    let out = ws.watchword(&["once"]);
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    expected.sort();
    assert_eq!(alerted_ids(&out), expected, "{log}");
}
