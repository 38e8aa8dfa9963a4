//! Test fixtures: a feed server and a webhook receiver on 127.0.0.1, a temp dir with a config
//! and a SQLite file, and the real `watchword` binary. Nothing here reaches beyond loopback.

#![allow(dead_code)] // each test binary uses a different part of this module

mod config;

#[allow(unused_imports)] // each test binary uses a different part of this module
pub use config::TomlConfig;

use std::collections::{HashMap, VecDeque};
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

/// Serves whatever pages the test put at each path; 404 for the rest.
pub struct FeedServer {
    pub base: String,
    pages: Arc<Mutex<HashMap<String, Page>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    server: Arc<tiny_http::Server>,
}

impl FeedServer {
    pub fn start() -> FeedServer {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind feed server"));
        let base = format!("http://{}", server.server_addr());
        let pages: Arc<Mutex<HashMap<String, Page>>> = Arc::default();
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let (srv, map, counts) = (Arc::clone(&server), Arc::clone(&pages), Arc::clone(&hits));
        thread::spawn(move || {
            for request in srv.incoming_requests() {
                *counts
                    .lock()
                    .expect("hits")
                    .entry(request.url().to_string())
                    .or_default() += 1;
                let page = map.lock().expect("pages").get(request.url()).cloned();
                if let Some(page) = &page {
                    thread::sleep(page.delay);
                }
                let response = match page {
                    Some(page) => tiny_http::Response::from_string(page.body)
                        .with_status_code(page.status)
                        .with_header(header("Content-Type", &page.content_type)),
                    None => tiny_http::Response::from_string("not found").with_status_code(404),
                };
                let _ = request.respond(response);
            }
        });
        FeedServer {
            base,
            pages,
            hits,
            server,
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
        self.server.unblock();
    }
}

/// A request the receiver got.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
    pub status_sent: u16,
    pub at: std::time::Instant,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("webhook body is JSON")
    }
}

/// A scripted "status" that makes the receiver hold the request without ever answering.
pub const HOLD: u16 = 0;

/// Records every request and answers with the scripted statuses, then 200.
pub struct Receiver {
    pub url: String,
    log: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
    server: Arc<tiny_http::Server>,
}

impl Receiver {
    pub fn start() -> Receiver {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind receiver"));
        let url = format!("http://{}/hook/secret-token", server.server_addr());
        let log: Arc<Mutex<Vec<Received>>> = Arc::default();
        let script: Arc<Mutex<VecDeque<u16>>> = Arc::default();
        let (srv, l, s) = (Arc::clone(&server), Arc::clone(&log), Arc::clone(&script));
        thread::spawn(move || {
            for mut request in srv.incoming_requests() {
                let (l, s) = (Arc::clone(&l), Arc::clone(&s));
                // One thread per request, so a held request does not block the next one.
                thread::spawn(move || {
                    let mut body = String::new();
                    let _ = request.as_reader().read_to_string(&mut body);
                    let headers = request
                        .headers()
                        .iter()
                        .map(|h| {
                            (
                                h.field.as_str().as_str().to_ascii_lowercase(),
                                h.value.as_str().to_string(),
                            )
                        })
                        .collect();
                    let status = s.lock().expect("script").pop_front().unwrap_or(200);
                    l.lock().expect("log").push(Received {
                        path: request.url().to_string(),
                        headers,
                        body,
                        status_sent: status,
                        at: std::time::Instant::now(),
                    });
                    if status == HOLD {
                        // Never answer: the sender is left waiting until it gives up or dies.
                        thread::sleep(Duration::from_secs(120));
                        return;
                    }
                    let mut response =
                        tiny_http::Response::from_string("ok").with_status_code(status);
                    if status == 503 {
                        // "Come back in an hour": long enough that only a recovery releases it.
                        response = response.with_header(header("Retry-After", "3600"));
                    }
                    let _ = request.respond(response);
                });
            }
        });
        Receiver {
            url,
            log,
            script,
            server,
        }
    }

    /// The next `statuses.len()` requests get these statuses.
    pub fn script(&self, statuses: &[u16]) {
        self.script.lock().expect("script").extend(statuses);
    }

    pub fn all(&self) -> Vec<Received> {
        self.log.lock().expect("log").clone()
    }

