//! Repairs to XML feed text before the parser, for the well-formedness mistakes whose meaning
//! is clear, and the entry boundaries that let the parser read a feed one entry at a time.
//!
//! feed-rs (over quick-xml) is a strict XML parser: one unescaped `&` in one item, an `<rss>`
//! without a version it knows, or one Atom `<title type="application/octet-stream">` makes it
//! reject the whole document. Browsers and feedparser read such feeds; so do we, by fixing
//! exactly those mistakes here, and leaving everything else to the parser:
//!
//! - a `&` that does not start a character or entity reference becomes `&amp;`; `&#X41;`
//!   becomes `&#x41;`, and a reference to a character XML forbids (`&#0;`) becomes U+FFFD;
//! - an XML declaration after the start of the document is removed (it is illegal there, and
//!   quick-xml panics when one names another charset);
//! - the root `<rss>` gets `version="2.0"` when its version is missing or one feed-rs does not
//!   know (0.93, 0.94, 2.01…): every RSS 0.9x/2.x element is read by the 2.0 reader;
//! - Atom 0.3 is read as Atom 1.0: its namespace is replaced, `issued`, `modified`,
//!   `tagline` and `copyright` renamed `published`, `updated`, `subtitle` and `rights`, and
//!   `mode="base64"` content marked binary;
//! - in an Atom feed, a text construct (`title`, `summary`…) whose `type` is not `text`,
//!   `html` or `xhtml` is read as `text` (`text/plain`) or `html` (any HTML or XML type), or
//!   dropped when it holds something else (base64 binary); a `content` whose `type` is not a
//!   media type is read as `text`.
//!
//! CDATA sections, comments and processing instructions are never touched.

use std::borrow::Cow;
use std::ops::Range;

/// The text after repairs, and what was repaired (one line each, for the log).
#[derive(Debug)]
pub struct Repaired<'a> {
    pub text: Cow<'a, str>,
    pub notes: Vec<String>,
}

/// Atom text constructs (RFC 4287 §3.1, and Atom 0.3's names for them).
const TEXT_CONSTRUCTS: &[&str] = &[
    "title",
    "subtitle",
    "summary",
    "rights",
    "tagline",
    "copyright",
    "info",
];

/// Atom 0.3's namespace, and the elements it names differently from Atom 1.0 (RFC 4287).
const ATOM03_NAMESPACE: &str = "http://purl.org/atom/ns#";
const ATOM10_NAMESPACE: &str = "http://www.w3.org/2005/Atom";
const ATOM03_RENAMES: &[(&str, &str)] = &[
    ("issued", "published"),
    ("modified", "updated"),
    ("tagline", "subtitle"),
    ("copyright", "rights"),
];

/// The RSS versions feed-rs dispatches on; any other is read as 2.0.
const KNOWN_RSS_VERSIONS: &[&str] = &["2.0", "0.91", "0.92", ""];

struct Edit {
    range: Range<usize>,
    with: String,
}

/// What the scan counted and where it saw the RSS landmarks.
#[derive(Default)]
struct Counts {
    stray_amps: usize,
    char_refs: usize,
    late_declarations: usize,
    /// Where the content of the root element starts (past its start tag), unless self-closing.
    root_content: Option<usize>,
    /// Where the last `</rss>` starts.
    rss_close: Option<usize>,
    channel: bool,
    /// The root declares Atom 0.3's namespace.
    atom03: bool,
}

