//! A second look at the article (`[[feed]] read_articles`): a headline-only item that a rule
//! matches in part is matched again with the main text of its linked page. The feed server
//! serves the feed and the article pages (invented outlets, invented text) on 127.0.0.1.

mod common;

use std::time::Duration;

use common::*;

const RULE: &str = "ferry-quay";
const QUERY: &str = r#"ferry AND "northern quay""#;

/// An invented local paper's page: navigation, the article, a footer.
fn article_page(headline: &str, paragraphs: &[&str]) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{headline} | Skerry Bay Courier</title></head>\
         <body><header><a href=\"/\">Skerry Bay Courier</a> <nav><a href=\"/local\">Local</a> \
         <a href=\"/sport\">Sport</a> <a href=\"/weather\">Weather</a></nav></header>\
         <main><article><h1>{headline}</h1>\n{body}</article></main>\
         <footer>Subscribe to the Courier for weekend deliveries. Contact the newsroom.</footer></body></html>"
    )
}

const FERRY: &[&str] = &[
    "The island ferry will run again from Monday, the harbour board said on Tuesday, after a \
     winter in which the service was suspended for repairs.",
    "Engineers have rebuilt the northern quay, where the crossing lands, with a new steel deck \
     and fenders, and the board said inspections were completed last week.",
    "Timetables follow the summer pattern until the end of September. Fares are unchanged, and \
     the operator said the cafe on board would reopen once its galley refit is signed off.",
];

const TIMETABLE: &[&str] = &[
    "The winter timetable for the mainland bus link stays as it is, the transport office said, \
     and the ferry connections at the southern slipway keep their current times.",
    "Passengers asked for an earlier morning departure at the public meeting in March; the \
     office said it would look again at demand in the autumn once school routes are settled.",
    "Tickets bought for the old timetable remain valid, and season passes are renewed as usual \
     at the harbour office or on board.",
];

fn headline(guid: &'static str, title: &'static str, link: String) -> Entry<'static> {
    Entry {
        guid,
        title,
        description: "",
        link: Box::leak(link.into_boxed_str()),
        published: minutes_ago(15),
    }
}

/// "courier": two headlines whose articles are on the same server; the rule's other term is in
/// the first article only.
fn serve_courier_with_two_articles(feeds: &FeedServer) {
    feeds.put(
        "/local/ferry",
        200,
        "text/html",
        &article_page("Ferry to run again", FERRY),
    );
    feeds.put(
        "/local/timetable",
        200,
        "text/html",
        &article_page("Bus timetable unchanged", TIMETABLE),
    );
    feeds.put_rss(
        "/courier.xml",
        &rss(&[
            headline(
                "c-1",
                "Island ferry to run again from Monday",
                feeds.url("/local/ferry"),
            ),
            headline(
                "c-2",
                "Ferry and bus timetable stays the same",
                feeds.url("/local/timetable"),
            ),
        ]),
    );
}

fn config(ws: &Workspace, feed_url: &str, hook: &str, feed_extra: &str) -> TomlConfig {
    TomlConfig::for_workspace(ws)
        .daemon("per_host_concurrency = 1")
        .feed_with("courier", feed_url, feed_extra)
        .rule(RULE, QUERY, &["receiver"])
        .webhook_sink_with("receiver", hook, "format = \"json\"")
}

