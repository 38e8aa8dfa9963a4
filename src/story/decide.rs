//! The story decisions, taken inside the recording transaction: which story an alerting item
//! joins (or opens), and whether a rule's match raises the story's alert, its one follow-up,
//! or only adds a source.
//!
//! The database is reached through [`StoryLedger`], the handful of reads and writes these
//! decisions need; the store implements it over its transaction and only runs the SQL. Keeping
//! the rules here means a second backend decides exactly as SQLite does, and the decisions are
//! unit-tested against an in-memory ledger.

use crate::model::{AlertId, NewAlert, StorySource, payload};
use crate::story::{Signature, StoryKey, StoryPolicy, fingerprint};

/// A story's row id.
pub type StoryId = i64;

/// What the story decisions read and write, within one transaction.
pub trait StoryLedger {
    type Error;

    /// The lowest-numbered story still open (last report at or after `open_since`) that
    /// holds `key`.
    fn story_with_key(&mut self, key: i64, open_since: i64)
    -> Result<Option<StoryId>, Self::Error>;
    /// Open stories sharing band keys with an item, most promising first, each with the
    /// signatures of some of its reports (the first ones).
    fn candidates(
        &mut self,
        band_keys: &[i64],
        open_since: i64,
    ) -> Result<Vec<(StoryId, Vec<Signature>)>, Self::Error>;
    /// Starts a story with this report.
    fn open_story(
        &mut self,
        at: i64,
        title: &str,
        link: Option<&str>,
    ) -> Result<StoryId, Self::Error>;
    /// Marks `story` as reported again at `at` (it stays open longer).
    fn touch_story(&mut self, story: StoryId, at: i64) -> Result<(), Self::Error>;
    /// Records the item `(feed, item_id)` as a report of `story`, with its keys.
    fn join_story(
        &mut self,
        story: StoryId,
        feed: &str,
        item_id: &str,
        keys: &[i64],
        signature: Option<&Signature>,
    ) -> Result<(), Self::Error>;
    /// Whether `rule` has already raised `story`'s alert.
    fn rule_alerted(&mut self, rule: &str, story: StoryId) -> Result<bool, Self::Error>;
    /// How many distinct feeds have reported `story`.
    fn outlet_count(&mut self, story: StoryId) -> Result<u64, Self::Error>;
    /// Reports of `story`, first first (one per feed).
    fn sources(&mut self, story: StoryId) -> Result<Vec<StorySource>, Self::Error>;
}

/// Band keys are 32-bit values (their SQLite integers take 4 bytes, not 8); link keys are
/// moved above 2³² so the two kinds never collide.
fn band_key(key: i64) -> i64 {
    key & 0xFFFF_FFFF
}

fn link_key(link: &str) -> i64 {
    // The fingerprints' stable hash: keys are stored, so std's hasher (free to change) won't do.
    let h = fingerprint::stable_hash(link.as_bytes());
    // Keep 62 bits and set bit 62: positive, and always ≥ 2³².
    ((h >> 2) | (1 << 62)) as i64
}

/// Finds the story the item `(feed, item_id)` belongs to, or starts a new one, and records
/// the membership. Returns the story and whether the item joined an existing one.
///
/// The same canonical link is the same story; otherwise the open story with a report at
/// least `policy.threshold` similar (estimated Jaccard of content words), the closest.
pub fn assign<L: StoryLedger>(
    ledger: &mut L,
    feed: &str,
    item_id: &str,
    title: &str,
    key: &StoryKey,
    at: i64,
    policy: StoryPolicy,
) -> Result<(StoryId, bool), L::Error> {
    let open_since = at - policy.window_secs;
    let link_key = key.link.as_deref().map(link_key);
    let band_keys: Vec<i64> = key
        .signature
        .as_ref()
        .map(|s| s.band_keys().iter().map(|&k| band_key(k)).collect())
        .unwrap_or_default();
    let mut story = None;
    if let Some(lk) = link_key {
        story = ledger.story_with_key(lk, open_since)?;
    }
    if story.is_none()
        && let Some(signature) = &key.signature
    {
        story = closest(
            ledger.candidates(&band_keys, open_since)?,
            signature,
            policy.threshold,
        );
    }
    let joined = story.is_some();
    let story = match story {
        Some(story) => {
            ledger.touch_story(story, at)?;
            story
        }
        None => ledger.open_story(at, title, key.link.as_deref())?,
    };
    let keys: Vec<i64> = band_keys.iter().copied().chain(link_key).collect();
    ledger.join_story(story, feed, item_id, &keys, key.signature.as_ref())?;
    Ok((story, joined))
}

