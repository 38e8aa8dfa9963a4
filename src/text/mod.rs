//! Text utilities shared by several rooms, at the bottom of the house: imports nothing of the
//! crate, so `rules`, `places`, `story`, `feed`, `alert` and `config` can all depend on it
//! without depending on each other.
//!
//! - `normalize`: the one normalization rule terms, gazetteer forms, fingerprints and item
//!   text go through (NFKC, case and diacritics folding), so they always agree;
//! - [`truncate_chars`], [`truncate_bytes`]: cutting feed text to a receiver's limit, between
//!   grapheme clusters;
//! - [`for_terminal`]: feed text made safe to print on an operator's terminal;
//! - `url`: canonical article links (tracking parameters stripped) and log-safe URL redaction.

pub mod normalize;
pub mod url;

pub use normalize::normalize;
pub use url::{StripParams, canonical_link, canonical_link_with, redact_url, url_origin};

/// Cuts `text` to at most `max` characters (Unicode scalar values, what the receivers'
/// limits count), the `…` that marks the cut included. The cut falls between grapheme
/// clusters: an emoji with its modifiers, a flag or a letter with its combining accents is
/// kept whole or left out whole, never split into a different symbol.
pub fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    cut_graphemes(text, |kept, grapheme| {
        kept.chars().count() + grapheme.chars().count() < max
    })
}

/// Cuts `text` to at most `max` bytes of UTF-8, the `…` that marks the cut included, between
/// grapheme clusters (so never inside a character either).
pub fn truncate_bytes(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    cut_graphemes(text, |kept, grapheme| {
        kept.len() + grapheme.len() + '…'.len_utf8() <= max
    })
}

/// The longest prefix of whole grapheme clusters that `fits` (asked with the prefix so far and
/// the next cluster), trailing whitespace dropped, then `…`. With `max` of 0 there is no room
/// even for the mark; the result is then `…` alone, one over: callers never ask for 0.
fn cut_graphemes(text: &str, fits: impl Fn(&str, &str) -> bool) -> String {
    use unicode_segmentation::UnicodeSegmentation as _;
    let mut end = 0;
    for (start, grapheme) in text.grapheme_indices(true) {
        if !fits(&text[..start], grapheme) {
            break;
        }
        end = start + grapheme.len();
    }
    let mut out = text[..end].trim_end().to_string();
    out.push('…');
    out
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
    use super::{truncate_bytes, truncate_chars};

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
    fn truncation_keeps_the_limit_and_whole_grapheme_clusters() {
        assert_eq!(truncate_chars("Казахстан", 4), "Каз…");
        assert_eq!(truncate_chars("short", 10), "short");
        assert_eq!(truncate_chars("exactly10!", 10), "exactly10!");
        let long = "x".repeat(1500);
        assert_eq!(truncate_chars(&long, 1000).chars().count(), 1000);
        // A family emoji is 7 chars (4 people, 3 joiners); a flag is 2; "é" written as e and
        // a combining accent is 2. None may be split.
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}\u{200D}\u{1F466}";
        let text = format!("ab{family}cd");
        assert_eq!(truncate_chars(&text, 5), "ab…");
        assert_eq!(truncate_chars(&text, 10), format!("ab{family}…"));
        assert_eq!(truncate_chars("ab\u{1F1F0}\u{1F1FF}cd", 4), "ab…");
        assert_eq!(truncate_chars("cafe\u{301} au lait", 5), "caf…");
        assert_eq!(truncate_bytes(&text, 10), "ab…");
        assert_eq!(truncate_bytes("Казахстан", 9), "Каз…");
        assert_eq!(truncate_bytes("short", 5), "short");
    }
}
