//! The one normalizer shared by rule terms and item text.
//!
//! Matching is correct only because both sides go through exactly this code: a rule term is
//! compiled to the same canonical token string that an item field is turned into, so a term
//! occurs in a field iff its canonical string occurs there at token boundaries.
//!
//! Canonical form: tokens separated by a single ASCII space, no leading or trailing space. A
//! token is a maximal run of letters/digits of any script; every other character separates
//! tokens. Ideographic and kana characters are one token each because those scripts do not put
//! spaces between words, so a phrase of ideographs matches inside a longer run.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfd_quick, is_nfkc_quick};

/// Normalizes `text` into its canonical token string (see the module docs).
///
/// Steps: NFKC, full lowercase, diacritics folded (NFD with combining marks dropped),
/// typographic apostrophes/quotes/dashes mapped to ASCII, then tokenization. A possessive `'s`
/// is dropped so that `Kazakhstan's` yields the token `kazakhstan`.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    normalize_into(text, &mut out);
    out
}

/// Like [`normalize`] but appends to a reused buffer (cleared first) to spare an allocation
/// per item field on the hot path.
pub(crate) fn normalize_into(text: &str, out: &mut String) {
    out.clear();
    if text.is_ascii() {
        // Most feed text is ASCII; folding is pointless there and the Unicode path is ~25x slower.
        tokenize(
            text.bytes().map(|b| char::from(b.to_ascii_lowercase())),
            out,
        );
    } else {
        let folded = fold(text);
        tokenize(folded.chars(), out);
    }
}

