//! MinHash signatures of an item's headline and lead, and their LSH band keys.
//!
//! Two reports of one story share most of their *content words* (names, places, numbers, the
//! verb of the event) even when the headline is rewritten, while two different stories about
//! the same country share only the country. So the text is normalized (the same normalizer as
//! rules), wire furniture ("BREAKING:", "UPDATE 2-", "| Outlet") is dropped, stop words are
//! removed, and the remaining words are shingled. The Jaccard similarity of two shingle sets is
//! estimated by MinHash; LSH banding finds the candidates without comparing every pair.
//!
//! Hashes must be stable across releases and machines, because band keys and signatures are
//! stored in the database: everything here is hand-rolled from fixed constants (FNV-1a and
//! SplitMix64), not `std`'s `DefaultHasher`, whose algorithm may change.

use std::collections::HashSet;

use crate::text::normalize;

/// Hash functions per signature. 96 × 4 bytes = 384 bytes per stored signature.
pub const NUM_HASHES: usize = 96;
/// LSH bands of ROWS hashes each, over the first BANDS × ROWS hashes of the signature. Content
/// words of two reports of one story overlap far less than shingles of copied pages (measured
/// Jaccard 0.3–0.5, see docs/stories.md), so bands are narrow: with 32 × 2 a pair at Jaccard
/// 0.35 becomes a candidate with probability 1 − (1 − 0.35²)³² ≈ 0.985, at 0.5 ≈ 0.9999.
/// Candidates are then verified on all NUM_HASHES values.
pub const BANDS: usize = 32;
pub const ROWS: usize = 2;
/// The similarity at or above which an item joins an earlier item's story. Chosen on the
/// labelled set (`cargo bench --bench stories`) as the lowest threshold with no false merge:
/// merging two different stories loses an alert, while a missed merge costs one extra alert.
pub const DEFAULT_THRESHOLD: f64 = 0.30;

/// Characters of the lead (after the headline) that take part: the first sentence or two
/// carry the story; later text is boilerplate, bylines and "read more" far too often.
const LEAD_CHARS: usize = 320;

/// Below this many content words a text says too little to be compared: two bare headlines
/// such as "Kazakhstan weighs the Abraham Accords" and "Uzbekistan weighs the Abraham Accords"
/// share most of their few words yet are different stories. Such items join a story only by
/// their link. (6 of the 189 items of the labelled set are this short.)
const MIN_SHINGLES: usize = 8;

/// How a fingerprint text is cut into the pieces whose overlap is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shingling {
    /// Content words (stop words dropped), each word one shingle: robust to reordering and
    /// rewording, the best measured on our labelled set (see docs/stories.md).
    Words,
    /// Pairs of consecutive content words: stricter, fewer false merges, lower recall.
    WordPairs,
    /// Character n-grams of the normalized text (spaces included).
    Chars(usize),
}

/// A MinHash signature: for each hash function, the minimum over the text's shingles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature(pub [u32; NUM_HASHES]);

/// Makes signatures; cheap to build, immutable, shareable.
#[derive(Debug, Clone)]
pub struct Fingerprinter {
    shingling: Shingling,
    /// (multiplier, addend) per hash function; multipliers are odd.
    hashers: [(u64, u64); NUM_HASHES],
}

impl Default for Fingerprinter {
    fn default() -> Self {
        Fingerprinter::new(Shingling::Words)
    }
}

impl Fingerprinter {
    pub fn new(shingling: Shingling) -> Fingerprinter {
        let mut state = 0x5745_5441_4348_574Fu64; // fixed seed: signatures are stored
        let mut hashers = [(0u64, 0u64); NUM_HASHES];
        for h in &mut hashers {
            *h = (splitmix64(&mut state) | 1, splitmix64(&mut state));
        }
        Fingerprinter { shingling, hashers }
    }

    pub fn shingling(&self) -> Shingling {
        self.shingling
    }

    /// The signature of an item's headline and lead, or `None` when they say too little to
    /// be compared with anything (such an item is its own story).
    pub fn signature(&self, title: &str, summary: &str) -> Option<Signature> {
        let text = fingerprint_text(title, summary);
        let shingles = self.shingles(&text);
        if shingles.len() < MIN_SHINGLES {
            return None;
        }
        let mut mins = [u32::MAX; NUM_HASHES];
        for &s in &shingles {
            for (min, &(a, b)) in mins.iter_mut().zip(&self.hashers) {
                // Multiply-shift hashing: the high 32 bits of a·x + b (a odd) form a
                // universal family, which is all MinHash needs.
                let h = (a.wrapping_mul(s).wrapping_add(b) >> 32) as u32;
                if h < *min {
                    *min = h;
                }
            }
        }
        Some(Signature(mins))
    }

