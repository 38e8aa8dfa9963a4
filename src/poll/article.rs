//! A second look at the article (`[[feed]] read_articles`): which new items of a poll are worth
//! reading the linked page for, and the item as matched once it has been read.
//!
//! The poll's match stage names these items ([`wanted`]); the daemon fetches their pages
//! between the two halves of [`crate::poll::settle`] (the fetch is network work, the stages are
//! not), and the record half matches them again with the page's text as their content.

use crate::config::FeedConfig;
use crate::model::Item;
use crate::rules::RuleSet;
use crate::runtime::Runtime;

/// An item whose summary and content together have fewer characters than this carries only a
/// headline or a short summary: a wire's one-paragraph lead is about 200–350 characters, a
/// feed with full text has thousands. Above it, the feed already gave the article's words.
pub const SHORT_TEXT_CHARS: usize = 400;

/// A new item a rule half matched, whose article may complete the match.
#[derive(Debug, Clone)]
pub struct Wanted {
    /// Its place among the poll's new items.
    pub index: usize,
    /// Its http(s) link: the page to read, and the key it is cached under.
    pub link: String,
    pub item: Item,
}

/// Whether the feed says little about `item`: fewer than [`SHORT_TEXT_CHARS`] characters of
/// summary and content.
pub fn is_short(item: &Item) -> bool {
    item.summary
        .chars()
        .chain(item.content.chars())
        .take(SHORT_TEXT_CHARS)
        .count()
        < SHORT_TEXT_CHARS
}

/// The link to read for `item`, when the feed asks for second looks, the item is short, has an
/// http(s) link, and some rule that applies to the feed matches it in part (some term it does
/// not exclude occurs, yet it does not match).
pub fn wanted(runtime: &Runtime, feed: &FeedConfig, item: &Item) -> Option<String> {
    wanted_by(&runtime.ruleset, feed, item, |name| {
        runtime.rule(name).is_some_and(|rule| rule.applies_to(feed))
    })
}

/// [`wanted`] with `ruleset`'s rules, of which those that `applies` accepts count
/// (`watchword test` tries a `--query` or one `--rule`).
pub fn wanted_by(
    ruleset: &RuleSet,
    feed: &FeedConfig,
    item: &Item,
    applies: impl Fn(&str) -> bool,
) -> Option<String> {
    if !feed.read_articles || !is_short(item) {
        return None;
    }
    let link = item
        .link
        .as_deref()
        .filter(|l| l.starts_with("http://") || l.starts_with("https://"))?;
    let partial = ruleset.partial_matches(item);
    partial.into_iter().any(applies).then(|| link.to_owned())
}

/// `item` as matched after reading its article: the page's main text as its content (the
/// feed's own summary, if any, stays).
pub fn with_article(item: &Item, text: &str) -> Item {
    Item {
        content: text.to_owned(),
        ..item.clone()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const CONFIG: &str = r#"
[[feed]]
name = "wire"
url = "https://news.example.org/rss"
read_articles = true

[[feed]]
name = "plain"
url = "https://plain.example.org/rss"

[[rule]]
name = "ferries"
query = 'ferry AND "northern quay"'
notify = ["out"]

[[sink]]
name = "out"
kind = "stdout"
"#;

    fn item(title: &str, summary: &str) -> Item {
        Item {
            feed: "wire".into(),
            id: "1".into(),
            title: title.into(),
            summary: summary.into(),
            link: Some("https://news.example.org/1".into()),
            content: String::new(),
            published: None,
            authors: Vec::new(),
            categories: Vec::new(),
        }
    }

    #[test]
    fn only_short_half_matched_items_of_opted_in_feeds() {
        let runtime = crate::runtime::from_source(Path::new("w.toml"), CONFIG)
            .unwrap_or_else(|e| panic!("{e}"));
        let (wire, plain) = (&runtime.feeds[0], &runtime.feeds[1]);
        let half = item("Ferry line to reopen", "");
        assert_eq!(
            wanted(&runtime, wire, &half).as_deref(),
            Some("https://news.example.org/1")
        );
        assert_eq!(wanted(&runtime, plain, &half), None, "feed did not opt in");
        assert_eq!(
            wanted(&runtime, wire, &item("Rain in the hills", "")),
            None,
            "no term of any rule"
        );
        let whole = item("Ferry line to reopen at the northern quay", "");
        assert_eq!(wanted(&runtime, wire, &whole), None, "already matches");
        let long = item("Ferry line to reopen", &"Board members met. ".repeat(30));
        assert_eq!(
            wanted(&runtime, wire, &long),
            None,
            "the feed gave the text"
        );
        let mut no_link = half.clone();
        no_link.link = Some("ftp://news.example.org/1".into());
        assert_eq!(wanted(&runtime, wire, &no_link), None);

        let read = with_article(&half, "Repairs to the northern quay are done.");
        assert_eq!(runtime.ruleset.matches(&read).len(), 1);
    }
}