/// The words of `text` with their case kept, otherwise normalized like [`normalize`]: one entry
/// per token of `normalize(text)`, for checking exact-case terms (`=US`) word by word.
pub(crate) fn cased_tokens(text: &str) -> Vec<String> {
    let mut out = String::new();
    cased_into(text, &mut out);
    out.split(' ')
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Like [`normalize_into`] but keeping case: the same tokens, in the same order, so that token
/// `i` here is token `i` of the normalized text with its original case.
pub(crate) fn cased_into(text: &str, out: &mut String) {
    out.clear();
    if text.is_ascii() {
        tokenize(text.chars(), out);
    } else {
        let folded: String = text
            .nfkc()
            .nfd()
            .filter(|c| !is_combining_mark(*c))
            .flat_map(fold_char)
            .collect();
        tokenize(folded.chars(), out);
    }
}

/// The byte range in `text` of each token of `normalize(text)`, to quote an item's own words
/// (`Turkménistan's` → `Turkménistan`) where matching saw `turkmenistan`. `None` when
/// folding character by character does not give the same tokens as folding the whole text
/// (a composition across characters, such as Hangul jamo): then there is no exact mapping.
pub(crate) fn token_spans(text: &str) -> Option<Vec<(usize, usize)>> {
    // Each source character folded on its own, with the bytes it came from.
    let mut folded: Vec<(char, usize, usize)> = Vec::with_capacity(text.len());
    let mut one = [0u8; 4];
    for (start, c) in text.char_indices() {
        let end = start + c.len_utf8();
        if c.is_ascii() {
            folded.push((c.to_ascii_lowercase(), start, end));
        } else {
            let before = folded.len();
            for f in fold(c.encode_utf8(&mut one)).chars() {
                folded.push((f, start, end));
            }
            if folded.len() == before {
                // A combining mark or an invisible character: gone from the tokens, but part
                // of the word it sits in.
                folded.push(('\u{200B}', start, end));
            }
        }
    }
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut in_word = false;
    let mut i = 0;
    while let Some(&(c, start, end)) = folded.get(i) {
        i += 1;
        if c == '\u{200B}' {
            if in_word && let Some(last) = spans.last_mut() {
                last.1 = end;
            }
            continue;
        }
        if is_word_char(c) {
            match spans.last_mut() {
                Some(last) if in_word && !is_unspaced_script(c) => last.1 = end,
                _ => spans.push((start, end)),
            }
            in_word = !is_unspaced_script(c);
            continue;
        }
        // The possessive rule of `tokenize`, on the same folded characters.
        if c == '\''
            && in_word
            && matches!(folded.get(i), Some(('s' | 'S', _, _)))
            && folded.get(i + 1).is_none_or(|(n, _, _)| !is_word_char(*n))
        {
            i += 1;
            in_word = false;
            continue;
        }
        in_word = false;
    }
    let expected = normalize(text);
    let tokens = if expected.is_empty() {
        0
    } else {
        expected.split(' ').count()
    };
    (spans.len() == tokens).then_some(spans)
}

/// The Unicode half of normalization: everything except tokenization.
fn fold(text: &str) -> String {
    // Most non-ASCII text (Cyrillic, Arabic, Greek without precomposed letters) is already in
    // NFKC and, once lowercased, in NFD: the quick checks are exact when they say Yes, and
    // skipping the two normalization passes then changes nothing but the cost.
    if is_nfkc_quick(text.chars()) == IsNormalized::Yes {
        let lowered: String = text.chars().flat_map(char::to_lowercase).collect();
        if is_nfd_quick(lowered.chars()) == IsNormalized::Yes {
            return strip_and_map(lowered.chars());
        }
        return strip_and_map(lowered.nfd());
    }
    strip_and_map(
        text.nfkc()
            .flat_map(char::to_lowercase)
            // Lowercasing can produce decomposable sequences (İ → i + U+0307), so decompose
            // after it.
            .nfd(),
    )
}

/// Diacritics dropped and the per-character mappings applied to decomposed text.
fn strip_and_map(chars: impl Iterator<Item = char>) -> String {
    chars
        .filter(|c| !is_combining_mark(*c))
        .flat_map(fold_char)
        .collect()
}

/// The slow path of [`fold`], kept to check the fast one against.
#[cfg(test)]
fn fold_reference(text: &str) -> String {
    strip_and_map(text.nfkc().flat_map(char::to_lowercase).nfd())
}

/// Per-character mappings that lowercasing and NFKC leave alone but that writers use
/// interchangeably.
fn fold_char(c: char) -> FoldChar {
    match c {
        // Invisible inside a word: a soft hyphen (`Kaz&#173;akhstan`, put in by CMSs for line
        // breaking), zero-width space/non-joiner/joiner, word joiner, and a BOM pasted mid-text.
        // None is a letter, so kept they would split the word and a rule would miss it.
        c if is_invisible(c) => FoldChar::Done,
        // Typographic and modifier apostrophes; U+02BC is a *letter*, so without this it would
        // glue a possessive onto the word.
        // U+02BB is the Uzbek letter in Oʻzbekiston, which news text as often writes with
        // ' or ‘: folded alike, the three spellings match each other.
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{02BC}'
        | '\u{02B9}' | '\u{02BB}' => FoldChar::One('\''),
        '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' | '\u{00AB}'
        | '\u{00BB}' => FoldChar::One('"'),
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' => FoldChar::One('-'),
        // Full case folding, which `to_lowercase` does not do: German sharp s and Greek final sigma
        // have a second spelling in lowercase text.
        'ß' => FoldChar::Two('s', 's'),
        'ς' => FoldChar::One('σ'),
        _ => FoldChar::One(c),
    }
}

/// Characters that render as nothing (or only as a possible line break) inside a word, and that
/// normalization drops so the word stays one token.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}'
    )
}

/// A zero-, one- or two-char replacement without allocating.
enum FoldChar {
    One(char),
    Two(char, char),
    Done,
}

impl Iterator for FoldChar {
    type Item = char;
    fn next(&mut self) -> Option<char> {
        match std::mem::replace(self, FoldChar::Done) {
            FoldChar::One(c) => Some(c),
            FoldChar::Two(a, b) => {
                *self = FoldChar::One(b);
                Some(a)
            }
            FoldChar::Done => None,
        }
    }
}

/// Whether `c` is a word character: exactly `c.is_alphanumeric()`, with the letters most news
/// text is written in (ASCII, Cyrillic, Hebrew, Arabic, Hangul, Han, Kana) answered by a range
/// check instead of a search of Unicode's tables, which was a sixth of the start-up cost of
/// a place rule (every name of the gazetteer is normalized) and is on the path of every item.
#[inline]
pub(crate) fn is_word_char(c: char) -> bool {
    match c {
        'a'..='z' | 'A'..='Z' | '0'..='9' => true,
        '\0'..='\x7f' => false,
        '\u{0410}'..='\u{044F}' // Cyrillic А..я
        | '\u{05D0}'..='\u{05EA}' // Hebrew letters
        | '\u{0621}'..='\u{063A}' // Arabic letters
        | '\u{0641}'..='\u{064A}'
        | '\u{3041}'..='\u{3096}' // Hiragana
        | '\u{30A1}'..='\u{30FA}' // Katakana
        | '\u{4E00}'..='\u{9FFF}' // CJK Unified Ideographs
        | '\u{AC00}'..='\u{D7A3}' => true, // Hangul syllables
        _ => c.is_alphanumeric(),
    }
}

