//! `slack`: Slack incoming webhooks: blocks plus a text fallback.

use serde_json::{Value, json};

use super::common::{fit, fit_list, json_body, more_note, one_line};
use super::{Batch, Check, Format, FormatError, Request};
use crate::alert::message::Message;
use crate::config::RateLimit;

/// No options of its own.
pub(super) type Options = super::common::NoOptions;

/// Slack incoming webhook.
pub(super) struct Slack;

impl Format for Slack {
    type Options = Options;
    // "1 message per second per webhook, short bursts allowed".
    const RATE_LIMIT: Option<RateLimit> = Some(RateLimit::per(1, 1));

    fn new(_options: Options, _check: &mut Check<'_>) -> Option<Self> {
        Some(Slack)
    }

    fn render(
        &self,
        request: &mut Request,
        _batch: &Batch<'_>,
        messages: &[Message],
    ) -> Result<(), FormatError> {
        request.body = json_body(&slack(messages));
        Ok(())
    }
}

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
fn slack(messages: &[Message]) -> Value {
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
    let text = if digest {
        // Whole titles within the 3000 characters (escaped first: escaping only grows them),
        // then how many did not fit: a list cut mid-title would drop alerts unsaid.
        let titles: Vec<String> = messages
            .iter()
            .map(|m| fit(&one_line(&m.title), title_max, slack_escape))
            .collect();
        fit_list(&format!("{} new alerts: ", messages.len()), &titles, "; ", 3000)
    } else {
        let title = messages.first().map(|m| one_line(&m.title));
        fit(&title.unwrap_or_default(), 3000, slack_escape)
    };
    json!({"text": text, "blocks": blocks})
}
