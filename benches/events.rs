//! One alert per event, across outlets and languages: the labelled set of multi-outlet
//! coverage in `benches/data/events.jsonl`, replayed through the daemon's own path.
//!
//! `cargo bench --bench events [-- dev|test|all]` (default `test`) matches each item against
//! its topic's rule, computes its story key as the poll does (`poll::matching::story_key`),
//! and records it with `Store::record_fetch` into a fresh SQLite file, in publication order,
//! each at its publication time. Then it counts, per policy:
//!
//! - **alerts / events**: first alerts raised, against the events the matched items report
//!   (target ≤ 1.2);
//! - **false-merge pairs**: of all pairs of items put in one story, the share that report two
//!   different events (target ≤ 0.5%); and of all pairs of different events of one topic, the
//!   share merged;
//! - **cross-language joins**: of the reports of an event in another language than the
//!   event's first report (which raised its alert), the share that joined that report's story
//!   (target ≥ 90%);
//! - **merge recall**: of all reports after an event's first, the share that joined its story.
//!
//! Not a criterion bench: the point is the quality table; the timings at the end are one pass.
//!
//! `-- dev --pairs` shows how well pairwise scores separate same-event pairs from others;
//! `-- dev --explore` clusters in memory with other ways of joining by names (the story's
//! names together, shared specific names alone, the rule's recent story with no conflicting
//! country or number; `EXPLORE_WINDOW_H=6` for the window), for choosing one. The replay
//! through the store is what the docs report.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use chrono::DateTime;
use watchword::model::{AlertId, Item, NewAlert};
use watchword::rules::{RuleSet, RuleSpec};
use watchword::store::{FetchRecord, NewItem, Store};
use watchword::story::{StoryKey, StoryPolicy};

struct Labelled {
    split: String,
    topic: String,
    rule: String,
    event: String,
    outlet: String,
    lang: String,
    title: String,
    summary: String,
    published: i64,
    link: String,
}

fn load(split: &str) -> Vec<Labelled> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/data/events.jsonl");
    let text = std::fs::read_to_string(path).expect("benches/data/events.jsonl is in the repo");
    let mut items: Vec<Labelled> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).expect("valid JSON line");
            let field = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            Labelled {
                split: field("split"),
                topic: field("topic"),
                rule: field("rule"),
                event: field("event"),
                outlet: field("outlet"),
                lang: field("lang"),
                title: field("title"),
                summary: field("summary"),
                published: DateTime::parse_from_rfc3339(&field("published"))
                    .expect("RFC 3339 published")
                    .timestamp(),
                link: field("link"),
            }
        })
        .filter(|i| split == "all" || i.split == split)
        .collect();
    items.sort_by_key(|i| i.published);
    items
}

fn item_of(l: &Labelled) -> Item {
    Item {
        feed: l.outlet.clone(),
        id: l.link.clone(),
        link: Some(l.link.clone()),
        title: l.title.clone(),
        summary: l.summary.clone(),
        content: String::new(),
        published: DateTime::from_timestamp(l.published, 0),
        authors: Vec::new(),
        categories: Vec::new(),
    }
}

#[derive(Default, Debug)]
struct Score {
    events: usize,
    alerts: usize,
    same_story_pairs: usize,
    false_pairs: usize,
    different_event_pairs: usize,
    cross_language: usize,
    cross_language_joined: usize,
    later_reports: usize,
    later_joined: usize,
    /// Events whose reports ended in more than one story.
    split_events: usize,
}

/// One matched item, with what the story key made of it.
struct Prepared<'a> {
    labelled: &'a Labelled,
    key: StoryKey,
    rules: Vec<String>,
}

