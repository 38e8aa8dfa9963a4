//! `watchword test`: a dry run of the rules against a feed URL, a file or standard input. It
//! touches no database and sends nothing; it prints each matching item with the rule and which
//! terms matched in which field, and with `--explain` why near misses did not match. For a
//! configured feed with `read_articles` it reads the articles the daemon would (not cached)
//! and marks a rule that matches only with one "matched after reading the article".

use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use serde::Serialize;

use crate::config::{FeedConfig, default_user_agent};
use crate::feed::article::{self, PageLimits};
use crate::feed::{self, FetchLimits, Fetcher};
use crate::model::Item;
use crate::poll::classify::{self, NoAlert};
use crate::rules::{Explanation, RuleSet, RuleSpec};
use crate::runtime::{self, Runtime};
use crate::text::{for_terminal, redact_url};

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Test only this rule of the config.
    #[arg(long, conflicts_with = "query")]
    rule: Option<String>,
    /// Test this query instead of the config's rules; it may use the config's groups, and
    /// needs no config file at all otherwise.
    #[arg(long)]
    query: Option<String>,
    /// Also show near misses: rules with some of their terms in an item that still did not
    /// match, and why.
    #[arg(long)]
    explain: bool,
    /// One JSON object per line for each (item, rule) reported, for scripts.
    #[arg(long)]
    json: bool,
    /// Feed URLs (http, https, file), feed files, or `-` for standard input.
    #[arg(required = true, value_name = "SOURCE")]
    sources: Vec<String>,
}

/// The name `--query` rules are reported under.
const QUERY_RULE: &str = "query";

/// Runs the command and maps its failures to the exit codes of the other commands.
pub fn main(args: TestArgs, config_path: &Path) -> std::process::ExitCode {
    match run(args, config_path) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(TestError::Config(message)) => {
            eprintln!("error: {message}");
            std::process::ExitCode::from(super::EXIT_CONFIG)
        }
        Err(TestError::Runtime(e)) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(super::EXIT_RUNTIME)
        }
    }
}

fn run(args: TestArgs, config_path: &Path) -> Result<(), TestError> {
    let setup = Setup::load(&args, config_path)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .map_err(TestError::Runtime)?;
    let mut out = Output::new(args.json);
    let mut failed = Vec::new();
    for source in &args.sources {
        match runtime.block_on(read_source(source, &setup)) {
            Ok(items) => {
                let articles = runtime.block_on(setup.read_articles(source, &items, &args));
                setup.report(source, &items, &articles, &args, &mut out)
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                failed.push(source.as_str());
            }
        }
    }
    out.summary();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(TestError::Runtime(anyhow::anyhow!(
            "{} of {} source(s) could not be read",
            failed.len(),
            args.sources.len()
        )))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// The config or the `--query`/`--rule` is bad: exit code 2, like other config errors.
    #[error("{0}")]
    Config(String),
    #[error("{0:#}")]
    Runtime(anyhow::Error),
}

struct Setup {
    config: Option<Runtime>,
    /// `--query`'s own rule set, or the config's.
    ruleset: Arc<RuleSet>,
    fetcher: Fetcher,
}

