//! How much of a feed test corpus watchword can read: every file under a directory goes
//! through `feed::parse_document`, as a poll would (no HTTP charset, no base URL).
//!
//! ```text
//! git --git-dir=/path/to/feedparser.git archive HEAD tests | tar -x -C /tmp/fp
//! cargo run -j 1 --example corpus -- /tmp/fp/tests            # totals and error kinds
//! cargo run -j 1 --example corpus -- /tmp/fp/tests --list     # plus each file failing, empty
//!                                                             # or with entries skipped
//! ```
//!
//! Prints the number of files, how many parsed, how many gave at least one item, how many
//! had entries skipped, and the failures grouped by the first words of their error. The corpus
//! is not in this repository; only this counter is.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use watchword::feed::parse_document;
use watchword::text::StripParams;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: corpus DIR [--list]");
        std::process::exit(2);
    };
    let list = args.any(|a| a == "--list");
    let mut files = Vec::new();
    collect(Path::new(&dir), &mut files);
    files.sort();

    let strip = StripParams::default();
    let (mut parsed, mut with_items, mut with_skipped, mut panics) = (0, 0, 0, 0);
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for path in &files {
        let Ok(body) = std::fs::read(path) else {
            continue;
        };
        let result = catch_unwind(AssertUnwindSafe(|| {
            parse_document("corpus", None, &body, None, &strip)
        }));
        match result {
            Ok(Ok(feed)) => {
                parsed += 1;
                if !feed.items.is_empty() {
                    with_items += 1;
                } else if list {
                    println!("EMPTY {}", path.display());
                }
                if !feed.skipped.is_empty() {
                    with_skipped += 1;
                    if list {
                        for reason in &feed.skipped {
                            println!("SKIP {}: {reason}", path.display());
                        }
                    }
                }
            }
            Ok(Err(e)) => {
                let message = e.to_string();
                // The kind of error, without the positions and names that make each unique.
                let kind: String = message
                    .split(|c: char| c == ':' || c.is_ascii_digit())
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                *errors.entry(kind).or_default() += 1;
                if list {
                    println!("FAIL {}: {message}", path.display());
                }
            }
            Err(_) => {
                panics += 1;
                if list {
                    println!("PANIC {}", path.display());
                }
            }
        }
    }
    println!("files:                 {}", files.len());
    println!("parsed:                {parsed}");
    println!("with >= 1 item:        {with_items}");
    println!("with skipped entries:  {with_skipped}");
    println!("panicked:              {panics}");
    for (kind, count) in errors {
        println!("  {count:5}  {kind}");
    }
}

/// Every feed-looking file under `dir` (XML and JSON; the corpus's Python code is skipped).
fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.to_string_lossy().ends_with(".serde.json") {
            // feed-rs's fixtures keep the expected model beside each feed.
            continue;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "xml" | "json" | "rss" | "atom" | "rdf"))
        {
            files.push(path);
        }
    }
}
