//! Sink formats: golden requests for every format (snapshots in tests/snapshots/), limits and
//! escaping under hostile feed text, and Standard Webhooks signatures checked by an
//! independent verifier (the `standardwebhooks` crate) against the real binary.

mod common;

use base64::Engine as _;
use chrono::DateTime;
use serde_json::{Value, json};
use watchword::alert::format::{Batch, Request, render};
use watchword::alert::format::{Sink, SinkFormat};
use watchword::model::{Item, MatchedTerm};

use common::*;

const FORMATS: &[SinkFormat] = &[
    SinkFormat::Json,
    SinkFormat::Slack,
    SinkFormat::Discord,
    SinkFormat::Teams,
    SinkFormat::Ntfy,
    SinkFormat::Telegram,
    SinkFormat::Mattermost,
    SinkFormat::Matrix,
    SinkFormat::Template,
];

fn sink(format: SinkFormat) -> Sink {
    let url = match format {
        SinkFormat::Matrix => "https://matrix.example.org",
        SinkFormat::Ntfy => "https://ntfy.example.org/world-news",
        SinkFormat::Telegram => "https://api.telegram.org/bot123:SECRET/sendMessage",
        _ => "https://hooks.example.org/services/T000/B000/SECRET",
    };
    let options: &[(&str, &str)] = match format {
        SinkFormat::Telegram => &[("chat_id", "-1001234567890")],
        SinkFormat::Matrix => &[("room", "!news:example.org"), ("token", "syt_SECRET")],
        SinkFormat::Template => &[(
            "template",
            r#"{"msg": {{ title }}, "url": {{ link }}, "rule": {{ rule }}, "n": {{ count }}, "items": [{% for a in alerts %}{{ a.title }}{% if not loop.last %}, {% endif %}{% endfor %}]}"#,
        )],
        _ => &[],
    };
    let mut sink = Sink::webhook("s", url, format, options).expect("valid options");
    if format == SinkFormat::Template {
        sink.config.headers = vec![("X-Team".into(), "newsroom".into())];
    }
    sink
}

/// An item of the `wire` feed; each fixture item has its own guid, as a feed's items do (two
/// items sharing one would be one item, and their alerts one alert id).
fn item(guid: &str, title: &str, summary: &str, link: &str) -> Item {
    Item {
        feed: "wire".into(),
        id: guid.into(),
        link: Some(link.into()),
        title: title.into(),
        summary: summary.into(),
        content: String::new(),
        published: DateTime::from_timestamp(1_800_000_000, 0),
        authors: vec!["Desk".into()],
        categories: vec!["World".into()],
    }
}

fn alert_payload(item: &Item, priority: Option<Value>) -> String {
    let created = DateTime::from_timestamp(1_800_000_100, 0).unwrap_or_default();
    let id = watchword::model::AlertId::for_item("ca-aa", &item.feed, &item.id);
    let body = watchword::model::payload::render(
        &id,
        "ca-aa",
        &[
            MatchedTerm {
                term: "@central_asia".into(),
                found: vec!["Kazakhstan".into()],
            },
            MatchedTerm {
                term: "\"Abraham Accords\"".into(),
                found: vec!["Abraham Accords".into()],
            },
        ],
        item,
        created,
        "normal",
    );
    match priority {
        None => body,
        Some(p) => {
            let mut v: Value = serde_json::from_str(&body).expect("payload");
            v["priority"] = p;
            v.to_string()
        }
    }
}

fn plain() -> String {
    alert_payload(
        &item(
            "guid-1",
            "Kazakhstan to join the Abraham Accords",
            "Astana confirmed on Tuesday that it will sign the accords.",
            "https://news.example.org/world/kazakhstan-accords",
        ),
        Some(json!("high")),
    )
}

/// Markup, mentions, a masked link, quotes and a 10 KB title.
fn hostile() -> String {
    let mut title = String::from(
        "<!channel> @everyone @here **BREAKING** <script>alert(1)</script> & [click](javascript:x) \"q\" ",
    );
    while title.len() < 10 * 1024 {
        title.push_str("Kazakhstan Abraham Accords <b>spam</b> @all ");
    }
    let summary = "Hi <@U123> and @channel: <a href=\"https://evil.example\">win</a> ||spoiler|| \
                   # heading\n> quote\n```code``` _it_ ~strike~ &amp; 5 < 6 > 4";
    alert_payload(
        &item(
            "guid-2",
            &title,
            summary,
            "https://news.example.org/a?x=<b>&y=|>(1)",
        ),
        None,
    )
}

