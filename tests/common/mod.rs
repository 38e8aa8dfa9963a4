//! Test fixtures: a feed server and a webhook receiver ([`Receiver`]) on 127.0.0.1, a temp dir
//! with a config (written with [`TomlConfig`]) and a SQLite file, and the real `watchword`
//! binary. Nothing here reaches beyond loopback.

#![allow(dead_code)] // each test binary uses a different part of this module

mod config;
mod daemon;
pub mod external;
mod receiver;
mod smtp;

#[allow(unused_imports)] // each test binary uses a different part of this module
pub use config::TomlConfig;
#[allow(unused_imports)]
pub use daemon::{Daemon, free_port, http_get};
#[allow(unused_imports)]
pub use receiver::{HOLD, Hit, Receiver, Reply};
#[allow(unused_imports)]
pub use smtp::{Session, SmtpServer};

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// A response the feed server gives for one path.
#[derive(Clone)]
pub struct Page {
    pub status: u16,
    pub content_type: String,
    pub body: String,
    /// Wait this long before answering (a slow publisher).
    pub delay: Duration,
}

/// Serves whatever pages the test put at each path; 404 for the rest. Answers one request at a
/// time, in the order they come (a slow page holds up the next), as the tests expect of one
/// small publisher; connections are hyper's (through axum), so a burst of new connections is
/// never left unserved. (tiny_http, which this used before, can leave a connection queued behind
/// idle keep-alive ones when several arrive at once: a fetch then timed out for no reason.)
pub struct FeedServer {
    pub base: String,
    pages: Arc<Mutex<HashMap<String, Page>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

#[derive(Clone)]
struct Served {
    pages: Arc<Mutex<HashMap<String, Page>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    one_at_a_time: Arc<tokio::sync::Mutex<()>>,
}

async fn serve_page(
    axum::extract::State(served): axum::extract::State<Served>,
    uri: axum::http::Uri,
) -> axum::response::Response {
    let path = uri
        .path_and_query()
        .map_or_else(|| uri.path().to_string(), |p| p.as_str().to_string());
    *served
        .hits
        .lock()
        .expect("hits")
        .entry(path.clone())
        .or_default() += 1;
    let _turn = served.one_at_a_time.lock().await;
    let page = served.pages.lock().expect("pages").get(&path).cloned();
    let Some(page) = page else {
        return (axum::http::StatusCode::NOT_FOUND, "not found").into_response();
    };
    tokio::time::sleep(page.delay).await;
    let status = axum::http::StatusCode::from_u16(page.status).expect("a status the test gave");
    (
        status,
        [(axum::http::header::CONTENT_TYPE, page.content_type)],
        page.body,
    )
        .into_response()
}

use axum::response::IntoResponse;

/// Serves `app` on `listener` (bound on 127.0.0.1) from a thread and runtime of its own, until
/// the returned sender is used or dropped; requests still open then are abandoned. The test
/// servers' one way of running: hyper's connection handling, not a hand-rolled one.
pub fn serve_in_background(
    listener: TcpListener,
    app: axum::Router,
) -> tokio::sync::oneshot::Sender<()> {
    listener
        .set_nonblocking(true)
        .expect("non-blocking listener");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("test server runtime");
        runtime.block_on(async move {
            let listener =
                tokio::net::TcpListener::from_std(listener).expect("test server listener");
            tokio::select! {
                _ = axum::serve(listener, app) => {}
                _ = stopped => {}
            }
        });
        // Held requests are abandoned, not awaited.
        runtime.shutdown_background();
    });
    stop
}

