//! What each page shows, read from the store and the running config: plain data, built by
//! plain functions (tested in `tests.rs`), rendered by `views`. Every function here blocks on
//! SQLite; the handlers call them on the blocking pool.

use std::collections::HashMap;

use crate::config::Config;
use crate::model::StorySource;
use crate::rules::{Explanation, RuleSet, RuleSpec};
use crate::runtime::Runtime;
use crate::store::{
    AlertDetail, AlertListRow, AlertQuery, DayCounts, DisabledSink, FeedHealth, FeedState, Health,
    ItemText, Store, StoreError,
};
use crate::text::redact_url;

/// Alerts per page of the alerts list.
pub const ALERTS_PER_PAGE: usize = 50;
/// Feeds per page of the feeds list.
pub const FEEDS_PER_PAGE: usize = 100;
/// Days in a feed's sparkline.
pub const SPARK_DAYS: i64 = 30;
/// The workbench runs a query on at most this many of the newest items: enough for a week of
/// a few hundred feeds, and a bound on the time one click can cost the daemon.
pub const WORKBENCH_ITEMS: usize = 20_000;
/// Matches and near misses shown by the workbench.
pub const WORKBENCH_SHOWN: usize = 100;

/// The overview: `watchword status` on one page.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    pub now: i64,
    pub feeds: usize,
    pub rules: usize,
    pub sinks: usize,
    /// Configured feeds by health, in [`FeedHealth::ALL`] order.
    pub by_health: Vec<(FeedHealth, usize)>,
    /// The same facts `watchword status` prints (`Store::health`).
    pub health: Health,
    /// Deliveries delivered and given up since 00:00 UTC.
    pub today: DayCounts,
    pub disabled: Vec<DisabledSink>,
    pub metrics_listen: Option<String>,
}

pub fn overview(store: &Store, config: &Config, now: i64) -> Result<Overview, StoreError> {
    let names: Vec<String> = config.feeds.iter().map(|f| f.name.clone()).collect();
    let health = store.health(&names)?;
    let states = store.feed_healths()?;
    let mut counts: HashMap<FeedHealth, usize> = HashMap::new();
    for feed in &config.feeds {
        // State recorded for another URL belongs to the feed's past (as in `feeds`).
        let health = states
            .get(&feed.name)
            .filter(|(url, _)| *url == feed.url)
            .map_or(FeedHealth::NeverPolled, |(_, health)| *health);
        *counts.entry(health).or_default() += 1;
    }
    let midnight = now - now.rem_euclid(86_400);
    Ok(Overview {
        now,
        feeds: config.feeds.len(),
        rules: config.rules.len(),
        sinks: config.sinks.len(),
        by_health: FeedHealth::ALL
            .iter()
            .map(|h| (*h, counts.get(h).copied().unwrap_or(0)))
            .collect(),
        health,
        today: store.deliveries_ended_since(midnight)?,
        disabled: store.disabled_sinks()?,
        metrics_listen: config.daemon.metrics_listen.map(|a| a.to_string()),
    })
}

/// The alerts page's filters, as the query string gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct AlertFilters {
    pub rule: Option<String>,
    /// `pending`, `delivered` or `dead`.
    pub state: Option<String>,
    /// `1h`, `24h`, `7d`, `30d`, or empty for all time.
    pub since: Option<String>,
    /// From 1.
    pub page: Option<usize>,
}

/// The choices of the `since` filter: value, label, seconds.
pub const SINCE_CHOICES: &[(&str, &str, i64)] = &[
    ("1h", "last hour", 3600),
    ("24h", "last 24 hours", 86_400),
    ("7d", "last 7 days", 7 * 86_400),
    ("30d", "last 30 days", 30 * 86_400),
];

/// The delivery states the alerts page filters by.
pub const STATES: &[&str] = &["pending", "delivered", "dead"];

