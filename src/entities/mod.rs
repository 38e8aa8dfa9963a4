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
use crate::text::{normalize, truncate_chars};

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
    /// What each non-place id stands for (`person:tokayev` → "Tokayev"), for explanations.
    labels: BTreeMap<String, String>,
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
        let mut labels = BTreeMap::new();
        for code in gazetteer.countries.keys() {
            queries.push((format!("country:{code}"), format!("@country:{code}")));
        }
        for slug in gazetteer.blocs.keys() {
            queries.push((format!("bloc:{slug}"), format!("@bloc:{slug}[own]")));
        }
        for slug in gazetteer.regions.keys() {
            queries.push((format!("region:{slug}"), format!("@region:{slug}[own]")));
        }
        for (file, kind, text) in FILES {
            let entries: BTreeMap<String, RawEntry> =
                toml::from_str(text).map_err(|e| EntityError::Data {
                    file,
                    message: e.to_string(),
                })?;
            for (name, entry) in entries {
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
                let label = entry
                    .langs
                    .get("en")
                    .and_then(|b| b.first())
                    .map(|b| b.trim_start_matches('=').trim_end_matches('*').to_owned())
                    .unwrap_or_else(|| entry.role.clone());
                let group = id.replace([':', '-'], "_");
                queries.push((id.clone(), format!("@{group}")));
                groups.insert(group, members);
                labels.insert(id, label);
            }
        }
        let specs: Vec<RuleSpec> = queries
            .iter()
            .map(|(name, query)| RuleSpec { name, query })
            .collect();
        let rules = RuleSet::compile(&groups, &specs).map_err(|e| EntityError::Compile {
            id: e.rule().to_owned(),
            message: e.to_string(),
        })?;
        Ok(Recognizer { rules, labels })
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
        let named = self.rules.matches(&item).into_iter().map(|m| m.rule);
        let numbers = numbers(title).chain(numbers(&lead)).collect::<Vec<_>>();
        Entities::new(named.chain(numbers))
    }

    /// What an id stands for, for people: `person:tokayev` → "Tokayev", `country:KZ` →
    /// "Kazakhstan", `number:25` → "25".
    pub fn label(&self, id: &str) -> String {
        if let Some(label) = self.labels.get(id) {
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

/// The numbers a text gives (`25`, `2.5` and `2,5` alike), in any script's digits; not years,
/// which most reports of a season share.
fn numbers(text: &str) -> impl Iterator<Item = String> + '_ {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(d) = digit(c) {
            current.push(d);
            continue;
        }
        // A decimal separator between digits: `2,5`, `2.5`, `٢٫٥`.
        if matches!(c, '.' | ',' | '٫')
            && !current.is_empty()
            && chars.peek().copied().and_then(digit).is_some()
        {
            current.push('.');
            continue;
        }
        if !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out.into_iter()
        .filter(|n| !is_year(n))
        .map(|n| format!("number:{}", normalize(&n)))
        .map(|n| n.replace(' ', "."))
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
        let found: Vec<String> = numbers("rate cut to 2,5% in 2026, ٢٥ points, 1.5bn").collect();
        assert_eq!(found, ["number:2.5", "number:25", "number:1.5"]);
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
    fn labels_read_as_names() {
        let r = recognizer().expect("the data compiles");
        assert_eq!(r.label("person:tokayev"), "Tokayev");
        assert_eq!(r.label("country:KZ"), "Kazakhstan");
        assert_eq!(r.label("number:25"), "25");
    }
}
