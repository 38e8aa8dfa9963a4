//! Built-in places: countries and territories, UN M49 regions and blocs of countries, with
//! their names, demonyms and capitals in several languages, compiled into the binary from
//! `data/places/` and expanded by `@country:KZ`, `@region:central-asia` and `@bloc:gcc` in rules.
//!
//! The data holds base forms only; [`inflect::forms`] adds plurals and case forms. The data is
//! parsed on first use (a rule or `watchword groups` that needs it), once per process, so a
//! config without place references pays nothing for it.

pub mod inflect;
mod reference;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use serde::Deserialize;

pub use inflect::{Kind, Lang};
pub use reference::{Place, Reference, Scope};

/// The embedded data files, in the order they are read (countries before the blocs that name
/// them, and the generated names last, since they are added to places defined before).
const FILES: [(&str, &str); 8] = [
    (
        "countries-africa.toml",
        include_str!("../../data/places/countries-africa.toml"),
    ),
    (
        "countries-americas.toml",
        include_str!("../../data/places/countries-americas.toml"),
    ),
    (
        "countries-asia.toml",
        include_str!("../../data/places/countries-asia.toml"),
    ),
    (
        "countries-europe.toml",
        include_str!("../../data/places/countries-europe.toml"),
    ),
    (
        "countries-oceania.toml",
        include_str!("../../data/places/countries-oceania.toml"),
    ),
    (
        "regions.toml",
        include_str!("../../data/places/regions.toml"),
    ),
    ("blocs.toml", include_str!("../../data/places/blocs.toml")),
    ("cldr.toml", include_str!("../../data/places/cldr.toml")),
];

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Names => "names",
            Kind::Demonyms => "demonyms",
            Kind::Capitals => "capitals",
        }
    }
}

/// Why a place reference or the place data is unusable.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum PlaceError {
    #[error("unknown country `{code}`{}", hint(suggestion))]
    UnknownCountry {
        code: String,
        suggestion: Option<String>,
    },
    #[error("unknown region `{slug}`{} (regions: {})", hint(suggestion), known.join(", "))]
    UnknownRegion {
        slug: String,
        suggestion: Option<String>,
        known: Vec<String>,
    },
    #[error("unknown bloc `{slug}`{} (blocs: {})", hint(suggestion), known.join(", "))]
    UnknownBloc {
        slug: String,
        suggestion: Option<String>,
        known: Vec<String>,
    },
    #[error(
        "unknown place kind `{kind}:` (built-in places are @country:CODE, @region:NAME and \
         @bloc:NAME)"
    )]
    UnknownKind { kind: String },
    #[error(
        "unknown option `{option}` in `[…]` (options are the kinds names, demonyms, capitals; \
         the languages en, ru, fr, de, es, ar, zh, ja, ko, he, fa, tr, uk, uz, kk, hi, bn, pt, \
         it, pl, id, local; all; and members or own)"
    )]
    BadOption { option: String },
    #[error("`{text}`: {problem}")]
    BadReference { text: String, problem: String },
    /// The embedded data is broken: a bug in the build, caught by `cargo test places`.
    #[error("built-in place data {file}: {message}")]
    Data { file: &'static str, message: String },
}

fn hint(suggestion: &Option<String>) -> String {
    suggestion
        .as_ref()
        .map(|s| format!("; did you mean {s}?"))
        .unwrap_or_default()
}

/// The mark of a capital that is also a person or another place (`?Washington`): matched only
/// when a reference asks for capitals.
const AMBIGUOUS: char = '?';

/// Base forms of one place, by language and kind.
#[derive(Debug, Default, Clone)]
pub struct Names {
    by: BTreeMap<(Lang, Kind), Vec<String>>,
}

impl Names {
    /// Adds base forms, after any already there (the generated CLDR names follow the
    /// hand-written ones), without repeating one.
    fn add(&mut self, lang: Lang, raw: RawNames) {
        for (kind, terms) in [
            (Kind::Names, raw.names),
            (Kind::Demonyms, raw.demonyms),
            (Kind::Capitals, raw.capitals),
        ] {
            if terms.is_empty() {
                continue;
            }
            let list = self.by.entry((lang, kind)).or_default();
            for term in terms {
                if !list.contains(&term) {
                    list.push(term);
                }
            }
        }
    }

