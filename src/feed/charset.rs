//! Feed bytes → UTF-8, whatever charset the server or the document declares.
//!
//! The parser (feed-rs over quick-xml) reads the XML prolog's `encoding` but never sees the
//! HTTP `Content-Type` charset, and silently replaces bytes that do not decode. Here the
//! charset is chosen once (BOM, else UTF-16/32 recognised by its zero bytes as the XML spec
//! describes, else HTTP header, else XML prolog, else UTF-8), the body is decoded strictly
//! (encoding_rs, and UTF-32 by hand), and the prolog is rewritten to say UTF-8 so that nothing
//! downstream decodes a second time.
//!
//! Documents declaring entities in their DTD are refused: expanding them ("billion laughs")
//! is how a few hundred bytes exhaust memory, and no real feed needs them.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

use super::parse::ParseError;

/// The body as UTF-8 text, ready for the parser.
pub fn to_utf8<'a>(body: &'a [u8], content_type: Option<&str>) -> Result<Cow<'a, str>, ParseError> {
    let (charset, start) = match sniff_unicode(body) {
        Some(found) => found,
        None => (Charset::Other(choose_encoding(body, content_type)), 0),
    };
    let bytes = &body[start..];
    let text: Cow<'a, str> = match charset {
        Charset::Other(encoding) if encoding == UTF_8 => match std::str::from_utf8(bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(e) => {
                return Err(ParseError::Charset {
                    charset: encoding.name().to_owned(),
                    detail: format!("invalid byte sequence at byte {}", start + e.valid_up_to()),
                });
            }
        },
        Charset::Other(encoding) => {
            match encoding.decode_without_bom_handling_and_without_replacement(bytes) {
                Some(text) => text,
                None => {
                    return Err(ParseError::Charset {
                        charset: encoding.name().to_owned(),
                        detail: "bytes that are not valid in that charset".to_owned(),
                    });
                }
            }
        }
        Charset::Utf32 { big_endian } => Cow::Owned(decode_utf32(bytes, big_endian)?),
    };
    check_no_entity_declarations(&text)?;
    Ok(rewrite_declaration(without_nul(text)))
}

/// NUL is never legal in XML; one left after decoding (a stray byte, or UTF-16 bytes behind a
/// UTF-8 BOM) would make quick-xml take the text for UTF-16 and panic. Dropped, as browsers do.
fn without_nul(text: Cow<'_, str>) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', ""))
    } else {
        text
    }
}

/// A charset to decode with: encoding_rs's, or UTF-32, which the XML spec allows and
/// encoding_rs (built for the web) does not know.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Charset {
    Other(&'static Encoding),
    Utf32 { big_endian: bool },
}

/// The Unicode encodings the bytes themselves announce (XML 1.0, appendix F): a byte-order
/// mark, or the zero bytes around the ASCII `<` that every XML document starts with. Returns
/// the charset and the length of the BOM to skip.
///
/// This runs before any declared charset: a UTF-16 document is the only kind whose prolog
/// cannot be read as ASCII, and handing its bytes to the parser as UTF-8 made quick-xml panic.
fn sniff_unicode(body: &[u8]) -> Option<(Charset, usize)> {
    let utf32 = |big_endian| Charset::Utf32 { big_endian };
    match body {
        // UTF-32 first: its little-endian BOM begins like UTF-16's.
        [0x00, 0x00, 0xFE, 0xFF, ..] => Some((utf32(true), 4)),
        [0xFF, 0xFE, 0x00, 0x00, ..] => Some((utf32(false), 4)),
        [0xEF, 0xBB, 0xBF, ..] => Some((Charset::Other(UTF_8), 3)),
        [0xFE, 0xFF, ..] => Some((Charset::Other(UTF_16BE), 2)),
        [0xFF, 0xFE, ..] => Some((Charset::Other(UTF_16LE), 2)),
        // Without a BOM: `<` (or the whitespace before it) with zero bytes around it. NUL is
        // never legal in XML, so no document in an ASCII-compatible charset starts this way.
        [0x00, 0x00, 0x00, c, ..] if *c != 0 => Some((utf32(true), 0)),
        [c, 0x00, 0x00, 0x00, ..] if *c != 0 => Some((utf32(false), 0)),
        [0x00, c, 0x00, d, ..] if *c != 0 && *d != 0 => Some((Charset::Other(UTF_16BE), 0)),
        [c, 0x00, d, 0x00, ..] if *c != 0 && *d != 0 => Some((Charset::Other(UTF_16LE), 0)),
        _ => None,
    }
}