impl FeedServer {
    pub fn start() -> FeedServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind feed server");
        let base = format!(
            "http://{}",
            listener.local_addr().expect("feed server address")
        );
        let pages: Arc<Mutex<HashMap<String, Page>>> = Arc::default();
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let served = Served {
            pages: Arc::clone(&pages),
            hits: Arc::clone(&hits),
            one_at_a_time: Arc::default(),
        };
        let app = axum::Router::new().fallback(serve_page).with_state(served);
        let stop = serve_in_background(listener, app);
        FeedServer {
            base,
            pages,
            hits,
            stop: Some(stop),
        }
    }

    pub fn put(&self, path: &str, status: u16, content_type: &str, body: &str) {
        self.pages.lock().expect("pages").insert(
            path.to_string(),
            Page {
                status,
                content_type: content_type.to_string(),
                body: body.to_string(),
                delay: Duration::ZERO,
            },
        );
    }

    /// Like `put_rss`, but the answer takes `delay`.
    pub fn put_slow_rss(&self, path: &str, body: &str, delay: Duration) {
        self.put_rss(path, body);
        if let Some(page) = self.pages.lock().expect("pages").get_mut(path) {
            page.delay = delay;
        }
    }

    pub fn put_json(&self, path: &str, body: &str) {
        self.put(path, 200, "application/feed+json", body);
    }

    pub fn put_rss(&self, path: &str, body: &str) {
        self.put(path, 200, "application/rss+xml; charset=utf-8", body);
    }

    /// How many requests `path` has received so far (counted before any delay).
    pub fn hits(&self, path: &str) -> usize {
        self.hits
            .lock()
            .expect("hits")
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for FeedServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A server that accepts connections and closes them without a word.
pub fn start_closing_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    thread::spawn(move || {
        for stream in listener.incoming() {
            drop(stream);
        }
    });
    format!("http://{addr}/feed.xml")
}

/// A response header for tiny_http.
pub fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("header")
}

/// One RSS item, written by the tests.
pub struct Entry<'a> {
    pub guid: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    pub link: &'a str,
    pub published: DateTime<Utc>,
}

pub fn rss(entries: &[Entry<'_>]) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel>\
         <title>Test Wire</title><link>https://wire.example.org/</link>\
         <description>Invented news for tests</description>\n",
    );
    for e in entries {
        xml.push_str(&format!(
            "<item><guid isPermaLink=\"false\">{}</guid><title>{}</title>\
             <link>{}</link><description><![CDATA[{}]]></description>\
             <pubDate>{}</pubDate></item>\n",
            e.guid,
            e.title,
            e.link,
            e.description,
            e.published.to_rfc2822()
        ));
    }
    xml.push_str("</channel></rss>\n");
    xml
}

/// `count` invented words unique to `n` (`kalomi`, `renturen`, …): what lets distinct items
/// that share only the rule's terms stay distinct stories (docs/stories.md).
pub fn invented_words(n: usize, count: usize) -> Vec<String> {
    const SYLLABLES: [&str; 16] = [
        "ka", "lo", "mi", "ren", "tu", "sa", "vor", "el", "dan", "ish", "po", "gur", "ne", "zo",
        "bah", "qil",
    ];
    (0..count)
        .map(|k| {
            let i = n * count + k;
            format!(
                "{}{}{}",
                SYLLABLES[i % 16],
                SYLLABLES[(i / 16) % 16],
                SYLLABLES[(i / 256) % 16]
            )
        })
        .collect()
}

/// A feed reader's OPML export with two feeds in a "World" folder (one with a category),
/// written into the workspace; returns its path.
pub fn reader_export_opml(ws: &Workspace) -> String {
    let opml = ws.dir.path().join("subscriptions.opml");
    std::fs::write(
        &opml,
        r#"<?xml version="1.0"?>
<opml version="1.0"><head><title>Reader export</title></head><body>
  <outline text="World">
    <outline type="rss" text="Wire" xmlUrl="https://wire.example.org/rss"/>
    <outline type="rss" text="Gazette" xmlUrl="https://gazette.example.org/feed" category="local"/>
  </outline>
</body></opml>"#,
    )
    .expect("write opml");
    opml.to_string_lossy().into_owned()
}

pub fn minutes_ago(minutes: i64) -> DateTime<Utc> {
    Utc::now() - chrono::Duration::minutes(minutes)
}

/// A temp dir holding `watchword.toml` and the database.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("watchword.toml")
    }

    pub fn database(&self) -> PathBuf {
        self.dir.path().join("state.db")
    }

    pub fn write_config(&self, toml: &str) -> PathBuf {
        let path = self.config_path();
        std::fs::write(&path, toml).expect("write config");
        path
    }

    pub fn watchword(&self, args: &[&str]) -> Output {
        run_watchword(&self.config_path(), args)
    }

    /// Starts `watchword run` on this workspace's config; stop it with [`terminate`].
    pub fn spawn_run(&self) -> Child {
        watchword_command(&self.config_path())
            .arg("run")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn watchword run")
    }
}

