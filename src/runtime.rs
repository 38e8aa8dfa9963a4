//! The load step: what the daemon runs, built from a plain [`Config`].
//!
//! `config` parses and validates the file on its own; here the domain takes over: the rules
//! are compiled (groups validated, names of built-in places refused as group names) and each
//! sink's format reads and checks its own options (`crate::alert::format`). Every
//! problem found here is located through config's [`SourceMap`] and reported together with
//! config's own, exactly as if one step had found them all.

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

use crate::alert::Sink;
use crate::config::{self, Config, ConfigError, Diagnostic, SourceMap};
use crate::rules::{RuleError, RuleSet, RuleSpec};

/// A loaded config and everything compiled from it. SIGHUP builds a new one.
#[derive(Debug)]
pub struct Runtime {
    pub config: Arc<Config>,
    /// All rules compiled once; shared by every fetch task. Not named `rules`, which would
    /// hide `Config::rules` (reached through `Deref`).
    pub ruleset: Arc<RuleSet>,
    /// `Config::sinks` with their formats checked, in the same order. Reached as
    /// `runtime.sinks`, this hides `Config::sinks` on purpose: what delivers is these.
    pub sinks: Vec<Sink>,
}

/// The daemon and the commands read plain settings (`daemon`, `feeds`, `rules`, …) far more
/// often than the compiled parts; they reach them through the runtime as they did through the
/// config.
impl Deref for Runtime {
    type Target = Config;

    fn deref(&self) -> &Config {
        &self.config
    }
}

/// Reads, validates and compiles the config at `path`.
pub fn load(path: &Path) -> Result<Runtime, ConfigError> {
    from_source(path, &config::read(path)?)
}

/// Validates and compiles `source` as if it had been read from `path`.
pub fn from_source(path: &Path, source: &str) -> Result<Runtime, ConfigError> {
    let mut parsed = Config::parse(path, source)?;
    let sinks = load_sinks(&parsed.config, &parsed.source, &mut parsed.problems);
    let ruleset = compile_rules(&parsed.config, &parsed.source, &mut parsed.problems);
    let (config, source) = parsed.finish()?;
    let Some(ruleset) = ruleset else {
        // Not reached: rules that do not compile left a problem, so `finish` refused.
        return Err(ConfigError::Invalid(vec![
            source.at(0, "the rules did not compile".into()),
        ]));
    };
    Ok(Runtime {
        config: Arc::new(config),
        ruleset: Arc::new(ruleset),
        sinks,
    })
}

/// Checks every sink's format and options; every problem joins config's, so that an unknown
/// format (a schema error to the format registry) hides nothing else wrong in the file.
fn load_sinks(config: &Config, source: &SourceMap, problems: &mut Vec<Diagnostic>) -> Vec<Sink> {
    let mut sinks = Vec::new();
    for sink in &config.sinks {
        match Sink::load(sink) {
            Ok(sink) => sinks.push(sink),
            Err(found) => {
                for problem in found {
                    problems.push(source.span(problem.span.clone(), problem.message));
                }
            }
        }
    }
    sinks
}

/// Compiles the rules; `None` when they cannot be, with the reasons in `problems`.
fn compile_rules(
    config: &Config,
    source: &SourceMap,
    problems: &mut Vec<Diagnostic>,
) -> Option<RuleSet> {
    for name in config.groups.keys() {
        if crate::places::is_reference(name) {
            problems.push(source.span(
                source.group(name).unwrap_or(0..0),
                format!(
                    "group name {name:?} would hide the built-in place @{name}; choose a name \
                     without `country:`, `region:` or `bloc:` in front"
                ),
            ));
        }
    }
    // Every group is checked, used or not, so a typo waits for no rule to reveal it. When a
    // group is broken, compiling the rules would only report it again under a rule's name.
    let group_problems = crate::rules::validate_groups(&config.groups)
        .err()
        .unwrap_or_default();
    for error in &group_problems {
        problems.push(locate_rule_error(error, config, source));
    }
    if !group_problems.is_empty() {
        return None;
    }
    let specs: Vec<RuleSpec<'_>> = config
        .rules
        .iter()
        .map(|r| RuleSpec {
            name: &r.name,
            query: &r.query,
        })
        .collect();
    match RuleSet::compile(&config.groups, &specs) {
        Ok(ruleset) => Some(ruleset),
        Err(error) => {
            problems.push(locate_rule_error(&error, config, source));
            None
        }
    }
}

/// A rule error at its group's member list, else at its offset in the rule's query, else at
/// the top of the file.
fn locate_rule_error(error: &RuleError, config: &Config, source: &SourceMap) -> Diagnostic {
    let message = error.to_string();
    if let Some(span) = error.group().and_then(|group| source.group(group)) {
        return source.span(span, message);
    }
    let index = config.rules.iter().position(|r| r.name == error.rule());
    match index {
        Some(i) => source
            .in_query(i, error.offset().unwrap_or(0), message.clone())
            .unwrap_or_else(|| source.at(0, message)),
        None => source.at(0, message),
    }
}
