//! A second look at an item: its linked page fetched (bounded, http(s) only, never a private
//! address for a feed from the internet) and its main text extracted, the way a browser's
//! reader view finds it (`dom_smoothie`, a port of Mozilla's Readability).
//!
//! Which items get one, and what is done with the text, is the poll's business
//! (`crate::poll::article`); this module only turns a link into text.

use std::net::IpAddr;
use std::time::Duration;

use url::{Host, Url};

use super::fetch::{FetchError, Fetcher};

/// The extracted text is cut to this many characters: the matcher scans every character, and
/// a news article's words that matter are in its first few thousand.
pub const MAX_ARTICLE_CHARS: usize = 20_000;

/// More elements than this is not an article page, and readability's scoring grows with them.
const MAX_ELEMENTS: usize = 30_000;

/// Deeper markup than this is refused before parsing, so that no walk of the tree can run out
/// of stack on a hostile page. Real pages nest deeper than the feed text's limit
/// (`text::MAX_NESTING`): a news site's page measured 300-odd by that crude count.
const MAX_PAGE_NESTING: usize = 1_000;

/// Bounds on one article page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimits {
    /// From connecting to the last byte, redirects included.
    pub timeout: Duration,
    /// Largest body read (after decompression).
    pub max_bytes: u64,
    /// Whether links to loopback, private and link-local addresses may be fetched: only for a
    /// feed that is itself local (a `file://` feed, or one on such an address).
    pub allow_private: bool,
}

/// Why an article yielded no text. Display is one line without the URL.
#[derive(Debug, thiserror::Error)]
pub enum ArticleError {
    #[error("{0}")]
    Fetch(#[from] FetchError),
    #[error("not an http(s) link")]
    Scheme,
    #[error("a link to a local or private address, from a feed that is not local")]
    Private,
    #[error("not an HTML page ({0})")]
    NotHtml(String),
    #[error("markup nested too deeply to be an article")]
    TooDeep,
    #[error("no article text found: {0}")]
    Extract(String),
}

/// Whether a link may be fetched at all: http(s), and a public host unless `allow_private`.
/// A host name is judged here by its name (`localhost`); the addresses it resolves to are
/// checked when the connection is made.
pub fn check_link(link: &str, allow_private: bool) -> Result<Url, ArticleError> {
    let url = Url::parse(link).map_err(|_| ArticleError::Scheme)?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ArticleError::Scheme);
    }
    if !allow_private && !is_public(&url) {
        return Err(ArticleError::Private);
    }
    Ok(url)
}

/// Whether `feed_url` is local: a file, or an http(s) URL on a loopback, private or link-local
/// address. Only such a feed may lead to pages on such addresses.
pub fn is_local_feed(feed_url: &str) -> bool {
    match Url::parse(feed_url) {
        Ok(url) if url.scheme() == "file" => true,
        Ok(url) => !is_public(&url),
        Err(_) => false,
    }
}

/// Not loopback, private, link-local, unspecified, CGNAT or unique-local, and not `localhost`.
/// A name is judged here by its name; what it resolves to is judged when the page is fetched
/// ([`super::public::PublicOnly`]).
fn is_public(url: &Url) -> bool {
    match url.host() {
        None => false,
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name != "localhost" && !name.ends_with(".localhost")
        }
        Some(Host::Ipv4(v4)) => super::public::is_public_ip(IpAddr::V4(v4)),
        Some(Host::Ipv6(v6)) => super::public::is_public_ip(IpAddr::V6(v6)),
    }
}

/// Fetches the page at `link` within `limits`: its body and `Content-Type`, refused when it is
/// not HTML. [`extract`] then finds its text (CPU work: the daemon runs it on the blocking
/// pool).
pub async fn fetch_page(
    fetcher: &Fetcher,
    link: &str,
    limits: PageLimits,
) -> Result<(Vec<u8>, Option<String>), ArticleError> {
    let url = check_link(link, limits.allow_private)?;
    let allow_private = limits.allow_private;
    let (body, content_type) = fetcher
        .fetch_page(
            url,
            limits.timeout,
            limits.max_bytes,
            !allow_private,
            &|hop: &Url| check_link(hop.as_str(), allow_private).is_ok(),
        )
        .await?;
    if let Some(kind) = &content_type {
        let mime = kind
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if !mime.is_empty() && mime != "text/html" && mime != "application/xhtml+xml" {
            return Err(ArticleError::NotHtml(mime));
        }
    }
    Ok((body, content_type))
}

/// The main text of an HTML page (`url` resolves its relative links): what a reader view shows,
/// as plain text.
pub fn extract(body: &[u8], content_type: Option<&str>, url: &str) -> Result<String, ArticleError> {
    let html = decode(body, content_type);
    if super::text::nesting_exceeds(&html, MAX_PAGE_NESTING) {
        return Err(ArticleError::TooDeep);
    }
    let config = dom_smoothie::Config {
        max_elements_to_parse: MAX_ELEMENTS,
        // Paragraph breaks kept: a phrase never runs from one paragraph into the next.
        text_mode: dom_smoothie::TextMode::Formatted,
        ..dom_smoothie::Config::default()
    };
    let base = Url::parse(url).ok().map(|u| u.to_string());
    let mut readability = dom_smoothie::Readability::new(html, base.as_deref(), Some(config))
        .map_err(|e| ArticleError::Extract(e.to_string()))?;
    let article = readability
        .parse()
        .map_err(|e| ArticleError::Extract(e.to_string()))?;
    let text = super::text::fold_whitespace(&article.text_content);
    if text.is_empty() {
        return Err(ArticleError::Extract("the page has no text".into()));
    }
    Ok(cut(text, MAX_ARTICLE_CHARS))
}