    fn shingles(&self, text: &str) -> HashSet<u64> {
        let words: Vec<&str> = text
            .split(' ')
            .filter(|w| !w.is_empty() && !is_stop_word(w))
            .collect();
        match self.shingling {
            Shingling::Words => word_shingles(&words),
            Shingling::WordPairs => {
                if words.len() < 2 {
                    return words.iter().map(|w| fnv1a(w.as_bytes())).collect();
                }
                words
                    .windows(2)
                    .map(|p| fnv1a_pair(p[0].as_bytes(), p[1].as_bytes()))
                    .collect()
            }
            Shingling::Chars(n) => {
                let joined = words.join(" ");
                let chars: Vec<char> = joined.chars().collect();
                if chars.len() < n {
                    return std::iter::once(fnv1a(joined.as_bytes())).collect();
                }
                let mut buf = String::new();
                chars
                    .windows(n.max(1))
                    .map(|w| {
                        buf.clear();
                        buf.extend(w);
                        fnv1a(buf.as_bytes())
                    })
                    .collect()
            }
        }
    }
}

/// One shingle per content word, except in Chinese and Japanese: there every Han or Hiragana
/// character is its own token (the normalizer's), and single characters are shared by any two
/// texts on one subject (地震 "earthquake", 发射成功 "launched successfully"): the Kumamoto and
/// Sanriku quakes, or two Chinese launches, looked a third alike. A run of such characters
/// gives its pairs of neighbours instead, as CJK search indexes do; a run of one stays itself.
fn word_shingles(words: &[&str]) -> HashSet<u64> {
    let mut out = HashSet::with_capacity(words.len());
    let mut run: Vec<&str> = Vec::new();
    let flush = |run: &mut Vec<&str>, out: &mut HashSet<u64>| {
        match run.as_slice() {
            [] => {}
            [one] => {
                out.insert(fnv1a(one.as_bytes()));
            }
            many => out.extend(
                many.windows(2)
                    .map(|p| fnv1a_pair(p[0].as_bytes(), p[1].as_bytes())),
            ),
        }
        run.clear();
    };
    for word in words {
        if is_ideographic_char(word) {
            run.push(word);
        } else {
            flush(&mut run, &mut out);
            out.insert(fnv1a(word.as_bytes()));
        }
    }
    flush(&mut run, &mut out);
    out
}

/// A token that is one Han or Hiragana character: how the normalizer splits Chinese and
/// Japanese text.
fn is_ideographic_char(word: &str) -> bool {
    let mut chars = word.chars();
    matches!(
        (chars.next(), chars.next()),
        (
            Some(
                '\u{3040}'..='\u{309f}'
                | '\u{3400}'..='\u{4dbf}'
                | '\u{4e00}'..='\u{9fff}'
                | '\u{f900}'..='\u{faff}',
            ),
            None,
        )
    )
}

impl Signature {
    /// The estimated Jaccard similarity of the two texts' shingle sets.
    pub fn similarity(&self, other: &Signature) -> f64 {
        let same = self.0.iter().zip(&other.0).filter(|(a, b)| a == b).count();
        same as f64 / NUM_HASHES as f64
    }

    /// One key per band; two signatures that agree on every row of any band share that
    /// band's key. The band index is mixed in, so keys of different bands never collide by
    /// construction and one index column can hold them all.
    pub fn band_keys(&self) -> [i64; BANDS] {
        let mut keys = [0i64; BANDS];
        for (band, key) in keys.iter_mut().enumerate() {
            let mut h = 0xcbf2_9ce4_8422_2325u64 ^ band as u64;
            for &v in &self.0[band * ROWS..(band + 1) * ROWS] {
                h = mix(h ^ u64::from(v));
            }
            // SQLite integers are signed 64-bit; the bit pattern is what matters.
            *key = h as i64;
        }
        keys
    }

    /// Little-endian bytes, for a BLOB column.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// The inverse of [`Signature::to_bytes`]; `None` for a blob of the wrong size.
    pub fn from_bytes(bytes: &[u8]) -> Option<Signature> {
        if bytes.len() != NUM_HASHES * 4 {
            return None;
        }
        let mut values = [0u32; NUM_HASHES];
        for (v, chunk) in values.iter_mut().zip(bytes.chunks_exact(4)) {
            *v = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        }
        Some(Signature(values))
    }
}

