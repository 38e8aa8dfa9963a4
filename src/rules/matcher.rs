//! One-pass term finder: a single Aho-Corasick automaton over every word term of every rule
//! (and one `RegexSet` over every regex), run once over each normalized field, so the cost per
//! item does not grow with the number of rules.
//!
//! The result, [`Found`], says which terms occur in which fields and where (word positions),
//! which is all that rule evaluation needs. [`Matcher::scan_naive`] computes the same thing
//! the slow, obvious way, as the reference the fast path is tested against.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::{RegexSet, RegexSetBuilder};

use super::RuleError;
use super::compile::{REGEX_SIZE_LIMIT, TermId, TermKey};
use super::parse::{Field, FieldMask};
use crate::model::Item;
use crate::text::normalize::{cased_into, normalize_into};

/// One occurrence of a term: in which searched text (`seg`, an index into
/// [`Found::seg_fields`]) and at which word positions (`start..end`). Regex hits carry no
/// positions (both 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Hit {
    pub term: TermId,
    pub seg: u32,
    pub start: u32,
    pub end: u32,
}

/// The terms occurring in one item.
#[derive(Debug, Default)]
pub(crate) struct Found {
    /// Sorted by (term, seg, start), deduplicated.
    pub hits: Vec<Hit>,
    /// Sorted by term: each found term with the fields it occurs in.
    pub terms: Vec<(TermId, FieldMask)>,
    /// The field of each searched text, indexed by [`Hit::seg`].
    pub seg_fields: Vec<Field>,
}

