//! From parsed rules to the compiled form: groups expanded, every distinct term interned once
//! into a shared dictionary, and each rule lowered to a boolean expression over term ids plus
//! the presearch anchors that decide when it needs evaluating at all.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use super::RuleError;
use super::parse::{Member, Node, SyntaxError, Term, parse_member};

pub(crate) type TermId = u32;

/// A distinct term of the dictionary: its canonical token string (tokens joined by one space,
/// i.e. exactly what it looks like inside a normalized field) and whether the last token is a
/// prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct TermKey {
    pub pattern: String,
    pub prefix: bool,
}

impl TermKey {
    fn of(term: &Term) -> TermKey {
        TermKey {
            pattern: term.tokens.join(" "),
            prefix: term.prefix,
        }
    }
}

/// Every distinct term of every rule, each with a dense id.
#[derive(Debug, Default)]
pub(crate) struct Dictionary {
    terms: Vec<TermKey>,
    ids: HashMap<TermKey, TermId>,
}

impl Dictionary {
    fn intern(&mut self, key: TermKey) -> Result<TermId, RuleError> {
        if let Some(&id) = self.ids.get(&key) {
            return Ok(id);
        }
        let id = TermId::try_from(self.terms.len()).map_err(|_| RuleError::TooLarge {
            message: "more than 2^32 distinct terms".to_owned(),
        })?;
        self.terms.push(key.clone());
        self.ids.insert(key, id);
        Ok(id)
    }

    pub(crate) fn terms(&self) -> &[TermKey] {
        &self.terms
    }
}

/// A rule's boolean structure over dictionary term ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    Term(TermId),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
}

impl Expr {
    /// `found` must be sorted.
    pub(crate) fn eval(&self, found: &[TermId]) -> bool {
        match self {
            Expr::Term(id) => found.binary_search(id).is_ok(),
            Expr::And(parts) => parts.iter().all(|p| p.eval(found)),
            Expr::Or(parts) => parts.iter().any(|p| p.eval(found)),
            Expr::Not(inner) => !inner.eval(found),
        }
    }

    /// A set of terms at least one of which occurs in every item the expression matches, or
    /// `None` when no such set exists (a negation can match an item without any of its terms).
    ///
    /// OR needs all children's sets; AND needs only one child's, and the smallest one filters
    /// best. This is the percolator/Luwak "query term extraction" idea.
    fn anchors(&self) -> Option<Vec<TermId>> {
        match self {
            Expr::Term(id) => Some(vec![*id]),
            Expr::Or(parts) => {
                let mut all = Vec::new();
                for p in parts {
                    all.extend(p.anchors()?);
                }
                Some(all)
            }
            Expr::And(parts) => parts.iter().filter_map(Expr::anchors).min_by_key(Vec::len),
            Expr::Not(_) => None,
        }
    }
}

#[derive(Debug)]
pub(crate) struct CompiledRule {
    pub name: String,
    pub expr: Expr,
    /// Terms that count as "matched" when present, as the user wrote them, deduplicated by
    /// label, in query order. Negated terms are left out: in a match they are absent, or their
    /// presence is not what made the rule match.
    pub labels: Vec<(TermId, String)>,
    /// Sorted, deduplicated presearch anchors (see [`Expr::anchors`]).
    pub anchors: Vec<TermId>,
}

pub(crate) struct Compiler<'g> {
    groups: &'g BTreeMap<String, Vec<String>>,
    /// Groups already expanded into their flat member terms, shared by every rule using them.
    resolved: HashMap<String, Rc<Vec<Term>>>,
    pub dict: Dictionary,
}

/// Identifies the rule being compiled, for error messages.
struct Ctx<'a> {
    rule: &'a str,
}

impl<'g> Compiler<'g> {
    pub(crate) fn new(groups: &'g BTreeMap<String, Vec<String>>) -> Self {
        Compiler {
            groups,
            resolved: HashMap::new(),
            dict: Dictionary::default(),
        }
    }

    pub(crate) fn rule(&mut self, name: &str, query: &str) -> Result<CompiledRule, RuleError> {
        if query.trim().is_empty() {
            return Err(RuleError::Empty {
                rule: name.to_owned(),
            });
        }
        let node =
            super::parse::parse_query(query).map_err(|SyntaxError { offset, expected }| {
                RuleError::Syntax {
                    rule: name.to_owned(),
                    query: query.to_owned(),
                    offset,
                    expected,
                }
            })?;
        let ctx = Ctx { rule: name };
        let mut labels = Vec::new();
        let expr = self.lower(&ctx, &node, true, &mut labels)?;
        let mut anchors = expr.anchors().ok_or_else(|| RuleError::NoPositiveTerm {
            rule: name.to_owned(),
        })?;
        anchors.sort_unstable();
        anchors.dedup();
        let mut seen = std::collections::HashSet::new();
        labels.retain(|(_, label)| seen.insert(label.clone()));
        Ok(CompiledRule {
            name: name.to_owned(),
            expr,
            labels,
            anchors,
        })
    }