#[test]
fn a_headline_alerts_once_after_reading_its_article_which_is_read_once() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    feeds.put(
        "/local/ferry",
        200,
        "text/html; charset=utf-8",
        &article_page("Ferry to run again", FERRY),
    );
    feeds.put(
        "/local/timetable",
        200,
        "text/html",
        &article_page("Bus timetable unchanged", TIMETABLE),
    );
    feeds.put(
        "/local/rain",
        200,
        "text/html",
        &article_page("Rain in the hills", FERRY),
    );
    feeds.put_rss(
        "/courier.xml",
        &rss(&[
            headline(
                "c-1",
                "Island ferry to run again from Monday",
                feeds.url("/local/ferry"),
            ),
            headline(
                "c-2",
                "Ferry and bus timetable stays the same",
                feeds.url("/local/timetable"),
            ),
            headline(
                "c-3",
                "Rain expected in the hills",
                feeds.url("/local/rain"),
            ),
        ]),
    );
    let ws = Workspace::new();
    // One fetch per host at a time: the pages share the feed's host, and its slot.
    config(
        &ws,
        &feeds.url("/courier.xml"),
        &receiver.hook_url(),
        "read_articles = true",
    )
    .write(&ws);

    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let got = receiver.all();
    assert_eq!(got.len(), 1, "one alert: {got:?}");
    let alert = got[0].json();
    assert_eq!(alert["rule"], RULE);
    assert_eq!(
        alert["item"]["title"],
        "Island ferry to run again from Monday"
    );
    assert_eq!(alert["matched_after_reading_article"], true);
    let terms = alert["matched_terms"].to_string().to_lowercase();
    assert!(
        terms.contains("northern quay"),
        "the article's words: {terms}"
    );
    assert_eq!(
        alert["item"]["summary"], "",
        "the payload shows what the feed said, not the page"
    );
    assert_eq!(feeds.hits("/local/ferry"), 1);
    assert_eq!(
        feeds.hits("/local/timetable"),
        1,
        "half matched: read, still no match"
    );
    assert_eq!(
        feeds.hits("/local/rain"),
        0,
        "no term of the rule: not read"
    );

    // The next pass: nothing new, nothing read again.
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // A new item linking to a page read before: matched from the stored text, not fetched.
    feeds.put_rss(
        "/courier.xml",
        &rss(&[
            headline(
                "c-4",
                "Ferry back on Monday, board confirms",
                feeds.url("/local/ferry"),
            ),
            headline(
                "c-1",
                "Island ferry to run again from Monday",
                feeds.url("/local/ferry"),
            ),
            headline(
                "c-2",
                "Ferry and bus timetable stays the same",
                feeds.url("/local/timetable"),
            ),
        ]),
    );
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(feeds.hits("/local/ferry"), 1, "read once, ever");
    assert_eq!(feeds.hits("/local/timetable"), 1);
    assert_eq!(receiver.all().len(), 1, "the same story: no second alert");
}

#[test]
fn a_feed_without_the_option_never_reads_articles() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    feeds.put(
        "/local/ferry",
        200,
        "text/html",
        &article_page("Ferry to run again", FERRY),
    );
    feeds.put_rss(
        "/courier.xml",
        &rss(&[headline(
            "c-1",
            "Island ferry to run again from Monday",
            feeds.url("/local/ferry"),
        )]),
    );
    let ws = Workspace::new();
    config(&ws, &feeds.url("/courier.xml"), &receiver.hook_url(), "").write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(feeds.hits("/local/ferry"), 0);
    assert!(receiver.all().is_empty());
}

#[test]
fn huge_or_slow_pages_are_given_up_and_the_feed_is_recorded() {
    let feeds = FeedServer::start();
    // A publisher of its own, so its slowness holds up only its own pages.
    let slow = FeedServer::start();
    let receiver = Receiver::start();
    let huge = article_page(
        "Ferry to run again",
        &[&"The northern quay is open. ".repeat(4_000)],
    );
    feeds.put("/local/huge", 200, "text/html", &huge);
    slow.put_slow_rss(
        "/local/slow",
        &article_page("Ferry to run again", FERRY),
        Duration::from_secs(4),
    );
    feeds.put_rss(
        "/courier.xml",
        &rss(&[
            headline("c-1", "Ferry notice one", feeds.url("/local/huge")),
            headline("c-2", "Ferry notice two", slow.url("/local/slow")),
            headline(
                "c-3",
                "Ferry back at the northern quay",
                feeds.url("/local/none"),
            ),
        ]),
    );
    let ws = Workspace::new();
    config(
        &ws,
        &feeds.url("/courier.xml"),
        &receiver.hook_url(),
        "read_articles = true",
    )
    .daemon("article_timeout = \"1s\"")
    .daemon("article_max_size = \"16 KiB\"")
    .write(&ws);

    let out = ws.watchword(&["once"]);
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("body larger than 16 KiB"), "{log}");
    assert!(log.contains("timed out after 1s"), "{log}");
    let got = receiver.all();
    assert_eq!(
        got.len(),
        1,
        "the headline that matches on its own: {got:?}"
    );
    assert_eq!(
        got[0].json()["item"]["title"],
        "Ferry back at the northern quay"
    );
    assert!(got[0].json().get("matched_after_reading_article").is_none());
    assert_eq!(
        feeds.hits("/local/none"),
        0,
        "a whole match needs no second look"
    );

    // Recorded, failures included: the next pass tries neither page again.
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(feeds.hits("/local/huge"), 1);
    assert_eq!(slow.hits("/local/slow"), 1);
}

#[test]
fn at_most_article_pages_per_poll() {
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    let mut entries = Vec::new();
    for n in 0..4 {
        let path = format!("/local/ferry-{n}");
        feeds.put(
            &path,
            200,
            "text/html",
            &article_page("Ferry notice", TIMETABLE),
        );
        let guid: &'static str = Box::leak(format!("c-{n}").into_boxed_str());
        entries.push(headline(guid, "Ferry notice", feeds.url(&path)));
    }
    feeds.put_rss("/courier.xml", &rss(&entries));
    let ws = Workspace::new();
    config(
        &ws,
        &feeds.url("/courier.xml"),
        &receiver.hook_url(),
        "read_articles = true",
    )
    .daemon("article_pages = 2")
    .write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let read: usize = (0..4)
        .map(|n| feeds.hits(&format!("/local/ferry-{n}")))
        .sum();
    assert_eq!(read, 2);
}

