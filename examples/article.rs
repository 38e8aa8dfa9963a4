//! How long extracting an article's main text takes (`read_articles`, `feed::article::extract`):
//! each HTML file given (or every `source.html` under a directory) is extracted `--runs` times
//! (default 5), and the median time per page, the page's size and the text's length are
//! printed, with the total.
//!
//! ```text
//! cargo run --release -j 1 --example article -- DIR_OR_FILES… [--runs N]
//! ```
//!
//! The pages are not in this repository: any saved article pages will do (Mozilla
//! Readability's and dom_smoothie's `test-pages/*/source.html` were used for docs/rules.md).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use watchword::feed::article::extract;

fn main() {
    let mut runs = 5usize;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--runs" {
            runs = args.next().and_then(|n| n.parse().ok()).unwrap_or(5).max(1);
        } else {
            collect(Path::new(&arg), &mut paths);
        }
    }
    if paths.is_empty() {
        eprintln!("usage: article DIR_OR_FILES… [--runs N]");
        std::process::exit(2);
    }
    paths.sort();
    let (mut total, mut bytes, mut failed) = (Duration::ZERO, 0usize, 0usize);
    let mut times = Vec::new();
    for path in &paths {
        let Ok(body) = std::fs::read(path) else {
            continue;
        };
        let mut samples = Vec::with_capacity(runs);
        let mut chars = None;
        for _ in 0..runs {
            let started = Instant::now();
            let text = extract(&body, None, "https://example.org/article");
            samples.push(started.elapsed());
            chars = Some(text.map(|t| t.chars().count()).map_err(|e| e.to_string()));
        }
        samples.sort();
        let median = samples[samples.len() / 2];
        total += median;
        bytes += body.len();
        times.push(median);
        match chars {
            Some(Ok(n)) => println!(
                "{:>8.2} ms {:>8} bytes {:>6} chars  {}",
                median.as_secs_f64() * 1e3,
                body.len(),
                n,
                path.display()
            ),
            Some(Err(why)) => {
                failed += 1;
                println!(
                    "{:>8.2} ms {:>8} bytes  no text ({why})  {}",
                    median.as_secs_f64() * 1e3,
                    body.len(),
                    path.display()
                );
            }
            None => {}
        }
    }
    times.sort();
    let n = times.len().max(1);
    println!(
        "{} pages, {} KiB, {} without text: median {:.2} ms, slowest {:.2} ms, mean {:.2} ms per page",
        times.len(),
        bytes / 1024,
        failed,
        times.get(n / 2).map_or(0.0, |d| d.as_secs_f64() * 1e3),
        times.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        total.as_secs_f64() * 1e3 / n as f64
    );
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        let Ok(entries) = std::fs::read_dir(path) else {
            return;
        };
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                collect(&p, out);
            } else if p.file_name().is_some_and(|n| n == "source.html") {
                out.push(p);
            }
        }
    } else {
        out.push(path.to_path_buf());
    }
}
