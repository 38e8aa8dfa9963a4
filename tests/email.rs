//! The `email` sink end to end: the real binary sends to an SMTP server started by the test on
//! 127.0.0.1 (tests/common/smtp.rs), which records the envelope and the message; what a mail
//! client would show is read back with mail-parser.

mod common;

use mail_parser::MimeHeaders as _;

use common::*;

const PASSWORD: &str = "smtp-pass-7c1d9e";

/// Markup, an entity and a script in a feed's title and text: the HTML body must show them
/// as text.
const HOSTILE_TITLE: &str =
    "Kazakhstan joins the Abraham Accords <script>alert(1)</script> & \"more\"";

fn feed(entries: &[Entry<'_>]) -> FeedServer {
    let feeds = FeedServer::start();
    feeds.put_rss("/f.xml", &rss(entries));
    feeds
}

fn hostile_entry() -> Entry<'static> {
    Entry {
        guid: "ca-1",
        // Feeds treat titles and descriptions as HTML: escaped twice, this is the text above.
        title: "Kazakhstan joins the Abraham Accords &amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt; \
                &amp;amp; \"more\"",
        description: "Astana &lt;img src=x onerror=alert(2)&gt; confirmed it.",
        link: "https://wire.example.org/ca-1",
        published: minutes_ago(5),
    }
}

/// The feed, the rule "ca-aa" notifying "mail", and the email sink "mail" with `extra` keys
/// after its SMTP settings (127.0.0.1, no TLS, AUTH with `${WW_SMTP_PASSWORD}`).
fn mail_config(ws: &Workspace, feeds: &FeedServer, smtp: &SmtpServer, extra: &str) -> TomlConfig {
    TomlConfig::for_workspace(ws)
        .shared_groups()
        .feed("wire", &feeds.url("/f.xml"))
        .rule("ca-aa", "@central_asia AND @abraham_accords", &["mail"])
        .email_sink_with(
            "mail",
            &format!(
                "host = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nusername = \"watchword\"\n\
                 password = \"${{WW_SMTP_PASSWORD}}\"\n\
                 from = \"Watchword <watchword@example.org>\"\n\
                 to = [\"desk@example.org\", \"Duty Editor <duty@example.org>\"]\n{extra}",
                smtp.port
            ),
        )
}

fn run(ws: &Workspace, args: &[&str]) -> std::process::Output {
    let out = watchword_command(&ws.config_path())
        .args(args)
        .env("WW_SMTP_PASSWORD", PASSWORD)
        .output()
        .expect("run watchword");
    let (o, e) = (stdout(&out), stderr(&out));
    assert!(!e.contains("panicked"), "{e}");
    assert!(
        !o.contains(PASSWORD) && !e.contains(PASSWORD),
        "the password leaked:\n{o}\n{e}"
    );
    out
}

fn deliveries(ws: &Workspace) -> Vec<serde_json::Value> {
    let out = run(ws, &["alerts", "--json"]);
    let listed: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("alerts json");
    listed["deliveries"].as_array().cloned().unwrap_or_default()
}