/// Every item as a match of its topic's rule: the set measures stories, and its topics' rules
/// use English words for what places do not cover, so many other-language reports would
/// not match them (how many is printed). A story is per rule, so the topic is the rule.
fn prepare<'a>(items: &'a [Labelled], rules: &RuleSet) -> (Vec<Prepared<'a>>, usize) {
    let mut unmatched = 0;
    let prepared = items
        .iter()
        .map(|l| {
            let item = item_of(l);
            if !rules.matches(&item).iter().any(|m| m.rule == l.topic) {
                unmatched += 1;
            }
            Prepared {
                labelled: l,
                key: watchword::poll::matching::story_key(&item, true),
                rules: vec![l.topic.clone()],
            }
        })
        .collect();
    (prepared, unmatched)
}

fn replay(prepared: &[Prepared<'_>], policy: StoryPolicy) -> Score {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("events.db");
    let store = Store::open(&path)
        .expect("open store")
        .with_story_policy(policy);
    for p in prepared {
        let l = p.labelled;
        let alerts = p
            .rules
            .iter()
            .map(|rule| NewAlert {
                id: AlertId::for_item(rule, &l.outlet, &l.link),
                rule: rule.clone(),
                payload: "{}".into(),
                sinks: vec!["out".into()],
                story_update_after: None,
            })
            .collect();
        store
            .record_fetch(&FetchRecord {
                feed: l.outlet.clone(),
                url: format!("https://{}.example/feed", l.outlet),
                at: l.published,
                error: None,
                items: vec![NewItem {
                    id: l.link.clone(),
                    link: Some(l.link.clone()),
                    title: l.title.clone(),
                    published: Some(l.published),
                    too_old: false,
                    text_hash: None,
                    story: p.key.clone(),
                    alerts,
                }],
                listed: Vec::new(),
                edits: Vec::new(),
            })
            .expect("record");
    }
    let conn = rusqlite::Connection::open(&path).expect("reopen");
    let story_of: HashMap<(String, String), i64> = conn
        .prepare("SELECT feed, item_id, story_id FROM items WHERE story_id IS NOT NULL")
        .expect("prepare")
        .query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    if std::env::var_os("EVENTS_TRACE").is_some() {
        // Each report's story and why it joined, event by event.
        let mut rows: Vec<(String, String, i64, i64, Option<String>, String)> = conn
            .prepare("SELECT feed, item_id, story_id, COALESCE(published, 0), joined_by, title FROM items")
            .expect("prepare")
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))
            .expect("query")
            .map(|r| r.expect("row"))
            .collect();
        let event_of: HashMap<&str, (&str, &str)> = prepared
            .iter()
            .map(|p| {
                (
                    p.labelled.link.as_str(),
                    (p.labelled.event.as_str(), p.labelled.lang.as_str()),
                )
            })
            .collect();
        rows.sort_by_key(|r| (event_of.get(r.1.as_str()).map(|e| e.0.to_owned()), r.3));
        for (_, item, story, published, why, title) in rows {
            let (event, lang) = event_of.get(item.as_str()).copied().unwrap_or(("?", "?"));
            println!(
                "{event:<40} {lang} s{story:<3} {published} {:<60} {}",
                why.unwrap_or_default(),
                title.chars().take(50).collect::<String>()
            );
        }
    }
    let alerts: usize = conn
        .query_row(
            "SELECT COUNT(*) FROM alerts WHERE kind = 'first'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .expect("count") as usize;
    score(prepared, &story_of, alerts)
}

