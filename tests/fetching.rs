//! The poller against misbehaving and well-behaved servers on 127.0.0.1, through the real
//! binary and a real SQLite file: conditional GET, the persisted schedule and backoff, cache
//! hints, redirects, 410, charsets, per-host limits, feed events, and bad input of every kind.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use common::*;
use serde_json::Value;

/// One request as the scripted server saw it.
#[derive(Clone, Debug)]
struct Seen {
    path: String,
    headers: HashMap<String, String>,
}

type Handler = dyn Fn(&Seen) -> tiny_http::ResponseBox + Send + Sync;

/// A tiny_http server answering every request on its own thread with `handler`.
struct Scripted {
    base: String,
    log: Arc<Mutex<Vec<Seen>>>,
    in_flight: Arc<AtomicUsize>,
    max_in_flight: Arc<AtomicUsize>,
    server: Arc<tiny_http::Server>,
}

impl Scripted {
    fn start(
        delay: Duration,
        handler: impl Fn(&Seen) -> tiny_http::ResponseBox + Send + Sync + 'static,
    ) -> Scripted {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind"));
        let base = format!("http://{}", server.server_addr());
        let log: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let handler: Arc<Handler> = Arc::new(handler);
        let (srv, l, busy, peak) = (
            Arc::clone(&server),
            Arc::clone(&log),
            Arc::clone(&in_flight),
            Arc::clone(&max_in_flight),
        );
        thread::spawn(move || {
            for request in srv.incoming_requests() {
                let (l, busy, peak, handler) = (
                    Arc::clone(&l),
                    Arc::clone(&busy),
                    Arc::clone(&peak),
                    Arc::clone(&handler),
                );
                thread::spawn(move || {
                    let now = busy.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    let seen = Seen {
                        path: request.url().to_string(),
                        headers: request
                            .headers()
                            .iter()
                            .map(|h| {
                                (
                                    h.field.as_str().as_str().to_ascii_lowercase(),
                                    h.value.as_str().to_string(),
                                )
                            })
                            .collect(),
                    };
                    l.lock().expect("log").push(seen.clone());
                    thread::sleep(delay);
                    let response = handler(&seen);
                    busy.fetch_sub(1, Ordering::SeqCst);
                    let _ = request.respond(response);
                });
            }
        });
        Scripted {
            base,
            log,
            in_flight,
            max_in_flight,
            server,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn requests(&self, path: &str) -> Vec<Seen> {
        self.log
            .lock()
            .expect("log")
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }
}

impl Drop for Scripted {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

fn respond(
    status: u16,
    headers: &[(&str, &str)],
    body: impl Into<Vec<u8>>,
) -> tiny_http::ResponseBox {
    let mut response = tiny_http::Response::from_data(body.into()).with_status_code(status);
    for (name, value) in headers {
        response.add_header(header(name, value));
    }
    response.boxed()
}

/// A raw TCP server: `serve` gets each connection (on its own thread) and does as it likes.
fn raw_server(serve: fn(TcpStream)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || serve(stream));
        }
    });
    format!("http://{addr}/feed.xml")
}

/// Reads the request head so the client is waiting for the answer.
fn read_head(stream: &mut TcpStream) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
}

/// One item whose link and lead are its own, so items with different guids are different
/// stories (the same link or lead would make them one story).
fn entry_rss(guid: &str, title: &str) -> String {
    rss(&[Entry {
        guid,
        title,
        // Too short to compare by text: only the link decides the story.
        description: guid,
        link: &format!("https://wire.example.org/story/{guid}"),
        published: minutes_ago(5),
    }])
}

