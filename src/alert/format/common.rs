//! What the formats share: text cutting and escaping, JSON bodies, and the serde plumbing
//! that lets the registry read a format's keys and word errors like serde does.

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde_json::Value;

/// A JSON body; `{}` if it cannot be serialized (it always can: it is built from values).
pub(super) fn json_body(body: &Value) -> String {
    serde_json::to_string(body).unwrap_or_else(|_| "{}".into())
}

/// Whitespace (newlines included) collapsed to single spaces: titles are one line.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most `max` characters, `…` included, cut between grapheme clusters.
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

/// At most `max` bytes of UTF-8, cut between grapheme clusters with `…`.
pub(crate) fn cut_bytes(text: &str, max: usize) -> String {
    crate::text::truncate_bytes(text, max)
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

/// `head` and as many whole `entries` as fit in `max` characters, joined by `separator`, then
/// "… and K more" for the rest (room for the note is kept, so it is never cut).
pub(crate) fn fit_list(head: &str, entries: &[String], separator: &str, max: usize) -> String {
    let len = |s: &str| s.chars().count();
    let mut out = head.to_string();
    let mut shown = 0;
    for (i, entry) in entries.iter().enumerate() {
        let sep = if shown == 0 { "" } else { separator };
        // The room the note needs if this entry is the last to fit.
        let rest = entries.len() - i - 1;
        let note = more_note(0, rest).map_or(0, |n| len(separator) + len(&n));
        if len(&out) + len(sep) + len(entry) + note > max {
            break;
        }
        out.push_str(sep);
        out.push_str(entry);
        shown += 1;
    }
    if let Some(note) = more_note(shown, entries.len()) {
        if shown > 0 {
            out.push_str(separator);
        }
        out.push_str(&note);
    }
    out
}

/// The keys of a `#[derive(Deserialize)]` struct, read from what its derived impl asks the
/// deserializer for; no list to keep in step with the struct.
pub(in crate::alert) fn field_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut fields: &'static [&'static str] = &[];
    // The capture always ends the deserialization with an error: that is how it stops.
    let _ = T::deserialize(FieldNames(&mut fields));
    fields
}

struct FieldNames<'a>(&'a mut &'static [&'static str]);

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = fields;
        Err(de::Error::custom("fields captured"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// "unknown variant `x`, expected one of `a`, `b`", worded as serde words it (serde's own
/// helper wants a `'static` list), so it reads like the TOML schema's other errors.
pub(super) fn unknown_variant(name: &str, expected: &[&str]) -> String {
    match expected {
        [] => format!("unknown variant `{name}`, there are no variants"),
        _ => format!("unknown variant `{name}`, expected {}", one_of(expected)),
    }
}

/// "unknown field `x`, expected one of `a`, `b`", worded as serde words it.
pub(super) fn unknown_field(name: &str, expected: &[&str]) -> String {
    match expected {
        [] => format!("unknown field `{name}`, there are no fields"),
        _ => format!("unknown field `{name}`, expected {}", one_of(expected)),
    }
}

fn one_of(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    match quoted.as_slice() {
        [one] => one.clone(),
        [a, b] => format!("{a} or {b}"),
        _ => format!("one of {}", quoted.join(", ")),
    }
}

/// The options of a format that has none: any key of its own is refused as unknown.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NoOptions {}
