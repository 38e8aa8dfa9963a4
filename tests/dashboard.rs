//! The web dashboard (issue 15): its HTML as snapshots, `check`'s refusal of an open listener
//! without a credential, the credential and security headers on the wire, and the whole thing
//! in a real browser (headless Chromium through chromedriver) against the real daemon.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use askama::Template;
use common::{Daemon, Entry, FeedServer, Receiver, TomlConfig, Workspace, free_port, minutes_ago};
use watchword::model::{AlertId, AttemptOutcome, NewAlert};
use watchword::store::{FetchRecord, ItemText, NewItem, Store};
use watchword::web::{pages, views};

// ---------------------------------------------------------------------------------------------
// HTML snapshots: each page rendered from a real store with fixed times.

/// 2027-01-15 12:00 UTC.
const NOW: i64 = 1_800_014_400;

/// A title as hostile as a feed can make it.
const HOSTILE: &str = "<script>alert(1)</script>\"><img src=x onerror=alert(2)> Kazakhstan accords";

const SNAPSHOT_CONFIG: &str = r#"
[daemon]
metrics_listen = "127.0.0.1:9464"

[groups]
central_asia = ["Kazakhstan", "Uzbekistan"]

[[feed]]
name = "wire"
url = "https://wire.example.org/rss?token=SECRET"

[[feed]]
name = "post"
url = "https://post.example.org/rss"

[[rule]]
name = "kz"
query = "@central_asia AND accords"
notify = ["hook"]

[[sink]]
name = "hook"
kind = "webhook"
url = "https://hooks.example.org/SECRET-PATH"
"#;

fn snapshot_fixture() -> (tempfile::TempDir, Store, watchword::runtime::Runtime) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("w.db")).expect("open");
    let runtime =
        watchword::runtime::from_source(Path::new("w.toml"), SNAPSHOT_CONFIG).expect("config");
    for (id, title, at) in [
        ("a1", "Kazakhstan joins the accords", NOW - 3600),
        ("evil", HOSTILE, NOW - 60),
    ] {
        let payload = serde_json::json!({
            "rule": "kz",
            "matched_terms": [{"term": "@central_asia", "found": ["Kazakhstan"]}],
            "item": {
                "title": title,
                "summary": format!("{title} — the summary."),
                "published": "2027-01-15T10:00:00Z",
                "authors": [], "categories": [],
            },
        });
        store
            .record_fetch(&FetchRecord {
                feed: "wire".into(),
                url: "https://wire.example.org/rss?token=SECRET".into(),
                at,
                error: None,
                items: vec![NewItem {
                    id: id.into(),
                    link: Some(if id == "evil" {
                        "javascript:alert(3)".into()
                    } else {
                        format!("https://wire.example.org/{id}")
                    }),
                    title: title.into(),
                    published: Some(at),
                    too_old: false,
                    text_hash: None,
                    story: Default::default(),
                    alerts: vec![NewAlert {
                        id: AlertId::stored(format!("ww_{id}")),
                        rule: "kz".into(),
                        payload: payload.to_string(),
                        sinks: vec!["hook".into()],
                        story_update_after: None,
                    }],
                }],
                listed: Vec::new(),
                edits: Vec::new(),
            })
            .expect("record");
        store
            .record_item_texts(
                &[ItemText {
                    feed: "wire".into(),
                    item_id: id.into(),
                    seen_at: at,
                    published: Some(at),
                    link: None,
                    title: title.into(),
                    summary: "Kazakhstan signs the accords.".into(),
                    content: String::new(),
                    authors: vec![],
                    categories: vec![],
                }],
                NOW,
                7 * 86_400,
            )
            .expect("texts");
    }
    store
        .record_attempt(
            "ww_a1",
            "hook",
            NOW - 1800,
            &AttemptOutcome::Dead {
                status: Some(500),
                error: "HTTP 500 <b>from the receiver</b>".into(),
            },
        )
        .expect("dead");
    (dir, store, runtime)
}

