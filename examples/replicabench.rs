//! Replica benchmark: 1, 2, 3… `watchword run` processes with one config sharing one
//! PostgreSQL database, polling N feeds × M items served from 127.0.0.1 (docs/postgres.md).
//!
//! ```text
//! cargo build --release --bin watchword --example replicabench
//! target/release/examples/replicabench 5000 20 1,2,3 60
//! ```
//!
//! Arguments: feeds, items per feed, the replica counts to run, seconds measured per count, and
//! the binary (default `target/release/watchword`). `REPLICABENCH_POSTGRES` is the server
//! (default `postgres://postgres@127.0.0.1:5432/test`); `REPLICABENCH_INTERVAL` the feeds'
//! interval (default `10s`, the shortest watchword allows, so that the replicas are kept
//! busy); `REPLICABENCH_CHURN` how often every feed gains an item (default `60s`);
//! `REPLICABENCH_MATCH_EVERY` how many of a feed's items come per match (default 100; 1 makes
//! every new item an alert, to load the story decisions).
//!
//! For each replica count: a fresh schema; one `watchword once` fills it (every item new);
//! then the replicas run, and after a few seconds to settle the benchmark measures, for the
//! given seconds: feeds polled per second (requests the feed server answered), duplicate
//! fetches over the whole run (a feed fetched again sooner than half its interval: 0 means
//! no feed was polled twice at once), and from the database side per poll: round trips (the
//! client's Sync and Query messages, counted by a proxy in front of the server), commits
//! (`pg_stat_database.xact_commit`), and sessions waiting on a lock (`pg_stat_activity`
//! sampled every 50 ms). CPU seconds of the replicas and of the server's sessions on the
//! database are read from /proc. Give it a database of its own (`createdb wwbench`), so that
//! other work on the server does not count in the commits.

#[path = "support/feed_server.rs"]
mod feed_server;
#[allow(dead_code)] // the load benchmark uses the rest
#[path = "support/pg.rs"]
mod pg;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let feeds: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let items: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(20);
    let counts: Vec<usize> = args
        .next()
        .unwrap_or_else(|| "1,2,3".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    let seconds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(60);
    let binary = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/release/watchword"));
    if !binary.exists() {
        eprintln!(
            "{} not found: run `cargo build --release` first (or pass the binary as the fifth argument)",
            binary.display()
        );
        std::process::exit(2);
    }
    let server = std::env::var("REPLICABENCH_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let interval = std::env::var("REPLICABENCH_INTERVAL")
        .ok()
        .and_then(|t| humantime::parse_duration(&t).ok())
        .unwrap_or(Duration::from_secs(10));
    let churn = std::env::var("REPLICABENCH_CHURN")
        .ok()
        .and_then(|t| humantime::parse_duration(&t).ok())
        .unwrap_or(Duration::from_secs(60));
    let match_every = std::env::var("REPLICABENCH_MATCH_EVERY")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100);
    let churn = feed_server::Churn {
        every: churn,
        match_every,
    };

    println!(
        "replicabench: {feeds} feeds x {items} items, interval {}, one new item per feed every {} (one in {match_every} an alert), {seconds} s measured per run",
        humantime::format_duration(interval),
        humantime::format_duration(churn.every)
    );
    println!(
        "replicas  polls/s  200s/s  alerts/s  dup  min-gap  trips/poll  commits/poll  lock-waiting  cpu-replicas  cpu-postgres"
    );
    for &replicas in &counts {
        let run = measure(
            &binary, &server, feeds, items, replicas, seconds, interval, churn,
        );
        println!(
            "{replicas:>8}  {:>7.1}  {:>6.1}  {:>8.2}  {:>3}  {:>7}  {:>10.2}  {:>12.2}  {:>11.3}  {:>10.1} s  {:>10.1} s",
            run.polls_per_sec,
            run.full_per_sec,
            run.alerts_per_sec,
            run.duplicates,
            // No feed fetched twice in the run: no gap to show.
            if run.min_gap == Duration::MAX {
                "-".to_string()
            } else {
                format!("{:.2}s", run.min_gap.as_secs_f64())
            },
            run.trips_per_poll,
            run.commits_per_poll,
            run.lock_waiting,
            run.cpu_replicas,
            run.cpu_postgres
        );
        if !run.notes.is_empty() {
            println!("          {}", run.notes);
        }
    }
}

