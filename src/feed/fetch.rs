//! Getting feed bytes: http(s) through one shared reqwest client, `file://` from disk.
//!
//! Every failure becomes a [`FetchError`] whose Display is one line a user can act on and never
//! contains a whole URL (feed URLs can carry tokens in their query or userinfo).

use std::error::Error as _;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{
    CACHE_CONTROL, CONTENT_TYPE, ETAG, EXPIRES, HeaderMap, HeaderValue, IF_MODIFIED_SINCE,
    IF_NONE_MATCH, LAST_MODIFIED, LOCATION, RETRY_AFTER,
};
use url::Url;

use crate::text::redact_url;

/// Default cap on a feed body (after decompression): big feeds are a few MiB.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 10 * 1024 * 1024;
/// Default time allowed for a whole fetch, from connecting to the last body byte.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Time allowed to establish a connection: a host that does not answer within this is down, and
/// failing fast leaves the rest of `timeout` unused rather than wasted.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest silence allowed while waiting for the response or the next body bytes.
pub const READ_TIMEOUT: Duration = Duration::from_secs(20);
/// Feeds move (http → https, new paths); longer chains are loops or abuse.
pub const MAX_REDIRECTS: usize = 5;

/// Bounds on one fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchLimits {
    /// Whole-request timeout: connect, headers, every redirect and the body. A server
    /// trickling one byte at a time hits this one.
    pub timeout: Duration,
    /// Time allowed to establish a connection.
    pub connect_timeout: Duration,
    /// Longest silence between two reads.
    pub read_timeout: Duration,
    /// Largest accepted body, counted after gzip/brotli decoding so that a small compressed body
    /// cannot expand without bound.
    pub max_body_bytes: u64,
}

impl Default for FetchLimits {
    fn default() -> Self {
        FetchLimits {
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: CONNECT_TIMEOUT,
            read_timeout: READ_TIMEOUT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

/// Cache validators from an earlier response, for a conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// Result of a conditional fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// The server answered 304: the feed is unchanged since the given validators.
    NotModified(ResponseInfo),
    /// A new body, with the validators to send next time.
    Fetched {
        body: Vec<u8>,
        validators: Validators,
        info: ResponseInfo,
    },
}

impl FetchOutcome {
    pub fn info(&self) -> &ResponseInfo {
        match self {
            FetchOutcome::NotModified(info) | FetchOutcome::Fetched { info, .. } => info,
        }
    }
}

/// What the response said besides its body: for the schedule, the feeds view and the parser.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseInfo {
    /// The final status (`None` for `file://`).
    pub status: Option<u16>,
    /// Where the feed now lives, when every redirect on the way was permanent (301/308): the
    /// user should update the configured URL.
    pub moved_to: Option<String>,
    /// How long the server says the response stays fresh (`Cache-Control: max-age`, else
    /// `Expires`): a lower bound on the next poll.
    pub fresh_for: Option<Duration>,
    /// The `Content-Type` header, whose `charset` parameter decides how the body is decoded.
    pub content_type: Option<String>,
}

/// Why a fetch failed. Display is one line; URLs in it are redacted.
#[derive(thiserror::Error, Debug)]
pub enum FetchError {
    #[error("invalid URL {url}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("unsupported URL scheme \"{scheme}\" (use http, https or file)")]
    UnsupportedScheme { scheme: String },
    /// A non-2xx final status. `retry_after` is the server's `Retry-After`, if any (429, 503).
    #[error("HTTP {}", describe_status(*.status))]
    Http {
        status: StatusCode,
        retry_after: Option<Duration>,
    },
    #[error("cannot read {}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("timed out after {}", humantime::format_duration(*.after))]
    Timeout { after: Duration },
    /// The server went silent mid-response for longer than the read timeout.
    #[error("no data from the server for {}", humantime::format_duration(*.after))]
    Stalled { after: Duration },
    #[error("bad redirect: {reason}")]
    BadRedirect { reason: String },
    #[error("cannot connect: {message}")]
    Connect { message: String },
    /// The server accepted the connection and closed it without answering (or reset it).
    #[error("connection closed before a response")]
    ConnectionClosed,
    #[error("too many redirects (more than {limit})")]
    TooManyRedirects { limit: usize },
    #[error("body larger than {}", describe_size(*.limit))]
    TooLarge { limit: u64 },
    /// The body arrived but its gzip/brotli encoding was corrupt.
    #[error("cannot decode the response body: {message}")]
    Decode { message: String },
    /// Any other transport failure (TLS, protocol errors, a connection lost mid-body).
    #[error("network error: {message}")]
    Network { message: String },
    #[error("cannot set up the HTTP client: {message}")]
    Client { message: String },
}

impl FetchError {
    /// True for failures that may go away by themselves (worth a retry with backoff), false for
    /// those that need someone to fix the URL, the file or the configuration.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Http { status, .. } => {
                status.is_server_error()
                    || *status == StatusCode::TOO_MANY_REQUESTS
                    || *status == StatusCode::REQUEST_TIMEOUT
            }
            FetchError::Timeout { .. }
            | FetchError::Stalled { .. }
            | FetchError::Connect { .. }
            | FetchError::ConnectionClosed
            | FetchError::Network { .. } => true,
            FetchError::InvalidUrl { .. }
            | FetchError::UnsupportedScheme { .. }
            | FetchError::Io { .. }
            | FetchError::TooManyRedirects { .. }
            | FetchError::BadRedirect { .. }
            | FetchError::TooLarge { .. }
            | FetchError::Decode { .. }
            | FetchError::Client { .. } => false,
        }
    }
}

