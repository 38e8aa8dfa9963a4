use super::*;
use crate::model::{AlertId, AttemptOutcome};

fn item(id: &str, too_old: bool, rules: &[&str]) -> NewItem {
    NewItem {
        id: id.into(),
        link: Some(format!("https://news.example.org/{id}")),
        title: format!("Story {id}"),
        published: Some(1_800_000_000),
        too_old,
        text_hash: None,
        story: StoryKey::default(),
        alerts: rules
            .iter()
            .map(|rule| NewAlert {
                id: AlertId::stored(format!("ww_{rule}_{id}")),
                rule: (*rule).into(),
                payload: format!("{{\"rule\":\"{rule}\",\"item\":\"{id}\"}}"),
                sinks: vec!["hook".into(), "out".into()],
                story_update_after: None,
            })
            .collect(),
    }
}

fn fetch(items: Vec<NewItem>, at: i64) -> FetchRecord {
    FetchRecord {
        feed: "wire".into(),
        url: "https://news.example.org/rss".into(),
        at,
        error: None,
        items,
        listed: Vec::new(),
        edits: Vec::new(),
    }
}

fn sinks() -> Vec<String> {
    vec!["hook".into(), "out".into()]
}

fn open() -> (tempfile::TempDir, Sqlite) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Sqlite::open(&dir.path().join("nested/dir/watchword.db")).expect("open");
    (dir, store)
}

#[test]
fn records_items_and_alerts_once() {
    let (_dir, store) = open();
    let record = fetch(vec![item("a", false, &["r1"]), item("b", false, &[])], 100);
    let summary = store.record_fetch(&record).expect("record");
    assert_eq!(
        summary,
        RecordSummary {
            new_items: 2,
            new_alerts: 1,
            merged: 0,
            edited: 0,
        }
    );
    // The same fetch recorded again (a crash-retry or a race) adds nothing.
    let again = store.record_fetch(&record).expect("record again");
    assert_eq!(again, RecordSummary::default());
    assert_eq!(
        store
            .due_deliveries(100, false, 100, &sinks())
            .expect("due")
            .len(),
        2
    );
    let unseen = store
        .unseen("wire", &["a".into(), "b".into(), "c".into()])
        .expect("unseen");
    assert_eq!(unseen, HashSet::from(["c".to_string()]));
    // Identity is per feed.
    assert_eq!(
        store.unseen("other", &["a".into()]).expect("unseen").len(),
        1
    );
}

#[test]
fn old_items_are_seen_without_alerts() {
    let (_dir, store) = open();
    let summary = store
        .record_fetch(&fetch(vec![item("old", true, &["r1"])], 100))
        .expect("record");
    assert_eq!(summary.new_items, 1);
    assert_eq!(summary.new_alerts, 0);
    assert!(
        store
            .due_deliveries(100, true, 100, &sinks())
            .expect("due")
            .is_empty()
    );
}

#[test]
fn delivery_lifecycle_survives_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("watchword.db");
    {
        let store = Sqlite::open(&path).expect("open");
        store
            .record_fetch(&fetch(vec![item("a", false, &["r1"])], 100))
            .expect("record");
        store
            .record_attempt(
                "ww_r1_a",
                "hook",
                101,
                &AttemptOutcome::Retry {
                    status: Some(500),
                    error: "HTTP 500".into(),
                    next_attempt_at: 200,
                },
            )
            .expect("attempt");
        store
            .record_attempt(
                "ww_r1_a",
                "out",
                101,
                &AttemptOutcome::Delivered { status: None },
            )
            .expect("attempt");
    }
    let store = Sqlite::open(&path).expect("reopen");
    assert!(
        store
            .due_deliveries(150, false, 10, &sinks())
            .expect("due")
            .is_empty()
    );
    let forced = store.due_deliveries(150, true, 10, &sinks()).expect("due");
    assert_eq!(forced.len(), 1);
    assert_eq!(forced[0].sink, "hook");
    assert_eq!(forced[0].attempts, 1);
    assert_eq!(store.next_delivery_at(&sinks()).expect("next"), Some(200));
    let due = store.due_deliveries(200, false, 10, &sinks()).expect("due");
    assert_eq!(due.len(), 1);
    store
        .record_attempt(
            "ww_r1_a",
            "hook",
            201,
            &AttemptOutcome::Dead {
                status: Some(404),
                error: "HTTP 404".into(),
            },
        )
        .expect("attempt");
    assert_eq!(
        store.outbox_counts().expect("counts"),
        OutboxCounts {
            pending: 0,
            delivered: 1,
            dead: 1
        }
    );
    assert_eq!(store.next_delivery_at(&sinks()).expect("next"), None);
}

