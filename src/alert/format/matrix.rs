//! `matrix`: the Matrix client-server API: `PUT …/send/m.room.message/{alert id}`.

use serde::Deserialize;
use serde_json::{Value, json};

use super::common::{cut, html_escape, json_body, more_note, one_line};
use super::{Batch, Check, Format, FormatError, Method, Request};
use crate::alert::message::Message;
use crate::config::RateLimit;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Options {
    /// The room id (`!abc:example.org`).
    room: Option<String>,
    /// The access token, sent as `Authorization: Bearer …`.
    token: Option<String>,
}

/// A Matrix room, posted to by a bot account.
pub(super) struct Matrix {
    room: String,
    token: String,
}

impl Format for Matrix {
    type Options = Options;
    const SECRET_KEYS: &'static [&'static str] = &["token"];
    // Synapse default rc_message: 0.2/s with a burst of 10.
    const RATE_LIMIT: Option<RateLimit> = Some(RateLimit::per(12, 60));

    fn new(options: Options, check: &mut Check<'_>) -> Option<Self> {
        // Both checked before either is required, so both are reported.
        let room = check.need(options.room, "room", "\"!roomid:example.org\"");
        let token = check.need(
            options.token,
            "token",
            "\"${credential:matrix-token}\"",
        );
        Some(Matrix {
            room: room?,
            token: token?,
        })
    }

    fn render(
        &self,
        request: &mut Request,
        batch: &Batch<'_>,
        messages: &[Message],
    ) -> Result<(), FormatError> {
        request.method = Method::Put;
        request.url = matrix_url(&request.url, &self.room, batch.id);
        request.body = json_body(&matrix(messages));
        request
            .headers
            .push(("Authorization".into(), format!("Bearer {}", self.token)));
        Ok(())
    }
}

/// Room for the plain and HTML bodies of a digest: Matrix events are at most 65,536 bytes,
/// and JSON escaping can grow the bodies (the `@` word joiners of the plain one, quotes).
const MAX_BODIES_BYTES: usize = 40_000;

/// Matrix `m.room.message`: an `m.notice` (the convention for bots) with an HTML body, and an
/// empty `m.mentions` so that nothing in it pings anyone.
fn matrix(messages: &[Message]) -> Value {
    let mut plain = String::new();
    let mut html = String::new();
    if let [m] = messages {
        let title = cut(&one_line(&m.title), 300);
        plain.push_str(&title);
        html.push_str(&format!("<b>{}</b>", html_escape(&title)));
        if !m.text.is_empty() {
            let text = cut(&m.text, 4000);
            plain.push_str(&format!("\n{text}"));
            html.push_str(&format!("<br>{}", html_escape(&text)));
        }
        if let Some(link) = &m.link {
            plain.push_str(&format!("\n{link}"));
            html.push_str(&format!(
                "<br><a href=\"{}\">Open story</a>",
                html_escape(link)
            ));
        }
        let context = m.context_line();
        if !context.is_empty() {
            let context = cut(&context, 300);
            plain.push_str(&format!("\n{context}"));
            html.push_str(&format!("<br><i>{}</i>", html_escape(&context)));
        }
    } else {
        plain.push_str(&format!("{} new alerts", messages.len()));
        html.push_str(&format!("<b>{} new alerts</b><ul>", messages.len()));
        let mut shown = 0;
        for m in messages.iter().take(50) {
            let title = cut(&one_line(&m.title), 200);
            let (line, item) = match &m.link {
                Some(link) => (
                    format!("\n• {title} {link}"),
                    format!(
                        "<li><a href=\"{}\">{}</a></li>",
                        html_escape(link),
                        html_escape(&title)
                    ),
                ),
                None => (
                    format!("\n• {title}"),
                    format!("<li>{}</li>", html_escape(&title)),
                ),
            };
            // Whole entries within the event size limit (both bodies, escapes and the JSON
            // around them), links of up to 2 KB included.
            if plain.len() + html.len() + line.len() + item.len() > MAX_BODIES_BYTES {
                break;
            }
            plain.push_str(&line);
            html.push_str(&item);
            shown += 1;
        }
        html.push_str("</ul>");
        if let Some(note) = more_note(shown, messages.len()) {
            plain.push_str(&format!("\n{note}"));
            html.push_str(&html_escape(&note));
        }
    }
    json!({
        "msgtype": "m.notice",
        // Older servers still match "@room" in the plain body: defuse it there.
        "body": plain.replace('@', "@\u{2060}"),
        "format": "org.matrix.custom.html",
        "formatted_body": html,
        "m.mentions": {},
    })
}

/// `PUT {homeserver}/_matrix/client/v3/rooms/{room}/send/m.room.message/{txnId}`: the alert
/// id as txnId makes a retry idempotent on the server.
fn matrix_url(homeserver: &str, room: &str, txn_id: &str) -> String {
    let base = homeserver.trim_end_matches('/');
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "{base}/_matrix/client/v3/rooms/{}/send/m.room.message/{}",
        enc(room),
        enc(txn_id)
    )
}


#[cfg(test)]
mod tests {
    use super::matrix_url;

    #[test]
    fn the_alert_id_is_the_transaction_id() {
        assert_eq!(
            matrix_url("https://m.example/", "!r:m.example", "ww_1"),
            "https://m.example/_matrix/client/v3/rooms/%21r%3Am.example/send/m.room.message/ww_1"
        );
    }
}