/// Fetches feed bodies. Cheap to clone: clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    /// For pages a feed from the internet links to: its resolver drops local and private
    /// addresses, so a public name that resolves to one (DNS rebinding, or a name pointed at
    /// 127.0.0.1 on purpose) is refused where the connection is made, not only by its name.
    public_client: reqwest::Client,
    limits: FetchLimits,
}

impl Fetcher {
    pub fn new(user_agent: &str, limits: FetchLimits) -> Result<Fetcher, FetchError> {
        let builder = || {
            reqwest::Client::builder()
                .user_agent(user_agent)
                .gzip(true)
                .brotli(true)
                // Redirects are followed by hand (`fetch_http`) to learn whether every hop was
                // permanent, which reqwest's policy cannot report back.
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(limits.connect_timeout)
                .read_timeout(limits.read_timeout)
        };
        let built = |result: reqwest::Result<reqwest::Client>| {
            result.map_err(|e| FetchError::Client {
                message: root_cause(&e.without_url()),
            })
        };
        let client = built(builder().build())?;
        let public_client = built(
            builder()
                .dns_resolver(std::sync::Arc::new(super::public::PublicOnly))
                // A proxy would resolve the name itself, past the resolver's check.
                .no_proxy()
                .build(),
        )?;
        Ok(Fetcher {
            client,
            public_client,
            limits,
        })
    }

    pub fn limits(&self) -> FetchLimits {
        self.limits
    }

    /// Fetches `url` and returns its body.
    ///
    /// `http(s)://` goes through the HTTP client (only 2xx succeeds); `file:///abs/path.xml`
    /// reads the file, which is handy for tests and for feeds produced by local scripts.
    pub async fn fetch(&self, url: &str) -> Result<Vec<u8>, FetchError> {
        match self.fetch_conditional(url, &Validators::default()).await? {
            FetchOutcome::Fetched { body, .. } => Ok(body),
            // We sent no validators, so a 304 is the server misbehaving.
            FetchOutcome::NotModified(_) => Err(FetchError::Http {
                status: StatusCode::NOT_MODIFIED,
                retry_after: None,
            }),
        }
    }

    /// Like [`Fetcher::fetch`], but sends `If-None-Match`/`If-Modified-Since` from `validators`
    /// so an unchanged feed costs the server (and us) a 304 instead of the whole body.
    pub async fn fetch_conditional(
        &self,
        url: &str,
        validators: &Validators,
    ) -> Result<FetchOutcome, FetchError> {
        let parsed = Url::parse(url.trim()).map_err(|e| FetchError::InvalidUrl {
            url: redact_url(url),
            reason: e.to_string(),
        })?;
        match parsed.scheme() {
            "http" | "https" => {
                // The whole fetch, redirects and body included, within one deadline: reqwest's
                // own timeout restarts with every redirect.
                let total = self.limits.timeout;
                let fetch = self.fetch_http(
                    &self.client,
                    parsed,
                    validators,
                    self.limits.max_body_bytes,
                    &|_| true,
                );
                match tokio::time::timeout(total, fetch).await {
                    Ok(result) => result,
                    Err(_) => Err(FetchError::Timeout { after: total }),
                }
            }
            "file" => {
                let body = self.read_file(&parsed).await?;
                Ok(FetchOutcome::Fetched {
                    body,
                    validators: Validators::default(),
                    info: ResponseInfo::default(),
                })
            }
            other => Err(FetchError::UnsupportedScheme {
                scheme: other.to_owned(),
            }),
        }
    }