#[test]
fn test_explain_says_matched_after_reading_the_article() {
    let feeds = FeedServer::start();
    serve_courier_with_two_articles(&feeds);
    let ws = Workspace::new();
    let feed_url = feeds.url("/courier.xml");
    TomlConfig::for_workspace(&ws)
        .feed_with("courier", &feed_url, "read_articles = true")
        .rule(RULE, QUERY, &["out"])
        .stdout_sink("out")
        .write(&ws);

    let out = ws.watchword(&["test", "--explain", &feed_url]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<&str> = text.lines().collect();
    let ferry = lines
        .iter()
        .find(|l| l.contains("Island ferry"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(ferry.starts_with("MATCH"), "{text}");
    assert!(
        ferry.contains("(matched after reading the article)"),
        "{text}"
    );
    assert!(text.contains("\"northern quay\" in content"), "{text}");
    let timetable = lines
        .iter()
        .find(|l| l.contains("bus timetable"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(timetable.starts_with("miss"), "{text}");

    let out = ws.watchword(&["test", "--json", &feed_url]);
    assert!(out.status.success(), "{}", stderr(&out));
    let line: serde_json::Value = serde_json::from_str(
        stdout(&out)
            .lines()
            .next()
            .unwrap_or_else(|| panic!("{}", stderr(&out))),
    )
    .expect("json");
    assert_eq!(line["matched"], true);
    assert_eq!(line["after_article"], true);
}

#[test]
fn on_postgres_a_page_is_read_once_and_recorded() {
    let Some(schema) = common::external::PgSchema::create(test_name!()) else {
        return;
    };
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    serve_courier_with_two_articles(&feeds);
    let ws = Workspace::new();
    TomlConfig::new()
        .database(&schema.url)
        .feed_with(
            "courier",
            &feeds.url("/courier.xml"),
            "read_articles = true",
        )
        .rule(RULE, QUERY, &["receiver"])
        .webhook_sink_with("receiver", &receiver.hook_url(), "format = \"json\"")
        .write(&ws);

    for _ in 0..2 {
        let out = ws.watchword(&["once"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let got = receiver.all();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].json()["matched_after_reading_article"], true);
    assert_eq!(feeds.hits("/local/ferry"), 1);
    assert_eq!(
        schema.query("SELECT COUNT(*)::text FROM articles WHERE text LIKE '%northern quay%'"),
        vec!["1".to_string()]
    );
    assert_eq!(
        schema.query("SELECT COUNT(*)::text FROM articles"),
        vec!["2".to_string()]
    );
}

#[test]
fn pages_on_two_hosts_are_read_side_by_side() {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Condvar, Mutex};

    // Each publisher answers only once the other has been asked too: read one after the
    // other, the first page would wait past `article_timeout` and not be read.
    let arrived = Arc::new((Mutex::new(0usize), Condvar::new()));
    let publisher = |text: &'static [&'static str]| -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let arrived = Arc::clone(&arrived);
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
                    head.push(byte[0]);
                }
                let (count, both) = &*arrived;
                let mut count = count.lock().expect("lock");
                *count += 1;
                both.notify_all();
                let _ = both
                    .wait_timeout_while(count, Duration::from_secs(20), |n| *n < 2)
                    .expect("wait");
                let page = article_page("Ferry to run again", text);
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                    page.len()
                );
            }
        });
        format!("http://{addr}/local/ferry")
    };
    let first = publisher(FERRY);
    let second = publisher(FERRY);
    let feeds = FeedServer::start();
    let receiver = Receiver::start();
    feeds.put_rss(
        "/courier.xml",
        &rss(&[
            headline("c-1", "Ferry notice one", first),
            headline("c-2", "Ferry notice two", second),
        ]),
    );
    let ws = Workspace::new();
    config(
        &ws,
        &feeds.url("/courier.xml"),
        &receiver.hook_url(),
        "read_articles = true",
    )
    .daemon("article_timeout = \"3s\"")
    .write(&ws);
    let out = ws.watchword(&["once"]);
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    assert!(!log.contains("article not read"), "{log}");
    let mut titles: Vec<String> = receiver
        .all()
        .iter()
        .map(|r| {
            r.json()["item"]["title"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    titles.sort();
    assert_eq!(titles, ["Ferry notice one", "Ferry notice two"], "{log}");
}