/// Applies the repairs listed in the module docs. Text that does not start with markup (JSON
/// Feed, or not a feed at all) is returned as it is.
pub fn repair(text: &str) -> Repaired<'_> {
    let unchanged = |text| Repaired {
        text: Cow::Borrowed(text),
        notes: Vec::new(),
    };
    let document_start = text.len() - text.trim_start_matches(is_xml_space_or_bom).len();
    if !text[document_start..].starts_with('<') {
        return unchanged(text);
    }
    let mut edits = Vec::new();
    let mut notes = Vec::new();
    let mut counts = Counts::default();
    let mut root: Option<String> = None;
    let mut at = 0;
    while let Some(offset) = text[at..].find(['<', '&']) {
        let i = at + offset;
        let rest = &text[i..];
        at = if rest.starts_with('&') {
            reference(text, i, &mut edits, &mut counts)
        } else if rest.starts_with("<![CDATA[") {
            past(text, i, "]]>")
        } else if rest.starts_with("<!--") {
            past(text, i + 4, "-->")
        } else if rest.starts_with("<?") {
            let end = past(text, i, "?>");
            if i != document_start && is_xml_declaration(rest) {
                edits.push(Edit {
                    range: i..end,
                    with: String::new(),
                });
                counts.late_declarations += 1;
            }
            end
        } else if rest.starts_with("<!") {
            doctype_end(text, i)
        } else {
            tag(text, i, &mut root, &mut edits, &mut counts, &mut notes)
        };
    }
    if root.as_deref() == Some("rss") && !counts.channel {
        // feed-rs reads an RSS 2.0 document only through its <channel>; without one, the
        // root's content is what a channel would hold (feedparser reads it so).
        if let (Some(content), Some(close)) = (counts.root_content, counts.rss_close) {
            edits.push(Edit {
                range: content..content,
                with: "<channel>".to_owned(),
            });
            edits.push(Edit {
                range: close..close,
                with: "</channel>".to_owned(),
            });
            notes.push("<rss> without <channel>: its content read as the channel's".to_owned());
        }
    }
    if counts.stray_amps > 0 {
        notes.push(format!(
            "escaped {} '&' that started no entity",
            counts.stray_amps
        ));
    }
    if counts.char_refs > 0 {
        notes.push(format!(
            "repaired {} malformed character references",
            counts.char_refs
        ));
    }
    if counts.late_declarations > 0 {
        notes.push(format!(
            "removed {} XML declarations after the start",
            counts.late_declarations
        ));
    }
    if edits.is_empty() {
        return Repaired {
            text: Cow::Borrowed(text),
            notes,
        };
    }
    edits.sort_by_key(|e| e.range.start);
    let mut out = String::with_capacity(text.len() + 16 * edits.len());
    let mut copied = 0;
    for edit in edits {
        // Edits never overlap (a larger one removes those inside it), but stay safe.
        if edit.range.start < copied {
            continue;
        }
        out.push_str(&text[copied..edit.range.start]);
        out.push_str(&edit.with);
        copied = edit.range.end;
    }
    out.push_str(&text[copied..]);
    Repaired {
        text: Cow::Owned(out),
        notes,
    }
}

fn is_xml_space_or_bom(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{feff}')
}

/// `<?xml` followed by whitespace or `?>`: the XML declaration, not a PI named `xml-stylesheet`.
fn is_xml_declaration(rest: &str) -> bool {
    rest.get(..5)
        .is_some_and(|s| s.eq_ignore_ascii_case("<?xml"))
        && rest[5..]
            .chars()
            .next()
            .is_none_or(|c| c.is_ascii_whitespace() || c == '?')
}

/// The index just past the first `needle` at or after `from`, or the end of the text.
fn past(text: &str, from: usize, needle: &str) -> usize {
    text[from..]
        .find(needle)
        .map_or(text.len(), |at| from + at + needle.len())
}

/// The end of a `<!DOCTYPE …>` (its internal subset included) or other `<!…>` declaration.
fn doctype_end(text: &str, from: usize) -> usize {
    let rest = &text[from..];
    match (rest.find('['), rest.find('>')) {
        (Some(open), Some(close)) if open < close => past(text, from + open, "]>"),
        _ => past(text, from, ">"),
    }
}

/// Checks the reference starting with the `&` at `i`; returns where scanning resumes.
fn reference(text: &str, i: usize, edits: &mut Vec<Edit>, counts: &mut Counts) -> usize {
    let rest = &text[i + 1..];
    if let Some(number) = rest.strip_prefix('#') {
        let (hex, digits_at) = match number.as_bytes().first() {
            Some(b'x' | b'X') => (true, 2),
            _ => (false, 1),
        };
        let digits = &rest[digits_at..];
        let length = digits
            .bytes()
            .take_while(|b| {
                if hex {
                    b.is_ascii_hexdigit()
                } else {
                    b.is_ascii_digit()
                }
            })
            .count();
        if length > 0 && digits.as_bytes().get(length) == Some(&b';') {
            let end = i + 1 + digits_at + length + 1;
            let value = u32::from_str_radix(&digits[..length], if hex { 16 } else { 10 }).ok();
            let legal = value
                .and_then(char::from_u32)
                .is_some_and(|c| c != '\0' && (!c.is_control() || c.is_ascii_whitespace()));
            if !legal {
                // XML forbids these characters even as references; show that one was there.
                edits.push(Edit {
                    range: i..end,
                    with: "\u{FFFD}".to_owned(),
                });
                counts.char_refs += 1;
            } else if number.starts_with('X') {
                edits.push(Edit {
                    range: i + 2..i + 3,
                    with: "x".to_owned(),
                });
                counts.char_refs += 1;
            }
            return end;
        }
    } else {
        let name_length = rest
            .char_indices()
            .find(|(at, c)| !is_name_char(*c, *at == 0))
            .map_or(rest.len(), |(at, _)| at);
        if name_length > 0 && rest[name_length..].starts_with(';') {
            return i + 1 + name_length + 1;
        }
    }
    edits.push(Edit {
        range: i + 1..i + 1,
        with: "amp;".to_owned(),
    });
    counts.stray_amps += 1;
    i + 1
}