/// The candidate with a report closest to `signature`, if any is at least `threshold` close.
fn closest(
    candidates: Vec<(StoryId, Vec<Signature>)>,
    signature: &Signature,
    threshold: f64,
) -> Option<StoryId> {
    let mut best: Option<(f64, StoryId)> = None;
    for (story, reports) in candidates {
        for other in &reports {
            let similarity = signature.similarity(other);
            if similarity >= threshold && best.is_none_or(|(b, _)| similarity > b) {
                best = Some((similarity, story));
            }
        }
    }
    best.map(|(_, story)| story)
}

/// What a rule's match on a new report of `story` raises.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The story's alert: the first match of this rule on the story.
    Alert,
    /// Another outlet's report of a story the rule already alerted on, which brings the
    /// story to its `story_updates` threshold: the one follow-up, listing the sources so far.
    FollowUp { id: AlertId, payload: String },
    /// Another outlet's report of a story the rule already alerted on: a source, no alert.
    Source,
}

/// Decides what `alert` (a rule's match on a new item that is a report of `story`) raises.
pub fn decide<L: StoryLedger>(
    ledger: &mut L,
    alert: &NewAlert,
    story: StoryId,
) -> Result<Decision, L::Error> {
    if !ledger.rule_alerted(&alert.rule, story)? {
        return Ok(Decision::Alert);
    }
    if let Some(after) = alert.story_update_after
        && ledger.outlet_count(story)? == u64::from(after) + 1
    {
        let sources = ledger.sources(story)?;
        let id = AlertId::story_update(&alert.id);
        let payload = payload::story_update(&alert.payload, &id, &sources);
        return Ok(Decision::FollowUp { id, payload });
    }
    Ok(Decision::Source)
}

