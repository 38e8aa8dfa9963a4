//! The `template` format: a user-supplied minijinja body.
//!
//! Values are escaped for the body's content type by minijinja's auto-escaping: for a JSON
//! content type `{{ title }}` renders as a quoted, escaped JSON string, so feed text cannot
//! break out of the document; for HTML/XML it is HTML-escaped; for anything else it is
//! inserted as is.
//!
//! Every render runs on a fuel budget ([`FUEL`]): a template is user code, and one with a loop
//! that never ends in practice (`{% for i in range(100000) %}{% for j in range(100000) %}`)
//! would otherwise hold `check` forever and pin a runtime worker of `run` at 100% CPU.

use minijinja::{AutoEscape, Environment, ErrorKind, Value};
use serde::Deserialize;
use serde_json::json;

use super::common::{cut, fit_list, one_line};
use super::{Batch, Check, Format, FormatError, Request};
use crate::alert::message::Message;

/// The body's content type when `content_type` is not written.
const DEFAULT_CONTENT_TYPE: &str = "application/json";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Options {
    /// The minijinja body template.
    template: Option<String>,
    /// The body's content type (default `application/json`); it decides the escaping.
    content_type: Option<String>,
}

/// A user-supplied body, signed like `json`.
pub(super) struct Template {
    template: String,
    content_type: String,
}

impl Format for Template {
    type Options = Options;
    const SIGNED: bool = true;

    fn new(options: Options, check: &mut Check<'_>) -> Option<Self> {
        let template = check.need(options.template, "template", "'{ \"text\": {{ title }} }'")?;
        let content_type = options
            .content_type
            .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.into());
        if let Err(message) = check_template(&template, &content_type) {
            let name = check.sink().to_string();
            check.problem(
                check.span_of("template"),
                format!("sink {name:?}: template: {message}"),
            );
            return None;
        }
        Some(Template {
            template,
            content_type,
        })
    }

    fn render(
        &self,
        request: &mut Request,
        batch: &Batch<'_>,
        messages: &[Message],
    ) -> Result<(), FormatError> {
        request.content_type = self.content_type.clone();
        request.body = render(&self.template, &self.content_type, batch, messages)
            .map_err(FormatError::Template)?;
        Ok(())
    }
}

/// The template's file name decides minijinja's auto-escaping.
fn template_name(content_type: &str) -> &'static str {
    let ct = content_type.to_ascii_lowercase();
    if ct.contains("json") {
        "body.json"
    } else if ct.contains("html") || ct.contains("xml") {
        "body.html"
    } else {
        "body.txt"
    }
}

/// The work one render may do, in minijinja fuel: about one unit per instruction executed and
/// one per 64 bytes of data created (output included). Measured: a digest of 100 alerts whose
/// template writes every alert's title, link, rule, terms and 4000-char text (400 KB of body)
/// costs about 10,000. A million is a hundred times that, and still stops a runaway template
/// after ~0.2 s of CPU in a debug build (and ~60 MB of data at the very most).
pub const FUEL: u64 = 1_000_000;

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_fuel(Some(FUEL));
    env.set_auto_escape_callback(|name| match name.rsplit('.').next() {
        Some("json") => AutoEscape::Json,
        Some("html") => AutoEscape::Html,
        _ => AutoEscape::None,
    });
    env
}

/// The most characters of the template's `title` and `text` (docs/sinks.md).
const TITLE_CHARS: usize = 1000;
const TEXT_CHARS: usize = 4000;

