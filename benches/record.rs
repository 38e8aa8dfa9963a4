//! Recording throughput and database size per item, as the tables grow.
//!
//! `cargo bench --bench record` records 100,000 synthetic news items (headline + lead, with
//! MinHash signatures, link keys and one alert in twenty) the way the daemon does — one
//! transaction per fetched feed of 20 items — into a fresh SQLite file, and prints items/s
//! per 10,000-item slice (a flat line means look-ups do not slow down as the tables grow)
//! and bytes of database per item. Signatures are computed before the clock starts; their
//! own cost is printed separately.

use std::time::Instant;

use watchword::store::{FetchRecord, NewAlert, NewItem, Store, StoryKey};
use watchword::story::Fingerprinter;

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
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bench.db");
    let store = Store::open(&path).expect("open");
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
                },
                alerts: if n % 20 == 0 {
                    vec![NewAlert {
                        id: format!("ww_{n:032x}"),
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

    let mut slice_started = Instant::now();
    let all_started = Instant::now();
    let mut recorded = 0;
    let mut items = items.into_iter().peekable();
    let mut fetch = 0i64;
    while items.peek().is_some() {
        let batch: Vec<NewItem> = items.by_ref().take(PER_FETCH).collect();
        let n = batch.len();
        store
            .record_fetch(&FetchRecord {
                feed: format!("feed-{}", fetch % 5000),
                url: format!("https://outlet{}.example/rss", fetch % 5000),
                at: 1_800_000_000 + fetch,
                error: None,
                items: batch,
                listed: Vec::new(),
                edits: Vec::new(),
            })
            .expect("record");
        fetch += 1;
        recorded += n;
        if recorded % SLICE == 0 {
            let secs = slice_started.elapsed().as_secs_f64();
            println!(
                "items {:>6}-{:>6}: {:>7.0} items/s",
                recorded - SLICE,
                recorded,
                SLICE as f64 / secs
            );
            slice_started = Instant::now();
        }
    }
    let total = all_started.elapsed().as_secs_f64();
    drop(store);
    let bytes: u64 = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "recorded {ITEMS} items in {total:.2}s: {:.0} items/s; database {:.1} MiB = {:.0} bytes/item",
        ITEMS as f64 / total,
        bytes as f64 / (1 << 20) as f64,
        bytes as f64 / ITEMS as f64
    );
}
