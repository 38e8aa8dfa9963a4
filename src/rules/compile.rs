//! From parsed rules to the compiled form: groups expanded, field scopes pushed down to the
//! leaves, every distinct term interned once into a shared dictionary, and each rule lowered to
//! a boolean expression over term ids plus the presearch anchors that decide when it needs
//! evaluating at all.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use super::RuleError;
use super::error::PlaceRefError;
use super::matcher::Found;
use super::parse::{
    DEFAULT_FIELDS, FieldMask, Member, Node, SyntaxError, Term, form_term, parse_member,
};

pub(crate) type TermId = u32;

/// Compiled size limit of one regex (and, times the number of regexes, of the combined set):
/// a `/(a|b){1000}{1000}/` must be an error, not a gigabyte.
pub(crate) const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A distinct term of the dictionary.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum TermKey {
    /// Words: the canonical token string (tokens joined by one space, i.e. exactly what it
    /// looks like inside a normalized field), whether the last token is a prefix, and for an
    /// exact-case term the tokens with their case.
    Words {
        pattern: String,
        prefix: bool,
        cased: Option<Vec<String>>,
    },
    /// A regex, matched against the field's original text.
    Regex(String),
}

impl TermKey {
    fn of(term: &Term) -> TermKey {
        TermKey::Words {
            pattern: term.tokens.join(" "),
            prefix: term.prefix,
            cased: term.cased.clone(),
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

    pub(crate) fn into_terms(self) -> Vec<TermKey> {
        self.terms
    }
}

/// A rule's boolean structure over dictionary term ids. Every leaf carries the fields it may
/// occur in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    /// `origin` indexes [`CompiledRule::origins`]: the written term this leaf came from.
    Term {
        id: TermId,
        fields: FieldMask,
        origin: u32,
    },
    /// Any of `ids` (sorted): a group or place reference. One node sharing the reference's
    /// ids with every other rule naming it, rather than one `Term` per form, because a place
    /// reference stands for ~1,000 forms.
    Any {
        ids: Arc<[TermId]>,
        fields: FieldMask,
        origin: u32,
    },
    /// Some alternative of `left` and some of `right` occur in the same field value, at most
    /// `slop` words apart (`ordered`: left first). `origins` are those of the left side, then
    /// of the right, `left_origins` of them on the left, for explanations.
    Near {
        left: Vec<(TermId, FieldMask)>,
        right: Vec<(TermId, FieldMask)>,
        slop: u32,
        ordered: bool,
        origins: Box<[u32]>,
        left_origins: u32,
    },
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
}

impl Expr {
    pub(crate) fn eval(&self, found: &Found) -> bool {
        match self {
            Expr::Term { id, fields, .. } => found.fields_of(*id) & fields != 0,
            Expr::Any { ids, fields, .. } => any_found(ids, *fields, found) != 0,
            Expr::Near {
                left,
                right,
                slop,
                ordered,
                ..
            } => found.near(left, right, *slop, *ordered),
            Expr::And(parts) => parts.iter().all(|p| p.eval(found)),
            Expr::Or(parts) => parts.iter().any(|p| p.eval(found)),
            Expr::Not(inner) => !inner.eval(found),
        }
    }

