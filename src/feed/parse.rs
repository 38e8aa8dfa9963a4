//! Feed bytes → normalized [`Item`]s, through feed-rs (RSS 0.9x/1.0/2.0, Atom, JSON Feed).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};

use feed_rs::model::{Entry, Feed, Link};
use feed_rs::parser::{Builder, ParseErrorKind, ParseFeedError};
use sha2::{Digest, Sha256};

use super::text::{fold_whitespace, html_to_text};
use crate::model::Item;
use crate::text::{StripParams, canonical_link_with};

/// Why a body could not be read as a feed. Display is one line, meant for the user.
#[derive(thiserror::Error, Debug)]
pub enum ParseError {
    /// No RSS, Atom or JSON Feed root: typically an HTML page, an error page or an empty body.
    #[error("not a feed: content starts with {found} (expected RSS, Atom or JSON Feed)")]
    NotAFeed { found: String },
    #[error("malformed XML: {message}")]
    Xml { message: String },
    #[error("malformed JSON Feed: {message}")]
    Json { message: String },
    #[error("unsupported JSON Feed version {version:?}")]
    UnsupportedVersion { version: String },
    #[error("invalid feed: {message}")]
    Invalid { message: String },
    /// The bytes do not decode in the charset the server or the document declares.
    #[error("content is not valid {charset}: {detail}")]
    Charset { charset: String, detail: String },
    /// A DTD with `<!ENTITY>` declarations: the shape of an entity-expansion bomb.
    #[error(
        "the document declares XML entities in its DOCTYPE; refused (entity expansion can exhaust memory)"
    )]
    EntityDeclarations,
    /// feed-rs panicked: a bug on its side, but one bad feed must not take the poller down.
    #[error("the feed parser crashed on this content")]
    ParserPanic,
}

/// Parses a feed body into items. `feed_name` is copied into every [`Item::feed`].
///
/// Relative links are left unresolved (and so dropped); use [`parse_with_base`] when the feed's
/// URL is known.
pub fn parse(feed_name: &str, body: &[u8]) -> Result<Vec<Item>, ParseError> {
    parse_with_base(feed_name, None, body)
}

/// Like [`parse`], resolving relative links against `base_url` (the URL the feed came from).
pub fn parse_with_base(
    feed_name: &str,
    base_url: Option<&str>,
    body: &[u8],
) -> Result<Vec<Item>, ParseError> {
    parse_document(feed_name, base_url, body, None, &StripParams::default())
        .map(|parsed| parsed.items)
}

/// A parsed feed: its items and what it says about polling.
#[derive(Debug, Clone)]
pub struct ParsedFeed {
    pub items: Vec<Item>,
    /// RSS `<ttl>`: how long the publisher asks readers to wait between polls.
    pub ttl: Option<std::time::Duration>,
    /// Entries that could not be read and were left out, one line each saying which and why;
    /// the rest of the feed was read anyway (see `parse_document`).
    pub skipped: Vec<String>,
}

/// Decodes `body` to UTF-8 (BOM, else UTF-16/32 by its zero bytes, else the `charset` of
/// `content_type`, else the XML prolog, else UTF-8), repairs the XML mistakes whose meaning is
/// clear (see `repair`), then parses it; relative links resolve against `base_url`, and links
/// lose the tracking parameters (the built-in ones and `strip`) as they are canonicalised.
///
/// When the document still does not parse whole, each entry is parsed on its own (with the
/// feed's head and closing tags around it): the entries that read are kept, the others are
/// listed in [`ParsedFeed::skipped`] and logged. The feed fails only when its own part (outside
/// the entries) cannot be read, or when it is not a feed at all.
pub fn parse_document(
    feed_name: &str,
    base_url: Option<&str>,
    body: &[u8],
    content_type: Option<&str>,
    strip: &StripParams,
) -> Result<ParsedFeed, ParseError> {
    let text = super::charset::to_utf8(body, content_type)?;
    let repaired = super::repair::repair(&text);
    for note in &repaired.notes {
        tracing::debug!(feed = %feed_name, "feed repaired: {note}");
    }
    parse_utf8(feed_name, base_url, &repaired.text, strip)
}

