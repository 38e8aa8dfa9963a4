//! What a report names, in any language: the countries, blocs and regions, people,
//! organisations and kinds of event its headline and lead mention, and its numbers. Two
//! reports of one event written in Russian and in Arabic share no words, but they name the
//! same president, the same country and the same kind of event.
//!
//! The names are recognized above this room (`crate::entities`, from the gazetteer and
//! `data/entities/`); here they are plain ids such as `country:KZ`, `person:tokayev`,
//! `event:join` or `number:25`, compared with weights by kind.

use std::collections::BTreeSet;

/// The kind of a recognized name, from the prefix of its id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntityKind {
    Country,
    Region,
    Bloc,
    Person,
    Organisation,
    Event,
    Number,
    /// A proper name not in the lists (a hurricane, a central banker, a launch vehicle),
    /// by its sound: the consonant skeleton of its Latin transliteration.
    Name,
}

impl EntityKind {
    pub const ALL: [(EntityKind, &'static str); 8] = [
        (EntityKind::Country, "country"),
        (EntityKind::Region, "region"),
        (EntityKind::Bloc, "bloc"),
        (EntityKind::Person, "person"),
        (EntityKind::Organisation, "org"),
        (EntityKind::Event, "event"),
        (EntityKind::Number, "number"),
        (EntityKind::Name, "name"),
    ];

    pub fn prefix(self) -> &'static str {
        EntityKind::ALL
            .iter()
            .find(|(kind, _)| *kind == self)
            .map_or("", |(_, prefix)| prefix)
    }

    /// The kind of an id (`person:tokayev` → person).
    pub fn of(id: &str) -> Option<EntityKind> {
        let prefix = id.split_once(':')?.0;
        EntityKind::ALL
            .iter()
            .find(|(_, p)| *p == prefix)
            .map(|(kind, _)| *kind)
    }

    /// How much sharing a name of this kind says about two reports being one event. A person
    /// or an organisation is specific; a country is shared by every story about it; a number
    /// may be a date, an amount or a toll, and coincide by chance.
    pub fn weight(self) -> f64 {
        match self {
            EntityKind::Person => 2.0,
            EntityKind::Organisation | EntityKind::Name => 1.5,
            EntityKind::Country | EntityKind::Bloc | EntityKind::Event => 1.0,
            EntityKind::Number => 1.0,
            EntityKind::Region => 0.5,
        }
    }

    /// Whether a shared name of this kind can find a candidate story (a look-up key): the
    /// specific kinds, one of which a join by names needs anyway. Countries, blocs, regions and
    /// kinds of event are shared by most stories of a rule and would bring every one of them.
    pub fn is_key(self) -> bool {
        self.is_specific()
    }

    /// People, organisations, proper names and numbers: what tells one event from another
    /// of the same countries.
    pub fn is_specific(self) -> bool {
        matches!(
            self,
            EntityKind::Person | EntityKind::Organisation | EntityKind::Number | EntityKind::Name
        )
    }
}

/// The names one report mentions, as sorted, distinct ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Entities(BTreeSet<String>);

impl Entities {
    pub fn new(ids: impl IntoIterator<Item = String>) -> Entities {
        Entities(
            ids.into_iter()
                .filter(|id| EntityKind::of(id).is_some())
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.0.contains(id)
    }

    /// The stored form: ids one space apart (ids hold no spaces).
    pub fn to_text(&self) -> String {
        self.iter().collect::<Vec<_>>().join(" ")
    }

    pub fn from_text(text: &str) -> Entities {
        Entities::new(text.split(' ').filter(|s| !s.is_empty()).map(str::to_owned))
    }

    /// The ids that can find a candidate story.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.iter()
            .filter(|id| EntityKind::of(id).is_some_and(EntityKind::is_key))
    }

    /// How alike two reports' names are, and what they share.
    pub fn compare(&self, other: &Entities) -> Overlap {
        let weight = |id: &str| EntityKind::of(id).map_or(0.0, EntityKind::weight);
        let total = |set: &BTreeSet<String>| set.iter().map(|id| weight(id)).sum::<f64>();
        let shared: Vec<String> = self.0.intersection(&other.0).cloned().collect();
        let both: f64 = shared.iter().map(|id| weight(id)).sum();
        // Against the smaller report, not the union: a one-line report that names three
        // things, all of them in a long report's twelve, is that report's event; the union
        // would make it look a quarter alike.
        let smaller = total(&self.0).min(total(&other.0));
        let similarity = if smaller > 0.0 { both / smaller } else { 0.0 };
        let specific = shared
            .iter()
            .filter(|id| EntityKind::of(id).is_some_and(EntityKind::is_specific))
            .count();
        Overlap {
            similarity,
            shared,
            specific,
        }
    }
}

/// What two reports' names have in common.
#[derive(Debug, Clone, PartialEq)]
pub struct Overlap {
    /// The weight of the names both mention over the weight of the smaller set's names (the
    /// overlap coefficient, weighted; 0 to 1).
    pub similarity: f64,
    /// The ids both name, sorted.
    pub shared: Vec<String>,
    /// How many of the shared names are people, organisations, other proper names or
    /// numbers: the specific ones.
    pub specific: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(ids: &[&str]) -> Entities {
        Entities::new(ids.iter().map(|s| s.to_string()))
    }

    #[test]
    fn weights_make_a_shared_person_count_more_than_a_shared_country() {
        let a = set(&["country:KZ", "person:tokayev", "event:join"]);
        let b = set(&["country:KZ", "person:tokayev", "event:join", "number:6"]);
        let c = set(&["country:KZ", "person:mirziyoyev", "event:join"]);
        let ab = a.compare(&b);
        assert_eq!(ab.shared, ["country:KZ", "event:join", "person:tokayev"]);
        assert_eq!(ab.specific, 1);
        assert!((ab.similarity - 4.0 / 4.0).abs() < 1e-9);
        let ac = a.compare(&c);
        assert!((ac.similarity - 2.0 / 4.0).abs() < 1e-9);
    }

    #[test]
    fn the_stored_text_round_trips_and_drops_unknown_kinds() {
        let a = Entities::from_text("person:tokayev country:KZ junk:x  event:join");
        assert_eq!(a.to_text(), "country:KZ event:join person:tokayev");
        assert_eq!(Entities::from_text(&a.to_text()), a);
        // Only specific names are look-up keys: a country would bring every story of a rule.
        assert_eq!(a.keys().collect::<Vec<_>>(), ["person:tokayev"]);
    }
}
