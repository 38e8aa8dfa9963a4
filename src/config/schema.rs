//! Reading the file into the schema ([`RawConfig`]) with every schema error reported, not
//! only the first: serde stops at the first value of the wrong type or unknown key, so each
//! refused entry is taken out of the parsed document and the rest is read again.
//!
//! A table left without a required key by a refused entry is taken out too, silently: its
//! "missing field" is that entry's doing, already reported. A table that lacked the key to
//! begin with is reported and taken out.

use std::ops::Range;

use serde::Deserialize as _;
use toml::Spanned;
use toml::de::{DeArray, DeString, DeTable, DeValue};

use super::raw::RawConfig;
use super::source::Locator;
use super::{ConfigError, Diagnostic};

/// Past this many schema errors the file is probably not a watchword config at all.
const MAX_SCHEMA_ERRORS: usize = 50;

/// The schema read from `source`, and the problems of the entries left out of it. A TOML
/// syntax error, or a schema error that cannot be located, is an `Err` with every problem
/// found up to it.
pub(super) fn read(
    source: &str,
    at: &Locator<'_>,
) -> Result<(RawConfig, Vec<Diagnostic>), ConfigError> {
    let located = |e: &toml::de::Error| {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        at.at(offset, e.message().trim().to_string())
    };
    let mut document =
        DeTable::parse(source).map_err(|e| ConfigError::Invalid(vec![located(&e)]))?;
    let mut problems: Vec<Diagnostic> = Vec::new();
    // Tables of arrays of tables (a `[[feed]]`) that an entry was taken out of, by span.
    let mut emptied: Vec<Range<usize>> = Vec::new();
    loop {
        let error = match RawConfig::deserialize(toml::de::Deserializer::from(document.clone())) {
            Ok(raw) => return Ok((raw, problems)),
            Err(e) => e,
        };
        let Some(span) = error.span() else {
            problems.push(located(&error));
            return Err(ConfigError::Invalid(problems));
        };
        match take_out(document.get_mut(), span.start) {
            Some(Taken::Entry { table }) => {
                problems.push(located(&error));
                emptied.extend(table);
            }
            Some(Taken::Table(table)) => {
                // A table that lost an entry lacks that key now: nothing new to say.
                if !emptied.contains(&table) {
                    problems.push(located(&error));
                }
            }
            None => {
                problems.push(located(&error));
                return Err(ConfigError::Invalid(problems));
            }
        }
        if problems.len() >= MAX_SCHEMA_ERRORS {
            return Err(ConfigError::Invalid(problems));
        }
    }
}

/// What [`take_out`] removed, by its span.
#[derive(Debug, PartialEq, Eq)]
enum Taken {
    /// A `key = value` entry whose key or value holds the offset, and the table of an array
    /// of tables it was in, if any.
    Entry { table: Option<Range<usize>> },
    /// A table (or one table of an array of tables) that holds the offset on none of its
    /// entries: a missing key is reported at the table.
    Table(Range<usize>),
}

/// Takes the innermost entry at `offset` out of `table`, else the innermost table holding it.
fn take_out<'i>(table: &mut DeTable<'i>, offset: usize) -> Option<Taken> {
    let mut hit: Option<Spanned<DeString<'i>>> = None;
    for (key, value) in table.iter_mut() {
        let inner = match value.get_mut() {
            DeValue::Table(sub) => take_out(sub, offset),
            DeValue::Array(array) if holds_tables(array) => take_out_of_array(array, offset),
            _ => None,
        };
        if inner.is_some() {
            return inner;
        }
        let (key_span, value_span) = (key.span(), value.span());
        if key_span.contains(&offset) || value_span.contains(&offset) {
            hit = Some(key.clone());
            break;
        }
    }
    table.remove(&hit?);
    Some(Taken::Entry { table: None })
}

fn holds_tables(array: &DeArray<'_>) -> bool {
    !array.is_empty()
        && array
            .iter()
            .all(|v| matches!(v.get_ref(), DeValue::Table(_)))
}

/// An entry at `offset` in one of the tables of `array`, else the table holding it.
fn take_out_of_array<'i>(array: &mut DeArray<'i>, offset: usize) -> Option<Taken> {
    let mut whole = None;
    for (i, element) in array.iter_mut().enumerate() {
        let span = element.span();
        if let DeValue::Table(sub) = element.get_mut() {
            match take_out(sub, offset) {
                Some(Taken::Entry { table: None }) => {
                    return Some(Taken::Entry { table: Some(span) });
                }
                Some(taken) => return Some(taken),
                None => {}
            }
        }
        if span.contains(&offset) {
            whole = Some((i, span));
            break;
        }
    }
    let (index, span) = whole?;
    let kept: DeArray<'i> = std::mem::replace(array, DeArray::new())
        .into_iter()
        .enumerate()
        .filter(|(i, _)| *i != index)
        .map(|(_, v)| v)
        .collect();
    *array = kept;
    Some(Taken::Table(span))
}
