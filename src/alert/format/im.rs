//! ntfy, Telegram and Matrix: push and messenger targets.

use base64::Engine as _;
use serde_json::{Value, json};

use super::{cut, cut_bytes, fit, html_escape, more_note, one_line};
use crate::alert::message::Message;

/// ntfy's header form: the text is the body (≤ 4096 bytes, beyond which ntfy turns it into an
/// attachment), title/priority/tags/click go in headers.
pub(super) fn ntfy(messages: &[Message]) -> (Vec<(String, String)>, String) {
    let mut headers = Vec::new();
    let (title, body) = if let [m] = messages {
        let mut body = if m.text.is_empty() {
            one_line(&m.title)
        } else {
            m.text.clone()
        };
        let context = m.context_line();
        if !context.is_empty() {
            body = format!("{}\n\n{}", cut_bytes(&body, 3500), cut(&context, 300));
        }
        (one_line(&m.title), body)
    } else {
        let shown = messages.len().min(30);
        let mut body = String::new();
        for m in &messages[..shown] {
            body.push_str(&format!("• {}", cut(&one_line(&m.title), 150)));
            if let Some(link) = &m.link {
                body.push_str(&format!("\n  {link}"));
            }
            body.push('\n');
        }
        if let Some(note) = more_note(shown, messages.len()) {
            body.push_str(&note);
        }
        (format!("{} new alerts", messages.len()), body)
    };
    headers.push(("Title".to_string(), header_text(&cut(&title, 250))));
    let priority = messages
        .iter()
        .filter_map(|m| m.priority.as_ref().and_then(|p| p.level))
        .max();
    if let Some(level) = priority {
        headers.push(("Priority".into(), level.to_string()));
    }
    let mut tags = vec![if priority.is_some_and(|l| l >= 4) {
        "rotating_light".to_string()
    } else {
        "newspaper".to_string()
    }];
    if let [m] = messages
        && let Some(rule) = &m.rule
    {
        let tag: String = rule
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
            .take(60)
            .collect();
        if !tag.is_empty() {
            tags.push(tag);
        }
    }
    headers.push(("Tags".into(), tags.join(",")));
    if let [m] = messages
        && let Some(link) = m.link.as_deref().and_then(|l| url::Url::parse(l).ok())
    {
        // The parsed URL is ASCII (IDNA, percent-encoding): safe as a header value.
        headers.push(("Click".into(), link.to_string()));
    }
    (headers, cut_bytes(&body, 4000))
}

/// A header value from feed text: control characters dropped, and non-ASCII as an RFC 2047
/// encoded word, which ntfy decodes.
fn header_text(text: &str) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    if clean.is_ascii() {
        clean
    } else {
        format!(
            "=?UTF-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(clean.as_bytes())
        )
    }
}

/// Telegram `sendMessage` in HTML parse mode (text ≤ 4096 characters after entities are
/// parsed); everything from the feed is HTML-escaped, link previews off.
pub(super) fn telegram(chat_id: &str, messages: &[Message]) -> Value {
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

/// Matrix `m.room.message`: an `m.notice` (the convention for bots) with an HTML body, and an
/// empty `m.mentions` so that nothing in it pings anyone.
pub(super) fn matrix(messages: &[Message]) -> Value {
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
        let shown = messages.len().min(50);
        plain.push_str(&format!("{} new alerts", messages.len()));
        html.push_str(&format!("<b>{} new alerts</b><ul>", messages.len()));
        for m in &messages[..shown] {
            let title = cut(&one_line(&m.title), 200);
            plain.push_str(&format!("\n• {title}"));
            match &m.link {
                Some(link) => {
                    plain.push_str(&format!(" {link}"));
                    html.push_str(&format!(
                        "<li><a href=\"{}\">{}</a></li>",
                        html_escape(link),
                        html_escape(&title)
                    ));
                }
                None => html.push_str(&format!("<li>{}</li>", html_escape(&title))),
            }
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

#[cfg(test)]
mod tests {
    use super::header_text;

    #[test]
    fn header_text_is_ascii_on_one_line() {
        assert_eq!(header_text("Plain\ttitle"), "Plaintitle");
        assert_eq!(
            header_text("Казахстан"),
            "=?UTF-8?B?0JrQsNC30LDRhdGB0YLQsNC9?="
        );
    }
}