fn feed_event() -> String {
    json!({
        "type": "watchword.feed_event",
        "version": 1,
        "id": "ev_0123",
        "created_at": "2027-01-15T08:00:00Z",
        "feed": {"name": "wire"},
        "title": "Feed wire is failing",
        "text": "HTTP 503 for 2 hours; last success 2027-01-15T06:00:00Z",
    })
    .to_string()
}

fn show(request: &Request) -> String {
    let body = match serde_json::from_str::<Value>(&request.body) {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_default(),
        Err(_) => request.body.clone(),
    };
    let mut out = format!(
        "{:?} {}\ncontent-type: {}\n",
        request.method, request.url, request.content_type
    );
    for (k, v) in &request.headers {
        out.push_str(&format!("{k}: {v}\n"));
    }
    out.push('\n');
    out.push_str(&body);
    out
}

fn rendered(format: SinkFormat, id: &str, payloads: &[&str]) -> Request {
    let batch = Batch {
        id,
        payloads: payloads.to_vec(),
    };
    render(&sink(format), &batch).expect("renders")
}

#[test]
fn golden_requests_for_every_format() {
    let (plain, hostile, event) = (plain(), hostile(), feed_event());
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        for &format in FORMATS {
            let single = rendered(format, "ww_plain", &[&plain]);
            insta::assert_snapshot!(format!("{format}_alert"), show(&single));
            let request = rendered(format, "ww_hostile", &[&hostile]);
            insta::assert_snapshot!(format!("{format}_hostile"), show(&request));
            let request = rendered(format, "ev_0123", &[&event]);
            insta::assert_snapshot!(format!("{format}_feed_event"), show(&request));
            let digest = rendered(format, "ww_digest_1", &[&plain, &hostile_short(), &event]);
            insta::assert_snapshot!(format!("{format}_digest"), show(&digest));
        }
    });
}

/// The hostile alert without the 10 KB title, so the digest snapshots stay readable.
fn hostile_short() -> String {
    let mut v: Value = serde_json::from_str(&hostile()).expect("json");
    v["item"]["title"] =
        json!("<!channel> @everyone **BREAKING** <script>x</script> & [c](javascript:x)");
    v.to_string()
}

fn chars(v: &Value) -> usize {
    v.as_str().map(|s| s.chars().count()).unwrap_or(0)
}