/// What a template sees. Feed text is cut to generous limits: the target is unknown.
///
/// For one alert the top-level fields are that alert's. For a digest they describe the
/// digest, so that a template written for one alert (`{{ title }}`) still shows every alert
/// or says how many it left out, instead of sending the first and dropping the rest: `title`
/// is "N new alerts: …" with as many whole titles as fit, `text` one line per alert (title
/// and link), each ending with "… and K more" when some did not fit; `rule`, `feed` and
/// `type` only when every alert shares them, `priority` the highest, `terms` all of them,
/// `link` and `published` none, and `payload` the `watchword.digest` envelope that the
/// `json` format would send.
fn context(batch: &Batch<'_>, messages: &[Message]) -> Value {
    let alerts: Vec<serde_json::Value> = messages
        .iter()
        .zip(&batch.payloads)
        .map(|(m, payload)| {
            json!({
                "id": m.id,
                "type": m.kind,
                "rule": m.rule,
                "priority": m.priority.as_ref().map(|p| p.label.clone()),
                "terms": m.terms,
                "feed": m.feed,
                "title": cut(&one_line(&m.title), TITLE_CHARS),
                "link": m.link,
                "text": cut(&m.text, TEXT_CHARS),
                "published": m.published,
                "also": m.also,
                "payload": serde_json::from_str::<serde_json::Value>(payload).unwrap_or_default(),
            })
        })
        .collect();
    let mut ctx = if batch.is_digest() {
        digest_summary(batch, messages)
    } else {
        alerts.first().cloned().unwrap_or_else(|| json!({}))
    };
    ctx["id"] = json!(batch.id);
    ctx["count"] = json!(alerts.len());
    ctx["alerts"] = json!(alerts);
    Value::from(minijinja::value::Serde(ctx))
}

/// The top-level fields of a digest (see [`context`]).
fn digest_summary(batch: &Batch<'_>, messages: &[Message]) -> serde_json::Value {
    let shared = |field: fn(&Message) -> Option<&String>| {
        let first = messages.first().and_then(field)?;
        messages
            .iter()
            .all(|m| field(m) == Some(first))
            .then(|| first.clone())
    };
    let priority = messages
        .iter()
        .filter_map(|m| m.priority.as_ref())
        .max_by_key(|p| p.level.unwrap_or(0))
        .map(|p| p.label.clone());
    let mut terms: Vec<&String> = Vec::new();
    for term in messages.iter().flat_map(|m| &m.terms) {
        if !terms.contains(&term) {
            terms.push(term);
        }
    }
    let titles: Vec<String> = messages
        .iter()
        .map(|m| cut(&one_line(&m.title), 200))
        .collect();
    let lines: Vec<String> = messages
        .iter()
        .map(|m| {
            let title = format!("• {}", cut(&one_line(&m.title), 300));
            match &m.link {
                Some(link) => format!("{title} {link}"),
                None => title,
            }
        })
        .collect();
    let head = format!("{} new alerts: ", messages.len());
    let envelope = crate::model::payload::digest(batch.id, &batch.payloads);
    json!({
        "type": shared(|m| Some(&m.kind)),
        "rule": shared(|m| m.rule.as_ref()),
        "feed": shared(|m| m.feed.as_ref()),
        "priority": priority,
        "terms": terms,
        "title": fit_list(&head, &titles, "; ", TITLE_CHARS),
        "link": null,
        "text": fit_list("", &lines, "\n", TEXT_CHARS),
        "published": null,
        "also": [],
        "payload": serde_json::from_str::<serde_json::Value>(&envelope).unwrap_or_default(),
    })
}

fn render(
    template: &str,
    content_type: &str,
    batch: &Batch<'_>,
    messages: &[Message],
) -> Result<String, String> {
    environment()
        .render_named_str(
            template_name(content_type),
            template,
            context(batch, messages),
        )
        .map_err(|e| match e.kind() {
            // minijinja says only "engine ran out of fuel"; say what that means for a sink.
            ErrorKind::OutOfFuel => {
                let place = match (e.name(), e.line()) {
                    (Some(name), Some(line)) => format!(" (stopped in {name}:{line})"),
                    _ => String::new(),
                };
                format!(
                    "too much work: rendering used up its budget of {FUEL} steps (minijinja \
                     fuel){place}; a template must not loop over large ranges"
                )
            }
            _ => e.to_string(),
        })
}

