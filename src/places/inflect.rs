//! Generated forms of place names: plurals, genders and grammatical cases, so that the data in
//! `data/places/` lists only base forms and rules still match `Казахстана` or `وكازاخستان`.
//!
//! The rules are the regular patterns of each language, not a morphological dictionary.
//! Irregular forms are listed in the data instead (`Frenchmen`, Arabic broken plurals), and
//! where a rule cannot tell (stress, gender of a foreign name) it prefers the form news text
//! uses most: unstressed `-ей` after ж ш щ ч ц in Russian, no genitive `-s` for German
//! feminine and plural names. Russian names ending in `-и` are taken as indeclinable (Чили,
//! Сомали), so the rare plural names in `-и` are not declined.

/// A language of the place data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lang {
    En,
    Ru,
    Fr,
    De,
    Es,
    Ar,
    /// The place's own names (any script); never inflected.
    Local,
    // The languages below come from CLDR's territory names (`data/places/cldr.toml`), plus
    // hand-written forms where CLDR has none (a treaty's names).
    Zh,
    Ja,
    Ko,
    He,
    Fa,
    Tr,
    Uk,
    Uz,
    Kk,
    Hi,
    Bn,
    Pt,
    It,
    Pl,
    Id,
}

impl Lang {
    /// Every language, with its code in the data files and in reference options.
    pub const ALL: [(Lang, &'static str); 22] = [
        (Lang::En, "en"),
        (Lang::Ru, "ru"),
        (Lang::Fr, "fr"),
        (Lang::De, "de"),
        (Lang::Es, "es"),
        (Lang::Ar, "ar"),
        (Lang::Local, "local"),
        (Lang::Zh, "zh"),
        (Lang::Ja, "ja"),
        (Lang::Ko, "ko"),
        (Lang::He, "he"),
        (Lang::Fa, "fa"),
        (Lang::Tr, "tr"),
        (Lang::Uk, "uk"),
        (Lang::Uz, "uz"),
        (Lang::Kk, "kk"),
        (Lang::Hi, "hi"),
        (Lang::Bn, "bn"),
        (Lang::Pt, "pt"),
        (Lang::It, "it"),
        (Lang::Pl, "pl"),
        (Lang::Id, "id"),
    ];

    /// The code used in the data files and in reference options (`en`, `local`).
    pub fn code(self) -> &'static str {
        Lang::ALL
            .iter()
            .find(|(lang, _)| *lang == self)
            .map_or("", |(_, code)| code)
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        Lang::ALL
            .iter()
            .find(|(_, c)| *c == code)
            .map(|(lang, _)| *lang)
    }
}

/// What a term of the place data names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Names,
    Demonyms,
    Capitals,
}

/// Every form to match for `term` (a base form from the data, written like a rule's group
/// member: words, optionally `=` in front for exact case), as group-member strings: the term
/// itself first, then generated forms; a trailing `*` makes the last word a prefix.
///
/// Forms are generated from the unfolded text: matching later folds case and diacritics, so
/// `Соединённых` also matches `Соединенных` and `للإمارات` also matches `للامارات`.
pub fn forms(lang: Lang, kind: Kind, term: &str) -> Vec<String> {
    // An exact-case term is curated to avoid a common word (`=Катар`, catarrh): its forms
    // keep the exact case (`=Катара`, `=Катаре`), so `в Катаре` matches and `катар` still
    // does not.
    if let Some(bare) = term.strip_prefix('=') {
        let mut out = Forms::new(term);
        out.extend(
            forms(lang, kind, bare)
                .into_iter()
                .skip(1)
                .map(|form| format!("={form}")),
        );
        return out.0;
    }
    let mut out = Forms::new(term);
    // A term already ending in `*` is already a prefix.
    if term.ends_with('*') || term.trim().is_empty() {
        return out.0;
    }
    let demonym = kind == Kind::Demonyms;
    match lang {
        Lang::Local
        | Lang::Zh
        | Lang::Ja
        | Lang::Fa
        | Lang::Hi
        | Lang::Pt
        | Lang::It
        | Lang::Id => {}
        Lang::Ko => {
            // Particles are written onto the noun (카자흐스탄은, 카자흐스탄과).
            out.extend(with_suffixes(lang, term, 2));
        }
        Lang::Tr | Lang::Uz | Lang::Kk | Lang::Bn => {
            // Case endings are written onto the name (Qozogʻistonning, Қазақстанның,
            // কাজাখস্তানের; Turkish after an apostrophe, which splits the word anyway, but
            // not in derived words: Kazakistanlı).
            out.extend(with_suffixes(lang, term, 4));
        }
        Lang::Uk | Lang::Pl => {
            out.extend(slavic_stem(term));
            out.extend(slavic_phrase_cases(lang, term));
        }
        Lang::He => out.extend(he_with_proclitics(term)),
        Lang::En => {
            if demonym {
                out.extend(on_last_word(term, en_plural));
            }
        }
        Lang::Fr => {
            if demonym {
                out.extend(on_last_word(term, fr_plural));
            }
        }
        Lang::Es => {
            if demonym {
                out.extend(on_last_word(term, es_plurals));
            }
        }
        Lang::De => {
            if demonym {
                out.extend(on_last_word(term, de_demonym));
            } else {
                out.extend(de_genitive(term));
            }
        }
        Lang::Ru => {
            if demonym {
                out.extend(on_last_word(term, ru_demonym));
            } else {
                out.extend(ru_name_cases(term));
            }
        }
        Lang::Ar => {
            if demonym {
                out.extend(ar_demonym(term));
            } else if kind == Kind::Capitals {
                // A city has no nisba in the news sense, and its letters plus one often make
                // a word: الرياض + ي is "sporting", بكين + ي "bikini", براغ + ي "screws".
                out.extend(ar_with_proclitics(term, AR_PROCLITICS));
            } else {
                out.extend(ar_name(term));
            }
        }
    }
    out.0
}

/// The name with any ending: its last word as a prefix, when that word has at least
/// `min_letters` letters (a shorter prefix would start too many other words).
///
/// In the Latin script a short prefix is shared with every other Latin-script language the
/// gazetteer reads: Turkish *Şili** (Chile) started *silicon*, Uzbek *Chili** *chili*,
/// *Gana** Spanish *ganar*. There a prefix needs [`LATIN_PREFIX_LETTERS`]; Turkish writes
/// case endings after an apostrophe, which splits the word, so its short names need none,
/// and Uzbek short names take the endings it writes onto names ([`UZ_ENDINGS`]).
fn with_suffixes(lang: Lang, term: &str, min_letters: usize) -> Vec<String> {
    let last = term.rsplit(' ').next().unwrap_or(term);
    let letters = last.chars().filter(|c| c.is_alphabetic()).count();
    if letters < min_letters {
        return Vec::new();
    }
    if !is_latin(last) || letters >= LATIN_PREFIX_LETTERS {
        return vec![format!("{term}*")];
    }
    match lang {
        Lang::Uz => UZ_ENDINGS.iter().map(|e| format!("{term}{e}")).collect(),
        _ => Vec::new(),
    }
}

/// Letters a Latin-script name needs before any ending may follow it as a bare prefix
/// (`Kazachstan*`, `Hindiston*`); shorter ones take listed endings.
const LATIN_PREFIX_LETTERS: usize = 6;

/// Uzbek case and derivation endings written onto a name: genitive, dative, accusative,
/// locative, ablative, and -dagi/-lik (of, from): Xitoyning, Xitoyga, Eronda, Erondagi.
const UZ_ENDINGS: [&str; 12] = [
    "ning", "ga", "ka", "qa", "ni", "da", "ta", "dan", "tan", "dagi", "lik", "liklar",
];

fn is_latin(word: &str) -> bool {
    word.chars()
        .filter(|c| c.is_alphabetic())
        .all(|c| c.is_ascii_alphabetic() || ('\u{c0}'..='\u{24f}').contains(&c))
}

/// Ukrainian and Polish decline names by replacing or adding endings (Росія → Росії, Росією;
/// Rosja → Rosji; Kazachstan → Kazachstanu): the last word's stem, without a final vowel, as
/// a prefix, when at least four letters are left. Only the last word declines here, so the
/// inflected first words of multi-word names (Саудівської Аравії) are missed.
///
/// A Latin-script (Polish) stem shorter than [`LATIN_PREFIX_LETTERS`] is not a prefix: *Indi**
/// started *indicate* and *individual*, *Chil** *children*, *Malt** *malted*. Those take
/// the endings Polish gives a name of their shape instead ([`polish_endings`]).
fn slavic_stem(term: &str) -> Vec<String> {
    let (before, last) = match term.rsplit_once(' ') {
        Some((before, last)) => (Some(before), last),
        None => (None, term),
    };
    const VOWELS: &str = "аяоіїиеєуюйaeiouyąę";
    let final_letter = last
        .chars()
        .last()
        .map(|c| c.to_lowercase().next().unwrap_or(c));
    let stem = match final_letter {
        Some(c) if VOWELS.contains(c) => drop_last(last, 1),
        _ => last,
    };
    let letters = stem.chars().filter(|c| c.is_alphabetic()).count();
    if letters < 4 {
        return Vec::new();
    }
    let prefix = |word: String| match before {
        Some(before) => format!("{before} {word}"),
        None => word,
    };
    if !is_latin(stem) || letters >= LATIN_PREFIX_LETTERS {
        return vec![prefix(format!("{stem}*"))];
    }
    polish_endings(last)
        .iter()
        .map(|ending| prefix(format!("{stem}{ending}")))
        .collect()
}

/// The endings Polish gives a name by the shape of its base form: feminine -a (Rosja →
/// Rosji, Rosją; Kanada → Kanady, Kanadę), plural -y/-ie (Chiny → Chinach; Indie → Indii,
/// Indiach), masculine on a consonant (Iran → Iranu, Iranie). Names on -e, -o, -u, -i
/// (Chile, Maroko, Peru, Mali) do not decline. Locatives with a changed consonant (Kanadzie,
/// Niemczech) are missed.
fn polish_endings(base: &str) -> &'static [&'static str] {
    let lower = base.to_lowercase();
    if lower.ends_with("ia") || lower.ends_with("ja") {
        &["i", "ą", "ę"]
    } else if lower.ends_with('a') {
        &["y", "i", "ę", "ą", "ie"]
    } else if lower.ends_with("ie") {
        &["i", "ach", "om", "ami"]
    } else if lower.ends_with('y') {
        &["ach", "om", "ami"]
    } else if lower.ends_with(['e', 'o', 'u', 'i']) {
        &[]
    } else {
        &["u", "ie", "em", "owi", "a"]
    }
}