    /// A set of terms at least one of which occurs in every item the expression matches, or
    /// `None` when no such set exists (a negation can match an item without any of its terms).
    ///
    /// OR needs all children's sets; AND (and NEAR) needs only one child's, and the smallest
    /// one filters best. This is the percolator/Luwak "query term extraction" idea.
    fn anchors(&self) -> Option<Vec<TermId>> {
        match self {
            Expr::Term { id, .. } => Some(vec![*id]),
            Expr::Any { ids, .. } => Some(ids.to_vec()),
            Expr::Near { left, right, .. } => {
                let side = if left.len() <= right.len() {
                    left
                } else {
                    right
                };
                Some(side.iter().map(|(id, _)| *id).collect())
            }
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

    /// Why the expression can never match, if it obviously cannot: an AND that requires a term
    /// and also excludes it in the same fields (`a AND NOT a`, `title:a NOT a`).
    fn contradiction(&self) -> Option<TermId> {
        match self {
            Expr::And(parts) => {
                for part in parts {
                    let Expr::Term { id, fields, .. } = part else {
                        continue;
                    };
                    let excluded = parts.iter().any(|other| {
                        matches!(other, Expr::Not(inner)
                            if matches!(**inner, Expr::Term { id: nid, fields: nf, .. }
                                if nid == *id && fields & !nf == 0))
                    });
                    if excluded {
                        return Some(*id);
                    }
                }
                parts.iter().find_map(Expr::contradiction)
            }
            Expr::Or(parts) => {
                // An OR is impossible only if every branch is.
                let mut first = None;
                for p in parts {
                    first = Some(p.contradiction()?);
                }
                first
            }
            _ => None,
        }
    }
}

/// The fields of `found` in which one of `ids` (sorted) occurs, within `fields`. Walks the
/// item's few found terms, not the reference's thousand forms.
pub(crate) fn any_found(ids: &[TermId], fields: FieldMask, found: &Found) -> FieldMask {
    found
        .terms
        .iter()
        .filter(|(id, mask)| mask & fields != 0 && ids.binary_search(id).is_ok())
        .fold(0, |acc, (_, mask)| acc | (mask & fields))
}

/// What the rule says, as written, that some compiled terms stand for: a term (`Kazakh*`,
/// `"Abraham Accords"`, `=US`, `/F-?16/`), a group (`@central_asia`) or a place reference
/// (`@region:central-asia`). Explanations and `matched_terms` report per origin, so a place
/// reference is one line however many forms it has.
#[derive(Debug, Clone)]
pub(crate) struct Origin {
    pub label: String,
    /// Every field the rule looks for it in (the union of its scopes).
    pub fields: FieldMask,
    /// Under a NOT: its presence is not what makes the rule match.
    pub negated: bool,
    /// Sorted; shared with every rule naming the same group.
    pub ids: Arc<[TermId]>,
}

#[derive(Debug)]
pub(crate) struct CompiledRule {
    pub name: String,
    pub expr: Expr,
    /// In query order, one per distinct (label, negated).
    pub origins: Vec<Origin>,
    /// Sorted, deduplicated presearch anchors (see [`Expr::anchors`]).
    pub anchors: Vec<TermId>,
}

pub(crate) struct Compiler<'g> {
    groups: &'g BTreeMap<String, Vec<String>>,
    /// Groups already expanded into their flat member terms, shared by every rule using them.
    resolved: HashMap<String, Arc<Vec<Term>>>,
    /// The same groups as sorted, deduplicated term ids, shared by every rule using them.
    group_ids: HashMap<String, Arc<[TermId]>>,
    pub dict: Dictionary,
    /// Patterns of the terms that came from built-in place references: the matcher lets a
    /// longer country name hide them (*Guinea* inside *Papua New Guinea*).
    pub place_patterns: HashSet<String>,
}

/// Identifies the rule being compiled, for error messages.
struct Ctx<'a> {
    rule: &'a str,
    query: &'a str,
}

impl Ctx<'_> {
    fn never(&self, offset: Option<usize>, reason: String) -> RuleError {
        RuleError::NeverMatches {
            rule: self.rule.to_owned(),
            query: self.query.to_owned(),
            offset,
            reason,
        }
    }
}

type Labels = Vec<Origin>;

/// A term's label in query syntax: the parser keeps a phrase's words without their quotes,
/// and `Abraham Accords` reported bare would read as two terms.
fn as_written(label: &str) -> std::borrow::Cow<'_, str> {
    if !label.contains(char::is_whitespace) || label.contains('"') {
        return label.into();
    }
    match label.strip_prefix('=') {
        Some(rest) => format!("=\"{rest}\"").into(),
        None => format!("\"{label}\"").into(),
    }
}