/// `watchword feeds --json`, by feed name.
fn feed_states(ws: &Workspace) -> HashMap<String, Value> {
    let out = ws.watchword(&["feeds", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows: Vec<Value> = serde_json::from_str(&stdout(&out)).expect("feeds --json is JSON");
    rows.into_iter()
        .map(|row| (row["name"].as_str().unwrap_or_default().to_string(), row))
        .collect()
}

fn seconds_until(rfc3339: &Value) -> i64 {
    let at =
        chrono::DateTime::parse_from_rfc3339(rfc3339.as_str().expect("a time")).expect("RFC 3339");
    at.timestamp() - chrono::Utc::now().timestamp()
}

/// The given feeds, polled every 10 minutes, with the rule "ca-aa" printing to stdout.
fn base_config(ws: &Workspace, feeds: &[(&str, &str)]) -> TomlConfig {
    let config = TomlConfig::for_workspace(ws)
        .daemon("poll_interval = \"10m\"")
        .shared_groups()
        .rule("ca-aa", "@central_asia AND @abraham_accords", &["out"])
        .stdout_sink("out");
    feeds
        .iter()
        .fold(config, |config, (name, url)| config.feed(name, url))
}

fn stdout_json(out: &std::process::Output) -> Vec<Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each stdout line is JSON"))
        .collect()
}

#[test]
fn conditional_get_sends_validators_back_and_a_304_records_nothing_new() {
    let body = entry_rss("c-1", "Kazakhstan joins the Abraham Accords");
    let other = entry_rss("c-2", "Uzbekistan weighs the Abraham Accords");
    let server = Scripted::start(Duration::ZERO, move |seen| {
        let etag = "\"v1\"";
        let modified = "Wed, 25 Nov 2026 10:00:00 GMT";
        match seen.path.as_str() {
            "/etag.xml" if seen.headers.get("if-none-match").map(String::as_str) == Some(etag) => {
                respond(304, &[], "")
            }
            "/etag.xml" => respond(200, &[("ETag", etag)], body.clone()),
            "/lm.xml"
                if seen.headers.get("if-modified-since").map(String::as_str) == Some(modified) =>
            {
                respond(304, &[], "")
            }
            "/lm.xml" => respond(200, &[("Last-Modified", modified)], other.clone()),
            _ => respond(404, &[], "no"),
        }
    });
    let ws = Workspace::new();
    base_config(
        &ws,
        &[
            ("etag", &server.url("/etag.xml")),
            ("lm", &server.url("/lm.xml")),
        ],
    )
    .write(&ws);
    let first = ws.watchword(&["once"]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert_eq!(stdout_json(&first).len(), 2, "one alert per feed");
    let rows_before = row_counts(&ws);

    let second = ws.watchword(&["once"]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stdout(&second).is_empty(),
        "nothing new: {}",
        stdout(&second)
    );
    let etag_requests = server.requests("/etag.xml");
    assert_eq!(etag_requests.len(), 2);
    assert!(!etag_requests[0].headers.contains_key("if-none-match"));
    assert_eq!(etag_requests[1].headers["if-none-match"], "\"v1\"");
    assert!(etag_requests[1].headers["user-agent"].starts_with("watchword/"));
    let lm_requests = server.requests("/lm.xml");
    assert_eq!(
        lm_requests[1].headers["if-modified-since"],
        "Wed, 25 Nov 2026 10:00:00 GMT"
    );

    let states = feed_states(&ws);
    for name in ["etag", "lm"] {
        assert_eq!(states[name]["last_status"], 304, "{:?}", states[name]);
        assert_eq!(states[name]["state"], "ok");
        assert_eq!(states[name]["items_seen"], 1);
        assert_eq!(states[name]["alerts"], 1);
    }
    // A 304 adds no item, story or alert (a file size need not change on a write, so the
    // rows are counted).
    assert_eq!(row_counts(&ws), rows_before, "a 304 records nothing new");
    assert_eq!(rows_before[0], 2, "the first pass recorded both items");
}

/// Rows of the tables a poll can add to: items, stories, alerts, deliveries.
fn row_counts(ws: &Workspace) -> [i64; 4] {
    let db = rusqlite::Connection::open(ws.database()).expect("open the database");
    ["items", "stories", "alerts", "deliveries"].map(|table| {
        db.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| {
            row.get(0)
        })
        .expect("count")
    })
}

#[test]
fn bad_input_fails_one_feed_with_a_readable_reason_and_bounded_memory() {
    let trickle = raw_server(|mut stream| {
        read_head(&mut stream);
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 100000\r\n\r\n",
        );
        for _ in 0..600 {
            if stream.write_all(b"<").is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
    });
    let huge = raw_server(|mut stream| {
        read_head(&mut stream);
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nConnection: close\r\n\r\n",
        );
        let chunk = vec![b'x'; 64 * 1024];
        for _ in 0..(50 * 16) {
            if stream.write_all(&chunk).is_err() {
                return;
            }
        }
    });
    let reset = raw_server(|mut stream| {
        // The request is left unread: closing with unread data sends a TCP reset.
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 5000\r\n\r\n<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>cut",
        );
        thread::sleep(Duration::from_millis(50));
    });
    let bomb = {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..48 {
            encoder.write_all(&zeros).expect("gzip");
        }
        encoder.finish().expect("gzip")
    };
    assert!(bomb.len() < 200 * 1024, "a bomb is small: {}", bomb.len());
    let good = entry_rss("good-1", "Kazakhstan joins the Abraham Accords");
    let server = Scripted::start(Duration::ZERO, move |seen| match seen.path.as_str() {
        "/good.xml" => respond(
            200,
            &[("Content-Type", "application/rss+xml")],
            good.clone(),
        ),
        "/gzip.xml" => respond(200, &[("Content-Encoding", "gzip")], bomb.clone()),
        "/loop.xml" => respond(302, &[("Location", "/loop.xml")], ""),
        "/html.xml" => respond(
            200,
            &[("Content-Type", "text/html")],
            "<!doctype html><html><body>Log in to continue</body></html>",
        ),
        "/invalid-utf8.xml" => respond(
            200,
            &[("Content-Type", "application/rss+xml")],
            [
                b"<rss version=\"2.0\"><channel><title>Caf".as_slice(),
                b"\xe9\xff</title></channel></rss>",
            ]
            .concat(),
        ),
        "/wrong-charset.xml" => respond(
            200,
            &[("Content-Type", "application/rss+xml; charset=utf-8")],
            [
                b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>"
                    .as_slice(),
                b"\xcf\xf0\xe8\xe2\xe5\xf2",
                b"</title></channel></rss>",
            ]
            .concat(),
        ),
        "/entities.xml" => respond(
            200,
            &[("Content-Type", "application/rss+xml")],
            format!(
                "<?xml version=\"1.0\"?>\n<!DOCTYPE rss [\n<!ENTITY a \"aaaaaaaaaa\">\n{}]>\n<rss version=\"2.0\"><channel><title>&j;</title></channel></rss>",
                (b'b'..=b'j')
                    .map(|c| {
                        let prev = (c - 1) as char;
                        format!(
                            "<!ENTITY {} \"{}\">\n",
                            c as char,
                            format!("&{prev};").repeat(10)
                        )
                    })
                    .collect::<String>()
            ),
        ),
        _ => respond(404, &[], "no"),
    });
    let cases: &[(&str, String, &str)] = &[
        ("trickle", trickle, "timed out after 2s"),
        ("huge", huge, "body larger than 2 MiB"),
        (
            "gzip-bomb",
            server.url("/gzip.xml"),
            "body larger than 2 MiB",
        ),
        (
            "redirect-loop",
            server.url("/loop.xml"),
            "too many redirects (more than 5)",
        ),
        ("reset", reset, "connection"),
        (
            "html",
            server.url("/html.xml"),
            "not a feed: content starts with \"<!doctype html>",
        ),
        (
            "invalid-utf8",
            server.url("/invalid-utf8.xml"),
            "content is not valid UTF-8: invalid byte sequence at byte 38",
        ),
        (
            "wrong-charset",
            server.url("/wrong-charset.xml"),
            "content is not valid UTF-8",
        ),
        (
            "entity-bomb",
            server.url("/entities.xml"),
            "declares XML entities",
        ),
    ];
    let mut feeds: Vec<(&str, &str)> = cases.iter().map(|(n, u, _)| (*n, u.as_str())).collect();
    let good_url = server.url("/good.xml");
    feeds.push(("good", &good_url));
    // Without the names for stories (tens of MiB compiled once, whatever the feeds do): this
    // measures what the bodies cost.
    let daemon = "fetch_timeout = \"2s\"\nmax_body_size = \"2 MiB\"\nstory_by_names = false";
    // The daemon's own floor (runtime, gazetteer, rules, SQLite, the dashboard's templates)
    // grows with features; what must not grow is what one bad body adds on top of it. So the
    // same `once` with only the good feed sets the floor, and the bad feeds are judged above it.
    let floor_ws = Workspace::new();
    base_config(&floor_ws, &[("good", &good_url)])
        .daemon(daemon)
        .write(&floor_ws);
    let (floor_out, floor_kib) = once_with_peak_rss(&floor_ws);
    assert!(floor_out.status.success(), "{}", stderr(&floor_out));

    let ws = Workspace::new();
    base_config(&ws, &feeds).daemon(daemon).write(&ws);
    let (out, peak_kib) = once_with_peak_rss(&ws);
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    assert!(!log.contains("panicked"), "{log}");
    eprintln!("peak RSS {peak_kib} KiB, floor {floor_kib} KiB");
    // 50 MB of body and 48 MiB of gzip bomb must not be held: the cap is 2 MiB a body, and
    // `per_host_concurrency` bodies at a time, with their decoders' buffers.
    assert!(
        floor_kib > 0 && peak_kib < floor_kib + 24 * 1024,
        "peak RSS {peak_kib} KiB against a floor of {floor_kib} KiB: a body was held beyond the cap"
    );
    let alerts = stdout_json(&out);
    assert_eq!(alerts.len(), 1, "the good feed alerted: {alerts:?}");
    assert_eq!(alerts[0]["feed"]["name"], "good");

    let states = feed_states(&ws);
    assert_eq!(states["good"]["state"], "ok");
    for (name, _, reason) in cases {
        let state = &states[*name];
        assert_eq!(state["state"], "failing", "{name}: {state}");
        assert_eq!(state["consecutive_failures"], 1, "{name}: {state}");
        let error = state["last_error"].as_str().unwrap_or_default();
        assert!(
            error.to_lowercase().contains(&reason.to_lowercase()),
            "{name}: {error:?} lacks {reason:?}"
        );
        assert!(!error.contains('\n'), "{name}: one line: {error:?}");
        let line = log
            .lines()
            .find(|l| l.contains(&format!("feed \"{name}\" failed")))
            .unwrap_or_else(|| panic!("no failure logged for {name}:\n{log}"));
        assert!(
            line.to_lowercase().contains(&reason.to_lowercase()),
            "{line}"
        );
    }
}

