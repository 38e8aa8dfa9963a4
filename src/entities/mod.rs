//! Recognizes what a report names, in any language, for stories: the countries (names,
//! demonyms, capitals), blocs and regions of the gazetteer, the people, organisations and
//! kinds of event listed in `data/entities/`, and the numbers it gives. The result is a set of
//! language-neutral ids ([`crate::story::Entities`]): `Токаев` and `توكاييف` are both
//! `person:tokayev`.
//!
//! Every name is compiled as one rule of a [`RuleSet`], so recognition uses the rules'
//! normalization, inflections, longest-match and automaton, and agrees with what a rule sees.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::model::Item;
use crate::places::{self, Kind, Lang};
use crate::rules::{RuleSet, RuleSpec};
use crate::story::{Entities, EntityKind};
use crate::text::truncate_chars;

/// Characters of the lead (after the headline) that are read: the first sentences carry the
/// event; later text is background that names everything else.
const LEAD_CHARS: usize = 400;

/// The data files, embedded at build time: nothing is read or downloaded at run time.
const FILES: [(&str, EntityKind, &str); 3] = [
    (
        "people.toml",
        EntityKind::Person,
        include_str!("../../data/entities/people.toml"),
    ),
    (
        "organisations.toml",
        EntityKind::Organisation,
        include_str!("../../data/entities/organisations.toml"),
    ),
    (
        "events.toml",
        EntityKind::Event,
        include_str!("../../data/entities/events.toml"),
    ),
];

