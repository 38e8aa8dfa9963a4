//! Canonical links (so the same article reached through different tracking links dedups to one
//! URL) and URL redaction (so URLs, which can carry tokens, never reach logs whole).

use url::Url;

/// Query parameters that only identify the campaign or click that led to a page, never the
/// page itself. Compared case-insensitively; `utm_*` is handled as a prefix.
const TRACKING_PARAMS: &[&str] = &[
    "fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "_hsenc", "_hsmi",
    "yclid", "ref_src",
];

/// Extra query parameters to strip (`[daemon] strip_params`), on top of [`TRACKING_PARAMS`]
/// and `utm_*`: exact names, or prefixes written with a trailing `*` (`"pk_*"`). Compared
/// case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StripParams {
    exact: Vec<String>,
    prefixes: Vec<String>,
}

impl StripParams {
    /// Builds the set from names that passed [`StripParams::check`]; others are ignored.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> StripParams {
        let mut set = StripParams::default();
        for name in names {
            if Self::check(name).is_err() {
                continue;
            }
            let name = name.to_ascii_lowercase();
            match name.strip_suffix('*') {
                Some(prefix) => set.prefixes.push(prefix.to_owned()),
                None => set.exact.push(name),
            }
        }
        set
    }

    /// Whether `name` can be a `strip_params` entry: a query parameter name (ASCII letters,
    /// digits, `_ - . ~ [ ]`), optionally ending in `*` for a prefix. A bare `*` (every
    /// parameter) is refused: it would make different pages of a site one link.
    pub fn check(name: &str) -> Result<(), String> {
        let stem = name.strip_suffix('*').unwrap_or(name);
        if stem.is_empty() {
            return Err(if name.is_empty() {
                "an empty parameter name".into()
            } else {
                "a bare `*` would strip every parameter and merge different pages; give a prefix, e.g. \"pk_*\"".into()
            });
        }
        match stem
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "_-.~[]".contains(*c)))
        {
            Some('*') => Err("`*` is allowed only at the end, as a prefix (\"pk_*\")".into()),
            Some(c) => Err(format!(
                "{c:?} cannot be part of a query parameter name (allowed: ASCII letters, digits, _ - . ~ [ ], and a trailing * for a prefix)"
            )),
            None => Ok(()),
        }
    }

    fn strips(&self, lower_name: &str) -> bool {
        self.exact.iter().any(|n| n == lower_name)
            || self
                .prefixes
                .iter()
                .any(|p| lower_name.starts_with(p.as_str()))
    }
}

/// Returns the canonical form of an article link, or `None` if it cannot be parsed.
///
/// For http(s): scheme and host lower-cased, default port dropped, fragment dropped, tracking
/// parameters removed, remaining parameters sorted by name (stable, so repeated names keep their
/// order) and an empty `?` dropped. Other schemes are returned trimmed but otherwise untouched:
/// we do not know their equivalence rules.
pub fn canonical_link(url: &str) -> Option<String> {
    canonical_link_with(url, &StripParams::default())
}

/// [`canonical_link`], also stripping the configured `extra` parameters.
pub fn canonical_link_with(url: &str, extra: &StripParams) -> Option<String> {
    let trimmed = url.trim();
    let mut parsed = Url::parse(trimmed).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Some(trimmed.to_owned());
    }
    // `Url::parse` already lower-cases scheme and host and drops the scheme's default port.
    parsed.set_fragment(None);

    if let Some(query) = parsed.query() {
        // Work on the raw `name=value` pairs rather than decoding and re-encoding them:
        // re-encoding could change bytes the server cares about (`%20` vs `+`).
        let mut pairs: Vec<&str> = query
            .split('&')
            .filter(|pair| !pair.is_empty() && !is_tracking_param(param_name(pair), extra))
            .collect();
        pairs.sort_by(|a, b| param_name(a).cmp(param_name(b)));
        let new_query = pairs.join("&");
        if new_query.is_empty() {
            parsed.set_query(None);
        } else {
            parsed.set_query(Some(&new_query));
        }
    }
    Some(parsed.into())
}

fn param_name(pair: &str) -> &str {
    pair.split_once('=').map_or(pair, |(name, _)| name)
}

fn is_tracking_param(raw_name: &str, extra: &StripParams) -> bool {
    let name = raw_name.to_ascii_lowercase();
    name.starts_with("utm_") || TRACKING_PARAMS.contains(&name.as_str()) || extra.strips(&name)
}