#[test]
fn pages_render_as_in_their_snapshots() {
    let (_dir, store, runtime) = snapshot_fixture();
    let overview = pages::overview(&store, &runtime, NOW).expect("overview");
    let alerts =
        pages::alerts(&store, &runtime, pages::AlertFilters::default(), NOW).expect("alerts");
    let alert = pages::alert(&store, &runtime, "ww_evil", NOW)
        .expect("alert")
        .expect("exists");
    let dead = pages::alert(&store, &runtime, "ww_a1", NOW)
        .expect("alert")
        .expect("exists");
    let feeds = pages::feeds(&store, &runtime, &pages::FeedParams::default(), NOW).expect("feeds");
    let workbench = pages::workbench(
        &store,
        &runtime,
        &pages::WorkbenchParams {
            q: Some("Kazakh* AND signs".into()),
            name: Some("kz-signs".into()),
            days: None,
        },
        NOW,
    )
    .expect("workbench");
    let rendered = [
        ("overview", views::OverviewView { page: &overview }.render()),
        ("alerts", views::AlertsView { page: &alerts }.render()),
        (
            "alert_hostile",
            views::AlertView {
                page: &alert,
                csrf: "TOKEN",
                requeued: None,
            }
            .render(),
        ),
        (
            "alert_dead",
            views::AlertView {
                page: &dead,
                csrf: "TOKEN",
                requeued: Some(1),
            }
            .render(),
        ),
        ("feeds", views::FeedsView { page: &feeds }.render()),
        (
            "workbench",
            views::WorkbenchView { page: &workbench }.render(),
        ),
    ];
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for (name, html) in rendered {
            let html = html.expect("renders");
            // Whatever the snapshot says: feed text is never markup, secrets never shown.
            assert!(!html.contains("<script>alert"), "{name}: {html}");
            assert!(!html.contains("<img"), "{name}: {html}");
            assert!(
                !html.contains("href=\"javascript:"),
                "{name}: a javascript: link"
            );
            assert!(!html.contains("SECRET"), "{name}: {html}");
            assert!(
                !html.contains("style="),
                "{name}: inline style breaks the CSP"
            );
            insta::assert_snapshot!(format!("dashboard_{name}"), html);
        }
    });
}

// ---------------------------------------------------------------------------------------------
// The listener off loopback, and its credential.

#[test]
fn check_refuses_a_listener_off_loopback_without_a_credential() {
    let ws = Workspace::new();
    let config = TomlConfig::for_workspace(&ws)
        .daemon("metrics_listen = \"0.0.0.0:9464\"")
        .feed("wire", "https://wire.example.org/rss")
        .stdout_sink("out")
        .rule("r", "Kazakhstan", &["out"]);
    config.write(&ws);
    let out = ws.watchword(&["check"]);
    assert_eq!(out.status.code(), Some(2), "{}", common::stderr(&out));
    let path = ws.config_path().display().to_string();
    let stderr = common::stderr(&out);
    assert!(
        stderr.contains(&format!(
            "{path}:2:18: metrics_listen 0.0.0.0:9464 is not a loopback address"
        )),
        "{stderr}"
    );
    // A password from a file (as from `${credential:NAME}`) makes it valid; half a basic
    // credential does not.
    std::fs::write(ws.dir.path().join("listen-password"), "hunter2hunter2\n").expect("write");
    config
        .clone()
        .daemon("listen_user = \"ops\"\nlisten_password = \"${file:listen-password}\"")
        .write(&ws);
    let out = ws.watchword(&["check"]);
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    assert!(!common::stdout(&out).contains("hunter2"));
    config.daemon("listen_user = \"ops\"").write(&ws);
    let out = ws.watchword(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        common::stderr(&out).contains(&format!("{path}:3:15: listen_user needs listen_password")),
        "{}",
        common::stderr(&out)
    );
}

/// One HTTP/1.1 request over loopback: status, head (lower-cased) and body.
fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut text = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        text.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
    }
    for (k, v) in headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str("Content-Length: 0\r\n\r\n");
    stream.write_all(text.as_bytes()).expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").expect("a response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    (status, head.to_ascii_lowercase(), body.to_string())
}