#[test]
fn failures_are_counted_per_feed() {
    let (_dir, store) = open();
    let mut failed = fetch(vec![], 100);
    failed.error = Some("HTTP 404 Not Found".into());
    store.record_fetch(&failed).expect("record");
    store.record_fetch(&failed).expect("record");
    let conn = store.lock().expect("lock");
    let (failures, error): (i64, Option<String>) = conn
        .query_row(
            "SELECT consecutive_failures, last_error FROM feeds WHERE name = 'wire'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("row");
    assert_eq!(failures, 2);
    assert_eq!(error.as_deref(), Some("HTTP 404 Not Found"));
    drop(conn);
    store
        .record_fetch(&fetch(vec![item("a", false, &[])], 200))
        .expect("record");
    let conn = store.lock().expect("lock");
    let failures: i64 = conn
        .query_row(
            "SELECT consecutive_failures FROM feeds WHERE name = 'wire'",
            [],
            |r| r.get(0),
        )
        .expect("row");
    assert_eq!(failures, 0);
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("watchword.db");
    drop(Sqlite::open(&path).expect("open"));
    {
        let conn = Connection::open(&path).expect("raw open");
        conn.pragma_update(None, "user_version", 99).expect("bump");
    }
    let err = Sqlite::open(&path).err().expect("must refuse");
    assert!(err.to_string().contains("cannot migrate"), "{err}");
}

#[test]
fn removed_sinks_neither_block_nor_wake_the_others() {
    let (_dir, store) = open();
    store
        .record_fetch(&fetch(vec![item("a", false, &["r1"])], 100))
        .expect("record");
    let only_out = vec!["out".to_string()];
    let due = store.due_deliveries(100, true, 10, &only_out).expect("due");
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].sink, "out");
    store
        .record_attempt(
            "ww_r1_a",
            "out",
            101,
            &AttemptOutcome::Delivered { status: None },
        )
        .expect("attempt");
    assert_eq!(store.next_delivery_at(&only_out).expect("next"), None);
    assert_eq!(
        store.orphaned_deliveries(&only_out).expect("orphans"),
        vec![("hook".to_string(), 1)]
    );
}

#[test]
fn a_failing_sink_defers_all_its_pending_deliveries() {
    let (_dir, store) = open();
    store
        .record_fetch(&fetch(
            vec![item("a", false, &["r1"]), item("b", false, &["r1"])],
            100,
        ))
        .expect("record");
    store.defer_sink("hook", 500).expect("defer");
    let due = store.due_deliveries(499, false, 10, &sinks()).expect("due");
    assert!(due.iter().all(|d| d.sink == "out"), "{due:?}");
    assert_eq!(
        store
            .due_deliveries(500, false, 10, &sinks())
            .expect("due")
            .len(),
        4
    );
    // Deferring never pulls a later retry earlier.
    store.defer_sink("hook", 300).expect("defer");
    assert_eq!(
        store
            .due_deliveries(499, false, 10, &sinks())
            .expect("due")
            .len(),
        2
    );
}

#[test]
fn first_sight_is_known_per_feed() {
    let (_dir, store) = open();
    assert_eq!(store.last_success_at("wire").expect("read"), None);
    let mut failed = fetch(vec![], 50);
    failed.error = Some("HTTP 500".into());
    store.record_fetch(&failed).expect("record");
    assert_eq!(store.last_success_at("wire").expect("read"), None);
    store.record_fetch(&fetch(vec![], 100)).expect("record");
    assert_eq!(store.last_success_at("wire").expect("read"), Some(100));
}