/// Runs `once` on the workspace's config, sampling its peak resident memory (VmHWM) until it
/// exits.
fn once_with_peak_rss(ws: &Workspace) -> (std::process::Output, u64) {
    let mut child = watchword_command(&ws.config_path())
        .arg("once")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn once");
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while child.try_wait().expect("wait").is_none() {
        if let Ok(status) = std::fs::read_to_string(&status_path)
            && let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:"))
        {
            let kib: u64 = line
                .split_whitespace()
                .nth(1)
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            peak_kib = peak_kib.max(kib);
        }
        assert!(std::time::Instant::now() < deadline, "once did not finish");
        // VmHWM only grows, so a sample missed is caught by the next; only the last few ms
        // before exit go unseen.
        thread::sleep(Duration::from_millis(5));
    }
    (child.wait_with_output().expect("output"), peak_kib)
}

/// An RSS document up to the opening `<title>` of one fresh item.
fn item_head(prolog: &str, guid: &str) -> Vec<u8> {
    format!(
        "{prolog}<rss version=\"2.0\"><channel><title>t</title><item><guid>{guid}</guid><pubDate>{}</pubDate><title>",
        minutes_ago(5).to_rfc2822()
    )
    .into_bytes()
}

#[test]
fn charsets_from_the_header_or_the_prolog_decode_into_the_right_text() {
    let latin1 = [
        item_head("", "l1").as_slice(),
        b"S\xe3o Tom\xe9 and Kazakhstan sign the Abraham Accords",
        b"</title></item></channel></rss>",
    ]
    .concat();
    let cp1251 = [
        item_head("<?xml version=\"1.0\" encoding=\"windows-1251\"?>", "w1").as_slice(),
        b"\xca\xe0\xe7\xe0\xf5\xf1\xf2\xe0\xed: Kazakhstan and the Abraham Accords",
        b"</title></item></channel></rss>",
    ]
    .concat();
    let koi8 = [
        item_head("<?xml version=\"1.0\" encoding=\"KOI8-R\"?>", "k1").as_slice(),
        b"\xeb\xc1\xda\xc1\xc8\xd3\xd4\xc1\xce: Kazakhstan and the Abraham Accords",
        b"</title></item></channel></rss>",
    ]
    .concat();
    let server = Scripted::start(Duration::ZERO, move |seen| match seen.path.as_str() {
        "/latin1.xml" => respond(
            200,
            &[("Content-Type", "application/rss+xml; charset=ISO-8859-1")],
            latin1.clone(),
        ),
        // The server claims UTF-8; the document knows better and is not UTF-8.
        "/cp1251.xml" => respond(
            200,
            &[("Content-Type", "text/xml; charset=utf-8")],
            cp1251.clone(),
        ),
        "/koi8.xml" => respond(200, &[("Content-Type", "application/xml")], koi8.clone()),
        _ => respond(404, &[], "no"),
    });
    let ws = Workspace::new();
    base_config(
        &ws,
        &[
            ("latin1", &server.url("/latin1.xml")),
            ("cp1251", &server.url("/cp1251.xml")),
            ("koi8", &server.url("/koi8.xml")),
        ],
    )
    .write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut titles: Vec<String> = stdout_json(&out)
        .iter()
        .map(|a| a["item"]["title"].as_str().unwrap_or_default().to_string())
        .collect();
    titles.sort();
    assert_eq!(
        titles,
        [
            "São Tomé and Kazakhstan sign the Abraham Accords",
            "Казахстан: Kazakhstan and the Abraham Accords",
            "Казахстан: Kazakhstan and the Abraham Accords",
        ]
    );
}

