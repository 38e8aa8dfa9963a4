//! Sink formats: the request each target expects, built from stored payloads.
//!
//! Each format is one file here (`json.rs`, `slack.rs`, …) that owns everything about it: its
//! own `[[sink]]` keys (a serde struct refusing unknown keys), what it needs and refuses, its
//! default rate limit, whether it signs, and its rendering. `registry!` below lists them, one
//! line each; adding a format is its file, that line and its snapshots (tests/formats.rs).
//!
//! Every text that comes from a feed is cut to the target's documented limits and escaped for
//! the target's markup (helpers in `common.rs`), so that a hostile feed (markup, `@everyone`,
//! a 10 KB title) cannot break a message, mention a channel or get it rejected. Limits are
//! cited in docs/sinks.md.

pub(super) mod common;

use std::fmt;
use std::ops::{Deref, Range};
use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::email::{self, Email};
use super::message::Message;
use crate::config::{RateLimit, SINK_KEYS, SinkConfig, SinkKind};

pub use template::check_template;

/// One HTTP request to a sink.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: Method,
    pub url: String,
    pub content_type: String,
    /// Format-specific headers first, then the sink's own `headers`.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Post,
    Put,
}

/// What to send: one alert, or a digest of several (oldest first).
#[derive(Debug, Clone)]
pub struct Batch<'a> {
    /// The stable id sent as `webhook-id` (and Matrix's txnId).
    pub id: &'a str,
    pub payloads: Vec<&'a str>,
}

impl Batch<'_> {
    pub fn is_digest(&self) -> bool {
        self.payloads.len() > 1
    }

    fn messages(&self) -> Vec<Message> {
        self.payloads
            .iter()
            .map(|p| Message::from_payload(p))
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("template failed: {0}")]
    Template(String),
    #[error("sink has no url")]
    NoUrl,
}

/// What one format is. Implemented by a unit-less struct per file, holding its checked
/// options.
trait Format: Sized + Send + Sync + 'static {
    /// The format's own `[[sink]]` keys as written. Every field is optional (`Check::need`
    /// says what is missing, with an example), and unknown keys are refused.
    type Options: DeserializeOwned;
    /// Keys of `Options` whose values are secrets in themselves (scrubbed from error text
    /// like the URL), even when written without `${…}`.
    const SECRET_KEYS: &'static [&'static str] = &[];
    /// Whether it signs bodies with the sink's `secret` (Standard Webhooks).
    const SIGNED: bool = false;
    /// The service's documented limit (docs/sinks.md cites them), unless `rate_limit` says
    /// otherwise.
    const RATE_LIMIT: Option<RateLimit> = None;

    /// Checks the options, reporting through `check`; `None` when they leave nothing to run.
    fn new(options: Self::Options, check: &mut Check<'_>) -> Option<Self>;

    /// Fills in `request`, which starts as a POST of `application/json` to the sink's URL
    /// with no headers and no body.
    fn render(
        &self,
        request: &mut Request,
        batch: &Batch<'_>,
        messages: &[Message],
    ) -> Result<(), FormatError>;
}

/// `Format::render` behind a pointer: the registry picks the type once, at load.
trait Render: Send + Sync {
    fn render(
        &self,
        request: &mut Request,
        batch: &Batch<'_>,
        messages: &[Message],
    ) -> Result<(), FormatError>;
}

impl<F: Format> Render for F {
    fn render(
        &self,
        request: &mut Request,
        batch: &Batch<'_>,
        messages: &[Message],
    ) -> Result<(), FormatError> {
        Format::render(self, request, batch, messages)
    }
}

/// The registry: one line per format, `Variant => module::Type`. The module's name is the
/// name written in `format = "…"`; the order is the order error messages list them in.
macro_rules! registry {
    ($($variant:ident => $module:ident :: $format:ident,)*) => {
        $(mod $module;)*

        /// A sink format, by the name written in `format = "…"`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum SinkFormat {
            $($variant,)*
        }

        impl SinkFormat {
            /// Every format, in registry order.
            pub const ALL: &'static [SinkFormat] = &[$(SinkFormat::$variant,)*];

            fn entry(self) -> Entry {
                match self {
                    $(SinkFormat::$variant => Entry::of::<$module::$format>(stringify!($module)),)*
                }
            }
        }
    };
}