fn is_name_char(c: char, first: bool) -> bool {
    c.is_ascii_alphabetic()
        || c == '_'
        || c == ':'
        || !c.is_ascii()
        || (!first && (c.is_ascii_digit() || c == '-' || c == '.'))
}

/// A start or end tag at `i`: fixes stray `&` in its attribute values, and the root and Atom
/// repairs; returns where scanning resumes.
fn tag(
    text: &str,
    i: usize,
    root: &mut Option<String>,
    edits: &mut Vec<Edit>,
    counts: &mut Counts,
    notes: &mut Vec<String>,
) -> usize {
    let end = tag_end(text, i);
    let first_edit = edits.len();
    let mut quote = None;
    let mut at = i + 1;
    while at < end {
        let b = text.as_bytes()[at];
        match quote {
            None if b == b'"' || b == b'\'' => quote = Some(b),
            Some(q) if b == q => quote = None,
            Some(_) if b == b'&' => {
                at = reference(text, at, edits, counts);
                continue;
            }
            _ => {}
        }
        at += 1;
    }
    let tag = &text[i..end];
    if let Some(closing) = tag.strip_prefix("</") {
        let name = tag_name(closing);
        if name == "rss" {
            counts.rss_close = Some(i);
        }
        if counts.atom03 {
            rename_atom03(edits, i + 2, name);
        }
        return end;
    }
    let name = tag_name(tag);
    let local = name.rsplit(':').next().unwrap_or(name);
    if local == "channel" {
        counts.channel = true;
    }
    // Atom 0.3 is read as Atom 1.0: same structure, another namespace, four other names.
    let mut declares_atom03 = false;
    let declarations = if tag.contains("xmlns") {
        attributes(tag)
    } else {
        Vec::new()
    };
    for (attribute_name, value) in declarations {
        if (attribute_name == "xmlns" || attribute_name.starts_with("xmlns:"))
            && tag[value.clone()] == *ATOM03_NAMESPACE
        {
            replace_value(edits, first_edit, i, value, ATOM10_NAMESPACE);
            declares_atom03 = true;
        }
    }
    if counts.atom03 {
        rename_atom03(edits, i + 1, name);
    }
    let Some(root_name) = root.as_deref() else {
        *root = Some(local.to_owned());
        if declares_atom03 && local == "feed" {
            counts.atom03 = true;
            notes.push("Atom 0.3 read as Atom 1.0".to_owned());
        }
        if !tag.ends_with("/>") {
            counts.root_content = Some(end);
        }
        if name == "rss" {
            match attribute(tag, "version") {
                None => {
                    edits.push(Edit {
                        range: i + 4..i + 4,
                        with: " version=\"2.0\"".to_owned(),
                    });
                    notes.push("<rss> without a version read as RSS 2.0".to_owned());
                }
                Some(value) if !KNOWN_RSS_VERSIONS.contains(&&tag[value.clone()]) => {
                    notes.push(format!("RSS version {:?} read as 2.0", &tag[value.clone()]));
                    replace_value(edits, first_edit, i, value, "2.0");
                }
                Some(_) => {}
            }
        }
        return end;
    };
    if root_name != "feed" && root_name != "entry" {
        return end;
    }
    // Atom 0.3's mode="base64": binary, nothing to match.
    let base64 = counts.atom03
        && attribute(tag, "mode")
            .is_some_and(|mode| tag[mode].trim().eq_ignore_ascii_case("base64"));
    if base64 && local == "content" {
        match attribute(tag, "type") {
            Some(value) => replace_value(edits, first_edit, i, value, "application/octet-stream"),
            None => edits.push(Edit {
                range: i + 1 + name.len()..i + 1 + name.len(),
                with: " type=\"application/octet-stream\"".to_owned(),
            }),
        }
        return end;
    }
    let Some(value) = attribute(tag, "type").or_else(|| base64.then_some(0..0)) else {
        return end;
    };
    let media_type = tag[value.clone()].trim().to_ascii_lowercase();
    if TEXT_CONSTRUCTS.contains(&local) {
        if matches!(media_type.as_str(), "text" | "html" | "text/html" | "xhtml")
            && tag[value.clone()] == *media_type
        {
            return end;
        }
        let read_as = if base64 {
            None
        } else if matches!(media_type.as_str(), "" | "text" | "text/plain") {
            Some("text")
        } else if media_type == "xhtml" || media_type.contains("html") || media_type.contains("xml")
        {
            Some("html")
        } else if media_type.starts_with("text/") {
            Some("text")
        } else {
            None
        };
        match read_as {
            Some(read_as) => replace_value(edits, first_edit, i, value, read_as),
            None => {
                // Binary (typically base64) in a construct meant for text: nothing to match.
                notes.push(format!("<{name} type={media_type:?}> dropped"));
                let element_end = element_end(text, end, name);
                edits.truncate(first_edit);
                edits.push(Edit {
                    range: i..element_end,
                    with: String::new(),
                });
                return element_end;
            }
        }
    } else if local == "content" {
        let read_as = if matches!(media_type.as_str(), "text" | "html" | "xhtml" | "text/html") {
            Some(media_type.as_str())
        } else if media_type.contains("html") {
            // application/xhtml+xml holds inline XHTML, which feed-rs reads only as `html`
            // (its `+xml` branch never matches, and its media-type branch wants text).
            Some("html")
        } else if !is_media_type(&media_type) {
            Some("text")
        } else {
            None
        };
        if let Some(read_as) = read_as.filter(|read_as| tag[value.clone()] != **read_as) {
            replace_value(edits, first_edit, i, value, read_as);
        }
    }
    end
}

