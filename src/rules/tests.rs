//! Behaviour of the compiled rule set as a whole: language semantics, matching, errors.

use std::collections::BTreeMap;

use super::*;

fn item(title: &str, summary: &str, content: &str) -> Item {
    Item {
        feed: "test".into(),
        id: "id".into(),
        link: None,
        title: title.into(),
        summary: summary.into(),
        content: content.into(),
        published: None,
        authors: Vec::new(),
        categories: Vec::new(),
    }
}

/// `(term, found)` pairs of a match, for short assertions.
fn reported(m: &RuleMatch) -> Vec<(&str, Vec<&str>)> {
    m.terms
        .iter()
        .map(|t| {
            (
                t.term.as_str(),
                t.found.iter().map(String::as_str).collect(),
            )
        })
        .collect()
}

fn groups(defs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    defs.iter()
        .map(|(name, members)| {
            (
                name.to_string(),
                members.iter().map(|m| m.to_string()).collect(),
            )
        })
        .collect()
}

fn compile(groups: &BTreeMap<String, Vec<String>>, query: &str) -> RuleSet {
    match RuleSet::compile(groups, &[RuleSpec { name: "r", query }]) {
        Ok(set) => set,
        Err(e) => panic!("{query:?} failed to compile: {e}"),
    }
}

/// Does `query` match an item whose title is `text`?
fn hit(query: &str, text: &str) -> bool {
    hit_item(query, &item(text, "", ""))
}

fn hit_item(query: &str, item: &Item) -> bool {
    !compile(&BTreeMap::new(), query).matches(item).is_empty()
}

fn compile_err(groups: &BTreeMap<String, Vec<String>>, query: &str) -> RuleError {
    match RuleSet::compile(groups, &[RuleSpec { name: "r", query }]) {
        Ok(_) => panic!("{query:?} compiled"),
        Err(e) => e,
    }
}

#[test]
fn whole_words_not_substrings() {
    assert!(hit("Kazakh", "Kazakh wheat growers"));
    assert!(!hit("Kazakh", "Kazakhstan exports wheat"));
    assert!(!hit("accord", "the accords were signed"));
    assert!(hit("accords", "the accords were signed"));
    assert!(!hit("stan", "Kazakhstan"));
    assert!(!hit("cat", "concatenate"));
}

#[test]
fn prefixes() {
    for text in ["Kazakhstan", "Kazakh", "Kazakhstan's envoy", "KAZAKHS"] {
        assert!(hit("Kazakh*", text), "{text}");
    }
    assert!(!hit("Kazakh*", "Qazaqstan"));
    assert!(!hit("Kazakh*", "antikazakh"), "must match at a word start");
    assert!(hit("Kazakh*", "anti-Kazakh sentiment"));
    assert!(hit("\"central asia*\"", "Central Asian states"));
    assert!(hit("\"central asia\"*", "central asians"));
    assert!(!hit("\"central asia*\"", "central and asian"));
}

#[test]
fn phrases_across_punctuation_not_across_fields() {
    assert!(hit(
        "\"Abraham Accords\"",
        "joins the Abraham Accords today"
    ));
    assert!(hit("\"Abraham Accords\"", "Abraham — Accords"));
    assert!(hit("\"Abraham Accords\"", "\"Abraham\", Accords"));
    assert!(!hit("\"Abraham Accords\"", "Abraham signed accords"));
    assert!(!hit("\"Abraham Accords\"", "Accords Abraham"));
    assert!(hit("\"Kazakh Israeli\"", "Kazakh-Israeli talks"));
    assert!(hit("Kazakh AND Israeli", "Kazakh-Israeli talks"));

    let split = item(
        "Kazakhstan joins Abraham",
        "Accords expansion continues",
        "",
    );
    assert!(!hit_item("\"Abraham Accords\"", &split));
    assert!(hit_item("Abraham AND Accords", &split));
    let mut cats = item("x", "", "");
    cats.categories = vec!["Abraham".into(), "Accords".into()];
    assert!(!hit_item("\"Abraham Accords\"", &cats));
    cats.categories.push("abraham accords".into());
    assert!(hit_item("\"Abraham Accords\"", &cats));
}

#[test]
fn term_that_is_prefix_of_another_is_found_too() {
    let set = compile(
        &BTreeMap::new(),
        "abraham AND \"abraham accords\" AND accords",
    );
    let m = set.matches(&item("The Abraham Accords turn five", "", ""));
    assert_eq!(m.len(), 1);
    assert_eq!(
        reported(&m[0]),
        [
            ("abraham", vec!["Abraham"]),
            ("\"abraham accords\"", vec!["Abraham Accords"]),
            ("accords", vec!["Accords"])
        ]
    );
}

