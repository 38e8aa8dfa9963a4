//! Recording throughput and database size per item, as the tables grow.
//!
//! `cargo bench --bench record` records 100,000 synthetic news items (headline + lead, with
//! MinHash signatures, link keys and one alert in twenty) the way the daemon does — each
//! fetched feed of 20 items atomically through `record_poll` — into a fresh SQLite file, first
//! from one thread (a commit per feed), then from 16 (the daemon's concurrent fetches, whose
//! commits group into shared transactions), and prints items/s
//! per 10,000-item slice (a flat line means look-ups do not slow down as the tables grow)
//! and bytes of database per item. Signatures are computed before the clock starts; their
//! own cost is printed separately.

use std::time::Instant;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use watchword::model::{AlertId, NewAlert};
use watchword::store::{FeedState, FetchRecord, NewItem, PollRecord, Store};
use watchword::story::Fingerprinter;
use watchword::story::{Entities, StoryKey};

const ITEMS: usize = 100_000;
const PER_FETCH: usize = 20;
const SLICE: usize = 10_000;

/// A deterministic word soup with a news-sized vocabulary: 8,000 invented words drawn with
/// a Zipf-like skew (a few very common, most rare), so items overlap about as much as real
/// headlines do.
fn text(seed: u64, words: usize) -> String {
    const SYLLABLES: &[&str] = &[
        "ka", "za", "stan", "mir", "tash", "ol", "gas", "bor", "den", "ri", "lo", "ven", "tor",
        "as", "ta", "na", "bek", "ur", "al", "ma", "ty", "sol", "gri", "du", "pe", "xi", "ron",
    ];
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out = String::new();
    for i in 0..words {
        // Zipf-like: the square of a uniform number favours small word indexes.
        let u = (next() % 1000) as f64 / 1000.0;
        let index = (u * u * 8000.0) as u64;
        if i > 0 {
            out.push(' ');
        }
        let mut w = index;
        for _ in 0..3 {
            out.push_str(SYLLABLES[(w % SYLLABLES.len() as u64) as usize]);
            w /= SYLLABLES.len() as u64;
        }
    }
    out
}

fn main() {
    let fingerprinter = Fingerprinter::default();

    let started = Instant::now();
    let items: Vec<NewItem> = (0..ITEMS)
        .map(|n| {
            let title = text(n as u64, 9);
            let lead = text(n as u64 + 7_777_777, 30);
            let link = format!("https://outlet{}.example/news/{n}", n % 500);
            NewItem {
                id: format!("guid-{n}"),
                link: Some(link.clone()),
                title: title.clone(),
                published: Some(1_800_000_000 + n as i64),
                too_old: false,
                text_hash: None,
                story: StoryKey {
                    signature: fingerprinter.signature(&title, &lead),
                    link: Some(link),
                    // Names as a real report has them: two countries (shared by many stories),
                    // a person of a thousand and a number of ten thousand (shared by a few),
                    // and a kind of event.
                    entities: Entities::new([
                        format!("country:C{}", n % 50),
                        format!("country:C{}", n % 7),
                        format!("person:p{}", (n / 20) % 997),
                        format!("event:e{}", n % 10),
                        format!("number:{}", (n * 7) % 9973),
                    ]),
                    published: Some(1_800_000_000 + n as i64),
                    lang: Some("en".into()),
                },
                alerts: if n % 20 == 0 {
                    vec![NewAlert {
                        id: AlertId::for_item("central-asia", "bench", &format!("guid-{n}")),
                        rule: "central-asia".into(),
                        payload: format!("{{\"id\":\"ww_{n:032x}\",\"title\":\"{title}\"}}"),
                        sinks: vec!["hook".into()],
                        story_update_after: None,
                    }]
                } else {
                    Vec::new()
                },
            }
        })
        .collect();
    let signing = started.elapsed().as_secs_f64();
    println!(
        "signatures: {:.0} items/s (computed before recording)",
        ITEMS as f64 / signing
    );

    // One writer: every feed its own commit. Then the daemon's shape: 16 fetches in flight
    // (`max_concurrent_fetches`), each recording as it finishes, so commits group.
    for writers in [1, 16] {
        record_all(items.clone(), writers);
    }
}

/// Records `items` as 20-item polls of 5,000 feeds from `writers` threads, into a fresh
/// database, printing items/s per 10,000-item slice and bytes per item.
fn record_all(items: Vec<NewItem>, writers: usize) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.db");
    let store = Store::open(&path).expect("open");
    let mut polls = Vec::new();
    let mut items = items.into_iter().peekable();
    let mut fetch = 0i64;
    while items.peek().is_some() {
        let batch: Vec<NewItem> = items.by_ref().take(PER_FETCH).collect();
        let feed = format!("feed-{}", fetch % 5000);
        let url = format!("https://outlet{}.example/rss", fetch % 5000);
        let at = 1_800_000_000 + fetch;
        polls.push(PollRecord {
            fetch: FetchRecord {
                feed: feed.clone(),
                url: url.clone(),
                at,
                error: None,
                items: batch,
                listed: Vec::new(),
                edits: Vec::new(),
            },
            state: FeedState {
                name: feed,
                url,
                last_fetch_at: Some(at),
                last_success_at: Some(at),
                last_status: Some(200),
                ..FeedState::default()
            },
            events: Vec::new(),
        });
        fetch += 1;
    }
    println!("{writers} writer(s):");
    let queue = Mutex::new(polls.into_iter());
    let recorded = AtomicUsize::new(0);
    let slice_started = Mutex::new(Instant::now());
    let all_started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..writers {
            scope.spawn(|| {
                loop {
                    let Some(poll) = queue.lock().expect("queue").next() else {
                        break;
                    };
                    let n = poll.fetch.items.len();
                    store.record_poll(&poll).expect("record");
                    let before = recorded.fetch_add(n, Ordering::SeqCst);
                    if (before + n) / SLICE > before / SLICE {
                        let mut started = slice_started.lock().expect("slice");
                        let end = (before + n) / SLICE * SLICE;
                        println!(
                            "  items {:>6}-{:>6}: {:>7.0} items/s",
                            end - SLICE,
                            end,
                            SLICE as f64 / started.elapsed().as_secs_f64()
                        );
                        *started = Instant::now();
                    }
                }
            });
        }
    });
    let total = all_started.elapsed().as_secs_f64();
    drop(store);
    let bytes: u64 = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "  recorded {ITEMS} items in {total:.2}s: {:.0} items/s; database {:.1} MiB = {:.0} bytes/item",
        ITEMS as f64 / total,
        bytes as f64 / (1 << 20) as f64,
        bytes as f64 / ITEMS as f64
    );
}
