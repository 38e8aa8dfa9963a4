//! The configuration: TOML schema, loading, `${ENV}` expansion, validation.
//!
//! Every problem is reported as `file:line:col: message`, so a user can jump to it. Loading
//! collects all the problems it can find rather than stopping at the first, because fixing a
//! config one error per run is tedious.
//!
//! This is plain data: nothing here compiles rules or knows sink formats. `crate::runtime`
//! builds what the daemon runs from a [`Config`] and reports its own problems through the
//! [`SourceMap`] that [`Config::parse`] returns, so they are located the same way.

mod digest;
mod listen;
mod raw;
mod schema;
mod secret;
mod sink;

mod source;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::model::{Database, PostgresUrl};
pub use digest::DigestSchedule;
pub use listen::ListenAuth;
pub use raw::{Priority, SinkKind};
use raw::{RawConfig, RawDaemon};
pub use sink::{
    DEFAULT_FORMAT, RateLimit, RateLimitSetting, SINK_KEYS, SinkConfig, SinkOption, SinkSpans,
};
use source::Locator;
pub use source::SourceMap;

const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// `[daemon] max_age` when the config does not set it (also what `watchword test --query`
/// assumes without a config).
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(48 * 3600);
const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a replica's hold on a feed, a host slot or a sink outlives the replica.
const DEFAULT_REPLICA_LEASE: Duration = Duration::from_secs(120);
const DEFAULT_DELIVERY_TIMEOUT: Duration = Duration::from_secs(15);
const DEFAULT_MAX_BODY_SIZE: u64 = 10 << 20;
const DEFAULT_CONCURRENCY: usize = 16;
const DEFAULT_STORY_WINDOW: Duration = Duration::from_secs(3 * 24 * 3600);
/// The default `story_similarity`: measured on docs/stories.md's labelled set, where it never
/// merged two different stories.
pub const DEFAULT_STORY_SIMILARITY: f64 = 0.30;
/// The default `story_entity_similarity`, the story room's own (a unit test there keeps the two
/// equal): chosen on the dev half of benches/data/events.jsonl.
pub const DEFAULT_STORY_ENTITY_SIMILARITY: f64 = 0.75;
const DEFAULT_RETENTION: Duration = Duration::from_secs(90 * 24 * 3600);
const DEFAULT_ALERT_RETENTION: Duration = Duration::from_secs(400 * 24 * 3600);
/// `story_updates = true`: the follow-up goes out once this many more outlets have the story.
const DEFAULT_STORY_UPDATE_AFTER: u32 = 3;
/// More simultaneous fetches than this exhausts file descriptors before it speeds anything up.
const MAX_CONCURRENCY: usize = 1024;
/// Sessions per process; more is a typo, not a plan (a server's `max_connections` is 100 by
/// default, for all its clients together).
const MAX_DATABASE_CONNECTIONS: usize = 1000;
/// Polling faster than this is rude to publishers and never needed for news.
const MIN_POLL_INTERVAL: Duration = Duration::from_secs(10);
/// Loopback only: the metrics reveal feed and rule names, and the port is allow-listed in the
/// shipped unit (SocketBindAllow=tcp:9464).
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";
/// Below the shipped unit's TimeoutStopSec=30s, so we stop before systemd kills us.
const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(20);
const DEFAULT_PER_HOST_CONCURRENCY: usize = 2;
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(20);
/// A server's cache lifetime or `<ttl>` may stretch a feed's interval up to this by default.
const DEFAULT_MAX_INTERVAL: Duration = Duration::from_secs(4 * 3600);
const DEFAULT_MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);
const DEFAULT_BROKEN_AFTER: Duration = Duration::from_secs(3 * 3600);
/// The dashboard's rule workbench searches a week: enough to try a rule on real news, at
/// about 500 bytes of text per item (docs/dashboard.md).
pub const DEFAULT_WORKBENCH_WINDOW: Duration = Duration::from_secs(7 * 86_400);
/// `article_pages`: article pages one feed's poll may fetch (`read_articles`); a feed's new
/// items beyond it are matched on what the feed says.
const DEFAULT_ARTICLE_PAGES: usize = 5;
/// More than this per poll is crawling a site, not taking a second look.
const MAX_ARTICLE_PAGES: usize = 100;
/// `article_max_size`: an article page is HTML of a few hundred KiB at most; a page larger than
/// this is not read.
const DEFAULT_ARTICLE_MAX_SIZE: u64 = 2 << 20;
/// Smaller than this, no page holds an article.
const MIN_ARTICLE_MAX_SIZE: u64 = 1 << 10;
/// `article_timeout`: one article page, from connecting to its last byte. Shorter than a
/// feed's: the feed's record waits for its articles.
const DEFAULT_ARTICLE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct Config {
    /// The file this was loaded from.
    pub path: PathBuf,
    pub daemon: DaemonConfig,
    pub feeds: Vec<FeedConfig>,
    pub groups: BTreeMap<String, Vec<String>>,
    pub rules: Vec<RuleConfig>,
    pub sinks: Vec<SinkConfig>,
    /// Values taken other than as written (an interval below the floor), located in the
    /// file: `check` prints them and `run`/`once` log them at start.
    pub warnings: Vec<Diagnostic>,
}

