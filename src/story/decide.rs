//! The story decisions, taken inside the recording transaction: which story an alerting item
//! joins (or opens), and whether a rule's match raises the story's alert, its one follow-up,
//! or only adds a source.
//!
//! The database is reached through [`StoryLedger`], the handful of reads and writes these
//! decisions need; the store implements it over its transaction and only runs the SQL. Keeping
//! the rules here means a second backend decides exactly as SQLite does, and the decisions are
//! unit-tested against an in-memory ledger.

pub use crate::model::JoinedBy;
use crate::model::{AlertId, NewAlert, StorySource, payload};
use crate::story::{Entities, Signature, StoryKey, StoryPolicy, fingerprint};

/// A story's row id.
pub type StoryId = i64;

/// What the story decisions know of one earlier report of a candidate story.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub signature: Option<Signature>,
    pub entities: Entities,
    pub published: Option<i64>,
}

/// What the story decisions read and write, within one transaction.
pub trait StoryLedger {
    type Error;

    /// The lowest-numbered story still open (last report at or after `open_since`) that
    /// holds `key`.
    fn story_with_key(&mut self, key: i64, open_since: i64)
    -> Result<Option<StoryId>, Self::Error>;
    /// Open stories sharing look-up keys (band keys, names) with an item, most promising
    /// first, each with some of its reports (the first ones).
    fn candidates(
        &mut self,
        keys: &[i64],
        open_since: i64,
    ) -> Result<Vec<(StoryId, Vec<Report>)>, Self::Error>;
    /// Starts a story with this report.
    fn open_story(
        &mut self,
        at: i64,
        title: &str,
        link: Option<&str>,
    ) -> Result<StoryId, Self::Error>;
    /// Marks `story` as reported again at `at` (it stays open longer).
    fn touch_story(&mut self, story: StoryId, at: i64) -> Result<(), Self::Error>;
    /// Records the item `(feed, item_id)` as a report of `story`, with its keys, what the
    /// decisions compare it by, and why it joined (`None`: it opened the story).
    fn join_story(&mut self, story: StoryId, report: Membership<'_>) -> Result<(), Self::Error>;
    /// Whether `rule` has already raised `story`'s alert.
    fn rule_alerted(&mut self, rule: &str, story: StoryId) -> Result<bool, Self::Error>;
    /// How many distinct feeds have reported `story`.
    fn outlet_count(&mut self, story: StoryId) -> Result<u64, Self::Error>;
    /// Reports of `story`, first first (one per feed).
    fn sources(&mut self, story: StoryId) -> Result<Vec<StorySource>, Self::Error>;
}

/// One item's membership of a story, as recorded.
#[derive(Debug, Clone, Copy)]
pub struct Membership<'a> {
    pub feed: &'a str,
    pub item_id: &'a str,
    pub keys: &'a [i64],
    pub key: &'a StoryKey,
    pub joined_by: Option<&'a JoinedBy>,
}

/// Band keys are 32-bit values (their SQLite integers take 4 bytes, not 8); link keys are
/// moved above 2³² so the two kinds never collide, and name keys above 2⁶¹.
fn band_key(key: i64) -> i64 {
    key & 0xFFFF_FFFF
}

fn link_key(link: &str) -> i64 {
    // The fingerprints' stable hash: keys are stored, so std's hasher (free to change) won't do.
    let h = fingerprint::stable_hash(link.as_bytes());
    // Keep 62 bits and set bit 62: positive, and always ≥ 2³².
    ((h >> 2) | (1 << 62)) as i64
}

fn entity_key(id: &str) -> i64 {
    // Bit 61 set and bit 62 clear: never a link key, never a band key.
    let h = fingerprint::stable_hash(id.as_bytes());
    ((h >> 3) | (1 << 61)) as i64
}

