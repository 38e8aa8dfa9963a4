//! Feeds: fetching bytes ([`Fetcher`]) and turning them into normalized [`Item`]s ([`parse`]).
//!
//! Knows nothing of rules or storage. The pieces:
//! - `fetch`: http(s) with timeouts, redirect and size limits, conditional GET; `file://`;
//! - `parse`: feed-rs → [`Item`], with our own stable id rule;
//! - `charset`: any declared charset → UTF-8, entity-declaring DTDs refused;
//! - `canonical`: canonical article links and log-safe URL redaction;
//! - `text`: HTML → plain text.

pub mod canonical;
pub mod charset;
pub mod fetch;
pub mod item;
pub mod parse;
pub mod text;

pub use canonical::{StripParams, canonical_link, canonical_link_with, redact_url, url_origin};
pub use fetch::{FetchError, FetchLimits, FetchOutcome, Fetcher, ResponseInfo, Validators};
pub use item::Item;
pub use parse::{ParseError, ParsedFeed, parse, parse_document, parse_with_base};
pub use text::html_to_text;
