//! Feeds: fetching bytes ([`Fetcher`]) and turning them into normalized [`Item`](crate::model::Item)s ([`parse()`]).
//!
//! Knows nothing of rules or storage. The pieces:
//! - `fetch`: http(s) with timeouts, redirect and size limits, conditional GET; `file://`;
//! - `parse`: feed-rs → `Item`, with our own stable id rule;
//! - `charset`: any declared charset → UTF-8, entity-declaring DTDs refused;
//! - `repair`: the XML mistakes browsers forgive (stray `&`, unknown RSS versions…) fixed, and
//!   the entry boundaries that let a feed be read one entry at a time;
//! - `text`: HTML → plain text;
//! - `article`: an item's linked page, fetched within bounds, and its main text.

pub mod article;
pub mod charset;
pub mod fetch;
pub mod parse;
pub mod public;
pub mod repair;
pub mod text;

pub use fetch::{FetchError, FetchLimits, FetchOutcome, Fetcher, ResponseInfo, Validators};
pub use parse::{ParseError, ParsedFeed, parse, parse_document, parse_with_base};
pub use text::html_to_text;
