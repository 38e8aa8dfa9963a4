//! watchword: watches news feeds for the events its users care about.
//!
//! Data flows one way: `config` (plain data) → `runtime` (compiled rules, checked sink
//! formats) → `daemon` (scheduler) → `feed` (fetch, parse) → `rules` (match) → `store` (one
//! SQLite transaction: seen items + alert outbox) → `alert` (sinks).

pub mod alert;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod feed;
pub mod model;
pub mod places;
pub mod poll;
pub mod rules;
pub mod runtime;
pub mod service;
pub mod store;
pub mod story;
pub mod text;