    /// Requests answered with a 2xx: what the receiver's user actually got.
    pub fn accepted(&self) -> Vec<Received> {
        self.all()
            .into_iter()
            .filter(|r| (200..300).contains(&r.status_sent))
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.unblock();
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

fn header(name: &str, value: &str) -> tiny_http::Header {
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

/// The groups of DESIGN.md §3, shared by the tests' configs.
pub const GROUPS: &str = r#"
[groups]
central_asia    = ["Kazakhstan", "Kazakh*", "Qazaqstan", "Uzbekistan", "Uzbek*", "Kyrgyzstan",
                   "Kyrgyz*", "Tajikistan", "Tajik*", "Turkmenistan", "Turkmen*", '"Central Asia"']
abraham_accords = ['"Abraham Accords"', '"Abraham Accord"']
"#;

/// Polls until `check` is true or `timeout` passes.
pub fn wait_for(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        thread::sleep(Duration::from_millis(50));
    }
    check()
}

// ---- Issue 6: a receiver with scripted full replies, on a port of the test's choosing ----

/// A reply the [`ReplyReceiver`] gives: status, headers and body.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: &str) -> Reply {
        self.body = body.to_string();
        self
    }
}

/// A request the [`ReplyReceiver`] got, with its method.
#[derive(Clone, Debug)]
pub struct Hit {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
    pub status_sent: u16,
    pub at: std::time::Instant,
}

impl Hit {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("body is JSON")
    }

    pub fn id(&self) -> String {
        self.headers.get("webhook-id").cloned().unwrap_or_default()
    }
}

/// Records every request; answers with the scripted replies in order, then with `fallback`
/// (200 unless changed).
pub struct ReplyReceiver {
    pub base: String,
    log: Arc<Mutex<Vec<Hit>>>,
    script: Arc<Mutex<VecDeque<Reply>>>,
    fallback: Arc<Mutex<Reply>>,
    server: Arc<tiny_http::Server>,
}

impl ReplyReceiver {
    pub fn start() -> ReplyReceiver {
        ReplyReceiver::start_on("127.0.0.1:0")
    }

    /// Listens on `addr` (e.g. the port of an [`unused_local_url`] that was down so far).
    pub fn start_on(addr: &str) -> ReplyReceiver {
        let server = Arc::new(tiny_http::Server::http(addr).expect("bind reply receiver"));
        let base = format!("http://{}", server.server_addr());
        let log: Arc<Mutex<Vec<Hit>>> = Arc::default();
        let script: Arc<Mutex<VecDeque<Reply>>> = Arc::default();
        let fallback = Arc::new(Mutex::new(Reply::status(200)));
        let (srv, l, s, f) = (
            Arc::clone(&server),
            Arc::clone(&log),
            Arc::clone(&script),
            Arc::clone(&fallback),
        );
        thread::spawn(move || {
            for mut request in srv.incoming_requests() {
                let mut body = String::new();
                let _ = request.as_reader().read_to_string(&mut body);
                let headers = request
                    .headers()
                    .iter()
                    .map(|h| {
                        (
                            h.field.as_str().as_str().to_ascii_lowercase(),
                            h.value.as_str().to_string(),
                        )
                    })
                    .collect();
                let reply = s
                    .lock()
                    .expect("script")
                    .pop_front()
                    .unwrap_or_else(|| f.lock().expect("fallback").clone());
                l.lock().expect("log").push(Hit {
                    method: request.method().as_str().to_string(),
                    path: request.url().to_string(),
                    headers,
                    body,
                    status_sent: reply.status,
                    at: std::time::Instant::now(),
                });
                let mut response =
                    tiny_http::Response::from_string(reply.body).with_status_code(reply.status);
                for (name, value) in &reply.headers {
                    response = response.with_header(header(name, value));
                }
                let _ = request.respond(response);
            }
        });
        ReplyReceiver {
            base,
            log,
            script,
            fallback,
            server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn script(&self, replies: Vec<Reply>) {
        self.script.lock().expect("script").extend(replies);
    }

    /// What every request gets once the script is used up.
    pub fn always(&self, reply: Reply) {
        *self.fallback.lock().expect("fallback") = reply;
    }

    pub fn all(&self) -> Vec<Hit> {
        self.log.lock().expect("log").clone()
    }

    pub fn accepted(&self) -> Vec<Hit> {
        self.all()
            .into_iter()
            .filter(|r| (200..300).contains(&r.status_sent))
            .collect()
    }
}

impl Drop for ReplyReceiver {
    fn drop(&mut self) {
        self.server.unblock();
    }
}