#[test]
fn all_searched_fields() {
    let mut it = item("", "", "");
    it.authors = vec!["Aigerim Nurlanova".into()];
    assert!(hit_item("Nurlanova", &it));
    let mut it = item("", "", "");
    it.categories = vec!["Türkiye".into()];
    assert!(hit_item("turkiye", &it));
    assert!(hit_item("wheat", &item("", "", "Wheat prices rose.")));
    assert!(hit_item("wheat", &item("", "Wheat prices rose.", "")));
    let mut it = item("", "", "");
    it.link = Some("https://example.com/wheat".into());
    it.feed = "wheat".into();
    assert!(!hit_item("wheat", &it));
}

#[test]
fn boolean_operators_and_precedence() {
    // a OR (b AND c)
    assert!(hit("a OR b AND c", "a"));
    assert!(hit("a OR b AND c", "b c"));
    assert!(!hit("a OR b AND c", "b"));
    // (a OR b) AND c
    assert!(!hit("(a OR b) AND c", "a"));
    assert!(hit("(a OR b) AND c", "a c"));
    // Juxtaposition is AND.
    assert!(hit("a b", "b a"));
    assert!(!hit("a b", "a"));
    // NOT binds tighter than AND.
    assert!(hit("a AND NOT b c", "a c"));
    assert!(!hit("a AND NOT b c", "a b c"));
    assert!(hit("a NOT (b c)", "a b"));
    assert!(!hit("a NOT (b c)", "a c b"));
    assert!(hit("a -b", "a"));
    assert!(!hit("a -b", "a b"));
    assert!(hit("a NOT NOT b", "a b"));
    assert!(!hit("a NOT NOT b", "a"));
    // Lowercase keywords are words.
    assert!(hit("war and peace", "peace and war"));
    assert!(!hit("war and peace", "war peace"));
    assert!(!hit("war or peace", "war"));
    assert!(!hit("not wheat", "wheat"));
}

#[test]
fn case_diacritics_nfkc() {
    assert!(hit("türkiye", "TURKIYE"));
    assert!(hit("TURKIYE", "Türkiye's ministry"));
    assert!(hit("Turkiye", "TÜRKİYE"));
    assert!(hit("finance", "ﬁnance ministers"));
    assert!(hit("ABC", "ＡＢＣ news"));
    assert!(hit("strasse", "Straße"));
    assert!(hit("\"Kazakhstan's envoy\"", "Kazakhstan’s envoy"));
    assert!(hit("café", "CAFE"));
}

#[test]
fn cyrillic_and_arabic() {
    assert!(hit("Казахстан", "Казахстан присоединился к соглашениям"));
    assert!(!hit("Казахстан", "В Казахстане выросли цены"));
    assert!(hit("казахстан*", "В КАЗАХСТАНЕ выросли цены"));
    assert!(hit(
        "\"Соглашения Авраама\"",
        "присоединится к «Соглашения Авраама»."
    ));
    assert!(hit(
        "إسرائيل",
        "كازاخستان تنضم إلى اتفاقيات إبراهيم مع إسرائيل"
    ));
    assert!(hit("\"اتفاقيات إبراهيم\"", "تنضم إلى اتفاقيات إبراهيم"));
    assert!(hit("إسرائيل", "إِسْرَائِيل"));
    assert!(hit("北京", "我在北京工作"));
}

#[test]
fn possessives_and_hyphens() {
    assert!(hit("Kazakhstan", "Kazakhstan's foreign ministry"));
    assert!(hit("Kazakhstan", "Kazakhstan’s foreign ministry"));
    assert!(hit(
        "\"Kazakhstan foreign ministry\"",
        "Kazakhstan's foreign ministry"
    ));
    assert!(hit("Kazakh", "a Kazakh-Israeli venture"));
    assert!(hit("Israeli", "a Kazakh-Israeli venture"));
    assert!(hit("Kazakh-Israeli", "Kazakh Israeli venture"));
}

#[test]
fn groups_expand_nested_and_bare_multiword_members() {
    let g = groups(&[
        ("stans", &["Kazakhstan", "Uzbek*", "@more"]),
        ("more", &["Central Asia", "\"Silk Road\""]),
    ]);
    let set = compile(&g, "@stans AND grain");
    let hits = |t: &str| !set.matches(&item(t, "", "")).is_empty();
    assert!(hits("Kazakhstan grain"));
    assert!(hits("Uzbekistan's grain"));
    assert!(hits("grain across Central Asia"));
    assert!(hits("grain on the silk-road"));
    assert!(!hits("grain across Central Europe and Asia"));
    assert!(!hits("Kazakhstan wheat"));
}

#[test]
fn group_cycles_are_errors() {
    let g = groups(&[("a", &["x", "@b"]), ("b", &["@c"]), ("c", &["@a"])]);
    let e = compile_err(&g, "word @a");
    assert_eq!(
        e.to_string(),
        "rule \"r\": groups reference each other in a cycle: @a -> @b -> @c -> @a"
    );
    assert_eq!((e.rule(), e.offset(), e.group()), ("r", Some(5), Some("c")));
    let g = groups(&[("self", &["@self"])]);
    assert_eq!(
        compile_err(&g, "@self").to_string(),
        "rule \"r\": groups reference each other in a cycle: @self -> @self"
    );
    // A diamond (two paths to one group) is not a cycle.
    let g = groups(&[
        ("a", &["@b", "@c"]),
        ("b", &["@d"]),
        ("c", &["@d"]),
        ("d", &["x"]),
    ]);
    assert!(hit_item_with(&g, "@a", "x"));
}

