use chrono::{DateTime, Utc};
use serde::Serialize;

/// One entry of a feed, normalized: everything downstream of the parser sees only this type.
///
/// Text fields are plain text (HTML stripped, entities decoded, whitespace folded); `link` is
/// canonical (see `feed::canonical`). `id` is stable across title edits: the feed's guid/id,
/// else the canonical link (when no other guid-less entry of the feed shares it), else a hash
/// of the publication date and the start of the summary or content (see `feed::parse`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// The configured name of the feed the item came from.
    pub feed: String,
    pub id: String,
    pub link: Option<String>,
    pub title: String,
    pub summary: String,
    pub content: String,
    /// Publication time, else the last update time the feed gave.
    pub published: Option<DateTime<Utc>>,
    pub authors: Vec<String>,
    pub categories: Vec<String>,
}

/// What a rule found of one of its terms, groups or place references in an item: the
/// payload's `matched_terms` entries.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MatchedTerm {
    /// As the rule has it: `Kazakh*`, `Abraham Accords`, `@central_asia`,
    /// `@region:central-asia`.
    pub term: String,
    /// The item's own words where it occurs (`Turkménistan`, `Kazakhstan`), not the spelling
    /// variant that matched them: distinct, at most 5.
    pub found: Vec<String>,
}