    fn lower(
        &mut self,
        ctx: &Ctx<'_>,
        node: &Node,
        positive: bool,
        labels: &mut Vec<(TermId, String)>,
    ) -> Result<Expr, RuleError> {
        Ok(match node {
            Node::Term(term) => self.leaf(term, positive, labels)?,
            Node::Group { name, offset } => {
                let members = self.resolve(ctx, name, *offset, &mut Vec::new())?;
                let mut parts = Vec::with_capacity(members.len());
                for term in members.iter() {
                    parts.push(self.leaf(term, positive, labels)?);
                }
                Expr::Or(parts)
            }
            Node::And(parts) => Expr::And(
                parts
                    .iter()
                    .map(|p| self.lower(ctx, p, positive, labels))
                    .collect::<Result<_, _>>()?,
            ),
            Node::Or(parts) => Expr::Or(
                parts
                    .iter()
                    .map(|p| self.lower(ctx, p, positive, labels))
                    .collect::<Result<_, _>>()?,
            ),
            Node::Not(inner) => Expr::Not(Box::new(self.lower(ctx, inner, !positive, labels)?)),
        })
    }

    fn leaf(
        &mut self,
        term: &Term,
        positive: bool,
        labels: &mut Vec<(TermId, String)>,
    ) -> Result<Expr, RuleError> {
        let id = self.dict.intern(TermKey::of(term))?;
        if positive {
            labels.push((id, term.label.clone()));
        }
        Ok(Expr::Term(id))
    }

    /// Expands a group into its member terms, following nested `@group` members.
    ///
    /// `stack` holds the groups being expanded, to detect cycles; `offset` is where the rule's
    /// query names the outermost group, so every error can point into the query.
    fn resolve(
        &mut self,
        ctx: &Ctx<'_>,
        name: &str,
        offset: usize,
        stack: &mut Vec<String>,
    ) -> Result<Rc<Vec<Term>>, RuleError> {
        if let Some(done) = self.resolved.get(name) {
            return Ok(Rc::clone(done));
        }
        if let Some(start) = stack.iter().position(|g| g == name) {
            let mut cycle = stack[start..].to_vec();
            cycle.push(name.to_owned());
            return Err(RuleError::GroupCycle {
                rule: ctx.rule.to_owned(),
                cycle,
                offset,
            });
        }
        let groups = self.groups;
        let Some(members) = groups.get(name) else {
            return Err(RuleError::UnknownGroup {
                rule: ctx.rule.to_owned(),
                group: name.to_owned(),
                via: stack.last().cloned(),
                defined: groups.keys().cloned().collect(),
                offset,
            });
        };
        if members.is_empty() {
            return Err(RuleError::EmptyGroup {
                rule: ctx.rule.to_owned(),
                group: name.to_owned(),
                offset,
            });
        }
        stack.push(name.to_owned());
        let mut terms = Vec::with_capacity(members.len());
        for member in members {
            match parse_member(member) {
                Ok(Member::Term(term)) => terms.push(term),
                Ok(Member::Group(inner)) => {
                    terms.extend(self.resolve(ctx, &inner, offset, stack)?.iter().cloned());
                }
                Err(SyntaxError {
                    offset: member_offset,
                    expected,
                }) => {
                    return Err(RuleError::GroupMember {
                        rule: ctx.rule.to_owned(),
                        group: name.to_owned(),
                        member: member.clone(),
                        member_offset,
                        expected,
                        offset,
                    });
                }
            }
        }
        stack.pop();
        let terms = Rc::new(terms);
        self.resolved.insert(name.to_owned(), Rc::clone(&terms));
        Ok(terms)
    }
}

/// See [`super::validate_groups`]. Errors come in group order (each group's own problems in
/// member order), then the cycles.
pub(crate) fn validate_groups(groups: &BTreeMap<String, Vec<String>>) -> Vec<RuleError> {
    let mut errors = Vec::new();
    // Group → the groups its members name, for the cycle search.
    let mut edges: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (group, members) in groups {
        if members.is_empty() {
            errors.push(RuleError::EmptyGroup {
                rule: String::new(),
                group: group.clone(),
                offset: 0,
            });
        }
        let out = edges.entry(group.as_str()).or_default();
        for member in members {
            match parse_member(member) {
                Ok(Member::Term(_)) => {}
                Ok(Member::Group(inner)) if groups.contains_key(&inner) => out.push(inner),
                Ok(Member::Group(inner)) => errors.push(RuleError::UnknownGroup {
                    rule: String::new(),
                    group: inner,
                    via: Some(group.clone()),
                    defined: groups.keys().cloned().collect(),
                    offset: 0,
                }),
                Err(SyntaxError {
                    offset: member_offset,
                    expected,
                }) => errors.push(RuleError::GroupMember {
                    rule: String::new(),
                    group: group.clone(),
                    member: member.clone(),
                    member_offset,
                    expected,
                    offset: 0,
                }),
            }
        }
    }

    // Depth-first search; every edge back into the current path closes one cycle, reported
    // once, as the path from the group it re-enters.
    fn visit<'a>(
        group: &'a str,
        edges: &'a BTreeMap<&str, Vec<String>>,
        path: &mut Vec<&'a str>,
        done: &mut HashSet<&'a str>,
        errors: &mut Vec<RuleError>,
    ) {
        path.push(group);
        for next in edges.get(group).into_iter().flatten() {
            if let Some(start) = path.iter().position(|g| g == next) {
                let mut cycle: Vec<String> =
                    path[start..].iter().map(|g| (*g).to_owned()).collect();
                cycle.push(next.clone());
                errors.push(RuleError::GroupCycle {
                    rule: String::new(),
                    cycle,
                    offset: 0,
                });
            } else if !done.contains(next.as_str()) {
                visit(next, edges, path, done, errors);
            }
        }
        path.pop();
        done.insert(group);
    }
    let mut done = HashSet::new();
    for &group in edges.keys() {
        if !done.contains(group) {
            visit(group, &edges, &mut Vec::new(), &mut done, &mut errors);
        }
    }
    errors
}