registry! {
    Json => json::Json,
    Slack => slack::Slack,
    Discord => discord::Discord,
    Teams => teams::Teams,
    Ntfy => ntfy::Ntfy,
    Telegram => telegram::Telegram,
    Mattermost => mattermost::Mattermost,
    Matrix => matrix::Matrix,
    Template => template::Template,
}

/// A format's facts, taken from its `Format` impl.
struct Entry {
    name: &'static str,
    keys: &'static [&'static str],
    secret_keys: &'static [&'static str],
    signed: bool,
    rate_limit: Option<RateLimit>,
    build: fn(&mut Check<'_>) -> Option<Arc<dyn Render>>,
}

impl Entry {
    fn of<F: Format>(name: &'static str) -> Entry {
        Entry {
            name,
            keys: common::field_names::<F::Options>(),
            secret_keys: F::SECRET_KEYS,
            signed: F::SIGNED,
            rate_limit: F::RATE_LIMIT,
            build: build::<F>,
        }
    }
}

/// Parses the options as `F::Options` and lets `F` check them.
fn build<F: Format>(check: &mut Check<'_>) -> Option<Arc<dyn Render>> {
    let options = check.options::<F::Options>()?;
    let format = F::new(options, check)?;
    Some(Arc::new(format))
}

impl SinkFormat {
    /// The name written in `format = "…"`.
    pub fn name(self) -> &'static str {
        self.entry().name
    }

    pub fn from_name(name: &str) -> Option<SinkFormat> {
        SinkFormat::ALL.iter().copied().find(|f| f.name() == name)
    }

    /// The service's documented rate limit, used when the sink sets none.
    pub fn default_rate_limit(self) -> Option<RateLimit> {
        self.entry().rate_limit
    }

    /// Whether the format signs its bodies with the sink's `secret`.
    pub fn signs(self) -> bool {
        self.entry().signed
    }
}

impl fmt::Display for SinkFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A sink ready to deliver: its config, its format with the format's options checked, and
/// the rate limit in force.
#[derive(Clone)]
pub struct Sink {
    /// The keys common to every sink. Its `secrets` include the format's secret options.
    pub config: SinkConfig,
    pub format: SinkFormat,
    /// `rate_limit` as written, else the format's default; `None`: no limit of our own.
    pub rate_limit: Option<RateLimit>,
    render: Arc<dyn Render>,
    /// The SMTP side of an `email` sink (`kind = "email"`); `None` for the others.
    pub email: Option<Arc<Email>>,
}

/// A sink is read like its config (`sink.url`, `sink.scrub(…)`); `format` and `rate_limit`
/// are the resolved ones.
impl Deref for Sink {
    type Target = SinkConfig;

    fn deref(&self) -> &SinkConfig {
        &self.config
    }
}

/// Hand-written: a format's options may be secrets (a Matrix token).
impl fmt::Debug for Sink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sink")
            .field("config", &self.config)
            .field("format", &self.format)
            .field("rate_limit", &self.rate_limit)
            .finish_non_exhaustive()
    }
}

/// One problem with a sink's format or options, at a span of the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkProblem {
    pub span: Range<usize>,
    pub message: String,
    /// Like a TOML schema error (an unknown format or key, a value of the wrong type): the
    /// format's own checks cannot run. Reported with the file's other problems.
    pub fatal: bool,
}