/// Compiles `template` and renders it against a sample alert, so `watchword check` reports a
/// broken template (or one that does not give valid JSON for a JSON content type).
pub fn check_template(template: &str, content_type: &str) -> Result<(), String> {
    let sample = json!({
        "type": "watchword.alert", "version": 1, "id": "ww_sample", "rule": "sample-rule",
        "matched_terms": ["sample"], "feed": {"name": "sample-feed"},
        "item": {"id": "1", "title": "A \"quoted\" <title> & more", "link": "https://example.org/a",
                 "summary": "Line one\nline two"}
    })
    .to_string();
    let batch = Batch {
        id: "ww_sample",
        payloads: vec![&sample],
    };
    let messages = vec![Message::from_payload(&sample)];
    let body = render(template, content_type, &batch, &messages)?;
    if template_name(content_type) == "body.json"
        && let Err(e) = serde_json::from_str::<serde_json::Value>(&body)
    {
        return Err(format!(
            "with content type {content_type} the body must be JSON, but a sample alert renders \
             invalid JSON ({e}); write values as {{{{ title }}}} without quotes around them: \
             they are JSON-escaped and quoted for you"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_bodies_escape_values_and_broken_templates_are_reported() {
        assert!(
            check_template(
                r#"{"text": {{ title }}, "n": {{ count }}}"#,
                "application/json"
            )
            .is_ok()
        );
        // Quotes, backslashes, markup and a line break in a title come out as JSON escapes:
        // the body parses and the value is the title.
        let hostile = json!({
            "type": "watchword.alert", "id": "ww_x", "rule": "r",
            "item": {"id": "1", "title": "He said \"hi\" \\ <b>&</b>", "link": "https://e.org/a"}
        })
        .to_string();
        let batch = Batch {
            id: "ww_x",
            payloads: vec![&hostile],
        };
        let body = render(
            r#"{"text": {{ title }}}"#,
            "application/json",
            &batch,
            &[Message::from_payload(&hostile)],
        )
        .expect("renders");
        let value: serde_json::Value = serde_json::from_str(&body).expect("valid JSON");
        assert_eq!(value["text"], "He said \"hi\" \\ <b>&</b>", "{body}");
        let err = check_template(r#"{"text": "{{ title }}"}"#, "application/json")
            .err()
            .unwrap_or_default();
        assert!(err.contains("without quotes"), "{err}");
        let err = check_template("{{ title ", "text/plain")
            .err()
            .unwrap_or_default();
        assert!(!err.is_empty());
    }

    #[test]
    fn a_template_with_no_end_runs_out_of_fuel_quickly() {
        let err = check_template(
            "{% for i in range(100000) %}{% for j in range(100000) %}{{ i }}{% endfor %}\
             {% endfor %}",
            "text/plain",
        )
        .err()
        .unwrap_or_default();
        assert!(err.contains("too much work") && err.contains("fuel"), "{err}");
    }

    #[test]
    fn a_digest_of_many_long_alerts_renders_within_the_budget() {
        // The heaviest real use: every alert of a large digest, each field written out.
        let text = "word ".repeat(800);
        let payloads: Vec<String> = (0..100)
            .map(|i| {
                json!({"type": "watchword.alert", "id": format!("ww_{i}"), "rule": "r",
                       "matched_terms": ["a", "b"], "feed": {"name": "f"},
                       "item": {"title": format!("Title {i}"), "summary": text,
                                "link": "https://example.org/a"}})
                .to_string()
            })
            .collect();
        let batch = Batch {
            id: "ww_digest",
            payloads: payloads.iter().map(String::as_str).collect(),
        };
        let messages: Vec<Message> = payloads.iter().map(|p| Message::from_payload(p)).collect();
        let template = "{% for a in alerts %}{{ a.title }} {{ a.link }} {{ a.rule }} \
                        {% for t in a.terms %}{{ t }},{% endfor %}\n{{ a.text }}\n{% endfor %}";
        let body = render(template, "text/plain", &batch, &messages);
        assert!(body.is_ok(), "{body:?}");
    }
}
