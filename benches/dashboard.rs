//! The dashboard's server-side render time at scale: `cargo bench --bench dashboard` fills a
//! fresh SQLite file with 5,000 feeds and 100,000 alerts (one delivery each: 1% pending, 1%
//! dead, the rest delivered, over 30 days; 100,000 items with 20,000 of the last 7 days'
//! texts kept for the workbench), then measures each page as the daemon builds it: the store
//! queries (`web::pages`) and the HTML (`web::views`), without the network. The target is
//! 50 ms a page (issue 15); the figures are in docs/dashboard.md.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use askama::Template;
use criterion::Criterion;
use rusqlite::params;
use watchword::store::Store;
use watchword::web::{pages, views};

const FEEDS: usize = 5_000;
const ALERTS: usize = 100_000;
const TEXTS: usize = 20_000;
const DAY: i64 = 86_400;

fn config() -> String {
    let mut toml = String::from(
        "[daemon]\nmetrics_listen = \"127.0.0.1:9464\"\n\n[groups]\ncentral_asia = [\"Kazakhstan\", \"Uzbekistan\", \"Kyrgyz*\"]\n\n",
    );
    for f in 0..FEEDS {
        toml.push_str(&format!(
            "[[feed]]\nname = \"feed-{f:04}\"\nurl = \"https://news{f}.example.org/rss\"\n\n"
        ));
    }
    for r in 0..10 {
        toml.push_str(&format!(
            "[[rule]]\nname = \"rule-{r}\"\nquery = '@central_asia AND topic{r}'\nnotify = [\"hook\"]\n\n"
        ));
    }
    toml.push_str(
        "[[sink]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"https://hooks.example.org/x\"\n",
    );
    toml
}

