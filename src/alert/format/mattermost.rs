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
        let shown = messages.len().min(50);
        text.push_str(&format!("#### {} new alerts", messages.len()));
        for m in &messages[..shown] {
            let title = fit(&one_line(&m.title), 200, markdown_escape);
            match &m.link {
                Some(link) => text.push_str(&format!("\n- [{title}]({})", md_url(link))),
                None => text.push_str(&format!("\n- {title}")),
            }
            if let Some(rule) = &m.rule {
                text.push_str(&format!(" ({})", fit(rule, 100, markdown_escape)));
            }
        }
        if let Some(note) = more_note(shown, messages.len()) {
            text.push_str(&format!("\n{note}"));
        }
    }
    json!({"text": text})
}