#[test]
fn cache_lifetime_and_ttl_stretch_the_interval_up_to_max_interval() {
    let with_ttl = "<rss version=\"2.0\"><channel><title>t</title><ttl>180</ttl></channel></rss>";
    let plain = "<rss version=\"2.0\"><channel><title>t</title></channel></rss>";
    let server = Scripted::start(Duration::ZERO, move |seen| match seen.path.as_str() {
        "/max-age.xml" => respond(200, &[("Cache-Control", "public, max-age=7200")], plain),
        "/huge-max-age.xml" => respond(200, &[("Cache-Control", "max-age=604800")], plain),
        "/ttl.xml" => respond(200, &[], with_ttl),
        "/no-store.xml" => respond(200, &[("Cache-Control", "no-store, max-age=7200")], plain),
        _ => respond(404, &[], "no"),
    });
    let ws = Workspace::new();
    base_config(
        &ws,
        &[
            ("max-age", &server.url("/max-age.xml")),
            ("huge-max-age", &server.url("/huge-max-age.xml")),
            ("ttl", &server.url("/ttl.xml")),
            ("no-store", &server.url("/no-store.xml")),
        ],
    )
    .daemon("max_interval = \"4h\"")
    .write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let states = feed_states(&ws);
    let due = |name: &str| seconds_until(&states[name]["next_due"]);
    // Each ±10% jitter, a few seconds of slack for the run itself.
    let within = |secs: i64, base: i64| secs >= base * 9 / 10 - 10 && secs <= base * 11 / 10 + 10;
    assert!(within(due("max-age"), 7200), "{}", due("max-age"));
    assert!(
        within(due("huge-max-age"), 4 * 3600),
        "clamped: {}",
        due("huge-max-age")
    );
    assert!(within(due("ttl"), 3 * 3600), "{}", due("ttl"));
    assert!(
        within(due("no-store"), 600),
        "interval: {}",
        due("no-store")
    );
}