fn hit_item_with(g: &BTreeMap<String, Vec<String>>, query: &str, text: &str) -> bool {
    !compile(g, query).matches(&item(text, "", "")).is_empty()
}

#[test]
fn design_rule_against_realistic_items() {
    let g = groups(&[
        (
            "central_asia",
            &[
                "Kazakhstan",
                "Kazakh*",
                "Qazaqstan",
                "Uzbekistan",
                "Uzbek*",
                "Kyrgyzstan",
                "Kyrgyz*",
                "Tajikistan",
                "Tajik*",
                "Turkmenistan",
                "Turkmen*",
                "\"Central Asia\"",
            ],
        ),
        (
            "abraham_accords",
            &["\"Abraham Accords\"", "\"Abraham Accord\""],
        ),
    ]);
    let set = match RuleSet::compile(
        &g,
        &[RuleSpec {
            name: "central-asia-joins-abraham-accords",
            query: "@central_asia AND @abraham_accords AND NOT football",
        }],
    ) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };

    let joins = item(
        "Astana signs on to Abraham Accords framework",
        "Kazakhstan's president said the country would formally join the Abraham Accords, \
         a step that officials in Washington described as symbolic.",
        "",
    );
    let m = set.matches(&joins);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].rule, "central-asia-joins-abraham-accords");
    // Grouped under the rule's own references, with the item's words.
    assert_eq!(
        reported(&m[0]),
        [
            ("@central_asia", vec!["Kazakhstan"]),
            ("@abraham_accords", vec!["Abraham Accords"])
        ]
    );

    let morocco = item(
        "Morocco and Israel mark five years of the Abraham Accords",
        "Trade between the two countries has grown since normalisation.",
        "",
    );
    assert!(set.matches(&morocco).is_empty());

    let grain = item(
        "Kazakh grain exports hit record",
        "Kazakhstan shipped more wheat to Central Asia and China than ever before.",
        "",
    );
    assert!(set.matches(&grain).is_empty());

    let football = item(
        "Kazakhstan football team to play friendly in Tel Aviv",
        "The match was arranged after Kazakhstan joined the Abraham Accords.",
        "",
    );
    assert!(set.matches(&football).is_empty());

    let split = item(
        "Uzbek delegation meets Abraham",
        "Accords talks continue",
        "",
    );
    assert!(
        set.matches(&split).is_empty(),
        "phrase must not span fields"
    );
}

#[test]
fn matched_terms_are_deduplicated_in_query_order_without_negated_ones() {
    let g = groups(&[("g", &["Kazakhstan", "Uzbekistan"])]);
    let set = compile(
        &g,
        "Uzbekistan AND (@g OR wheat) AND NOT (barley AND NOT Kazakhstan)",
    );
    let m = set.matches(&item("Kazakhstan and Uzbekistan discuss wheat", "", ""));
    assert_eq!(m.len(), 1);
    assert_eq!(
        reported(&m[0]),
        [
            ("Uzbekistan", vec!["Uzbekistan"]),
            ("@g", vec!["Uzbekistan", "Kazakhstan"]),
            ("wheat", vec!["wheat"]),
            // Under two NOTs it counts for the rule, like any positive term.
            ("Kazakhstan", vec!["Kazakhstan"])
        ]
    );
}

#[test]
fn multiple_rules_in_rule_order_with_presearch() {
    let specs = [
        RuleSpec {
            name: "one",
            query: "wheat",
        },
        RuleSpec {
            name: "two",
            query: "barley OR oats",
        },
        RuleSpec {
            name: "three",
            query: "wheat AND NOT rye",
        },
        RuleSpec {
            name: "four",
            query: "rice",
        },
    ];
    let set = match RuleSet::compile(&BTreeMap::new(), &specs) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(set.len(), 4);
    assert!(!set.is_empty());
    assert_eq!(
        set.names().collect::<Vec<_>>(),
        ["one", "two", "three", "four"]
    );
    let names = |t: &str| {
        set.matches(&item(t, "", ""))
            .into_iter()
            .map(|m| m.rule)
            .collect::<Vec<_>>()
    };
    assert_eq!(names("oats and wheat"), ["one", "two", "three"]);
    assert_eq!(names("wheat and rye"), ["one"]);
    assert!(names("nothing here").is_empty());

    let empty = match RuleSet::compile(&BTreeMap::new(), &[]) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    assert!(empty.is_empty());
    assert!(empty.matches(&item("wheat", "", "")).is_empty());
}

#[test]
fn ruleset_is_send_and_sync() {
    fn check<T: Send + Sync + 'static>() {}
    check::<RuleSet>();
}