/// Normalized headline + lead with wire furniture removed: what two reports of one story
/// have in common.
pub fn fingerprint_text(title: &str, summary: &str) -> String {
    let title = strip_headline_furniture(title);
    let lead = truncate_chars(summary, LEAD_CHARS);
    let mut text = normalize(title);
    let lead = normalize(lead);
    if !lead.is_empty() {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(&lead);
    }
    text
}

/// Drops what outlets add around a headline: "BREAKING:", "UPDATE 2-", "EXCLUSIVE-",
/// "WATCH:" in front and " | Outlet" / " - Outlet" behind.
fn strip_headline_furniture(title: &str) -> &str {
    let mut t = title.trim();
    loop {
        let upper_prefix: String = t.chars().take(24).collect();
        let cut = [
            "BREAKING",
            "UPDATE",
            "EXCLUSIVE",
            "WATCH",
            "LIVE",
            "CORRECTED",
            "URGENT",
        ]
        .iter()
        .find_map(|word| {
            let rest = upper_prefix.strip_prefix(word)?;
            // "UPDATE 2-", "BREAKING:", "EXCLUSIVE -"
            let skip: usize = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || matches!(c, ' ' | ':' | '-' | '—'))
                .map(char::len_utf8)
                .sum();
            let marker = rest[..skip].trim();
            (!marker.is_empty() && marker.chars().any(|c| matches!(c, ':' | '-' | '—')))
                .then_some(word.len() + skip)
        });
        match cut {
            Some(n) if n < t.len() => t = t[n..].trim_start(),
            _ => break,
        }
    }
    for separator in [" | ", " - ", " — ", " – "] {
        if let Some(pos) = t.rfind(separator) {
            let tail = &t[pos + separator.len()..];
            // An outlet name is short and has no sentence punctuation; a real clause after a
            // dash ("... - minister") is kept if it is long.
            if tail.chars().count() <= 30 && !tail.contains([',', ':', '?']) && pos > 20 {
                t = &t[..pos];
                break;
            }
        }
    }
    t
}