#[derive(Debug, Clone, thiserror::Error)]
pub enum EntityError {
    #[error("data/entities/{file}: {message}")]
    Data { file: &'static str, message: String },
    #[error("the gazetteer: {0}")]
    Places(#[from] places::PlaceError),
    #[error("data/entities: `{id}` does not compile: {message}")]
    Compile { id: String, message: String },
}

/// One person, organisation or kind of event: who or what it is, then base forms by language.
#[derive(Deserialize)]
struct RawEntry {
    role: String,
    #[serde(flatten)]
    langs: BTreeMap<String, Vec<String>>,
}

/// The compiled names.
#[derive(Debug)]
pub struct Recognizer {
    rules: RuleSet,
}

/// Every person, organisation and kind of event of the data files, with its kind and file.
fn entries() -> Result<Vec<(&'static str, EntityKind, String, RawEntry)>, EntityError> {
    let mut out = Vec::new();
    for (file, kind, text) in FILES {
        let parsed: BTreeMap<String, RawEntry> =
            toml::from_str(text).map_err(|e| EntityError::Data {
                file,
                message: e.to_string(),
            })?;
        out.extend(
            parsed
                .into_iter()
                .map(|(name, entry)| (file, kind, name, entry)),
        );
    }
    Ok(out)
}

/// Why a report joined its story, in words a person can judge a merge by: the CLI's `alerts`
/// and the dashboard's story page say the same thing. Names are shown by their labels
/// (`Kassym-Jomart Tokayev`), not their ids (`person:tokayev`).
pub fn explain_join(why: Option<&crate::model::JoinedBy>) -> String {
    use crate::model::JoinedBy;
    match why {
        None => "first report".to_owned(),
        Some(JoinedBy::Link) => "same link".to_owned(),
        Some(JoinedBy::Text { similarity }) => format!("similar wording ({similarity:.2})"),
        Some(JoinedBy::Entities { similarity, shared }) => {
            let names: Vec<String> = shared.iter().map(|id| label(id)).collect();
            format!("same names ({similarity:.2}): {}", names.join(", "))
        }
    }
}

/// What an id stands for, for people: `person:tokayev` → "Tokayev", `country:KZ` →
/// "Kazakhstan", `number:25` → "25". Reads the data files, not the compiled names, so
/// `watchword alerts` can explain a join without compiling them.
pub fn label(id: &str) -> String {
    static LABELS: OnceLock<BTreeMap<String, String>> = OnceLock::new();
    let labels = LABELS.get_or_init(|| {
        // The data is embedded and parsed by the tests; were it broken, ids show as they are.
        entries()
            .unwrap_or_default()
            .into_iter()
            .map(|(_, kind, name, entry)| {
                let label = entry
                    .langs
                    .get("en")
                    .and_then(|b| b.first())
                    .map(|b| b.trim_start_matches('=').trim_end_matches('*').to_owned())
                    .unwrap_or(entry.role);
                (format!("{}:{name}", kind.prefix()), label)
            })
            .collect()
    });
    if let Some(label) = labels.get(id) {
        return label.clone();
    }
    let (kind, key) = id.split_once(':').unwrap_or(("", id));
    let gazetteer = places::gazetteer().ok();
    let place = match kind {
        "country" => gazetteer
            .and_then(|g| g.countries.get(key))
            .map(|c| &c.names),
        "bloc" => gazetteer.and_then(|g| g.blocs.get(key)).map(|b| &b.names),
        "region" => gazetteer.and_then(|g| g.regions.get(key)).map(|r| &r.names),
        _ => None,
    };
    place
        .map(|names| names.display().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| key.to_owned())
}

/// The recognizer, compiled on first use (it holds every country's names in every language,
/// which takes a moment to compile, and only items that raise alerts need it).
pub fn recognizer() -> Result<&'static Recognizer, EntityError> {
    static LOADED: OnceLock<Result<Recognizer, EntityError>> = OnceLock::new();
    LOADED
        .get_or_init(Recognizer::load)
        .as_ref()
        .map_err(Clone::clone)
}

impl Recognizer {
    pub fn load() -> Result<Recognizer, EntityError> {
        let gazetteer = places::gazetteer()?;
        let mut queries: Vec<(String, String)> = Vec::new();
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for code in gazetteer.countries.keys() {
            queries.push((format!("country:{code}"), format!("@country:{code}[names]")));
        }
        for slug in gazetteer.blocs.keys() {
            queries.push((format!("bloc:{slug}"), format!("@bloc:{slug}[own]")));
        }
        for slug in gazetteer.regions.keys() {
            queries.push((format!("region:{slug}"), format!("@region:{slug}[own]")));
        }
        for (file, kind, name, entry) in entries()? {
            let id = format!("{}:{name}", kind.prefix());
            let mut members = Vec::new();
            for (code, bases) in &entry.langs {
                let lang = Lang::from_code(code).ok_or_else(|| EntityError::Data {
                    file,
                    message: format!("{name}: unknown language `{code}`"),
                })?;
                for base in bases {
                    // Names decline like place names; kinds of event are verbs and nouns
                    // written with their own `*` stems.
                    let forms = if kind == EntityKind::Event {
                        vec![base.clone()]
                    } else {
                        places::inflect::forms(lang, Kind::Names, base)
                    };
                    for form in forms {
                        let member = group_member(&form);
                        if !members.contains(&member) {
                            members.push(member);
                        }
                    }
                }
            }
            let group = id.replace([':', '-'], "_");
            queries.push((id, format!("@{group}")));
            groups.insert(group, members);
        }
        let specs: Vec<RuleSpec> = queries
            .iter()
            .map(|(name, query)| RuleSpec { name, query })
            .collect();
        let rules = RuleSet::compile(&groups, &specs).map_err(|e| EntityError::Compile {
            id: e.rule().to_owned(),
            message: e.to_string(),
        })?;
        Ok(Recognizer { rules })
    }

