//! Feed bytes → UTF-8, whatever charset the server or the document declares.
//!
//! The parser (feed-rs over quick-xml) reads the XML prolog's `encoding` but never sees the
//! HTTP `Content-Type` charset, and silently replaces bytes that do not decode. Here the
//! charset is chosen once (BOM, else HTTP header, else XML prolog, else UTF-8), the body is
//! decoded strictly with encoding_rs, and the prolog is rewritten to say UTF-8 so that nothing
//! downstream decodes a second time.
//!
//! Documents declaring entities in their DTD are refused: expanding them ("billion laughs")
//! is how a few hundred bytes exhaust memory, and no real feed needs them.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8};

use super::parse::ParseError;

/// The body as UTF-8 text, ready for the parser.
pub fn to_utf8<'a>(body: &'a [u8], content_type: Option<&str>) -> Result<Cow<'a, str>, ParseError> {
    let (encoding, start) = match Encoding::for_bom(body) {
        Some((encoding, bom_length)) => (encoding, bom_length),
        None => (choose_encoding(body, content_type), 0),
    };
    let bytes = &body[start..];
    let text: Cow<'a, str> = if encoding == UTF_8 {
        match std::str::from_utf8(bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(e) => {
                return Err(ParseError::Charset {
                    charset: encoding.name().to_owned(),
                    detail: format!("invalid byte sequence at byte {}", start + e.valid_up_to()),
                });
            }
        }
    } else {
        match encoding.decode_without_bom_handling_and_without_replacement(bytes) {
            Some(text) => text,
            None => {
                return Err(ParseError::Charset {
                    charset: encoding.name().to_owned(),
                    detail: "bytes that are not valid in that charset".to_owned(),
                });
            }
        }
    };
    check_no_entity_declarations(&text)?;
    Ok(rewrite_declaration(text))
}

/// HTTP charset, then XML prolog, then UTF-8 (also the only charset JSON Feed allows).
///
/// RFC 7303 lets the HTTP header win, and we follow it, with one exception seen often in the
/// wild: a server that labels everything UTF-8 while the document itself says otherwise and
/// is not valid UTF-8. Then the document knows better.
fn choose_encoding(body: &[u8], content_type: Option<&str>) -> &'static Encoding {
    let declared = prolog_encoding(body);
    match content_type.and_then(http_charset) {
        Some(http) if http == UTF_8 => match declared {
            Some(prolog) if prolog != UTF_8 && std::str::from_utf8(body).is_err() => prolog,
            _ => http,
        },
        Some(http) => http,
        None => declared.unwrap_or(UTF_8),
    }
}

fn http_charset(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| Encoding::for_label(value.trim().trim_matches('"').as_bytes()))
            .flatten()
    })
}

/// The `encoding` pseudo-attribute of `<?xml … ?>`, read as ASCII (every charset a feed
/// uses without a BOM is ASCII-compatible in the prolog).
fn prolog_encoding(body: &[u8]) -> Option<&'static Encoding> {
    let declaration = xml_declaration(body)?;
    let at = find(declaration, b"encoding")?;
    let rest = &declaration[at + b"encoding".len()..];
    let rest = trim_ascii_start(rest).strip_prefix(b"=")?;
    let rest = trim_ascii_start(rest);
    let quote = *rest.first().filter(|q| **q == b'"' || **q == b'\'')?;
    let value = &rest[1..];
    let end = value.iter().position(|b| *b == quote)?;
    Encoding::for_label(&value[..end])
}

/// The bytes of the leading `<?xml … ?>`, if the document starts with one.
fn xml_declaration(body: &[u8]) -> Option<&[u8]> {
    let body = trim_ascii_start(body);
    if !body.starts_with(b"<?xml") {
        return None;
    }
    let window = &body[..body.len().min(1024)];
    let end = find(window, b"?>")?;
    Some(&window[..end + 2])
}