#[test]
fn only_one_writer_at_a_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("watchword.db");
    let first =
        WriterLock::acquire(&crate::model::Database::Sqlite(db.clone())).expect("first lock");
    let err = WriterLock::acquire(&crate::model::Database::Sqlite(db.clone()))
        .err()
        .expect("second must fail");
    assert!(
        err.to_string().contains("another watchword process"),
        "{err}"
    );
    drop(first);
    WriterLock::acquire(&crate::model::Database::Sqlite(db.clone())).expect("free again");
}

fn story_item(id: &str, title: &str, lead: &str, link: &str, rules: &[&str]) -> NewItem {
    let mut new = item(id, false, rules);
    new.title = title.into();
    new.link = Some(link.into());
    new.story = StoryKey {
        signature: crate::story::Fingerprinter::default().signature(title, lead),
        link: Some(link.into()),
        ..StoryKey::default()
    };
    new
}

fn fetch_from(feed: &str, items: Vec<NewItem>, at: i64) -> FetchRecord {
    FetchRecord {
        feed: feed.into(),
        ..fetch(items, at)
    }
}

const LEAD: &str = "Kazakhstan will join the Abraham Accords, the White House said on Thursday, \
                    the first Central Asian state to normalise ties with Israel under the pact.";

#[test]
fn a_rule_alerts_once_per_story_and_later_reports_become_sources() {
    let (_dir, store) = open();
    let first = story_item(
        "a",
        "Kazakhstan to join Abraham Accords",
        LEAD,
        "https://one.example/a",
        &["r1"],
    );
    assert_eq!(
        store
            .record_fetch(&fetch_from("one", vec![first], 100))
            .expect("record")
            .new_alerts,
        1
    );
    let copy = story_item(
        "b",
        "Astana signs up for the Abraham Accords",
        LEAD,
        "https://two.example/b",
        &["r1"],
    );
    let summary = store
        .record_fetch(&fetch_from("two", vec![copy], 200))
        .expect("record");
    assert_eq!((summary.new_alerts, summary.merged), (0, 1));
    let sources = store.story_sources("ww_r1_a").expect("sources");
    let feeds: Vec<&str> = sources.iter().map(|s| s.feed.as_str()).collect();
    assert_eq!(feeds, ["one", "two"]);
}

#[test]
fn another_rule_still_alerts_on_a_story_joined_later() {
    let (_dir, store) = open();
    let first = story_item(
        "a",
        "Kazakhstan to join Abraham Accords",
        LEAD,
        "https://one.example/a",
        &["r1"],
    );
    store
        .record_fetch(&fetch_from("one", vec![first], 100))
        .expect("record");
    let copy = story_item(
        "b",
        "Astana signs up for the Abraham Accords",
        LEAD,
        "https://two.example/b",
        &["r1", "r2"],
    );
    let summary = store
        .record_fetch(&fetch_from("two", vec![copy], 200))
        .expect("record");
    assert_eq!((summary.new_alerts, summary.merged), (1, 1));
}

#[test]
fn a_story_closes_after_its_window() {
    let (_dir, store) = open();
    let store = store.with_story_policy(StoryPolicy {
        window_secs: 3600,
        ..StoryPolicy::default()
    });
    let first = story_item(
        "a",
        "Kazakhstan to join Abraham Accords",
        LEAD,
        "https://one.example/a",
        &["r1"],
    );
    store
        .record_fetch(&fetch_from("one", vec![first], 100))
        .expect("record");
    let late = story_item(
        "b",
        "Kazakhstan to join Abraham Accords",
        LEAD,
        "https://two.example/b",
        &["r1"],
    );
    let summary = store
        .record_fetch(&fetch_from("two", vec![late], 100 + 7200))
        .expect("record");
    assert_eq!(
        summary.new_alerts, 1,
        "two hours later with a one-hour window: a new story"
    );
}