/// Finds the story the item `(feed, item_id)` belongs to, or starts a new one, and records
/// the membership. Returns the story and, if the item joined an existing one, why.
///
/// The same canonical link is the same story; otherwise the open story with the closest
/// report: by wording (at least `policy.threshold` similar), else by the names both mention
/// (at least `policy.entity_threshold`, published within `policy.entity_window_secs`).
pub fn assign<L: StoryLedger>(
    ledger: &mut L,
    feed: &str,
    item_id: &str,
    title: &str,
    key: &StoryKey,
    at: i64,
    policy: StoryPolicy,
) -> Result<(StoryId, Option<JoinedBy>), L::Error> {
    let open_since = at - policy.window_secs;
    let link_key = key.link.as_deref().map(link_key);
    let band_keys: Vec<i64> = key
        .signature
        .as_ref()
        .map(|s| s.band_keys().iter().map(|&k| band_key(k)).collect())
        .unwrap_or_default();
    let entity_keys: Vec<i64> = key.entities.keys().map(entity_key).collect();
    let mut found = None;
    if let Some(lk) = link_key {
        found = ledger
            .story_with_key(lk, open_since)?
            .map(|story| (story, JoinedBy::Link));
    }
    if found.is_none() {
        let probe: Vec<i64> = band_keys.iter().chain(&entity_keys).copied().collect();
        if !probe.is_empty() {
            found = closest(ledger.candidates(&probe, open_since)?, key, at, policy);
        }
    }
    let (story, joined_by) = match found {
        Some((story, why)) => {
            ledger.touch_story(story, at)?;
            (story, Some(why))
        }
        None => (ledger.open_story(at, title, key.link.as_deref())?, None),
    };
    let keys: Vec<i64> = band_keys
        .iter()
        .chain(&entity_keys)
        .copied()
        .chain(link_key)
        .collect();
    ledger.join_story(
        story,
        Membership {
            feed,
            item_id,
            keys: &keys,
            key,
            joined_by: joined_by.as_ref(),
        },
    )?;
    Ok((story, joined_by))
}