fn decode_utf32(bytes: &[u8], big_endian: bool) -> Result<String, ParseError> {
    let invalid = |detail: String| ParseError::Charset {
        charset: if big_endian { "UTF-32BE" } else { "UTF-32LE" }.to_owned(),
        detail,
    };
    if !bytes.len().is_multiple_of(4) {
        return Err(invalid(format!(
            "{} bytes, not a whole number of 4-byte characters",
            bytes.len()
        )));
    }
    bytes
        .chunks_exact(4)
        .enumerate()
        .map(|(i, unit)| {
            let unit = [unit[0], unit[1], unit[2], unit[3]];
            let value = if big_endian {
                u32::from_be_bytes(unit)
            } else {
                u32::from_le_bytes(unit)
            };
            char::from_u32(value)
                .ok_or_else(|| invalid(format!("invalid character {value:#x} at byte {}", i * 4)))
        })
        .collect()
}

/// HTTP charset, then XML prolog, then UTF-8 (also the only charset JSON Feed allows).
///
/// RFC 7303 lets the HTTP header win, and we follow it, with one exception seen often in the
/// wild: a server that labels everything UTF-8 while the document itself says otherwise and
/// is not valid UTF-8. Then the document knows better.
///
/// A UTF-16 label (`utf-16`, `ucs-2`, `csUnicode`, `iso-10646-ucs-2`…) is ignored here: this
/// runs only when `sniff_unicode` found the bytes ASCII-compatible, so the label is wrong.
fn choose_encoding(body: &[u8], content_type: Option<&str>) -> &'static Encoding {
    let not_utf16 = |e: &&'static Encoding| *e != UTF_16LE && *e != UTF_16BE;
    let declared = prolog_encoding(body).filter(not_utf16);
    let content_type = content_type.filter(|ct| http_charset(ct).is_none_or(|e| not_utf16(&e)));
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
    Encoding::for_label(prolog_encoding_label(body)?)
}