#[test]
fn the_same_canonical_link_is_the_same_story_even_with_unrelated_text() {
    let (_dir, store) = open();
    let a = story_item(
        "a",
        "Kazakhstan to join Abraham Accords",
        LEAD,
        "https://one.example/a",
        &["r1"],
    );
    store
        .record_fetch(&fetch_from("one", vec![a], 100))
        .expect("record");
    let b = story_item(
        "guid-changed",
        "Completely different words here now",
        "Nothing alike at all.",
        "https://one.example/a",
        &["r1"],
    );
    let summary = store
        .record_fetch(&fetch_from("one", vec![b], 200))
        .expect("record");
    assert_eq!((summary.new_alerts, summary.merged), (0, 1));
}

#[test]
fn story_updates_send_one_follow_up_listing_the_sources() {
    let (_dir, store) = open();
    let with_updates = |id: &str, feed_link: &str| {
        let mut item = story_item(
            id,
            "Kazakhstan to join Abraham Accords",
            LEAD,
            feed_link,
            &["r1"],
        );
        item.alerts[0].story_update_after = Some(2);
        item.alerts[0].payload = r#"{"id":"x","rule":"r1"}"#.into();
        item
    };
    let mut total = 0;
    for (n, feed) in ["one", "two", "three", "four"].iter().enumerate() {
        let item = with_updates(&format!("i{n}"), &format!("https://{feed}.example/story"));
        total += store
            .record_fetch(&fetch_from(feed, vec![item], 100 + n as i64))
            .expect("record")
            .new_alerts;
    }
    assert_eq!(
        total, 2,
        "the first alert, then one follow-up after two more outlets"
    );
    let due = store
        .due_deliveries(1000, false, 100, &sinks())
        .expect("due");
    let update = due
        .iter()
        .find(|d| d.alert_id.ends_with("_update"))
        .expect("follow-up queued");
    let sent = crate::model::payload::with_story_sources(&update.payload, &update.story_sources);
    let payload: serde_json::Value = serde_json::from_str(&sent).expect("json");
    // Queued when the third outlet came; sent with the sources as they are now (four).
    assert_eq!(payload["story"]["update"], true);
    assert_eq!(payload["story"]["outlets"], 4);
    assert_eq!(payload["id"], update.alert_id.as_str());
    assert_eq!(payload["story"]["sources"][3]["feed"], "four");
}

#[test]
fn prune_keeps_listed_items_pending_alerts_and_open_stories() {
    let (_dir, store) = open();
    let day = 86_400;
    let old = story_item(
        "old",
        "Kazakhstan to join Abraham Accords",
        LEAD,
        "https://one.example/old",
        &["r1"],
    );
    let kept = story_item(
        "kept",
        "Uzbek cotton harvest beats forecasts",
        "Uzbekistan picked more cotton this autumn than its ministry expected.",
        "https://one.example/kept",
        &[],
    );
    store
        .record_fetch(&fetch_from("one", vec![old, kept], 0))
        .expect("record");
    // The feed still lists "kept" 100 days later; "old" has dropped out of it.
    store
        .record_fetch(&FetchRecord {
            listed: vec!["kept".into()],
            edits: Vec::new(),
            ..fetch_from("one", vec![], 100 * day)
        })
        .expect("record");
    // The alert on "old" is still pending: it must survive alert retention.
    let report = store
        .prune(100 * day, 3 * day, 10 * day, 10 * day)
        .expect("prune");
    assert_eq!(report.items, 1);
    assert_eq!(report.alerts, 0, "a pending alert is never pruned");
    assert!(
        store
            .unseen("one", &["kept".into()])
            .expect("unseen")
            .is_empty()
    );
    assert_eq!(
        store.unseen("one", &["old".into()]).expect("unseen").len(),
        1
    );
    for d in store
        .due_deliveries(100 * day, true, 100, &sinks())
        .expect("due")
    {
        store
            .record_attempt(
                &d.alert_id,
                &d.sink,
                100 * day,
                &AttemptOutcome::Delivered { status: Some(200) },
            )
            .expect("delivered");
    }
    let report = store
        .prune(100 * day, 3 * day, 10 * day, 10 * day)
        .expect("prune");
    assert_eq!(report.alerts, 1, "delivered and past alert retention");
}

