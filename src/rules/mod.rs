//! Watch rules: a small boolean query language compiled into one [`RuleSet`] that matches an
//! item against every rule with a single scan per field.
//!
//! Language (see DESIGN.md §3): `word` (whole word), `word*` (prefix), `"a phrase"`, `@group`,
//! `AND`/`OR`/`NOT` (uppercase only; juxtaposition is AND; `-word` is NOT word) and parentheses,
//! with precedence NOT > AND > OR. Matching is case-insensitive and diacritics-insensitive
//! because rule terms and item text go through the same [`normalize`].
//!
//! How it fits together: `parse` turns a query into an AST of normalized terms; `compile`
//! expands groups, interns every distinct term of every rule into one dictionary and lowers
//! each rule to an expression over term ids; `matcher` finds which dictionary terms occur in an
//! item; only rules anchored on a found term are then evaluated.

mod compile;
mod error;
mod matcher;
mod normalize;
mod parse;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use crate::feed::Item;
use compile::{CompiledRule, Compiler, TermId};
use matcher::Matcher;

pub use error::RuleError;
pub use normalize::normalize;

/// A rule as written in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleSpec<'a> {
    pub name: &'a str,
    pub query: &'a str,
}

/// One rule that matched an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleMatch {
    pub rule: String,
    /// The rule's terms found in the item, as the user wrote them (`Kazakh*`, `Abraham
    /// Accords`), deduplicated, in order of first occurrence in the query with groups expanded
    /// in place. Negated terms are never listed.
    pub terms: Vec<String>,
}

/// Compiled, immutable rules. Cheap to share behind an `Arc`; rebuild to change.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<CompiledRule>,
    matcher: Matcher,
    /// Presearch index: for each term id, the rules (indices, ascending) anchored on it.
    rules_by_term: Vec<Vec<u32>>,
}

/// Checks every group definition, whether or not a rule uses it, and returns every problem found
/// (not just the first): a member that does not parse ([`RuleError::GroupMember`]), a member
/// naming an undefined group ([`RuleError::UnknownGroup`] with `via` set), an empty group
/// ([`RuleError::EmptyGroup`]) and groups referencing each other in a cycle
/// ([`RuleError::GroupCycle`]).
///
/// These errors are about group definitions only: [`RuleError::group`] names the group to fix,
/// [`RuleError::rule`] is empty and [`RuleError::offset`] is `Some(0)`.
pub fn validate_groups(groups: &BTreeMap<String, Vec<String>>) -> Result<(), Vec<RuleError>> {
    let errors = compile::validate_groups(groups);
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

impl RuleSet {
    /// Compiles `rules`, expanding `@name` references from `groups`.
    ///
    /// Fails on the first bad rule. Groups are checked only as far as some rule uses them (a
    /// rule using an empty group fails with [`RuleError::EmptyGroup`]); call [`validate_groups`]
    /// to check every group.
    pub fn compile(
        groups: &BTreeMap<String, Vec<String>>,
        rules: &[RuleSpec],
    ) -> Result<RuleSet, RuleError> {
        let mut compiler = Compiler::new(groups);
        let mut compiled = Vec::with_capacity(rules.len());
        let mut names = HashSet::new();
        for spec in rules {
            if !names.insert(spec.name) {
                return Err(RuleError::DuplicateRule {
                    rule: spec.name.to_owned(),
                });
            }
            compiled.push(compiler.rule(spec.name, spec.query)?);
        }
        let terms = compiler.dict.terms();
        let matcher = Matcher::new(terms)?;
        let mut rules_by_term = vec![Vec::new(); terms.len()];
        for (index, rule) in compiled.iter().enumerate() {
            let index = u32::try_from(index).map_err(|_| RuleError::TooLarge {
                message: "more than 2^32 rules".to_owned(),
            })?;
            for &term in &rule.anchors {
                if let Some(list) = rules_by_term.get_mut(term as usize) {
                    list.push(index);
                }
            }
        }
        Ok(RuleSet {
            rules: compiled,
            matcher,
            rules_by_term,
        })
    }

    /// The rules matching `item`, in rule order.
    ///
    /// Searched fields: title, summary, content, each category and each author, separately, so
    /// a phrase never spans two fields.
    pub fn matches(&self, item: &Item) -> Vec<RuleMatch> {
        let found = self.found_terms(item);
        if found.is_empty() {
            return Vec::new();
        }
        let mut candidates: Vec<u32> = found
            .iter()
            .filter_map(|&t| self.rules_by_term.get(t as usize))
            .flatten()
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        candidates
            .into_iter()
            .filter_map(|index| self.rules.get(index as usize))
            .filter(|rule| rule.expr.eval(&found))
            .map(|rule| RuleMatch {
                rule: rule.name.clone(),
                terms: rule
                    .labels
                    .iter()
                    .filter(|(id, _)| found.binary_search(id).is_ok())
                    .map(|(_, label)| label.clone())
                    .collect(),
            })
            .collect()
    }

    /// Sorted, deduplicated ids of the dictionary terms occurring in the item.
    fn found_terms(&self, item: &Item) -> Vec<TermId> {
        let mut found = Vec::new();
        let mut buf = String::new();
        let fields = [&item.title, &item.summary, &item.content]
            .into_iter()
            .chain(&item.categories)
            .chain(&item.authors);
        for field in fields {
            normalize::normalize_into(field, &mut buf);
            self.matcher.scan(&buf, &mut found);
        }
        found.sort_unstable();
        found.dedup();
        found
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Rule names, in rule order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.name.as_str())
    }
}