/// Writes the rows directly, in one transaction: the daemon would take hours to raise this
/// many alerts, and only what is stored matters to the pages.
fn fill(path: &Path, now: i64) {
    drop(Store::open(path).expect("create and migrate"));
    let mut conn = rusqlite::Connection::open(path).expect("open");
    let tx = conn.transaction().expect("tx");
    {
        let mut feed = tx
            .prepare(
                "INSERT INTO feeds (name, url, last_fetch_at, last_success_at, last_error,
                    consecutive_failures, items_seen, last_status, next_due_at, broken_since,
                    stale_since)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 200, ?8, ?9, ?10)",
            )
            .expect("feed");
        for f in 0..FEEDS as i64 {
            let failing = f % 50 == 0;
            feed.execute(params![
                format!("feed-{f:04}"),
                format!("https://news{f}.example.org/rss"),
                now - 60,
                if failing { now - 3 * DAY } else { now - 60 },
                failing.then_some("HTTP 503 Service Unavailable"),
                if failing { 12 } else { 0 },
                20 + f % 100,
                now + 300,
                (f % 100 == 0).then_some(now - DAY),
                (f % 70 == 0).then_some(now - DAY)
            ])
            .expect("insert feed");
        }
        let mut item = tx
            .prepare(
                "INSERT INTO items (feed, item_id, link, title, published, first_seen_at, status,
                    story_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, 'new', ?6)",
            )
            .expect("item");
        let mut story = tx
            .prepare(
                "INSERT INTO stories (id, first_seen_at, last_seen_at, title, link)
                 VALUES (?1, ?2, ?2, ?3, ?4)",
            )
            .expect("story");
        let mut alert = tx
            .prepare(
                "INSERT INTO alerts (id, rule, feed, item_id, title, link, payload, created_at,
                    story_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )
            .expect("alert");
        let mut delivery = tx
            .prepare(
                "INSERT INTO deliveries (alert_id, sink, state, attempts, next_attempt_at,
                    last_status, last_error, delivered_at, last_attempt_at)
                 VALUES (?1, 'hook', ?2, 1, ?3, ?4, ?5, ?6, ?7)",
            )
            .expect("delivery");
        let mut text = tx
            .prepare(
                "INSERT INTO item_texts (feed, item_id, seen_at, published, link, title, summary,
                    content, authors, categories)
                 VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, '', '[]', '[]')",
            )
            .expect("text");
        for a in 0..ALERTS as i64 {
            // Newest first: alert 0 is a minute old, the last one 30 days.
            let at = now - 60 - a * (30 * DAY / ALERTS as i64);
            let feed = format!("feed-{:04}", a % FEEDS as i64);
            let id = format!("item-{a}");
            let link = format!("https://news.example.org/{a}");
            let title = format!("Kazakhstan and topic{} report number {a}", a % 10);
            item.execute(params![feed, id, link, title, at, a + 1])
                .expect("insert item");
            story
                .execute(params![a + 1, at, title, link])
                .expect("insert story");
            let alert_id = format!("ww_{a:032x}");
            let payload = serde_json::json!({
                "rule": format!("rule-{}", a % 10),
                "matched_terms": [{"term": "@central_asia", "found": ["Kazakhstan"]}],
                "item": {"title": title, "summary": "Astana says the talks went well.",
                         "authors": [], "categories": []},
            })
            .to_string();
            alert
                .execute(params![
                    alert_id,
                    format!("rule-{}", a % 10),
                    feed,
                    id,
                    title,
                    link,
                    payload,
                    at,
                    a + 1
                ])
                .expect("insert alert");
            let (state, error, delivered) = match a % 100 {
                0 => ("pending", Some("HTTP 502"), None),
                1 => ("dead", Some("HTTP 404 Not Found"), None),
                _ => ("delivered", None, Some(at + 2)),
            };
            delivery
                .execute(params![
                    alert_id,
                    state,
                    at + 600,
                    if state == "delivered" { 200 } else { 502 },
                    error,
                    delivered,
                    at + 2
                ])
                .expect("insert delivery");
            if (a as usize) < TEXTS {
                text.execute(params![
                    feed,
                    id,
                    at,
                    link,
                    title,
                    "Astana says the talks went well; Uzbekistan and Kyrgyzstan observe."
                ])
                .expect("insert text");
            }
        }
    }
    tx.commit().expect("commit");
    conn.execute_batch("ANALYZE").expect("analyze");
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dashboard.db");
    let now = chrono::Utc::now().timestamp();
    let started = Instant::now();
    fill(&path, now);
    println!(
        "filled {FEEDS} feeds, {ALERTS} alerts and items, {TEXTS} item texts in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let runtime =
        watchword::runtime::from_source(Path::new("bench.toml"), &config()).expect("config");
    let store = Store::open(&path).expect("open");
    let newest_dead = format!("ww_{:032x}", 1);

    let mut group = c.benchmark_group("page");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    let names: Vec<String> = runtime.feeds.iter().map(|f| f.name.clone()).collect();
    for (name, work) in [
        ("health", 0),
        ("feed_healths", 1),
        ("deliveries_ended_since", 2),
        ("disabled_sinks", 3),
        ("recent_item_texts", 4),
    ] {
        group.bench_function(format!("part/{name}"), |b| {
            b.iter(|| {
                // Each part's size, so that the work cannot be optimised away.
                let size = match work {
                    0 => store.health(&names).expect("health").failing.len(),
                    1 => store.feed_healths().expect("feeds").len(),
                    2 => store.deliveries_ended_since(now - 3600).expect("x").dead as usize,
                    3 => store.disabled_sinks().expect("x").len(),
                    _ => store.recent_item_texts(0, 20_000).expect("x").len(),
                };
                black_box(size)
            })
        });
    }
    group.bench_function("overview", |b| {
        b.iter(|| {
            let page = pages::overview(&store, &runtime, now).expect("overview");
            black_box(views::OverviewView { page: &page }.render().expect("html"))
        })
    });
    for (name, filters) in [
        ("alerts", pages::AlertFilters::default()),
        (
            "alerts_dead",
            pages::AlertFilters {
                state: Some("dead".into()),
                ..Default::default()
            },
        ),
        (
            "alerts_rule_page_20",
            pages::AlertFilters {
                rule: Some("rule-3".into()),
                page: Some(20),
                ..Default::default()
            },
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let page = pages::alerts(&store, &runtime, filters.clone(), now).expect("alerts");
                black_box(views::AlertsView { page: &page }.render().expect("html"))
            })
        });
    }
    group.bench_function("alert", |b| {
        b.iter(|| {
            let page = pages::alert(&store, &runtime, &newest_dead, now)
                .expect("alert")
                .expect("exists");
            black_box(
                views::AlertView {
                    page: &page,
                    csrf: "token",
                    requeued: None,
                }
                .render()
                .expect("html"),
            )
        })
    });
    for (name, params) in [
        ("feeds", pages::FeedParams::default()),
        (
            "feeds_by_alerts_desc",
            pages::FeedParams {
                sort: Some("alerts".into()),
                dir: Some("desc".into()),
                page: Some(3),
            },
        ),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let page = pages::feeds(&store, &runtime, &params, now).expect("feeds");
                black_box(views::FeedsView { page: &page }.render().expect("html"))
            })
        });
    }
    group.bench_function("workbench_empty", |b| {
        b.iter(|| {
            let page =
                pages::workbench(&store, &runtime, &Default::default(), now).expect("workbench");
            black_box(views::WorkbenchView { page: &page }.render().expect("html"))
        })
    });
    group.finish();

    // Running a query reads and matches every kept text: measured apart, it is work the user
    // asked for, not a page view.
    let mut group = c.benchmark_group("workbench_query");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    // Every stored item names Kazakhstan: each one is a match or a near miss to explain, the
    // worst case. A query whose terms few items have is the usual one.
    for (name, query) in [
        (
            "every_item_explained",
            "@central_asia AND topic3 AND NOT football",
        ),
        ("rare_terms", "Tashkent AND (fair OR exhibition)"),
    ] {
        let params = pages::WorkbenchParams {
            q: Some(query.into()),
            name: None,
            days: None,
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let page = pages::workbench(&store, &runtime, &params, now).expect("workbench");
                black_box(views::WorkbenchView { page: &page }.render().expect("html"))
            })
        });
    }
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
