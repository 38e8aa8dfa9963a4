//! Text utilities shared by several rooms, at the bottom of the house: imports nothing of the
//! crate, so `rules`, `places`, `story`, `feed`, `alert` and `config` can all depend on it
//! without depending on each other.
//!
//! - `normalize`: the one normalization rule terms, gazetteer forms, fingerprints and item
//!   text go through (NFKC, case and diacritics folding), so they always agree;
//! - `url`: canonical article links (tracking parameters stripped) and log-safe URL redaction.

pub mod normalize;
pub mod url;

pub use normalize::normalize;
pub use url::{StripParams, canonical_link, canonical_link_with, redact_url, url_origin};
