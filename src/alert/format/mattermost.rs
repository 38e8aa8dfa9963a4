//! `mattermost`: Mattermost incoming webhooks: Markdown text.

use serde_json::{Value, json};

use super::common::{fit, json_body, markdown_escape, md_url, more_note, one_line};
use super::{Batch, Check, Format, FormatError, Request};
use crate::alert::message::Message;
use crate::config::RateLimit;

/// No options of its own.
pub(super) type Options = super::common::NoOptions;

/// Mattermost incoming webhook.
pub(super) struct Mattermost;

impl Format for Mattermost {
    type Options = Options;
    // Mattermost server default: 10 per second.
    const RATE_LIMIT: Option<RateLimit> = Some(RateLimit::per(10, 1));

    fn new(_options: Options, _check: &mut Check<'_>) -> Option<Self> {
        Some(Mattermost)
    }

    fn render(
        &self,
        request: &mut Request,
        _batch: &Batch<'_>,
        messages: &[Message],
    ) -> Result<(), FormatError> {
        request.body = json_body(&mattermost(messages));
        Ok(())
    }
}

/// Mattermost's post limit, in characters.
const MAX_TEXT_CHARS: usize = 16383;

/// Mattermost: Markdown `text` (posts ≤ 16383 characters); `@` defused so feed text cannot
/// notify `@channel` or `@all`.
fn mattermost(messages: &[Message]) -> Value {
    let mut text = String::new();
    if let [m] = messages {
        text.push_str("#### ");
        text.push_str(&fit(&one_line(&m.title), 300, markdown_escape));
        if !m.text.is_empty() {
            text.push('\n');
            text.push_str(&fit(&m.text, 4000, markdown_escape));
        }
        if let Some(link) = &m.link {
            text.push_str(&format!("\n[Open story]({})", md_url(link)));
        }
        let context = m.context_line();
        if !context.is_empty() {
            text.push_str(&format!("\n_{}_", fit(&context, 300, markdown_escape)));
        }
    } else {
        text.push_str(&format!("#### {} new alerts", messages.len()));
        let mut shown = 0;
        for m in messages.iter().take(50) {
            let title = fit(&one_line(&m.title), 200, markdown_escape);
            let mut line = match &m.link {
                Some(link) => format!("\n- [{title}]({})", md_url(link)),
                None => format!("\n- {title}"),
            };
            if let Some(rule) = &m.rule {
                line.push_str(&format!(" ({})", fit(rule, 100, markdown_escape)));
            }
            // Whole lines within the post limit, with room for the note: links of up to 2 KB
            // would otherwise take 50 lines past it.
            if text.chars().count() + line.chars().count() > MAX_TEXT_CHARS - 100 {
                break;
            }
            text.push_str(&line);
            shown += 1;
        }
        if let Some(note) = more_note(shown, messages.len()) {
            text.push_str(&format!("\n{note}"));
        }
    }
    json!({"text": text})
}
