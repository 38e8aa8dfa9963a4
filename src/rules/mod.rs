//! Watch rules: a small boolean query language compiled into one [`RuleSet`] that matches an
//! item against every rule with a single scan per field.
//!
//! Language (the reference is docs/rules.md): `word` (whole word), `word*` (prefix),
//! `"a phrase"`, `@group`, `=US` (exact case), `/regex/`, `title:` and the other field scopes,
//! `a NEAR/5 b` and `a ONEAR/5 b` (within 5 words, any order / in order), `AND`/`OR`/`NOT`
//! (uppercase only; juxtaposition is AND; `-word` is NOT word) and parentheses, with precedence
//! NEAR > NOT > AND > OR. Matching is case-insensitive and diacritics-insensitive (except for
//! `=` terms and regexes) because rule terms and item text go through the same [`crate::text::normalize`].
//!
//! How it fits together: `parse` turns a query into an AST of normalized terms; `compile`
//! expands groups, interns every distinct term of every rule into one dictionary and lowers
//! each rule to an expression over term ids; `matcher` finds which dictionary terms occur in an
//! item, where (one automaton scan per field); only rules anchored on a found term are then
//! evaluated (the presearcher).

mod compile;
mod error;
mod explain;
mod locate;
mod matcher;
mod parse;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use crate::model::Item;
pub use crate::model::MatchedTerm;
use compile::{CompiledRule, Compiler, Expr};
use matcher::{Found, Matcher};
use parse::FieldMask;

pub use error::{PlaceRefError, RuleError};
pub use explain::{Explanation, TermReport};
pub use parse::Field;

/// The longest query a rule may have, in bytes: far above any rule written by hand (the
/// example rule is 60 bytes, a pasted list of 5,000 names about 80 KB), and low enough that
/// even a query made only of terms that are prefixes of one another compiles in well under a
/// second.
pub const MAX_QUERY_BYTES: usize = 256 * 1024;

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
    /// The rule's terms, groups and place references found in the item, in query order, each
    /// once. Negated terms are never listed.
    pub terms: Vec<MatchedTerm>,
}

/// Compiled, immutable rules. Cheap to share behind an `Arc`; rebuild to change.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<CompiledRule>,
    matcher: Matcher,
    /// Presearch index: for each term id, the rules (indices, ascending) anchored on it.
    rules_by_term: Vec<Box<[u32]>>,
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

/// The groups that no rule uses, directly or through other groups, in name order: dead weight
/// that `watchword check` warns about. Queries that do not parse are skipped (compiling reports
/// them).
pub fn unused_groups<'q>(
    groups: &BTreeMap<String, Vec<String>>,
    queries: impl IntoIterator<Item = &'q str>,
) -> Vec<String> {
    fn named(node: &parse::Node, out: &mut Vec<String>) {
        match node {
            parse::Node::Group { name, .. } => out.push(name.clone()),
            parse::Node::Field { inner, .. } | parse::Node::Not(inner) => named(inner, out),
            parse::Node::Near { left, right, .. } => {
                named(left, out);
                named(right, out);
            }
            parse::Node::And(parts) | parse::Node::Or(parts) => {
                parts.iter().for_each(|p| named(p, out))
            }
            parse::Node::Term(_) | parse::Node::Regex { .. } => {}
        }
    }
    let mut pending = Vec::new();
    for query in queries {
        if let Ok(node) = parse::parse_query(query) {
            named(&node, &mut pending);
        }
    }
    let mut used = HashSet::new();
    while let Some(group) = pending.pop() {
        if !used.insert(group.clone()) {
            continue;
        }
        for member in groups.get(&group).into_iter().flatten() {
            if let Ok(parse::Member::Group(inner)) = parse::parse_member(member) {
                pending.push(inner);
            }
        }
    }
    groups
        .keys()
        .filter(|g| !used.contains(g.as_str()))
        .cloned()
        .collect()
}

