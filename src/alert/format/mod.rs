//! Sink formats: the request each target expects, built from stored payloads.
//!
//! Every text that comes from a feed is cut to the target's documented limits and escaped for
//! the target's markup here, so that a hostile feed (markup, `@everyone`, a 10 KB title)
//! cannot break a message, mention a channel or get it rejected. Limits are cited in
//! docs/sinks.md.

mod chat;
mod im;
mod template;

pub use template::check_template;

use serde_json::{Value, json};

use super::message::Message;
use crate::config::{SinkConfig, SinkFormat};

/// One HTTP request to a sink.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub content_type: String,
    /// Format-specific headers first, then the sink's own `headers`.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Post,
    Put,
}

/// What to send: one alert, or a digest of several (oldest first).
#[derive(Debug, Clone)]
pub struct Batch<'a> {
    /// The stable id sent as `webhook-id` (and Matrix's txnId).
    pub id: &'a str,
    pub payloads: Vec<&'a str>,
}

impl Batch<'_> {
    pub fn is_digest(&self) -> bool {
        self.payloads.len() > 1
    }

    fn messages(&self) -> Vec<Message> {
        self.payloads
            .iter()
            .map(|p| Message::from_payload(p))
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("template failed: {0}")]
    Template(String),
    #[error("sink has no url")]
    NoUrl,
}

/// Builds the request for `batch` in `sink`'s format.
pub fn render(sink: &SinkConfig, batch: &Batch<'_>) -> Result<Request, FormatError> {
    let url = sink.url.clone().ok_or(FormatError::NoUrl)?;
    let messages = batch.messages();
    let json_body = |body: Value| serde_json::to_string(&body).unwrap_or_else(|_| "{}".into());
    let mut request = Request {
        method: Method::Post,
        url,
        content_type: "application/json".into(),
        headers: Vec::new(),
        body: String::new(),
    };
    match sink.format {
        SinkFormat::Json => request.body = json_payload(batch),
        SinkFormat::Slack => request.body = json_body(chat::slack(&messages)),
        SinkFormat::Discord => {
            request.url = discord_url(&request.url);
            request.body = json_body(chat::discord(&messages));
        }
        SinkFormat::Teams => request.body = json_body(chat::teams(&messages)),
        SinkFormat::Mattermost => request.body = json_body(chat::mattermost(&messages)),
        SinkFormat::Telegram => {
            let chat_id = sink.chat_id.as_deref().unwrap_or_default();
            request.body = json_body(im::telegram(chat_id, &messages));
        }
        SinkFormat::Ntfy => {
            let (headers, body) = im::ntfy(&messages);
            request.content_type = "text/plain; charset=utf-8".into();
            request.headers = headers;
            request.body = body;
            if let Some(token) = &sink.token {
                request
                    .headers
                    .push(("Authorization".into(), format!("Bearer {token}")));
            }
        }
        SinkFormat::Matrix => {
            request.method = Method::Put;
            request.url = matrix_url(
                &request.url,
                sink.room.as_deref().unwrap_or_default(),
                batch.id,
            );
            request.body = json_body(im::matrix(&messages));
            if let Some(token) = &sink.token {
                request
                    .headers
                    .push(("Authorization".into(), format!("Bearer {token}")));
            }
        }
        SinkFormat::Template => {
            let template = sink.template.as_deref().unwrap_or_default();
            request.content_type = sink.content_type.clone();
            request.body = template::render(template, &sink.content_type, batch, &messages)
                .map_err(FormatError::Template)?;
        }
    }
    request.headers.extend(sink.headers.iter().cloned());
    Ok(request)
}

/// The `json` body: the stored payload itself, or for a digest a `watchword.digest` envelope
/// holding each alert's payload unchanged.
fn json_payload(batch: &Batch<'_>) -> String {
    if !batch.is_digest() {
        return batch.payloads.first().copied().unwrap_or("{}").to_string();
    }
    let alerts: Vec<Value> = batch
        .payloads
        .iter()
        .map(|p| serde_json::from_str(p).unwrap_or(Value::Null))
        .collect();
    let body = json!({
        "type": "watchword.digest",
        "version": crate::model::payload::PAYLOAD_VERSION,
        "id": batch.id,
        "count": alerts.len(),
        "alerts": alerts,
    });
    serde_json::to_string(&body).unwrap_or_else(|_| "{}".into())
}

/// Discord only reports a message it failed to save with `?wait=true`.
fn discord_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            if !parsed.query_pairs().any(|(k, _)| k == "wait") {
                parsed.query_pairs_mut().append_pair("wait", "true");
            }
            parsed.to_string()
        }
        Err(_) => url.to_string(),
    }
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

// ---- text helpers shared by the formats ----

/// Whitespace (newlines included) collapsed to single spaces: titles are one line.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most `max` characters, cut with `…`.
pub(crate) fn cut(text: &str, max: usize) -> String {
    crate::text::truncate_chars(text, max)
}

/// `text` escaped with `escape`, cut so that the *escaped* result has at most `max`
/// characters (escaping can grow a text; cutting after escaping could split an entity).
pub(crate) fn fit(text: &str, max: usize, escape: impl Fn(&str) -> String) -> String {
    let mut limit = max;
    loop {
        let escaped = escape(&cut(text, limit));
        let len = escaped.chars().count();
        if len <= max || limit == 0 {
            return escaped;
        }
        limit = limit.saturating_sub((len - max).max(1));
    }
}

/// A URL safe inside Markdown's `[label](url)`: characters that would end it are encoded.
pub(crate) fn md_url(url: &str) -> String {
    url.replace(' ', "%20")
        .replace('(', "%28")
        .replace(')', "%29")
        .replace('<', "%3C")
        .replace('>', "%3E")
}

/// At most `max` bytes of UTF-8, cut on a char boundary with `…`.
pub(crate) fn cut_bytes(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", text[..end].trim_end())
}

/// `& < >` and quotes as HTML entities (Telegram, Matrix).
pub(crate) fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Markdown punctuation backslash-escaped (CommonMark), so feed text cannot format, link or
/// quote; `@` followed by a zero-width joiner so `@channel`/`@all` cannot notify.
pub(crate) fn markdown_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '|' | '~' | '>' | '<' => {
                out.push('\\');
                out.push(c);
            }
            '@' => out.push_str("@\u{2060}"),
            c => out.push(c),
        }
    }
    out
}

/// How many of `messages` a digest shows, and the note for the rest.
pub(crate) fn more_note(shown: usize, total: usize) -> Option<String> {
    (total > shown).then(|| format!("… and {} more", total - shown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_for_discord_and_matrix() {
        assert_eq!(
            discord_url("https://discord.com/api/webhooks/1/abc"),
            "https://discord.com/api/webhooks/1/abc?wait=true"
        );
        assert_eq!(
            discord_url("https://discord.com/api/webhooks/1/abc?thread_id=5"),
            "https://discord.com/api/webhooks/1/abc?thread_id=5&wait=true"
        );
        assert_eq!(
            matrix_url("https://m.example/", "!r:m.example", "ww_1"),
            "https://m.example/_matrix/client/v3/rooms/%21r%3Am.example/send/m.room.message/ww_1"
        );
    }

    #[test]
    fn byte_cuts_stay_on_char_boundaries() {
        let cut = cut_bytes("ééééé", 6);
        assert!(cut.len() <= 6, "{cut}");
        assert!(cut.ends_with('…'));
        assert_eq!(cut_bytes("short", 10), "short");
    }
}