#[derive(Debug, Clone)]
pub struct DaemonConfig {
    /// A SQLite file (the default) or a PostgreSQL server (`postgres://…`).
    pub database: Database,
    pub poll_interval: Duration,
    pub user_agent: String,
    /// Items published longer ago than this are recorded as seen without alerting, so a new
    /// feed's back catalogue does not flood the sinks.
    pub max_age: Duration,
    pub fetch_timeout: Duration,
    pub delivery_timeout: Duration,
    /// PostgreSQL only: how long a replica holds a feed, a host slot or a sink it works on; a
    /// replica that dies leaves them to the others after this long.
    pub replica_lease: Duration,
    pub max_body_size: u64,
    pub concurrency: usize,
    /// Where `/metrics`, `/healthz` and `/readyz` are served; `None` when turned off.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Who may use that listener (`/healthz` and `/readyz` excepted): required when it is
    /// not on a loopback address.
    pub listen_auth: ListenAuth,
    /// How far back the dashboard's rule workbench searches, and how long the new items' text
    /// is kept for it; zero keeps none (the workbench is then off).
    pub workbench_window: Duration,
    /// On SIGTERM, how long fetches and deliveries in flight may take to finish.
    pub shutdown_grace: Duration,
    /// Later reports join a story until this long after its last report.
    pub story_window: Duration,
    /// Estimated Jaccard similarity of content words at which a report joins a story.
    pub story_similarity: f64,
    /// Weighted overlap of names at which a report joins a story.
    pub story_entity_similarity: f64,
    /// Whether reports join stories by the names they mention (the recognizer costs memory).
    pub story_by_names: bool,
    /// Items (no longer listed by their feed) and closed stories older than this are pruned.
    pub retention: Duration,
    /// Delivered and dead alerts older than this are pruned; pending ones never are.
    pub alert_retention: Duration,
    /// Fetches in flight to one host (host:port) at a time.
    pub per_host_concurrency: usize,
    pub connect_timeout: Duration,
    /// Longest silence while reading a response.
    pub read_timeout: Duration,
    /// No feed is polled more often than this, whatever its interval.
    pub min_interval: Duration,
    /// Cache-Control/Expires/`<ttl>` stretch an interval up to this, never further.
    pub max_interval: Duration,
    /// Cap on the exponential backoff of a failing feed (and on a honoured Retry-After).
    pub max_backoff: Duration,
    /// A feed failing for longer than this raises a "broken" feed event.
    pub broken_after: Duration,
    /// Default for `[[feed]] stale_after`.
    pub stale_after: Option<Duration>,
    /// Sinks that receive feed events (broken, stale, gone, recovered).
    pub feed_events: Vec<String>,
    /// Query parameters removed from links before they are canonicalised, on top of the
    /// built-in tracking parameters (`utm_*`, `fbclid`, …).
    pub strip_params: crate::text::StripParams,
    /// Article pages one feed's poll may fetch for `read_articles` (the rest are matched on
    /// what the feed says).
    pub article_pages: usize,
    /// Largest article page read, in bytes (after decompression).
    pub article_max_size: u64,
    /// Time allowed for one article page, from connecting to its last byte.
    pub article_timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct FeedConfig {
    pub name: String,
    /// `http(s)://…` as written, or `file:///absolute/path` (relative paths resolved against the
    /// config file's directory).
    pub url: String,
    pub interval: Duration,
    pub tags: Vec<String>,
    /// Publishing nothing new for longer than this raises a "stale" feed event.
    pub stale_after: Option<Duration>,
    /// `read_articles`: a new item with only a headline or a short summary that a rule half
    /// matches is matched again with the text of its linked page (`poll::article`).
    pub read_articles: bool,
}

#[derive(Debug, Clone)]
pub struct RuleConfig {
    pub name: String,
    pub query: String,
    pub notify: Vec<String>,
    /// `story_updates`: one follow-up alert once this many more outlets report the story.
    pub story_updates: Option<u32>,
    /// `realert_on_update`: one more alert when an item already seen is edited so that its
    /// title changes, or so that the rule now matches it (see docs/stories.md).
    pub realert_on_update: bool,
    /// The feeds (by name) the rule applies to; with `tags`, empty both means every feed.
    pub feeds: Vec<String>,
    /// Feed tags the rule applies to.
    pub tags: Vec<String>,
    pub priority: Priority,
}

impl RuleConfig {
    /// Whether the rule watches `feed`: it is named in `feeds`, has a tag in `tags`, or the
    /// rule names neither.
    pub fn applies_to(&self, feed: &FeedConfig) -> bool {
        (self.feeds.is_empty() && self.tags.is_empty())
            || self.feeds.contains(&feed.name)
            || feed.tags.iter().any(|t| self.tags.contains(t))
    }
}

/// One located problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source} (pass --config PATH or set WATCHWORD_CONFIG)", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}", render_diagnostics(.0))]
    Invalid(Vec<Diagnostic>),
}

fn render_diagnostics(diagnostics: &[Diagnostic]) -> String {
    let mut out = String::new();
    for (i, d) in diagnostics.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&d.to_string());
    }
    out
}

