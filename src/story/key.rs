//! What finds a story: an item's key, and the policy that says when an item joins one.

use crate::story::{Entities, Signature, fingerprint};

/// What identifies a new item's story, computed before the transaction.
#[derive(Debug, Clone, Default)]
pub struct StoryKey {
    /// MinHash of the headline and lead; `None` when they are too short to compare.
    pub signature: Option<Signature>,
    /// The canonical link: the same link in two feeds (or under a new guid) is the same item.
    pub link: Option<String>,
    /// The names the headline and lead mention, in any language.
    pub entities: Entities,
    /// When the report was published (unix seconds), if the feed says.
    pub published: Option<i64>,
    /// The language the headline and lead are written in (ISO 639-1), when it can be told:
    /// shown with the story's sources.
    pub lang: Option<String>,
}

/// The default `story_entity_similarity`: the weighted overlap of names at which a report in
/// other words (or another language) joins a story. Chosen on the dev half of the labelled
/// set (`cargo bench --bench events`), see docs/stories.md.
pub const DEFAULT_ENTITY_THRESHOLD: f64 = 0.75;

/// How far apart (seconds of publication time) two reports may be and still be joined by
/// their names alone: an event's coverage comes within hours, while the same names a day
/// later are more often the next event (the ministry's confirmation, the signing).
pub const DEFAULT_ENTITY_WINDOW_SECS: i64 = 12 * 3600;

/// How stories are formed: the window and the similarities that join one.
#[derive(Debug, Clone, Copy)]
pub struct StoryPolicy {
    /// A story can be joined until this many seconds after its last item.
    pub window_secs: i64,
    /// Estimated Jaccard similarity of content words at which an item joins a story.
    pub threshold: f64,
    /// Weighted overlap of names at which an item joins a story (above 1: never).
    pub entity_threshold: f64,
    /// The publication times of two reports joined by names alone are at most this far apart.
    pub entity_window_secs: i64,
}

impl Default for StoryPolicy {
    fn default() -> Self {
        StoryPolicy {
            window_secs: 3 * 24 * 3600,
            threshold: fingerprint::DEFAULT_THRESHOLD,
            entity_threshold: DEFAULT_ENTITY_THRESHOLD,
            entity_window_secs: DEFAULT_ENTITY_WINDOW_SECS,
        }
    }
}

#[cfg(test)]
mod tests {
    /// Config sits below the story room and keeps its own copy of the default similarity (it
    /// validates the key without knowing fingerprints): the two must not drift apart.
    #[test]
    fn the_configs_default_similarity_is_the_fingerprints() {
        assert_eq!(
            crate::config::DEFAULT_STORY_SIMILARITY,
            super::fingerprint::DEFAULT_THRESHOLD
        );
        assert_eq!(
            super::StoryPolicy::default().threshold,
            crate::config::DEFAULT_STORY_SIMILARITY
        );
        assert_eq!(
            super::DEFAULT_ENTITY_THRESHOLD,
            crate::config::DEFAULT_STORY_ENTITY_SIMILARITY
        );
    }
}
