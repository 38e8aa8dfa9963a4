//! The `email` sink: alerts as mail over SMTP (lettre), one message per alert or per digest,
//! with a plain-text and an HTML body (multipart/alternative).
//!
//! Feeds are hostile input: every feed-supplied string is HTML-escaped in the HTML body, links
//! are http(s) only (as for every format), and the subject is one line (lettre encodes it).
//!
//! What a failed attempt means follows SMTP's own split (RFC 5321 §4.2.1) and what a mail
//! client does with it (docs/sinks.md, "Email"):
//! - a 4xx reply, a connection, TLS or timeout failure is transient: retried on the sink's
//!   `retry_schedule` like a webhook's 5xx;
//! - a 5xx reply to the greeting, to AUTH or to `MAIL FROM` says the sink's own settings are
//!   wrong (host, password, sender): retried like a webhook's 4xx (`client_error_attempts`,
//!   `client_error_grace`), so fixing the config in time loses nothing;
//! - a 5xx reply to `RCPT TO` (a recipient refused) or to the message itself (too big,
//!   refused content) is final: like a mail client, which sends to nobody when one recipient
//!   is refused and does not try the same message again, the delivery is dead at once, with
//!   the server's reply as its error (`watchword redeliver` sends it again once fixed).

use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use lettre::address::Envelope;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use serde::Deserialize;

use super::format::Check;
use super::format::common::{html_escape, one_line};
use super::message::Message;
use super::retry::Failure;
use crate::text::truncate_chars;

/// `tls = …`: how the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain connection upgraded with STARTTLS, which the server must offer (port 587).
    Starttls,
    /// TLS from the first byte ("implicit TLS", port 465).
    Tls,
    /// No encryption at all: only for a relay on this machine (a test server, a local MTA).
    None,
}

impl TlsMode {
    fn default_port(self) -> u16 {
        match self {
            TlsMode::Starttls => 587,
            TlsMode::Tls => 465,
            TlsMode::None => 25,
        }
    }
}

/// One address or a list of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum Addresses {
    One(String),
    Many(Vec<String>),
}

/// The keys of an email sink, besides the common ones (`digest`, `retry_schedule`, …).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Options {
    /// The SMTP server's host name (checked against its certificate).
    host: Option<String>,
    /// Default: 587 for `starttls`, 465 for `tls`, 25 for `none`.
    port: Option<u16>,
    /// `starttls` (default), `tls` or `none`.
    tls: Option<TlsMode>,
    username: Option<String>,
    /// A secret: never logged; write it as `${credential:NAME}` or `${ENV}`.
    password: Option<String>,
    /// The sender, `watchword@example.org` or `Watchword <watchword@example.org>`.
    from: Option<String>,
    /// One recipient or a list.
    to: Option<Addresses>,
}

/// The option keys, for the registry's "unknown key" messages.
pub(super) fn keys() -> &'static [&'static str] {
    super::format::common::field_names::<Options>()
}

/// Keys whose values are secrets in themselves, scrubbed from error text.
pub(super) const SECRET_KEYS: &[&str] = &["password"];

/// A checked email sink.
#[derive(Clone)]
pub struct Email {
    host: String,
    port: u16,
    tls: TlsMode,
    credentials: Option<Credentials>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

/// Hand-written: the credentials are secrets.
impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("auth", &self.credentials.is_some())
            .field("to", &self.to.len())
            .finish_non_exhaustive()
    }
}