struct Run {
    polls_per_sec: f64,
    full_per_sec: f64,
    alerts_per_sec: f64,
    duplicates: usize,
    min_gap: Duration,
    trips_per_poll: f64,
    commits_per_poll: f64,
    /// Sessions waiting on a heavyweight lock, averaged over the samples.
    lock_waiting: f64,
    cpu_replicas: f64,
    cpu_postgres: f64,
    notes: String,
}

#[allow(clippy::too_many_arguments)]
fn measure(
    binary: &Path,
    server: &str,
    feeds: usize,
    items: usize,
    replicas: usize,
    seconds: u64,
    interval: Duration,
    churn: feed_server::Churn,
) -> Run {
    let feed_server = feed_server::FeedServer::start(items, Some(churn));
    let schema = pg::Schema::create(server, "replicabench");
    let upstream = host_port(server);
    let (proxy, counters) = pg::proxy(&upstream);
    let via_proxy = server.replacen(&upstream, &proxy, 1);
    let url = schema.url_via(&via_proxy);
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("bench.toml");
    std::fs::write(
        &config,
        config_text(&feed_server.base, feeds, &url, interval),
    )
    .expect("write config");
    let stats = pg::Pg::connect(server);
    let in_schema = pg::Pg::connect(&schema.url_via(server));

    // Fill the database: every feed's first sight, so the replicas poll a warm database.
    let started = Instant::now();
    let filled = Command::new(binary)
        .arg("--config")
        .arg(&config)
        .arg("once")
        .env("WATCHWORD_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("run watchword once");
    if !filled.status.success() {
        eprintln!(
            "watchword once failed:\n{}",
            String::from_utf8_lossy(&filled.stderr)
        );
        std::process::exit(1);
    }
    let fill_secs = started.elapsed().as_secs_f64();

    let first_fetch = feed_server.fetches().len();
    let children: Vec<Child> = (0..replicas)
        .map(|n| {
            let log = std::fs::File::create(dir.path().join(format!("replica-{n}.log")))
                .expect("log file");
            Command::new(binary)
                .arg("--config")
                .arg(&config)
                .arg("run")
                .env("WATCHWORD_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("spawn watchword run")
        })
        .collect();
    // Until every feed the fill polled first is due again, so the window sees steady state.
    std::thread::sleep(interval.max(Duration::from_secs(5)));

    // The measured window.
    let sampling = Arc::new(AtomicBool::new(true));
    // Per lock kind (`advisory`, `transactionid`, `tuple`…): sessions seen waiting, summed over
    // the samples; and the number of samples.
    let sampler = {
        let sampling = Arc::clone(&sampling);
        let server = server.to_string();
        std::thread::spawn(move || {
            let db = pg::Pg::connect(&server);
            let mut waits: std::collections::BTreeMap<String, u64> = Default::default();
            let mut samples = 0u64;
            while sampling.load(Ordering::Relaxed) {
                for row in db.query(
                    "SELECT wait_event || ' ' || COUNT(*) FROM pg_stat_activity
                     WHERE datname = current_database() AND wait_event_type = 'Lock'
                     GROUP BY wait_event",
                ) {
                    if let Some((event, n)) = row.rsplit_once(' ') {
                        *waits.entry(event.to_string()).or_default() += n.parse().unwrap_or(0);
                    }
                }
                samples += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            (waits, samples)
        })
    };
    let commits = || {
        stats.number(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database
             WHERE datname = current_database()",
        )
    };
    let alerts = || in_schema.number("SELECT COUNT(*) FROM alerts");
    let pids: Vec<u32> = children.iter().map(Child::id).collect();
    let cpu_replicas = || pids.iter().map(|&p| pg::cpu_seconds_of_pid(p)).sum::<f64>();
    let window_start = feed_server.fetches().len();
    let (syncs0, commits0, alerts0) = (counters.syncs.load(Ordering::Relaxed), commits(), alerts());
    // The server's processes serving this database (other databases' work is not ours).
    let backends: Vec<u32> = stats
        .query(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()
             AND pid <> pg_backend_pid()",
        )
        .iter()
        .filter_map(|p| p.parse().ok())
        .collect();
    let cpu_postgres = || {
        backends
            .iter()
            .map(|&p| pg::cpu_seconds_of_pid(p))
            .sum::<f64>()
    };
    let (cpu_r0, cpu_p0) = (cpu_replicas(), cpu_postgres());
    let window = Instant::now();
    std::thread::sleep(Duration::from_secs(seconds));
    let elapsed = window.elapsed().as_secs_f64();
    let fetches = feed_server.fetches();
    let (syncs1, commits1, alerts1) = (counters.syncs.load(Ordering::Relaxed), commits(), alerts());
    let (cpu_r1, cpu_p1) = (cpu_replicas(), cpu_postgres());
    sampling.store(false, Ordering::Relaxed);
    let (waits, samples) = sampler.join().unwrap_or_default();
    let samples = samples.max(1) as f64;

    let mut notes = Vec::new();
    for (n, child) in children.into_iter().enumerate() {
        if !stop(child) {
            notes.push(format!("replica {n} did not stop cleanly"));
        }
        let log = std::fs::read_to_string(dir.path().join(format!("replica-{n}.log")))
            .unwrap_or_default();
        let errors = log.lines().filter(|l| l.contains("ERROR")).count();
        let warnings = log.lines().filter(|l| l.contains("WARN")).count();
        if errors + warnings > 0 {
            let first = log
                .lines()
                .find(|l| l.contains("ERROR") || l.contains("WARN"))
                .unwrap_or("");
            notes.push(format!(
                "replica {n}: {errors} error and {warnings} warning line(s), first: {first}"
            ));
        }
    }

    if !waits.is_empty() {
        let kinds: Vec<String> = waits
            .iter()
            .map(|(event, n)| format!("{event} {:.2}", *n as f64 / samples))
            .collect();
        notes.push(format!("sessions waiting, by lock: {}", kinds.join(", ")));
    }
    let measured = &fetches[window_start..];
    let polls = measured.len() as f64;
    let full = measured.iter().filter(|f| f.full).count() as f64;
    let (duplicates, min_gap) = duplicates(&fetches[first_fetch..], feeds, interval);
    notes.push(format!(
        "fill (once, cold) {fill_secs:.1} s; {} fetches while the replicas ran",
        fetches.len() - first_fetch
    ));
    let per_poll = |delta: f64| if polls > 0.0 { delta / polls } else { 0.0 };
    Run {
        polls_per_sec: polls / elapsed,
        full_per_sec: full / elapsed,
        alerts_per_sec: (alerts1 - alerts0) as f64 / elapsed,
        duplicates,
        min_gap,
        trips_per_poll: per_poll(syncs1.saturating_sub(syncs0) as f64),
        commits_per_poll: per_poll((commits1 - commits0) as f64),
        lock_waiting: waits.values().sum::<u64>() as f64 / samples,
        cpu_replicas: cpu_r1 - cpu_r0,
        cpu_postgres: cpu_p1 - cpu_p0,
        notes: notes.join("\n          "),
    }
}

/// Fetches of one feed sooner than half its interval after the one before (watchword's
/// jitter never brings a poll closer than 90% of it), and the shortest gap seen.
fn duplicates(
    fetches: &[feed_server::Fetch],
    feeds: usize,
    interval: Duration,
) -> (usize, Duration) {
    let mut last: Vec<Option<Instant>> = vec![None; feeds];
    let mut count = 0;
    let mut min_gap = Duration::MAX;
    for fetch in fetches {
        let Some(slot) = last.get_mut(fetch.feed) else {
            continue;
        };
        if let Some(before) = *slot {
            let gap = fetch.at.saturating_duration_since(before);
            min_gap = min_gap.min(gap);
            if gap < interval / 2 {
                count += 1;
            }
        }
        *slot = Some(fetch.at);
    }
    (count, min_gap)
}

/// SIGTERM, then up to 30 s for a clean exit.
fn stop(mut child: Child) -> bool {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return status.success();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    false
}

/// `host:port` of a `postgres://user@host:port/db` URL (port 5432 if none is written).
fn host_port(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.contains(':') {
        host.to_string()
    } else {
        format!("{host}:5432")
    }
}

fn config_text(base: &str, feeds: usize, database: &str, interval: Duration) -> String {
    let mut toml = format!(
        r#"[daemon]
database = "{database}"
poll_interval = "{interval}"
concurrency = 16
# Every feed here lives on one host (127.0.0.1); in real life they are spread out.
per_host_concurrency = 16
# Several replicas on one host: none serves metrics.
metrics_listen = "off"

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
        interval = humantime::format_duration(interval),
    );
    for i in 0..feeds {
        toml.push_str(&format!(
            "\n[[feed]]\nname = \"feed-{i}\"\nurl = \"{base}/feed/{i}.xml\"\n"
        ));
    }
    toml
}
