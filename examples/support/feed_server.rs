//! The benchmarks' feed server: `/feed/N.xml` with `items` items each, an ETag per feed and
//! version, `304` on a match. A minimal HTTP/1.1 server on std, one thread per connection,
//! keep-alive. (tiny_http, used by the tests, left a few requests in 5,000 unanswered under
//! this load, which measured its stall, not watchword.)
//!
//! With a [`Churn`], every feed gains one new item per `every` (feeds staggered over it), so a
//! long run sees `200`s with new items among the `304`s, as real feeds do; one item in
//! `match_every` of each feed matches the rule, each a story of its own (words of their own),
//! so they raise alerts at a steady rate rather than join one story. Every request of a feed is logged with its time, for counting polls and
//! duplicate fetches.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request of `/feed/N.xml`: which feed, when, and whether it was answered `200`.
#[derive(Debug, Clone, Copy)]
pub struct Fetch {
    pub feed: usize,
    pub at: Instant,
    pub full: bool,
}

/// How the feeds change over time.
#[derive(Debug, Clone, Copy)]
pub struct Churn {
    /// Each feed gains one item this often.
    pub every: Duration,
    /// One item in this many matches the rule.
    pub match_every: usize,
}

pub struct FeedServer {
    pub base: String,
    fetches: Arc<Mutex<Vec<Fetch>>>,
}

impl FeedServer {
    /// Serves `items` items per feed, the same forever (`churn` = None: one item in a hundred
    /// matches, all alike) or changing as `churn` says.
    pub fn start(items: usize, churn: Option<Churn>) -> FeedServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let fetches: Arc<Mutex<Vec<Fetch>>> = Arc::default();
        let shared = Arc::new(Shared {
            items,
            churn,
            started: Instant::now(),
            published: chrono::Utc::now().to_rfc2822(),
            fetches: Arc::clone(&fetches),
        });
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = Arc::clone(&shared);
                std::thread::spawn(move || connection(stream, &shared));
            }
        });
        FeedServer { base, fetches }
    }

    /// Every feed request so far, in arrival order.
    pub fn fetches(&self) -> Vec<Fetch> {
        self.fetches.lock().map(|f| f.clone()).unwrap_or_default()
    }
}

struct Shared {
    items: usize,
    churn: Option<Churn>,
    started: Instant,
    published: String,
    fetches: Arc<Mutex<Vec<Fetch>>>,
}

impl Shared {
    /// How many items `feed` has gained since the start (feeds staggered over one churn).
    fn version(&self, feed: usize) -> usize {
        let Some(churn) = self.churn else {
            return 0;
        };
        let churn_ms = churn.every.as_millis().max(1) as usize;
        let offset = (feed * 7919) % churn_ms;
        (self.started.elapsed().as_millis() as usize + offset) / churn_ms
    }
}

fn connection(stream: std::net::TcpStream, shared: &Shared) {
    use std::io::{BufRead, BufReader, Write};
    let _ = stream.set_nodelay(true);
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut writer = std::io::BufWriter::new(write_half);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_owned();
        let mut if_none_match = None;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("if-none-match")
            {
                if_none_match = Some(value.trim().to_owned());
            }
        }
        let feed = path
            .strip_prefix("/feed/")
            .and_then(|p| p.strip_suffix(".xml"))
            .and_then(|n| n.parse::<usize>().ok());
        let response = match feed {
            None => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_owned(),
            Some(feed) => {
                let version = shared.version(feed);
                let etag = format!("\"f{feed}-v{version}\"");
                let full = if_none_match.as_deref() != Some(etag.as_str());
                if let Ok(mut log) = shared.fetches.lock() {
                    log.push(Fetch {
                        feed,
                        at: Instant::now(),
                        full,
                    });
                }
                if full {
                    let body =
                        feed_xml(feed, shared.items, version, &shared.published, shared.churn);
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml; charset=utf-8\r\nETag: {etag}\r\nContent-Length: {}\r\n\r\n{body}",
                        body.len()
                    )
                } else {
                    format!(
                        "HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nContent-Length: 0\r\n\r\n"
                    )
                }
            }
        };
        if writer.write_all(response.as_bytes()).is_err() || writer.flush().is_err() {
            return;
        }
    }
}

/// A realistic item: title, link, a paragraph of summary; one item in a hundred matches the
/// rule. Version `v` lists items `v .. v + items` (newest first), so each version adds one.
fn feed_xml(
    feed: usize,
    items: usize,
    version: usize,
    published: &str,
    churn: Option<Churn>,
) -> String {
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<rss version=\"2.0\"><channel><title>Feed {feed}</title><link>https://news{feed}.example.org/</link><description>Load test feed</description>\n"
    );
    for item in (version..version + items).rev() {
        if let Some(churn) = churn {
            // Each feed's items match in turn, one in `match_every`, feeds out of phase.
            let every = churn.match_every.max(1);
            if !(feed * 7919 + item).is_multiple_of(every) {
                xml.push_str(&plain_item(feed, item, published, ROUTINE));
                continue;
            }
            let words = invented_words(feed * 1_000_000 + item, 12);
            xml.push_str(&format!(
                "<item><guid isPermaLink=\"false\">f{feed}-i{item}</guid>\
                 <title>Kazakhstan and the Abraham Accords: {}</title>\
                 <link>https://news{feed}.example.org/story/{item}</link><pubDate>{published}</pubDate>\
                 <description><![CDATA[<p>{} reported.</p>]]></description></item>\n",
                words[..6].join(" "),
                words[6..].join(" ")
            ));
            continue;
        }
        let topic = if (feed * items + item).is_multiple_of(100) {
            "Kazakhstan says it will join the Abraham Accords"
        } else {
            ROUTINE
        };
        xml.push_str(&plain_item(feed, item, published, topic));
    }
    xml.push_str("</channel></rss>\n");
    xml
}

const ROUTINE: &str = "Regional council approves the new budget for road repairs";

fn plain_item(feed: usize, item: usize, published: &str, topic: &str) -> String {
    format!(
        "<item><guid isPermaLink=\"false\">f{feed}-i{item}</guid><title>{topic} ({feed}/{item})</title>\
             <link>https://news{feed}.example.org/story/{item}?utm_source=rss</link>\
             <pubDate>{published}</pubDate>\
             <description><![CDATA[<p>{topic}. Officials said on Monday that the measure, debated for months, \
             would take effect next year after a final reading. Critics called it rushed.</p>]]></description></item>\n"
    )
}

/// `count` invented words unique to `n` (as in tests/common): reports that share only the
/// rule's terms stay distinct stories.
fn invented_words(n: usize, count: usize) -> Vec<String> {
    const SYLLABLES: [&str; 16] = [
        "ka", "lo", "mi", "ren", "tu", "sa", "vor", "el", "dan", "ish", "po", "gur", "ne", "zo",
        "bah", "qil",
    ];
    (0..count)
        .map(|k| {
            // Mixed so that neighbouring items share no syllable pattern.
            let i = (n * count + k).wrapping_mul(2_654_435_761) % (1 << 24);
            format!(
                "{}{}{}{}",
                SYLLABLES[i % 16],
                SYLLABLES[(i / 16) % 16],
                SYLLABLES[(i / 256) % 16],
                SYLLABLES[(i / 4096) % 16]
            )
        })
        .collect()
}