impl Config {
    /// Reads, parses and validates the config at `path`. Rules are not compiled here: use
    /// `crate::runtime::load` for everything the daemon runs.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::from_source(path, &read(path)?)
    }

    /// Parses and validates `source` as if it had been read from `path`.
    pub fn from_source(path: &Path, source: &str) -> Result<Config, ConfigError> {
        Config::parse(path, source)?
            .finish()
            .map(|(config, _)| config)
    }

    /// Parses `source` and checks everything config can check on its own. Only a file that is
    /// not valid TOML for the schema is an `Err`; other problems are collected in
    /// [`Parsed::problems`], so a later step can add its own before [`Parsed::finish`].
    pub fn parse(path: &Path, source: &str) -> Result<Parsed, ConfigError> {
        let locator = Locator { path, source };
        let (raw, mut problems) = schema::read(source, &locator)?;
        let (config, spans) = validate(raw, &locator, &mut problems);
        Ok(Parsed {
            config,
            source: SourceMap::new(path, source, spans),
            problems,
        })
    }

    pub fn sink(&self, name: &str) -> Option<&SinkConfig> {
        self.sinks.iter().find(|s| s.name == name)
    }

    pub fn rule(&self, name: &str) -> Option<&RuleConfig> {
        self.rules.iter().find(|r| r.name == name)
    }
}

/// Reads the config file at `path`.
pub fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// A config checked as far as config can check it on its own.
#[derive(Debug)]
pub struct Parsed {
    /// Placeholder values stand in where a value was refused (see `problems`).
    pub config: Config,
    /// Locates later problems (rules, sink formats) in the file.
    pub source: SourceMap,
    /// Every problem found so far, in the order found.
    pub problems: Vec<Diagnostic>,
}

impl Parsed {
    /// The config and its source map when no problem was found, else every problem.
    pub fn finish(mut self) -> Result<(Config, SourceMap), ConfigError> {
        // Last, so that it only shows when nothing else is wrong: a config whose feeds were
        // all refused has better things to say.
        if self.config.feeds.is_empty() && self.problems.is_empty() {
            self.problems.push(self.source.at(
                0,
                "no feeds configured; add a [[feed]] table with a name and a url".into(),
            ));
        }
        if self.problems.is_empty() {
            Ok((self.config, self.source))
        } else {
            // In the order of the file, whichever step found them.
            self.problems.sort_by_key(|d| (d.line, d.column));
            Err(ConfigError::Invalid(self.problems))
        }
    }
}

