//! What finds a story: an item's key, and the policy that says when an item joins one.

use crate::story::{Signature, fingerprint};

/// What identifies a new item's story, computed before the transaction.
#[derive(Debug, Clone, Default)]
pub struct StoryKey {
    /// MinHash of the headline and lead; `None` when they are too short to compare.
    pub signature: Option<Signature>,
    /// The canonical link: the same link in two feeds (or under a new guid) is the same item.
    pub link: Option<String>,
}

/// How stories are formed: the window and the similarity that joins one.
#[derive(Debug, Clone, Copy)]
pub struct StoryPolicy {
    /// A story can be joined until this many seconds after its last item.
    pub window_secs: i64,
    /// Estimated Jaccard similarity at which an item joins a story.
    pub threshold: f64,
}

impl Default for StoryPolicy {
    fn default() -> Self {
        StoryPolicy {
            window_secs: 3 * 24 * 3600,
            threshold: fingerprint::DEFAULT_THRESHOLD,
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
    }
}