impl Sink {
    /// Checks `config`'s format and options: the format must exist, every option must be
    /// one of its keys, and the format's own checks must pass.
    /// `Err` with no problem only when an option's `${…}` could not be expanded, which config
    /// has reported already.
    pub fn load(config: &SinkConfig) -> Result<Sink, Vec<SinkProblem>> {
        if config.kind == SinkKind::Email {
            return Sink::load_email(config);
        }
        let name = &config.name;
        let format_span = config
            .spans
            .format
            .clone()
            .unwrap_or(config.spans.name.clone());
        let Some(format) = SinkFormat::from_name(&config.format) else {
            let names: Vec<&str> = SinkFormat::ALL.iter().map(|f| f.name()).collect();
            return Err(vec![SinkProblem {
                span: format_span,
                message: common::unknown_variant(&config.format, &names),
                fatal: true,
            }]);
        };
        let entry = format.entry();
        let mut check = Check {
            config,
            format,
            keys: entry.keys,
            problems: Vec::new(),
        };
        for option in &config.options {
            if entry.keys.contains(&option.key.as_str()) {
                continue;
            }
            if SinkFormat::ALL
                .iter()
                .any(|f| f.entry().keys.contains(&option.key.as_str()))
            {
                check.problem(
                    option.value_span.clone(),
                    format!(
                        "sink {name:?}: {} is not used by format {format}; remove it",
                        option.key
                    ),
                );
            } else {
                check.problems.push(SinkProblem {
                    span: option.key_span.clone(),
                    message: common::unknown_field(&option.key, &known_keys()),
                    fatal: true,
                });
            }
        }
        let mut sink_config = config.clone();
        if let (Some(span), false) = (&config.spans.secret, entry.signed) {
            if config.signing_key.is_some() {
                let signed: Vec<&str> = SinkFormat::ALL
                    .iter()
                    .filter(|f| f.signs())
                    .map(|f| f.name())
                    .collect();
                check.problem(
                    span.clone(),
                    format!(
                        "sink {name:?}: secret signs {} bodies; {format} does not use it",
                        signed.join(" and ")
                    ),
                );
            }
            sink_config.signing_key = None;
        }
        let render = if check.problems.iter().any(|p| p.fatal) {
            None
        } else {
            (entry.build)(&mut check)
        };
        if !check.problems.is_empty() {
            return Err(check.problems);
        }
        let Some(render) = render else {
            // An option whose `${…}` could not be expanded was reported by config, and the
            // format could not run without it.
            if config.options.iter().any(|o| o.value.is_none()) {
                return Err(Vec::new());
            }
            // A format that refuses its options says why; this only guards against one
            // that does not.
            return Err(vec![SinkProblem {
                span: config.spans.name.clone(),
                message: format!("sink {name:?}: format {format} cannot be used as written"),
                fatal: false,
            }]);
        };
        for option in &config.options {
            if let (true, Some(toml::Value::String(value))) = (
                entry.secret_keys.contains(&option.key.as_str()),
                &option.value,
            ) && !value.is_empty()
            {
                sink_config.secrets.push(value.clone());
            }
        }
        Ok(Sink {
            rate_limit: config.rate_limit.resolve(entry.rate_limit),
            config: sink_config,
            format,
            render,
            email: None,
        })
    }

    /// An `email` sink: its SMTP keys checked like a format's options. It renders no HTTP
    /// request; `format` and the renderer are the `json` ones, never used.
    fn load_email(config: &SinkConfig) -> Result<Sink, Vec<SinkProblem>> {
        let name = &config.name;
        let keys = email::keys();
        let mut check = Check {
            config,
            format: SinkFormat::Json,
            keys,
            problems: Vec::new(),
        };
        for option in &config.options {
            if keys.contains(&option.key.as_str()) {
                continue;
            }
            if known_keys().contains(&option.key.as_str()) {
                check.problem(
                    option.value_span.clone(),
                    format!(
                        "sink {name:?}: {} is not used by email sinks; remove it",
                        option.key
                    ),
                );
            } else {
                let mut expected: Vec<&str> = SINK_KEYS
                    .iter()
                    .copied()
                    .filter(|k| !matches!(*k, "url" | "format" | "secret" | "headers"))
                    .collect();
                expected.extend_from_slice(keys);
                check.problems.push(SinkProblem {
                    span: option.key_span.clone(),
                    message: common::unknown_field(&option.key, &expected),
                    fatal: true,
                });
            }
        }
        if let Some(span) = &config.spans.secret {
            check.problem(
                span.clone(),
                format!("sink {name:?}: secret signs webhook bodies; email sinks do not use it"),
            );
        }
        let email = if check.problems.iter().any(|p| p.fatal) {
            None
        } else {
            check
                .options::<email::Options>()
                .and_then(|options| Email::new(options, &mut check))
        };
        if !check.problems.is_empty() {
            return Err(check.problems);
        }
        let Some(email) = email else {
            // An option whose `${…}` could not be expanded was reported by config.
            return Err(Vec::new());
        };
        let mut sink_config = config.clone();
        sink_config.signing_key = None;
        for option in &config.options {
            if let (true, Some(toml::Value::String(value))) = (
                email::SECRET_KEYS.contains(&option.key.as_str()),
                &option.value,
            ) && !value.is_empty()
            {
                sink_config.secrets.push(value.clone());
            }
        }
        Ok(Sink {
            rate_limit: config.rate_limit.resolve(None),
            config: sink_config,
            format: SinkFormat::Json,
            render: Arc::new(json::Json),
            email: Some(Arc::new(email)),
        })
    }