fn validate(
    raw: RawConfig,
    at: &Locator<'_>,
    problems: &mut Vec<Diagnostic>,
) -> (Config, source::Spans) {
    let daemon = validate_daemon(raw.daemon, at, problems);
    let mut warnings = daemon.warnings.clone();

    let mut feeds = Vec::new();
    let mut feed_names = HashSet::new();
    for feed in raw.feeds {
        let name = feed.name.get_ref().trim().to_string();
        if name.is_empty() {
            problems.push(at.span(feed.name.span(), "feed name is empty".into()));
        } else if name.chars().any(char::is_control) {
            problems.push(at.span(feed.name.span(), control_in_name("feed", &name)));
        } else if !feed_names.insert(name.clone()) {
            problems.push(at.span(
                feed.name.span(),
                format!("duplicate feed name {name:?}; every feed needs its own name"),
            ));
        }
        // A paid wire's token often sits in its feed URL: `${…}` works here as in sinks.
        let expanded = secret::expand(feed.url.get_ref(), &at.directory()).map(|e| e.value);
        let url = match expanded.and_then(|url| resolve_feed_url(&url, &at.directory())) {
            Ok(url) => url,
            Err(message) => {
                problems.push(at.span(feed.url.span(), format!("feed {name:?}: {message}")));
                continue;
            }
        };
        let floor = MIN_POLL_INTERVAL.max(daemon.min_interval);
        let interval = match &feed.interval {
            Some(d) if d.get_ref().0 < floor => {
                warnings.push(at.span(
                    d.span(),
                    format!(
                        "feed {name:?}: interval {} is below min_interval; it is polled every {}",
                        humantime::format_duration(d.get_ref().0),
                        humantime::format_duration(floor)
                    ),
                ));
                floor
            }
            Some(d) => d.get_ref().0,
            None => daemon.poll_interval,
        };
        let stale_after = match feed.stale_after {
            Some(d) if d.get_ref().0.is_zero() => {
                problems.push(at.span(
                    d.span(),
                    format!("feed {name:?}: stale_after must be longer than 0s"),
                ));
                None
            }
            Some(d) => Some(d.get_ref().0),
            None => daemon.stale_after,
        };
        feeds.push(FeedConfig {
            name,
            url,
            interval: interval.max(floor),
            tags: feed.tags,
            stale_after,
            read_articles: feed.read_articles,
        });
    }

    let mut sinks = Vec::new();
    let mut sink_names = HashSet::new();
    for sink in raw.sinks {
        let name = sink.name.get_ref().trim().to_string();
        if name.is_empty() {
            problems.push(at.span(sink.name.span(), "sink name is empty".into()));
        } else if name.chars().any(char::is_control) {
            problems.push(at.span(sink.name.span(), control_in_name("sink", &name)));
        } else if !sink_names.insert(name.clone()) {
            problems.push(at.span(sink.name.span(), format!("duplicate sink name {name:?}")));
        }
        sinks.push(sink::validate_sink(sink, name, at, problems, &mut warnings));
    }

    for sink in &daemon.feed_event_spans {
        if !sink_names.contains(sink.get_ref()) {
            let known = join_names(sink_names.iter());
            problems.push(at.span(
                sink.span(),
                format!(
                    "feed_events names unknown sink {:?} (defined sinks: {known})",
                    sink.get_ref()
                ),
            ));
        }
    }
    let daemon = daemon.config;

    let mut groups = BTreeMap::new();
    let mut group_spans = BTreeMap::new();
    for (name, members) in raw.groups {
        group_spans.insert(name.clone(), members.span());
        groups.insert(name, members.into_inner());
    }

    let mut rules = Vec::new();
    let mut rule_names = HashSet::new();
    let mut query_spans = Vec::new();
    for rule in raw.rules {
        let name = rule.name.get_ref().trim().to_string();
        if name.is_empty() {
            problems.push(at.span(rule.name.span(), "rule name is empty".into()));
        } else if name.chars().any(char::is_control) {
            problems.push(at.span(rule.name.span(), control_in_name("rule", &name)));
        } else if !rule_names.insert(name.clone()) {
            problems.push(at.span(rule.name.span(), format!("duplicate rule name {name:?}")));
        }
        if rule.notify.get_ref().is_empty() {
            problems.push(at.span(
                rule.notify.span(),
                format!("rule {name:?} notifies no sink; list at least one sink name"),
            ));
        }
        let mut notify = Vec::new();
        for sink in rule.notify.into_inner() {
            if !sink_names.contains(sink.get_ref()) {
                let known = join_names(sink_names.iter());
                problems.push(at.span(
                    sink.span(),
                    format!(
                        "rule {name:?} notifies unknown sink {:?} (defined sinks: {known})",
                        sink.get_ref()
                    ),
                ));
            }
            notify.push(sink.into_inner());
        }
        // A scope naming no configured feed or tag would make the rule silently never match.
        for feed in &rule.feeds {
            if !feed_names.contains(feed.get_ref()) {
                problems.push(at.span(
                    feed.span(),
                    format!(
                        "rule {name:?} is scoped to unknown feed {:?} (defined feeds: {})",
                        feed.get_ref(),
                        join_names(feed_names.iter())
                    ),
                ));
            }
        }
        let known_tags: HashSet<&String> = feeds.iter().flat_map(|f| &f.tags).collect();
        for tag in &rule.tags {
            if !known_tags.contains(tag.get_ref()) {
                problems.push(at.span(
                    tag.span(),
                    format!(
                        "rule {name:?} is scoped to tag {:?}, which no feed has (tags in use: {})",
                        tag.get_ref(),
                        join_names(known_tags.iter().copied())
                    ),
                ));
            }
        }
        query_spans.push(rule.query.span());
        let story_updates = match rule.story_updates {
            None => None,
            Some(value) => match *value.get_ref() {
                raw::StoryUpdates::Enabled(false) => None,
                raw::StoryUpdates::Enabled(true) => Some(DEFAULT_STORY_UPDATE_AFTER),
                raw::StoryUpdates::AfterOutlets(n) => match u32::try_from(n) {
                    Ok(n) if n >= 1 => Some(n),
                    _ => {
                        problems.push(at.span(
                            value.span(),
                            "story_updates must be true, false or a number of outlets (1 or more)"
                                .into(),
                        ));
                        None
                    }
                },
            },
        };
        rules.push(RuleConfig {
            name,
            query: rule.query.into_inner(),
            notify,
            story_updates,
            realert_on_update: rule.realert_on_update,
            feeds: rule
                .feeds
                .into_iter()
                .map(toml::Spanned::into_inner)
                .collect(),
            tags: rule
                .tags
                .into_iter()
                .map(toml::Spanned::into_inner)
                .collect(),
            priority: rule.priority,
        });
    }

    let config = Config {
        path: at.path.to_path_buf(),
        daemon,
        feeds,
        groups,
        rules,
        sinks,
        warnings,
    };
    let spans = source::Spans {
        rule_queries: query_spans,
        groups: group_spans,
    };
    (config, spans)
}

/// The daemon section, with the spans of `feed_events` kept until the sinks are known.
struct ValidatedDaemon {
    config: DaemonConfig,
    feed_event_spans: Vec<toml::Spanned<String>>,
    warnings: Vec<Diagnostic>,
}

impl std::ops::Deref for ValidatedDaemon {
    type Target = DaemonConfig;
    fn deref(&self) -> &DaemonConfig {
        &self.config
    }
}