    /// The base forms of `kind` in `lang`.
    pub fn get(&self, lang: Lang, kind: Kind) -> &[String] {
        self.by.get(&(lang, kind)).map_or(&[], Vec::as_slice)
    }

    /// The first English name: what the place is called in listings.
    pub fn display(&self) -> &str {
        self.get(Lang::En, Kind::Names)
            .first()
            .map_or("", |n| n.trim_start_matches('='))
    }

    /// Every (language, kind, base form) selected by `langs` and `kinds`, in data order;
    /// capitals marked ambiguous (`?Washington`) only if `ambiguous_capitals`, without the mark.
    fn selected<'a>(
        &'a self,
        langs: &'a BTreeSet<Lang>,
        kinds: &'a BTreeSet<Kind>,
        ambiguous_capitals: bool,
    ) -> impl Iterator<Item = (Lang, Kind, &'a str)> + 'a {
        self.by
            .iter()
            .filter(|((lang, kind), _)| langs.contains(lang) && kinds.contains(kind))
            .flat_map(move |((lang, kind), terms)| {
                terms
                    .iter()
                    .filter_map(move |t| match t.strip_prefix(AMBIGUOUS) {
                        Some(bare) => ambiguous_capitals.then_some((*lang, *kind, bare)),
                        None => Some((*lang, *kind, t.as_str())),
                    })
            })
    }
}

/// Whether a country is sovereign or a dependent territory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Country,
    Territory,
    /// Antarctica: neither (Antarctic Treaty System).
    Other,
}

#[derive(Debug, Clone)]
pub struct Country {
    /// ISO 3166-1 alpha-2.
    pub code: String,
    pub iso3: String,
    pub m49: String,
    /// Most specific M49 area (`None`: Antarctica).
    pub area: Option<String>,
    pub status: Status,
    pub sovereign: Option<String>,
    pub names: Names,
}

#[derive(Debug, Clone)]
pub struct Region {
    pub slug: String,
    pub m49: String,
    pub parent: Option<String>,
    pub names: Names,
}

#[derive(Debug, Clone)]
pub struct Bloc {
    pub slug: String,
    /// organisation, treaty or informal.
    pub kind: String,
    pub as_of: String,
    pub source: String,
    pub members: Vec<String>,
    pub names: Names,
}

impl Bloc {
    /// Whether the bloc is an agreement between states rather than an organisation or an
    /// informal grouping: a reference to it means the agreement, not its signatories.
    pub fn is_treaty(&self) -> bool {
        self.kind == "treaty"
    }
}

/// All built-in places.
#[derive(Debug)]
pub struct Gazetteer {
    pub countries: BTreeMap<String, Country>,
    pub regions: BTreeMap<String, Region>,
    pub blocs: BTreeMap<String, Bloc>,
}

/// What a reference stands for: its member countries and every form to match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expansion {
    /// ISO alpha-2 codes of the countries included, sorted.
    pub members: Vec<String>,
    /// Group-member strings (`Kazakhstan`, `=Turkey`, `казахск*`), deduplicated, in a stable
    /// order: the place's own names, then each member's, language by language.
    pub forms: Vec<String>,
}

/// The forms one place contributes in one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// A country code, or the slug of the region or bloc itself.
    pub place: String,
    pub lang: Lang,
    pub forms: Vec<String>,
}

/// The built-in gazetteer, parsed on first use.
pub fn gazetteer() -> Result<&'static Gazetteer, PlaceError> {
    static LOADED: OnceLock<Result<Gazetteer, PlaceError>> = OnceLock::new();
    LOADED
        .get_or_init(Gazetteer::load)
        .as_ref()
        .map_err(Clone::clone)
}