/// Replaces an attribute value (`value` relative to the tag at `tag_start`), dropping any
/// edit already made inside it.
fn replace_value(
    edits: &mut Vec<Edit>,
    first_edit: usize,
    tag_start: usize,
    value: Range<usize>,
    with: &str,
) {
    let range = tag_start + value.start..tag_start + value.end;
    let mut kept = edits.split_off(first_edit);
    kept.retain(|e| e.range.start < range.start || e.range.start >= range.end);
    edits.extend(kept);
    edits.push(Edit {
        range,
        with: with.to_owned(),
    });
}

/// `type/subtype` as the Atom `content` element requires (and feed-rs parses).
fn is_media_type(value: &str) -> bool {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence
        .split_once('/')
        .is_some_and(|(kind, sub)| token(kind) && token(sub))
}

/// Where the tag starting at `i` ends: past its `>`, outside quoted values.
fn tag_end(text: &str, i: usize) -> usize {
    let mut quote = None;
    for (at, b) in text.as_bytes()[i + 1..].iter().enumerate() {
        match quote {
            None if *b == b'"' || *b == b'\'' => quote = Some(*b),
            None if *b == b'>' => return i + 1 + at + 1,
            Some(q) if *b == q => quote = None,
            _ => {}
        }
    }
    text.len()
}

fn tag_name(tag: &str) -> &str {
    let name = tag.trim_start_matches('<');
    let end = name
        .find(|c: char| c.is_ascii_whitespace() || c == '/' || c == '>')
        .unwrap_or(name.len());
    &name[..end]
}

/// Renames an Atom 0.3 element whose tag name (`name`, prefix and all) starts at `at`.
fn rename_atom03(edits: &mut Vec<Edit>, at: usize, name: &str) {
    let local = name.rsplit(':').next().unwrap_or(name);
    if let Some((_, new)) = ATOM03_RENAMES.iter().find(|(old, _)| *old == local) {
        let start = at + name.len() - local.len();
        edits.push(Edit {
            range: start..at + name.len(),
            with: (*new).to_owned(),
        });
    }
}

