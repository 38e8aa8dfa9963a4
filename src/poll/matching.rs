//! The match stage: which rules an item raises alerts for (within each rule's feed and tag
//! scope), with their ids and payloads, and what finds the item's story.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};

use crate::config::FeedConfig;
use crate::model::{AlertId, Item, NewAlert, payload};
use crate::runtime::Runtime;
use crate::story::{Fingerprinter, StoryKey};

/// An edit of an item seen before: its previous headline and the hash of its new text.
#[derive(Debug, Clone, Copy)]
pub struct Edit<'a> {
    pub previous_title: &'a str,
    pub text_hash: i64,
}

/// The matches of `item` by rules that apply to `feed`, as alerts. An `edit` keeps only the
/// rules with `realert_on_update`, gives each alert an id of its own for this version of the
/// text and marks the payload as an update.
pub fn alerts_for(
    runtime: &Runtime,
    feed: &FeedConfig,
    item: &Item,
    now: DateTime<Utc>,
    edit: Option<Edit<'_>>,
) -> Vec<NewAlert> {
    alerts(runtime, feed, item, item, now, edit)
}

/// The matches of `read` (`item` with its article's text, `poll::article::with_article`) as
/// alerts about `item`: ids and payload fields are the item's as the feed gave it, the matched
/// terms are what the rule found with the article, and the payload says the article was read.
pub fn alerts_after_article(
    runtime: &Runtime,
    feed: &FeedConfig,
    item: &Item,
    read: &Item,
    now: DateTime<Utc>,
) -> Vec<NewAlert> {
    let mut alerts = alerts(runtime, feed, read, item, now, None);
    for alert in &mut alerts {
        alert.payload = payload::mark_article(&alert.payload);
    }
    alerts
}

/// Matches `matched`, and renders each alert about `item`.
fn alerts(
    runtime: &Runtime,
    feed: &FeedConfig,
    matched: &Item,
    item: &Item,
    now: DateTime<Utc>,
    edit: Option<Edit<'_>>,
) -> Vec<NewAlert> {
    runtime
        .ruleset
        .matches(matched)
        .into_iter()
        .filter_map(|m| {
            let rule = runtime.rule(&m.rule)?;
            // Per-rule feed/tag scope (issue 4).
            if !rule.applies_to(feed) || (edit.is_some() && !rule.realert_on_update) {
                return None;
            }
            crate::service::metrics::rule_matched(&rule.name);
            let id = match edit {
                None => AlertId::for_item(&rule.name, &feed.name, &item.id),
                Some(edit) => AlertId::for_edit(&rule.name, &feed.name, &item.id, edit.text_hash),
            };
            let mut payload =
                payload::render(&id, &rule.name, &m.terms, item, now, rule.priority.as_str());
            if let Some(edit) = edit {
                payload = payload::mark_update(&payload, edit.previous_title);
            }
            Some(NewAlert {
                id,
                rule: rule.name.clone(),
                payload,
                sinks: rule.notify.clone(),
                story_update_after: rule.story_updates,
            })
        })
        .collect()
}

/// What finds an item's story: its headline-and-lead signature, its canonical link and, with
/// `by_names`, the names it mentions.
pub fn story_key(item: &Item, by_names: bool) -> StoryKey {
    static FINGERPRINTER: LazyLock<Fingerprinter> = LazyLock::new(Fingerprinter::default);
    let lead = if item.summary.is_empty() {
        &item.content
    } else {
        &item.summary
    };
    StoryKey {
        signature: FINGERPRINTER.signature(&item.title, lead),
        // A link to a site's front page says nothing about which story an item is.
        link: item.link.clone().filter(|l| {
            url::Url::parse(l).is_ok_and(|u| u.path().len() > 1 || u.query().is_some())
        }),
        // The data is embedded and checked by tests; should it ever fail to compile, stories
        // still form by links and wording, so the item is not held up.
        entities: if by_names {
            crate::entities::recognizer()
                .map(|r| r.recognize(&item.title, lead))
                .unwrap_or_default()
        } else {
            Default::default()
        },
        published: item.published.map(|t| t.timestamp()),
        lang: crate::entities::language(&item.title, lead),
    }
}