#[test]
fn restart_keeps_the_schedule_and_the_backoff() {
    let ok = entry_rss("r-1", "Grain prices");
    let server = Scripted::start(Duration::ZERO, move |seen| match seen.path.as_str() {
        "/ok.xml" => respond(200, &[], ok.clone()),
        "/busy.xml" => respond(503, &[("Retry-After", "3600")], "busy"),
        "/date.xml" => {
            let later = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc2822();
            let later = later.replace("+0000", "GMT");
            respond(429, &[("Retry-After", &later)], "slow down")
        }
        "/canary.xml" => respond(
            200,
            &[],
            "<rss version=\"2.0\"><channel><title>c</title></channel></rss>",
        ),
        _ => respond(404, &[], "no"),
    });
    let ws = Workspace::new();
    let feeds = [
        ("ok", server.url("/ok.xml")),
        ("busy", server.url("/busy.xml")),
        ("date", server.url("/date.xml")),
    ];
    let as_refs = |extra: &[(&'static str, String)]| {
        feeds
            .iter()
            .chain(extra)
            .map(|(n, u)| (*n, u.clone()))
            .collect::<Vec<_>>()
    };
    let write = |list: &[(&str, String)]| {
        let refs: Vec<(&str, &str)> = list.iter().map(|(n, u)| (*n, u.as_str())).collect();
        base_config(&ws, &refs)
            .daemon("poll_interval = \"1h\"")
            .write(&ws);
    };
    write(&as_refs(&[]));
    let child = ws.spawn_run();
    assert!(wait_for(Duration::from_secs(30), || {
        ["/ok.xml", "/busy.xml", "/date.xml"]
            .iter()
            .all(|p| server.requests(p).len() == 1)
    }));
    // Recorded before stopping: feeds --json shows what is persisted.
    assert!(wait_for(Duration::from_secs(30), || {
        let states = feed_states(&ws);
        ["ok", "busy", "date"]
            .iter()
            .all(|n| states[*n]["next_due"].is_string())
    }));
    terminate(child);
    let states = feed_states(&ws);
    assert!(
        seconds_until(&states["busy"]["next_due"]) >= 3500,
        "Retry-After seconds honoured"
    );
    assert!(
        seconds_until(&states["date"]["next_due"]) >= 7000,
        "Retry-After date honoured"
    );
    assert_eq!(states["busy"]["last_status"], 503);
    assert_eq!(states["date"]["consecutive_failures"], 1);

    // Restart with one new feed: it is polled at once, which shows the scheduler has made its
    // first round; the others are not due and are left alone.
    write(&as_refs(&[("canary", server.url("/canary.xml"))]));
    let child = ws.spawn_run();
    assert!(wait_for(Duration::from_secs(30), || server
        .requests("/canary.xml")
        .len()
        == 1));
    assert!(wait_for(
        Duration::from_secs(30),
        || feed_states(&ws)["canary"]["last_status"] == 200
    ));
    terminate(child);
    for path in ["/ok.xml", "/busy.xml", "/date.xml"] {
        assert_eq!(
            server.requests(path).len(),
            1,
            "{path} refetched after a restart"
        );
    }
}

#[test]
fn per_host_concurrency_is_respected() {
    let body = "<rss version=\"2.0\"><channel><title>t</title></channel></rss>";
    let server = Scripted::start(Duration::from_millis(300), move |_| respond(200, &[], body));
    let ws = Workspace::new();
    let urls: Vec<(String, String)> = (0..6)
        .map(|i| (format!("f{i}"), server.url(&format!("/f{i}.xml"))))
        .collect();
    let refs: Vec<(&str, &str)> = urls.iter().map(|(n, u)| (n.as_str(), u.as_str())).collect();
    base_config(&ws, &refs)
        .daemon("concurrency = 16\nper_host_concurrency = 2")
        .write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(server.log.lock().expect("log").len(), 6);
    assert_eq!(server.in_flight.load(Ordering::SeqCst), 0);
    let peak = server.max_in_flight.load(Ordering::SeqCst);
    // Exactly two: never more, and not one at a time either (six 300 ms answers overlap).
    assert_eq!(peak, 2, "{peak} requests at once to one host");
}

#[test]
fn permanent_redirects_are_reported_and_temporary_ones_are_not() {
    let body = entry_rss("m-1", "Kazakhstan joins the Abraham Accords");
    let other = entry_rss("m-2", "Uzbekistan weighs the Abraham Accords");
    let server = Scripted::start(Duration::ZERO, move |seen| match seen.path.as_str() {
        "/old.xml" => respond(301, &[("Location", "/older.xml")], ""),
        "/older.xml" => respond(308, &[("Location", "/new.xml?token=s3cret")], ""),
        "/temp.xml" => respond(302, &[("Location", "/other.xml?token=s3cret")], ""),
        "/new.xml?token=s3cret" => respond(200, &[], body.clone()),
        "/other.xml?token=s3cret" => respond(200, &[], other.clone()),
        _ => respond(404, &[], "no"),
    });
    let ws = Workspace::new();
    base_config(
        &ws,
        &[
            ("moved", &server.url("/old.xml")),
            ("temp", &server.url("/temp.xml")),
        ],
    )
    .write(&ws);
    let out = ws.watchword(&["once"]);
    let log = stderr(&out);
    assert!(out.status.success(), "{log}");
    assert_eq!(stdout_json(&out).len(), 2, "both followed");
    assert!(
        log.contains("feed \"moved\" has moved permanently to"),
        "{log}"
    );
    assert!(!log.contains("feed \"temp\" has moved"), "{log}");
    assert!(!log.contains("s3cret"), "redacted: {log}");
    let states = feed_states(&ws);
    let moved_to = states["moved"]["moved_to"].as_str().unwrap_or_default();
    assert!(moved_to.starts_with(&server.url("/new.xml")), "{moved_to}");
    assert!(states["temp"]["moved_to"].is_null());
    let table = stdout(&ws.watchword(&["feeds"]));
    assert!(table.contains("moved permanently to"), "{table}");
}

#[test]
fn gone_stops_polling_raises_one_event_and_a_new_url_starts_again() {
    let server = Scripted::start(Duration::ZERO, |seen| match seen.path.as_str() {
        "/gone.xml" => respond(410, &[], "gone"),
        "/back.xml" => respond(
            200,
            &[],
            "<rss version=\"2.0\"><channel><title>t</title></channel></rss>",
        ),
        _ => respond(404, &[], "no"),
    });
    let ws = Workspace::new();
    let config = |url: &str| base_config(&ws, &[("old", url)]).daemon("feed_events = [\"out\"]");
    config(&server.url("/gone.xml")).write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let events = stdout_json(&out);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["type"], "watchword.feed_event");
    assert_eq!(events[0]["event"], "gone");
    assert_eq!(events[0]["feed"]["name"], "old");
    assert_eq!(feed_states(&ws)["old"]["state"], "gone");

    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).is_empty(), "no second event");
    assert_eq!(
        server.requests("/gone.xml").len(),
        1,
        "a gone feed is not polled again"
    );

    config(&server.url("/back.xml")).write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(feed_states(&ws)["old"]["state"], "ok");
}