    /// The names `title` and the start of `lead` mention, and their numbers.
    pub fn recognize(&self, title: &str, lead: &str) -> Entities {
        let lead = truncate_chars(lead, LEAD_CHARS);
        let item = Item {
            feed: String::new(),
            id: String::new(),
            link: None,
            title: title.to_owned(),
            summary: lead.clone(),
            content: String::new(),
            published: None,
            authors: Vec::new(),
            categories: Vec::new(),
        };
        let matches = self.rules.matches(&item);
        // Words the lists already named (`Kazakhstan`, `Tokayev`) are not names again.
        let known: Vec<String> = matches
            .iter()
            .flat_map(|m| m.terms.iter().flat_map(|t| t.found.iter()))
            .flat_map(|found| found.split_whitespace().map(skeleton).collect::<Vec<_>>())
            .collect();
        let named = matches.into_iter().map(|m| m.rule);
        let numbers = numbers(title).chain(numbers(&lead)).collect::<Vec<_>>();
        let title_names = (!is_title_case(title))
            .then(|| proper_names(title))
            .into_iter()
            .flatten();
        let names: Vec<String> = proper_names(&lead)
            .chain(title_names)
            .filter(|s| !known.contains(s))
            .map(|s| format!("name:{s}"))
            .collect();
        Entities::new(named.chain(numbers).chain(names))
    }
}

/// A form (`Tokayev`, `=UN`, `Госдеп*`, `White House`) as a group member: words of more than
/// letters and digits are quoted as a phrase, so `C5+1` or `Sa'ar` mean what they say.
fn group_member(form: &str) -> String {
    let (exact, rest) = match form.strip_prefix('=') {
        Some(rest) => ("=", rest),
        None => ("", form),
    };
    let (body, star) = match rest.strip_suffix('*') {
        Some(body) => (body, "*"),
        None => (rest, ""),
    };
    let body = body.replace('"', " ");
    if body.chars().all(char::is_alphanumeric) {
        format!("{exact}{body}{star}")
    } else {
        format!("{exact}\"{}\"{star}", body.trim())
    }
}

/// The numbers a text gives, in any script's digits: `2.5` and `2,5` alike, and `600,000`,
/// `600.000` and `600 000` alike (groups of three after a separator are thousands); not years,
/// which most reports of a season share. A number followed by a word of scale is its value:
/// *1.5 million*, *1,5 млн*, *1.5m* and Chinese *150万* are all `number:1500000`, which the
/// same figure written in two languages otherwise is not.
fn numbers(text: &str) -> impl Iterator<Item = String> + '_ {
    let mut out = Vec::new();
    // The digit groups of the number being read, split at separators.
    let mut groups: Vec<String> = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if let Some(d) = digit(c) {
            match groups.last_mut() {
                Some(group) => group.push(d),
                None => groups.push(d.to_string()),
            }
            continue;
        }
        let separator = matches!(c, '.' | ',' | '٫' | '٬' | '\u{a0}' | '\u{202f}' | '\'');
        if separator
            && !groups.is_empty()
            && chars.peek().and_then(|&(_, next)| digit(next)).is_some()
        {
            groups.push(String::new());
            continue;
        }
        if !groups.is_empty() {
            let number = number_of(&std::mem::take(&mut groups));
            out.push(scaled(number, &text[at..]));
        }
    }
    if !groups.is_empty() {
        out.push(number_of(&groups));
    }
    out.into_iter()
        .filter(|n| !is_year(n))
        .map(|n| format!("number:{n}"))
}

/// Words of scale after a number, lower-case, with their power of ten. Latin and Cyrillic ones
/// must end the word (*1.5m* but not *15 metres*); the Han ones are written onto the number.
const SCALES: &[(&str, u32)] = &[
    ("thousand", 3),
    ("million", 6),
    ("millions", 6),
    ("mln", 6),
    ("mn", 6),
    ("m", 6),
    ("billion", 9),
    ("billions", 9),
    ("bn", 9),
    ("trillion", 12),
    ("millón", 6),
    ("millones", 6),
    ("milhão", 6),
    ("milhões", 6),
    ("milione", 6),
    ("milioni", 6),
    ("mio", 6),
    ("millionen", 6),
    ("milliard", 9),
    ("milliards", 9),
    ("milliarden", 9),
    ("mrd", 9),
    ("miliardo", 9),
    ("miliardi", 9),
    ("bilhão", 9),
    ("bilhões", 9),
    ("milyon", 6),
    ("milyar", 9),
    ("тыс", 3),
    ("млн", 6),
    ("миллион", 6),
    ("миллиона", 6),
    ("миллионов", 6),
    ("мільйон", 6),
    ("мільйона", 6),
    ("мільйонів", 6),
    ("млрд", 9),
    ("миллиард", 9),
    ("миллиарда", 9),
    ("миллиардов", 9),
    ("мільярд", 9),
    ("мільярда", 9),
    ("мільярдів", 9),
    ("مليون", 6),
    ("ملايين", 6),
    ("مليار", 9),
    ("میلیون", 6),
    ("میلیارد", 9),
];

/// Scales written onto the number in Chinese and Japanese: 万 is 10⁴, 亿/億 10⁸.
const HAN_SCALES: &[(char, u32)] = &[('千', 3), ('万', 4), ('萬', 4), ('亿', 8), ('億', 8)];

/// `number` times the scale the text after it (`rest`) starts with, if any.
fn scaled(number: String, rest: &str) -> String {
    if let Some(first) = rest.chars().next()
        && let Some(&(_, power)) = HAN_SCALES.iter().find(|(c, _)| *c == first)
    {
        return shift_decimal(&number, power);
    }
    let rest = rest
        .strip_prefix([' ', '\u{a0}', '\u{202f}'])
        .unwrap_or(rest);
    let word: String = rest
        .chars()
        .take_while(|c| c.is_alphabetic())
        .flat_map(char::to_lowercase)
        .collect();
    match SCALES.iter().find(|(scale, _)| *scale == word) {
        Some(&(_, power)) => shift_decimal(&number, power),
        None => number,
    }
}

