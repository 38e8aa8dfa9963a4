//! The pages as HTML: askama templates (`templates/*.html`, compiled into the binary and
//! checked at build time) over the data of `pages`. Every value is HTML-escaped by the template
//! engine; nothing here marks text as safe, so a feed's `<script>` is shown, never run.
//! Highlighted words are segments the templates wrap in `<mark>`, not HTML built here.

use askama::Template;

use super::pages::{
    AlertPage, Alerts, FeedRow, FeedSort, Feeds, Overview, SINCE_CHOICES, STATES, Workbench,
    WorkbenchHit,
};
use crate::model::StorySource;

/// The navigation's entries: path, label.
pub const NAV: &[(&str, &str)] = &[
    ("/", "Overview"),
    ("/alerts", "Alerts"),
    ("/feeds", "Feeds"),
    ("/workbench", "Workbench"),
];

/// A time in unix seconds, however many references the template engine wraps it in.
pub trait Secs {
    fn secs(&self) -> i64;
}

impl Secs for i64 {
    fn secs(&self) -> i64 {
        *self
    }
}

impl<T: Secs + ?Sized> Secs for &T {
    fn secs(&self) -> i64 {
        (**self).secs()
    }
}

/// Times as people read them on a page: UTC, to the minute.
pub fn utc(at: impl Secs) -> String {
    chrono::DateTime::from_timestamp(at.secs(), 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// The same time for machines (`<time datetime>`).
pub fn rfc3339(at: impl Secs) -> String {
    crate::model::time::rfc3339(at.secs())
}

/// "3m ago", "in 4m".
pub fn relative(now: impl Secs, at: impl Secs) -> String {
    let delta = at.secs() - now.secs();
    let span = crate::service::age(delta.abs());
    if delta > 0 {
        format!("in {span}")
    } else if delta > -5 {
        "now".to_owned()
    } else {
        format!("{span} ago")
    }
}

/// Only http(s) links are links: a feed's `javascript:` or `data:` link is shown as text.
pub fn safe_href(link: &str) -> Option<&str> {
    let lower = link.trim_start().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then_some(link)
}

/// A piece of text, highlighted or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub text: String,
    pub mark: bool,
}

/// `text` cut into segments, with every occurrence of one of `words` marked. The words are
/// the item's own words as the rules report them, so they are looked for as written, then
/// ignoring ASCII case.
pub fn highlight(text: &str, words: &[String]) -> Vec<Segment> {
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for word in words.iter().filter(|w| !w.is_empty()) {
        let mut found = false;
        for (at, _) in text.match_indices(word.as_str()) {
            ranges.push((at, at + word.len()));
            found = true;
        }
        if !found {
            // ASCII lowercasing keeps byte offsets, so they still fall on char boundaries.
            let (hay, needle) = (text.to_ascii_lowercase(), word.to_ascii_lowercase());
            for (at, _) in hay.match_indices(needle.as_str()) {
                ranges.push((at, at + needle.len()));
            }
        }
    }
    ranges.sort_unstable();
    let mut segments = Vec::new();
    let mut pos = 0;
    for (start, end) in ranges {
        if end <= pos {
            continue;
        }
        let start = start.max(pos);
        if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            continue;
        }
        if start > pos {
            segments.push(Segment {
                text: text[pos..start].to_owned(),
                mark: false,
            });
        }
        segments.push(Segment {
            text: text[start..end].to_owned(),
            mark: true,
        });
        pos = end;
    }
    if pos < text.len() {
        segments.push(Segment {
            text: text[pos..].to_owned(),
            mark: false,
        });
    }
    segments
}

/// A sparkline's polyline points in a 90×20 box, one point per day.
pub fn sparkline(per_day: &[u64]) -> String {
    let max = per_day.iter().copied().max().unwrap_or(0).max(1) as f64;
    let step = if per_day.len() > 1 {
        89.0 / (per_day.len() - 1) as f64
    } else {
        0.0
    };
    per_day
        .iter()
        .enumerate()
        .map(|(i, n)| {
            format!(
                "{:.1},{:.1}",
                0.5 + i as f64 * step,
                19.0 - (*n as f64 / max) * 18.0
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A feed state as a CSS class name (`never-polled`).
pub fn state_class(health: &crate::store::FeedHealth) -> String {
    health.label().replace(' ', "-")
}

fn words_of(hit: &WorkbenchHit) -> Vec<String> {
    hit.explanation
        .terms
        .iter()
        .filter(|t| !t.negated)
        .flat_map(|t| t.found.iter().cloned())
        .collect()
}

#[derive(Template)]
#[template(path = "overview.html")]
pub struct OverviewView<'a> {
    pub page: &'a Overview,
}

impl OverviewView<'_> {
    fn active(&self) -> &'static str {
        "/"
    }
    fn when(&self, at: impl Secs) -> String {
        format!(
            "{} ({})",
            utc(at.secs()),
            relative(self.page.now, at.secs())
        )
    }
}

#[derive(Template)]
#[template(path = "alerts.html")]
pub struct AlertsView<'a> {
    pub page: &'a Alerts,
}