impl Found {
    fn finish(mut hits: Vec<Hit>, seg_fields: Vec<Field>) -> Found {
        hits.sort_unstable();
        hits.dedup();
        let mut terms: Vec<(TermId, FieldMask)> = Vec::new();
        for hit in &hits {
            let bit = seg_fields.get(hit.seg as usize).map_or(0, |f| f.bit());
            match terms.last_mut() {
                Some((id, mask)) if *id == hit.term => *mask |= bit,
                _ => terms.push((hit.term, bit)),
            }
        }
        Found {
            hits,
            terms,
            seg_fields,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    pub(crate) fn term_ids(&self) -> impl Iterator<Item = TermId> + '_ {
        self.terms.iter().map(|(id, _)| *id)
    }

    /// The fields `term` occurs in (0 if none).
    pub(crate) fn fields_of(&self, term: TermId) -> FieldMask {
        self.terms
            .binary_search_by_key(&term, |(id, _)| *id)
            .map_or(0, |i| self.terms[i].1)
    }

    fn hits_of(&self, term: TermId) -> &[Hit] {
        let start = self.hits.partition_point(|h| h.term < term);
        let len = self.hits[start..].partition_point(|h| h.term == term);
        &self.hits[start..start + len]
    }

    fn field_bit(&self, seg: u32) -> FieldMask {
        self.seg_fields.get(seg as usize).map_or(0, |f| f.bit())
    }

    /// NEAR/ONEAR: two non-overlapping occurrences in the same field value, at most `slop`
    /// words between them (`ordered`: the left one first).
    pub(crate) fn near(
        &self,
        left: &[(TermId, FieldMask)],
        right: &[(TermId, FieldMask)],
        slop: u32,
        ordered: bool,
    ) -> bool {
        for &(l, lfields) in left {
            for a in self.hits_of(l) {
                if self.field_bit(a.seg) & lfields == 0 {
                    continue;
                }
                for &(r, rfields) in right {
                    for b in self.hits_of(r) {
                        if b.seg != a.seg || self.field_bit(b.seg) & rfields == 0 {
                            continue;
                        }
                        let close = if a.end <= b.start {
                            b.start - a.end <= slop
                        } else if !ordered && b.end <= a.start {
                            a.start - b.end <= slop
                        } else {
                            false
                        };
                        if close {
                            return true;
                        }
                    }
                }
            }
        }
        false
    }
}

/// What the matcher needs to know about a term beyond its automaton pattern.
#[derive(Debug, Clone)]
enum TermInfo {
    Words {
        tokens: u32,
        prefix: bool,
        cased: Option<Box<[String]>>,
        /// Longer country names that hide this one where they cover it (see
        /// [`crate::places::longer_names`]); their terms come after the dictionary's.
        hidden_by: Box<[TermId]>,
    },
    Regex,
}

/// The texts of an item that are searched, each with its field; multi-valued fields
/// (categories, authors) are separate texts so that a phrase never spans two values.
pub(crate) fn segments(item: &Item) -> impl Iterator<Item = (Field, &str)> {
    [
        (Field::Title, item.title.as_str()),
        (Field::Summary, item.summary.as_str()),
        (Field::Content, item.content.as_str()),
    ]
    .into_iter()
    .chain(
        item.categories
            .iter()
            .map(|c| (Field::Category, c.as_str())),
    )
    .chain(item.authors.iter().map(|a| (Field::Author, a.as_str())))
    .chain(item.link.iter().map(|l| (Field::Link, l.as_str())))
    .chain(std::iter::once((Field::Feed, item.feed.as_str())))
}

#[derive(Debug)]
pub(crate) struct Matcher {
    /// `None` when there are no word terms: the automaton would match nothing anyway.
    automaton: Option<AhoCorasick>,
    /// For each automaton pattern, the terms sharing it (`kazakh`, `kazakh*`, `=Kazakh`).
    patterns: Vec<Box<[TermId]>>,
    /// The dictionary, indexed by term id.
    keys: Vec<TermKey>,
    info: Vec<TermInfo>,
    regexes: Option<RegexSet>,
    /// For each regex of the set, its term.
    regex_terms: Vec<TermId>,
    /// Fields some term is scoped to; the others are not searched at all.
    fields_used: FieldMask,
    /// Whether word positions are needed (some rule uses NEAR or exact case, or some term
    /// can be hidden by a longer name).
    positions: bool,
    /// Whether some term has `hidden_by` entries.
    hiding: bool,
}

impl Matcher {
    /// `place_patterns`: the patterns of terms that came from place references, which a longer
    /// country name can hide.
    pub(crate) fn new(
        mut keys: Vec<TermKey>,
        fields_used: FieldMask,
        positions: bool,
        place_patterns: &std::collections::HashSet<String>,
    ) -> Result<Matcher, RuleError> {
        // The longer names become terms of their own, after the dictionary's, that no rule
        // names: found like any term, used only to hide the shorter one.
        let mut hidden_by: Vec<Box<[TermId]>> = vec![Box::default(); keys.len()];
        let mut longer_keys: Vec<TermKey> = Vec::new();
        let mut longer_ids: std::collections::HashMap<TermKey, TermId> =
            std::collections::HashMap::new();
        for (key, hidden) in keys.iter().zip(hidden_by.iter_mut()) {
            let TermKey::Words {
                pattern, prefix, ..
            } = key
            else {
                continue;
            };
            if !place_patterns.contains(pattern) {
                continue;
            }
            let longer = crate::places::longer_names(pattern, *prefix);
            let mut ids = Vec::with_capacity(longer.len());
            for name in longer.iter() {
                let key = TermKey::Words {
                    pattern: name.pattern.clone(),
                    prefix: name.prefix,
                    cased: None,
                };
                let next = TermId::try_from(keys.len() + longer_keys.len()).map_err(|_| {
                    RuleError::TooLarge {
                        message: "more than 2^32 distinct terms".to_owned(),
                    }
                })?;
                let id = *longer_ids.entry(key.clone()).or_insert_with(|| {
                    longer_keys.push(key);
                    next
                });
                ids.push(id);
            }
            *hidden = ids.into_boxed_slice();
        }
        keys.extend(longer_keys);
        hidden_by.resize(keys.len(), Box::default());
        let hiding = hidden_by.iter().any(|h| !h.is_empty());
        let positions = positions || hiding;
        let mut index = std::collections::HashMap::new();
        let mut strings: Vec<&str> = Vec::new();
        let mut patterns: Vec<Vec<TermId>> = Vec::new();
        let mut info = Vec::with_capacity(keys.len());
        let mut regex_patterns = Vec::new();
        let mut regex_terms = Vec::new();
        for (id, key) in keys.iter().enumerate() {
            let id = TermId::try_from(id).map_err(|_| RuleError::TooLarge {
                message: "more than 2^32 distinct terms".to_owned(),
            })?;
            match key {
                TermKey::Words {
                    pattern,
                    prefix,
                    cased,
                } => {
                    let slot = *index.entry(pattern.as_str()).or_insert_with(|| {
                        strings.push(pattern.as_str());
                        patterns.push(Vec::new());
                        patterns.len() - 1
                    });
                    patterns[slot].push(id);
                    info.push(TermInfo::Words {
                        tokens: u32::try_from(pattern.split(' ').count()).unwrap_or(u32::MAX),
                        prefix: *prefix,
                        cased: cased.clone().map(Vec::into_boxed_slice),
                        hidden_by: std::mem::take(&mut hidden_by[id as usize]),
                    });
                }
                TermKey::Regex(pattern) => {
                    regex_patterns.push(pattern.as_str());
                    regex_terms.push(id);
                    info.push(TermInfo::Regex);
                }
            }
        }
        // Standard semantics is required for overlapping search, and overlapping search is
        // required so that `abraham` and `abraham accords` starting at the same place are both
        // reported; leftmost semantics would report only one of them. A contiguous NFA rather
        // than a DFA: building a DFA over 10,000s of patterns costs far more time and memory
        // than it saves on ~1 KB texts.
        let automaton = if strings.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::ContiguousNFA))
                    .build(&strings)
                    .map_err(|e| RuleError::TooLarge {
                        message: e.to_string(),
                    })?,
            )
        };
        let regexes = if regex_patterns.is_empty() {
            None
        } else {
            Some(
                RegexSetBuilder::new(&regex_patterns)
                    .size_limit(REGEX_SIZE_LIMIT.saturating_mul(regex_patterns.len()))
                    .build()
                    .map_err(|e| RuleError::TooLarge {
                        message: format!("the rules' regexes together: {e}"),
                    })?,
            )
        };
        drop(strings);
        Ok(Matcher {
            automaton,
            patterns: patterns.into_iter().map(Vec::into_boxed_slice).collect(),
            keys,
            info,
            regexes,
            regex_terms,
            fields_used,
            positions,
            hiding,
        })
    }

    /// Drops the hits of names lying inside a hit of a longer country name that hides them:
    /// *Guinea* in *Papua New Guinea* is not Guinea.
    fn drop_hidden(&self, hits: &mut Vec<Hit>) {
        let hidable = |hit: &Hit| {
            matches!(self.info.get(hit.term as usize),
                Some(TermInfo::Words { hidden_by, .. }) if !hidden_by.is_empty())
        };
        // Most items hold no name that a longer one could hide: no copy for them.
        if !self.hiding || !hits.iter().any(hidable) {
            return;
        }
        let covering: Vec<Hit> = hits.clone();
        hits.retain(|hit| {
            let Some(TermInfo::Words { hidden_by, .. }) = self.info.get(hit.term as usize) else {
                return true;
            };
            !covering.iter().any(|other| {
                other.seg == hit.seg
                    && other.start <= hit.start
                    && other.end >= hit.end
                    && hidden_by.contains(&other.term)
            })
        });
    }

    pub(crate) fn key(&self, id: TermId) -> Option<&TermKey> {
        self.keys.get(id as usize)
    }

    /// Every term occurring in `item`: each searched text normalized once and scanned once by
    /// the automaton (and once by the regex set, if there are regexes).
    pub(crate) fn scan(&self, item: &Item) -> Found {
        let mut hits = Vec::new();
        let mut seg_fields = Vec::new();
        let mut norm = String::new();
        let mut cased = String::new();
        let mut starts: Vec<u32> = Vec::new();
        let mut cased_words: Vec<(u32, u32)> = Vec::new();
        for (seg, (field, text)) in segments(item).enumerate() {
            seg_fields.push(field);
            if self.fields_used & field.bit() == 0 || text.is_empty() {
                continue;
            }
            let seg = u32::try_from(seg).unwrap_or(u32::MAX);
            if let Some(regexes) = &self.regexes {
                for index in regexes.matches(text).iter() {
                    if let Some(&term) = self.regex_terms.get(index) {
                        hits.push(Hit {
                            term,
                            seg,
                            start: 0,
                            end: 0,
                        });
                    }
                }
            }
            let Some(automaton) = &self.automaton else {
                continue;
            };
            normalize_into(text, &mut norm);
            let bytes = norm.as_bytes();
            starts.clear();
            if self.positions {
                word_starts(&norm, &mut starts);
            }
            let mut cased_ready = false;
            for m in automaton.find_overlapping_iter(norm.as_str()) {
                // Tokens are separated by exactly one space, so a word boundary is a space or
                // an end.
                let starts_word = m.start() == 0 || bytes.get(m.start() - 1) == Some(&b' ');
                if !starts_word {
                    continue;
                }
                let ends_word = bytes.get(m.end()).is_none_or(|&b| b == b' ');
                let Some(terms) = self.patterns.get(m.pattern().as_usize()) else {
                    continue;
                };
                let position = if self.positions {
                    starts
                        .binary_search(&u32::try_from(m.start()).unwrap_or(u32::MAX))
                        .unwrap_or(0) as u32
                } else {
                    0
                };
                for &term in terms.iter() {
                    let Some(TermInfo::Words {
                        tokens,
                        prefix,
                        cased: exact,
                        ..
                    }) = self.info.get(term as usize)
                    else {
                        continue;
                    };
                    if !prefix && !ends_word {
                        continue;
                    }
                    if let Some(exact) = exact {
                        if !cased_ready {
                            cased_into(text, &mut cased);
                            word_spans(&cased, &mut cased_words);
                            // Token i of the cased text is token i of the normalized one
                            // unless case mapping changed the tokenization (never for
                            // real text); then no exact-case term can be verified here.
                            if cased_words.len() != starts.len() {
                                cased_words.clear();
                            }
                            cased_ready = true;
                        }
                        let words = cased_words
                            .iter()
                            .map(|&(s, e)| &cased[s as usize..e as usize]);
                        if !cased_match(words, position as usize, exact, *prefix) {
                            continue;
                        }
                    }
                    hits.push(Hit {
                        term,
                        seg,
                        start: position,
                        end: position + tokens,
                    });
                }
            }
        }
        self.drop_hidden(&mut hits);
        Found::finish(hits, seg_fields)
    }

    /// The same result as [`Matcher::scan`], computed without the automaton or the regex set:
    /// every term compared word by word at every position of every field. Only for the
    /// property tests; it is slow on purpose.
    #[cfg(test)]
    pub(crate) fn scan_naive(&self, item: &Item) -> Found {
        let mut hits = Vec::new();
        let mut seg_fields = Vec::new();
        for (seg, (field, text)) in segments(item).enumerate() {
            seg_fields.push(field);
            let seg = seg as u32;
            let norm = crate::text::normalize(text);
            let words: Vec<&str> = norm.split(' ').filter(|w| !w.is_empty()).collect();
            let mut cased = String::new();
            cased_into(text, &mut cased);
            let cased_words: Vec<&str> = cased.split(' ').filter(|w| !w.is_empty()).collect();
            let aligned = cased_words.len() == words.len();
            for (id, key) in self.keys.iter().enumerate() {
                let id = id as TermId;
                match key {
                    TermKey::Regex(pattern) => {
                        if regex::Regex::new(pattern).is_ok_and(|r| r.is_match(text)) {
                            hits.push(Hit {
                                term: id,
                                seg,
                                start: 0,
                                end: 0,
                            });
                        }
                    }
                    TermKey::Words {
                        pattern,
                        prefix,
                        cased: exact,
                    } => {
                        let want: Vec<&str> = pattern.split(' ').collect();
                        for start in 0..words.len() {
                            let Some(window) = words.get(start..start + want.len()) else {
                                break;
                            };
                            let last = want.len() - 1;
                            let ok = window.iter().zip(&want).enumerate().all(|(i, (w, t))| {
                                if i == last && *prefix {
                                    w.starts_with(t)
                                } else {
                                    w == t
                                }
                            });
                            let ok = ok
                                && exact.as_ref().is_none_or(|exact| {
                                    aligned
                                        && cased_match(
                                            cased_words.iter().copied(),
                                            start,
                                            exact,
                                            *prefix,
                                        )
                                });
                            if ok {
                                hits.push(Hit {
                                    term: id,
                                    seg,
                                    start: start as u32,
                                    end: (start + want.len()) as u32,
                                });
                            }
                        }
                    }
                }
            }
        }
        self.drop_hidden(&mut hits);
        let mut found = Found::finish(hits, seg_fields);
        if !self.positions {
            // The fast path records positions only when some rule needs them.
            for hit in &mut found.hits {
                hit.start = 0;
                hit.end = 0;
            }
            found.hits.sort_unstable();
            found.hits.dedup();
        }
        found
    }
}

