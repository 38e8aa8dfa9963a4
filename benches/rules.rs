//! Matcher benchmarks for issue 4's targets: items/s at 10,000 rules, per-item time at 10,000
//! rules vs 10 rules, compile time of 10,000 rules and memory per rule.
//!
//! Run: `cargo bench --bench rules` (figures in docs/rules.md). Items are ~1 KB of news-like
//! English with a few proper names; rules are synthetic but shaped like real ones (groups,
//! phrases, prefixes, NEAR, field scopes, exact case, NOT), each anchored on a name drawn from a
//! 100,000-name vocabulary, so the dictionary grows with the rule count as it would in life.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use watchword::model::Item;
use watchword::rules::{RuleSet, RuleSpec};

/// Counts live heap bytes, to measure what a compiled rule set costs per rule.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// xorshift64*: deterministic, so every run benchmarks the same rules and items.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const COMMON: &[&str] = &[
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "is",
    "that",
    "for",
    "on",
    "was",
    "with",
    "said",
    "government",
    "minister",
    "president",
    "officials",
    "agreement",
    "talks",
    "trade",
    "oil",
    "gas",
    "prices",
    "market",
    "election",
    "parliament",
    "court",
    "police",
    "military",
    "border",
    "security",
    "economy",
    "growth",
    "inflation",
    "bank",
    "central",
    "foreign",
    "policy",
    "sanctions",
    "exports",
    "imports",
    "wheat",
    "grain",
    "energy",
    "pipeline",
    "summit",
    "delegation",
    "treaty",
    "accords",
    "ministry",
    "statement",
    "tuesday",
    "wednesday",
    "week",
    "year",
    "percent",
    "million",
    "billion",
    "according",
    "reported",
    "announced",
    "visit",
    "capital",
    "region",
    "country",
    "countries",
    "international",
    "agency",
    "news",
    "after",
    "before",
    "would",
    "could",
    "will",
    "has",
    "have",
    "been",
    "also",
    "more",
    "than",
    "new",
    "first",
    "last",
    "over",
    "between",
    "about",
    "into",
    "while",
    "where",
    "which",
    "their",
    "its",
    "by",
    "from",
    "at",
    "as",
    "an",
    "it",
    "not",
    "but",
    "are",
    "were",
    "they",
    "he",
    "she",
    "his",
    "her",
    "this",
    "these",
    "those",
    "such",
    "other",
    "some",
    "many",
    "most",
    "football",
    "match",
    "team",
    "league",
    "weather",
    "storm",
    "flood",
    "health",
    "hospital",
];

const SYLLABLES: &[&str] = &[
    "ka", "za", "kh", "stan", "ul", "an", "bek", "tur", "men", "taj", "ik", "ar", "mor", "oc",
    "is", "ra", "el", "ab", "ham", "ord", "ly", "vin", "dor", "ast", "qa", "ni", "ya", "sul",
];

/// A pronounceable proper name, unique per index.
fn name(index: usize) -> String {
    let mut n = index + 1;
    let mut out = String::new();
    while n > 0 {
        out.push_str(SYLLABLES[n % SYLLABLES.len()]);
        n /= SYLLABLES.len();
    }
    out.push_str(&format!("{}", index % 7));
    let mut chars = out.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => out,
    }
}

const NAMES: usize = 100_000;

fn sentence(rng: &mut Rng, words: usize) -> String {
    let mut out = String::new();
    for i in 0..words {
        if i > 0 {
            out.push(' ');
        }
        // One word in twelve is a proper name, mostly from the most common 5,000.
        if rng.below(12) == 0 {
            let index = if rng.below(4) == 0 {
                rng.below(NAMES)
            } else {
                rng.below(5_000)
            };
            out.push_str(&name(index));
            if rng.below(5) == 0 {
                out.push_str("'s");
            }
        } else {
            out.push_str(rng.pick(COMMON));
        }
        if rng.below(10) == 0 {
            out.push(',');
        }
    }
    out.push('.');
    out
}

/// ~1 KB items: a headline, a summary and a few paragraphs' worth of content.
fn items(count: usize) -> Vec<Item> {
    let mut rng = Rng(0x5EED_0001);
    (0..count)
        .map(|i| {
            let title = sentence(&mut rng, 9);
            let summary = sentence(&mut rng, 30);
            let content = sentence(&mut rng, 110);
            Item {
                feed: format!("wire-{}", i % 50),
                id: format!("item-{i}"),
                link: Some(format!("https://news.example.org/world/{i}")),
                title,
                summary,
                content,
                published: None,
                authors: vec![format!("{} {}", name(i % 300), name(i % 301 + 1))],
                categories: vec!["World".to_owned(), name(i % 40)],
            }
        })
        .collect()
}

fn groups() -> BTreeMap<String, Vec<String>> {
    (0..50)
        .map(|g| {
            let members = (0..12).map(|m| name(g * 12 + m)).collect();
            (format!("g{g}"), members)
        })
        .collect()
}