#[test]
fn an_alert_is_a_multipart_mail_with_every_feed_string_escaped_in_html() {
    let feeds = feed(&[hostile_entry()]);
    let smtp = SmtpServer::start();
    let ws = Workspace::new();
    mail_config(&ws, &feeds, &smtp, "").write(&ws);
    let check = run(&ws, &["check"]);
    assert!(check.status.success(), "{}", stderr(&check));
    let out = run(&ws, &["once"]);
    assert!(out.status.success(), "{}", stderr(&out));

    let sessions = smtp.delivered();
    assert_eq!(sessions.len(), 1, "{:?}", smtp.sessions());
    let session = &sessions[0];
    assert_eq!(
        session.auth,
        Some(("watchword".to_string(), PASSWORD.to_string()))
    );
    assert_eq!(session.from, "watchword@example.org");
    assert_eq!(session.to, ["desk@example.org", "duty@example.org"]);

    let mail = session.parsed();
    assert_eq!(mail.subject(), Some(HOSTILE_TITLE));
    let from = mail.from().and_then(|a| a.first()).expect("From");
    assert_eq!(from.address(), Some("watchword@example.org"));
    assert_eq!(from.name(), Some("Watchword"));
    let to: Vec<&str> = mail
        .to()
        .map(|a| a.iter().filter_map(|m| m.address()).collect())
        .unwrap_or_default();
    assert_eq!(to, ["desk@example.org", "duty@example.org"]);
    let content_type = mail.content_type().expect("Content-Type");
    assert_eq!(
        (content_type.ctype(), content_type.subtype()),
        ("multipart", Some("alternative"))
    );
    let alert_id = deliveries(&ws)[0]["alert_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        mail.message_id(),
        Some(format!("{alert_id}@example.org").as_str()),
        "the Message-ID is the alert's, the same on every retry"
    );

    let text = mail.body_text(0).expect("a text/plain part");
    assert!(text.contains(HOSTILE_TITLE), "{text}");
    assert!(text.contains("https://wire.example.org/ca-1"), "{text}");
    assert!(text.contains("rule ca-aa"), "{text}");
    let html = mail.body_html(0).expect("a text/html part");
    assert!(
        html.contains(
            "Kazakhstan joins the Abraham Accords &lt;script&gt;alert(1)&lt;/script&gt; \
             &amp; &quot;more&quot;"
        ),
        "{html}"
    );
    assert!(
        html.contains("<a href=\"https://wire.example.org/ca-1\">"),
        "{html}"
    );
    for raw in ["<script", "<img", "onerror=alert(2)>"] {
        assert!(!html.contains(raw), "{raw} reached the HTML body: {html}");
    }
}