    /// A webhook sink in `format` with string `options`, for tests and tools; the problems
    /// as text when the format refuses them.
    pub fn webhook(
        name: &str,
        url: &str,
        format: SinkFormat,
        options: &[(&str, &str)],
    ) -> Result<Sink, String> {
        let config = SinkConfig::webhook(name, url, format.name(), options);
        Sink::load(&config).map_err(|problems| {
            let messages: Vec<String> = problems.into_iter().map(|p| p.message).collect();
            messages.join("\n")
        })
    }
}

/// Every key a `[[sink]]` may have: the common ones with each format's after `headers` (in
/// registry order), where the schema has always listed them.
fn known_keys() -> Vec<&'static str> {
    let split = SINK_KEYS
        .iter()
        .position(|k| *k == "headers")
        .map_or(SINK_KEYS.len(), |i| i + 1);
    let mut keys: Vec<&'static str> = SINK_KEYS[..split].to_vec();
    for format in SinkFormat::ALL {
        for key in format.entry().keys {
            if !keys.contains(key) {
                keys.push(key);
            }
        }
    }
    keys.extend_from_slice(&SINK_KEYS[split..]);
    keys
}

/// What a format's checks report through.
pub(super) struct Check<'a> {
    config: &'a SinkConfig,
    format: SinkFormat,
    /// The format's own keys; other options were refused already.
    keys: &'static [&'static str],
    problems: Vec<SinkProblem>,
}

impl Check<'_> {
    pub(super) fn problem(&mut self, span: Range<usize>, message: String) {
        self.problems.push(SinkProblem {
            span,
            message,
            fatal: false,
        });
    }

    /// The sink's name, for messages.
    pub(super) fn sink(&self) -> &str {
        &self.config.name
    }

    /// Where `key`'s value is written (the sink's name when it is not).
    pub(super) fn span_of(&self, key: &str) -> Range<usize> {
        self.config
            .options
            .iter()
            .find(|o| o.key == key)
            .map_or(self.config.spans.name.clone(), |o| o.value_span.clone())
    }

    /// `value`, or a problem saying the format needs `key` (written like `example`). A key
    /// whose `${…}` could not be expanded is present: that was reported already.
    pub(super) fn need<T>(&mut self, value: Option<T>, key: &str, example: &str) -> Option<T> {
        if value.is_none() && !self.has_key(key) {
            let name = self.sink().to_string();
            let what = match self.config.kind {
                SinkKind::Email => "email".to_string(),
                _ => format!("format {}", self.format),
            };
            self.problem(
                self.config.spans.name.clone(),
                format!("sink {name:?} ({what}) needs {key}; add {key} = {example}"),
            );
        }
        value
    }

    /// Whether `key` is written (even when its `${…}` could not be expanded).
    pub(super) fn has_key(&self, key: &str) -> bool {
        self.config.options.iter().any(|o| o.key == key)
    }

    /// The options as `T`. A value of the wrong type is reported at the value, like any other
    /// TOML schema error.
    pub(super) fn options<T: DeserializeOwned>(&mut self) -> Option<T> {
        let mut table = toml::Table::new();
        for option in &self.config.options {
            let Some(value) = &option.value else { continue };
            if !self.keys.contains(&option.key.as_str()) {
                continue;
            }
            let mut one = toml::Table::new();
            one.insert(option.key.clone(), value.clone());
            if let Err(e) = toml::Value::Table(one).try_into::<T>() {
                self.problems.push(SinkProblem {
                    span: option.value_span.clone(),
                    message: e.message().trim().to_string(),
                    fatal: true,
                });
                return None;
            }
            table.insert(option.key.clone(), value.clone());
        }
        match toml::Value::Table(table).try_into::<T>() {
            Ok(options) => Some(options),
            Err(e) => {
                self.problems.push(SinkProblem {
                    span: self.config.spans.name.clone(),
                    message: e.message().trim().to_string(),
                    fatal: true,
                });
                None
            }
        }
    }
}

/// Builds the request for `batch` in `sink`'s format.
pub fn render(sink: &Sink, batch: &Batch<'_>) -> Result<Request, FormatError> {
    let url = sink.config.url.clone().ok_or(FormatError::NoUrl)?;
    let messages = batch.messages();
    let mut request = Request {
        method: Method::Post,
        url,
        content_type: "application/json".into(),
        headers: Vec::new(),
        body: String::new(),
    };
    sink.render.render(&mut request, batch, &messages)?;
    request.headers.extend(sink.config.headers.iter().cloned());
    Ok(request)
}

#[cfg(test)]
mod tests;
