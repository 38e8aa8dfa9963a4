//! The one config builder of the end-to-end tests: `watchword.toml` text for a workspace.
//!
//! Tests that assert a `file:line:col` rely on the layout of [`TomlConfig::build`]:
//!
//! 1. `[daemon]` on line 1 (left out when there is no daemon key and no database);
//! 2. the [`TomlConfig::daemon`] keys from line 2, in the order first given (a key given
//!    again replaces its earlier value in place);
//! 3. then `database`, if set;
//! 4. then, each after a blank line: `[groups]` (one line per group, in call order), every
//!    `[[feed]]`, every `[[rule]]`, every `[[sink]]` (each kind in call order), and last the
//!    [`TomlConfig::raw`] text exactly as given.
//!
//! A config made only of `.raw(text)` is `text` itself.

use std::path::{Path, PathBuf};

use super::Workspace;

/// `@central_asia`, as in DESIGN.md §3.
const CENTRAL_ASIA: &str = r#"["Kazakhstan", "Kazakh*", "Qazaqstan", "Uzbekistan", "Uzbek*", "Kyrgyzstan",
                   "Kyrgyz*", "Tajikistan", "Tajik*", "Turkmenistan", "Turkmen*", '"Central Asia"']"#;

/// `@abraham_accords`, as in DESIGN.md §3.
const ABRAHAM_ACCORDS: &str = r#"['"Abraham Accords"', '"Abraham Accord"']"#;

/// A `watchword.toml` under construction; see the module docs for the text it makes.
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct TomlConfig {
    /// (key, `key = value` text, possibly over several lines)
    daemon: Vec<(String, String)>,
    database: Option<String>,
    groups: Vec<String>,
    feeds: Vec<String>,
    rules: Vec<String>,
    sinks: Vec<String>,
    raw: Vec<String>,
}

impl TomlConfig {
    /// An empty config: no daemon keys, no database, no tables.
    pub fn new() -> TomlConfig {
        TomlConfig::default()
    }

    /// A config whose database is the workspace's.
    pub fn for_workspace(ws: &Workspace) -> TomlConfig {
        TomlConfig::new().database(ws.database())
    }

    /// `database = "<path>"` in `[daemon]`, after the other daemon keys.
    pub fn database(mut self, path: impl AsRef<Path>) -> TomlConfig {
        self.database = Some(string(&path.as_ref().display().to_string()));
        self
    }

    /// Daemon keys as TOML, e.g. `poll_interval = "1h"`; several keys may come in one string,
    /// one per line (a value may go on over indented lines). A key already set is replaced
    /// where it stands; an empty string adds nothing.
    pub fn daemon(mut self, toml: &str) -> TomlConfig {
        for (key, entry) in split_entries(toml) {
            match self.daemon.iter_mut().find(|(k, _)| *k == key) {
                Some(existing) => existing.1 = entry,
                None => self.daemon.push((key, entry)),
            }
        }
        self
    }

    /// `name = <members>` in `[groups]`; `members` is a TOML array as written.
    pub fn group(mut self, name: &str, members: &str) -> TomlConfig {
        self.groups.push(format!("{name} = {members}"));
        self
    }

    /// The groups of DESIGN.md §3: `@central_asia` and `@abraham_accords`.
    pub fn shared_groups(self) -> TomlConfig {
        self.group("central_asia", CENTRAL_ASIA)
            .group("abraham_accords", ABRAHAM_ACCORDS)
    }

    pub fn feed(self, name: &str, url: &str) -> TomlConfig {
        self.feed_with(name, url, "")
    }

    /// A feed with more keys, as TOML lines (e.g. `tags = ["world"]`).
    pub fn feed_with(mut self, name: &str, url: &str, extra: &str) -> TomlConfig {
        self.feeds.push(table(
            "[[feed]]",
            &[("name", string(name)), ("url", string(url))],
            extra,
        ));
        self
    }

    pub fn rule(self, name: &str, query: &str, notify: &[&str]) -> TomlConfig {
        self.rule_with(name, query, notify, "")
    }

    /// A rule with more keys, as TOML lines (e.g. `priority = "high"`).
    pub fn rule_with(
        mut self,
        name: &str,
        query: &str,
        notify: &[&str],
        extra: &str,
    ) -> TomlConfig {
        let notify = notify
            .iter()
            .map(|n| string(n))
            .collect::<Vec<_>>()
            .join(", ");
        self.rules.push(table(
            "[[rule]]",
            &[
                ("name", string(name)),
                ("query", string(query)),
                ("notify", format!("[{notify}]")),
            ],
            extra,
        ));
        self
    }