#[test]
fn hostile_text_stays_within_limits_and_cannot_mention_or_inject() {
    let hostile = hostile();
    // Digests of 30 hostile alerts must respect the limits as well.
    let many: Vec<String> = (0..30).map(|_| hostile.clone()).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    for payloads in [vec![hostile.as_str()], many] {
        let slack: Value =
            serde_json::from_str(&rendered(SinkFormat::Slack, "ww_h", &payloads).body)
                .expect("json");
        let text = slack.to_string();
        assert!(
            !text.contains("<!channel>") && !text.contains("<@U123>"),
            "{text}"
        );
        assert!(!text.contains("<script>"));
        let blocks = slack["blocks"].as_array().expect("blocks");
        assert!(blocks.len() <= 50);
        for b in blocks {
            assert!(chars(&b["text"]["text"]) <= 3000);
        }
        assert!(chars(&slack["text"]) <= 3000);

        let discord: Value =
            serde_json::from_str(&rendered(SinkFormat::Discord, "ww_h", &payloads).body)
                .expect("json");
        assert_eq!(discord["allowed_mentions"], json!({"parse": []}));
        let embeds = discord["embeds"].as_array().expect("embeds");
        assert!(embeds.len() <= 10);
        let mut total = 0;
        for e in embeds {
            assert!(chars(&e["title"]) <= 256);
            assert!(chars(&e["description"]) <= 4096);
            assert!(chars(&e["footer"]["text"]) <= 2048);
            total += chars(&e["title"]) + chars(&e["description"]) + chars(&e["footer"]["text"]);
        }
        assert!(total <= 6000, "{total} characters across embeds");
        assert!(chars(&discord["content"]) <= 2000);

        let teams = rendered(SinkFormat::Teams, "ww_h", &payloads).body;
        assert!(teams.len() < 28 * 1024, "{} bytes", teams.len());

        let telegram: Value =
            serde_json::from_str(&rendered(SinkFormat::Telegram, "ww_h", &payloads).body)
                .expect("json");
        assert!(chars(&telegram["text"]) <= 4096);
        let html = telegram["text"].as_str().unwrap_or_default();
        assert!(
            !html.contains("<script") && !html.contains("<a href=\"https://evil"),
            "{html}"
        );

        let ntfy = rendered(SinkFormat::Ntfy, "ww_h", &payloads);
        assert!(ntfy.body.len() <= 4096);
        for (name, value) in &ntfy.headers {
            assert!(value.is_ascii() && !value.contains('\n'), "{name}: {value}");
            assert!(value.len() < 1024, "{name} is {} bytes", value.len());
        }

        let mattermost: Value =
            serde_json::from_str(&rendered(SinkFormat::Mattermost, "ww_h", &payloads).body)
                .expect("json");
        let text = mattermost["text"].as_str().unwrap_or_default();
        assert!(text.chars().count() <= 16383);
        assert!(
            !text.contains("@channel") && !text.contains("@everyone"),
            "{text}"
        );

        let matrix: Value =
            serde_json::from_str(&rendered(SinkFormat::Matrix, "ww_h", &payloads).body)
                .expect("json");
        assert_eq!(matrix["m.mentions"], json!({}));
        assert!(
            !matrix["formatted_body"]
                .as_str()
                .unwrap_or_default()
                .contains("<script")
        );
        assert!(
            !matrix["body"]
                .as_str()
                .unwrap_or_default()
                .contains("@everyone")
        );

        // Template bodies with a JSON content type stay valid JSON whatever the feed says.
        let template: Value =
            serde_json::from_str(&rendered(SinkFormat::Template, "ww_h", &payloads).body)
                .expect("template renders valid JSON");
        assert!(
            template["msg"]
                .as_str()
                .is_some_and(|t| t.contains("<!channel>"))
        );
    }
}

#[test]
fn matrix_uses_the_alert_id_as_txn_id_and_discord_waits() {
    let plain = plain();
    let matrix = rendered(SinkFormat::Matrix, "ww_0123", &[&plain]);
    assert_eq!(matrix.method, watchword::alert::Method::Put);
    assert!(
        matrix.url.ends_with("/send/m.room.message/ww_0123"),
        "{}",
        matrix.url
    );
    assert!(
        matrix
            .headers
            .contains(&("Authorization".into(), "Bearer syt_SECRET".into()))
    );
    let discord = rendered(SinkFormat::Discord, "ww_0123", &[&plain]);
    assert!(discord.url.ends_with("?wait=true"), "{}", discord.url);
}

// ---- end to end through the binary ----

fn whsec() -> String {
    let key: Vec<u8> = (0u8..32)
        .map(|b| b.wrapping_mul(37).wrapping_add(11))
        .collect();
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// One feed "wire" at `feed_url` and the rule "ca-aa" notifying the sink "hook", which the
/// caller adds.
fn story_config(ws: &Workspace, feed_url: &str) -> TomlConfig {
    TomlConfig::for_workspace(ws)
        .shared_groups()
        .feed("wire", feed_url)
        .rule("ca-aa", "@central_asia AND @abraham_accords", &["hook"])
}

fn one_story() -> FeedServer {
    let feeds = FeedServer::start();
    feeds.put_rss(
        "/f.xml",
        &rss(&[Entry {
            guid: "ca-1",
            title: "Kazakhstan joins the Abraham Accords — «официально»",
            description: "Astana <b>confirmed</b> it.",
            link: "https://wire.example.org/ca-1",
            published: minutes_ago(5),
        }]),
    );
    feeds
}

#[test]
fn signatures_verify_with_an_independent_implementation() {
    let feeds = one_story();
    let receiver = Receiver::start();
    let ws = Workspace::new();
    let secret = whsec();
    story_config(&ws, &feeds.url("/f.xml"))
        .webhook_sink_with(
            "hook",
            &receiver.url("/hook"),
            "secret = \"${WW_TEST_SECRET}\"",
        )
        .write(&ws);
    let out = watchword_command(&ws.config_path())
        .arg("once")
        .env("WW_TEST_SECRET", &secret)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains(&secret));
    let hit = receiver.accepted().pop().expect("delivered");
    assert!(hit.headers["webhook-signature"].starts_with("v1,"));
    let verifier = standardwebhooks::Webhook::new(&secret).expect("verifier");
    let headers = hit.header_map();
    verifier
        .verify(hit.body.as_bytes(), &headers)
        .expect("our signature verifies");
    // A tampered body, another id, or another key must not.
    let tampered = hit.body.replace("Kazakhstan", "Kazakhztan");
    assert!(verifier.verify(tampered.as_bytes(), &headers).is_err());
    let mut other_id = headers.clone();
    other_id.insert("webhook-id", http::HeaderValue::from_static("ww_other"));
    assert!(verifier.verify(hit.body.as_bytes(), &other_id).is_err());
    let other_key =
        standardwebhooks::Webhook::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("verifier");
    assert!(other_key.verify(hit.body.as_bytes(), &headers).is_err());
}

