//! Each page's data from a real store and config; the HTML is held by the snapshot tests in
//! tests/dashboard.rs and driven in a browser there.

use std::path::Path;

use super::pages::{self, AlertFilters, FeedParams, WorkbenchParams};
use super::views::{Segment, highlight, relative, safe_href};
use super::*;
use crate::model::{AlertId, AttemptOutcome, NewAlert};
use crate::store::{FetchRecord, ItemText, NewItem};

const NOW: i64 = 1_800_057_600 + 12 * 3600;

const CONFIG: &str = r#"
[daemon]
metrics_listen = "127.0.0.1:9464"

[groups]
central_asia = ["Kazakhstan", "Uzbekistan"]

[[feed]]
name = "wire"
url = "https://wire.example.org/rss?token=SECRET"

[[feed]]
name = "post"
url = "https://post.example.org/rss"

[[feed]]
name = "quiet"
url = "https://quiet.example.org/rss"

[[rule]]
name = "kz"
query = "@central_asia AND accords"
notify = ["hook"]

[[sink]]
name = "hook"
kind = "webhook"
url = "https://hooks.example.org/SECRET-PATH"
"#;

fn setup() -> (tempfile::TempDir, Store, Runtime) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("w.db")).expect("open");
    let runtime = crate::runtime::from_source(Path::new("w.toml"), CONFIG).expect("config");
    let record = |feed: &str, id: &str, at: i64, alert: bool, error: Option<&str>| {
        let payload = serde_json::json!({
            "rule": "kz",
            "matched_terms": [{"term": "@central_asia", "found": ["Kazakhstan"]}],
            "item": {
                "title": format!("Kazakhstan joins the accords ({id})"),
                "summary": "Kazakhstan signs the accords <b>today</b>.",
                "authors": [], "categories": [],
            },
        });
        store
            .record_fetch(&FetchRecord {
                feed: feed.into(),
                url: runtime
                    .feeds
                    .iter()
                    .find(|f| f.name == feed)
                    .map(|f| f.url.clone())
                    .unwrap_or_default(),
                at,
                error: error.map(str::to_owned),
                items: vec![NewItem {
                    id: id.into(),
                    link: Some(format!("https://{feed}.example.org/{id}")),
                    title: format!("Kazakhstan joins the accords ({id})"),
                    published: Some(at),
                    too_old: false,
                    text_hash: None,
                    story: Default::default(),
                    alerts: if alert {
                        vec![NewAlert {
                            id: AlertId::stored(format!("ww_{id}")),
                            rule: "kz".into(),
                            payload: payload.to_string(),
                            sinks: vec!["hook".into()],
                            story_update_after: None,
                        }]
                    } else {
                        Vec::new()
                    },
                }],
                listed: Vec::new(),
                edits: Vec::new(),
            })
            .expect("record");
    };
    record("wire", "a1", NOW - 3600, true, None);
    record("wire", "a2", NOW - 60, true, None);
    record("post", "p1", NOW - 120, false, None);
    record("post", "p2", NOW - 30, false, Some("HTTP 500"));
    store
        .record_attempt(
            "ww_a1",
            "hook",
            NOW - 10,
            &AttemptOutcome::Dead {
                status: Some(500),
                error: "HTTP 500".into(),
            },
        )
        .expect("dead");
    let text = |feed: &str, id: &str, summary: &str| ItemText {
        feed: feed.into(),
        item_id: id.into(),
        seen_at: NOW - 60,
        published: None,
        link: Some(format!("javascript:alert({id})")),
        title: format!("Kazakhstan joins the accords ({id})"),
        summary: summary.into(),
        content: String::new(),
        authors: vec![],
        categories: vec![],
    };
    store
        .record_item_texts(
            &[
                text("wire", "a1", "Kazakhstan signs the accords."),
                text("post", "p1", "Nothing more."),
            ],
            NOW,
            7 * 86_400,
        )
        .expect("texts");
    (dir, store, runtime)
}

#[test]
fn overview_counts_feeds_alerts_and_todays_deliveries() {
    let (_dir, store, runtime) = setup();
    let page = pages::overview(&store, &runtime, NOW).expect("overview");
    assert_eq!((page.feeds, page.rules, page.sinks), (3, 1, 1));
    let count = |h: crate::store::FeedHealth| {
        page.by_health
            .iter()
            .find(|(x, _)| *x == h)
            .map(|(_, n)| *n)
    };
    assert_eq!(count(crate::store::FeedHealth::Ok), Some(1));
    assert_eq!(count(crate::store::FeedHealth::Failing), Some(1));
    assert_eq!(count(crate::store::FeedHealth::NeverPolled), Some(1));
    // The same facts as `watchword status`: one alert pending, one dead.
    assert_eq!(page.health.alerts_pending, 1);
    assert_eq!(page.health.alerts_dead, 1);
    assert_eq!(page.today.dead, 1);
    assert_eq!(page.health.failing.len(), 1);
    assert_eq!(page.health.failing[0].name, "post");
}