#[test]
fn error_syntax_display_with_caret() {
    let e = compile_err(&BTreeMap::new(), "wheat AND (barley OR");
    assert_eq!(
        e.to_string(),
        "rule \"r\": expected a term, phrase, @group or `(` after OR at column 21\n  \
         wheat AND (barley OR\n                      ^"
    );
    assert_eq!((e.rule(), e.offset()), ("r", Some(20)));

    let e = compile_err(&BTreeMap::new(), "Türkiye AND (wheat");
    assert_eq!(
        e.to_string(),
        "rule \"r\": expected a `)` matching the `(` in column 13 at column 19\n  \
         Türkiye AND (wheat\n                    ^"
    );
    assert_eq!(e.offset(), Some(19));

    let e = compile_err(&BTreeMap::new(), "wheat) OR barley");
    assert_eq!(
        e.to_string(),
        "rule \"r\": expected the end of the query (this `)` has no matching `(`) at column 6\n  \
         wheat) OR barley\n       ^"
    );

    let e = compile_err(&BTreeMap::new(), "Kaz*akh");
    assert_eq!(e.offset(), Some(3));
    assert!(
        e.to_string().ends_with("at column 4\n  Kaz*akh\n     ^"),
        "{e}"
    );

    let e = compile_err(&BTreeMap::new(), "NOT titel:football AND x");
    assert_eq!(
        e.to_string(),
        "rule \"r\": expected a field name before `:` (`titel` is not one; fields are title, \
         summary, content, link, category, author, feed); to search for the text, quote it \
         at column 5\n  NOT titel:football AND x\n      ^"
    );
    assert_eq!(e.offset(), Some(4));
}

#[test]
fn error_unknown_group() {
    let g = groups(&[("b", &["x"]), ("a", &["y"])]);
    let e = compile_err(&g, "wheat AND @foo");
    assert_eq!(
        e.to_string(),
        "rule \"r\": unknown group @foo (defined groups: a, b)"
    );
    assert_eq!((e.rule(), e.offset(), e.group()), ("r", Some(10), None));

    let g = groups(&[("a", &["y", "@missing"])]);
    let e = compile_err(&g, "@a");
    assert_eq!(
        e.to_string(),
        "rule \"r\": unknown group @missing in group @a (defined groups: a)"
    );
    assert_eq!(e.group(), Some("a"));

    let e = compile_err(&BTreeMap::new(), "@a");
    assert_eq!(
        e.to_string(),
        "rule \"r\": unknown group @a (no groups are defined)"
    );
}

#[test]
fn error_group_member() {
    let g = groups(&[("stans", &["Kazakhstan", "Uzbek* OR Tajik*"])]);
    let e = compile_err(&g, "grain @stans");
    assert_eq!(
        e.to_string(),
        "rule \"r\": group @stans member \"Uzbek* OR Tajik*\": expected a single term or phrase \
         (operators, parentheses, field scopes, regexes and `-` are not allowed in group members) at column 8\n  \
         Uzbek* OR Tajik*\n         ^"
    );
    assert_eq!(
        (e.rule(), e.offset(), e.group()),
        ("r", Some(6), Some("stans"))
    );

    let g = groups(&[("g", &["\"Abraham Accords"])]);
    let e = compile_err(&g, "@g");
    assert!(matches!(&e, RuleError::GroupMember { group, member_offset: 16, .. } if group == "g"));

    let g = groups(&[("g", &[""])]);
    assert!(matches!(
        compile_err(&g, "@g"),
        RuleError::GroupMember { .. }
    ));
}

#[test]
fn error_no_positive_term() {
    for q in ["NOT football", "-football", "NOT a OR b", "NOT (a b)"] {
        let e = compile_err(&BTreeMap::new(), q);
        assert!(matches!(e, RuleError::NoPositiveTerm { .. }), "{q}: {e}");
        assert_eq!(e.offset(), None);
        assert!(
            e.to_string()
                .starts_with("rule \"r\": no term that must occur")
        );
    }
    // One positive branch of an AND is enough.
    assert!(hit("NOT football wheat", "wheat"));
}

#[test]
fn error_empty_and_duplicate() {
    for q in ["", "   ", "\n\t"] {
        let e = compile_err(&BTreeMap::new(), q);
        assert_eq!(e.to_string(), "rule \"r\": query is empty");
        assert_eq!(e.offset(), None);
    }
    let e = match RuleSet::compile(
        &BTreeMap::new(),
        &[
            RuleSpec {
                name: "x",
                query: "a",
            },
            RuleSpec {
                name: "x",
                query: "b",
            },
        ],
    ) {
        Ok(_) => panic!("duplicate names compiled"),
        Err(e) => e,
    };
    assert_eq!(
        e.to_string(),
        "rule \"x\": another rule already has this name"
    );
}