#[test]
fn a_digest_is_one_mail_listing_every_alert() {
    let titles = [
        "Kazakhstan joins the Abraham Accords",
        "Uzbekistan weighs the Abraham Accords offer",
        "Kyrgyzstan studies the Abraham Accords text",
    ];
    let entries: Vec<Entry<'_>> = titles
        .iter()
        .enumerate()
        .map(|(i, title)| Entry {
            guid: ["a", "b", "c"][i],
            title,
            description: ["Astana said so.", "Tashkent hedged.", "Bishkek waits."][i],
            link: [
                "https://w.example.org/a",
                "https://w.example.org/b",
                "https://w.example.org/c",
            ][i],
            published: minutes_ago(5),
        })
        .collect();
    let feeds = feed(&entries);
    let smtp = SmtpServer::start();
    let ws = Workspace::new();
    mail_config(&ws, &feeds, &smtp, "digest = \"1h\"").write(&ws);
    let out = run(&ws, &["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let sessions = smtp.delivered();
    assert_eq!(sessions.len(), 1, "one message for the digest");
    let mail = sessions[0].parsed();
    assert_eq!(mail.subject(), Some("3 new alerts"));
    let text = mail.body_text(0).expect("text");
    let html = mail.body_html(0).expect("html");
    for title in titles {
        assert!(text.contains(title), "{title} missing from {text}");
        assert!(html.contains(title), "{title} missing from {html}");
    }
    assert!(deliveries(&ws).iter().all(|d| d["state"] == "delivered"));
}

#[test]
fn a_451_is_retried_and_the_mail_delivered_once() {
    let feeds = feed(&[hostile_entry()]);
    let smtp = SmtpServer::start();
    smtp.script("DATA", "451 4.3.0 mailbox busy, try again later");
    let ws = Workspace::new();
    mail_config(&ws, &feeds, &smtp, "").write(&ws);
    let out = run(&ws, &["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("451"), "{}", stderr(&out));
    let rows = deliveries(&ws);
    assert_eq!(rows[0]["state"], "pending", "{rows:?}");
    assert!(
        rows[0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("451 4.3.0 mailbox busy")),
        "{rows:?}"
    );
    // `once` again sends what is due, retry times aside.
    let out = run(&ws, &["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(smtp.sessions().len(), 2, "one refused attempt, one retry");
    let delivered = smtp.delivered();
    assert_eq!(delivered.len(), 1, "delivered once");
    let first = smtp.sessions()[0].parsed().message_id().map(str::to_string);
    assert_eq!(first.as_deref(), delivered[0].parsed().message_id());
    assert_eq!(deliveries(&ws)[0]["state"], "delivered");
    // A third pass sends nothing more.
    assert!(run(&ws, &["once"]).status.success());
    assert_eq!(smtp.sessions().len(), 2);
}

#[test]
fn a_refused_recipient_is_a_dead_letter_at_once_and_nobody_gets_the_mail() {
    let feeds = feed(&[hostile_entry()]);
    let smtp = SmtpServer::start();
    smtp.script("RCPT", "250 2.1.5 ok");
    smtp.script("RCPT", "550 5.1.1 <duty@example.org>: no such user");
    let ws = Workspace::new();
    mail_config(&ws, &feeds, &smtp, "").write(&ws);
    let out = run(&ws, &["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = deliveries(&ws);
    assert_eq!(rows[0]["state"], "dead", "{rows:?}");
    assert_eq!(rows[0]["attempts"], 1);
    let error = rows[0]["last_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("duty@example.org") && error.contains("550 5.1.1"),
        "{error}"
    );
    assert!(smtp.delivered().is_empty(), "no message was sent to anyone");
    assert!(smtp.sessions()[0].data.is_none());
    // Dead: a later pass does not try again.
    assert!(run(&ws, &["once"]).status.success());
    assert_eq!(smtp.sessions().len(), 1);
}

#[test]
fn email_settings_are_checked_with_their_place_in_the_file() {
    let ws = Workspace::new();
    let feeds = feed(&[hostile_entry()]);
    let smtp = SmtpServer::start();
    let config = TomlConfig::for_workspace(&ws)
        .feed("wire", &feeds.url("/f.xml"))
        .rule("r", "Kazakhstan", &["remote", "half"])
        .email_sink_with(
            "remote",
            "host = \"smtp.example.org\"\ntls = \"none\"\nfrom = \"w@example.org\"\nto = \"d@example.org\"",
        )
        .email_sink_with(
            "half",
            &format!(
                "host = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nusername = \"w\"\n\
                 from = \"not an address\"\nto = []",
                smtp.port
            ),
        );
    let path = config.write(&ws);
    let out = run(&ws, &["check"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    let text = std::fs::read_to_string(&path).expect("config");
    let line_of = |needle: &str| {
        text.lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
            .expect("line")
    };
    let at = |needle: &str, n: usize| format!("watchword.toml:{}:", line_of(needle) + n);
    assert!(
        err.contains(&at("tls = \"none\"", 0)) && err.contains("relay on this machine only"),
        "{err}"
    );
    assert!(
        err.contains(&at("username = \"w\"", 0)) && err.contains("username needs password"),
        "{err}"
    );
    assert!(
        err.contains(&at("from = \"not an address\"", 0)) && err.contains("not an email address"),
        "{err}"
    );
    assert!(
        err.contains(&at("to = []", 0)) && err.contains("at least one address"),
        "{err}"
    );
}

#[test]
fn notify_test_sends_one_mail_through_the_sink_and_says_the_server_took_it() {
    let feeds = feed(&[]);
    let smtp = SmtpServer::start();
    let ws = Workspace::new();
    mail_config(&ws, &feeds, &smtp, "").write(&ws);
    let out = run(&ws, &["notify-test", "mail"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("accepted by"), "{text}");
    let sessions = smtp.delivered();
    assert_eq!(sessions.len(), 1, "one test mail");
    assert!(sessions[0].parsed().subject().is_some());
    // A server that refuses the recipient: the command fails and says why.
    smtp.script("RCPT", "550 5.1.1 no such mailbox");
    let out = run(&ws, &["notify-test", "mail"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("550"), "{}", stderr(&out));
}
