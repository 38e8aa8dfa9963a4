//! One-pass term finder: a single Aho-Corasick automaton over every term of every rule, run over
//! each normalized field, so the cost per item does not grow with the number of rules.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::RuleError;
use super::compile::{TermId, TermKey};

/// The terms an automaton pattern stands for: `kazakh` and `kazakh*` share one pattern and
/// differ only in whether the right word boundary is checked.
#[derive(Debug, Clone, Copy, Default)]
struct PatternTerms {
    exact: Option<TermId>,
    prefix: Option<TermId>,
}

#[derive(Debug)]
pub(crate) struct Matcher {
    /// `None` when there are no terms (no rules): the automaton would match nothing anyway.
    automaton: Option<AhoCorasick>,
    patterns: Vec<PatternTerms>,
}

impl Matcher {
    pub(crate) fn new(terms: &[TermKey]) -> Result<Matcher, RuleError> {
        let mut index = std::collections::HashMap::new();
        let mut strings: Vec<&str> = Vec::new();
        let mut patterns: Vec<PatternTerms> = Vec::new();
        for (id, key) in terms.iter().enumerate() {
            let id = TermId::try_from(id).map_err(|_| RuleError::TooLarge {
                message: "more than 2^32 distinct terms".to_owned(),
            })?;
            let slot = *index.entry(key.pattern.as_str()).or_insert_with(|| {
                strings.push(key.pattern.as_str());
                patterns.push(PatternTerms::default());
                patterns.len() - 1
            });
            let entry = &mut patterns[slot];
            if key.prefix {
                entry.prefix = Some(id);
            } else {
                entry.exact = Some(id);
            }
        }
        if strings.is_empty() {
            return Ok(Matcher {
                automaton: None,
                patterns,
            });
        }
        // Standard semantics is required for overlapping search, and overlapping search is
        // required so that `abraham` and `abraham accords` starting at the same place are both
        // reported; leftmost semantics would report only one of them.
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&strings)
            .map_err(|e| RuleError::TooLarge {
                message: e.to_string(),
            })?;
        Ok(Matcher {
            automaton: Some(automaton),
            patterns,
        })
    }

    /// Appends the ids of the terms occurring in `text`, which must be normalized (tokens
    /// separated by single spaces). Ids may repeat.
    pub(crate) fn scan(&self, text: &str, found: &mut Vec<TermId>) {
        let Some(automaton) = &self.automaton else {
            return;
        };
        let bytes = text.as_bytes();
        for m in automaton.find_overlapping_iter(text) {
            // Tokens are separated by exactly one space, so a word boundary is a space or an end.
            let starts_word = m.start() == 0 || bytes.get(m.start() - 1) == Some(&b' ');
            if !starts_word {
                continue;
            }
            let Some(terms) = self.patterns.get(m.pattern().as_usize()) else {
                continue;
            };
            if let Some(id) = terms.prefix {
                found.push(id);
            }
            if let Some(id) = terms.exact {
                let ends_word = bytes.get(m.end()).is_none_or(|&b| b == b' ');
                if ends_word {
                    found.push(id);
                }
            }
        }
    }
}