fn validate_daemon(
    raw: RawDaemon,
    at: &Locator<'_>,
    problems: &mut Vec<Diagnostic>,
) -> ValidatedDaemon {
    let listen_auth = listen::validate(&raw, metrics_listen_addr(&raw), at, problems);
    let database = match raw.database {
        Some(path) => match expand_env(path.get_ref()) {
            Ok(expanded) => match (PostgresUrl::parse(&expanded), url_scheme(&expanded)) {
                (Some(url), _) => {
                    check_postgres_tls(&url, path.span(), at, problems);
                    Database::Postgres(url)
                }
                // Only the scheme is echoed: the rest of such a URL may hold a password.
                (None, Some(scheme)) => {
                    problems.push(at.span(
                        path.span(),
                        format!(
                            "database: {scheme}:// is not a database watchword can use: give a \
                             SQLite file path such as \"/var/lib/watchword/watchword.db\", or a \
                             PostgreSQL URL \"postgres://user@host/dbname\" (a password through \
                             ${{credential:NAME}})"
                        ),
                    ));
                    Database::Sqlite(PathBuf::new())
                }
                (None, None) => Database::Sqlite(at.directory().join(expanded)),
            },
            Err(message) => {
                problems.push(at.span(path.span(), message));
                Database::Sqlite(PathBuf::new())
            }
        },
        // Under systemd, StateDirectory= tells us where state belongs.
        None => Database::Sqlite(match std::env::var_os("STATE_DIRECTORY") {
            Some(dir) => PathBuf::from(dir).join("watchword.db"),
            None => at.directory().join("watchword.db"),
        }),
    };
    let concurrency = match raw.concurrency {
        Some(n) if *n.get_ref() == 0 => {
            problems.push(at.span(n.span(), "concurrency must be at least 1".into()));
            DEFAULT_CONCURRENCY
        }
        Some(n) if *n.get_ref() > MAX_CONCURRENCY => {
            problems.push(at.span(
                n.span(),
                format!("concurrency must be at most {MAX_CONCURRENCY}"),
            ));
            DEFAULT_CONCURRENCY
        }
        Some(n) => *n.get_ref(),
        None => DEFAULT_CONCURRENCY,
    };
    let database_connections = match raw.database_connections {
        Some(n) if !(1..=MAX_DATABASE_CONNECTIONS).contains(n.get_ref()) => {
            problems.push(at.span(
                n.span(),
                format!(
                    "database_connections must be between 1 and {MAX_DATABASE_CONNECTIONS}: \
                     each is a session on the PostgreSQL server, counted against its \
                     max_connections (with every replica's, plus one listener each)"
                ),
            ));
            None
        }
        Some(n) => Some(n),
        None => None,
    };
    // Relative to the working directory at start-up is surprising in logs and under systemd.
    let database = match database {
        Database::Sqlite(path) => Database::Sqlite(std::path::absolute(&path).unwrap_or(path)),
        Database::Postgres(url) => Database::Postgres(match &database_connections {
            Some(n) => url.with_connections(*n.get_ref()),
            None => url,
        }),
    };
    let user_agent = match raw.user_agent {
        // Checked here, not when the HTTP client is built, so `check` catches it with a line.
        Some(ua) if ua.get_ref().trim().is_empty() => {
            problems.push(at.span(ua.span(), "user_agent is empty".into()));
            default_user_agent()
        }
        Some(ua)
            if !ua
                .get_ref()
                .chars()
                .all(|c| c == '\t' || (' '..='~').contains(&c)) =>
        {
            problems.push(at.span(
                ua.span(),
                "user_agent must be printable ASCII (it is sent as an HTTP header)".into(),
            ));
            default_user_agent()
        }
        Some(ua) => ua.into_inner(),
        None => default_user_agent(),
    };
    let positive = |value: Option<toml::Spanned<raw::HumanDuration>>,
                    default: Duration,
                    key: &str,
                    problems: &mut Vec<Diagnostic>| match value {
        Some(d) if d.get_ref().0.is_zero() => {
            problems.push(at.span(d.span(), format!("{key} must be longer than 0s")));
            default
        }
        Some(d) => d.get_ref().0,
        None => default,
    };
    let fetch_timeout = positive(
        raw.fetch_timeout,
        DEFAULT_FETCH_TIMEOUT,
        "fetch_timeout",
        problems,
    );
    let delivery_timeout = positive(
        raw.delivery_timeout,
        DEFAULT_DELIVERY_TIMEOUT,
        "delivery_timeout",
        problems,
    );
    let replica_lease = match raw.replica_lease {
        // Shorter than a fetch or a delivery, a live replica's work would be taken over (and
        // done twice) while it is still at it.
        Some(d) if d.get_ref().0 <= fetch_timeout.max(delivery_timeout) => {
            problems.push(at.span(
                d.span(),
                format!(
                    "replica_lease must be longer than fetch_timeout and delivery_timeout ({}), \
                     or a replica still fetching would lose its feed to another",
                    humantime::format_duration(fetch_timeout.max(delivery_timeout))
                ),
            ));
            DEFAULT_REPLICA_LEASE
        }
        Some(d) => d.get_ref().0,
        None => DEFAULT_REPLICA_LEASE.max(fetch_timeout.max(delivery_timeout) * 2),
    };
    let metrics_listen = validate_metrics_listen(raw.metrics_listen, at, problems);
    let shutdown_grace = positive(
        raw.shutdown_grace,
        DEFAULT_SHUTDOWN_GRACE,
        "shutdown_grace",
        problems,
    );
    let retention_at = raw
        .retention
        .as_ref()
        .or(raw.story_window.as_ref())
        .map(|d| d.span().start)
        .unwrap_or(0);
    let story_window = positive(
        raw.story_window,
        DEFAULT_STORY_WINDOW,
        "story_window",
        problems,
    );
    let retention = positive(raw.retention, DEFAULT_RETENTION, "retention", problems);
    let alert_retention = positive(
        raw.alert_retention,
        DEFAULT_ALERT_RETENTION,
        "alert_retention",
        problems,
    );
    if retention < story_window {
        problems.push(at.at(
            retention_at,
            format!(
            "retention ({}) must be at least story_window ({}): a story cannot outlive its items",
            humantime::format_duration(retention),
            humantime::format_duration(story_window)
            ),
        ));
    }
    let story_similarity = match raw.story_similarity {
        Some(s) if !(s.get_ref() > &0.0 && s.get_ref() <= &1.0) => {
            problems.push(at.span(
                s.span(),
                "story_similarity must be above 0 and at most 1 (1 merges only identical wording; \
                 the default 0.30 was measured on docs/stories.md's labelled set)"
                    .into(),
            ));
            DEFAULT_STORY_SIMILARITY
        }
        Some(s) => s.into_inner(),
        None => DEFAULT_STORY_SIMILARITY,
    };
    let story_entity_similarity =
        match raw.story_entity_similarity {
            Some(s) if !(s.get_ref() > &0.0 && s.get_ref() <= &1.0) => {
                problems.push(at.span(
                s.span(),
                "story_entity_similarity must be above 0 and at most 1 (higher merges less; 1 \
                 joins only reports naming nothing the other does not; the default 0.75 was \
                 measured on docs/stories.md's labelled set)"
                    .into(),
            ));
                DEFAULT_STORY_ENTITY_SIMILARITY
            }
            Some(s) => s.into_inner(),
            None => DEFAULT_STORY_ENTITY_SIMILARITY,
        };
    let per_host_concurrency = match raw.per_host_concurrency {
        Some(n) if *n.get_ref() == 0 => {
            problems.push(at.span(n.span(), "per_host_concurrency must be at least 1".into()));
            DEFAULT_PER_HOST_CONCURRENCY
        }
        Some(n) => (*n.get_ref()).min(concurrency),
        None => DEFAULT_PER_HOST_CONCURRENCY.min(concurrency),
    };
    let connect_timeout = positive(
        raw.connect_timeout,
        DEFAULT_CONNECT_TIMEOUT,
        "connect_timeout",
        problems,
    );
    let read_timeout = positive(
        raw.read_timeout,
        DEFAULT_READ_TIMEOUT,
        "read_timeout",
        problems,
    );
    let min_interval = match raw.min_interval {
        Some(d) if d.get_ref().0 < MIN_POLL_INTERVAL => {
            problems.push(at.span(d.span(), "min_interval must be at least 10s".into()));
            MIN_POLL_INTERVAL
        }
        Some(d) => d.get_ref().0,
        None => MIN_POLL_INTERVAL,
    };
    let max_interval_span = raw.max_interval.as_ref().map(|d| d.span());
    let max_interval = positive(
        raw.max_interval,
        DEFAULT_MAX_INTERVAL,
        "max_interval",
        problems,
    );
    if max_interval < min_interval {
        problems.push(at.span(
            max_interval_span.unwrap_or(0..0),
            "max_interval must not be shorter than min_interval".into(),
        ));
    }
    let max_backoff = positive(
        raw.max_backoff,
        DEFAULT_MAX_BACKOFF,
        "max_backoff",
        problems,
    );
    let broken_after = positive(
        raw.broken_after,
        DEFAULT_BROKEN_AFTER,
        "broken_after",
        problems,
    );
    let stale_after = raw
        .stale_after
        .map(|d| positive(Some(d), Duration::ZERO, "stale_after", problems))
        .filter(|d| !d.is_zero());
    let feed_event_spans = raw.feed_events.map(|s| s.into_inner()).unwrap_or_default();
    let feed_events = feed_event_spans
        .iter()
        .map(|s| s.get_ref().clone())
        .collect();
    let mut strip_names = Vec::new();
    for name in raw.strip_params.unwrap_or_default() {
        match crate::text::StripParams::check(name.get_ref()) {
            Ok(()) => strip_names.push(name.into_inner()),
            Err(why) => problems.push(at.span(
                name.span(),
                format!(
                    "strip_params entry {:?} is not a parameter name: {why}",
                    name.get_ref()
                ),
            )),
        }
    }
    let strip_params = crate::text::StripParams::new(strip_names.iter().map(String::as_str));
    let mut warnings = Vec::new();
    if let (Some(n), Database::Sqlite(_)) = (&database_connections, &database) {
        warnings.push(
            at.span(
                n.span(),
                "database_connections applies to a PostgreSQL database only; a SQLite file is \
             written through one connection"
                    .into(),
            ),
        );
    }
    let poll_interval = match &raw.poll_interval {
        Some(d) if d.get_ref().0 < min_interval => {
            warnings.push(at.span(
                d.span(),
                format!(
                    "poll_interval {} is below min_interval; feeds are polled every {}",
                    humantime::format_duration(d.get_ref().0),
                    humantime::format_duration(min_interval)
                ),
            ));
            d.get_ref().0.max(MIN_POLL_INTERVAL)
        }
        Some(d) => d.get_ref().0,
        None => DEFAULT_POLL_INTERVAL,
    };
    let article_pages = match raw.article_pages {
        Some(n) if *n.get_ref() == 0 || *n.get_ref() > MAX_ARTICLE_PAGES => {
            problems.push(at.span(
                n.span(),
                format!("article_pages must be between 1 and {MAX_ARTICLE_PAGES}"),
            ));
            DEFAULT_ARTICLE_PAGES
        }
        Some(n) => *n.get_ref(),
        None => DEFAULT_ARTICLE_PAGES,
    };
    let article_max_size = match raw.article_max_size {
        Some(size) if size.get_ref().0 < MIN_ARTICLE_MAX_SIZE => {
            problems.push(at.span(
                size.span(),
                "article_max_size must be at least 1 KiB".into(),
            ));
            DEFAULT_ARTICLE_MAX_SIZE
        }
        Some(size) => size.get_ref().0,
        None => DEFAULT_ARTICLE_MAX_SIZE,
    };
    let article_timeout = positive(
        raw.article_timeout,
        DEFAULT_ARTICLE_TIMEOUT,
        "article_timeout",
        problems,
    );
    let config = DaemonConfig {
        article_pages,
        article_max_size,
        article_timeout,
        strip_params,
        story_window,
        story_similarity,
        story_entity_similarity,
        story_by_names: raw.story_by_names.unwrap_or(true),
        retention,
        alert_retention,
        metrics_listen,
        listen_auth,
        workbench_window: raw
            .workbench_window
            .map(|d| d.0)
            .unwrap_or(DEFAULT_WORKBENCH_WINDOW),
        shutdown_grace,
        database,
        poll_interval,
        user_agent,
        max_age: raw.max_age.map(|d| d.0).unwrap_or(DEFAULT_MAX_AGE),
        fetch_timeout,
        delivery_timeout,
        replica_lease,
        max_body_size: raw
            .max_body_size
            .map(|b| b.0)
            .unwrap_or(DEFAULT_MAX_BODY_SIZE),
        concurrency,
        per_host_concurrency,
        connect_timeout,
        read_timeout,
        min_interval,
        max_interval,
        max_backoff,
        broken_after,
        stale_after,
        feed_events,
    };
    ValidatedDaemon {
        config,
        feed_event_spans,
        warnings,
    }
}