#[test]
fn retention_keeps_partly_delivered_and_mid_retry_alerts() {
    let (_dir, store) = open();
    let day = 86_400;
    store
        .record_fetch(&fetch(
            vec![
                item("a", false, &["r"]),
                item("b", false, &["r"]),
                item("c", false, &["r"]),
            ],
            0,
        ))
        .expect("record");
    let id = |item: &str| format!("ww_r_{item}");
    let attempt = |item: &str, sink: &str, outcome: AttemptOutcome| {
        store
            .record_attempt(&id(item), sink, day, &outcome)
            .expect("attempt");
    };
    let delivered = || AttemptOutcome::Delivered { status: Some(200) };
    // a: delivered to both sinks. b: to one, the other still owed. c: one sink dead, the
    // other waiting for a retry far in the future.
    attempt("a", "hook", delivered());
    attempt("a", "out", delivered());
    attempt("b", "hook", delivered());
    attempt(
        "c",
        "hook",
        AttemptOutcome::Dead {
            status: Some(404),
            error: "HTTP 404".into(),
        },
    );
    attempt(
        "c",
        "out",
        AttemptOutcome::Retry {
            status: Some(503),
            error: "HTTP 503".into(),
            next_attempt_at: 200 * day,
        },
    );
    let report = store
        .prune(100 * day, 3 * day, 10 * day, 10 * day)
        .expect("prune");
    assert_eq!(report.alerts, 1, "only the fully delivered alert goes");
    let owed: Vec<(String, String)> = store
        .due_deliveries(300 * day, true, 100, &sinks())
        .expect("due")
        .into_iter()
        .map(|d| (d.alert_id, d.sink))
        .collect();
    assert_eq!(
        owed,
        [(id("b"), "out".to_string()), (id("c"), "out".to_string())],
        "what is still owed survives retention"
    );
}

fn edit(id: &str, old_hash: Option<i64>, text_hash: i64, title_changed: bool) -> EditedItem {
    let base = item(id, false, &["r1"]);
    EditedItem {
        id: id.into(),
        link: base.link,
        title: format!("Story {id}, corrected"),
        old_hash,
        text_hash,
        title_changed,
        story: StoryKey::default(),
        alerts: base
            .alerts
            .into_iter()
            .map(|a| NewAlert {
                id: AlertId::stored(format!("{}_edit_{text_hash}", a.id)),
                ..a
            })
            .collect(),
    }
}

#[test]
fn an_edit_alerts_once_and_only_against_a_known_earlier_text() {
    let (_dir, store) = open();
    let mut first = item("a", false, &["r1"]);
    first.text_hash = Some(1);
    store
        .record_fetch(&fetch(vec![first], 100))
        .expect("record");
    let edited = |edits: Vec<EditedItem>, at: i64| {
        let mut record = fetch(Vec::new(), at);
        record.edits = edits;
        store.record_fetch(&record).expect("record edit")
    };
    // A headline edit: one more alert, of kind 'edit'.
    assert_eq!(edited(vec![edit("a", Some(1), 2, true)], 200).new_alerts, 1);
    // The same edit recorded again (a race, a re-listing): the stored text already is it.
    let again = edited(vec![edit("a", Some(1), 2, true)], 300);
    assert_eq!((again.new_alerts, again.edited), (0, 0));
    // A body-only edit of an item the rule already alerted on: recorded, no alert.
    let body = edited(vec![edit("a", Some(2), 3, false)], 400);
    assert_eq!((body.new_alerts, body.edited), (0, 1));
    let due = store.due_deliveries(500, true, 100, &sinks()).expect("due");
    assert_eq!(due.len(), 4, "two alerts to two sinks: {due:?}");

    // An item recorded before text hashes: its first hash is a baseline, not an edit.
    let mut old = item("b", false, &[]);
    old.text_hash = None;
    store.record_fetch(&fetch(vec![old], 600)).expect("record");
    let baseline = edited(vec![edit("b", None, 9, true)], 700);
    assert_eq!((baseline.new_alerts, baseline.edited), (0, 1));
}
