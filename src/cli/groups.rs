//! `watchword groups [NAME]`: the groups a rule can use — the config's own and the built-in
//! places — and, for one of them, exactly which words it matches.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use anyhow::{Context, bail};
use serde::Serialize;

use crate::config::ConfigError;
use crate::places::{self, Gazetteer, Place, Reference, Scope, Status};

#[derive(Debug, clap::Args)]
pub struct GroupsArgs {
    /// A group to show: a config group (`central_asia` or `@central_asia`) or a built-in place
    /// (`region:central-asia`, `country:KZ[en,ru]`, `bloc:gcc`). Without it, list them all.
    name: Option<String>,
    /// Print JSON instead of text, for scripts.
    #[arg(long)]
    json: bool,
}

/// Runs the command. The config is optional: without one only the built-in places are listed.
pub fn main(args: &GroupsArgs, config_path: &Path) -> std::process::ExitCode {
    let config = match crate::runtime::load(config_path) {
        Ok(config) => Some(config),
        Err(e @ ConfigError::Invalid(_)) => {
            eprintln!("error: invalid configuration\n{e}");
            return std::process::ExitCode::from(super::EXIT_CONFIG);
        }
        Err(_) => None,
    };
    let empty = BTreeMap::new();
    let groups = config.as_ref().map_or(&empty, |c| &c.groups);
    match run(args, groups) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(super::EXIT_CONFIG)
        }
    }
}

fn run(args: &GroupsArgs, groups: &BTreeMap<String, Vec<String>>) -> anyhow::Result<()> {
    let gazetteer = places::gazetteer()?;
    match &args.name {
        None if args.json => print_json(&list_json(gazetteer, groups)),
        None => {
            super::print_out(&list_text(gazetteer, groups));
            Ok(())
        }
        Some(name) => {
            let name = name.strip_prefix('@').unwrap_or(name);
            let shown = if places::is_reference(name) {
                show_place(gazetteer, name)?
            } else if let Some(members) = groups.get(name) {
                show_user_group(name, members, groups)?
            } else {
                let mut known: Vec<&str> = groups.keys().map(String::as_str).collect();
                known.extend(["country:CODE", "region:NAME", "bloc:NAME"]);
                bail!("no group named `{name}` (groups: {})", known.join(", "));
            };
            if args.json {
                print_json(&shown)
            } else {
                super::print_out(&shown.text);
                Ok(())
            }
        }
    }
}

fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value).context("cannot encode JSON")?;
    super::print_out(&(text + "\n"));
    Ok(())
}

#[derive(Serialize)]
struct Listing {
    user: Vec<UserGroup>,
    regions: Vec<PlaceSummary>,
    blocs: Vec<PlaceSummary>,
    countries: Vec<PlaceSummary>,
}

#[derive(Serialize)]
struct UserGroup {
    name: String,
    members: Vec<String>,
}