/// Scripts written without spaces between words: each character is its own token so that a
/// term can be found inside a run (the same choice UAX#29 makes for ideographs). Katakana is
/// not among them: a run of it is one loanword or name (カザフスタン), so it stays one token,
/// and タイ (Thailand) is not found inside ネクタイ (necktie).
pub(crate) fn is_unspaced_script(c: char) -> bool {
    matches!(c,
        '\u{3040}'..='\u{309F}'     // Hiragana
        | '\u{3400}'..='\u{4DBF}'   // CJK Extension A
        | '\u{4E00}'..='\u{9FFF}'   // CJK Unified Ideographs
        | '\u{F900}'..='\u{FAFF}'   // CJK Compatibility Ideographs
        | '\u{20000}'..='\u{3FFFF}' // CJK Extensions B and later
    )
}

/// Splits already-folded characters into tokens and writes them space-separated.
fn tokenize(chars: impl Iterator<Item = char> + Clone, out: &mut String) {
    let mut chars = chars.peekable();
    // True while the last thing written is a word character, i.e. we are inside a token.
    let mut in_word = false;
    while let Some(c) = chars.next() {
        if is_word_char(c) {
            if is_unspaced_script(c) {
                push_separator(out);
                out.push(c);
                // Eagerly end the token so the next character starts a new one.
                out.push(' ');
                in_word = false;
                continue;
            }
            if !in_word {
                push_separator(out);
            }
            out.push(c);
            in_word = true;
            continue;
        }
        // `'S` only occurs on the case-keeping path (`cased_into`), which must split alike.
        if c == '\'' && in_word && matches!(chars.peek(), Some('s' | 'S')) {
            // Possessive: drop "'s" when it ends the word, so "Kazakhstan's" → "kazakhstan".
            // Other inner apostrophes ("O'Brien", "don't") just split, on both sides alike.
            let mut look = chars.clone();
            look.next();
            if look.peek().is_none_or(|n| !is_word_char(*n)) {
                chars.next();
                in_word = false;
                continue;
            }
        }
        in_word = false;
    }
    // An ideograph at the very end leaves its eager separator behind.
    if out.ends_with(' ') {
        out.pop();
    }
}