#[test]
fn a_broken_feed_raises_one_event_per_incident_and_one_recovery() {
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flag = Arc::clone(&failing);
    let server = Scripted::start(Duration::ZERO, move |_| {
        if flag.load(Ordering::SeqCst) {
            respond(500, &[], "oops")
        } else {
            respond(
                200,
                &[],
                "<rss version=\"2.0\"><channel><title>t</title></channel></rss>",
            )
        }
    });
    let ws = Workspace::new();
    base_config(&ws, &[("flaky", &server.url("/f.xml"))])
        .daemon("broken_after = \"1s\"\nfeed_events = [\"out\"]")
        .write(&ws);
    let mut events: Vec<Value> = Vec::new();
    let mut once = || {
        let out = ws.watchword(&["once"]);
        assert!(out.status.success(), "{}", stderr(&out));
        let new = stdout_json(&out);
        events.extend(new.iter().cloned());
        new
    };
    assert!(once().is_empty(), "one failure is not yet an incident");
    // Failing for longer than broken_after: the next failed poll raises the event.
    assert!(wait_for(Duration::from_secs(30), || !once().is_empty()));
    assert!(once().is_empty(), "still broken: no second event");
    failing.store(false, Ordering::SeqCst);
    assert_eq!(once().len(), 1);
    assert!(once().is_empty());
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(kinds, ["broken", "recovered"], "{events:?}");
    assert_eq!(events[0]["reason"], "HTTP 500 Internal Server Error");
    assert_eq!(events[1]["recovered_from"], "broken");
    assert_eq!(feed_states(&ws)["flaky"]["state"], "ok");
}