/// `number` (digits, at most one `.`) times 10^`power`, written without a needless point or
/// leading zeros: `1.5` × 10⁶ is `1500000`, `150` × 10⁴ is `1500000`.
fn shift_decimal(number: &str, power: u32) -> String {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let power = power as usize;
    let mut digits = whole.to_owned();
    if fraction.len() <= power {
        digits.push_str(fraction);
        digits.extend(std::iter::repeat_n('0', power - fraction.len()));
    } else {
        digits.push_str(&fraction[..power]);
        digits.push('.');
        digits.push_str(&fraction[power..]);
    }
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() || trimmed.starts_with('.') {
        format!("0{trimmed}")
    } else {
        trimmed.to_owned()
    }
}

/// One number from its digit groups: thousands when every group after the first has three
/// digits (`600,000`), else a decimal (`13.75`, `2,5`).
fn number_of(groups: &[String]) -> String {
    match groups {
        [one] => one.clone(),
        [first, rest @ ..] if rest.iter().all(|g| g.len() == 3) => {
            let mut n = first.clone();
            n.extend(rest.iter().map(String::as_str));
            n
        }
        [first, second, ..] => format!("{first}.{second}"),
        [] => String::new(),
    }
}

/// Whether a headline capitalizes most of its longer words, as English headlines do: then
/// its capitals say nothing about names. Headlines in sentence case (most other languages)
/// capitalize only the first word and the names.
fn is_title_case(title: &str) -> bool {
    let words: Vec<&str> = title
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 4 && w.chars().all(char::is_alphabetic))
        .collect();
    let capitalized = words
        .iter()
        .filter(|w| w.chars().next().is_some_and(char::is_uppercase))
        .count();
    words.len() >= 2 && capitalized * 2 > words.len()
}

/// Capitalized words that are not names, in the languages that capitalize them mid-sentence:
/// days and months. "said on Monday" would otherwise be a name most reports of a day share,
/// across events (`name:tst`, Tuesday's skeleton, was in 12 of the labelled set's 48 events,
/// and joined a rare-earth licence to the EV deal announced the same Monday).
const NOT_NAMES: &[&str] = &[
    // English
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "january",
    "february",
    "april",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    // German (which capitalizes every noun)
    "montag",
    "dienstag",
    "mittwoch",
    "donnerstag",
    "freitag",
    "samstag",
    "sonntag",
    "januar",
    "februar",
    "märz",
    "juni",
    "juli",
    "oktober",
    "dezember",
];

/// Proper names of a lead, by sound: capitalized words of four letters or more that do not
/// start a sentence, in a script that capitalizes (Latin, Cyrillic, Greek, Armenian), as
/// consonant skeletons ([`skeleton`]). German capitalizes every noun, so a German lead gives
/// common nouns too; they weigh on the union only and rarely meet another report's.
/// Headlines are read only in sentence case ([`is_title_case`]): English ones capitalize every word.
fn proper_names(lead: &str) -> impl Iterator<Item = String> {
    let mut out = Vec::new();
    let mut sentence_start = true;
    let mut word = String::new();
    let mut flush = |word: &mut String, starts: bool| {
        let first_upper = word.chars().next().is_some_and(char::is_uppercase);
        // An acronym (`NATO`, `OPEC`) is a name too, but rarely spelt alike across scripts.
        let acronym = word.chars().all(|c| !c.is_lowercase());
        let common = || NOT_NAMES.contains(&word.to_lowercase().as_str());
        if !starts && first_upper && !acronym && word.chars().count() >= 4 && !common() {
            let shape = skeleton(word);
            if shape.len() >= 3 {
                out.push(shape);
            }
        }
        word.clear();
    };
    for c in lead.chars() {
        if c.is_alphanumeric() {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            let starts = sentence_start;
            sentence_start = false;
            flush(&mut word, starts);
        }
        if matches!(
            c,
            '.' | '!' | '?' | ':' | '«' | '"' | '“' | '„' | '—' | '\n'
        ) {
            sentence_start = true;
        }
    }
    if !word.is_empty() {
        flush(&mut word, sentence_start);
    }
    out.into_iter()
}