impl AlertFilters {
    /// Empty strings (an unset `<select>`) are no filter; unknown values are ignored.
    pub fn normalized(mut self) -> AlertFilters {
        self.rule = self.rule.filter(|r| !r.trim().is_empty());
        self.state = self.state.filter(|s| STATES.contains(&s.as_str()));
        self.since = self
            .since
            .filter(|s| SINCE_CHOICES.iter().any(|(v, _, _)| v == s));
        self.page = self.page.filter(|p| *p > 1);
        self
    }

    pub fn page(&self) -> usize {
        self.page.unwrap_or(1)
    }

    /// The query string of these filters on page `page`.
    pub fn query_string(&self, page: usize) -> String {
        let mut parts = Vec::new();
        let mut add = |key: &str, value: &str| {
            parts.push(format!(
                "{key}={}",
                url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>()
            ))
        };
        if let Some(rule) = &self.rule {
            add("rule", rule);
        }
        if let Some(state) = &self.state {
            add("state", state);
        }
        if let Some(since) = &self.since {
            add("since", since);
        }
        if page > 1 {
            add("page", &page.to_string());
        }
        parts.join("&")
    }
}

/// The alerts page.
#[derive(Debug, Clone, PartialEq)]
pub struct Alerts {
    pub now: i64,
    pub filters: AlertFilters,
    /// Rule names to filter by: the config's, then any others the listed alerts have.
    pub rules: Vec<String>,
    pub alerts: Vec<AlertListRow>,
    pub has_next: bool,
}

pub fn alerts(
    store: &Store,
    config: &Config,
    filters: AlertFilters,
    now: i64,
) -> Result<Alerts, StoreError> {
    let filters = filters.normalized();
    let since = filters.since.as_deref().and_then(|s| {
        SINCE_CHOICES
            .iter()
            .find(|(v, _, _)| *v == s)
            .map(|(_, _, secs)| now - secs)
    });
    let mut alerts = store.dashboard_alerts(&AlertQuery {
        rule: filters.rule.clone(),
        state: filters.state.clone(),
        since,
        offset: (filters.page() - 1) * ALERTS_PER_PAGE,
        // One more than shown tells whether there is a next page.
        limit: ALERTS_PER_PAGE + 1,
    })?;
    let has_next = alerts.len() > ALERTS_PER_PAGE;
    alerts.truncate(ALERTS_PER_PAGE);
    let mut rules: Vec<String> = config.rules.iter().map(|r| r.name.clone()).collect();
    for name in filters.rule.iter().chain(alerts.iter().map(|a| &a.rule)) {
        if !rules.contains(name) {
            rules.push(name.clone());
        }
    }
    Ok(Alerts {
        now,
        filters,
        rules,
        alerts,
        has_next,
    })
}

/// One term of the rule that raised an alert, and where it is in the item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermFound {
    pub term: String,
    /// Empty when the rule is no longer in the config (the payload does not keep fields).
    pub fields: Vec<String>,
    pub found: Vec<String>,
}

/// The item an alert was raised on, as its payload has it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PayloadItem {
    pub title: String,
    pub summary: String,
    pub published: Option<String>,
    pub authors: Vec<String>,
    pub categories: Vec<String>,
}

/// An alert's page: the alert, its story, the terms that matched, its deliveries.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertPage {
    pub now: i64,
    pub detail: AlertDetail,
    pub item: PayloadItem,
    pub terms: Vec<TermFound>,
    /// Whether the rule is still in the config (then `terms` has fields, read again now).
    pub rule_configured: bool,
    /// Deliveries that `watchword redeliver ID` would re-queue (dead or delivered).
    pub requeueable: usize,
}