#[test]
fn a_credential_guards_the_dashboard_and_metrics_but_not_the_health_checks() {
    let ws = Workspace::new();
    let port = free_port();
    TomlConfig::for_workspace(&ws)
        .daemon(&format!(
            "metrics_listen = \"127.0.0.1:{port}\"\nlisten_token = \"t0ken-for-scrapers\"\n\
             listen_user = \"ops\"\nlisten_password = \"pa55word\""
        ))
        .feed("wire", &common::unused_local_url("/rss"))
        .stdout_sink("out")
        .rule("r", "Kazakhstan", &["out"])
        .write(&ws);
    let daemon = Daemon::start(&ws, &[]);
    assert!(
        common::wait_for(Duration::from_secs(30), || {
            common::http_get(port, "/healthz", Duration::from_secs(2)).is_some()
        }),
        "{}",
        daemon.log()
    );
    let (status, head, _) = request(port, "GET", "/", &[]);
    assert_eq!(status, 401);
    assert!(
        head.contains("www-authenticate: basic realm=\"watchword\""),
        "{head}"
    );
    assert_eq!(request(port, "GET", "/metrics", &[]).0, 401);
    assert_eq!(request(port, "GET", "/healthz", &[]).0, 200);
    assert_ne!(request(port, "GET", "/readyz", &[]).0, 401);
    let basic = ("Authorization", "Basic b3BzOnBhNTV3b3Jk"); // ops:pa55word
    let (status, head, body) = request(port, "GET", "/", &[basic]);
    assert_eq!(status, 200, "{body}");
    for header in [
        "content-security-policy: default-src 'none'; style-src 'self'; script-src 'self';",
        "x-content-type-options: nosniff",
        "x-frame-options: deny",
        "referrer-policy: same-origin",
    ] {
        assert!(head.contains(header), "{header} missing:\n{head}");
    }
    let bearer = ("Authorization", "Bearer t0ken-for-scrapers");
    let (status, _, body) = request(port, "GET", "/metrics", &[bearer]);
    assert_eq!(status, 200);
    assert!(body.contains("watchword_"), "{body}");
    assert_eq!(
        request(port, "GET", "/", &[("Authorization", "Bearer wrong")]).0,
        401
    );
    // DNS rebinding: a page on another name that resolves to 127.0.0.1 gets nothing.
    assert_eq!(
        request(port, "GET", "/", &[basic, ("Host", "evil.example:80")]).0,
        421
    );
    // The one POST wants the page's token, and refuses another site outright.
    assert_eq!(
        request(port, "POST", "/alerts/ww_x/requeue", &[basic]).0,
        403
    );
    assert_eq!(
        request(
            port,
            "POST",
            "/alerts/ww_x/requeue",
            &[basic, ("Origin", "https://evil.example")]
        )
        .0,
        403
    );
    let log = daemon.stop();
    assert!(
        !log.contains("pa55word") && !log.contains("t0ken-for"),
        "{log}"
    );
}

// ---------------------------------------------------------------------------------------------
// In a real browser.

/// chromedriver on a free loopback port, in a process group of its own with the browsers it
/// starts: dropping it kills the group, so a failed step leaves no chromium behind.
struct Chromedriver {
    child: Child,
    port: u16,
    profile: tempfile::TempDir,
}

