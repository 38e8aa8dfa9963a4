//! `ntfy`: an ntfy topic URL: the text as body, title/tags/priority/click as headers.

use base64::Engine as _;
use serde::Deserialize;

use super::common::{cut, cut_bytes, more_note, one_line};
use super::{Batch, Check, Format, FormatError, Request};
use crate::alert::message::Message;
use crate::config::RateLimit;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Options {
    /// The access token, sent as `Authorization: Bearer …`; optional (public topics).
    token: Option<String>,
}

/// ntfy topic.
pub(super) struct Ntfy {
    token: Option<String>,
}

impl Format for Ntfy {
    type Options = Options;
    const SECRET_KEYS: &'static [&'static str] = &["token"];
    // ntfy.sh: one request per 5 s refill (burst 60); a sustained 12/min.
    const RATE_LIMIT: Option<RateLimit> = Some(RateLimit::per(12, 60));

    fn new(options: Options, _check: &mut Check<'_>) -> Option<Self> {
        Some(Ntfy {
            token: options.token,
        })
    }

    fn render(
        &self,
        request: &mut Request,
        _batch: &Batch<'_>,
        messages: &[Message],
    ) -> Result<(), FormatError> {
        let (headers, body) = ntfy(messages);
        request.content_type = "text/plain; charset=utf-8".into();
        request.headers = headers;
        request.body = body;
        if let Some(token) = &self.token {
            request
                .headers
                .push(("Authorization".into(), format!("Bearer {token}")));
        }
        Ok(())
    }
}

/// ntfy's header form: the text is the body (≤ 4096 bytes, beyond which ntfy turns it into an
/// attachment), title/priority/tags/click go in headers.
/// ntfy's message limit is 4,096 bytes; a little under it leaves room for our own framing.
const MAX_BODY_BYTES: usize = 4000;

fn ntfy(messages: &[Message]) -> (Vec<(String, String)>, String) {
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
        // Whole entries only, within ntfy's 4,096-byte message with room left for the note:
        // a list cut mid-line would drop alerts without saying so.
        const ROOM: usize = MAX_BODY_BYTES - 64;
        let mut body = String::new();
        let mut shown = 0;
        for m in messages.iter().take(30) {
            let mut entry = format!("• {}", cut(&one_line(&m.title), 150));
            if let Some(link) = &m.link {
                entry.push_str(&format!("\n  {link}"));
            }
            entry.push('\n');
            if body.len() + entry.len() > ROOM {
                break;
            }
            body.push_str(&entry);
            shown += 1;
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
    (headers, cut_bytes(&body, MAX_BODY_BYTES))
}

/// RFC 2047 §2: an encoded-word is at most 75 characters. `=?UTF-8?B?` and `?=` take 12, so
/// the base64 takes at most 63, a multiple of 4: 60, which is 45 bytes of UTF-8.
const ENCODED_WORD_BYTES: usize = 45;

/// A header value from feed text: control characters dropped, and non-ASCII as RFC 2047
/// encoded-words (each ≤ 75 characters, each holding whole UTF-8 characters, separated by a
/// space that decoders drop between adjacent encoded-words), which ntfy decodes.
fn header_text(text: &str) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    if clean.is_ascii() {
        return clean;
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in clean.chars() {
        if chunk.len() + c.len_utf8() > ENCODED_WORD_BYTES {
            words.push(encoded_word(&chunk));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(encoded_word(&chunk));
    }
    words.join(" ")
}

fn encoded_word(text: &str) -> String {
    format!(
        "=?UTF-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(text.as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::{MAX_BODY_BYTES, header_text, ntfy};
    use crate::alert::message::Message;

    #[test]
    fn a_long_digest_keeps_whole_entries_and_says_how_many_it_left_out() {
        let payloads: Vec<String> = (0..33)
            .map(|n| {
                serde_json::json!({
                    "type": "watchword.alert", "id": format!("ww_{n}"), "rule": "r",
                    "item": {"id": n.to_string(), "title": format!("Alert {n} {}", "x".repeat(140)),
                             "link": format!("https://news.example.org/{n}/{}", "p".repeat(120))}
                })
                .to_string()
            })
            .collect();
        let messages: Vec<Message> = payloads.iter().map(|p| Message::from_payload(p)).collect();
        let (_, body) = ntfy(&messages);
        assert!(body.len() <= MAX_BODY_BYTES, "{} bytes", body.len());
        let shown = body.matches("• Alert").count();
        assert!(shown > 0 && shown < 33, "{shown}");
        assert!(
            body.ends_with(&format!("… and {} more", 33 - shown)),
            "the note is missing or cut: {body}"
        );
        // Every entry shown is whole: its link line ends where the next entry starts.
        assert_eq!(body.matches("https://news.example.org/").count(), shown);
    }

    #[test]
    fn header_text_is_ascii_on_one_line() {
        assert_eq!(header_text("Plain\ttitle"), "Plaintitle");
        assert_eq!(
            header_text("Казахстан"),
            "=?UTF-8?B?0JrQsNC30LDRhdGB0YLQsNC9?="
        );
    }

    #[test]
    fn a_long_title_is_several_encoded_words_of_whole_characters() {
        use base64::Engine as _;
        let title = "Казахстан присоединяется к Авраамовым соглашениям 🇰🇿 — «официально», \
                     сообщает Белый дом после переговоров в Астане и Вашингтоне";
        let header = header_text(title);
        let words: Vec<&str> = header.split(' ').collect();
        assert!(words.len() > 1, "{header}");
        let mut decoded = String::new();
        for word in &words {
            assert!(word.len() <= 75, "{} characters: {word}", word.len());
            let b64 = word
                .strip_prefix("=?UTF-8?B?")
                .and_then(|w| w.strip_suffix("?="))
                .expect("an encoded-word");
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .expect("base64");
            // Each word decodes on its own: no character is split across two.
            decoded.push_str(&String::from_utf8(bytes).expect("whole UTF-8 characters"));
        }
        assert_eq!(decoded, title);
    }
}