/// Starts a new token: a space unless this is the first token.
fn push_separator(out: &mut String) {
    if !out.is_empty() && !out.ends_with(' ') {
        out.push(' ');
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn han_and_hiragana_split_per_character_but_a_katakana_run_is_one_word() {
        assert_eq!(normalize("哈萨克斯坦加入"), "哈 萨 克 斯 坦 加 入");
        // A Katakana name followed by a particle and a Han word.
        // (The voicing mark of ザ is folded away like any diacritic.)
        let name = normalize("カザフスタン");
        assert!(!name.contains(' '), "{name}");
        assert_eq!(
            normalize("カザフスタンの大統領"),
            format!("{name} の 大 統 領")
        );
        // タイ (Thailand) stays inside ネクタイ (necktie) rather than becoming a word of its own.
        assert_eq!(normalize("ネクタイ"), "ネクタイ");
        assert_eq!(
            normalize("パプアニューギニア・ギニア").split(' ').count(),
            2
        );
    }

    #[test]
    fn word_chars_are_exactly_the_alphanumeric_ones() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(
                super::is_word_char(c),
                c.is_alphanumeric(),
                "U+{:04X}",
                c as u32
            );
        }
    }

    #[test]
    fn the_uzbek_okina_folds_like_an_apostrophe() {
        // Oʻzbekiston, O‘zbekiston and O'zbekiston are one spelling to a reader.
        let want = normalize("O'zbekiston");
        assert_eq!(normalize("O\u{02BB}zbekiston"), want);
        assert_eq!(normalize("O\u{2018}zbekiston"), want);
        assert_eq!(want, "o zbekiston");
    }

    #[test]
    fn ascii_lowercases_and_splits_on_punctuation() {
        assert_eq!(normalize("  Hello, World!  "), "hello world");
        assert_eq!(normalize("F-16 jets; U.S.-made"), "f 16 jets u s made");
        assert_eq!(normalize(""), "");
        assert_eq!(normalize("!!! ..."), "");
    }

    #[test]
    fn possessives_are_dropped_but_other_apostrophes_split() {
        assert_eq!(normalize("Kazakhstan's grain"), "kazakhstan grain");
        assert_eq!(normalize("Kazakhstan\u{2019}s grain"), "kazakhstan grain");
        assert_eq!(normalize("Kazakhstan\u{02BC}s grain"), "kazakhstan grain");
        assert_eq!(normalize("the states' rights"), "the states rights");
        assert_eq!(normalize("O'Brien's"), "o brien");
        assert_eq!(normalize("it'sy"), "it sy");
        assert_eq!(normalize("'s-Hertogenbosch"), "s hertogenbosch");
    }

    #[test]
    fn hyphens_and_dashes_split() {
        assert_eq!(normalize("Kazakh-Israeli"), "kazakh israeli");
        assert_eq!(
            normalize("Kazakh\u{2013}Israeli\u{2014}talks"),
            "kazakh israeli talks"
        );
    }

    #[test]
    fn unicode_case_diacritics_and_compatibility_forms() {
        assert_eq!(normalize("TÜRKİYE"), "turkiye");
        assert_eq!(normalize("Türkiye"), "turkiye");
        assert_eq!(normalize("Cafe\u{0301} crème brûlée"), "cafe creme brulee");
        assert_eq!(normalize("ﬁnance ＡＢＣ１２"), "finance abc12");
        assert_eq!(normalize("Straße STRASSE"), "strasse strasse");
        assert_eq!(normalize("ΟΔΟΣ οδος"), "οδοσ οδοσ");
    }

    #[test]
    fn other_scripts_keep_their_letters() {
        assert_eq!(normalize("Казахстан и Израиль"), "казахстан и израиль");
        assert_eq!(normalize("КАЗАХСТАНА,"), "казахстана");
        // Hamza above/below decomposes to a combining mark, so alef/yeh variants fold
        // together, which helps since writers often omit the hamza.
        assert_eq!(normalize("إسرائيل والمغرب"), "اسراييل والمغرب");
        assert_eq!(normalize("اسرائيل"), normalize("إسرائيل"));
        // Short-vowel marks are combining marks and fold away too.
        assert_eq!(normalize("إِسْرَائِيل"), normalize("إسرائيل"));
        assert_eq!(normalize("我在北京。"), "我 在 北 京");
        assert_eq!(normalize("東京abc"), "東 京 abc");
        assert_eq!(normalize("abc東京"), "abc 東 京");
    }

    #[test]
    fn invisible_characters_inside_words_are_dropped() {
        assert_eq!(normalize("Kaz\u{00AD}akhstan"), "kazakhstan");
        assert_eq!(
            normalize("Abra\u{200B}ham Ac\u{2060}cords"),
            "abraham accords"
        );
        assert_eq!(normalize("\u{FEFF}Israel\u{200D}i"), "israeli");
        // Persian writes a zero-width non-joiner inside words; it is spelt without one too.
        assert_eq!(normalize("می\u{200C}خواهم"), normalize("میخواهم"));
        // Still one word with its case kept, for exact-case terms.
        assert_eq!(super::cased_tokens("US\u{00AD}A news"), vec!["USA", "news"]);
    }

    #[test]
    fn token_spans_point_at_the_original_words() {
        let quote = |text: &str| -> Vec<String> {
            super::token_spans(text)
                .expect("spans")
                .into_iter()
                .map(|(s, e)| text[s..e].to_owned())
                .collect()
        };
        assert_eq!(
            quote("Turkménistan's gas, TÜRKİYE!"),
            ["Turkménistan", "gas", "TÜRKİYE"]
        );
        assert_eq!(quote("Kaz\u{00AD}akhstan"), ["Kaz\u{00AD}akhstan"]);
        assert_eq!(quote("我在北京 abc"), ["我", "在", "北", "京", "abc"]);
        assert_eq!(
            quote("Cafe\u{0301} O'Brien's"),
            ["Cafe\u{0301}", "O", "Brien"]
        );
        assert_eq!(quote("Straße ﬁnance"), ["Straße", "ﬁnance"]);
        assert_eq!(quote(""), Vec::<String>::new());
        for text in ["إِسْرَائِيل والمغرب", "Kazakh\u{2013}Israeli", "it'sy", "ΟΔΟΣ"]
        {
            let spans = super::token_spans(text).expect("spans");
            let words: Vec<String> = spans.iter().map(|&(s, e)| normalize(&text[s..e])).collect();
            assert_eq!(words.join(" "), normalize(text), "{text}");
        }
    }

    #[test]
    fn normalization_is_idempotent() {
        for s in [
            "Kazakhstan's Türkiye",
            "ΟΔΟΣ Straße",
            "我在北京 abc",
            "إِسْرَائِيل",
            "a - b",
        ] {
            let once = normalize(s);
            assert_eq!(normalize(&once), once, "{s}");
        }
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::{cased_tokens, fold, fold_reference, normalize};

    const INVISIBLE: [char; 6] = [
        '\u{00AD}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}',
    ];

    /// Text of words in the scripts news uses, with marks, apostrophes, digits and ideographs.
    fn news_text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            proptest::collection::vec(
                prop_oneof![
                    proptest::char::range('a', 'z'),
                    proptest::char::range('A', 'Z'),
                    proptest::char::range('0', '9'),
                    proptest::char::range('\u{0400}', '\u{04FF}'),
                    proptest::char::range('\u{0600}', '\u{06FF}'),
                    proptest::char::range('\u{0300}', '\u{036F}'),
                    proptest::char::range('\u{00C0}', '\u{024F}'),
                    proptest::char::range('\u{4E00}', '\u{4E40}'),
                    Just(' '),
                    Just('\''),
                    Just('\u{2019}'),
                    Just('-'),
                    Just('ß'),
                    Just('İ'),
                ],
                0..24,
            )
            .prop_map(|chars| chars.into_iter().collect::<String>()),
        ]
    }

    proptest! {
    /// The fast path of folding (skipping normalization passes that quick checks prove
    /// redundant) gives exactly the slow path's result, on any text: random Unicode, and mixes
    /// of the scripts and marks the data and news text use.
    #[test]
    fn fast_fold_equals_the_reference(
        text in prop_oneof![
            any::<String>(),
            proptest::collection::vec(
                prop_oneof![
                    proptest::char::range('\u{0400}', '\u{04FF}'),
                    proptest::char::range('\u{0600}', '\u{06FF}'),
                    proptest::char::range('\u{0300}', '\u{036F}'),
                    proptest::char::range('\u{00C0}', '\u{024F}'),
                    proptest::char::range('\u{1E00}', '\u{1EFF}'),
                    proptest::char::range('\u{FB50}', '\u{FDFF}'),
                    Just('İ'), Just('ß'), Just('ﬁ'), Just('Ω'), Just('\u{2019}'),
                ],
                0..24,
            )
            .prop_map(|chars| chars.into_iter().collect::<String>()),
        ]
    ) {
        prop_assert_eq!(
            fold(&text),
            fold_reference(&text)
        );
    }
    }

    proptest! {
    /// Soft hyphens, zero-width characters, word joiners and BOMs change neither the
    /// normalized text nor the case-kept tokens, wherever they are inserted: a rule term matches
    /// `Kaz&#173;akhstan` exactly as it matches `Kazakhstan`.
    #[test]
    fn invisible_characters_change_nothing(
        text in news_text(),
        inserts in proptest::collection::vec((any::<proptest::sample::Index>(), 0..INVISIBLE.len()), 1..6),
    ) {
        let mut chars: Vec<char> = text.chars().collect();
        for (at, which) in inserts {
            let at = at.index(chars.len() + 1);
            chars.insert(at, INVISIBLE[which]);
        }
        let with: String = chars.into_iter().collect();
        prop_assert_eq!(normalize(&with), normalize(&text));
        prop_assert_eq!(cased_tokens(&with), cased_tokens(&text));
        prop_assert_eq!(fold(&with), fold_reference(&with));
    }
    }
}
