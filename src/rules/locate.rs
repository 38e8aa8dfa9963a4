//! The item's own words for a term the matcher found: `Turkménistan` where the rule's
//! reference holds `turkmenistan`, `Kazakhstan's` read as `Kazakhstan`. Run only for what is
//! reported (a matched rule's terms, an explanation printed), never on the matching path, so
//! it may re-read a field the slow, simple way.

use super::compile::{TermId, TermKey};
use super::matcher::{Found, Matcher, segments};
use super::parse::FieldMask;
use crate::model::Item;
use crate::text::normalize::{cased_into, normalize_into, token_spans};

/// At most this many distinct texts are quoted per term: enough to show the variants used,
/// few enough that an item repeating a name fifty times stays one short line.
pub(crate) const MAX_QUOTES: usize = 5;

/// One searched text of an item, read again for quoting.
struct Segment<'i> {
    text: &'i str,
    /// Normalized tokens.
    words: Vec<String>,
    /// Tokens with their case, for exact-case terms; empty unless needed.
    cased: Option<Vec<String>>,
    /// Byte range in `text` of each token, when it can be mapped exactly.
    spans: Option<Vec<(usize, usize)>>,
}

/// Quotes the found terms of one item, reading each field at most once.
pub(crate) struct Locator<'i> {
    item: &'i Item,
    segments: Vec<Option<Segment<'i>>>,
}

impl<'i> Locator<'i> {
    pub(crate) fn new(item: &'i Item) -> Locator<'i> {
        Locator {
            item,
            segments: Vec::new(),
        }
    }

    /// Appends to `out` the texts of `item` where `term` was found within `fields`, distinct,
    /// in field order, until `out` holds [`MAX_QUOTES`].
    pub(crate) fn quote(
        &mut self,
        matcher: &Matcher,
        found: &Found,
        term: TermId,
        fields: FieldMask,
        out: &mut Vec<String>,
    ) {
        let Some(key) = matcher.key(term) else {
            return;
        };
        let start = found.hits.partition_point(|h| h.term < term);
        let mut segs: Vec<u32> = found.hits[start..]
            .iter()
            .take_while(|h| h.term == term)
            .filter(|h| {
                found
                    .seg_fields
                    .get(h.seg as usize)
                    .is_some_and(|f| f.bit() & fields != 0)
            })
            .map(|h| h.seg)
            .collect();
        segs.dedup();
        for seg in segs {
            if out.len() >= MAX_QUOTES {
                return;
            }
            let cased = matches!(key, TermKey::Words { cased: Some(_), .. });
            let Some(segment) = self.segment(seg as usize, cased) else {
                continue;
            };
            match key {
                TermKey::Regex(pattern) => {
                    // The pattern compiled when the rule did; this only guards a change there.
                    let Ok(regex) = regex::Regex::new(pattern) else {
                        continue;
                    };
                    for m in regex.find_iter(segment.text) {
                        push(out, m.as_str());
                    }
                }
                TermKey::Words {
                    pattern,
                    prefix,
                    cased: exact,
                } => {
                    let want: Vec<&str> = pattern.split(' ').collect();
                    let last = want.len().saturating_sub(1);
                    for at in 0..segment.words.len() {
                        let Some(window) = segment.words.get(at..at + want.len()) else {
                            break;
                        };
                        let words_ok = window.iter().zip(&want).enumerate().all(|(i, (w, t))| {
                            if i == last && *prefix {
                                w.starts_with(t)
                            } else {
                                w == t
                            }
                        });
                        let case_ok = exact.as_ref().is_none_or(|exact| {
                            segment.cased.as_ref().is_some_and(|cased| {
                                cased.get(at..at + exact.len()).is_some_and(|words| {
                                    words.iter().zip(exact).enumerate().all(|(i, (w, t))| {
                                        if i == last && *prefix {
                                            w.starts_with(t.as_str())
                                        } else {
                                            w == t
                                        }
                                    })
                                })
                            })
                        });
                        if words_ok && case_ok {
                            let end = at + want.len() - 1;
                            match &segment.spans {
                                Some(spans) => {
                                    let (Some(&(s, _)), Some(&(_, e))) =
                                        (spans.get(at), spans.get(end))
                                    else {
                                        continue;
                                    };
                                    push(out, segment.text.get(s..e).unwrap_or_default());
                                }
                                None => push(out, &window.join(" ")),
                            }
                        }
                        if out.len() >= MAX_QUOTES {
                            return;
                        }
                    }
                }
            }
        }
    }

    fn segment(&mut self, seg: usize, cased: bool) -> Option<&Segment<'i>> {
        if self.segments.len() <= seg {
            self.segments.resize_with(seg + 1, || None);
        }
        let slot = self.segments.get_mut(seg)?;
        if slot.is_none() {
            let (_, text) = segments(self.item).nth(seg)?;
            let mut norm = String::new();
            normalize_into(text, &mut norm);
            *slot = Some(Segment {
                text,
                words: norm
                    .split(' ')
                    .filter(|w| !w.is_empty())
                    .map(str::to_owned)
                    .collect(),
                cased: None,
                spans: token_spans(text),
            });
        }
        let segment = slot.as_mut()?;
        if cased && segment.cased.is_none() {
            let mut text = String::new();
            cased_into(segment.text, &mut text);
            let words: Vec<String> = text
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect();
            // As in the matcher: token i must be token i of the normalized text.
            segment.cased = Some(if words.len() == segment.words.len() {
                words
            } else {
                Vec::new()
            });
        }
        Some(segment)
    }
}

/// Adds `text` (on one line, trimmed) unless it is empty or already there.
fn push(out: &mut Vec<String>, text: &str) {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if !text.is_empty() && !out.contains(&text) && out.len() < MAX_QUOTES {
        out.push(text);
    }
}