/// Whether `host` is this machine, the only place `tls = "none"` may send to.
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl Email {
    /// Checks the options, reporting through `check`; `None` when they leave nothing to run.
    pub(super) fn new(options: Options, check: &mut Check<'_>) -> Option<Email> {
        let name = check.sink().to_string();
        let host = check.need(options.host, "host", "\"smtp.example.org\"");
        let from_text = check.need(options.from, "from", "\"watchword@example.org\"");
        let to_text = check.need(options.to, "to", "[\"desk@example.org\"]");
        let tls = options.tls.unwrap_or(TlsMode::Starttls);
        let mut ok = true;
        if let Some(host) = &host
            && tls == TlsMode::None
            && !is_loopback(host)
        {
            check.problem(
                check.span_of("tls"),
                format!(
                    "sink {name:?}: tls = \"none\" sends the alerts (and any password) in clear; \
                     it is for a relay on this machine only (host = \"localhost\" or \
                     \"127.0.0.1\"); use \"starttls\" or \"tls\" for {host:?}"
                ),
            );
            ok = false;
        }
        let credentials = match (options.username, options.password) {
            (Some(user), Some(password)) => Some(Credentials::new(user, password)),
            (None, None) => None,
            (user, _) => {
                let (missing, present) = if user.is_some() {
                    ("password", "username")
                } else {
                    ("username", "password")
                };
                check.problem(
                    check.span_of(present),
                    format!(
                        "sink {name:?}: {present} needs {missing} too (SMTP AUTH takes both); \
                         write the password as \"${{credential:smtp-password}}\""
                    ),
                );
                ok = false;
                None
            }
        };
        let mut mailbox = |text: &str, key: &str, check: &mut Check<'_>| -> Option<Mailbox> {
            match Mailbox::from_str(text.trim()) {
                Ok(mailbox) => Some(mailbox),
                Err(e) => {
                    check.problem(
                        check.span_of(key),
                        format!(
                            "sink {name:?}: {key}: {text:?} is not an email address ({e}); write \
                             it as \"desk@example.org\" or \"Desk <desk@example.org>\""
                        ),
                    );
                    ok = false;
                    None
                }
            }
        };
        let from = from_text.and_then(|text| mailbox(&text, "from", check));
        let to_list = match to_text {
            Some(Addresses::One(one)) => vec![one],
            Some(Addresses::Many(many)) => many,
            None => Vec::new(),
        };
        let to: Vec<Mailbox> = to_list
            .iter()
            .filter_map(|text| mailbox(text, "to", check))
            .collect();
        if to.is_empty() && to_list.is_empty() && check.has_key("to") {
            check.problem(
                check.span_of("to"),
                format!("sink {name:?}: to needs at least one address"),
            );
            ok = false;
        }
        let (host, from) = (host?, from?);
        if !ok || to.is_empty() {
            return None;
        }
        Some(Email {
            port: options.port.unwrap_or_else(|| tls.default_port()),
            host,
            tls,
            credentials,
            from,
            to,
        })
    }

    /// `smtp://host:port` (with `+tls`/`+starttls`), for logs and `check`: no credentials.
    pub fn describe(&self) -> String {
        let scheme = match self.tls {
            TlsMode::Starttls => "smtp+starttls",
            TlsMode::Tls => "smtps",
            TlsMode::None => "smtp",
        };
        format!("{scheme}://{}:{}", self.host, self.port)
    }

    /// The message for `payloads` (one alert, or a digest), with a `Message-ID` made from
    /// `id`, so a retry is the same message to the recipient's client.
    pub fn message(&self, id: &str, payloads: &[&str]) -> Result<lettre::Message, String> {
        let messages: Vec<Message> = payloads.iter().map(|p| Message::from_payload(p)).collect();
        let (subject, plain, html) = bodies(&messages);
        let domain = self.from.email.domain().to_string();
        let mut builder = lettre::Message::builder()
            .from(self.from.clone())
            .subject(subject)
            .message_id(Some(format!("<{id}@{domain}>")));
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        builder
            .multipart(MultiPart::alternative_plain_html(plain, html))
            .map_err(|e| format!("cannot build the message: {e}"))
    }

    /// Sends `message` in one SMTP session: a failure says which step refused it and how
    /// that counts (see the module docs).
    pub async fn send(
        &self,
        message: &lettre::Message,
        timeout: Duration,
    ) -> Result<(), (Failure, String)> {
        let hello = ClientId::default();
        let tls_parameters = || {
            TlsParameters::new(self.host.clone())
                .map_err(|e| (Failure::Transient, format!("TLS setup failed: {e}")))
        };
        let wrapper = match self.tls {
            TlsMode::Tls => Some(tls_parameters()?),
            _ => None,
        };
        let greeting = AsyncSmtpConnection::connect_tokio1(
            (self.host.as_str(), self.port),
            Some(timeout),
            &hello,
            wrapper,
            None,
        );
        let mut conn = tokio::time::timeout(timeout, greeting)
            .await
            .map_err(|_| (Failure::Transient, "timed out connecting".to_string()))?
            .map_err(|e| refused(Step::Connect, &e))?;
        let result = async {
            if self.tls == TlsMode::Starttls {
                if !conn.server_info().supports_feature(Extension::StartTls) {
                    // Never fall back to sending in clear: a server (or a man in the middle)
                    // that hides STARTTLS gets nothing.
                    return Err((
                        Failure::Client,
                        "the server does not offer STARTTLS (tls = \"starttls\"); use \
                         tls = \"tls\" if it speaks TLS from the start"
                            .to_string(),
                    ));
                }
                conn.starttls(tls_parameters()?, &hello)
                    .await
                    .map_err(|e| refused(Step::Connect, &e))?;
            }
            if let Some(credentials) = &self.credentials {
                conn.auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                    .await
                    .map_err(|e| refused(Step::Auth, &e))?;
            }
            let envelope = message.envelope();
            let body = message.formatted();
            let mut options = Vec::new();
            if !body.is_ascii() {
                options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
            }
            conn.command(Mail::new(envelope.from().cloned(), options))
                .await
                .map_err(|e| refused(Step::Sender, &e))?;
            recipients(&mut conn, envelope).await?;
            conn.command(Data)
                .await
                .map_err(|e| refused(Step::Message, &e))?;
            conn.message(&body)
                .await
                .map_err(|e| refused(Step::Message, &e))?;
            Ok(())
        };
        let result = tokio::time::timeout(timeout * 2, result)
            .await
            .unwrap_or_else(|_| Err((Failure::Transient, "timed out".to_string())));
        if result.is_ok() {
            let _ = conn.quit().await;
        } else {
            conn.abort().await;
        }
        result
    }
}

