//! `teams`: Microsoft Teams Workflows webhooks: an Adaptive Card.

use serde_json::{Value, json};

use super::common::{fit, json_body, markdown_escape, more_note, one_line};
use super::{Batch, Check, Format, FormatError, Request};
use crate::alert::message::Message;
use crate::config::RateLimit;

/// No options of its own.
pub(super) type Options = super::common::NoOptions;

/// Teams Workflows webhook.
pub(super) struct Teams;

impl Format for Teams {
    type Options = Options;
    // Workflows webhooks: more than 4 requests per second are throttled.
    const RATE_LIMIT: Option<RateLimit> = Some(RateLimit::per(4, 1));

    fn new(_options: Options, _check: &mut Check<'_>) -> Option<Self> {
        Some(Teams)
    }

    fn render(
        &self,
        request: &mut Request,
        _batch: &Batch<'_>,
        messages: &[Message],
    ) -> Result<(), FormatError> {
        request.body = json_body(&teams(messages));
        Ok(())
    }
}

/// Teams (Workflows "post to a channel when a webhook request is received"): an Adaptive
/// Card 1.4 in a message attachment; the whole request stays well under 28 KB.
fn teams(messages: &[Message]) -> Value {
    let digest = messages.len() > 1;
    let (title_max, text_max, shown) = if digest {
        (200, 400, messages.len().min(20))
    } else {
        (300, 2000, 1)
    };
    let mut body = Vec::new();
    if digest {
        body.push(json!({
            "type": "TextBlock", "text": format!("{} new alerts", messages.len()),
            "weight": "Bolder", "size": "Large", "wrap": true
        }));
    }
    let mut actions = Vec::new();
    for m in &messages[..shown] {
        body.push(json!({
            "type": "TextBlock",
            "text": fit(&one_line(&m.title), title_max, markdown_escape),
            "weight": "Bolder", "size": "Medium", "wrap": true,
            "color": if m.priority.as_ref().is_some_and(|p| p.is_high()) { "Attention" } else { "Default" },
        }));
        if !m.text.is_empty() {
            body.push(json!({"type": "TextBlock", "text": fit(&m.text, text_max, markdown_escape), "wrap": true}));
        }
        let context = m.context_line();
        if !context.is_empty() {
            body.push(json!({
                "type": "TextBlock", "text": fit(&context, 300, markdown_escape),
                "isSubtle": true, "size": "Small", "wrap": true
            }));
        }
        if let Some(link) = &m.link {
            let action = json!({"type": "Action.OpenUrl", "title": "Open story", "url": link});
            if digest {
                body.push(json!({"type": "ActionSet", "actions": [action]}));
            } else {
                actions.push(action);
            }
        }
    }
    if let Some(note) = more_note(shown, messages.len()) {
        body.push(json!({"type": "TextBlock", "text": note, "isSubtle": true, "wrap": true}));
    }
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    });
    if !actions.is_empty() {
        card["actions"] = json!(actions);
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }]
    })
}
