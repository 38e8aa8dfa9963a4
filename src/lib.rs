//! watchword: watches news feeds for the events its users care about.
//!
//! The modules are rooms on floors (docs/architecture.md; `tests/architecture.rs` enforces that
//! each imports only lower floors): `text` → `model` → `config` → `places`, `story`, `feed` →
//! `rules`, `alert`, `store` → `runtime` (the load step), `entities` (names in any language, for
//! stories) → `service` → `poll` (one feed's poll as
//! a recipe: fetch, parse, classify, match, health, schedule, record), `web` (the dashboard) →
//! `daemon` (scheduler and deliverers) → `cli`.

pub mod alert;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod entities;
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
pub mod web;
