//! Story-merging quality and fingerprint speed on the labelled set in `benches/data/`.
//!
//! `cargo bench --bench stories` prints, for each shingling and threshold, the recall of
//! same-story merges and the rate of false merges when the items arrive in publication order
//! and each joins the closest earlier item (as the daemon does), plus signatures per second.
//! Not a criterion bench: the point is the quality table, and one timing loop is enough.

use std::collections::HashMap;
use std::time::Instant;

use watchword::story::fingerprint::{BANDS, Fingerprinter, Shingling, Signature};

struct Labelled {
    story: String,
    title: String,
    summary: String,
}

fn load() -> Vec<Labelled> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/data/stories.jsonl");
    let text = std::fs::read_to_string(path).expect("benches/data/stories.jsonl is in the repo");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("valid JSON line");
            let field = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            Labelled {
                story: field("story"),
                title: field("title"),
                summary: field("summary"),
            }
        })
        .collect()
}

#[derive(Default)]
struct Score {
    should_join: usize,
    joined_right: usize,
    joined_wrong: usize,
    items: usize,
}

/// Clusters in arrival order; `lsh` chooses candidates by band keys instead of comparing all.
fn evaluate(items: &[Labelled], f: &Fingerprinter, threshold: f64, lsh: bool) -> Score {
    let sigs: Vec<Option<Signature>> = items
        .iter()
        .map(|i| f.signature(&i.title, &i.summary))
        .collect();
    let mut cluster_story: Vec<String> = Vec::new(); // predicted cluster -> true story of its first item
    let mut item_cluster: Vec<usize> = Vec::new();
    let mut bands: HashMap<i64, Vec<usize>> = HashMap::new();
    let mut seen_story: HashMap<&str, usize> = HashMap::new();
    let mut score = Score {
        items: items.len(),
        ..Score::default()
    };
    for (i, item) in items.iter().enumerate() {
        let first_of_story = !seen_story.contains_key(item.story.as_str());
        *seen_story.entry(&item.story).or_default() += 1;
        if !first_of_story {
            score.should_join += 1;
        }
        let mut best: Option<(f64, usize)> = None;
        if let Some(sig) = &sigs[i] {
            let candidates: Vec<usize> = if lsh {
                let mut c: Vec<usize> = sig
                    .band_keys()
                    .iter()
                    .filter_map(|k| bands.get(k))
                    .flatten()
                    .copied()
                    .collect();
                c.sort_unstable();
                c.dedup();
                c
            } else {
                (0..i).collect()
            };
            for j in candidates {
                if let Some(other) = &sigs[j] {
                    let s = sig.similarity(other);
                    if s >= threshold && best.is_none_or(|(b, _)| s > b) {
                        best = Some((s, j));
                    }
                }
            }
            for k in sig.band_keys() {
                bands.entry(k).or_default().push(i);
            }
        }
        match best {
            Some((_, j)) => {
                let cluster = item_cluster[j];
                item_cluster.push(cluster);
                if cluster_story[cluster] == item.story {
                    score.joined_right += 1;
                } else {
                    score.joined_wrong += 1;
                }
            }
            None => {
                item_cluster.push(cluster_story.len());
                cluster_story.push(item.story.clone());
            }
        }
    }
    score
}

fn main() {
    let items = load();
    let stories = items
        .iter()
        .map(|i| i.story.as_str())
        .collect::<std::collections::HashSet<_>>()
        .len();
    println!(
        "labelled set: {} items, {} stories, {BANDS} LSH bands",
        items.len(),
        stories
    );
    println!(
        "{:<12} {:>9} {:>8} {:>13} {:>13}",
        "shingles", "threshold", "method", "merge recall", "false merges"
    );
    for shingling in [Shingling::Words, Shingling::WordPairs, Shingling::Chars(5)] {
        let f = Fingerprinter::new(shingling);
        for threshold in [0.2, 0.25, 0.3, 0.35, 0.4, 0.5] {
            for lsh in [false, true] {
                let s = evaluate(&items, &f, threshold, lsh);
                println!(
                    "{:<12} {:>9.2} {:>8} {:>13.3} {:>12.2}%",
                    format!("{shingling:?}"),
                    threshold,
                    if lsh { "lsh" } else { "all" },
                    s.joined_right as f64 / s.should_join.max(1) as f64,
                    100.0 * s.joined_wrong as f64 / s.items as f64,
                );
            }
        }
    }
    let f = Fingerprinter::default();
    let rounds = 200;
    let start = Instant::now();
    let mut n = 0usize;
    for _ in 0..rounds {
        for item in &items {
            n += usize::from(f.signature(&item.title, &item.summary).is_some());
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "signatures: {:.0} items/s ({} in {:.2}s)",
        n as f64 / secs,
        n,
        secs
    );
}
