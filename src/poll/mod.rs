//! One poll of one feed, as a recipe of stages (the way Miniflux's `RefreshFeed` reads):
//!
//! 1. **fetch** — `crate::feed::Fetcher`, async, run by the daemon with the fetch slots held;
//! 2. **parse** — [`parse()`]: the body into items (`crate::feed::parse_document`);
//! 3. **classify** — [`classify`]: new, back catalogue, edited, merely listed again;
//! 4. **match** — [`matching`]: the rules' alerts for each item, with ids and payloads;
//! 5. **health** — [`health`]: the feed's incidents (broken, stale, gone, recovered);
//! 6. **schedule** — [`schedule`]: when the feed is next due;
//! 7. **record** — one transaction ([`PollStore::record_poll`]), in which `crate::story`
//!    decides which story each alerting item joins and whether it alerts.
//!
//! [`settle`] runs stages 2–7 in that order; each stage is a function with plain inputs and
//! outputs. Everything here is synchronous: the daemon calls it on the blocking pool.
//!
//! A feed with `read_articles` is settled in two halves, [`prepare`] (stages 2–6) and
//! [`finish`] (record): the match stage names the new items worth a second look
//! ([`article`]), the daemon fetches their pages between the halves, and [`finish`] matches
//! those items again with the pages' text before recording.

pub mod article;
pub mod classify;
pub mod health;
pub mod matching;
pub mod schedule;

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tracing::{debug, info, warn};

use crate::config::FeedConfig;
use crate::feed::{FetchError, FetchOutcome, ParsedFeed, Validators};
use crate::runtime::Runtime;
use crate::store::{
    EditedItem, FeedState, FetchRecord, ItemText, NewItem, PollRecord, PollStore, RecordSummary,
    StoreError,
};
use crate::story::StoryKey;
use crate::text::redact_url;
use classify::{Classified, FeedHistory};
use matching::Edit;

/// What happened to one feed in one pass.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedOutcome {
    Recorded(RecordSummary),
    /// 304: unchanged since the last fetch; nothing parsed, only the feed's state written.
    NotModified,
    /// Fetch or parse failed; the reason is in the store and the log.
    Failed(String),
    /// The feed answered 410 Gone, now or earlier: it is not polled any more.
    Gone,
    /// Shutdown began before the poll could start.
    NotStarted,
    /// Another replica sharing the database is polling the feed, or has polled it since this
    /// one planned to: not fetched here (`next_due_at` says when to look again).
    Elsewhere,
}

/// A finished poll: what happened and when the feed is next due (unix seconds; `None` for a
/// feed that is gone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Polled {
    pub outcome: FeedOutcome,
    pub next_due_at: Option<i64>,
    /// Feed events (broken, stale, gone, recovered) this poll put in the outbox.
    pub feed_events: usize,
    /// The new items' text, for the dashboard's rule workbench; the caller keeps it after
    /// the poll is recorded (`Store::record_item_texts`).
    pub texts: Vec<ItemText>,
}

/// A poll settled up to its record: what [`finish`] writes, and the new items whose articles
/// may complete a rule's match ([`Prepared::wanted`]).
#[derive(Debug)]
pub struct Prepared {
    record: PollRecord,
    outcome: FeedOutcome,
    next_due_at: Option<i64>,
    now: DateTime<Utc>,
    /// New items a rule half matched, for a feed with `read_articles`, in feed order.
    pub wanted: Vec<article::Wanted>,
    /// The new items' text, for the dashboard's workbench (passed on in `Polled::texts`).
    texts: Vec<ItemText>,
}

/// Turns a fetch into the feed's new state, its new items, alerts and feed events, writes them
/// in one transaction, and says when the feed is next due. No article is read.
pub fn settle(
    store: &impl PollStore,
    runtime: &Runtime,
    feed: &FeedConfig,
    state: FeedState,
    fetched: Result<FetchOutcome, FetchError>,
    now: DateTime<Utc>,
) -> Result<Polled, StoreError> {
    let prepared = prepare(store, runtime, feed, state, fetched, now)?;
    finish(store, runtime, feed, prepared, &HashMap::new())
}