/// After decoding, the prolog must not send the parser decoding again.
fn rewrite_declaration(text: Cow<'_, str>) -> Cow<'_, str> {
    let Some(declaration) = xml_declaration(text.as_bytes()) else {
        return text;
    };
    if prolog_encoding(declaration).is_none_or(|e| e == UTF_8) {
        return text;
    }
    let leading = text.len() - text.trim_start().len();
    let rest = &text[leading + declaration.len()..];
    Cow::Owned(format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>{rest}"))
}

/// Refuses a DOCTYPE whose internal subset declares entities.
fn check_no_entity_declarations(text: &str) -> Result<(), ParseError> {
    let Some(doctype) = prolog_doctype(text) else {
        return Ok(());
    };
    if doctype.contains("<!ENTITY") {
        return Err(ParseError::EntityDeclarations);
    }
    Ok(())
}

/// The `<!DOCTYPE …>` of the prolog (its internal subset included), if there is one.
fn prolog_doctype(text: &str) -> Option<&str> {
    let mut rest = text.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("<?") {
            rest = after.split_once("?>")?.1.trim_start();
        } else if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.split_once("-->")?.1.trim_start();
        } else if rest.starts_with("<!DOCTYPE") {
            // The internal subset sits in brackets; the DOCTYPE ends at the first `>` after
            // it (or, without one, at the first `>`).
            let end = match (rest.find('['), rest.find('>')) {
                (Some(open), Some(close)) if open < close => {
                    let subset_end = rest.rfind(']').filter(|e| *e > open)?;
                    subset_end + rest[subset_end..].find('>')?
                }
                (_, Some(close)) => close,
                _ => rest.len().saturating_sub(1),
            };
            return rest.get(..=end).or(Some(rest));
        } else {
            return None;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn trim_ascii_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rss_in(encoding: &str, title: &[u8]) -> Vec<u8> {
        let mut body = format!(
            "<?xml version=\"1.0\" encoding=\"{encoding}\"?>\n<rss version=\"2.0\"><channel><title>t</title><item><guid>1</guid><title>"
        )
        .into_bytes();
        body.extend_from_slice(title);
        body.extend_from_slice(b"</title></item></channel></rss>");
        body
    }

    fn title_of(body: &[u8], content_type: Option<&str>) -> String {
        let text = to_utf8(body, content_type).unwrap_or_else(|e| panic!("{e}"));
        let items = crate::feed::parse("f", text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        items[0].title.clone()
    }

    #[test]
    fn prolog_charsets_decode() {
        // "Café" in ISO-8859-1 and Windows-1252, "Привет" in Windows-1251 and KOI8-R.
        assert_eq!(title_of(&rss_in("ISO-8859-1", b"Caf\xe9"), None), "Café");
        assert_eq!(
            title_of(&rss_in("windows-1252", b"\x93Caf\xe9\x94"), None),
            "\u{201c}Café\u{201d}"
        );
        assert_eq!(
            title_of(&rss_in("windows-1251", b"\xcf\xf0\xe8\xe2\xe5\xf2"), None),
            "Привет"
        );
        assert_eq!(
            title_of(&rss_in("KOI8-R", b"\xf0\xd2\xc9\xd7\xc5\xd4"), None),
            "Привет"
        );
    }

    #[test]
    fn http_charset_wins_over_a_missing_or_different_prolog() {
        let body = b"<rss version=\"2.0\"><channel><title>t</title><item><guid>1</guid><title>\xcf\xf0\xe8\xe2\xe5\xf2</title></item></channel></rss>";
        assert_eq!(
            title_of(body, Some("application/rss+xml; charset=windows-1251")),
            "Привет"
        );
        let body = rss_in("ISO-8859-1", b"\xf0\xd2\xc9\xd7\xc5\xd4");
        assert_eq!(
            title_of(&body, Some("text/xml; charset=\"KOI8-R\"")),
            "Привет"
        );
    }

    #[test]
    fn a_server_labelling_everything_utf8_does_not_override_a_truthful_prolog() {
        let body = rss_in("windows-1251", b"\xcf\xf0\xe8\xe2\xe5\xf2");
        assert_eq!(title_of(&body, Some("text/xml; charset=utf-8")), "Привет");
    }

    #[test]
    fn bom_wins() {
        let mut body = vec![0xEF, 0xBB, 0xBF];
        body.extend_from_slice(&rss_in("ISO-8859-1", "Café".as_bytes()));
        assert_eq!(title_of(&body, Some("text/xml; charset=koi8-r")), "Café");
    }

    #[test]
    fn invalid_utf8_is_an_error_naming_the_charset_and_the_byte() {
        let body = rss_in("UTF-8", b"Caf\xe9");
        let err = to_utf8(&body, None).unwrap_err();
        let at = body.iter().position(|b| *b == 0xe9).unwrap();
        assert_eq!(
            err.to_string(),
            format!("content is not valid UTF-8: invalid byte sequence at byte {at}")
        );
    }

    #[test]
    fn entity_declarations_are_refused() {
        let bomb = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n <!ENTITY lol2 \"&lol;&lol;&lol;\">\n]>\n<rss><channel><title>&lol2;</title></channel></rss>";
        let err = to_utf8(bomb.as_bytes(), None).unwrap_err();
        assert!(matches!(err, ParseError::EntityDeclarations), "{err}");
        // A plain public DOCTYPE (RSS 0.91) is fine.
        let ok = "<?xml version=\"1.0\"?><!DOCTYPE rss PUBLIC \"-//Netscape Communications//DTD RSS 0.91//EN\" \"http://my.netscape.com/publish/formats/rss-0.91.dtd\"><rss version=\"0.91\"/>";
        assert!(to_utf8(ok.as_bytes(), None).is_ok());
    }

    #[test]
    fn utf8_passes_through_untouched() {
        let body = rss_in("UTF-8", "Café".as_bytes());
        assert!(matches!(to_utf8(&body, None), Ok(Cow::Borrowed(_))));
    }
}