/// The address `metrics_listen` names, if it parses (its problems are reported by
/// [`validate_metrics_listen`]).
fn metrics_listen_addr(raw: &RawDaemon) -> Option<std::net::SocketAddr> {
    match &raw.metrics_listen {
        None => DEFAULT_METRICS_LISTEN.parse().ok(),
        Some(text) => text.get_ref().trim().parse().ok(),
    }
}

/// `"127.0.0.1:9464"` (the default), any `IP:PORT`, or `"off"`.
fn validate_metrics_listen(
    raw: Option<toml::Spanned<String>>,
    at: &Locator<'_>,
    problems: &mut Vec<Diagnostic>,
) -> Option<std::net::SocketAddr> {
    let default = DEFAULT_METRICS_LISTEN.parse().ok();
    let Some(value) = raw else {
        return default;
    };
    let text = value.get_ref().trim();
    if text.eq_ignore_ascii_case("off") {
        return None;
    }
    match text.parse() {
        Ok(addr) => Some(addr),
        Err(_) => {
            problems.push(at.span(
                value.span(),
                format!(
                    "metrics_listen {text:?} is not an IP:PORT address; write \"{DEFAULT_METRICS_LISTEN}\" or \"off\""
                ),
            ));
            default
        }
    }
}

pub fn default_user_agent() -> String {
    format!(
        "watchword/{} (+https://github.com/watchword/watchword)",
        env!("CARGO_PKG_VERSION")
    )
}