/// The first half of [`settle`]: every stage but the record.
pub fn prepare(
    store: &impl PollStore,
    runtime: &Runtime,
    feed: &FeedConfig,
    mut state: FeedState,
    fetched: Result<FetchOutcome, FetchError>,
    now: DateTime<Utc>,
) -> Result<Prepared, StoreError> {
    let daemon = &runtime.daemon;
    let at = now.timestamp();
    let mut record = FetchRecord {
        feed: feed.name.clone(),
        url: feed.url.clone(),
        at,
        error: None,
        items: Vec::new(),
        listed: Vec::new(),
        edits: Vec::new(),
    };
    let ttl = |state: &FeedState| {
        state
            .ttl
            .and_then(|secs| u64::try_from(secs).ok())
            .map(Duration::from_secs)
    };
    let mut texts = Vec::new();
    let mut wanted = Vec::new();
    let (outcome, events, next_in) = match fetched {
        Ok(fetched) => {
            let info = fetched.info().clone();
            note_moved(&mut state, feed, info.moved_to.as_deref());
            match parse(runtime, feed, fetched) {
                Ok(parsed) => {
                    let (new_items, outcome) = match parsed {
                        None => (0, FeedOutcome::NotModified),
                        Some((parsed, validators)) => {
                            // Validators are kept only with a body that parsed: otherwise the
                            // next poll would get a 304 for content we never read.
                            state.etag = validators.etag;
                            state.last_modified = validators.last_modified;
                            state.ttl = parsed.ttl.map(|t| t.as_secs() as i64);
                            state.skipped = parsed.skipped.first().map(|first| {
                                format!("{} item(s) skipped: {first}", parsed.skipped.len())
                            });
                            let fetched_items = parsed.items.len();
                            let seen = {
                                let ids: Vec<String> =
                                    parsed.items.iter().map(|i| i.id.clone()).collect();
                                store.seen_items(&feed.name, &ids)?
                            };
                            let history = FeedHistory {
                                last_success: store.last_success_at(&feed.name)?,
                                age_cutoff: classify::age_cutoff(daemon.max_age, now),
                            };
                            let mut sorted = classify::classify(&parsed.items, &seen, history);
                            record.listed = std::mem::take(&mut sorted.listed);
                            texts = sorted
                                .new
                                .iter()
                                .map(|new| ItemText::of(new.item, at))
                                .collect();
                            (record.items, record.edits, wanted) =
                                to_record(runtime, feed, sorted, now);
                            crate::service::metrics::items_seen(fetched_items, record.items.len());
                            let count = record.items.len();
                            (count, FeedOutcome::Recorded(RecordSummary::default()))
                        }
                    };
                    let events = health::on_success(
                        &mut state,
                        feed,
                        daemon,
                        health::Success {
                            status: info.status,
                            new_items,
                        },
                        at,
                    );
                    let next = schedule::after_success(feed, daemon, info.fresh_for, ttl(&state));
                    (outcome, events, Some(next))
                }
                Err(reason) => {
                    let events = health::on_failure(
                        &mut state,
                        feed,
                        daemon,
                        &reason,
                        info.status,
                        false,
                        at,
                    );
                    let next =
                        schedule::after_failure(feed, daemon, state.consecutive_failures, None);
                    (FeedOutcome::Failed(reason), events, Some(next))
                }
            }
        }
        Err(error) => {
            let reason = error.to_string();
            let (status, retry_after) = match &error {
                FetchError::Http {
                    status,
                    retry_after,
                } => (Some(status.as_u16()), *retry_after),
                _ => (None, None),
            };
            let gone = status == Some(410);
            let events = health::on_failure(&mut state, feed, daemon, &reason, status, gone, at);
            if gone {
                (FeedOutcome::Gone, events, None)
            } else {
                let next =
                    schedule::after_failure(feed, daemon, state.consecutive_failures, retry_after);
                (FeedOutcome::Failed(reason), events, Some(next))
            }
        }
    };
    for event in &events {
        if event.kind == "recovered" {
            info!(feed = %feed.name, event = %event.kind, "{}", event.title);
        } else {
            warn!(feed = %feed.name, event = %event.kind, "{}", event.title);
        }
    }
    if let FeedOutcome::Failed(reason) = &outcome {
        record.error = Some(reason.clone());
    }
    state.next_due_at = next_in.map(|d| at.saturating_add(d.as_secs() as i64));
    let next_due_at = state.next_due_at;
    Ok(Prepared {
        record: PollRecord {
            fetch: record,
            state,
            events,
        },
        outcome,
        next_due_at,
        now,
        wanted,
        texts,
    })
}