/// A country's name that contains another country's name as whole words: *Papua New Guinea*
/// holds *Guinea*, *South Sudan* holds *Sudan*, and likewise for demonyms: *South Sudanese*
/// holds *Sudanese*, *sud-soudanaise* holds *soudanaise*. The matcher drops a hit of the
/// shorter name that lies inside a hit of the longer one (longest match wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongerName {
    /// Normalized words, one space apart, as a term's pattern.
    pub pattern: String,
    /// Whether the last word is a prefix (generated forms such as Arabic `…*`).
    pub prefix: bool,
}

/// The other countries' names that contain `pattern` (normalized words of a place form; with
/// `prefix`, its last word a prefix) as whole words, e.g. `guinea` → *papua new guinea*,
/// *equatorial guinea*, *guinea bissau*, and `судан*` → *южном судане*, in every language. A
/// country's own longer names (*Republic of Guinea*) are not among them. Built on first use
/// from every country's names in every language, once per process.
pub fn longer_names(pattern: &str, prefix: bool) -> Arc<[LongerName]> {
    static STEMS: OnceLock<HashMap<String, Vec<&'static str>>> = OnceLock::new();
    type Cache = Mutex<HashMap<(String, bool), Arc<[LongerName]>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let key = (pattern.to_owned(), prefix);
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(found) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return found;
    }
    let wanted: Vec<&str> = pattern.split(' ').collect();
    let covers = |words: &[String], at: usize| {
        wanted.iter().enumerate().all(|(i, w)| {
            words.get(at + i).is_some_and(|word| {
                if prefix && i + 1 == wanted.len() {
                    word.starts_with(w)
                } else {
                    word == w
                }
            })
        })
    };
    // Inflection changes the ends of words, so a longer name that holds the pattern in any
    // form has a base word that starts like the pattern's first word: only those countries'
    // forms are generated and searched, once each.
    let stems = STEMS.get_or_init(|| gazetteer().map(multi_word_stems).unwrap_or_default());
    let candidates: BTreeSet<&str> = wanted
        .first()
        .map(|first| stem(first))
        .and_then(|s| stems.get(&s))
        .into_iter()
        .flatten()
        .copied()
        .collect();
    let mut found: Vec<LongerName> = Vec::new();
    for code in candidates {
        let mut here = Vec::new();
        for form in country_forms(code, true).iter() {
            if form.words.len() <= wanted.len() {
                continue;
            }
            // A prefix form's last word is a stem: a span ending there is not a whole word.
            let last = form.words.len() - usize::from(form.prefix);
            let inside = (0..last.saturating_sub(wanted.len()) + 1)
                .any(|at| at + wanted.len() <= last && covers(&form.words, at));
            let longer = LongerName {
                pattern: form.words.join(" "),
                prefix: form.prefix,
            };
            if inside && !here.contains(&longer) {
                here.push(longer);
            }
        }
        // A country with the name itself: its longer names are its own (*Republic of
        // Guinea*). Checked last, since generating all its forms is the costly part.
        if here.is_empty()
            || country_forms(code, false)
                .iter()
                .any(|f| f.words.len() == wanted.len() && covers(&f.words, 0))
        {
            continue;
        }
        for longer in here {
            if !found.contains(&longer) {
                found.push(longer);
            }
        }
    }
    let found: Arc<[LongerName]> = found.into();
    if let Ok(mut c) = cache.lock() {
        c.insert(key, Arc::clone(&found));
    }
    found
}

/// The first three letters of a normalized word: what inflection leaves alone.
fn stem(word: &str) -> String {
    word.chars().take(3).collect()
}

/// What a longer name can be: a name, or a demonym (*South Sudanese* is not *Sudanese*).
/// Capitals are left out: a capital holding another country's name is rare and it is a city.
const LONGER_KINDS: [Kind; 2] = [Kind::Names, Kind::Demonyms];