/// `None` when there is no such alert.
pub fn alert(
    store: &Store,
    runtime: &Runtime,
    id: &str,
    now: i64,
) -> Result<Option<AlertPage>, StoreError> {
    let Some(detail) = store.dashboard_alert(id)? else {
        return Ok(None);
    };
    let payload: serde_json::Value = serde_json::from_str(&detail.payload).unwrap_or_default();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let list = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let item = &payload["item"];
    let item = PayloadItem {
        title: item["title"]
            .as_str()
            .map_or_else(|| detail.alert.title.clone(), str::to_owned),
        summary: text(&item["summary"]),
        published: item["published"].as_str().map(str::to_owned),
        authors: list(&item["authors"]),
        categories: list(&item["categories"]),
    };
    // Which field each term is in: the payload keeps the words found, not where; the rule,
    // if it is still configured, is asked again on the payload's item.
    let explained = runtime.ruleset.explain(
        &detail.alert.rule,
        &crate::model::Item {
            feed: detail.alert.feed.clone(),
            id: String::new(),
            link: detail.alert.link.clone(),
            title: item.title.clone(),
            summary: item.summary.clone(),
            content: String::new(),
            published: None,
            authors: item.authors.clone(),
            categories: item.categories.clone(),
        },
    );
    let rule_configured = explained.is_some();
    let terms = match explained {
        Some(explanation) => explanation
            .terms
            .into_iter()
            .filter(|t| !t.negated && !t.fields.is_empty())
            .map(|t| TermFound {
                term: t.term,
                fields: t.fields.iter().map(|f| (*f).to_owned()).collect(),
                found: t.found,
            })
            .collect(),
        None => payload["matched_terms"]
            .as_array()
            .map(|terms| {
                terms
                    .iter()
                    .map(|t| TermFound {
                        term: text(&t["term"]),
                        fields: Vec::new(),
                        found: list(&t["found"]),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    };
    let requeueable = detail
        .alert
        .deliveries
        .iter()
        .filter(|d| d.state != "pending")
        .count();
    Ok(Some(AlertPage {
        now,
        detail,
        item,
        terms,
        rule_configured,
        requeueable,
    }))
}

/// Why a source joined its story, for a person: the words of `watchword alerts`.
pub fn joined_by(source: &StorySource) -> String {
    crate::entities::explain_join(source.joined_by.as_ref())
}

/// How the feeds page sorts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FeedSort {
    #[default]
    Name,
    State,
    LastSuccess,
    Failures,
    Items,
    Alerts,
}

impl FeedSort {
    pub const ALL: [FeedSort; 6] = [
        FeedSort::Name,
        FeedSort::State,
        FeedSort::LastSuccess,
        FeedSort::Failures,
        FeedSort::Items,
        FeedSort::Alerts,
    ];

    pub fn key(self) -> &'static str {
        match self {
            FeedSort::Name => "name",
            FeedSort::State => "state",
            FeedSort::LastSuccess => "last_success",
            FeedSort::Failures => "failures",
            FeedSort::Items => "items",
            FeedSort::Alerts => "alerts",
        }
    }

    pub fn parse(key: &str) -> FeedSort {
        FeedSort::ALL
            .into_iter()
            .find(|s| s.key() == key)
            .unwrap_or_default()
    }
}

/// The feeds page's query string.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct FeedParams {
    pub sort: Option<String>,
    /// `desc` for descending.
    pub dir: Option<String>,
    pub page: Option<usize>,
}

/// One feed's row: what `watchword feeds` shows, and its items per day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedRow {
    pub name: String,
    /// Redacted: query strings and credentials can hold tokens.
    pub url: String,
    pub health: FeedHealth,
    pub last_success_at: Option<i64>,
    pub last_status: Option<u16>,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    pub next_due_at: Option<i64>,
    pub items_seen: u64,
    pub alerts: u64,
    pub moved_to: Option<String>,
    pub skipped: Option<String>,
    /// Items first seen on each of the last [`SPARK_DAYS`] days, oldest first.
    pub per_day: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feeds {
    pub now: i64,
    pub sort: FeedSort,
    pub descending: bool,
    pub page: usize,
    pub pages: usize,
    pub total: usize,
    pub rows: Vec<FeedRow>,
}

pub fn feeds(
    store: &Store,
    config: &Config,
    params: &FeedParams,
    now: i64,
) -> Result<Feeds, StoreError> {
    let sort = FeedSort::parse(params.sort.as_deref().unwrap_or_default());
    // Sorting by alerts needs every feed's count (as `watchword feeds` reads them); any other
    // order needs only the shown page's, counted after it is cut.
    let counted = sort == FeedSort::Alerts;
    let states = if counted {
        store.feed_states()?
    } else {
        store.feed_states_uncounted()?
    };
    let mut rows: Vec<FeedRow> = config
        .feeds
        .iter()
        .map(|feed| {
            // State recorded for another URL belongs to the feed's past (as in `feeds`).
            let state = states.get(&feed.name).filter(|s| s.url == feed.url);
            feed_row(&feed.name, &feed.url, state)
        })
        .collect();
    let descending = params.dir.as_deref() == Some("desc");
    rows.sort_by(|a, b| {
        let order = match sort {
            FeedSort::Name => a.name.cmp(&b.name),
            FeedSort::State => a.health.cmp(&b.health),
            FeedSort::LastSuccess => a.last_success_at.cmp(&b.last_success_at),
            FeedSort::Failures => a.consecutive_failures.cmp(&b.consecutive_failures),
            FeedSort::Items => a.items_seen.cmp(&b.items_seen),
            FeedSort::Alerts => a.alerts.cmp(&b.alerts),
        };
        let order = if descending { order.reverse() } else { order };
        order.then_with(|| a.name.cmp(&b.name))
    });
    let total = rows.len();
    let pages = total.div_ceil(FEEDS_PER_PAGE).max(1);
    let page = params.page.unwrap_or(1).clamp(1, pages);
    let mut rows: Vec<FeedRow> = rows
        .into_iter()
        .skip((page - 1) * FEEDS_PER_PAGE)
        .take(FEEDS_PER_PAGE)
        .collect();
    let today = now.div_euclid(86_400);
    let first_day = today - SPARK_DAYS + 1;
    let names: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
    let days = store.items_per_day(&names, first_day)?;
    let alerts = if counted {
        HashMap::new()
    } else {
        store.alerts_of_feeds(&names)?
    };
    for row in &mut rows {
        // Redacted only for the page shown: parsing 5,000 URLs to show 100 is a waste.
        row.url = redact_url(&row.url);
        row.moved_to = row.moved_to.as_deref().map(redact_url);
        if let Some(n) = alerts.get(&row.name) {
            row.alerts = *n;
        }
        let mut per_day = vec![0; SPARK_DAYS as usize];
        for (day, n) in days.get(&row.name).into_iter().flatten() {
            if let Some(slot) = usize::try_from(day - first_day)
                .ok()
                .and_then(|i| per_day.get_mut(i))
            {
                *slot = *n;
            }
        }
        row.per_day = per_day;
    }
    Ok(Feeds {
        now,
        sort,
        descending,
        page,
        pages,
        total,
        rows,
    })
}

/// A feed's row with its URLs as configured: `feeds` redacts those of the rows it shows.
fn feed_row(name: &str, url: &str, state: Option<&FeedState>) -> FeedRow {
    let one_line = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    FeedRow {
        name: name.to_owned(),
        url: url.to_owned(),
        health: FeedHealth::of(state),
        last_success_at: state.and_then(|s| s.last_success_at),
        last_status: state.and_then(|s| s.last_status),
        consecutive_failures: state.map_or(0, |s| s.consecutive_failures),
        last_error: state.and_then(|s| s.last_error.as_deref()).map(one_line),
        next_due_at: state
            .filter(|s| s.gone_at.is_none())
            .and_then(|s| s.next_due_at),
        items_seen: state.map_or(0, |s| s.items_seen),
        alerts: state.map_or(0, |s| s.alerts),
        moved_to: state.and_then(|s| s.moved_to.clone()),
        skipped: state.and_then(|s| s.skipped.as_deref()).map(one_line),
        per_day: Vec::new(),
    }
}

/// The workbench's query string. Nothing of it is saved.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct WorkbenchParams {
    pub q: Option<String>,
    /// The rule's name in the TOML to copy.
    pub name: Option<String>,
    /// How many days back, 1 to the `workbench_window`.
    pub days: Option<i64>,
}