/// Path segments kept by [`redact_url`]. Only the first: webhook URLs put their secret soon
/// after it (`/services/T…/B…/<secret>`, `/api/webhooks/<id>/<token>`, `/hook/<token>`, an
/// ntfy `/<topic>` that is itself the password), and the host plus the first segment is
/// enough for a person to tell which endpoint a log line means.
const REDACT_KEEP_SEGMENTS: usize = 1;
/// A kept segment longer than this looks like a token rather than a name, so it is elided too.
const REDACT_MAX_SEGMENT_LEN: usize = 24;

/// Returns a form of `url` that is safe to log: `scheme://host[:port]/path`, without userinfo,
/// query or fragment, and with the path cut to its first short segment (then `…`).
///
/// `file://` URLs keep their whole path (it carries no secret and is what the user needs to see).
/// Strings that do not parse as URLs get the same treatment on a best-effort textual basis.
pub fn redact_url(url: &str) -> String {
    let trimmed = url.trim();
    match Url::parse(trimmed) {
        Ok(parsed) => {
            let mut out = format!("{}://", parsed.scheme());
            if let Some(host) = parsed.host_str() {
                out.push_str(host);
            }
            if let Some(port) = parsed.port() {
                out.push_str(&format!(":{port}"));
            }
            if parsed.scheme() == "file" {
                out.push_str(parsed.path());
            } else if parsed.cannot_be_a_base() {
                // `mailto:…`, `data:…`: the whole remainder may be sensitive.
                out = format!("{}:…", parsed.scheme());
            } else {
                out.push_str(&elide_path(parsed.path()));
            }
            out
        }
        Err(_) => redact_unparsable(trimmed),
    }
}

/// The most of a secret-bearing URL (a webhook) that is safe to show: `scheme://host[:port]/…`.
/// Webhook tokens live in the path (Slack, Discord, ntfy topics) or the query (Teams `sig=`),
/// so none of either is kept.
pub fn url_origin(url: &str) -> String {
    match Url::parse(url.trim()) {
        Ok(parsed) if parsed.host_str().is_some() => {
            let mut out = format!("{}://{}", parsed.scheme(), parsed.host_str().unwrap_or(""));
            if let Some(port) = parsed.port() {
                out.push_str(&format!(":{port}"));
            }
            if parsed.path() != "/" || parsed.query().is_some() {
                out.push_str("/…");
            }
            out
        }
        _ => "(unparsable URL)".to_string(),
    }
}