/// The case forms of a multi-word name in Ukrainian or Polish, whose words before the last
/// decline with it (Саудівська Аравія → Саудівської Аравії, Саудівською Аравією; Arabia
/// Saudyjska → Arabii Saudyjskiej; Zjednoczone Emiraty Arabskie → Zjednoczonych Emiratów
/// Arabskich): for each case, every word but the last takes that case's ending by the regular
/// pattern its ending shows (adjectives and feminine and plural nouns), and the last word is
/// the [`slavic_stem`] prefix, which covers all its endings (or, when its stem is too short
/// for a prefix, the word in that case: Центральної Азії). A word whose pattern is not known
/// (a masculine noun, whose genitive may be -а or -у) is left as it is, and a phrase with no
/// declined word is not added.
fn slavic_phrase_cases(lang: Lang, term: &str) -> Vec<String> {
    let Some((before, last_word)) = term.rsplit_once(' ') else {
        return Vec::new();
    };
    let table: &[(&str, [&str; SLAVIC_CASES])] = match lang {
        Lang::Uk => UK_ENDINGS,
        Lang::Pl => PL_ENDINGS,
        _ => return Vec::new(),
    };
    let decline = |word: &str, case: usize| -> Option<String> {
        let lower = word.to_lowercase();
        table
            .iter()
            .find(|(ending, _)| lower.ends_with(ending))
            .map(|(ending, cases)| {
                let keep = drop_last(word, ending.chars().count());
                format!("{keep}{}", cases[case])
            })
    };
    // The last word's prefix, when it has one; a short Latin-script stem has listed endings
    // instead, and the last word then declines by the table like the others.
    let stem = slavic_stem(term)
        .into_iter()
        .find(|form| form.ends_with('*'))
        .map(|s| s.rsplit(' ').next().unwrap_or_default().to_owned());
    let words: Vec<&str> = before.split(' ').collect();
    let mut out = Vec::new();
    for case in 0..SLAVIC_CASES {
        let last = match &stem {
            Some(stem) => stem.clone(),
            None => match decline(last_word, case) {
                Some(word) => word,
                None => return out,
            },
        };
        let mut declined = false;
        let mut phrase: Vec<String> = Vec::with_capacity(words.len() + 1);
        for word in &words {
            match decline(word, case) {
                Some(form) => {
                    phrase.push(form);
                    declined = true;
                }
                None => phrase.push((*word).to_owned()),
            }
        }
        if declined {
            phrase.push(last);
            let phrase = phrase.join(" ");
            if !out.contains(&phrase) {
                out.push(phrase);
            }
        }
    }
    out
}

/// Genitive, dative, accusative, instrumental, locative, and a second locative (Ukrainian
/// masculine adjectives: -ому and -ім).
const SLAVIC_CASES: usize = 6;

/// Ukrainian endings of the words before a name's last word, by the ending of the nominative
/// (longest first where one ending ends another): adjectives feminine (Саудівська, Південна,
/// Центральна), masculine (Південний) and plural (Об'єднані, Арабські); feminine nouns
/// (Республіка, Аравія, Корея) and plural nouns (Емірати, Штати).
const UK_ENDINGS: &[(&str, [&str; SLAVIC_CASES])] = &[
    (
        "ська",
        ["ської", "ській", "ську", "ською", "ській", "ській"],
    ),
    (
        "цька",
        ["цької", "цькій", "цьку", "цькою", "цькій", "цькій"],
    ),
    (
        "льна",
        ["льної", "льній", "льну", "льною", "льній", "льній"],
    ),
    ("на", ["ної", "ній", "ну", "ною", "ній", "ній"]),
    ("ова", ["ової", "овій", "ову", "овою", "овій", "овій"]),
    ("ний", ["ного", "ному", "ний", "ним", "ному", "нім"]),
    (
        "ський",
        ["ського", "ському", "ський", "ським", "ському", "ськім"],
    ),
    ("ні", ["них", "ним", "ні", "ними", "них", "них"]),
    (
        "ські",
        ["ських", "ським", "ські", "ськими", "ських", "ських"],
    ),
    ("ка", ["ки", "ці", "ку", "кою", "ці", "ці"]),
    ("ія", ["ії", "ії", "ію", "ією", "ії", "ії"]),
    ("ея", ["еї", "еї", "ею", "еєю", "еї", "еї"]),
    ("ти", ["тів", "там", "ти", "тами", "тах", "тах"]),
];

/// Polish endings of the words before a name's last word, likewise: adjectives feminine
/// (Saudyjska, Środkowa, Południowa, Północna) and plural (Zjednoczone, Arabskie); feminine
/// nouns (Arabia, Azja, Korea, Gwinea, Republika) and plural nouns (Emiraty, Stany).
const PL_ENDINGS: &[(&str, [&str; SLAVIC_CASES])] = &[
    ("ska", ["skiej", "skiej", "ską", "ską", "skiej", "skiej"]),
    ("cka", ["ckiej", "ckiej", "cką", "cką", "ckiej", "ckiej"]),
    ("owa", ["owej", "owej", "ową", "ową", "owej", "owej"]),
    ("na", ["nej", "nej", "ną", "ną", "nej", "nej"]),
    ("skie", ["skich", "skim", "skie", "skimi", "skich", "skich"]),
    ("one", ["onych", "onym", "one", "onymi", "onych", "onych"]),
    ("ia", ["ii", "ii", "ię", "ią", "ii", "ii"]),
    ("ja", ["ji", "ji", "ję", "ją", "ji", "ji"]),
    ("ea", ["ei", "ei", "eę", "eą", "ei", "ei"]),
    ("ka", ["ki", "ce", "kę", "ką", "ce", "ce"]),
    ("ty", ["tów", "tom", "ty", "tami", "tach", "tach"]),
    ("ny", ["nów", "nom", "ny", "nami", "nach", "nach"]),
];

/// Hebrew writes the conjunction, prepositions, the article and relative ש onto the next
/// word (וקזחסטן, בקזחסטן, שבקזחסטן): the name with each common prefix chain.
fn he_with_proclitics(term: &str) -> Vec<String> {
    const PREFIXES: [&str; 16] = [
        "ו", "ב", "ל", "מ", "ה", "ש", "כ", "וב", "ול", "ומ", "וה", "שב", "של", "שמ", "מה", "כש",
    ];
    PREFIXES.iter().map(|p| format!("{p}{term}")).collect()
}

/// The output list: the term first, then each new form once.
struct Forms(Vec<String>);

impl Forms {
    fn new(term: &str) -> Self {
        Forms(vec![term.to_owned()])
    }

    fn push(&mut self, form: String) {
        if !form.is_empty() && !self.0.contains(&form) {
            self.0.push(form);
        }
    }

    fn extend(&mut self, forms: impl IntoIterator<Item = String>) {
        for form in forms {
            self.push(form);
        }
    }
}

/// Applies `inflect` to the last word of `term`, keeping the words before it: in the
/// languages handled this way only the head (last) word of a demonym takes number (and,
/// in Russian, case).
fn on_last_word(term: &str, inflect: fn(&str) -> Vec<String>) -> Vec<String> {
    let (before, last) = match term.rsplit_once(' ') {
        Some((before, last)) => (Some(before), last),
        None => (None, term),
    };
    inflect(last)
        .into_iter()
        .map(|form| match before {
            Some(before) => format!("{before} {form}"),
            None => form,
        })
        .collect()
}

/// `word` without its last `n` characters (not bytes: most of the data is not ASCII).
fn drop_last(word: &str, n: usize) -> &str {
    let cut = word
        .char_indices()
        .rev()
        .nth(n.saturating_sub(1))
        .map_or(0, |(i, _)| i);
    if n == 0 { word } else { &word[..cut] }
}

/// The character `n` places from the end (0 = the last one).
fn nth_last(word: &str, n: usize) -> Option<char> {
    word.chars().rev().nth(n)
}

fn ends_with_any(word: &str, endings: &[&str]) -> bool {
    endings.iter().any(|e| word.ends_with(e))
}

// ---------------------------------------------------------------------------------------------
// English, French, Spanish, German

/// English demonym plural: `Kazakh` → `Kazakhs`, `Frenchman` → `Frenchmen`. Words that are
/// already plural-like as adjectives (`British`, `French`, `Chinese`, `Swiss`, `Kyrgyz`) stay.
fn en_plural(word: &str) -> Vec<String> {
    if let Some(stem) = word.strip_suffix("man") {
        // Only the compounds of "man" (Frenchman, Englishman, Scotsman, Norseman): German and
        // Roman are not, and pluralise regularly.
        if ends_with_any(stem, &["sh", "ch", "s", "x", "se"]) {
            return vec![format!("{stem}men")];
        }
    }
    let lower = word.to_lowercase();
    if ends_with_any(&lower, &["s", "sh", "ch", "ese", "x", "z"]) {
        return Vec::new();
    }
    vec![format!("{word}s")]
}

/// French demonym plural (masculine and feminine come separately from the data):
/// `kazakh` → `kazakhs`, `kazakhe` → `kazakhes`, `français` unchanged, `-al` → `-aux`.
fn fr_plural(word: &str) -> Vec<String> {
    if ends_with_any(word, &["s", "x", "z"]) {
        return Vec::new();
    }
    if let Some(stem) = word.strip_suffix("al") {
        return vec![format!("{stem}aux")];
    }
    if ends_with_any(word, &["au", "eu"]) {
        return vec![format!("{word}x")];
    }
    vec![format!("{word}s")]
}

/// Spanish demonym plurals: `kazajo` → `kazajos`, `iraní` → `iraníes` and `iranís`,
/// `español` → `españoles`, `alemán` → `alemanes` (the written accent of a stressed last
/// syllable goes once the word gains a syllable).
fn es_plurals(word: &str) -> Vec<String> {
    let Some(last) = nth_last(word, 0) else {
        return Vec::new();
    };
    match last {
        // Stressed í and ú take both plurals in current usage.
        'í' | 'ú' => vec![format!("{word}es"), format!("{word}s")],
        'a' | 'e' | 'i' | 'o' | 'u' | 'á' | 'é' | 'ó' => vec![format!("{word}s")],
        // Unstressed -s, -x words (rare among demonyms) do not change.
        's' | 'x' if !has_final_stress_accent(word) => Vec::new(),
        'z' => vec![format!("{}ces", drop_last(word, 1))],
        _ if last.is_alphabetic() => vec![format!("{}es", unaccent_last_vowel(word))],
        _ => Vec::new(),
    }
}

