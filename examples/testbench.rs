//! Writes a workload for timing `watchword test` against `watchword once`: one RSS file of N
//! fresh items and a config of M rules reading it (`file://`), alerting to stdout.
//!
//! ```text
//! cargo build --release --bin watchword --example testbench
//! target/release/examples/testbench /tmp/tb 20000 10000
//! time target/release/watchword test --config /tmp/tb/bench.toml /tmp/tb/feed.xml > /dev/null
//! time target/release/watchword once --config /tmp/tb/bench.toml > /dev/null
//! ```
//!
//! Rules are shaped like real ones (place references, groups, phrases, NEAR, NOT), each
//! needing two names from a 100,000-name vocabulary; every item names about a dozen of them.
//! A fifth of the rules are anchored on common words (`@farm`), so every item is a candidate
//! for ~2,000 rules (a watch list of names AND a topic), and almost no item matches: the
//! daemon's `once` then measures fetching, matching and recording, not delivery. Deterministic: the same
//! arguments write the same files. Figures for docs/rules.md ("Trying rules at scale").

use std::fmt::Write as _;
use std::path::PathBuf;

/// A small deterministic generator (SplitMix64): no dependency, same files on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const SYLLABLES: [&str; 20] = [
    "ka", "zo", "ri", "mu", "te", "sa", "lo", "ven", "dar", "qi", "bel", "nor", "ash", "tul",
    "gor", "pel", "vin", "sho", "rak", "mi",
];
const COMMON: [&str; 24] = [
    "the",
    "minister",
    "said",
    "on",
    "tuesday",
    "that",
    "talks",
    "with",
    "officials",
    "in",
    "would",
    "continue",
    "after",
    "grain",
    "wheat",
    "exports",
    "rose",
    "trade",
    "deal",
    "signed",
    "border",
    "security",
    "summit",
    "week",
];
const PLACES: [&str; 6] = [
    "Kazakhstan",
    "Uzbekistan",
    "Kyrgyzstan",
    "Tajikistan",
    "Turkmenistan",
    "Morocco",
];

fn name(i: usize) -> String {
    let mut word = String::new();
    let mut n = i;
    for _ in 0..4 {
        word.push_str(SYLLABLES[n % SYLLABLES.len()]);
        n /= SYLLABLES.len();
    }
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "/tmp/testbench".into()));
    let items: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let rules: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let vocabulary = 100_000;
    if let Err(e) = std::fs::create_dir_all(&dir) {
        eprintln!("cannot create {}: {e}", dir.display());
        std::process::exit(1);
    }
    let mut rng = Rng(17);

    let now = chrono::Utc::now();
    let mut feed = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>\
         <title>Bench Wire</title><link>https://bench.example.org/</link>\
         <description>Generated</description>\n",
    );
    for i in 0..items {
        let sentence = |rng: &mut Rng, words: usize| {
            let mut text = String::new();
            for w in 0..words {
                if w > 0 {
                    text.push(' ');
                }
                match rng.below(12) {
                    0 => text.push_str(&name(rng.below(vocabulary))),
                    1 if rng.below(4) == 0 => text.push_str(PLACES[rng.below(PLACES.len())]),
                    _ => text.push_str(COMMON[rng.below(COMMON.len())]),
                }
            }
            text
        };
        let title = sentence(&mut rng, 12);
        let summary = sentence(&mut rng, 120);
        let published = (now - chrono::Duration::seconds(i as i64)).to_rfc2822();
        let _ = writeln!(
            feed,
            "<item><guid isPermaLink=\"false\">b-{i}</guid><title>{title}</title>\
             <link>https://bench.example.org/{i}</link><description>{summary}</description>\
             <pubDate>{published}</pubDate></item>"
        );
    }
    feed.push_str("</channel></rss>\n");

    let feed_path = dir.join("feed.xml");
    let database = dir.join("bench.db");
    let mut config = format!(
        "[daemon]\ndatabase = \"{}\"\nmax_body_size = \"500 MiB\"\n\n[groups]\n\
         farm = [\"grain\", \"wheat\", \"barley\"]\n\n\
         [[feed]]\nname = \"bench\"\nurl = \"file://{}\"\n\n",
        database.display(),
        feed_path.display()
    );
    for r in 0..rules {
        let a = name(rng.below(vocabulary));
        let b = name(rng.below(vocabulary));
        let mut more = || name(rng.below(vocabulary));
        let (c, d, e, f, g, h) = (more(), more(), more(), more(), more(), more());
        let query = match r % 5 {
            0 => format!("@region:central-asia AND {a} AND {b}"),
            // Anchored on common words (`@farm` is smaller than either list of names): a
            // candidate for nearly every item, almost never a match.
            1 => format!(
                "({a} OR {b} OR {c} OR {d}) AND ({e} OR {f} OR {g} OR {h}) AND @farm \
                 AND NOT football"
            ),
            2 => format!("{a} NEAR/2 {b}"),
            3 => format!("\"{a} {b}\" OR ({a} AND title:{b})"),
            _ => format!("{a} AND {b} AND (@region:central-asia OR @country:IL OR summit)"),
        };
        let _ = write!(
            config,
            "[[rule]]\nname = \"r{r}\"\nquery = '{query}'\nnotify = [\"out\"]\n\n"
        );
    }
    config.push_str("[[sink]]\nname = \"out\"\nkind = \"stdout\"\n");

    let config_path = dir.join("bench.toml");
    for (path, text) in [(&feed_path, &feed), (&config_path, &config)] {
        if let Err(e) = std::fs::write(path, text) {
            eprintln!("cannot write {}: {e}", path.display());
            std::process::exit(1);
        }
    }
    let _ = std::fs::remove_file(&database);
    println!(
        "wrote {} ({items} items, {} KiB) and {} ({rules} rules); the database {} is removed",
        feed_path.display(),
        feed.len() / 1024,
        config_path.display(),
        database.display()
    );
}