fn truncate_chars(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

/// Words that carry no story: articles, auxiliaries, prepositions, reporting verbs.
fn is_stop_word(word: &str) -> bool {
    const STOP: &[&str] = &[
        "a",
        "about",
        "after",
        "again",
        "against",
        "all",
        "also",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "before",
        "being",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "during",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "more",
        "most",
        "new",
        "no",
        "not",
        "now",
        "of",
        "on",
        "one",
        "or",
        "other",
        "our",
        "out",
        "over",
        "s",
        "said",
        "says",
        "say",
        "set",
        "she",
        "so",
        "some",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "up",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "will",
        "with",
        "would",
        "you",
        "your",
        "told",
        "according",
        "report",
        "reports",
        "reported",
        "news",
        "today",
        "week",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "officials",
        "official",
        "per",
        "cent",
        "via",
        // French, Russian, Spanish, German function words
        "le",
        "la",
        "les",
        "de",
        "des",
        "du",
        "et",
        "un",
        "une",
        "en",
        "au",
        "aux",
        "pour",
        "sur",
        "par",
        "est",
        "и",
        "в",
        "во",
        "на",
        "с",
        "со",
        "по",
        "к",
        "о",
        "об",
        "из",
        "за",
        "что",
        "как",
        "не",
        "для",
        "от",
        "до",
        "el",
        "los",
        "las",
        "del",
        "y",
        "con",
        "por",
        "una",
        "der",
        "die",
        "das",
        "und",
        "mit",
        "den",
        "dem",
        "von",
        "zu",
        "im",
        "ist",
    ];
    STOP.contains(&word)
}

/// A hash that is the same on every machine and release (FNV-1a, then SplitMix64's mix):
/// for anything derived from it that is stored in the database.
pub(crate) fn stable_hash(bytes: &[u8]) -> u64 {
    fnv1a(bytes)
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix(h)
}

fn fnv1a_pair(a: &[u8], b: &[u8]) -> u64 {
    mix(fnv1a(a) ^ fnv1a(b).rotate_left(29))
}

/// SplitMix64's finalizer: spreads FNV's weak low bits over the whole word.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    mix(*state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_and_japanese_text_is_compared_by_pairs_of_characters() {
        // Two different launches written alike: as single characters they share most of
        // their shingles (号, 发, 射, 成, 功 …); as pairs only 发射 and 成功.
        let words = |s: &str| -> Vec<String> { s.chars().map(String::from).collect() };
        let a = words("天舟十号货运飞船发射成功");
        let b = words("长征十号运载火箭首飞发射成功");
        let set = |w: &[String]| word_shingles(&w.iter().map(String::as_str).collect::<Vec<_>>());
        let (sa, sb) = (set(&a), set(&b));
        let shared = sa.intersection(&sb).count();
        // 十号, 发射, 射成, 成功
        assert_eq!(shared, 4, "{sa:?} {sb:?}");
        assert_eq!(sa.len(), a.len() - 1);
        // Other scripts keep one shingle per word, and a lone character stays itself.
        let mixed = word_shingles(&["tokayev", "访", "astana"]);
        assert_eq!(mixed.len(), 3);
    }

    #[test]
    fn identical_text_has_identical_signature_and_keys() {
        let f = Fingerprinter::default();
        let a = f.signature(
            "Kazakhstan to join the Abraham Accords",
            "Astana said on Tuesday it would join the normalisation pact with Israel.",
        );
        let b = f.signature(
            "Kazakhstan to join the Abraham Accords",
            "Astana said on Tuesday it would join the normalisation pact with Israel.",
        );
        assert_eq!(a, b);
        let a = a.expect("long enough");
        assert!((a.similarity(&b.expect("long enough")) - 1.0).abs() < f64::EPSILON);
    }

    #[test]
    fn wire_furniture_and_outlet_suffix_do_not_count() {
        assert_eq!(
            strip_headline_furniture(
                "UPDATE 2-Kazakhstan to join the Abraham Accords | Steppe Wire"
            ),
            "Kazakhstan to join the Abraham Accords"
        );
        assert_eq!(
            strip_headline_furniture("BREAKING: Kazakhstan to join the Abraham Accords"),
            "Kazakhstan to join the Abraham Accords"
        );
        // A word that merely starts like a marker is not one.
        assert_eq!(
            strip_headline_furniture("Updated rules for grain exports"),
            "Updated rules for grain exports"
        );
        // A short headline keeps its dash clause.
        assert_eq!(strip_headline_furniture("Rates - held"), "Rates - held");
    }

    #[test]
    fn signatures_survive_a_round_trip_through_bytes() {
        let f = Fingerprinter::default();
        let s = f
            .signature(
                "Uzbekistan signs gas deal with Gazprom",
                "The ten-year contract covers supplies to Tashkent.",
            )
            .expect("long enough");
        assert_eq!(Signature::from_bytes(&s.to_bytes()), Some(s));
        assert_eq!(Signature::from_bytes(&[1, 2, 3]), None);
    }

    #[test]
    fn the_seeded_hash_family_is_stable() {
        // Stored band keys depend on these values: changing the hashing needs a migration that
        // recomputes them.
        let f = Fingerprinter::default();
        let words = "alpha beta gamma delta epsilon zeta eta theta";
        let reversed = "theta eta zeta epsilon delta gamma beta alpha";
        let s = f.signature(words, "").expect("eight words");
        let r = f.signature(reversed, "").expect("eight words");
        assert_eq!(s.band_keys(), r.band_keys(), "a set: order does not matter");
        assert_eq!(fnv1a(b"kazakhstan"), fnv1a(b"kazakhstan"));
        assert_ne!(fnv1a(b"kazakhstan"), fnv1a(b"uzbekistan"));
    }

    #[test]
    fn a_rewritten_report_is_closer_than_another_story_about_the_same_country() {
        let f = Fingerprinter::default();
        let wire = f
            .signature(
                "Kazakhstan to join Abraham Accords, White House says",
                "Kazakhstan will join the Abraham Accords, the White House said on Tuesday, becoming the first Central Asian state to normalise ties with Israel under the pact.",
            )
            .expect("long");
        let rewrite = f
            .signature(
                "Kazakhstan set to become latest Abraham Accords member",
                "The White House said Kazakhstan will join the Abraham Accords, the first Central Asian country to normalise relations with Israel under the agreements.",
            )
            .expect("long");
        let other = f
            .signature(
                "Kazakhstan central bank holds key rate at 16.5%",
                "The National Bank of Kazakhstan kept its base rate unchanged on Tuesday, citing persistent inflation.",
            )
            .expect("long");
        assert!(wire.similarity(&rewrite) > wire.similarity(&other) + 0.2);
        let shared_bands = wire
            .band_keys()
            .iter()
            .zip(rewrite.band_keys().iter())
            .filter(|(a, b)| a == b)
            .count();
        assert!(shared_bands > 0, "the rewrite must be an LSH candidate");
    }

    #[test]
    fn too_short_texts_have_no_signature() {
        let f = Fingerprinter::default();
        assert_eq!(f.signature("Update", ""), None);
        assert_eq!(f.signature("", ""), None);
        assert_eq!(
            f.signature("Kazakhstan weighs the Abraham Accords", ""),
            None
        );
    }
}