/// What kind of alert a `realert_on_update` match on an edited item raises, if any: a rule
/// that has not alerted on the story yet (the edit made it match) raises the story's alert
/// (`first`); one that has alerts again only for a new headline (`edit`).
pub fn decide_edit<L: StoryLedger>(
    ledger: &mut L,
    alert: &NewAlert,
    story: StoryId,
    title_changed: bool,
) -> Result<Option<&'static str>, L::Error> {
    Ok(if !ledger.rule_alerted(&alert.rule, story)? {
        Some("first")
    } else if title_changed {
        Some("edit")
    } else {
        None
    })
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};
    use std::convert::Infallible;

    use super::*;
    use crate::story::Fingerprinter;

    /// An in-memory ledger: the decisions without a database.
    #[derive(Default)]
    struct Memory {
        stories: Vec<(i64, String)>,
        keys: HashMap<i64, StoryId>,
        reports: HashMap<StoryId, Vec<(String, Option<Signature>)>>,
        alerted: HashSet<(String, StoryId)>,
    }

    impl StoryLedger for Memory {
        type Error = Infallible;
        fn story_with_key(&mut self, key: i64, _: i64) -> Result<Option<StoryId>, Infallible> {
            Ok(self.keys.get(&key).copied())
        }
        fn candidates(
            &mut self,
            band_keys: &[i64],
            _: i64,
        ) -> Result<Vec<(StoryId, Vec<Signature>)>, Infallible> {
            let stories: HashSet<StoryId> = band_keys
                .iter()
                .filter_map(|k| self.keys.get(k))
                .copied()
                .collect();
            Ok(stories
                .into_iter()
                .map(|s| {
                    let sigs = self.reports[&s]
                        .iter()
                        .filter_map(|r| r.1.clone())
                        .collect();
                    (s, sigs)
                })
                .collect())
        }
        fn open_story(&mut self, at: i64, title: &str, _: Option<&str>) -> Result<i64, Infallible> {
            self.stories.push((at, title.into()));
            Ok(self.stories.len() as i64)
        }
        fn touch_story(&mut self, _: StoryId, _: i64) -> Result<(), Infallible> {
            Ok(())
        }
        fn join_story(
            &mut self,
            story: StoryId,
            feed: &str,
            _: &str,
            keys: &[i64],
            signature: Option<&Signature>,
        ) -> Result<(), Infallible> {
            for k in keys {
                self.keys.entry(*k).or_insert(story);
            }
            self.reports
                .entry(story)
                .or_default()
                .push((feed.into(), signature.cloned()));
            Ok(())
        }
        fn rule_alerted(&mut self, rule: &str, story: StoryId) -> Result<bool, Infallible> {
            Ok(self.alerted.contains(&(rule.to_string(), story)))
        }
        fn outlet_count(&mut self, story: StoryId) -> Result<u64, Infallible> {
            let feeds: HashSet<&String> = self.reports[&story].iter().map(|r| &r.0).collect();
            Ok(feeds.len() as u64)
        }
        fn sources(&mut self, story: StoryId) -> Result<Vec<StorySource>, Infallible> {
            Ok(self.reports[&story]
                .iter()
                .map(|r| StorySource {
                    feed: r.0.clone(),
                    title: String::new(),
                    link: None,
                    seen_at: 0,
                })
                .collect())
        }
    }

    fn key(title: &str, lead: &str, link: Option<&str>) -> StoryKey {
        StoryKey {
            signature: Fingerprinter::default().signature(title, lead),
            link: link.map(str::to_owned),
        }
    }

    fn alert(rule: &str, after: Option<u32>) -> NewAlert {
        NewAlert {
            id: AlertId::for_item(rule, "f", "i"),
            rule: rule.into(),
            payload: "{}".into(),
            sinks: vec!["out".into()],
            story_update_after: after,
        }
    }

    #[test]
    fn a_shared_link_or_close_wording_joins_and_other_news_opens_a_story() {
        let mut ledger = Memory::default();
        let policy = StoryPolicy::default();
        let lead = "Kazakhstan will join the Abraham Accords, the foreign ministry in Astana \
                    confirmed on Thursday after talks in Washington with envoys";
        let first = key(
            "Kazakhstan to join the Abraham Accords",
            lead,
            Some("https://a.example/1"),
        );
        let (story, joined) = assign(&mut ledger, "a", "1", "t", &first, 100, policy).unwrap();
        assert!(!joined);
        let same_link = key(
            "Unrelated words entirely",
            "nothing alike here at all",
            Some("https://a.example/1"),
        );
        assert_eq!(
            assign(&mut ledger, "b", "2", "t", &same_link, 110, policy).unwrap(),
            (story, true)
        );
        let reworded = key("Kazakhstan joins the Abraham Accords", lead, None);
        assert_eq!(
            assign(&mut ledger, "c", "3", "t", &reworded, 120, policy).unwrap(),
            (story, true)
        );
        let other = key(
            "Snowfall closes roads around Astana",
            "Heavy snow closed the main roads around the capital on Friday, the emergency \
             ministry said, and schools stayed shut",
            None,
        );
        let (second, joined) = assign(&mut ledger, "d", "4", "t", &other, 130, policy).unwrap();
        assert!(!joined);
        assert_ne!(second, story);
    }

    #[test]
    fn a_rule_alerts_once_per_story_then_follows_up_once_at_its_threshold() {
        let mut ledger = Memory::default();
        let policy = StoryPolicy::default();
        let link = Some("https://a.example/story");
        let (story, _) =
            assign(&mut ledger, "one", "1", "t", &key("x", "", link), 1, policy).unwrap();
        let first = alert("r", Some(2));
        assert_eq!(decide(&mut ledger, &first, story).unwrap(), Decision::Alert);
        ledger.alerted.insert(("r".into(), story));
        for (n, feed) in ["two", "three", "four"].into_iter().enumerate() {
            assign(
                &mut ledger,
                feed,
                &n.to_string(),
                "t",
                &key("x", "", link),
                2,
                policy,
            )
            .unwrap();
            let decision = decide(&mut ledger, &first, story).unwrap();
            match (feed, decision) {
                ("three", Decision::FollowUp { id, .. }) => {
                    assert_eq!(id, AlertId::story_update(&first.id))
                }
                ("three", other) => panic!("third outlet: {other:?}"),
                (_, other) => assert_eq!(other, Decision::Source, "{feed}"),
            }
        }
        // Another rule on the same story still raises its own alert.
        assert_eq!(
            decide(&mut ledger, &alert("q", None), story).unwrap(),
            Decision::Alert
        );
        assert_eq!(
            decide_edit(&mut ledger, &first, story, false).unwrap(),
            None
        );
        assert_eq!(
            decide_edit(&mut ledger, &first, story, true).unwrap(),
            Some("edit")
        );
        assert_eq!(
            decide_edit(&mut ledger, &alert("q", None), story, false).unwrap(),
            Some("first")
        );
    }
}