/// The candidate story with the report closest to the item: close wording first (the surer
/// sign), else the most names in common. `None` when no report is close enough.
fn closest(
    candidates: Vec<(StoryId, Vec<Report>)>,
    key: &StoryKey,
    at: i64,
    policy: StoryPolicy,
) -> Option<(StoryId, JoinedBy)> {
    let mut by_text: Option<(f64, StoryId)> = None;
    let mut by_names: Option<(f64, StoryId, Vec<String>)> = None;
    let published = key.published.unwrap_or(at);
    for (story, reports) in candidates {
        for report in &reports {
            if let (Some(mine), Some(theirs)) = (&key.signature, &report.signature) {
                let similarity = mine.similarity(theirs);
                if similarity >= policy.threshold && by_text.is_none_or(|(b, _)| similarity > b) {
                    by_text = Some((similarity, story));
                }
            }
            if by_text.is_some() {
                continue;
            }
            let apart = (published - report.published.unwrap_or(published)).abs();
            if apart > policy.entity_window_secs {
                continue;
            }
            let overlap = key.entities.compare(&report.entities);
            // One specific name at least (a person, an organisation, a number): countries
            // and the kind of event alone are what every story of a rule shares.
            if overlap.specific == 0 || overlap.similarity < policy.entity_threshold {
                continue;
            }
            if by_names
                .as_ref()
                .is_none_or(|(b, _, _)| overlap.similarity > *b)
            {
                by_names = Some((overlap.similarity, story, overlap.shared));
            }
        }
    }
    if let Some((similarity, story)) = by_text {
        return Some((story, JoinedBy::Text { similarity }));
    }
    by_names.map(|(similarity, story, shared)| (story, JoinedBy::Entities { similarity, shared }))
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
        reports: HashMap<StoryId, Vec<(String, Report)>>,
        alerted: HashSet<(String, StoryId)>,
    }

    impl StoryLedger for Memory {
        type Error = Infallible;
        fn story_with_key(&mut self, key: i64, _: i64) -> Result<Option<StoryId>, Infallible> {
            Ok(self.keys.get(&key).copied())
        }
        fn candidates(
            &mut self,
            keys: &[i64],
            _: i64,
        ) -> Result<Vec<(StoryId, Vec<Report>)>, Infallible> {
            let stories: HashSet<StoryId> = keys
                .iter()
                .filter_map(|k| self.keys.get(k))
                .copied()
                .collect();
            Ok(stories
                .into_iter()
                .map(|s| (s, self.reports[&s].iter().map(|r| r.1.clone()).collect()))
                .collect())
        }
        fn open_story(&mut self, at: i64, title: &str, _: Option<&str>) -> Result<i64, Infallible> {
            self.stories.push((at, title.into()));
            Ok(self.stories.len() as i64)
        }
        fn touch_story(&mut self, _: StoryId, _: i64) -> Result<(), Infallible> {
            Ok(())
        }
        fn join_story(&mut self, story: StoryId, report: Membership<'_>) -> Result<(), Infallible> {
            for k in report.keys {
                self.keys.entry(*k).or_insert(story);
            }
            self.reports.entry(story).or_default().push((
                report.feed.into(),
                Report {
                    signature: report.key.signature.clone(),
                    entities: report.key.entities.clone(),
                    published: report.key.published,
                },
            ));
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
                    lang: None,
                    joined_by: None,
                })
                .collect())
        }
    }

    fn key(title: &str, lead: &str, link: Option<&str>) -> StoryKey {
        StoryKey {
            signature: Fingerprinter::default().signature(title, lead),
            link: link.map(str::to_owned),
            ..StoryKey::default()
        }
    }

    fn named(ids: &[&str], published: i64) -> StoryKey {
        StoryKey {
            entities: Entities::new(ids.iter().map(|s| s.to_string())),
            published: Some(published),
            ..StoryKey::default()
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
        assert_eq!(joined, None);
        let same_link = key(
            "Unrelated words entirely",
            "nothing alike here at all",
            Some("https://a.example/1"),
        );
        assert_eq!(
            assign(&mut ledger, "b", "2", "t", &same_link, 110, policy).unwrap(),
            (story, Some(JoinedBy::Link))
        );
        let reworded = key("Kazakhstan joins the Abraham Accords", lead, None);
        let (joined_story, why) =
            assign(&mut ledger, "c", "3", "t", &reworded, 120, policy).unwrap();
        assert_eq!(joined_story, story);
        assert!(matches!(why, Some(JoinedBy::Text { similarity }) if similarity >= 0.3));
        let other = key(
            "Snowfall closes roads around Astana",
            "Heavy snow closed the main roads around the capital on Friday, the emergency \
             ministry said, and schools stayed shut",
            None,
        );
        let (second, joined) = assign(&mut ledger, "d", "4", "t", &other, 130, policy).unwrap();
        assert_eq!(joined, None);
        assert_ne!(second, story);
    }

    #[test]
    fn the_same_names_join_within_hours_and_not_a_day_later_or_without_a_specific_one() {
        let mut ledger = Memory::default();
        let policy = StoryPolicy::default();
        let hour = 3600;
        let announced = [
            "country:KZ",
            "bloc:abraham-accords",
            "person:tokayev",
            "event:join",
        ];
        let (story, _) = assign(
            &mut ledger,
            "en",
            "1",
            "t",
            &named(&announced, 0),
            0,
            policy,
        )
        .unwrap();
        // The Russian report of the same announcement, three hours later: the same names.
        let (joined_story, why) = assign(
            &mut ledger,
            "ru",
            "2",
            "t",
            &named(&[&announced[..], &["country:US"]].concat(), 3 * hour),
            3 * hour,
            policy,
        )
        .unwrap();
        assert_eq!(joined_story, story);
        match why {
            Some(JoinedBy::Entities { shared, .. }) => {
                assert!(shared.contains(&"person:tokayev".into()))
            }
            other => panic!("{other:?}"),
        }
        // The same names two days on are another event.
        let (later, why) = assign(
            &mut ledger,
            "fr",
            "3",
            "t",
            &named(&announced, 48 * hour),
            48 * hour,
            policy,
        )
        .unwrap();
        assert_ne!(later, story);
        assert_eq!(why, None);
        // Countries and the kind of event alone are what every story of a rule shares.
        let vague = ["country:KZ", "bloc:abraham-accords", "event:join"];
        let (other, why) = assign(
            &mut ledger,
            "de",
            "4",
            "t",
            &named(&vague, 49 * hour),
            49 * hour,
            policy,
        )
        .unwrap();
        assert_eq!(why, None);
        assert_ne!(other, later);
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