impl Setup {
    fn load(args: &TestArgs, config_path: &Path) -> Result<Setup, TestError> {
        // A `--query` can be tried without writing a config first.
        let config = match runtime::load(config_path) {
            Ok(config) => Some(config),
            Err(e @ crate::config::ConfigError::Invalid(_)) => {
                return Err(TestError::Config(format!("invalid configuration\n{e}")));
            }
            Err(e) if args.query.is_none() => return Err(TestError::Config(e.to_string())),
            Err(_) => None,
        };
        let ruleset = match (&args.query, &config) {
            (Some(query), config) => {
                let empty = BTreeMap::new();
                let groups = config.as_ref().map_or(&empty, |c| &c.groups);
                let spec = RuleSpec {
                    name: QUERY_RULE,
                    query,
                };
                Arc::new(
                    RuleSet::compile(groups, &[spec])
                        .map_err(|e| TestError::Config(format!("invalid --query: {e}")))?,
                )
            }
            (None, Some(config)) => {
                if let Some(rule) = &args.rule
                    && config.rule(rule).is_none()
                {
                    let names: Vec<&str> = config.rules.iter().map(|r| r.name.as_str()).collect();
                    return Err(TestError::Config(format!(
                        "no rule named {rule:?} in {} (rules: {})",
                        config.path.display(),
                        names.join(", ")
                    )));
                }
                Arc::clone(&config.ruleset)
            }
            (None, None) => {
                return Err(TestError::Config(format!(
                    "cannot read config file {}; pass --config PATH or --query",
                    config_path.display()
                )));
            }
        };
        // The same warnings as `check`, since `test` is where a rule is tried first.
        let empty = BTreeMap::new();
        let groups = config.as_ref().map_or(&empty, |c| &c.groups);
        let warnings = match (&args.query, &config) {
            (Some(query), _) => crate::rules::shared_place_warnings(
                groups,
                [RuleSpec {
                    name: QUERY_RULE,
                    query,
                }],
            ),
            (None, Some(config)) => crate::rules::shared_place_warnings(
                groups,
                config
                    .rules
                    .iter()
                    .filter(|r| args.rule.as_ref().is_none_or(|wanted| *wanted == r.name))
                    .map(|r| RuleSpec {
                        name: &r.name,
                        query: &r.query,
                    }),
            ),
            (None, None) => Vec::new(),
        };
        for warning in warnings {
            eprintln!("warning: {warning}");
        }
        let (user_agent, limits) = match &config {
            Some(c) => (
                c.daemon.user_agent.clone(),
                FetchLimits {
                    timeout: c.daemon.fetch_timeout,
                    connect_timeout: c.daemon.connect_timeout,
                    read_timeout: c.daemon.read_timeout,
                    max_body_bytes: c.daemon.max_body_size,
                },
            ),
            None => (default_user_agent(), FetchLimits::default()),
        };
        let fetcher = Fetcher::new(&user_agent, limits).map_err(|e| {
            TestError::Runtime(anyhow::anyhow!("cannot build the HTTP client: {e}"))
        })?;
        Ok(Setup {
            config,
            ruleset,
            fetcher,
        })
    }

    /// The configured feed this source is, if any: its name labels the items and its tags
    /// decide which scoped rules apply.
    fn feed_for(&self, source: &str) -> Option<&FeedConfig> {
        let config = self.config.as_ref()?;
        let as_file_url = (!source.contains("://") && source != "-")
            .then(|| std::path::absolute(source).ok())
            .flatten()
            .map(|p| format!("file://{}", p.display()));
        config
            .feeds
            .iter()
            .find(|f| f.url == source || Some(&f.url) == as_file_url.as_ref())
    }

    /// For a configured feed with `read_articles`: the main text of the pages the daemon would
    /// read (short items a rule half matches), by link, at most `article_pages` of them, with
    /// the daemon's bounds. Nothing is cached: `test` touches no database.
    async fn read_articles(
        &self,
        source: &str,
        items: &[Item],
        args: &TestArgs,
    ) -> HashMap<String, String> {
        let mut texts = HashMap::new();
        let (Some(feed), Some(config)) = (self.feed_for(source), self.config.as_ref()) else {
            return texts;
        };
        let daemon = &config.daemon;
        let limits = PageLimits {
            timeout: daemon.article_timeout,
            max_bytes: daemon.article_max_size,
            allow_private: article::is_local_feed(&feed.url),
        };
        let mut fetched = 0;
        for item in items {
            let applies = |name: &str| {
                args.rule.as_deref().is_none_or(|only| only == name)
                    && config.rule(name).is_none_or(|rule| rule.applies_to(feed))
            };
            let Some(link) = crate::poll::article::wanted_by(&self.ruleset, feed, item, applies)
            else {
                continue;
            };
            if texts.contains_key(&link) || fetched >= daemon.article_pages {
                continue;
            }
            fetched += 1;
            let read = match article::fetch_page(&self.fetcher, &link, limits).await {
                Ok((body, content_type)) => article::extract(&body, content_type.as_deref(), &link),
                Err(e) => Err(e),
            };
            match read {
                Ok(text) => {
                    texts.insert(link, text);
                }
                Err(e) => eprintln!(
                    "warning: article {} not read: {e}",
                    for_terminal(&redact_url(&link))
                ),
            }
        }
        texts
    }

