//! Property tests: the fast matcher (automaton + presearch) agrees with the naive reference
//! (every rule evaluated, terms found by comparing words one by one) on random rules and
//! items, and the parser survives any input.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;

/// A small vocabulary, so that random rules and random items share words often; it includes
/// words that are prefixes of others (`ab`, `abc`, `abraham`), case variants for exact-case
/// terms, and non-ASCII spellings that normalize together.
const WORDS: &[&str] = &[
    "ab",
    "abc",
    "abraham",
    "Abraham",
    "accords",
    "ACCORDS",
    "us",
    "US",
    "Us",
    "kazakh",
    "Kazakhstan",
    "kazakhstan's",
    "Türkiye",
    "turkiye",
    "wheat",
    "f-16",
    "F16",
    "Казахстан",
];

fn word() -> impl Strategy<Value = String> {
    proptest::sample::select(WORDS).prop_map(str::to_owned)
}

/// A leaf in query syntax.
fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => word(),
        2 => word().prop_map(|w| format!("{}*", w.trim_end_matches("'s"))),
        2 => proptest::collection::vec(word(), 2..=3).prop_map(|ws| format!("\"{}\"", ws.join(" "))),
        2 => word().prop_map(|w| format!("={w}")),
        1 => proptest::collection::vec(word(), 2..=2).prop_map(|ws| format!("=\"{}\"", ws.join(" "))),
        1 => proptest::sample::select(&["/[Ff]-?16/", "/ab+c/", "/(?i)us\\b/", "/Ab/"][..])
            .prop_map(str::to_owned),
        1 => proptest::sample::select(&["@g", "@h"][..]).prop_map(str::to_owned),
        2 => (
            proptest::sample::select(&["title", "summary", "content", "category", "author", "link", "feed"][..]),
            word()
        )
            .prop_map(|(f, w)| format!("{f}:{w}")),
    ]
}

fn query() -> impl Strategy<Value = String> {
    leaf().prop_recursive(4, 24, 3, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} AND {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} OR {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} NOT {b})")),
            (leaf(), leaf(), 0u32..4, any::<bool>()).prop_map(|(a, b, n, ordered)| {
                format!("({a} {}/{n} {b})", if ordered { "ONEAR" } else { "NEAR" })
            }),
        ]
    })
}

fn text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        (
            word(),
            proptest::sample::select(&[" ", " ", " ", ", ", "-", ". ", "'s "][..]),
        ),
        0..12,
    )
    .prop_map(|parts| parts.into_iter().map(|(w, sep)| w + sep).collect())
}

fn item() -> impl Strategy<Value = Item> {
    (
        text(),
        text(),
        text(),
        proptest::collection::vec(text(), 0..3),
        proptest::collection::vec(text(), 0..2),
        proptest::option::of(word()),
        word(),
    )
        .prop_map(
            |(title, summary, content, categories, authors, link, feed)| Item {
                feed,
                id: "id".into(),
                link: link.map(|w| format!("https://example.com/{w}")),
                title,
                summary,
                content,
                published: None,
                authors,
                categories,
            },
        )
}

fn groups() -> BTreeMap<String, Vec<String>> {
    let mut g = BTreeMap::new();
    g.insert(
        "g".to_owned(),
        vec![
            "abraham".into(),
            "\"abraham accords\"".into(),
            "kazakh*".into(),
        ],
    );
    g.insert(
        "h".to_owned(),
        vec!["=US".into(), "@g".into(), "wheat".into()],
    );
    g
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn fast_matcher_equals_naive_reference(
        queries in proptest::collection::vec(query(), 1..12),
        items in proptest::collection::vec(item(), 1..6),
    ) {
        let g = groups();
        // Rules that do not compile (only NOT terms, contradictions) are dropped; what is left
        // is compiled together so that rules share terms and presearch lists.
        let mut good = Vec::new();
        for (i, q) in queries.iter().enumerate() {
            let name = format!("r{i}");
            if RuleSet::compile(&g, &[RuleSpec { name: &name, query: q }]).is_ok() {
                good.push((name, q.clone()));
            }
        }
        // A case where nothing compiled would compare two empty rule sets: it proves
        // nothing, so it is rejected (proptest fails the test if too many cases are).
        prop_assume!(!good.is_empty());
        let specs: Vec<RuleSpec> = good
            .iter()
            .map(|(name, query)| RuleSpec { name, query })
            .collect();
        let set = RuleSet::compile(&g, &specs).expect("rules that compile alone compile together");
        for item in &items {
            prop_assert_eq!(set.matches(item), set.matches_naive(item), "item {:?}", item);
        }
    }

    #[test]
    fn parser_never_panics_on_arbitrary_input(query in "\\PC{0,60}") {
        check_no_panic(&query);
    }

    #[test]
    fn parser_never_panics_on_query_like_input(
        query in "[a-zA-Z0-9 ()\"*@:/=\\\\\\-é’.]{0,50}|(NOT|AND|OR|NEAR/[0-9]|ONEAR/|title:|=|/|\\(|\\)|\"|@g|a|\\*| ){0,20}"
    ) {
        check_no_panic(&query);
    }
}

fn check_no_panic(query: &str) {
    let g = groups();
    let probe = Item {
        feed: "f".into(),
        id: "i".into(),
        link: Some("https://example.com/a".into()),
        title: "US abraham accords F-16 a".into(),
        summary: "Kazakhstan's wheat".into(),
        content: String::new(),
        published: None,
        authors: vec!["ab".into()],
        categories: vec!["abc".into()],
    };
    match RuleSet::compile(&g, &[RuleSpec { name: "f", query }]) {
        Ok(set) => {
            let _ = set.matches(&probe);
            let _ = set.explain("f", &probe);
        }
        Err(e) => {
            let text = e.to_string();
            assert!(text.starts_with("rule \"f\""), "{query:?}: {text}");
            if let Some(offset) = e.offset() {
                assert!(offset <= query.len(), "{query:?}: {offset}");
                assert!(query.is_char_boundary(offset), "{query:?}: {offset}");
            }
        }
    }
}

proptest! {}