/// Whether the last vowel of a consonant-final Spanish word carries the accent (`inglés`).
fn has_final_stress_accent(word: &str) -> bool {
    word.chars()
        .rev()
        .find(|c| "aeiouáéíóú".contains(*c))
        .is_some_and(|c| "áéíóú".contains(c))
}

fn unaccent_last_vowel(word: &str) -> String {
    if !has_final_stress_accent(word) {
        return word.to_owned();
    }
    let mut chars: Vec<char> = word.chars().collect();
    if let Some(c) = chars.iter_mut().rev().find(|c| "áéíóú".contains(**c)) {
        *c = match *c {
            'á' => 'a',
            'é' => 'e',
            'í' => 'i',
            'ó' => 'o',
            _ => 'u',
        };
    }
    chars.into_iter().collect()
}

/// German genitive of a name: `Kasachstan` → `Kasachstans`. Names ending in a sibilant take
/// no `-s`; feminine names (`Türkei`, `Ukraine`) and plural ones (`Niederlande`) take none
/// either. Multi-word names whose first words are inflected adjectives (`Vereinigte Staaten`,
/// `Dominikanische Republik`) are left alone: their genitive changes the adjective too.
fn de_genitive(term: &str) -> Vec<String> {
    let words: Vec<&str> = term.split(' ').collect();
    let adjective_before = words[..words.len() - 1]
        .iter()
        .any(|w| ends_with_any(w, &["e", "en", "er", "es"]));
    let feminine_head = words
        .iter()
        .any(|w| matches!(*w, "Republik" | "Föderation" | "Union"));
    let last = words[words.len() - 1];
    if adjective_before
        || feminine_head
        || ends_with_any(last, &["s", "ß", "x", "z", "e", "ei", "inseln"])
    {
        return Vec::new();
    }
    vec![format!("{term}s")]
}

/// German demonyms: the adjective in `-isch` (and `deutsch`) gets its endings; person nouns
/// get their plural and oblique forms.
fn de_demonym(word: &str) -> Vec<String> {
    let lower_initial = word.chars().next().is_some_and(char::is_lowercase);
    if lower_initial && word.ends_with("sch") {
        return ["e", "en", "er", "es", "em"]
            .iter()
            .map(|e| format!("{word}{e}"))
            .collect();
    }
    if let Some(stem) = word.strip_suffix("er")
        && stem.ends_with("sch")
    {
        // `Deutscher` is an adjective used as a noun: der Deutsche, die Deutschen.
        return vec![format!("{stem}e"), format!("{stem}en")];
    }
    if word.ends_with('e') {
        vec![format!("{word}n")]
    } else if word.ends_with("in") {
        vec![format!("{word}nen")]
    } else if word.ends_with("er") {
        // Plural = singular; dative plural `-n`, genitive singular `-s`.
        vec![format!("{word}n"), format!("{word}s")]
    } else if ends_with_any(word, &["i", "a", "o"]) {
        vec![format!("{word}s")]
    } else if word.ends_with("ar") {
        vec![format!("{word}n")]
    } else if nth_last(word, 0).is_some_and(char::is_alphabetic) {
        // Other consonant-final person nouns are weak masculines: Zypriot → Zyprioten.
        vec![format!("{word}en")]
    } else {
        Vec::new()
    }
}

// ---------------------------------------------------------------------------------------------
// Russian

/// Case forms of a declined word or phrase, in the order genitive, dative, accusative,
/// instrumental, prepositional (the nominative is the term itself). Place names are
/// inanimate: their accusative is the nominative except for feminine `-а`/`-я` nouns.
type Cases = [String; 5];

const RU_VOWELS: &str = "аеёиоуыэюяАЕЁИОУЫЭЮЯ";

/// A letter of the Russian alphabet, or an apostrophe inside a name (Кот-д’Ивуар).
fn ru_letter(c: char) -> bool {
    matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё' | '’' | '\'')
}

fn ru_vowel(c: char) -> bool {
    RU_VOWELS.contains(c)
}

/// After these, Russian spelling writes и for ы.
fn ru_velar_or_hush(c: char) -> bool {
    "гкхжшщч".contains(c)
}

/// After these, an unstressed о in an ending is written е.
fn ru_hush_or_ts(c: char) -> bool {
    "жшщчц".contains(c)
}

fn cases(stem: &str, endings: [&str; 5]) -> Cases {
    endings.map(|e| format!("{stem}{e}"))
}

