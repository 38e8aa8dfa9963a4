//! Built-in places (`@region:`, `@country:`, `@bloc:`) through the real binary: a dry run of a
//! region rule over a feed served on 127.0.0.1 in several languages and spellings, the same rule
//! in a config run by the daemon, `watchword groups`, and a bad reference in a config.

mod common;

use std::collections::BTreeSet;

use common::*;

const REGION_RULE: &str = r#"@region:central-asia AND "Abraham Accords""#;

/// (guid, title, should the region rule match?)
const ITEMS: &[(&str, &str, bool)] = &[
    (
        "kz-en",
        "Kazakhstan will sign the Abraham Accords next week, officials confirm",
        true,
    ),
    (
        "kz-ru",
        "Президент Казахстана подтвердил присоединение к Abraham Accords",
        true,
    ),
    (
        "kz-diacritics",
        "Qazaqstan envoy: KAZAKHSTÁN’s place in the Abraham Accords is settled",
        true,
    ),
    ("kz-ar", "وكازاخستان تنضم رسميا إلى Abraham Accords", true),
    (
        "uz-en",
        "Uzbek diplomats quietly study the Abraham Accords text",
        true,
    ),
    ("uz-ru", "В Узбекистане обсуждают Abraham Accords", true),
    (
        "az",
        "Azerbaijan and Israel discuss the Abraham Accords in Baku",
        false,
    ),
    (
        "ma",
        "Morocco marks five years inside the Abraham Accords",
        false,
    ),
    (
        "kz-wheat",
        "Kazakhstan wheat harvest sets a record as rains return",
        false,
    ),
];

fn feed() -> String {
    feed_of(ITEMS.iter().map(|(guid, title, _)| (*guid, *title)))
}

/// An RSS feed of one item per (guid, title), each dated a minute apart, its title also its
/// text (so that no two are taken for one story), linked under wire.example.org.
fn feed_of<'a>(items: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let entries: Vec<Entry> = items
        .enumerate()
        .map(|(i, (guid, title))| Entry {
            guid,
            title,
            description: title,
            link: Box::leak(format!("https://wire.example.org/{guid}").into_boxed_str()),
            published: minutes_ago(10 + i as i64),
        })
        .collect();
    rss(&entries)
}

/// A config with one feed at `url` and one rule with `query`, alerting to stdout; the caller
/// adds any groups.
/// Each item (guid, title, query) is found by its own query, through `watchword test`.
fn each_found_by_its_query(items: &[(&str, &str, &str)]) {
    let server = FeedServer::start();
    server.put_rss(
        "/feed.xml",
        &feed_of(items.iter().map(|(guid, title, _)| (*guid, *title))),
    );
    for (guid, title, query) in items {
        let (matched, text) = matched_by(&server.url("/feed.xml"), query, &[(guid, title)]);
        assert!(matched.contains(guid), "{guid}: {query} missed it\n{text}");
    }
}

/// Runs `watchword test --query QUERY` over the feed at `url`: which of `titles` (guid,
/// title) it matched, and what it printed (for failure messages).
fn matched_by<'a>(
    url: &str,
    query: &str,
    titles: &[(&'a str, &'a str)],
) -> (BTreeSet<&'a str>, String) {
    let ws = Workspace::new();
    let out = ws.watchword(&["test", "--query", query, url]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}\n{text}", stderr(&out));
    let matched = titles
        .iter()
        .filter(|(_, title)| text.contains(&format!("MATCH query  {title}\n")))
        .map(|(guid, _)| *guid)
        .collect();
    (matched, text)
}

fn config(ws: &Workspace, url: &str, query: &str) -> TomlConfig {
    TomlConfig::for_workspace(ws)
        .feed("wire", url)
        .rule("places", query, &["out"])
        .stdout_sink("out")
}