    fn report(
        &self,
        source: &str,
        items: &[Item],
        articles: &HashMap<String, String>,
        args: &TestArgs,
        out: &mut Output,
    ) {
        let feed = self.feed_for(source);
        for item in items {
            out.items += 1;
            // Matched first on the fast path; only what is printed gets explained.
            let mut explanations =
                self.ruleset
                    .explain_candidates(item, args.explain, args.rule.as_deref());
            // A rule that matches only with the article's text is reported as the daemon
            // would alert on it: explained on the item as read.
            if let Some(text) = item.link.as_ref().and_then(|link| articles.get(link)) {
                let read = crate::poll::article::with_article(item, text);
                for mut after in self
                    .ruleset
                    .explain_candidates(&read, false, args.rule.as_deref())
                {
                    if !after.matched {
                        continue;
                    }
                    after.after_article = true;
                    match explanations.iter_mut().find(|e| e.rule == after.rule) {
                        Some(before) if before.matched => {}
                        Some(before) => *before = after,
                        None => explanations.push(after),
                    }
                }
            }
            for explanation in explanations {
                // A rule scoped to other feeds is not a match here, as in the daemon.
                let rule_config = self.config.as_ref().and_then(|c| c.rule(&explanation.rule));
                let out_of_scope = match (rule_config, feed) {
                    (Some(rule), Some(feed)) => !rule.applies_to(feed),
                    _ => false,
                };
                let matched = explanation.matched && !out_of_scope;
                let near_miss = !matched
                    && explanation
                        .terms
                        .iter()
                        .any(|t| !t.negated && !t.fields.is_empty());
                if matched || (args.explain && near_miss) {
                    let no_alert = matched.then(|| self.no_alert(item)).flatten();
                    let mut explanation = explanation;
                    if out_of_scope && explanation.matched {
                        explanation.matched = false;
                        explanation.reasons.push(format!(
                            "the rule is scoped to other feeds or tags than feed {:?}",
                            feed.map_or("", |f| f.name.as_str())
                        ));
                    }
                    out.entry(
                        source,
                        item,
                        &explanation,
                        no_alert.as_deref(),
                        args.explain,
                    );
                }
            }
        }
    }
}

impl Setup {
    /// Why the daemon would record this matching item without alerting, in the words of
    /// `MATCH (would not alert: …)`; `None` if it would alert. Decided by the poll's own
    /// rule (`poll::classify`), with the config's `max_age`.
    fn no_alert(&self, item: &Item) -> Option<String> {
        let max_age = self
            .config
            .as_ref()
            .map_or(crate::config::DEFAULT_MAX_AGE, |c| c.daemon.max_age);
        let now = chrono::Utc::now();
        Some(
            match classify::would_not_alert(item.published, max_age, now)? {
                NoAlert::Old { age_secs } => format!(
                    "published {} ago, older than max_age {}",
                    super::short_age(age_secs),
                    super::short_duration(max_age)
                ),
                NoAlert::UndatedOnFirstPoll => {
                    "undated: back catalogue on the feed's first poll".to_owned()
                }
            },
        )
    }
}

async fn read_source(source: &str, setup: &Setup) -> anyhow::Result<Vec<Item>> {
    let (name, base, body) = if source == "-" {
        let mut body = Vec::new();
        std::io::stdin()
            .lock()
            .read_to_end(&mut body)
            .context("cannot read standard input")?;
        ("stdin".to_owned(), None, body)
    } else if source.contains("://") {
        let body = setup
            .fetcher
            .fetch(source)
            .await
            .with_context(|| format!("cannot fetch {}", redact_url(source)))?;
        let base = source.starts_with("http").then(|| source.to_owned());
        (source.to_owned(), base, body)
    } else {
        let path = PathBuf::from(source);
        let body = std::fs::read(&path).with_context(|| format!("cannot read {source}"))?;
        (source.to_owned(), None, body)
    };
    let name = setup
        .feed_for(source)
        .map_or(name, |feed| feed.name.clone());
    let strip = setup
        .config
        .as_ref()
        .map(|c| c.daemon.strip_params.clone())
        .unwrap_or_default();
    feed::parse_document(&name, base.as_deref(), &body, None, &strip)
        .map(|parsed| parsed.items)
        .with_context(|| format!("cannot parse {source} as a feed"))
}