#[test]
fn alerts_page_filters_and_pages() {
    let (_dir, store, runtime) = setup();
    let page = pages::alerts(&store, &runtime, AlertFilters::default(), NOW).expect("alerts");
    let ids: Vec<&str> = page.alerts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["ww_a2", "ww_a1"]);
    assert!(!page.has_next);
    assert_eq!(page.rules, ["kz"]);
    let dead = pages::alerts(
        &store,
        &runtime,
        AlertFilters {
            state: Some("dead".into()),
            since: Some("24h".into()),
            rule: Some(String::new()),
            page: None,
        },
        NOW,
    )
    .expect("alerts");
    let ids: Vec<&str> = dead.alerts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, ["ww_a1"]);
    assert_eq!(dead.filters.rule, None, "an empty select is no filter");
    assert_eq!(dead.filters.query_string(2), "state=dead&since=24h&page=2");
    let bogus = AlertFilters {
        state: Some("sideways".into()),
        since: Some("1y".into()),
        ..AlertFilters::default()
    }
    .normalized();
    assert_eq!(bogus, AlertFilters::default());
}

#[test]
fn alert_page_explains_the_match_and_offers_the_requeue() {
    let (_dir, store, runtime) = setup();
    let page = pages::alert(&store, &runtime, "ww_a1", NOW)
        .expect("alert")
        .expect("exists");
    assert!(page.rule_configured);
    assert_eq!(page.requeueable, 1);
    let terms: Vec<(&str, Vec<&str>)> = page
        .terms
        .iter()
        .map(|t| {
            (
                t.term.as_str(),
                t.fields.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        terms,
        [
            ("@central_asia", vec!["title", "summary"]),
            ("accords", vec!["title", "summary"])
        ]
    );
    assert_eq!(page.detail.alert.deliveries[0].state, "dead");
    assert!(
        pages::alert(&store, &runtime, "ww_nope", NOW)
            .expect("alert")
            .is_none()
    );
    // A rule no longer configured: the payload's words, without fields.
    let other = crate::runtime::from_source(
        Path::new("w.toml"),
        &CONFIG.replace("name = \"kz\"", "name = \"renamed\""),
    )
    .expect("config");
    let page = pages::alert(&store, &other, "ww_a1", NOW)
        .expect("alert")
        .expect("exists");
    assert!(!page.rule_configured);
    assert_eq!(page.terms[0].found, ["Kazakhstan"]);
    assert!(page.terms[0].fields.is_empty());
}

#[test]
fn feeds_page_sorts_pages_and_hides_secrets() {
    let (_dir, store, runtime) = setup();
    let page = pages::feeds(&store, &runtime, &FeedParams::default(), NOW).expect("feeds");
    let names: Vec<&str> = page.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["post", "quiet", "wire"]);
    assert!(page.rows.iter().all(|r| !r.url.contains("SECRET")));
    let wire = &page.rows[2];
    assert_eq!(wire.per_day.len(), pages::SPARK_DAYS as usize);
    assert_eq!(wire.per_day.last(), Some(&2), "two items today");
    assert_eq!(wire.alerts, 2);
    let by_state = pages::feeds(
        &store,
        &runtime,
        &FeedParams {
            sort: Some("state".into()),
            dir: Some("desc".into()),
            page: Some(9),
        },
        NOW,
    )
    .expect("feeds");
    let names: Vec<&str> = by_state.rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["quiet", "post", "wire"],
        "never polled, failing, ok"
    );
    assert_eq!(by_state.page, 1, "a page past the end is the last");
    assert_eq!(by_state.rows[1].last_error.as_deref(), Some("HTTP 500"));
}