fn cut(mut text: String, max_chars: usize) -> String {
    if let Some((at, _)) = text.char_indices().nth(max_chars) {
        text.truncate(at);
    }
    text
}

/// The page as text: the charset of `Content-Type`, else of a `<meta>` in the first KiB, else
/// UTF-8; bytes that do not decode become U+FFFD (a page is read, not re-served).
fn decode(body: &[u8], content_type: Option<&str>) -> String {
    let declared = content_type
        .and_then(charset_param)
        .or_else(|| meta_charset(&body[..body.len().min(1024)]));
    let encoding = declared
        .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    let (text, _, _) = encoding.decode(body);
    text.into_owned()
}

fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// `<meta charset="…">` or `<meta http-equiv=… content="text/html; charset=…">`.
fn meta_charset(head: &[u8]) -> Option<String> {
    let head = String::from_utf8_lossy(head).to_ascii_lowercase();
    let at = head.find("charset=")? + "charset=".len();
    let value: String = head[at..]
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
        .collect();
    (!value.is_empty()).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_http_links_unless_the_feed_is_local() {
        assert!(check_link("https://news.example.org/a", false).is_ok());
        for link in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "ftp://news.example.org/a",
        ] {
            assert!(
                matches!(check_link(link, true), Err(ArticleError::Scheme)),
                "{link}"
            );
        }
        for link in [
            "http://127.0.0.1:8080/a",
            "http://localhost/a",
            "http://10.1.2.3/a",
            "http://192.168.0.1/a",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/a",
            "http://[fd00::1]/a",
            "http://[::ffff:127.0.0.1]/a",
            "http://0.0.0.0/a",
            "http://100.64.0.1/a",
        ] {
            assert!(
                matches!(check_link(link, false), Err(ArticleError::Private)),
                "{link}"
            );
            assert!(check_link(link, true).is_ok(), "{link}");
        }
        assert!(is_local_feed("file:///srv/feed.xml"));
        assert!(is_local_feed("http://127.0.0.1:9000/feed"));
        assert!(!is_local_feed("https://news.example.org/rss"));
    }

    #[test]
    fn the_main_text_without_the_page_around_it() {
        let page = br#"<!doctype html><html><head><meta charset="windows-1252"><title>Harbour Gazette</title></head>
<body><nav><a href="/">Home</a> <a href="/sport">Sport</a> <a href="/weather">Weather</a></nav>
<article><h1>Ferry line to reopen</h1>
<p>The island ferry will run again from Monday, the harbour board said on Tuesday, after a winter of repairs to the northern quay.</p>
<p>Board members said the quay had been rebuilt with funds from the regional development office, and that timetables would follow the summer pattern until the end of September.</p>
<p>Fares are unchanged. Caf@ service on board resumes in May, the operator added, once the galley refit is complete and inspected.</p>
</article><footer>Copyright Harbour Gazette. Subscribe to our newsletter.</footer></body></html>"#;
        // "Café" in windows-1252: é is the single byte 0xE9.
        let page: Vec<u8> = page
            .iter()
            .map(|&b| if b == b'@' { 0xe9 } else { b })
            .collect();
        let text = extract(&page, None, "https://gazette.example/ferry").unwrap();
        assert!(text.contains("regional development office"), "{text}");
        assert!(
            text.contains("Café service"),
            "windows-1252 decoded: {text}"
        );
        assert!(!text.contains("Subscribe"), "footer left out: {text}");
    }

    #[test]
    fn hostile_pages_give_no_text_rather_than_trouble() {
        let deep = "<div>".repeat(50_000);
        assert!(matches!(
            extract(deep.as_bytes(), None, "https://x.example/"),
            Err(ArticleError::TooDeep)
        ));
        // Just under the limit: read, on a test thread's 2 MiB stack like the blocking pool's.
        let nested = format!(
            "{}<p>{}</p>{}",
            "<div>".repeat(MAX_PAGE_NESTING - 10),
            "The quay reopened on Monday after a winter of repairs. ".repeat(20),
            "</div>".repeat(MAX_PAGE_NESTING - 10)
        );
        let text = extract(nested.as_bytes(), None, "https://x.example/").unwrap_or_default();
        assert!(text.contains("quay reopened"), "{text}");
        let long = format!("<p>{}</p>", "word ".repeat(100_000));
        let text = extract(long.as_bytes(), None, "https://x.example/").unwrap_or_default();
        assert!(text.chars().count() <= MAX_ARTICLE_CHARS);
    }
}