fn parse_utf8(
    feed_name: &str,
    base_url: Option<&str>,
    text: &str,
    strip: &StripParams,
) -> Result<ParsedFeed, ParseError> {
    let (feed, skipped) = match run(base_url, text) {
        Ok(feed) => (feed, Vec::new()),
        // Neither is about one entry: the root is wrong, or the parser has a bug that
        // re-running it per entry would only hit again.
        Err(e @ (ParseError::NotAFeed { .. } | ParseError::ParserPanic)) => return Err(e),
        Err(e) => parse_per_entry(base_url, text, e)?,
    };
    for reason in &skipped {
        tracing::warn!(feed = %feed_name, "entry skipped: {reason}");
    }
    let mut items: Vec<Item> = feed
        .entries
        .iter()
        .map(|entry| to_item(feed_name, entry, strip))
        .collect();
    assign_ids(&feed.entries, &mut items);
    let ttl = feed
        .ttl
        .filter(|minutes| *minutes > 0)
        .map(|minutes| std::time::Duration::from_secs(u64::from(minutes) * 60));
    Ok(ParsedFeed {
        items,
        ttl,
        skipped,
    })
}

/// One parse, by a parser of its own: feed-rs keeps per-entry state (Media RSS scopes) in the
/// parser, which an error mid-entry leaves behind, and a reused parser then panics.
fn run(base_url: Option<&str>, text: &str) -> Result<Feed, ParseError> {
    // An empty id from the generator marks "the feed gave no guid/id"; `to_item` then applies
    // our own rule, which (unlike feed-rs's default) does not depend on the title.
    let parser = Builder::new()
        .base_uri(base_url)
        .id_generator(|_links, _title, _base| String::new())
        .build();
    match catch_unwind(AssertUnwindSafe(|| parser.parse(text.as_bytes()))) {
        Ok(Ok(feed)) => Ok(feed),
        Ok(Err(e)) => Err(convert_error(e, text.as_bytes())),
        Err(_) => Err(ParseError::ParserPanic),
    }
}

/// Re-parsing the feed's head once per entry costs head × entries; past this many bytes (a
/// huge head and thousands of entries) the whole-feed error stands instead.
const MAX_PER_ENTRY_BYTES: usize = 64 << 20;

/// The feed read one entry at a time, after it failed whole with `error`: its head (everything
/// before the first entry) and tail (after the last) parsed without entries, then each entry
/// between them. Returns the feed with the entries that read, and why each other one did not.
fn parse_per_entry(
    base_url: Option<&str>,
    text: &str,
    error: ParseError,
) -> Result<(Feed, Vec<String>), ParseError> {
    let found = super::repair::entries(text);
    let (Some(first), Some(last)) = (found.spans.first(), found.spans.last()) else {
        return Err(error);
    };
    let head = &text[..first.start];
    // The document's own tail keeps what follows the entries (RSS 1.0's <image>…); when it is
    // broken (a truncated body) the elements still open are closed instead.
    let own_tail = &text[last.end..];
    let closing: String = found
        .open_at_first
        .iter()
        .rev()
        .map(|name| format!("</{name}>"))
        .collect();
    let (mut feed, tail) = match run(base_url, &format!("{head}{own_tail}")) {
        Ok(feed) => (feed, own_tail),
        Err(_) => match run(base_url, &format!("{head}{closing}")) {
            Ok(feed) => (feed, closing.as_str()),
            Err(_) => return Err(error),
        },
    };
    if (head.len() + tail.len()).saturating_mul(found.spans.len()) > MAX_PER_ENTRY_BYTES {
        return Err(error);
    }
    feed.entries.clear();
    let mut skipped = Vec::new();
    let mut line = 1;
    let mut counted = 0;
    for (n, span) in found.spans.iter().enumerate() {
        line += text[counted..span.start].matches('\n').count();
        counted = span.start;
        match run(base_url, &format!("{head}{}{tail}", &text[span.clone()])) {
            Ok(one) => feed.entries.extend(one.entries),
            Err(e) => skipped.push(format!(
                "entry {} of {} (line {line}): {e}",
                n + 1,
                found.spans.len()
            )),
        }
    }
    Ok((feed, skipped))
}

/// Fills in every [`Item::id`] by our id rule; see [`item_id`].
///
/// `entries` and `items` are parallel. Needs the whole document, because a link shared by
/// several guid-less entries does not identify any of them.
fn assign_ids(entries: &[Entry], items: &mut [Item]) {
    let mut guidless_links: HashMap<&str, usize> = HashMap::new();
    for (entry, item) in entries.iter().zip(items.iter()) {
        if entry.id.trim().is_empty()
            && let Some(link) = item.link.as_deref()
        {
            *guidless_links.entry(link).or_default() += 1;
        }
    }
    let ids: Vec<String> = entries
        .iter()
        .zip(items.iter())
        .map(|(entry, item)| {
            let link_is_unique = item
                .link
                .as_deref()
                .is_some_and(|link| guidless_links.get(link).copied().unwrap_or(0) < 2);
            item_id(&entry.id, link_is_unique, item)
        })
        .collect();
    for (item, id) in items.iter_mut().zip(ids) {
        item.id = id;
    }
}