/// The range of the value of attribute `name` within `tag`.
fn attribute(tag: &str, name: &str) -> Option<Range<usize>> {
    attributes(tag)
        .into_iter()
        .find(|(found, _)| *found == name)
        .map(|(_, value)| value)
}

/// Every attribute of `tag`: its name and the range of its value.
fn attributes(tag: &str) -> Vec<(&str, Range<usize>)> {
    let mut found = Vec::new();
    let bytes = tag.as_bytes();
    let mut at = 1 + tag_name(tag).len();
    loop {
        while bytes.get(at).is_some_and(|b| b.is_ascii_whitespace()) {
            at += 1;
        }
        let name_start = at;
        while bytes
            .get(at)
            .is_some_and(|b| !b.is_ascii_whitespace() && !b"=/>".contains(b))
        {
            at += 1;
        }
        if at == name_start {
            return found;
        }
        let name = &tag[name_start..at];
        while bytes.get(at).is_some_and(|b| b.is_ascii_whitespace()) {
            at += 1;
        }
        if bytes.get(at) != Some(&b'=') {
            continue;
        }
        at += 1;
        while bytes.get(at).is_some_and(|b| b.is_ascii_whitespace()) {
            at += 1;
        }
        let Some(quote) = bytes.get(at).filter(|q| **q == b'"' || **q == b'\'') else {
            return found;
        };
        let value_start = at + 1;
        let Some(length) = tag[value_start..].find(char::from(*quote)) else {
            return found;
        };
        found.push((name, value_start..value_start + length));
        at = value_start + length + 1;
    }
}

/// The end of the element whose start tag ends at `after_start_tag`: past its `</name>`, or
/// (self-closing, or never closed) the start tag's end.
fn element_end(text: &str, after_start_tag: usize, name: &str) -> usize {
    if text[..after_start_tag].ends_with("/>") {
        return after_start_tag;
    }
    let close = format!("</{name}");
    let mut from = after_start_tag;
    while let Some(at) = text[from..].find(&close) {
        let after = from + at + close.len();
        if text[after..].starts_with(|c: char| c == '>' || c.is_ascii_whitespace()) {
            return tag_end(text, from + at);
        }
        from = after;
    }
    after_start_tag
}

/// The feed's entries (`item` or `entry` elements, any prefix), outermost only, in order, and
/// the names of the elements open where the first one starts (so a document cut into its
/// head, one entry and closing tags is well-formed when the original was up to there).
pub struct Entries {
    pub spans: Vec<Range<usize>>,
    pub open_at_first: Vec<String>,
}