    pub fn webhook_sink(self, name: &str, url: &str) -> TomlConfig {
        self.webhook_sink_with(name, url, "")
    }

    /// A webhook sink with more keys, as TOML lines (e.g. `format = "slack"`).
    pub fn webhook_sink_with(mut self, name: &str, url: &str, extra: &str) -> TomlConfig {
        self.sinks.push(table(
            "[[sink]]",
            &[
                ("name", string(name)),
                ("kind", string("webhook")),
                ("url", string(url)),
            ],
            extra,
        ));
        self
    }

    /// An email sink (`kind = "email"`) with its keys as TOML lines (`host = …`, `to = …`).
    pub fn email_sink_with(mut self, name: &str, extra: &str) -> TomlConfig {
        self.sinks.push(table(
            "[[sink]]",
            &[("name", string(name)), ("kind", string("email"))],
            extra,
        ));
        self
    }

    /// A sink printing one JSON line per alert.
    pub fn stdout_sink(mut self, name: &str) -> TomlConfig {
        self.sinks.push(table(
            "[[sink]]",
            &[("name", string(name)), ("kind", string("stdout"))],
            "",
        ));
        self
    }

    /// TOML text added at the end, exactly as given.
    pub fn raw(mut self, toml: &str) -> TomlConfig {
        self.raw.push(toml.to_string());
        self
    }

    pub fn build(&self) -> String {
        let mut blocks: Vec<String> = Vec::new();
        if !self.daemon.is_empty() || self.database.is_some() {
            let mut block = String::from("[daemon]\n");
            for (_, entry) in &self.daemon {
                block.push_str(entry);
                block.push('\n');
            }
            if let Some(database) = &self.database {
                block.push_str(&format!("database = {database}\n"));
            }
            blocks.push(block);
        }
        if !self.groups.is_empty() {
            let mut block = String::from("[groups]\n");
            for group in &self.groups {
                block.push_str(group);
                block.push('\n');
            }
            blocks.push(block);
        }
        blocks.extend(self.feeds.iter().cloned());
        blocks.extend(self.rules.iter().cloned());
        blocks.extend(self.sinks.iter().cloned());
        let mut toml = blocks.join("\n");
        for raw in &self.raw {
            if !toml.is_empty() {
                if !toml.ends_with('\n') {
                    toml.push('\n');
                }
                toml.push('\n');
            }
            toml.push_str(raw);
        }
        toml
    }

    /// Writes the config to the workspace's `watchword.toml`; returns its path.
    pub fn write(&self, ws: &Workspace) -> PathBuf {
        ws.write_config(&self.build())
    }
}

/// One table: its header, the given keys, then `extra` lines.
fn table(header: &str, keys: &[(&str, String)], extra: &str) -> String {
    let mut text = format!("{header}\n");
    for (key, value) in keys {
        text.push_str(&format!("{key} = {value}\n"));
    }
    let extra = extra.trim_end_matches('\n');
    if !extra.is_empty() {
        text.push_str(extra);
        text.push('\n');
    }
    text
}

/// A TOML string holding `s` exactly: a literal string if `s` has quotes or backslashes
/// (queries are easier to read so), a basic string otherwise or when it must be escaped.
fn string(s: &str) -> String {
    let plain = |c: char| c == '\t' || !c.is_control();
    if !s.contains(['"', '\\']) && s.chars().all(plain) {
        return format!("\"{s}\"");
    }
    if !s.contains('\'') && s.chars().all(plain) {
        return format!("'{s}'");
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Splits `key = value` lines into (key, text) entries; a line that does not start with a
/// bare key and `=` (an indented or closing line of a multi-line value) belongs to the entry
/// before it.
fn split_entries(toml: &str) -> Vec<(String, String)> {
    let mut entries: Vec<(String, String)> = Vec::new();
    for line in toml.lines() {
        let key = line.split_once('=').map(|(k, _)| k.trim_end()).filter(|k| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
        match (key, entries.last_mut()) {
            (Some(key), _) => entries.push((key.to_string(), line.to_string())),
            (None, Some((_, text))) => {
                text.push('\n');
                text.push_str(line);
            }
            (None, None) if line.trim().is_empty() => {}
            (None, None) => panic!("not a `key = value` line: {line:?}"),
        }
    }
    entries
}