/// `RCPT TO` for every recipient: one refused (5xx) refuses the message for all, as a mail
/// client does, naming every address refused.
async fn recipients(
    conn: &mut AsyncSmtpConnection,
    envelope: &Envelope,
) -> Result<(), (Failure, String)> {
    let mut refused_to = Vec::new();
    for to in envelope.to() {
        match conn.command(Rcpt::new(to.clone(), vec![])).await {
            Ok(_) => {}
            Err(e) if e.is_permanent() => refused_to.push(format!("{to}: {}", reply(&e))),
            Err(e) => return Err(refused(Step::Recipient, &e)),
        }
    }
    if refused_to.is_empty() {
        return Ok(());
    }
    Err((
        Failure::Permanent,
        format!(
            "the server refused recipient(s) {}; nothing was sent (fix `to`, then \
             `watchword redeliver`)",
            refused_to.join("; ")
        ),
    ))
}

/// A step of the SMTP session, for what a refusal there means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Connect,
    Auth,
    Sender,
    Recipient,
    Message,
}

/// How a failed step counts, and its one-line description (never a credential: lettre's
/// errors hold the server's reply, not what was sent).
fn refused(step: Step, e: &lettre::transport::smtp::Error) -> (Failure, String) {
    let what = match step {
        Step::Connect => "connecting",
        Step::Auth => "AUTH (username or password)",
        Step::Sender => "MAIL FROM (the `from` address)",
        Step::Recipient => "RCPT TO",
        Step::Message => "the message",
    };
    let failure = if e.is_permanent() {
        match step {
            Step::Connect | Step::Auth | Step::Sender => Failure::Client,
            Step::Recipient | Step::Message => Failure::Permanent,
        }
    } else {
        Failure::Transient
    };
    let text = if e.is_timeout() {
        "timed out".to_string()
    } else {
        reply(e)
    };
    (failure, format!("SMTP {what}: {text}"))
}

