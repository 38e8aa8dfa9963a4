use std::collections::{BTreeMap, HashSet};

use super::*;
use crate::rules::{RuleSet, RuleSpec};

fn g() -> &'static Gazetteer {
    match gazetteer() {
        Ok(g) => g,
        Err(e) => panic!("the embedded place data must load: {e}"),
    }
}

fn forms(reference: &str) -> Vec<String> {
    match expand(reference) {
        Ok(e) => e.forms,
        Err(e) => panic!("{reference}: {e}"),
    }
}

#[test]
fn the_data_is_complete() {
    let g = g();
    // ISO 3166-1 has 249 codes; Kosovo's user-assigned XK makes 250.
    assert!(g.countries.len() >= 249, "{} countries", g.countries.len());
    assert_eq!(
        g.regions.len(),
        30,
        "every M49 region, sub-region and intermediate region"
    );
    assert!(g.blocs.len() >= 30, "{} blocs", g.blocs.len());
    let mut iso3 = HashSet::new();
    let mut m49 = HashSet::new();
    for c in g.countries.values() {
        assert!(iso3.insert(&c.iso3), "{}: iso3 {} twice", c.code, c.iso3);
        assert!(m49.insert(&c.m49), "{}: m49 {} twice", c.code, c.m49);
        for lang in [Lang::En, Lang::Ru, Lang::Fr, Lang::De, Lang::Es, Lang::Ar] {
            assert!(
                !c.names.get(lang, Kind::Names).is_empty(),
                "{}: no {} name",
                c.code,
                lang.code()
            );
        }
        if c.status == Status::Territory {
            let sovereign = c.sovereign.as_deref().unwrap_or("");
            assert!(g.countries.contains_key(sovereign), "{}: sovereign", c.code);
        }
        if c.code != "AQ" {
            assert!(
                c.area.is_some(),
                "{}: every country but Antarctica has an area",
                c.code
            );
        }
    }
    for region in ["africa", "americas", "asia", "europe", "oceania"] {
        assert!(g.regions[region].parent.is_none());
    }
}

/// Every built-in reference compiles as a rule, so no form in the data (or generated from it)
/// is something the rule language rejects.
#[test]
fn every_reference_compiles() {
    let g = g();
    let mut queries: Vec<String> = g
        .countries
        .keys()
        .map(|c| format!("@country:{c}[all]"))
        .collect();
    queries.extend(g.regions.keys().map(|r| format!("@region:{r}[all]")));
    queries.extend(g.blocs.keys().map(|b| format!("@bloc:{b}[all]")));
    let names: Vec<String> = (0..queries.len()).map(|i| format!("r{i}")).collect();
    let specs: Vec<RuleSpec> = names
        .iter()
        .zip(&queries)
        .map(|(name, query)| RuleSpec { name, query })
        .collect();
    if let Err(e) = RuleSet::compile(&BTreeMap::new(), &specs) {
        panic!("{e}");
    }
}

#[test]
fn a_reference_with_no_word_is_an_error_not_a_rule_that_never_matches() {
    let spec = RuleSpec {
        name: "gulf",
        query: "@bloc:gcc[own,demonyms] AND oil",
    };
    match RuleSet::compile(&BTreeMap::new(), &[spec]) {
        Ok(_) => panic!("a bloc has no demonyms: the rule could never match"),
        Err(e) => assert!(e.to_string().contains("has no word"), "{e}"),
    }
}

#[test]
fn regions_follow_m49() {
    let g = g();
    assert_eq!(
        g.region_members("central-asia"),
        ["KG", "KZ", "TJ", "TM", "UZ"]
    );
    // Through the intermediate region and sub-region to the region.
    let kenya = &g.countries["KE"];
    assert!(g.in_region(kenya, "eastern-africa"));
    assert!(g.in_region(kenya, "sub-saharan-africa"));
    assert!(g.in_region(kenya, "africa"));
    assert!(!g.in_region(kenya, "northern-africa"));
    assert!(g.region_members("western-asia").contains(&"AZ".to_owned()));
    assert!(!g.region_members("central-asia").contains(&"AZ".to_owned()));
    let accords = &g.blocs["abraham-accords"].members;
    for code in ["IL", "AE", "BH", "MA", "KZ"] {
        assert!(accords.contains(&code.to_owned()), "{code}");
    }
}