/// For each [`stem`] of a word of some country's name or demonym of two words or more (base
/// forms, every language), the countries with such a name.
fn multi_word_stems(gazetteer: &'static Gazetteer) -> HashMap<String, Vec<&'static str>> {
    let langs: BTreeSet<Lang> = Lang::ALL.iter().map(|(lang, _)| *lang).collect();
    let kinds = BTreeSet::from(LONGER_KINDS);
    let mut stems: HashMap<String, Vec<&'static str>> = HashMap::new();
    for country in gazetteer.countries.values() {
        for (_, _, base) in country.names.selected(&langs, &kinds, false) {
            let base = base.trim_start_matches('=');
            // Normalizing every name to count its words would cost more than all the rest; a
            // name without a separator, Han or Hiragana is one token.
            if base.chars().all(|c| {
                crate::text::normalize::is_word_char(c)
                    && !crate::text::normalize::is_unspaced_script(c)
            }) {
                continue;
            }
            for word in crate::text::normalize(base)
                .split(' ')
                .filter(|w| !w.is_empty())
            {
                let list = stems.entry(stem(word)).or_default();
                if !list.contains(&country.code.as_str()) {
                    list.push(country.code.as_str());
                }
            }
        }
    }
    stems
}

/// One name of a country, normalized.
struct CountryForm {
    words: Vec<String>,
    prefix: bool,
}

/// The forms of `code`'s names and demonyms in every language, normalized; with
/// `multi_word_only`, only of those of two words or more. Generated once per country and kind
/// of list.
fn country_forms(code: &str, multi_word_only: bool) -> Arc<Vec<CountryForm>> {
    type Cache = Mutex<HashMap<(String, bool), Arc<Vec<CountryForm>>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    let key = (code.to_owned(), multi_word_only);
    if let Some(forms) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return forms;
    }
    let Some(country) = gazetteer().ok().and_then(|g| g.countries.get(code)) else {
        return Arc::default();
    };
    let langs: BTreeSet<Lang> = Lang::ALL.iter().map(|(lang, _)| *lang).collect();
    let kinds = BTreeSet::from(LONGER_KINDS);
    let mut out = Vec::new();
    for (lang, kind, base) in country.names.selected(&langs, &kinds, false) {
        let one_word = base.trim_start_matches('=').chars().all(|c| {
            crate::text::normalize::is_word_char(c)
                && !crate::text::normalize::is_unspaced_script(c)
        });
        if multi_word_only && one_word {
            continue;
        }
        // Particles written onto the first word (Arabic, Hebrew) or endings onto the last
        // (Turkic, Korean, Bengali) leave the inner words as they are: the base form is enough
        // to find a name inside a longer one, at a tenth of the cost. Russian, German,
        // Ukrainian and Polish decline the words around it (Южном Судане), and a demonym
        // takes number and gender at its end (South Sudanese, sud-soudanaises).
        let forms = match (lang, kind) {
            (Lang::Ru | Lang::De | Lang::Uk | Lang::Pl, _) | (_, Kind::Demonyms) => {
                inflect::forms(lang, kind, base)
            }
            _ => vec![base.to_owned()],
        };
        for form in forms {
            let bare = form.trim_start_matches('=');
            let (bare, prefix) = match bare.strip_suffix('*') {
                Some(stem) => (stem, true),
                None => (bare, false),
            };
            let words: Vec<String> = crate::text::normalize(bare)
                .split(' ')
                .filter(|w| !w.is_empty())
                .map(str::to_owned)
                .collect();
            if !words.is_empty() {
                out.push(CountryForm { words, prefix });
            }
        }
    }
    let forms = Arc::new(out);
    if let Ok(mut c) = cache.lock() {
        c.insert(key, Arc::clone(&forms));
    }
    forms
}

/// Whether `@name` is a built-in place reference rather than a user group.
pub fn is_reference(name: &str) -> bool {
    reference::kind_prefix(name).is_some()
}