impl AlertsView<'_> {
    fn active(&self) -> &'static str {
        "/alerts"
    }
    fn since_choices(&self) -> &'static [(&'static str, &'static str, i64)] {
        SINCE_CHOICES
    }
    fn states(&self) -> &'static [&'static str] {
        STATES
    }
    fn selected_rule(&self, rule: &str) -> bool {
        self.page.filters.rule.as_deref() == Some(rule)
    }
    fn selected_state(&self, state: &str) -> bool {
        self.page.filters.state.as_deref() == Some(state)
    }
    fn selected_since(&self, since: &str) -> bool {
        self.page.filters.since.as_deref() == Some(since)
    }
    fn prev_href(&self) -> Option<String> {
        let page = self.page.filters.page();
        (page > 1).then(|| format!("/alerts?{}", self.page.filters.query_string(page - 1)))
    }
    fn next_href(&self) -> Option<String> {
        let page = self.page.filters.page();
        self.page
            .has_next
            .then(|| format!("/alerts?{}", self.page.filters.query_string(page + 1)))
    }
    fn when(&self, at: impl Secs) -> String {
        relative(self.page.now, at.secs())
    }
}

#[derive(Template)]
#[template(path = "alert.html")]
pub struct AlertView<'a> {
    pub page: &'a AlertPage,
    /// The CSRF token the re-queue form must send back.
    pub csrf: &'a str,
    /// Deliveries re-queued by the POST that led here.
    pub requeued: Option<usize>,
}

impl AlertView<'_> {
    fn active(&self) -> &'static str {
        "/alerts"
    }
    fn when(&self, at: impl Secs) -> String {
        format!(
            "{} ({})",
            utc(at.secs()),
            relative(self.page.now, at.secs())
        )
    }
    fn found_words(&self) -> Vec<String> {
        self.page
            .terms
            .iter()
            .flat_map(|t| t.found.iter().cloned())
            .collect()
    }
    fn title_segments(&self) -> Vec<Segment> {
        highlight(&self.page.item.title, &self.found_words())
    }
    fn summary_segments(&self) -> Vec<Segment> {
        highlight(&self.page.item.summary, &self.found_words())
    }
    fn joined(&self, source: &StorySource) -> String {
        super::pages::joined_by(source)
    }
}

#[derive(Template)]
#[template(path = "feeds.html")]
pub struct FeedsView<'a> {
    pub page: &'a Feeds,
}

impl FeedsView<'_> {
    fn active(&self) -> &'static str {
        "/feeds"
    }
    fn sorts(&self) -> [(FeedSort, &'static str); 6] {
        [
            (FeedSort::Name, "Feed"),
            (FeedSort::State, "State"),
            (FeedSort::LastSuccess, "Last success"),
            (FeedSort::Failures, "Failures"),
            (FeedSort::Items, "Items"),
            (FeedSort::Alerts, "Alerts"),
        ]
    }
    /// The header link for `sort`: ascending, or descending when it is already ascending.
    fn sort_href(&self, sort: &FeedSort) -> String {
        let descending = *sort == self.page.sort && !self.page.descending;
        format!(
            "/feeds?sort={}{}",
            sort.key(),
            if descending { "&dir=desc" } else { "" }
        )
    }
    fn aria_sort(&self, sort: &FeedSort) -> &'static str {
        match (*sort == self.page.sort, self.page.descending) {
            (false, _) => "none",
            (true, false) => "ascending",
            (true, true) => "descending",
        }
    }
    fn page_href(&self, page: usize) -> String {
        format!(
            "/feeds?sort={}{}&page={page}",
            self.page.sort.key(),
            if self.page.descending {
                "&dir=desc"
            } else {
                ""
            }
        )
    }
    fn when(&self, at: impl Secs) -> String {
        relative(self.page.now, at.secs())
    }
    fn spark(&self, row: &FeedRow) -> String {
        sparkline(&row.per_day)
    }
    fn spark_total(&self, row: &FeedRow) -> u64 {
        row.per_day.iter().sum()
    }
}

#[derive(Template)]
#[template(path = "workbench.html")]
pub struct WorkbenchView<'a> {
    pub page: &'a Workbench,
}

impl WorkbenchView<'_> {
    fn active(&self) -> &'static str {
        "/workbench"
    }
    fn day_choices(&self) -> Vec<i64> {
        (1..=self.page.max_days).collect()
    }
    fn days_selected(&self, days: impl Secs) -> bool {
        days.secs() == self.page.days
    }
    fn title_segments(&self, hit: &WorkbenchHit) -> Vec<Segment> {
        highlight(&hit.item.title, &words_of(hit))
    }
    /// The summary, or the start of the content when the feed gives no summary.
    fn body_segments(&self, hit: &WorkbenchHit) -> Vec<Segment> {
        let body = if hit.item.summary.is_empty() {
            &hit.item.content
        } else {
            &hit.item.summary
        };
        highlight(&crate::text::truncate_chars(body, 400), &words_of(hit))
    }
    fn when(&self, at: impl Secs) -> String {
        relative(self.page.now, at.secs())
    }
}

/// A page for an error or a missing alert.
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessageView<'a> {
    pub title: &'a str,
    pub message: &'a str,
}

impl MessageView<'_> {
    fn active(&self) -> &'static str {
        ""
    }
}
