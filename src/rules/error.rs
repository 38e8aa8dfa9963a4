//! Compile errors for watch rules.
//!
//! Messages are meant to be shown to the person editing the config as is, so syntax errors
//! carry the query text and render a caret under the offending position.

use std::fmt::Write as _;

/// Why a rule set failed to compile, or why a group definition is bad.
///
/// Every variant except [`RuleError::TooLarge`] names the rule, except that errors from
/// [`validate_groups`](super::validate_groups) have an empty `rule` (and an `offset` of 0): they
/// are about a group definition alone, and their message then leaves out the `rule "…": ` prefix.
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum RuleError {
    #[error("rule \"{rule}\": query is empty")]
    Empty { rule: String },

    /// `offset` is a byte offset into `query`.
    #[error("rule \"{rule}\": expected {expected} {}", locate(query, *offset))]
    Syntax {
        rule: String,
        query: String,
        offset: usize,
        expected: String,
    },

    /// `offset` is where the rule's query mentions the group (directly or via `via`).
    #[error(
        "{}unknown group @{group}{} ({})",
        rule_prefix(rule),
        via.as_ref().map(|v| format!(" in group @{v}")).unwrap_or_default(),
        defined_groups(defined)
    )]
    UnknownGroup {
        rule: String,
        group: String,
        /// The group whose member names the unknown one, if it is not named by the query itself.
        via: Option<String>,
        defined: Vec<String>,
        offset: usize,
    },

    /// `member_offset` is a byte offset into `member`; `offset` is where the query uses the group.
    #[error(
        "{}group @{group} member \"{member}\": expected {expected} {}",
        rule_prefix(rule),
        locate(member, *member_offset)
    )]
    GroupMember {
        rule: String,
        group: String,
        member: String,
        member_offset: usize,
        expected: String,
        offset: usize,
    },

    /// `cycle` starts and ends with the same group.
    #[error(
        "{}groups reference each other in a cycle: {}",
        rule_prefix(rule),
        cycle.iter().map(|g| format!("@{g}")).collect::<Vec<_>>().join(" -> ")
    )]
    GroupCycle {
        rule: String,
        cycle: Vec<String>,
        offset: usize,
    },

    /// A group with no members, which could never match. `offset` is where the rule's query uses
    /// the group (directly or through other groups).
    #[error(
        "{}group @{group} is empty; list at least one term or remove it",
        rule_prefix(rule)
    )]
    EmptyGroup {
        rule: String,
        group: String,
        offset: usize,
    },

    #[error(
        "rule \"{rule}\": no term that must occur; a query made only of NOT terms is rejected \
         because it would match nearly every item (add a positive term, e.g. `ukraine AND NOT football`)"
    )]
    NoPositiveTerm { rule: String },

    /// A regex that does not compile, is too large or matches the empty string. `offset` is
    /// that of its opening `/` in `query`.
    #[error("rule \"{rule}\": {message} {}", locate(query, *offset))]
    Regex {
        rule: String,
        query: String,
        offset: usize,
        message: String,
    },

    /// A rule that parses but can never match any item.
    #[error(
        "rule \"{rule}\": can never match: {reason}{}",
        offset.map(|o| format!(" {}", locate(query, o))).unwrap_or_default()
    )]
    NeverMatches {
        rule: String,
        query: String,
        offset: Option<usize>,
        reason: String,
    },

    /// A built-in place reference (`@country:XX`, `@region:…`, `@bloc:…`) that does not
    /// resolve.
    #[error("{0}")]
    Place(Box<PlaceRefError>),

    #[error("rule \"{rule}\": another rule already has this name")]
    DuplicateRule { rule: String },

    /// A query beyond [`MAX_QUERY_BYTES`](super::MAX_QUERY_BYTES): compiling terms that are
    /// prefixes of one another costs the square of their number, so a runaway query (a list
    /// pasted a thousand times) is refused instead of taking minutes and gigabytes.
    #[error(
        "rule \"{rule}\": the query is {bytes} bytes; a query may be at most {max} bytes \
         (split it into several rules, or use a built-in place such as @region:… for long lists)"
    )]
    QueryTooLong {
        rule: String,
        bytes: usize,
        max: usize,
    },

    /// The combined term dictionary exceeded the automaton's limits.
    #[error("rule set too large to compile: {message}")]
    TooLarge { message: String },
}

impl RuleError {
    /// The name of the rule at fault (empty for [`RuleError::TooLarge`] and for errors from
    /// [`validate_groups`](super::validate_groups)).
    pub fn rule(&self) -> &str {
        match self {
            RuleError::Empty { rule }
            | RuleError::Syntax { rule, .. }
            | RuleError::UnknownGroup { rule, .. }
            | RuleError::GroupMember { rule, .. }
            | RuleError::GroupCycle { rule, .. }
            | RuleError::EmptyGroup { rule, .. }
            | RuleError::NoPositiveTerm { rule }
            | RuleError::Regex { rule, .. }
            | RuleError::NeverMatches { rule, .. }
            | RuleError::DuplicateRule { rule }
            | RuleError::QueryTooLong { rule, .. } => rule,
            RuleError::Place(p) => &p.rule,
            RuleError::TooLarge { .. } => "",
        }
    }

