use super::*;
use crate::model::{AlertId, AttemptOutcome, NewAlert};
use crate::store::{FetchRecord, NewItem};

const DAY: i64 = 86_400;
/// A Monday, 00:00 UTC.
const T0: i64 = 1_800_057_600;

fn open() -> (tempfile::TempDir, Sqlite) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Sqlite::open(&dir.path().join("w.db")).expect("open");
    (dir, store)
}

/// Records items `ids` of `feed` at `at`, each raising an alert of `rule` to sinks a and b.
fn record(store: &Sqlite, feed: &str, rule: &str, ids: &[&str], at: i64) {
    let items = ids
        .iter()
        .map(|id| NewItem {
            id: (*id).into(),
            link: Some(format!("https://news.example.org/{id}")),
            title: format!("Story {id}"),
            published: Some(at),
            too_old: false,
            text_hash: None,
            story: Default::default(),
            alerts: if rule.is_empty() {
                Vec::new()
            } else {
                vec![NewAlert {
                    id: AlertId::stored(format!("ww_{feed}_{id}")),
                    rule: rule.into(),
                    payload: format!("{{\"item\":{{\"title\":\"Story {id}\"}}}}"),
                    sinks: vec!["a".into(), "b".into()],
                    story_update_after: None,
                }]
            },
        })
        .collect();
    store
        .record_fetch(&FetchRecord {
            feed: feed.into(),
            url: format!("https://{feed}.example.org/rss"),
            at,
            error: None,
            items,
            listed: Vec::new(),
            edits: Vec::new(),
        })
        .expect("record");
}

fn text(feed: &str, id: &str, seen_at: i64) -> ItemText {
    ItemText {
        feed: feed.into(),
        item_id: id.into(),
        seen_at,
        published: Some(seen_at),
        link: None,
        title: format!("Story {id}"),
        summary: "Kazakhstan signs".into(),
        content: String::new(),
        authors: vec!["Desk".into()],
        categories: vec![],
    }
}

#[test]
fn item_texts_are_kept_for_recorded_items_within_the_window() {
    let (_dir, store) = open();
    let now = T0 + 30 * DAY;
    record(&store, "wire", "", &["old", "new"], now - 8 * DAY);
    record(&store, "wire", "", &["today"], now);
    let written = store
        .record_item_texts(
            &[
                text("wire", "old", now - 8 * DAY),
                text("wire", "today", now),
                // Not recorded (a race with retention, say): skipped, not an error.
                text("wire", "ghost", now),
            ],
            now,
            7 * DAY,
        )
        .expect("texts");
    assert_eq!(written, 1, "only the recorded item within the window");
    let recent = store.recent_item_texts(now - 7 * DAY, 10).expect("recent");
    assert_eq!(recent.len(), 1);
    assert_eq!(recent[0].item_id, "today");
    assert_eq!(recent[0].authors, ["Desk"]);
    let item = recent[0].to_item();
    assert_eq!(item.summary, "Kazakhstan signs");
    assert_eq!(item.published.map(|p| p.timestamp()), Some(now));

    // Pruned with the item (foreign key), whatever the workbench window.
    store
        .prune(now + 100 * DAY, DAY, now + 100 * DAY, 0)
        .expect("prune");
    assert!(store.recent_item_texts(0, 10).expect("recent").is_empty());
}

#[test]
fn item_texts_are_cut_to_the_bound() {
    let item = crate::model::Item {
        feed: "wire".into(),
        id: "x".into(),
        link: None,
        title: "t".into(),
        summary: "é".repeat(MAX_FIELD_CHARS * 2),
        content: "c".repeat(10),
        published: None,
        authors: vec![],
        categories: vec!["k".into(); 500],
    };
    let text = ItemText::of(&item, T0);
    assert_eq!(text.summary.chars().count(), MAX_FIELD_CHARS);
    assert_eq!(text.content, "cccccccccc");
    assert_eq!(text.categories.len(), 50);
}

