//! watchword: watches news feeds for the events its users care about.
//!
//! Data flows one way: `config` → `daemon` (scheduler) → `feed` (fetch, parse) → `rules`
//! (match) → `store` (one SQLite transaction: seen items + alert outbox) → `alert` (sinks).

pub mod feed;
pub mod rules;