/// Sends SIGTERM, waits (at most 30 s) for a clean exit, and returns what it logged.
pub fn terminate(mut child: Child) -> String {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -TERM failed");
    let reader = child.stderr.take().map(|mut err| {
        thread::spawn(move || {
            let mut log = String::new();
            let _ = std::io::Read::read_to_string(&mut err, &mut log);
            log
        })
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("watchword run did not stop within 30 s of SIGTERM");
        }
        thread::sleep(Duration::from_millis(50));
    };
    let log = reader
        .map(|r| r.join().unwrap_or_default())
        .unwrap_or_default();
    assert!(exit.success(), "run exited {exit:?}:\n{log}");
    assert!(!log.contains("panicked"), "{log}");
    log
}

/// A URL on 127.0.0.1 where nothing listens: a receiver that is down.
pub fn unused_local_url(path: &str) -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    format!("http://127.0.0.1:{port}{path}")
}

pub fn watchword_command(config: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_watchword"));
    cmd.arg("--config")
        .arg(config)
        .env_remove("WATCHWORD_CONFIG")
        .env_remove("RUST_LOG")
        .env_remove("STATE_DIRECTORY")
        .env("WATCHWORD_LOG", "info");
    cmd
}

pub fn run_watchword(config: &Path, args: &[&str]) -> Output {
    let output = watchword_command(config)
        .args(args)
        .output()
        .expect("run watchword");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("panicked"),
        "watchword panicked:\n{stderr}"
    );
    output
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// How long any wait gives the daemon before a test calls it a failure. Every caller waits
/// for something that must happen, and returns as soon as it does, so a long bound costs a
/// passing test nothing; a short one failed on a loaded 2-core machine, where a debug-build
/// daemon's first poll took over 10 s (three `delivery` tests, waiting 10 s each).
const MIN_WAIT: Duration = Duration::from_secs(60);

/// Polls until `check` is true or `timeout` (at least [`MIN_WAIT`]) passes. The timeout a
/// caller gives says how long the step should take on a quiet machine.
pub fn wait_for(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout.max(MIN_WAIT);
    while std::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        thread::sleep(Duration::from_millis(50));
    }
    check()
}

/// A JSON Feed whose items are `(id, url, title)`, each published five minutes ago.
pub fn json_feed(items: &[(&str, &str, &str)]) -> String {
    let published = minutes_ago(5).to_rfc3339();
    let items: Vec<serde_json::Value> = items
        .iter()
        .map(|(id, url, title)| {
            serde_json::json!({"id": id, "url": url, "title": title, "date_published": published})
        })
        .collect();
    serde_json::json!({"version": "https://jsonfeed.org/version/1.1", "title": "wire", "items": items})
        .to_string()
}

/// The item most tests alert on, for [`json_feed`].
pub const KAZAKHSTAN_JOINS: (&str, &str, &str) = (
    "kz",
    "https://news.example.org/kz",
    "Kazakhstan joins the Abraham Accords",
);

/// A wire item published 20 minutes ago, with a link of its own (the same link would make
/// two items one story).
pub fn wire_entry<'a>(guid: &'a str, title: &'a str) -> Entry<'a> {
    Entry {
        guid,
        title,
        description: "Reported by the wire.",
        link: Box::leak(format!("https://wire.example.org/story/{guid}").into_boxed_str()),
        published: minutes_ago(20),
    }
}

/// Distinct stories that all match "Kazakhstan AND Abraham Accords", none joining another's.
pub fn accords_story(n: usize) -> (String, String, String) {
    let words = invented_words(n, 6);
    (
        format!("ca-{n}"),
        format!("Kazakhstan and the Abraham Accords: {}", words.join(" ")),
        format!("https://wire.example.org/world/update-{n}"),
    )
}

pub fn rss_of_stories(stories: &[(String, String, String)]) -> String {
    let entries: Vec<Entry<'_>> = stories
        .iter()
        .map(|(guid, title, link)| Entry {
            guid,
            title,
            link,
            description: "",
            published: minutes_ago(5),
        })
        .collect();
    rss(&entries)
}