/// Whether the words from `position` on have exactly the case of `exact` (the last one only
/// needs to start with it for a prefix term).
fn cased_match<'a>(
    words: impl Iterator<Item = &'a str>,
    position: usize,
    exact: &[String],
    prefix: bool,
) -> bool {
    let mut words = words.skip(position);
    exact.iter().enumerate().all(|(i, want)| {
        words.next().is_some_and(|word| {
            if prefix && i + 1 == exact.len() {
                word.starts_with(want.as_str())
            } else {
                word == want
            }
        })
    })
}

/// Byte offsets of the words of a normalized text.
fn word_starts(norm: &str, out: &mut Vec<u32>) {
    if norm.is_empty() {
        return;
    }
    out.push(0);
    out.extend(
        norm.bytes()
            .enumerate()
            .filter(|&(_, b)| b == b' ')
            .map(|(i, _)| (i + 1) as u32),
    );
}

/// Byte ranges of the words of a normalized (or case-kept) text.
fn word_spans(text: &str, out: &mut Vec<(u32, u32)>) {
    out.clear();
    let mut start = 0u32;
    for (i, b) in text.bytes().enumerate() {
        if b == b' ' {
            out.push((start, i as u32));
            start = i as u32 + 1;
        }
    }
    if !text.is_empty() {
        out.push((start, text.len() as u32));
    }
}
