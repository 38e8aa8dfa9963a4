//! HTML → plain text for item fields, so the matcher sees words, not markup.

/// Wide enough that html2text never wraps a line: we fold whitespace afterwards anyway, and a
/// wrap in the middle of a phrase would be harmless but wasted work.
use html2text::render::TrivialDecorator;

const NO_WRAP_WIDTH: usize = 1_000_000;

/// Converts an HTML fragment (or HTML-escaped text) to plain text: tags stripped, entities
/// decoded, whitespace folded to single spaces, trimmed.
pub fn html_to_text(html: &str) -> String {
    // Most titles and many summaries are already plain; html2text builds a whole DOM.
    if !html.contains(['<', '&']) {
        return fold_whitespace(html);
    }
    // html2text's layout is quadratic in the nesting depth of block elements (20 000 nested
    // `<div>`s take seconds), and feed content is untrusted. Real articles nest a few dozen
    // levels; beyond the limit we flatten the markup first and only decode entities.
    if nesting_exceeds(html, MAX_NESTING) {
        let flat = strip_tags(html);
        return render(&flat).unwrap_or_else(|| fold_whitespace(&flat));
    }
    // html2text only fails on pathological layout (a table too wide even for this width); crude
    // tag stripping is better than losing the field.
    render(html).unwrap_or_else(|| fold_whitespace(&strip_tags(html)))
}

fn render(html: &str) -> Option<String> {
    // `TrivialDecorator` emits only the literal text. Even `plain_no_decorate` keeps `[link]`
    // brackets, `*` bullets and `##` headings, which would leak into phrase matching.
    html2text::config::with_decorator(TrivialDecorator::new())
        .no_table_borders()
        .string_from_read(html.as_bytes(), NO_WRAP_WIDTH)
        .ok()
        .map(|text| fold_whitespace(&text))
}

/// Nesting depth above which [`html_to_text`] stops trusting html2text's layout.
const MAX_NESTING: usize = 256;

/// Elements that never hold children, or that HTML closes implicitly so often that counting them
/// would overestimate the depth of ordinary markup.
const NON_NESTING: &[&str] = &[
    "area", "base", "br", "col", "dd", "dt", "embed", "hr", "img", "input", "li", "link", "meta",
    "option", "p", "param", "source", "td", "th", "tr", "track", "wbr",
];

/// A linear, approximate tag-depth scan: good enough to spot hostile nesting, not a parser.
pub(crate) fn nesting_exceeds(html: &str, limit: usize) -> bool {
    let mut depth: usize = 0;
    let mut rest = html;
    while let Some(i) = rest.find('<') {
        rest = &rest[i + 1..];
        let closing = rest.starts_with('/');
        let name_part = rest.trim_start_matches('/');
        let name_len = name_part
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(name_part.len());
        if name_len == 0 {
            continue;
        }
        let name = name_part[..name_len].to_ascii_lowercase();
        if NON_NESTING.contains(&name.as_str()) {
            continue;
        }
        if closing {
            depth = depth.saturating_sub(1);
        } else {
            let self_closing = rest.find('>').is_some_and(|end| rest[..end].ends_with('/'));
            if !self_closing {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
        }
    }
    false
}

/// Collapses every run of Unicode whitespace (including no-break spaces) into one space.
pub(crate) fn fold_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_only_folded() {
        assert_eq!(
            html_to_text("  Floods\n\tclose   the\u{a0}pass "),
            "Floods close the pass"
        );
        assert_eq!(html_to_text(""), "");
    }

    #[test]
    fn entities_are_decoded() {
        assert_eq!(
            html_to_text("Salt &amp; pepper: the mayor&#8217;s &quot;plan&quot; &lt;draft&gt;"),
            "Salt & pepper: the mayor\u{2019}s \"plan\" <draft>"
        );
    }

    #[test]
    fn markup_is_stripped_without_decorations() {
        let html = "<p>The <b>council</b> voted <em>yes</em>.</p>\
                    <p>Read <a href=\"https://example.com/x\">the minutes</a>.</p>\
                    <ul><li>one</li><li>two</li></ul>\
                    <h2>Heading</h2><img src=\"a.png\" alt=\"\">\
                    <table><tr><td>a</td><td>b</td></tr></table>";
        assert_eq!(
            html_to_text(html),
            "The council voted yes. Read the minutes. one two Heading a b"
        );
    }

    #[test]
    fn scripts_and_styles_are_dropped() {
        assert_eq!(
            html_to_text("<style>p{color:red}</style><p>Text</p><script>alert(1)</script>"),
            "Text"
        );
    }

    #[test]
    fn long_lines_are_not_wrapped() {
        let words = vec!["word"; 5000].join(" ");
        assert_eq!(html_to_text(&format!("<p>{words}</p>")), words);
    }

    #[test]
    fn broken_markup_does_not_panic() {
        // Each gives some text back, without a panic and without markup left in it.
        for input in [
            "<",
            "<<>>&",
            "<p",
            "&#xFFFFFFFF;",
            "<table><tr><td><table>",
            "&;",
            "<p>Astana <b>signs",
        ] {
            let text = html_to_text(input);
            assert!(
                !text.contains("<p") && !text.contains("<b"),
                "{input:?} -> {text:?}"
            );
        }
        assert_eq!(html_to_text("<p>Astana <b>signs"), "Astana signs");
    }

    #[test]
    fn hostile_nesting_is_flattened_quickly() {
        let deep = "<div>".repeat(200_000) + "deep &amp; down";
        let start = std::time::Instant::now();
        assert_eq!(html_to_text(&deep), "deep & down");
        assert!(start.elapsed() < std::time::Duration::from_secs(5));
        // Ordinary depth still goes through html2text.
        let shallow = "<div>".repeat(50) + "<p>a<p>b" + &"</div>".repeat(50);
        assert_eq!(html_to_text(&shallow), "a b");
        assert!(!nesting_exceeds(&"<p>x<br>".repeat(1000), MAX_NESTING));
    }
}