/// The consonant skeleton of a word's Latin transliteration, with the sounds that scripts and
/// languages spell differently folded together: `Paulette` and `Полетт` are both `plt`,
/// `Galípolo` and `Галиполо` both `klpl`, `Banxico` and `Банксико` both `pnksk`.
pub(crate) fn skeleton(word: &str) -> String {
    let latin = any_ascii::any_ascii(word).to_ascii_lowercase();
    let latin = latin
        .replace("sch", "s")
        .replace("sh", "s")
        .replace("ch", "k")
        .replace("kh", "k")
        .replace("zh", "s")
        .replace("ph", "f")
        .replace("th", "t")
        .replace('x', "ks");
    let mut out = String::new();
    for c in latin.chars() {
        let folded = match c {
            'b' | 'p' => 'p',
            'c' | 'g' | 'k' | 'q' => 'k',
            'd' | 't' => 't',
            's' | 'z' | 'j' => 's',
            'f' | 'v' | 'w' => 'f',
            'l' | 'm' | 'n' | 'r' => c,
            _ => continue,
        };
        if !out.ends_with(folded) {
            out.push(folded);
        }
    }
    out
}

fn is_year(n: &str) -> bool {
    n.len() == 4 && n.parse::<u32>().is_ok_and(|y| (1990..=2040).contains(&y))
}

/// The ASCII digit for a decimal digit of any common script (Arabic-Indic, Persian,
/// Devanagari, Bengali, fullwidth).
fn digit(c: char) -> Option<char> {
    if c.is_ascii_digit() {
        return Some(c);
    }
    const ZEROS: [u32; 5] = [0x0660, 0x06F0, 0x0966, 0x09E6, 0xFF10];
    let code = c as u32;
    ZEROS
        .iter()
        .find(|&&zero| (zero..zero + 10).contains(&code))
        .and_then(|zero| char::from_digit(code - zero, 10))
}

/// The language of a headline and lead (ISO 639-1), when it can be told with some confidence.
pub fn language(title: &str, lead: &str) -> Option<String> {
    let text = format!("{title}. {}", truncate_chars(lead, LEAD_CHARS));
    let info = whatlang::detect(&text)?;
    if !info.is_reliable() && info.confidence() < 0.5 {
        return None;
    }
    iso639_1(info.lang()).map(str::to_owned)
}