#[derive(Serialize)]
struct PlaceSummary {
    reference: String,
    name: String,
    members: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

fn list_json(gazetteer: &Gazetteer, groups: &BTreeMap<String, Vec<String>>) -> Listing {
    Listing {
        user: groups
            .iter()
            .map(|(name, members)| UserGroup {
                name: name.clone(),
                members: members.clone(),
            })
            .collect(),
        regions: regions(gazetteer),
        blocs: blocs(gazetteer),
        countries: gazetteer
            .countries
            .values()
            .map(|c| PlaceSummary {
                reference: format!("country:{}", c.code),
                name: c.names.display().to_owned(),
                members: vec![c.code.clone()],
                detail: c.area.clone(),
            })
            .collect(),
    }
}

/// Regions depth first from the five continents' regions, so the listing reads as a tree.
fn regions(gazetteer: &Gazetteer) -> Vec<PlaceSummary> {
    fn walk(g: &Gazetteer, slug: &str, depth: usize, out: &mut Vec<PlaceSummary>) {
        let Some(region) = g.regions.get(slug) else {
            return;
        };
        out.push(PlaceSummary {
            reference: format!("region:{slug}"),
            name: region.names.display().to_owned(),
            members: g.region_members(slug),
            detail: Some(format!("{}M49 {}", "  ".repeat(depth), region.m49)),
        });
        for child in g.children(slug) {
            walk(g, &child.slug, depth + 1, out);
        }
    }
    let mut out = Vec::new();
    for root in gazetteer.regions.values().filter(|r| r.parent.is_none()) {
        walk(gazetteer, &root.slug, 0, &mut out);
    }
    out
}

fn blocs(gazetteer: &Gazetteer) -> Vec<PlaceSummary> {
    gazetteer
        .blocs
        .values()
        .map(|b| PlaceSummary {
            reference: format!("bloc:{}", b.slug),
            name: b.names.display().to_owned(),
            members: b.members.clone(),
            detail: Some(if b.is_treaty() {
                format!("treaty, as of {}; its own names unless [members]", b.as_of)
            } else {
                format!("{}, as of {}", b.kind, b.as_of)
            }),
        })
        .collect()
}

fn list_text(gazetteer: &Gazetteer, groups: &BTreeMap<String, Vec<String>>) -> String {
    let mut out = String::new();
    if groups.is_empty() {
        out.push_str("Config groups: none\n");
    } else {
        out.push_str("Config groups ([groups] in the config):\n");
        let mut table = super::table(&["GROUP", "MEMBERS"], &[]);
        for (name, members) in groups {
            table.add_row([format!("@{name}"), members.join(", ")]);
        }
        out.push_str(&super::table_text(&table, "  "));
    }
    out.push_str("\nBuilt-in regions (UN M49), @region:NAME:\n");
    let mut table = super::table(&["REFERENCE", "NAME", "COUNTRIES"], &[2]);
    for region in regions(gazetteer) {
        let depth = region
            .detail
            .as_deref()
            .map_or(0, |d| d.len() - d.trim_start().len());
        table.add_row([
            format!("{}{}", " ".repeat(depth), region.reference),
            region.name,
            region.members.len().to_string(),
        ]);
    }
    out.push_str(&super::table_text(&table, "  "));
    out.push_str("\nBuilt-in blocs, @bloc:NAME:\n");
    let mut table = super::table(&["REFERENCE", "NAME", "COUNTRIES", "KIND"], &[2]);
    for bloc in blocs(gazetteer) {
        table.add_row([
            bloc.reference,
            bloc.name,
            bloc.members.len().to_string(),
            bloc.detail.unwrap_or_default(),
        ]);
    }
    out.push_str(&super::table_text(&table, "  "));
    out.push_str("\nBuilt-in countries and territories, @country:CODE:\n");
    let mut table = super::table(&["REFERENCE", "ISO3", "NAME"], &[]);
    for country in gazetteer.countries.values() {
        let status = match country.status {
            Status::Country | Status::Other => String::new(),
            Status::Territory => format!(
                " (territory of {})",
                country.sovereign.as_deref().unwrap_or("?")
            ),
        };
        table.add_row([
            format!("country:{}", country.code),
            country.iso3.to_string(),
            format!("{}{status}", country.names.display()),
        ]);
    }
    out.push_str(&super::table_text(&table, "  "));
    out.push_str(
        "\nA reference matches names, demonyms and unambiguous capitals in every language by \
         default (Washington, Victoria and other capitals that name something else only with \
         [capitals]); choose with \
         options, e.g. @region:central-asia[names,capitals,en,ru]. A treaty (the Abraham \
         Accords, AUKUS, …) matches its own names only, since a member named once is not news \
         about the treaty: [members] takes its members instead, [own,members] both. \
         `watchword groups NAME` shows every word one matches.\n",
    );
    out
}

#[derive(Serialize)]
struct Shown {
    name: String,
    members: Vec<String>,
    /// Every form the group matches, deduplicated, in order.
    forms: Vec<String>,
    #[serde(skip)]
    text: String,
}

fn show_place(gazetteer: &Gazetteer, text: &str) -> anyhow::Result<Shown> {
    let reference = Reference::parse(text)?;
    let (members, sections) = gazetteer.sections(&reference)?;
    let mut out = String::new();
    let names: Vec<String> = members
        .iter()
        .filter_map(|code| gazetteer.countries.get(code))
        .map(|c| format!("{} {}", c.code, c.names.display()))
        .collect();
    out.push_str(&format!("@{text}\n"));
    if !names.is_empty() {
        out.push_str(&format!(
            "  countries ({}): {}\n",
            names.len(),
            names.join(", ")
        ));
    }
    if let Place::Bloc(slug) = &reference.place
        && gazetteer.blocs.get(slug).is_some_and(|b| b.is_treaty())
        && reference.scope == Scope::Default
    {
        out.push_str(&format!(
            "  a treaty: its own names only, not its members' (a member named once is not news \
             about the treaty); @bloc:{slug}[members] matches the members, \
             @bloc:{slug}[own,members] both\n"
        ));
    }
    let kinds: Vec<&str> = reference.kinds.iter().map(|k| k.name()).collect();
    let langs: Vec<&str> = reference.langs.iter().map(|l| l.code()).collect();
    out.push_str(&format!(
        "  kinds: {}; languages: {}\n",
        kinds.join(", "),
        langs.join(", ")
    ));
    let mut forms = Vec::new();
    let mut seen = HashSet::new();
    let mut place = "";
    for section in &sections {
        if section.place != place {
            place = &section.place;
            let title = gazetteer
                .countries
                .get(place)
                .map_or(place.to_owned(), |c| {
                    format!("{} {}", c.code, c.names.display())
                });
            out.push_str(&format!("\n  {title}\n"));
        }
        out.push_str(&format!(
            "    {:<6} {}\n",
            section.lang.code(),
            section.forms.join(", ")
        ));
        for form in &section.forms {
            if seen.insert(form.clone()) {
                forms.push(form.clone());
            }
        }
    }
    out.push_str(&format!("\n  {} distinct forms\n", forms.len()));
    Ok(Shown {
        name: text.to_owned(),
        members,
        forms,
        text: out,
    })
}

/// A config group: its members as written, and the words they expand to (built-in references
/// and nested groups included).
fn show_user_group(
    name: &str,
    members: &[String],
    groups: &BTreeMap<String, Vec<String>>,
) -> anyhow::Result<Shown> {
    fn expand(
        member: &str,
        groups: &BTreeMap<String, Vec<String>>,
        stack: &mut Vec<String>,
        out: &mut Vec<String>,
    ) -> anyhow::Result<()> {
        let Some(inner) = member.trim().strip_prefix('@') else {
            out.push(member.trim().to_owned());
            return Ok(());
        };
        if places::is_reference(inner) {
            out.extend(places::expand(inner)?.forms);
            return Ok(());
        }
        if stack.iter().any(|g| g == inner) {
            bail!("groups reference each other in a cycle through @{inner}");
        }
        let Some(members) = groups.get(inner) else {
            bail!("unknown group @{inner}");
        };
        stack.push(inner.to_owned());
        for m in members {
            expand(m, groups, stack, out)?;
        }
        stack.pop();
        Ok(())
    }
    let mut expanded = Vec::new();
    let mut stack = vec![name.to_owned()];
    for member in members {
        expand(member, groups, &mut stack, &mut expanded)?;
    }
    let mut seen = HashSet::new();
    expanded.retain(|f| seen.insert(f.clone()));
    let text = format!(
        "@{name}\n  members: {}\n  matches ({} forms): {}\n",
        members.join(", "),
        expanded.len(),
        expanded.join(", ")
    );
    Ok(Shown {
        name: name.to_owned(),
        members: members.to_vec(),
        forms: expanded,
        text,
    })
}