/// Names are printed in logs, tables and chat footers: a newline or an escape sequence in one
/// would forge log lines or drive the operator's terminal.
fn control_in_name(kind: &str, name: &str) -> String {
    format!(
        "{kind} name {name:?} contains a control character (a line break, tab or escape); \
         use letters, digits, spaces and punctuation"
    )
}

/// The scheme of a value written as a URL (`postgres://…`), if it is one.
fn url_scheme(value: &str) -> Option<&str> {
    let (scheme, _) = value.trim().split_once("://")?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(scheme)
}

fn join_names<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let mut names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        return "none".into();
    }
    names.sort_unstable();
    names.join(", ")
}

/// Resolves `file://` paths relative to the config's directory so that a config and its bundled
/// feed files can move together; http(s) URLs pass through.
fn resolve_feed_url(url: &str, config_dir: &Path) -> Result<String, String> {
    let url = url.trim();
    if let Some(path) = url.strip_prefix("file://") {
        if path.is_empty() {
            return Err("file:// URL has no path".into());
        }
        let path = Path::new(path);
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            let joined = config_dir.join(path);
            std::path::absolute(&joined).unwrap_or(joined)
        };
        return Ok(format!("file://{}", absolute.display()));
    }
    match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => {
            Ok(url.to_string())
        }
        Ok(parsed) => Err(format!(
            "unsupported URL scheme {:?}; use http://, https:// or file://",
            parsed.scheme()
        )),
        Err(e) => Err(format!("invalid URL {url:?}: {e}")),
    }
}

