//! The shared model, on the ground floor: the types every room passes to the next, and the
//! one place alert ids are minted ([`AlertId`]) and payloads are written ([`payload`]). It
//! imports only `text`; every other room may import it, and it never imports them.

pub mod alert;
pub mod database;
pub mod item;
pub mod payload;
pub mod time;

pub use alert::{AlertId, AttemptOutcome, FeedEvent, JoinedBy, NewAlert, StorySource};
pub use database::{
    ClientCert, DEFAULT_DATABASE_CONNECTIONS, Database, PgTls, PostgresUrl, RootCerts, SslMode,
};
pub use item::{Item, MatchedTerm};
