//! Text utilities shared by several rooms, at the bottom of the house: imports nothing of the
//! crate, so `rules`, `places`, `story`, `feed`, `alert` and `config` can all depend on it
//! without depending on each other.
//!
//! - `normalize`: the one normalization rule terms, gazetteer forms, fingerprints and item
//!   text go through (NFKC, case and diacritics folding), so they always agree;
//! - [`truncate_chars`]: cutting feed text to a receiver's limit;
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

#[cfg(test)]
mod tests {
    use super::truncate_chars;

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_chars("Казахстан", 4), "Каза…");
        assert_eq!(truncate_chars("short", 10), "short");
    }
}
