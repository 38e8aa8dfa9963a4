//! Text utilities shared by several rooms, at the bottom of the house: imports nothing of the
//! crate, so `rules`, `places`, `story`, `feed`, `alert` and `config` can all depend on it
//! without depending on each other.
//!
//! - `normalize`: the one normalization rule terms, gazetteer forms, fingerprints and item
//!   text go through (NFKC, case and diacritics folding), so they always agree;
//! - [`truncate_chars`]: cutting feed text to a receiver's limit;
//! - [`for_terminal`]: feed text made safe to print on an operator's terminal;
//! - `url`: canonical article links (tracking parameters stripped) and log-safe URL redaction.

pub mod normalize;
pub mod url;

pub use normalize::normalize;
pub use url::{StripParams, canonical_link, canonical_link_with, redact_url, url_origin};

/// Cuts `text` to at most `max` characters, on a char boundary, marking the cut with `…`.
pub fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((cut, _)) => {
            let mut out = text[..cut].trim_end().to_string();
            out.push('…');
            out
        }
    }
}

/// `text` on one line and safe to print on a terminal: line breaks and tabs become spaces, and
/// every other control character (ESC, BEL, C1 controls such as CSI, DEL) becomes `�`, so a
/// feed's title cannot retitle the window, clear the screen or move the cursor.
pub fn for_terminal(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::truncate_chars;

    #[test]
    fn terminal_text_has_no_control_characters() {
        let hostile = "Kazakhstan\u{1b}]0;owned\u{7}\u{1b}[2J joins\nthe\u{9b}31m Accords\u{7f}";
        let safe = super::for_terminal(hostile);
        assert!(!safe.chars().any(char::is_control), "{safe:?}");
        assert_eq!(
            safe,
            "Kazakhstan\u{FFFD}]0;owned\u{FFFD}\u{FFFD}[2J joins the\u{FFFD}31m Accords\u{FFFD}"
        );
        assert_eq!(
            super::for_terminal("Қазақстан, 哈萨克斯坦"),
            "Қазақстан, 哈萨克斯坦"
        );
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_chars("Казахстан", 4), "Каза…");
        assert_eq!(truncate_chars("short", 10), "short");
    }
}
