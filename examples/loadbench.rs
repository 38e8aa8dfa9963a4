//! Load benchmark for the poller: N feeds × M items served from 127.0.0.1, polled by the real
//! `watchword once` twice: a cold pass (every item new) and a warm pass (every feed 304).
//!
//! ```text
//! cargo build --release --bin watchword --example loadbench
//! target/release/examples/loadbench 5000 20
//! ```
//!
//! `LOADBENCH_READ_TIMEOUT=5s` sets `read_timeout`; `LOADBENCH_LOG=info` prints watchword's log.
//!
//! Prints wall time and peak RSS of each pass (through `/usr/bin/time`) and the database size
//! per item. Nothing leaves loopback. Figures for the README's performance section.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let feeds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5000);
    let items: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let binary = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/release/watchword"));
    if !binary.exists() {
        eprintln!(
            "{} not found: run `cargo build --release` first (or pass the binary as the third argument)",
            binary.display()
        );
        std::process::exit(2);
    }

    let base = serve(items);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("bench.toml");
    let database = dir.path().join("bench.db");
    std::fs::write(&config, config_text(&base, feeds, &database)).expect("write config");

    println!("loadbench: {feeds} feeds x {items} items on {base}");
    let cold = pass(&binary, &config, "cold (all new)");
    let size = db_size(&database);
    let total_items = (feeds * items) as u64;
    let warm = pass(&binary, &config, "warm (all 304)");
    let size_after_warm = db_size(&database);
    println!(
        "database: {:.1} MiB after the cold pass = {:.0} bytes/item ({} items); {:+} bytes after the warm pass",
        size as f64 / (1024.0 * 1024.0),
        size as f64 / total_items as f64,
        total_items,
        size_after_warm as i64 - size as i64
    );
    println!(
        "summary: cold {:.2} s, warm {:.2} s, peak RSS {} MiB",
        cold.0.as_secs_f64(),
        warm.0.as_secs_f64(),
        cold.1.max(warm.1) / 1024
    );
}

/// Runs one `watchword once`; returns wall time and peak RSS in KiB (0 if unknown).
fn pass(binary: &Path, config: &Path, label: &str) -> (Duration, u64) {
    let time = Path::new("/usr/bin/time");
    let mut command = if time.exists() {
        let mut c = Command::new(time);
        c.args(["-f", "rss_kib=%M\ncpu=%U s user, %S s system"])
            .arg(binary);
        c
    } else {
        Command::new(binary)
    };
    command
        .arg("--config")
        .arg(config)
        .arg("once")
        .env(
            "WATCHWORD_LOG",
            std::env::var("LOADBENCH_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let output = command.output().expect("run watchword");
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        eprintln!("{label}: watchword failed:\n{stderr}");
        std::process::exit(1);
    }
    let rss = stderr
        .lines()
        .find_map(|l| l.strip_prefix("rss_kib="))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    let warnings = stderr.lines().filter(|l| l.contains("WARN")).count();
    if let Some(first) = stderr.lines().find(|l| l.contains("WARN")) {
        println!("  first warning: {first}");
    }
    if std::env::var_os("LOADBENCH_LOG").is_some() {
        println!("{stderr}");
    }
    let cpu = stderr
        .lines()
        .find_map(|l| l.strip_prefix("cpu="))
        .unwrap_or("cpu unknown");
    println!(
        "{label}: {:.2} s, peak RSS {} MiB, {cpu}, {warnings} warning line(s)",
        elapsed.as_secs_f64(),
        rss / 1024
    );
    (elapsed, rss)
}

fn db_size(database: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .map(|suffix| {
            let mut path = database.as_os_str().to_owned();
            path.push(suffix);
            std::fs::metadata(PathBuf::from(path))
                .map(|m| m.len())
                .unwrap_or(0)
        })
        .sum()
}

fn config_text(base: &str, feeds: usize, database: &Path) -> String {
    let mut toml = format!(
        r#"[daemon]
database = "{}"
concurrency = 16
# Every feed here lives on one host (127.0.0.1); in real life they are spread out.
per_host_concurrency = 16
{read_timeout}

[groups]
central_asia = ["Kazakhstan", "Kazakh*", "Uzbekistan", "Kyrgyzstan", "Tajikistan", '"Central Asia"']
abraham_accords = ['"Abraham Accords"', '"Abraham Accord"']

[[rule]]
name = "ca-aa"
query = "@central_asia AND @abraham_accords"
notify = ["out"]

[[sink]]
name = "out"
kind = "stdout"
"#,
        database.display(),
        read_timeout = std::env::var("LOADBENCH_READ_TIMEOUT")
            .map(|t| format!("read_timeout = \"{t}\""))
            .unwrap_or_default(),
    );
    for i in 0..feeds {
        toml.push_str(&format!(
            "\n[[feed]]\nname = \"feed-{i}\"\nurl = \"{base}/feed/{i}.xml\"\n"
        ));
    }
    toml
}

/// Serves `/feed/N.xml` (N items each, ETag per feed, 304 on a match): a minimal HTTP/1.1
/// server on std, one thread per connection, keep-alive. (tiny_http, used by the tests, left a
/// few requests in 5,000 unanswered under this load, which measured its stall, not watchword.)
fn serve(items: usize) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let published = Arc::new(chrono::Utc::now().to_rfc2822());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let published = Arc::clone(&published);
            std::thread::spawn(move || connection(stream, items, &published));
        }
    });
    base
}

fn connection(stream: std::net::TcpStream, items: usize, published: &str) {
    use std::io::{BufRead, BufReader, Write};
    let _ = stream.set_nodelay(true);
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut writer = std::io::BufWriter::new(write_half);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_owned();
        let mut if_none_match = None;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("if-none-match")
            {
                if_none_match = Some(value.trim().to_owned());
            }
        }
        let feed = path
            .strip_prefix("/feed/")
            .and_then(|p| p.strip_suffix(".xml"))
            .and_then(|n| n.parse::<usize>().ok());
        let response = match feed {
            None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_owned(),
            Some(feed) => {
                let etag = format!("\"f{feed}-v1\"");
                if if_none_match.as_deref() == Some(etag.as_str()) {
                    format!(
                        "HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nContent-Length: 0\r\n\r\n"
                    )
                } else {
                    let body = feed_xml(feed, items, published);
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\nETag: {etag}\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )
                }
            }
        };
        if writer.write_all(response.as_bytes()).is_err() || writer.flush().is_err() {
            return;
        }
    }
}

/// A realistic item: title, link, a paragraph of summary; one item in a hundred matches the rule.
fn feed_xml(feed: usize, items: usize, published: &str) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>Feed {feed}</title><link>https://news{feed}.example.org/</link><description>Load test feed</description>\n"
    );
    for item in 0..items {
        let topic = if (feed * items + item).is_multiple_of(100) {
            "Kazakhstan says it will join the Abraham Accords"
        } else {
            "Regional council approves the new budget for road repairs"
        };
        xml.push_str(&format!(
            "<item><guid isPermaLink=\"false\">f{feed}-i{item}</guid><title>{topic} ({feed}/{item})</title>\
             <link>https://news{feed}.example.org/story/{item}?utm_source=rss</link>\
             <pubDate>{published}</pubDate>\
             <description><![CDATA[<p>{topic}. Officials said on Monday that the measure, debated for months, \
             would take effect next year after a final reading. Critics called it rushed.</p>]]></description></item>\n"
        ));
    }
    xml.push_str("</channel></rss>\n");
    xml
}