/// Expands a reference written after `@` (`region:central-asia[en,ru]`).
pub fn expand(text: &str) -> Result<Expansion, PlaceError> {
    let reference = Reference::parse(text)?;
    gazetteer()?.expand(&reference)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNames {
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    demonyms: Vec<String>,
    #[serde(default)]
    capitals: Vec<String>,
}

/// A place's names by language code (`en`, `ru`, …, `local`); an unknown code is an error
/// when the data is loaded.
type RawLangs = BTreeMap<String, RawNames>;

/// The names of one place from its `RawLangs`, checked against the known languages.
fn into_names(file: &'static str, place: &str, raw: RawLangs) -> Result<Names, PlaceError> {
    let mut names = Names::default();
    for (code, raw) in raw {
        let lang = Lang::from_code(&code).ok_or_else(|| PlaceError::Data {
            file,
            message: format!("{place}: unknown language `{code}`"),
        })?;
        names.add(lang, raw);
    }
    Ok(names)
}

// No `deny_unknown_fields`: serde does not support it with `flatten`; an unknown key lands
// in `langs` and is rejected there as an unknown language.
#[derive(Deserialize)]
struct RawCountry {
    iso3: String,
    m49: String,
    area: Option<String>,
    status: Status,
    sovereign: Option<String>,
    #[serde(flatten)]
    langs: RawLangs,
}

// No `deny_unknown_fields`: serde does not support it with `flatten`; an unknown key lands
// in `langs` and is rejected there as an unknown language.
#[derive(Deserialize)]
struct RawRegion {
    m49: String,
    parent: Option<String>,
    #[serde(flatten)]
    langs: RawLangs,
}

// No `deny_unknown_fields`: serde does not support it with `flatten`; an unknown key lands
// in `langs` and is rejected there as an unknown language.
#[derive(Deserialize)]
struct RawBloc {
    kind: String,
    as_of: String,
    source: String,
    members: Vec<String>,
    #[serde(flatten)]
    langs: RawLangs,
}

fn parse_file<T: for<'de> Deserialize<'de>>(
    file: &'static str,
    text: &str,
) -> Result<BTreeMap<String, T>, PlaceError> {
    toml::from_str(text).map_err(|e| PlaceError::Data {
        file,
        message: e.to_string(),
    })
}

impl Gazetteer {
    /// Parses the embedded data and checks that every cross-reference resolves.
    pub fn load() -> Result<Gazetteer, PlaceError> {
        let mut countries: BTreeMap<String, Country> = BTreeMap::new();
        let mut regions: BTreeMap<String, Region> = BTreeMap::new();
        let mut blocs: BTreeMap<String, Bloc> = BTreeMap::new();
        for (file, text) in FILES {
            match file {
                "regions.toml" => {
                    for (slug, raw) in parse_file::<RawRegion>(file, text)? {
                        let region = Region {
                            slug: slug.clone(),
                            m49: raw.m49,
                            parent: raw.parent,
                            names: into_names(file, &slug, raw.langs)?,
                        };
                        regions.insert(slug, region);
                    }
                }
                "blocs.toml" => {
                    for (slug, raw) in parse_file::<RawBloc>(file, text)? {
                        let bloc = Bloc {
                            slug: slug.clone(),
                            kind: raw.kind,
                            as_of: raw.as_of,
                            source: raw.source,
                            members: raw.members,
                            names: into_names(file, &slug, raw.langs)?,
                        };
                        blocs.insert(slug, bloc);
                    }
                }
                "cldr.toml" => {
                    // Generated names in more languages, merged into the places above.
                    for (key, raw) in parse_file::<RawLangs>(file, text)? {
                        let names = if let Some(c) = countries.get_mut(&key) {
                            &mut c.names
                        } else if let Some(r) = regions.get_mut(&key) {
                            &mut r.names
                        } else if let Some(b) = blocs.get_mut(&key) {
                            &mut b.names
                        } else {
                            return Err(PlaceError::Data {
                                file,
                                message: format!("`{key}` is no country, region or bloc"),
                            });
                        };
                        for (code, raw) in raw {
                            let lang = Lang::from_code(&code).ok_or_else(|| PlaceError::Data {
                                file,
                                message: format!("{key}: unknown language `{code}`"),
                            })?;
                            names.add(lang, raw);
                        }
                    }
                }
                _ => {
                    for (code, raw) in parse_file::<RawCountry>(file, text)? {
                        let country = Country {
                            code: code.clone(),
                            iso3: raw.iso3,
                            m49: raw.m49,
                            area: raw.area,
                            status: raw.status,
                            sovereign: raw.sovereign,
                            names: into_names(file, &code, raw.langs)?,
                        };
                        if countries.insert(code.clone(), country).is_some() {
                            return Err(PlaceError::Data {
                                file,
                                message: format!("country {code} is defined twice"),
                            });
                        }
                    }
                }
            }
        }
        let gazetteer = Gazetteer {
            countries,
            regions,
            blocs,
        };
        gazetteer.check()?;
        Ok(gazetteer)
    }

    fn check(&self) -> Result<(), PlaceError> {
        let broken = |file, message| Err(PlaceError::Data { file, message });
        for country in self.countries.values() {
            if let Some(area) = &country.area
                && !self.regions.contains_key(area)
            {
                return broken(
                    "countries",
                    format!("{}: area `{area}` is not in regions.toml", country.code),
                );
            }
        }
        for country in self.countries.values() {
            for ((lang, kind), terms) in &country.names.by {
                if *kind != Kind::Capitals
                    && let Some(term) = terms.iter().find(|t| t.starts_with(AMBIGUOUS))
                {
                    return broken(
                        "countries",
                        format!(
                            "{}: `{term}` in {}.{}: only capitals can be marked ambiguous",
                            country.code,
                            lang.code(),
                            kind.name()
                        ),
                    );
                }
            }
        }
        for region in self.regions.values() {
            // Walking up must end at a root: a cycle would hang every region expansion.
            let mut seen = HashSet::new();
            let mut at = region;
            while let Some(parent) = &at.parent {
                if !seen.insert(parent.as_str()) {
                    return broken("regions.toml", format!("{}: parents loop", region.slug));
                }
                match self.regions.get(parent) {
                    Some(next) => at = next,
                    None => {
                        return broken(
                            "regions.toml",
                            format!("{}: parent `{parent}` is not a region", region.slug),
                        );
                    }
                }
            }
        }
        for bloc in self.blocs.values() {
            if let Some(missing) = bloc
                .members
                .iter()
                .find(|m| !self.countries.contains_key(*m))
            {
                return broken(
                    "blocs.toml",
                    format!("{}: member `{missing}` is not a country code", bloc.slug),
                );
            }
        }
        Ok(())
    }

    /// The country with ISO alpha-2 or alpha-3 code `code` (any case).
    pub fn country(&self, code: &str) -> Option<&Country> {
        let upper = code.to_ascii_uppercase();
        self.countries.get(&upper).or_else(|| {
            (upper.len() == 3)
                .then(|| self.countries.values().find(|c| c.iso3 == upper))
                .flatten()
        })
    }

    /// Whether `country` lies in `region`, directly or through the M49 hierarchy.
    pub fn in_region(&self, country: &Country, region: &str) -> bool {
        let mut at = country.area.as_deref();
        let mut steps = 0;
        while let Some(slug) = at {
            if slug == region {
                return true;
            }
            steps += 1;
            if steps > self.regions.len() {
                return false;
            }
            at = self.regions.get(slug).and_then(|r| r.parent.as_deref());
        }
        false
    }

    /// The codes of the countries in `region`, sorted.
    pub fn region_members(&self, region: &str) -> Vec<String> {
        self.countries
            .values()
            .filter(|c| self.in_region(c, region))
            .map(|c| c.code.clone())
            .collect()
    }

    /// The sub-regions directly under `region`, sorted.
    pub fn children(&self, region: &str) -> Vec<&Region> {
        self.regions
            .values()
            .filter(|r| r.parent.as_deref() == Some(region))
            .collect()
    }

    /// Resolves a reference to its members and forms.
    pub fn expand(&self, reference: &Reference) -> Result<Expansion, PlaceError> {
        let (members, sections) = self.sections(reference)?;
        let mut forms = Vec::new();
        let mut seen = HashSet::new();
        for section in sections {
            for form in section.forms {
                if seen.insert(form.clone()) {
                    forms.push(form);
                }
            }
        }
        Ok(Expansion { members, forms })
    }

    /// Like [`Gazetteer::expand`], with the forms kept apart by place and language (and not
    /// deduplicated across them), for showing what a reference matches.
    pub fn sections(
        &self,
        reference: &Reference,
    ) -> Result<(Vec<String>, Vec<Section>), PlaceError> {
        let (own, mut members): (Option<(&str, &Names)>, Vec<String>) = match &reference.place {
            reference::Place::Country(code) => {
                let country = self
                    .country(code)
                    .ok_or_else(|| PlaceError::UnknownCountry {
                        code: code.clone(),
                        suggestion: self.suggest_country(code),
                    })?;
                (None, vec![country.code.clone()])
            }
            reference::Place::Region(slug) => {
                let region = self
                    .regions
                    .get(slug)
                    .ok_or_else(|| PlaceError::UnknownRegion {
                        slug: slug.clone(),
                        suggestion: suggest(slug, self.regions.keys()),
                        known: self.regions.keys().cloned().collect(),
                    })?;
                (
                    Some((region.slug.as_str(), &region.names)),
                    self.region_members(slug),
                )
            }
            reference::Place::Bloc(slug) => {
                let bloc = self
                    .blocs
                    .get(slug)
                    .ok_or_else(|| PlaceError::UnknownBloc {
                        slug: slug.clone(),
                        suggestion: suggest(slug, self.blocs.keys()),
                        known: self.blocs.keys().cloned().collect(),
                    })?;
                (
                    Some((bloc.slug.as_str(), &bloc.names)),
                    bloc.members.clone(),
                )
            }
        };
        let scope = self.scope(reference);
        members.sort();
        members.dedup();
        let mut sections = Vec::new();
        let mut add = |place: &str, names: &Names, kinds: &BTreeSet<Kind>| {
            for lang in &reference.langs {
                let forms: Vec<String> = names
                    .selected(
                        &BTreeSet::from([*lang]),
                        kinds,
                        reference.ambiguous_capitals,
                    )
                    .flat_map(|(lang, kind, base)| inflect::forms(lang, kind, base))
                    .collect();
                if !forms.is_empty() {
                    sections.push(Section {
                        place: place.to_owned(),
                        lang: *lang,
                        forms,
                    });
                }
            }
        };
        if let Some((slug, names)) = own
            && scope != Scope::Members
        {
            // A region's or bloc's own adjective ("Central Asian") is listed with its names
            // in the data, so capitals are the only kind that does not apply.
            let own_kinds: BTreeSet<Kind> = reference
                .kinds
                .iter()
                .copied()
                .filter(|k| *k != Kind::Capitals)
                .collect();
            add(slug, names, &own_kinds);
        }
        if scope == Scope::Own {
            members.clear();
        }
        for code in &members {
            if let Some(country) = self.countries.get(code) {
                add(code, &country.names, &reference.kinds);
            }
        }
        Ok((members, sections))
    }

    /// What a reference's scope comes to once [`Scope::Default`] is resolved: a treaty's own
    /// names only (`@bloc:abraham-accords` is about the Accords, and "Kazakhstan" alone is not
    /// news about them), a region's or organisation's names and its members' names.
    pub fn scope(&self, reference: &Reference) -> Scope {
        match (reference.scope, &reference.place) {
            (Scope::Default, reference::Place::Bloc(slug))
                if self.blocs.get(slug).is_some_and(Bloc::is_treaty) =>
            {
                Scope::Own
            }
            (Scope::Default, _) => Scope::All,
            (scope, _) => scope,
        }
    }

    /// The code of the country whose name (in any language) is `text`, for "did you mean".
    fn suggest_country(&self, text: &str) -> Option<String> {
        let wanted = crate::text::normalize(text);
        self.countries
            .values()
            .find(|c| {
                c.names.by.iter().any(|((_, kind), terms)| {
                    *kind != Kind::Capitals
                        && terms
                            .iter()
                            .any(|t| crate::text::normalize(t.trim_start_matches('=')) == wanted)
                })
            })
            .map(|c| format!("@country:{}", c.code))
    }
}

/// The known name closest to `wanted`, if one is close enough to be a likely typo.
fn suggest<'a>(wanted: &str, known: impl Iterator<Item = &'a String>) -> Option<String> {
    let wanted = wanted.to_ascii_lowercase().replace(['_', ' '], "-");
    known
        .map(|k| (strsim::damerau_levenshtein(&wanted, k), k))
        .filter(|(distance, k)| *distance <= (k.len() / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k.clone())
}

#[cfg(test)]
mod tests;
