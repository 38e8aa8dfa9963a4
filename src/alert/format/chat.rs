//! Slack, Discord, Teams and Mattermost: webhook-posted chat messages.

use serde_json::{Value, json};

use super::{cut, fit, markdown_escape, md_url, more_note, one_line};
use crate::alert::message::Message;

/// Slack: `& < >` are the only characters Slack's mrkdwn needs escaped; with them escaped
/// `<!channel>` or `<@U123>` in a feed cannot mention anyone.
fn slack_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A URL inside `<url|label>`: `|` would end the URL and `>` the link.
fn slack_url(url: &str) -> String {
    slack_escape(&url.replace('|', "%7C"))
}

/// Slack: a section per alert (≤ 3000 chars of mrkdwn), a context line, ≤ 50 blocks, and a
/// plain `text` fallback for notifications.
pub(super) fn slack(messages: &[Message]) -> Value {
    let digest = messages.len() > 1;
    let (title_max, text_max, shown) = if digest {
        (150, 300, messages.len().min(20))
    } else {
        (250, 2000, 1)
    };
    let mut blocks = Vec::new();
    if digest {
        blocks.push(json!({
            "type": "header",
            "text": {"type": "plain_text", "text": format!("{} new alerts", messages.len())}
        }));
    }
    for m in &messages[..shown] {
        let title = fit(&one_line(&m.title), title_max, slack_escape);
        let heading = match &m.link {
            Some(link) => format!("*<{}|{title}>*", slack_url(link)),
            None => format!("*{title}*"),
        };
        let mut section = heading;
        if !m.text.is_empty() {
            section.push('\n');
            section.push_str(&fit(&m.text, text_max, slack_escape));
        }
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": section}}));
        let context = m.context_line();
        if !context.is_empty() {
            blocks.push(json!({
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": fit(&context, 300, slack_escape)}]
            }));
        }
    }
    if let Some(note) = more_note(shown, messages.len()) {
        blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}));
    }
    let fallback = if digest {
        let titles: Vec<String> = messages.iter().map(|m| one_line(&m.title)).collect();
        format!("{} new alerts: {}", messages.len(), titles.join("; "))
    } else {
        one_line(
            &messages
                .first()
                .map(|m| m.title.clone())
                .unwrap_or_default(),
        )
    };
    json!({"text": fit(&fallback, 3000, slack_escape), "blocks": blocks})
}

/// Discord: embeds (title ≤ 256, description ≤ 4096, footer ≤ 2048, ≤ 10 embeds, ≤ 6000
/// characters across them) and no mentions parsed at all.
pub(super) fn discord(messages: &[Message]) -> Value {
    let digest = messages.len() > 1;
    let shown = messages.len().min(10);
    // 10 × (200 + 200 + 150) = 5500 ≤ 6000 for a digest; a single alert has room to spare.
    let (title_max, text_max, footer_max) = if digest {
        (200, 200, 150)
    } else {
        (256, 2000, 300)
    };
    let embeds: Vec<Value> = messages[..shown]
        .iter()
        .map(|m| {
            let mut embed = json!({
                "title": fit(&one_line(&m.title), title_max, markdown_escape),
                "color": if m.priority.as_ref().is_some_and(|p| p.is_high()) { 0xE5_3935 } else { 0x3B_82F6 },
            });
            if let Some(link) = &m.link {
                embed["url"] = json!(link);
            }
            if !m.text.is_empty() {
                embed["description"] = json!(fit(&m.text, text_max, markdown_escape));
            }
            let context = m.context_line();
            if !context.is_empty() {
                embed["footer"] = json!({"text": cut(&context, footer_max)});
            }
            if let Some(published) = &m.published {
                embed["timestamp"] = json!(published);
            }
            embed
        })
        .collect();
    let mut body = json!({"embeds": embeds, "allowed_mentions": {"parse": []}});
    if digest {
        let mut content = format!("**{} new alerts**", messages.len());
        if let Some(note) = more_note(shown, messages.len()) {
            content.push_str(&format!(" ({note})"));
        }
        body["content"] = json!(content);
    }
    body
}

/// Teams (Workflows "post to a channel when a webhook request is received"): an Adaptive
/// Card 1.4 in a message attachment; the whole request stays well under 28 KB.
pub(super) fn teams(messages: &[Message]) -> Value {
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

/// Mattermost: Markdown `text` (posts ≤ 16383 characters); `@` defused so feed text cannot
/// notify `@channel` or `@all`.
pub(super) fn mattermost(messages: &[Message]) -> Value {
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