#[test]
fn a_country_reference_matches_names_demonyms_and_unambiguous_capitals_by_default() {
    let kz = forms("country:KZ");
    for expected in [
        "Kazakhstan",
        "Kazakh",
        "Kasachstan",
        "Казахстан",
        "كازاخستان",
    ] {
        assert!(kz.iter().any(|f| f == expected), "{expected} in {kz:?}");
    }
    // "Astana signs on" is how wires name the government.
    assert!(kz.iter().any(|f| f == "Astana"), "{kz:?}");
    assert!(
        kz.iter().any(|f| f == "Астаны"),
        "capitals are declined too: {kz:?}"
    );
    // Washington is also a person and a state: only when capitals are asked for.
    let us = forms("country:US");
    assert!(!us.iter().any(|f| f == "Washington"), "{us:?}");
    assert!(us.iter().any(|f| f == "Washington DC"), "{us:?}");
    let us_capitals = forms("country:US[capitals]");
    assert!(
        us_capitals.iter().any(|f| f == "Washington"),
        "{us_capitals:?}"
    );
    assert!(
        !us_capitals.iter().any(|f| f.starts_with('?')),
        "{us_capitals:?}"
    );
    let names_only = forms("country:KZ[names]");
    assert!(!names_only.iter().any(|f| f == "Astana"), "{names_only:?}");
    assert!(forms("country:kaz").contains(&"Kazakhstan".to_owned()));

    let english = forms("country:KZ[en]");
    assert!(english.contains(&"Kazakhstan".to_owned()));
    assert!(
        !english.iter().any(|f| f.starts_with("Казах")),
        "{english:?}"
    );
    let names_only = forms("country:KZ[names,en]");
    assert!(!names_only.contains(&"Kazakh".to_owned()), "{names_only:?}");
}

#[test]
fn a_region_includes_its_own_names_unless_told_otherwise() {
    let all = forms("region:central-asia[en]");
    assert!(all.contains(&"Central Asia".to_owned()), "{all:?}");
    assert!(all.contains(&"Uzbekistan".to_owned()), "{all:?}");
    let members = forms("region:central-asia[en,members]");
    assert!(!members.contains(&"Central Asia".to_owned()));
    assert!(members.contains(&"Uzbekistan".to_owned()));
    let own = match expand("region:central-asia[en,own]") {
        Ok(e) => e,
        Err(e) => panic!("{e}"),
    };
    assert!(own.members.is_empty());
    assert!(!own.forms.contains(&"Uzbekistan".to_owned()));
}

#[test]
fn bad_references_say_what_to_write() {
    let err = |text: &str| match expand(text) {
        Ok(e) => panic!("{text} expanded to {e:?}"),
        Err(e) => e.to_string(),
    };
    assert_eq!(
        err("country:Kazakhstan"),
        "unknown country `Kazakhstan`; did you mean @country:KZ?"
    );
    assert!(err("country:QQ").starts_with("unknown country `QQ`"));
    let region = err("region:centralasia");
    assert!(
        region.starts_with("unknown region `centralasia`") && region.contains("central-asia"),
        "{region}"
    );
    assert!(err("region:central-asia[klingon]").contains("unknown option `klingon`"));
    assert!(err("region:central-asia[en").contains("must end with `]`"));
    assert!(err("country:KZ[members]").contains("apply to regions and blocs"));
    assert!(err("bloc:").contains("missing"));
    assert_eq!(
        expand("country:KZ[en, ]").map(|e| e.forms.is_empty()),
        Ok(false),
        "an empty option is ignored"
    );
    assert!(!is_reference("central_asia"));
    assert!(!is_reference("city:Paris"));
}

