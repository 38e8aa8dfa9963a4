//! `telegram`: the Telegram Bot API's `sendMessage`, in HTML parse mode.

use serde::Deserialize;
use serde_json::{Value, json};

use super::common::{fit, html_escape, json_body, more_note, one_line};
use super::{Batch, Check, Format, FormatError, Request};
use crate::alert::message::Message;
use crate::config::RateLimit;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Options {
    /// The chat to post to: a numeric id or a channel's `@username`.
    chat_id: Option<String>,
}

/// Telegram bot posting to one chat.
pub(super) struct Telegram {
    chat_id: String,
}

impl Format for Telegram {
    type Options = Options;
    // Bot API: 20 messages per minute to one group.
    const RATE_LIMIT: Option<RateLimit> = Some(RateLimit::per(20, 60));

    fn new(options: Options, check: &mut Check<'_>) -> Option<Self> {
        let chat_id = check.need(options.chat_id, "chat_id", "\"-100123456\"")?;
        Some(Telegram { chat_id })
    }

    fn render(
        &self,
        request: &mut Request,
        _batch: &Batch<'_>,
        messages: &[Message],
    ) -> Result<(), FormatError> {
        request.body = json_body(&telegram(&self.chat_id, messages));
        Ok(())
    }
}

/// Telegram `sendMessage` in HTML parse mode (text ≤ 4096 characters after entities are
/// parsed); everything from the feed is HTML-escaped, link previews off.
fn telegram(chat_id: &str, messages: &[Message]) -> Value {
    let mut text = String::new();
    if let [m] = messages {
        text.push_str(&format!(
            "<b>{}</b>",
            fit(&one_line(&m.title), 300, html_escape)
        ));
        if !m.text.is_empty() {
            text.push_str(&format!("\n{}", fit(&m.text, 3000, html_escape)));
        }
        if let Some(link) = &m.link {
            text.push_str(&format!(
                "\n<a href=\"{}\">Open story</a>",
                html_escape(link)
            ));
        }
        let context = m.context_line();
        if !context.is_empty() {
            text.push_str(&format!("\n<i>{}</i>", fit(&context, 300, html_escape)));
        }
    } else {
        text.push_str(&format!("<b>{} new alerts</b>", messages.len()));
        let mut shown = 0;
        for m in messages.iter().take(20) {
            let title = fit(&one_line(&m.title), 150, html_escape);
            let line = match &m.link {
                Some(link) => format!("\n• <a href=\"{}\">{title}</a>", html_escape(link)),
                None => format!("\n• {title}"),
            };
            // Telegram counts 4096 after parsing entities; stay under it even before.
            if text.chars().count() + line.chars().count() > 3900 {
                break;
            }
            text.push_str(&line);
            shown += 1;
        }
        if let Some(note) = more_note(shown, messages.len()) {
            text.push_str(&format!("\n{note}"));
        }
    }
    // A numeric chat id goes as a number, a channel username (`@name`) as a string.
    let chat: Value = chat_id
        .trim()
        .parse::<i64>()
        .map(Value::from)
        .unwrap_or_else(|_| Value::from(chat_id.trim()));
    json!({
        "chat_id": chat,
        "text": text,
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": true},
    })
}
