//! Explanations for `watchword test --explain`: which of a rule's terms occur in which fields
//! of an item, and, when the rule does not match, which part of it failed.

use serde::Serialize;

use super::compile::{CompiledRule, Expr, Origin, TermId, any_found};
use super::locate::Locator;
use super::matcher::{Found, Matcher};
use super::parse::{DEFAULT_FIELDS, Field, FieldMask};

/// One rule against one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub rule: String,
    pub matched: bool,
    /// Each term, group and place reference the rule names, once, in query order.
    pub terms: Vec<TermReport>,
    /// When the rule does not match: the parts that failed, one sentence each.
    pub reasons: Vec<String>,
    /// Matched only once the item's linked article was read (`read_articles`): the terms
    /// found in `content` are the article's. Set by the caller that read it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub after_article: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TermReport {
    /// As written in the rule (`Kazakh*`, `Abraham Accords`, `=US`, `/F-?16/`,
    /// `@central_asia`, `@region:central-asia`), with its field scope (`football in title`).
    pub term: String,
    /// The fields it (any of a group's or reference's forms) occurs in, within its scope;
    /// empty if it does not occur.
    pub fields: Vec<&'static str>,
    /// The item's own words where it occurs (`Turkménistan`, `Kazakhstan`), at most 5.
    pub found: Vec<String>,
    /// Whether the rule excludes it (it is under a NOT).
    pub negated: bool,
    /// Whether it is looked for in some fields only (`term` then names them).
    #[serde(skip)]
    pub scoped: bool,
}

impl Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// `matched` is `rule.expr.eval(found)`, passed in because the caller has it already.
pub(crate) fn explain(
    rule: &CompiledRule,
    matched: bool,
    found: &Found,
    matcher: &Matcher,
    locator: &mut Locator<'_>,
) -> Explanation {
    let terms = rule
        .origins
        .iter()
        .map(|origin| {
            let (fields, found) = origin_found(origin, found, matcher, locator);
            TermReport {
                term: format!("{}{}", origin.label, scope_text(origin.fields)),
                fields: field_names(fields),
                found,
                negated: origin.negated,
                scoped: origin.fields != DEFAULT_FIELDS,
            }
        })
        .collect();
    let mut reasons = Vec::new();
    if !matched {
        why_not(&rule.expr, rule, found, &mut reasons);
    }
    Explanation {
        rule: rule.name.clone(),
        matched,
        terms,
        reasons,
        after_article: false,
    }
}

/// The fields where any term of `origin` occurs, and the item's words there.
pub(crate) fn origin_found(
    origin: &Origin,
    found: &Found,
    matcher: &Matcher,
    locator: &mut Locator<'_>,
) -> (FieldMask, Vec<String>) {
    let mut fields = 0;
    let mut quotes = Vec::new();
    for &(id, mask) in &found.terms {
        if mask & origin.fields != 0 && origin.ids.binary_search(&id).is_ok() {
            fields |= mask & origin.fields;
            locator.quote(matcher, found, id, origin.fields, &mut quotes);
        }
    }
    (fields, quotes)
}

/// Whether some term the rule does not exclude occurs in the item: a near miss worth
/// explaining, when the rule does not match.
pub(crate) fn has_positive_term(rule: &CompiledRule, found: &Found) -> bool {
    rule.origins
        .iter()
        .any(|o| !o.negated && any_found(&o.ids, o.fields, found) != 0)
}

fn field_names(mask: FieldMask) -> Vec<&'static str> {
    Field::ALL
        .into_iter()
        .filter(|f| mask & f.bit() != 0)
        .map(Field::name)
        .collect()
}

/// ` in title` for a scoped term, nothing for the default fields.
fn scope_text(fields: FieldMask) -> String {
    if fields == DEFAULT_FIELDS {
        String::new()
    } else {
        format!(" in {}", field_names(fields).join("/"))
    }
}

fn label(rule: &CompiledRule, origin: u32, fields: FieldMask) -> String {
    let label = rule
        .origins
        .get(origin as usize)
        .map_or("?", |o| o.label.as_str());
    format!("{label}{}", scope_text(fields))
}

fn describe(expr: &Expr, rule: &CompiledRule) -> String {
    match expr {
        Expr::Term { fields, origin, .. } | Expr::Any { fields, origin, .. } => {
            label(rule, *origin, *fields)
        }
        Expr::Near {
            left,
            right,
            slop,
            ordered,
            origins,
            left_origins,
        } => {
            let fields = |side: &[(TermId, FieldMask)]| side.first().map_or(0, |&(_, f)| f);
            let side = |origins: &[u32], fields: FieldMask| {
                let names: Vec<String> = origins.iter().map(|&o| label(rule, o, fields)).collect();
                if names.len() == 1 {
                    names.join("")
                } else {
                    format!("({})", names.join(" OR "))
                }
            };
            let split = (*left_origins as usize).min(origins.len());
            format!(
                "{} {}/{slop} {}",
                side(&origins[..split], fields(left)),
                if *ordered { "ONEAR" } else { "NEAR" },
                side(&origins[split..], fields(right))
            )
        }
        Expr::And(parts) => {
            let inner: Vec<String> = parts.iter().map(|p| describe(p, rule)).collect();
            format!("({})", inner.join(" AND "))
        }
        Expr::Or(parts) => {
            let inner: Vec<String> = parts.iter().map(|p| describe(p, rule)).collect();
            format!("({})", inner.join(" OR "))
        }
        Expr::Not(inner) => format!("NOT {}", describe(inner, rule)),
    }
}

/// Appends why `expr`, which evaluates to false, does so.
fn why_not(expr: &Expr, rule: &CompiledRule, found: &Found, out: &mut Vec<String>) {
    match expr {
        Expr::Term { .. } => out.push(format!("{} not found", describe(expr, rule))),
        Expr::Any { .. } => out.push(format!("{}: not found in any field", describe(expr, rule))),
        Expr::Near {
            left, right, slop, ..
        } => {
            let present = |side: &[(TermId, FieldMask)]| {
                side.iter().any(|&(id, f)| found.fields_of(id) & f != 0)
            };
            if present(left) && present(right) {
                out.push(format!(
                    "{}: both occur, but not within {slop} words of each other in one field{}",
                    describe(expr, rule),
                    if matches!(expr, Expr::Near { ordered: true, .. }) {
                        " in that order"
                    } else {
                        ""
                    }
                ));
            } else {
                out.push(format!(
                    "{}: {} not found",
                    describe(expr, rule),
                    if present(left) {
                        "right side"
                    } else {
                        "left side"
                    }
                ));
            }
        }
        Expr::And(parts) => {
            for p in parts.iter().filter(|p| !p.eval(found)) {
                why_not(p, rule, found, out);
            }
        }
        Expr::Or(_) => out.push(format!("none of {} found", describe(expr, rule))),
        Expr::Not(inner) => {
            let mut which = String::new();
            match &**inner {
                Expr::Term { id, fields, .. } => {
                    which = format!(
                        " (found in {})",
                        field_names(found.fields_of(*id) & fields).join(", ")
                    );
                }
                Expr::Any { ids, fields, .. } => {
                    which = format!(
                        " (found in {})",
                        field_names(any_found(ids, *fields, found)).join(", ")
                    );
                }
                _ => {}
            }
            out.push(format!("excluded by NOT {}{which}", describe(inner, rule)));
        }
    }
}