/// One item the query matched or nearly matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkbenchHit {
    pub item: ItemText,
    pub explanation: Explanation,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Workbench {
    pub now: i64,
    pub query: String,
    pub name: String,
    pub days: i64,
    /// The query does not compile: the compiler's message.
    pub error: Option<String>,
    /// Items the query ran on.
    pub searched: usize,
    pub matches: Vec<WorkbenchHit>,
    pub match_count: usize,
    pub near_misses: Vec<WorkbenchHit>,
    pub near_miss_count: usize,
    /// The rule as a `[[rule]]` table to paste into the config.
    pub toml: String,
    /// The config's group names, for the page's help.
    pub groups: Vec<String>,
    /// The `workbench_window` in whole days (rounded up); 0: no text is kept, the workbench
    /// is off.
    pub max_days: i64,
}

/// The `workbench_window` in days, rounded up.
pub fn workbench_days(config: &Config) -> i64 {
    let secs = config.daemon.workbench_window.as_secs();
    secs.div_ceil(86_400).min(i64::MAX as u64) as i64
}

/// Compiles the query with the config's groups (and the built-in places), exactly as
/// `watchword test --query` does, and runs it on the newest items kept.
pub fn workbench(
    store: &Store,
    config: &Config,
    params: &WorkbenchParams,
    now: i64,
) -> Result<Workbench, StoreError> {
    let query = params.q.clone().unwrap_or_default();
    let name = params
        .name
        .clone()
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "my-rule".to_owned());
    let max_days = workbench_days(config);
    let days = params.days.unwrap_or(max_days).clamp(1, max_days.max(1));
    let mut page = Workbench {
        now,
        toml: rule_toml(&name, &query),
        query,
        name,
        days,
        error: None,
        searched: 0,
        matches: Vec::new(),
        match_count: 0,
        near_misses: Vec::new(),
        near_miss_count: 0,
        groups: config.groups.keys().cloned().collect(),
        max_days,
    };
    if page.query.trim().is_empty() || max_days == 0 {
        return Ok(page);
    }
    let ruleset = match RuleSet::compile(
        &config.groups,
        &[RuleSpec {
            name: &page.name,
            query: &page.query,
        }],
    ) {
        Ok(ruleset) => ruleset,
        Err(e) => {
            page.error = Some(e.to_string());
            return Ok(page);
        }
    };
    let texts = store.recent_item_texts(now - days * 86_400, WORKBENCH_ITEMS)?;
    page.searched = texts.len();
    for text in texts {
        let item = text.to_item();
        // Every item is explained, not only the presearcher's candidates (as `test --explain`
        // does): an item with the rule's other terms but not its anchor is a near miss too.
        if let Some(explanation) = ruleset.explain_if_any(&page.name, &item) {
            let near_miss = !explanation.matched
                && explanation
                    .terms
                    .iter()
                    .any(|t| !t.negated && !t.fields.is_empty());
            if explanation.matched {
                page.match_count += 1;
                if page.matches.len() < WORKBENCH_SHOWN {
                    page.matches.push(WorkbenchHit {
                        item: text.clone(),
                        explanation,
                    });
                }
            } else if near_miss {
                page.near_miss_count += 1;
                if page.near_misses.len() < WORKBENCH_SHOWN {
                    page.near_misses.push(WorkbenchHit {
                        item: text.clone(),
                        explanation,
                    });
                }
            }
        }
    }
    Ok(page)
}

/// `[[rule]]` with the name and query as TOML strings: a literal string (`'…'`, as the
/// example config writes queries, quotes and all) when it can be one, else a basic string
/// escaped by the TOML writer itself.
pub fn rule_toml(name: &str, query: &str) -> String {
    let string = |s: &str| {
        if s.chars().any(|c| c == '\'' || c.is_control()) {
            toml::Value::String(s.to_owned()).to_string()
        } else {
            format!("'{s}'")
        }
    };
    format!(
        "[[rule]]\nname = {}\nquery = {}\nnotify = []\n",
        string(name),
        string(query)
    )
}
