//! `watchword import-opml FILE`: an OPML export from any feed reader → `[[feed]]` tables.
//!
//! Every `<outline>` with an `xmlUrl` is a feed; the folders (outlines without `xmlUrl`) it
//! sits in and its `category` attribute become its tags. Names are made unique. Printed on
//! stdout, or appended to the config with `--append` (feeds whose URL or name the config
//! already has are skipped, and the result must pass `check` or the file is left as it was).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use quick_xml::events::{BytesStart, Event};
use serde::Serialize;

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The OPML file.
    file: PathBuf,
    /// Append the feeds to the config file instead of printing them.
    #[arg(long)]
    append: bool,
    /// One JSON object for scripts instead of TOML: the feeds found (or added, with
    /// `--append`) and how many the config already had.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
struct OpmlFeed {
    name: String,
    url: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
}

#[derive(Serialize)]
struct Feeds<'a> {
    feed: &'a [OpmlFeed],
}

pub fn main(args: &ImportArgs, config: &Path) -> ExitCode {
    match import(args, config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn import(args: &ImportArgs, config: &Path) -> anyhow::Result<()> {
    let source = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let mut feeds =
        read_opml(&source).with_context(|| format!("{} is not valid OPML", args.file.display()))?;
    let report = |feeds: &[OpmlFeed], appended: bool, already: usize| {
        if args.json {
            super::print_json(&serde_json::json!({
                "opml": args.file,
                "config": if args.append { Some(config) } else { None },
                "appended": appended,
                "feeds": feeds,
                "already_configured": already,
            }));
        }
    };
    if !args.append {
        if args.json {
            report(&feeds, false, 0);
        } else {
            super::print_out(&to_toml(&feeds)?);
        }
        return Ok(());
    }
    let original = std::fs::read_to_string(config)
        .with_context(|| format!("cannot read config file {}", config.display()))?;
    let (names, urls) = configured(&original)
        .with_context(|| format!("cannot read the feeds of {}", config.display()))?;
    let before = feeds.len();
    feeds.retain(|f| !urls.contains(&f.url));
    let mut taken = names;
    for feed in &mut feeds {
        feed.name = unique(&feed.name, &mut taken);
    }
    let skipped = before - feeds.len();
    if feeds.is_empty() {
        eprintln!("nothing to add: the config already has all {before} feed(s)");
        report(&feeds, false, skipped);
        return Ok(());
    }
    let mut updated = original.clone();
    if !updated.ends_with('\n') {
        updated.push('\n');
    }
    updated.push_str(&format!(
        "\n# Imported from {}\n",
        args.file.file_name().unwrap_or_default().to_string_lossy()
    ));
    updated.push_str(&to_toml(&feeds)?);
    std::fs::write(config, &updated)
        .with_context(|| format!("cannot write {}", config.display()))?;
    if let Err(e) = crate::runtime::load(config) {
        std::fs::write(config, &original)
            .with_context(|| format!("cannot restore {}", config.display()))?;
        bail!(
            "the config would not be valid with the imported feeds, so it was left as it was:\n{e}"
        );
    }
    report(&feeds, true, skipped);
    eprintln!(
        "added {} feed(s) to {}{}",
        feeds.len(),
        config.display(),
        if skipped > 0 {
            format!(" ({skipped} already there)")
        } else {
            String::new()
        }
    );
    Ok(())
}

fn to_toml(feeds: &[OpmlFeed]) -> anyhow::Result<String> {
    Ok(toml::to_string(&Feeds { feed: feeds })?)
}

/// Names and URLs of the feeds a config file already has (read leniently: only those keys).
fn configured(source: &str) -> anyhow::Result<(HashSet<String>, HashSet<String>)> {
    let value: toml::Table = toml::from_str(source)?;
    let mut names = HashSet::new();
    let mut urls = HashSet::new();
    if let Some(feeds) = value.get("feed").and_then(|f| f.as_array()) {
        for feed in feeds {
            if let Some(name) = feed.get("name").and_then(|n| n.as_str()) {
                names.insert(name.to_owned());
            }
            if let Some(url) = feed.get("url").and_then(|u| u.as_str()) {
                urls.insert(url.to_owned());
            }
        }
    }
    Ok((names, urls))
}

/// Every feed outline, in document order, with unique names; duplicate URLs dropped.
fn read_opml(source: &[u8]) -> anyhow::Result<Vec<OpmlFeed>> {
    let mut reader = quick_xml::Reader::from_reader(source);
    reader.config_mut().trim_text(true);
    let mut buf = Vec::new();
    // Folder titles of the open outlines (None for an outline that is a feed).
    let mut folders: Vec<Option<String>> = Vec::new();
    let mut feeds = Vec::new();
    let mut seen_urls = HashSet::new();
    let mut names = HashSet::new();
    let mut saw_opml = false;
    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| anyhow::anyhow!("at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let is_empty = matches!(event, Event::Empty(_));
                let local = e.local_name();
                if local.as_ref().eq_ignore_ascii_case("opml") {
                    saw_opml = true;
                }
                if !local.as_ref().eq_ignore_ascii_case("outline") {
                    continue;
                }
                let outline = Outline::read(e)?;
                match outline.xml_url {
                    Some(url) => {
                        if seen_urls.insert(url.clone()) {
                            let mut tags: Vec<String> = folders.iter().flatten().cloned().collect();
                            for category in outline.categories {
                                if !tags.contains(&category) {
                                    tags.push(category);
                                }
                            }
                            let base = outline
                                .title
                                .filter(|t| !t.is_empty())
                                .unwrap_or_else(|| host_of(&url));
                            feeds.push(OpmlFeed {
                                name: unique(&base, &mut names),
                                url,
                                tags,
                            });
                        }
                        if !is_empty {
                            folders.push(None);
                        }
                    }
                    None if !is_empty => folders.push(outline.title.filter(|t| !t.is_empty())),
                    None => {}
                }
            }
            Event::End(ref e) if e.local_name().as_ref().eq_ignore_ascii_case("outline") => {
                folders.pop();
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !saw_opml {
        bail!("no <opml> element");
    }
    Ok(feeds)
}

struct Outline {
    title: Option<String>,
    xml_url: Option<String>,
    categories: Vec<String>,
}

impl Outline {
    fn read(element: &BytesStart<'_>) -> anyhow::Result<Outline> {
        let mut text = None;
        let mut title = None;
        let mut xml_url = None;
        let mut categories = Vec::new();
        for attribute in element.attributes().with_checks(false) {
            let attribute = attribute?;
            let value = attribute
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map(|v| v.trim().to_owned())
                .unwrap_or_default();
            match attribute.key.local_name().as_ref() {
                "text" => text = Some(value),
                "title" => title = Some(value),
                "xmlUrl" | "xmlurl" => xml_url = Some(value).filter(|v| !v.is_empty()),
                // "News,World" or "/News/World" (OPML 2.0): each part a tag.
                "category" => categories.extend(
                    value
                        .split([',', '/'])
                        .map(str::trim)
                        .filter(|c| !c.is_empty())
                        .map(str::to_owned),
                ),
                _ => {}
            }
        }
        Ok(Outline {
            title: title.filter(|t| !t.is_empty()).or(text),
            xml_url,
            categories,
        })
    }
}

fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "feed".to_owned())
}

/// `name`, or `name (2)`, `name (3)`… whichever is free; marks it taken.
fn unique(name: &str, taken: &mut HashSet<String>) -> String {
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut candidate = name.clone();
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{name} ({n})");
        n += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPML: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My feeds</title></head>
  <body>
    <outline text="World" title="World">
      <outline type="rss" text="BBC World" title="BBC World" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml" htmlUrl="https://www.bbc.co.uk/news/world"/>
      <outline text="Asia">
        <outline type="rss" text="RFE/RL &amp; friends" xmlUrl="https://www.rferl.org/api/zrqiteuuir" category="/central-asia,politics"/>
      </outline>
    </outline>
    <outline type="rss" text="BBC World" xmlUrl="https://example.org/other-bbc.xml"/>
    <outline type="rss" xmlUrl="https://news.example.net/rss"/>
    <outline type="rss" text="dup" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"/>
  </body>
</opml>"#;

    #[test]
    fn feeds_folders_and_categories() {
        let feeds = read_opml(OPML.as_bytes()).unwrap();
        let summary: Vec<(&str, &str, Vec<&str>)> = feeds
            .iter()
            .map(|f| {
                (
                    f.name.as_str(),
                    f.url.as_str(),
                    f.tags.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "BBC World",
                    "https://feeds.bbci.co.uk/news/world/rss.xml",
                    vec!["World"]
                ),
                (
                    "RFE/RL & friends",
                    "https://www.rferl.org/api/zrqiteuuir",
                    vec!["World", "Asia", "central-asia", "politics"]
                ),
                ("BBC World (2)", "https://example.org/other-bbc.xml", vec![]),
                ("news.example.net", "https://news.example.net/rss", vec![]),
            ]
        );
        let text = to_toml(&feeds).unwrap();
        assert!(
            text.starts_with("[[feed]]\nname = \"BBC World\"\n"),
            "{text}"
        );
        // The printed TOML is a valid config once a rule-free config accepts feeds.
        let config = crate::runtime::from_source(Path::new("imported.toml"), &text).unwrap();
        assert_eq!(config.feeds.len(), 4);
        assert_eq!(
            config.feeds[1].tags,
            ["World", "Asia", "central-asia", "politics"]
        );
    }

    #[test]
    fn not_opml_is_an_error() {
        let err = read_opml(b"<rss><channel/></rss>").unwrap_err();
        assert_eq!(err.to_string(), "no <opml> element");
        assert!(read_opml(b"<opml><body><outline text='x'></body></opml>").is_err());
    }
}