#[test]
fn items_per_day_are_counted_by_the_trigger() {
    let (_dir, store) = open();
    record(&store, "wire", "", &["a", "b"], T0 + 10);
    record(&store, "wire", "", &["c"], T0 + DAY + 10);
    record(&store, "other", "", &["d"], T0 + 10);
    // Recording the same items again counts nothing (they are not inserted).
    record(&store, "wire", "", &["a"], T0 + 2 * DAY);
    let days = store
        .items_per_day(&["wire".into(), "other".into(), "none".into()], T0 / DAY)
        .expect("days");
    assert_eq!(days["wire"], [(T0 / DAY, 2), (T0 / DAY + 1, 1)]);
    assert_eq!(days["other"], [(T0 / DAY, 1)]);
    assert!(days["none"].is_empty());
    // Days older than 40 go when the feed records its next item.
    record(&store, "wire", "", &["late"], T0 + 45 * DAY);
    let days = store.items_per_day(&["wire".into()], 0).expect("days");
    assert_eq!(days["wire"], [(T0 / DAY + 45, 1)]);
}

#[test]
fn alerts_are_listed_newest_first_with_filters_and_deliveries() {
    let (_dir, store) = open();
    record(&store, "wire", "kz", &["1", "2"], T0);
    record(&store, "wire", "uz", &["3"], T0 + 60);
    record(&store, "post", "kz", &["4"], T0 + 120);
    let dead = AttemptOutcome::Dead {
        status: Some(500),
        error: "HTTP 500".into(),
    };
    store
        .record_attempt("ww_wire_3", "b", T0 + 200, &dead)
        .expect("dead");
    let delivered = AttemptOutcome::Delivered { status: Some(200) };
    store
        .record_attempt("ww_wire_3", "a", T0 + 200, &delivered)
        .expect("delivered");
    let list = |query: AlertQuery| -> Vec<String> {
        store
            .dashboard_alerts(&AlertQuery {
                limit: if query.limit == 0 { 10 } else { query.limit },
                ..query
            })
            .expect("list")
            .into_iter()
            .map(|a| a.id)
            .collect()
    };
    assert_eq!(
        list(AlertQuery::default()),
        ["ww_post_4", "ww_wire_3", "ww_wire_2", "ww_wire_1"]
    );
    assert_eq!(
        list(AlertQuery {
            rule: Some("kz".into()),
            ..AlertQuery::default()
        }),
        ["ww_post_4", "ww_wire_2", "ww_wire_1"]
    );
    assert_eq!(
        list(AlertQuery {
            state: Some("dead".into()),
            ..AlertQuery::default()
        }),
        ["ww_wire_3"]
    );
    assert!(
        list(AlertQuery {
            rule: Some("kz".into()),
            state: Some("dead".into()),
            ..AlertQuery::default()
        })
        .is_empty()
    );
    assert_eq!(
        list(AlertQuery {
            since: Some(T0 + 60),
            ..AlertQuery::default()
        }),
        ["ww_post_4", "ww_wire_3"]
    );
    assert_eq!(
        list(AlertQuery {
            offset: 1,
            limit: 2,
            ..AlertQuery::default()
        }),
        ["ww_wire_3", "ww_wire_2"]
    );
    let rows = store
        .dashboard_alerts(&AlertQuery {
            state: Some("dead".into()),
            limit: 1,
            ..AlertQuery::default()
        })
        .expect("list");
    let states: Vec<(&str, &str, u32)> = rows[0]
        .deliveries
        .iter()
        .map(|d| (d.sink.as_str(), d.state.as_str(), d.attempts))
        .collect();
    assert_eq!(states, [("a", "delivered", 1), ("b", "dead", 1)]);
    assert_eq!(
        rows[0].deliveries[1].last_error.as_deref(),
        Some("HTTP 500")
    );

    assert_eq!(
        store.deliveries_ended_since(T0).expect("today"),
        DayCounts {
            delivered: 1,
            dead: 1
        }
    );
    assert_eq!(
        store.deliveries_ended_since(T0 + 201).expect("today"),
        DayCounts::default()
    );

    let detail = store
        .dashboard_alert("ww_wire_3")
        .expect("detail")
        .expect("exists");
    assert_eq!(detail.alert.rule, "uz");
    let attempts: Vec<(&str, u32, Option<u16>, &str)> = detail
        .attempts
        .iter()
        .map(|a| (a.sink.as_str(), a.attempt, a.status, a.outcome.as_str()))
        .collect();
    assert_eq!(
        attempts,
        [
            ("b", 1, Some(500), "dead"),
            ("a", 1, Some(200), "delivered")
        ]
    );
    // Re-queued and tried again: a retry, then delivered; every attempt is kept.
    store
        .requeue(&["ww_wire_3".into()], false, T0 + 300)
        .expect("requeue");
    let retry = AttemptOutcome::Retry {
        status: Some(503),
        error: "HTTP 503".into(),
        next_attempt_at: T0 + 400,
    };
    store
        .record_attempt("ww_wire_3", "b", T0 + 301, &retry)
        .expect("retry");
    store
        .record_attempt("ww_wire_3", "b", T0 + 401, &delivered)
        .expect("delivered");
    let detail = store
        .dashboard_alert("ww_wire_3")
        .expect("detail")
        .expect("exists");
    let attempts: Vec<(u32, Option<i64>, &str)> = detail
        .attempts
        .iter()
        .filter(|a| a.sink == "b")
        .map(|a| (a.attempt, a.at, a.outcome.as_str()))
        .collect();
    assert_eq!(
        attempts,
        [
            (1, Some(T0 + 200), "dead"),
            (1, Some(T0 + 301), "pending"),
            (2, Some(T0 + 401), "delivered")
        ]
    );
    assert_eq!(detail.attempts[2].error.as_deref(), Some("HTTP 503"));
    assert_eq!(detail.alert.deliveries.len(), 2);
    assert!(detail.payload.contains("Story 3"));
    assert!(store.dashboard_alert("ww_nope").expect("detail").is_none());
}

