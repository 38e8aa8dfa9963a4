//! Where things are in the config file: byte offsets turned into `file:line:col`.
//!
//! [`SourceMap`] outlives validation so that the load step (`crate::runtime`) can locate the
//! problems only it can find (a rule that does not compile, a sink format's options) exactly
//! as config locates its own.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use super::Diagnostic;

/// Turns byte offsets in the config source into `file:line:col` diagnostics.
pub(super) struct Locator<'a> {
    pub path: &'a Path,
    pub source: &'a str,
}

impl Locator<'_> {
    pub fn at(&self, offset: usize, message: String) -> Diagnostic {
        let offset = offset.min(self.source.len());
        let before = self.source.get(..offset).unwrap_or(self.source);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
        let column = before[line_start..].chars().count() + 1;
        Diagnostic {
            path: self.path.to_path_buf(),
            line,
            column,
            message,
        }
    }

    pub fn span(&self, span: Range<usize>, message: String) -> Diagnostic {
        self.at(span.start, message)
    }

    /// The offset of the first character inside a string value whose span (quotes included)
    /// is `span`, so that an offset into the string's content maps onto the file.
    pub fn string_content_start(&self, span: &Range<usize>) -> usize {
        let text = self.source.get(span.clone()).unwrap_or("");
        if text.starts_with("'''") || text.starts_with("\"\"\"") {
            // TOML drops a newline right after the opening delimiter.
            let after = &text[3..];
            let newline = if after.starts_with("\r\n") {
                2
            } else {
                usize::from(after.starts_with('\n'))
            };
            span.start + 3 + newline
        } else {
            span.start + 1
        }
    }

    pub fn directory(&self) -> PathBuf {
        match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }
}

/// The spans validation keeps for later steps.
#[derive(Debug, Default)]
pub(super) struct Spans {
    /// Each rule's `query` value (quotes included), by the rule's index in `Config::rules`.
    pub rule_queries: Vec<Range<usize>>,
    /// Each group's member list, by group name.
    pub groups: BTreeMap<String, Range<usize>>,
}

/// The config's text and path, and the spans needed to locate problems found after
/// validation. Sinks carry their own spans (`SinkConfig::spans`).
#[derive(Debug)]
pub struct SourceMap {
    path: PathBuf,
    text: String,
    spans: Spans,
}

impl SourceMap {
    pub(super) fn new(path: &Path, text: &str, spans: Spans) -> SourceMap {
        SourceMap {
            path: path.to_path_buf(),
            text: text.to_string(),
            spans,
        }
    }

    fn locator(&self) -> Locator<'_> {
        Locator {
            path: &self.path,
            source: &self.text,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `message` located at byte `offset` of the file.
    pub fn at(&self, offset: usize, message: String) -> Diagnostic {
        self.locator().at(offset, message)
    }

    /// `message` located at the start of `span`.
    pub fn span(&self, span: Range<usize>, message: String) -> Diagnostic {
        self.locator().span(span, message)
    }

    /// The span of group `name`'s member list.
    pub fn group(&self, name: &str) -> Option<Range<usize>> {
        self.spans.groups.get(name).cloned()
    }

    /// `message` located at character offset `offset` (a byte offset into the query text)
    /// inside the query of the rule at `index` in `Config::rules`; `None` for an unknown
    /// rule.
    pub fn in_query(&self, index: usize, offset: usize, message: String) -> Option<Diagnostic> {
        let span = self.spans.rule_queries.get(index)?;
        let at = self.locator();
        let start = at.string_content_start(span);
        Some(at.at(start + offset, message))
    }
}
