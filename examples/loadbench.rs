//! Load benchmark for the poller: N feeds × M items served from 127.0.0.1, polled by the real
//! `watchword once` twice: a cold pass (every item new) and a warm pass (every feed 304).
//!
//! ```text
//! cargo build --release --bin watchword --example loadbench
//! target/release/examples/loadbench 5000 20
//! ```
//!
//! `LOADBENCH_READ_TIMEOUT=5s` sets `read_timeout`; `LOADBENCH_CONCURRENCY=32` sets `concurrency`
//! and `per_host_concurrency` (16 unless set); `LOADBENCH_LOG=info` prints watchword's log.
//! `LOADBENCH_DATABASE=postgres://postgres@127.0.0.1:5432/test` runs it on PostgreSQL instead
//! of a SQLite file: in a schema of its own, dropped at the end (docs/postgres.md).
//!
//! Prints wall time and peak RSS of each pass (through `/usr/bin/time`) and the database size
//! per item. Nothing leaves loopback. Figures for the README's performance section.

#[allow(dead_code)] // the replica benchmark uses more of it
#[path = "support/feed_server.rs"]
mod feed_server;
#[allow(dead_code)]
#[path = "support/pg.rs"]
mod pg;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
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

    let server = feed_server::FeedServer::start(items, None);
    let base = &server.base;
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("bench.toml");
    let postgres = std::env::var("LOADBENCH_DATABASE")
        .ok()
        .filter(|url| url.starts_with("postgres"));
    let schema = postgres
        .as_deref()
        .map(|server| pg::Schema::create(server, "loadbench"));
    let database = match (&schema, &postgres) {
        (Some(schema), Some(server)) => Database::Postgres(schema.url_via(server), schema),
        _ => Database::Sqlite(dir.path().join("bench.db")),
    };
    std::fs::write(&config, config_text(base, feeds, &database.config_value()))
        .expect("write config");

    println!(
        "loadbench: {feeds} feeds x {items} items on {base}, database {}",
        database.label()
    );
    let cold = pass(&binary, &config, "cold (all new)");
    let size = database.size();
    let total_items = (feeds * items) as u64;
    let warm = pass(&binary, &config, "warm (all 304)");
    let size_after_warm = database.size();
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

/// Where the benchmark's state goes.
enum Database<'s> {
    Sqlite(PathBuf),
    /// The URL (with the schema as search path) and the schema.
    Postgres(String, &'s pg::Schema),
}

impl Database<'_> {
    fn config_value(&self) -> String {
        match self {
            Database::Sqlite(path) => path.display().to_string(),
            Database::Postgres(url, _) => url.clone(),
        }
    }

    fn label(&self) -> String {
        match self {
            Database::Sqlite(_) => "SQLite".into(),
            Database::Postgres(_, schema) => format!("PostgreSQL (schema {})", schema.name),
        }
    }

    /// Bytes on disk: the SQLite file and its WAL, or the schema's tables and indexes.
    fn size(&self) -> u64 {
        match self {
            Database::Sqlite(database) => ["", "-wal"]
                .iter()
                .map(|suffix| {
                    let mut path = database.as_os_str().to_owned();
                    path.push(suffix);
                    std::fs::metadata(PathBuf::from(path))
                        .map(|m| m.len())
                        .unwrap_or(0)
                })
                .sum(),
            Database::Postgres(_, schema) => schema.size().max(0) as u64,
        }
    }
}

fn config_text(base: &str, feeds: usize, database: &str) -> String {
    let mut toml = format!(
        r#"[daemon]
database = "{}"
concurrency = {concurrency}
# Every feed here lives on one host (127.0.0.1); in real life they are spread out.
per_host_concurrency = {concurrency}
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
        database,
        read_timeout = std::env::var("LOADBENCH_READ_TIMEOUT")
            .map(|t| format!("read_timeout = \"{t}\""))
            .unwrap_or_default(),
        concurrency = std::env::var("LOADBENCH_CONCURRENCY")
            .ok()
            .and_then(|c| c.parse::<usize>().ok())
            .unwrap_or(16),
    );
    for i in 0..feeds {
        toml.push_str(&format!(
            "\n[[feed]]\nname = \"feed-{i}\"\nurl = \"{base}/feed/{i}.xml\"\n"
        ));
    }
    toml
}