/// The case forms of a Russian name in the nominative. The name's noun phrase declines word
/// by word: adjectives and the first noun after them (`Саудовская Аравия` → `Саудовской
/// Аравии`). Whatever follows that noun is a genitive complement or a name in apposition and
/// stays as written (`Республика Казахстан` → `Республики Казахстан`, `Лига арабских
/// государств` → `Лиги арабских государств`), unless `и` or a dash starts another noun phrase
/// (`Босния и Герцеговина` → `Боснии и Герцеговины`).
fn ru_name_cases(term: &str) -> Vec<String> {
    let words: Vec<&str> = term.split(' ').collect();
    // A region's adjective (`ближневосточный`, lower case unlike names) is matched like a
    // demonym.
    if words.len() == 1
        && term.chars().next().is_some_and(char::is_lowercase)
        && ends_with_any(term, &["ый", "ий", "ой"])
        && ru_adjective(term).is_some()
    {
        return ru_demonym(term);
    }
    let mut declined: Vec<Option<Cases>> = Vec::with_capacity(words.len());
    let mut state = Phrase::Declining;
    for (i, word) in words.iter().enumerate() {
        match state {
            // Coordinated adjectives: Французские Южные и Антарктические территории.
            Phrase::Declining if *word == "и" => declined.push(None),
            Phrase::Declining => {
                let (cases, is_adjective) = ru_token_cases(word, i + 1 == words.len());
                if !is_adjective {
                    state = Phrase::AfterNoun;
                }
                declined.push(cases);
            }
            Phrase::AfterNoun => {
                state = if matches!(*word, "и" | "—" | "–") {
                    Phrase::Declining
                } else {
                    Phrase::Done
                };
                declined.push(None);
            }
            Phrase::Done => declined.push(None),
        }
    }
    if declined.iter().all(Option::is_none) {
        return Vec::new();
    }
    (0..5)
        .map(|case| {
            words
                .iter()
                .zip(&declined)
                .map(|(w, d)| d.as_ref().map_or(*w, |d| d[case].as_str()))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// Where [`ru_name_cases`] is in a name: in a noun phrase that declines, just after its noun,
/// or past it.
enum Phrase {
    Declining,
    AfterNoun,
    Done,
}

/// Cases of one space-separated token of a name (`None` if it does not decline) and whether
/// it is an adjective. Punctuation around it is kept; of a hyphenated word the right part
/// declines (`Коста-Рика` → `Коста-Рики`), or the left part when the right one does not
/// (`Гвинея-Бисау` → `Гвинеи-Бисау`).
fn ru_token_cases(token: &str, is_last: bool) -> (Option<Cases>, bool) {
    let Some(start) = token.find(|c: char| c.is_alphabetic()) else {
        return (None, false);
    };
    let end = token
        .char_indices()
        .rev()
        .find(|(_, c)| c.is_alphabetic())
        .map_or(token.len(), |(i, c)| i + c.len_utf8());
    let (lead, core, trail) = (&token[..start], &token[start..end], &token[end..]);
    let wrap = |cases: Cases, before: &str, after: &str| -> Cases {
        cases.map(|c| format!("{lead}{before}{c}{after}{trail}"))
    };
    if let Some((left, right)) = core.rsplit_once('-') {
        let (cases, is_adjective) = ru_word_cases(right, is_last);
        if let Some(cases) = cases {
            return (Some(wrap(cases, &format!("{left}-"), "")), is_adjective);
        }
        if let Some((first, rest)) = core.split_once('-')
            && ends_with_any(first, &["ия", "ея"])
        {
            let cases = ru_noun_cases(first).map(|c| wrap(c, "", &format!("-{rest}")));
            return (cases, false);
        }
        return (None, false);
    }
    let (cases, is_adjective) = ru_word_cases(core, is_last);
    (cases.map(|c| wrap(c, "", "")), is_adjective)
}

/// Cases of a single word of a name and whether it is an adjective (a nominative adjective
/// ending, or a possessive like `Соломоновы` before its noun); other words are nouns.
fn ru_word_cases(word: &str, is_last: bool) -> (Option<Cases>, bool) {
    // Abbreviations (США, ОАЭ, КНДР) and words in other scripts do not decline.
    if word.chars().count() > 1 && word.chars().all(|c| c.is_uppercase()) {
        return (None, false);
    }
    if !word.chars().all(ru_letter) {
        return (None, false);
    }
    let lower = word.to_lowercase();
    // Verbal nouns in -ние/-тие (Соглашение) look like plural adjectives.
    let verbal_noun = ends_with_any(&lower, &["ение", "ание", "яние", "тие"]);
    // The last word is the noun: adjectives come before theirs (Маврикий, Путраджая are
    // nouns).
    if !is_last
        && !verbal_noun
        && ends_with_any(
            &lower,
            &["ая", "яя", "ое", "ее", "ые", "ие", "ый", "ий", "ой"],
        )
        && let Some(adjective) = ru_adjective(word)
    {
        return (Some(adjective.cases()), true);
    }
    if !is_last && ends_with_any(&lower, &["овы", "евы", "ины"]) {
        return (Some(cases(word, ["х", "м", "", "ми", "х"])), true);
    }
    (ru_noun_cases(word), false)
}

/// Nouns of names that the patterns below get wrong: fleeting vowels (Египет → Египта),
/// neuter plurals in -а/-я, numerals. Nominative, then genitive, dative, accusative,
/// instrumental, prepositional, all lower case.
const RU_IRREGULAR: &[(&str, [&str; 5])] = &[
    (
        "египет",
        ["египта", "египту", "египет", "египтом", "египте"],
    ),
    ("рынок", ["рынка", "рынку", "рынок", "рынком", "рынке"]),
    ("пять", ["пяти", "пяти", "пять", "пятью", "пяти"]),
    (
        "острова",
        ["островов", "островам", "острова", "островами", "островах"],
    ),
    (
        "государства",
        [
            "государств",
            "государствам",
            "государства",
            "государствами",
            "государствах",
        ],
    ),
    (
        "соглашения",
        [
            "соглашений",
            "соглашениям",
            "соглашения",
            "соглашениями",
            "соглашениях",
        ],
    ),
    (
        "территории",
        [
            "территорий",
            "территориям",
            "территории",
            "территориями",
            "территориях",
        ],
    ),
    ("озера", ["озер", "озерам", "озера", "озерами", "озерах"]),
    ("озёра", ["озёр", "озёрам", "озёра", "озёрами", "озёрах"]),
];

/// Plural names whose genitive is `-ов` (the noun's singular is a masculine hard stem);
/// other plural names have the bare stem (`Филиппины` → `Филиппин`).
const RU_PLURAL_OV: &[&str] = &["штат", "эмират", "нидерланд"];

/// Cases of a noun in a name. `None` for indeclinable words: foreign names ending in a vowel
/// (Того, Перу, Чили, Сомали, Монако, Папуа, Скопье) and words this does not recognise.
fn ru_noun_cases(word: &str) -> Option<Cases> {
    let lower = word.to_lowercase();
    if let Some((_, forms)) = RU_IRREGULAR.iter().find(|(nom, _)| *nom == lower) {
        return Some(forms.map(|f| match_case(word, f)));
    }
    let last = nth_last(&lower, 0)?;
    let before = nth_last(&lower, 1).unwrap_or(' ');
    let stem = drop_last(word, 1);
    match last {
        // Russian neuter region names (Закавказье, Приднестровье); the foreign Скопье does
        // not decline.
        'е' if before == 'ь' && lower != "скопье" => {
            Some(cases(stem, ["я", "ю", "е", "ем", "е"]))
        }
        'е' if ends_with_any(&lower, &["ение", "ание", "яние", "тие"]) => {
            Some(cases(stem, ["я", "ю", "е", "ем", "и"]))
        }
        'ь' => Some(cases(stem, ["я", "ю", "ь", "ем", "е"])),
        'й' if before == 'и' => Some(cases(stem, ["я", "ю", "й", "ем", "и"])),
        'й' => Some(cases(stem, ["я", "ю", "й", "ем", "е"])),
        'я' if before == 'и' => Some(cases(stem, ["и", "и", "ю", "ей", "и"])),
        'я' => Some(cases(stem, ["и", "е", "ю", "ей", "е"])),
        'а' if ru_vowel(before) => None,
        'а' => {
            let genitive = if ru_velar_or_hush(before) { "и" } else { "ы" };
            let ins = if ru_hush_or_ts(before) {
                "ей"
            } else {
                "ой"
            };
            Some(cases(stem, [genitive, "е", "у", ins, "е"]))
        }
        'о' if lower.ends_with("ство") => Some(cases(stem, ["а", "у", "о", "ом", "е"])),
        'ы' if !ru_vowel(before) => {
            let stem_lower = drop_last(&lower, 1);
            let genitive = if RU_PLURAL_OV.iter().any(|s| stem_lower.ends_with(s)) {
                "ов"
            } else {
                ""
            };
            Some(cases(stem, [genitive, "ам", "ы", "ами", "ах"]))
        }
        c if ru_vowel(c) => None,
        c if ru_hush_or_ts(c) => Some(cases(word, ["а", "у", "", "ем", "е"])),
        c if c.is_alphabetic() && c != 'ъ' => Some(cases(word, ["а", "у", "", "ом", "е"])),
        _ => None,
    }
}

/// `stem` (lower case) with the first letter in the case of `word`'s.
fn match_case(word: &str, stem: &str) -> String {
    let upper = word.chars().next().is_some_and(char::is_uppercase);
    let mut chars = stem.chars();
    match chars.next() {
        Some(first) if upper => first.to_uppercase().chain(chars).collect(),
        _ => stem.to_owned(),
    }
}

/// A Russian adjective split into stem and declension class, with the gender and number of
/// the nominative it was given in.
struct RuAdjective<'a> {
    stem: &'a str,
    nominative: &'a str,
    class: AdjClass,
    form: AdjForm,
}

#[derive(Clone, Copy)]
enum AdjClass {
    /// Hard stem (южный, саудовская): `-ого`, `-ым`, `-ой`, `-ые`.
    Hard,
    /// Stem in г к х, or a stressed `-ой` after ж ш щ ч: `-ого`, `-им`, `-ой`.
    Velar,
    /// Stem in ж ш щ ч with unstressed ending: `-его`, `-им`, `-ей`, `-ую`.
    Hush,
    /// Soft stem: `-его`, `-им`, `-ей`, `-юю`.
    Soft,
}

#[derive(Clone, Copy)]
enum AdjForm {
    Masculine,
    Feminine,
    Neuter,
    Plural,
}

/// Endings per class: masculine gen, dat, ins, prep; feminine oblique, feminine accusative;
/// plural gen/prep, dat, ins; nominatives feminine, neuter, plural.
struct AdjEndings {
    m: [&'static str; 4],
    f_obl: &'static str,
    f_acc: &'static str,
    pl: [&'static str; 3],
    nom_fnp: [&'static str; 3],
}

impl AdjClass {
    fn endings(self) -> AdjEndings {
        match self {
            AdjClass::Hard => AdjEndings {
                m: ["ого", "ому", "ым", "ом"],
                f_obl: "ой",
                f_acc: "ую",
                pl: ["ых", "ым", "ыми"],
                nom_fnp: ["ая", "ое", "ые"],
            },
            AdjClass::Velar => AdjEndings {
                m: ["ого", "ому", "им", "ом"],
                f_obl: "ой",
                f_acc: "ую",
                pl: ["их", "им", "ими"],
                nom_fnp: ["ая", "ое", "ие"],
            },
            AdjClass::Hush => AdjEndings {
                m: ["его", "ему", "им", "ем"],
                f_obl: "ей",
                f_acc: "ую",
                pl: ["их", "им", "ими"],
                nom_fnp: ["ая", "ее", "ие"],
            },
            AdjClass::Soft => AdjEndings {
                m: ["его", "ему", "им", "ем"],
                f_obl: "ей",
                f_acc: "юю",
                pl: ["их", "им", "ими"],
                nom_fnp: ["яя", "ее", "ие"],
            },
        }
    }
}

fn ru_adjective(word: &str) -> Option<RuAdjective<'_>> {
    let ending = ["ый", "ий", "ой", "ая", "яя", "ое", "ее", "ые", "ие"]
        .into_iter()
        .find(|e| word.ends_with(e))?;
    let stem = drop_last(word, 2);
    let consonant = nth_last(stem, 0)?;
    // Shorter "stems" are nouns that happen to end like adjectives (Прая, Чая).
    if ru_vowel(consonant) || stem.chars().count() < 3 {
        return None;
    }
    let form = match ending {
        "ый" | "ий" | "ой" => AdjForm::Masculine,
        "ая" | "яя" => AdjForm::Feminine,
        "ое" | "ее" => AdjForm::Neuter,
        _ => AdjForm::Plural,
    };
    let class = if "гкх".contains(consonant) {
        AdjClass::Velar
    } else if "жшщч".contains(consonant) {
        // -ой is stressed (большой: большого, большой), and so is большая; other endings
        // are taken as unstressed (общая: общей).
        if ending == "ой" || stem.to_lowercase().ends_with("больш") {
            AdjClass::Velar
        } else {
            AdjClass::Hush
        }
    } else if matches!(ending, "ий" | "яя" | "ее" | "ие") {
        AdjClass::Soft
    } else {
        AdjClass::Hard
    };
    Some(RuAdjective {
        stem,
        nominative: word,
        class,
        form,
    })
}

impl RuAdjective<'_> {
    /// Inanimate case forms of the adjective in its own gender and number.
    fn cases(&self) -> Cases {
        let e = self.class.endings();
        let s = self.stem;
        let nom = self.nominative.to_owned();
        match self.form {
            AdjForm::Masculine | AdjForm::Neuter => [
                format!("{s}{}", e.m[0]),
                format!("{s}{}", e.m[1]),
                nom,
                format!("{s}{}", e.m[2]),
                format!("{s}{}", e.m[3]),
            ],
            AdjForm::Feminine => [
                format!("{s}{}", e.f_obl),
                format!("{s}{}", e.f_obl),
                format!("{s}{}", e.f_acc),
                format!("{s}{}", e.f_obl),
                format!("{s}{}", e.f_obl),
            ],
            AdjForm::Plural => [
                format!("{s}{}", e.pl[0]),
                format!("{s}{}", e.pl[1]),
                nom,
                format!("{s}{}", e.pl[2]),
                format!("{s}{}", e.pl[0]),
            ],
        }
    }

    /// Every form of the adjective: all genders, numbers and cases (animate accusatives
    /// coincide with the genitive, so they are included).
    fn all_forms(&self) -> Vec<String> {
        let e = self.class.endings();
        let s = self.stem;
        let mut endings: Vec<&str> = Vec::new();
        endings.extend(e.m);
        endings.extend([e.f_obl, e.f_acc]);
        endings.extend(e.nom_fnp);
        endings.extend(e.pl);
        let mut out = vec![self.nominative.to_owned()];
        for ending in endings {
            let form = format!("{s}{ending}");
            if !out.contains(&form) {
                out.push(form);
            }
        }
        out
    }
}

/// Stems at least this long are matched as prefixes (`казахск*`); shorter ones would catch
/// unrelated words, so their forms are listed.
const RU_MIN_PREFIX_STEM: usize = 5;

/// Forms of a Russian demonym: a masculine adjective (`казахский`), or a person noun,
/// masculine (`казах`, `казахстанец`, `россиянин`) or feminine in `-ка` (`казашка`).
fn ru_demonym(word: &str) -> Vec<String> {
    if ends_with_any(word, &["ый", "ий", "ой"])
        && let Some(adjective) = ru_adjective(word)
    {
        if adjective.stem.chars().count() >= RU_MIN_PREFIX_STEM {
            return vec![format!("{}*", adjective.stem)];
        }
        return adjective.all_forms();
    }
    let person = |stem: &str, endings: &[&str]| -> Vec<String> {
        endings.iter().map(|e| format!("{stem}{e}")).collect()
    };
    if let Some(stem) = word
        .strip_suffix("анин")
        .map(|s| format!("{s}ан"))
        .or_else(|| word.strip_suffix("янин").map(|s| format!("{s}ян")))
    {
        let mut out = person(&format!("{stem}ин"), &["а", "у", "ом", "е"]);
        out.extend(person(&stem, &["е", "", "ам", "ами", "ах"]));
        return out;
    }
    if let Some(before) = word.strip_suffix("ец")
        && let Some(prev) = nth_last(before, 0)
    {
        // The е of -ец drops in the other forms; after a vowel it leaves a й (кореец → корейца).
        let stem = if ru_vowel(prev) {
            format!("{before}йц")
        } else {
            format!("{before}ц")
        };
        return person(&stem, &["а", "у", "ем", "е", "ы", "ев", "ам", "ами", "ах"]);
    }
    if let Some(stem) = word.strip_suffix("ка")
        && let Some(prev) = nth_last(stem, 0)
    {
        // Genitive plural inserts a vowel: е after ж ш щ ч and in place of ь/й, else о.
        let gen_pl = match prev {
            'ь' | 'й' => format!("{}ек", drop_last(stem, 1)),
            c if "жшщч".contains(c) => format!("{stem}ек"),
            c if ru_vowel(c) => format!("{stem}к"),
            _ => format!("{stem}ок"),
        };
        let mut out = person(drop_last(word, 1), &["и", "е", "у", "ой"]);
        out.push(gen_pl);
        out.extend(person(&format!("{stem}к"), &["ам", "ами", "ах"]));
        return out;
    }
    let Some(last) = nth_last(word, 0) else {
        return Vec::new();
    };
    if last == 'й' {
        let stem = drop_last(word, 1);
        return person(stem, &["я", "ю", "ем", "е", "и", "ев", "ям", "ями", "ях"]);
    }
    if ru_vowel(last) || !('а'..='я').contains(&last) || last == 'ь' || last == 'ъ' {
        return Vec::new();
    }
    let plural = if ru_velar_or_hush(last) { "и" } else { "ы" };
    if "жшщч".contains(last) {
        return person(
            word,
            &["а", "у", "ем", "ом", "е", plural, "ей", "ам", "ами", "ах"],
        );
    }
    person(
        word,
        &["а", "у", "ом", "е", plural, "ов", "ам", "ами", "ах"],
    )
}

// ---------------------------------------------------------------------------------------------
// Arabic

const AR_ARTICLE: &str = "ال";

/// Conjunctions and prepositions written joined to the next word, alone and combined.
const AR_PROCLITICS: &[&str] = &["و", "ف", "ب", "ل", "ك", "وب", "ول", "فب", "فل", "وك"];

/// The few proclitics kept on generated forms, so that one term stays under ~50 forms.
const AR_PROCLITICS_LIGHT: &[&str] = &["و", "ب", "ل"];

/// Letters of an Arabic word, not counting harakat or tatweel (the data has none, but a
/// curator may paste them).
fn ar_letters(word: &str) -> usize {
    word.chars()
        .filter(|c| !matches!(c, '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0640}'))
        .count()
}

/// `phrase` with each of `proclitics` joined to its first word. Before the article, ل
/// absorbs its alef: ل + الإمارات → للإمارات.
fn ar_with_proclitics(phrase: &str, proclitics: &[&str]) -> Vec<String> {
    let after_article = phrase.strip_prefix(AR_ARTICLE);
    proclitics
        .iter()
        .map(|p| match after_article {
            Some(rest) if p.ends_with('ل') => format!("{p}ل{rest}"),
            _ => format!("{p}{phrase}"),
        })
        .collect()
}

/// `word` with the article, unless it has it.
fn ar_definite(word: &str) -> String {
    if word.starts_with(AR_ARTICLE) {
        word.to_owned()
    } else {
        format!("{AR_ARTICLE}{word}")
    }
}

/// Whether a nisba can be formed by adding ي: the word ends in a consonant, not in a long
/// vowel or ta marbuta (روسيا → روسي, مالي → مالي are listed as demonyms instead).
fn ar_consonant_final(word: &str) -> bool {
    nth_last(word, 0)
        .is_some_and(|c| !matches!(c, 'ا' | 'ى' | 'ي' | 'ة' | 'و' | 'ء' | 'أ' | 'إ' | 'آ'))
}

/// Forms of an Arabic name or capital: the proclitics, and the nisba adjectives built on it
/// (كازاخستان* for كازاخستاني, كازاخستانية…; explicit مصري, مصرية… for short names, where
/// a prefix would also match other words: مصر* matches مصرف, "bank").
fn ar_name(term: &str) -> Vec<String> {
    let (before, last) = match term.rsplit_once(' ') {
        Some((before, last)) => (Some(before), last),
        None => (None, term),
    };
    let with_last = |word: String| match before {
        Some(before) => format!("{before} {word}"),
        None => word,
    };
    let core = last.strip_prefix(AR_ARTICLE).unwrap_or(last);
    let mut out = Vec::new();
    if ar_letters(core) >= 5 {
        let prefix = with_last(format!("{last}*"));
        out.extend(ar_with_proclitics(&prefix, AR_PROCLITICS));
        out.insert(0, prefix);
        return out;
    }
    out.extend(ar_with_proclitics(term, AR_PROCLITICS));
    if before.is_none() && ar_consonant_final(last) {
        for suffix in ["ي", "ية", "يين", "يون", "يات"] {
            let nisba = format!("{last}{suffix}");
            out.push(nisba.clone());
            out.extend(ar_with_proclitics(&nisba, AR_PROCLITICS_LIGHT));
        }
    }
    out
}

/// Stems of at least this many letters are matched as prefixes.
const AR_MIN_PREFIX_DEMONYM: usize = 6;

/// Forms of an Arabic demonym given as the masculine nisba (كازاخستاني): feminine and
/// plurals (ة, ين, ون, ات), with the article (الكازاخستاني: the adjective follows a definite
/// noun in most headlines) and the proclitics. Each word of a multi-word demonym agrees
/// (كوري جنوبي → كورية جنوبية). Other demonyms (broken plurals) get the article and proclitics.
fn ar_demonym(term: &str) -> Vec<String> {
    let words: Vec<&str> = term.split(' ').collect();
    let mut out = Vec::new();
    let definite = |phrase: &str| -> String {
        phrase
            .split(' ')
            .map(ar_definite)
            .collect::<Vec<_>>()
            .join(" ")
    };
    let nisba = words.iter().all(|w| w.ends_with('ي'));
    if nisba && words.len() == 1 && ar_letters(term) >= AR_MIN_PREFIX_DEMONYM {
        let prefix = format!("{term}*");
        let definite_prefix = format!("{}*", ar_definite(term));
        out.push(prefix.clone());
        out.extend(ar_with_proclitics(&prefix, AR_PROCLITICS));
        out.push(definite_prefix.clone());
        out.extend(ar_with_proclitics(&definite_prefix, AR_PROCLITICS));
        return out;
    }
    let suffixes: &[&str] = if nisba {
        &["", "ة", "ين", "ون", "ات"]
    } else {
        &[""]
    };
    let mut definites = Vec::new();
    for suffix in suffixes {
        let form = words
            .iter()
            .map(|w| format!("{w}{suffix}"))
            .collect::<Vec<_>>()
            .join(" ");
        let proclitics = if form == term {
            AR_PROCLITICS
        } else {
            AR_PROCLITICS_LIGHT
        };
        out.push(form.clone());
        out.extend(ar_with_proclitics(&form, proclitics));
        definites.push(definite(&form));
    }
    for form in definites {
        out.push(form.clone());
        out.extend(ar_with_proclitics(&form, AR_PROCLITICS_LIGHT));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(lang: Lang, term: &str) -> Vec<String> {
        forms(lang, Kind::Names, term)
    }

    fn demonyms(lang: Lang, term: &str) -> Vec<String> {
        forms(lang, Kind::Demonyms, term)
    }

    #[track_caller]
    fn assert_forms(got: Vec<String>, want: &[&str]) {
        assert_eq!(got, want, "got {got:#?}");
    }

    #[test]
    fn ukrainian_and_polish_names_match_their_case_endings_through_the_stem() {
        assert_forms(names(Lang::Uk, "Росія"), &["Росія", "Росі*"]);
        assert_forms(names(Lang::Uk, "Казахстан"), &["Казахстан", "Казахстан*"]);
        assert_forms(
            names(Lang::Pl, "Rosja"),
            &["Rosja", "Rosji", "Rosją", "Rosję"],
        );
        assert_forms(
            names(Lang::Pl, "Kazachstan"),
            &["Kazachstan", "Kazachstan*"],
        );
        assert_forms(
            names(Lang::Pl, "Arabia Saudyjska"),
            &[
                "Arabia Saudyjska",
                "Arabia Saudyjsk*",
                "Arabii Saudyjsk*",
                "Arabię Saudyjsk*",
                "Arabią Saudyjsk*",
            ],
        );
        // Too short a stem would start too many other words.
        assert_forms(names(Lang::Pl, "Kuba"), &["Kuba"]);
    }

    #[test]
    fn ukrainian_and_polish_multi_word_names_decline_their_first_words() {
        let pl = names(Lang::Pl, "Arabia Saudyjska");
        assert_contains(
            &pl,
            &["Arabii Saudyjsk*", "Arabią Saudyjsk*", "Arabię Saudyjsk*"],
        );
        let pl = names(Lang::Pl, "Zjednoczone Emiraty Arabskie");
        assert_contains(
            &pl,
            &[
                "Zjednoczonych Emiratów Arabski*",
                "Zjednoczonym Emiratom Arabski*",
                "Zjednoczonymi Emiratami Arabski*",
                "Zjednoczonych Emiratach Arabski*",
            ],
        );
        assert_contains(&names(Lang::Pl, "Azja Środkowa"), &["Azji Środkow*"]);
        assert_contains(&names(Lang::Pl, "Korea Południowa"), &["Korei Południow*"]);
        let uk = names(Lang::Uk, "Об'єднані Арабські Емірати");
        assert_contains(
            &uk,
            &[
                "Об'єднаних Арабських Емірат*",
                "Об'єднаним Арабським Емірат*",
                "Об'єднаними Арабськими Емірат*",
            ],
        );
        let uk = names(Lang::Uk, "Саудівська Аравія");
        assert_contains(&uk, &["Саудівської Араві*", "Саудівською Араві*"]);
        assert_contains(&names(Lang::Uk, "Південний Судан"), &["Південного Судан*"]);
        // Азі- is too short a prefix: the last word takes the case too.
        assert_contains(
            &names(Lang::Uk, "Центральна Азія"),
            &["Центральної Азії", "Центральною Азією"],
        );
        // A masculine noun first is left alone: its genitive may be -а or -у.
        assert_forms(
            names(Lang::Pl, "Sudan Południowy"),
            &["Sudan Południowy", "Sudan Południow*"],
        );
        assert_forms(names(Lang::Uk, "=Того"), &["=Того"]);
    }

    #[test]
    fn short_latin_script_names_take_listed_endings_not_any() {
        // A bare `Indi*` started *indicate* and *individual*; `Chil*` *children*.
        assert_forms(
            names(Lang::Pl, "Indie"),
            &["Indie", "Indii", "Indiach", "Indiom", "Indiami"],
        );
        assert_forms(names(Lang::Pl, "Chile"), &["Chile"]);
        assert_forms(
            names(Lang::Pl, "Malta"),
            &["Malta", "Malty", "Malti", "Maltę", "Maltą", "Maltie"],
        );
        assert_forms(
            names(Lang::Pl, "Iran"),
            &["Iran", "Iranu", "Iranie", "Iranem", "Iranowi", "Irana"],
        );
        // Turkish writes endings after an apostrophe, which splits the word.
        assert_forms(names(Lang::Tr, "Şili"), &["Şili"]);
        assert_forms(
            names(Lang::Tr, "Kazakistan"),
            &["Kazakistan", "Kazakistan*"],
        );
        let uz = names(Lang::Uz, "Xitoy");
        assert!(uz.contains(&"Xitoyning".to_owned()), "{uz:?}");
        assert!(!uz.iter().any(|f| f.ends_with('*')), "{uz:?}");
        // Cyrillic stems are not shared with the Latin-script languages.
        assert_forms(names(Lang::Uk, "Індія"), &["Індія", "Інді*"]);
    }

    #[test]
    fn agglutinating_languages_take_any_ending_on_a_long_enough_name() {
        assert_forms(names(Lang::Kk, "Қазақстан"), &["Қазақстан", "Қазақстан*"]);
        assert_forms(
            names(Lang::Ko, "카자흐스탄"),
            &["카자흐스탄", "카자흐스탄*"],
        );
        assert_forms(names(Lang::Tr, "Çin"), &["Çin"]);
        assert_forms(names(Lang::Zh, "哈萨克斯坦"), &["哈萨克斯坦"]);
    }

    #[test]
    fn hebrew_names_take_the_prefixed_particles() {
        let got = names(Lang::He, "קזחסטן");
        for form in ["קזחסטן", "וקזחסטן", "בקזחסטן", "לקזחסטן", "שבקזחסטן"]
        {
            assert!(
                got.contains(&form.to_owned()),
                "{form} missing from {got:?}"
            );
        }
    }

    #[track_caller]
    fn assert_contains(got: &[String], want: &[&str]) {
        for w in want {
            assert!(got.iter().any(|g| g == w), "{w} missing from {got:#?}");
        }
    }

    #[track_caller]
    fn assert_lacks(got: &[String], unwanted: &[&str]) {
        for w in unwanted {
            assert!(!got.iter().any(|g| g == w), "{w} unexpected in {got:#?}");
        }
    }

    // General

    #[test]
    fn exact_case_terms_inflect_and_keep_their_case() {
        assert_forms(
            names(Lang::Ru, "=Катар"),
            &["=Катар", "=Катара", "=Катару", "=Катаром", "=Катаре"],
        );
    }

    #[test]
    fn arabic_capitals_take_proclitics_but_no_nisba() {
        let riyadh = forms(Lang::Ar, Kind::Capitals, "الرياض");
        assert!(riyadh.contains(&"بالرياض".to_owned()), "{riyadh:?}");
        // الرياضي is "sporting", not "of Riyadh".
        assert!(!riyadh.iter().any(|f| f.contains("الرياضي")), "{riyadh:?}");
        let beijing = forms(Lang::Ar, Kind::Capitals, "بكين");
        assert!(
            !beijing.iter().any(|f| f.starts_with("بكيني")),
            "{beijing:?}"
        );
    }

    #[test]
    fn exact_case_local_and_prefix_terms_are_unchanged() {
        assert_forms(demonyms(Lang::En, "=Polish"), &["=Polish"]);
        assert_forms(names(Lang::Ru, "=США"), &["=США"]);
        assert_forms(names(Lang::Local, "Қазақстан"), &["Қазақстан"]);
        assert_forms(demonyms(Lang::Local, "Qazaq"), &["Qazaq"]);
        assert_forms(demonyms(Lang::En, "Kazakh*"), &["Kazakh*"]);
    }

    #[test]
    fn capitals_are_treated_like_names() {
        assert_eq!(
            forms(Lang::Ru, Kind::Capitals, "Астана"),
            names(Lang::Ru, "Астана")
        );
        assert_forms(
            forms(Lang::Ru, Kind::Capitals, "Астана"),
            &["Астана", "Астаны", "Астане", "Астану", "Астаной"],
        );
        assert_forms(
            forms(Lang::De, Kind::Capitals, "Astana"),
            &["Astana", "Astanas"],
        );
    }

    #[test]
    fn output_starts_with_the_term_and_has_no_duplicates() {
        for (lang, kind, term) in [
            (Lang::Ru, Kind::Names, "Саудовская Аравия"),
            (Lang::Ru, Kind::Demonyms, "казах"),
            (Lang::Ar, Kind::Names, "مصر"),
            (Lang::Ar, Kind::Demonyms, "مصري"),
            (Lang::Es, Kind::Demonyms, "iraní"),
        ] {
            let got = forms(lang, kind, term);
            assert_eq!(got[0], term);
            let mut unique = got.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), got.len(), "duplicates in {got:#?}");
        }
    }

    // English

    #[test]
    fn en_names_are_unchanged() {
        assert_forms(names(Lang::En, "Kazakhstan"), &["Kazakhstan"]);
        assert_forms(names(Lang::En, "United States"), &["United States"]);
    }

    #[test]
    fn en_demonyms_take_plural_s() {
        assert_forms(demonyms(Lang::En, "Kazakh"), &["Kazakh", "Kazakhs"]);
        assert_forms(demonyms(Lang::En, "Israeli"), &["Israeli", "Israelis"]);
        assert_forms(demonyms(Lang::En, "American"), &["American", "Americans"]);
        assert_forms(demonyms(Lang::En, "Uzbek"), &["Uzbek", "Uzbeks"]);
        assert_forms(demonyms(Lang::En, "German"), &["German", "Germans"]);
        assert_forms(
            demonyms(Lang::En, "South African"),
            &["South African", "South Africans"],
        );
    }

    #[test]
    fn en_demonyms_in_sibilants_and_ese_are_unchanged() {
        for term in ["British", "French", "Chinese", "Swiss", "Kyrgyz", "Manx"] {
            assert_forms(demonyms(Lang::En, term), &[term]);
        }
    }

    #[test]
    fn en_man_compounds_take_men() {
        assert_forms(demonyms(Lang::En, "Frenchman"), &["Frenchman", "Frenchmen"]);
        assert_forms(
            demonyms(Lang::En, "Englishman"),
            &["Englishman", "Englishmen"],
        );
        assert_forms(demonyms(Lang::En, "Scotsman"), &["Scotsman", "Scotsmen"]);
    }

    // French

    #[test]
    fn fr_names_are_unchanged() {
        assert_forms(names(Lang::Fr, "Kazakhstan"), &["Kazakhstan"]);
    }

    #[test]
    fn fr_demonyms_take_plural() {
        assert_forms(demonyms(Lang::Fr, "kazakh"), &["kazakh", "kazakhs"]);
        assert_forms(demonyms(Lang::Fr, "kazakhe"), &["kazakhe", "kazakhes"]);
        assert_forms(
            demonyms(Lang::Fr, "israélien"),
            &["israélien", "israéliens"],
        );
        assert_forms(
            demonyms(Lang::Fr, "israélienne"),
            &["israélienne", "israéliennes"],
        );
        assert_forms(
            demonyms(Lang::Fr, "sud-africain"),
            &["sud-africain", "sud-africains"],
        );
    }

    #[test]
    fn fr_demonyms_in_s_x_z_are_unchanged() {
        for term in ["français", "kazakhstanais", "suisse", "québécois"] {
            let want: &[&str] = if term == "suisse" {
                &["suisse", "suisses"]
            } else {
                &[term]
            };
            assert_forms(demonyms(Lang::Fr, term), want);
        }
    }

    #[test]
    fn fr_al_becomes_aux() {
        assert_forms(demonyms(Lang::Fr, "oriental"), &["oriental", "orientaux"]);
        assert_forms(demonyms(Lang::Fr, "népalais"), &["népalais"]);
        // -ale is a feminine singular: plural -ales.
        assert_forms(
            demonyms(Lang::Fr, "orientale"),
            &["orientale", "orientales"],
        );
    }

    // Spanish

    #[test]
    fn es_names_are_unchanged() {
        assert_forms(names(Lang::Es, "Kazajistán"), &["Kazajistán"]);
    }

    #[test]
    fn es_vowel_final_demonyms_take_s() {
        assert_forms(demonyms(Lang::Es, "kazajo"), &["kazajo", "kazajos"]);
        assert_forms(demonyms(Lang::Es, "kazaja"), &["kazaja", "kazajas"]);
        assert_forms(
            demonyms(Lang::Es, "estadounidense"),
            &["estadounidense", "estadounidenses"],
        );
    }

    #[test]
    fn es_stressed_i_and_u_take_es_and_s() {
        assert_forms(demonyms(Lang::Es, "iraní"), &["iraní", "iraníes", "iranís"]);
        assert_forms(
            demonyms(Lang::Es, "israelí"),
            &["israelí", "israelíes", "israelís"],
        );
        assert_forms(demonyms(Lang::Es, "hindú"), &["hindú", "hindúes", "hindús"]);
    }

    #[test]
    fn es_consonant_final_demonyms_take_es_losing_the_final_accent() {
        assert_forms(demonyms(Lang::Es, "español"), &["español", "españoles"]);
        assert_forms(demonyms(Lang::Es, "francés"), &["francés", "franceses"]);
        assert_forms(demonyms(Lang::Es, "alemán"), &["alemán", "alemanes"]);
        assert_forms(demonyms(Lang::Es, "inglés"), &["inglés", "ingleses"]);
        assert_forms(demonyms(Lang::Es, "andaluz"), &["andaluz", "andaluces"]);
    }

    // German

    #[test]
    fn de_names_take_genitive_s() {
        assert_forms(
            names(Lang::De, "Kasachstan"),
            &["Kasachstan", "Kasachstans"],
        );
        assert_forms(
            names(Lang::De, "Deutschland"),
            &["Deutschland", "Deutschlands"],
        );
        assert_forms(
            names(Lang::De, "Costa Rica"),
            &["Costa Rica", "Costa Ricas"],
        );
    }

    #[test]
    fn de_names_without_genitive_s() {
        for term in [
            "Paris",
            "Schweiz",
            "Türkei",
            "Ukraine",
            "Niederlande",
            "Vereinigte Staaten",
            "Dominikanische Republik",
            "Demokratische Republik Kongo",
            "Marshallinseln",
        ] {
            assert_forms(names(Lang::De, term), &[term]);
        }
    }

    #[test]
    fn de_adjectives_get_their_endings() {
        assert_forms(
            demonyms(Lang::De, "kasachisch"),
            &[
                "kasachisch",
                "kasachische",
                "kasachischen",
                "kasachischer",
                "kasachisches",
                "kasachischem",
            ],
        );
        assert_contains(&demonyms(Lang::De, "deutsch"), &["deutschen"]);
    }

    #[test]
    fn de_person_nouns() {
        assert_forms(demonyms(Lang::De, "Kasache"), &["Kasache", "Kasachen"]);
        assert_forms(demonyms(Lang::De, "Kasachin"), &["Kasachin", "Kasachinnen"]);
        assert_forms(
            demonyms(Lang::De, "Italiener"),
            &["Italiener", "Italienern", "Italieners"],
        );
        assert_forms(demonyms(Lang::De, "Israeli"), &["Israeli", "Israelis"]);
        assert_forms(demonyms(Lang::De, "Zypriot"), &["Zypriot", "Zyprioten"]);
        assert_forms(demonyms(Lang::De, "Jemenit"), &["Jemenit", "Jemeniten"]);
        assert_forms(demonyms(Lang::De, "Ungar"), &["Ungar", "Ungarn"]);
        assert_forms(
            demonyms(Lang::De, "Deutscher"),
            &["Deutscher", "Deutsche", "Deutschen"],
        );
    }

    // Russian names

    #[test]
    fn ru_hard_consonant_noun() {
        assert_forms(
            names(Lang::Ru, "Казахстан"),
            &[
                "Казахстан",
                "Казахстана",
                "Казахстану",
                "Казахстаном",
                "Казахстане",
            ],
        );
        assert_forms(
            names(Lang::Ru, "Париж"),
            &["Париж", "Парижа", "Парижу", "Парижем", "Париже"],
        );
        assert_forms(
            names(Lang::Ru, "Египет"),
            &["Египет", "Египта", "Египту", "Египтом", "Египте"],
        );
    }

    #[test]
    fn ru_soft_sign_and_short_i_nouns() {
        assert_forms(
            names(Lang::Ru, "Израиль"),
            &["Израиль", "Израиля", "Израилю", "Израилем", "Израиле"],
        );
        assert_forms(
            names(Lang::Ru, "Китай"),
            &["Китай", "Китая", "Китаю", "Китаем", "Китае"],
        );
    }

    #[test]
    fn ru_feminine_nouns() {
        assert_forms(
            names(Lang::Ru, "Россия"),
            &["Россия", "России", "Россию", "Россией"],
        );
        assert_forms(
            names(Lang::Ru, "Куба"),
            &["Куба", "Кубы", "Кубе", "Кубу", "Кубой"],
        );
        assert_forms(
            names(Lang::Ru, "Америка"),
            &["Америка", "Америки", "Америке", "Америку", "Америкой"],
        );
        assert_forms(
            names(Lang::Ru, "Подгорица"),
            &[
                "Подгорица",
                "Подгорицы",
                "Подгорице",
                "Подгорицу",
                "Подгорицей",
            ],
        );
        assert_forms(
            names(Lang::Ru, "Корея"),
            &["Корея", "Кореи", "Корее", "Корею", "Кореей"],
        );
    }

    #[test]
    fn ru_plural_names() {
        assert_forms(
            names(Lang::Ru, "Нидерланды"),
            &[
                "Нидерланды",
                "Нидерландов",
                "Нидерландам",
                "Нидерландами",
                "Нидерландах",
            ],
        );
        assert_forms(
            names(Lang::Ru, "Филиппины"),
            &[
                "Филиппины",
                "Филиппин",
                "Филиппинам",
                "Филиппинами",
                "Филиппинах",
            ],
        );
        assert_contains(&names(Lang::Ru, "Багамы"), &["Багам", "Багамах"]);
    }

    #[test]
    fn ru_neuter_names_in_ye_decline() {
        assert_forms(
            names(Lang::Ru, "Закавказье"),
            &["Закавказье", "Закавказья", "Закавказью", "Закавказьем"],
        );
        assert_forms(names(Lang::Ru, "Скопье"), &["Скопье"]);
    }

    #[test]
    fn ru_indeclinable_names() {
        for term in [
            "Того",
            "Перу",
            "Чили",
            "Конго",
            "Сомали",
            "Марокко",
            "Монако",
            "Баку",
            "Душанбе",
            "США",
            "ОАЭ",
            "КНР",
            "КНДР",
            "Папуа",
        ] {
            assert_forms(names(Lang::Ru, term), &[term]);
        }
    }

    #[test]
    fn ru_multi_word_names_decline_word_by_word() {
        assert_forms(
            names(Lang::Ru, "Саудовская Аравия"),
            &[
                "Саудовская Аравия",
                "Саудовской Аравии",
                "Саудовскую Аравию",
                "Саудовской Аравией",
            ],
        );
        assert_forms(
            names(Lang::Ru, "Южная Корея"),
            &[
                "Южная Корея",
                "Южной Кореи",
                "Южной Корее",
                "Южную Корею",
                "Южной Кореей",
            ],
        );
        assert_forms(
            names(Lang::Ru, "Соединённые Штаты"),
            &[
                "Соединённые Штаты",
                "Соединённых Штатов",
                "Соединённым Штатам",
                "Соединёнными Штатами",
                "Соединённых Штатах",
            ],
        );
        assert_forms(
            names(Lang::Ru, "Объединённые Арабские Эмираты"),
            &[
                "Объединённые Арабские Эмираты",
                "Объединённых Арабских Эмиратов",
                "Объединённым Арабским Эмиратам",
                "Объединёнными Арабскими Эмиратами",
                "Объединённых Арабских Эмиратах",
            ],
        );
        assert_forms(
            names(Lang::Ru, "Восточный Тимор"),
            &[
                "Восточный Тимор",
                "Восточного Тимора",
                "Восточному Тимору",
                "Восточным Тимором",
                "Восточном Тиморе",
            ],
        );
        assert_forms(
            names(Lang::Ru, "Соединённое Королевство"),
            &[
                "Соединённое Королевство",
                "Соединённого Королевства",
                "Соединённому Королевству",
                "Соединённым Королевством",
                "Соединённом Королевстве",
            ],
        );
        assert_contains(
            &names(Lang::Ru, "Босния и Герцеговина"),
            &["Боснии и Герцеговины", "Боснией и Герцеговиной"],
        );
        assert_contains(
            &names(Lang::Ru, "Соломоновы Острова"),
            &["Соломоновых Островов", "Соломоновых Островах"],
        );
    }

    #[test]
    fn ru_apposition_after_the_head_noun_stays() {
        assert_forms(
            names(Lang::Ru, "Республика Казахстан"),
            &[
                "Республика Казахстан",
                "Республики Казахстан",
                "Республике Казахстан",
                "Республику Казахстан",
                "Республикой Казахстан",
            ],
        );
        assert_contains(
            &names(Lang::Ru, "Королевство Марокко"),
            &["Королевства Марокко"],
        );
        assert_contains(
            &names(Lang::Ru, "Государство Израиль"),
            &["Государством Израиль"],
        );
        assert_contains(
            &names(Lang::Ru, "Федеративная Республика Германия"),
            &["Федеративной Республики Германия"],
        );
        assert_contains(&names(Lang::Ru, "Острова Кука"), &["Островах Кука"]);
        // A head at the end declines with the rest.
        assert_contains(
            &names(Lang::Ru, "Центральноафриканская Республика"),
            &["Центральноафриканской Республики"],
        );
    }

    #[test]
    fn ru_hyphenated_names() {
        assert_contains(
            &names(Lang::Ru, "Коста-Рика"),
            &["Коста-Рики", "Коста-Рикой"],
        );
        assert_contains(
            &names(Lang::Ru, "Гвинея-Бисау"),
            &["Гвинеи-Бисау", "Гвинеей-Бисау"],
        );
        assert_contains(&names(Lang::Ru, "Тель-Авив"), &["Тель-Авива"]);
        assert_forms(names(Lang::Ru, "Буркина-Фасо"), &["Буркина-Фасо"]);
        assert_contains(
            &names(Lang::Ru, "Папуа — Новая Гвинея"),
            &["Папуа — Новой Гвинеи", "Папуа — Новую Гвинею"],
        );
    }

    #[test]
    fn ru_multi_word_names_stay_short() {
        for term in [
            "Объединённые Арабские Эмираты",
            "Федеративная Республика Германия",
            "Демократическая Республика Конго",
        ] {
            assert!(names(Lang::Ru, term).len() <= 12);
        }
    }

    #[test]
    fn ru_names_with_conjunctions_apostrophes_brackets_and_soft_adjectives() {
        assert_contains(
            &names(Lang::Ru, "Сент-Китс и Невис"),
            &["Сент-Китса и Невиса", "Сент-Китсом и Невисом"],
        );
        assert_contains(
            &names(Lang::Ru, "Тринидад и Тобаго"),
            &["Тринидада и Тобаго", "Тринидаде и Тобаго"],
        );
        assert_contains(&names(Lang::Ru, "Кот-д’Ивуар"), &["Кот-д’Ивуаре"]);
        assert_contains(
            &names(Lang::Ru, "Фолклендские (Мальвинские) острова"),
            &["Фолклендских (Мальвинских) островах"],
        );
        assert_contains(
            &names(Lang::Ru, "Ближний Восток"),
            &["Ближнего Востока", "Ближнем Востоке"],
        );
        assert_contains(
            &names(Lang::Ru, "Средняя Азия"),
            &["Средней Азии", "Среднюю Азию"],
        );
    }

    #[test]
    fn ru_hushing_person_nouns_take_i_and_ei() {
        assert_contains(
            &demonyms(Lang::Ru, "москвич"),
            &["москвичи", "москвичей", "москвичем", "москвичом"],
        );
        assert_lacks(&demonyms(Lang::Ru, "москвич"), &["москвичы", "москвичов"]);
        assert_contains(&demonyms(Lang::Ru, "немец"), &["немца", "немцы", "немцев"]);
    }

    #[test]
    fn ru_words_after_the_noun_stay_as_written() {
        assert_forms(
            names(Lang::Ru, "Лига арабских государств"),
            &[
                "Лига арабских государств",
                "Лиги арабских государств",
                "Лиге арабских государств",
                "Лигу арабских государств",
                "Лигой арабских государств",
            ],
        );
        assert_contains(
            &names(Lang::Ru, "Организация Договора о коллективной безопасности"),
            &["Организации Договора о коллективной безопасности"],
        );
        assert_contains(
            &names(Lang::Ru, "Соглашение между США, Мексикой и Канадой"),
            &["Соглашением между США, Мексикой и Канадой"],
        );
        assert_contains(
            &names(Lang::Ru, "Соединенные Штаты Америки"),
            &["Соединенных Штатов Америки"],
        );
        assert_contains(
            &names(Lang::Ru, "остров Херд и острова Макдональд"),
            &["островом Херд и острова Макдональд"],
        );
    }

    #[test]
    fn ru_coordinated_adjectives_and_irregular_nouns() {
        assert_contains(
            &names(Lang::Ru, "Французские Южные и Антарктические территории"),
            &["Французских Южных и Антарктических территорий"],
        );
        assert_contains(
            &names(Lang::Ru, "Соглашения Авраама"),
            &["Соглашений Авраама"],
        );
        assert_contains(
            &names(Lang::Ru, "Соглашение Авраама"),
            &["Соглашении Авраама"],
        );
        assert_contains(&names(Lang::Ru, "Пять глаз"), &["Пяти глаз"]);
        assert_contains(
            &names(Lang::Ru, "Южноамериканский общий рынок"),
            &["Южноамериканского общего рынка"],
        );
        // Stressed большая: Большой семерки, not Большей.
        assert_contains(&names(Lang::Ru, "Большая семерка"), &["Большой семерки"]);
    }

    #[test]
    fn ru_last_words_are_nouns_and_lone_adjectives_are_prefixes() {
        assert_forms(
            names(Lang::Ru, "Маврикий"),
            &["Маврикий", "Маврикия", "Маврикию", "Маврикием", "Маврикии"],
        );
        assert_forms(
            forms(Lang::Ru, Kind::Capitals, "Путраджая"),
            &[
                "Путраджая",
                "Путраджаи",
                "Путраджае",
                "Путраджаю",
                "Путраджаей",
            ],
        );
        assert_forms(
            names(Lang::Ru, "ближневосточный"),
            &["ближневосточный", "ближневосточн*"],
        );
    }

    // Russian demonyms

    #[test]
    fn ru_adjectives_become_prefixes() {
        assert_forms(demonyms(Lang::Ru, "казахский"), &["казахский", "казахск*"]);
        assert_forms(
            demonyms(Lang::Ru, "российский"),
            &["российский", "российск*"],
        );
        assert_forms(demonyms(Lang::Ru, "тайский"), &["тайский", "тайск*"]);
    }

    #[test]
    fn ru_short_adjective_stems_are_listed() {
        let got = demonyms(Lang::Ru, "новый");
        assert_contains(
            &got,
            &[
                "новый",
                "нового",
                "новому",
                "новым",
                "новом",
                "новая",
                "новой",
                "новую",
                "новое",
                "новые",
                "новых",
                "новыми",
            ],
        );
        assert!(!got.iter().any(|f| f.ends_with('*')));
    }

    #[test]
    fn ru_masculine_consonant_person_nouns() {
        assert_forms(
            demonyms(Lang::Ru, "казах"),
            &[
                "казах",
                "казаха",
                "казаху",
                "казахом",
                "казахе",
                "казахи",
                "казахов",
                "казахам",
                "казахами",
                "казахах",
            ],
        );
        assert_contains(&demonyms(Lang::Ru, "араб"), &["арабы", "арабов"]);
        assert_lacks(&demonyms(Lang::Ru, "араб"), &["араби"]);
    }

    #[test]
    fn ru_anin_yanin_person_nouns() {
        assert_forms(
            demonyms(Lang::Ru, "россиянин"),
            &[
                "россиянин",
                "россиянина",
                "россиянину",
                "россиянином",
                "россиянине",
                "россияне",
                "россиян",
                "россиянам",
                "россиянами",
                "россиянах",
            ],
        );
        assert_contains(
            &demonyms(Lang::Ru, "англичанин"),
            &["англичане", "англичан"],
        );
    }

    #[test]
    fn ru_ets_person_nouns_drop_the_e() {
        assert_forms(
            demonyms(Lang::Ru, "казахстанец"),
            &[
                "казахстанец",
                "казахстанца",
                "казахстанцу",
                "казахстанцем",
                "казахстанце",
                "казахстанцы",
                "казахстанцев",
                "казахстанцам",
                "казахстанцами",
                "казахстанцах",
            ],
        );
        assert_contains(
            &demonyms(Lang::Ru, "кореец"),
            &["корейца", "корейцы", "корейцев"],
        );
        assert_contains(&demonyms(Lang::Ru, "китаец"), &["китайцем"]);
    }

    #[test]
    fn ru_feminine_ka_person_nouns() {
        assert_forms(
            demonyms(Lang::Ru, "казашка"),
            &[
                "казашка",
                "казашки",
                "казашке",
                "казашку",
                "казашкой",
                "казашек",
                "казашкам",
                "казашками",
                "казашках",
            ],
        );
        assert_contains(&demonyms(Lang::Ru, "казахстанка"), &["казахстанок"]);
        assert_contains(&demonyms(Lang::Ru, "узбечка"), &["узбечек"]);
        assert_contains(&demonyms(Lang::Ru, "полька"), &["полек"]);
    }

    // Arabic

    #[test]
    fn ar_long_name_becomes_a_prefix_with_proclitics() {
        let got = names(Lang::Ar, "كازاخستان");
        assert_eq!(got[0], "كازاخستان");
        assert_eq!(got[1], "كازاخستان*");
        assert_contains(
            &got,
            &[
                "وكازاخستان*",
                "فكازاخستان*",
                "بكازاخستان*",
                "لكازاخستان*",
                "ككازاخستان*",
                "وبكازاخستان*",
                "ولكازاخستان*",
                "فبكازاخستان*",
                "فلكازاخستان*",
                "وككازاخستان*",
            ],
        );
        assert_eq!(got.len(), 12);
    }

    #[test]
    fn ar_article_names_merge_lam() {
        let got = names(Lang::Ar, "الإمارات");
        assert_contains(
            &got,
            &[
                "الإمارات*",
                "للإمارات*",
                "بالإمارات*",
                "والإمارات*",
                "فالإمارات*",
                "كالإمارات*",
                "وبالإمارات*",
                "وللإمارات*",
                "فللإمارات*",
            ],
        );
        assert_lacks(&got, &["لالإمارات*"]);
    }

    #[test]
    fn ar_multi_word_names_take_proclitics_on_the_first_word() {
        let got = names(Lang::Ar, "المملكة العربية السعودية");
        assert_contains(
            &got,
            &[
                "المملكة العربية السعودية*",
                "للمملكة العربية السعودية*",
                "وبالمملكة العربية السعودية*",
            ],
        );
        assert_lacks(&got, &["المملكة العربية للسعودية*"]);
    }

    #[test]
    fn ar_short_names_get_explicit_nisba_forms() {
        let got = names(Lang::Ar, "مصر");
        assert_contains(
            &got,
            &[
                "ومصر",
                "بمصر",
                "لمصر",
                "وبمصر",
                "مصري",
                "مصرية",
                "مصريين",
                "مصريون",
                "مصريات",
                "ومصرية",
            ],
        );
        assert_lacks(&got, &["مصر*"]);
        assert!(got.len() <= 50, "{} forms", got.len());
        assert_contains(&names(Lang::Ar, "قطر"), &["قطرية", "بقطر"]);
        assert_contains(&names(Lang::Ar, "تشاد"), &["تشادي"]);
        assert_contains(
            &names(Lang::Ar, "العراق"),
            &["العراقي", "للعراق", "بالعراق"],
        );
        assert_lacks(&names(Lang::Ar, "العراق"), &["العراق*"]);
        // الهند* would match الهندسة, "engineering".
        assert_lacks(&names(Lang::Ar, "الهند"), &["الهند*"]);
    }

    #[test]
    fn ar_short_names_in_a_vowel_get_no_nisba() {
        // مالية is "financial", ماليين "millions".
        let got = names(Lang::Ar, "مالي");
        assert_lacks(&got, &["ماليي", "مالية", "ماليين"]);
        assert_contains(&got, &["ومالي", "بمالي"]);
    }

    #[test]
    fn ar_long_demonyms_become_prefixes() {
        let got = demonyms(Lang::Ar, "كازاخستاني");
        assert_contains(
            &got,
            &[
                "كازاخستاني*",
                "وكازاخستاني*",
                "الكازاخستاني*",
                "والكازاخستاني*",
                "للكازاخستاني*",
                "وللكازاخستاني*",
            ],
        );
        assert!(got.len() <= 50);
    }

    #[test]
    fn ar_short_demonyms_list_their_forms() {
        let got = demonyms(Lang::Ar, "مصري");
        assert_contains(
            &got,
            &[
                "مصرية",
                "مصريين",
                "مصريون",
                "مصريات",
                "ومصري",
                "وبمصري",
                "المصري",
                "المصرية",
                "للمصريين",
                "بالمصريين",
                "والمصريون",
            ],
        );
        assert_lacks(&got, &["مصري*", "مصريي"]);
        assert!(got.len() <= 50, "{} forms", got.len());
    }

    #[test]
    fn ar_multi_word_demonyms_agree_word_by_word() {
        let got = demonyms(Lang::Ar, "كوري جنوبي");
        assert_contains(
            &got,
            &[
                "كورية جنوبية",
                "كوريين جنوبيين",
                "الكوري الجنوبي",
                "والكورية الجنوبية",
            ],
        );
    }
}