/// The second half of [`settle`]: the wanted items whose article text is in `articles` (by
/// link) are matched again with it, and the poll is recorded in one transaction.
pub fn finish(
    store: &impl PollStore,
    runtime: &Runtime,
    feed: &FeedConfig,
    prepared: Prepared,
    articles: &HashMap<String, String>,
) -> Result<Polled, StoreError> {
    let Prepared {
        mut record,
        outcome,
        next_due_at,
        now,
        wanted,
        texts,
    } = prepared;
    for wanted in wanted {
        let Some(text) = articles.get(&wanted.link) else {
            continue;
        };
        let read = article::with_article(&wanted.item, text);
        let alerts = matching::alerts_after_article(runtime, feed, &wanted.item, &read, now);
        if alerts.is_empty() {
            debug!(feed = %feed.name, item = %wanted.item.id, "article read: still no match");
            continue;
        }
        if let Some(new) = record.fetch.items.get_mut(wanted.index) {
            info!(feed = %feed.name, item = %wanted.item.id, alerts = alerts.len(), "matched after reading the article");
            // The story is found by what the feed said, like every other report's.
            new.story = matching::story_key(&wanted.item, runtime.daemon.story_by_names);
            new.alerts = alerts;
        }
    }
    let feed_events = record.events.len();
    let summary = store.record_poll(&record)?;
    let outcome = match outcome {
        FeedOutcome::Recorded(_) => FeedOutcome::Recorded(summary),
        other => other,
    };
    // Only what was recorded: a poll whose record failed returned above.
    Ok(Polled {
        outcome,
        next_due_at,
        feed_events,
        texts,
    })
}

/// The parse stage: `None` for a 304, the items and the validators that came with them
/// otherwise, or the one-line reason the body could not be read.
pub fn parse(
    runtime: &Runtime,
    feed: &FeedConfig,
    fetched: FetchOutcome,
) -> Result<Option<(ParsedFeed, Validators)>, String> {
    match fetched {
        FetchOutcome::NotModified(_) => Ok(None),
        FetchOutcome::Fetched {
            body,
            validators,
            info,
        } => {
            // Relative item links resolve against the feed's own URL.
            let base = feed.url.starts_with("http").then_some(feed.url.as_str());
            crate::feed::parse_document(
                &feed.name,
                base,
                &body,
                info.content_type.as_deref(),
                &runtime.daemon.strip_params,
            )
            .map(|parsed| Some((parsed, validators)))
            .map_err(|e| e.to_string())
        }
    }
}

/// Runs the match stage over classified items and shapes what the record stage writes. Only
/// items that raise alerts get a story key: stories exist to alert once per story, so their
/// cost follows the matches, not the feeds' volume.
fn to_record(
    runtime: &Runtime,
    feed: &FeedConfig,
    sorted: Classified<'_>,
    now: DateTime<Utc>,
) -> (Vec<NewItem>, Vec<EditedItem>, Vec<article::Wanted>) {
    let story = |item, alerts: &[_]| {
        if alerts.is_empty() {
            StoryKey::default()
        } else {
            matching::story_key(item, runtime.daemon.story_by_names)
        }
    };
    let realert = runtime.rules.iter().any(|r| r.realert_on_update);
    let edits = sorted
        .edited
        .into_iter()
        .map(|edited| {
            let alerts = if realert && edited.may_alert {
                let edit = Edit {
                    previous_title: &edited.before.title,
                    text_hash: edited.text_hash,
                };
                matching::alerts_for(runtime, feed, edited.item, now, Some(edit))
            } else {
                Vec::new()
            };
            EditedItem {
                id: edited.item.id.clone(),
                link: edited.item.link.clone(),
                title: edited.item.title.clone(),
                old_hash: edited.before.text_hash,
                text_hash: edited.text_hash,
                title_changed: edited.title_changed,
                story: story(edited.item, &alerts),
                alerts,
            }
        })
        .collect();
    let mut wanted = Vec::new();
    let items = sorted
        .new
        .into_iter()
        .enumerate()
        .map(|(index, new)| {
            let alerts = if new.too_old {
                debug!(feed = %feed.name, item = %new.item.id, "older than max_age: recorded without alerting");
                Vec::new()
            } else {
                matching::alerts_for(runtime, feed, new.item, now, None)
            };
            if alerts.is_empty()
                && !new.too_old
                && let Some(link) = article::wanted(runtime, feed, new.item)
            {
                wanted.push(article::Wanted {
                    index,
                    link,
                    item: new.item.clone(),
                });
            }
            NewItem {
                id: new.item.id.clone(),
                link: new.item.link.clone(),
                title: new.item.title.clone(),
                published: new.item.published.map(|p| p.timestamp()),
                too_old: new.too_old,
                text_hash: Some(new.text_hash),
                story: story(new.item, &alerts),
                alerts,
            }
        })
        .collect();
    (items, edits, wanted)
}