/// The index of the origin `label` (negated or not) in `labels`, added if new.
fn origin(
    labels: &mut Labels,
    label: &str,
    fields: FieldMask,
    negated: bool,
    ids: impl FnOnce() -> Arc<[TermId]>,
) -> Result<u32, RuleError> {
    let index = match labels
        .iter()
        .position(|o| o.negated == negated && o.label == label)
    {
        Some(index) => {
            labels[index].fields |= fields;
            index
        }
        None => {
            labels.push(Origin {
                label: label.to_owned(),
                fields,
                negated,
                ids: ids(),
            });
            labels.len() - 1
        }
    };
    u32::try_from(index).map_err(|_| RuleError::TooLarge {
        message: "more than 2^32 terms in one rule".to_owned(),
    })
}
impl<'g> Compiler<'g> {
    pub(crate) fn new(groups: &'g BTreeMap<String, Vec<String>>) -> Self {
        Compiler {
            groups,
            resolved: HashMap::new(),
            group_ids: HashMap::new(),
            dict: Dictionary::default(),
            place_patterns: HashSet::new(),
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
        let ctx = Ctx { rule: name, query };
        let mut labels = Vec::new();
        let expr = self.lower(&ctx, &node, true, None, &mut labels)?;
        let mut anchors = expr.anchors().ok_or_else(|| RuleError::NoPositiveTerm {
            rule: name.to_owned(),
        })?;
        if let Some(id) = expr.contradiction() {
            let label = labels
                .iter()
                .find(|o| o.ids.contains(&id))
                .map_or("a term", |o| o.label.as_str());
            return Err(ctx.never(
                None,
                format!("it requires `{label}` and also excludes it with NOT"),
            ));
        }
        anchors.sort_unstable();
        anchors.dedup();
        labels.shrink_to_fit();
        Ok(CompiledRule {
            name: name.to_owned(),
            expr,
            origins: labels,
            anchors,
        })
    }

    /// `scope` is the field scope in force (`None`: the default fields).
    fn lower(
        &mut self,
        ctx: &Ctx<'_>,
        node: &Node,
        positive: bool,
        scope: Option<FieldMask>,
        labels: &mut Labels,
    ) -> Result<Expr, RuleError> {
        let fields = scope.unwrap_or(DEFAULT_FIELDS);
        Ok(match node {
            Node::Term(term) => {
                let id = self.dict.intern(TermKey::of(term))?;
                let label = as_written(&term.label);
                let origin = origin(labels, &label, fields, !positive, || Arc::new([id]))?;
                Expr::Term { id, fields, origin }
            }
            Node::Regex { pattern, offset } => {
                let id = self.regex(ctx, pattern, *offset)?;
                let label = format!("/{pattern}/");
                let origin = origin(labels, &label, fields, !positive, || Arc::new([id]))?;
                Expr::Term { id, fields, origin }
            }
            Node::Group { name, offset } => {
                let ids = self.group_ids(ctx, name, *offset)?;
                let label = format!("@{name}");
                let origin = origin(labels, &label, fields, !positive, || Arc::clone(&ids))?;
                Expr::Any {
                    ids,
                    fields,
                    origin,
                }
            }
            Node::Field {
                field,
                inner,
                offset,
            } => {
                let narrowed = scope.map_or(field.bit(), |outer| outer & field.bit());
                if narrowed == 0 {
                    return Err(ctx.never(
                        Some(*offset),
                        format!(
                            "`{}:` inside another field scope; an item field cannot be two \
                             fields at once",
                            field.name()
                        ),
                    ));
                }
                self.lower(ctx, inner, positive, Some(narrowed), labels)?
            }
            Node::Near {
                left,
                right,
                slop,
                ordered,
                ..
            } => {
                let mut l = Vec::new();
                let mut origins = Vec::new();
                self.near_operand(ctx, left, positive, scope, labels, &mut l, &mut origins)?;
                let left_origins = u32::try_from(origins.len()).unwrap_or(u32::MAX);
                let mut r = Vec::new();
                self.near_operand(ctx, right, positive, scope, labels, &mut r, &mut origins)?;
                Expr::Near {
                    left: l,
                    right: r,
                    slop: *slop,
                    ordered: *ordered,
                    origins: origins.into_boxed_slice(),
                    left_origins,
                }
            }
            Node::And(parts) => Expr::And(
                parts
                    .iter()
                    .map(|p| self.lower(ctx, p, positive, scope, labels))
                    .collect::<Result<_, _>>()?,
            ),
            Node::Or(parts) => Expr::Or(
                parts
                    .iter()
                    .map(|p| self.lower(ctx, p, positive, scope, labels))
                    .collect::<Result<_, _>>()?,
            ),
            Node::Not(inner) => {
                Expr::Not(Box::new(self.lower(ctx, inner, !positive, scope, labels)?))
            }
        })
    }

    /// Flattens one side of a NEAR into its alternatives (the parser allows only terms,
    /// groups, field scopes and ORs there), and the origins they came from.
    #[allow(clippy::too_many_arguments)]
    fn near_operand(
        &mut self,
        ctx: &Ctx<'_>,
        node: &Node,
        positive: bool,
        scope: Option<FieldMask>,
        labels: &mut Labels,
        out: &mut Vec<(TermId, FieldMask)>,
        origins: &mut Vec<u32>,
    ) -> Result<(), RuleError> {
        let lowered = self.lower(ctx, node, positive, scope, labels)?;
        collect_alternatives(lowered, out, origins);
        Ok(())
    }

    /// A group's member terms interned, as sorted ids shared by every rule naming it.
    fn group_ids(
        &mut self,
        ctx: &Ctx<'_>,
        name: &str,
        offset: usize,
    ) -> Result<Arc<[TermId]>, RuleError> {
        if let Some(ids) = self.group_ids.get(name) {
            return Ok(Arc::clone(ids));
        }
        let members = self.resolve(ctx, name, offset, &mut Vec::new())?;
        let mut ids = members
            .iter()
            .map(|term| self.dict.intern(TermKey::of(term)))
            .collect::<Result<Vec<_>, _>>()?;
        ids.sort_unstable();
        ids.dedup();
        let ids: Arc<[TermId]> = ids.into();
        self.group_ids.insert(name.to_owned(), Arc::clone(&ids));
        Ok(ids)
    }

    /// Checks that the regex compiles within the size limit (once per distinct pattern) and
    /// interns it; the matcher compiles all regexes together into one set.
    fn regex(&mut self, ctx: &Ctx<'_>, pattern: &str, offset: usize) -> Result<TermId, RuleError> {
        let key = TermKey::Regex(pattern.to_owned());
        if let Some(&id) = self.dict.ids.get(&key) {
            return Ok(id);
        }
        let error = |message: String| RuleError::Regex {
            rule: ctx.rule.to_owned(),
            query: ctx.query.to_owned(),
            offset,
            message,
        };
        if pattern.is_empty() {
            return Err(error("the regex is empty".to_owned()));
        }
        let regex = regex::RegexBuilder::new(pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| error(regex_message(&e)))?;
        if regex.is_match("") {
            return Err(error(
                "the regex matches the empty string, so it would match every item".to_owned(),
            ));
        }
        self.dict.intern(key)
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
    ) -> Result<Arc<Vec<Term>>, RuleError> {
        if let Some(done) = self.resolved.get(name) {
            return Ok(Arc::clone(done));
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
        if crate::places::is_reference(name) {
            let terms = place_terms(name).map_err(|message| {
                RuleError::Place(Box::new(PlaceRefError {
                    rule: ctx.rule.to_owned(),
                    query: ctx.query.to_owned(),
                    reference: name.to_owned(),
                    via: stack.last().cloned(),
                    message,
                    offset,
                }))
            })?;
            self.place_patterns
                .extend(terms.iter().map(|t| t.tokens.join(" ")));
            self.resolved.insert(name.to_owned(), Arc::clone(&terms));
            return Ok(terms);
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
        let terms = Arc::new(terms);
        self.resolved.insert(name.to_owned(), Arc::clone(&terms));
        Ok(terms)
    }
}

/// The terms a built-in place reference (`region:central-asia`) stands for, or why it has none.
///
/// Cached for the life of the process: every rule and every reload naming the same reference
/// shares one expansion, since the built-in data never changes.
pub(crate) fn place_terms(reference: &str) -> Result<Arc<Vec<Term>>, String> {
    type Cache = Mutex<HashMap<String, Arc<Vec<Term>>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(Cache::default);
    if let Some(terms) = cache.lock().ok().and_then(|c| c.get(reference).cloned()) {
        return Ok(terms);
    }
    let expansion = crate::places::expand(reference).map_err(|e| e.to_string())?;
    let terms = expansion
        .forms
        .iter()
        .map(|form| {
            // The data is checked by `cargo test places`; this only guards a broken build.
            form_term(form).ok_or_else(|| format!("built-in form `{form}` has no word"))
        })
        .collect::<Result<Vec<Term>, String>>()?;
    if terms.is_empty() {
        // `@bloc:gcc[own,demonyms]`: a bloc has no demonym; an empty OR would never match.
        return Err(format!(
            "has no word of the kinds and languages asked for; `watchword groups \
             {reference}` shows what it has, and `[all]` takes every kind and language"
        ));
    }
    let terms = Arc::new(terms);
    if let Ok(mut c) = cache.lock() {
        c.insert(reference.to_owned(), Arc::clone(&terms));
    }
    Ok(terms)
}

fn collect_alternatives(expr: Expr, out: &mut Vec<(TermId, FieldMask)>, origins: &mut Vec<u32>) {
    match expr {
        Expr::Term { id, fields, origin } => {
            out.push((id, fields));
            origins.push(origin);
        }
        Expr::Any {
            ids,
            fields,
            origin,
        } => {
            out.extend(ids.iter().map(|&id| (id, fields)));
            origins.push(origin);
        }
        Expr::Or(parts) => {
            for part in parts {
                collect_alternatives(part, out, origins);
            }
        }
        // The parser admits nothing else inside NEAR.
        Expr::And(_) | Expr::Not(_) | Expr::Near { .. } => {}
    }
}

/// The regex crate's message is multi-line with its own caret; keep its last line, which says
/// what is wrong, since our error draws the caret under the rule's query.
fn regex_message(error: &regex::Error) -> String {
    match error {
        regex::Error::CompiledTooBig(limit) => {
            format!("the regex is too large once compiled (limit {limit} bytes); simplify it")
        }
        other => {
            let text = other.to_string();
            let last = text.lines().rev().find(|l| !l.trim().is_empty());
            format!("invalid regex: {}", last.unwrap_or(&text).trim())
        }
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
                Ok(Member::Group(inner)) if crate::places::is_reference(&inner) => {
                    if let Err(message) = place_terms(&inner) {
                        errors.push(RuleError::Place(Box::new(PlaceRefError {
                            rule: String::new(),
                            query: String::new(),
                            reference: inner,
                            via: Some(group.clone()),
                            message,
                            offset: 0,
                        })));
                    }
                }
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
