//! The text of a place reference after `@`: `country:KZ`, `region:central-asia[en,ru]`,
//! `bloc:gcc[names,capitals]`.

use std::collections::BTreeSet;

use super::{Kind, Lang, PlaceError};

/// Which place a reference names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// An ISO 3166-1 code as written (alpha-2 or alpha-3, any case).
    Country(String),
    Region(String),
    Bloc(String),
}

/// For a region or bloc: its own names, its members' names, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Nothing asked: a treaty means its own names (a member named once is not news about
    /// the treaty), a region or organisation means both.
    Default,
    /// Both (`[own,members]`).
    All,
    /// Only the member countries (`[members]`): `Kazakhstan`, not `Central Asia`.
    Members,
    /// Only the region's or bloc's own names (`[own]`): `Central Asia`, `GCC`.
    Own,
}

/// A parsed reference: the place and which of its names to match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub place: Place,
    pub kinds: BTreeSet<Kind>,
    /// Whether capitals marked ambiguous in the data (`?Washington`, `?Victoria`) are
    /// included: only when capitals were asked for by name (`[capitals]`, `[all]`).
    pub ambiguous_capitals: bool,
    pub langs: BTreeSet<Lang>,
    pub scope: Scope,
}

/// Names, demonyms and the capitals that name nothing else: what a reader takes as a mention
/// of the country ("Astana signs on" is how wires name a government). Capitals that are also
/// people or other places (Washington, Victoria, Santiago) are marked `?` in the data and
/// left out unless capitals are asked for.
pub(super) const DEFAULT_KINDS: [Kind; 3] = [Kind::Names, Kind::Demonyms, Kind::Capitals];

/// `country:`, `region:` or `bloc:` at the start of `text`, with the rest.
pub(super) fn kind_prefix(text: &str) -> Option<(&str, &str)> {
    let (kind, rest) = text.split_once(':')?;
    matches!(kind, "country" | "region" | "bloc").then_some((kind, rest))
}

impl Reference {
    pub fn parse(text: &str) -> Result<Reference, PlaceError> {
        let bad = |problem: &str| PlaceError::BadReference {
            text: text.to_owned(),
            problem: problem.to_owned(),
        };
        let Some((kind, rest)) = kind_prefix(text) else {
            let kind = text.split_once(':').map_or(text, |(k, _)| k);
            return Err(PlaceError::UnknownKind {
                kind: kind.to_owned(),
            });
        };
        let (id, options) = match rest.split_once('[') {
            Some((id, options)) => {
                let options = options
                    .strip_suffix(']')
                    .ok_or_else(|| bad("options must end with `]`"))?;
                (id, Some(options))
            }
            None => (rest, None),
        };
        if id.is_empty() {
            return Err(bad("a code or name is missing after the `:`"));
        }
        let place = match kind {
            "country" => Place::Country(id.to_owned()),
            "region" => Place::Region(id.to_ascii_lowercase()),
            _ => Place::Bloc(id.to_ascii_lowercase()),
        };
        let mut kinds = BTreeSet::new();
        let mut langs = BTreeSet::new();
        let mut own = false;
        let mut with_members = false;
        let options: Vec<String> = options
            .into_iter()
            .flat_map(|o| o.split(','))
            .map(|o| o.trim().to_ascii_lowercase())
            .filter(|o| !o.is_empty())
            .collect();
        for option in &options {
            match option.as_str() {
                "names" | "name" => _ = kinds.insert(Kind::Names),
                "demonyms" | "demonym" => _ = kinds.insert(Kind::Demonyms),
                "capitals" | "capital" => _ = kinds.insert(Kind::Capitals),
                "all" => {
                    kinds.extend([Kind::Names, Kind::Demonyms, Kind::Capitals]);
                    langs.extend(Lang::ALL.map(|(lang, _)| lang));
                }
                "members" => with_members = true,
                "own" => own = true,
                code if Lang::from_code(code).is_some() => {
                    langs.extend(Lang::from_code(code));
                }
                other => {
                    return Err(PlaceError::BadOption {
                        option: other.to_owned(),
                    });
                }
            }
        }
        let scope = match (own, with_members) {
            (false, false) => Scope::Default,
            (true, true) => Scope::All,
            (true, false) => Scope::Own,
            (false, true) => Scope::Members,
        };
        if scope != Scope::Default && matches!(place, Place::Country(_)) {
            return Err(bad(
                "`members` and `own` apply to regions and blocs, not to a country",
            ));
        }
        let ambiguous_capitals = kinds.contains(&Kind::Capitals);
        if kinds.is_empty() {
            kinds.extend(DEFAULT_KINDS);
        }
        if langs.is_empty() {
            langs.extend(Lang::ALL.map(|(lang, _)| lang));
        }
        Ok(Reference {
            place,
            kinds,
            ambiguous_capitals,
            langs,
            scope,
        })
    }
}