fn check_webhook_url(url: &str) -> Result<(), String> {
    match url::Url::parse(url) {
        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => {
            Ok(())
        }
        // The URL may hold a token: say what is wrong without echoing it.
        Ok(parsed) => Err(format!(
            "webhook url must be http:// or https://, not {}://",
            parsed.scheme()
        )),
        Err(e) => Err(format!("webhook url is not a valid URL ({e})")),
    }
}

/// The URL's TLS options (`sslmode`, `sslrootcert`, `sslcert`, `sslkey`) as `check` can judge
/// them without the server: a known mode, and files that are there and hold what they must.
fn check_postgres_tls(
    url: &PostgresUrl,
    span: std::ops::Range<usize>,
    at: &Locator<'_>,
    problems: &mut Vec<Diagnostic>,
) {
    let tls = match url.tls() {
        Ok(tls) => tls,
        Err(message) => {
            problems.push(at.span(span, format!("database: {message}")));
            return;
        }
    };
    if let Some(crate::model::RootCerts::File(path)) = &tls.root {
        let problem = check_pem_file(path, "sslrootcert", PemWanted::Authority);
        problems.extend(problem.map(|message| at.span(span.clone(), message)));
    }
    if let Some(client) = &tls.client {
        for (path, option, wanted) in [
            (&client.cert, "sslcert", PemWanted::ClientCertificate),
            (&client.key, "sslkey", PemWanted::PrivateKey),
        ] {
            let problem = check_pem_file(path, option, wanted);
            problems.extend(problem.map(|message| at.span(span.clone(), message)));
        }
    }
}

/// What a PEM file named in the database URL must hold.
#[derive(Clone, Copy, PartialEq)]
enum PemWanted {
    Authority,
    ClientCertificate,
    PrivateKey,
}

/// Why the PEM file `option=path` cannot serve, if it cannot: not absolute, not there, not
/// readable, or without the PEM block it must hold; for a private key also, as libpq
/// requires, readable by others than its owner (and its owner's group, if root owns it).
fn check_pem_file(path: &std::path::Path, option: &str, wanted: PemWanted) -> Option<String> {
    let shown = path.display();
    if path.is_relative() {
        return Some(format!(
            "database: {option}={shown} is a relative path, which would be looked up from \
             wherever watchword is started: give it absolute"
        ));
    }
    let pem = match std::fs::read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let what = match wanted {
                PemWanted::Authority => {
                    "give the PEM file of the authority that signs the server's certificate \
                     (for a self-signed server, its certificate), or sslrootcert=system for the \
                     authorities this system trusts"
                }
                PemWanted::ClientCertificate => "give the PEM file of the client certificate",
                PemWanted::PrivateKey => "give the PEM file of the client certificate's key",
            };
            return Some(format!("database: {option}={shown} does not exist: {what}"));
        }
        Err(e) => return Some(format!("database: cannot read {option}={shown}: {e}")),
        Ok(pem) => pem,
    };
    let holds = |marker: &[u8]| pem.windows(marker.len()).any(|w| w == marker);
    match wanted {
        PemWanted::Authority | PemWanted::ClientCertificate
            if !holds(b"-----BEGIN CERTIFICATE-----") =>
        {
            let whose = if wanted == PemWanted::Authority {
                "the authority's"
            } else {
                "the client"
            };
            Some(format!(
                "database: {option}={shown} holds no PEM certificate (no \"-----BEGIN \
                 CERTIFICATE-----\" line): give {whose} certificate in PEM form"
            ))
        }
        PemWanted::PrivateKey if !holds(b"PRIVATE KEY-----") => Some(format!(
            "database: {option}={shown} holds no PEM private key (no \"-----BEGIN … PRIVATE \
             KEY-----\" line): give the client certificate's key in PEM form, unencrypted"
        )),
        PemWanted::PrivateKey => key_file_too_open(path).map(|mode| {
            format!(
                "database: {option}={shown} can be read by others (mode {mode:o}): libpq \
                 refuses such a key, and so does watchword; chmod 600 it (640 if root owns it \
                 and watchword's group reads it)"
            )
        }),
        _ => None,
    }
}

/// The permission bits of a key file that others may read, as libpq judges them.
#[cfg(unix)]
fn key_file_too_open(path: &std::path::Path) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    let mode = meta.mode() & 0o777;
    let allowed = if meta.uid() == 0 { 0o640 } else { 0o600 };
    (mode & !allowed != 0).then_some(mode)
}

#[cfg(not(unix))]
fn key_file_too_open(_path: &std::path::Path) -> Option<u32> {
    None
}

/// Expands `${NAME}`, `${file:PATH}` and `${credential:NAME}` (see `secret`), so secrets such
/// as webhook URLs can stay out of the config file. `$${` escapes a literal `${`.
fn expand_env(value: &str) -> Result<String, String> {
    // Relative `${file:…}` paths here resolve against the working directory; sink fields go
    // through `sink::validate_sink`, which resolves them against the config's directory.
    secret::expand(value, Path::new(".")).map(|e| e.value)
}

#[cfg(test)]
mod tests;