impl Chromedriver {
    fn start(binary: &str) -> Chromedriver {
        use std::os::unix::process::CommandExt as _;
        let port = free_port();
        let child = Command::new(binary)
            .process_group(0)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let ready = common::wait_for(Duration::from_secs(30), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(ready, "chromedriver did not listen on {port}");
        Chromedriver {
            child,
            port,
            profile: tempfile::tempdir().expect("profile dir"),
        }
    }

    async fn session(&self) -> fantoccini::Client {
        let mut args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            "--window-size=1280,900".into(),
            format!("--user-data-dir={}", self.profile.path().display()),
        ];
        args.push("--disable-dev-shm-usage".into());
        let mut options = serde_json::json!({ "args": args });
        if Path::new("/usr/bin/chromium").exists() {
            options["binary"] = "/usr/bin/chromium".into();
        }
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("goog:chromeOptions".into(), options);
        fantoccini::ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("a WebDriver session")
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The group's id is chromedriver's pid; chromium and its helpers are in it too.
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn screenshot_dir() -> PathBuf {
    // CARGO_TARGET_TMPDIR is target/tmp: the screenshots go beside it.
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap_or(Path::new("target"))
        .join("dashboard-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

async fn screenshot(browser: &fantoccini::Client, name: &str) {
    let png = browser.screenshot().await.expect("screenshot");
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).expect("save screenshot");
}

/// Runs `check` (with the page reloaded from `url` before each try) until it is true, or
/// panics with `what` after 30 s. No fixed sleeps: it polls.
async fn until(
    browser: &fantoccini::Client,
    url: &str,
    what: &str,
    mut check: impl AsyncFnMut(&fantoccini::Client) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        browser.goto(url).await.expect("goto");
        if check(browser).await {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what} at {url}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The text of the first element matching `css`, once there is one: after a click the page
/// may still be navigating, so the search is tried again (for at most 30 s).
async fn text_of(browser: &fantoccini::Client, css: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = browser.find(fantoccini::Locator::Css(css)).await;
        match found {
            Ok(element) => {
                if let Ok(text) = element.text().await {
                    return text;
                }
            }
            Err(e) if Instant::now() > deadline => panic!("no {css}: {e}"),
            Err(_) => {}
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The hostile title as it is written in the feed's XML (entities of entities): the feed
/// says `<script>…` and `"><img onerror=…>` as text.
const HOSTILE_XML: &str = "&amp;lt;script&amp;gt;window.__pwned=1&amp;lt;/script&amp;gt;\
     &amp;quot;&amp;gt;&amp;lt;img src=x onerror=&amp;quot;window.__pwned=2&amp;quot;&amp;gt; \
     Abraham Accords summit draws protest";

#[test]
fn the_dashboard_in_a_real_browser() {
    let Some(chromedriver) =
        common::external::service(common::external::CHROMEDRIVER, test_name!())
    else {
        return;
    };
    let feeds = FeedServer::start();
    let published = minutes_ago(5);
    feeds.put_rss(
        "/wire.xml",
        &common::rss(&[
            Entry {
                guid: "kz-1",
                title: "Kazakhstan joins the Abraham Accords",
                description: "Astana signs the Abraham Accords in Washington.",
                link: "https://wire.example.org/kz-1",
                published,
            },
            Entry {
                guid: "evil",
                title: HOSTILE_XML,
                description: "<p>Abraham Accords \"><img src=x onerror=alert(1)></p>",
                link: "https://wire.example.org/evil",
                published,
            },
            Entry {
                guid: "uz-1",
                title: "Uzbekistan trade fair opens in Tashkent",
                description: "Exhibitors from forty countries.",
                link: "https://wire.example.org/uz-1",
                published,
            },
        ]),
    );
    // Another outlet with the same link: one story, two sources.
    feeds.put_rss(
        "/post.xml",
        &common::rss(&[Entry {
            guid: "post-kz",
            title: "Kazakhstan signs on to the Abraham Accords",
            description: "The post's own report.",
            link: "https://wire.example.org/kz-1",
            published,
        }]),
    );
    let receiver = Receiver::start();
    // The first alert is refused for good (410): a dead letter, and the sink disabled.
    receiver.script([410]);
    let ws = Workspace::new();
    let port = free_port();
    TomlConfig::for_workspace(&ws)
        .daemon(&format!("metrics_listen = \"127.0.0.1:{port}\""))
        .feed("wire", &feeds.url("/wire.xml"))
        .feed("post", &feeds.url("/post.xml"))
        .webhook_sink("hook", &receiver.hook_url())
        .stdout_sink("console")
        // One story reaches the receiver; the hostile item alerts on the console only.
        .rule("accords", "\"Abraham Accords\" AND Kazakhstan", &["hook"])
        .rule("protests", "protest", &["console"])
        .write(&ws);
    let daemon = Daemon::start(&ws, &[]);
    let base = format!("http://127.0.0.1:{port}");
    let driver = Chromedriver::start(&chromedriver);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let browser = driver.session().await;

        // Alerts page, once the first delivery has died.
        until(&browser, &format!("{base}/alerts?state=dead"), "a dead letter", async |b| {
            b.find(fantoccini::Locator::Css("a.alert-link")).await.is_ok()
        })
        .await;

        // Overview: the same truths as `watchword status`.
        browser.goto(&format!("{base}/")).await.expect("overview");
        let main = text_of(&browser, "main").await;
        assert!(main.contains("Overview"), "{main}");
        assert!(main.contains("1\ndead today") || main.contains("1 dead today"), "{main}");
        assert!(main.contains("Disabled sinks") && main.contains("hook"), "{main}");
        screenshot(&browser, "overview").await;

        // The alerts list: the hostile title is text, nothing of it ran.
        browser.goto(&format!("{base}/alerts")).await.expect("alerts");
        let titles = text_of(&browser, "table.alerts").await;
        assert!(
            titles.contains("<script>window.__pwned=1</script>\"><img src=x onerror="),
            "{titles}"
        );
        let pwned = browser
            .execute("return [window.__pwned === undefined, document.querySelectorAll('main img, main script').length];", vec![])
            .await
            .expect("execute");
        assert_eq!(pwned, serde_json::json!([true, 0]), "feed markup ran or was inserted");
        screenshot(&browser, "alerts").await;

        // Follow the dead letter to its story, and re-queue it.
        browser
            .goto(&format!("{base}/alerts?state=dead"))
            .await
            .expect("dead");
        browser
            .find(fantoccini::Locator::Css("a.alert-link"))
            .await
            .expect("dead alert")
            .click()
            .await
            .expect("click");
        // Whichever outlet was polled first raised the alert; the other joined its story.
        let title = text_of(&browser, "h1").await;
        assert!(
            ["Kazakhstan joins the Abraham Accords", "Kazakhstan signs on to the Abraham Accords"]
                .contains(&title.as_str()),
            "{title}"
        );
        let id = text_of(&browser, ".facts code").await;
        assert!(id.starts_with("ww_"), "{id}");
        let story = text_of(&browser, "table.sources").await;
        assert!(story.contains("wire") && story.contains("post"), "{story}");
        assert!(story.contains("same link"), "{story}");
        let terms = text_of(&browser, "main").await;
        assert!(terms.contains("\"Abraham Accords\""), "{terms}");
        let mut marked = Vec::new();
        for mark in browser
            .find_all(fantoccini::Locator::Css("h1 mark"))
            .await
            .expect("marks")
        {
            marked.push(mark.text().await.expect("text"));
        }
        assert_eq!(marked, ["Kazakhstan", "Abraham Accords"]);
        assert!(text_of(&browser, "tr.delivery").await.contains("dead"));
        browser
            .find(fantoccini::Locator::Id("requeue"))
            .await
            .expect("the re-queue button")
            .click()
            .await
            .expect("click");
        let notice = text_of(&browser, ".notice").await;
        assert!(notice.contains("Re-queued 1"), "{notice}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !receiver.accepted().iter().any(|hit| hit.id() == id) {
            assert!(
                Instant::now() < deadline,
                "the receiver never got {id} again: {:?}\n{}",
                receiver.all().iter().map(|h| (h.id(), h.status_sent)).collect::<Vec<_>>(),
                daemon.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let here = browser.current_url().await.expect("url").to_string();
        until(&browser, &here, "the delivery", async |b| {
            text_of(b, "tr.delivery").await.contains("delivered")
        })
        .await;
        let attempts = text_of(&browser, "table.attempts").await;
        assert!(attempts.contains("410") && attempts.contains("dead"), "{attempts}");
        assert!(attempts.contains("delivered"), "{attempts}");
        screenshot(&browser, "alert").await;

        // Feeds: health and sparklines.
        browser.goto(&format!("{base}/feeds")).await.expect("feeds");
        let table = text_of(&browser, "table.feeds").await;
        assert!(table.contains("wire") && table.contains("ok"), "{table}");
        let sparks = browser
            .find_all(fantoccini::Locator::Css("svg.spark polyline"))
            .await
            .expect("sparklines");
        assert_eq!(sparks.len(), 2);
        screenshot(&browser, "feeds").await;

        // The workbench: type a query, run it, see the match highlighted.
        browser
            .goto(&format!("{base}/workbench"))
            .await
            .expect("workbench");
        let query = browser
            .find(fantoccini::Locator::Css("label[for=q] + textarea"))
            .await
            .expect("a labelled query field");
        query.send_keys("Uzbek* AND fair").await.expect("type");
        browser
            .find(fantoccini::Locator::Id("run"))
            .await
            .expect("run")
            .click()
            .await
            .expect("click");
        let summary = text_of(&browser, "#summary").await;
        assert!(summary.starts_with("1 match(es)"), "{summary}");
        assert_eq!(text_of(&browser, "li.match .hit-title mark").await, "Uzbekistan");
        assert!(text_of(&browser, "#toml").await.contains("query = 'Uzbek* AND fair'"));
        screenshot(&browser, "workbench").await;

        // On a phone: nothing wider than the screen but the tables, which scroll in place.
        browser.set_window_size(390, 844).await.expect("phone size");
        for page in ["/", "/alerts", "/feeds"] {
            browser.goto(&format!("{base}{page}")).await.expect("goto");
            let fits = browser
                .execute(
                    "return document.documentElement.scrollWidth <= window.innerWidth;",
                    vec![],
                )
                .await
                .expect("execute");
            assert_eq!(fits, serde_json::json!(true), "{page} is wider than a phone");
        }
        browser.goto(&format!("{base}/")).await.expect("overview");
        screenshot(&browser, "overview-phone").await;

        browser.close().await.expect("close the session");
    });
    let log = daemon.stop();
    assert!(log.contains("re-queued from the dashboard"), "{log}");
}