#[test]
fn a_treaty_means_its_own_names_unless_members_are_asked_for() {
    let default = match expand("bloc:abraham-accords") {
        Ok(e) => e,
        Err(e) => panic!("{e}"),
    };
    assert!(default.members.is_empty(), "{:?}", default.members);
    assert!(default.forms.contains(&"Abraham Accords".to_owned()));
    assert!(!default.forms.contains(&"Kazakhstan".to_owned()));
    let members = forms("bloc:abraham-accords[members,en]");
    assert!(members.contains(&"Kazakhstan".to_owned()), "{members:?}");
    assert!(!members.contains(&"Abraham Accords".to_owned()));
    let both = forms("bloc:abraham-accords[own,members,en]");
    assert!(
        both.contains(&"Kazakhstan".to_owned()) && both.contains(&"Abraham Accords".to_owned())
    );
    // An organisation keeps both by default: "the GCC" and "Qatar" are both news about it.
    let gcc = forms("bloc:gcc[en]");
    assert!(
        gcc.contains(&"Qatar".to_owned()) && gcc.contains(&"=GCC".to_owned()),
        "{gcc:?}"
    );
}

#[test]
fn longer_names_hold_the_shorter_names_of_other_countries_only() {
    let guinea = longer_names("guinea", false);
    let guinea: Vec<&str> = guinea.iter().map(|l| l.pattern.as_str()).collect();
    for longer in ["papua new guinea", "equatorial guinea", "guinea bissau"] {
        assert!(guinea.contains(&longer), "{longer} not in {guinea:?}");
    }
    // Guinea's own long name does not hide Guinea.
    assert!(!guinea.contains(&"republic of guinea"), "{guinea:?}");
    let sudan = longer_names("sudan", false);
    let sudan: Vec<&str> = sudan.iter().map(|l| l.pattern.as_str()).collect();
    assert!(sudan.contains(&"south sudan"), "{sudan:?}");
    // A prefix term is hidden by the inflected longer name it starts inside.
    let stem = longer_names("судан", true);
    assert!(stem.iter().any(|l| l.pattern == "южном судане"), "{stem:?}");
    assert!(longer_names("kazakhstan", false).is_empty());
}

#[test]
fn longer_demonyms_hide_the_shorter_ones() {
    // "South Sudanese opposition figure" and "l'armée sud-soudanaise" are not Sudan.
    let patterns = |p: &str| -> Vec<String> {
        longer_names(p, false)
            .iter()
            .map(|l| l.pattern.clone())
            .collect()
    };
    assert!(patterns("sudanese").contains(&"south sudanese".to_owned()));
    assert!(patterns("soudanaise").contains(&"sud soudanaise".to_owned()));
    assert!(patterns("soudanais").contains(&"sud soudanais".to_owned()));
    assert!(patterns("korean").contains(&"north korean".to_owned()));
    // Sudan's own demonym is not hidden by Sudan's own longer forms.
    assert!(!patterns("sudanese").iter().any(|p| p == "sudanese"));
}

#[test]
fn the_ambiguous_mark_is_refused_anywhere_but_a_capital() {
    let loaded = g();
    let mut countries = loaded.countries.clone();
    if let Some(kz) = countries.get_mut("KZ") {
        kz.names
            .by
            .entry((Lang::En, Kind::Names))
            .or_default()
            .push("?Kazakhstan".to_owned());
    }
    let broken = Gazetteer {
        countries,
        regions: loaded.regions.clone(),
        blocs: loaded.blocs.clone(),
    };
    let err = broken.check().expect_err("a marked name must be refused");
    assert!(
        err.to_string().contains("KZ: `?Kazakhstan` in en.names"),
        "{err}"
    );
}

#[test]
fn an_unknown_language_in_the_data_is_an_error_naming_the_place() {
    let raw: RawLangs = toml::from_str("xx.names = [\"Foo\"]").expect("toml");
    let err = into_names("countries-asia.toml", "KZ", raw).expect_err("unknown language");
    assert_eq!(
        err.to_string(),
        "built-in place data countries-asia.toml: KZ: unknown language `xx`"
    );
}