#[test]
fn region_rule_matches_every_language_and_spelling_of_its_countries_only() {
    let server = FeedServer::start();
    server.put_rss("/feed.xml", &feed());
    let ws = Workspace::new();
    // No config at all: built-in places need none.
    let out = ws.watchword(&["test", "--query", REGION_RULE, &server.url("/feed.xml")]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}\n{text}", stderr(&out));
    let matched: BTreeSet<&str> = ITEMS
        .iter()
        .filter(|(_, title, _)| text.contains(&format!("MATCH query  {title}\n")))
        .map(|(guid, _, _)| *guid)
        .collect();
    let expected: BTreeSet<&str> = ITEMS
        .iter()
        .filter(|(_, _, hit)| *hit)
        .map(|(guid, _, _)| *guid)
        .collect();
    assert_eq!(matched, expected, "{text}");
    // The report quotes the item's own word under the rule's reference, not the generated
    // form that matched it (`казахстана`), nor a line per form of the reference.
    assert!(
        text.contains("+ @region:central-asia: \"Казахстана\" in title, summary\n"),
        "{text}"
    );
}

#[test]
fn the_daemon_alerts_on_a_region_rule_from_the_config() {
    let server = FeedServer::start();
    server.put_rss("/feed.xml", &feed());
    let ws = Workspace::new();
    config(
        &ws,
        &server.url("/feed.xml"),
        "@country:UZ[en,ru] AND @accords",
    )
    .group(
        "accords",
        r#"["Abraham Accords", "@bloc:abraham-accords[own]"]"#,
    )
    .write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ids: BTreeSet<String> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("one JSON alert per line"))
        .map(|alert| alert["item"]["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        ids,
        BTreeSet::from(["uz-en".to_owned(), "uz-ru".to_owned()])
    );
}