/// A retry is signed again (same id, its own timestamp) and a digest is signed as one body:
/// both verify with the independent implementation.
#[test]
fn retried_and_digest_deliveries_verify_with_an_independent_implementation() {
    let secret = whsec();
    let verifier = standardwebhooks::Webhook::new(&secret).expect("verifier");

    // A retry: the first attempt fails, `once` again delivers.
    let feeds = one_story();
    let receiver = Receiver::start();
    receiver.script([500]);
    let ws = Workspace::new();
    story_config(&ws, &feeds.url("/f.xml"))
        .webhook_sink_with(
            "hook",
            &receiver.url("/hook"),
            &format!("secret = \"{secret}\""),
        )
        .write(&ws);
    for _ in 0..2 {
        let out = ws.watchword(&["once"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let hits = receiver.all();
    assert_eq!(hits.len(), 2, "a failed attempt, then the retry");
    assert_eq!(
        hits[0].id(),
        hits[1].id(),
        "the retry carries the same webhook-id"
    );
    for hit in &hits {
        verifier
            .verify(hit.body.as_bytes(), &hit.header_map())
            .expect("every attempt is signed");
    }

    // A digest: two alerts in one signed body.
    let feeds = FeedServer::start();
    feeds.put_rss(
        "/f.xml",
        &rss(&[
            Entry {
                guid: "ca-1",
                title: "Kazakhstan joins the Abraham Accords",
                description: "Astana confirmed it.",
                link: "https://wire.example.org/ca-1",
                published: minutes_ago(5),
            },
            Entry {
                guid: "ca-2",
                title: "Uzbekistan weighs joining the Abraham Accords",
                description: "Tashkent is studying the offer.",
                link: "https://wire.example.org/ca-2",
                published: minutes_ago(4),
            },
        ]),
    );
    let receiver = Receiver::start();
    let ws = Workspace::new();
    story_config(&ws, &feeds.url("/f.xml"))
        .webhook_sink_with(
            "hook",
            &receiver.url("/hook"),
            &format!("secret = \"{secret}\"\ndigest = \"10m\""),
        )
        .write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let hit = receiver.accepted().pop().expect("the digest was delivered");
    let body = hit.json();
    assert_eq!(body["type"], "watchword.digest");
    assert_eq!(body["count"], 2);
    assert!(hit.id().starts_with("ww_digest_"), "{}", hit.id());
    verifier
        .verify(hit.body.as_bytes(), &hit.header_map())
        .expect("a digest is signed as one body");
}

#[test]
fn template_sink_sends_custom_headers_and_a_signed_json_body() {
    let feeds = one_story();
    let receiver = Receiver::start();
    let ws = Workspace::new();
    let secret = whsec();
    story_config(&ws, &feeds.url("/f.xml"))
        .webhook_sink_with(
            "hook",
            &receiver.url("/hook"),
            &format!(
                r#"format = "template"
content_type = "application/vnd.example+json"
template = '{{"headline": {{{{ title }}}}, "rule": {{{{ rule }}}}, "terms": {{{{ terms }}}}}}'
secret = "{secret}"
headers = {{ X-Team = "newsroom" }}"#
            ),
        )
        .write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let hit = receiver.accepted().pop().expect("delivered");
    assert_eq!(hit.headers["content-type"], "application/vnd.example+json");
    assert_eq!(hit.headers["x-team"], "newsroom");
    let body = hit.json();
    assert_eq!(
        body["headline"],
        "Kazakhstan joins the Abraham Accords — «официально»"
    );
    assert_eq!(body["terms"][0], "@central_asia (Kazakhstan)");
    standardwebhooks::Webhook::new(&secret)
        .expect("verifier")
        .verify(hit.body.as_bytes(), &hit.header_map())
        .expect("template bodies are signed too");
}

#[test]
fn secrets_from_files_and_credentials_never_show_in_logs_check_or_alerts() {
    let feeds = one_story();
    let receiver = Receiver::start();
    receiver.always(Reply::status(500));
    let ws = Workspace::new();
    let creds = ws.dir.path().join("credentials");
    std::fs::create_dir(&creds).expect("mkdir");
    let url = receiver.url("/hook/credential-token-4242");
    std::fs::write(creds.join("hook-url"), format!("{url}\n")).expect("write");
    let secret = whsec();
    std::fs::write(ws.dir.path().join("hook.secret"), &secret).expect("write");
    story_config(&ws, &feeds.url("/f.xml"))
        .webhook_sink_with(
            "hook",
            "${credential:hook-url}",
            "secret = \"${file:hook.secret}\"\n\
             headers = { Authorization = \"Bearer tk_${file:hook.secret}\" }",
        )
        .write(&ws);
    let with_creds = |args: &[&str]| {
        let out = watchword_command(&ws.config_path())
            .args(args)
            .env("CREDENTIALS_DIRECTORY", &creds)
            .output()
            .expect("run");
        (out.status.success(), stdout(&out), stderr(&out))
    };
    let key = secret.trim_start_matches("whsec_");
    for args in [
        &["check"][..],
        &["once"],
        &["alerts"],
        &["alerts", "--json"],
    ] {
        let (success, out, err) = with_creds(args);
        assert!(success, "{args:?}: {err}");
        for text in [&out, &err] {
            assert!(!text.contains("credential-token-4242"), "{args:?}: {text}");
            assert!(!text.contains(key), "{args:?}: {text}");
        }
    }
    // The secrets did arrive where they belong.
    let hit = receiver.all().pop().expect("attempted");
    assert_eq!(hit.path, "/hook/credential-token-4242");
    assert_eq!(hit.headers["authorization"], format!("Bearer tk_{secret}"));
    // Without the credentials directory, `check` says what is missing, not the value.
    let out = watchword_command(&ws.config_path())
        .arg("check")
        .env_remove("CREDENTIALS_DIRECTORY")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("LoadCredential=hook-url"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_matrix_sink_puts_with_the_alert_id_so_a_retry_cannot_post_twice() {
    let feeds = one_story();
    let receiver = Receiver::start();
    receiver.script(vec![Reply::status(502)]);
    let ws = Workspace::new();
    story_config(&ws, &feeds.url("/f.xml"))
        .webhook_sink_with(
            "hook",
            &receiver.base,
            "format = \"matrix\"\nroom = \"!news:example.org\"\ntoken = \"syt_token\"",
        )
        .write(&ws);
    assert!(ws.watchword(&["once"]).status.success());
    assert!(ws.watchword(&["once"]).status.success());
    let all = receiver.all();
    assert_eq!(all.len(), 2);
    assert!(all.iter().all(|h| h.method == "PUT"));
    assert_eq!(all[0].path, all[1].path, "same txnId on the retry");
    assert!(
        all[0]
            .path
            .starts_with("/_matrix/client/v3/rooms/%21news%3Aexample.org/send/m.room.message/ww_"),
        "{}",
        all[0].path
    );
    assert_eq!(all[0].headers["authorization"], "Bearer syt_token");
    assert_eq!(all[1].json()["msgtype"], "m.notice");
}

// ---- digests: every alert shown, or counted ----

/// Distinct stories that all match "ca-aa": each shares only "Kazakhstan" and "Abraham
/// Accords" with the others, plus ten invented words of its own (no two join one story).
/// Every title starts with `Report NN:` so a message can be searched for each alert.
fn report(n: usize) -> Entry<'static> {
    let words = invented_words(n, 10);
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    Entry {
        guid: leak(format!("report-{n}")),
        title: leak(format!(
            "Report {n:02}: Kazakhstan and the Abraham Accords, {}",
            words.join(" ")
        )),
        description: "Reported by the wire.",
        link: leak(format!(
            "https://wire.example.org/world/central-asia/report-{n}"
        )),
        published: minutes_ago(10),
    }
}

/// The alerts a text shows (`Report NN` markers, each counted once) and the number its
/// "… and N more" says it left out (0 without one).
fn shown_and_left_out(text: &str) -> (usize, usize) {
    let mut shown = std::collections::BTreeSet::new();
    for (i, _) in text.match_indices("Report ") {
        let digits: String = text[i + 7..].chars().take(2).collect();
        if digits.len() == 2 && digits.chars().all(|c| c.is_ascii_digit()) {
            shown.insert(digits);
        }
    }
    let left_out = text
        .split("… and ")
        .nth(1)
        .and_then(|rest| rest.split(" more").next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    (shown.len(), left_out)
}

/// Every string in a JSON value, one per line.
fn strings(value: &Value, out: &mut String) {
    match value {
        Value::String(s) => {
            out.push_str(s);
            out.push('\n');
        }
        Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
        Value::Object(o) => o.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// The texts of a digest request a reader sees each on its own (Slack's notification text and
/// its blocks, Matrix's plain and HTML bodies), by the sink's path.
fn digest_texts(hit: &Hit) -> Vec<String> {
    let all = |v: &Value| {
        let mut out = String::new();
        strings(v, &mut out);
        out
    };
    match hit.path.split('/').nth(1).unwrap_or_default() {
        "ntfy" | "template-text" => vec![hit.body.clone()],
        "json" => {
            let body = hit.json();
            let alerts = body["alerts"].as_array().map_or(0, Vec::len);
            vec![(0..alerts).map(|n| format!("Report {n:02}\n")).collect()]
        }
        "slack" => {
            let body = hit.json();
            vec![all(&body["text"]), all(&body["blocks"])]
        }
        "matrix" => {
            let body = hit.json();
            vec![all(&body["body"]), all(&body["formatted_body"])]
        }
        _ => vec![all(&hit.json())],
    }
}

/// Issue 17, item 13: a digest of 33 alerts, through every format. Each message shows every
/// alert or says how many it left out, and what it shows plus what it counts is all 33.
#[test]
fn every_format_shows_every_alert_of_a_digest_or_says_how_many_it_left_out() {
    const N: usize = 33;
    let feeds = FeedServer::start();
    let entries: Vec<Entry<'static>> = (0..N).map(report).collect();
    feeds.put_rss("/f.xml", &rss(&entries));
    let sinks: &[(&str, &str)] = &[
        ("json", ""),
        ("slack", "format = \"slack\""),
        ("discord", "format = \"discord\""),
        ("teams", "format = \"teams\""),
        ("ntfy", "format = \"ntfy\""),
        ("telegram", "format = \"telegram\"\nchat_id = \"-100123\""),
        ("mattermost", "format = \"mattermost\""),
        (
            "matrix",
            "format = \"matrix\"\nroom = \"!news:example.org\"\ntoken = \"syt_token\"",
        ),
        // Written for one alert: the digest must not shrink to its first.
        (
            "template-title",
            "format = \"template\"\ntemplate = '{\"text\": {{ title }}}'",
        ),
        (
            "template-text",
            "format = \"template\"\ncontent_type = \"text/plain\"\ntemplate = \"{{ text }}\"",
        ),
        (
            "template-loop",
            "format = \"template\"\ntemplate = '[{% for a in alerts %}{{ a.title }}{% if not loop.last %},{% endif %}{% endfor %}]'",
        ),
    ];
    let names: Vec<&str> = sinks.iter().map(|(name, _)| *name).collect();
    let ws = Workspace::new();
    let mut config = TomlConfig::for_workspace(&ws)
        .shared_groups()
        .feed("wire", &feeds.url("/f.xml"))
        .rule("ca-aa", "@central_asia AND @abraham_accords", &names);
    // A receiver each: the answers of one tiny_http server to many connections at once
    // sometimes stall.
    let receivers: Vec<Receiver> = sinks.iter().map(|_| Receiver::start()).collect();
    for ((name, extra), receiver) in sinks.iter().zip(&receivers) {
        config = config.webhook_sink_with(
            name,
            &receiver.url(&format!("/{name}")),
            &format!("{extra}\ndigest = \"1h\"\nrate_limit = \"none\""),
        );
    }
    config.write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let hits: Vec<Hit> = receivers.iter().flat_map(Receiver::accepted).collect();
    let paths: Vec<&str> = hits.iter().map(|h| h.path.as_str()).collect();
    assert_eq!(
        hits.len(),
        sinks.len(),
        "one digest per sink: {paths:?}\n{}",
        stderr(&out)
    );
    for hit in &hits {
        for text in digest_texts(hit) {
            let (shown, left_out) = shown_and_left_out(&text);
            assert!(
                shown > 0 && shown + left_out == N,
                "{}: {shown} alerts shown and {left_out} said to be left out, of {N}:\n{}",
                hit.path,
                text.chars().take(3000).collect::<String>()
            );
        }
    }
}

// ---- cutting text to a limit ----

/// One alerting item with this title, at `/f.xml`.
fn story_titled(title: &str) -> FeedServer {
    let feeds = FeedServer::start();
    feeds.put_rss(
        "/f.xml",
        &rss(&[Entry {
            guid: "ca-long",
            title,
            description: "Astana confirmed it.",
            link: "https://wire.example.org/ca-long",
            published: minutes_ago(5),
        }]),
    );
    feeds
}

/// Issue 17, item 14: the template's `title` is at most 1,000 characters, as documented
/// (it was 1,001: the cut kept 1,000 and added `…`), and the cut never splits a grapheme
/// cluster (a family emoji is 7 chars joined by ZWJ; cut inside, it shows as other people).
#[test]
fn a_template_title_is_at_most_1000_characters_and_keeps_an_emoji_whole() {
    let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}\u{200D}\u{1F466}";
    let head = "Kazakhstan joins the Abraham Accords ";
    let mut title = head.to_string();
    while title.chars().count() < 995 {
        title.push_str("word ");
    }
    // The emoji straddles character 1,000.
    title.push_str(family);
    title.push_str(&" more".repeat(100));
    let feeds = story_titled(&title);
    let receiver = Receiver::start();
    let ws = Workspace::new();
    story_config(&ws, &feeds.url("/f.xml"))
        .webhook_sink_with(
            "hook",
            &receiver.hook_url(),
            "format = \"template\"\ntemplate = '{\"t\": {{ title }}, \"a\": {{ alerts[0].title }}}'",
        )
        .write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let hit = receiver.accepted().pop().expect("delivered");
    for field in ["t", "a"] {
        let got = hit.json()[field].as_str().unwrap_or_default().to_string();
        assert!(
            got.chars().count() <= 1000,
            "{} characters",
            got.chars().count()
        );
        assert!(got.ends_with('…') && got.starts_with(head), "{got}");
        let body = got.trim_end_matches('…').trim_end();
        assert!(
            body.ends_with("word") || body.ends_with(family),
            "the cut split the emoji: {:?}",
            body.chars().rev().take(8).collect::<String>()
        );
    }
}

/// Issue 17, item 14: a non-ASCII ntfy title goes as several RFC 2047 encoded-words of at
/// most 75 characters each (it was one word of hundreds), each holding whole UTF-8
/// characters, which together decode to the title.
#[test]
fn an_ntfy_title_is_encoded_words_of_at_most_75_characters() {
    let title = "Казахстан присоединяется к Авраамовым соглашениям (Kazakhstan joins the \
                 Abraham Accords) — «официально», сообщает Белый дом после переговоров";
    let feeds = story_titled(title);
    let receiver = Receiver::start();
    let ws = Workspace::new();
    story_config(&ws, &feeds.url("/f.xml"))
        .webhook_sink_with("hook", &receiver.hook_url(), "format = \"ntfy\"")
        .write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let hit = receiver.accepted().pop().expect("delivered");
    let header = hit.headers["title"].clone();
    let words: Vec<&str> = header.split(' ').collect();
    assert!(words.len() > 1, "one encoded-word: {header}");
    let mut decoded = String::new();
    for word in words {
        assert!(word.len() <= 75, "{} characters: {word}", word.len());
        let b64 = word
            .strip_prefix("=?UTF-8?B?")
            .and_then(|w| w.strip_suffix("?="))
            .unwrap_or_else(|| panic!("not an encoded-word: {word}"));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("base64");
        decoded.push_str(&String::from_utf8(bytes).expect("whole UTF-8 characters per word"));
    }
    assert_eq!(decoded, title);
}