#[test]
fn import_opml_prints_feeds_and_appends_only_new_ones_to_a_valid_config() {
    let ws = Workspace::new();
    let opml_path = reader_export_opml(&ws);
    // Printing needs no config at all.
    let out = ws.watchword(&["import-opml", &opml_path]);
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(printed.contains("name = \"Gazette\"\nurl = \"https://gazette.example.org/feed\"\ntags = [\"World\", \"local\"]"), "{printed}");

    base_config(&ws, &[("Wire", "https://wire.example.org/rss")]).write(&ws);
    let out = ws.watchword(&["import-opml", "--append", &opml_path]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("added 1 feed(s)"), "{}", stderr(&out));
    let check = ws.watchword(&["check"]);
    assert!(check.status.success(), "{}", stderr(&check));
    assert!(stdout(&check).contains("2 feed(s)"), "{}", stdout(&check));
    let out = ws.watchword(&["import-opml", "--append", &opml_path]);
    assert!(stderr(&out).contains("nothing to add"), "{}", stderr(&out));

    // A result that would not pass `check` leaves the config as it was.
    std::fs::write(
        &opml_path,
        r#"<opml version="2.0"><body><outline text="Bad" xmlUrl="ftp://files.example.org/feed"/></body></opml>"#,
    )
    .expect("write opml");
    let before = std::fs::read_to_string(ws.config_path()).expect("config");
    let out = ws.watchword(&["import-opml", "--append", &opml_path]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("left as it was"), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("unsupported URL scheme \"ftp\""),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(ws.config_path()).expect("config"),
        before
    );
}