#[test]
fn feed_health_words_are_those_of_watchword_feeds() {
    let state = FeedState::default();
    assert_eq!(FeedHealth::of(None).label(), "never polled");
    assert_eq!(FeedHealth::of(Some(&state)).label(), "ok");
    let failing = FeedState {
        consecutive_failures: 2,
        stale_since: Some(1),
        ..FeedState::default()
    };
    assert_eq!(FeedHealth::of(Some(&failing)).label(), "failing");
    let gone = FeedState {
        gone_at: Some(1),
        broken_since: Some(1),
        ..failing.clone()
    };
    assert_eq!(FeedHealth::of(Some(&gone)), FeedHealth::Gone);
}

#[test]
fn feed_health_words_read_alone_agree_with_the_full_states() {
    let (_dir, store) = open();
    record(&store, "wire", "kz", &["1"], T0);
    store
        .record_fetch(&FetchRecord {
            feed: "post".into(),
            url: "https://post.example.org/rss".into(),
            at: T0,
            error: Some("HTTP 500".into()),
            items: Vec::new(),
            listed: Vec::new(),
            edits: Vec::new(),
        })
        .expect("failure");
    let healths = store.feed_healths().expect("healths");
    let states = store.feed_states().expect("states");
    let uncounted = store.feed_states_uncounted().expect("uncounted");
    let counts = store
        .alerts_of_feeds(&["wire".into(), "post".into()])
        .expect("counts");
    for (name, state) in &states {
        let mut counted = uncounted[name].clone();
        counted.alerts = counts[name];
        // Everything the feeds page shows (validators, ttl and the like it does not).
        let shown = |s: &FeedState| {
            (
                s.url.clone(),
                s.last_success_at,
                s.last_status,
                s.last_error.clone(),
                s.consecutive_failures,
                s.next_due_at,
                s.items_seen,
                s.alerts,
                s.skipped.clone(),
            )
        };
        assert_eq!(shown(&counted), shown(state));
        assert_eq!(FeedHealth::of(Some(&counted)), FeedHealth::of(Some(state)));
    }
    assert_eq!(counts["wire"], 1);
    assert_eq!(healths.len(), 2);
    for (name, state) in &states {
        assert_eq!(
            healths[name],
            (state.url.clone(), FeedHealth::of(Some(state)))
        );
    }
    assert_eq!(healths["post"].1, FeedHealth::Failing);
}