#[test]
fn error_in_multiline_query() {
    let e = compile_err(&BTreeMap::new(), "wheat AND\n  (barley OR )");
    assert_eq!(
        e.to_string(),
        "rule \"r\": expected a term, phrase, @group or `(` after OR at line 2, column 14\n  \
         \u{20} (barley OR )\n               ^"
    );
}

/// Deterministic fuzzing: glue fragments together with a small PRNG and make sure compiling
/// never panics and every error carries a usable position.
#[test]
fn parser_never_panics_on_arbitrary_input() {
    const FRAGMENTS: &[&str] = &[
        "a",
        "Kazakh*",
        "*",
        "**",
        "\"",
        "\"x y\"",
        "(",
        ")",
        "AND",
        "OR",
        "NOT",
        "and",
        "-",
        "--",
        "@g",
        "@",
        "@nope",
        "@cyc",
        " ",
        "\t",
        "\n",
        "é",
        "ü",
        "Казахстан",
        "إسرائيل",
        "北京",
        "'s",
        "’",
        "title:",
        ":",
        "\u{0301}",
        "ﬁ",
        "@@",
        "\"*",
        "*\"",
        "-(",
        "\\",
        "\0",
    ];
    let g = groups(&[
        ("g", &["Kazakh*", "Central Asia", "@h"]),
        ("h", &["\"Abraham Accords\""]),
        ("cyc", &["@cyc2"]),
        ("cyc2", &["@cyc"]),
    ]);
    let probe = item("Kazakh a x y", "Central Asia", "Abraham Accords");
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        // xorshift64: good enough to mix fragments, and reproducible.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut compiled = 0;
    for _ in 0..600 {
        let n = (next() % 8) as usize;
        let mut query = String::new();
        for _ in 0..n {
            query.push_str(FRAGMENTS[(next() % FRAGMENTS.len() as u64) as usize]);
            if next() % 2 == 0 {
                query.push(' ');
            }
        }
        match RuleSet::compile(
            &g,
            &[RuleSpec {
                name: "f",
                query: &query,
            }],
        ) {
            Ok(set) => {
                compiled += 1;
                let _ = set.matches(&probe);
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
    assert!(
        compiled > 50,
        "fuzz inputs should not all be errors: {compiled}"
    );
}

#[test]
fn error_empty_group_in_a_rule() {
    let g = groups(&[("stans", &[]), ("outer", &["x", "@stans"])]);
    let e = compile_err(&g, "grain @stans");
    assert_eq!(
        e,
        RuleError::EmptyGroup {
            rule: "r".into(),
            group: "stans".into(),
            offset: 6,
        }
    );
    assert_eq!(
        e.to_string(),
        "rule \"r\": group @stans is empty; list at least one term or remove it"
    );
    assert_eq!(
        (e.rule(), e.offset(), e.group()),
        ("r", Some(6), Some("stans"))
    );
    // Also when reached through another group; the empty one is at fault.
    let e = compile_err(&g, "grain @outer");
    assert_eq!(e.group(), Some("stans"));
    assert!(matches!(e, RuleError::EmptyGroup { offset: 6, .. }));
    // An unused empty group does not stop compiling.
    assert!(hit_item_with(&g, "grain", "grain"));
}

#[test]
fn validate_groups_accepts_good_groups() {
    assert_eq!(validate_groups(&BTreeMap::new()), Ok(()));
    let g = groups(&[
        (
            "a",
            &["@b", "@c", "Central Asia", "\"Abraham Accords\"", "Uzbek*"],
        ),
        ("b", &["@d"]),
        ("c", &["@d"]),
        ("d", &["x"]),
        ("unused", &["y"]),
    ]);
    assert_eq!(validate_groups(&g), Ok(()));
}

#[test]
fn validate_groups_reports_every_problem_even_in_unused_groups() {
    let g = groups(&[
        ("bad", &["ok", "Uzbek* OR Tajik*", ""]),
        ("empty", &[]),
        ("fine", &["x"]),
        ("loop_a", &["@loop_b"]),
        ("loop_b", &["y", "@loop_a"]),
        ("myself", &["@myself"]),
        ("typo", &["@fien"]),
    ]);
    let errors = match validate_groups(&g) {
        Ok(()) => panic!("bad groups validated"),
        Err(errors) => errors,
    };
    let shown: Vec<(Option<&str>, String)> =
        errors.iter().map(|e| (e.group(), e.to_string())).collect();
    assert_eq!(
        shown,
        vec![
            (
                Some("bad"),
                "group @bad member \"Uzbek* OR Tajik*\": expected a single term or phrase \
                 (operators, parentheses, field scopes, regexes and `-` are not allowed in group members) at column 8\n  \
                 Uzbek* OR Tajik*\n         ^"
                    .to_owned()
            ),
            (
                Some("bad"),
                "group @bad member \"\": expected a term or phrase at column 1\n  \n  ^".to_owned()
            ),
            (
                Some("empty"),
                "group @empty is empty; list at least one term or remove it".to_owned()
            ),
            (
                Some("typo"),
                "unknown group @fien in group @typo (defined groups: bad, empty, fine, loop_a, \
                 loop_b, myself, typo)"
                    .to_owned()
            ),
            (
                Some("loop_b"),
                "groups reference each other in a cycle: @loop_a -> @loop_b -> @loop_a".to_owned()
            ),
            (
                Some("myself"),
                "groups reference each other in a cycle: @myself -> @myself".to_owned()
            ),
        ]
    );
    for e in &errors {
        assert_eq!((e.rule(), e.offset()), ("", Some(0)), "{e}");
    }
    assert!(matches!(
        &errors[2],
        RuleError::EmptyGroup { rule, group, offset: 0 } if rule.is_empty() && group == "empty"
    ));
}

#[test]
fn validate_groups_reports_each_cycle_once() {
    // Two cycles sharing a group; each is reported once however the search enters it.
    let g = groups(&[
        ("a", &["@b"]),
        ("b", &["@a", "@c"]),
        ("c", &["@b"]),
        ("z", &["@a"]),
    ]);
    let cycles: Vec<Vec<String>> = match validate_groups(&g) {
        Ok(()) => panic!("cycles validated"),
        Err(errors) => errors
            .into_iter()
            .map(|e| match e {
                RuleError::GroupCycle { cycle, .. } => cycle,
                other => panic!("unexpected {other}"),
            })
            .collect(),
    };
    assert_eq!(
        cycles,
        vec![
            vec!["a".to_owned(), "b".into(), "a".into()],
            vec!["b".to_owned(), "c".into(), "b".into()],
        ]
    );
}

fn item_full(title: &str, summary: &str, link: Option<&str>, feed: &str) -> Item {
    let mut it = item(title, summary, "");
    it.link = link.map(str::to_owned);
    it.feed = feed.into();
    it
}

#[test]
fn field_scopes() {
    let football_title = item("Kazakhstan football team", "Abraham Accords", "");
    let football_body = item(
        "Kazakhstan joins",
        "after the football match, Abraham Accords",
        "",
    );
    let q = "Kazakhstan AND \"Abraham Accords\" AND NOT title:football";
    assert!(!hit_item(q, &football_title));
    assert!(hit_item(q, &football_body));

    assert!(hit_item("title:kazakhstan", &football_title));
    assert!(!hit_item("summary:kazakhstan", &football_title));
    assert!(hit_item("summary:\"abraham accords\"", &football_title));
    assert!(hit_item("title:(wheat OR football)", &football_title));
    assert!(!hit_item("title:(wheat OR accords)", &football_title));
    // A scope applies to the one operand after it.
    assert!(hit_item("title:football accords", &football_title));

    let mut it = item("x", "", "");
    it.categories = vec!["Middle East".into()];
    it.authors = vec!["Aigerim Nurlanova".into()];
    assert!(hit_item("category:\"middle east\"", &it));
    assert!(!hit_item("title:\"middle east\"", &it));
    assert!(hit_item("author:nurlanova", &it));

    // link: and feed: are searched only when asked for.
    let linked = item_full(
        "Grain",
        "",
        Some("https://www.reuters.com/world/asia"),
        "Reuters World",
    );
    assert!(hit_item("link:reuters", &linked));
    assert!(!hit_item("reuters", &linked));
    assert!(hit_item("feed:\"reuters world\"", &linked));
    assert!(hit_item("grain AND NOT feed:bbc", &linked));
    assert!(!hit_item("link:bbc", &linked));

    // Field names are case-insensitive; scopes nest by intersection.
    assert!(hit_item("TITLE:grain", &linked));
}

#[test]
fn near_and_onear() {
    let text = "Kazakhstan said on Tuesday it would join the Abraham Accords";
    // Seven words lie between them.
    assert!(hit("kazakhstan NEAR/7 \"abraham accords\"", text));
    assert!(!hit("kazakhstan NEAR/6 \"abraham accords\"", text));
    assert!(hit("\"abraham accords\" NEAR/7 kazakhstan", text));
    assert!(hit("kazakhstan ONEAR/7 \"abraham accords\"", text));
    assert!(!hit("\"abraham accords\" ONEAR/7 kazakhstan", text));
    // NEAR/0 is adjacent.
    assert!(hit("join NEAR/0 the", text));
    assert!(hit("the NEAR/0 join", text));
    assert!(!hit("the ONEAR/0 join", text));
    // Groups, prefixes and ORs as operands; the closest pair counts.
    let g = groups(&[("ca", &["Kazakh*", "Uzbek*"])]);
    assert!(hit_item_with(
        &g,
        "@ca NEAR/2 (accords OR treaty)",
        "an Uzbek treaty, and later Kazakhstan ... accords"
    ));
    assert!(!hit_item_with(
        &g,
        "@ca NEAR/1 (accords OR treaty)",
        "Uzbek x y treaty"
    ));
    // Never across fields, and a word is not near itself.
    assert!(!hit_item(
        "kazakhstan NEAR/5 accords",
        &item("Kazakhstan", "accords", "")
    ));
    assert!(!hit("wheat NEAR/3 wheat", "wheat prices"));
    assert!(hit("wheat NEAR/3 wheat", "wheat and more wheat"));
    // NEAR binds tighter than NOT and AND.
    assert!(hit(
        "grain AND NOT kazakh NEAR/0 football",
        "grain: Kazakh wheat; football"
    ));
    assert!(!hit(
        "grain AND NOT kazakh NEAR/0 football",
        "grain: Kazakh football"
    ));
    // A scoped operand narrows the pair to that field.
    assert!(!hit_item(
        "title:kazakhstan NEAR/3 accords",
        &item("x", "Kazakhstan accords", "")
    ));
    assert!(hit_item(
        "title:kazakhstan NEAR/3 accords",
        &item("Kazakhstan accords", "", "")
    ));
}

#[test]
fn exact_case_terms() {
    assert!(hit("=US AND sanctions", "US sanctions on wheat"));
    assert!(!hit("=US AND sanctions", "sanctions hurt us"));
    assert!(!hit("=US", "Us and them"));
    assert!(hit("=\"New START\"", "the New START treaty"));
    assert!(!hit("=\"New START\"", "a new start for talks"));
    assert!(hit("=NATO*", "NATO's summit"));
    assert!(hit("=Kazakh*", "Kazakhstan"));
    assert!(!hit("=Kazakh*", "KAZAKHSTAN"));
    // Diacritics are still folded; only case is kept.
    assert!(hit("=Türkiye", "Turkiye"));
    // Case-insensitive and exact-case forms of one word are separate terms.
    let set = match RuleSet::compile(
        &BTreeMap::new(),
        &[
            RuleSpec {
                name: "exact",
                query: "=US",
            },
            RuleSpec {
                name: "any",
                query: "us",
            },
        ],
    ) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let names = |t: &str| {
        set.matches(&item(t, "", ""))
            .into_iter()
            .map(|m| m.rule)
            .collect::<Vec<_>>()
    };
    assert_eq!(names("join us"), ["any"]);
    assert_eq!(names("the US said"), ["exact", "any"]);
    // In groups too.
    let g = groups(&[("acronyms", &["=US", "=UN", "=\"E U\""])]);
    assert!(hit_item_with(&g, "@acronyms", "the UN said"));
    assert!(!hit_item_with(&g, "@acronyms", "un peu"));
}

#[test]
fn regexes() {
    assert!(hit("/F-?16s?/", "Kazakhstan buys F-16s"));
    assert!(!hit("/F-?16s?/", "kazakhstan buys f-16s"));
    assert!(hit("/(?i)f-?16s?/", "kazakhstan buys f16"));
    // The regex sees the original text: punctuation and case included.
    assert!(hit("/U\\.S\\./", "U.S. troops"));
    assert!(hit(
        "wheat AND /\\d{4}-\\d{2}-\\d{2}/",
        "wheat on 2026-11-27"
    ));
    assert!(hit_item(
        "link:/\\/world\\//",
        &item_full("x", "", Some("https://a.example/world/x"), "f")
    ));
    assert!(!hit_item(
        "/world/",
        &item_full("x", "", Some("https://a.example/world/x"), "f")
    ));
    let m = compile(&BTreeMap::new(), "/F-?16/ AND buys").matches(&item("buys F-16", "", ""));
    assert_eq!(
        reported(&m[0]),
        [("/F-?16/", vec!["F-16"]), ("buys", vec!["buys"])]
    );
}

#[test]
fn errors_for_new_syntax() {
    let e = compile_err(&BTreeMap::new(), "wheat AND /(unclosed/");
    assert!(matches!(e, RuleError::Regex { offset: 10, .. }), "{e}");
    assert!(
        e.to_string().starts_with("rule \"r\": invalid regex: "),
        "{e}"
    );
    assert!(
        e.to_string()
            .ends_with("at column 11\n  wheat AND /(unclosed/\n            ^"),
        "{e}"
    );
    let e = compile_err(&BTreeMap::new(), "/x*/");
    assert!(e.to_string().contains("matches the empty string"), "{e}");
    let e = compile_err(&BTreeMap::new(), "/(a{1000}){1000}/");
    assert!(e.to_string().contains("too large"), "{e}");
    let e = compile_err(&BTreeMap::new(), "a /b");
    assert!(
        e.to_string()
            .contains("a closing `/` for the regex opened in column 3"),
        "{e}"
    );

    let e = compile_err(&BTreeMap::new(), "a NEAR b");
    assert!(
        e.to_string().contains("a distance after NEAR, e.g. NEAR/5"),
        "{e}"
    );
    let e = compile_err(&BTreeMap::new(), "a NEAR/x b");
    assert_eq!(e.offset(), Some(7));
    let e = compile_err(&BTreeMap::new(), "a NEAR/2 b NEAR/2 c");
    assert!(e.to_string().contains("NEAR cannot be chained"), "{e}");
    assert_eq!(e.offset(), Some(11));
    let e = compile_err(&BTreeMap::new(), "(a AND b) NEAR/2 c");
    assert!(
        e.to_string()
            .contains("AND, NOT and NEAR cannot be inside NEAR"),
        "{e}"
    );
    assert_eq!(e.offset(), Some(0));
    let e = compile_err(&BTreeMap::new(), "a NEAR/2 /b+/");
    assert!(
        e.to_string().contains("a regex has no word positions"),
        "{e}"
    );
    assert!(
        compile_err(&BTreeMap::new(), "NEAR/2 b")
            .to_string()
            .contains("before NEAR")
    );
    let e = compile_err(&BTreeMap::new(), "title:");
    assert!(e.to_string().contains("after `title:`"), "{e}");
    let e = compile_err(&BTreeMap::new(), "= US");
    assert!(e.to_string().contains("a word (letters or digits)"), "{e}");
    let e = compile_err(&BTreeMap::new(), "=(US)");
    assert!(e.to_string().contains("after `=` (exact case"), "{e}");
    // `nearby` and lowercase `near` are words.
    assert!(hit("near NEARBY", "nearby near"));
}

#[test]
fn rules_that_can_never_match_are_rejected() {
    let e = compile_err(&BTreeMap::new(), "title:(summary:wheat)");
    assert_eq!(
        e.to_string(),
        "rule \"r\": can never match: `summary:` inside another field scope; an item field \
         cannot be two fields at once at column 8\n  title:(summary:wheat)\n         ^"
    );
    let e = compile_err(&BTreeMap::new(), "wheat AND NOT wheat");
    assert_eq!(
        e.to_string(),
        "rule \"r\": can never match: it requires `wheat` and also excludes it with NOT"
    );
    assert!(matches!(
        compile_err(&BTreeMap::new(), "title:wheat -wheat"),
        RuleError::NeverMatches { .. }
    ));
    // Excluding it elsewhere is fine.
    assert!(!hit("wheat AND NOT title:wheat", "x"));
    assert!(hit_item(
        "wheat AND NOT title:wheat",
        &item("x", "wheat", "")
    ));
}

#[test]
fn prefix_of_another_term_is_found_across_rules() {
    let specs = [
        RuleSpec {
            name: "short",
            query: "ab",
        },
        RuleSpec {
            name: "prefix",
            query: "ab*",
        },
        RuleSpec {
            name: "long",
            query: "abraham",
        },
        RuleSpec {
            name: "phrase",
            query: "\"abraham accords\"",
        },
        RuleSpec {
            name: "near",
            query: "abraham NEAR/0 accords",
        },
    ];
    let set = match RuleSet::compile(&BTreeMap::new(), &specs) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let names = |t: &str| {
        set.matches(&item(t, "", ""))
            .into_iter()
            .map(|m| m.rule)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names("Abraham Accords"),
        ["prefix", "long", "phrase", "near"]
    );
    assert_eq!(names("ab abraham"), ["short", "prefix", "long"]);
}

#[test]
fn explain_says_which_terms_matched_where_and_why_not() {
    let set = compile(
        &BTreeMap::new(),
        "kazakh* AND \"abraham accords\" AND NOT title:football",
    );
    let e = set
        .explain("r", &item("Kazakh football", "Abraham Accords", ""))
        .expect("rule exists");
    assert!(!e.matched);
    assert_eq!(
        e.terms,
        [
            TermReport {
                term: "kazakh*".into(),
                fields: vec!["title"],
                found: vec!["Kazakh".into()],
                negated: false,
                scoped: false,
            },
            TermReport {
                term: "\"abraham accords\"".into(),
                fields: vec!["summary"],
                found: vec!["Abraham Accords".into()],
                negated: false,
                scoped: false,
            },
            TermReport {
                term: "football in title".into(),
                fields: vec!["title"],
                found: vec!["football".into()],
                negated: true,
                scoped: true,
            },
        ]
    );
    assert_eq!(
        e.reasons,
        ["excluded by NOT football in title (found in title)"]
    );
    let e = set
        .explain("r", &item("Kazakh wheat", "", ""))
        .expect("rule exists");
    assert_eq!(e.reasons, ["\"abraham accords\" not found"]);
    assert!(set.explain("nope", &item("", "", "")).is_none());
    let e = set
        .explain("r", &item("Kazakh wheat", "Abraham Accords", ""))
        .expect("rule exists");
    assert!(e.matched && e.reasons.is_empty());
}

#[test]
fn unused_groups_are_found_through_nesting() {
    let g = groups(&[
        ("used", &["@nested", "x"]),
        ("nested", &["y"]),
        ("in_near", &["z"]),
        ("orphan", &["@orphan_child"]),
        ("orphan_child", &["w"]),
    ]);
    let unused = unused_groups(
        &g,
        [
            "@used AND NOT title:football",
            "a NEAR/2 title:@in_near",
            "(((",
        ],
    );
    assert_eq!(unused, ["orphan", "orphan_child"]);
}