/// Places that one AND needs twice but that one country can satisfy alone: in
/// `@region:central-asia AND @bloc:sco`, "Kazakhstan" is both, so every story naming Kazakhstan
/// matches, which is rarely what the rule means. One sentence per such pair, naming the rule,
/// the two references, the countries they share and what to write instead; for `watchword
/// check` and `watchword test`. Queries that do not parse are skipped (compiling reports them).
pub fn shared_place_warnings<'r>(
    groups: &BTreeMap<String, Vec<String>>,
    rules: impl IntoIterator<Item = RuleSpec<'r>>,
) -> Vec<String> {
    /// The place references an AND operand requires one of: written directly, or as members
    /// of a config group (one level of nesting is enough for how groups are written).
    fn references(node: &parse::Node, groups: &BTreeMap<String, Vec<String>>) -> Vec<String> {
        let mut out = Vec::new();
        match node {
            parse::Node::Group { name, .. } if crate::places::is_reference(name) => {
                out.push(name.clone());
            }
            parse::Node::Group { name, .. } => {
                for member in groups.get(name).into_iter().flatten() {
                    if let Ok(parse::Member::Group(inner)) = parse::parse_member(member)
                        && crate::places::is_reference(&inner)
                    {
                        out.push(inner);
                    }
                }
            }
            parse::Node::Field { inner, .. } => out.extend(references(inner, groups)),
            parse::Node::Or(parts) => parts.iter().for_each(|p| out.extend(references(p, groups))),
            _ => {}
        }
        out
    }
    fn visit(
        rule: &str,
        node: &parse::Node,
        groups: &BTreeMap<String, Vec<String>>,
        out: &mut Vec<String>,
    ) {
        match node {
            parse::Node::And(parts) => {
                let operands: Vec<Vec<String>> =
                    parts.iter().map(|p| references(p, groups)).collect();
                for (i, left) in operands.iter().enumerate() {
                    for right in &operands[i + 1..] {
                        for a in left {
                            for b in right {
                                if let Some(warning) = shared(rule, a, b) {
                                    out.push(warning);
                                }
                            }
                        }
                    }
                }
                parts.iter().for_each(|p| visit(rule, p, groups, out));
            }
            parse::Node::Or(parts) => parts.iter().for_each(|p| visit(rule, p, groups, out)),
            parse::Node::Field { inner, .. } | parse::Node::Not(inner) => {
                visit(rule, inner, groups, out)
            }
            _ => {}
        }
    }
    fn shared(rule: &str, a: &str, b: &str) -> Option<String> {
        let (Ok(left), Ok(right)) = (crate::places::expand(a), crate::places::expand(b)) else {
            return None;
        };
        let both: Vec<&String> = left
            .members
            .iter()
            .filter(|m| right.members.binary_search(m).is_ok())
            .collect();
        let first = both.first()?;
        let name = |code: &str| {
            crate::places::gazetteer()
                .ok()
                .and_then(|g| g.countries.get(code))
                .map_or(code.to_owned(), |c| c.names.display().to_owned())
        };
        let listed: Vec<String> = both.iter().take(5).map(|c| name(c)).collect();
        let more = if both.len() > 5 {
            format!(" and {} more", both.len() - 5)
        } else {
            String::new()
        };
        // A bloc is what a rule most likely means by its own name (a region is more often
        // meant as its countries); between two regions, the narrower one.
        let (wide, narrow) = if b.starts_with("bloc:") && !a.starts_with("bloc:") {
            (a, b)
        } else if a.starts_with("bloc:") && !b.starts_with("bloc:") {
            (b, a)
        } else if left.members.len() >= right.members.len() {
            (a, b)
        } else {
            (b, a)
        };
        let narrow_bare = narrow.split('[').next().unwrap_or(narrow);
        let advice = if narrow.starts_with("country:") {
            format!("@{narrow} is inside @{wide}, so the AND adds nothing; drop one of them")
        } else {
            format!(
                "write @{narrow_bare}[own] to need the {} itself named, or name the countries \
                 apart",
                if narrow.starts_with("bloc:") {
                    "bloc"
                } else {
                    "region"
                }
            )
        };
        Some(format!(
            "rule {rule:?}: @{a} and @{b} share {}{more}, so an item naming only {} \
             satisfies both sides of the AND; {advice}",
            listed.join(", "),
            name(first)
        ))
    }
    let mut out = Vec::new();
    for spec in rules {
        if let Ok(node) = parse::parse_query(spec.query) {
            visit(spec.name, &node, groups, &mut out);
        }
    }
    out
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
            if spec.query.len() > MAX_QUERY_BYTES {
                return Err(RuleError::QueryTooLong {
                    rule: spec.name.to_owned(),
                    bytes: spec.query.len(),
                    max: MAX_QUERY_BYTES,
                });
            }
            compiled.push(compiler.rule(spec.name, spec.query)?);
        }
        let mut fields_used: FieldMask = 0;
        let mut positions = false;
        for rule in &compiled {
            visit_leaves(&rule.expr, &mut |expr| match expr {
                Expr::Term { fields, .. } | Expr::Any { fields, .. } => fields_used |= fields,
                Expr::Near { left, right, .. } => {
                    positions = true;
                    for (_, fields) in left.iter().chain(right) {
                        fields_used |= fields;
                    }
                }
                _ => {}
            });
        }
        let place_patterns = std::mem::take(&mut compiler.place_patterns);
        let terms = compiler.dict.into_terms();
        positions |= terms
            .iter()
            .any(|t| matches!(t, compile::TermKey::Words { cased: Some(_), .. }));
        let term_count = terms.len();
        let matcher = Matcher::new(terms, fields_used, positions, &place_patterns)?;
        let mut rules_by_term = vec![Vec::new(); term_count];
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
        let rules_by_term = rules_by_term
            .into_iter()
            .map(Vec::into_boxed_slice)
            .collect();
        Ok(RuleSet {
            rules: compiled,
            matcher,
            rules_by_term,
        })
    }

    /// The rules matching `item`, in rule order.
    ///
    /// Unscoped terms are searched in the title, summary, content, each category and each
    /// author, separately, so a phrase (or a NEAR) never spans two fields; `link:` and `feed:`
    /// search the item's link and its feed's name.
    pub fn matches(&self, item: &Item) -> Vec<RuleMatch> {
        let found = self.matcher.scan(item);
        self.evaluate(item, &found, self.candidates(&found))
    }

    /// The presearcher: the rules anchored on a term that occurs, ascending.
    fn candidates(&self, found: &Found) -> Vec<u32> {
        if found.is_empty() {
            return Vec::new();
        }
        let mut candidates: Vec<u32> = found
            .term_ids()
            .filter_map(|t| self.rules_by_term.get(t as usize))
            .flatten()
            .copied()
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        candidates
    }

    fn evaluate(&self, item: &Item, found: &Found, candidates: Vec<u32>) -> Vec<RuleMatch> {
        let mut locator = locate::Locator::new(item);
        candidates
            .into_iter()
            .filter_map(|index| self.rules.get(index as usize))
            .filter(|rule| rule.expr.eval(found))
            .map(|rule| RuleMatch {
                rule: rule.name.clone(),
                terms: rule
                    .origins
                    .iter()
                    .filter(|origin| !origin.negated)
                    .filter_map(|origin| {
                        let (fields, quotes) =
                            explain::origin_found(origin, found, &self.matcher, &mut locator);
                        (fields != 0).then(|| MatchedTerm {
                            term: origin.label.clone(),
                            found: quotes,
                        })
                    })
                    .collect(),
            })
            .collect()
    }

    /// The reference matcher: no automaton, no presearch; every rule evaluated against terms
    /// found by comparing words one by one. Same answer as [`RuleSet::matches`], much slower;
    /// the property tests hold the two to that.
    #[cfg(test)]
    pub(crate) fn matches_naive(&self, item: &Item) -> Vec<RuleMatch> {
        let found = self.matcher.scan_naive(item);
        self.evaluate(item, &found, (0..self.rules.len() as u32).collect())
    }

    /// Why `rule` does or does not match `item`: each of its terms with the fields it was
    /// found in, and the verdict. `None` if there is no such rule.
    pub fn explain(&self, rule: &str, item: &Item) -> Option<Explanation> {
        let compiled = self.rules.iter().find(|r| r.name == rule)?;
        let found = self.matcher.scan(item);
        let matched = compiled.expr.eval(&found);
        let mut locator = locate::Locator::new(item);
        Some(explain::explain(
            compiled,
            matched,
            &found,
            &self.matcher,
            &mut locator,
        ))
    }

    /// [`RuleSet::explain`], or `None` also when no term of the rule set occurs in `item` at
    /// all: the rule workbench explains every item it searches, most of which have nothing
    /// to explain, and this skips locating words in them.
    pub fn explain_if_any(&self, rule: &str, item: &Item) -> Option<Explanation> {
        let compiled = self.rules.iter().find(|r| r.name == rule)?;
        let found = self.matcher.scan(item);
        if found.is_empty() {
            return None;
        }
        let matched = compiled.expr.eval(&found);
        let mut locator = locate::Locator::new(item);
        Some(explain::explain(
            compiled,
            matched,
            &found,
            &self.matcher,
            &mut locator,
        ))
    }

    /// What `watchword test` reports for `item`, in rule order, from one scan: the rules
    /// that match it, explained, and with `near_misses` also the rules that the presearcher
    /// evaluates (a required term is present) and that have some term they do not exclude in
    /// the item but still do not match. `only` limits it to one rule. Explaining costs only
    /// for what is returned: the other candidates are evaluated as fast as the daemon does.
    pub fn explain_candidates(
        &self,
        item: &Item,
        near_misses: bool,
        only: Option<&str>,
    ) -> Vec<Explanation> {
        let found = self.matcher.scan(item);
        let mut locator = locate::Locator::new(item);
        self.candidates(&found)
            .into_iter()
            .filter_map(|index| self.rules.get(index as usize))
            .filter(|rule| only.is_none_or(|only| rule.name == only))
            .filter_map(|rule| {
                let matched = rule.expr.eval(&found);
                let shown = matched || (near_misses && explain::has_positive_term(rule, &found));
                shown.then(|| explain::explain(rule, matched, &found, &self.matcher, &mut locator))
            })
            .collect()
    }

    /// The rules that match `item` only in part: some term they do not exclude occurs, yet
    /// they do not match (what `test --explain` calls a near miss). Every rule is looked at,
    /// not only the presearcher's candidates: a rule anchored on its other term is the very
    /// case where more text may complete it. In rule order.
    pub fn partial_matches(&self, item: &Item) -> Vec<&str> {
        let found = self.matcher.scan(item);
        if found.is_empty() {
            return Vec::new();
        }
        self.rules
            .iter()
            .filter(|rule| explain::has_positive_term(rule, &found) && !rule.expr.eval(&found))
            .map(|rule| rule.name.as_str())
            .collect()
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

/// Calls `f` on every node of `expr`, depth first.
fn visit_leaves(expr: &Expr, f: &mut impl FnMut(&Expr)) {
    f(expr);
    match expr {
        Expr::And(parts) | Expr::Or(parts) => parts.iter().for_each(|p| visit_leaves(p, f)),
        Expr::Not(inner) => visit_leaves(inner, f),
        Expr::Term { .. } | Expr::Any { .. } | Expr::Near { .. } => {}
    }
}