fn score(
    prepared: &[Prepared<'_>],
    story_of: &HashMap<(String, String), i64>,
    alerts: usize,
) -> Score {
    let mut s = Score {
        alerts,
        ..Score::default()
    };
    let story = |p: &Prepared| story_of[&(p.labelled.outlet.clone(), p.labelled.link.clone())];
    let mut first_of_event: HashMap<&str, &Prepared> = HashMap::new();
    let mut stories_of_event: BTreeMap<&str, std::collections::BTreeSet<i64>> = BTreeMap::new();
    for p in prepared {
        let event = p.labelled.event.as_str();
        stories_of_event.entry(event).or_default().insert(story(p));
        match first_of_event.get(event) {
            None => {
                first_of_event.insert(event, p);
            }
            Some(first) => {
                let joined = story(p) == story(first);
                s.later_reports += 1;
                s.later_joined += usize::from(joined);
                if p.labelled.lang != first.labelled.lang {
                    s.cross_language += 1;
                    s.cross_language_joined += usize::from(joined);
                }
            }
        }
    }
    s.events = first_of_event.len();
    s.split_events = stories_of_event.values().filter(|v| v.len() > 1).count();
    for (i, a) in prepared.iter().enumerate() {
        for b in &prepared[i + 1..] {
            let same_story = story(a) == story(b);
            let same_event = a.labelled.event == b.labelled.event;
            if same_story {
                s.same_story_pairs += 1;
                s.false_pairs += usize::from(!same_event);
            }
            if !same_event && a.labelled.topic == b.labelled.topic {
                s.different_event_pairs += 1;
            }
        }
    }
    s
}

fn pct(n: usize, d: usize) -> String {
    if d == 0 {
        return "–".into();
    }
    format!("{:.1}%", 100.0 * n as f64 / d as f64)
}

fn row(label: &str, s: &Score) {
    println!(
        "| {label} | {} | {:.2} | {} | {} | {} | {} | {} |",
        s.alerts,
        s.alerts as f64 / s.events.max(1) as f64,
        pct(s.false_pairs, s.same_story_pairs),
        pct(s.false_pairs, s.different_event_pairs),
        pct(s.cross_language_joined, s.cross_language),
        pct(s.later_joined, s.later_reports),
        s.split_events,
    );
}

fn main() {
    let split = std::env::args()
        .skip(1)
        .find(|a| ["dev", "test", "all"].contains(&a.as_str()))
        .unwrap_or_else(|| "test".into());
    let items = load(&split);
    let mut topics: BTreeMap<&str, &str> = BTreeMap::new();
    for i in &items {
        topics.insert(&i.topic, &i.rule);
    }
    let specs: Vec<RuleSpec> = topics
        .iter()
        .map(|(name, query)| RuleSpec { name, query })
        .collect();
    let rules = RuleSet::compile(&BTreeMap::new(), &specs).expect("the topics' rules compile");

    // The topics' rules loaded the gazetteer: what follows is the recognizer's own cost.
    let rss_before = rss_kib();
    let started = Instant::now();
    watchword::entities::recognizer().expect("the names compile");
    let compile = started.elapsed();
    let recognizer_kib = rss_kib().saturating_sub(rss_before);

    let started = Instant::now();
    let (prepared, unmatched) = prepare(&items, &rules);
    let keys = started.elapsed();
    if std::env::args().any(|a| a == "--names") {
        // What each report was found to name, event by event: where recognition falls short.
        let mut by_event: BTreeMap<&str, Vec<&Prepared>> = BTreeMap::new();
        for p in &prepared {
            by_event.entry(&p.labelled.event).or_default().push(p);
        }
        for (event, reports) in by_event {
            println!("== {event}");
            for p in reports {
                println!(
                    "  {} {} | {}",
                    p.labelled.lang,
                    p.labelled.published,
                    p.key.entities.to_text()
                );
            }
        }
    }

    if std::env::args().any(|a| a == "--pairs") {
        pairs(&prepared);
        return;
    }
    if std::env::args().any(|a| a == "--explore") {
        explore(&prepared);
        return;
    }
    let events: std::collections::BTreeSet<&str> =
        prepared.iter().map(|p| p.labelled.event.as_str()).collect();
    println!(
        "split `{split}`: {} items, {} events, {} topics ({} items not matched by their topic's rule, \
         counted as matches: the set measures stories)",
        items.len(),
        events.len(),
        topics.len(),
        unmatched
    );
    println!();
    println!(
        "| policy | alerts | alerts/events | false pairs / merged pairs | false pairs / different-event pairs | cross-language joined | later reports joined | events split |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let words_only = StoryPolicy {
        entity_threshold: 2.0,
        ..StoryPolicy::default()
    };
    row(
        "links + words only (before)",
        &replay(&prepared, words_only),
    );
    row("**default**", &replay(&prepared, StoryPolicy::default()));
    let sweep = std::env::args().any(|a| a == "--sweep");
    if sweep {
        for hours in [6, 12, 18, 24] {
            for threshold in [0.6, 0.65, 0.7, 0.75, 0.8, 0.9] {
                let policy = StoryPolicy {
                    entity_threshold: threshold,
                    entity_window_secs: hours * 3600,
                    ..StoryPolicy::default()
                };
                row(
                    &format!("names ≥ {threshold:.2} within {hours} h"),
                    &replay(&prepared, policy),
                );
            }
        }
    }
    println!();
    println!(
        "names compiled in {:.0} ms and {:.1} MiB of resident memory (once per process); {} items matched and keyed in {:.1} ms ({:.0} items/s)",
        compile.as_secs_f64() * 1000.0,
        recognizer_kib as f64 / 1024.0,
        prepared.len(),
        keys.as_secs_f64() * 1000.0,
        prepared.len() as f64 / keys.as_secs_f64().max(1e-9)
    );
}

/// Pairwise separability of scoring functions: for every pair of reports of one topic
/// published within 18 hours, the score each function gives, and how many same-event and
/// different-event pairs reach each threshold. For choosing a scoring function, not for the
/// docs' table (which the replay gives).
fn pairs(prepared: &[Prepared<'_>]) {
    use watchword::story::{Entities, EntityKind};
    let weight = |e: &Entities, pred: &dyn Fn(EntityKind) -> bool| -> f64 {
        e.iter()
            .filter_map(EntityKind::of)
            .filter(|k| pred(*k))
            .map(EntityKind::weight)
            .sum()
    };
    type Scorer = Box<dyn Fn(&Entities, &Entities) -> f64>;
    let specific = |k: EntityKind| {
        matches!(
            k,
            EntityKind::Person | EntityKind::Organisation | EntityKind::Number | EntityKind::Name
        )
    };
    let scorers: Vec<(&str, Scorer)> = vec![
        (
            "jaccard",
            Box::new(|a: &Entities, b: &Entities| a.compare(b).similarity),
        ),
        (
            "overlap",
            Box::new(move |a: &Entities, b: &Entities| {
                let shared: f64 = a
                    .iter()
                    .filter(|id| b.contains(id))
                    .filter_map(EntityKind::of)
                    .map(EntityKind::weight)
                    .sum();
                let min = weight(a, &|_| true).min(weight(b, &|_| true));
                if min > 0.0 { shared / min } else { 0.0 }
            }),
        ),
        (
            "comparable-jaccard",
            Box::new(move |a: &Entities, b: &Entities| {
                // A kind counts only when both reports have some of it: a Chinese lead has no
                // capitalized names, a short one no numbers.
                let has =
                    |e: &Entities, k: EntityKind| e.iter().any(|id| EntityKind::of(id) == Some(k));
                let mut both = 0.0;
                let mut either = 0.0;
                for (kind, _) in EntityKind::ALL {
                    if !(has(a, kind) && has(b, kind)) {
                        continue;
                    }
                    for id in a.iter().chain(b.iter().filter(|id| !a.contains(id))) {
                        if EntityKind::of(id) != Some(kind) {
                            continue;
                        }
                        either += kind.weight();
                        if a.contains(id) && b.contains(id) {
                            both += kind.weight();
                        }
                    }
                }
                if either > 0.0 { both / either } else { 0.0 }
            }),
        ),
        (
            "shared-specific",
            Box::new(move |a: &Entities, b: &Entities| {
                a.iter()
                    .filter(|id| b.contains(id))
                    .filter_map(EntityKind::of)
                    .filter(|k| specific(*k))
                    .map(EntityKind::weight)
                    .sum::<f64>()
                    / 10.0
            }),
        ),
    ];
    let mut scored: Vec<(bool, Vec<f64>)> = Vec::new();
    for (i, a) in prepared.iter().enumerate() {
        for b in &prepared[i + 1..] {
            if a.labelled.topic != b.labelled.topic
                || (a.labelled.published - b.labelled.published).abs() > 18 * 3600
            {
                continue;
            }
            let same = a.labelled.event == b.labelled.event;
            scored.push((
                same,
                scorers
                    .iter()
                    .map(|(_, f)| f(&a.key.entities, &b.key.entities))
                    .collect(),
            ));
        }
    }
    let same_total = scored.iter().filter(|s| s.0).count();
    let diff_total = scored.len() - same_total;
    println!("pairs within 18 h of one topic: {same_total} same event, {diff_total} different");
    for (n, (name, _)) in scorers.iter().enumerate() {
        println!("{name}:");
        for t in [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8] {
            let same = scored.iter().filter(|s| s.0 && s.1[n] >= t).count();
            let diff = scored.iter().filter(|s| !s.0 && s.1[n] >= t).count();
            println!(
                "  ≥ {t:.1}: same {same} ({}), different {diff} ({})",
                pct(same, same_total),
                pct(diff, diff_total)
            );
        }
    }
}

/// In-memory clustering with other ways of scoring an item against a story's names, for
/// choosing one; the replay (through the store) is what the docs report.
fn explore(prepared: &[Prepared<'_>]) {
    use watchword::story::{Entities, EntityKind};
    let w = |id: &str| EntityKind::of(id).map_or(0.0, EntityKind::weight);
    let specific = |id: &str| EntityKind::of(id).is_some_and(EntityKind::is_specific);
    type Scorer<'s> = Box<dyn Fn(&Entities, &[&Entities]) -> bool + 's>;
    let pairwise = |t: f64| -> Scorer {
        Box::new(move |x: &Entities, reports: &[&Entities]| {
            reports.iter().any(|r| {
                let o = x.compare(r);
                o.specific > 0 && o.similarity >= t
            })
        })
    };
    let coverage = |t: f64, min_specific: usize| -> Scorer {
        Box::new(move |x: &Entities, reports: &[&Entities]| {
            let union: std::collections::BTreeSet<&str> =
                reports.iter().flat_map(|r| r.iter()).collect();
            let shared: Vec<&str> = x.iter().filter(|id| union.contains(id)).collect();
            let total: f64 = x.iter().map(w).sum();
            let both: f64 = shared.iter().map(|id| w(id)).sum();
            let spec = shared.iter().filter(|id| specific(id)).count();
            total > 0.0 && spec >= min_specific && both / total >= t
        })
    };
    let evidence = |e: f64, t: f64| -> Scorer {
        Box::new(move |x: &Entities, reports: &[&Entities]| {
            reports.iter().any(|r| {
                let o = x.compare(r);
                let ev: f64 = o
                    .shared
                    .iter()
                    .filter(|id| specific(id))
                    .map(|id| w(id))
                    .sum();
                (o.specific > 0 && o.similarity >= t) || ev >= e
            })
        })
    };
    let kinds = |e: &Entities, k: EntityKind| -> std::collections::BTreeSet<String> {
        e.iter()
            .filter(|id| EntityKind::of(id) == Some(k))
            .map(str::to_owned)
            .collect()
    };
    // Same rule within hours, no conflicting subject: reports of one rule's story share its
    // terms already; what tells the next event is another country, kind of event or number.
    let same_rule = |min_shared: f64, conflicts: &'static [EntityKind]| -> Scorer {
        Box::new(move |x: &Entities, reports: &[&Entities]| {
            reports.iter().any(|r| {
                let conflict = conflicts.iter().any(|k| {
                    let a = kinds(x, *k);
                    let b = kinds(r, *k);
                    !a.is_empty() && !b.is_empty() && a.is_disjoint(&b)
                });
                let shared: f64 = x.iter().filter(|id| r.contains(id)).map(w).sum();
                !conflict && shared >= min_shared
            })
        })
    };
    let mut scorers: Vec<(String, Scorer)> = vec![("pairwise 0.75".into(), pairwise(0.75))];
    for t in [0.5, 0.75] {
        scorers.push((
            format!("story's names cover ≥ {t} of the item's"),
            coverage(t, 1),
        ));
    }
    for e in [2.0, 3.0] {
        scorers.push((
            format!("pairwise 0.75, or specific names ≥ {e}"),
            evidence(e, 0.75),
        ));
    }
    for min in [0.0, 1.0, 2.0, 3.0] {
        scorers.push((format!("rule, shared ≥ {min}"), same_rule(min, &[])));
        scorers.push((
            format!("rule, shared ≥ {min}, no country conflict"),
            same_rule(min, &[EntityKind::Country]),
        ));
        scorers.push((
            format!("rule, shared ≥ {min}, no country/number conflict"),
            same_rule(min, &[EntityKind::Country, EntityKind::Number]),
        ));
        scorers.push((
            format!("rule, shared ≥ {min}, no country/number/event conflict"),
            same_rule(
                min,
                &[EntityKind::Country, EntityKind::Number, EntityKind::Event],
            ),
        ));
    }
    let window = std::env::var("EXPLORE_WINDOW_H")
        .ok()
        .and_then(|h| h.parse::<i64>().ok())
        .unwrap_or(12)
        * 3600;
    for (name, scorer) in &scorers {
        // story index of each report
        let mut story_of: Vec<usize> = Vec::with_capacity(prepared.len());
        let mut stories = 0;
        for (i, p) in prepared.iter().enumerate() {
            let at = p.labelled.published;
            let mut found = None;
            // Same link, then wording (as the daemon does), then names.
            for (j, q) in prepared[..i].iter().enumerate() {
                if p.key.link.is_some() && p.key.link == q.key.link {
                    found = Some(story_of[j]);
                }
            }
            if found.is_none() {
                let mut best: Option<(f64, usize)> = None;
                for (j, q) in prepared[..i].iter().enumerate() {
                    if let (Some(a), Some(b)) = (&p.key.signature, &q.key.signature) {
                        let sim = a.similarity(b);
                        if sim >= watchword::story::StoryPolicy::default().threshold
                            && best.is_none_or(|(s, _)| sim > s)
                        {
                            best = Some((sim, story_of[j]));
                        }
                    }
                }
                found = best.map(|b| b.1);
            }
            if found.is_none() {
                // Newest story first among those that pass.
                for story in (0..stories).rev() {
                    let first = story_of.iter().position(|s| *s == story);
                    let rule_only = name.starts_with("rule");
                    if rule_only
                        && first.is_some_and(|f| prepared[f].labelled.topic != p.labelled.topic)
                    {
                        continue;
                    }
                    let reports: Vec<&Entities> = prepared[..i]
                        .iter()
                        .enumerate()
                        .filter(|(j, q)| {
                            story_of[*j] == story && (at - q.labelled.published).abs() <= window
                        })
                        .map(|(_, q)| &q.key.entities)
                        .collect();
                    if !reports.is_empty() && scorer(&p.key.entities, &reports) {
                        found = Some(story);
                        break;
                    }
                }
            }
            let story = found.unwrap_or_else(|| {
                stories += 1;
                stories - 1
            });
            story_of.push(story);
        }
        let map: HashMap<(String, String), i64> = prepared
            .iter()
            .zip(&story_of)
            .map(|(p, s)| {
                (
                    (p.labelled.outlet.clone(), p.labelled.link.clone()),
                    *s as i64,
                )
            })
            .collect();
        let alerts = {
            let mut pairs: std::collections::BTreeSet<(&str, usize)> = Default::default();
            for (p, s) in prepared.iter().zip(&story_of) {
                pairs.insert((p.labelled.topic.as_str(), *s));
            }
            pairs.len()
        };
        row(name, &score(prepared, &map, alerts));
    }
}

/// Resident memory of this process (Linux), in KiB; 0 where it cannot be read.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}