fn elide_path(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let mut out = String::new();
    for (i, segment) in segments.iter().enumerate() {
        if i >= REDACT_KEEP_SEGMENTS || segment.chars().count() > REDACT_MAX_SEGMENT_LEN {
            out.push_str("/…");
            return out;
        }
        out.push('/');
        out.push_str(segment);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

fn redact_unparsable(text: &str) -> String {
    let without_query = text.split(['?', '#']).next().unwrap_or_default();
    let (scheme, rest) = match without_query.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, without_query),
    };
    // Without a parse we cannot tell where userinfo ends, so drop everything up to the last `@`.
    let rest = rest.rsplit_once('@').map_or(rest, |(_, after)| after);
    let (host, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let mut out = String::new();
    if let Some(scheme) = scheme {
        out.push_str(scheme);
        out.push_str("://");
    }
    out.push_str(host);
    if !path.is_empty() {
        out.push_str(&elide_path(path));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_lowercases_scheme_and_host_and_drops_default_port() {
        assert_eq!(
            canonical_link("HTTPS://News.Example.COM:443/World/Story").as_deref(),
            Some("https://news.example.com/World/Story")
        );
        assert_eq!(
            canonical_link("http://example.com:80/a").as_deref(),
            Some("http://example.com/a")
        );
        assert_eq!(
            canonical_link("http://example.com:8080/a").as_deref(),
            Some("http://example.com:8080/a")
        );
    }

    #[test]
    fn canonical_drops_fragment_and_tracking_params_and_sorts() {
        assert_eq!(
            canonical_link(
                "https://example.com/a?utm_source=rss&z=1&UTM_Medium=x&fbclid=abc&a=2&gclid=g#top"
            )
            .as_deref(),
            Some("https://example.com/a?a=2&z=1")
        );
        // Stable: repeated names keep their relative order.
        assert_eq!(
            canonical_link("https://example.com/?b=2&a=x&b=1&a=y").as_deref(),
            Some("https://example.com/?a=x&a=y&b=2&b=1")
        );
        // Encoding of what remains is preserved byte for byte.
        assert_eq!(
            canonical_link("https://example.com/s?q=a%20b+c&mc_eid=1").as_deref(),
            Some("https://example.com/s?q=a%20b+c")
        );
    }

    #[test]
    fn canonical_strips_configured_names_and_prefixes() {
        let extra = StripParams::new(["CMPID", "ref", "pk_*"]);
        assert_eq!(
            canonical_link_with(
                "https://example.com/a?id=7&cmpid=rss&Ref=home&pk_campaign=x&pk=1&referrer=y",
                &extra
            )
            .as_deref(),
            Some("https://example.com/a?id=7&pk=1&referrer=y")
        );
        // The built-in list still applies, and without extras nothing else is stripped.
        assert_eq!(
            canonical_link_with("https://example.com/a?utm_source=x&cmpid=1", &extra).as_deref(),
            Some("https://example.com/a")
        );
        assert_eq!(
            canonical_link("https://example.com/a?cmpid=1").as_deref(),
            Some("https://example.com/a?cmpid=1")
        );
    }

    #[test]
    fn strip_param_names_are_checked() {
        for good in ["cmpid", "ref", "pk_*", "a.b", "x-y", "ids[]"] {
            assert!(StripParams::check(good).is_ok(), "{good}");
        }
        for bad in ["", "*", "a*b", "a=b", "two words", "ä", "a&b", "a#"] {
            assert!(StripParams::check(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn canonical_drops_empty_query() {
        assert_eq!(
            canonical_link("https://example.com/a?utm_campaign=x&ref_src=twsrc").as_deref(),
            Some("https://example.com/a")
        );
        assert_eq!(
            canonical_link("  https://example.com/a?  ").as_deref(),
            Some("https://example.com/a")
        );
        assert_eq!(
            canonical_link("https://example.com/a?&&").as_deref(),
            Some("https://example.com/a")
        );
    }

    #[test]
    fn canonical_leaves_other_schemes_and_rejects_garbage() {
        assert_eq!(
            canonical_link(" gemini://example.org/x?utm_source=a ").as_deref(),
            Some("gemini://example.org/x?utm_source=a")
        );
        assert_eq!(canonical_link("not a url"), None);
        assert_eq!(canonical_link("/relative/path"), None);
        assert_eq!(canonical_link(""), None);
        assert_eq!(canonical_link("http://"), None);
    }

    #[test]
    fn redact_drops_userinfo_query_and_fragment() {
        assert_eq!(
            redact_url("https://user:hunter2@feeds.example.com:8443/rss?token=abc#x"),
            "https://feeds.example.com:8443/rss"
        );
        assert_eq!(redact_url("https://example.com"), "https://example.com/");
    }

    #[test]
    fn redact_elides_long_paths() {
        assert_eq!(
            redact_url("https://hooks.slack.com/services/T0001/B0002/XXXXXXXXXXXXXXXXXXXXXXXX"),
            "https://hooks.slack.com/services/…"
        );
        assert_eq!(
            redact_url("https://example.com/a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5/feed"),
            "https://example.com/…"
        );
        assert_eq!(
            redact_url("https://example.com/news/world.xml"),
            "https://example.com/news/…"
        );
        assert_eq!(
            redact_url("https://example.com/hook/0123"),
            "https://example.com/hook/…"
        );
        assert_eq!(
            redact_url("https://example.com/rss.xml"),
            "https://example.com/rss.xml"
        );
    }

    #[test]
    fn origin_shows_no_path_or_query() {
        assert_eq!(
            url_origin("https://ntfy.sh/ww-alerts-7Hq2xZp9"),
            "https://ntfy.sh/…"
        );
        assert_eq!(
            url_origin("http://user:pw@127.0.0.1:8080/hook?sig=abc"),
            "http://127.0.0.1:8080/…"
        );
        assert_eq!(url_origin("https://example.org/"), "https://example.org");
        assert_eq!(url_origin("not a url"), "(unparsable URL)");
    }

    #[test]
    fn redact_keeps_file_paths_and_handles_garbage() {
        assert_eq!(
            redact_url("file:///var/lib/watchword/feeds/local/test.xml"),
            "file:///var/lib/watchword/feeds/local/test.xml"
        );
        assert_eq!(redact_url("mailto:someone@example.com"), "mailto:…");
        assert_eq!(
            redact_url("htp//user:pw@exa mple.com/a/b/c?key=secret"),
            "exa mple.com/a/…"
        );
        assert!(!redact_url("https://u:p@[::1/x?secret=1").contains("secret"));
        assert!(!redact_url("https://u:p@[::1/x?secret=1").contains("u:p"));
    }
}