/// Every page's query searches an index: with 100,000 alerts a scan is what makes a page slow.
#[test]
fn dashboard_queries_use_indexes() {
    let (_dir, store) = open();
    let conn = store.lock().expect("lock");
    let plan = |sql: &str| -> String {
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("prepare");
        let count = stmt.parameter_count();
        let params: Vec<i64> = vec![1; count];
        let rows = stmt
            .query_map(rusqlite::params_from_iter(params), |row| {
                row.get::<_, String>(3)
            })
            .expect("plan");
        rows.map(|r| r.expect("row")).collect::<Vec<_>>().join("; ")
    };
    let newest = plan(&ALERTS_NEWEST.replace("{filter}", ""));
    assert!(newest.contains("alerts_created"), "{newest}");
    assert!(
        !newest.contains("TEMP B-TREE"),
        "sorted by the index: {newest}"
    );
    let dead = plan(&ALERTS_NEWEST.replace("{filter}", STATE_FILTER));
    assert!(
        dead.contains("alerts_created") && dead.contains("sqlite_autoindex_deliveries_1"),
        "{dead}"
    );
    let of_rule = plan(&ALERTS_OF_RULE.replace("{filter}", STATE_FILTER));
    assert!(of_rule.contains("alerts_rule_created"), "{of_rule}");
    assert!(!of_rule.contains("TEMP B-TREE"), "{of_rule}");
    let ended = plan("SELECT COUNT(*) FROM deliveries WHERE state = ?1 AND last_attempt_at >= ?2");
    assert!(ended.contains("deliveries_last_attempt"), "{ended}");
    let texts = plan(
        "SELECT feed, item_id FROM item_texts WHERE seen_at >= ?1 ORDER BY seen_at DESC LIMIT ?2",
    );
    assert!(texts.contains("item_texts_seen"), "{texts}");
    let days = plan("SELECT feed, day, items FROM feed_days WHERE feed = ?1 AND day >= ?2");
    assert!(days.contains("PRIMARY KEY"), "{days}");
    let deliveries = plan(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE alert_id = ?1 ORDER BY sink"
    ));
    assert!(
        deliveries.contains("sqlite_autoindex_deliveries_1"),
        "{deliveries}"
    );
    // `watchword feeds` and the feeds page count alerts per feed: a covering index, not the
    // alerts table.
    let per_feed =
        plan("SELECT feed, COUNT(*) FROM alerts WHERE substr(rule, 1, 6) != ?1 GROUP BY feed");
    assert!(
        per_feed.contains("COVERING INDEX alerts_feed"),
        "{per_feed}"
    );
    let of_feed = plan(ALERTS_OF_FEED);
    assert!(of_feed.contains("COVERING INDEX alerts_feed"), "{of_feed}");
    let attempts = plan(ATTEMPTS_OF);
    assert!(attempts.contains("delivery_attempts_of"), "{attempts}");
    let cascade = plan("DELETE FROM delivery_attempts WHERE alert_id = ?1 AND sink = ?2");
    assert!(cascade.contains("delivery_attempts_of"), "{cascade}");
    // The item texts' cascade from `items` finds them by primary key.
    let cascade = plan("DELETE FROM item_texts WHERE feed = ?1 AND item_id = ?2");
    assert!(cascade.contains("PRIMARY KEY"), "{cascade}");
}