/// The raw value of the prolog's `encoding`, whether or not it names a known charset.
fn prolog_encoding_label(body: &[u8]) -> Option<&[u8]> {
    let declaration = xml_declaration(body)?;
    let at = find(declaration, b"encoding")?;
    let rest = &declaration[at + b"encoding".len()..];
    let rest = trim_ascii_start(rest).strip_prefix(b"=")?;
    let rest = trim_ascii_start(rest);
    let quote = *rest.first().filter(|q| **q == b'"' || **q == b'\'')?;
    let value = &rest[1..];
    let end = value.iter().position(|b| *b == quote)?;
    Some(&value[..end])
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

/// After decoding, the prolog must not send the parser decoding again: quick-xml switches
/// to any charset the prolog names (and panicked on UTF-16 over text that is already UTF-8),
/// so every `encoding` but UTF-8, known or not, is rewritten.
fn rewrite_declaration(text: Cow<'_, str>) -> Cow<'_, str> {
    let Some(declaration) = xml_declaration(text.as_bytes()) else {
        return text;
    };
    if prolog_encoding_label(declaration)
        .is_none_or(|label| Encoding::for_label(label) == Some(UTF_8))
    {
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
        assert_eq!(to_utf8(ok.as_bytes(), None).as_deref().ok(), Some(ok));
    }

    #[test]
    fn utf8_passes_through_untouched() {
        let body = rss_in("UTF-8", "Café".as_bytes());
        assert!(matches!(to_utf8(&body, None), Ok(Cow::Borrowed(_))));
    }

    pub(super) const UTF16_FEED: &str = "<?xml version=\"1.0\" encoding=\"{label}\"?>\n<rss version=\"2.0\"><channel><title>t</title><item><guid>1</guid><title>Қазақстан &amp; Israel</title></item></channel></rss>";

    pub(super) fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice(if big_endian {
                &[0xFE, 0xFF]
            } else {
                &[0xFF, 0xFE]
            });
        }
        for unit in text.encode_utf16() {
            out.extend_from_slice(&if big_endian {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        out
    }

    fn utf32(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let bom = bom.then_some('\u{feff}');
        bom.into_iter()
            .chain(text.chars())
            .flat_map(|c| {
                if big_endian {
                    u32::from(c).to_be_bytes()
                } else {
                    u32::from(c).to_le_bytes()
                }
            })
            .collect()
    }

    #[test]
    fn utf16_with_or_without_bom_and_ucs2_labels_decode() {
        for label in [
            "UTF-16",
            "utf-16le",
            "csUnicode",
            "iso-10646-ucs-2",
            "ucs-2",
        ] {
            let feed = UTF16_FEED.replace("{label}", label);
            for big_endian in [false, true] {
                for bom in [true, false] {
                    let body = utf16(&feed, big_endian, bom);
                    let case = format!("{label} big_endian={big_endian} bom={bom}");
                    let text = to_utf8(&body, None).unwrap_or_else(|e| panic!("{case}: {e}"));
                    assert!(
                        text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
                        "{case}: {text}"
                    );
                    assert_eq!(title_of(&body, None), "Қазақстан & Israel", "{case}");
                    // Through the whole parse, as a poll does; the HTTP charset cannot undo it.
                    let parsed = crate::feed::parse_document(
                        "f",
                        None,
                        &body,
                        Some("application/rss+xml; charset=utf-8"),
                        &crate::text::StripParams::default(),
                    )
                    .unwrap_or_else(|e| panic!("{case}: {e}"));
                    assert_eq!(parsed.items.len(), 1, "{case}");
                }
            }
        }
    }

    #[test]
    fn utf32_decodes() {
        let feed = UTF16_FEED.replace("{label}", "UTF-32");
        for big_endian in [false, true] {
            for bom in [true, false] {
                let body = utf32(&feed, big_endian, bom);
                assert_eq!(title_of(&body, None), "Қазақстан & Israel");
            }
        }
        let err = to_utf8(&[0x00, 0x00, 0xFE, 0xFF, 0x00, 0x11, 0x00, 0x00], None).unwrap_err();
        assert!(matches!(err, ParseError::Charset { .. }), "{err}");
    }

    #[test]
    fn a_utf16_label_on_an_ascii_body_is_ignored() {
        // The prolog was readable as ASCII, so it cannot be UTF-16; neither can the HTTP label.
        let body = UTF16_FEED.replace("{label}", "utf-16");
        assert_eq!(title_of(body.as_bytes(), None), "Қазақстан & Israel");
        let body = UTF16_FEED.replace("{label}", "UTF-8");
        assert_eq!(
            title_of(body.as_bytes(), Some("text/xml; charset=utf-16")),
            "Қазақстан & Israel"
        );
    }

    #[test]
    fn an_unknown_prolog_charset_is_rewritten_to_the_utf8_we_decoded() {
        let body = UTF16_FEED.replace("{label}", "bogus");
        let text = to_utf8(body.as_bytes(), None).unwrap_or_else(|e| panic!("{e}"));
        assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use crate::feed::{ParseError, parse_document};
    use crate::text::StripParams;

    proptest! {
    /// No body makes the parser (quick-xml under feed-rs) panic: BOMs, UTF-16/32-shaped
    /// starts and prologs naming any charset, followed by anything.
    #[test]
    fn no_input_makes_the_parser_panic(
        start in prop_oneof![
            Just(Vec::new()),
            Just(vec![0xFF, 0xFE]),
            Just(vec![0xFE, 0xFF]),
            Just(vec![0xEF, 0xBB, 0xBF]),
            Just(vec![0x00, b'<', 0x00, b'?']),
            Just(vec![b'<', 0x00, b'?', 0x00]),
            Just(vec![0x00, 0x00, 0x00, b'<']),
            prop_oneof![
                Just("utf-16"), Just("UTF-16BE"), Just("ucs-2"), Just("csUnicode"),
                Just("utf-32"), Just("bogus"), Just("ISO-8859-1"), Just("UTF-8"),
            ]
            .prop_map(|label| format!("<?xml version=\"1.0\" encoding=\"{label}\"?>").into_bytes()),
        ],
        rest in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64),
            Just(b"<rss version=\"2.0\"><channel><item><title>x</title></item></channel></rss>".to_vec()),
            Just(b"\x00<\x00r\x00s\x00s\x00>\x00".to_vec()),
            // A whole UTF-16 feed without BOM, cut anywhere: what used to panic.
            (any::<bool>(), any::<proptest::sample::Index>()).prop_map(|(big_endian, cut)| {
                let feed = super::tests::UTF16_FEED.replace("{label}", "UTF-16");
                let bytes = super::tests::utf16(&feed, big_endian, false);
                bytes[..cut.index(bytes.len() + 1)].to_vec()
            }),
        ],
        content_type in prop_oneof![
            Just(None),
            Just(Some("text/xml; charset=utf-16")),
            Just(Some("text/xml; charset=utf-8")),
        ],
    ) {
        let mut body = start;
        body.extend_from_slice(&rest);
        let result = parse_document("f", None, &body, content_type, &StripParams::default());
        prop_assert!(!matches!(result, Err(ParseError::ParserPanic)), "{:?}", body);
    }
    }
}