/// Records (and logs, once per new target) where permanent redirects now lead.
fn note_moved(state: &mut FeedState, feed: &FeedConfig, moved_to: Option<&str>) {
    if let Some(target) = moved_to
        && state.moved_to.as_deref() != Some(target)
    {
        warn!(
            feed = %feed.name,
            "feed {:?} has moved permanently to {}; update its url in the config",
            feed.name,
            redact_url(target)
        );
    }
    state.moved_to = moved_to.map(str::to_owned);
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::HashMap;
    use std::path::Path;

    use chrono::TimeZone;

    use super::*;
    use crate::feed::ResponseInfo;
    use crate::store::SeenItem;

    /// The recipe against an in-memory store: what a second backend would have to provide.
    #[derive(Default)]
    struct Memory {
        seen: HashMap<String, SeenItem>,
        last_success: Option<i64>,
        recorded: RefCell<Vec<PollRecord>>,
    }

    impl PollStore for Memory {
        fn seen_items(
            &self,
            _feed: &str,
            ids: &[String],
        ) -> crate::store::Result<HashMap<String, SeenItem>> {
            Ok(ids
                .iter()
                .filter_map(|id| self.seen.get(id).map(|s| (id.clone(), s.clone())))
                .collect())
        }
        fn last_success_at(&self, _feed: &str) -> crate::store::Result<Option<i64>> {
            Ok(self.last_success)
        }
        fn record_poll(&self, poll: &PollRecord) -> crate::store::Result<RecordSummary> {
            self.recorded.borrow_mut().push(poll.clone());
            Ok(RecordSummary {
                new_items: poll.fetch.items.len(),
                new_alerts: poll.fetch.items.iter().map(|i| i.alerts.len()).sum(),
                ..RecordSummary::default()
            })
        }
    }

    const CONFIG: &str = r#"
[[feed]]
name = "wire"
url = "https://news.example.org/rss"
interval = "10m"

[[rule]]
name = "accords"
query = '"Abraham Accords"'
notify = ["out"]

[[sink]]
name = "out"
kind = "stdout"
"#;

    fn rss(items: &[(&str, &str, &str)]) -> Vec<u8> {
        let mut body =
            String::from(r#"<?xml version="1.0"?><rss version="2.0"><channel><title>w</title>"#);
        for (guid, title, date) in items {
            body.push_str(&format!(
                "<item><guid>{guid}</guid><title>{title}</title><link>https://news.example.org/{guid}</link><pubDate>{date}</pubDate></item>"
            ));
        }
        body.push_str("</channel></rss>");
        body.into_bytes()
    }

    fn fetched(body: Vec<u8>) -> Result<FetchOutcome, FetchError> {
        Ok(FetchOutcome::Fetched {
            body,
            validators: Validators {
                etag: Some("\"v2\"".into()),
                last_modified: None,
            },
            info: ResponseInfo {
                status: Some(200),
                moved_to: None,
                fresh_for: None,
                content_type: Some("application/rss+xml".into()),
            },
        })
    }

    #[test]
    fn a_fetch_goes_through_every_stage_to_one_record() {
        let runtime = crate::runtime::from_source(Path::new("w.toml"), CONFIG)
            .unwrap_or_else(|e| panic!("{e}"));
        let feed = runtime.feeds[0].clone();
        let now = Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap();
        let store = Memory {
            seen: HashMap::from([(
                "old".to_string(),
                SeenItem {
                    title: "Earlier report".into(),
                    text_hash: None,
                    too_old: false,
                },
            )]),
            last_success: Some(now.timestamp() - 600),
            ..Memory::default()
        };
        let body = rss(&[
            (
                "kz",
                "Kazakhstan joins the Abraham Accords",
                "Fri, 04 Dec 2026 11:30:00 GMT",
            ),
            (
                "rain",
                "Rain in the capital",
                "Fri, 04 Dec 2026 11:40:00 GMT",
            ),
            (
                "archive",
                "Abraham Accords: five years on",
                "Mon, 02 Nov 2026 10:00:00 GMT",
            ),
            ("old", "Earlier report", "Fri, 04 Dec 2026 09:00:00 GMT"),
        ]);
        let state = FeedState {
            name: "wire".into(),
            url: feed.url.clone(),
            ..FeedState::default()
        };
        let polled = settle(&store, &runtime, &feed, state, fetched(body), now).unwrap();

        let recorded = store.recorded.borrow();
        assert_eq!(recorded.len(), 1, "one poll, one record");
        let record = &recorded[0];
        let new: Vec<(&str, bool, usize)> = record
            .fetch
            .items
            .iter()
            .map(|i| (i.id.as_str(), i.too_old, i.alerts.len()))
            .collect();
        // Classified: the archive item is back catalogue (old, and older than the last
        // fetch); matched: only the Kazakhstan item raises the rule's alert.
        assert_eq!(
            new,
            [("kz", false, 1), ("rain", false, 0), ("archive", true, 0)]
        );
        let alert = &record.fetch.items[0].alerts[0];
        assert_eq!(
            alert.id,
            crate::model::AlertId::for_item("accords", "wire", "kz")
        );
        assert!(
            record.fetch.items[0].story.link.is_some(),
            "an alerting item gets a story key"
        );
        assert!(
            record.fetch.items[1].story.link.is_none(),
            "a silent one does not"
        );
        assert_eq!(record.fetch.listed, ["old"]);
        // Health and schedule: validators kept, next poll about one interval away.
        assert_eq!(record.state.etag.as_deref(), Some("\"v2\""));
        let next = polled.next_due_at.unwrap() - now.timestamp();
        assert!((540..=660).contains(&next), "next poll in {next}s");
        assert_eq!(
            polled.outcome,
            FeedOutcome::Recorded(RecordSummary {
                new_items: 3,
                new_alerts: 1,
                ..RecordSummary::default()
            })
        );
    }

    #[test]
    fn a_failed_fetch_records_the_reason_and_backs_off() {
        let runtime = crate::runtime::from_source(Path::new("w.toml"), CONFIG)
            .unwrap_or_else(|e| panic!("{e}"));
        let feed = runtime.feeds[0].clone();
        let now = Utc.with_ymd_and_hms(2026, 12, 4, 12, 0, 0).unwrap();
        let store = Memory::default();
        let state = FeedState {
            name: "wire".into(),
            url: feed.url.clone(),
            consecutive_failures: 2,
            ..FeedState::default()
        };
        let body = b"<html>not a feed</html>".to_vec();
        let polled = settle(&store, &runtime, &feed, state, fetched(body), now).unwrap();
        let FeedOutcome::Failed(reason) = &polled.outcome else {
            panic!("{:?}", polled.outcome);
        };
        let record = &store.recorded.borrow()[0];
        assert_eq!(record.fetch.error.as_deref(), Some(reason.as_str()));
        assert!(record.fetch.items.is_empty());
        assert_eq!(record.state.consecutive_failures, 3);
        assert_eq!(
            record.state.etag, None,
            "validators of an unread body are not kept"
        );
        // Third failure in a row: the 10-minute interval doubled twice, ±10%.
        let next = polled.next_due_at.unwrap() - now.timestamp();
        assert!((2160..=2640).contains(&next), "next poll in {next}s");
    }
}