fn to_item(feed_name: &str, entry: &Entry, strip: &StripParams) -> Item {
    let title = entry
        .title
        .as_ref()
        .map(|t| html_to_text(&t.content))
        .unwrap_or_default();
    let summary = entry
        .summary
        .as_ref()
        .map(|t| html_to_text(&t.content))
        .unwrap_or_default();
    let content = entry
        .content
        .as_ref()
        .filter(|c| is_textual(c.content_type.as_ref()))
        .and_then(|c| c.body.as_deref())
        .map(html_to_text)
        .unwrap_or_default();
    let published = entry.published.or(entry.updated);
    let link = pick_link(&entry.links, strip);
    let authors = entry
        .authors
        .iter()
        .filter_map(|p| p.name.as_deref())
        .map(fold_whitespace)
        .filter(|name| !name.is_empty())
        .collect();
    let categories = entry
        .categories
        .iter()
        .map(|c| {
            let term = fold_whitespace(&c.term);
            if term.is_empty() {
                c.label.as_deref().map(fold_whitespace).unwrap_or_default()
            } else {
                term
            }
        })
        .filter(|term| !term.is_empty())
        .collect();

    Item {
        feed: feed_name.to_owned(),
        // Set by `assign_ids`, which needs the whole document.
        id: String::new(),
        link,
        title,
        summary,
        content,
        published,
        authors,
        categories,
    }
}

/// Content can be an image or audio file in some feeds; only text is worth matching.
/// (feed-rs labels Atom `type="xhtml"` content `application/xhtml`, without `+xml`.)
fn is_textual(media_type: &str) -> bool {
    let media_type = media_type.to_ascii_lowercase();
    media_type.starts_with("text/") || media_type.contains("html") || media_type.contains("xml")
}

/// The article link: the first `alternate` (or rel-less) link, else any link; the first one that
/// canonicalizes wins, so an enclosure or a broken href cannot displace a good link.
fn pick_link(links: &[Link], strip: &StripParams) -> Option<String> {
    let is_alternate = |l: &&Link| l.rel.as_deref().is_none_or(|rel| rel == "alternate");
    links
        .iter()
        .filter(is_alternate)
        .chain(links.iter().filter(|l| !is_alternate(l)))
        .find_map(|l| canonical_link_with(&l.href, strip))
}

/// How many chars of the summary, content or title go into a hashed id.
const HASHED_TEXT_CHARS: usize = 200;

/// Our id rule (see `Item::id`), first match wins:
///
/// 1. the feed's guid/id (trimmed), when it gives one;
/// 2. else the item's canonical link — unless two or more guid-less entries *of the same
///    document* share that canonical link (typically all pointing at the homepage), in which case
///    the link identifies none of them (`link_is_unique` is false) and they fall through to 3;
/// 3. else `"sha256:"` + lowercase hex SHA-256 of: the publication time as RFC 3339 (empty when
///    unknown), a `\n`, then the first 200 chars of the normalized (whitespace-folded,
///    lowercased) summary — or, when the summary is empty, of the content, or, when both are
///    empty, of the title.
///
/// So the title counts only for an item with no guid, no usable link and no body: an edited
/// headline does not make an item look new whenever the feed gives a guid, a link or a body.
fn item_id(feed_id: &str, link_is_unique: bool, item: &Item) -> String {
    let feed_id = feed_id.trim();
    if !feed_id.is_empty() {
        return feed_id.to_owned();
    }
    if let Some(link) = item.link.as_deref().filter(|_| link_is_unique) {
        return link.to_owned();
    }
    let text = [&item.summary, &item.content, &item.title]
        .into_iter()
        .map(|t| fold_whitespace(t))
        .find(|t| !t.is_empty())
        .unwrap_or_default()
        .to_lowercase();
    let text: String = text.chars().take(HASHED_TEXT_CHARS).collect();
    let mut hasher = Sha256::new();
    if let Some(published) = item.published {
        hasher.update(published.to_rfc3339().as_bytes());
    }
    hasher.update(b"\n");
    hasher.update(text.as_bytes());
    let mut id = String::from("sha256:");
    for byte in hasher.finalize().iter() {
        let _ = write!(id, "{byte:02x}");
    }
    id
}