#[test]
fn workbench_matches_explains_near_misses_and_reports_errors() {
    let (_dir, store, runtime) = setup();
    let run = |q: &str| {
        pages::workbench(
            &store,
            &runtime,
            &WorkbenchParams {
                q: Some(q.into()),
                name: Some("try".into()),
                days: Some(99),
            },
            NOW,
        )
        .expect("workbench")
    };
    let page = run("@central_asia AND signs");
    assert_eq!(page.days, 7, "at most the workbench_window");
    assert_eq!(page.searched, 2);
    assert_eq!(page.match_count, 1);
    assert_eq!(page.matches[0].item.item_id, "a1");
    // p1 has Kazakhstan in its title but not "signs".
    assert_eq!(page.near_miss_count, 1);
    assert_eq!(page.near_misses[0].item.item_id, "p1");
    assert!(!page.near_misses[0].explanation.reasons.is_empty());
    assert_eq!(
        page.toml,
        "[[rule]]\nname = 'try'\nquery = '@central_asia AND signs'\nnotify = []\n"
    );
    let bad = run("Kazakhstan AND (");
    assert!(bad.error.is_some());
    let unknown = run("@nowhere");
    assert!(
        unknown
            .error
            .as_deref()
            .is_some_and(|e| e.contains("nowhere")),
        "{unknown:?}"
    );
    let places = run("@country:KZ");
    assert_eq!(
        places.match_count, 2,
        "built-in places compile as in `test`"
    );
    assert_eq!(
        pages::rule_toml("it's", "\"a b\""),
        "[[rule]]\nname = \"it's\"\nquery = '\"a b\"'\nnotify = []\n"
    );
}

#[test]
fn the_workbench_window_bounds_the_days_and_zero_turns_it_off() {
    let (_dir, store, _) = setup();
    let with = |window: &str| {
        crate::runtime::from_source(
            Path::new("w.toml"),
            &CONFIG.replace(
                "[daemon]\n",
                &format!("[daemon]\nworkbench_window = \"{window}\"\n"),
            ),
        )
        .expect("config")
    };
    let params = WorkbenchParams {
        q: Some("Kazakhstan".into()),
        name: None,
        days: Some(5),
    };
    let page = pages::workbench(&store, &with("36h"), &params, NOW).expect("workbench");
    assert_eq!((page.max_days, page.days), (2, 2));
    assert_eq!(page.match_count, 2);
    let off = pages::workbench(&store, &with("0s"), &params, NOW).expect("workbench");
    assert_eq!((off.max_days, off.searched), (0, 0));
    let html = views::WorkbenchView { page: &off }.render().expect("html");
    assert!(html.contains("The workbench is off"), "{html}");
}

#[test]
fn highlighting_marks_found_words_and_keeps_the_rest() {
    let seg = |text: &str, mark: bool| Segment {
        text: text.into(),
        mark,
    };
    assert_eq!(
        highlight("Kazakhstan and kazakhstan's <b>", &["Kazakhstan".into()]),
        [seg("Kazakhstan", true), seg(" and kazakhstan's <b>", false)]
    );
    // Not found as written: ASCII case is ignored; overlapping words merge.
    assert_eq!(
        highlight("Türkiye, TÜRKIYE", &["TÜRKIYE".into(), "KIYE".into()]),
        [seg("Türkiye, ", false), seg("TÜRKIYE", true)]
    );
    assert_eq!(highlight("", &["x".into()]), []);
    assert_eq!(
        safe_href("https://a.example/x"),
        Some("https://a.example/x")
    );
    assert_eq!(safe_href("JavaScript:alert(1)"), None);
    assert_eq!(safe_href("data:text/html,x"), None);
    assert_eq!(relative(100, 40), "1m ago");
    assert_eq!(relative(100, 400), "in 5m");
}

#[test]
fn only_loopback_hosts_reach_a_loopback_dashboard() {
    for host in [
        "127.0.0.1:9464",
        "localhost:9464",
        "[::1]:9464",
        "LOCALHOST",
        "127.0.0.2",
    ] {
        assert!(is_loopback_host(host), "{host}");
    }
    for host in [
        "evil.example:9464",
        "",
        "127.0.0.1.evil.example",
        "[::2]:1",
        "10.0.0.1:9464",
    ] {
        assert!(!is_loopback_host(host), "{host}");
    }
    assert_eq!(new_token().len(), 64);
    assert_ne!(new_token(), new_token());
}

#[test]
fn credentials_are_checked_as_bearer_or_basic() {
    use crate::service::http::authorized;
    let auth = crate::config::ListenAuth {
        token: Some("s3cret".into()),
        basic: Some(("ops".into(), "pa:ss".into())),
    };
    assert!(authorized(&auth, "Bearer s3cret"));
    assert!(authorized(&auth, "bearer   s3cret "));
    assert!(!authorized(&auth, "Bearer s3cre"));
    // ops:pa:ss
    assert!(authorized(&auth, "Basic b3BzOnBhOnNz"));
    assert!(!authorized(&auth, "Basic b3BzOnBhc3M="));
    assert!(!authorized(&auth, "Basic !!!"));
    assert!(!authorized(&auth, "Digest x"));
    let token_only = crate::config::ListenAuth {
        token: Some("s3cret".into()),
        basic: None,
    };
    assert!(!authorized(&token_only, "Basic b3BzOnBhOnNz"));
    assert!(!format!("{auth:?}").contains("s3cret"));
    assert!(!format!("{auth:?}").contains("pa:ss"));
}
