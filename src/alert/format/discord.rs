//! `discord`: Discord webhooks: embeds, no mentions, `?wait=true`.

use serde_json::{Value, json};

use super::common::{cut, fit, json_body, markdown_escape, more_note, one_line};
use super::{Batch, Check, Format, FormatError, Request};
use crate::alert::message::Message;
use crate::config::RateLimit;

/// No options of its own.
pub(super) type Options = super::common::NoOptions;

/// Discord webhook.
pub(super) struct Discord;

impl Format for Discord {
    type Options = Options;
    // 30 messages per minute per channel.
    const RATE_LIMIT: Option<RateLimit> = Some(RateLimit::per(30, 60));

    fn new(_options: Options, _check: &mut Check<'_>) -> Option<Self> {
        Some(Discord)
    }

    fn render(
        &self,
        request: &mut Request,
        _batch: &Batch<'_>,
        messages: &[Message],
    ) -> Result<(), FormatError> {
        request.url = discord_url(&request.url);
        request.body = json_body(&discord(messages));
        Ok(())
    }
}

/// Discord: embeds (title ≤ 256, description ≤ 4096, footer ≤ 2048, ≤ 10 embeds, ≤ 6000
/// characters across them) and no mentions parsed at all.
fn discord(messages: &[Message]) -> Value {
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


#[cfg(test)]
mod tests {
    use super::discord_url;

    #[test]
    fn discord_waits_for_the_message_to_be_saved() {
        assert_eq!(
            discord_url("https://discord.com/api/webhooks/1/abc"),
            "https://discord.com/api/webhooks/1/abc?wait=true"
        );
        assert_eq!(
            discord_url("https://discord.com/api/webhooks/1/abc?thread_id=5"),
            "https://discord.com/api/webhooks/1/abc?thread_id=5&wait=true"
        );
    }
}