/// Finds the entries of `text` the way [`repair`] scans it (CDATA, comments and processing
/// instructions skipped). An entry still open at the end of the text (a truncated body) runs
/// to the end.
pub fn entries(text: &str) -> Entries {
    let mut spans = Vec::new();
    let mut open: Vec<&str> = Vec::new();
    let mut open_at_first = None;
    let mut entry: Option<(usize, usize)> = None; // (start, depth of the entry element)
    let mut at = 0;
    while let Some(offset) = text[at..].find('<') {
        let i = at + offset;
        let rest = &text[i..];
        at = if rest.starts_with("<![CDATA[") {
            past(text, i, "]]>")
        } else if rest.starts_with("<!--") {
            past(text, i + 4, "-->")
        } else if rest.starts_with("<?") {
            past(text, i, "?>")
        } else if rest.starts_with("<!") {
            doctype_end(text, i)
        } else {
            let end = tag_end(text, i);
            let tag = &text[i..end];
            let name = tag_name(tag.trim_start_matches("</"));
            let local = name.rsplit(':').next().unwrap_or(name);
            if tag.starts_with("</") {
                if let Some(depth) = open.iter().rposition(|n| *n == name) {
                    open.truncate(depth);
                    if let Some((start, entry_depth)) = entry
                        && depth <= entry_depth
                    {
                        spans.push(start..end);
                        entry = None;
                    }
                }
            } else {
                let self_closing = tag.ends_with("/>");
                if entry.is_none() && (local == "item" || local == "entry") && !open.is_empty() {
                    if open_at_first.is_none() {
                        open_at_first = Some(open.iter().map(|n| (*n).to_owned()).collect());
                    }
                    if self_closing {
                        spans.push(i..end);
                    } else {
                        entry = Some((i, open.len()));
                    }
                }
                if !self_closing {
                    open.push(name);
                }
            }
            end
        };
    }
    if let Some((start, _)) = entry {
        spans.push(start..text.len());
    }
    Entries {
        spans,
        open_at_first: open_at_first.unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(text: &str) -> String {
        repair(text).text.into_owned()
    }

    #[test]
    fn stray_ampersands_are_escaped_and_references_kept() {
        assert_eq!(
            fixed(
                "<rss version=\"2.0\"><channel><t>AT&T &amp; B&Q &#233; &#xE9; &nbsp; &</t></channel></rss>"
            ),
            "<rss version=\"2.0\"><channel><t>AT&amp;T &amp; B&amp;Q &#233; &#xE9; &nbsp; &amp;</t></channel></rss>"
        );
        assert_eq!(
            fixed("<feed><link href=\"https://x.example/?a=1&b=2&amp;c=3\"/></feed>"),
            "<feed><link href=\"https://x.example/?a=1&amp;b=2&amp;c=3\"/></feed>"
        );
        assert_eq!(
            fixed("<rss version=\"2.0\"><channel>&#X41; &#0; &#xD800;</channel></rss>"),
            "<rss version=\"2.0\"><channel>&#x41; \u{FFFD} \u{FFFD}</channel></rss>"
        );
    }

    #[test]
    fn cdata_comments_and_json_are_left_alone() {
        let text = "<rss version=\"2.0\"><channel><![CDATA[a & b <x>]]><!-- c & d --><?pi e & f?></channel></rss>";
        assert!(matches!(repair(text).text, Cow::Borrowed(_)));
        let json = r#"{"items":[{"title":"AT&T <rss>"}]}"#;
        assert!(matches!(repair(json).text, Cow::Borrowed(_)));
    }

    #[test]
    fn rss_versions_feed_rs_does_not_know_become_2_0() {
        assert_eq!(
            fixed("<rss><channel/></rss>"),
            "<rss version=\"2.0\"><channel/></rss>"
        );
        assert_eq!(
            fixed("<?xml version=\"1.0\"?>\n<rss version=\"0.94\" a='1'>"),
            "<?xml version=\"1.0\"?>\n<rss version=\"2.0\" a='1'>"
        );
        for known in ["2.0", "0.91", "0.92"] {
            let text = format!("<rss version=\"{known}\"><channel/></rss>");
            assert_eq!(fixed(&text), text);
        }
        // Only the root: an <rss> further in is someone's content.
        assert_eq!(fixed("<feed><rss/></feed>"), "<feed><rss/></feed>");
    }

    #[test]
    fn rss_without_a_channel_gets_one_around_its_content() {
        assert_eq!(
            fixed("<rss version=\"2.0\"><item><title>a</title></item></rss>\n"),
            "<rss version=\"2.0\"><channel><item><title>a</title></item></channel></rss>\n"
        );
        let with = "<rss version=\"2.0\"><channel></channel></rss>";
        assert_eq!(fixed(with), with);
        assert_eq!(fixed("<rss version=\"2.0\"/>"), "<rss version=\"2.0\"/>");
    }

    #[test]
    fn atom_text_types_are_read_as_text_or_html_or_dropped() {
        let atom = |inner: &str| {
            format!("<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry>{inner}</entry></feed>")
        };
        assert_eq!(
            fixed(&atom("<title type=\"text/plain\">a</title>")),
            atom("<title type=\"text\">a</title>")
        );
        assert_eq!(
            fixed(&atom(
                "<title type=\"application/xhtml+xml\"><div>a</div></title>"
            )),
            atom("<title type=\"html\"><div>a</div></title>")
        );
        assert_eq!(
            fixed(&atom("<title type=\"\">a</title>")),
            atom("<title type=\"text\">a</title>")
        );
        assert_eq!(
            fixed(&atom(
                "<title type=\"application/octet-stream\">RXhh</title><id>1</id>"
            )),
            atom("<id>1</id>")
        );
        assert_eq!(
            fixed(&atom("<content type=\"\">a</content>")),
            atom("<content type=\"text\">a</content>")
        );
        assert_eq!(
            fixed(&atom(
                "<content type=\"application/xhtml+xml\"><div>a</div></content>"
            )),
            atom("<content type=\"html\"><div>a</div></content>")
        );
        let fine = atom("<title type=\"html\">a</title><content type=\"image/png\">x</content>");
        assert_eq!(fixed(&fine), fine);
        // In RSS, `type` attributes mean nothing to the reader and stay.
        let rss = "<rss version=\"2.0\"><channel><title type=\"application/octet-stream\">x</title></channel></rss>";
        assert_eq!(fixed(rss), rss);
    }

    #[test]
    fn atom_0_3_is_read_as_atom_1_0() {
        let text = "<feed version=\"0.3\" xmlns=\"http://purl.org/atom/ns#\"><tagline>t</tagline>\
                    <entry><issued>2004-01-01T00:00:00Z</issued><x:modified xmlns:x=\"http://purl.org/atom/ns#\">m</x:modified>\
                    <title type=\"text/plain\" mode=\"base64\">RXhh</title>\
                    <content type=\"text/plain\" mode=\"base64\">RXhh</content></entry></feed>";
        assert_eq!(
            fixed(text),
            "<feed version=\"0.3\" xmlns=\"http://www.w3.org/2005/Atom\"><subtitle>t</subtitle>\
             <entry><published>2004-01-01T00:00:00Z</published><x:updated xmlns:x=\"http://www.w3.org/2005/Atom\">m</x:updated>\
             <content type=\"application/octet-stream\" mode=\"base64\">RXhh</content></entry></feed>"
        );
        // Atom 1.0 names stay as they are.
        let atom10 =
            "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><issued>x</issued></entry></feed>";
        assert_eq!(fixed(atom10), atom10);
    }

    #[test]
    fn declarations_after_the_start_are_removed() {
        assert_eq!(
            fixed(
                "\n<?xml version=\"1.0\"?><rss version=\"2.0\"><channel/><?xml version=\"1.0\" encoding=\"utf-16\"?></rss>"
            ),
            "\n<?xml version=\"1.0\"?><rss version=\"2.0\"><channel/></rss>"
        );
        let stylesheet =
            "<?xml version=\"1.0\"?><?xml-stylesheet href=\"a.xsl\"?><rss version=\"2.0\"/>";
        assert_eq!(fixed(stylesheet), stylesheet);
    }

    #[test]
    fn entries_are_found_outside_cdata_with_the_elements_around_them() {
        let text = "<rss><channel><title>t</title><item><title><![CDATA[</item>]]></title></item>\
                    <!-- <item> --><item/><item><a:item>x</a:item></item><item>cut";
        let found = entries(text);
        let spans: Vec<&str> = found.spans.iter().map(|r| &text[r.clone()]).collect();
        assert_eq!(
            spans,
            vec![
                "<item><title><![CDATA[</item>]]></title></item>",
                "<item/>",
                "<item><a:item>x</a:item></item>",
                "<item>cut",
            ]
        );
        assert_eq!(found.open_at_first, vec!["rss", "channel"]);
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::{entries, repair};

    proptest! {
    /// Any text, markup-heavy or not, is scanned (and its entries found) without a panic;
    /// text with no markup and no `&` comes back as it was.
    #[test]
    fn repair_never_panics_and_settles(
        text in prop_oneof![
            any::<String>(),
            proptest::collection::vec(
                prop_oneof![
                    Just("<rss>"), Just("<rss version='0.94'>"), Just("</rss>"), Just("<channel>"),
                    Just("<feed xmlns=\"http://purl.org/atom/ns#\">"), Just("<entry>"),
                    Just("</entry>"), Just("<item>"), Just("</item>"), Just("<title type=\"x/y\">"),
                    Just("<title mode=\"base64\">"), Just("</title>"), Just("<issued>"),
                    Just("<![CDATA["), Just("]]>"), Just("<!--"), Just("-->"), Just("<?xml ?>"),
                    Just("&"), Just("&amp;"), Just("&#X41;"), Just("&#0;"), Just("\""), Just("é"),
                    Just("<"), Just(">"), Just("/>"), Just(" "), Just("Kazakhstan"),
                ],
                0..40,
            )
            .prop_map(|parts| parts.concat()),
        ]
    ) {
        let once = repair(&text).text.into_owned();
        let _ = entries(&once);
        if !text.contains(['<', '&']) {
            prop_assert_eq!(&once, &text);
        }
    }
    }
}