/// `451 4.3.0 try again later`: the server's code and words, on one line.
fn reply(e: &lettre::transport::smtp::Error) -> String {
    let text = e.to_string();
    let text = crate::text::for_terminal(&text);
    match e.status() {
        Some(code) => {
            // lettre says "permanent error (550): <reply>"; keep the reply with its code.
            let words = text.split_once("): ").map_or(text.as_str(), |(_, w)| w);
            truncate_chars(&format!("{code} {}", words.trim()), 300)
        }
        None => truncate_chars(&text, 300),
    }
}

/// Subject, plain text and HTML of one alert or a digest.
fn bodies(messages: &[Message]) -> (String, String, String) {
    let subject = match messages {
        [m] => truncate_chars(&one_line(&m.title), 200),
        _ => format!("{} new alerts", messages.len()),
    };
    let mut plain = String::new();
    let mut html =
        String::from("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n");
    if messages.len() > 1 {
        plain.push_str(&format!("{} new alerts\n\n", messages.len()));
        html.push_str(&format!("<h2>{} new alerts</h2>\n", messages.len()));
    }
    let text_max = if messages.len() > 1 { 1000 } else { 4000 };
    for m in messages {
        let title = truncate_chars(&one_line(&m.title), 1000);
        let text = truncate_chars(m.text.trim(), text_max);
        let context = m.context_line();
        plain.push_str(&title);
        plain.push('\n');
        html.push_str("<div>\n");
        match &m.link {
            Some(link) => html.push_str(&format!(
                "<h3><a href=\"{}\">{}</a></h3>\n",
                html_escape(link),
                html_escape(&title)
            )),
            None => html.push_str(&format!("<h3>{}</h3>\n", html_escape(&title))),
        }
        if !text.is_empty() {
            plain.push_str(&format!("\n{text}\n"));
            html.push_str(&format!(
                "<p>{}</p>\n",
                html_escape(&text).replace('\n', "<br>\n")
            ));
        }
        if let Some(link) = &m.link {
            plain.push_str(&format!("\n{link}\n"));
        }
        if !context.is_empty() {
            plain.push_str(&format!("\n{context}\n"));
            html.push_str(&format!(
                "<p style=\"color:#666;font-size:smaller\">{}</p>\n",
                html_escape(&context)
            ));
        }
        plain.push_str("\n-- \n");
        html.push_str("</div><hr>\n");
    }
    html.push_str("</body></html>\n");
    (subject, plain, html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_text_is_escaped_in_the_html_body() {
        let payload = serde_json::json!({
            "type": "watchword.alert", "id": "ww_1", "rule": "r",
            "item": {"title": "<script>alert(1)</script> & \"q\"", "summary": "<img src=x onerror=y>",
                     "link": "https://e.org/a?x=\"><script>"}
        })
        .to_string();
        let (subject, plain, html) = bodies(&[Message::from_payload(&payload)]);
        assert_eq!(subject, "<script>alert(1)</script> & \"q\"");
        assert!(plain.contains("<img src=x onerror=y>"));
        assert!(
            !html.contains("<script>") && !html.contains("<img"),
            "{html}"
        );
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;"));
        assert!(!html.contains("\"><script>"), "{html}");
    }

    #[test]
    fn only_loopback_hosts_may_go_without_tls() {
        assert!(is_loopback("localhost"));
        assert!(is_loopback("127.0.0.1"));
        assert!(is_loopback("[::1]"));
        assert!(!is_loopback("smtp.example.org"));
        assert!(!is_loopback("10.0.0.1"));
    }
}