    /// One web page (an item's article), not a feed: GET `url` within its own `timeout` and
    /// `max_bytes`, with the client's user agent, connect and read timeouts, and redirects
    /// checked hop by hop (`may_visit` refuses a redirect to a host the page may not lead to).
    /// Returns the body and its `Content-Type`. With `public_only`, names that resolve only
    /// to local or private addresses are refused when the connection is made.
    pub async fn fetch_page(
        &self,
        url: Url,
        timeout: Duration,
        max_bytes: u64,
        public_only: bool,
        may_visit: &(dyn Fn(&Url) -> bool + Sync),
    ) -> Result<(Vec<u8>, Option<String>), FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::UnsupportedScheme {
                scheme: url.scheme().to_owned(),
            });
        }
        let none = Validators::default();
        let client = if public_only {
            &self.public_client
        } else {
            &self.client
        };
        let fetch = self.fetch_http(client, url, &none, max_bytes, may_visit);
        match tokio::time::timeout(timeout, fetch).await {
            Ok(Ok(FetchOutcome::Fetched { body, info, .. })) => Ok((body, info.content_type)),
            Ok(Ok(FetchOutcome::NotModified(_))) => Err(FetchError::Http {
                status: StatusCode::NOT_MODIFIED,
                retry_after: None,
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(FetchError::Timeout { after: timeout }),
        }
    }

    async fn fetch_http(
        &self,
        client: &reqwest::Client,
        url: Url,
        validators: &Validators,
        body_limit: u64,
        may_visit: &(dyn Fn(&Url) -> bool + Sync),
    ) -> Result<FetchOutcome, FetchError> {
        let secret_url = url.to_string();
        let limits = FetchLimits {
            max_body_bytes: body_limit,
            ..self.limits
        };
        let classify =
            |e: reqwest::Error, stage: Stage| scrub(classify(e, stage, limits), &secret_url);

        let mut headers = HeaderMap::new();
        // Validators come from earlier responses; one that is not a valid header value is
        // simply not sent.
        if let Some(v) = validators.etag.as_deref().and_then(header_value) {
            headers.insert(IF_NONE_MATCH, v);
        }
        if let Some(v) = validators.last_modified.as_deref().and_then(header_value) {
            headers.insert(IF_MODIFIED_SINCE, v);
        }

        let mut current = url;
        let mut redirects = 0;
        let mut all_permanent = true;
        let mut response = loop {
            let response = client
                .get(current.clone())
                .headers(headers.clone())
                .send()
                .await
                .map_err(|e| classify(e, Stage::Request))?;
            let status = response.status();
            if !status.is_redirection() || status == StatusCode::NOT_MODIFIED {
                break response;
            }
            let Some(location) = header_string(response.headers(), LOCATION) else {
                return Err(FetchError::BadRedirect {
                    reason: format!("HTTP {} without a Location header", status.as_u16()),
                });
            };
            redirects += 1;
            if redirects > MAX_REDIRECTS {
                return Err(FetchError::TooManyRedirects {
                    limit: MAX_REDIRECTS,
                });
            }
            let next = current
                .join(location.trim())
                .map_err(|e| FetchError::BadRedirect {
                    reason: format!("invalid Location ({e})"),
                })?;
            if !matches!(next.scheme(), "http" | "https") {
                return Err(FetchError::BadRedirect {
                    reason: format!("redirect to an unsupported scheme \"{}\"", next.scheme()),
                });
            }
            if !may_visit(&next) {
                return Err(FetchError::BadRedirect {
                    reason: "redirect to a local or private address".to_owned(),
                });
            }
            all_permanent &= matches!(
                status,
                StatusCode::MOVED_PERMANENTLY | StatusCode::PERMANENT_REDIRECT
            );
            current = next;
        };

        let status = response.status();
        let info = ResponseInfo {
            status: Some(status.as_u16()),
            moved_to: (redirects > 0 && all_permanent).then(|| current.to_string()),
            fresh_for: freshness(response.headers()),
            content_type: header_string(response.headers(), CONTENT_TYPE),
        };
        if status == StatusCode::NOT_MODIFIED {
            return Ok(FetchOutcome::NotModified(info));
        }
        if !status.is_success() {
            return Err(FetchError::Http {
                status,
                retry_after: retry_after(response.headers()),
            });
        }

        let limit = limits.max_body_bytes;
        // Content-Length is the encoded size; refusing early saves downloading a body we would
        // throw away. reqwest hides it when it decodes, and then the streamed count decides.
        if response.content_length().is_some_and(|len| len > limit) {
            return Err(FetchError::TooLarge { limit });
        }
        let new_validators = Validators {
            etag: header_string(response.headers(), ETAG),
            last_modified: header_string(response.headers(), LAST_MODIFIED),
        };

        let mut body = Vec::new();
        // The chunks are already decompressed, so this counts decoded bytes: a gzip bomb stops
        // at the limit instead of filling memory.
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| classify(e, Stage::Body))?
        {
            if (body.len() as u64).saturating_add(chunk.len() as u64) > limit {
                return Err(FetchError::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(FetchOutcome::Fetched {
            body,
            validators: new_validators,
            info,
        })
    }

    async fn read_file(&self, url: &Url) -> Result<Vec<u8>, FetchError> {
        let path = url.to_file_path().map_err(|()| FetchError::InvalidUrl {
            url: redact_url(url.as_str()),
            reason: "a file URL must hold an absolute local path (file:///path/to/feed.xml)"
                .to_owned(),
        })?;
        let io_error = |source| FetchError::Io {
            path: path.clone(),
            source,
        };
        let limit = self.limits.max_body_bytes;
        let metadata = tokio::fs::metadata(&path).await.map_err(io_error)?;
        if metadata.is_file() && metadata.len() > limit {
            return Err(FetchError::TooLarge { limit });
        }
        let body = tokio::fs::read(&path).await.map_err(io_error)?;
        // The file may have grown between the two calls.
        if body.len() as u64 > limit {
            return Err(FetchError::TooLarge { limit });
        }
        Ok(body)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Sending the request and waiting for the response head.
    Request,
    /// Streaming the body.
    Body,
}

fn classify(error: reqwest::Error, stage: Stage, limits: FetchLimits) -> FetchError {
    // Belt and braces: reqwest puts the URL into its own Display, and we never want that.
    let error = error.without_url();
    if error.is_redirect() {
        return FetchError::TooManyRedirects {
            limit: MAX_REDIRECTS,
        };
    }
    if error.is_connect() {
        let message = if error.is_timeout() {
            format!(
                "timed out after {}",
                humantime::format_duration(limits.connect_timeout)
            )
        } else {
            root_cause(&error)
        };
        return FetchError::Connect { message };
    }
    if error.is_timeout() {
        // Not the connect timeout (handled above). The whole-fetch deadline is enforced around
        // the fetch, so one inside it is the read timeout: the server went quiet.
        return FetchError::Stalled {
            after: limits.read_timeout,
        };
    }
    if error.is_decode() {
        return FetchError::Decode {
            message: root_cause(&error),
        };
    }
    if closed_early(&error) {
        return match stage {
            Stage::Request => FetchError::ConnectionClosed,
            Stage::Body => FetchError::Network {
                message: "connection closed before the body was complete".to_owned(),
            },
        };
    }
    FetchError::Network {
        message: root_cause(&error),
    }
}

/// Whether the peer hung up (EOF or reset) rather than failing in some other way.
fn closed_early(error: &reqwest::Error) -> bool {
    let mut source = error.source();
    while let Some(err) = source {
        if let Some(hyper_error) = err.downcast_ref::<hyper::Error>()
            && hyper_error.is_incomplete_message()
        {
            return true;
        }
        if let Some(io_error) = err.downcast_ref::<io::Error>()
            && matches!(
                io_error.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::UnexpectedEof
            )
        {
            return true;
        }
        source = err.source();
    }
    false
}

/// The innermost error's message: the layers above it ("error sending request", "client error
/// (Connect)") add words but no information.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    let message = current.to_string();
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Replaces any appearance of the full URL in an error message with its redacted form.
fn scrub(error: FetchError, secret_url: &str) -> FetchError {
    let clean = |message: String| {
        if message.contains(secret_url) {
            message.replace(secret_url, &redact_url(secret_url))
        } else {
            message
        }
    };
    match error {
        FetchError::Connect { message } => FetchError::Connect {
            message: clean(message),
        },
        FetchError::Decode { message } => FetchError::Decode {
            message: clean(message),
        },
        FetchError::Network { message } => FetchError::Network {
            message: clean(message),
        },
        other => other,
    }
}

fn header_value(value: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(value).ok()
}

fn header_string(headers: &HeaderMap, name: reqwest::header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// How long the response may be cached: `Cache-Control: max-age` (which wins), else `Expires`
/// relative to now. `no-store`/`no-cache` give no lower bound.
fn freshness(headers: &HeaderMap) -> Option<Duration> {
    if let Some(cache_control) = headers.get(CACHE_CONTROL).and_then(|v| v.to_str().ok()) {
        let mut max_age = None;
        for directive in cache_control.split(',') {
            let directive = directive.trim().to_ascii_lowercase();
            if directive == "no-store" || directive == "no-cache" {
                return None;
            }
            if let Some(value) = directive.strip_prefix("max-age=") {
                max_age = value.trim_matches('"').parse::<u64>().ok();
            }
        }
        if let Some(seconds) = max_age {
            return Some(Duration::from_secs(seconds));
        }
    }
    let expires = headers.get(EXPIRES)?.to_str().ok()?.trim();
    let date = chrono::DateTime::parse_from_rfc2822(expires).ok()?;
    date.signed_duration_since(chrono::Utc::now()).to_std().ok()
}

/// `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3); a date in the past is 0.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let delta = date.signed_duration_since(chrono::Utc::now());
    Some(delta.to_std().unwrap_or(Duration::ZERO))
}

fn describe_status(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// Sizes as people write limits: "10 MiB", "512 KiB", "1000 bytes".
fn describe_size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Write};
    use std::net::TcpListener;

    use tiny_http::{Header, Response, Server};

    const FEED: &str = r#"<rss version="2.0"><channel><title>t</title></channel></rss>"#;

    fn fetcher(limits: FetchLimits) -> Fetcher {
        match Fetcher::new("watchword-test/0.1", limits) {
            Ok(f) => f,
            Err(e) => panic!("client: {e}"),
        }
    }

    fn small_limits() -> FetchLimits {
        FetchLimits {
            timeout: Duration::from_secs(5),
            max_body_bytes: 1024,
            ..FetchLimits::default()
        }
    }

    fn header(name: &str, value: &str) -> Header {
        match Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            Ok(h) => h,
            Err(()) => panic!("bad header {name}"),
        }
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    /// Serves a few fixed routes on 127.0.0.1 from a background thread; returns the base URL.
    fn start_server() -> String {
        let server = Server::http("127.0.0.1:0").unwrap();
        let base = format!("http://{}", server.server_addr().to_ip().unwrap());
        std::thread::spawn(move || {
            for request in server.incoming_requests() {
                let url = request.url().to_owned();
                let ua = request
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("User-Agent"))
                    .map(|h| h.value.to_string())
                    .unwrap_or_default();
                let if_none_match = request
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("If-None-Match"))
                    .map(|h| h.value.to_string());
                let response = match url.as_str() {
                    "/feed.xml?token=s3cret" | "/feed.xml" => {
                        if if_none_match.as_deref() == Some("\"v1\"") {
                            Response::from_data(Vec::new()).with_status_code(304)
                        } else {
                            Response::from_string(FEED).with_header(header("ETag", "\"v1\""))
                        }
                    }
                    "/ua" => Response::from_string(ua),
                    "/big" => {
                        Response::from_data(vec![b'x'; 4096]).with_chunked_threshold(usize::MAX)
                    }
                    "/big-chunked" => {
                        Response::from_data(vec![b'x'; 4096]).with_chunked_threshold(0)
                    }
                    "/lying-length" => Response::new(
                        200.into(),
                        vec![],
                        Cursor::new(b"tiny".to_vec()),
                        Some(50 * 1024 * 1024),
                        None,
                    )
                    .with_chunked_threshold(usize::MAX),
                    "/gzip" => Response::from_data(gzip(FEED.as_bytes()))
                        .with_header(header("Content-Encoding", "gzip")),
                    "/gzip-bomb" => Response::from_data(gzip(&vec![b' '; 1024 * 1024]))
                        .with_header(header("Content-Encoding", "gzip")),
                    "/moved" => Response::from_data(Vec::new())
                        .with_status_code(301)
                        .with_header(header("Location", "/feed.xml")),
                    "/loop" => Response::from_data(Vec::new())
                        .with_status_code(302)
                        .with_header(header("Location", "/loop")),
                    "/busy" => Response::from_string("slow down")
                        .with_status_code(429)
                        .with_header(header("Retry-After", "120")),
                    _ => Response::from_string("nope").with_status_code(404),
                };
                let _ = request.respond(response);
            }
        });
        base
    }

    #[tokio::test]
    async fn ok_body_and_user_agent() {
        let base = start_server();
        let f = fetcher(small_limits());
        assert_eq!(
            f.fetch(&format!("{base}/feed.xml")).await.unwrap(),
            FEED.as_bytes()
        );
        let outcome = f
            .fetch_conditional(&format!("{base}/feed.xml"), &Validators::default())
            .await
            .unwrap();
        let FetchOutcome::Fetched { validators, .. } = outcome else {
            panic!("expected a body");
        };
        assert_eq!(validators.etag.as_deref(), Some("\"v1\""));
        assert_eq!(
            f.fetch(&format!("{base}/ua")).await.unwrap(),
            b"watchword-test/0.1"
        );
    }

    #[tokio::test]
    async fn conditional_get_gets_not_modified() {
        let base = start_server();
        let validators = Validators {
            etag: Some("\"v1\"".to_owned()),
            last_modified: None,
        };
        let outcome = fetcher(small_limits())
            .fetch_conditional(&format!("{base}/feed.xml"), &validators)
            .await
            .unwrap();
        assert!(
            matches!(outcome, FetchOutcome::NotModified(_)),
            "{outcome:?}"
        );
    }

    #[tokio::test]
    async fn not_found_is_an_http_error() {
        let base = start_server();
        let err = fetcher(small_limits())
            .fetch(&format!("{base}/missing?api_key=s3cret"))
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::Http { status, .. } if status == StatusCode::NOT_FOUND));
        assert_eq!(err.to_string(), "HTTP 404 Not Found");
        assert!(!err.is_transient());
    }

    #[tokio::test]
    async fn too_many_requests_carries_retry_after() {
        let base = start_server();
        let err = fetcher(small_limits())
            .fetch(&format!("{base}/busy"))
            .await
            .unwrap_err();
        assert!(matches!(
            err,
            FetchError::Http { retry_after: Some(d), .. } if d == Duration::from_secs(120)
        ));
        assert_eq!(err.to_string(), "HTTP 429 Too Many Requests");
        assert!(err.is_transient());
    }

    #[tokio::test]
    async fn bodies_over_the_cap_are_refused() {
        let base = start_server();
        let f = fetcher(small_limits());
        for path in ["/big", "/big-chunked", "/lying-length"] {
            let err = f.fetch(&format!("{base}{path}")).await.unwrap_err();
            assert!(
                matches!(err, FetchError::TooLarge { limit: 1024 }),
                "{path}: {err}"
            );
            assert_eq!(err.to_string(), "body larger than 1 KiB");
        }
    }

    #[tokio::test]
    async fn gzip_is_decoded_and_capped_after_decoding() {
        let base = start_server();
        let f = fetcher(small_limits());
        assert_eq!(
            f.fetch(&format!("{base}/gzip")).await.unwrap(),
            FEED.as_bytes()
        );
        let err = f.fetch(&format!("{base}/gzip-bomb")).await.unwrap_err();
        assert!(matches!(err, FetchError::TooLarge { .. }), "{err}");
    }

    #[tokio::test]
    async fn redirects_are_followed_but_limited() {
        let base = start_server();
        let f = fetcher(small_limits());
        assert_eq!(
            f.fetch(&format!("{base}/moved")).await.unwrap(),
            FEED.as_bytes()
        );
        let err = f.fetch(&format!("{base}/loop")).await.unwrap_err();
        assert!(
            matches!(err, FetchError::TooManyRedirects { limit: 5 }),
            "{err}"
        );
    }

    #[tokio::test]
    async fn connection_closed_without_response() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(4) {
                drop(stream);
            }
        });
        let err = fetcher(small_limits())
            .fetch(&format!("http://user:pw@{addr}/feed?token=s3cret"))
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::ConnectionClosed), "{err:?}");
        assert_eq!(err.to_string(), "connection closed before a response");
    }

    #[tokio::test]
    async fn silent_server_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let held: Vec<_> = listener.incoming().take(1).collect();
            std::thread::sleep(Duration::from_secs(3));
            drop(held);
        });
        let limits = FetchLimits {
            timeout: Duration::from_millis(300),
            ..small_limits()
        };
        let err = fetcher(limits)
            .fetch(&format!("http://{addr}/feed"))
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::Timeout { .. }), "{err:?}");
        assert_eq!(err.to_string(), "timed out after 300ms");
    }

    #[tokio::test]
    async fn refused_connection_is_a_connect_error_without_secrets() {
        // Bind then drop to get a port nobody listens on.
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let err = fetcher(small_limits())
            .fetch(&format!("http://user:hunter2@{addr}/feed?token=s3cret"))
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::Connect { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            !text.contains("s3cret") && !text.contains("hunter2"),
            "{text}"
        );
        assert!(!text.contains('\n'));
    }

    #[tokio::test]
    async fn file_urls_are_read_from_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feed.xml");
        std::fs::write(&path, FEED).unwrap();
        let url = Url::from_file_path(&path).unwrap();
        let f = fetcher(small_limits());
        assert_eq!(f.fetch(url.as_str()).await.unwrap(), FEED.as_bytes());

        std::fs::write(&path, vec![b'x'; 2048]).unwrap();
        let err = f.fetch(url.as_str()).await.unwrap_err();
        assert!(matches!(err, FetchError::TooLarge { .. }), "{err}");
    }

    #[tokio::test]
    async fn missing_file_is_an_io_error() {
        let f = fetcher(small_limits());
        let err = f
            .fetch("file:///nonexistent/watchword/feed.xml")
            .await
            .unwrap_err();
        assert!(matches!(err, FetchError::Io { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.starts_with("cannot read /nonexistent/watchword/feed.xml: No such file"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn bad_urls_and_schemes() {
        let f = fetcher(small_limits());
        let err = f.fetch("ftp://example.com/feed.xml").await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported URL scheme \"ftp\" (use http, https or file)"
        );
        let err = f.fetch("not a url?key=s3cret").await.unwrap_err();
        assert!(matches!(err, FetchError::InvalidUrl { .. }));
        assert!(!err.to_string().contains("s3cret"), "{err}");
        let err = f.fetch("file://server/share/feed.xml").await.unwrap_err();
        assert!(matches!(err, FetchError::InvalidUrl { .. }), "{err}");
    }

    #[test]
    fn invalid_user_agent_is_a_client_error() {
        let err = Fetcher::new("bad\nagent", FetchLimits::default()).unwrap_err();
        assert!(matches!(err, FetchError::Client { .. }), "{err:?}");
    }

    #[test]
    fn sizes_and_statuses_read_naturally() {
        assert_eq!(describe_size(DEFAULT_MAX_BODY_BYTES), "10 MiB");
        assert_eq!(describe_size(1000), "1000 bytes");
        assert_eq!(
            FetchError::TooLarge {
                limit: 10 * 1024 * 1024
            }
            .to_string(),
            "body larger than 10 MiB"
        );
        assert_eq!(
            FetchError::Timeout {
                after: Duration::from_secs(30)
            }
            .to_string(),
            "timed out after 30s"
        );
        assert_eq!(describe_status(StatusCode::from_u16(599).unwrap()), "599");
    }
}