fn iso639_1(lang: whatlang::Lang) -> Option<&'static str> {
    use whatlang::Lang as L;
    Some(match lang {
        L::Eng => "en",
        L::Rus => "ru",
        L::Ara => "ar",
        L::Fra => "fr",
        L::Deu => "de",
        L::Spa => "es",
        L::Cmn => "zh",
        L::Jpn => "ja",
        L::Kor => "ko",
        L::Heb => "he",
        L::Pes => "fa",
        L::Tur => "tr",
        L::Ukr => "uk",
        L::Uzb => "uz",
        L::Hin => "hi",
        L::Ben => "bn",
        L::Por => "pt",
        L::Ita => "it",
        L::Pol => "pl",
        L::Ind => "id",
        L::Nld => "nl",
        L::Swe => "sv",
        L::Ell => "el",
        L::Aze => "az",
        L::Urd => "ur",
        L::Vie => "vi",
        L::Tha => "th",
        L::Hye => "hy",
        L::Kat => "ka",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(title: &str, lead: &str) -> Vec<String> {
        let found = recognizer()
            .expect("the data compiles")
            .recognize(title, lead);
        found.iter().map(str::to_owned).collect()
    }

    #[test]
    fn one_event_in_three_languages_names_the_same_things() {
        let en = ids(
            "Kazakhstan to join Abraham Accords, Tokayev says after White House talks",
            "President Kassym-Jomart Tokayev said on 6 November that Kazakhstan would join.",
        );
        let ru = ids(
            "Казахстан присоединится к Соглашениям Авраама",
            "Президент Токаев после переговоров в Белом доме 6 ноября объявил о решении.",
        );
        let ar = ids(
            "كازاخستان تنضم إلى اتفاقيات أبراهام",
            "أعلن الرئيس توكاييف بعد محادثات في البيت الأبيض.",
        );
        for id in [
            "country:KZ",
            "person:tokayev",
            "event:join",
            "bloc:abraham-accords",
        ] {
            for (lang, found) in [("en", &en), ("ru", &ru), ("ar", &ar)] {
                assert!(
                    found.iter().any(|f| f == id),
                    "{lang} lacks {id}: {found:?}"
                );
            }
        }
        assert!(en.contains(&"org:white_house".to_owned()), "{en:?}");
        assert!(ru.contains(&"org:white_house".to_owned()), "{ru:?}");
        assert!(ru.contains(&"number:6".to_owned()), "{ru:?}");
    }

    #[test]
    fn numbers_in_any_digits_and_separator_and_not_years() {
        let found: Vec<String> =
            numbers("rate cut to 2,5% in 2026, ٢٥ points, 1.5bn, 600.000 or 600,000 people")
                .collect();
        assert_eq!(
            found,
            [
                "number:2.5",
                "number:25",
                "number:1500000000",
                "number:600000",
                "number:600000"
            ]
        );
    }

    #[test]
    fn a_figure_with_its_scale_is_its_value_in_any_language() {
        let value = |text: &str| numbers(text).collect::<Vec<_>>();
        for text in [
            "1.5 million tonnes",
            "1.5m t of wheat",
            "1,5 млн тонн",
            "150万吨小麦",
            "1.5 مليون طن",
            "1,5 millones de toneladas",
        ] {
            assert_eq!(value(text), ["number:1500000"], "{text}");
        }
        assert_eq!(value("$1.2bn tranche"), ["number:1200000000"]);
        assert_eq!(value("12億ドル"), ["number:1200000000"]);
        // Not a scale: a unit, or a longer word.
        assert_eq!(value("15 metres, 3 mines"), ["number:15", "number:3"]);
        assert_eq!(shift_decimal("0.25", 1), "2.5");
        assert_eq!(shift_decimal("1.2345", 2), "123.45");
    }

    #[test]
    fn forms_with_punctuation_become_phrases() {
        assert_eq!(group_member("Tokayev"), "Tokayev");
        assert_eq!(group_member("=UN"), "=UN");
        assert_eq!(group_member("White House"), "\"White House\"");
        assert_eq!(group_member("Госдеп*"), "Госдеп*");
        assert_eq!(group_member("C5+1"), "\"C5+1\"");
    }

    #[test]
    fn sentence_case_headlines_give_names_and_title_case_ones_do_not() {
        assert!(is_title_case(
            "Hurricane Paulette Makes Landfall in Eastern Cuba"
        ));
        assert!(!is_title_case("El huracán Paulette toca tierra en Baracoa"));
        let r = recognizer().expect("names");
        let es = r.recognize("El huracán Paulette toca tierra en Baracoa", "");
        assert!(
            es.contains(&format!("name:{}", skeleton("Baracoa"))),
            "{es:?}"
        );
        let en = r.recognize("Hurricane Makes Landfall in Eastern Cuba", "");
        assert!(!en.iter().any(|id| id.starts_with("name:")), "{en:?}");
    }

    #[test]
    fn days_and_months_are_not_names() {
        let names: Vec<String> =
            proper_names("The ministry said on Monday that Tokayev would sign in December.")
                .collect();
        assert_eq!(names, [skeleton("Tokayev")]);
    }

    #[test]
    fn proper_names_sound_alike_across_scripts() {
        assert_eq!(skeleton("Paulette"), skeleton("Полетт"));
        assert_eq!(skeleton("Galípolo"), skeleton("Галиполо"));
        assert_eq!(skeleton("Banxico"), skeleton("Банксико"));
        let found: Vec<String> =
            proper_names("The storm. Hurricane Paulette hit Cuba, said Tom Lee at NATO.").collect();
        // Not `The`/`Hurricane` (sentence starts), not `Tom`/`Lee` (short), not `NATO`, not
        // `Cuba` (a skeleton of two sounds says too little).
        assert_eq!(found, [skeleton("Paulette")]);
    }

    #[test]
    fn labels_read_as_names() {
        assert_eq!(label("person:tokayev"), "Tokayev");
        assert_eq!(label("org:white_house"), "White House");
        assert_eq!(label("country:KZ"), "Kazakhstan");
        assert_eq!(label("number:25"), "25");
    }

    #[test]
    fn a_join_is_explained_with_labels_not_ids() {
        use crate::model::JoinedBy;
        let why = JoinedBy::Entities {
            similarity: 0.8,
            shared: vec!["country:KZ".into(), "person:tokayev".into()],
        };
        assert_eq!(
            explain_join(Some(&why)),
            "same names (0.80): Kazakhstan, Tokayev"
        );
        assert_eq!(explain_join(None), "first report");
        assert_eq!(explain_join(Some(&JoinedBy::Link)), "same link");
    }
}