#[derive(Serialize)]
struct JsonLine<'a> {
    source: &'a str,
    feed: &'a str,
    item: JsonItem<'a>,
    #[serde(flatten)]
    explanation: &'a Explanation,
    /// For a match: whether the daemon would alert on it, and if not why (older than
    /// `max_age`, undated on a first poll).
    #[serde(skip_serializing_if = "Option::is_none")]
    would_alert: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    would_not_alert: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonItem<'a> {
    id: &'a str,
    title: &'a str,
    link: Option<&'a str>,
}

struct Output {
    json: bool,
    color: bool,
    items: usize,
    matches: usize,
    /// Matches the daemon would not alert on.
    silent: usize,
    near_misses: usize,
    stdout: std::io::Stdout,
}

impl Output {
    fn new(json: bool) -> Output {
        let stdout = std::io::stdout();
        let color = !json && stdout.is_terminal() && !super::no_color();
        Output {
            json,
            color,
            items: 0,
            matches: 0,
            silent: 0,
            near_misses: 0,
            stdout,
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    fn entry(
        &mut self,
        source: &str,
        item: &Item,
        e: &Explanation,
        no_alert: Option<&str>,
        explain: bool,
    ) {
        if e.matched {
            self.matches += 1;
            if no_alert.is_some() {
                self.silent += 1;
            }
        } else {
            self.near_misses += 1;
        }
        let text = if self.json {
            let line = JsonLine {
                source,
                feed: &item.feed,
                item: JsonItem {
                    id: &item.id,
                    title: &item.title,
                    link: item.link.as_deref(),
                },
                explanation: e,
                would_alert: e.matched.then_some(no_alert.is_none()),
                would_not_alert: no_alert,
            };
            serde_json::to_string(&line).unwrap_or_default() + "\n"
        } else {
            let mut text = String::new();
            let verdict = match (e.matched, no_alert) {
                (true, None) => self.paint("1;32", "MATCH"),
                (true, Some(why)) => format!(
                    "{} {}",
                    self.paint("32", "MATCH"),
                    self.paint("33", &format!("(would not alert: {why})"))
                ),
                (false, _) => self.paint("33", "miss "),
            };
            let after_article = if e.after_article {
                format!(
                    "  {}",
                    self.paint("36", "(matched after reading the article)")
                )
            } else {
                String::new()
            };
            // Titles and links come from feeds: no control character reaches the terminal.
            text.push_str(&format!(
                "{verdict} {}  {}{after_article}\n",
                self.paint("1", &e.rule),
                for_terminal(&item.title)
            ));
            if let Some(link) = &item.link {
                text.push_str(&format!("      {}\n", for_terminal(link)));
            }
            for term in &e.terms {
                if term.fields.is_empty() && !explain {
                    continue;
                }
                // The item's own words, quoted: `"Turkménistan", "Ashgabat" in title`.
                let found: Vec<String> = term
                    .found
                    .iter()
                    .map(|f| format!("\"{}\"", for_terminal(f)))
                    .collect();
                let at = if found.is_empty() {
                    format!("in {}", term.fields.join(", "))
                } else {
                    format!("{} in {}", found.join(", "), term.fields.join(", "))
                };
                let (mark, where_) = match (term.negated, term.fields.is_empty()) {
                    (false, false) => ("+", at),
                    (false, true) if term.scoped => ("-", "not found".to_owned()),
                    (false, true) => ("-", "not found in any field".to_owned()),
                    (true, false) => ("!", format!("excluded, but {at}")),
                    (true, true) => (" ", "excluded, absent".to_owned()),
                };
                let name = if term.fields.is_empty() || term.negated {
                    term.term.clone()
                } else {
                    self.paint("1;36", &term.term)
                };
                text.push_str(&format!("      {mark} {name}: {where_}\n"));
            }
            for reason in &e.reasons {
                text.push_str(&format!("      why not: {reason}\n"));
            }
            text
        };
        // A closed pipe (`| head`) ends the output, not the program with a panic.
        let _ = self.stdout.lock().write_all(text.as_bytes());
    }

    fn summary(&mut self) {
        if self.json {
            return;
        }
        let mut line = format!("{} item(s), {} match(es)", self.items, self.matches);
        if self.silent > 0 {
            line.push_str(&format!(" ({} would not alert)", self.silent));
        }
        if self.near_misses > 0 {
            line.push_str(&format!(", {} near miss(es)", self.near_misses));
        }
        // The summary goes to stderr so that stdout holds only the report.
        eprintln!("{line}");
    }
}