/// `count` rules in a rotating mix of shapes, each anchored on its own name.
fn rules(count: usize) -> Vec<(String, String)> {
    let mut rng = Rng(0x5EED_0002);
    (0..count)
        .map(|i| {
            let anchor = name(rng.below(NAMES));
            let other = name(rng.below(NAMES));
            let word = rng.pick(COMMON);
            let word2 = rng.pick(COMMON);
            let stem = &anchor[..anchor.len().min(5)];
            let query = match i % 8 {
                0 => format!("{anchor} AND ({word} OR {word2})"),
                1 => format!("\"{anchor} {word}\" OR {other}"),
                2 => format!("{anchor} NEAR/5 {word}"),
                3 => format!("title:{anchor} AND NOT {word}"),
                4 => format!("={anchor} AND {word}"),
                5 => format!("@g{} AND {anchor} AND NOT football", i % 50),
                6 => format!("{stem}* AND {other} AND {word}"),
                _ => format!("({anchor} OR {other}) AND NOT category:sport"),
            };
            (format!("rule-{i}"), query)
        })
        .collect()
}

fn compile(groups: &BTreeMap<String, Vec<String>>, rules: &[(String, String)]) -> RuleSet {
    let specs: Vec<RuleSpec> = rules
        .iter()
        .map(|(name, query)| RuleSpec { name, query })
        .collect();
    match RuleSet::compile(groups, &specs) {
        Ok(set) => set,
        Err(e) => panic!("benchmark rules must compile: {e}"),
    }
}

/// Nanoseconds this thread has spent on a CPU (Linux: /proc/thread-self/schedstat), so that
/// figures taken on a shared, loaded machine count our work and not the time spent waiting
/// for a core. `None` elsewhere.
fn cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Printed before criterion runs: live bytes per rule, compile time, and matching time per
/// item, both in wall time and in on-CPU time of this thread.
fn memory_and_compile_report(items: &[Item]) {
    let groups = groups();
    for count in [10, 1_000, 10_000, 100_000] {
        let rules = rules(count);
        let before = LIVE.load(Ordering::Relaxed);
        let cpu = cpu_ns();
        let started = Instant::now();
        let set = compile(&groups, &rules);
        let elapsed = started.elapsed();
        let compile_cpu = cpu.zip(cpu_ns()).map(|(a, b)| (b - a) as f64 / 1e6);
        let bytes = LIVE.load(Ordering::Relaxed) - before;
        const ROUNDS: usize = 20;
        let cpu = cpu_ns();
        let started = Instant::now();
        for _ in 0..ROUNDS {
            for item in items {
                black_box(set.matches(black_box(item)));
            }
        }
        let per_item = started.elapsed().as_secs_f64() * 1e6 / (ROUNDS * items.len()) as f64;
        let per_item_cpu = cpu
            .zip(cpu_ns())
            .map(|(a, b)| (b - a) as f64 / 1e3 / (ROUNDS * items.len()) as f64);
        println!(
            "rules={count:>7}  compile={:>7.1} ms (cpu {:>7.1} ms)  heap={:>7} KiB  per rule={:>5} B  \
             match={per_item:>6.1} us/item (cpu {:>6.1} us/item = {:>6.0} items/s)",
            elapsed.as_secs_f64() * 1000.0,
            compile_cpu.unwrap_or(f64::NAN),
            bytes / 1024,
            bytes / count as isize,
            per_item_cpu.unwrap_or(f64::NAN),
            per_item_cpu.map_or(f64::NAN, |us| 1e6 / us),
        );
        black_box(&set);
    }
}

fn bench(c: &mut Criterion) {
    let groups = groups();
    let items = items(200);
    memory_and_compile_report(&items);
    let bytes: usize = items
        .iter()
        .map(|i| i.title.len() + i.summary.len() + i.content.len())
        .sum();
    println!(
        "items: {} of {} bytes on average",
        items.len(),
        bytes / items.len()
    );

    let mut group = c.benchmark_group("match");
    group.throughput(Throughput::Elements(items.len() as u64));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    for count in [10, 1_000, 10_000, 100_000] {
        let set = compile(&groups, &rules(count));
        let matched: usize = items.iter().map(|i| set.matches(i).len()).sum();
        println!(
            "rules={count}: {matched} matches over {} items",
            items.len()
        );
        group.bench_with_input(BenchmarkId::from_parameter(count), &set, |b, set| {
            b.iter(|| {
                for item in &items {
                    black_box(set.matches(black_box(item)));
                }
            })
        });
    }
    group.finish();

    let mut group = c.benchmark_group("compile");
    group.sample_size(10);
    let rules = rules(10_000);
    group.bench_function("10000", |b| b.iter(|| compile(&groups, black_box(&rules))));
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