    /// The group whose *definition* is at fault, when the fix belongs there rather than in the
    /// rule's query: the group with the bad member, the group naming an unknown group, or the
    /// group whose member closes a cycle, or the empty group.
    pub fn group(&self) -> Option<&str> {
        match self {
            RuleError::GroupMember { group, .. } | RuleError::EmptyGroup { group, .. } => {
                Some(group)
            }
            RuleError::UnknownGroup { via, .. } => via.as_deref(),
            RuleError::Place(p) => p.via.as_deref(),
            RuleError::GroupCycle { cycle, .. } => cycle
                .len()
                .checked_sub(2)
                .and_then(|i| cycle.get(i))
                .map(String::as_str),
            _ => None,
        }
    }

    /// Byte offset into the rule's query that the error is about, when there is one.
    pub fn offset(&self) -> Option<usize> {
        match self {
            RuleError::Syntax { offset, .. }
            | RuleError::UnknownGroup { offset, .. }
            | RuleError::GroupMember { offset, .. }
            | RuleError::GroupCycle { offset, .. }
            | RuleError::Regex { offset, .. }
            | RuleError::EmptyGroup { offset, .. } => Some(*offset),
            RuleError::Place(p) => Some(p.offset),
            RuleError::NeverMatches { offset, .. } => *offset,
            RuleError::Empty { .. }
            | RuleError::NoPositiveTerm { .. }
            | RuleError::DuplicateRule { .. }
            | RuleError::TooLarge { .. } => None,
            RuleError::QueryTooLong { .. } => Some(0),
        }
    }
}

/// A place reference that does not resolve (boxed in [`RuleError::Place`] to keep the error
/// small). `offset` is where the rule's query uses it (directly or via group `via`); `query`
/// is empty for an error about a group definition alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaceRefError {
    pub rule: String,
    pub query: String,
    pub reference: String,
    pub via: Option<String>,
    pub message: String,
    pub offset: usize,
}

impl std::fmt::Display for PlaceRefError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", rule_prefix(&self.rule), self.reference)?;
        if let Some(via) = &self.via {
            write!(f, " in group @{via}")?;
        }
        write!(f, ": {}", self.message)?;
        if !self.query.is_empty() {
            write!(f, " {}", locate(&self.query, self.offset))?;
        }
        Ok(())
    }
}

/// `rule "NAME": `, or nothing for an error about a group definition alone.
fn rule_prefix(rule: &str) -> String {
    if rule.is_empty() {
        String::new()
    } else {
        format!("rule \"{rule}\": ")
    }
}

fn defined_groups(defined: &[String]) -> String {
    if defined.is_empty() {
        "no groups are defined".to_owned()
    } else {
        format!("defined groups: {}", defined.join(", "))
    }
}

/// Renders `at column N` (or `at line L, column N` for multi-line text) followed by the line and
/// a caret under the position. Columns count chars, 1-based, as editors do.
fn locate(text: &str, offset: usize) -> String {
    // Offsets come from our own lexer, but clamp and snap to a char boundary so a bad offset
    // can never panic while formatting an error.
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = text[line_start..line_end].trim_end_matches('\r');
    let before = &text[line_start..offset];
    let column = before.chars().count() + 1;

    let mut out = String::new();
    if line_start == 0 && line_end == text.len() {
        let _ = write!(out, "at column {column}");
    } else {
        let line_no = text[..line_start].matches('\n').count() + 1;
        let _ = write!(out, "at line {line_no}, column {column}");
    }
    out.push_str("\n  ");
    out.push_str(line);
    out.push_str("\n  ");
    // Keep tabs so the caret lines up under tab-indented text.
    for c in before.chars() {
        out.push(if c == '\t' { '\t' } else { ' ' });
    }
    out.push('^');
    out
}

#[cfg(test)]
mod tests {
    use super::locate;

    #[test]
    fn locate_single_line() {
        assert_eq!(locate("a OR (b", 7), "at column 8\n  a OR (b\n         ^");
        assert_eq!(locate("abc", 0), "at column 1\n  abc\n  ^");
    }

    #[test]
    fn locate_counts_chars_not_bytes() {
        assert_eq!(
            locate("Türkiye )", 9),
            "at column 9\n  Türkiye )\n          ^"
        );
    }

    #[test]
    fn locate_multi_line_and_bad_offsets() {
        assert_eq!(
            locate("a AND\n  (b", 10),
            "at line 2, column 5\n    (b\n      ^"
        );
        // Past the end and inside a multi-byte char: clamped, no panic.
        assert_eq!(locate("ab", 99), "at column 3\n  ab\n    ^");
        assert_eq!(locate("ü", 1), "at column 1\n  ü\n  ^");
    }
}
