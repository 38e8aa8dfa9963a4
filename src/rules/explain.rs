//! Explanations for `watchword test --explain`: which of a rule's terms occur in which fields
//! of an item, and, when the rule does not match, which part of it failed.

use serde::Serialize;

use super::compile::{CompiledRule, Expr, TermId, TermKey};
use super::matcher::{Found, Matcher};
use super::parse::{DEFAULT_FIELDS, Field, FieldMask};

/// One rule against one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub rule: String,
    pub matched: bool,
    /// Every distinct term of the rule (groups expanded), in query order.
    pub terms: Vec<TermReport>,
    /// When the rule does not match: the parts that failed, one sentence each.
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TermReport {
    /// The term in query syntax, normalized (`"abraham accords"`, `kazakh*`, `=US`, `/f-?16/`).
    pub term: String,
    /// The fields it occurs in (within its scope); empty if it does not occur.
    pub fields: Vec<&'static str>,
    /// Whether the rule excludes it (it is under a NOT).
    pub negated: bool,
}

impl Serialize for Field {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

pub(crate) fn explain(rule: &CompiledRule, found: &Found, matcher: &Matcher) -> Explanation {
    let matched = rule.expr.eval(found);
    let mut terms: Vec<TermReport> = Vec::new();
    collect_terms(&rule.expr, false, found, matcher, &mut terms);
    let mut reasons = Vec::new();
    if !matched {
        why_not(&rule.expr, found, matcher, &mut reasons);
    }
    Explanation {
        rule: rule.name.clone(),
        matched,
        terms,
        reasons,
    }
}

/// The term as query syntax, rebuilt from the dictionary so that explanations cost the rules
/// no memory.
fn render(matcher: &Matcher, id: TermId) -> String {
    match matcher.key(id) {
        Some(TermKey::Words {
            pattern,
            prefix,
            cased,
        }) => {
            let text = cased
                .as_ref()
                .map_or_else(|| pattern.clone(), |c| c.join(" "));
            let mut out = String::new();
            if cased.is_some() {
                out.push('=');
            }
            if text.contains(' ') {
                out.push('"');
                out.push_str(&text);
                out.push('"');
            } else {
                out.push_str(&text);
            }
            if *prefix {
                out.push('*');
            }
            out
        }
        Some(TermKey::Regex(pattern)) => format!("/{pattern}/"),
        None => "?".to_owned(),
    }
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

fn collect_terms(
    expr: &Expr,
    negated: bool,
    found: &Found,
    matcher: &Matcher,
    out: &mut Vec<TermReport>,
) {
    let mut add = |id: TermId, fields: FieldMask| {
        let term = format!("{}{}", render(matcher, id), scope_text(fields));
        if out.iter().any(|t| t.term == term && t.negated == negated) {
            return;
        }
        out.push(TermReport {
            term,
            fields: field_names(found.fields_of(id) & fields),
            negated,
        });
    };
    match expr {
        Expr::Term { id, fields } => add(*id, *fields),
        Expr::Near { left, right, .. } => {
            for &(id, fields) in left.iter().chain(right) {
                add(id, fields);
            }
        }
        Expr::And(parts) | Expr::Or(parts) => {
            for p in parts {
                collect_terms(p, negated, found, matcher, out);
            }
        }
        Expr::Not(inner) => collect_terms(inner, !negated, found, matcher, out),
    }
}

fn describe(expr: &Expr, matcher: &Matcher) -> String {
    let alternatives = |side: &[(TermId, FieldMask)]| {
        let names: Vec<String> = side
            .iter()
            .map(|&(id, f)| format!("{}{}", render(matcher, id), scope_text(f)))
            .collect();
        if names.len() == 1 {
            names.join("")
        } else {
            format!("({})", names.join(" OR "))
        }
    };
    match expr {
        Expr::Term { id, fields } => format!("{}{}", render(matcher, *id), scope_text(*fields)),
        Expr::Near {
            left,
            right,
            slop,
            ordered,
        } => format!(
            "{} {}/{slop} {}",
            alternatives(left),
            if *ordered { "ONEAR" } else { "NEAR" },
            alternatives(right)
        ),
        Expr::And(parts) => {
            let inner: Vec<String> = parts.iter().map(|p| describe(p, matcher)).collect();
            format!("({})", inner.join(" AND "))
        }
        Expr::Or(parts) => {
            let inner: Vec<String> = parts.iter().map(|p| describe(p, matcher)).collect();
            format!("({})", inner.join(" OR "))
        }
        Expr::Not(inner) => format!("NOT {}", describe(inner, matcher)),
    }
}

/// Appends why `expr`, which evaluates to false, does so.
fn why_not(expr: &Expr, found: &Found, matcher: &Matcher, out: &mut Vec<String>) {
    match expr {
        Expr::Term { .. } => out.push(format!("{} not found", describe(expr, matcher))),
        Expr::Near {
            left, right, slop, ..
        } => {
            let present = |side: &[(TermId, FieldMask)]| {
                side.iter().any(|&(id, f)| found.fields_of(id) & f != 0)
            };
            if present(left) && present(right) {
                out.push(format!(
                    "{}: both occur, but not within {slop} words of each other in one field{}",
                    describe(expr, matcher),
                    if matches!(expr, Expr::Near { ordered: true, .. }) {
                        " in that order"
                    } else {
                        ""
                    }
                ));
            } else {
                out.push(format!(
                    "{}: {} not found",
                    describe(expr, matcher),
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
                why_not(p, found, matcher, out);
            }
        }
        Expr::Or(_) => out.push(format!("none of {} found", describe(expr, matcher))),
        Expr::Not(inner) => {
            let mut which = String::new();
            if let Expr::Term { id, fields } = **inner {
                which = format!(
                    " (found in {})",
                    field_names(found.fields_of(id) & fields).join(", ")
                );
            }
            out.push(format!(
                "excluded by NOT {}{which}",
                describe(inner, matcher)
            ));
        }
    }
}