fn convert_error(error: ParseFeedError, body: &[u8]) -> ParseError {
    match error {
        ParseFeedError::ParseError(ParseErrorKind::NoFeedRoot) => ParseError::NotAFeed {
            found: describe_start(body),
        },
        ParseFeedError::ParseError(kind) => ParseError::Invalid {
            message: one_line(&kind.to_string()),
        },
        ParseFeedError::XmlReader(e) => ParseError::Xml {
            message: one_line(&e.to_string()),
        },
        ParseFeedError::JsonSerde(e) => ParseError::Json {
            message: one_line(&e.to_string()),
        },
        ParseFeedError::JsonUnsupportedVersion(version) => ParseError::UnsupportedVersion {
            version: one_line(&version),
        },
        // Reading from a byte slice cannot fail, but the variant exists.
        ParseFeedError::IoError(e) => ParseError::Invalid {
            message: one_line(&e.to_string()),
        },
    }
}

/// How the body begins, quoted and short: usually enough to recognise an HTML error page or a
/// login wall without dumping the body into the log.
fn describe_start(body: &[u8]) -> String {
    const SHOWN: usize = 40;
    let text = String::from_utf8_lossy(&body[..body.len().min(4 * SHOWN)]);
    let text = fold_whitespace(text.trim_start_matches('\u{feff}'));
    if text.is_empty() {
        return "nothing (empty body)".to_owned();
    }
    let mut shown: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(SHOWN)
        .collect();
    if text.chars().count() > SHOWN {
        shown.push('…');
    }
    format!("{shown:?}")
}