#[test]
fn groups_lists_built_in_places_and_shows_what_a_reference_matches() {
    let ws = Workspace::new();
    config(&ws, &unused_local_url("/feed.xml"), "@stans")
        .group("stans", r#"["@region:central-asia[en]", "Afghanistan"]"#)
        .write(&ws);
    let out = ws.watchword(&["groups"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(text.contains("@stans"), "{text}");
    assert!(text.contains("region:central-asia"), "{text}");
    assert!(text.contains("bloc:abraham-accords"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().eq(["country:KZ", "KAZ", "Kazakhstan"])),
        "{text}"
    );

    let out = ws.watchword(&["groups", "@region:central-asia", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let shown: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON");
    assert_eq!(
        shown["members"],
        serde_json::json!(["KG", "KZ", "TJ", "TM", "UZ"])
    );
    let forms: Vec<&str> = shown["forms"]
        .as_array()
        .expect("forms")
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    for form in [
        "Central Asia",
        "Kazakhstan",
        "Казахстана",
        "Uzbek",
        "Oʻzbekiston",
    ] {
        assert!(forms.contains(&form), "{form} not in {forms:?}");
    }

    // A config group expands through the built-in reference it names.
    let out = ws.watchword(&["groups", "stans"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        text.contains("Tajikistan") && text.contains("Afghanistan"),
        "{text}"
    );
    assert!(
        !text.contains("Таджикистан"),
        "only English was asked for: {text}"
    );
}

#[test]
fn a_bad_reference_in_the_config_says_where_and_what_to_write() {
    let ws = Workspace::new();
    config(
        &ws,
        &unused_local_url("/feed.xml"),
        r#"@country:Kazakhstan AND "Abraham Accords""#,
    )
    .write(&ws);
    let out = ws.watchword(&["check"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    // The reference starts the query, whose text starts in column 10 of line 10.
    assert!(
        err.contains("watchword.toml:10:10: rule \"places\""),
        "{err}"
    );
    assert!(
        err.contains("unknown country `Kazakhstan`; did you mean @country:KZ?"),
        "{err}"
    );

    let out = ws.watchword(&["groups", "region:central-asai"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("did you mean"), "{}", stderr(&out));
}

/// The mission's rule as a user writes it: a region AND a treaty. Each failure class of the
/// real-text measurement (issue 18) has an item here, written for this test.
const NATURAL_RULE: &str = "@region:central-asia AND @bloc:abraham-accords";

/// (guid, title, should the natural rule match?)
const NATURAL_ITEMS: &[(&str, &str, bool)] = &[
    // A member named once is not news about the treaty.
    (
        "kz-cycling",
        "Kazakh rider wins the queen stage as the race climbs above Almaty",
        false,
    ),
    (
        "kz-snow",
        "Heavy snowfall closes schools across Kazakhstan",
        false,
    ),
    (
        "ae-anniversary",
        "Israel and the UAE mark five years of the Abraham Accords",
        false,
    ),
    (
        "kz-en",
        "Kazakhstan to join the Abraham Accords, White House says",
        true,
    ),
    // The capital names the government; Russian declines it.
    ("kz-capital", "Astana signs on to the Abraham Accords", true),
    (
        "kz-ru-capital",
        "Из Астаны подтвердили переговоры об Авраамовых соглашениях",
        true,
    ),
    // Russian adjective form of the treaty's name.
    (
        "kz-ru",
        "Казахстан присоединится к Авраамским соглашениям",
        true,
    ),
    // Chinese: no spaces, so no whole words.
    ("kz-zh", "哈萨克斯坦宣布加入亚伯拉罕协议", true),
    // Japanese: Katakana names, Han and a particle between.
    ("kz-ja", "カザフスタンがアブラハム合意に参加へ", true),
    // Kazakh: case endings written onto both names.
    ("kz-kk", "Қазақстан Авраам келісімдеріне қосылады", true),
    // Polish: declined names.
    (
        "kz-pl",
        "Kazachstan przystąpi do Porozumień Abrahamowych",
        true,
    ),
    // Hebrew: particles written onto the name.
    ("kz-he", "קזחסטן תצטרף להסכמי אברהם", true),
    // Uzbek with an ASCII apostrophe for the okina.
    (
        "uz-uz",
        "O'zbekiston Ibrohim kelishuvlariga qo'shilishni muhokama qilmoqda",
        true,
    ),
    // The failure classes of the fresh sample (eval/results-fresh.md): the Russian adjective
    // in -овск-, ...
    (
        "kz-ru-ovsk",
        "Израиль приветствует решение Казахстана присоединиться к Авраамовским соглашениям",
        true,
    ),
    // ... the Hindi press spelling of Kazakhstan, ...
    (
        "kz-hi",
        "कजाकिस्तान ने अब्राहम समझौते में शामिल होने का फैसला किया",
        true,
    ),
    // ... and Reuters' French name without "d'".
    (
        "kz-fr",
        "Le Kazakhstan va rejoindre les Accords Abraham, selon Washington",
        true,
    ),
    // The re-measured fresh sample (eval/results-fresh-now.md): Reuters' French "so-called
    // Abraham accords", ...
    (
        "kz-fr-dits",
        "Astana confirme son entrée dans les accords dits d'Abraham",
        true,
    ),
    // ... written as fixed forms, not as "accords" near "Abraham", which would take this too.
    (
        "kz-fr-person",
        "Au Kazakhstan, Abraham Cohen signe des accords de distribution de céréales",
        false,
    ),
];

#[test]
fn the_natural_region_and_treaty_rule_finds_the_event_in_many_languages_and_not_a_member_alone() {
    let server = FeedServer::start();
    server.put_rss(
        "/feed.xml",
        &feed_of(NATURAL_ITEMS.iter().map(|(guid, title, _)| (*guid, *title))),
    );
    let ws = Workspace::new();
    config(&ws, &server.url("/feed.xml"), NATURAL_RULE).write(&ws);
    let out = ws.watchword(&["once"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let alerted: BTreeSet<String> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("one JSON alert per line"))
        .map(|alert| alert["item"]["id"].as_str().unwrap_or_default().to_owned())
        .collect();
    let expected: BTreeSet<String> = NATURAL_ITEMS
        .iter()
        .filter(|(_, _, hit)| *hit)
        .map(|(guid, _, _)| (*guid).to_owned())
        .collect();
    assert_eq!(alerted, expected);
}

#[test]
fn check_warns_when_one_country_satisfies_both_sides_of_an_and() {
    let ws = Workspace::new();
    config(
        &ws,
        "file:///dev/null",
        "@region:central-asia AND @bloc:sco",
    )
    .write(&ws);
    let out = ws.watchword(&["check"]);
    let text = stdout(&out);
    assert!(out.status.success(), "{}\n{text}", stderr(&out));
    assert!(
        text.contains("warning: rule \"places\": @region:central-asia and @bloc:sco share")
            && text.contains("Kazakhstan")
            && text.contains("write @bloc:sco[own]"),
        "{text}"
    );
    // `test`, where a rule is tried first, says the same on stderr.
    let out = ws.watchword(&["test", "--query", "@region:central-asia AND @bloc:sco", "-"]);
    assert!(
        stderr(&out).contains("warning: rule \"query\": @region:central-asia and @bloc:sco share"),
        "{}",
        stderr(&out)
    );
    // The natural treaty rule needs no such warning: a treaty means its own names.
    config(&ws, "file:///dev/null", NATURAL_RULE).write(&ws);
    let out = ws.watchword(&["check"]);
    assert!(!stdout(&out).contains("share"), "{}", stdout(&out));
}

#[test]
fn a_longer_country_name_hides_the_shorter_one_inside_it() {
    let server = FeedServer::start();
    let titles = [
        ("pg", "Papua New Guinea counts votes after a tight election"),
        ("gq", "Equatorial Guinea expands its oil licences"),
        ("gw-pt", "Guiné-Bissau adia as eleições"),
        ("ss", "South Sudan ceasefire holds for a second week"),
        ("ss-ru", "В Южном Судане продлили перемирие"),
        ("gn", "Guinea's junta sets a date for the referendum"),
        ("sd", "Sudan and South Sudan agree on oil transit fees"),
        // A longer demonym hides the shorter one too.
        (
            "ss-demonym",
            "South Sudanese opposition leader appears in court",
        ),
        (
            "ss-fr",
            "L'armée sud-soudanaise accusée d'exactions dans le Haut-Nil",
        ),
    ];
    server.put_rss("/feed.xml", &feed_of(titles.iter().copied()));
    let matched = |query: &str| matched_by(&server.url("/feed.xml"), query, &titles).0;
    assert_eq!(matched("@country:GN"), BTreeSet::from(["gn"]));
    // "Sudan and South Sudan": the first Sudan still counts.
    assert_eq!(matched("@country:SD"), BTreeSet::from(["sd"]));
    assert_eq!(
        matched("@country:SS"),
        BTreeSet::from(["ss", "ss-ru", "sd", "ss-demonym", "ss-fr"])
    );
    // A rule that asks for both gets both.
    assert_eq!(
        matched("@country:GN OR @country:PG"),
        BTreeSet::from(["gn", "pg"])
    );
}

#[test]
fn a_short_country_name_is_not_found_at_the_start_of_other_languages_words() {
    let server = FeedServer::start();
    let titles = [
        (
            "en-indicate",
            "Markets indicate individual investors are wary",
        ),
        (
            "en-children",
            "Children chill as malted drinks and chili sauce sell out",
        ),
        ("en-silicon", "Silicon supply tightens for chip makers"),
        (
            "es-gana",
            "El equipo gana la final y los exportadores esperan ganar",
        ),
        ("es-ganar", "Los exportadores esperan ganar cuota este año"),
        ("pl-in", "Premier rozmawiał w Indiach o handlu"),
        ("pl-ru", "Sankcje wobec Rosji zostaną przedłużone"),
        ("uz-cn", "Xitoyning eksporti o'sdi"),
        ("tr-cl", "Şili'de seçim sonuçları açıklandı"),
    ];
    server.put_rss("/feed.xml", &feed_of(titles.iter().copied()));
    let query =
        "@country:IN OR @country:CL OR @country:MT OR @country:GH OR @country:RU OR @country:CN";
    let (matched, text) = matched_by(&server.url("/feed.xml"), query, &titles);
    // Polish *Indie*, Uzbek *Chili*, Turkish *Şili* and *Gana* once matched as bare prefixes.
    assert_eq!(
        matched,
        BTreeSet::from(["pl-in", "pl-ru", "uz-cn", "tr-cl"]),
        "{text}"
    );
}

#[test]
fn names_the_fresh_sample_found_missing_are_matched() {
    // One item per miss of the fresh real-text sample (eval/results-fresh.md), written for
    // this test: (guid, title, the reference that must match it).
    let items = [
        // Kazakh in Arabic script (Xinjiang's press).
        (
            "kg-kk-arab",
            "قىرعىزستان ۇكىمەتى جاڭا كەلىسىمگە قول قويدى",
            "@region:central-asia",
        ),
        // The Hindi press spelling; nukta or not.
        ("kz-hi", "कजाकिस्तान में भारी बर्फबारी से स्कूल बंद", "@country:KZ"),
        (
            "kz-hi-nukta",
            "कज़ाकिस्तान के राष्ट्रपति दिल्ली पहुंचे",
            "@country:KZ",
        ),
        // Korean and Japanese headlines' short names.
        ("kz-ko", "한-카자흐 정상회담 열려", "@country:KZ"),
        ("kz-ja", "日カザフ首脳会談、資源で協力", "@country:KZ"),
        // Korean particles on South Korea's short name.
        (
            "kr-ko",
            "한국과 카자흐스탄, 핵심광물 협력 강화",
            "@country:KR",
        ),
    ];
    each_found_by_its_query(&items);
}

#[test]
fn capitals_name_their_countries_in_the_cldr_languages_and_common_words_do_not() {
    // (guid, title, reference, should it match?), written for this test.
    let items = [
        (
            "kz-ko",
            "아스타나, 아브라함 협정 가입 확인",
            "@country:KZ",
            true,
        ),
        (
            "uz-ja",
            "タシケントで中央アジア首脳会議",
            "@country:UZ",
            true,
        ),
        (
            "uz-tr",
            "Taşkent'te Orta Asya zirvesi başladı",
            "@region:central-asia",
            true,
        ),
        ("kg-zh", "比什凯克举行边境谈判", "@country:KG", true),
        (
            "ae-hi",
            "अबू धाबी में शिखर सम्मेलन",
            "@bloc:abraham-accords[members]",
            true,
        ),
        ("il-he", "ביקור בירושלים", "@country:IL", true),
        // Rome (罗马) inside Romania (罗马尼亚): a longer country name hides the capital.
        ("ro-zh", "罗马尼亚总统访问布鲁塞尔", "@country:IT", false),
        // Dushanbe in Persian is also "Monday"; it is left out of the data.
        (
            "tj-fa",
            "جلسه دوشنبه در تهران برگزار شد",
            "@country:TJ",
            false,
        ),
    ];
    let server = FeedServer::start();
    server.put_rss(
        "/feed.xml",
        &feed_of(items.iter().map(|(guid, title, _, _)| (*guid, *title))),
    );
    for (guid, title, query, hit) in items {
        let (matched, text) = matched_by(&server.url("/feed.xml"), query, &[(guid, title)]);
        assert_eq!(matched.contains(guid), hit, "{guid}: {query}\n{text}");
    }
}

#[test]
fn ukrainian_and_polish_names_match_with_their_first_words_declined() {
    // (guid, title, reference), written for this test; the country items were missed when
    // only the last word of a name declined.
    let items = [
        (
            "sa-pl",
            "Rozmowy pokojowe w Arabii Saudyjskiej",
            "@country:SA",
        ),
        (
            "ae-pl",
            "Delegacja Zjednoczonych Emiratów Arabskich w Warszawie",
            "@country:AE",
        ),
        (
            "kr-pl",
            "Prezydent Korei Południowej z wizytą w Astanie",
            "@country:KR",
        ),
        (
            "ae-uk",
            "Делегація Об'єднаних Арабських Еміратів прибула до Києва",
            "@country:AE",
        ),
        (
            "sa-uk",
            "Переговори в Саудівській Аравії завершилися",
            "@country:SA",
        ),
        (
            "ca-uk",
            "Саміт лідерів Центральної Азії відбудеться в Астані",
            "@region:central-asia[own]",
        ),
    ];
    each_found_by_its_query(&items);
}