fn one_line(message: &str) -> String {
    fold_whitespace(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(body: &str) -> Vec<Item> {
        match parse("test-feed", body.as_bytes()) {
            Ok(items) => items,
            Err(e) => panic!("parse failed: {e}"),
        }
    }

    const RSS2: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>Valley Gazette</title>
    <link>https://gazette.example.com/</link>
    <description>Local news</description>
    <item>
      <title>Ferry service to resume after storm</title>
      <link>https://gazette.example.com/ferry-resumes?utm_source=rss&amp;id=7#comments</link>
      <guid isPermaLink="false">  gazette-2024-0042  </guid>
      <pubDate>Tue, 05 Mar 2024 08:30:00 +0100</pubDate>
      <dc:creator>Ana Ruiz</dc:creator>
      <category>Transport</category>
      <category>Weather</category>
      <description><![CDATA[<p>The harbour master&#8217;s office said boats <a href="https://x.example/">will run</a> from <b>Monday</b>.</p>]]></description>
      <content:encoded><![CDATA[<p>Full story:&nbsp;crews   repaired the <em>pier</em> &amp; the ramp.</p>]]></content:encoded>
    </item>
    <item>
      <title>Library extends opening hours</title>
      <link>https://gazette.example.com/library-hours</link>
      <pubDate>Wed, 06 Mar 2024 10:00:00 GMT</pubDate>
      <description>Open until 9 pm &amp;amp; on Sundays</description>
    </item>
    <item>
      <title>Bake sale &lt;b&gt;raises&lt;/b&gt; &amp;pound;400</title>
      <pubDate>Thu, 07 Mar 2024 12:00:00 GMT</pubDate>
      <description>No link, no guid.</description>
    </item>
  </channel>
</rss>"#;

    #[test]
    fn rss2_with_guid() {
        let items = parse_ok(RSS2);
        assert_eq!(items.len(), 3);
        let first = &items[0];
        assert_eq!(first.feed, "test-feed");
        assert_eq!(first.id, "gazette-2024-0042");
        assert_eq!(
            first.link.as_deref(),
            Some("https://gazette.example.com/ferry-resumes?id=7")
        );
        assert_eq!(first.title, "Ferry service to resume after storm");
        assert_eq!(
            first.summary,
            "The harbour master\u{2019}s office said boats will run from Monday."
        );
        assert_eq!(
            first.content,
            "Full story: crews repaired the pier & the ramp."
        );
        assert_eq!(
            first.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2024-03-05T07:30:00+00:00")
        );
        assert_eq!(first.authors, vec!["Ana Ruiz"]);
        assert_eq!(first.categories, vec!["Transport", "Weather"]);
    }

    #[test]
    fn rss2_without_guid_uses_canonical_link() {
        let items = parse_ok(RSS2);
        assert_eq!(items[1].id, "https://gazette.example.com/library-hours");
        // Double-escaped in the XML: decoded once by XML, once as HTML.
        assert_eq!(items[1].summary, "Open until 9 pm & on Sundays");
    }

    fn sha_id(input: &str) -> String {
        let mut h = Sha256::new();
        h.update(input.as_bytes());
        let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }

    #[test]
    fn item_without_guid_or_link_gets_a_date_and_summary_hash() {
        let items = parse_ok(RSS2);
        let item = &items[2];
        assert_eq!(item.link, None);
        assert_eq!(item.title, "Bake sale raises \u{a3}400");
        assert_eq!(
            item.id,
            sha_id("2024-03-07T12:00:00+00:00\nno link, no guid.")
        );
        // Deterministic across parses.
        assert_eq!(parse_ok(RSS2)[2].id, item.id);
    }

    #[test]
    fn hash_uses_summary_else_content_else_title() {
        let body = r#"{"version":"https://jsonfeed.org/version/1.1","title":"q","items":[
            {"id":"","title":"T1","summary":"  The   SUMMARY ","content_text":"body"},
            {"id":"","title":"T2","content_text":"Only  Content"},
            {"id":"","title":"Only  Title","date_published":"2024-06-10T09:00:00Z"},
            {"id":""}
        ]}"#;
        let items = parse_ok(body);
        assert_eq!(items[0].id, sha_id("\nthe summary"));
        assert_eq!(items[1].id, sha_id("\nonly content"));
        assert_eq!(items[2].id, sha_id("2024-06-10T09:00:00+00:00\nonly title"));
        assert_eq!(items[3].id, sha_id("\n"));
    }

    #[test]
    fn hash_uses_only_the_first_200_chars() {
        let long = "a".repeat(HASHED_TEXT_CHARS);
        let feed = |tail: &str| {
            format!(
                r#"<rss version="2.0"><channel><title>t</title>
                <item><title>x</title><description>{long}{tail}</description></item>
                </channel></rss>"#
            )
        };
        let (one, two) = (parse_ok(&feed(" one")), parse_ok(&feed(" two")));
        assert_eq!(one[0].id, sha_id(&format!("\n{long}")));
        assert_eq!(one[0].id, two[0].id);
    }

    #[test]
    fn title_edit_keeps_id_without_guid_or_link_when_there_is_a_summary() {
        let edited = RSS2.replace("Bake sale", "UPDATED: Bake sale");
        let (before, after) = (parse_ok(RSS2), parse_ok(&edited));
        assert_eq!(before[2].link, None);
        assert_ne!(before[2].title, after[2].title);
        assert_eq!(before[2].id, after[2].id);
    }

    const SHARED_LINK: &str = r#"<rss version="2.0"><channel><title>Notices</title>
        <link>https://notices.example.com/</link>
        <item><title>Water off Tuesday</title><link>https://notices.example.com/</link>
          <pubDate>Mon, 04 Mar 2024 09:00:00 GMT</pubDate><description>Mains work.</description></item>
        <item><title>Road closed</title><link>https://notices.example.com/?utm_source=rss</link>
          <pubDate>Tue, 05 Mar 2024 09:00:00 GMT</pubDate><description>Resurfacing.</description></item>
        <item><title>Fete</title><link>https://notices.example.com/</link>
          <guid isPermaLink="false">fete-2024</guid><description>Sat.</description></item>
        <item><title>Own page</title><link>https://notices.example.com/own</link></item>
        </channel></rss>"#;

    #[test]
    fn guidless_items_sharing_a_link_get_distinct_stable_ids() {
        let items = parse_ok(SHARED_LINK);
        assert_eq!(items.len(), 4);
        // Both canonicalize to the homepage, so the link identifies neither.
        assert_eq!(items[0].link, items[1].link);
        assert!(items[0].id.starts_with("sha256:"), "{}", items[0].id);
        assert!(items[1].id.starts_with("sha256:"), "{}", items[1].id);
        assert_ne!(items[0].id, items[1].id);
        assert_eq!(
            items[0].id,
            sha_id("2024-03-04T09:00:00+00:00\nmains work.")
        );
        // The link is still reported as the item's link.
        assert_eq!(
            items[0].link.as_deref(),
            Some("https://notices.example.com/")
        );
        // An item with a guid is unaffected, even though it shares the link.
        assert_eq!(items[2].id, "fete-2024");
        // A link used by one guid-less entry only still identifies it.
        assert_eq!(items[3].id, "https://notices.example.com/own");
        // Stable across re-parse, and across a title edit.
        let again = parse_ok(&SHARED_LINK.replace("Road closed", "Road closed all week"));
        let ids = |items: &[Item]| items.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&again), ids(&items));
    }

    #[test]
    fn a_lone_guidless_item_keeps_its_link_as_id() {
        let body = r#"<rss version="2.0"><channel><title>t</title>
            <item><title>a</title><link>https://one.example.com/</link></item>
            <item><title>b</title><guid>b-1</guid><link>https://one.example.com/</link></item>
            </channel></rss>"#;
        let items = parse_ok(body);
        assert_eq!(items[0].id, "https://one.example.com/");
        assert_eq!(items[1].id, "b-1");
    }

    #[test]
    fn title_edit_keeps_id() {
        let edited = RSS2
            .replace("Ferry service to resume", "UPDATED: Ferry service resumes")
            .replace("Library extends", "Library lengthens");
        let (before, after) = (parse_ok(RSS2), parse_ok(&edited));
        assert_ne!(before[0].title, after[0].title);
        assert_eq!(before[0].id, after[0].id);
        assert_ne!(before[1].title, after[1].title);
        assert_eq!(before[1].id, after[1].id);
    }

    #[test]
    fn rss1_rdf() {
        let body = r#"<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
         xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://wire.example.org/">
    <title>Example Wire</title>
    <link>https://wire.example.org/</link>
    <description>Wire</description>
  </channel>
  <item rdf:about="https://wire.example.org/2024/harvest">
    <title>Record apple harvest in the north</title>
    <link>https://wire.example.org/2024/harvest</link>
    <description>Growers report &lt;i&gt;record&lt;/i&gt; yields.</description>
    <dc:date>2024-09-01T06:00:00Z</dc:date>
    <dc:creator>Wire Staff</dc:creator>
  </item>
</rdf:RDF>"#;
        let items = parse_ok(body);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].id, "https://wire.example.org/2024/harvest");
        assert_eq!(items[0].title, "Record apple harvest in the north");
        assert_eq!(items[0].summary, "Growers report record yields.");
    }

    #[test]
    fn rss091() {
        let body = r#"<?xml version="1.0"?>
<rss version="0.91">
  <channel>
    <title>Old Town Crier</title>
    <link>http://crier.example.net/</link>
    <description>Since 1999</description>
    <language>en-us</language>
    <item>
      <title>Bridge repainted green</title>
      <link>HTTP://Crier.Example.NET:80/bridge.html</link>
      <description>Residents voted for the colour.</description>
    </item>
  </channel>
</rss>"#;
        let items = parse_ok(body);
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].id, "http://crier.example.net/bridge.html");
        assert_eq!(
            items[0].link.as_deref(),
            Some("http://crier.example.net/bridge.html")
        );
        assert_eq!(items[0].summary, "Residents voted for the colour.");
    }

    #[test]
    fn atom() {
        let body = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Harbour Blog</title>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2024-05-02T10:00:00Z</updated>
  <entry>
    <title type="html">Tides &amp;amp; &lt;em&gt;times&lt;/em&gt;</title>
    <id> tag:harbour.example.com,2024:tides </id>
    <link rel="enclosure" href="https://cdn.example.com/tides.mp3"/>
    <link rel="alternate" href="https://harbour.example.com/tides?fbclid=zzz"/>
    <updated>2024-05-02T10:00:00Z</updated>
    <author><name>Lee Park</name></author>
    <category term="sea" label="The Sea"/>
    <summary type="text">Spring tides this week.</summary>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Expect <strong>high</strong> water.</p></div></content>
  </entry>
</feed>"#;
        let items = parse_ok(body);
        assert_eq!(items.len(), 1);
        let item = &items[0];
        assert_eq!(item.id, "tag:harbour.example.com,2024:tides");
        assert_eq!(
            item.link.as_deref(),
            Some("https://harbour.example.com/tides")
        );
        assert_eq!(item.title, "Tides & times");
        assert_eq!(item.summary, "Spring tides this week.");
        assert_eq!(item.content, "Expect high water.");
        // No `published`: falls back to `updated`.
        assert_eq!(
            item.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2024-05-02T10:00:00+00:00")
        );
        assert_eq!(item.authors, vec!["Lee Park"]);
        assert_eq!(item.categories, vec!["sea"]);
    }

    #[test]
    fn json_feed_1_1() {
        let body = r#"{
  "version": "https://jsonfeed.org/version/1.1",
  "title": "Quarry News",
  "items": [
    {
      "id": "q-17",
      "url": "https://quarry.example.com/17?utm_medium=json",
      "title": "Quarry &amp; lake reopen",
      "content_html": "<p>Swimming allowed again &mdash; with lifeguards.</p>",
      "summary": "Reopening",
      "date_published": "2024-06-10T09:00:00+02:00",
      "authors": [{"name": "Mo Chen"}],
      "tags": ["leisure", "summer"]
    },
    {
      "id": "",
      "url": "https://quarry.example.com/18",
      "content_text": "Plain text only."
    }
  ]
}"#;
        let items = parse_ok(body);
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].id, "q-17");
        assert_eq!(
            items[0].link.as_deref(),
            Some("https://quarry.example.com/17")
        );
        assert_eq!(items[0].title, "Quarry & lake reopen");
        assert_eq!(
            items[0].content,
            "Swimming allowed again \u{2014} with lifeguards."
        );
        assert_eq!(items[0].summary, "Reopening");
        assert_eq!(
            items[0].published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2024-06-10T07:00:00+00:00")
        );
        assert_eq!(items[0].authors, vec!["Mo Chen"]);
        assert_eq!(items[0].categories, vec!["leisure", "summer"]);
        assert_eq!(items[1].id, "https://quarry.example.com/18");
        assert_eq!(
            format!("{} {}", items[1].summary, items[1].content).trim(),
            "Plain text only."
        );
    }

    #[test]
    fn relative_links_resolve_against_base() {
        let body = r#"<rss version="2.0"><channel><title>t</title>
            <item><title>a</title><link>/news/a?gclid=1</link></item></channel></rss>"#;
        let items = parse_with_base(
            "f",
            Some("https://site.example.com/feed.xml"),
            body.as_bytes(),
        )
        .unwrap_or_default();
        assert_eq!(
            items[0].link.as_deref(),
            Some("https://site.example.com/news/a")
        );
    }

    #[test]
    fn empty_feed_is_ok_and_empty() {
        let body = r#"<rss version="2.0"><channel><title>Quiet</title></channel></rss>"#;
        assert_eq!(parse_ok(body), vec![]);
        assert_eq!(
            parse_ok(r#"{"version":"https://jsonfeed.org/version/1.1","title":"q","items":[]}"#),
            vec![]
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let cases: &[&[u8]] = &[
            b"",
            b"hello world",
            b"<!DOCTYPE html><html><body>Sign in</body></html>",
            b"<rss version=\"2.0\"><channel><item><title>unclosed",
            b"{\"version\": 3",
            b"{\"version\":\"https://jsonfeed.org/version/9\",\"items\":[]}",
            b"\xff\xfe\x00<\x00r\x00",
            b"<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><link href=\"::\"/></entry>",
            b"<<<<&&&&>>>>",
        ];
        for body in cases {
            match parse("f", body) {
                Err(e) => {
                    let msg = e.to_string();
                    assert!(!msg.contains('\n'), "multi-line error: {msg}");
                }
                Ok(items) => assert!(items.iter().all(|i| !i.id.is_empty())),
            }
        }
    }

    #[test]
    fn not_a_feed_message_names_the_content() {
        let err = parse(
            "f",
            b"\n  <!DOCTYPE html>\n<html><head><title>Login required</title>",
        )
        .err()
        .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "not a feed: content starts with \"<!DOCTYPE html> <html><head><title>Login…\" \
                 (expected RSS, Atom or JSON Feed)"
            )
        );
        let err = parse("f", b"").err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some(
                "not a feed: content starts with nothing (empty body) (expected RSS, Atom or JSON Feed)"
            )
        );
    }

    fn parse_lenient(body: &str) -> ParsedFeed {
        parse_document("f", None, body.as_bytes(), None, &StripParams::default())
            .unwrap_or_else(|e| panic!("parse failed: {e}"))
    }

    #[test]
    fn stray_ampersands_and_a_missing_rss_version_are_read() {
        let body = r#"<rss><channel><title>Markets & more</title>
            <item><guid>1</guid><title>AT&T buys B&Q</title>
              <link>https://wire.example.org/deal?a=1&b=2</link></item>
            <item><guid>2</guid><title>Tom &amp; Jerry</title></item>
            </channel></rss>"#;
        let parsed = parse_lenient(body);
        let titles: Vec<&str> = parsed.items.iter().map(|i| i.title.as_str()).collect();
        assert_eq!(titles, vec!["AT&T buys B&Q", "Tom & Jerry"]);
        assert_eq!(
            parsed.items[0].link.as_deref(),
            Some("https://wire.example.org/deal?a=1&b=2")
        );
        assert!(parsed.skipped.is_empty(), "{:?}", parsed.skipped);
        // RSS versions feed-rs does not dispatch on, read as 2.0.
        for version in ["0.93", "0.94", "2.01", "2.1"] {
            let body = body.replace("<rss>", &format!("<rss version=\"{version}\">"));
            assert_eq!(parse_lenient(&body).items.len(), 2, "{version}");
        }
    }

    #[test]
    fn an_atom_entry_with_an_unknown_content_type_keeps_the_feed_and_the_entry() {
        let body = r#"<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>
            <entry><id>a</id><title type="application/octet-stream">RXhhbXBsZQ==</title>
              <summary type="text/plain">Kazakhstan grain</summary></entry>
            <entry><id>b</id><title type="application/xhtml+xml"><div xmlns="http://www.w3.org/1999/xhtml">Abraham <b>Accords</b></div></title>
              <content type="">Body</content></entry>
            </feed>"#;
        let parsed = parse_lenient(body);
        assert_eq!(parsed.items.len(), 2);
        assert_eq!(parsed.items[0].id, "a");
        assert_eq!(parsed.items[0].title, "");
        assert_eq!(parsed.items[0].summary, "Kazakhstan grain");
        assert_eq!(parsed.items[1].title, "Abraham Accords");
        assert_eq!(parsed.items[1].content, "Body");
    }

    #[test]
    fn atom_0_3_entries_are_read() {
        let body = r#"<?xml version="1.0"?>
<feed version="0.3" xmlns="http://purl.org/atom/ns#"><title>Old blog</title>
  <modified>2005-03-01T10:00:00Z</modified>
  <entry><id>tag:old.example.com,2005:1</id><title mode="escaped" type="text/html">Kazakhstan &amp;amp; Israel</title>
    <link rel="alternate" type="text/html" href="https://old.example.com/1"/>
    <issued>2005-03-01T09:00:00Z</issued><modified>2005-03-01T10:00:00Z</modified>
    <content type="text/html" mode="escaped">&lt;p&gt;Talks resume.&lt;/p&gt;</content></entry>
</feed>"#;
        let parsed = parse_lenient(body);
        assert_eq!(parsed.items.len(), 1);
        let item = &parsed.items[0];
        assert_eq!(item.id, "tag:old.example.com,2005:1");
        assert_eq!(item.title, "Kazakhstan & Israel");
        assert_eq!(item.link.as_deref(), Some("https://old.example.com/1"));
        assert_eq!(item.content, "Talks resume.");
        assert_eq!(
            item.published.map(|d| d.to_rfc3339()).as_deref(),
            Some("2005-03-01T09:00:00+00:00")
        );
    }

    const THREE_ITEMS: &str = "<rss version=\"2.0\"><channel><title>t</title><ttl>30</ttl>\n\
        <item><guid>1</guid><title>one</title></item>\n\
        <item><guid>2</guid><title>two <b>bold</title></item>\n\
        <item><guid>3</guid><title>three</title></item>\n\
        </channel></rss>";

    #[test]
    fn one_unreadable_item_is_skipped_and_reported_and_the_rest_kept() {
        let parsed = parse_lenient(THREE_ITEMS);
        let ids: Vec<&str> = parsed.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, vec!["1", "3"]);
        assert_eq!(parsed.skipped.len(), 1, "{:?}", parsed.skipped);
        assert!(
            parsed.skipped[0].starts_with("entry 2 of 3 (line 3): malformed XML"),
            "{:?}",
            parsed.skipped
        );
        // The feed's own fields are still read.
        assert_eq!(parsed.ttl, Some(std::time::Duration::from_secs(30 * 60)));
    }

    #[test]
    fn a_truncated_body_keeps_its_complete_items() {
        let cut = &THREE_ITEMS[..THREE_ITEMS.find("<title>three").unwrap_or(0) + 10];
        let cut = cut.replace("two <b>bold", "two bold");
        let parsed = parse_lenient(&cut);
        let ids: Vec<&str> = parsed.items.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(ids, vec!["1", "2"]);
        assert_eq!(parsed.skipped.len(), 1, "{:?}", parsed.skipped);
    }

    #[test]
    fn still_refused_a_page_a_broken_head_and_entity_declarations() {
        let html = "<html><body>AT&T <p>Sign in</body></html>";
        assert!(matches!(
            parse("f", html.as_bytes()),
            Err(ParseError::NotAFeed { .. })
        ));
        // The feed's own part is broken: nothing to keep the items in.
        let broken_head = THREE_ITEMS.replace("<title>t</title>", "<title>t</titel>");
        assert!(parse("f", broken_head.as_bytes()).is_err());
        let bomb = "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY a \"&b;&b;\">]><rss><channel><item><title>&a; & co</title></item></channel></rss>";
        assert!(matches!(
            parse("f", bomb.as_bytes()),
            Err(ParseError::EntityDeclarations)
        ));
    }

    #[test]
    fn a_soft_hyphenated_word_matches_as_one_word() {
        let body = r#"<rss version="2.0"><channel><title>t</title>
            <item><guid>1</guid><title>Kaz&#173;akhstan &amp; Isra&#x200B;el</title></item>
            </channel></rss>"#;
        let items = parse_ok(body);
        assert_eq!(crate::text::normalize(&items[0].title), "kazakhstan israel");
    }
}
